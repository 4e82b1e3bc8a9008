"""How the chat env tells the model about arrivals (``push`` and ``pull``) and waits of
several rounds: the same simulator, metrics and optimum in every mode."""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import asynctool_env  # noqa: F401  (registers the envs)
from asynctool_env.benchmark import EvalConfig, evaluate
from asynctool_env.chat.env import ChatEnv
from asynctool_env.chat.scripted import ScriptedOracle, native_reply
from asynctool_env.dataset import load_split

DEV = load_split("dev")


def _reply(*calls: tuple[str, dict], prefix: str = "c") -> dict:
    return native_reply(list(calls), prefix=prefix)


@pytest.mark.parametrize("notifications", ["push", "pull"])
@pytest.mark.parametrize("latency", [None, "sync", "fixed:2", "stochastic", "uniform"])
def test_check_env_passes_in_every_notification_and_latency_mode(notifications, latency):
    env = gym.make(
        "AsyncTool-Chat-v0",
        split="dev",
        latency=latency,
        notifications=notifications,
        max_rounds=12,
    )
    check_env(env.unwrapped)


def test_an_unknown_notification_mode_is_refused():
    with pytest.raises(ValueError, match="notifications must be one of push, pull"):
        ChatEnv(DEV, notifications="poll")


def test_pull_mode_offers_the_reading_tools_and_says_so():
    push, pull = ChatEnv(DEV), ChatEnv(DEV, notifications="pull")
    push_messages, _ = push.reset(seed=0, options={"instance_index": 0})
    pull_messages, _ = pull.reset(seed=0, options={"instance_index": 0})
    names = {tool["function"]["name"] for tool in pull.tools}
    assert {"wait", "check_notifications", "wait_for_response", "submit_answer"} <= names
    assert not {"check_notifications", "wait_for_response"} & {
        tool["function"]["name"] for tool in push.tools
    }
    assert "check_notifications" in pull_messages[0]["content"]
    assert "check_notifications" not in push_messages[0]["content"]


def _first_call_delivered(notifications: str) -> tuple[ChatEnv, list[dict[str, Any]]]:
    """Instance 2, fixed latency 1: T2's first gold call is made in round 0 and its response
    is delivered at the start of round 2. Returns the env and round 2's messages."""
    env = ChatEnv(DEV, latency="fixed", notifications=notifications)
    env.reset(seed=0, options={"instance_index": 2})
    gold = env.gold_call(1, 0)
    env.step(_reply((gold["name"], gold["arguments"])))
    new, *_ = env.step(_reply(("wait", {})))
    assert env.simulator.steps_done == 1 and env.simulator.round == 2
    return env, new


def test_push_announces_an_arrival_and_pull_holds_it_until_read():
    env, pushed = _first_call_delivered("push")
    tool = env.gold_call(1, 0)["name"]
    assert f"Response to c0 ({tool}" in pushed[-1]["content"]
    env, pulled = _first_call_delivered("pull")
    report = pulled[-1]["content"]
    assert "Response to" not in report and "pending" not in report.lower()
    new, *_ = env.step(_reply(("check_notifications", {})))
    read = next(m for m in new if m["role"] == "tool")
    assert read["tool_call_id"] == "c0"
    assert read["content"].startswith(f"Response to c0 ({tool}, called in round 0)")
    assert "Response to" not in new[-1]["content"]
    again, *_ = env.step(_reply(("check_notifications", {})))
    assert again[0]["content"] == "No new response."


def test_in_pull_mode_a_value_is_known_only_once_read():
    """A call using an id from a delivered but unread response is a dependency violation;
    once read, the same call is correct."""
    env, _ = _first_call_delivered("pull")
    fetch = env.gold_call(1, 1)  # it takes a value from the first (unread) response
    new, *_ = env.step(_reply((fetch["name"], fetch["arguments"])))
    warning = json.loads(new[0]["content"])["warning"]
    assert warning.startswith("not made:") and "response" in warning
    assert env.simulator.violations == 1
    env.step(_reply(("check_notifications", {})))
    new, *_ = env.step(_reply((fetch["name"], fetch["arguments"])))
    assert json.loads(new[0]["content"])["status"] == "pending"
    assert "warning" not in json.loads(new[0]["content"])
    assert env.simulator.violations == 1


