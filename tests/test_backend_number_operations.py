"""Backend tests of the number_operations scenario, with values computed independently.

Arithmetic tools are checked on hand-computed examples and against the standard library
(:mod:`statistics`, a sieve for factorisations, unit conversions by their defining
constants); dataset tools, whose values come from a hash of the world's seed, are checked
for their relations: a batch statistic is the statistic of the fetched values, the highest
and lowest are found by scanning, a correlation is numpy's Pearson coefficient of the two
fetched series, and a find agrees with the fetch of its id.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from typing import Any

import numpy as np
import pytest

from asynctool_env.core.tools import ToolError
from asynctool_env.scenarios import number_operations

SCENARIO = number_operations.SCENARIO
TOOLS = {tool.name: tool for tool in SCENARIO.tools}
SEEDS = range(4)
WORLD = SCENARIO.world(0)


def call(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool the way the chat path does (arguments validated first)."""
    return TOOLS[tool_name].execute(world, arguments)


def titles(world: Any) -> list[str]:
    return [world.title(index) for index in range(len(world.ids))]


def dataset(world: Any, title: str) -> dict[str, Any]:
    found = call(world, "find_numeric_dataset", name=title)
    return call(world, "fetch_dataset_values", dataset_id=found["dataset_id"])


def statistics_of(values: list[float]) -> dict[str, Any]:
    """The statistics the tool promises, from the statistics module."""
    whole = all(float(value).is_integer() for value in values)
    return {
        "count": len(values),
        "sum": round(math.fsum(values)) if whole else round(math.fsum(values), 6),
        "mean": round(statistics.fmean(values), 4),
        "median": round(statistics.median(values), 4),
        "stdev": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
        "range": round(max(values) - min(values), 6),
    }


# -- datasets -------------------------------------------------------------------------------

MONTHS = [dt.date(2025, month, 1).strftime("%B") for month in range(1, 13)]
DAYS = [(dt.date(2025, 6, 2) + dt.timedelta(days=day)).isoformat() for day in range(14)]
WEEKS = [f"2025-W{week}" for week in range(14, 24)]
#: title prefix -> (unit, frequency, labels, decimals, lowest value)
FAMILIES = {
    "Monthly rainfall in": ("mm", "monthly", MONTHS, 1, 0.5),
    "Monthly mean temperature in": ("degC", "monthly", MONTHS, 1, -60),
    "Monthly electricity use of": ("kWh", "monthly", MONTHS, 0, 100),
    "Daily visitors at": ("visitors", "daily", DAYS, 0, 50),
    "Daily running distance of": ("km", "daily", DAYS, 2, 1.0),
    "Weekly freight shipped from": ("kg", "weekly", WEEKS, 0, 1000),
}


def family(title: str) -> tuple[str, str, list[str], int, float]:
    return next(value for prefix, value in FAMILIES.items() if title.startswith(prefix))


@pytest.mark.parametrize("seed", SEEDS)
def test_find_and_fetch_agree(seed):
    world = SCENARIO.world(seed)
    assert len(titles(world)) == 18
    ids = set()
    for title in titles(world):
        unit, frequency, labels, decimals, lowest = family(title)
        found = call(world, "find_numeric_dataset", name=f"  {title.upper()}  ")
        assert re.fullmatch(r"DS-[0-9A-F]{6}", found["dataset_id"])
        ids.add(found["dataset_id"])
        assert (found["title"], found["unit"], found["frequency"]) == (title, unit, frequency)
        assert (found["count"], found["first_label"], found["last_label"]) == (
            len(labels),
            labels[0],
            labels[-1],
        )
        fetched = call(world, "fetch_dataset_values", dataset_id=found["dataset_id"].lower())
        assert (fetched["dataset_id"], fetched["title"], fetched["unit"]) == (
            found["dataset_id"],
            title,
            unit,
        )
        values = fetched["values"]
        assert fetched["labels"] == labels
        assert fetched["count"] == len(values) == len(labels)
        assert (fetched["first_value"], fetched["last_value"]) == (values[0], values[-1])
        assert all(value >= lowest for value in values)
        if decimals == 0:
            assert all(type(value) is int for value in values)
        else:
            assert all(round(value, decimals) == value for value in values)
    assert len(ids) == 18


