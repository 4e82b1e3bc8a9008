"""Run chat models on the benchmark through any OpenAI-compatible endpoint.

:func:`run_llm_eval` plays many episodes at once with ``openai.AsyncOpenAI`` (OpenAI, vLLM,
Ollama, a llama.cpp server...), at most ``concurrency`` at a time, and appends each
finished episode to ``episodes.jsonl`` (the same :class:`~asynctool_env.benchmark.
EpisodeRecord` rows as the reference agents, so LLMs land on the same leaderboard) and its
conversation to ``transcripts.jsonl``. A run that is interrupted resumes where it stopped:
episodes already in the file are skipped.

Robustness: every request has a timeout and bounded retries with backoff; an episode whose
requests still fail is recorded as failed, with the reason, and the other episodes go on.
If the server rejects the ``tools`` parameter, the run falls back to text mode: the tool
schemas go into the system prompt and calls are parsed from the text.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from asynctool_env.benchmark import EpisodeRecord, summarize, timeline
from asynctool_env.chat.env import ChatEnv
from asynctool_env.core.task import Instance


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
        timeout: Seconds per request.
        max_retries: Extra attempts per request after a failure.
        max_rounds: Rounds before an episode is truncated.
        label: Agent name in results (default ``"openai:<model>"``).
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
    max_rounds: int = 40
    label: str | None = None

    @property
    def agent(self) -> str:
        return self.label or f"openai:{self.model}"


class EpisodeFailedError(RuntimeError):
    """A request kept failing after its retries."""


def make_async_client(config: LLMConfig) -> Any:
    """An ``openai.AsyncOpenAI`` client for ``config`` (needs the ``llm`` extra)."""
    try:
        import openai
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "LLM agents need the openai package: pip install 'asynctool-env[llm]'"
        ) from error
    api_key = config.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
    return openai.AsyncOpenAI(
        base_url=config.base_url, api_key=api_key, timeout=config.timeout, max_retries=0
    )


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
            response = await client.chat.completions.create(messages=messages, **kwargs)
        except Exception as error:
            name = type(error).__name__
            text = str(error)
            if state["native"] and name == "BadRequestError" and "tool" in text.lower():
                state["native"] = False  # the server does not do function calling
                continue
            attempt += 1
            if attempt > config.max_retries:
                raise EpisodeFailedError(f"{name}: {text[:300]}") from error
            await asyncio.sleep(min(2**attempt, 20) * (0.5 + random.random()))
            continue
        usage = getattr(response, "usage", None)
        if usage is not None:
            state["prompt_tokens"] += int(getattr(usage, "prompt_tokens", 0) or 0)
            state["completion_tokens"] += int(getattr(usage, "completion_tokens", 0) or 0)
        choices = getattr(response, "choices", None) or []
        if not choices:
            return {"role": "assistant", "content": ""}
        message = choices[0].message
        dumped = message.model_dump() if hasattr(message, "model_dump") else dict(message)
        return {
            "role": "assistant",
            "content": dumped.get("content"),
            "tool_calls": dumped.get("tool_calls") or [],
        }


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


async def play_chat_episode(
    client: Any,
    config: LLMConfig,
    instances: Sequence[Instance],
    index: int,
    seed: int,
    latency: str | None = None,
) -> tuple[EpisodeRecord, list[dict[str, Any]]]:
    """Play instance ``index`` with the model; never raises for model or server trouble."""
    env = ChatEnv(instances, latency=latency, max_rounds=config.max_rounds)
    env.reset(seed=seed, options={"instance_index": index})
    state = {"native": config.native_tools, "prompt_tokens": 0, "completion_tokens": 0}
    error: str | None = None
    try:
        while True:
            reply = await _complete(client, config, env, state)
            _, terminated, truncated, _ = env.step(reply)
            if terminated or truncated:
                break
    except EpisodeFailedError as failure:
        error = str(failure)
    simulator = env.simulator
    assert simulator is not None
    metrics = env.metrics()
    details = {
        "prompt_tokens": state["prompt_tokens"],
        "completion_tokens": state["completion_tokens"],
        "native_tools": state["native"],
        "error": error,
        "failed": error is not None,
        "task_results": env.task_results(),
    }
    record = EpisodeRecord(
        agent=config.agent,
        instance_id=simulator.instance.instance_id,
        instance_index=index,
        seed=seed,
        latency=simulator.profile.name,
        n_tasks=simulator.instance.n_tasks,
        episode_return=0.0,
        decisions=simulator.round,
        metrics=metrics,
        timeline=timeline(simulator),
        details=details,
    )
    return record, env.messages


def _done_indexes(path: Path) -> set[int]:
    if not path.is_file():
        return set()
    done = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            done.add(int(json.loads(line)["instance_index"]))
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line from an interrupted run is replayed
    return done


async def _run(
    client: Any,
    config: LLMConfig,
    instances: Sequence[Instance],
    indexes: Sequence[int],
    seed: int,
    latency: str | None,
    output: Path,
    progress: Callable[[int], None] | None,
) -> None:
    output.mkdir(parents=True, exist_ok=True)
    episodes = output / "episodes.jsonl"
    transcripts = output / "transcripts.jsonl"
    todo = [index for index in indexes if index not in _done_indexes(episodes)]
    limit = asyncio.Semaphore(max(1, config.concurrency))
    lock = asyncio.Lock()
    finished = len(indexes) - len(todo)
    if progress:
        progress(finished)

    async def one(index: int) -> None:
        nonlocal finished
        async with limit:
            record, messages = await play_chat_episode(
                client, config, instances, index, seed + index, latency
            )
        async with lock:  # append whole lines, one episode at a time
            with transcripts.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"instance_index": index, "messages": messages}) + "\n")
            with episodes.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record.to_json(), sort_keys=True) + "\n")
            finished += 1
            if progress:
                progress(finished)

    await asyncio.gather(*(one(index) for index in todo))


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
    """
    from asynctool_env.benchmark import read_records, result_versions

    folder = Path(output)
    client = client or make_async_client(config)
    chosen = list(indexes) if indexes is not None else list(range(len(instances)))
    asyncio.run(_run(client, config, instances, chosen, seed, latency, folder, progress))
    records = read_records([folder])
    summary = summarize(records)
    (folder / "summary.json").write_text(
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
