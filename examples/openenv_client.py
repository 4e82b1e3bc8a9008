"""Play AsyncTool through OpenEnv: start the server, connect two sessions, score them.

Runs as written after ``pip install 'asynctool-env[openenv]'``: it starts
``asynctool serve-openenv`` on a free loopback port, plays two episodes at once through
OpenEnv's WebSocket client (a scripted oracle that plans on a local mirror of its episode,
and a model that only waits), prints what the server paid, and stops the server.

    python examples/openenv_client.py [--instance 5]

To connect a real model instead, send its assistant messages as
``AsyncToolAction(message=...)`` and read ``result.observation.messages``.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import urllib.request

import gymnasium as gym

from asynctool_env.chat.local import free_port
from asynctool_env.chat.scripted import ScriptedOracle, native_reply
from asynctool_env.integrations.openenv_server import AsyncToolAction, AsyncToolClient


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-c", "from asynctool_env.cli import app; app()"]
    command += ["serve-openenv", "--port", str(port), "--max-sessions", "2", "--max-rounds", "30"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2).close()
            return server, url
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("the server did not start")


async def oracle(url: str, index: int) -> None:
    mirror = gym.make("AsyncTool-Chat-v0", split="dev", max_rounds=30)
    mirror.reset(seed=index, options={"instance_index": index})
    plan = ScriptedOracle(mirror.unwrapped.chat)
    async with AsyncToolClient(base_url=url) as env:
        result = await env.reset(seed=index, split="dev", instance_index=index)
        print(f"[oracle] {len(result.observation.tools)} tools; tasks:")
        print("   " + result.observation.messages[1]["content"].replace("\n", "\n   "))
        total = 0.0
        while not result.done:
            reply = native_reply(plan.turn())
            mirror.step(reply)
            result = await env.step(AsyncToolAction(message=reply))
            total += result.reward or 0.0
        metrics = result.observation.metrics
        print(
            f"[oracle] return {total:.3f}, rounds {metrics['rounds']} (optimum "
            f"{metrics['optimal_rounds']}), efficiency {metrics['efficiency']:.3f}, "
            f"success {metrics['instance_success']}"
        )


async def waiter(url: str, index: int) -> None:
    async with AsyncToolClient(base_url=url) as env:
        result = await env.reset(seed=0, split="dev", instance_index=index)
        total = 0.0
        while not result.done:
            result = await env.step(AsyncToolAction(text="wait"))
            total += result.reward or 0.0
        metrics = result.observation.metrics
        print(f"[waiter] return {total:.3f}, rounds {metrics['rounds']}, success "
              f"{metrics['instance_success']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", type=int, default=5, help="dev instance of the oracle")
    args = parser.parse_args()
    server, url = start_server()
    print(f"server at {url}")
    try:

        async def both() -> None:
            await asyncio.gather(oracle(url, args.instance), waiter(url, args.instance + 1))

        asyncio.run(both())
    finally:
        server.terminate()
        server.wait(timeout=20)
        print("server stopped")


if __name__ == "__main__":
    main()
