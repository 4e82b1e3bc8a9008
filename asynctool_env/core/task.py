"""Tasks, steps and instances: what an agent must get done, with the gold answers.

An :class:`Instance` is what one episode plays: two or three :class:`Task` objects run at
once. Each task is a small DAG of :class:`Step` objects, each step a gold tool call. The
gold arguments may reference earlier responses (``${s0.flights.0.flight_id}``, see
:mod:`asynctool_env.core.references`), and the dependency edges of the DAG are exactly those
references plus any explicit ordering (``depends_on``), so "calling a step before its inputs
arrived" is well defined.

Gold arguments and gold responses are computed once, when the task is built (by running the
scenario's backends along the gold trajectory), and stored on the step. The RL interface
therefore never runs a backend while it trains; the chat interface runs backends only for
calls that do not match a gold step.

Everything here is frozen: an instance can be shared by many environments and episodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Step:
    """One gold tool call of a task.

    Attributes:
        tool: Name of the tool to call.
        arguments: Argument template; may contain ``${sN.path}`` references.
        depends_on: Indexes of the steps (of the same task) whose responses must have
            arrived before this step can be called correctly. Always earlier steps.
        expected_arguments: ``arguments`` with every reference resolved: what a correct
            call sends.
        expected_response: What the tool answers to the correct call.
        latency: The tool's declared typical latency in rounds (latency profiles draw around
            it). Tasks built from a scenario or loaded from a file carry it, so the simulator
            needs no registry of tools.
        writes: The tool changes the world (``Tool.writes``); carried like ``latency``. A
            second call of a done write step makes the write twice, which fails the task
            (:class:`~asynctool_env.core.simulator.Simulator`).
    """

    tool: str
    arguments: Mapping[str, Any]
    depends_on: tuple[int, ...]
    expected_arguments: Mapping[str, Any]
    expected_response: Mapping[str, Any]
    latency: int | None = None
    writes: bool = False


@dataclass(frozen=True, slots=True)
class Task:
    """A multi-step job from one scenario.

    Attributes:
        task_id: Unique within a dataset (``scenario/template/...``).
        scenario: Name of the scenario whose tools the task uses.
        instruction: What the user asks, in words.
        steps: The gold trajectory, in a dependency-consistent order.
        answer: Template of the final answer (references allowed), or ``None`` when the task
            only needs its calls made and then to be declared done.
        expected_answer: ``answer`` resolved against the gold responses.
        world_seed: Seed of the scenario world the gold responses come from (the chat
            interface rebuilds that world to answer calls that match no gold step).
    """

    task_id: str
    scenario: str
    instruction: str
    steps: tuple[Step, ...]
    answer: str | None = None
    expected_answer: Any = None
    world_seed: int = 0
    #: Free-form facts about the task (template, evolution operators, pattern...).
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: What the answer must state (:class:`~asynctool_env.core.facts.Fact` objects), or
    #: ``None`` to derive them from ``answer`` (v1 files).
    facts: tuple[Any, ...] | None = None
    #: ``children[s]``: the steps that need step ``s`` (derived, for the simulator).
    children: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"task {self.task_id!r} has no steps")
        children: list[list[int]] = [[] for _ in self.steps]
        for index, step in enumerate(self.steps):
            for parent in step.depends_on:
                if not 0 <= parent < index:
                    raise ValueError(
                        f"task {self.task_id!r} step {index} depends on {step.depends_on}: "
                        "a step may only depend on earlier steps"
                    )
                children[parent].append(index)
        object.__setattr__(self, "children", tuple(tuple(items) for items in children))

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    def remaining_paths(self, latencies: Sequence[float]) -> list[float]:
        """Per step, rounds from calling it to its task's last delivery if nothing waits:
        the longest path of ``1 + latency`` through it and its descendants (what the
        critical-path rule ranks by; the envs' ``step_tail``)."""
        paths = [0.0] * len(self.steps)
        for step in range(len(self.steps) - 1, -1, -1):  # children come after parents
            longest_child = max((paths[child] for child in self.children[step]), default=0.0)
            paths[step] = 1.0 + float(latencies[step]) + longest_child
        return paths


@dataclass(frozen=True, slots=True)
class Instance:
    """The tasks of one episode, all running at once.

    Attributes:
        instance_id: Unique within a dataset.
        tasks: Two or three tasks (any number >= 1 is accepted).
        metadata: Free-form (split, composition kind, source), carried into reports.
    """

    instance_id: str
    tasks: tuple[Task, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ValueError(f"instance {self.instance_id!r} has no tasks")

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def latency_profile(self) -> str:
        """The instance's own latency profile name (``metadata["latency"]``; ``"tool"``
        when it has none, as procedural instances do)."""
        return str(self.metadata.get("latency", "tool"))

    @property
    def n_steps(self) -> int:
        return sum(len(task.steps) for task in self.tasks)
