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

The oracle (:mod:`asynctool_env.agents.oracle`) is the exception: it reads the episode's
realized latencies from the simulator and replays the exact optimal schedule.
"""

from __future__ import annotations

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


class GreedyPolicy:
    """Call a ready step of the first task that has one; answer as soon as possible."""

    name = "greedy"

    def reset(self, seed: int | None = None) -> None:
        return None

    def act(self, observation: Observation) -> int:
        answer = _answer_or_switch(observation)
        if answer is not None:
            return answer
        if observation["calls_left"][0] <= 0:
            return 0
        n_tasks, n_steps = _layout(observation)
        status = observation["step_status"].reshape(n_tasks, n_steps)
        task_open = observation["task_status"] == TaskStatus.OPEN
        ready = (status == StepStatus.READY) & task_open[:, None]
        tasks_with_ready = np.flatnonzero(ready.any(axis=1))
        if len(tasks_with_ready) == 0:
            return 0
        first = int(tasks_with_ready[0])
        if first != int(observation["focused_task"]):
            return 1 + first
        return int(n_tasks + 1 + np.flatnonzero(ready[first])[0])


class CriticalPathPolicy:
    """Call the ready step with the longest remaining path; answer as soon as possible."""

    name = "critical_path"

    def reset(self, seed: int | None = None) -> None:
        return None

    def act(self, observation: Observation) -> int:
        answer = _answer_or_switch(observation)
        if answer is not None:
            return answer
        if observation["calls_left"][0] <= 0:
            return 0
        n_tasks, n_steps = _layout(observation)
        focused = int(observation["focused_task"])
        status = observation["step_status"].reshape(n_tasks, n_steps)
        task_open = observation["task_status"] == TaskStatus.OPEN
        ready = (status == StepStatus.READY) & task_open[:, None]
        # step_tail: the longest path of 1 + expected latency from each step to its task's end.
        path = observation["step_tail"].reshape(n_tasks, n_steps)
        best = longest_tail_first(ready, path)
        if best is None:
            return 0
        best_task, best_step = divmod(best, n_steps)
        in_focus = longest_tail_first(ready[focused], path[focused])
        if in_focus is not None and path[focused, in_focus] >= path[best_task, best_step]:
            best_task, best_step = focused, in_focus  # as long, and no switch needed
        return ActionCodec("focus", n_tasks, n_steps).call(best_task, best_step, focused)
