"""The TRL adapter: environment classes per scenario set, their tools, their reward."""

from __future__ import annotations

import pytest

from asynctool_env.benchmark import EvalConfig, evaluate
from asynctool_env.chat.scripted import ScriptedOracle
from asynctool_env.dataset import load_split
from asynctool_env.integrations.trl_env import (
    AsyncToolTRLEnv,
    environment_class,
    environment_factories,
    scenario_key,
    trl_rows,
)

DEV = load_split("dev")


def _play_oracle(env: AsyncToolTRLEnv) -> None:
    assert env.env is not None
    oracle = ScriptedOracle(env.env.chat)
    while not env.done:
        for name, arguments in oracle.turn():
            getattr(env, name)(**arguments)
            if env.done:
                break


def test_the_scripted_oracle_through_the_adapter_equals_the_numeric_oracle():
    """Every dev instance: TRL's way of calling tools (one at a time) loses nothing; the
    reward is the env's return, equal to the numeric oracle's, and so are the metrics."""
    rows = trl_rows("dev")
    classes = environment_factories(rows)
    reference = {r.instance_index: r for r in evaluate("oracle", EvalConfig(split="dev"))}
    assert len(rows) == len(DEV) == 72
    for row in rows:
        env = classes[row["environment"]]()
        tasks = env.reset(**row)
        assert tasks == env.env.chat.messages[1]["content"]
        _play_oracle(env)
        numeric = reference[row["instance_index"]]
        assert env.get_reward() == pytest.approx(numeric.episode_return), row["instance_index"]
        for name in ("rounds", "optimal_rounds", "efficiency", "instance_success", "calls"):
            assert env.metrics[name] == numeric.metrics[name], (row["instance_index"], name)


def test_rows_name_their_environment_and_classes_offer_exactly_its_tools():
    rows = trl_rows("dev", indexes=[0, 1])
    assert rows[0]["environment"] == scenario_key(DEV[0])
    assert rows[0]["prompt"][0]["role"] == "system" and rows[0]["prompt"][1]["content"] == ""
    assert [row["seed"] for row in rows] == [0, 1]
    env = environment_factories(rows)[rows[1]["environment"]]()
    env.reset(**rows[1])
    offered = {tool["function"]["name"] for tool in env.env.chat.tools}
    methods = {
        name
        for name in dir(type(env))
        if not name.startswith("_")
        and callable(getattr(type(env), name))
        and name not in ("reset", "get_reward")
    }
    assert methods == offered


def test_the_tool_methods_give_transformers_the_tools_own_schemas():
    """transformers reads a method's schema from its signature and docstring (as TRL does):
    it must give each tool's arguments, types and required set."""
    transformers = pytest.importorskip("transformers")
    from asynctool_env.scenarios import SCENARIOS

    cls = environment_class(sorted(SCENARIOS))
    instance = cls()
    for tool in [*(t for s in SCENARIOS.values() for t in s.tools)]:
        schema = transformers.utils.get_json_schema(getattr(instance, tool.name))["function"]
        ours = tool.openai_schema()["function"]["parameters"]
        assert schema["name"] == tool.name
        assert set(schema["parameters"]["properties"]) == set(ours.get("properties", {}))
        assert sorted(schema["parameters"].get("required", [])) == sorted(ours.get("required", []))


def test_a_rollout_that_stops_early_is_played_to_the_truncation():
    """A model that stops calling tools is a model that says nothing more: the episode runs
    to max_rounds and pays its rounds (stopping never pays more than finishing)."""
    rows = trl_rows("dev", indexes=[3], max_rounds=20)
    env = environment_factories(rows, max_rounds=20)[rows[0]["environment"]]()
    env.reset(**rows[0])
    assert env.get_reward() == pytest.approx(-0.05 * 20)
    assert env.metrics["rounds"] == 20 and not env.metrics["instance_success"]
    assert env.get_reward() == pytest.approx(-0.05 * 20)  # reading it again changes nothing


def test_bad_calls_reach_the_env_and_are_counted_there():
    rows = trl_rows("dev", indexes=[0])
    env = environment_factories(rows)[rows[0]["environment"]]()
    env.reset(**rows[0])
    tool = DEV[0].tasks[0].steps[0].tool
    text = getattr(env, tool)(no_such_argument=1)
    assert "error" in text and env.env.chat.simulator.invalid_actions == 1
    assert "Round 1." in text  # the refused call still took its round
    text = env.submit_answer(task_id="T9", answer="x")
    assert "unknown task id" in text and env.env.chat.simulator.round == 1  # in the round


def test_a_row_routed_to_the_wrong_environment_is_refused_clearly():
    rows = trl_rows("dev", indexes=[0, 1])
    wrong = environment_factories(rows)[rows[1]["environment"]]
    if set(rows[1]["environment"].split("+")) >= set(rows[0]["environment"].split("+")):
        pytest.skip("the two instances share their scenarios")
    with pytest.raises(ValueError, match="route the row by its 'environment' column"):
        wrong().reset(**rows[0])
