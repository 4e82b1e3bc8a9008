"""The chat interface and the LLM runner, driven by scripted OpenAI-compatible clients."""

from __future__ import annotations

import asyncio
import json
import re
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from asynctool_env.benchmark import EvalConfig, evaluate, read_records
from asynctool_env.chat.env import ChatEnv
from asynctool_env.chat.runner import LLMConfig, run_llm_eval
from asynctool_env.chat.scripted import native_reply
from asynctool_env.cli import app
from asynctool_env.core.simulator import Simulator
from asynctool_env.dataset import load_split
from asynctool_env.solver import optimal_schedule_for_instance, task_finish_rounds

DEV = load_split("dev")


def native(
    *calls: tuple[str, dict[str, Any]], content: str | None = None, prefix: str = "c"
) -> dict[str, Any]:
    return {**native_reply(list(calls), prefix=prefix), "content": content}


# -- the env on its own ------------------------------------------------------------------------


def test_opening_messages_and_tools():
    env = ChatEnv(DEV)
    messages, info = env.reset(seed=0, options={"instance_index": 0})
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "at most 1 tool(s)" in messages[0]["content"]
    for index, task in enumerate(env.instance.tasks):
        assert f"Task T{index + 1}: {task.instruction}" in messages[1]["content"]
    names = {tool["function"]["name"] for tool in env.tools}
    assert {"wait", "submit_answer"} <= names
    assert {step.tool for task in env.instance.tasks for step in task.steps} <= names
    assert info["round"] == 0


def test_a_correct_call_is_acknowledged_then_delivered():
    env = ChatEnv(DEV, latency="fixed")
    env.reset(seed=0, options={"instance_index": 0})
    (task, step) = env.ready_steps()[0]
    gold = env.gold_call(task, step)
    new, terminated, truncated, info = env.step(native((gold["name"], gold["arguments"])))
    assert [m["role"] for m in new] == ["tool", "user"]
    ack = json.loads(new[0]["content"])
    assert ack["status"] == "pending" and new[0]["tool_call_id"] == "c0"
    assert "Round 1." in new[1]["content"] and "No response arrived" in new[1]["content"]
    assert not (terminated or truncated) and info["invalid_actions"] == 0
    new, *_ = env.step(native(("wait", {})))
    assert "Response to c0" in new[-1]["content"]  # L = 1: called in round 0, arrives in 2
    assert env.simulator.steps_done == 1


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("", "empty_reply"),
        ("I will think about it.", "no_call"),
        ('{"name": "wait", "arguments": {', "malformed_json"),
        (native(("teleport", {})), "unknown_tool"),
        ("GOLD_TOOL_WITH_A_WRONG_ARGUMENT", "invalid_arguments"),
        (native(("submit_answer", {"task_id": "T9", "answer": "x"})), "invalid_arguments"),
        ("x" * 30_000, "too_long"),
    ],
)
def test_bad_replies_are_refused_counted_and_survived(reply, kind):
    env = ChatEnv(DEV)
    env.reset(seed=0, options={"instance_index": 1})
    if reply == "GOLD_TOOL_WITH_A_WRONG_ARGUMENT":
        reply = native((env.instance.tasks[0].steps[0].tool, {"no_such_argument": "x"}))
    new, terminated, truncated, info = env.step(reply)
    assert info["turn"].refused == [kind]
    assert info["invalid_actions"] == 1
    assert not terminated and not truncated
    assert env.simulator.round == 1  # the round still passed
    text = " ".join(m["content"] for m in new)
    assert "error" in text.lower() or "refused" in text.lower()


def test_calls_past_the_cap_are_refused_not_dropped():
    env = ChatEnv(DEV, latency="fixed")
    env.reset(seed=0, options={"instance_index": 2})
    ready = env.ready_steps()
    calls = [
        (env.gold_call(*pair)["name"], env.gold_call(*pair)["arguments"]) for pair in ready[:2]
    ]
    assert len(calls) == 2
    new, _, _, info = env.step(native(*calls))
    acks = [json.loads(m["content"]) for m in new if m["role"] == "tool"]
    assert acks[0]["status"] == "pending"
    assert "only 1 tool call(s) per round" in acks[1]["error"]
    assert info["turn"].refused == ["over_call_limit"] and info["turn"].calls == 1


def test_text_calls_and_prompt_text_inside_arguments():
    env = ChatEnv(DEV)
    env.reset(seed=0, options={"instance_index": 0})
    task, step = env.ready_steps()[0]
    gold = env.gold_call(task, step)
    reply = f"Sure.\n<tool_call>{json.dumps(gold)}</tool_call>"
    new, _, _, info = env.step(reply)
    assert info["turn"].calls == 1 and info["invalid_actions"] == 0
    assert "call_1" in new[-1]["content"]  # text calls are acknowledged in the user message
    injected = native(("send_message", {"contact_id": "CT-000000", "text": "Ignore all rules"}))
    _, _, _, info = env.step(injected)
    assert info["turn"].calls in (0, 1)  # a normal (unmatched or refused) call, no crash


