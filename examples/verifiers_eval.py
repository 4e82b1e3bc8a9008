"""Evaluate a model on AsyncTool with verifiers (v1 API): taskset, toolset, rewards.

Runs as written after ``pip install 'asynctool-env[verifiers]'``, offline: with no
``--base-url`` it serves a scripted oracle as an OpenAI-compatible endpoint on loopback, and
verifiers plays the dev instances against it (each rollout with its own MCP tool server that
plays the episode on ``AsyncTool-Chat-v0``). It prints each rollout's reward (the env's
return) and metrics.

    python examples/verifiers_eval.py --indexes 0 1 2
    python examples/verifiers_eval.py --base-url http://127.0.0.1:8080/v1 --model M \\
        --api-key-var OPENAI_API_KEY              # any OpenAI-compatible server
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile

import verifiers.v1 as vf

from asynctool_env.chat.scripted import serve_scripted
from asynctool_env.integrations.verifiers_env import AsyncToolTasksetConfig


async def evaluate(indexes: list[int], base_url: str, model: str, key_var: str) -> None:
    client = vf.EvalClientConfig(base_url=base_url, api_key_var=key_var)
    agent = vf.AgentConfig(
        harness={"id": "asynctool-verifiers"},  # the adapter's in-process chat harness
        runtime=vf.SubprocessConfig(),
        model=model,
        client=client,
        max_turns=150,
    )
    env = vf.SingleAgentEnv(
        vf.SingleAgentEnvConfig(
            taskset=AsyncToolTasksetConfig(split="dev", indexes=indexes), agent=agent
        )
    )
    context = vf.ModelContext(model=model, client=client)
    async with env.serving():
        episodes = await asyncio.gather(*(env.run_episode(task, context) for task in env.taskset))
    for episode in episodes:
        for trace in episode.traces:
            metrics = {key: round(value, 3) for key, value in trace.metrics.items() if value}
            print(
                f"{trace.task.data.id}: reward {trace.reward:.3f}, stop {trace.stop_condition}, "
                f"{metrics}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indexes", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--base-url", help="an OpenAI-compatible endpoint (default: scripted)")
    parser.add_argument("--model", default="scripted-oracle")
    parser.add_argument("--api-key-var", default="ASYNCTOOL_NO_KEY")
    args = parser.parse_args()
    os.environ.setdefault("HOME", tempfile.mkdtemp())  # verifiers caches under $HOME
    server = None
    base_url = args.base_url
    if base_url is None:
        server, base_url = serve_scripted(args.indexes)
        print(f"scripted oracle at {base_url}")
    try:
        asyncio.run(evaluate(args.indexes, base_url, args.model, args.api_key_var))
    finally:
        if server is not None:
            server.shutdown()


if __name__ == "__main__":
    main()
