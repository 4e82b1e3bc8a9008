"""Time of the exact solver (:mod:`asynctool_env.solver`) over many random instances.

Random instances shaped like the dataset's: 2-3 tasks of 2-8 steps each, every task a chain
or a random DAG (each step depends on each earlier step with some probability, and on at
least one of them when it is not a root). Two latency families: ``tool``, latencies drawn
from ``{0, 1, 2, 3}``, and ``stochastic``, geometric draws of mean 2 clipped to 8 (as the
``stochastic`` profile draws them). Each instance is solved with ``max_calls_per_turn`` 1
and ``None``. By default ``2 families x 180 instances x 2 caps = 720`` solves.

It prints, per group and in total: seconds, mean and max milliseconds per instance, the most
nodes any instance expanded, how many fell back to a non-exact schedule (``node_limit``),
and the mean ratio of the critical-path heuristic's rounds to the optimum (and of the
sequential schedule's).

When the dataset file ``asynctool_env/data/asynctool-v3.jsonl.gz`` exists it also times
:func:`~asynctool_env.solver.optimal_schedule_for_instance` over its instances, latencies
drawn by a :class:`~asynctool_env.core.simulator.Simulator` seeded with the instance's index.

Run: ``python benchmarks/solver_speed.py [--per-group 180] [--seed 0] [--node-limit 200000]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from asynctool_env.dataset import DATASET_PATH
from asynctool_env.solver import (
    critical_path_schedule,
    optimal_schedule,
    optimal_schedule_for_instance,
    sequential_rounds,
)

DATASET = DATASET_PATH

Dependencies = list[list[tuple[int, ...]]]


def random_task(rng: np.random.Generator) -> list[tuple[int, ...]]:
    """A chain (half the time) or a random DAG of 2-8 steps."""
    n_steps = int(rng.integers(2, 9))
    if rng.random() < 0.5:
        return [(step - 1,) if step else () for step in range(n_steps)]
    steps: list[tuple[int, ...]] = [()]
    for step in range(1, n_steps):
        if rng.random() < 0.2:  # another root
            steps.append(())
            continue
        parents = {p for p in range(step) if rng.random() < 0.3}
        parents.add(int(rng.integers(0, step)))
        steps.append(tuple(sorted(parents)))
    return steps


def random_instance(rng: np.random.Generator, family: str) -> tuple[Dependencies, list[list[int]]]:
    tasks = [random_task(rng) for _ in range(int(rng.integers(2, 4)))]
    if family == "tool":
        latencies = [[int(rng.integers(0, 4)) for _ in task] for task in tasks]
    else:  # geometric failures with mean 2, clipped to 8 (the "stochastic" profile's shape)
        latencies = [[min(int(rng.geometric(1 / 3)) - 1, 8) for _ in task] for task in tasks]
    return tasks, latencies


class Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.times: list[float] = []
        self.nodes: list[int] = []
        self.inexact = 0
        self.heuristic_ratio: list[float] = []
        self.sequential_ratio: list[float] = []

    def add(
        self, seconds: float, nodes: int, exact: bool, optimum: int, heuristic: int, sequential: int
    ) -> None:
        self.times.append(seconds)
        self.nodes.append(nodes)
        self.inexact += not exact
        self.heuristic_ratio.append(heuristic / optimum)
        self.sequential_ratio.append(sequential / optimum)

    def line(self) -> str:
        times = np.array(self.times) * 1000
        return (
            f"{self.name:<24} {len(times):>5} {times.sum() / 1000:>8.2f} {times.mean():>8.2f} "
            f"{times.max():>9.1f} {max(self.nodes):>9} {np.mean(self.nodes):>8.1f} "
            f"{self.inexact:>7} {np.mean(self.heuristic_ratio):>9.4f} "
            f"{max(self.heuristic_ratio):>8.3f} {np.mean(self.sequential_ratio):>8.3f}"
        )


HEADER = (
    f"{'group':<24} {'n':>5} {'total s':>8} {'mean ms':>8} {'max ms':>9} {'max nodes':>9} "
    f"{'mean nds':>8} {'inexact':>7} {'cp/opt':>9} {'max c/o':>8} {'seq/opt':>8}"
)


def solve(
    tally: Tally,
    dependencies: Dependencies,
    latencies: list[list[int]],
    cap: int | None,
    node_limit: int,
) -> None:
    start = time.perf_counter()
    schedule = optimal_schedule(dependencies, latencies, cap, node_limit=node_limit)
    seconds = time.perf_counter() - start
    heuristic = critical_path_schedule(dependencies, latencies, cap).rounds
    tally.add(
        seconds,
        schedule.nodes,
        schedule.exact,
        schedule.rounds,
        heuristic,
        sequential_rounds(latencies),
    )


def random_benchmark(per_group: int, seed: int, node_limit: int) -> None:
    print(HEADER)
    total = Tally("all random")
    for family in ("tool", "stochastic"):
        for cap in (1, None):
            tally = Tally(f"{family}, cap {cap}")
            rng = np.random.default_rng([seed, 0 if family == "tool" else 1])
            for _ in range(per_group):
                dependencies, latencies = random_instance(rng, family)
                solve(tally, dependencies, latencies, cap, node_limit)
            print(tally.line())
            for name in ("times", "nodes", "heuristic_ratio", "sequential_ratio"):
                getattr(total, name).extend(getattr(tally, name))
            total.inexact += tally.inexact
    print(total.line())


def dataset_benchmark(node_limit: int) -> None:
    from asynctool_env.core.simulator import Simulator
    from asynctool_env.instances import load_instances

    instances = load_instances(DATASET)
    print(f"\ndataset {DATASET.name}: {len(instances)} instances")
    print(HEADER)
    for cap in (1, None):
        tally = Tally(f"dataset, cap {cap}")
        for index, instance in enumerate(instances):
            simulator = Simulator(
                instance,
                np.random.default_rng(index),
                latency=instance.latency_profile,
                max_calls_per_turn=cap,
            )
            start = time.perf_counter()
            schedule = optimal_schedule_for_instance(
                instance, simulator.step_latency, cap, node_limit=node_limit
            )
            seconds = time.perf_counter() - start
            dependencies = [[step.depends_on for step in task.steps] for task in instance.tasks]
            heuristic = critical_path_schedule(dependencies, simulator.step_latency, cap).rounds
            tally.add(
                seconds,
                schedule.nodes,
                schedule.exact,
                schedule.rounds,
                heuristic,
                simulator.sequential_rounds,
            )
        print(tally.line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-group", type=int, default=180, help="instances per group (x4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--node-limit", type=int, default=200_000)
    args = parser.parse_args()
    start = time.perf_counter()
    random_benchmark(args.per_group, args.seed, args.node_limit)
    if DATASET.exists():
        dataset_benchmark(args.node_limit)
    else:
        print(f"\n({DATASET.name} not found: dataset timing skipped)")
    print(f"\nwall time of the whole script: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