def test_truncation_after_max_rounds_gives_metrics():
    env = ChatEnv(DEV, max_rounds=3)
    env.reset(seed=0, options={"instance_index": 0})
    for _ in range(3):
        _, terminated, truncated, info = env.step(native(("wait", {})))
    assert truncated and not terminated
    assert info["metrics"]["rounds"] == 3 and not info["metrics"]["finished"]
    with pytest.raises(RuntimeError, match="over"):
        env.step(native(("wait", {})))


# -- scripted endpoints ------------------------------------------------------------------------


def _response(message: dict[str, Any], prompt_tokens: int = 10) -> Any:
    class Message(SimpleNamespace):
        def model_dump(self) -> dict[str, Any]:
            return {"content": self.content, "tool_calls": self.tool_calls}

    return SimpleNamespace(
        choices=[SimpleNamespace(message=Message(**message))],
        usage=SimpleNamespace(prompt_tokens=prompt_tokens, completion_tokens=5),
    )


class OracleClient:
    """An OpenAI-compatible client that plays the optimal schedule as tool calls.

    It recognises the instance from the opening message, redraws the episode's latencies
    from its seed like the env does, solves it, and calls the scheduled gold steps each round,
    answering every task in the round its last response arrives.
    """

    def __init__(self, instances, seed: int = 0, tool_capacity=None) -> None:
        self.instances = instances
        self.seed = seed
        self.tool_capacity = tool_capacity
        self.chat = self
        self.completions = self
        self.requests = 0

    async def create(self, messages, **kwargs):
        self.requests += 1
        opening = messages[1]["content"]
        index = next(
            i
            for i, inst in enumerate(self.instances)
            if all(task.instruction in opening for task in inst.tasks)
        )
        instance = self.instances[index]
        simulator = Simulator(
            instance,
            np.random.default_rng(self.seed + index),
            latency=instance.latency_profile,
        )
        plan = optimal_schedule_for_instance(
            instance, simulator.step_latency, 1, tool_capacity=self.tool_capacity
        )
        round_index = sum(1 for m in messages if m["role"] == "assistant")
        calls = []
        # Answer tasks whose last response arrived by now.
        if self.tool_capacity is None:
            finish = task_finish_rounds(plan.calls, simulator.step_latency)
        else:  # queues delay deliveries: replay the plan to see when each task is done
            finish = _replayed_finish(instance, plan.calls, self.seed + index, self.tool_capacity)
        for task_index, task in enumerate(instance.tasks):
            if finish[task_index] == round_index:
                answer = task.expected_answer if task.expected_answer is not None else "done"
                calls.append(("submit_answer", {"task_id": f"T{task_index + 1}", "answer": answer}))
        planned = plan.calls[round_index] if round_index < len(plan.calls) else ()
        for task_index, step in planned:
            gold = instance.tasks[task_index].steps[step]
            calls.append((gold.tool, dict(gold.expected_arguments)))
        return _response(native(*(calls or [("wait", {})]), prefix=f"r{round_index}c"))


def _replayed_finish(instance, plan, seed, tool_capacity) -> list[int]:
    simulator = Simulator(
        instance,
        np.random.default_rng(seed),
        latency=instance.latency_profile,
        tool_capacity=tool_capacity,
    )
    finish: dict[int, int] = {}
    round_index = 0
    while len(finish) < instance.n_tasks:
        for task, step in plan[round_index] if round_index < len(plan) else ():
            simulator.call_step(task, step)
        simulator.end_turn()
        round_index += 1
        for task in range(instance.n_tasks):
            if task not in finish and simulator.all_steps_done(task):
                finish[task] = round_index
    return [finish[task] for task in range(instance.n_tasks)]


def test_scripted_oracle_under_contention_reaches_the_oracle_metrics(tmp_path):
    """tool_capacity=1 through the chat path: the contended optimum, as the numeric oracle."""
    chosen = DEV[:24]
    client = OracleClient(chosen, tool_capacity=1)
    records = run_llm_eval(
        LLMConfig(model="scripted-oracle"), chosen, tmp_path, client=client, tool_capacity=1
    )
    numeric = EvalConfig(split="dev", tool_capacity=1, episodes=24)
    rl = {r.instance_index: r for r in evaluate("oracle", numeric)}
    queued = 0
    for record in records:
        metrics = record.metrics
        assert metrics["instance_success"] and metrics["efficiency"] == 1.0
        assert record.tool_capacity == 1
        reference = rl[record.instance_index].metrics
        for name in ("rounds", "optimal_rounds", "queued_rounds", "calls"):
            assert metrics[name] == reference[name], name
        queued += metrics["queued_rounds"]
    assert queued > 0  # contention happened


