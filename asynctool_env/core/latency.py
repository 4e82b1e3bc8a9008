"""Latency: how many rounds a tool call waits before its response is delivered.

A call issued in round ``r`` whose latency is ``L`` is delivered at the start of round
``r + 1 + L``. ``L = 0`` is the synchronous baseline (the response is there on the next
turn); the AsyncTool paper's first version uses ``L = 1`` for every tool.

Two layers:

* a :class:`Distribution` draws one latency (an ``int`` of rounds) from a seeded
  ``np.random.Generator``: :class:`Fixed`, :class:`Uniform`, :class:`Geometric`,
  :class:`LogNormal`. Every draw is clipped to ``[0, max_latency]`` so that observation
  bounds and episode lengths stay finite.
* a :class:`LatencyProfile` picks the distribution of each tool: a per-tool table with a
  default, where the default may depend on the tool's declared typical latency (fast lookups,
  slow bookings). Named profiles (:data:`PROFILE_NAMES`) cover the usual cases:

  ============== ===============================================================
  ``sync``        every call answers on the next turn (``L = 0``)
  ``fixed``       every call is one round late (``L = 1``), the paper's first version
  ``fixed:N``     every call is ``N`` rounds late
  ``tool``        each tool's declared latency, deterministic (the default)
  ``stochastic``  geometric around each tool's declared latency: out-of-order delivery
  ``uniform``     uniform on ``[L-1, L+1]`` around each tool's declared latency
  ``lognormal``   lognormal with median ``L`` rounded to whole rounds (heavy tail)
  ============== ===============================================================

Latencies are drawn once per gold step when an episode starts (see
:class:`~asynctool_env.core.simulator.Simulator`), so that "the realized latencies of this
episode" is a property of the instance and the seed, not of the order in which an agent
happens to call. The sequential and optimal schedules are computed on those same draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

#: Upper bound of every latency draw, in rounds.
DEFAULT_MAX_LATENCY = 8


@runtime_checkable
class Distribution(Protocol):
    """A distribution of latencies in whole rounds."""

    def sample(self, rng: np.random.Generator) -> int:
        """Draw one latency (rounds, ``>= 0``)."""
        ...

    @property
    def mean(self) -> float:
        """Expected latency in rounds (what an agent may be told in advance)."""
        ...

    @property
    def is_deterministic(self) -> bool:
        """True when every draw gives the same value."""
        ...


@dataclass(frozen=True)
class Fixed:
    """Always ``rounds`` rounds."""

    rounds: int

    def __post_init__(self) -> None:
        if not isinstance(self.rounds, (int, np.integer)) or self.rounds < 0:
            raise ValueError(f"Fixed latency must be a whole number >= 0, got {self.rounds!r}")

    def sample(self, rng: np.random.Generator) -> int:
        return int(self.rounds)

    @property
    def mean(self) -> float:
        return float(self.rounds)

    @property
    def is_deterministic(self) -> bool:
        return True


@dataclass(frozen=True)
class Uniform:
    """Uniform on the whole numbers ``low .. high`` (both included)."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high:
            raise ValueError(f"Uniform latency needs 0 <= low <= high, got {self.low}, {self.high}")

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high + 1))

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def is_deterministic(self) -> bool:
        return self.low == self.high


@dataclass(frozen=True)
class Geometric:
    """Number of failures before a success, with mean ``mean_rounds``, clipped to ``max_latency``.

    :attr:`mean` is the expectation of the clipped draw, slightly below ``mean_rounds``.

    Memoryless: a call that has already waited tells nothing about how long it will still
    wait, which is what makes stochastic latency hard to plan around.
    """

    mean_rounds: float
    max_latency: int = DEFAULT_MAX_LATENCY

    def __post_init__(self) -> None:
        if not self.mean_rounds >= 0:  # also rejects NaN
            raise ValueError(f"Geometric latency needs mean >= 0, got {self.mean_rounds}")
        if self.max_latency < 0:
            raise ValueError(f"Geometric latency needs max_latency >= 0, got {self.max_latency}")

    def sample(self, rng: np.random.Generator) -> int:
        if self.mean_rounds == 0:
            return 0
        # numpy's geometric counts trials (>= 1); subtract one to count failures.
        draw = int(rng.geometric(1.0 / (1.0 + self.mean_rounds))) - 1
        return min(draw, self.max_latency)

    @property
    def mean(self) -> float:
        # Expectation of the clipped draw: sum over k = 1..max of P(draw >= k) = q**k, with
        # q = m / (1 + m); it equals ``m * (1 - q**max)``, a little below ``m``.
        if self.mean_rounds == 0:
            return 0.0
        q = self.mean_rounds / (1.0 + self.mean_rounds)
        return float(self.mean_rounds * (1.0 - q**self.max_latency))

    @property
    def is_deterministic(self) -> bool:
        return self.mean_rounds == 0


