"""How far list schedules fall from the optimum when tasks share capacity-1 tools.

Random instances: 2-3 tasks, each a chain of 2-6 steps, every step's latency a known integer
drawn uniformly from ``{0, 1, 2, 3}``, one call per round (``max_calls_per_turn = 1``). Each
step draws its tool uniformly from ``--tools`` shared tool names (``T0``, ``T1``, ...), all of
capacity 1 (the simulator's ``tool_capacity``): calls of one tool wait in its FIFO queue.
The same instances are also scored without contention (``tool_capacity=None``). The draws
are the natural ones (uniform, independent): nothing is tuned to make contention matter.

For each setting it prints the mean and worst efficiency (optimal rounds / rounds, 1.0 at
best) of two list schedules, both replayed with the queues by
:func:`~asynctool_env.solver.schedule_rounds`:

* ``critical path``: :func:`~asynctool_env.solver.critical_path_schedule`, never idle,
  longest latency-weighted remaining path first, blind to the queues;
* ``greedy``: each round, the first ready step of the lowest-index task that has one (a
  list schedule written here).

and the exact solver's mean and max time per instance, the most nodes it expanded, and the
fraction of instances solved exactly (the rest hit ``--node-limit``; their "optimum" is then
the best schedule found, so the efficiencies are upper bounds there).

Run: ``python benchmarks/contention_gap.py [--instances 300] [--seed 0] [--node-limit 200000]``
"""

from __future__ import annotations

import argparse
import heapq
import time

import numpy as np

from asynctool_env.solver import critical_path_schedule, optimal_schedule, schedule_rounds

Dependencies = list[list[tuple[int, ...]]]


def random_instance(
    rng: np.random.Generator, n_tools: int
) -> tuple[Dependencies, list[list[int]], list[list[str]]]:
    """2-3 chains of 2-6 steps, latencies in 0-3, each step's tool one of ``n_tools``."""
    dependencies: Dependencies = []
    latencies: list[list[int]] = []
    tools: list[list[str]] = []
    for _ in range(int(rng.integers(2, 4))):
        n_steps = int(rng.integers(2, 7))
        dependencies.append([(step - 1,) if step else () for step in range(n_steps)])
        latencies.append([int(rng.integers(0, 4)) for _ in range(n_steps)])
        tools.append([f"T{int(rng.integers(0, n_tools))}" for _ in range(n_steps)])
    return dependencies, latencies, tools


def greedy_calls(
    dependencies: Dependencies,
    latencies: list[list[int]],
    tools: list[list[str]],
    tool_capacity: int | None,
) -> list[tuple[tuple[int, int], ...]]:
    """Each round, call the first ready step of the lowest-index task that has one (one call
    per round, never idle; responses arrive with the queues replayed)."""
    delivered_at: dict[tuple[int, int], int] = {}
    slots: dict[str, list[int]] = {}
    calls: list[tuple[tuple[int, int], ...]] = []
    uncalled = {
        (task, step) for task, steps in enumerate(dependencies) for step in range(len(steps))
    }
    now = 0
    while uncalled:
        ready = sorted(
            (task, step)
            for task, step in uncalled
            if all(delivered_at.get((task, p), 1 << 30) <= now for p in dependencies[task][step])
        )
        if ready:
            task, step = ready[0]
            start = now
            if tool_capacity is not None:
                heap = slots.setdefault(tools[task][step], [0] * tool_capacity)
                start = max(now, heap[0])
                heapq.heapreplace(heap, start + 1 + latencies[task][step])
            delivered_at[task, step] = start + 1 + latencies[task][step]
            uncalled.remove((task, step))
            calls.append(((task, step),))
        else:
            calls.append(())
        now += 1
    return calls


class Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.critical: list[float] = []
        self.greedy: list[float] = []
        self.seconds: list[float] = []
        self.nodes: list[int] = []
        self.exact = 0

    def line(self) -> str:
        cp, gr, ms = np.array(self.critical), np.array(self.greedy), np.array(self.seconds) * 1e3
        return (
            f"{self.name:<28} {len(cp):>5} {cp.mean():>8.4f} {cp.min():>8.3f} "
            f"{gr.mean():>8.4f} {gr.min():>8.3f} {ms.mean():>8.2f} {ms.max():>9.1f} "
            f"{max(self.nodes):>9} {self.exact / len(cp):>7.3f}"
        )


HEADER = (
    f"{'setting':<28} {'n':>5} {'cp mean':>8} {'cp min':>8} {'gr mean':>8} {'gr min':>8} "
    f"{'mean ms':>8} {'max ms':>9} {'max nodes':>9} {'exact':>7}"
)


def run(n_instances: int, seed: int, node_limit: int) -> None:
    print(HEADER)
    for n_tools in (2, 3):
        rng = np.random.default_rng([seed, n_tools])
        instances = [random_instance(rng, n_tools) for _ in range(n_instances)]
        for capacity in (None, 1):
            label = "no contention" if capacity is None else "capacity 1"
            tally = Tally(f"{n_tools} tools, {label}")
            for dependencies, latencies, tools in instances:
                start = time.perf_counter()
                best = optimal_schedule(
                    dependencies,
                    latencies,
                    1,
                    tools=tools,
                    tool_capacity=capacity,
                    node_limit=node_limit,
                )
                tally.seconds.append(time.perf_counter() - start)
                tally.nodes.append(best.nodes)
                tally.exact += best.exact
                critical = critical_path_schedule(
                    dependencies, latencies, 1, tools=tools, tool_capacity=capacity
                )
                greedy = schedule_rounds(
                    greedy_calls(dependencies, latencies, tools, capacity),
                    latencies,
                    tools=tools,
                    tool_capacity=capacity,
                )
                tally.critical.append(best.rounds / critical.rounds)
                tally.greedy.append(best.rounds / greedy)
            print(tally.line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=300, help="instances per tool count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--node-limit", type=int, default=200_000)
    args = parser.parse_args()
    start = time.perf_counter()
    run(args.instances, args.seed, args.node_limit)
    print(f"\nwall time of the whole script: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