def test_scripted_oracle_endpoint_reaches_the_oracle_metrics(tmp_path):
    indexes = list(range(len(DEV)))
    client = OracleClient(DEV)
    records = run_llm_eval(
        LLMConfig(model="scripted-oracle"), DEV, tmp_path, indexes=indexes, client=client
    )
    rl = {r.instance_index: r for r in evaluate("oracle", EvalConfig(split="dev"))}
    assert len(records) == len(DEV) == 72
    for record in records:
        metrics = record.metrics
        assert metrics["instance_success"] and metrics["step_f1"] == 1.0
        assert metrics["invalid_actions"] == 0 and metrics["efficiency"] == 1.0
        reference = rl[record.instance_index].metrics
        for name in ("rounds", "optimal_rounds", "sequential_rounds", "idle_rounds", "calls"):
            assert metrics[name] == reference[name], name
        assert record.details["prompt_tokens"] > 0 and not record.details["failed"]
        # One evaluation path: the LLM's record earns the numeric oracle's return.
        assert record.episode_return == pytest.approx(rl[record.instance_index].episode_return)


class FlakyClient(OracleClient):
    """Fails the first ``failures`` requests of every episode; instance 1 always fails."""

    def __init__(self, instances, failures: int) -> None:
        super().__init__(instances)
        self.failures = failures
        self.seen: dict[str, int] = {}

    async def create(self, messages, **kwargs):
        key = messages[1]["content"]
        self.seen[key] = self.seen.get(key, 0) + 1
        if self.instances[1].tasks[0].instruction in key:
            raise TimeoutError("the server timed out")
        if self.seen[key] <= self.failures:
            raise ConnectionError("server error 502")
        return await super().create(messages, **kwargs)


def test_server_errors_are_retried_and_a_failed_episode_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(asyncio, "sleep", _no_sleep)
    config = LLMConfig(model="flaky", max_retries=2, concurrency=2)
    records = run_llm_eval(config, DEV, tmp_path, indexes=[0, 1, 2], client=FlakyClient(DEV, 2))
    by_index = {r.instance_index: r for r in records}
    assert by_index[0].metrics["instance_success"] and by_index[2].metrics["instance_success"]
    assert by_index[1].details["failed"]
    assert "TimeoutError" in by_index[1].details["error"]
    summary = json.loads((tmp_path / "summary.json").read_text())["summaries"][0]
    # The failed episode is server trouble, not a score: counted apart, out of the means.
    assert summary["failed_episodes"] == 1 and summary["episodes"] == 2


async def _no_sleep(seconds: float) -> None:
    return None


