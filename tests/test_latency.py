"""Latency distributions and profiles: bounds, means, determinism, profile names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asynctool_env.core.latency import (
    DEFAULT_MAX_LATENCY,
    PROFILE_NAMES,
    Distribution,
    Fixed,
    Geometric,
    LatencyProfile,
    LogNormal,
    Uniform,
    make_latency_profile,
)

N_DRAWS = 4000


def draws(distribution: Distribution, seed: int = 0, n: int = N_DRAWS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([distribution.sample(rng) for _ in range(n)])


# -- distributions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "distribution",
    [
        Fixed(0),
        Fixed(3),
        Fixed(DEFAULT_MAX_LATENCY),
        Uniform(0, DEFAULT_MAX_LATENCY),
        Uniform(2, 5),
        Geometric(0.5),
        Geometric(3.0),
        Geometric(40.0),
        Geometric(5.0, max_latency=2),
        LogNormal(1.0),
        LogNormal(6.0, sigma=1.5),
        LogNormal(3.0, sigma=2.0, max_latency=4),
    ],
    ids=repr,
)
def test_draws_are_whole_rounds_within_bounds(distribution):
    values = draws(distribution)
    upper = getattr(distribution, "max_latency", DEFAULT_MAX_LATENCY)
    assert all(type(value) is int for value in values.tolist())
    assert values.min() >= 0
    assert values.max() <= upper
    assert isinstance(distribution, Distribution)


@pytest.mark.parametrize(
    ("distribution", "low", "high"),
    [(Uniform(2, 5), 2, 5), (Uniform(0, 1), 0, 1), (Uniform(4, 4), 4, 4)],
)
def test_uniform_covers_exactly_low_to_high(distribution, low, high):
    assert set(draws(distribution).tolist()) == set(range(low, high + 1))


@pytest.mark.parametrize(
    "distribution",
    [Geometric(40.0), LogNormal(6.0, sigma=1.5)],
    ids=repr,
)
def test_heavy_distributions_hit_the_clip(distribution):
    assert draws(distribution).max() == DEFAULT_MAX_LATENCY


@pytest.mark.parametrize(
    ("distribution", "value"),
    [
        (Fixed(0), 0),
        (Fixed(2), 2),
        (Fixed(np.int64(5)), 5),
        (Uniform(3, 3), 3),
        (Geometric(0), 0),
        (Geometric(0.0, max_latency=0), 0),
        (LogNormal(0.0), 0),
        (LogNormal(4.0, sigma=0.0), 4),
    ],
    ids=repr,
)
def test_deterministic_distributions_are_constant(distribution, value):
    assert distribution.is_deterministic is True
    assert set(draws(distribution, n=200).tolist()) == {value}
    assert distribution.mean == pytest.approx(value)


@pytest.mark.parametrize(
    "distribution",
    [Uniform(0, 1), Uniform(1, 3), Geometric(0.5), Geometric(1.0), LogNormal(2.0)],
    ids=repr,
)
def test_random_distributions_are_not_deterministic(distribution):
    assert distribution.is_deterministic is False
    assert len(set(draws(distribution, n=200).tolist())) > 1


@pytest.mark.parametrize(
    ("distribution", "mean"),
    [
        (Fixed(3), 3.0),
        (Uniform(0, 2), 1.0),
        (Uniform(1, 4), 2.5),
        (Geometric(1.0), 1.0 - 0.5**8),
        (Geometric(2.0), 2.0 * (1 - (2 / 3) ** 8)),
        (Geometric(5.0), 5.0 * (1 - (5 / 6) ** 8)),
        (Geometric(3.0, max_latency=1), 0.75),
        (LogNormal(2.0, sigma=0.6), 2.0 * math.exp(0.18)),
        (LogNormal(7.0, sigma=1.0), 8.0),
    ],
    ids=repr,
)
def test_mean_formula(distribution, mean):
    assert distribution.mean == pytest.approx(mean)
    assert isinstance(distribution.mean, float)


@pytest.mark.parametrize(
    "distribution",
    [
        Uniform(0, 2),
        Uniform(1, 6),
        Geometric(0.5),
        Geometric(2.0),
        Geometric(5.0),
        Geometric(3.0, max_latency=2),
    ],
    ids=repr,
)
def test_mean_matches_empirical_mean(distribution):
    """``mean`` is the expectation of the clipped draw (Geometric included)."""
    assert draws(distribution, seed=7, n=20_000).mean() == pytest.approx(distribution.mean, abs=0.1)


@pytest.mark.parametrize(
    "distribution",
    [Uniform(0, 5), Geometric(2.0), LogNormal(2.0, sigma=1.0)],
    ids=repr,
)
def test_seeded_draws_are_reproducible(distribution):
    first = draws(distribution, seed=123, n=300)
    assert np.array_equal(first, draws(distribution, seed=123, n=300))
    assert not np.array_equal(first, draws(distribution, seed=124, n=300))


@pytest.mark.parametrize(
    "build",
    [
        lambda: Fixed(-1),
        lambda: Fixed(1.5),
        lambda: Fixed("2"),
        lambda: Uniform(-1, 2),
        lambda: Uniform(3, 2),
        lambda: Geometric(-0.5),
        lambda: Geometric(float("nan")),
        lambda: Geometric(1.0, max_latency=-1),
        lambda: LogNormal(-1.0),
        lambda: LogNormal(1.0, sigma=-0.1),
        lambda: LogNormal(1.0, max_latency=-1),
    ],
)
def test_invalid_parameters_raise(build):
    with pytest.raises(ValueError, match="latency"):
        build()


# -- profiles -------------------------------------------------------------------------------


def test_profile_names_are_the_documented_ones():
    assert PROFILE_NAMES == (
        "sync",
        "fixed",
        "tool",
        "stochastic",
        "uniform",
        "lognormal",
        "fixed:N",
    )


@pytest.mark.parametrize(
    ("spec", "name", "declared", "expected"),
    [
        ("sync", "sync", 2, Fixed(0)),
        ("fixed", "fixed:1", 0, Fixed(1)),
        ("fixed", "fixed:1", 2, Fixed(1)),
        ("tool", "tool", 0, Fixed(0)),
        ("tool", "tool", 2, Fixed(2)),
        ("stochastic", "stochastic", 2, Geometric(2)),
        ("uniform", "uniform", 0, Uniform(0, 1)),
        ("uniform", "uniform", 1, Uniform(0, 2)),
        ("uniform", "uniform", 2, Uniform(1, 3)),
        ("lognormal", "lognormal", 2, LogNormal(2)),
        ("fixed:0", "fixed:0", 2, Fixed(0)),
        ("fixed:2", "fixed:2", 0, Fixed(2)),
        ("fixed:8", "fixed:8", 1, Fixed(8)),
        ("fixed:03", "fixed:3", 1, Fixed(3)),
        ("  Fixed:4 ", "fixed:4", 1, Fixed(4)),
        ("TOOL", "tool", 1, Fixed(1)),
    ],
)
def test_named_profiles(spec, name, declared, expected):
    profile = make_latency_profile(spec)
    assert profile.name == name
    assert profile.distribution("any_tool", declared) == expected


@pytest.mark.parametrize(
    "spec", ["fixed:9", "fixed:100", "fixed:x", "fixed:", "fixed:-1", "fixed:²"]
)
def test_bad_fixed_n_is_rejected(spec):
    with pytest.raises(ValueError, match=r"'fixed:N' must be a whole number 0\.\.8"):
        make_latency_profile(spec)


@pytest.mark.parametrize("spec", ["", "slow", "fixedd", "sync:1"])
def test_unknown_profile_lists_the_choices(spec):
    with pytest.raises(ValueError, match="unknown latency profile") as error:
        make_latency_profile(spec)
    message = str(error.value)
    assert repr(spec) in message
    for name in PROFILE_NAMES:
        assert name in message


@pytest.mark.parametrize("spec", [None, 1, 2.5, ["fixed"], Fixed(1)])
def test_non_string_spec_is_a_type_error(spec):
    with pytest.raises(TypeError, match=type(spec).__name__):
        make_latency_profile(spec)


def test_profile_object_is_returned_unchanged():
    profile = LatencyProfile("mine", default=lambda _declared: Fixed(3))
    assert make_latency_profile(profile) is profile


def test_per_tool_overrides_default():
    profile = LatencyProfile(
        "mixed", default=Fixed, per_tool={"book_flight": Geometric(4.0), "get_weather": Fixed(5)}
    )
    assert profile.distribution("book_flight", 2) == Geometric(4.0)
    assert profile.distribution("get_weather", 0) == Fixed(5)
    assert profile.distribution("search_flights", 1) == Fixed(1)
    assert profile.distribution("search_flights", 2) == Fixed(2)


def test_distribution_is_memoised_per_tool_and_declared_latency():
    calls: list[int] = []

    def default(declared: int) -> Distribution:
        calls.append(declared)
        return Uniform(0, declared)

    profile = LatencyProfile("counting", default=default)
    first = profile.distribution("a", 2)
    assert profile.distribution("a", 2) is first
    profile.distribution("b", 2)
    profile.distribution("a", 3)
    assert calls == [2, 2, 3]


@pytest.mark.parametrize(
    ("spec", "tools", "expected"),
    [
        ("sync", {"a": 0, "b": 2}, True),
        ("fixed", {"a": 0, "b": 2}, True),
        ("fixed:5", {"a": 1}, True),
        ("tool", {"a": 0, "b": 1, "c": 2}, True),
        ("stochastic", {"a": 0}, True),
        ("stochastic", {"a": 0, "b": 1}, False),
        ("uniform", {"a": 1}, False),
        ("lognormal", {"a": 0}, True),
        ("lognormal", {"a": 2}, False),
        ("stochastic", {}, True),
    ],
)
def test_profile_is_deterministic(spec, tools, expected):
    assert make_latency_profile(spec).is_deterministic(tools) is expected


def test_per_tool_override_changes_determinism():
    profile = LatencyProfile("p", default=Fixed, per_tool={"slow": Geometric(1.0)})
    assert profile.is_deterministic({"fast": 1}) is True
    assert profile.is_deterministic({"fast": 1, "slow": 1}) is False


def test_fixed_profile_doctest_value():
    assert make_latency_profile("fixed:2").distribution("book_flight", 3) == Fixed(rounds=2)
    assert repr(Fixed(2)) == "Fixed(rounds=2)"
