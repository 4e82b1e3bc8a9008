"""Plots of benchmark results (matplotlib, the ``plots`` extra), written as PNG files.

* :func:`plot_timelines`: a Gantt chart of one episode, one panel per agent: a lane per
  task, a bar per call from the round it was made to the round its response arrived, drawn
  by kind (correct, dependency violation, redundant, unmatched), a tick where the task was
  answered; the suptitle names the instance, each panel its agent, rounds and optimum.
* :func:`plot_efficiency_by_latency`: mean efficiency per latency profile, one bar per agent.
* :func:`plot_success_by_tasks`: instance success and efficiency for 2- and 3-task instances.

How to read them, and the rules they keep so that two reports can be compared:

* **An agent has one colour everywhere.** Its colour is a function of its label alone
  (:func:`agent_colour`: a fixed colour for the agents shipped here, ``zlib.crc32`` of the
  name into :data:`AGENT_PALETTE`, Tableau's tab10 without its grey, for others), never of
  the order or the set of agents in a report: "ppo" is red in every report. Agents of one
  plot that share a colour ("ppo (run_a)", "ppo (run_b)") are told apart by a hatch
  (:func:`agent_styles`).
* **Event kinds are never agent colours.** The timeline draws kinds in greys and black only
  (:data:`KIND_STYLES`), with shapes to tell them apart: a dependency violation is a black
  bar with a black ✕ at the call, a redundant call a hatched light bar, an unmatched call an
  outlined one. No chromatic colour on a timeline means a kind.
* **Every bar carries its episode count.** The legend says ``agent (n=episodes)`` over the
  whole plot, and each bar has its own ``n`` above it (episodes that *failed*, the server
  kept erroring, are left out of the means and counted apart, see
  :func:`~asynctool_env.results.summarize`).
* **Legends sit outside the axes** (below them), so they never cover a bar, a panel or a
  title, whatever the number of agents and the length of their labels.

Each public function builds its figure with a private ``_*_figure`` helper (which the tests
draw and measure) and saves it; the figures are made without pyplot, so nothing is left open.
"""

from __future__ import annotations

import textwrap
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from asynctool_env.results import EpisodeRecord, grouped_summaries

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Agent colours: matplotlib's tab10 without its grey (grey is kept for event kinds), a
#: palette made to stay distinct for most colour-blind readers.
AGENT_PALETTE: tuple[str, ...] = (
    "#1f77b4",  # blue
    "#ff7f0e",  # orange
    "#2ca02c",  # green
    "#d62728",  # red
    "#9467bd",  # purple
    "#8c564b",  # brown
    "#e377c2",  # pink
    "#bcbd22",  # olive
    "#17becf",  # cyan
)
#: Fixed colours of the agents this package ships (reference agents, the trained policy,
#: the LLM agents), so that the usual leaderboard never has two of them share a colour.
KNOWN_AGENT_COLOURS: dict[str, str] = {
    "oracle": "#1f77b4",
    "critical_path": "#ff7f0e",
    "greedy": "#2ca02c",
    "ppo": "#d62728",
    "sequential": "#9467bd",
    "random": "#8c564b",
    "openai": "#e377c2",
    "local": "#17becf",
}
#: Hatches that tell apart agents of one plot whose labels share a colour (first: none).
AGENT_HATCHES: tuple[str, ...] = ("", "///", "...", "\\\\\\", "xx", "oo", "++", "**")


@dataclass(frozen=True)
class KindStyle:
    """How the timeline draws a call of one kind: greys and black only, so that no kind
    is ever mistaken for an agent's colour (see :data:`AGENT_PALETTE`)."""

    face: str
    edge: str
    hatch: str = ""
    linestyle: str = "solid"
    #: a marker drawn at the round of the call (``None``: none)
    marker: str | None = None
    #: colour of the step label written on the bar
    text: str = "white"
    legend: str = ""


