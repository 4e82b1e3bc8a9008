"""AsyncTool as an OpenEnv environment: served over HTTP/WebSocket, one episode per session.

OpenEnv (``pip install 'asynctool-env[openenv]'``) is the environment format TRL, SkyRL, ART,
NeMo-Gym and verifiers consume. This module wraps ``AsyncTool-Chat-v0`` in OpenEnv's typed
``Environment`` and serves it with OpenEnv's own ``create_app``; it adds no scoring (the
observation's ``reward`` is the env's reward for the reply, its ``metrics`` the env's)::

    asynctool serve-openenv --port 8000 --max-sessions 8        # the server

    from asynctool_env.integrations.openenv_server import AsyncToolAction, AsyncToolClient

    with AsyncToolClient(base_url="http://127.0.0.1:8000").sync() as env:
        result = env.reset(seed=0, split="dev", instance_index=3)
        result.observation.messages            # the system prompt and the tasks
        result.observation.tools               # the episode's OpenAI tool schemas
        result = env.step(AsyncToolAction(message={"role": "assistant", "tool_calls": [...]}))
        result.reward, result.done, result.observation.metrics

Each WebSocket session gets its own environment (its own episode); ``--max-sessions`` bounds
how many run at once.

* **Action** (:class:`AsyncToolAction`): one assistant reply, as an OpenAI assistant
  ``message`` (native ``tool_calls``) or as ``text`` (calls written in the text).
* **Observation** (:class:`AsyncToolObservation`): the new ``messages`` (at reset: the system
  and user messages; after a step: the ``tool`` acknowledgements and the round's user
  message), ``tools`` at reset, ``info`` (the running counters), and at the end ``metrics``
  (the exact optimum and the efficiency included) and ``task_results``. ``reward`` and
  ``done`` are OpenEnv's fields.
* **Reset** keyword arguments: ``seed``, ``episode_id``, ``split`` (``"dev"``/``"test"``),
  ``instance_index`` (default: drawn by the seed).
* **State** (:class:`AsyncToolState`): the episode id, replies played, the split and
  instance, the round, the return so far, whether it is over.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from openenv.core import EnvClient
from openenv.core.client_types import StepResult
from openenv.core.env_server import create_app
from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field

from asynctool_env.chat.gym_env import AsyncToolChatEnv

#: The name the app is served under.
ENV_NAME = "asynctool"


class AsyncToolAction(Action):
    """One assistant reply: an OpenAI assistant ``message`` or ``text`` (not both)."""

    message: dict[str, Any] | None = Field(
        default=None, description="An assistant message with native tool_calls."
    )
    text: str | None = Field(default=None, description="A reply with calls written in text.")


class AsyncToolObservation(Observation):
    """What the model is told after a reset or a reply (see the module docstring)."""

    messages: list[dict[str, Any]] = Field(default_factory=list)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    info: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] | None = None
    task_results: list[dict[str, Any]] | None = None


class AsyncToolState(State):
    """The session's episode."""

    split: str | None = None
    instance_index: int | None = None
    round: int = 0
    episode_return: float = 0.0
    done: bool = False


