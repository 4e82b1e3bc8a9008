"""The OpenEnv adapter: ``asynctool serve-openenv`` on a loopback port, two sessions at once
through OpenEnv's own client, one of them the scripted oracle."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request

import gymnasium as gym
import pytest

pytest.importorskip("openenv.core")

from asynctool_env.chat.local import free_port
from asynctool_env.chat.scripted import ScriptedOracle, native_reply
from asynctool_env.integrations.openenv_server import (
    AsyncToolAction,
    AsyncToolClient,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    """``asynctool serve-openenv`` in a subprocess on loopback, stopped afterwards."""
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from asynctool_env.cli import app; app()",
        "serve-openenv",
        "--port",
        str(port),
        "--max-sessions",
        "2",
        "--max-rounds",
        "40",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.stdout.read().decode() if process.stdout else ""
            process.kill()
            pytest.fail(f"the server did not start:\n{output[-3000:]}")
        time.sleep(0.3)
    yield url, process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


async def _oracle_session(url: str, index: int, seed: int) -> tuple[float, dict, dict]:
    """The scripted oracle over the wire. It plans on a local mirror of the episode (the
    same split, instance and seed, so the same latencies) and sends its replies to the
    server; returns the server's total reward and last metrics, and the mirror's."""
    mirror = gym.make("AsyncTool-Chat-v0", split="dev", max_rounds=40)
    mirror.reset(seed=seed, options={"instance_index": index})
    oracle = ScriptedOracle(mirror.unwrapped.chat)
    total, metrics = 0.0, {}
    async with AsyncToolClient(base_url=url) as env:
        result = await env.reset(seed=seed, split="dev", instance_index=index)
        assert result.observation.tools and result.observation.messages[0]["role"] == "system"
        assert result.observation.messages == mirror.unwrapped.chat.messages
        done = False
        while not done:
            reply = native_reply(oracle.turn(), prefix=f"r{mirror.unwrapped.simulator.round}c")
            mirror.step(reply)
            result = await env.step(AsyncToolAction(message=reply))
            total += float(result.reward or 0.0)
            done = result.done
            await asyncio.sleep(0)  # let the other session interleave
        metrics = result.observation.metrics
        state = await env.state()
        assert state.done and state.instance_index == index
        assert state.episode_return == pytest.approx(total)
    return total, metrics, {"return": mirror.unwrapped.episode_return}


async def _waiting_session(url: str, index: int) -> tuple[int, bool]:
    """A model that only waits (as text), on another instance: truncated at 40 rounds."""
    async with AsyncToolClient(base_url=url) as env:
        await env.reset(seed=1, split="dev", instance_index=index)
        steps, result = 0, None
        while result is None or not result.done:
            result = await env.step(AsyncToolAction(text="wait"))
            steps += 1
            await asyncio.sleep(0)
        return steps, bool(result.observation.metrics["instance_success"])


def test_two_sessions_at_once_and_the_oracle_scores_as_the_env(server):
    from asynctool_env.benchmark import EvalConfig, evaluate

    url, process = server
    index = 5

    async def both():
        return await asyncio.gather(_oracle_session(url, index, index), _waiting_session(url, 9))

    (total, metrics, mirror), (waits, waiter_success) = asyncio.run(both())
    reference = {r.instance_index: r for r in evaluate("oracle", EvalConfig(split="dev"))}[index]
    # The oracle's reward and metrics are AsyncTool-Chat-v0's, and the numeric oracle's.
    assert total == pytest.approx(mirror["return"]) == pytest.approx(reference.episode_return)
    for name in ("rounds", "optimal_rounds", "efficiency", "instance_success", "calls"):
        assert metrics[name] == reference.metrics[name], name
    assert metrics["efficiency"] == 1.0
    # The other session played its own episode at the same time.
    assert waits == 40 and not waiter_success
    assert process.poll() is None


def test_a_bad_reset_is_an_error_and_the_session_survives(server):
    url, _ = server

    async def run():
        async with AsyncToolClient(base_url=url) as env:
            with pytest.raises(RuntimeError, match="split must be 'dev' or 'test'"):
                await env.reset(split="train")
            result = await env.reset(seed=0, split="dev", instance_index=0)
            result = await env.step(AsyncToolAction(text="this is not a call"))
            assert result.reward == pytest.approx(-0.15) and not result.done
            assert result.observation.info["invalid_actions"] == 1

    asyncio.run(run())


def test_the_server_stops_when_asked():
    """A server started by the command stops on SIGTERM: nothing listens on its port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from asynctool_env.cli import app; app()", "serve-openenv",
         "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                break
        except OSError:
            time.sleep(0.3)
    process.terminate()
    assert process.wait(timeout=20) is not None
    # Nothing listens any more (a bind could still meet the port in TIME_WAIT).
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_the_manifest_parses_with_openenv_and_names_the_served_app(monkeypatch):
    """openenv.yaml passes OpenEnv's own parser, and its ``app`` is the AsyncTool app."""
    import importlib
    from pathlib import Path

    from openenv.validation.parsers.openenv_yaml import OpenEnvYamlParser

    root = Path(__file__).resolve().parent.parent
    manifest = OpenEnvYamlParser().parse(root)
    assert manifest.name == "asynctool"
    app_ref = __import__("yaml").safe_load((root / "openenv.yaml").read_text())["app"]
    module, attribute = app_ref.split(":")
    monkeypatch.setenv("ASYNCTOOL_MAX_SESSIONS", "3")
    app = getattr(importlib.import_module(module), attribute)
    paths = {getattr(route, "path", None) for route in app.routes}
    assert {"/health", "/ws", "/reset", "/step"} <= paths
    assert "COPY asynctool_env" in (root / "Dockerfile").read_text()


