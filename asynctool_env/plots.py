"""Plots of benchmark results (matplotlib, the ``plots`` extra), written as PNG files.

* :func:`plot_timelines`: one Gantt chart per agent for the same episode: a lane per task,
  a bar per call from the round it was made to the round its response arrived, coloured by
  kind (correct, dependency violation, redundant, unmatched), the optimum in the title.
* :func:`plot_efficiency_by_latency`: mean efficiency per latency profile, one bar per agent.
* :func:`plot_success_by_tasks`: instance success and efficiency for 2- and 3-task instances.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from asynctool_env.results import EpisodeRecord, grouped_summaries

KIND_COLOURS = {
    "correct": "#2e8b57",
    "violation": "#c82828",
    "redundant": "#e6961e",
    "unmatched": "#787878",
}


def _pyplot():  # imported lazily: plotting is optional
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError("plots need matplotlib: pip install 'asynctool-env[plots]'") from error
    return plt


def plot_timelines(records: Sequence[EpisodeRecord], path: str | Path) -> Path:
    """Gantt charts of one episode, one row per agent (records of the same instance)."""
    plt = _pyplot()
    if not records:
        raise ValueError("no episodes to plot")
    figure, axes = plt.subplots(
        len(records), 1, figsize=(10, 1.2 + 1.3 * len(records)), squeeze=False, sharex=True
    )
    horizon = max(int(r.metrics["rounds"]) for r in records) + 1
    for axis, record in zip(axes[:, 0], records, strict=True):
        n_tasks = record.n_tasks
        rows_per_task: dict[int, int] = {}
        for task, step, start, end, kind in record.timeline:
            lane = task if task >= 0 else n_tasks
            offset = rows_per_task.get(lane, 0)
            rows_per_task[lane] = offset + 1
            finish = end if end >= 0 else horizon
            axis.barh(
                lane + 0.15 + 0.7 * ((offset % 3) / 3),
                max(finish - start, 0.2),
                left=start,
                height=0.7 / 3,
                color=KIND_COLOURS.get(kind, "#555555"),
                edgecolor="white",
                linewidth=0.5,
            )
            axis.text(
                start + 0.05,
                lane + 0.15 + 0.7 * ((offset % 3) / 3) + 0.05,
                f"s{step}",
                fontsize=6,
                color="white",
                va="bottom",
            )
        for task, answered in enumerate(record.metrics.get("task_completion_rounds", [])):
            if answered is not None:
                axis.plot([answered + 0.5] * 2, [task + 0.05, task + 0.95], color="#1e5ac8", lw=2)
        axis.set_yticks([k + 0.5 for k in range(n_tasks)])
        axis.set_yticklabels([f"task {k}" for k in range(n_tasks)])
        axis.set_ylim(0, n_tasks + (1 if any(t[0] < 0 for t in record.timeline) else 0))
        axis.set_xlim(0, horizon)
        optimum = record.metrics.get("optimal_rounds")
        axis.set_title(
            f"{record.agent}: {record.metrics['rounds']} rounds"
            + (f" (optimum {optimum})" if optimum is not None else ""),
            fontsize=9,
            loc="left",
        )
        axis.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("round")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour) for colour in KIND_COLOURS.values()]
    figure.legend(handles, list(KIND_COLOURS), loc="upper left", fontsize=7, ncol=4)
    figure.suptitle(f"Timeline of {records[0].instance_id} (bars: call to response)", fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    return _save(figure, path, plt)


def _grouped_bars(
    records: Sequence[EpisodeRecord], group_of, metric: str, axis, title: str
) -> None:
    agents = sorted({r.agent for r in records})
    groups = sorted({group_of(r) for r in records}, key=str)
    width = 0.8 / max(len(agents), 1)
    for position, agent in enumerate(agents):
        summaries = grouped_summaries([r for r in records if r.agent == agent], group_of)
        values = [summaries.get(group, {}).get(metric) or 0.0 for group in groups]
        axis.bar(np.arange(len(groups)) + position * width, values, width, label=agent)
    axis.set_xticks(np.arange(len(groups)) + width * (len(agents) - 1) / 2)
    axis.set_xticklabels([str(group) for group in groups])
    axis.set_title(title, fontsize=10)
    axis.grid(axis="y", alpha=0.3)


def plot_efficiency_by_latency(records: Sequence[EpisodeRecord], path: str | Path) -> Path:
    """Mean efficiency (optimal / actual rounds) per latency profile, per agent."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 4))
    _grouped_bars(records, lambda r: r.latency, "efficiency", axis, "Efficiency by latency profile")
    axis.set_ylabel("efficiency (optimal / rounds)")
    axis.set_ylim(0, 1.05)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return _save(figure, path, plt)


def plot_success_by_tasks(records: Sequence[EpisodeRecord], path: str | Path) -> Path:
    """Instance success and efficiency for each number of tasks per instance."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    _grouped_bars(
        records, lambda r: f"{r.n_tasks} tasks", "instance_success", axes[0], "Overall success"
    )
    _grouped_bars(records, lambda r: f"{r.n_tasks} tasks", "efficiency", axes[1], "Efficiency")
    axes[0].set_ylim(0, 1.05)
    axes[1].set_ylim(0, 1.05)
    axes[1].legend(fontsize=8)
    figure.suptitle("Success and efficiency by tasks per instance", fontsize=10)
    figure.tight_layout()
    return _save(figure, path, plt)


def _save(figure, path: str | Path, plt) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target