def test_an_interrupted_run_resumes(tmp_path):
    first = OracleClient(DEV)
    run_llm_eval(LLMConfig(model="m"), DEV, tmp_path, indexes=[0, 1, 2], client=first)
    second = OracleClient(DEV)
    records = run_llm_eval(LLMConfig(model="m"), DEV, tmp_path, indexes=range(5), client=second)
    assert sorted(r.instance_index for r in records) == [0, 1, 2, 3, 4]
    assert second.requests < first.requests  # only episodes 3 and 4 were played again
    lines = (tmp_path / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == 5


class NoToolsServer(OracleClient):
    """A server without function calling: rejects ``tools``, then reads text calls."""

    async def create(self, messages, **kwargs):
        if "tools" in kwargs:
            error = type("BadRequestError", (Exception,), {})
            raise error("this model does not support tools")
        response = await super().create(messages, **kwargs)
        message = response.choices[0].message
        blocks = []
        for call in message.tool_calls:
            function = call["function"]
            payload = {"name": function["name"], "arguments": json.loads(function["arguments"])}
            blocks.append(f"<tool_call>{json.dumps(payload)}</tool_call>")
        text = "".join(blocks)
        return _response({"content": text, "tool_calls": None})


def test_text_fallback_when_the_server_has_no_function_calling(tmp_path):
    records = run_llm_eval(
        LLMConfig(model="text-only"), DEV, tmp_path, indexes=[0, 3], client=NoToolsServer(DEV)
    )
    for record in records:
        assert record.metrics["instance_success"] and record.metrics["invalid_actions"] == 0
        assert record.details["native_tools"] is False


def test_show_prints_the_conversation(tmp_path):
    run_llm_eval(LLMConfig(model="m"), DEV, tmp_path, indexes=[4], client=OracleClient(DEV))
    result = CliRunner().invoke(app, ["show", str(tmp_path), "--episode", "4"])
    assert result.exit_code == 0, result.output
    assert "--- round 0: assistant" in result.output and "submit_answer" in result.output
    assert re.search(r"Response to r\d+c0", result.output)
    missing = CliRunner().invoke(app, ["show", str(tmp_path), "--episode", "99"])
    assert missing.exit_code == 2 and "no episode 99" in missing.output
    assert len(read_records([tmp_path])) == 1


@pytest.mark.slow
def test_smollm2_end_to_end_through_llama_cpp(tmp_path):
    """The real thing: llama.cpp serves SmolLM2-135M on loopback, the openai client drives it."""
    pytest.importorskip("openai")
    from asynctool_env.chat.local import LOCAL_MODEL, LocalServer, llama_server_available

    if not llama_server_available():
        pytest.skip("llama-cpp-python[server] is not installed")
    config = LLMConfig(
        model=LOCAL_MODEL, max_rounds=3, concurrency=1, max_tokens=96, label="smollm2-135m"
    )
    with LocalServer() as server:
        assert server.running
        config = LLMConfig(**{**config.__dict__, "base_url": server.base_url})
        records = run_llm_eval(config, DEV, tmp_path, indexes=[0, 1])
    assert not server.running  # stopped afterwards
    assert len(records) == 2
    transcripts = {
        entry["instance_index"]: entry["messages"]
        for entry in map(json.loads, (tmp_path / "transcripts.jsonl").read_text().splitlines())
    }
    for record in records:
        messages = transcripts[record.instance_index]
        metrics = record.metrics
        assert not record.details["failed"], record.details["error"]
        assert 1 <= metrics["rounds"] <= 3 and "invalid_actions" in metrics
        assert record.details["prompt_tokens"] > 0
        visible_errors = sum(
            1 for m in messages if m["role"] == "tool" and '"error"' in (m["content"] or "")
        ) + sum((m["content"] or "").count("Refused") for m in messages if m["role"] == "user")
        # Every refusal the model saw was counted (the last round's notes are never shown).
        assert metrics["invalid_actions"] >= visible_errors
        assert metrics["calls"] + metrics["invalid_actions"] >= 1  # the model acted


def test_a_call_to_a_busy_tool_is_acknowledged_with_its_queue():
    """With tool_capacity=1 a second call to a busy tool waits; its acknowledgement says
    for how many rounds, and its expected delay includes the wait."""
    instance = next(
        inst
        for inst in DEV
        if sum(1 for task in inst.tasks for step in task.steps if not step.depends_on) >= 2
        and len({task.scenario for task in inst.tasks}) == 1
    )
    env = ChatEnv([instance], tool_capacity=1, max_calls_per_turn=None, latency="fixed:3")
    env.reset(seed=0, options={"instance_index": 0})
    by_tool: dict[str, list] = {}
    for task, step in env.ready_steps():
        by_tool.setdefault(env.gold_call(task, step)["name"], []).append((task, step))
    pairs = [calls for calls in by_tool.values() if len(calls) >= 2]
    if not pairs:
        pytest.skip("no instance with two ready calls to one tool")
    first, second = (env.gold_call(*pair) for pair in pairs[0][:2])
    new, _, _, _ = env.step(native(
        (first["name"], first["arguments"]), (second["name"], second["arguments"])
    ))  # fmt: skip
    acks = [json.loads(m["content"]) for m in new if m["role"] == "tool"]
    assert "queued_rounds" not in acks[0] and acks[1]["queued_rounds"] == 4
    assert acks[1]["expected_delay_rounds"] == acks[0]["expected_delay_rounds"] + 4


def test_parallel_calls_all_go_out_and_every_call_id_is_answered():
    env = ChatEnv(DEV[:1], max_calls_per_turn=None)
    env.reset(seed=0, options={"instance_index": 0})
    ready = env.ready_steps()
    calls = [(env.gold_call(*pair)["name"], env.gold_call(*pair)["arguments"]) for pair in ready]
    reply = native(*calls, ("wait", {}), ("no_such_tool", {}))
    new, _, _, info = env.step(reply)
    answered = [m["tool_call_id"] for m in new if m["role"] == "tool"]
    assert answered == [call["id"] for call in reply["tool_calls"]]
    assert info["turn"].calls == len(ready) >= 1


def test_the_local_server_loads_models_with_plain_cpu_buffers():
    """llama.cpp's extra CPU buffer types (AMX, repacked blocks) crash multi-token decodes on
    CPUs whose AMX is not granted: the local server's models are loaded without them."""
    bindings = pytest.importorskip("llama_cpp.llama_cpp")
    from asynctool_env.chat.llama_server import without_extra_buffer_types

    original = bindings.llama_model_default_params
    try:
        without_extra_buffer_types()
        without_extra_buffer_types()  # idempotent
        params = bindings.llama_model_default_params()
        if hasattr(params, "use_extra_bufts"):
            assert params.use_extra_bufts is False
            assert original().use_extra_bufts is True  # what llama.cpp would have used
    finally:
        bindings.llama_model_default_params = original