def test_find_by_a_distinctive_part_and_ambiguity():
    for seed in SEEDS:
        world = SCENARIO.world(seed)
        for title in titles(world):
            entity = title.split(" in ")[-1].split(" of ")[-1].split(" at ")[-1]
            entity = entity.split(" from ")[-1]
            holders = [other for other in titles(world) if entity.casefold() in other.casefold()]
            if len(holders) == 1:
                assert call(world, "find_numeric_dataset", name=entity)["title"] == title
            else:
                with pytest.raises(ToolError, match="matches several datasets"):
                    call(world, "find_numeric_dataset", name=entity)
    with pytest.raises(ToolError, match="available datasets"):
        call(WORLD, "find_numeric_dataset", name="Monthly rainfall in Atlantis")
    with pytest.raises(ToolError, match="must not be empty"):
        call(WORLD, "find_numeric_dataset", name="   ")
    with pytest.raises(ToolError, match="find_numeric_dataset"):
        call(WORLD, "fetch_dataset_values", dataset_id="DS-000000")


# -- statistics -----------------------------------------------------------------------------


def test_statistics_by_hand():
    out = call(WORLD, "compute_descriptive_statistics", values=[2, 4, 4, 4, 5, 5, 7, 9])
    # sum 40, mean 40/8, median (4+5)/2, sample stdev sqrt(32/7)
    assert out == {
        "count": 8,
        "sum": 40,
        "mean": 5.0,
        "median": 4.5,
        "stdev": 2.1381,
        "min": 2,
        "max": 9,
        "range": 7,
    }
    assert type(out["sum"]) is int
    floats = call(WORLD, "compute_descriptive_statistics", values=[0.1, 0.2, 0.3])
    assert floats == {
        "count": 3,
        "sum": 0.6,
        "mean": 0.2,
        "median": 0.2,
        "stdev": 0.1,
        "min": 0.1,
        "max": 0.3,
        "range": 0.2,
    }
    single = call(WORLD, "compute_descriptive_statistics", values=[-3.5])
    assert (single["stdev"], single["median"], single["range"]) == (0.0, -3.5, 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_statistics_of_fetched_values_match_the_statistics_module(seed):
    world = SCENARIO.world(seed)
    for title in titles(world):
        values = dataset(world, title)["values"]
        out = call(world, "compute_descriptive_statistics", values=values)
        expected = statistics_of(values)
        assert out == pytest.approx(expected, abs=1e-9), title


@pytest.mark.parametrize(
    ("values", "message"),
    [([], "1 to 10000 numbers"), ([1, 2e15], "finite number"), ([math.inf], "finite number")],
)
def test_statistics_bad_calls(values, message):
    with pytest.raises(ToolError, match=message):
        call(WORLD, "compute_descriptive_statistics", values=values)


# -- percentage change ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "change", "percent", "direction"),
    [
        (80, 100, 20, 25.0, "increase"),
        (200, 150, -50, -25.0, "decrease"),
        (3, 4, 1, 33.3333, "increase"),
        (0.1, 0.3, 0.2, 200.0, "increase"),
        (7.5, 7.5, 0, 0.0, "unchanged"),
        (1234.5, 1000, -234.5, -18.9955, "decrease"),
    ],
)
def test_percentage_change_by_hand(old, new, change, percent, direction):
    out = call(WORLD, "compute_percentage_change", old_value=old, new_value=new)
    assert (out["old_value"], out["new_value"]) == (old, new)
    assert out["change"] == pytest.approx(change, abs=1e-9)
    assert out["percent_change"] == percent == round((new - old) / old * 100, 4)
    assert out["direction"] == direction


def test_percentage_change_from_a_negative_value_follows_the_direction():
    # measured against the size of the old value, so that a rise reads as a positive change
    out = call(WORLD, "compute_percentage_change", old_value=-10, new_value=-5)
    assert (out["change"], out["percent_change"], out["direction"]) == (5, 50.0, "increase")


