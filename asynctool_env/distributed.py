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
* **A cluster.** ``asynctool cluster up`` starts a head node on loopback
  (:func:`cluster_up`), ``asynctool cluster down`` stops it; jobs connect by its address
  (``asynctool eval --ray ADDRESS``). On several machines, start the head with ``ray start
  --head`` on one and ``ray start --address HEAD:PORT`` on the others, then pass the head's
  address.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
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
    """Connect to the cluster at ``address`` (``"auto"``: the one ``ray start`` left
    running on this machine; ``None`` or ``"local"``: start a Ray instance in this process
    with ``num_cpus``). Returns the ``ray`` module."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    runtime = {"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}}
    if address in (None, "local"):
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env=runtime,
        )
    else:
        ray.init(address=address, log_to_driver=False, runtime_env=runtime)
    return ray


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


# -- a local cluster ---------------------------------------------------------------------


def _ray_command(*arguments: str) -> list[str]:
    """The ``ray`` command line of this interpreter's Ray."""
    return [sys.executable, "-m", "ray.scripts.scripts", *arguments]


def cluster_up(*, port: int = 6379, num_cpus: int = 2, host: str = "127.0.0.1") -> str:
    """Start a Ray head node on ``host:port`` with ``num_cpus`` CPUs; returns its address."""
    command = _ray_command(
        "start",
        "--head",
        f"--node-ip-address={host}",
        f"--port={port}",
        f"--num-cpus={num_cpus}",
        "--include-dashboard=false",
        "--disable-usage-stats",
    )
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ray start failed:\n{(result.stdout + result.stderr)[-2000:]}")
    return f"{host}:{port}"


def cluster_down() -> None:
    """Stop every Ray process this machine's ``ray start`` left running."""
    subprocess.run(_ray_command("stop", "--force"), capture_output=True, text=True, check=False)
