"""Rewards: the weights, and the one place that turns what happened into a reward.

Every interface that pays rewards (``AsyncTool-v0``, ``AsyncTool-Chat-v0``) reads them off
the simulator's counters with a :class:`RewardMeter`, so the same schedule earns the same
return whichever interface played it, and the return ranks schedules as the metrics do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from asynctool_env.core.checks import check_number
from asynctool_env.core.simulator import Simulator


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the reward terms (see ``AsyncToolEnv``'s *Rewards* section).

    The defaults make the return rank schedules the way the metrics do: with the same tasks
    succeeded and no invalid action, every extra round costs ``round``, so a faster schedule
    always earns more.
    """

    task_success: float = 1.0
    step_done: float = 0.1
    round: float = -0.05
    idle: float = 0.0
    invalid: float = -0.1
    dependency_violation: float = -0.5
    redundant_call: float = -0.1
    premature_answer: float = -0.5
    slip: float = 0.0
    collateral_write: float = -1.0

    def in_meter_order(self) -> tuple[float, ...]:
        """The weights of :class:`RewardMeter`'s terms, in the order it sums them (the
        batched env sums its terms in the same order, to the same floats)."""
        return (
            self.task_success,
            self.premature_answer,
            self.step_done,
            self.round,
            self.idle,
            self.invalid,
            self.dependency_violation,
            self.redundant_call,
            self.collateral_write,
        )

    @classmethod
    def from_any(cls, value: RewardWeights | Mapping[str, float] | None) -> RewardWeights:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise TypeError("reward_weights must be a RewardWeights or a mapping name -> weight")
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"unknown reward weight(s) {unknown}; known weights: {', '.join(sorted(known))}"
            )
        return cls(
            **{
                name: check_number(f"reward_weights[{name!r}]", weight)
                for name, weight in value.items()
            }
        )


class RewardMeter:
    """The reward earned by a simulator since the last :meth:`take`, from its counters.

    Terms (weights in :class:`RewardWeights`): ``task_success`` per task answered right,
    ``premature_answer`` per early answer, ``step_done`` per correct response delivered,
    ``round`` per round that passes and once more for the round of the last answer (so an
    episode is charged exactly ``rounds`` times), ``idle`` per idle round, ``invalid`` per
    refused action, ``dependency_violation`` and ``redundant_call`` per such call,
    ``collateral_write`` per write that changed the world where no gold call does and that no
    task owns (written calls only; found when the episode ends, so the last reward pays it).
    (``slip`` shaping is the numeric env's own: it depends on when decisions are taken.)
    """

    __slots__ = ("_last", "_weights", "simulator", "weights")

    def __init__(self, simulator: Simulator, weights: RewardWeights) -> None:
        self.simulator = simulator
        self.weights = weights
        # The weights in the order of _counters (read on every step: kept as a tuple).
        self._weights = weights.in_meter_order()
        self._last = self._counters()

    def _counters(self) -> tuple[int, ...]:
        simulator = self.simulator
        return (
            simulator.correct_answers,
            simulator.premature_answers,
            simulator.steps_done,
            simulator.round + (1 if simulator.open_tasks == 0 else 0),
            simulator.idle_rounds,
            simulator.invalid_actions,
            simulator.violations,
            simulator.redundant_calls,
            simulator.collateral_writes,
        )

    def take(self) -> float:
        """The reward since the last reading (or since the meter was made)."""
        now = self._counters()
        last = self._last
        if now == last:  # most decisions change nothing but the clock, or nothing at all
            return 0.0
        self._last = now
        reward = 0.0
        for weight, after, before in zip(self._weights, now, last, strict=True):
            if after != before:
                reward += weight * (after - before)
        return reward
