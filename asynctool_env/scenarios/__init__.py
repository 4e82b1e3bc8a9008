"""The bundled scenarios, one module each, found by themselves.

Every module in this package that defines ``SCENARIO`` (a
:class:`~asynctool_env.core.scenario.Scenario`) is a scenario; its tools join one registry
whose names must be unique. To add a scenario, add a module; nothing else changes.

>>> sorted(SCENARIOS)[:2]
['data_format', 'data_generation']
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import pkgutil
from dataclasses import replace

from asynctool_env.core.scenario import Scenario
from asynctool_env.core.tools import Tool


def _discover() -> tuple[dict[str, Scenario], dict[str, Tool]]:
    scenarios: dict[str, Scenario] = {}
    tools: dict[str, Tool] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        scenario = getattr(module, "SCENARIO", None)
        if not isinstance(scenario, Scenario):
            continue
        if scenario.name in scenarios:
            raise RuntimeError(f"two scenarios are named {scenario.name!r}")
        owned = tuple(replace(tool, scenario=scenario.name) for tool in scenario.tools)
        scenario = replace(scenario, tools=owned)
        for tool in owned:
            if tool.name in tools:
                raise RuntimeError(
                    f"tool {tool.name!r} is declared by both {tools[tool.name].scenario!r} "
                    f"and {scenario.name!r}; tool names must be unique"
                )
            tools[tool.name] = tool
        scenarios[scenario.name] = scenario
    return scenarios, tools


#: Scenario name -> scenario.
SCENARIOS: dict[str, Scenario]
#: Tool name -> tool, over all scenarios.
TOOLS: dict[str, Tool]
SCENARIOS, TOOLS = _discover()
#: Tool name -> a stable index (sorted names). It changes when a scenario is added, so the
#: observations do not use it; they carry :func:`tool_code`.
TOOL_INDEX: dict[str, int] = {name: index for index, name in enumerate(sorted(TOOLS))}

#: The name of the scheme :func:`tool_code` follows. A policy file records the scheme it was
#: trained with, and a policy meets only an env that codes tools the same way.
TOOL_CODE_SCHEME = "blake2b-name/1"


@functools.cache
def tool_code(name: str) -> float:
    """A tool's number in the numeric observations: a hash of its *name* in ``[0, 1)``.

    It depends on nothing but the name, so installing or removing a scenario changes no other
    tool's code, and a trained policy reads the same inputs on any install. (Two names collide
    with probability about 2**-32: as good as distinct for a feature.)
    """
    digest = hashlib.blake2b(name.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 2**32


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``, with a helpful error for a typo."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(
            f"unknown scenario {name!r}; bundled scenarios: {', '.join(sorted(SCENARIOS))}"
        ) from None
