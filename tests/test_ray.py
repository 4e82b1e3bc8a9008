"""Evaluation over a real local Ray cluster: a head node started on loopback with 2 CPUs by
the project's own command, jobs that connect by its address."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

from asynctool_env.benchmark import EvalConfig, evaluate
from asynctool_env.chat.local import free_port
from asynctool_env.distributed import (
    evaluate_ray,
    read_journal,
)
from asynctool_env.rl.policy import PPOPolicy

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cluster():
    """``asynctool cluster up`` on loopback (2 CPUs), ``cluster down`` afterwards."""
    port = free_port()
    run = [sys.executable, "-c", "from asynctool_env.cli import app; app()"]
    started = subprocess.run(
        [*run, "cluster", "up", "--port", str(port), "--num-cpus", "2"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    address = f"127.0.0.1:{port}"
    assert address in started.stdout
    yield address
    import ray

    ray.shutdown()
    stopped = subprocess.run([*run, "cluster", "down"], capture_output=True, timeout=120)
    assert stopped.returncode == 0


def _unboxed(output: str) -> str:
    """A CLI error without rich's panel (its borders, its line breaks)."""
    return " ".join(output.replace("│", " ").split())


def _as_json(records):
    return [record.to_json() for record in records]


def test_two_workers_give_the_local_records(cluster):
    config = EvalConfig(split="dev")
    local = evaluate("critical_path", config)
    remote = evaluate_ray("critical_path", config, address=cluster, chunk_size=5)
    assert _as_json(remote) == _as_json(local)
    import ray

    assert ray.cluster_resources().get("CPU") == 2


def test_a_worker_killed_mid_run_loses_no_episode(cluster, tmp_path):
    """Kill a worker process while it plays a chunk: Ray retries the chunk, and every
    episode is recorded once, equal to the local run."""
    import ray

    config = EvalConfig(split="test", episodes=240)
    local = evaluate("oracle", config)
    killed: list[int] = []

    def kill_one_worker(done: int) -> None:
        if killed or done < 16:
            return
        import psutil

        for process in psutil.process_iter(["pid", "cmdline"]):
            command = " ".join(process.info["cmdline"] or [])
            if command.startswith("ray::_run_chunk") and process.pid != os.getpid():
                try:
                    os.kill(process.pid, signal.SIGKILL)  # a worker in the middle of a chunk
                except ProcessLookupError:
                    continue
                killed.append(process.pid)
                return

    journal = tmp_path / "episodes.jsonl"
    remote = evaluate_ray(
        "oracle", config, address=cluster, chunk_size=8, journal=journal,
        progress=kill_one_worker,
    )  # fmt: skip
    assert killed, "no worker was killed"
    assert _as_json(remote) == _as_json(local)
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(line["instance_index"] for line in lines) == list(range(240))  # once each
    assert ray.is_initialized()


