"""The report plots: stable agent colours, legends that cover nothing, episode counts, and
event kinds that never borrow an agent's colour."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")

from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation

from asynctool_env import plots
from asynctool_env.results import EpisodeRecord

LATENCIES = ("fixed:1", "stochastic", "tool", "uniform")
LONG_LABELS = (
    "random (baseline_run_2024_07_15_seed0)",
    "sequential (my_long_named_evaluation_run)",
    "greedy (dev sweep / capacity 2)",
    "critical_path (dev sweep / capacity 2)",
    "oracle (reference)",
    "ppo (my_run)",
    "ppo (other_run)",
    "local SmolLM2-135M-Instruct q8 (llama.cpp, push notifications)",
)


def record(
    agent: str,
    index: int,
    *,
    latency: str | None = None,
    n_tasks: int | None = None,
    failed: bool = False,
    perfect: bool = False,
    timeline: list[list[object]] | None = None,
) -> EpisodeRecord:
    n_tasks = n_tasks if n_tasks is not None else 2 + index % 2
    rounds = 10 if perfect else 10 + index % 5
    return EpisodeRecord(
        agent=agent,
        instance_id=f"dev-{index:04d}",
        instance_index=index,
        seed=index,
        latency=latency or LATENCIES[index % len(LATENCIES)],
        n_tasks=n_tasks,
        episode_return=1.0,
        decisions=rounds,
        metrics={
            "rounds": rounds,
            "optimal_rounds": 10,
            "efficiency": 10 / rounds,
            "instance_success": perfect or index % 3 != 0,
            "task_completion_rounds": [rounds - 1 - k for k in range(n_tasks)],
        },
        timeline=timeline
        if timeline is not None
        else [
            [task, step, step * 2, step * 2 + 2, "correct"]
            for task in range(n_tasks)
            for step in range(3)
        ],
        details={"failed": True} if failed else {},
    )


def records_of(agents, episodes: int = 16) -> list[EpisodeRecord]:
    """Episodes of each agent, the first agent's all perfect (bars of 1.0: the tallest)."""
    return [
        record(agent, index, perfect=agent == agents[0])
        for agent in agents
        for index in range(episodes)
    ]


def same_instance(agents) -> list[EpisodeRecord]:
    timeline = [
        [0, 0, 0, 2, "correct"],
        [0, 1, 1, 3, "violation"],
        [0, 1, 2, 4, "redundant"],
        [1, 0, 0, 3, "correct"],
        [1, 1, 3, -1, "unmatched"],
        [-1, 0, 4, 5, "unmatched"],
    ]
    return [record(agent, 0, n_tasks=2, timeline=timeline) for agent in agents]


FIGURES = {
    "efficiency": lambda agents: plots._efficiency_figure(records_of(agents)),
    "success": lambda agents: plots._success_figure(records_of(agents)),
    "timeline": lambda agents: plots._timeline_figure(same_instance(agents)),
}


def legend_colours(figure) -> dict[str, str]:
    """Legend label -> the colour of its handle, over every legend of the figure."""
    legends = list(figure.legends) + [a.get_legend() for a in figure.axes if a.get_legend()]
    return {
        text.get_text(): to_hex(handle.get_facecolor())
        for legend in legends
        for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }


