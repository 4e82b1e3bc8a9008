"""Result records and what is read off them: summaries, pass@k, leaderboards, files.

Every way of evaluating an agent (the reference agents and trained policies through
:mod:`asynctool_env.benchmark`, LLMs through :mod:`asynctool_env.chat.runner`) writes the
same :class:`EpisodeRecord` rows, and everything here reads them: :func:`summarize`
averages them (failed episodes, server trouble, apart), :func:`trial_summary` gives pass@k
and pass^k, :func:`leaderboard_markdown` tabulates, :func:`read_records` loads result
folders. It depends on the core and the metrics only, so every evaluation path can use it.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asynctool_env.core.simulator import CallEvent, DeliveryEvent, Simulator

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
    "spoiled_after_answer",
    "collateral_write",
)


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
    versions are not comparable: v3 made the worlds stateful (the gold is what the gold calls
    do) and grader 3 judges writes by the final state, refuses guesses and echoes, and reads
    each fact once; v2 and grader 2 had regenerated the tasks and judged by effect, outcome
    and facts, where v1 compared spellings."""
    from asynctool_env.core.resolver import GRADER_VERSION
    from asynctool_env.dataset import DATASET_VERSION

    return {
        "dataset": DATASET_VERSION,
        "grader": GRADER_VERSION,
        "note": "results of another dataset or grader version are not comparable",
    }


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


def episode_record(
    simulator: Simulator,
    agent: str,
    result: Any,
    seed: int,
    instance_index: int | None,
    optimal_rounds: int | None,
    *,
    details: Mapping[str, Any] | None = None,
    trial: int = 0,
) -> EpisodeRecord:
    """The record of an episode just played on ``simulator``, scored with
    ``optimal_rounds``: the one way every evaluation path (reference agents, trained
    policies, LLMs) makes its records. ``result`` has the episode's ``episode_return`` and
    ``decisions`` (:class:`~asynctool_env.rollout.EpisodeResult`)."""
    from asynctool_env.metrics import episode_metrics

    instance = simulator.instance
    return EpisodeRecord(
        agent=agent,
        instance_id=instance.instance_id,
        instance_index=instance_index if instance_index is not None else -1,
        seed=seed,
        latency=simulator.profile.name,
        n_tasks=instance.n_tasks,
        episode_return=float(result.episode_return),
        decisions=int(result.decisions),
        metrics=episode_metrics(simulator, optimal_rounds=optimal_rounds).as_dict(),
        timeline=timeline(simulator),
        details=dict(details or {}),
        tool_capacity=simulator.tool_capacity,
        trial=trial,
    )


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
    summary["split"] = "+".join(sorted({record_split(r) for r in records})) or None
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
    ("episodes", "episodes", "count"),
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
    """The leaderboard's columns for these summaries (the split when the rows come from
    different ones; pass^k and pass@k when trials ran)."""
    columns = LEADERBOARD_COLUMNS
    if len({summary.get("split") for summary in summaries}) > 1:
        columns = (*columns[:1], ("split", "split", ""), *columns[1:])
    if any(summary.get("trials") for summary in summaries):
        columns += TRIAL_COLUMNS
    return columns


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


def read_records(paths: Iterable[str | os.PathLike[str]]) -> list[EpisodeRecord]:
    """Episode records from result folders or ``episodes.jsonl`` files.

    Raises:
        FileNotFoundError: A path has no ``episodes.jsonl``.
        ValueError: A line is not a valid record (the message names file and line).
    """
    return [record for run in read_runs(paths) for record in run.records]


@dataclass(frozen=True)
class Run:
    """The episodes of one result folder (or ``episodes.jsonl`` file), named by ``label``:
    the folder's name, with as many parent folders as it takes to tell it from the others
    read with it."""

    label: str
    path: Path
    records: list[EpisodeRecord]