#: The first dev instance whose T1 has only independent steps (none waits for another).
FLAT = next(
    index
    for index, instance in enumerate(DEV)
    if all(not step.depends_on for step in instance.tasks[0].steps)
)


def _answer_with_unread_confirmation(notifications: str) -> dict[str, Any]:
    """T1 of instance FLAT: its steps called one a round (fixed latency 1), waited for, then
    answered with the gold answer, without reading in pull mode."""
    env = ChatEnv(DEV, latency="fixed", notifications=notifications)
    env.reset(seed=0, options={"instance_index": FLAT})
    for step in range(len(env.instance.tasks[0].steps)):
        gold = env.gold_call(0, step)
        env.step(_reply((gold["name"], gold["arguments"])))
    env.step(_reply(("wait", {"rounds": 5})))
    assert env.simulator.all_steps_done(0)
    task = env.instance.tasks[0]
    env.step(_reply(("submit_answer", {"task_id": "T1", "answer": str(task.expected_answer)})))
    return env.task_results()[0]


def test_an_answer_needs_its_responses_read_in_pull_mode():
    assert _answer_with_unread_confirmation("push")["success"]
    result = _answer_with_unread_confirmation("pull")
    assert not result["success"]
    assert any("not been confirmed" in reason or "reached you" in reason
               for reason in result["reasons"])  # fmt: skip


def test_a_wait_of_several_rounds_ends_in_the_round_a_response_arrives():
    env = ChatEnv(DEV, latency="fixed:3")
    env.reset(seed=0, options={"instance_index": 2})
    gold = env.gold_call(1, 0)
    env.step(_reply((gold["name"], gold["arguments"])))  # round 0 -> 1, due at round 4
    new, *_ = env.step(_reply(("wait", {"rounds": 10})))
    assert env.simulator.round == 4
    assert json.loads(new[0]["content"]) == {"status": "waiting", "rounds": 10}
    assert "Round 4." in new[-1]["content"] and "Response to c0" in new[-1]["content"]
    assert env.metrics()["rounds"] == 4


def test_wait_for_response_waits_then_reads_in_pull_mode():
    env = ChatEnv(DEV, latency="fixed:3", notifications="pull")
    env.reset(seed=0, options={"instance_index": 2})
    gold = env.gold_call(1, 0)
    env.step(_reply((gold["name"], gold["arguments"])))
    new, *_ = env.step(_reply(("wait_for_response", {"rounds": 2})))  # 1 -> 3: not yet
    assert env.simulator.round == 3 and new[0]["content"] == "No new response."
    new, *_ = env.step(_reply(("wait_for_response", {"rounds": 2})))  # arrives at 4
    assert env.simulator.round == 4 and new[0]["content"].startswith("Response to c0")


def test_a_wait_is_cut_at_max_rounds_and_a_bad_round_count_is_refused():
    env = ChatEnv(DEV, max_rounds=7)
    env.reset(seed=0, options={"instance_index": 0})
    new, _, _, info = env.step(_reply(("wait", {"rounds": 0})))
    assert info["turn"].refused == ["invalid_arguments"]
    assert "rounds must be at least 1" in new[0]["content"]
    assert env.simulator.round == 1
    _, _, truncated, info = env.step("wait(rounds=1000000)")
    assert truncated and env.simulator.round == 7 and info["metrics"]["rounds"] == 7