def test_a_killed_run_resumes_without_losing_or_repeating_an_episode(cluster, tmp_path):
    journal = tmp_path / "episodes.jsonl"
    script = (
        "import sys\n"
        "from asynctool_env.benchmark import EvalConfig\n"
        "from asynctool_env.distributed import evaluate_ray\n"
        "evaluate_ray('greedy', EvalConfig(split='test', episodes=160), address=sys.argv[1],"
        " chunk_size=4, journal=sys.argv[2])\n"
    )
    driver = subprocess.Popen([sys.executable, "-c", script, cluster, str(journal)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and len(journal.read_text().splitlines()) >= 40:
            break
        time.sleep(0.05)
    driver.kill()
    driver.wait(timeout=30)
    partial = read_journal(journal)
    assert 40 <= len(partial) < 160  # killed midway
    records = evaluate_ray(
        "greedy", EvalConfig(split="test", episodes=160), address=cluster, journal=journal
    )
    assert _as_json(records) == _as_json(evaluate("greedy", EvalConfig(split="test", episodes=160)))
    parsed = []
    for line in journal.read_text().splitlines():
        try:
            parsed.append(json.loads(line))
        except ValueError:
            continue  # the line the killed run tore
    keys = [(record["agent"], record["instance_index"]) for record in parsed]
    assert len(keys) == len(set(keys)) == 160  # no episode lost or repeated


def test_rllib_ppo_with_masking_improves_over_the_untrained_policy(cluster, tmp_path):
    """RLlib's PPO (new API stack, the masking module) on the cluster with one remote env
    runner: the dev return and efficiency, scored by the project's evaluation API, rise
    above the untrained policy's."""
    pytest.importorskip("ray.rllib")
    import ray

    from asynctool_env.rl.rllib import train_rllib

    ray.shutdown()  # the RLlib job connects by the cluster's address itself
    run = train_rllib(
        iterations=6,
        address=cluster,
        num_env_runners=1,
        eval_episodes=24,
        checkpoint_dir=str(tmp_path / "checkpoint"),
        export=tmp_path / "rllib.pt",
    )
    assert run.env_steps >= 6 * 2000
    assert run.dev_after["return"] > run.dev_before["return"] + 0.1
    assert run.dev_after["efficiency"] > run.dev_before["efficiency"]
    assert run.dev_after["invalid_actions"] == 0.0  # the mask is respected
    assert (tmp_path / "checkpoint").is_dir()
    # The exported policy file is what 'asynctool eval --agent ppo --policy FILE' plays: it
    # scores on dev exactly as the trained module did in memory.
    from asynctool_env.rl.evaluation import SplitEvaluator

    played = SplitEvaluator("dev", 24, {"action_mode": "direct"}).summary(
        PPOPolicy(tmp_path / "rllib.pt"), agent="rllib_ppo"
    )
    assert played == run.dev_after


def test_the_train_command_runs_rllib_on_the_cluster(cluster, tmp_path):
    pytest.importorskip("ray.rllib")
    import ray
    from typer.testing import CliRunner

    from asynctool_env.cli import app

    ray.shutdown()
    result = CliRunner().invoke(
        app,
        ["train", "--backend", "rllib", "--timesteps", "2000", "--address", cluster,
         "--output", str(tmp_path / "run")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "RLlib PPO (default): " in result.output and "dev efficiency" in result.output
    assert "iteration 1/1: " in result.output  # progress, one line per iteration
    assert (tmp_path / "run" / "checkpoint").is_dir()
    bad = CliRunner().invoke(app, ["train", "--backend", "jax"])
    assert bad.exit_code == 2 and "choose sb3, torchrl or rllib" in bad.output
    sb3_flag = CliRunner().invoke(app, ["train", "--backend", "rllib", "--n-envs", "4"])
    assert sb3_flag.exit_code == 2 and "--n-envs apply to --backend sb3" in _unboxed(
        sb3_flag.output
    )
    agents = CliRunner().invoke(app, ["train", "--agents", "2"])
    assert agents.exit_code == 2 and "with --backend rllib" in _unboxed(agents.output)


def test_an_exported_rllib_policy_plays_through_asynctool_eval(cluster, tmp_path):
    """Train briefly, export with 'asynctool train --backend rllib --export', then play the
    file with 'asynctool eval --agent ppo --policy FILE' (that the file acts as the module
    does is checked by the improvement test above, on 24 whole dev episodes)."""
    pytest.importorskip("ray.rllib")
    import ray
    from typer.testing import CliRunner

    from asynctool_env.cli import app

    ray.shutdown()
    policy_file = tmp_path / "rllib-default.pt"
    result = CliRunner().invoke(
        app,
        ["train", "--backend", "rllib", "--timesteps", "2000", "--address", cluster,
         "--output", str(tmp_path / "run"), "--export", str(policy_file),
         "--eval-episodes", "8"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"policy {policy_file}" in result.output.replace("\n", "")
    header = json.loads(policy_file.with_suffix(".json").read_text())
    assert header["algo"] == "rllib_ppo" and header["regime"] == "default"
    played = CliRunner().invoke(
        app,
        ["eval", "--agent", "ppo", "--policy", str(policy_file), "--split", "dev",
         "--episodes", "6", "--output", str(tmp_path / "eval")],
    )  # fmt: skip
    assert played.exit_code == 0, played.output
    records = [json.loads(line) for line in (tmp_path / "eval" / "episodes.jsonl").open()]
    assert len(records) == 6 and {r["agent"] for r in records} == {f"ppo:{policy_file.stem}"}


def test_rllib_trains_the_multi_agent_env_with_one_shared_policy(cluster):
    """Two agents, one module (RLlib's ParallelPettingZooEnv, parameter sharing): the team
    return on dev rises above the untrained module's, and no masked action is taken."""
    pytest.importorskip("ray.rllib")
    import ray

    from asynctool_env.rl.rllib import SHARED_POLICY, train_rllib

    ray.shutdown()
    run = train_rllib(
        iterations=4, env_kwargs={"n_agents": 2}, multi_agent=True, address=cluster,
        eval_episodes=16,
    )  # fmt: skip
    assert run.dev_after["return"] > run.dev_before["return"] + 0.2
    assert run.dev_after["invalid_actions"] == 0.0
    assert run.env_steps >= 4 * 2000
    assert SHARED_POLICY == "shared"


def test_an_llm_agent_over_two_endpoints_gives_the_local_records(cluster, tmp_path):
    """An LLM agent served by two OpenAI-compatible endpoints (the scripted oracle on
    loopback), each with its own concurrency limit: every episode is played once, over both
    endpoints, and its record equals the local run's; the files are the local run's."""
    pytest.importorskip("openai")
    from asynctool_env.chat.runner import LLMConfig, run_llm_eval
    from asynctool_env.chat.scripted import serve_scripted
    from asynctool_env.dataset import load_split
    from asynctool_env.distributed import Endpoint, evaluate_llm_ray

    indexes = list(range(8))
    instances = load_split("dev")
    servers = [serve_scripted(indexes) for _ in range(3)]
    try:
        config = LLMConfig(model="scripted", base_url=servers[0][1], concurrency=2)
        local = run_llm_eval(config, instances, tmp_path / "local", indexes=indexes)
        endpoints = [Endpoint(servers[1][1], concurrency=1), Endpoint(servers[2][1], 2)]
        done: list[int] = []
        remote = evaluate_llm_ray(
            config, endpoints, instances, tmp_path / "ray", address=cluster, indexes=indexes,
            progress=done.append,
        )  # fmt: skip
    finally:
        for server, _ in servers:
            server.shutdown()

    def by_index(records):
        return {r.instance_index: r.to_json() for r in records}

    assert len(remote) == len(local) == 8 and done[-1] == 8
    assert by_index(remote) == by_index(local)
    assert all(r.metrics["instance_success"] for r in remote)  # the oracle solves them all
    for name in ("episodes.jsonl", "transcripts.jsonl", "summary.json"):
        assert (tmp_path / "ray" / name).is_file()
    transcripts = [json.loads(line) for line in (tmp_path / "ray" / "transcripts.jsonl").open()]
    assert sorted(t["instance_index"] for t in transcripts) == indexes
    # Each endpoint got work, and none had more requests at once than its limit.
    assert servers[1][0].model.requests > 0 and servers[2][0].model.requests > 0
    assert servers[1][0].peak_in_flight == 1 and servers[2][0].peak_in_flight <= 2
    assert servers[1][0].model.requests + servers[2][0].model.requests == (
        servers[0][0].model.requests
    )  # every turn of every episode played once
    # A rerun finds every episode done and plays none.
    again = evaluate_llm_ray(
        config, endpoints, instances, tmp_path / "ray", address=cluster, indexes=indexes
    )
    assert by_index(again) == by_index(remote)
    assert len((tmp_path / "ray" / "episodes.jsonl").read_text().splitlines()) == 8


def test_endpoints_are_parsed_and_checked():
    from asynctool_env.distributed import Endpoint

    assert Endpoint.parse("http://10.0.0.2:8000/v1=8") == Endpoint("http://10.0.0.2:8000/v1", 8)
    assert Endpoint.parse("https://h/v1", 3) == Endpoint("https://h/v1", 3)
    assert Endpoint.parse("http://h/v1?a=b", 2) == Endpoint("http://h/v1?a=b", 2)
    for bad in ("10.0.0.2:8000", "http://h/v1=0", ""):
        with pytest.raises(ValueError, match="endpoint"):
            Endpoint.parse(bad)


def test_the_eval_command_spreads_an_llm_agent_over_endpoints(cluster, tmp_path):
    pytest.importorskip("openai")
    from typer.testing import CliRunner

    from asynctool_env.chat.scripted import serve_scripted
    from asynctool_env.cli import app

    (one, first), (two, second) = serve_scripted([0, 1, 2]), serve_scripted([0, 1, 2])
    try:
        result = CliRunner().invoke(
            app,
            ["eval", "--agent", "openai", "--model", "scripted", "--split", "dev",
             "--episodes", "3", "--ray", cluster, "--endpoint", f"{first}=1",
             "--endpoint", second, "--output", str(tmp_path / "m")],
        )  # fmt: skip
    finally:
        one.shutdown()
        two.shutdown()
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "m" / "episodes.jsonl").open()]
    assert sorted(r["instance_index"] for r in records) == [0, 1, 2]
    assert all(r["metrics"]["instance_success"] for r in records)
    for arguments, message in (
        (["--endpoint", "http://h/v1"], "add --ray"),
        (["--ray", cluster, "--endpoint", "h:80"], "http(s) URL"),
    ):
        bad = CliRunner().invoke(
            app, ["eval", "--agent", "openai", "--model", "m", "--split", "dev", *arguments]
        )
        assert bad.exit_code == 2 and message in _unboxed(bad.output), bad.output
    local = CliRunner().invoke(app, ["eval", "--agent", "local", "--endpoint", "http://h/v1"])
    assert local.exit_code == 2 and "--agent local serves its own" in _unboxed(local.output)


def test_an_endpoint_actor_killed_mid_run_loses_no_episode(cluster, tmp_path):
    """Kill the actor that plays an endpoint's episodes: Ray restarts it and plays its
    episodes in flight again; each episode is recorded once, as the local run records it (a
    model that always waits, so a replayed episode replies as the first play did)."""
    pytest.importorskip("openai")
    import psutil

    from asynctool_env.chat.runner import LLMConfig, run_llm_eval
    from asynctool_env.dataset import load_split
    from asynctool_env.distributed import Endpoint, evaluate_llm_ray
    from tests.test_llm_faults import FaultServer

    instances, indexes = load_split("dev"), list(range(16))
    killed: list[int] = []

    def kill_the_actor(done: int) -> None:
        if killed or done < 4:
            return
        for process in psutil.process_iter(["pid", "cmdline"]):
            if " ".join(process.info["cmdline"] or []).startswith("ray::EndpointPlayer"):
                os.kill(process.pid, signal.SIGKILL)
                killed.append(process.pid)
                return

    with FaultServer([], rest="slow") as server:
        config = LLMConfig(model="m", base_url=server.url, api_key="k", max_rounds=6, concurrency=2)
        local = run_llm_eval(config, instances, tmp_path / "local", indexes=indexes)
        remote = evaluate_llm_ray(
            config, [Endpoint(server.url, 2)], instances, tmp_path / "ray", address=cluster,
            indexes=indexes, progress=kill_the_actor,
        )  # fmt: skip
    assert killed, "no actor was killed"
    assert {r.instance_index: r.to_json() for r in remote} == {
        r.instance_index: r.to_json() for r in local
    }
    lines = [json.loads(line) for line in (tmp_path / "ray" / "episodes.jsonl").open()]
    assert sorted(line["instance_index"] for line in lines) == indexes  # once each


LOOPBACK_IPS = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def _bound_addresses(processes) -> list[tuple[str, int, str]]:
    """(ip, port, process name) of every socket the processes listen on or bound alone."""
    import psutil

    bound = []
    for process in processes:
        try:
            connections = process.net_connections(kind="inet")
            name = process.name()
        except psutil.NoSuchProcess:  # pragma: no cover - a worker that just left
            continue
        for connection in connections:
            if connection.status in (psutil.CONN_LISTEN, psutil.CONN_NONE):
                bound.append((connection.laddr.ip, connection.laddr.port, name))
    return bound


def test_every_port_the_cluster_opens_is_bound_to_loopback(cluster):
    """The head node, its agents and the workers a job starts listen on loopback only
    (Ray alone rewrites a loopback node address to the external one and binds its GCS and
    raylet to all interfaces)."""
    from asynctool_env.distributed import running_clusters

    evaluate_ray("critical_path", EvalConfig(split="dev", episodes=4), address=cluster)
    port = int(cluster.rsplit(":", 1)[1])
    (ours,) = running_clusters(port)
    bound = _bound_addresses(ours.processes())
    assert port in {entry[1] for entry in bound}  # the GCS is among them
    assert len({entry[2] for entry in bound}) >= 3  # gcs, raylet, agents, workers
    assert [entry for entry in bound if entry[0] not in LOOPBACK_IPS] == []


def test_eval_ray_auto_joins_the_cluster_cluster_up_started(cluster):
    from asynctool_env.distributed import connect

    ray = connect("auto")
    assert ray.is_initialized()
    assert ray.cluster_resources().get("CPU") == 2


def test_cluster_down_stops_only_the_cluster_it_started():
    """Another Ray cluster on the machine (a plain ``ray start``) keeps running when
    ``asynctool cluster down`` stops ours; ``ray stop`` would have ended both."""
    import psutil

    from asynctool_env.distributed import Cluster, _ray_command, running_clusters

    foreign_port, our_port = free_port(), free_port()
    import shutil
    import tempfile

    foreign_dir = Path(tempfile.mkdtemp(prefix="ray-"))  # short: Ray's sockets live there
    started = subprocess.run(
        _ray_command(
            "start", "--head", "--node-ip-address=127.0.0.1", f"--port={foreign_port}",
            "--num-cpus=1", f"--temp-dir={foreign_dir}", "--include-dashboard=false",
            f"--ray-client-server-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}", "--disable-usage-stats",
        ),
        capture_output=True, text=True, timeout=180,
        env={**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"},
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    foreign = Cluster(f"127.0.0.1:{foreign_port}", foreign_port, 1, foreign_dir)
    run = [sys.executable, "-c", "from asynctool_env.cli import app; app()"]
    try:
        up = subprocess.run(
            [*run, "cluster", "up", "--port", str(our_port), "--num-cpus", "1"],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert up.returncode == 0, up.stdout + up.stderr
        (ours,) = running_clusters(our_port)
        our_processes = ours.processes()
        foreign_processes = foreign.processes()
        assert our_processes and foreign_processes
        down = subprocess.run([*run, "cluster", "down"], capture_output=True, text=True)
        assert down.returncode == 0, down.stdout + down.stderr
        assert f"127.0.0.1:{our_port}" in down.stdout
        assert not any(process.is_running() for process in our_processes)
        assert all(process.is_running() for process in foreign_processes)
        assert running_clusters(our_port) == []
        again = subprocess.run([*run, "cluster", "down"], capture_output=True, text=True)
        assert again.returncode == 0 and "no cluster" in again.stdout
    finally:
        for process in foreign.processes():
            process.kill()
        psutil.wait_procs(foreign.processes(), timeout=30)
        shutil.rmtree(foreign_dir, ignore_errors=True)


def test_train_rllib_show_config_prints_the_plan_and_starts_nothing(tmp_path):
    """--show-config resolves the settings (whole iterations of 2000 steps) and stops: no
    Ray, no training, no file under HOME."""
    run = [sys.executable, "-c", "from asynctool_env.cli import app; app()"]
    shown = subprocess.run(
        [*run, "train", "--backend", "rllib", "--timesteps", "5000", "--show-config"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    plan = json.loads(shown.stdout)
    assert plan["iterations"] == 3 and plan["steps_per_iteration"] == 2000
    assert plan["timesteps"] == 5000 and plan["backend"] == "rllib"
    assert list(tmp_path.iterdir()) == []


def test_train_rllib_in_process_is_quiet_on_loopback_and_writes_no_token(tmp_path):
    """Ray started in the process (no --address): --quiet prints only the final line, every
    port is on loopback, and no ~/.ray/auth_token is left to break later connections."""
    pytest.importorskip("ray.rllib")
    run = [sys.executable, "-c", "from asynctool_env.cli import app; app()"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    trained = subprocess.run(
        [*run, "train", "--backend", "rllib", "--timesteps", "1000", "--quiet",
         "--eval-episodes", "2", "--output", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=600, env={**environment, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout + trained.stderr
    lines = trained.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("RLlib PPO (default): "), trained.stdout
    assert not (tmp_path / ".ray").exists()
