"""Where instances come from: a seeded procedural generator, or a JSONL file.

Procedural generation works like the paper's data pipeline in miniature: single-task gold
trajectories are built once into a :class:`TaskBank` (every template of every scenario and
evolved variants, on a number of seeded worlds), and each episode composes 2 or 3 of them
into a multi-task
:class:`~asynctool_env.core.task.Instance`, either from different scenarios
(*cross-scenario*) or from one scenario sharing one world (*same-scenario*, where tools and
arguments are easy to confuse across tasks). Building the bank runs every backend once (a
few milliseconds); composing an instance is a handful of draws, so ``reset`` stays cheap.

Files hold one instance per line, in the schema of :class:`InstanceRecord` (pydantic, so a
bad line gives an error naming the file, the line and the field).
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydantic

from asynctool_env.core.facts import Fact
from asynctool_env.core.task import Instance, Step, Task
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
        from asynctool_env.dataset.build import tasks_for_world  # the dataset's generators

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


# ---------------------------------------------------------------------------------------
# Files


class StepRecord(pydantic.BaseModel):
    """One gold call in a dataset file."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    tool: str
    arguments: dict[str, Any]
    depends_on: list[int] = []
    expected_arguments: dict[str, Any]
    expected_response: dict[str, Any]


class FactRecord(pydantic.BaseModel):
    """One fact a task's answer must state (:class:`~asynctool_env.core.facts.Fact`)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    kind: Literal["id", "number", "text", "choice", "boolean", "list"]
    value: Any
    label: str = ""
    source: str | None = None
    abs_tol: float = pydantic.Field(0.0, ge=0.0)
    alternatives: list[Any] = []


class TaskRecord(pydantic.BaseModel):
    """One task in a dataset file."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    task_id: str
    scenario: str
    instruction: str
    steps: list[StepRecord] = pydantic.Field(min_length=1)
    answer: str | None = None
    expected_answer: Any = None
    world_seed: int = pydantic.Field(0, ge=0, description="Seeds the scenario's world.")
    metadata: dict[str, Any] = {}
    #: What the answer must state (schema 2); derived from ``answer`` when absent.
    facts: list[FactRecord] | None = None

    @pydantic.model_validator(mode="after")
    def _known_scenario_and_tools(self) -> TaskRecord:
        """A task plays only on a scenario the package has, with that scenario's tools: say
        so at load time, not at the first reset or call."""
        if self.scenario not in SCENARIOS:
            raise ValueError(
                f"unknown scenario {self.scenario!r}; the scenarios are "
                f"{', '.join(sorted(SCENARIOS))} (a new one is a module in "
                "asynctool_env/scenarios/)"
            )
        names = {tool.name for tool in SCENARIOS[self.scenario].tools}
        for index, step in enumerate(self.steps):
            if step.tool not in names:
                raise ValueError(
                    f"steps.{index}.tool: {step.tool!r} is not a tool of scenario "
                    f"{self.scenario!r} (its tools: {', '.join(sorted(names))})"
                )
        return self


#: Version of the file schema; bump it when a field changes meaning. Version 2 adds each
#: task's ``facts``; version 1 files still load (their facts are derived).
SCHEMA_VERSION = 2


