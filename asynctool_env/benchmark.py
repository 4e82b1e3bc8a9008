"""Evaluate agents on the benchmark: episodes, optimal schedules, summaries, leaderboards.

This is the evaluation API behind ``asynctool bench``, ``eval`` and ``ablate``. One episode
per instance of a split (or of a procedural stream), each with its own seed (``seed +
index``), so a result names exactly what was played. Every episode is scored by
:mod:`asynctool_env.metrics`, with ``optimal_rounds`` from the exact solver on the episode's
realized latencies, so ``efficiency`` compares the agent with the best possible schedule of
that very episode.

Results are plain data: :class:`~asynctool_env.results.EpisodeRecord` rows (written as
JSONL, one per episode, with a compact timeline of the calls for plots) and
:func:`~asynctool_env.results.summarize` tables (JSON and CSV); :mod:`asynctool_env.results`
holds them and is re-exported here.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from asynctool_env.agents import POLICIES, make_policy
from asynctool_env.core.task import Instance
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.results import (  # re-exported: the benchmark's results API
    FAILURE_MODES,
    LEADERBOARD_COLUMNS,
    SUMMARY_METRICS,
    TRIAL_COLUMNS,
    EpisodeRecord,
    episode_record,
    format_value,
    grouped_summaries,
    leaderboard_columns,
    leaderboard_markdown,
    pass_at_k,
    pass_hat_k,
    read_records,
    result_versions,
    summarize,
    timeline,
    trial_summary,
)
from asynctool_env.rollout import env_kwargs_for, play_and_record

#: The reference agents, in leaderboard order (``asynctool bench`` runs these).
REFERENCE_AGENTS = ("random", "sequential", "greedy", "critical_path", "oracle")


@dataclass(frozen=True)
class EvalConfig:
    """What to play.

    Attributes:
        split: ``"test"``, ``"dev"``, or ``"procedural"`` (fresh generated instances).
        latency: A profile name forcing one latency for every instance; ``None`` keeps each
            instance's own profile.
        n_tasks: Keep only instances with this many tasks (procedural: generate this many).
        episodes: Play only the first N instances (``None``: all of the split).
        seed: Episode ``i`` is reset with ``seed + i``.
        max_calls_per_turn: The call cap (``None``: unlimited).
        tool_capacity: Calls each tool serves at once, shared by the instance's tasks (more
            queue: the contention regime); ``None``: no limit.
        optimal: Compute ``optimal_rounds`` and ``efficiency`` with the exact solver.
        policy: For a trained agent (``ppo``): its policy file or folder (``None``: the
            shipped policies). It travels with the config to worker processes.
    """

    split: str = "test"
    latency: str | None = None
    n_tasks: int | None = None
    episodes: int | None = None
    seed: int = 0
    max_calls_per_turn: int | None = 1
    optimal: bool = True
    tool_capacity: int | None = None
    policy: str | None = None

    def policy_options(self, agent: str) -> dict[str, Any]:
        """What :func:`~asynctool_env.agents.make_policy` gets for ``agent``."""
        return {"policy": self.policy} if agent == "ppo" and self.policy is not None else {}

    def env_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "latency": self.latency,
            "max_calls_per_turn": self.max_calls_per_turn,
            "tool_capacity": self.tool_capacity,
        }
        if self.split == "procedural" and self.n_tasks is not None:
            kwargs["n_tasks"] = self.n_tasks
        return kwargs


def _instances(config: EvalConfig) -> list[Instance] | None:
    """The instances to play (``None`` for the procedural stream)."""
    if config.split == "procedural":
        return None
    from asynctool_env.dataset import load_split

    instances = load_split(config.split)
    if config.n_tasks is not None:
        instances = [i for i in instances if i.n_tasks == config.n_tasks]
        if not instances:
            raise ValueError(f"no instance of {config.n_tasks} tasks in split {config.split!r}")
    if config.episodes is not None:
        instances = instances[: config.episodes]
    return instances


def play_episode(
    env: AsyncToolEnv,
    agent: str,
    seed: int,
    *,
    instance_index: int | None = None,
    optimal: bool = True,
    policy_options: Mapping[str, Any] | None = None,
) -> EpisodeRecord:
    """Play one episode of ``agent`` and score it (with the optimum of that episode)."""
    policy = make_policy(agent, seed, **(policy_options or {}))
    return play_and_record(
        env, policy, seed, agent=agent, instance_index=instance_index, optimal=optimal
    )


def _env_kwargs_for(agent: str, config: EvalConfig) -> dict[str, Any]:
    """The config's env kwargs plus the env interface the agent declares."""
    policy = make_policy(agent, config.seed, **config.policy_options(agent))
    return env_kwargs_for(policy, config.env_kwargs())