def overlap(a, b, slack: float = 1.0) -> bool:
    """Whether two display boxes share more than ``slack`` pixels each way."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) > slack and min(a.y1, b.y1) - max(a.y0, b.y0) > slack


# ----------------------------------------------------------------------------- colours


def test_an_agents_colour_depends_on_its_name_only():
    one = legend_colours(plots._efficiency_figure(records_of(["ppo", "greedy"])))
    other = legend_colours(
        plots._efficiency_figure(records_of(["zeta", "ppo", "alpha", "oracle", "beta"])[::-1])
    )
    [ppo_one] = [c for label, c in one.items() if label.startswith("ppo (")]
    [ppo_other] = [c for label, c in other.items() if label.startswith("ppo (")]
    assert ppo_one == ppo_other == plots.agent_colour("ppo")
    # the bars are drawn in it too
    figure = plots._efficiency_figure(records_of(["zeta", "ppo", "alpha"]))
    bar_colours = {to_hex(p.get_facecolor()) for p in figure.axes[0].patches}
    assert plots.agent_colour("ppo") in bar_colours


def test_agent_colours_do_not_depend_on_the_process_hash_seed():
    # Python's str hash is salted per process: a colour from hash() would move between runs
    code = "from asynctool_env.plots import agent_colour; print(agent_colour('my_agent_7'))"
    colours = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2", "3", "4")
    }
    assert colours == {plots.agent_colour("my_agent_7")}


def test_the_shipped_agents_have_distinct_colours():
    names = ("random", "sequential", "greedy", "critical_path", "oracle", "ppo", "openai", "local")
    assert len({plots.agent_colour(name) for name in names}) == len(names)


def test_agents_of_one_plot_that_share_a_colour_get_distinct_hatches():
    styles = plots.agent_styles(LONG_LABELS)
    assert len(set(styles.values())) == len(LONG_LABELS)
    assert styles["ppo (my_run)"][0] == styles["ppo (other_run)"][0] == plots.agent_colour("ppo")


def test_event_kinds_never_use_an_agent_colour():
    palette = {c.lower() for c in plots.AGENT_PALETTE} | {
        c.lower() for c in plots.KNOWN_AGENT_COLOURS.values()
    }
    for style in plots.KIND_STYLES.values():
        assert to_hex(style.face) not in palette
        assert to_hex(style.edge) not in palette
    figure = plots._timeline_figure(same_instance(["ppo", "greedy"]))
    markers = [
        line
        for axis in figure.axes
        for line in axis.get_lines()
        if line.get_marker() == plots.KIND_STYLES["violation"].marker
    ]
    assert len(markers) == 2  # one violation in each agent's panel
    for line in markers:
        assert to_hex(line.get_color()) not in palette
        assert to_hex(line.get_markerfacecolor()) not in palette
    for axis in figure.axes:
        for patch in axis.patches:
            assert to_hex(patch.get_facecolor()) not in palette
    # the legend says how a violation is drawn
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    violation = [label for label in labels if "violation" in label]
    assert violation and "✕" in violation[0]
    assert any(
        isinstance(h, Line2D) and h.get_marker() == "X" for h in figure.legends[0].legend_handles
    )


# ----------------------------------------------------------------------------- layout


@pytest.mark.parametrize("agents", [("ppo", "greedy"), LONG_LABELS], ids=["2", "8-long"])
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_legends_and_titles_cover_nothing(name, agents):
    figure = FIGURES[name](agents)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()  # the Agg canvas of plots._figure
    legends = list(figure.legends) + [a.get_legend() for a in figure.axes if a.get_legend()]
    assert legends
    data_areas = [axis.get_window_extent(renderer) for axis in figure.axes]
    titles = [axis.title.get_window_extent(renderer) for axis in figure.axes]
    if figure._suptitle is not None:
        titles.append(figure._suptitle.get_window_extent(renderer))
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for area in data_areas:
            assert not overlap(box, area), f"{name}: a legend covers an axes"
        for title in titles:
            assert not overlap(box, title), f"{name}: a legend covers a title"
    for title in titles:
        for area in data_areas:
            assert not overlap(title, area), f"{name}: a title covers an axes"
    for i, title in enumerate(titles):
        for other in titles[i + 1 :]:
            assert not overlap(title, other), f"{name}: two titles overlap"
    # the counts over the bars stay inside their axes (headroom), under its title
    for axis, area in zip(figure.axes, data_areas, strict=True):
        for text in [t for t in axis.texts if isinstance(t, Annotation)]:
            box = text.get_window_extent(renderer)
            assert area.y0 - 1 <= box.y0 and box.y1 <= area.y1 + 1, f"{name}: n outside axes"


def test_timeline_has_one_panel_per_agent_titled_with_its_full_label():
    records = same_instance(LONG_LABELS)
    records.append(record(LONG_LABELS[0], 0, n_tasks=2))  # a second play of the instance
    figure = plots._timeline_figure(records)
    assert len(figure.axes) == len(LONG_LABELS)
    for axis, label in zip(figure.axes, LONG_LABELS, strict=True):
        assert axis.get_title(loc="left").replace("\n", " ").startswith(label + ":")
    assert "2 plays" in figure.axes[0].get_title(loc="left").replace("\n", " ")
    heading = figure._suptitle.get_text()
    assert "dev-0000" in heading and "latency" in heading


def test_a_timeline_of_several_instances_names_each_panels_instance():
    records = [record("ppo", 0), record("greedy", 1)]
    figure = plots._timeline_figure(records)
    assert "dev-0000" in figure.axes[0].get_title(loc="left")
    assert "dev-0001" in figure.axes[1].get_title(loc="left")


# ----------------------------------------------------------------------------- counts


def test_bars_carry_their_episode_counts():
    records = [record("ppo", index, latency="tool") for index in range(5)]
    records += [record("ppo", index, latency="uniform") for index in range(5, 8)]
    records += [record("ppo", 8, latency="uniform", failed=True)]
    records += [record("greedy", index, latency="tool") for index in range(4)]
    figure = plots._efficiency_figure(records)
    labels = list(legend_colours(figure))
    assert "ppo (n=8, 1 failed)" in labels
    assert "greedy (n=4)" in labels
    counts = sorted(t.get_text() for t in figure.axes[0].texts if isinstance(t, Annotation))
    assert counts == ["n=3", "n=4", "n=5"]  # ppo tool, ppo uniform, greedy tool
    bars = [p for p in figure.axes[0].patches if isinstance(p, Rectangle)]
    assert len(bars) == 3  # greedy played no uniform episode: no bar there


def test_the_public_functions_write_pngs(tmp_path):
    records = records_of(["ppo", "greedy"], episodes=6)
    first = [r for r in records if r.instance_id == records[0].instance_id]
    written = [
        plots.plot_timelines(first, tmp_path / "a" / "timeline.png"),
        plots.plot_efficiency_by_latency(records, tmp_path / "efficiency.png"),
        plots.plot_success_by_tasks(records, tmp_path / "success.png"),
    ]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError):
        plots.plot_timelines([], tmp_path / "none.png")
