"""Evaluation spread over a Ray cluster (``pip install 'asynctool-env[ray]'``).

Episodes are independent and seeded (episode ``i`` plays with ``seed + i``), so a run is a
set of chunks of episode indexes that any worker can play: :func:`evaluate_ray` sends the
chunks to Ray tasks, and each chunk's records come back exactly as the local run makes them
(``benchmark.evaluate`` plays the same chunks in-process), whatever the number of workers.

* **Streaming and resuming.** With a ``journal`` file, each finished chunk's records are
  appended to it at once (one flushed write per chunk), and a run started again with the same
  journal skips the episodes already there: a run killed midway resumes without losing or
  repeating an episode.
* **Workers that die.** A chunk whose worker dies (the process killed, the node lost) is
  retried by Ray (``max_retries``); its episodes are played again from their seeds, so the
  records are the same.
* **LLM agents.** :func:`evaluate_llm_ray` plays a chat model's episodes over several
  endpoints (:class:`Endpoint`), one Ray actor each, none given more episodes at once than
  its ``concurrency``; the result folder is the one a local run writes.
* **A cluster.** ``asynctool cluster up`` starts a head node on loopback
  (:func:`cluster_up`), ``asynctool cluster down`` stops it; jobs connect by its address
  (``asynctool eval --ray ADDRESS``). On several machines, start the head with ``ray start
  --head`` on one and ``ray start --address HEAD:PORT`` on the others, then pass the head's
  address.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asynctool_env.benchmark import EvalConfig, _instances, _run_chunk
from asynctool_env.results import EpisodeRecord

#: Retries of a chunk whose worker died.
MAX_RETRIES = 4


def _ray() -> Any:
    try:
        import ray
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "Ray evaluation needs the ray extra: pip install 'asynctool-env[ray]'"
        ) from error
    return ray


def connect(address: str | None = None, *, num_cpus: int | None = None) -> Any:
    """Connect to the cluster at ``address`` (``"auto"``: the one ``asynctool cluster up``
    started on this machine, else the one ``ray start`` left running; ``None`` or
    ``"local"``: start a Ray instance in this process with ``num_cpus``). Returns the
    ``ray`` module."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    if address == "auto":
        ours = running_clusters()
        if len(ours) > 1:
            listed = ", ".join(cluster.address for cluster in ours)
            raise RuntimeError(f"several clusters run here ({listed}): pass one's address")
        if ours:
            address = ours[0].address
    runtime = {"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}}
    if address in (None, "local"):
        _keep_loopback(ray, "127.0.0.1")
        _token_in_memory()
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env=runtime,
        )
    else:
        _keep_loopback(ray, address)
        ray.init(address=address, log_to_driver=False, runtime_env=runtime)
    return ray


def _token_in_memory() -> None:
    """Give a Ray started in this process a token of its own, in the environment its
    processes inherit. Left alone, Ray 2.60 turns token authentication on for such an
    instance and saves a new token to ``~/.ray/auth_token``, which every later ``ray start``
    and connection on the machine then picks up (a cluster started without it refuses
    them). A user's own setting (``RAY_AUTH_MODE``, ``RAY_AUTH_TOKEN``, a token file) wins."""
    import secrets

    if {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"} & set(os.environ):
        return
    if (Path.home() / ".ray" / "auth_token").exists():
        return
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)