def _run_chunk(agent: str, config: EvalConfig, indexes: Sequence[int]) -> list[EpisodeRecord]:
    instances = _instances(config)
    kwargs = _env_kwargs_for(agent, config)
    if instances is None:
        env = AsyncToolEnv(**kwargs, optimum_in_info=config.optimal)
        return [
            play_episode(
                env,
                agent,
                config.seed + index,
                optimal=config.optimal,
                policy_options=config.policy_options(agent),
            )
            for index in indexes
        ]
    env = AsyncToolEnv(instances=instances, **kwargs, optimum_in_info=config.optimal)
    return [
        play_episode(
            env,
            agent,
            config.seed + index,
            instance_index=index,
            optimal=config.optimal,
            policy_options=config.policy_options(agent),
        )
        for index in indexes
    ]


def evaluate(
    agent: str,
    config: EvalConfig | None = None,
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[EpisodeRecord]:
    """Play ``agent`` on every episode of ``config``; ``workers`` processes share the work.

    Args:
        agent: A reference agent name (see :data:`asynctool_env.agents.POLICIES`).
        config: What to play (default: the whole test split).
        workers: Processes; 1 runs in this process.
        progress: Called with the number of episodes finished so far.
    """
    if agent not in POLICIES:
        raise ValueError(f"unknown agent {agent!r}; choose one of {', '.join(POLICIES)}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    config = config or EvalConfig()
    instances = _instances(config)
    count = len(instances) if instances is not None else (config.episodes or 100)
    indexes = list(range(count))
    chunk = max(1, math.ceil(count / (workers * 4)))
    chunks = [indexes[start : start + chunk] for start in range(0, count, chunk)]
    records: list[EpisodeRecord] = []
    if workers == 1:
        for part in chunks:
            records.extend(_run_chunk(agent, config, part))
            if progress:
                progress(len(records))
        return records
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run_chunk, agent, config, part) for part in chunks]
        for future in futures:
            records.extend(future.result())
            if progress:
                progress(len(records))
    return records


def write_results(
    folder: str | os.PathLike[str],
    records: Iterable[EpisodeRecord],
    summaries: Sequence[Mapping[str, Any]],
    config: EvalConfig,
) -> Path:
    """Write ``episodes.jsonl``, ``summary.json``, ``summary.csv`` and ``leaderboard.md``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "episodes.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_json(), sort_keys=True) + "\n")
    payload = {
        "versions": result_versions(),
        "config": asdict(config),
        "summaries": list(summaries),
    }
    (out / "summary.json").write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    if summaries:
        names = list(summaries[0])
        with (out / "summary.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=names)
            writer.writeheader()
            for summary in summaries:
                writer.writerow(summary)
    title = f"{config.split} split" + (f", latency={config.latency}" if config.latency else "")
    if config.tool_capacity is not None:
        title += f", tool capacity {config.tool_capacity}"
    (out / "leaderboard.md").write_text(leaderboard_markdown(summaries, title))
    return out


__all__ = [
    "FAILURE_MODES",
    "LEADERBOARD_COLUMNS",
    "REFERENCE_AGENTS",
    "SUMMARY_METRICS",
    "TRIAL_COLUMNS",
    "EpisodeRecord",
    "EvalConfig",
    "episode_record",
    "evaluate",
    "format_value",
    "grouped_summaries",
    "leaderboard_columns",
    "leaderboard_markdown",
    "pass_at_k",
    "pass_hat_k",
    "play_episode",
    "read_records",
    "result_versions",
    "summarize",
    "timeline",
    "trial_summary",
    "write_results",
]
