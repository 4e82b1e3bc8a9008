"""Run chat models on the benchmark through any OpenAI-compatible endpoint.

:func:`run_llm_eval` plays many episodes at once with ``openai.AsyncOpenAI`` (OpenAI, vLLM,
Ollama, a llama.cpp server...), at most ``concurrency`` at a time, and appends each
finished episode to ``episodes.jsonl`` (the same :class:`~asynctool_env.benchmark.
EpisodeRecord` rows as the reference agents, so LLMs land on the same leaderboard) and its
conversation to ``transcripts.jsonl``. A run that is interrupted resumes where it stopped:
episodes already in the file are skipped.

Robustness
----------
* Every request has a timeout and bounded retries with backoff (a server's ``Retry-After``
  is honoured, up to :data:`MAX_RETRY_AFTER` seconds). A server answer of any shape that is
  not a reply (no choices, a choice without a message, a body that is not a completion) is
  retried like an error; a usage block that cannot be read is ignored.
* An episode whose requests still fail is recorded as *failed*, with the reason, and the
  other episodes go on; nothing a server sends, and no bug in one episode, ends the run.
* Failed episodes are infrastructure failures, not model scores: summaries leave them out of
  every mean and count them (``failed_episodes``); ``retry_failed=True`` replays only them.
* Each record is one complete line, written and flushed in one go: the transcript first,
  then the episode. On resume a torn last line (a crash mid-write) is set aside in
  ``<file>.torn`` with a warning and its episode replayed, and a transcript whose episode
  line never made it is dropped, so no episode is lost or counted twice.

If the server rejects the ``tools`` parameter, the run falls back to text mode: the tool
schemas go into the system prompt and calls are parsed from the text.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import functools
import json
import os
import random
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from asynctool_env.chat.defaults import DEFAULT_MAX_ROUNDS
from asynctool_env.chat.env import ChatEnv
from asynctool_env.core.task import Instance
from asynctool_env.results import EpisodeRecord, episode_record, summarize
from asynctool_env.rollout import EpisodeResult, play_and_record
from asynctool_env.solver import optimal_schedule_for_simulator


@dataclass(frozen=True)
class LLMConfig:
    """How to talk to the model.

    Attributes:
        model: Model name on the server.
        base_url: Server URL (``None``: OpenAI's).
        api_key: API key (``None``: taken from ``OPENAI_API_KEY``, or a dummy for local
            servers that need none).
        temperature: Sampling temperature.
        max_tokens: Reply length limit per turn.
        native_tools: Send ``tools`` (native function calling); text parsing is always on
            as a fallback.
        concurrency: Episodes in flight at once.
        timeout: Seconds per request, the whole of it (connect, send, first byte, body).
        max_retries: Extra attempts per request after a failure.
        retry_delay: Seconds before the first retry (doubling, at most 20, jittered),
            unless the server's ``Retry-After`` says otherwise.
        max_rounds: Rounds before an episode is truncated.
        label: Agent name in results (default ``"openai:<model>"``).
        notifications: How arrivals are told: ``"push"`` or ``"pull"`` (see
            :class:`~asynctool_env.chat.env.ChatEnv`).
    """

    model: str
    base_url: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    max_tokens: int = 512
    native_tools: bool = True
    concurrency: int = 4
    timeout: float = 120.0
    max_retries: int = 3
    retry_delay: float = 2.0
    max_rounds: int = DEFAULT_MAX_ROUNDS
    label: str | None = None
    notifications: str = "push"

    @property
    def agent(self) -> str:
        return self.label or f"openai:{self.model}"


class EpisodeFailedError(RuntimeError):
    """A request kept failing after its retries."""


class MalformedResponseError(ValueError):
    """The server answered, but not with a chat completion that holds a reply."""


#: The longest wait a server's ``Retry-After`` may ask for (seconds).
MAX_RETRY_AFTER = 60.0


def retry_after(error: BaseException) -> float | None:
    """Seconds a server asked to wait before retrying (``Retry-After``: seconds or an HTTP
    date), capped at :data:`MAX_RETRY_AFTER`; ``None`` when it said nothing usable."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        value = headers.get("retry-after")
    except Exception:
        return None
    if not value:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        try:
            moment = email.utils.parsedate_to_datetime(str(value))
        except (TypeError, ValueError, IndexError):
            return None
        seconds = moment.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _reply_from_response(response: Any, state: dict[str, Any]) -> dict[str, Any]:
    """The assistant message of a completion; counts its token usage.

    Raises:
        MalformedResponseError: The response holds no reply (retried by the caller).
    """
    usage = getattr(response, "usage", None)
    if usage is not None:
        for key in ("prompt_tokens", "completion_tokens"):
            try:
                state[key] += max(0, int(getattr(usage, key, 0) or 0))
            except (TypeError, ValueError, OverflowError):
                state["usage_unreadable"] = True  # a broken usage block costs no reply
    choices = getattr(response, "choices", None)
    if not isinstance(choices, (list, tuple)) or not choices:
        raise MalformedResponseError("the response has no choices")
    message = getattr(choices[0], "message", None)
    if message is None and isinstance(choices[0], Mapping):
        message = choices[0].get("message")
    if message is None:
        raise MalformedResponseError("the first choice has no message")
    if hasattr(message, "model_dump"):
        dumped = message.model_dump()
    elif isinstance(message, Mapping):
        dumped = dict(message)
    else:
        raise MalformedResponseError(f"the message is a {type(message).__name__}")
    if not isinstance(dumped, Mapping):
        raise MalformedResponseError("the message is not an object")
    calls = dumped.get("tool_calls")
    return {
        "role": "assistant",
        "content": dumped.get("content"),
        "tool_calls": calls if isinstance(calls, list) else [],
    }


def make_async_client(config: LLMConfig) -> Any:
    """An ``openai.AsyncOpenAI`` client for ``config`` (needs the ``llm`` extra)."""
    try:
        import openai
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "LLM agents need the openai package: pip install 'asynctool-env[llm]'"
        ) from error
    api_key = config.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
    transport = _capped_transport(MAX_RESPONSE_BYTES)
    return openai.AsyncOpenAI(
        base_url=config.base_url,
        api_key=api_key,
        timeout=config.timeout,
        max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(transport=transport),
    )


