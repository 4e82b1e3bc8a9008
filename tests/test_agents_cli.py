"""Reference agents, the evaluation API and the ``asynctool`` command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from asynctool_env.agents import (
    POLICIES,
    CriticalPathPolicy,
    GreedyPolicy,
    OraclePolicy,
    SequentialPolicy,
    make_policy,
)
from asynctool_env.benchmark import (
    EvalConfig,
    evaluate,
    leaderboard_markdown,
    read_records,
    summarize,
)
from asynctool_env.cli import app
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.rollout import run_episode, run_episodes
from tests.conftest import chain_instance


@pytest.mark.parametrize(
    ("policy", "rounds"),
    [
        (SequentialPolicy(), 13),  # 4n + 1
        (GreedyPolicy(), 8),  # 2n + 2: A0 B0 A1 B1 A2 B2
        (CriticalPathPolicy(), 8),
        (OraclePolicy(), 8),
    ],
)
def test_policies_on_the_hand_built_chains(policy, rounds):
    env = AsyncToolEnv(instances=[chain_instance(2, 3)], latency="fixed")
    metrics = run_episode(env, policy, seed=0).metrics
    assert metrics["rounds"] == rounds
    assert metrics["instance_success"]


def test_three_chains_interleaved():
    # 3 chains of 3 steps, L = 1, one call per turn. Critical path rotates A B C: the calls
    # fill rounds 0..8 and the last response arrives in round 10, so 11 rounds. Greedy (first
    # task first) alternates A and B in rounds 0..5 and leaves C to rounds 6, 8, 10: its last
    # response arrives in round 12, so 13. One task at a time takes 3 * 3 * 2 + 1 = 19.
    env = AsyncToolEnv(instances=[chain_instance(3, 3)], latency="fixed")
    assert run_episode(env, CriticalPathPolicy(), 0).metrics["rounds"] == 11
    assert run_episode(env, OraclePolicy(), 0).metrics["rounds"] == 11
    assert run_episode(env, GreedyPolicy(), 0).metrics["rounds"] == 13
    assert run_episode(env, SequentialPolicy(), 0).metrics["rounds"] == 19


def test_every_policy_finishes_generated_episodes():
    for name in POLICIES:
        results = run_episodes(make_policy(name, 0), range(5), {"latency": "stochastic"})
        for result in results:
            assert result.metrics["instance_success"], name
            assert result.metrics["dependency_violations"] == 0, name


def test_oracle_needs_the_env():
    with pytest.raises(RuntimeError, match="bind"):
        OraclePolicy().act({})


def test_unknown_policy():
    with pytest.raises(ValueError, match="unknown policy 'smart'"):
        make_policy("smart")


@pytest.mark.slow
def test_reference_agents_on_the_test_split():
    summaries = {}
    for agent in ("sequential", "greedy", "critical_path", "oracle"):
        records = evaluate(agent, EvalConfig(split="test"))
        assert len(records) >= 712
        summaries[agent] = summarize(records)
        if agent == "oracle":
            assert all(r.metrics["efficiency"] == 1.0 for r in records)
        if agent == "sequential":
            assert all(r.metrics["rounds"] == r.metrics["sequential_rounds"] for r in records)
    assert summaries["sequential"]["rounds"] > summaries["greedy"]["rounds"]
    assert summaries["critical_path"]["efficiency"] >= summaries["greedy"]["efficiency"]
    assert all(summary["instance_success"] == 1.0 for summary in summaries.values())


def test_evaluate_in_parallel_gives_the_same_records():
    config = EvalConfig(split="dev", episodes=12)
    alone = evaluate("critical_path", config)
    shared = evaluate("critical_path", config, workers=2)
    assert [r.to_json() for r in alone] == [r.to_json() for r in shared]
    assert [r.instance_index for r in alone] == list(range(12))


def test_procedural_evaluation_with_forced_latency():
    records = evaluate(
        "greedy", EvalConfig(split="procedural", episodes=6, latency="sync", n_tasks=3)
    )
    assert len(records) == 6
    assert {r.latency for r in records} == {"sync"} and {r.n_tasks for r in records} == {3}
    assert len({r.instance_id for r in records}) == 6


def test_leaderboard_markdown_orders_by_efficiency():
    rows = [
        {"agent": "slow", "efficiency": 0.5, "instance_success": 1.0},
        {"agent": "fast", "efficiency": 0.9, "instance_success": 1.0},
    ]
    text = leaderboard_markdown(rows, "t")
    assert text.index("| fast") < text.index("| slow")
    assert "| 0.900 |" in text


def test_cli_bench_writes_results_and_report_draws_pngs(tmp_path):
    runner = CliRunner()
    out = tmp_path / "bench"
    result = runner.invoke(app, ["bench", "--split", "dev", "--output", str(out)])
    assert result.exit_code == 0, result.output
    for agent in ("random", "sequential", "greedy", "critical_path", "oracle"):
        assert agent in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert [s["agent"] for s in summary["summaries"]][-1] == "oracle"
    assert (out / "summary.csv").read_text().startswith("agent,episodes,")
    assert "| oracle |" in (out / "leaderboard.md").read_text()
    records = read_records([out])
    assert len(records) == 5 * 72

    report = tmp_path / "report"
    result = runner.invoke(app, ["report", str(out), "--output", str(report)])
    assert result.exit_code == 0, result.output
    for name in ("timeline.png", "efficiency_by_latency.png", "success_by_tasks.png"):
        with Image.open(report / name) as image:
            assert image.format == "PNG" and image.size[0] > 400
            assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 10
    assert "Efficiency by latency profile" in (report / "leaderboard.md").read_text()


def test_cli_eval_and_ablate(tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "eval",
            "-a",
            "greedy",
            "-a",
            "sequential",
            "--split",
            "dev",
            "--episodes",
            "4",
            "--latency",
            "fixed:2",
            "--output",
            str(tmp_path / "e"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert {r.latency for r in read_records([tmp_path / "e"])} == {"fixed:2"}
    table = tmp_path / "ablate.md"
    result = runner.invoke(
        app, ["ablate", "--split", "dev", "--episodes", "4", "--output", str(table)]
    )
    assert result.exit_code == 0, result.output
    text = table.read_text()
    for row in ("latency=sync", "latency=fixed:3", "latency=stochastic", "2 tasks", "3 tasks"):
        assert f"| {row} |" in text


def test_cli_eval_under_contention(tmp_path):
    """--tool-capacity 1: the oracle plays the contended optimum (efficiency 1.0), calls
    queue, and the records say which regime they were played in."""
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "-a",
            "critical_path",
            "-a",
            "oracle",
            "--split",
            "dev",
            "--episodes",
            "24",
            "--tool-capacity",
            "1",
            "--output",
            str(tmp_path / "c"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "tool capacity 1" in result.output
    records = read_records([tmp_path / "c"])
    assert {record.tool_capacity for record in records} == {1}
    oracle = [record.metrics for record in records if record.agent == "oracle"]
    assert all(metrics["efficiency"] == 1.0 for metrics in oracle)
    assert sum(metrics["queued_rounds"] for metrics in oracle) > 0
    heuristic = [record.metrics for record in records if record.agent == "critical_path"]
    assert min(metrics["efficiency"] for metrics in heuristic) < 1.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["eval", "--agent", "smart"], "unknown agent"),
        (["eval", "--agent", "greedy", "--latency", "warp"], "unknown latency profile"),
        (["eval", "--agent", "greedy", "--calls-per-turn", "zero"], "whole number"),
        (["eval", "--agent", "greedy", "--split", "train"], "choose test, dev or procedural"),
        (["eval", "--agent", "greedy", "--episodes", "0"], "episodes"),
        (["report", "/nonexistent/folder"], "no episodes.jsonl"),
        (["bench", "--split", "train"], "choose test or dev"),
        (["eval", "--agent", "greedy", "--tool-capacity", "0"], "tool-capacity"),
    ],
)
def test_cli_rejects_bad_input_clearly(arguments, message):
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_the_policy_registry_makes_policies_by_name_and_entry_point():
    from asynctool_env.agents import POLICIES, make_policy, register_policy

    assert POLICIES["ppo"] == "asynctool_env.rl.policy:PPOPolicy"  # loaded when asked for
    with pytest.raises(ValueError, match="takes no options"):
        make_policy("greedy", 0, policy="x.pt")
    register_policy("greedy_too", "asynctool_env.agents.heuristics:GreedyPolicy")
    try:
        assert type(make_policy("greedy_too")).__name__ == "GreedyPolicy"
    finally:
        POLICIES.pop("greedy_too")
    with pytest.raises(ValueError, match="unknown policy 'nope'"):
        make_policy("nope")


def test_one_action_codec_speaks_every_layout():
    """The codec's ids are the envs' own: focus and direct AsyncTool-v0, the multi-agent env."""
    from asynctool_env.agents.rules import ActionCodec, longest_tail_first, next_planned_call
    from asynctool_env.envs import AsyncToolEnv

    focus = AsyncToolEnv(max_tasks=3, max_steps=8)
    codec = ActionCodec("focus", 3, 8)
    assert codec.answer(2, focused=2) == focus.ACTION_ANSWER
    assert codec.call(1, 4, focused=0) == 1 + 1  # switch to task 1 first
    assert codec.call(1, 4, focused=1) == 3 + 1 + 4
    direct = AsyncToolEnv(max_tasks=3, max_steps=8, action_mode="direct")
    codec = ActionCodec("direct", 3, 8)
    assert codec.call(2, 5) == 1 + 2 * 8 + 5 and codec.answer(1) == direct.ACTION_ANSWER + 1
    pytest.importorskip("pettingzoo")
    from asynctool_env.multi_agent import parallel_env

    team = parallel_env(max_tasks=3, max_steps=8, n_tasks=2)
    codec = ActionCodec("multi_agent", 3, 8)
    assert codec.call(2, 5) == team.call_action(2, 5)
    with pytest.raises(ValueError, match="no claims"):
        ActionCodec("direct", 3, 8).claim(0)
    # The rules: longest tail first, lowest index on ties; a plan's next call.
    assert longest_tail_first([0, 1, 1, 1], [9.0, 2.0, 5.0, 5.0]) == 2
    assert longest_tail_first([1, 1], [3.0, 2.0], penalty=[2.0, 0.0]) == 1
    assert longest_tail_first([0, 0], [1.0, 2.0]) is None
    assert next_planned_call([[(0, 0), (1, 0)]], 0, {(0, 0)}) == (1, 0)
    assert next_planned_call([[(0, 0)]], 3, set()) is None