def _keep_loopback(ray: Any, address: str) -> None:
    """Let this process reach a head node bound to loopback: Ray's driver, like ``ray
    start``, replaces a loopback address by the machine's external one unless it believes
    clusters are off (its switch for Windows and macOS, read once at import)."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host in LOOPBACK:
        from ray._private import ray_constants

        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        ray_constants.ENABLE_RAY_CLUSTER = False


def _key(record: dict[str, Any]) -> tuple[str, int, int] | None:
    try:
        return str(record["agent"]), int(record["instance_index"]), int(record["seed"])
    except (KeyError, TypeError, ValueError):
        return None


def read_journal(path: Path) -> dict[tuple[str, int, int], EpisodeRecord]:
    """The complete records in a journal, by (agent, instance, seed); a torn last line (a
    run killed mid-write) is ignored, so its episode is played again."""
    found: dict[tuple[str, int, int], EpisodeRecord] = {}
    if not path.is_file():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        key = _key(value) if isinstance(value, dict) else None
        if key is not None:
            try:
                found[key] = EpisodeRecord(**value)
            except TypeError:  # not a record of this version
                continue
    return found


def _append(path: Path, records: Sequence[EpisodeRecord]) -> None:
    """Append whole lines in one flushed write (after a newline if a killed run left a torn
    line, which then stays a line of its own that :func:`read_journal` skips)."""
    text = "".join(json.dumps(r.to_json(), sort_keys=True) + "\n" for r in records)
    if path.is_file() and path.stat().st_size:
        with path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                text = "\n" + text
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def evaluate_ray(
    agent: str,
    config: EvalConfig | None = None,
    *,
    address: str | None = None,
    chunk_size: int = 32,
    journal: str | os.PathLike[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[EpisodeRecord]:
    """Play ``agent`` on every episode of ``config`` over Ray; the records, in episode order,
    equal :func:`asynctool_env.benchmark.evaluate`'s for the same config.

    Args:
        agent: A reference agent name (``ppo`` included: the policy file travels in the
            config).
        config: What to play (default: the whole test split).
        address: The cluster (see :func:`connect`).
        chunk_size: Episodes per Ray task.
        journal: A JSONL file the records stream to; episodes already in it are skipped.
        progress: Called with the number of episodes done so far.
    """
    config = config or EvalConfig()
    instances = _instances(config)
    count = len(instances) if instances is not None else (config.episodes or 100)
    seeds = {index: config.seed + index for index in range(count)}
    path = Path(journal) if journal is not None else None
    done = {
        key[1]: record
        for key, record in (read_journal(path) if path else {}).items()
        if key[0] == agent and seeds.get(key[1]) == key[2]
    }
    todo = [index for index in range(count) if index not in done]
    if progress:
        progress(len(done))
    records = dict(done)
    if todo:
        ray = connect(address)
        task = ray.remote(max_retries=MAX_RETRIES, num_cpus=1)(_run_chunk)
        chunks = [todo[start : start + chunk_size] for start in range(0, len(todo), chunk_size)]
        pending = [task.remote(agent, config, chunk) for chunk in chunks]
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            chunk_records = ray.get(finished[0])
            for record in chunk_records:
                records[record.instance_index] = record
            if path is not None:
                _append(path, chunk_records)
            if progress:
                progress(len(records))
    return [records[index] for index in range(count)]


# -- LLM agents over several endpoints ---------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One OpenAI-compatible server of a model, and how many episodes it takes at once."""

    base_url: str | None
    concurrency: int = 4
    #: The model's name on this server (``None``: the run's ``--model``).
    model: str | None = None

    @classmethod
    def parse(cls, text: str, default_concurrency: int = 4) -> Endpoint:
        """``URL`` or ``URL=N`` (N episodes at once), as ``--endpoint`` takes it."""
        url, _, count = text.rpartition("=")
        if not url or not count.isdigit():
            url, count = text, ""
        url = url.strip()
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"an endpoint is URL or URL=N with an http(s) URL, got {text!r}")
        concurrency = int(count) if count else default_concurrency
        if concurrency < 1:
            raise ValueError(f"an endpoint takes at least 1 episode at once, got {text!r}")
        return cls(url, concurrency)


class EndpointPlayer:
    """A Ray actor's body: plays chat episodes against one endpoint (an async actor, so
    the episodes in flight share one event loop and one client, as in a local run)."""

    def __init__(
        self,
        config: Any,
        instances: Sequence[Any],
        latency: str | None,
        tool_capacity: Any,
    ) -> None:
        self.config, self.instances = config, list(instances)
        self.latency, self.tool_capacity = latency, tool_capacity
        self.client: Any = None
        self.executor: Any = None

    async def play(self, index: int, trial: int, seed: int) -> tuple[EpisodeRecord, list]:
        import concurrent.futures

        from asynctool_env.chat.runner import make_async_client, play_chat_episode

        if self.client is None:  # built on the actor's own event loop
            self.client = make_async_client(self.config)
            self.executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=max(1, self.config.concurrency)
            )
        return await play_chat_episode(
            self.client,
            self.config,
            self.instances,
            index,
            seed,
            self.latency,
            self.tool_capacity,
            trial,
            self.executor,
        )


