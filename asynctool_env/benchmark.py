"""Evaluate agents on the benchmark: episodes, optimal schedules, summaries, leaderboards.

This is the evaluation API behind ``asynctool bench``, ``eval`` and ``ablate``. One episode
per instance of a split (or of a procedural stream), each with its own seed (``seed +
index``), so a result names exactly what was played. Every episode is scored by
:mod:`asynctool_env.metrics`, with ``optimal_rounds`` from the exact solver on the episode's
realized latencies, so ``efficiency`` compares the agent with the best possible schedule of
that very episode.

Results are plain data: :class:`EpisodeRecord` rows (written as JSONL, one per episode, with
a compact timeline of the calls for plots) and :func:`summarize` tables (JSON and CSV).
"""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asynctool_env.agents import POLICIES, make_policy
from asynctool_env.core.simulator import CallEvent, DeliveryEvent, Simulator
from asynctool_env.core.task import Instance
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.metrics import episode_metrics
from asynctool_env.rollout import EpisodeResult, env_kwargs_for, run_episode
from asynctool_env.solver import optimal_schedule_for_simulator

#: The reference agents, in leaderboard order (``asynctool bench`` runs these).
REFERENCE_AGENTS = ("random", "sequential", "greedy", "critical_path", "oracle")

#: Metrics averaged in summaries and leaderboards (booleans become rates).
SUMMARY_METRICS = (
    "instance_success",
    "task_success_rate",
    "step_f1",
    "efficiency",
    "rounds",
    "optimal_rounds",
    "sequential_rounds",
    "speedup_vs_sequential",
    "idle_ratio",
    "mean_in_flight",
    "switches",
    "mean_ready_wait",
    "dependency_violations",
    "redundant_calls",
    "invalid_actions",
)

FAILURE_MODES = (
    "dependency_violation",
    "task_neglect",
    "tool_confusion",
    "premature_answer",
    "redundant_call",
    "idle_wait",
)


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
    """

    split: str = "test"
    latency: str | None = None
    n_tasks: int | None = None
    episodes: int | None = None
    seed: int = 0
    max_calls_per_turn: int | None = 1
    optimal: bool = True
    tool_capacity: int | None = None

    def env_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "latency": self.latency,
            "max_calls_per_turn": self.max_calls_per_turn,
            "tool_capacity": self.tool_capacity,
        }
        if self.split == "procedural" and self.n_tasks is not None:
            kwargs["n_tasks"] = self.n_tasks
        return kwargs


@dataclass(frozen=True)
class EpisodeRecord:
    """One episode of one agent: what was played and how it went."""

    agent: str
    instance_id: str
    instance_index: int
    seed: int
    latency: str
    n_tasks: int
    episode_return: float
    decisions: int
    metrics: Mapping[str, Any]
    #: ``[task, step, call round, delivery round or -1, kind]`` per call (for Gantt plots).
    timeline: Sequence[Sequence[Any]] = field(default_factory=list)
    #: Agent-specific facts: token usage, whether the episode failed and why (LLM agents).
    details: Mapping[str, Any] = field(default_factory=dict)
    #: The env's ``tool_capacity`` (``None``: no contention).
    tool_capacity: int | Mapping[str, int] | None = None
    #: Which play of the instance this is (``asynctool eval --trials k``: 0..k-1).
    trial: int = 0
    #: Dataset and grader versions the episode was scored with (:func:`result_versions`);
    #: empty in files written before versions were recorded (dataset v1, grader 1).
    versions: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["versions"] = dict(self.versions) or result_versions()
        return data


def result_versions() -> dict[str, str]:
    """The dataset and grader versions stamped on every result file. Results of different
    versions are not comparable: v2 regenerated the tasks (knowability audit) and grader 2
    judges by effect, outcome and facts, where v1 compared spellings."""
    from asynctool_env.core.resolver import GRADER_VERSION
    from asynctool_env.dataset import DATASET_VERSION

    return {
        "dataset": DATASET_VERSION,
        "grader": GRADER_VERSION,
        "note": "results of another dataset or grader version are not comparable",
    }


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


def timeline(simulator: Simulator) -> list[list[Any]]:
    """Calls of an episode as ``[task, step, call round, delivery round, kind]`` rows."""
    delivered = {
        event.call_id: event.round for event in simulator.trace if isinstance(event, DeliveryEvent)
    }
    return [
        [event.task, event.step, event.round, delivered.get(event.call_id, -1), event.kind.value]
        for event in simulator.trace
        if isinstance(event, CallEvent)
    ]


def play_episode(
    env: AsyncToolEnv,
    agent: str,
    seed: int,
    *,
    instance_index: int | None = None,
    optimal: bool = True,
) -> EpisodeRecord:
    """Play one episode of ``agent`` and score it (with the optimum of that episode)."""
    options = {"instance_index": instance_index} if instance_index is not None else None
    result = run_episode(env, make_policy(agent, seed), seed, options)
    simulator = env.simulator
    assert simulator is not None
    best = optimal_schedule_for_simulator(simulator).rounds if optimal else None
    return episode_record(simulator, agent, result, seed, instance_index, best)


def episode_record(
    simulator: Simulator,
    agent: str,
    result: EpisodeResult,
    seed: int,
    instance_index: int | None,
    optimal_rounds: int | None,
) -> EpisodeRecord:
    """The record of an episode just played on ``simulator`` (``result`` from
    :func:`~asynctool_env.rollout.run_episode`), scored with ``optimal_rounds``."""
    instance = simulator.instance
    return EpisodeRecord(
        agent=agent,
        instance_id=instance.instance_id,
        instance_index=instance_index if instance_index is not None else -1,
        seed=seed,
        latency=simulator.profile.name,
        n_tasks=instance.n_tasks,
        episode_return=result.episode_return,
        decisions=result.decisions,
        metrics=episode_metrics(simulator, optimal_rounds=optimal_rounds).as_dict(),
        timeline=timeline(simulator),
        tool_capacity=simulator.tool_capacity,
    )


def _env_kwargs_for(agent: str, config: EvalConfig) -> dict[str, Any]:
    """The config's env kwargs plus the env interface the agent declares."""
    return env_kwargs_for(make_policy(agent, config.seed), config.env_kwargs())


