"""One action codec and the reference rules, for every action layout.

The numeric envs lay their actions out three ways: ``focus`` (``AsyncTool-v0``'s default:
wait, switch focus to task k, call step s of the focused task, answer the focused task),
``direct`` (wait, call step s of task k, answer task k) and the multi-agent layout (direct,
plus claim task k). An :class:`ActionCodec` turns a layout-free *decision* (wait, call
``(task, step)``, answer ``task``, claim ``task``) into that layout's action id, switching
focus first where the layout needs it. The rules decide once, whatever the layout:

* :func:`longest_tail_first`: the critical-path rule, the ready step with the longest
  ``step_tail`` (lowest task, then step, on ties; ``penalty`` subtracts, say, a tool's queue
  wait), used by the ``critical_path`` agent, the imitation teacher and the multi-agent
  heuristic;
* :func:`next_planned_call`: the next call of an exact schedule in this round, used by the
  oracle agent and the oracle teacher.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

Observation = Mapping[str, np.ndarray]

LAYOUTS = ("focus", "direct", "multi_agent")


@dataclass(frozen=True)
class ActionCodec:
    """Action ids of decisions in one layout (``n_tasks`` x ``n_steps`` padding)."""

    layout: str
    n_tasks: int
    n_steps: int

    #: The wait action, the same in every layout.
    wait: ClassVar[int] = 0

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown action layout {self.layout!r}; use one of {LAYOUTS}")

    def call(self, task: int, step: int, focused: int | None = None) -> int:
        """Call ``step`` of ``task`` (in the focus layout: switch to the task first)."""
        if self.layout == "focus":
            if focused is not None and focused != task:
                return self.switch(task)
            return self.n_tasks + 1 + step
        return 1 + task * self.n_steps + step

    def answer(self, task: int, focused: int | None = None) -> int:
        """Answer ``task`` (in the focus layout: switch to it first)."""
        if self.layout == "focus":
            if focused is not None and focused != task:
                return self.switch(task)
            return self.n_tasks + self.n_steps + 1
        return 1 + self.n_tasks * self.n_steps + task

    def switch(self, task: int) -> int:
        if self.layout != "focus":
            raise ValueError(f"the {self.layout} layout has no focus to switch")
        return 1 + task

    def claim(self, task: int) -> int:
        if self.layout != "multi_agent":
            raise ValueError(f"the {self.layout} layout has no claims")
        return 1 + self.n_tasks * self.n_steps + self.n_tasks + task

    @property
    def call_slice(self) -> slice:
        """Where the direct and multi-agent layouts keep their call actions."""
        return slice(1, 1 + self.n_tasks * self.n_steps)


def layout_of(observation: Observation) -> tuple[int, int]:
    """``(n_tasks, n_steps)`` padding of an observation."""
    n_tasks = observation["task_status"].shape[0]
    return n_tasks, observation["step_status"].shape[0] // n_tasks


def longest_tail_first(
    allowed: np.ndarray, tails: np.ndarray, penalty: np.ndarray | None = None
) -> int | None:
    """The critical-path rule: of the allowed steps (flat, task-major), the one with the
    longest tail (minus ``penalty``), lowest index on ties; ``None`` when none is allowed."""
    allowed = np.asarray(allowed, dtype=bool).reshape(-1)
    if not allowed.any():
        return None
    scores = np.asarray(tails, dtype=np.float64).reshape(-1).copy()
    if penalty is not None:
        scores -= np.asarray(penalty, dtype=np.float64).reshape(-1)
    scores[~allowed] = -np.inf
    return int(np.argmax(scores))


def next_planned_call(
    plan: Sequence[Sequence[tuple[int, int]]], round_index: int, called: set[tuple[int, int]]
) -> tuple[int, int] | None:
    """The first call the schedule ``plan`` makes in ``round_index`` not made yet."""
    planned = plan[round_index] if round_index < len(plan) else ()
    return next((call for call in planned if call not in called), None)
