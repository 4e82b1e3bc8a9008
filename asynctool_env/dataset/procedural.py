"""Procedural instances: a bank of single tasks, composed into multi-task instances.

Procedural generation works like the paper's data pipeline in miniature: single-task gold
trajectories are built once into a :class:`TaskBank` (every template of every scenario and
evolved variants, on a number of seeded worlds, by the dataset's own generators), and each
episode composes 2 or 3 of them into a multi-task :class:`~asynctool_env.core.task.Instance`,
either from different scenarios (*cross-scenario*) or from one scenario sharing one world
(*same-scenario*, where tools and arguments are easy to confuse across tasks). Building the
bank runs every backend once (a few milliseconds); composing an instance is a handful of
draws, so ``reset`` stays cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Literal

import numpy as np

from asynctool_env.core.task import Instance, Task
from asynctool_env.dataset.build import tasks_for_world
from asynctool_env.scenarios import SCENARIOS, get_scenario

Composition = Literal["mixed", "cross", "same"]


class TaskBank:
    """Single tasks, grouped by scenario and world, built once and shared.

    The tasks come from the same generators as the shipped dataset (every template of every
    scenario, plus evolved variants: see :mod:`asynctool_env.dataset.evolution`) on a stream
    of worlds of its own, so procedural episodes never reuse a dataset world.

    Args:
        scenarios: Scenario names (all bundled scenarios by default).
        worlds_per_scenario: Seeded worlds per scenario.
        variants_per_seed: Evolved variants tried per template and world (0: none).
        seed: Seed of the whole bank (worlds, template choices, evolution).
    """

    def __init__(
        self,
        scenarios: Sequence[str] | None = None,
        *,
        worlds_per_scenario: int = 4,
        variants_per_seed: int = 2,
        seed: int = 0,
    ) -> None:

        names = sorted(SCENARIOS) if scenarios is None else list(scenarios)
        if not names:
            raise ValueError("a task bank needs at least one scenario")
        if worlds_per_scenario < 1:
            raise ValueError(f"worlds_per_scenario must be >= 1, got {worlds_per_scenario}")
        if variants_per_seed < 0:
            raise ValueError(f"variants_per_seed must be >= 0, got {variants_per_seed}")
        self.scenarios = tuple(names)
        self.seed = seed
        #: ``tasks[scenario][world_index]``: the tasks built on that world.
        self.tasks: dict[str, list[list[Task]]] = {}
        for name in names:
            scenario = get_scenario(name)
            self.tasks[name] = [
                tasks_for_world(
                    scenario,
                    world_index,
                    seed=seed,
                    stream="procedural",
                    variants_per_seed=variants_per_seed,
                    replay=False,
                )
                for world_index in range(worlds_per_scenario)
            ]

    def __len__(self) -> int:
        return sum(len(world) for worlds in self.tasks.values() for world in worlds)


@functools.lru_cache(maxsize=16)
def shared_task_bank(
    scenarios: tuple[str, ...] | None = None,
    worlds_per_scenario: int = 4,
    variants_per_seed: int = 2,
    seed: int = 0,
) -> TaskBank:
    """A :class:`TaskBank` built once per process for each set of arguments."""
    return TaskBank(
        scenarios,
        worlds_per_scenario=worlds_per_scenario,
        variants_per_seed=variants_per_seed,
        seed=seed,
    )


class InstanceGenerator:
    """Composes multi-task instances from a :class:`TaskBank`.

    Args:
        bank: The single tasks to compose.
        n_tasks: Tasks per instance: a number, or ``(low, high)`` drawn uniformly.
        composition: ``"cross"`` (tasks from different scenarios where possible),
            ``"same"`` (one scenario and world), or ``"mixed"`` (each task's scenario drawn
            independently, so both kinds occur).
    """

    def __init__(
        self,
        bank: TaskBank,
        n_tasks: int | tuple[int, int] = (2, 3),
        composition: Composition = "mixed",
        steps_per_task: tuple[int, int] | None = None,
    ) -> None:
        if isinstance(n_tasks, (int, np.integer)) and not isinstance(n_tasks, bool):
            low, high = n_tasks, n_tasks
        elif (
            isinstance(n_tasks, Sequence)
            and not isinstance(n_tasks, str)
            and len(n_tasks) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in n_tasks)
        ):
            low, high = n_tasks
        else:
            raise ValueError(
                f"n_tasks must be a whole number or a (low, high) pair, got {n_tasks!r}"
            )
        if not 1 <= low <= high:
            raise ValueError(f"n_tasks must be >= 1 (or a range low <= high), got {n_tasks!r}")
        if composition not in ("mixed", "cross", "same"):
            raise ValueError(f"composition must be 'mixed', 'cross' or 'same', got {composition!r}")
        if steps_per_task is not None:
            fewest, most = steps_per_task
            if not 1 <= fewest <= most:
                raise ValueError(
                    f"steps_per_task must be a (low, high) pair with 1 <= low <= high, "
                    f"got {steps_per_task!r}"
                )
            tasks = {
                name: [
                    [task for task in world if fewest <= task.n_steps <= most] for world in worlds
                ]
                for name, worlds in bank.tasks.items()
            }
        else:
            tasks = bank.tasks
        # Worlds left empty by the filter are dropped; so are scenarios left with none.
        self._tasks = {
            name: [world for world in worlds if world]
            for name, worlds in tasks.items()
            if any(worlds)
        }
        if not self._tasks:
            raise ValueError(f"no task in the bank has {steps_per_task} steps")
        smallest_world = min(len(world) for worlds in self._tasks.values() for world in worlds)
        if composition == "same" and high > smallest_world:
            raise ValueError(
                f"same-scenario instances of {high} tasks need {high} tasks per world; "
                f"the bank has {smallest_world}"
            )
        self.bank = bank
        self.n_tasks = (int(low), int(high))
        self.composition = composition
        self._names = tuple(name for name in bank.scenarios if name in self._tasks)
        #: Gold steps of the longest task this generator can draw.
        self.max_task_steps = max(
            task.n_steps for worlds in self._tasks.values() for world in worlds for task in world
        )

    def sample(self, rng: np.random.Generator) -> Instance:
        """Draw one instance (all randomness from ``rng``)."""
        low, high = self.n_tasks
        # One vector of uniforms, consumed in order: a single call into the generator is
        # much cheaper than one call per choice, and reset() runs this every episode.
        uniforms = iter(rng.random(2 + 4 * high).tolist())

        def pick(n: int) -> int:
            return int(next(uniforms) * n)

        count = low + pick(high - low + 1)
        names = self._names
        if self.composition == "same":
            chosen = [names[pick(len(names))]] * count
        elif self.composition == "cross":
            # Every scenario once, in random order, before any scenario repeats.
            pool = list(names)
            chosen = [pool.pop(pick(len(pool))) for _ in range(min(count, len(names)))]
            chosen += [names[pick(len(names))] for _ in range(count - len(chosen))]
        else:
            chosen = [names[pick(len(names))] for _ in range(count)]
        tasks: list[Task] = []
        by_scenario: dict[str, list[Task]] = {}
        for name in chosen:
            candidates = by_scenario.get(name)
            if not candidates:  # first task of this scenario (or its world ran out of tasks)
                worlds = self._tasks[name]
                candidates = by_scenario[name] = list(worlds[pick(len(worlds))])
            tasks.append(candidates.pop(pick(len(candidates))))
        kind = "same" if len(set(chosen)) == 1 and count > 1 else "cross"
        instance_id = "+".join(task.task_id for task in tasks)
        return Instance(instance_id, tuple(tasks), {"composition": kind})
