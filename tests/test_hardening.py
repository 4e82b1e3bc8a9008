"""Hostile input must never cost a result: the env's own contracts under extreme settings,
replies no parser expects, tools asked for huge outputs, and traces that must not depend on
the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest

import asynctool_env  # noqa: F401  (registers the env)
from asynctool_env.chat.env import ChatEnv
from asynctool_env.core.simulator import Simulator
from asynctool_env.core.tools import ToolError
from asynctool_env.dataset import load_split
from asynctool_env.scenarios import SCENARIOS, TOOLS


def test_calls_left_stays_inside_its_box_with_a_large_cap():
    env = gym.make("AsyncTool-v0", max_calls_per_turn=25)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs["calls_left"][0] == env.observation_space["calls_left"].high[0]


def test_a_huge_tool_capacity_costs_nothing_and_changes_nothing():
    instance = load_split("dev")[0]
    traces = []
    for capacity in (None, 10**9):
        start = time.perf_counter()
        sim = Simulator(
            instance, np.random.default_rng(0), tool_capacity=capacity, max_calls_per_turn=None
        )
        while not sim.finished:
            for task, statuses in enumerate(sim.step_status):
                for step, status in enumerate(statuses):
                    if status == 2:
                        sim.call_step(task, step)
            for task in range(len(sim.tasks)):
                if sim.task_status[task] == 1 and sim.all_steps_done(task):
                    sim.answer_task(task)
            if not sim.finished:
                sim.end_turn()
        assert time.perf_counter() - start < 1.0
        traces.append([(type(e).__name__, getattr(e, "round", None)) for e in sim.trace])
    assert traces[0] == traces[1]


@pytest.fixture
def chat() -> ChatEnv:
    env = ChatEnv(split="dev")
    env.reset(seed=0, options={"instance_index": 0})
    return env


def _deep(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "reply",
    [
        {"content": _deep(5000)},
        {"content": {1: "a", "b": 2}},
        {"content": object()},
        {"tool_calls": [{"id": "a", "function": {"name": "wait", "arguments": {1: 2}}}]},
        {"tool_calls": [{"id": "a", "function": {"name": "wait", "arguments": _deep(5000)}}]},
        {"tool_calls": "nope"},
        {"tool_calls": [None, 3, {"id": None}, {"id": "x", "function": None}]},
    ],
)
def test_any_python_reply_is_refused_or_played_never_raised(chat, reply):
    new, terminated, _, _ = chat.step(reply)
    assert isinstance(new, list) and not terminated
    json.dumps(chat.messages)  # the conversation stays sendable to a server


def test_a_long_response_is_cut_with_a_note(chat, monkeypatch):
    import asynctool_env.chat.env as chat_env

    monkeypatch.setattr(chat_env, "MAX_RESPONSE_CHARS", 40)
    task, step = chat.ready_steps()[0]
    gold = chat.gold_call(task, step)
    response = json.dumps(chat.instance.tasks[task].steps[step].expected_response, sort_keys=True)
    chat.step({"content": None, "tool_calls": [
        {"id": "c1", "type": "function",
         "function": {"name": gold["name"], "arguments": json.dumps(gold["arguments"])}}
    ]})  # fmt: skip
    for _ in range(8):
        chat.step("wait")
    shown = "\n".join(m["content"] for m in chat.messages if m["role"] == "user")
    assert f"[cut: this response is {len(response):,} characters; the first 40 are shown]" in shown


def test_a_replacement_cannot_blow_up_the_text():
    world = SCENARIOS["string_manipulation"].world(1)
    started = time.perf_counter()
    with pytest.raises(ToolError, match="would be 81000000 characters"):
        TOOLS["replace_text_phrase"].execute(
            world, {"text": "a" * 9000, "find": "a", "replacement": "b" * 9000}
        )
    assert time.perf_counter() - started < 0.5


def _extreme_values(prop: dict) -> list:
    kinds = [prop.get("type")] + [option.get("type") for option in prop.get("anyOf", [])]
    if "string" in kinds:
        return ["a" * 20_000, "a b. " * 4_000, "x"]
    if "integer" in kinds:
        return [10**12, -(10**12), 0]
    if "number" in kinds:
        return [1e300, -1e300, 0.0]
    if "array" in kinds:
        return [["a" * 200] * 100, []]
    if "object" in kinds:
        return [{"k" * 50: "v" * 1_000}]
    if "boolean" in kinds:
        return [True, False]
    return [None]


@pytest.mark.slow
def test_every_tool_bounds_its_output_under_extreme_arguments():
    """Each argument of each tool at its extremes (the others plain): the tool answers in a
    bounded size, or refuses with a ToolError."""
    worst = {}
    for name, tool in TOOLS.items():
        world = SCENARIOS[tool.scenario].world(1)
        properties = tool.openai_schema()["function"]["parameters"]["properties"]
        for argument, prop in properties.items():
            for value in _extreme_values(prop):
                arguments = {other: _extreme_values(spec)[-1] for other, spec in properties.items()}
                arguments[argument] = value
                try:
                    response = tool.execute(world, arguments)
                except ToolError:
                    continue
                worst[name] = max(worst.get(name, 0), len(json.dumps(response, default=str)))
    assert worst and max(worst.values()) <= 50_000, sorted(worst.items(), key=lambda x: -x[1])


SCRIPT = """
import json
from asynctool_env.chat.env import ChatEnv
env = ChatEnv(split="dev")
env.reset(seed=3, options={"instance_index": 5})
calls = [{"id": f"id{n}", "type": "function",
          "function": {"name": name, "arguments": "{}"}} for n, name in enumerate(
          ["nope", "wait", "also_nope", "submit_answer", "x", "y", "z"])]
env.step({"content": None, "tool_calls": calls})
env.step({"content": None, "tool_calls": calls[::-1]})
print(json.dumps(env.messages, sort_keys=True))
"""


def test_chat_traces_do_not_depend_on_the_hash_seed():
    outputs = set()
    for seed in ("0", "1", "12345"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            env=environment,
            check=True,
            timeout=120,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1