def test_percentage_change_bad_calls():
    with pytest.raises(ToolError, match="must not be 0"):
        call(WORLD, "compute_percentage_change", old_value=0, new_value=5)
    with pytest.raises(ToolError, match="finite number"):
        call(WORLD, "compute_percentage_change", old_value=1, new_value=1e16)


# -- unit conversions -----------------------------------------------------------------------

INCH, FOOT, MILE = 0.0254, 0.3048, 1609.344  # metres
POUND, OUNCE = 0.45359237, 0.028349523125  # kilograms
KWH = 3.6e6  # joules


@pytest.mark.parametrize(
    ("value", "source", "target", "expected", "dimension"),
    [
        (100, "degC", "degF", 212, "temperature"),
        (-40, "celsius", "°F", -40, "temperature"),
        (98.6, "F", "C", (98.6 - 32) * 5 / 9, "temperature"),
        (0, "degC", "K", 273.15, "temperature"),
        (0, "kelvin", "degC", -273.15, "temperature"),
        (32, "fahrenheit", "kelvin", 273.15, "temperature"),
        (1, "mi", "km", MILE / 1000, "length"),
        (10, "mm", "in", 0.01 / INCH, "length"),
        (3, "feet", "metre", 3 * FOOT, "length"),
        (42.195, "kilometre", "miles", 42195 / MILE, "length"),
        (123.4, "cm", "mm", 1234, "length"),
        (1, "lb", "kg", POUND, "mass"),
        (2, "tonnes", "pounds", 2000 / POUND, "mass"),
        (1, "ounce", "g", OUNCE * 1000, "mass"),
        (5, "KWH", "MJ", 18, "energy"),
        (1, "GJ", "kWh", 1e9 / KWH, "energy"),
        (42000, "kWh", "MWh", 42, "energy"),
        (1500, "Wh", "kJ", 5400, "energy"),
    ],
)
def test_conversions_by_their_defining_constants(value, source, target, expected, dimension):
    out = call(WORLD, "convert_measurement_unit", value=value, from_unit=source, to_unit=target)
    assert out["value"] == pytest.approx(expected, abs=5e-5)  # four decimals
    assert out["value"] == round(out["value"], 4)
    assert out["dimension"] == dimension
    assert out["from_value"] == value


def test_small_conversions_keep_their_value():
    out = call(WORLD, "convert_measurement_unit", value=1, from_unit="mm", to_unit="mi")
    assert out["value"] == pytest.approx(0.001 / MILE, rel=1e-3)  # 6.2137e-07, not 0


@pytest.mark.parametrize(
    ("value", "source", "target", "message"),
    [
        (1, "kg", "km", "different dimensions"),
        (1, "degC", "kg", "different dimensions"),
        (-300, "degC", "K", "below absolute zero"),
        (1, "furlong", "m", "supported units: mm, cm"),
        (1, "m", "parsec", "unknown to_unit"),
    ],
)
def test_conversion_bad_calls(value, source, target, message):
    with pytest.raises(ToolError, match=message):
        call(WORLD, "convert_measurement_unit", value=value, from_unit=source, to_unit=target)


# -- rounding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decimals", "mode", "rounded", "text"),
    [
        (2.675, 2, "half_up", 2.68, "2.68"),  # the decimal 2.675, not the binary float below it
        (0.125, 2, "half_even", 0.12, "0.12"),
        (0.125, 2, "half_up", 0.13, "0.13"),
        (-2.5, 0, "half_up", -3, "-3"),
        (-2.5, 0, "half_even", -2, "-2"),
        (-2.5, 0, "floor", -3, "-3"),
        (-2.5, 0, "ceiling", -2, "-2"),
        (-2.5, 0, "down", -2, "-2"),
        (-2.5, 0, "up", -3, "-3"),
        (1234.5, -2, "half_up", 1200, "1200"),
        (1250, -2, "half_even", 1200, "1200"),
        (1250, -2, "half_up", 1300, "1300"),
        (987654.321, -3, "floor", 987000, "987000"),
        (3.14159, 3, "half_up", 3.142, "3.142"),
        (2.5, 2, "half_up", 2.5, "2.50"),
        (0.1 + 0.2, 10, "half_up", 0.3, "0.3000000000"),
    ],
)
def test_rounding_by_hand(value, decimals, mode, rounded, text):
    out = call(WORLD, "round_numeric_value", value=value, decimals=decimals, mode=mode.upper())
    assert out["value"] == rounded
    assert type(out["value"]) is (int if decimals <= 0 else float)
    assert out["text"] == text
    assert (out["original"], out["decimals"], out["mode"]) == (value, decimals, mode)