#: The largest model reply the runner reads: a completion is kilobytes; a server that sends
#: more is broken or hostile, and the episode fails without holding the body in memory.
MAX_RESPONSE_BYTES = 8 * 2**20


def _capped_transport(limit: int) -> Any:
    """An httpx transport that refuses response bodies over ``limit`` bytes (by their
    Content-Length, or as they stream in), before they are held in memory. Built on the
    httpx the installed openai client uses (``httpx`` or its fork ``httpx2``)."""
    import importlib

    import openai

    httpx = importlib.import_module(openai.DefaultAsyncHttpxClient.__mro__[1].__module__)

    class CappedStream(httpx.AsyncByteStream):
        def __init__(self, stream: Any) -> None:
            self.stream = stream

        async def __aiter__(self) -> Any:
            seen = 0
            async for chunk in self.stream:
                seen += len(chunk)
                if seen > limit:
                    raise httpx.ReadError(f"the reply is over {limit:,} bytes")
                yield chunk

        async def aclose(self) -> None:
            await self.stream.aclose()

    class CappedTransport(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: Any) -> Any:
            response = await super().handle_async_request(request)
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                await response.aclose()
                raise httpx.ReadError(f"the reply is over {limit:,} bytes ({int(length):,})")
            response.stream = CappedStream(response.stream)
            return response

    return CappedTransport()


def _text_mode_prompt(tools: Sequence[Mapping[str, Any]]) -> str:
    listing = "\n".join(json.dumps(tool["function"]) for tool in tools)
    return (
        "\n\nTools (JSON schemas):\n"
        + listing
        + '\nTo call tools, reply with <tool_call>{"name": ..., "arguments": {...}}</tool_call>'
        " blocks, one per call."
    )


async def _complete(
    client: Any, config: LLMConfig, env: ChatEnv, state: dict[str, Any]
) -> dict[str, Any]:
    """One model reply as an assistant message dict, with retries and the text fallback."""
    attempt = 0
    while True:
        messages = env.messages
        kwargs: dict[str, Any] = {
            "model": config.model,
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
        }
        if state["native"]:
            kwargs["tools"] = env.tools
        else:
            messages = [dict(messages[0]), *messages[1:]]
            messages[0]["content"] = messages[0]["content"] + _text_mode_prompt(env.tools)
            messages = [_as_text_message(message) for message in messages]
        try:
            # The client's timeout applies to each socket read: a server that trickles a
            # reply would hold the episode forever. The deadline is the whole request's.
            response = await asyncio.wait_for(
                client.chat.completions.create(messages=messages, **kwargs), config.timeout
            )
            return _reply_from_response(response, state)
        except MalformedResponseError as error:
            failure: BaseException = error
            reason = f"malformed response: {error}"
        except TimeoutError as error:
            failure, reason = error, f"TimeoutError: no whole reply within {config.timeout} s"
        except Exception as error:
            name = type(error).__name__
            text = str(error)
            if state["native"] and name == "BadRequestError" and "tool" in text.lower():
                state["native"] = False  # the server does not do function calling
                continue
            if error.__cause__ is not None and str(error.__cause__) not in text:
                text = f"{text} ({error.__cause__})"  # the client's wrapper hides the reason
            failure, reason = error, f"{name}: {text[:300]}"
        attempt += 1
        if attempt > config.max_retries:
            raise EpisodeFailedError(reason) from failure
        wait = retry_after(failure)
        if wait is None:
            wait = min(config.retry_delay * 2 ** (attempt - 1), 20.0) * (0.5 + random.random())
        await asyncio.sleep(wait)


