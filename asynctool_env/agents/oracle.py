"""The oracle: replays the exact optimal schedule of the episode.

Unlike the other reference policies it is not an observation-only policy: after each
``reset`` it reads the episode's realized latencies from the env's simulator, asks
:func:`asynctool_env.solver.optimal_schedule_for_simulator` for the fewest-rounds schedule
(under the env's call cap and tool capacities) and then plays it, each round's calls in the
schedule's order (switching focus as needed, waiting where the schedule waits, and
answering each task as soon as it is done).
Its efficiency is 1.0 by construction; the benchmark uses it as the ceiling and the tests use
it to check the solver against the env.
"""

from __future__ import annotations

from typing import Any

from asynctool_env.agents.heuristics import Observation, _answer_or_switch, _layout
from asynctool_env.agents.rules import ActionCodec, next_planned_call


class OraclePolicy:
    """Plays the exact optimal schedule (needs the env: see :meth:`bind`)."""

    name = "oracle"

    def __init__(self) -> None:
        self._env: Any = None
        self._schedule: tuple[tuple[tuple[int, int], ...], ...] = ()
        self._called: set[tuple[int, int]] = set()

    def reset(self, seed: int | None = None) -> None:
        self._called = set()

    def bind(self, env: Any) -> None:
        """Read the episode just reset in ``env`` and plan its optimal schedule."""
        from asynctool_env.solver import optimal_schedule_for_simulator

        self._env = env.unwrapped
        plan = optimal_schedule_for_simulator(self._env.simulator)
        self._schedule = plan.calls
        self._called = set()

    def act(self, observation: Observation) -> int:
        if self._env is None:
            raise RuntimeError("the oracle needs bind(env) after each reset")
        answer = _answer_or_switch(observation)
        if answer is not None:
            return answer
        call = next_planned_call(self._schedule, int(observation["round"][0]), self._called)
        if call is None or observation["calls_left"][0] <= 0:
            return 0
        task, step = call
        focused = int(observation["focused_task"])
        if focused == task:
            self._called.add(call)
        return ActionCodec("focus", *_layout(observation)).call(task, step, focused)