def _oracle_through_chat(index: int, notifications: str, tool_capacity: int | None):
    """The optimal schedule played through ``AsyncTool-Chat-v0`` by the scripted oracle, with
    waits of several rounds up to the next planned call (ending early at any arrival); in
    pull mode it reads with each reply."""
    env = gym.make(
        "AsyncTool-Chat-v0",
        split="dev",
        notifications=notifications,
        tool_capacity=tool_capacity,
    )
    env.reset(seed=index, options={"instance_index": index})
    oracle = ScriptedOracle(env.unwrapped.chat, long_waits=True)
    total, done, info = 0.0, False, {}
    while not done:
        reply = native_reply(oracle.turn(), prefix=f"r{env.unwrapped.simulator.round}c")
        _, reward, terminated, truncated, info = env.step(reply)
        total += reward
        done = terminated or truncated
    return total, info["metrics"]


@pytest.mark.parametrize("tool_capacity", [None, 1])
@pytest.mark.parametrize("notifications", ["push", "pull"])
def test_the_scripted_oracle_equals_the_numeric_oracle_in_every_mode(notifications, tool_capacity):
    """On every dev instance, with and without contention: the same rounds, return and
    metrics as the numeric oracle (the optimum is reached, and no rule depends on the mode)."""
    reference = {
        record.instance_index: record
        for record in evaluate("oracle", EvalConfig(split="dev", tool_capacity=tool_capacity))
    }
    assert len(reference) == len(DEV) == 72
    for index in range(len(DEV)):
        total, metrics = _oracle_through_chat(index, notifications, tool_capacity)
        numeric = reference[index]
        assert metrics["instance_success"] and metrics["efficiency"] == 1.0, index
        for name in ("rounds", "optimal_rounds", "idle_rounds", "calls", "queued_rounds"):
            assert metrics[name] == numeric.metrics[name], (index, name)
        assert metrics["invalid_actions"] == 0
        assert total == pytest.approx(numeric.episode_return), index


def test_wait_for_response_does_not_wait_when_a_response_is_already_there_to_read():
    """Playtest: a response that arrived unread must end a wait_for_response at once (the
    model cannot tell it from one still in flight)."""
    env = ChatEnv(DEV, latency="fixed", notifications="pull")
    env.reset(seed=0, options={"instance_index": 2})
    gold = env.gold_call(1, 0)
    env.step(_reply((gold["name"], gold["arguments"])))  # due at the start of round 2
    env.step(_reply(("wait", {})))  # round 2: delivered, not read
    assert env.simulator.round == 2 and env.resolver.unread == 1
    new, *_ = env.step(_reply(("wait_for_response", {"rounds": 5})))
    assert env.simulator.round == 3 and new[0]["content"].startswith("Response to c0")


def test_in_pull_mode_a_plain_wait_lasts_all_its_rounds():
    """Its length must not reveal an arrival the model has not read."""
    env = ChatEnv(DEV, latency="fixed", notifications="pull")
    env.reset(seed=0, options={"instance_index": 2})
    gold = env.gold_call(1, 0)
    env.step(_reply((gold["name"], gold["arguments"])))  # due at the start of round 2
    env.step(_reply(("wait", {"rounds": 4})))  # 1 -> 5, past the arrival
    assert env.simulator.round == 5 and env.resolver.unread == 1


def test_a_quiet_wait_of_several_rounds_says_so():
    env = ChatEnv(DEV, latency="fixed:8")
    env.reset(seed=0, options={"instance_index": 2})
    new, *_ = env.step(_reply(("wait", {"rounds": 3})))
    assert env.simulator.round == 3
    assert "No response arrived in these 3 rounds." in new[-1]["content"]


def test_the_prompt_says_how_many_calls_a_reply_may_make():
    limited, unlimited = ChatEnv(DEV), ChatEnv(DEV, max_calls_per_turn=None)
    assert "you may call at most 1 tool(s) (" in limited.reset(seed=0)[0][0]["content"]
    text = unlimited.reset(seed=0)[0][0]["content"]
    assert "you may call any number of tools (" in text and "at most any" not in text