KIND_STYLES: dict[str, KindStyle] = {
    "correct": KindStyle(face="#7a7a7a", edge="white", legend="correct call"),
    "violation": KindStyle(
        face="#111111",
        edge="white",
        marker="X",
        legend="dependency violation (black bar, ✕ at the call)",
    ),
    "redundant": KindStyle(
        face="#dddddd", edge="#555555", hatch="////", text="black", legend="redundant call"
    ),
    "unmatched": KindStyle(
        face="white",
        edge="#555555",
        linestyle="dashed",
        text="black",
        legend="unmatched call (no gold step)",
    ),
}
#: colour of the tick where a task was answered and of the violation marker
MARK_COLOUR = "black"


def _figure(width: float, height: float, **options: Any) -> Figure:
    """A figure with constrained layout on its own Agg canvas: no pyplot, so no global state
    and nothing to close; ``figure.canvas.draw()`` lays it out (the tests measure it)."""
    try:  # imported lazily: plotting is optional
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError("plots need matplotlib: pip install 'asynctool-env[plots]'") from error
    figure = Figure(figsize=(width, height), layout="constrained", **options)
    FigureCanvasAgg(figure)
    return figure


def agent_colour(label: str) -> str:
    """The colour of the agent called ``label``, the same in every plot and every report.

    It is a function of the label's *base name*, what comes before a `` (`` (the report
    labels agents of different runs that share a name ``"ppo (my_run)"``, ``"ppo (other)"``:
    they keep ppo's hue and differ by hatch, see :func:`agent_styles`). The agents this
    package ships have fixed colours (:data:`KNOWN_AGENT_COLOURS`); any other base name is
    hashed into :data:`AGENT_PALETTE` with ``zlib.crc32`` (Python's ``hash`` of a string is
    salted per process, so it would change the colour from run to run).

    >>> agent_colour("ppo") == agent_colour("ppo (my_run)") == "#d62728"
    True
    """
    base = label.split(" (", 1)[0].strip() or label
    if base in KNOWN_AGENT_COLOURS:
        return KNOWN_AGENT_COLOURS[base]
    return AGENT_PALETTE[zlib.crc32(base.encode("utf-8")) % len(AGENT_PALETTE)]


def agent_styles(labels: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``label -> (colour, hatch)`` for the agents of one plot. The colour is
    :func:`agent_colour` (a function of the label alone); agents that share it get the hatches
    of :data:`AGENT_HATCHES` in the order of their labels, the first none, so that every bar
    of a plot can be told apart while an agent keeps its colour from report to report."""
    styles: dict[str, tuple[str, str]] = {}
    taken: dict[str, int] = {}
    for label in sorted(set(labels)):
        colour = agent_colour(label)
        rank = taken.get(colour, 0)
        taken[colour] = rank + 1
        styles[label] = (colour, AGENT_HATCHES[rank % len(AGENT_HATCHES)])
    return styles


def _agents_in_order(records: Sequence[EpisodeRecord]) -> list[str]:
    """Agent labels in the order they first appear (the order of the results given)."""
    return list(dict.fromkeys(record.agent for record in records))


def _legend_below(
    figure: Any, handles: Sequence[Any], labels: Sequence[str], width: float, **extra: Any
) -> None:
    """The figure's legend under its axes (never over the data), as many columns as fit."""
    figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=_legend_columns(labels, width, 8),
        fontsize=8,
        frameon=False,
        **extra,
    )


