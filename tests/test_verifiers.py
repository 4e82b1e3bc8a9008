"""The verifiers adapter (v1 API): the AsyncTool split as a taskset, its toolset and rewards,
played by a scripted oracle model through a verifiers harness, offline.

verifiers 0.4 cannot be installed beside openenv 0.10 (they pin incompatible ``mcp``
versions), so the test suite's own environment does not have it. There, one test builds a
virtual environment with the ``verifiers`` extra (kept in ``~/.cache/asynctool``) and runs
this file in it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asynctool_env.chat.scripted import ScriptedChatModel

ROOT = Path(__file__).resolve().parent.parent
HAS_VERIFIERS = importlib.util.find_spec("verifiers") is not None


@pytest.mark.slow
@pytest.mark.skipif(HAS_VERIFIERS, reason="verifiers is installed here: tested directly")
def test_the_verifiers_tests_pass_in_their_own_environment():
    """Build (or reuse) a venv with the verifiers extra (``asynctool verifiers-venv``'s
    builder) and run this file there; then the vf-eval command it prints, offline against
    ``serve-scripted``."""
    from asynctool_env.integrations.venvs import build_verifiers_venv, verifiers_venv_path

    python = build_verifiers_venv(verifiers_venv_path(), extra=["pytest"])
    run = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(Path(__file__))],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert "3 passed" in summary and "failed" not in summary, summary  # only this test skips
    _the_printed_vf_eval_command_runs_offline(python.parent.parent)


def _the_printed_vf_eval_command_runs_offline(venv: Path) -> None:
    import shlex
    import tempfile

    from asynctool_env.chat.scripted import serve_scripted
    from asynctool_env.integrations.venvs import vf_eval_command

    server, base_url = serve_scripted([0, 1, 2], "dev")
    try:
        command = shlex.split(vf_eval_command(venv, base_url))
        environment = dict(os.environ)
        while "=" in command[0]:  # leading NAME=value assignments
            name, value = command.pop(0).split("=", 1)
            environment[name] = value
        with tempfile.TemporaryDirectory() as out:
            played = subprocess.run(
                [*command, "-o", out], capture_output=True, text=True, env=environment,
                timeout=600, cwd=out,
            )  # fmt: skip
    finally:
        server.shutdown()
    output = played.stdout + played.stderr
    assert played.returncode == 0, output[-3000:]
    assert output.count("[success ]") == 3 and "efficiency" in output, output[-3000:]


needs_verifiers = pytest.mark.skipif(not HAS_VERIFIERS, reason="needs the verifiers extra")


def _install(model: ScriptedChatModel) -> None:
    """Route verifiers' model requests to ``model`` (no sockets, no network)."""
    import httpx
    import verifiers.v1.clients.eval as eval_client

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        completion = model.completion(body)
        message = completion["choices"][0]["message"]
        if not body.get("stream"):
            return httpx.Response(200, json=completion)
        delta = dict(message)
        delta["tool_calls"] = [{**c, "index": i} for i, c in enumerate(delta["tool_calls"])]
        chunk = {
            **{k: v for k, v in completion.items() if k != "choices"},
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": "tool_calls"}],
        }
        sse = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse)

    eval_client.build_async_httpx = lambda config: httpx.AsyncClient(
        transport=httpx.MockTransport(handler)
    )


@needs_verifiers
def test_the_taskset_loads_the_split_with_its_prompts():
    from asynctool_env.integrations.verifiers_env import AsyncToolTaskset, AsyncToolTasksetConfig

    tasks = list(AsyncToolTaskset(AsyncToolTasksetConfig(split="dev", indexes=[0, 3])))
    assert [task.data.instance_index for task in tasks] == [0, 3]
    assert [task.data.seed for task in tasks] == [0, 3]
    assert "several tasks at once" in tasks[0].data.system_prompt
    assert tasks[0].data.prompt.startswith("You have")


@needs_verifiers
@pytest.mark.slow
def test_the_scripted_oracle_earns_the_env_return_and_metrics(tmp_path, monkeypatch):
    """Rollouts through verifiers' own env, harness loop and MCP tool servers: the reward is
    the env's return, the metrics the env's, equal to the numeric oracle's."""
    import verifiers.v1 as vf

    from asynctool_env.benchmark import EvalConfig, evaluate
    from asynctool_env.integrations.verifiers_env import AsyncToolTasksetConfig

    monkeypatch.setenv("HOME", str(tmp_path))  # verifiers caches under $HOME
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    indexes = [0, 4]
    model = ScriptedChatModel(indexes)
    _install(model)
    client = vf.EvalClientConfig(base_url="http://scripted.invalid/v1", api_key_var="NO_KEY")
    agent = vf.AgentConfig(
        harness={"id": "asynctool-verifiers"},  # the adapter's in-process chat harness
        runtime=vf.SubprocessConfig(),
        model="scripted-oracle",
        client=client,
        max_turns=120,
    )
    env = vf.SingleAgentEnv(
        vf.SingleAgentEnvConfig(
            taskset=AsyncToolTasksetConfig(split="dev", indexes=indexes), agent=agent
        )
    )

    async def run():
        context = vf.ModelContext(model="scripted-oracle", client=client)
        async with env.serving():
            episodes = await asyncio.gather(
                *(env.run_episode(task, context) for task in env.taskset)
            )
        return [trace for episode in episodes for trace in episode.traces]

    traces = asyncio.run(run())
    reference = {r.instance_index: r for r in evaluate("oracle", EvalConfig(split="dev"))}
    assert len(traces) == len(indexes)
    for trace in traces:
        index = trace.task.data.instance_index
        assert trace.ok, [error.message for error in trace.errors]
        assert trace.stop_condition == "episode_over"
        numeric = reference[index]
        assert trace.reward == pytest.approx(numeric.episode_return)
        for name in ("rounds", "optimal_rounds", "efficiency", "dependency_violations"):
            assert trace.metrics[name] == pytest.approx(numeric.metrics[name]), name
        assert trace.metrics["step_f1"] == 1.0 and trace.metrics["instance_success"] == 1.0
    # Each rollout was offered its instance's tools (and the meta-tools), nothing else.
    from asynctool_env.chat.gym_env import AsyncToolChatEnv

    for user, offered in model.tools_offered.items():
        (index, seed), *_ = model.episodes[user]
        mirror = AsyncToolChatEnv(split="dev")
        mirror.reset(seed=seed, options={"instance_index": index})
        expected = {tool["function"]["name"] for tool in mirror.chat.tools}
        assert offered == expected


@needs_verifiers
@pytest.mark.slow
def test_the_verifiers_example_runs_offline(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "verifiers_eval.py"), "--indexes", "0", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # the scripted oracle earns the numeric oracle's return on dev-0 (dataset v3: 11 rounds)
    from asynctool_env.benchmark import EvalConfig, evaluate

    (oracle,) = evaluate("oracle", EvalConfig(split="dev", episodes=1))
    assert f"dev-0: reward {oracle.episode_return:.3f}, stop episode_over" in result.stdout
    assert "dev-2:" in result.stdout and "'efficiency': 1.0" in result.stdout