def evaluate_llm_ray(
    config: Any,
    endpoints: Sequence[Endpoint],
    instances: Sequence[Any],
    output: str | os.PathLike[str],
    *,
    address: str | None = None,
    indexes: Sequence[int] | None = None,
    seed: int = 0,
    latency: str | None = None,
    tool_capacity: Any = None,
    trials: int = 1,
    retry_failed: bool = False,
    progress: Callable[[int], None] | None = None,
    notes: Callable[[str], None] | None = None,
) -> list[EpisodeRecord]:
    """:func:`asynctool_env.chat.runner.run_llm_eval` with the episodes spread over Ray:
    one actor per endpoint, each given at most its ``concurrency`` episodes at once, the
    next episode going to whichever endpoint frees a slot first.

    The result folder is the local run's: the same files, streamed as episodes finish, a
    rerun resumes (and ``retry_failed`` replays failed episodes), and each record equals the
    local run's for the same seeds (a deterministic model), whatever the endpoints. An
    actor that dies is restarted and its episodes in flight are played again.
    """
    from dataclasses import replace

    from asynctool_env.chat.runner import (
        episodes_to_play,
        finish_results,
        prepare_results,
        trial_seed,
        write_episode,
    )

    if not endpoints:
        raise ValueError("give at least one endpoint")
    folder = Path(output)
    prepare_results(folder, retry_failed=retry_failed, notes=notes)
    chosen = list(indexes) if indexes is not None else list(range(len(instances)))
    todo = deque(episodes_to_play(folder, chosen, trials))
    finished = len(chosen) * trials - len(todo)
    if progress:
        progress(finished)
    if todo:
        ray = connect(address)
        actor = ray.remote(EndpointPlayer)
        # Held here until the end: a restarted actor is built again from these.
        shared = ray.put(list(instances))
        players = [
            actor.options(
                max_concurrency=endpoint.concurrency,
                max_restarts=-1,
                max_task_retries=MAX_RETRIES,
                num_cpus=0,
            ).remote(
                replace(
                    config,
                    base_url=endpoint.base_url,
                    model=endpoint.model or config.model,
                    concurrency=endpoint.concurrency,
                    label=config.agent,
                ),
                shared,
                latency,
                tool_capacity,
            )
            for endpoint in endpoints
        ]
        free = [endpoint.concurrency for endpoint in endpoints]
        pending: dict[Any, int] = {}
        try:
            while todo or pending:
                for number, player in enumerate(players):
                    while free[number] and todo:
                        index, trial = todo.popleft()
                        seeded = trial_seed(seed, index, trial)
                        pending[player.play.remote(index, trial, seeded)] = number
                        free[number] -= 1
                ready, _ = ray.wait(list(pending), num_returns=1)
                free[pending.pop(ready[0])] += 1
                record, messages = ray.get(ready[0])
                write_episode(folder, record, messages)
                finished += 1
                if progress:
                    progress(finished)
        finally:
            for player in players:
                ray.kill(player)
            del shared
    return finish_results(folder, config)


# -- a local cluster ---------------------------------------------------------------------


def _ray_command(*arguments: str) -> list[str]:
    """The ``ray`` command line of this interpreter's Ray."""
    return [sys.executable, "-m", "ray.scripts.scripts", *arguments]