def _run_chunk(agent: str, config: EvalConfig, indexes: Sequence[int]) -> list[EpisodeRecord]:
    instances = _instances(config)
    kwargs = _env_kwargs_for(agent, config)
    if instances is None:
        env = AsyncToolEnv(**kwargs)
        return [
            play_episode(env, agent, config.seed + index, optimal=config.optimal)
            for index in indexes
        ]
    env = AsyncToolEnv(instances=instances, **kwargs)
    return [
        play_episode(env, agent, config.seed + index, instance_index=index, optimal=config.optimal)
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


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k (tau-bench): the chance that ``k`` trials drawn from ``n`` with ``c`` successes
    all succeed, unbiased: ``C(c, k) / C(n, k)``."""
    if not 1 <= k <= n or not 0 <= c <= n:
        raise ValueError(f"need 1 <= k <= n and 0 <= c <= n, got n={n}, c={c}, k={k}")
    return math.comb(c, k) / math.comb(n, k)


def pass_at_k(n: int, c: int, k: int) -> float:
    """pass@k: the chance that at least one of ``k`` trials drawn from ``n`` with ``c``
    successes succeeds, unbiased: ``1 - C(n - c, k) / C(n, k)``."""
    if not 1 <= k <= n or not 0 <= c <= n:
        raise ValueError(f"need 1 <= k <= n and 0 <= c <= n, got n={n}, c={c}, k={k}")
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def trial_summary(records: Sequence[EpisodeRecord]) -> dict[str, Any]:
    """pass@k and pass^k over trials, per instance and per task, with ``k`` the fewest
    trials any instance has (failed episodes, infrastructure trouble, are left out)."""
    by_instance: dict[int, list[EpisodeRecord]] = {}
    for record in records:
        by_instance.setdefault(record.instance_index, []).append(record)
    k = min(len(group) for group in by_instance.values())
    instances = [
        (len(group), sum(bool(r.metrics.get("instance_success")) for r in group))
        for group in by_instance.values()
    ]
    tasks: dict[tuple[int, str], list[bool]] = {}
    for record in records:
        for result in record.details.get("task_results") or ():
            tasks.setdefault((record.instance_index, str(result.get("task_id"))), []).append(
                bool(result.get("success"))
            )
    summary: dict[str, Any] = {
        "trials": k,
        "pass_at_k": float(np.mean([pass_at_k(n, c, k) for n, c in instances])),
        "pass_hat_k": float(np.mean([pass_hat_k(n, c, k) for n, c in instances])),
    }
    if tasks:
        counted = [(len(results), sum(results)) for results in tasks.values()]
        summary["task_pass_at_k"] = float(np.mean([pass_at_k(n, c, k) for n, c in counted]))
        summary["task_pass_hat_k"] = float(np.mean([pass_hat_k(n, c, k) for n, c in counted]))
    return summary


def summarize(records: Sequence[EpisodeRecord]) -> dict[str, Any]:
    """Means of :data:`SUMMARY_METRICS`, failure-mode rates and the mean return.

    Episodes that *failed* (the server kept erroring, timed out or answered malformed, so
    the model never got to play them out) are infrastructure failures, not model scores:
    they are left out of every mean and counted in ``failed_episodes``; ``episodes`` counts
    the scored ones. When every episode failed, the means are ``None``.
    """
    if not records:
        raise ValueError("no episodes to summarize")
    failed = sum(1 for r in records if r.details.get("failed"))
    agent = records[0].agent
    records = [r for r in records if not r.details.get("failed")]
    summary: dict[str, Any] = {"agent": agent, "episodes": len(records)}
    for name in SUMMARY_METRICS:
        values = [r.metrics.get(name) for r in records if r.metrics.get(name) is not None]
        summary[name] = float(np.mean([float(v) for v in values])) if values else None
    for mode in FAILURE_MODES:
        summary[f"rate_{mode}"] = (
            float(np.mean([mode in r.metrics.get("failure_modes", ()) for r in records]))
            if records
            else None
        )
    summary["return"] = float(np.mean([r.episode_return for r in records])) if records else None
    summary["failed_episodes"] = failed
    if records and any(record.trial for record in records):
        summary.update(trial_summary(records))
    return summary


def grouped_summaries(
    records: Sequence[EpisodeRecord], key: Callable[[EpisodeRecord], Any]
) -> dict[Any, dict[str, Any]]:
    """:func:`summarize` per group of ``key(record)``."""
    groups: dict[Any, list[EpisodeRecord]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return {name: summarize(group) for name, group in sorted(groups.items(), key=str)}


LEADERBOARD_COLUMNS = (
    ("agent", "agent", ""),
    ("overall", "instance_success", "pct"),
    ("task", "task_success_rate", "pct"),
    ("step F1", "step_f1", "pct"),
    ("efficiency", "efficiency", "ratio"),
    ("rounds", "rounds", "num"),
    ("optimal", "optimal_rounds", "num"),
    ("speedup", "speedup_vs_sequential", "ratio"),
    ("idle", "idle_ratio", "ratio"),
    ("in flight", "mean_in_flight", "num"),
    ("violations", "dependency_violations", "num"),
    ("failed", "failed_episodes", "count"),
)
#: Columns added to a leaderboard when some run played several trials of each instance.
TRIAL_COLUMNS = (
    ("trials", "trials", "count"),
    ("pass^k", "pass_hat_k", "pct"),
    ("pass@k", "pass_at_k", "pct"),
)


def leaderboard_columns(summaries: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str, str], ...]:
    """The leaderboard's columns for these summaries (pass^k and pass@k when trials ran)."""
    if any(summary.get("trials") for summary in summaries):
        return LEADERBOARD_COLUMNS + TRIAL_COLUMNS
    return LEADERBOARD_COLUMNS


def format_value(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{100 * value:.1f}"
    if kind == "ratio":
        return f"{value:.3f}"
    if kind == "num":
        return f"{value:.2f}"
    if kind == "count":
        return str(int(value))
    return str(value)


def leaderboard_markdown(summaries: Sequence[Mapping[str, Any]], title: str = "") -> str:
    """A markdown table of summaries, best efficiency first."""
    rows = sorted(summaries, key=lambda s: (-(s.get("efficiency") or 0), str(s["agent"])))
    columns = leaderboard_columns(summaries)
    header = "| " + " | ".join(column for column, _, _ in columns) + " |"
    rule = "|" + "|".join("---" if kind == "" else "---:" for _, _, kind in columns)
    lines = [f"### {title}", ""] if title else []
    lines += [header, rule + "|"]
    for summary in rows:
        cells = [format_value(summary.get(key), kind) for _, key, kind in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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


def read_records(paths: Iterable[str | os.PathLike[str]]) -> list[EpisodeRecord]:
    """Episode records from result folders or ``episodes.jsonl`` files.

    Raises:
        FileNotFoundError: A path has no ``episodes.jsonl``.
        ValueError: A line is not a valid record (the message names file and line).
    """
    records: list[EpisodeRecord] = []
    for path in paths:
        file = Path(path)
        if file.is_dir():
            file = file / "episodes.jsonl"
        if not file.is_file():
            raise FileNotFoundError(f"no episodes.jsonl at {path}")
        text = file.read_text(encoding="utf-8")
        lines = text.splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(EpisodeRecord(**json.loads(line)))
            except (json.JSONDecodeError, TypeError) as error:
                if number == len(lines) and not text.endswith("\n"):
                    # A run killed mid-write: resuming it replays that episode.
                    warnings.warn(f"{file}:{number}: torn last line skipped", stacklevel=2)
                    continue
                raise ValueError(f"{file}:{number}: not an episode record: {error}") from None
    return records
