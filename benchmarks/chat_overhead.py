"""Time the chat path adds per turn, beyond the model: parse, validate, simulate, report.

A scripted "model" answers instantly with the gold calls of the optimal schedule (as native
tool calls), so everything measured is the library's own work per turn: parsing the reply,
checking arguments against the schema, matching gold steps, the simulator's turn, and
writing the acknowledgements and the round report. Target (DESIGN.md): under 1 ms per turn.

Run: ``python benchmarks/chat_overhead.py [--episodes 72]``
"""

from __future__ import annotations

import argparse
import json
import time

from asynctool_env.chat.env import ChatEnv
from asynctool_env.dataset import load_split
from asynctool_env.solver import optimal_schedule_for_instance, task_finish_rounds


def _answer(expected: object) -> object:
    return "done" if expected is None else expected


def scripted_replies(env: ChatEnv) -> list[dict]:
    """The oracle's replies for the episode just reset in ``env``, one per round."""
    simulator = env.simulator
    plan = optimal_schedule_for_instance(simulator.instance, simulator.step_latency, 1)
    last = task_finish_rounds(plan.calls, simulator.step_latency)
    replies = []
    for round_index in range(plan.rounds):
        calls = [
            ("submit_answer", {"task_id": f"T{k + 1}", "answer": _answer(task.expected_answer)})
            for k, task in enumerate(simulator.instance.tasks)
            if last[k] == round_index
        ]
        if round_index < len(plan.calls):
            for k, s in plan.calls[round_index]:
                gold = simulator.instance.tasks[k].steps[s]
                calls.append((gold.tool, dict(gold.expected_arguments)))
        replies.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"r{round_index}c{i}",
                        "type": "function",
                        "function": {"name": name, "arguments": json.dumps(arguments)},
                    }
                    for i, (name, arguments) in enumerate(calls or [("wait", {})])
                ],
            }
        )
    return replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=72)
    args = parser.parse_args()
    instances = load_split("dev")[: args.episodes]
    env = ChatEnv(instances)
    turns = 0
    spent = 0.0
    successes = 0
    for index in range(len(instances)):
        env.reset(seed=index, options={"instance_index": index})
        replies = scripted_replies(env)  # planning is the "model's" time, not measured
        start = time.perf_counter()
        for reply in replies:
            _, terminated, truncated, info = env.step(reply)
            turns += 1
            if terminated or truncated:
                successes += int(info["metrics"]["instance_success"])
                break
        spent += time.perf_counter() - start
    print(f"episodes: {len(instances)}, turns: {turns}, instance success: {successes}")
    print(f"chat path per turn: {1000 * spent / turns:.3f} ms (target < 1 ms)")


if __name__ == "__main__":
    main()