class AsyncToolEnvironment(Environment[AsyncToolAction, AsyncToolObservation, AsyncToolState]):
    """``AsyncTool-Chat-v0`` behind OpenEnv's ``Environment`` interface.

    Args:
        env_kwargs: ``AsyncTool-Chat-v0`` keyword arguments for every episode (latency,
            tool_capacity, notifications, max_rounds...); the split comes with each reset.
    """

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, **env_kwargs: Any) -> None:
        super().__init__()
        self.env_kwargs = {k: v for k, v in env_kwargs.items() if k not in ("split", "instances")}
        self._envs: dict[str, AsyncToolChatEnv] = {}
        self.env: AsyncToolChatEnv | None = None
        self._state = AsyncToolState(episode_id=str(uuid.uuid4()))

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        split: str = "dev",
        instance_index: int | None = None,
        **kwargs: Any,
    ) -> AsyncToolObservation:
        """Start an episode of ``split`` (``instance_index``, or one drawn by ``seed``)."""
        if kwargs:
            raise ValueError(
                f"unknown reset field(s) {_shown(sorted(kwargs))}; known: seed, episode_id, "
                "split, instance_index"
            )
        if split not in ("dev", "test"):
            raise ValueError(f"split must be 'dev' or 'test', got {_shown(split)}")
        if episode_id is not None and (not isinstance(episode_id, str) or len(episode_id) > 200):
            raise ValueError(
                f"episode_id must be text of at most 200 characters, got {_shown(episode_id)}"
            )
        if instance_index is not None and (
            isinstance(instance_index, bool) or not isinstance(instance_index, int)
        ):
            raise ValueError(f"instance_index must be a whole number, got {_shown(instance_index)}")
        env = self._envs.get(split)
        if env is None:
            env = self._envs[split] = AsyncToolChatEnv(split=split, **self.env_kwargs)
        options = {"instance_index": instance_index} if instance_index is not None else None
        _, info = env.reset(seed=seed, options=options)
        self.env = env
        self._state = AsyncToolState(
            episode_id=episode_id or str(uuid.uuid4()),
            split=split,
            instance_index=env.chat.instance_index,
        )
        return AsyncToolObservation(
            messages=info["messages"],
            tools=info["tools"],
            info=_counters(info),
            done=False,
            reward=None,
        )

    def step(
        self, action: AsyncToolAction, timeout_s: float | None = None, **kwargs: Any
    ) -> AsyncToolObservation:
        """Play one reply; the observation carries the env's reward and, at the end, its
        metrics. A step after the end is an error (reset first)."""
        env = self.env
        if env is None:
            raise RuntimeError(
                "call reset before step (an HTTP /step has no episode behind it: play over "
                "the WebSocket, e.g. AsyncToolClient, where a session keeps its episode)"
            )
        if action.message is not None and action.text is not None:
            raise ValueError("send a message or a text, not both")
        reply: Mapping[str, Any] | str = (
            action.message if action.message is not None else (action.text or "")
        )
        _, reward, terminated, truncated, info = env.step(reply)
        done = bool(terminated or truncated)
        self._state.step_count += 1
        self._state.round = int(info["round"])
        self._state.episode_return = env.episode_return
        self._state.done = done
        return AsyncToolObservation(
            messages=info["messages"],
            info=_counters(info),
            metrics=info.get("metrics"),
            task_results=info.get("task_results"),
            done=done,
            reward=float(reward),
        )

    @property
    def state(self) -> AsyncToolState:
        return self._state


def _counters(info: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in info.items()
        if key not in ("messages", "tools", "metrics", "task_results")
    }


class AsyncToolClient(EnvClient[AsyncToolAction, AsyncToolObservation, AsyncToolState]):
    """OpenEnv's WebSocket client for an AsyncTool server (one session per client)."""

    def _step_payload(self, action: AsyncToolAction) -> dict[str, Any]:
        return action.model_dump(exclude_none=True)

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[AsyncToolObservation]:
        data = dict(payload.get("observation") or {})
        observation = AsyncToolObservation(
            **{key: value for key, value in data.items() if key not in ("reward", "done")},
            reward=payload.get("reward"),
            done=bool(payload.get("done", False)),
        )
        return StepResult(
            observation=observation,
            reward=payload.get("reward"),
            done=bool(payload.get("done", False)),
            metadata=payload.get("metadata"),
        )

    def _parse_state(self, payload: dict[str, Any]) -> AsyncToolState:
        return AsyncToolState(**payload)


#: Seconds a WebSocket session may stay silent before the server closes it (its slot is
#: freed for another client).
IDLE_TIMEOUT_S = 300.0


def make_app(
    *, max_sessions: int = 8, idle_timeout: float | None = IDLE_TIMEOUT_S, **env_kwargs: Any
) -> Any:
    """The FastAPI app OpenEnv's ``create_app`` builds for AsyncTool (``max_sessions``
    concurrent WebSocket sessions, each with its own env made with ``env_kwargs``), guarded:
    a session silent for ``idle_timeout`` seconds is closed (``None``: never), and a frame
    that is not a JSON object (null, a list, a number, a binary frame, JSON nested too deep)
    is answered with an error while the session goes on."""
    from asynctool_env.chat.env import ChatEnv

    ChatEnv(split="dev", **env_kwargs)  # bad settings fail here, not in every session

    def factory() -> AsyncToolEnvironment:
        return AsyncToolEnvironment(**env_kwargs)

    app = create_app(
        factory,
        AsyncToolAction,
        AsyncToolObservation,
        env_name=ENV_NAME,
        max_concurrent_envs=max_sessions,
        state_cls=AsyncToolState,
    )
    _clear_http_errors(app)
    return _FrameGuard(app, idle_timeout)