def test_rounding_defaults_and_bad_calls():
    assert call(WORLD, "round_numeric_value", value=7.5)["value"] == 8  # 0 decimals, half up
    with pytest.raises(ToolError, match="between -6 and 10"):
        call(WORLD, "round_numeric_value", value=1.0, decimals=11)
    with pytest.raises(ToolError, match="half_up, half_even, floor"):
        call(WORLD, "round_numeric_value", value=1.0, mode="bankers")
    with pytest.raises(ToolError, match="finite number"):
        call(WORLD, "round_numeric_value", value=math.nan)


# -- factorisation --------------------------------------------------------------------------


def sieve(limit: int) -> list[bool]:
    prime = [False, False] + [True] * (limit - 1)
    for n in range(2, math.isqrt(limit) + 1):
        if prime[n]:
            prime[n * n :: n] = [False] * len(prime[n * n :: n])
    return prime


def is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))


def test_factorisations_up_to_3000_against_a_sieve():
    prime = sieve(3000)
    for number in range(2, 3001):
        out = call(WORLD, "factorize_integer", number=number)
        factors = out["prime_factors"]
        assert math.prod(factors) == number
        assert factors == sorted(factors) and all(prime[f] for f in factors)
        assert out["distinct_primes"] == sorted(set(factors))
        assert out["is_prime"] == prime[number]
        divisors = sum(number % d == 0 for d in range(1, number + 1))
        assert out["divisor_count"] == divisors
        powers = [(p, factors.count(p)) for p in out["distinct_primes"]]
        assert out["factorization"] == " * ".join(
            f"{p}^{k}" if k > 1 else f"{p}" for p, k in powers
        )


@pytest.mark.parametrize(
    ("number", "factors", "text"),
    [
        (10**12, [2] * 12 + [5] * 12, "2^12 * 5^12"),
        (999983 * 1000003, [999983, 1000003], "999983 * 1000003"),
        (1_000_000_007, [1_000_000_007], "1000000007"),
        (2**39, [2] * 39, "2^39"),
        (3 * 7**2 * 11**3 * 13, [3, 7, 7, 11, 11, 11, 13], "3 * 7^2 * 11^3 * 13"),
    ],
)
def test_large_factorisations(number, factors, text):
    assert all(is_prime(factor) for factor in set(factors) if factor < 10**7)
    out = call(WORLD, "factorize_integer", number=number)
    assert (out["number"], out["prime_factors"], out["factorization"]) == (number, factors, text)
    assert out["is_prime"] == (len(factors) == 1)
    assert out["divisor_count"] == math.prod(factors.count(p) + 1 for p in set(factors))


@pytest.mark.parametrize("number", [1, 0, -7, 10**12 + 1])
def test_factorisation_bad_calls(number):
    with pytest.raises(ToolError, match="between 2 and"):
        call(WORLD, "factorize_integer", number=number)


