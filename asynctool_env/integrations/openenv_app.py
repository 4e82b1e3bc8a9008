"""The ASGI app of ``openenv.yaml`` (``uvicorn asynctool_env.integrations.openenv_app:app``).

Settings come from the environment, as in a container: ``ASYNCTOOL_MAX_SESSIONS`` (default
8), ``ASYNCTOOL_LATENCY``, ``ASYNCTOOL_TOOL_CAPACITY``, ``ASYNCTOOL_MAX_ROUNDS`` (default 60)
and ``ASYNCTOOL_NOTIFICATIONS`` (``push``/``pull``). ``asynctool serve-openenv`` takes the
same settings as options.
"""

from __future__ import annotations

import os

from asynctool_env.integrations.openenv_server import make_app


def _int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else default


app = make_app(
    max_sessions=_int("ASYNCTOOL_MAX_SESSIONS", 8) or 8,
    latency=os.environ.get("ASYNCTOOL_LATENCY") or None,
    tool_capacity=_int("ASYNCTOOL_TOOL_CAPACITY", None),
    max_rounds=_int("ASYNCTOOL_MAX_ROUNDS", 60) or 60,
    notifications=os.environ.get("ASYNCTOOL_NOTIFICATIONS") or "push",
)