class _FrameGuard:
    """ASGI wrapper of OpenEnv's app for its ``/ws`` sessions: OpenEnv reads each frame with
    ``receive_text`` and ``json.loads`` and ends the session (losing the episode) on a binary
    frame, a JSON value that is not an object or JSON too deep to parse; and it waits for a
    silent client forever, holding its slot. Such frames are handed on as text OpenEnv answers
    with an error; a silence of ``idle`` seconds closes the session."""

    def __init__(self, app: Any, idle: float | None) -> None:
        self.app, self.idle = app, idle

    def __getattr__(self, name: str) -> Any:  # routes, state...: the wrapped app's
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            length = dict(scope.get("headers") or ()).get(b"content-length", b"0")
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                await _too_large(send)
                return
        if scope.get("type") != "websocket":
            await self.app(scope, receive, send)
            return
        # Every WebSocket route holds a session slot (/ws, /mcp, /harness): all time out.
        idle, frames = self.idle, scope.get("path") == "/ws"

        async def guarded() -> Any:
            import asyncio

            try:
                message = await (receive() if idle is None else asyncio.wait_for(receive(), idle))
            except TimeoutError:
                with contextlib.suppress(Exception):
                    await send({"type": "websocket.close", "code": 1001, "reason": "idle"})
                return {"type": "websocket.disconnect", "code": 1001}
            if frames and message.get("type") == "websocket.receive":
                message = _readable(message)
            return message

        await self.app(scope, guarded, send)


#: The largest HTTP request body the server reads (a WebSocket frame's limit too).
MAX_BODY_BYTES = 16 * 2**20


async def _too_large(send: Any) -> None:
    body = json.dumps({"error": f"request body over {MAX_BODY_BYTES} bytes"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _unknown(what: str) -> dict[str, Any]:
    """A frame OpenEnv answers with 'Unknown message type: <what>' and goes on."""
    return {"type": "websocket.receive", "text": json.dumps({"type": f"({what})"})}


def _readable(message: dict[str, Any]) -> dict[str, Any]:
    """A received frame as one OpenEnv answers with an error instead of dying on it."""
    text = message.get("text")
    if text is None:
        return _unknown("a binary frame: send JSON text")
    try:
        value = json.loads(text)
    except RecursionError:
        return _unknown("JSON nested too deep to read")
    except ValueError:
        return message  # OpenEnv says it is not JSON
    if not isinstance(value, dict):
        return _unknown(f"a JSON {type(value).__name__ if value is not None else 'null'}")
    return message


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (errors never echo a huge value back)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _clear_http_errors(app: Any) -> None:
    """A request the env refuses is the client's error: a 4xx with the reason (a bad split
    or index: 400; a step with no episode: 409), not a bare 500 and a traceback in the log."""
    from fastapi.responses import JSONResponse

    async def refused(request: Any, error: Exception) -> Any:
        return JSONResponse(status_code=400, content={"error": str(error)})

    async def out_of_order(request: Any, error: Exception) -> Any:
        return JSONResponse(status_code=409, content={"error": str(error)})

    async def invalid(request: Any, error: Any) -> Any:
        # FastAPI's own answer repeats the input (a 1 MB field comes back whole).
        problems = [
            f"{'.'.join(map(str, issue.get('loc', ())))}: {issue.get('msg')}"
            for issue in error.errors()[:5]
        ]
        return JSONResponse(status_code=422, content={"error": "; ".join(problems)})

    from fastapi.exceptions import RequestValidationError

    for kind in (ValueError, TypeError, KeyError, IndexError):
        app.add_exception_handler(kind, refused)
    app.add_exception_handler(RuntimeError, out_of_order)
    app.add_exception_handler(RequestValidationError, invalid)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_sessions: int = 8,
    idle_timeout: float | None = IDLE_TIMEOUT_S,
    **env_kwargs: Any,
) -> None:
    """Serve :func:`make_app` with uvicorn until interrupted."""
    import uvicorn

    app = make_app(max_sessions=max_sessions, idle_timeout=idle_timeout, **env_kwargs)
    uvicorn.run(app, host=host, port=port)
