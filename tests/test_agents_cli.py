"""Reference policies and the ``asynctool`` command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from asynctool_env.agents import POLICIES, CriticalPathPolicy, SequentialPolicy, make_policy
from asynctool_env.cli import app
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.rollout import run_episode, run_episodes, summarize
from tests.conftest import chain_instance


@pytest.mark.parametrize(
    ("policy", "rounds"), [(SequentialPolicy(), 13), (CriticalPathPolicy(), 8)]
)
def test_policies_on_the_hand_built_chains(policy, rounds):
    env = AsyncToolEnv(instances=[chain_instance(2, 3)], latency="fixed")
    metrics = run_episode(env, policy, seed=0).metrics
    assert metrics["rounds"] == rounds
    assert metrics["instance_success"]


def test_three_chains_interleaved_by_greedy():
    # 3 chains of 3 steps, L = 1, one call per turn: the calls fill rounds 0..8 and the last
    # response arrives in round 10, so 11 rounds; one task at a time takes 3 * 3 * 2 + 1 = 19.
    env = AsyncToolEnv(instances=[chain_instance(3, 3)], latency="fixed")
    assert run_episode(env, CriticalPathPolicy(), 0).metrics["rounds"] == 11
    assert run_episode(env, SequentialPolicy(), 0).metrics["rounds"] == 19


def test_every_policy_finishes_generated_episodes():
    for name in POLICIES:
        results = run_episodes(make_policy(name, 0), range(5), {"latency": "stochastic"})
        summary = summarize(results)
        assert summary["instance_success"] == 1.0, name
        assert summary["dependency_violations"] == 0.0, name


def test_unknown_policy():
    with pytest.raises(ValueError, match="unknown policy 'smart'"):
        make_policy("smart")


def test_cli_run_prints_a_table_and_writes_json(tmp_path):
    output = tmp_path / "out.json"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--episodes",
            "3",
            "--agent",
            "greedy",
            "--agent",
            "sequential",
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "greedy" in result.output and "sequential" in result.output
    records = json.loads(output.read_text())
    assert set(records) == {"greedy", "sequential"}
    assert len(records["greedy"]) == 3 and records["greedy"][0]["step_f1"] == 1.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["run", "--agent", "smart"], "unknown agent"),
        (["run", "--latency", "warp"], "unknown latency profile"),
        (["run", "--calls-per-turn", "zero"], "whole number"),
        (["run", "--episodes", "0"], "episodes"),
    ],
)
def test_cli_rejects_bad_input_clearly(arguments, message):
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert message in result.output