#: Loopback names: a head node bound to one of these is reachable from this machine only.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Cluster:
    """A head node ``asynctool cluster up`` started: its address and the folder that holds
    its Ray files (``--temp-dir``) and its record. The folder names the cluster: every
    process of it carries the folder in its command line, which is how ``cluster down``
    finds this cluster's processes and no one else's."""

    address: str
    port: int
    num_cpus: int
    folder: Path

    def processes(self) -> list[Any]:
        """This cluster's live processes (``psutil.Process``): those whose command line
        names its folder, and their descendants (Ray's agents and workers rename
        themselves)."""
        import psutil

        # Ray's client server carries the cluster's address, not its folder.
        marks = (str(self.folder), f"--address={self.address}")
        found: dict[int, Any] = {}
        for process in psutil.process_iter(["cmdline"]):
            try:
                parts = process.info["cmdline"] or ()
                if any(mark in part for part in parts for mark in marks):
                    found[process.pid] = process
                    found.update((child.pid, child) for child in process.children(True))
            except (psutil.NoSuchProcess, psutil.AccessDenied):  # pragma: no cover - racy
                continue
        return list(found.values())


def _cluster_prefix() -> Path:
    """The folders of this user's clusters, less the port: ``/tmp/asynctool-ray-UID-``."""
    import getpass
    import tempfile

    user = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
    return Path(tempfile.gettempdir()) / f"asynctool-ray-{user}-"


def cluster_folder(port: int) -> Path:
    """Where ``cluster up --port PORT`` keeps its Ray files and its record."""
    prefix = _cluster_prefix()
    return prefix.parent / f"{prefix.name}{port}"


def running_clusters(port: int | None = None) -> list[Cluster]:
    """The clusters ``cluster up`` started on this machine (for this user) that still run;
    records of clusters that died are removed."""
    prefix = _cluster_prefix()
    pattern = f"{prefix.name}{'*' if port is None else port}/cluster.json"
    clusters = []
    for record in sorted(prefix.parent.glob(pattern)):
        try:
            data = json.loads(record.read_text())
            cluster = Cluster(data["address"], data["port"], data["num_cpus"], record.parent)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if cluster.processes():
            clusters.append(cluster)
        else:
            record.unlink(missing_ok=True)
    return clusters


def cluster_up(*, port: int = 6379, num_cpus: int = 2, host: str = "127.0.0.1") -> str:
    """Start a Ray head node on ``host:port`` with ``num_cpus`` CPUs; returns its address.

    On loopback (the default) every port the cluster opens is bound to the loopback
    address: Ray, left alone, replaces a loopback ``--node-ip-address`` by the machine's
    external address and binds its GCS and raylet to all interfaces, which would leave an
    unauthenticated cluster open to the network. Its files live in :func:`cluster_folder`,
    which :func:`cluster_down` uses to stop this cluster's processes only."""
    from asynctool_env.chat.local import free_port

    if running_clusters(port):
        raise RuntimeError(
            f"a cluster started by 'asynctool cluster up' already runs on port {port}; "
            f"stop it first with 'asynctool cluster down --port {port}'"
        )
    folder = cluster_folder(port)
    folder.mkdir(parents=True, exist_ok=True)
    environment = dict(os.environ)
    if host in LOOPBACK:
        # Ray keeps a loopback node address only where it believes clusters are off
        # (its switch for Windows and macOS); the head node then binds to loopback.
        environment["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    command = _ray_command(
        "start",
        "--head",
        f"--node-ip-address={host}",
        f"--port={port}",
        f"--num-cpus={num_cpus}",
        f"--temp-dir={folder}",
        f"--ray-client-server-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        "--include-dashboard=false",
        "--disable-usage-stats",
    )
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        raise RuntimeError(f"ray start failed:\n{(result.stdout + result.stderr)[-2000:]}")
    address = f"{host}:{port}"
    record = {"address": address, "port": port, "num_cpus": num_cpus, "host": host}
    (folder / "cluster.json").write_text(json.dumps(record) + "\n")
    return address


def cluster_down(port: int | None = None, *, timeout: float = 5.0) -> list[str]:
    """Stop the clusters :func:`cluster_up` started on this machine (only the one on
    ``port`` when given), and nothing else: other Ray clusters, and Ray instances inside
    other processes, keep running. Returns the addresses stopped."""
    import psutil

    stopped = []
    for cluster in running_clusters(port):
        processes = cluster.processes()
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.terminate()
        _, alive = psutil.wait_procs(processes, timeout=timeout)
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(alive, timeout=timeout)
        (cluster.folder / "cluster.json").unlink(missing_ok=True)
        stopped.append(cluster.address)
    return stopped