def _legend_columns(labels: Sequence[str], width_inches: float, fontsize: float) -> int:
    """How many legend entries fit side by side in ``width_inches`` (a rough measure of
    text width: a character is about 0.55 of the font size wide, plus the handle)."""
    characters_per_inch = 72 / (0.55 * fontsize)
    entry = max((len(label) for label in labels), default=1) + 6
    return max(1, min(len(labels), int(width_inches * characters_per_inch // entry)))


def _wrap(text: str, width_inches: float, fontsize: float) -> str:
    """``text`` wrapped to lines that fit ``width_inches`` (long agent labels)."""
    return textwrap.fill(text, max(20, int(width_inches * 72 / (0.6 * fontsize))))


# --------------------------------------------------------------------------- timelines


def _pack(calls: Sequence[tuple[float, float]]) -> list[int]:
    """A row for each ``(start, finish)`` interval so that no two on one row overlap
    (greedy, in order of start): several calls of a task in flight at once sit one above
    another instead of on top of each other."""
    ends: list[float] = []
    rows = [0] * len(calls)
    for index in sorted(range(len(calls)), key=lambda k: calls[k][0]):
        start, finish = calls[index]
        for row, end in enumerate(ends):
            if end <= start:
                ends[row] = finish
                rows[index] = row
                break
        else:
            rows[index] = len(ends)
            ends.append(finish)
    return rows


def _describe(record: EpisodeRecord) -> str:
    return f"{record.n_tasks} tasks, latency {record.latency}, seed {record.seed}"


def _timeline_figure(records: Sequence[EpisodeRecord]) -> Figure:
    """The figure of :func:`plot_timelines`: one panel per agent (its first play of the
    instance, by trial then seed), the instance in the suptitle, the kinds in a legend below
    the panels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    if not records:
        raise ValueError("no episodes to plot")
    plays: dict[str, list[EpisodeRecord]] = {}
    for record in records:
        plays.setdefault(record.agent, []).append(record)
    shown = [min(group, key=lambda r: (r.trial, r.seed)) for group in plays.values()]
    first = shown[0]
    same_instance = all(r.instance_id == first.instance_id for r in shown)
    same_setting = same_instance and all(_describe(r) == _describe(first) for r in shown)

    horizon = max(int(r.metrics.get("rounds", 0)) for r in shown) + 1
    panels = []
    for record in shown:
        lanes: dict[int, list[tuple[int, float, float, str]]] = {}
        for task, step, start, end, kind in record.timeline:
            lane = task if task >= 0 else record.n_tasks
            finish = end if end >= 0 else horizon
            lanes.setdefault(lane, []).append((step, start, max(finish, start + 0.2), kind))
        n_lanes = record.n_tasks + (1 if record.n_tasks in lanes else 0)
        rows = {lane: _pack([(s, f) for _, s, f, _ in calls]) for lane, calls in lanes.items()}
        depth = max([max(r) + 1 for r in rows.values() if r] or [1])
        panels.append((record, lanes, rows, n_lanes, depth))

    width = 10.0
    heights = [0.7 + n_lanes * (0.3 + 0.16 * min(depth, 6)) for _, _, _, n_lanes, depth in panels]
    figure = _figure(width, 1.6 + sum(heights))
    axes = figure.subplots(len(panels), 1, squeeze=False, sharex=True, height_ratios=heights)
    for axis, (record, lanes, rows, n_lanes, depth) in zip(axes[:, 0], panels, strict=True):
        height = 0.8 / depth
        for lane, calls in lanes.items():
            for (step, start, finish, kind), row in zip(calls, rows[lane], strict=True):
                style = KIND_STYLES.get(kind, KIND_STYLES["unmatched"])
                bottom = lane + 0.1 + row * height
                axis.barh(
                    bottom + height / 2,
                    finish - start,
                    left=start,
                    height=height * 0.9,
                    color=style.face,
                    edgecolor=style.edge,
                    hatch=style.hatch,
                    linestyle=style.linestyle,
                    linewidth=0.8,
                )
                if style.marker:
                    axis.plot(
                        start,
                        bottom + height / 2,
                        marker=style.marker,
                        color=MARK_COLOUR,
                        markeredgecolor="white",
                        markersize=8,
                        linestyle="none",
                        zorder=3,
                    )
                if finish - start >= 0.8 and height >= 0.12:
                    axis.text(
                        start + (0.45 if style.marker else 0.1),
                        bottom + height / 2,
                        f"s{step}",
                        fontsize=6,
                        color=style.text,
                        va="center",
                        clip_on=True,
                    )
        for task, answered in enumerate(record.metrics.get("task_completion_rounds") or []):
            if answered is not None:
                axis.plot([answered + 0.5] * 2, [task + 0.05, task + 0.95], color=MARK_COLOUR, lw=2)
        axis.set_yticks([k + 0.5 for k in range(n_lanes)])
        axis.set_yticklabels(
            [f"task {k}" for k in range(record.n_tasks)] + ["no task"][: n_lanes - record.n_tasks]
        )
        axis.set_ylim(0, n_lanes)
        axis.set_xlim(0, horizon)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(axis="x", alpha=0.3)
        optimum = record.metrics.get("optimal_rounds")
        title = f"{record.agent}: {record.metrics.get('rounds')} rounds" + (
            f" (optimum {optimum})" if optimum is not None else ""
        )
        if not same_setting:
            title += f"; {record.instance_id}, {_describe(record)}"
        count = len(plays[record.agent])
        if count > 1:
            title += f"; 1 of its {count} plays shown (trial {record.trial}, seed {record.seed})"
        axis.set_title(_wrap(title, width, 9), fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("round")

    handles = [
        Patch(
            facecolor=style.face,
            edgecolor="#555555" if style.face != "white" else style.edge,
            hatch=style.hatch,
            linestyle=style.linestyle,
            label=style.legend,
        )
        for kind, style in KIND_STYLES.items()
        if kind != "violation"
    ]
    violation = KIND_STYLES["violation"]
    handles.insert(
        1,
        Line2D(
            [],
            [],
            marker=violation.marker,
            color=MARK_COLOUR,
            markerfacecolor=MARK_COLOUR,
            markeredgecolor="white",
            markersize=9,
            linestyle="none",
            label=violation.legend,
        ),
    )
    handles.append(
        Line2D([], [], marker="|", color=MARK_COLOUR, markersize=12, mew=2, linestyle="none")
    )
    handles[-1].set_label("task answered")
    labels = [handle.get_label() for handle in handles]
    _legend_below(figure, handles, labels, width)
    if same_instance:
        heading = f"Timeline of instance {first.instance_id}" + (
            f" ({_describe(first)})" if same_setting else ""
        )
    else:
        heading = f"Timelines of {len({r.instance_id for r in shown})} instances"
    figure.suptitle(
        heading + "\nbars: each call, from the round it was made to the round its response "
        "arrived; s<k> is the gold step it matches",
        fontsize=10,
    )
    return figure


def plot_timelines(records: Sequence[EpisodeRecord], path: str | Path) -> Path:
    """Gantt charts of one episode as each agent played it, written to ``path`` (PNG).

    ``records`` are episodes of one instance (``asynctool report`` passes every agent's
    play of the first instance). Each agent gets one panel, titled with its full label, its
    rounds and the optimum; an agent with several plays (trials) shows its first and says
    so. A panel has a lane per task; each call is a bar from the round it was made to the
    round its response arrived, drawn by kind (:data:`KIND_STYLES`: greys and black, a ✕
    on a dependency violation), and a black tick marks the round the task was answered.
    The suptitle names the instance (its tasks, latency profile and seed). Returns the path.
    """
    return _save(_timeline_figure(records), path)


# --------------------------------------------------------------------------- bar charts


def _grouped_bars(
    axis: Axes,
    records: Sequence[EpisodeRecord],
    group_of: Callable[[EpisodeRecord], Any],
    metric: str,
    agents: Sequence[str],
    styles: Mapping[str, tuple[str, str]],
    title: str,
) -> None:
    """On ``axis``, the mean ``metric`` per group, one bar per agent with its episode count
    written above it (``n=0`` and no bar where the group has no scored episode)."""
    groups = sorted({group_of(r) for r in records}, key=str)
    width = 0.8 / max(len(agents), 1)
    for position, agent in enumerate(agents):
        summaries = grouped_summaries([r for r in records if r.agent == agent], group_of)
        for index, group in enumerate(groups):
            summary = summaries.get(group)
            if summary is None:  # the agent played no episode of this group
                continue
            x = index + (position - (len(agents) - 1) / 2) * width
            value = summary.get(metric)
            colour, hatch = styles[agent]
            if value is not None:
                axis.bar(x, value, width, color=colour, hatch=hatch, edgecolor="white", lw=0.5)
            axis.annotate(
                f"n={summary['episodes']}",
                (x, value or 0.0),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                rotation=90,
                fontsize=6.5,
                color="#333333",
            )
    axis.set_xticks(np.arange(len(groups)))
    axis.set_xticklabels([str(group) for group in groups])
    axis.set_xlim(-0.5, len(groups) - 0.5)
    # headroom above 1.0 for the episode counts over the bars
    axis.set_ylim(0, 1.25)
    axis.set_yticks(np.linspace(0, 1, 6))
    axis.set_title(title, fontsize=10)
    axis.grid(axis="y", alpha=0.3)
    axis.set_axisbelow(True)


def _agent_legend(
    figure: Figure,
    records: Sequence[EpisodeRecord],
    agents: Sequence[str],
    styles: Mapping[str, tuple[str, str]],
    width_inches: float,
) -> None:
    """A legend of the agents below the axes: ``label (n=scored episodes, k failed)``."""
    from matplotlib.patches import Patch

    labels = []
    for agent in agents:
        mine = [r for r in records if r.agent == agent]
        failed = sum(1 for r in mine if r.details.get("failed"))
        labels.append(
            f"{agent} (n={len(mine) - failed}" + (f", {failed} failed)" if failed else ")")
        )
    handles = [
        Patch(facecolor=styles[a][0], hatch=styles[a][1], edgecolor="white", label=label)
        for a, label in zip(agents, labels, strict=True)
    ]
    _legend_below(
        figure, handles, labels, width_inches,
        title="agent (n = scored episodes; each bar's own n above it)", title_fontsize=8,
    )  # fmt: skip


def _bars_width(
    records: Sequence[EpisodeRecord], group_of: Callable[[EpisodeRecord], Any]
) -> float:
    """Inches for one panel of grouped bars: wide enough for a readable bar and its n."""
    bars = len(_agents_in_order(records)) * len({group_of(r) for r in records})
    return max(6.0, 1.2 + 0.2 * bars)


def _efficiency_figure(records: Sequence[EpisodeRecord]) -> Figure:
    """The figure of :func:`plot_efficiency_by_latency`."""
    if not records:
        raise ValueError("no episodes to plot")
    agents = sorted(_agents_in_order(records))
    styles = agent_styles(agents)
    width = _bars_width(records, lambda r: r.latency)
    figure = _figure(width, 4.6)
    axis = figure.subplots()
    _grouped_bars(
        axis,
        records,
        lambda r: r.latency,
        "efficiency",
        agents,
        styles,
        "Efficiency by latency profile",
    )
    axis.set_xlabel("latency profile")
    axis.set_ylabel("efficiency (optimal / rounds)")
    _agent_legend(figure, records, agents, styles, width)
    return figure


def plot_efficiency_by_latency(records: Sequence[EpisodeRecord], path: str | Path) -> Path:
    """Mean efficiency (optimal rounds / rounds played) per latency profile, one bar per
    agent, written to ``path`` (PNG). Each bar has its episode count above it and the legend
    below the plot gives each agent's total; colours follow :func:`agent_colour`, so an agent
    looks the same in every report. Returns the path."""
    return _save(_efficiency_figure(records), path)


def _success_figure(records: Sequence[EpisodeRecord]) -> Figure:
    """The figure of :func:`plot_success_by_tasks`."""
    if not records:
        raise ValueError("no episodes to plot")
    agents = sorted(_agents_in_order(records))
    styles = agent_styles(agents)

    def tasks(record: EpisodeRecord) -> str:
        return f"{record.n_tasks} tasks"

    width = 2 * _bars_width(records, tasks)
    figure = _figure(width, 4.6)
    axes = figure.subplots(1, 2)
    _grouped_bars(axes[0], records, tasks, "instance_success", agents, styles, "Overall success")
    _grouped_bars(axes[1], records, tasks, "efficiency", agents, styles, "Efficiency")
    axes[0].set_ylabel("instances with every task right")
    axes[1].set_ylabel("efficiency (optimal / rounds)")
    _agent_legend(figure, records, agents, styles, width)
    figure.suptitle("Success and efficiency by tasks per instance", fontsize=10)
    return figure


def plot_success_by_tasks(records: Sequence[EpisodeRecord], path: str | Path) -> Path:
    """Instance success (every task right) and mean efficiency for each number of tasks per
    instance, one bar per agent, written to ``path`` (PNG). Each bar has its episode count
    above it and the legend below the plots gives each agent's total. Returns the path."""
    return _save(_success_figure(records), path)


def _save(figure: Figure, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=110, bbox_inches="tight")
    return target
