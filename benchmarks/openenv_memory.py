"""Peak memory of the OpenEnv server under hostile replies (issue 23).

Starts ``asynctool serve-openenv`` on loopback, opens one WebSocket session and sends
``--replies`` replies of ``--mb`` MB each (all refused as too long), in ``--passes`` episodes;
prints the server's resident memory before, at its peak and after, and the same for a session
of short replies as the reference measured in the same run. Before issue 23 a session of 59
replies of 15 MB took the server from 226 MB to 1.1 GB (3.6 GB over four passes).

    python benchmarks/openenv_memory.py [--mb 15] [--replies 59] [--passes 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time

import psutil
from websockets.sync.client import connect

from asynctool_env.chat.local import free_port


def _session(url: str, replies: list[str], passes: int) -> None:
    with connect(url, max_size=None) as socket:
        for _ in range(passes):
            socket.send(json.dumps({"type": "reset", "data": {"instance_index": 0}}))
            socket.recv()
            for reply in replies:
                socket.send(json.dumps({"type": "step", "data": {"text": reply}}))
                answer = json.loads(socket.recv())
                if answer.get("type") != "observation" or answer["data"].get("done"):
                    break


def _rss_mb(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def measure(url: str, process: psutil.Process, replies: list[str], passes: int) -> tuple:
    before, peak = _rss_mb(process), 0.0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_mb(process))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    start = time.perf_counter()
    _session(url, replies, passes)
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    time.sleep(0.5)
    return before, max(peak, _rss_mb(process)), _rss_mb(process), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=15)
    parser.add_argument("--replies", type=int, default=59)
    parser.add_argument("--passes", type=int, default=4)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from asynctool_env.cli import app; app()", "serve-openenv",
         "--port", str(port), "--max-rounds", "400"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"ws://127.0.0.1:{port}/ws"
        for _ in range(100):
            try:
                _session(url, [], 0)
                break
            except OSError:
                time.sleep(0.2)
        process = psutil.Process(server.pid)
        short = measure(url, process, ["wait()"] * args.replies, args.passes)
        big = "y" * int(args.mb * 2**20)
        hostile = measure(url, process, [big] * args.replies, args.passes)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{args.replies} replies x {args.passes} passes; server RSS in MB (before, peak, after)")
    print(f"  short replies ('wait()'):     {short[0]:7.1f} {short[1]:7.1f} {short[2]:7.1f}"
          f"   ({short[3]:.1f} s)")  # fmt: skip
    print(f"  {args.mb:g} MB replies (refused):  {hostile[0]:7.1f} {hostile[1]:7.1f} "
          f"{hostile[2]:7.1f}   ({hostile[3]:.1f} s)")  # fmt: skip
    print(f"peak growth, hostile / short: {hostile[1] - hostile[0]:.1f} MB / "
          f"{max(short[1] - short[0], 0.1):.1f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