class InstanceRecord(pydantic.BaseModel):
    """One line of a dataset file: an instance and its tasks."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1, 2] = SCHEMA_VERSION
    instance_id: str
    tasks: list[TaskRecord] = pydantic.Field(min_length=1)
    metadata: dict[str, Any] = {}

    def to_instance(self) -> Instance:
        return Instance(
            self.instance_id,
            tuple(
                Task(
                    task_id=task.task_id,
                    scenario=task.scenario,
                    instruction=task.instruction,
                    steps=tuple(
                        Step(
                            tool=step.tool,
                            arguments=step.arguments,
                            depends_on=tuple(step.depends_on),
                            expected_arguments=step.expected_arguments,
                            expected_response=step.expected_response,
                            latency=SCENARIOS[task.scenario].tool(step.tool).latency,
                        )
                        for step in task.steps
                    ),
                    answer=task.answer,
                    expected_answer=task.expected_answer,
                    world_seed=task.world_seed,
                    metadata=dict(task.metadata),
                    facts=None
                    if task.facts is None
                    else tuple(Fact.from_dict(fact.model_dump()) for fact in task.facts),
                )
                for task in self.tasks
            ),
            dict(self.metadata),
        )

    @classmethod
    def from_instance(cls, instance: Instance) -> InstanceRecord:
        return cls.model_validate(
            {
                "instance_id": instance.instance_id,
                "metadata": dict(instance.metadata),
                "tasks": [
                    {
                        "task_id": task.task_id,
                        "scenario": task.scenario,
                        "instruction": task.instruction,
                        "answer": task.answer,
                        "expected_answer": task.expected_answer,
                        "world_seed": task.world_seed,
                        "metadata": dict(task.metadata),
                        "facts": None
                        if task.facts is None
                        else [fact.as_dict() for fact in task.facts],
                        "steps": [
                            {
                                "tool": step.tool,
                                "arguments": dict(step.arguments),
                                "depends_on": list(step.depends_on),
                                "expected_arguments": dict(step.expected_arguments),
                                "expected_response": dict(step.expected_response),
                            }
                            for step in task.steps
                        ],
                    }
                    for task in instance.tasks
                ],
            }
        )


class InstanceFileError(ValueError):
    """A dataset file has a line that is not a valid instance."""


def _open_text(path: Path, mode: str) -> Any:
    if path.suffix == ".gz":
        if mode == "w":
            # mtime=0 and no file name in the header: the same content gives the same bytes.
            raw = gzip.GzipFile(filename="", mode="wb", fileobj=path.open("wb"), mtime=0)
            return _ClosingTextWrapper(raw)
        return gzip.open(path, mode + "t", encoding="utf-8")
    return path.open(mode, encoding="utf-8", newline="\n")


class _ClosingTextWrapper(io.TextIOWrapper):
    """A text wrapper over a GzipFile that also closes the file the GzipFile writes to."""

    def __init__(self, raw: gzip.GzipFile) -> None:
        super().__init__(raw, encoding="utf-8", newline="\n")
        self._target = raw.fileobj

    def close(self) -> None:
        super().close()
        if self._target is not None:
            self._target.close()


def load_instances(path: str | Path) -> list[Instance]:
    """Read instances from a ``.jsonl`` (or ``.jsonl.gz``) file.

    Raises:
        FileNotFoundError: No such file.
        InstanceFileError: A line is not JSON or does not fit the schema; the message names
            the file, the line and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no instance file at {path}")
    try:
        instances = _read_instances(path)
    except (gzip.BadGzipFile, EOFError, zlib.error, UnicodeDecodeError) as error:
        raise InstanceFileError(f"{path}: cannot read the file: {error}") from None
    if not instances:
        raise InstanceFileError(f"{path}: no instances in the file")
    return instances


def _read_instances(path: Path) -> list[Instance]:
    instances: list[Instance] = []
    with _open_text(path, "r") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = InstanceRecord.model_validate_json(line)
                instances.append(record.to_instance())
            except pydantic.ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                raise InstanceFileError(
                    f"{path}:{number}: {where or '(line)'}: {first['msg']}"
                    + (f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else "")
                ) from None
            except ValueError as error:
                raise InstanceFileError(f"{path}:{number}: {error}") from None
    return instances


def save_instances(instances: Iterable[Instance], path: str | Path) -> int:
    """Write instances to a ``.jsonl`` (or ``.jsonl.gz``) file; returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with _open_text(path, "w") as out:
        for instance in instances:
            record = InstanceRecord.from_instance(instance)
            out.write(json.dumps(record.model_dump(mode="json"), sort_keys=True) + "\n")
            count += 1
    return count