# -- batch statistics and correlation -------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("statistic", ["mean", "median", "stdev", "min", "max", "sum", "range"])
def test_batch_statistics_are_the_statistics_of_the_fetched_values(seed, statistic):
    world = SCENARIO.world(seed)
    for prefix in FAMILIES:
        group = [title for title in titles(world) if title.startswith(prefix)]
        fetched = [dataset(world, title) for title in reversed(group)]
        ids = [entry["dataset_id"] for entry in fetched]
        out = call(world, "run_batch_statistics", dataset_ids=ids, statistic=statistic.upper())
        assert (out["statistic"], out["unit"]) == (statistic, fetched[0]["unit"])
        assert re.fullmatch(r"RPT-[0-9A-F]{6}", out["report_id"])
        assert [row["dataset_id"] for row in out["results"]] == ids  # in the order asked
        for row, entry in zip(out["results"], fetched, strict=True):
            assert row["title"] == entry["title"]
            expected = statistics_of(entry["values"])[statistic]
            assert row["value"] == pytest.approx(expected, abs=1e-9)
        highest = max(out["results"], key=lambda row: (row["value"], row["dataset_id"]))
        lowest = min(out["results"], key=lambda row: (row["value"], row["dataset_id"]))
        assert (out["highest"], out["lowest"]) == (highest, lowest)
        # the same request is the same report; another order is another one
        again = call(world, "run_batch_statistics", dataset_ids=ids, statistic=statistic)
        assert again == out


def test_batch_bad_calls():
    ids = [call(WORLD, "find_numeric_dataset", name=title)["dataset_id"] for title in titles(WORLD)]
    rain, temperature = ids[0], ids[3]
    assert WORLD.title(3).startswith("Monthly mean temperature")
    with pytest.raises(ToolError, match="one unit"):
        call(WORLD, "run_batch_statistics", dataset_ids=[rain, temperature], statistic="mean")
    with pytest.raises(ToolError, match="2 to 18 different datasets"):
        call(WORLD, "run_batch_statistics", dataset_ids=[rain], statistic="mean")
    with pytest.raises(ToolError, match="2 to 18 different datasets"):
        call(WORLD, "run_batch_statistics", dataset_ids=[rain, rain.lower()], statistic="mean")
    with pytest.raises(ToolError, match="use one of: mean, median"):
        call(WORLD, "run_batch_statistics", dataset_ids=ids[:2], statistic="mode")
    with pytest.raises(ToolError, match="unknown dataset_id"):
        call(WORLD, "run_batch_statistics", dataset_ids=[rain, "DS-000000"], statistic="mean")


@pytest.mark.parametrize("seed", SEEDS)
def test_correlation_is_pearson_of_the_fetched_series(seed):
    world = SCENARIO.world(seed)
    monthly = [title for title in titles(world) if title.startswith("Monthly")]
    for first, second in zip(monthly, monthly[1:] + monthly[:1], strict=True):
        a, b = dataset(world, first), dataset(world, second)
        out = call(
            world,
            "compute_dataset_correlation",
            dataset_a=a["dataset_id"],
            dataset_b=b["dataset_id"],
        )
        r = float(np.corrcoef(a["values"], b["values"])[0, 1])
        assert (out["dataset_a"], out["dataset_b"], out["n"]) == (
            a["dataset_id"],
            b["dataset_id"],
            12,
        )
        assert out["pearson_r"] == pytest.approx(r, abs=5e-5)
        assert out["r_squared"] == pytest.approx(r * r, abs=5e-5)
        size = "strong" if abs(r) >= 0.7 else "moderate" if abs(r) >= 0.4 else "weak"
        assert out["strength"] == f"{size} {'positive' if r >= 0 else 'negative'}"
        swapped = call(
            world,
            "compute_dataset_correlation",
            dataset_a=b["dataset_id"],
            dataset_b=a["dataset_id"],
        )
        assert swapped["pearson_r"] == out["pearson_r"]


def test_correlation_bad_calls():
    ids = [call(WORLD, "find_numeric_dataset", name=title)["dataset_id"] for title in titles(WORLD)]
    monthly, daily = ids[0], ids[9]
    assert WORLD.title(9).startswith("Daily")
    with pytest.raises(ToolError, match="the same length"):
        call(WORLD, "compute_dataset_correlation", dataset_a=monthly, dataset_b=daily)
    with pytest.raises(ToolError, match="two different datasets"):
        call(WORLD, "compute_dataset_correlation", dataset_a=monthly, dataset_b=monthly.lower())