def test_http_requests_the_env_refuses_are_4xx_with_the_reason():
    """A bad split, an unknown field or index and a step with no episode were bare 500s with
    a traceback in the log."""
    from fastapi.testclient import TestClient

    from asynctool_env.integrations.openenv_server import make_app

    client = TestClient(make_app(max_sessions=2), raise_server_exceptions=False)
    cases = [
        ("/reset", {"split": "nope"}, 400, "split must be 'dev' or 'test'"),
        ("/reset", {"index": 3}, 400, "unknown reset field(s) ['index']"),
        ("/reset", {"instance_index": 99999}, 400, "instance_index"),
        ("/step", {"action": {"text": "wait()"}}, 409, "call reset before step"),
    ]
    for path, body, status, says in cases:
        answer = client.post(path, json=body)
        assert answer.status_code == status and says in answer.json()["error"], answer.text
    assert client.post("/reset", json={"instance_index": 1}).status_code == 200


def test_malformed_frames_get_an_error_and_the_session_goes_on():
    """null, a list, a number, a string, a binary frame and JSON nested too deep each ended
    the session (and its episode); now each is answered and the episode continues."""
    from fastapi.testclient import TestClient

    from asynctool_env.integrations.openenv_server import make_app

    client = TestClient(make_app(max_sessions=1), raise_server_exceptions=False)
    with client.websocket_connect("/ws") as socket:
        socket.send_text(json.dumps({"type": "reset", "data": {"instance_index": 0}}))
        assert socket.receive_json()["type"] == "observation"
        for frame in ("null", "[1, 2]", "3", '"text"', "[" * 100_000 + "]" * 100_000):
            socket.send_text(frame)
            assert socket.receive_json()["type"] == "error"
        socket.send_bytes(b"\x00\x01")
        assert socket.receive_json()["type"] == "error"
        socket.send_text(json.dumps({"type": "step", "data": {"text": "wait()"}}))
        answer = socket.receive_json()
        assert answer["type"] == "observation", answer


def test_a_silent_client_is_closed_and_its_slot_freed():
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from asynctool_env.integrations.openenv_server import make_app

    client = TestClient(make_app(max_sessions=1, idle_timeout=0.5), raise_server_exceptions=False)
    with client.websocket_connect("/ws") as silent:
        silent.send_text(json.dumps({"type": "reset", "data": {"instance_index": 0}}))
        silent.receive_json()
        with pytest.raises(WebSocketDisconnect):
            silent.receive_json()  # nothing sent for 0.5 s: the server closes the session
    with client.websocket_connect("/ws") as next_client:  # the one slot is free again
        next_client.send_text(json.dumps({"type": "reset", "data": {"instance_index": 1}}))
        assert next_client.receive_json()["type"] == "observation"


def test_errors_never_echo_a_huge_value_and_every_socket_route_times_out():
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from asynctool_env.integrations.openenv_server import MAX_BODY_BYTES, make_app

    client = TestClient(make_app(max_sessions=1, idle_timeout=0.5), raise_server_exceptions=False)
    answer = client.post("/reset", json={"split": "x" * 1_000_000})
    assert answer.status_code == 400 and len(answer.content) < 1_000
    answer = client.post("/reset", json={"episode_id": "e" * 1_000_000})
    assert 400 <= answer.status_code < 500 and len(answer.content) < 5_000
    big = client.post("/step", content=b"x" * (MAX_BODY_BYTES + 1))
    assert big.status_code == 413
    with client.websocket_connect("/mcp") as silent, pytest.raises(WebSocketDisconnect):
        silent.receive_json()  # /mcp holds a slot too: silent, it is closed
    with client.websocket_connect("/ws") as socket:
        socket.send_bytes(b"\x00")
        assert "a binary frame" in socket.receive_json()["data"]["message"]