def _as_text_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """Messages for a server without function calling: tool messages become user text."""
    if message.get("role") == "tool":
        return {"role": "user", "content": f"[{message.get('tool_call_id')}] {message['content']}"}
    if message.get("role") == "assistant" and message.get("tool_calls"):
        calls = [
            f'<tool_call>{{"name": "{call["function"]["name"]}", '
            f'"arguments": {call["function"]["arguments"] or "{}"}}}</tool_call>'
            for call in message["tool_calls"]
        ]
        return {"role": "assistant", "content": (message.get("content") or "") + "".join(calls)}
    return dict(message)


class ModelPolicy:
    """A chat model as a policy of ``AsyncTool-Chat-v0``, for the one episode loop
    (:func:`~asynctool_env.rollout.run_episode`) that every agent is played with.

    The loop runs in a worker thread; :meth:`act` asks the model for the reply to the env's
    messages on the runner's event loop (``loop``), where requests of many episodes are in
    flight at once, and blocks its own thread until the reply (or the failure) comes.
    ``state`` collects token counts and whether native tool calling is on.
    """

    def __init__(
        self,
        client: Any,
        config: LLMConfig,
        loop: asyncio.AbstractEventLoop,
        state: dict[str, Any],
    ) -> None:
        self.client, self.config, self.loop, self.state = client, config, loop, state
        self.chat: ChatEnv | None = None

    def reset(self, seed: int | None = None) -> None:
        """Nothing to forget: the conversation is the env's."""

    def bind(self, env: Any) -> None:
        """Read the conversation and the tools from the env just reset."""
        self.chat = env.unwrapped.chat

    def act(self, observation: str) -> dict[str, Any]:
        """The model's next reply (raises :class:`EpisodeFailedError` when it never came)."""
        assert self.chat is not None, "bind(env) first"
        request = _complete(self.client, self.config, self.chat, self.state)
        return asyncio.run_coroutine_threadsafe(request, self.loop).result()


async def play_chat_episode(
    client: Any,
    config: LLMConfig,
    instances: Sequence[Instance],
    index: int,
    seed: int,
    latency: str | None = None,
    tool_capacity: int | Mapping[str, int] | None = None,
    trial: int = 0,
    executor: concurrent.futures.Executor | None = None,
) -> tuple[EpisodeRecord, list[dict[str, Any]]]:
    """Play instance ``index`` with the model; never raises for model or server trouble.

    The episode is played through ``AsyncTool-Chat-v0`` by the one episode loop
    (:func:`~asynctool_env.rollout.run_episode`), in a thread of ``executor``: its return is
    the env's (the numeric env's terms and weights), its metrics the env's last ``info``.
    """
    from asynctool_env.chat.gym_env import AsyncToolChatEnv

    env = AsyncToolChatEnv(
        instances=instances,
        latency=latency,
        max_rounds=config.max_rounds,
        tool_capacity=tool_capacity,
        notifications=config.notifications,
    )
    state = {"native": config.native_tools, "prompt_tokens": 0, "completion_tokens": 0}
    loop = asyncio.get_running_loop()
    policy = ModelPolicy(client, config, loop, state)
    error: str | None = None
    record: EpisodeRecord | None = None
    try:
        record = await loop.run_in_executor(
            executor,
            functools.partial(
                play_and_record,
                env,
                policy,
                seed,
                agent=config.agent,
                instance_index=index,
                trial=trial,
            ),
        )
    except EpisodeFailedError as failure:
        error = str(failure)
    except Exception as failure:  # a bug must cost one episode, never the run
        error = f"internal error: {type(failure).__name__}: {failure}"
    chat = env.chat
    simulator = chat.simulator
    if simulator is None:  # the reset itself failed: nothing was played
        raise RuntimeError(f"instance {index} could not be reset: {error}")
    if record is None:  # cut short: the return paid so far, the optimum of the episode drawn
        best = await asyncio.to_thread(lambda: optimal_schedule_for_simulator(simulator).rounds)
        played = EpisodeResult(seed, env.episode_return, env.decisions, {})
        record = episode_record(simulator, config.agent, played, seed, index, best, trial=trial)
    record.details.update(
        prompt_tokens=state["prompt_tokens"],
        completion_tokens=state["completion_tokens"],
        native_tools=state["native"],
        error=error,
        failed=error is not None,
        task_results=chat.task_results(),
        notifications=config.notifications,
    )
    return record, chat.messages


