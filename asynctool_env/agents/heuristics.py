"""Reference policies for the numeric env.

These read only the observation (no peeking at the simulator), so they show what the
observation makes possible and they run unchanged inside vector envs:

* :class:`RandomMaskedPolicy`: uniform over the masked actions; the floor.
* :class:`SequentialPolicy`: one task at a time, one call in flight at a time, each response
  awaited (a synchronous agent). It reproduces the ``sequential_rounds`` schedule exactly.
* :class:`GreedyPolicy`: whenever a call may be made, call a ready step of the first task
  that has one (first task first); answer a task as soon as its steps are done; wait only
  when nothing is ready. Interleaves, but without looking ahead.
* :class:`CriticalPathPolicy`: like greedy, but the ready step with the longest remaining
  latency-weighted path to the end of its task goes first. Without contention and with
  known latencies this is within about 1% of the optimum.
* :class:`DispatchRulePolicy`: the priority (dispatching) rules of job-shop scheduling, each
  a score of the ready steps, the critical path breaking ties: ``most_work_remaining`` (the
  task with the most expected work not called yet), ``most_ops_remaining`` (the task with the
  most steps not called yet), ``shortest_latency_first`` (the step that answers soonest) and
  ``queue_aware_critical_path`` (the longest tail after the wait its tool's queue adds, from
  ``step_queue``: the critical path that sees the backlogs of tools with a capacity).

The oracle (:mod:`asynctool_env.agents.oracle`) is the exception: it reads the episode's
realized latencies from the simulator and replays the exact optimal schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from asynctool_env.agents.rules import ActionCodec, layout_of, longest_tail_first
from asynctool_env.core.simulator import StepStatus, TaskStatus

Observation = dict[str, np.ndarray]


class Policy(Protocol):
    """What the rollout helpers and the CLI drive."""

    name: str

    def reset(self, seed: int | None = None) -> None:
        """Forget the previous episode (and reseed, where the policy is random)."""

    def act(self, observation: Observation) -> int:
        """The action for this observation."""
        ...


_layout = layout_of


class RandomMaskedPolicy:
    """Uniform over the actions that ``action_mask`` allows."""

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self._rng = np.random.default_rng(seed)

    def act(self, observation: Observation) -> int:
        allowed = np.flatnonzero(observation["action_mask"])
        return int(allowed[self._rng.integers(len(allowed))])


class SequentialPolicy:
    """Finish the tasks in order, waiting for every response before the next call."""

    name = "sequential"

    def reset(self, seed: int | None = None) -> None:
        return None

    def act(self, observation: Observation) -> int:
        n_tasks, n_steps = _layout(observation)
        mask = observation["action_mask"]
        answer = n_tasks + n_steps + 1
        focused = int(observation["focused_task"])
        if observation["task_status"][focused] != TaskStatus.OPEN:
            open_tasks = np.flatnonzero(observation["task_status"] == TaskStatus.OPEN)
            return int(1 + open_tasks[0]) if len(open_tasks) else 0
        if mask[answer]:
            return answer
        if (observation["pending"] >= 0).any():
            return 0  # one call in flight at a time
        ready = np.flatnonzero(mask[n_tasks + 1 : n_tasks + 1 + n_steps])
        return int(n_tasks + 1 + ready[0]) if len(ready) else 0


def _answer_or_switch(observation: Observation) -> int | None:
    """Answer the focused task if it is finished, or switch to a finished task."""
    n_tasks, n_steps = _layout(observation)
    status = observation["step_status"].reshape(n_tasks, n_steps)
    task_open = observation["task_status"] == TaskStatus.OPEN
    present = status != StepStatus.PADDING
    finished = task_open & ((status == StepStatus.DONE) | ~present).all(axis=1)
    if not finished.any():
        return None
    focused = int(observation["focused_task"])
    if finished[focused]:
        return n_tasks + n_steps + 1
    return int(1 + np.flatnonzero(finished)[0])


def _act(observation: Observation, choose: Callable[[Observation], tuple[int, int] | None]) -> int:
    """What the list-scheduling agents share: answer a finished task as soon as possible;
    else, while the turn allows a call, call the ``(task, step)`` that ``choose`` picks
    (switching focus to its task first); else wait."""
    answer = _answer_or_switch(observation)
    if answer is not None:
        return answer
    if observation["calls_left"][0] <= 0:
        return 0
    chosen = choose(observation)
    if chosen is None:
        return 0
    n_tasks, n_steps = _layout(observation)
    focused = int(observation["focused_task"])
    return ActionCodec("focus", n_tasks, n_steps).call(*chosen, focused)


def _ready_steps(observation: Observation) -> np.ndarray:
    """``(n_tasks, n_steps)``: the ready steps of open tasks."""
    n_tasks, n_steps = _layout(observation)
    status = observation["step_status"].reshape(n_tasks, n_steps)
    task_open = observation["task_status"] == TaskStatus.OPEN
    return (status == StepStatus.READY) & task_open[:, None]


class GreedyPolicy:
    """Call a ready step of the first task that has one; answer as soon as possible."""

    name = "greedy"

    def reset(self, seed: int | None = None) -> None:
        return None

    @staticmethod
    def choose(observation: Observation) -> tuple[int, int] | None:
        ready = _ready_steps(observation)
        tasks_with_ready = np.flatnonzero(ready.any(axis=1))
        if len(tasks_with_ready) == 0:
            return None
        first = int(tasks_with_ready[0])
        return first, int(np.flatnonzero(ready[first])[0])

    def act(self, observation: Observation) -> int:
        return _act(observation, self.choose)


class CriticalPathPolicy:
    """Call the ready step with the longest remaining path; answer as soon as possible."""

    name = "critical_path"

    def reset(self, seed: int | None = None) -> None:
        return None

    @staticmethod
    def choose(observation: Observation) -> tuple[int, int] | None:
        n_tasks, n_steps = _layout(observation)
        focused = int(observation["focused_task"])
        ready = _ready_steps(observation)
        # step_tail: the longest path of 1 + expected latency from each step to its task's end.
        path = observation["step_tail"].reshape(n_tasks, n_steps)
        best = longest_tail_first(ready, path)
        if best is None:
            return None
        best_task, best_step = divmod(best, n_steps)
        in_focus = longest_tail_first(ready[focused], path[focused])
        if in_focus is not None and path[focused, in_focus] >= path[best_task, best_step]:
            return focused, in_focus  # as long, and no switch needed
        return best_task, best_step

    def act(self, observation: Observation) -> int:
        return _act(observation, self.choose)


def _uncalled(status: np.ndarray, task_open: np.ndarray) -> np.ndarray:
    """The steps of open tasks not called yet (blocked, ready, or failed by an early call)."""
    codes = (StepStatus.BLOCKED, StepStatus.READY, StepStatus.FAILED)
    return np.isin(status, codes) & task_open[:, None]


def _most_work_remaining(view: dict[str, np.ndarray]) -> np.ndarray:
    work = np.where(view["uncalled"], 1.0 + view["latency"], 0.0).sum(axis=1)
    return np.broadcast_to(work[:, None], view["latency"].shape)


def _most_ops_remaining(view: dict[str, np.ndarray]) -> np.ndarray:
    count = view["uncalled"].sum(axis=1).astype(np.float64)
    return np.broadcast_to(count[:, None], view["latency"].shape)


def _shortest_latency_first(view: dict[str, np.ndarray]) -> np.ndarray:
    return -view["latency"]


def _queue_aware_critical_path(view: dict[str, np.ndarray]) -> np.ndarray:
    return view["tail"] - view["queue"]


#: Rule name -> score of every step (higher first), from the observation's arrays.
DISPATCH_RULES = {
    "most_work_remaining": _most_work_remaining,
    "most_ops_remaining": _most_ops_remaining,
    "shortest_latency_first": _shortest_latency_first,
    "queue_aware_critical_path": _queue_aware_critical_path,
}


class DispatchRulePolicy:
    """A priority rule: answer as soon as possible; else call the ready step with the highest
    score of ``rule`` (:data:`DISPATCH_RULES`), ties going to the longer ``step_tail``, then
    to the focused task (no switch), then to the lower task and step; wait when nothing is
    ready.

    Args:
        rule: A name in :data:`DISPATCH_RULES`.
    """

    def __init__(self, rule: str) -> None:
        if rule not in DISPATCH_RULES:
            raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(DISPATCH_RULES)}")
        self.name = rule
        self._score = DISPATCH_RULES[rule]

    def reset(self, seed: int | None = None) -> None:
        return None

    def choose(self, observation: Observation) -> tuple[int, int] | None:
        """The ``(task, step)`` this rule calls next, ``None`` when no step is ready."""
        n_tasks, n_steps = _layout(observation)
        ready = _ready_steps(observation)
        if not ready.any():
            return None
        status = observation["step_status"].reshape(n_tasks, n_steps)
        task_open = observation["task_status"] == TaskStatus.OPEN
        view = {
            "latency": observation["step_latency"].reshape(n_tasks, n_steps).astype(np.float64),
            "tail": observation["step_tail"].reshape(n_tasks, n_steps).astype(np.float64),
            "queue": observation["step_queue"].reshape(n_tasks, n_steps).astype(np.float64),
            "uncalled": _uncalled(status, task_open),
        }
        score = self._score(view)
        focused = int(observation["focused_task"])
        candidates = [
            (score[k, s], view["tail"][k, s], k == focused, -k, -s)
            for k, s in zip(*np.nonzero(ready), strict=True)
        ]
        _, _, _, task, step = max(candidates)
        return -int(task), -int(step)

    def act(self, observation: Observation) -> int:
        return _act(observation, self.choose)