def _read_episodes(path: str | os.PathLike[str]) -> tuple[Path, list[EpisodeRecord]]:
    file = Path(path)
    if file.is_dir():
        file = file / "episodes.jsonl"
    if not file.is_file():
        raise FileNotFoundError(f"no episodes.jsonl at {path}")
    text = file.read_text(encoding="utf-8")
    lines = text.splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(EpisodeRecord(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as error:
            if number == len(lines) and not text.endswith("\n"):
                # A run killed mid-write: resuming it replays that episode.
                warnings.warn(f"{file}:{number}: torn last line skipped", stacklevel=3)
                continue
            raise ValueError(f"{file}:{number}: not an episode record: {error}") from None
    return file, records


def read_runs(paths: Iterable[str | os.PathLike[str]]) -> list[Run]:
    """One :class:`Run` per path (a result folder or an ``episodes.jsonl`` file), labelled
    by its folder's name; same-named folders get their parents' names too
    (``a/ppo``, ``b/ppo``).

    Raises:
        FileNotFoundError: A path has no ``episodes.jsonl``.
        ValueError: A line is not a valid record, or a path was given twice.
    """
    read = [_read_episodes(path) for path in paths]
    folders = [file.resolve().parent for file, _ in read]
    if len(set(folders)) < len(folders):
        twice = sorted({str(f) for f in folders if folders.count(f) > 1})
        raise ValueError(f"results given twice: {', '.join(twice)}")

    def label(folder: Path) -> str:
        # The shortest tail of the folder's path that no other folder's path ends with.
        for depth in range(1, len(folder.parts) + 1):
            tail = folder.parts[-depth:]
            if not any(other.parts[-depth:] == tail for other in folders if other != folder):
                break
        return "/".join(tail)

    labels = [label(folder) for folder in folders]
    return [Run(label, file, records) for label, (file, records) in zip(labels, read, strict=True)]


def record_split(record: EpisodeRecord) -> str:
    """The split an episode's instance came from (``dev-0003`` -> ``dev``; instances of the
    procedural stream carry no split: ``procedural``)."""
    head, _, tail = record.instance_id.rpartition("-")
    return head if head and tail.isdigit() else "procedural"


def label_runs(runs: Sequence[Run]) -> tuple[list[EpisodeRecord], list[str]]:
    """The records of several runs with one agent label per row of a report, and warnings
    about rows that are not comparable.

    An agent name found in several runs becomes ``name (run label)``, so the shipped
    ``ppo`` and a user's own ``ppo`` stay two rows instead of one mean of both; a label whose
    episodes come from several splits is cut by split (``name [dev]``). The warnings say
    when the rows come from different splits, played different numbers of episodes or were
    scored by different dataset or grader versions."""
    from dataclasses import replace

    runs_of: dict[str, set[str]] = {}
    for run in runs:
        for record in run.records:
            runs_of.setdefault(record.agent, set()).add(run.label)
    named: list[EpisodeRecord] = []
    for run in runs:
        for record in run.records:
            shared = len(runs_of[record.agent]) > 1
            label = f"{record.agent} ({run.label})" if shared else record.agent
            named.append(replace(record, agent=label))
    splits_of: dict[str, set[str]] = {}
    for record in named:
        splits_of.setdefault(record.agent, set()).add(record_split(record))
    labelled = [
        replace(record, agent=f"{record.agent} [{record_split(record)}]")
        if len(splits_of[record.agent]) > 1
        else record
        for record in named
    ]
    warnings_: list[str] = []
    splits = sorted({record_split(record) for record in labelled})
    if len(splits) > 1:
        warnings_.append(
            f"the rows come from different splits ({', '.join(splits)}): "
            "compare rows of one split only"
        )
    played: dict[str, set[str]] = {}
    for record in labelled:  # instances, not episodes: trials replay the same instances
        played.setdefault(record.agent, set()).add(record.instance_id)
    counts = {agent: len(instances) for agent, instances in played.items()}
    if len(set(counts.values())) > 1:
        low, high = min(counts.values()), max(counts.values())
        warnings_.append(
            f"the rows played different numbers of instances ({low} to {high}; see the "
            "episodes column): a mean over few instances is noisy"
        )
    versions = {json.dumps(dict(record.versions), sort_keys=True) for record in labelled}
    if len(versions) > 1:
        shown = "; ".join(
            ", ".join(f"{k} {v}" for k, v in json.loads(v).items()) or "unrecorded (v1)"
            for v in sorted(versions)
        )
        warnings_.append(f"the rows were scored by different versions ({shown})")
    return labelled, warnings_