@dataclass(frozen=True)
class LogNormal:
    """``round(exp(N(log(median), sigma)))``, clipped to ``[0, max_latency]``."""

    median: float
    sigma: float = 0.6
    max_latency: int = DEFAULT_MAX_LATENCY

    def __post_init__(self) -> None:
        if self.median < 0 or self.sigma < 0 or self.max_latency < 0:
            raise ValueError("LogNormal latency needs median, sigma and max_latency >= 0")

    def sample(self, rng: np.random.Generator) -> int:
        if self.median == 0:
            return 0
        draw = round(math.exp(rng.normal(math.log(self.median), self.sigma)))
        return int(min(max(draw, 0), self.max_latency))

    @property
    def mean(self) -> float:
        # Mean of the unrounded lognormal; close enough for an agent's expectation.
        return float(min(self.median * math.exp(self.sigma**2 / 2), self.max_latency))

    @property
    def is_deterministic(self) -> bool:
        return self.median == 0 or self.sigma == 0


#: Maps a tool's declared typical latency (rounds) to a distribution.
DefaultDistribution = Callable[[int], Distribution]


@dataclass(frozen=True)
class LatencyProfile:
    """Which latency distribution each tool has.

    Args:
        name: Shown in reports and ``info``.
        default: Builds the distribution of a tool that has no entry in ``per_tool`` from
            the tool's declared typical latency.
        per_tool: Distributions for named tools, overriding ``default``.
    """

    name: str
    default: DefaultDistribution
    per_tool: Mapping[str, Distribution] = field(default_factory=dict)
    _memo: dict[tuple[str, int], Distribution] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def distribution(self, tool_name: str, declared_latency: int) -> Distribution:
        """The distribution of ``tool_name``, a tool that declares ``declared_latency``."""
        key = (tool_name, declared_latency)
        found = self._memo.get(key)
        if found is None:
            found = self.per_tool.get(tool_name)
            if found is None:
                found = self.default(declared_latency)
            self._memo[key] = found
        return found

    def is_deterministic(self, tools: Mapping[str, int]) -> bool:
        """True when every tool in ``tools`` (name -> declared latency) has fixed latency."""
        return all(self.distribution(n, lat).is_deterministic for n, lat in tools.items())


def _fixed_profile(rounds: int) -> LatencyProfile:
    return LatencyProfile(f"fixed:{rounds}", default=lambda _declared: Fixed(rounds))


_NAMED_PROFILES: dict[str, Callable[[], LatencyProfile]] = {
    "sync": lambda: LatencyProfile("sync", default=lambda _declared: Fixed(0)),
    "fixed": lambda: _fixed_profile(1),
    "tool": lambda: LatencyProfile("tool", default=Fixed),
    "stochastic": lambda: LatencyProfile("stochastic", default=Geometric),
    "uniform": lambda: LatencyProfile(
        "uniform", default=lambda declared: Uniform(max(0, declared - 1), declared + 1)
    ),
    "lognormal": lambda: LatencyProfile("lognormal", default=LogNormal),
}

#: Names accepted by :func:`make_latency_profile` (plus ``fixed:N``).
PROFILE_NAMES: tuple[str, ...] = (*_NAMED_PROFILES, "fixed:N")


def make_latency_profile(spec: str | LatencyProfile) -> LatencyProfile:
    """Turn a profile name (see the module docstring) or a profile object into a profile.

    >>> make_latency_profile("fixed:2").distribution("book_flight", 3)
    Fixed(rounds=2)
    """
    if isinstance(spec, LatencyProfile):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"latency must be a profile name or a LatencyProfile, got {type(spec).__name__}"
        )
    name = spec.strip().lower()
    if name in _NAMED_PROFILES:
        return _NAMED_PROFILES[name]()
    if name.startswith("fixed:"):
        value = name.removeprefix("fixed:")
        if value.isascii() and value.isdigit() and int(value) <= DEFAULT_MAX_LATENCY:
            return _fixed_profile(int(value))
        raise ValueError(
            f"latency {spec!r}: N in 'fixed:N' must be a whole number 0..{DEFAULT_MAX_LATENCY}"
        )
    raise ValueError(f"unknown latency profile {spec!r}; choose one of {', '.join(PROFILE_NAMES)}")
