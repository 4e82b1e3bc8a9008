"""``AsyncTool-Chat-v0``: the chat interface as a Gymnasium env, paying the numeric env's
rewards."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import asynctool_env  # noqa: F401  (registers the envs)
from asynctool_env.core.simulator import StepStatus, TaskStatus
from asynctool_env.dataset import load_split


@pytest.mark.parametrize("latency", [None, "sync", "fixed:2", "stochastic", "uniform"])
def test_it_passes_gymnasium_check_env(latency):
    env = gym.make("AsyncTool-Chat-v0", split="dev", latency=latency, max_rounds=12)
    check_env(env.unwrapped)


def test_it_passes_check_env_under_contention():
    env = gym.make("AsyncTool-Chat-v0", split="dev", tool_capacity=1, max_rounds=12)
    check_env(env.unwrapped)


def _plan(simulator) -> tuple[list[int], tuple[int, int] | None]:
    """This round: the tasks to answer, and the first ready step to call (or None)."""
    answers = [
        task
        for task in range(len(simulator.tasks))
        if simulator.task_status[task] == TaskStatus.OPEN and simulator.all_steps_done(task)
    ]
    ready = next(
        (
            (task, step)
            for task, statuses in enumerate(simulator.step_status)
            for step, status in enumerate(statuses)
            if status == StepStatus.READY and simulator.task_status[task] == TaskStatus.OPEN
        ),
        None,
    )
    return answers, ready


def _numeric_return(index: int, seed: int) -> tuple[float, dict]:
    env = gym.make(
        "AsyncTool-v0", split="dev", action_mode="direct", latency="fixed:1", optimum_in_info=True
    )
    env.reset(seed=seed, options={"instance_index": index})
    raw = env.unwrapped
    total, info, done = 0.0, {}, False
    while not done:
        answers, ready = _plan(raw.simulator)
        actions = [1 + raw.max_tasks * raw.max_steps + task for task in answers]
        actions.append(0 if ready is None else 1 + ready[0] * raw.max_steps + ready[1])
        for action in actions:
            _, reward, terminated, truncated, info = env.step(action)
            total += reward
            done = terminated or truncated
            if done:
                break
    return total, info["metrics"]


def _chat_return(index: int, seed: int) -> tuple[float, dict]:
    env = gym.make("AsyncTool-Chat-v0", split="dev", latency="fixed:1")
    env.reset(seed=seed, options={"instance_index": index})
    chat = env.unwrapped.chat
    total, info, done = 0.0, {}, False
    while not done:
        answers, ready = _plan(chat.simulator)
        calls = []
        for task in answers:
            gold = chat.instance.tasks[task]
            answer = gold.expected_answer if gold.expected_answer is not None else "done"
            calls.append(("submit_answer", {"task_id": f"T{task + 1}", "answer": str(answer)}))
        if ready is not None:
            gold_call = chat.gold_call(*ready)
            calls.append((gold_call["name"], gold_call["arguments"]))
        reply = {
            "content": None,
            "tool_calls": [
                {"id": f"c{n}", "type": "function",
                 "function": {"name": name, "arguments": json.dumps(arguments)}}
                for n, (name, arguments) in enumerate(calls or [("wait", {})])
            ],
        }  # fmt: skip
        _, reward, terminated, truncated, info = env.step(reply)
        total += reward
        done = terminated or truncated
    return total, info["metrics"]


@pytest.mark.parametrize("index", range(0, 72, 9))
def test_the_same_schedule_earns_the_same_return_in_both_envs(index):
    numeric, numeric_metrics = _numeric_return(index, seed=index)
    chat, chat_metrics = _chat_return(index, seed=index)
    assert chat == pytest.approx(numeric)
    for name in ("rounds", "instance_success", "optimal_rounds", "efficiency", "idle_rounds"):
        assert chat_metrics[name] == numeric_metrics[name], name


def test_actions_may_be_text_or_an_assistant_message_and_info_is_complete():
    env = gym.make("AsyncTool-Chat-v0", split="dev", max_rounds=3)
    observation, info = env.reset(seed=0, options={"instance_index": 1})
    assert json.loads(observation) == info["messages"] and info["tools"]
    observation, reward, _, _, info = env.step("this is not a call")
    assert reward == pytest.approx(-0.1 - 0.05)  # invalid + a round
    assert "no tool call" in json.loads(observation)[-1]["content"]
    env.step({"content": None, "tool_calls": []})
    _, _, terminated, truncated, info = env.step("wait")
    assert truncated and not terminated
    assert info["metrics"]["optimal_rounds"] is not None
    assert len(info["task_results"]) == len(load_split("dev")[1].tasks)


def test_both_envs_report_the_same_counters_and_render_the_same_table():
    """One interface layer: the info counters and the text table come from one place, so the
    same schedule shows the same numbers in AsyncTool-v0 and AsyncTool-Chat-v0."""
    from asynctool_env.interface import info_counters

    numeric = gym.make("AsyncTool-v0", split="dev", latency="fixed:1", render_mode="ansi")
    chat = gym.make("AsyncTool-Chat-v0", split="dev", latency="fixed:1", render_mode="ansi")
    _, numeric_info = numeric.reset(seed=3, options={"instance_index": 3})
    _, chat_info = chat.reset(seed=3, options={"instance_index": 3})
    assert set(info_counters(numeric.unwrapped.simulator)) <= set(numeric_info)
    assert set(info_counters(chat.unwrapped.simulator)) <= set(chat_info)
    numeric.step(0)  # wait: one round
    _, _, _, _, chat_info = chat.step("wait")
    _, _, _, _, numeric_info = numeric.step(0)
    _, _, _, _, chat_info = chat.step("wait")
    for key, value in info_counters(numeric.unwrapped.simulator).items():
        assert numeric_info[key] == chat_info[key] == value, key
    table = numeric.render()
    assert table.splitlines()[0] in chat.render()
    assert "task 0 [" in chat.render()


def test_the_chat_env_records_which_instance_it_plays():
    from asynctool_env.chat.env import ChatEnv

    env = ChatEnv(split="dev")
    env.reset(seed=5)
    assert env.instance is env.instances[env.instance_index]
    env.reset(seed=0, options={"instance_index": 7})
    assert env.instance_index == 7
    env.reset(seed=0, options={"instance": env.instances[3]})
    assert env.instance_index is None and env.instance is env.instances[3]