def trial_seed(seed: int, index: int, trial: int) -> int:
    """The seed of trial ``trial`` of instance ``index`` (trial 0: ``seed + index``, as a run
    without trials)."""
    return seed + index + 1_000_003 * trial


def _records_by_line(path: Path) -> list[tuple[str, dict[str, Any] | None]]:
    """The lines of a JSONL file with their objects (``None`` for a line that is not one)."""
    if not path.is_file():
        return []
    found: list[tuple[str, dict[str, Any] | None]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        found.append((line, value if isinstance(value, dict) else None))
    return found


def _index_of(record: dict[str, Any] | None) -> tuple[int, int] | None:
    """``(instance index, trial)`` of a result line (trial 0 for files without trials)."""
    try:
        if record is None:
            return None
        return int(record["instance_index"]), int(record.get("trial", 0))
    except (KeyError, TypeError, ValueError):
        return None


def repair_results(folder: Path, *, retry_failed: bool = False) -> list[str]:
    """Make a result folder safe to resume; returns warnings for the person running it.

    * A torn or unreadable line of ``episodes.jsonl`` or ``transcripts.jsonl`` (a crash
      mid-write) is moved to ``<file>.torn``; its episode is replayed.
    * A transcript whose episode line is missing (a crash between the two writes) is
      dropped; its episode is replayed.
    * With ``retry_failed``, failed episodes (server trouble) are dropped, to be replayed.
    """
    notes: list[str] = []
    episodes_path = folder / "episodes.jsonl"
    transcripts_path = folder / "transcripts.jsonl"
    kept: dict[Path, list[tuple[str, dict[str, Any]]]] = {}
    for path in (episodes_path, transcripts_path):
        lines = _records_by_line(path)
        good = [(line, value) for line, value in lines if _index_of(value) is not None]
        torn = [line for line, value in lines if _index_of(value) is None and line.strip()]
        if torn:
            with path.with_name(path.name + ".torn").open("a", encoding="utf-8") as handle:
                handle.write("\n".join(torn) + "\n")
            notes.append(
                f"{path}: {len(torn)} torn or unreadable line(s) moved to {path.name}.torn; "
                "their episodes are played again"
            )
        kept[path] = good
    episodes = kept[episodes_path]
    if retry_failed:
        failed = [v for _, v in episodes if (v.get("details") or {}).get("failed")]
        if failed:
            notes.append(f"replaying {len(failed)} failed episode(s)")
        episodes = [(line, v) for line, v in episodes if not (v.get("details") or {}).get("failed")]
    done = {_index_of(value) for _, value in episodes}
    unique: dict[tuple[int, int], tuple[str, dict[str, Any]]] = {}
    for line, value in episodes:  # one line per episode (the last one kept)
        unique[_index_of(value)] = (line, value)  # type: ignore[index]
    transcripts = {}
    for line, value in kept[transcripts_path]:
        index = _index_of(value)
        if index in done:
            transcripts[index] = (line, value)
    orphans = len(kept[transcripts_path]) - len(transcripts)
    if orphans:
        notes.append(f"{orphans} transcript(s) without an episode line dropped (replayed)")
    for path, entries in ((episodes_path, unique), (transcripts_path, transcripts)):
        if path.is_file() or entries:
            text = "".join(line + "\n" for line, _ in entries.values())
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
    return notes


def _done_keys(path: Path) -> set[tuple[int, int]]:
    return {index for _, value in _records_by_line(path) if (index := _index_of(value)) is not None}


def _append_line(path: Path, value: Mapping[str, Any], **dump: Any) -> None:
    """Append one complete line and flush it (one write: never half a record)."""
    line = json.dumps(value, **dump) + "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def episodes_to_play(output: Path, indexes: Sequence[int], trials: int) -> list[tuple[int, int]]:
    """The ``(instance index, trial)`` pairs that ``output/episodes.jsonl`` does not hold
    yet, in order (what a run, or a resumed one, still has to play)."""
    output.mkdir(parents=True, exist_ok=True)
    done = _done_keys(output / "episodes.jsonl")
    return [
        (index, trial) for index in indexes for trial in range(trials) if (index, trial) not in done
    ]


def write_episode(output: Path, record: EpisodeRecord, messages: list[dict[str, Any]]) -> None:
    """Stream a finished episode to ``output``: its transcript line, then its record line
    (a record is only there once its transcript is, so a resumed run never lacks one)."""
    entry = {"instance_index": record.instance_index, "trial": record.trial, "messages": messages}
    _append_line(output / "transcripts.jsonl", entry)
    _append_line(output / "episodes.jsonl", record.to_json(), sort_keys=True)


def prepare_results(
    output: Path, *, retry_failed: bool = False, notes: Callable[[str], None] | None = None
) -> None:
    """Make the result folder ready to (re)start a run: create it and repair what a killed
    run left (see :func:`repair_results`), telling ``notes`` what was set aside."""
    output.mkdir(parents=True, exist_ok=True)
    for note in repair_results(output, retry_failed=retry_failed):
        (notes or (lambda text: warnings.warn(text, stacklevel=4)))(note)


def finish_results(output: Path, config: LLMConfig) -> list[EpisodeRecord]:
    """Every record in ``output``, with ``summary.json`` (re)written from them."""
    from asynctool_env.results import read_records, result_versions

    records = read_records([output])
    summary = summarize(records)
    (output / "summary.json").write_text(
        json.dumps(
            {
                "versions": result_versions(),
                "config": asdict(config) | {"api_key": None},
                "summaries": [summary],
            },
            indent=2,
        )
        + "\n"
    )
    return records


async def _run(
    client: Any,
    config: LLMConfig,
    instances: Sequence[Instance],
    indexes: Sequence[int],
    seed: int,
    latency: str | None,
    output: Path,
    progress: Callable[[int], None] | None,
    tool_capacity: int | Mapping[str, int] | None = None,
    trials: int = 1,
) -> None:
    todo = episodes_to_play(output, indexes, trials)
    limit = asyncio.Semaphore(max(1, config.concurrency))
    # Episodes play in threads (one per episode in flight), their requests on this loop.
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, config.concurrency))
    lock = asyncio.Lock()
    finished = len(indexes) * trials - len(todo)
    if progress:
        progress(finished)

    async def one(key: tuple[int, int]) -> None:
        nonlocal finished
        index, trial = key
        async with limit:
            record, messages = await play_chat_episode(
                client,
                config,
                instances,
                index,
                trial_seed(seed, index, trial),
                latency,
                tool_capacity,
                trial,
                executor,
            )
        async with lock:  # whole lines, one episode at a time
            write_episode(output, record, messages)
            finished += 1
            if progress:
                progress(finished)

    try:
        outcomes = await asyncio.gather(*(one(key) for key in todo), return_exceptions=True)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    for outcome in outcomes:  # play_chat_episode never raises; writing to disk may
        if isinstance(outcome, BaseException):
            raise outcome


def run_llm_eval(
    config: LLMConfig,
    instances: Sequence[Instance],
    output: str | os.PathLike[str],
    *,
    indexes: Sequence[int] | None = None,
    seed: int = 0,
    latency: str | None = None,
    client: Any = None,
    progress: Callable[[int], None] | None = None,
    retry_failed: bool = False,
    notes: Callable[[str], None] | None = None,
    tool_capacity: int | Mapping[str, int] | None = None,
    trials: int = 1,
) -> list[EpisodeRecord]:
    """Evaluate a chat model; returns every record in ``output`` (old and new).

    Args:
        config: Model and run settings.
        instances: The instances (a split).
        output: Result folder; existing episodes there are kept and skipped (resume).
        indexes: Which instances (default: all).
        seed: Episode ``i`` uses ``seed + i``.
        latency: Force one latency profile (default: each instance's own).
        client: An async OpenAI-compatible client (default: built from ``config``).
        progress: Called with the number of finished episodes.
        retry_failed: Replay the episodes of ``output`` that failed (server trouble).
        notes: Called with each warning about the folder (torn lines set aside...);
            default: :func:`warnings.warn`.
        tool_capacity: Contention (:class:`~asynctool_env.chat.env.ChatEnv`'s argument).
        trials: Plays of each instance, trial ``t`` seeded by :func:`trial_seed` (the summary
            then carries pass@k and pass^k with ``k = trials``).
    """
    folder = Path(output)
    prepare_results(folder, retry_failed=retry_failed, notes=notes)
    client = client or make_async_client(config)
    chosen = list(indexes) if indexes is not None else list(range(len(instances)))
    asyncio.run(
        _run(
            client,
            config,
            instances,
            chosen,
            seed,
            latency,
            folder,
            progress,
            tool_capacity,
            trials,
        )
    )
    return finish_results(folder, config)
