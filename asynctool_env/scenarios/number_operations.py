"""Number Operations: statistics and arithmetic over named numeric datasets.

The world
---------
A :class:`NumbersWorld` holds eighteen named datasets: three entities (cities, buildings,
museums, runners, warehouses) of each of the six :data:`FAMILIES` (monthly rainfall,
monthly mean temperature, monthly electricity use, daily museum visitors, daily running
distance, weekly freight), each with a world-specific ``DS-XXXXXX`` id, and a ``seed``. The
values of a dataset are *not stored*: they are a pure function of ``seed`` and the dataset
(a seasonal or weekly shape around the entity's typical level, plus noise drawn from a
hash, :func:`_values`). So a world costs a few microseconds to build, and only a call to
``fetch_dataset_values`` (or a batch job) reveals its numbers.

The tools
---------
================================== ======= ==================================================
``find_numeric_dataset``            1       a dataset's id, unit and size by (part of) its title
``fetch_dataset_values``            1       the labelled values of a dataset id
``compute_descriptive_statistics``  0       count, sum, mean, median, stdev, min, max of values
``compute_percentage_change``       0       change and percentage change from one value to another
``convert_measurement_unit``        0       length, mass, energy and temperature conversions
``round_numeric_value``             0       rounds to N decimals (half up, half even, floor...)
``factorize_integer``               0       prime factorisation of an integer up to 10^12
``run_batch_statistics``            3       one statistic over 2-18 datasets of one unit (a slow
                                            batch job over the stored values)
``compute_dataset_correlation``     2       Pearson correlation of two datasets of equal length
================================== ======= ==================================================

(the middle column is the declared latency in rounds: pure arithmetic answers on the next
turn, reading the data store takes a round, batch jobs over stored series take 2-3.)

State
-----
No tool writes: the arithmetic tools are pure functions of their arguments, and the dataset
tools recompute a dataset's values from ``seed`` whenever they need them, so the world's
:class:`~asynctool_env.core.state.WorldState` stays empty and any interleaving of tasks gets
the same responses. Batch report ids are hashes of the request (:func:`stable_id`). Dataset
ids are world-specific hashes, and the values, and every statistic of them, exist only in
responses, so each later step of a template needs a value that an earlier response revealed
(an id, a series, a mean, a sum).

The templates
-------------
======================== ===== =================================================================
``statistic_in_unit``     4     find -> fetch -> statistics -> convert the mean/median/max/min
                                into another unit (the conversion joins the statistic and the
                                fetched unit: 0 -> 1 -> 2, {1, 2} -> 3)
``change_between_labels`` 3     fetch a dataset *given by id* -> percentage change between two
                                labels -> round (a chain; the id is a constant for lookups)
``compare_two``           4     two finds (parallel) -> batch statistic of both (fan-in) ->
                                percentage change from the first to the second
``total_factors``         4     find -> fetch -> statistics -> factorise the (integer) sum
``latest_vs_average``     5     find -> fetch -> statistics; percentage change from the mean to
                                the latest value (joins fetch and statistics) -> round
``monthly_correlation``   3     two finds (parallel) -> correlation of the two series (fan-in)
``rank_three``            4     three finds (parallel) -> batch statistic of all three (fan-in)
======================== ===== =================================================================

Evolution hooks
---------------
Lookups: a constant ``dataset_id`` (or ``dataset_a``/``dataset_b``) is revealed by
``find_numeric_dataset`` of the dataset's title. Follow-ups, each asking for the value it
adds: fetch after a find (the latest value), statistics after a fetch by a stated id (the
standard deviation), rounding a statistic. Side step: a dataset's id by its title. No rule
works on constants of the instruction alone (converting, rounding or factorising a number the
instruction gives): a model could answer those without any tool.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from typing import Any

import numpy as np

from asynctool_env.core.scenario import (
    FollowUpRule,
    LookupRule,
    Scenario,
    SideStepRule,
    StepSpec,
    TaskSpec,
    is_constant,
    stable_id,
    world_digest,
)
from asynctool_env.core.state import WorldState
from asynctool_env.core.tools import ToolError, tool


@dataclass(frozen=True)
class Entity:
    """One thing a family measures: its name and the shape of its series."""

    name: str
    level: float  # typical value
    amplitude: float  # seasonal / weekly swing around the level (or trend over the series)
    peak: int  # index of the peak of the swing
    noise: float  # absolute noise, +/-


@dataclass(frozen=True)
class Family:
    """A kind of dataset (static data, the same in every world)."""

    key: str
    title: str  # with an {entity} slot
    unit: str
    frequency: str  # "monthly", "daily" or "weekly"
    decimals: int  # 0: whole numbers
    floor: float  # no value below it
    entities: tuple[Entity, ...]


MONTHS: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAILY_START = dt.date(2025, 6, 2)  # a Monday
N_DAILY = 14
N_WEEKLY = 10
_FIRST_WEEK = 14

#: The dataset families; a world holds three entities of each.
FAMILIES: tuple[Family, ...] = (
    Family(
        "rainfall",
        "Monthly rainfall in {entity}",
        "mm",
        "monthly",
        1,
        0.5,
        (
            Entity("Lisbon", 62, 52, 11, 12),
            Entity("Dublin", 64, 14, 0, 10),
            Entity("Seattle", 80, 62, 11, 14),
            Entity("Oslo", 70, 25, 7, 12),
            Entity("Vancouver", 96, 80, 10, 15),
            Entity("Cape Town", 48, 40, 6, 9),
        ),
    ),
    Family(
        "temperature",
        "Monthly mean temperature in {entity}",
        "degC",
        "monthly",
        1,
        -60,
        (
            Entity("Oslo", 6.5, 10.5, 6, 1.2),
            Entity("Madrid", 15.0, 10.0, 6, 1.0),
            Entity("Toronto", 9.0, 13.0, 6, 1.4),
            Entity("Sydney", 18.5, 4.5, 0, 0.8),
            Entity("Tokyo", 16.0, 10.5, 7, 0.9),
            Entity("Chicago", 10.5, 14.0, 6, 1.5),
        ),
    ),
    Family(
        "electricity",
        "Monthly electricity use of {entity}",
        "kWh",
        "monthly",
        0,
        100,
        (
            Entity("Harbor Office Tower", 42000, 8000, 6, 1500),
            Entity("Northside Library", 9800, 1800, 0, 500),
            Entity("Elm Street School", 15500, 4200, 0, 700),
            Entity("Riverside Clinic", 23000, 3100, 7, 900),
            Entity("City Hall Annex", 12100, 2000, 1, 600),
            Entity("Westgate Data Center", 310000, 21000, 7, 6000),
        ),
    ),
    Family(
        "visitors",
        "Daily visitors at {entity}",
        "visitors",
        "daily",
        0,
        50,
        (
            Entity("the Louvre", 24000, 5500, 5, 1800),
            Entity("the British Museum", 16000, 3800, 5, 1300),
            Entity("the Prado", 9000, 2400, 6, 800),
            Entity("the Rijksmuseum", 8000, 2100, 5, 700),
            Entity("the Uffizi", 6200, 1500, 6, 500),
            Entity("the Met", 15000, 4000, 5, 1200),
        ),
    ),
    Family(
        "distance",
        "Daily running distance of {entity}",
        "km",
        "daily",
        2,
        1.0,
        (
            Entity("Kenji Mori", 12.0, 6.0, 6, 2.5),
            Entity("Ana Costa", 8.0, 4.0, 5, 1.8),
            Entity("Liam Byrne", 15.0, 7.0, 6, 3.0),
            Entity("Priya Nair", 10.0, 5.0, 6, 2.0),
            Entity("Sven Olsen", 18.0, 9.0, 5, 3.5),
            Entity("Grace Mwangi", 21.0, 10.0, 6, 4.0),
        ),
    ),
    Family(
        "freight",
        "Weekly freight shipped from {entity}",
        "kg",
        "weekly",
        0,
        1000,
        (
            Entity("Rotterdam Depot", 184000, 30000, 9, 14000),
            Entity("Memphis Hub", 260000, -40000, 9, 20000),
            Entity("Leipzig Hub", 150000, 25000, 9, 11000),
            Entity("Singapore DC", 120000, 18000, 9, 9000),
            Entity("Dallas Crossdock", 98000, -15000, 9, 8000),
            Entity("Antwerp Terminal", 140000, 22000, 9, 10000),
        ),
    ),
)
PER_FAMILY = 3
_ENTITIES = 6  # entities per family (all families have as many)
assert all(len(family.entities) == _ENTITIES for family in FAMILIES)
#: Families whose values are always positive (percentage changes make sense).
_POSITIVE = ("rainfall", "electricity", "visitors", "distance", "freight")
#: Families of whole numbers (sums can be factorised).
_INTEGRAL = ("electricity", "visitors", "freight")
#: Unit conversions a template may ask for, by the dataset unit.
_TARGETS: dict[str, tuple[str, ...]] = {
    "mm": ("in", "cm"),
    "degC": ("degF", "K"),
    "kWh": ("MJ", "GJ", "MWh"),
    "km": ("mi", "m"),
    "kg": ("lb", "t"),
}
_STATISTICS = ("mean", "median", "stdev", "min", "max", "sum", "range")
MAX_VALUES = 10000
MAX_FACTOR = 10**12
MAX_MAGNITUDE = 1e15  # numbers the arithmetic tools accept


@dataclass(frozen=True)
class NumbersWorld:
    """The state the number tools work on (see the module docstring).

    Attributes:
        seed: Seeds every derived detail (the values of each dataset).
        datasets: ``(family index, entity index)`` of each dataset, family by family.
        ids: ``DS-XXXXXX`` id of each dataset, in the order of ``datasets``.
        state: Always empty (no tool writes).
    """

    seed: int
    datasets: tuple[tuple[int, int], ...]
    ids: tuple[str, ...]
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)

    def title(self, index: int) -> str:
        family, entity = self.datasets[index]
        return FAMILIES[family].title.format(entity=FAMILIES[family].entities[entity].name)

    def family(self, index: int) -> Family:
        return FAMILIES[self.datasets[index][0]]


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=64)


def make_world(rng: np.random.Generator) -> NumbersWorld:
    """A world drawn from ``rng`` only: three entities per family, ids, a seed."""
    draws = rng.random(len(FAMILIES) * _ENTITIES + 1)
    seed = int(draws[-1] * 2**52)
    chosen = np.argsort(draws[:-1].reshape(len(FAMILIES), _ENTITIES), axis=1)[:, :PER_FAMILY]
    datasets = tuple((f, e) for f, row in enumerate(chosen.tolist()) for e in row)
    bits = _digest(seed, "ids")  # 3 bytes per dataset id
    codes = [int.from_bytes(bits[3 * n : 3 * n + 3], "big") for n in range(len(datasets))]
    while len(set(codes)) < len(codes):  # practically never
        codes = [(code + n) % 0xFFFFFF for n, code in enumerate(codes)]
    ids = tuple(f"DS-{code:06X}" for code in codes)
    return NumbersWorld(seed=seed, datasets=datasets, ids=ids)


# -- pure helpers ---------------------------------------------------------------------------


def _labels(family: Family) -> list[str]:
    if family.frequency == "monthly":
        return list(MONTHS)
    if family.frequency == "daily":
        return [(_DAILY_START + dt.timedelta(days=d)).isoformat() for d in range(N_DAILY)]
    return [f"2025-W{_FIRST_WEEK + w:02d}" for w in range(N_WEEKLY)]


def _values(world: NumbersWorld, index: int) -> list[float] | list[int]:
    """The values of dataset ``index`` (a pure function of the world)."""
    f, e = world.datasets[index]
    family = FAMILIES[f]
    entity = family.entities[e]
    n = len(_labels(family))
    bits = _digest(world.seed, "values", f, e)
    values: list[Any] = []
    for i in range(n):
        if family.frequency == "monthly":
            shape = math.cos(2 * math.pi * (i - entity.peak) / 12)
        elif family.frequency == "daily":
            shape = math.cos(2 * math.pi * (i - entity.peak) / 7)
        else:  # a trend over the weeks
            shape = (i - (n - 1) / 2) / (n - 1)
        noise = entity.noise * (2 * bits[i] / 255 - 1)
        value = max(family.floor, entity.level + entity.amplitude * shape + noise)
        values.append(round(value) if family.decimals == 0 else round(value, family.decimals))
    return values


def _dataset_index(world: NumbersWorld, dataset_id: str) -> int:
    wanted = dataset_id.strip().upper()
    if wanted in world.ids:
        return world.ids.index(wanted)
    raise ToolError(
        f"unknown dataset_id {dataset_id!r}; use a dataset_id returned by find_numeric_dataset"
    )


def _finite(value: float, role: str) -> float:
    if not (math.isfinite(value) and abs(value) <= MAX_MAGNITUDE):
        raise ToolError(f"{role} must be a finite number between -1e15 and 1e15, got {value}")
    return value


def _round_significant(value: float) -> float:
    """4 decimals, or 4 significant digits for smaller values (1 mm is 6.214e-07 mi,
    not 0)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, max(4, 3 - math.floor(math.log10(abs(value)))))


def _clean(number: float) -> float:
    """Round away float noise (12 significant digits) so results read well."""
    return float(f"{number:.12g}")


def _statistics(values: Sequence[float]) -> dict[str, Any]:
    whole = all(float(value).is_integer() for value in values)
    total = sum(values)
    return {
        "count": len(values),
        "sum": round(total) if whole else round(total, 6),
        "mean": round(statistics.fmean(values), 4),
        "median": round(statistics.median(values), 4),
        "stdev": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
        "min": _clean(min(values)),
        "max": _clean(max(values)),
        "range": round(max(values) - min(values), 6),
    }


# -- units ----------------------------------------------------------------------------------

#: Linear units: dimension and size in the dimension's base unit.
_LINEAR: dict[str, tuple[str, float]] = {
    "mm": ("length", 0.001),
    "cm": ("length", 0.01),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "in": ("length", 0.0254),
    "ft": ("length", 0.3048),
    "mi": ("length", 1609.344),
    "g": ("mass", 0.001),
    "kg": ("mass", 1.0),
    "t": ("mass", 1000.0),
    "lb": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125),
    "Wh": ("energy", 3600.0),
    "kWh": ("energy", 3.6e6),
    "MWh": ("energy", 3.6e9),
    "kJ": ("energy", 1e3),
    "MJ": ("energy", 1e6),
    "GJ": ("energy", 1e9),
}
_TEMPERATURE = ("degC", "degF", "K")
_ALIASES: dict[str, str] = {
    **{unit.casefold(): unit for unit in _LINEAR},  # "mwh" means MWh here
    "millimetre": "mm",
    "millimeter": "mm",
    "centimetre": "cm",
    "centimeter": "cm",
    "metre": "m",
    "meter": "m",
    "kilometre": "km",
    "kilometer": "km",
    "inch": "in",
    "inches": "in",
    "foot": "ft",
    "feet": "ft",
    "mile": "mi",
    "miles": "mi",
    "gram": "g",
    "kilogram": "kg",
    "tonne": "t",
    "tonnes": "t",
    "pound": "lb",
    "pounds": "lb",
    "lbs": "lb",
    "ounce": "oz",
    "degc": "degC",
    "°c": "degC",
    "c": "degC",
    "celsius": "degC",
    "degf": "degF",
    "°f": "degF",
    "f": "degF",
    "fahrenheit": "degF",
    "k": "K",
    "kelvin": "K",
}


def _unit(value: str, role: str) -> str:
    unit = _ALIASES.get(value.strip().casefold())
    if unit is None:
        known = ", ".join([*_LINEAR, *_TEMPERATURE])
        raise ToolError(f"unknown {role} {value!r}; supported units: {known}")
    return unit


def _to_kelvin(value: float, unit: str) -> float:
    if unit == "degC":
        return value + 273.15
    if unit == "degF":
        return (value - 32) * 5 / 9 + 273.15
    return value


def _from_kelvin(value: float, unit: str) -> float:
    if unit == "degC":
        return value - 273.15
    if unit == "degF":
        return (value - 273.15) * 9 / 5 + 32
    return value


# -- tools ----------------------------------------------------------------------------------


@tool(latency=1, canonical={"name": "keyword"})
def find_numeric_dataset(world: NumbersWorld, name: str) -> dict[str, Any]:
    """Find a numeric dataset by its title (or a part of it that only one title contains).

    Args:
        name: Title of the dataset or a distinctive part of it, e.g. "Monthly rainfall in Lisbon".
    """
    wanted = " ".join(name.split()).casefold()
    if not wanted:
        raise ToolError("name must not be empty")
    titles = [world.title(i) for i in range(len(world.ids))]
    matches = [i for i, title in enumerate(titles) if title.casefold() == wanted]
    if not matches:
        matches = [i for i, title in enumerate(titles) if wanted in title.casefold()]
    if len(matches) > 1:
        candidates = "; ".join(titles[i] for i in matches)
        raise ToolError(f"{name!r} matches several datasets ({candidates}); be more specific")
    if not matches:
        raise ToolError(f"no dataset matches {name!r}; available datasets: {'; '.join(titles)}")
    index = matches[0]
    family = world.family(index)
    labels = _labels(family)
    return {
        "dataset_id": world.ids[index],
        "title": titles[index],
        "unit": family.unit,
        "frequency": family.frequency,
        "count": len(labels),
        "first_label": labels[0],
        "last_label": labels[-1],
    }


@tool(latency=1, canonical={"dataset_id": "symbol"})
def fetch_dataset_values(world: NumbersWorld, dataset_id: str) -> dict[str, Any]:
    """Fetch the labelled values of a numeric dataset, oldest first.

    Args:
        dataset_id: A dataset_id returned by find_numeric_dataset, e.g. "DS-4F2A91".
    """
    index = _dataset_index(world, dataset_id)
    family = world.family(index)
    values = _values(world, index)
    return {
        "dataset_id": world.ids[index],
        "title": world.title(index),
        "unit": family.unit,
        "labels": _labels(family),
        "values": values,
        "count": len(values),
        "first_value": values[0],
        "last_value": values[-1],
    }


@tool(latency=0)
def compute_descriptive_statistics(world: NumbersWorld, values: list[float]) -> dict[str, Any]:
    """Compute count, sum, mean, median, sample standard deviation, min, max and range.

    Args:
        values: The numbers, 1 to 10000 of them (e.g. the values of fetch_dataset_values).
    """
    if not 1 <= len(values) <= MAX_VALUES:
        raise ToolError(f"values must hold 1 to {MAX_VALUES} numbers, got {len(values)}")
    for value in values:
        _finite(value, "every value")
    return _statistics(values)


@tool(latency=0)
def compute_percentage_change(
    world: NumbersWorld, old_value: float, new_value: float
) -> dict[str, Any]:
    """Compute the absolute and percentage change from an old value to a new one.

    Args:
        old_value: The reference (earlier) value; must not be 0.
        new_value: The value to compare with it.
    """
    old = _finite(old_value, "old_value")
    new = _finite(new_value, "new_value")
    if old == 0:
        raise ToolError("old_value must not be 0: a percentage change from 0 is undefined")
    change = new - old
    return {
        "old_value": old,
        "new_value": new,
        "change": _clean(round(change, 6)),
        "percent_change": round(change / abs(old) * 100, 4),
        "direction": "increase" if change > 0 else "decrease" if change < 0 else "unchanged",
    }


@tool(latency=0)
def convert_measurement_unit(
    world: NumbersWorld, value: float, from_unit: str, to_unit: str
) -> dict[str, Any]:
    """Convert a measurement between units of length, mass, energy or temperature.

    Args:
        value: The measurement.
        from_unit: Its unit: mm, cm, m, km, in, ft, mi, g, kg, t, lb, oz, Wh, kWh, MWh, kJ, MJ,
            GJ, degC, degF or K.
        to_unit: The wanted unit (same dimension), e.g. "in" for a value in "mm".
    """
    amount = _finite(value, "value")
    source, target = _unit(from_unit, "from_unit"), _unit(to_unit, "to_unit")
    if source in _TEMPERATURE or target in _TEMPERATURE:
        if not (source in _TEMPERATURE and target in _TEMPERATURE):
            raise ToolError(f"cannot convert {source} to {target}: different dimensions")
        kelvin = _to_kelvin(amount, source)
        if kelvin < 0:
            raise ToolError(f"{amount} {source} is below absolute zero")
        converted, dimension = _from_kelvin(kelvin, target), "temperature"
    else:
        (dimension, size), (other, target_size) = _LINEAR[source], _LINEAR[target]
        if dimension != other:
            raise ToolError(
                f"cannot convert {source} ({dimension}) to {target} ({other}): different dimensions"
            )
        converted = amount * size / target_size
    return {
        "value": _clean(_round_significant(converted)),
        "unit": target,
        "from_value": amount,
        "from_unit": source,
        "dimension": dimension,
    }


_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "floor": ROUND_FLOOR,
    "ceiling": ROUND_CEILING,
    "down": ROUND_DOWN,
    "up": ROUND_UP,
}


@tool(latency=0, canonical={"mode": "keyword"})
def round_numeric_value(
    world: NumbersWorld, value: float, decimals: int = 0, mode: str = "half_up"
) -> dict[str, Any]:
    """Round a number to a given number of decimal places (negative: to tens, hundreds...).

    Args:
        value: The number to round.
        decimals: Decimal places to keep, -6 to 10 (e.g. 2 gives 3.14, -2 gives 1200).
        mode: half_up (default), half_even, floor, ceiling, down (toward zero) or up.
    """
    number = _finite(value, "value")
    if not -6 <= decimals <= 10:
        raise ToolError(f"decimals must be between -6 and 10, got {decimals}")
    rounding = _MODES.get(mode.strip().lower())
    if rounding is None:
        raise ToolError(f"unknown mode {mode!r}; use one of: {', '.join(_MODES)}")
    try:
        exact = Decimal(repr(number)).quantize(Decimal(1).scaleb(-decimals), rounding=rounding)
    except InvalidOperation:
        raise ToolError(f"{number} is too large to round to {decimals} decimals") from None
    rounded: float | int = int(exact) if decimals <= 0 else float(exact)
    return {
        "value": rounded,
        "text": f"{exact:f}" if decimals > 0 else str(int(exact)),
        "original": number,
        "decimals": decimals,
        "mode": mode.strip().lower(),
    }


@tool(latency=0)
def factorize_integer(world: NumbersWorld, number: int) -> dict[str, Any]:
    """Factorise a whole number into primes.

    Args:
        number: A whole number from 2 to 10^12.
    """
    if not 2 <= number <= MAX_FACTOR:
        raise ToolError(f"number must be between 2 and {MAX_FACTOR}, got {number}")
    rest, factors = number, []
    for prime in (2, 3):
        while rest % prime == 0:
            factors.append(prime)
            rest //= prime
    candidate = 5
    while candidate * candidate <= rest:
        for prime in (candidate, candidate + 2):
            while rest % prime == 0:
                factors.append(prime)
                rest //= prime
        candidate += 6
    if rest > 1:
        factors.append(rest)
    powers = [(p, factors.count(p)) for p in sorted(set(factors))]
    return {
        "number": number,
        "prime_factors": factors,
        "factorization": " * ".join(f"{p}^{k}" if k > 1 else str(p) for p, k in powers),
        "distinct_primes": [p for p, _ in powers],
        "is_prime": factors == [number],
        "divisor_count": math.prod(k + 1 for _, k in powers),
    }


@tool(latency=3, canonical={"dataset_ids": "list:symbol", "statistic": "keyword"})
def run_batch_statistics(
    world: NumbersWorld, dataset_ids: list[str], statistic: str
) -> dict[str, Any]:
    """Run a batch job computing one statistic over several datasets measured in the same unit.

    Args:
        dataset_ids: 2 to 18 different dataset_ids from find_numeric_dataset, in the order
            wanted.
        statistic: mean, median, stdev, min, max, sum or range.
    """
    wanted = statistic.strip().lower()
    if wanted not in _STATISTICS:
        raise ToolError(f"unknown statistic {statistic!r}; use one of: {', '.join(_STATISTICS)}")
    indexes = [_dataset_index(world, dataset_id) for dataset_id in dataset_ids]
    if not 2 <= len(indexes) <= len(world.ids) or len(set(indexes)) != len(indexes):
        raise ToolError(
            f"dataset_ids must name 2 to {len(world.ids)} different datasets, "
            f"got {len(dataset_ids)} ids for {len(set(indexes))} datasets"
        )
    units = sorted({world.family(i).unit for i in indexes})
    if len(units) > 1:
        raise ToolError(f"a batch compares datasets of one unit; these use {', '.join(units)}")
    results = [
        {
            "dataset_id": world.ids[i],
            "title": world.title(i),
            "value": _statistics(_values(world, i))[wanted],
        }
        for i in indexes
    ]
    ranked = sorted(results, key=lambda row: (row["value"], row["dataset_id"]))
    return {
        "report_id": stable_id("RPT", world.seed, [world.ids[i] for i in indexes], wanted),
        "statistic": wanted,
        "unit": units[0],
        "results": results,
        "highest": ranked[-1],
        "lowest": ranked[0],
    }


@tool(latency=2, canonical={"dataset_a": "symbol", "dataset_b": "symbol"})
def compute_dataset_correlation(
    world: NumbersWorld, dataset_a: str, dataset_b: str
) -> dict[str, Any]:
    """Compute the Pearson correlation between two datasets of the same length, pairwise.

    Args:
        dataset_a: A dataset_id from find_numeric_dataset.
        dataset_b: Another dataset_id with as many values (e.g. two monthly datasets).
    """
    a, b = _dataset_index(world, dataset_a), _dataset_index(world, dataset_b)
    if a == b:
        raise ToolError("dataset_a and dataset_b must be two different datasets")
    xs, ys = _values(world, a), _values(world, b)
    if len(xs) != len(ys):
        raise ToolError(
            f"the datasets have {len(xs)} and {len(ys)} values; correlation needs series of "
            "the same length (e.g. two monthly datasets)"
        )
    try:
        r = statistics.correlation(xs, ys)
    except statistics.StatisticsError:
        raise ToolError("one of the datasets is constant: its correlation is undefined") from None
    strength = "strong" if abs(r) >= 0.7 else "moderate" if abs(r) >= 0.4 else "weak"
    return {
        "dataset_a": world.ids[a],
        "dataset_b": world.ids[b],
        "n": len(xs),
        "pearson_r": round(r, 4),
        "r_squared": round(r * r, 4),
        "strength": f"{strength} {'positive' if r >= 0 else 'negative'}",
    }


# -- templates ------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _pick(world: NumbersWorld, rng: np.random.Generator, families: Sequence[str]) -> int:
    """A dataset of one of ``families``."""
    return _choice(rng, [i for i in range(len(world.ids)) if world.family(i).key in families])


def _places(decimals: int) -> str:
    return f"{decimals} decimal place" + ("" if decimals == 1 else "s")


def _family_members(world: NumbersWorld, family: str) -> list[int]:
    return [i for i in range(len(world.ids)) if world.family(i).key == family]


def _pair(world: NumbersWorld, rng: np.random.Generator, families: Sequence[str]) -> list[int]:
    """Two datasets of the same family (so of the same unit), in random order."""
    members = _family_members(world, _choice(rng, families))
    return [members[int(i)] for i in rng.permutation(len(members))[:2]]


def _ranked(world: NumbersWorld, indexes: Sequence[int], stat: str) -> dict[str, Any]:
    """What a batch statistics job over ``indexes`` answers (its ``highest`` and ``lowest``)."""
    return run_batch_statistics.function(
        world, dataset_ids=[world.ids[i] for i in indexes], statistic=stat
    )


def statistic_in_unit(world: NumbersWorld, rng: np.random.Generator) -> TaskSpec:
    """Find, fetch, summarise, convert one statistic (4 steps; the conversion joins 1 and 2)."""
    index = _pick(world, rng, tuple(f.key for f in FAMILIES if f.unit in _TARGETS))
    family = world.family(index)
    stat = _choice(rng, ("mean", "median", "max", "min"))
    target = _choice(rng, _TARGETS[family.unit])
    title = world.title(index)
    return TaskSpec(
        instruction=(
            f'Find the dataset "{title}", fetch its values, compute their {stat} and convert '
            f"that {stat} from the dataset's unit into {target}. Tell me the converted value."
        ),
        steps=(
            StepSpec("find_numeric_dataset", {"name": title}),
            StepSpec("fetch_dataset_values", {"dataset_id": "${s0.dataset_id}"}),
            StepSpec("compute_descriptive_statistics", {"values": "${s1.values}"}),
            StepSpec(
                "convert_measurement_unit",
                {"value": f"${{s2.{stat}}}", "from_unit": "${s1.unit}", "to_unit": target},
            ),
        ),
        answer="${s3.value} ${s3.unit}",
    )


def change_between_labels(world: NumbersWorld, rng: np.random.Generator) -> TaskSpec:
    """Fetch a dataset given by id, percentage change between two labels, round (3, chain)."""
    index = _pick(world, rng, _POSITIVE)
    labels = _labels(world.family(index))
    first, second = sorted(int(i) for i in rng.permutation(len(labels))[:2])
    decimals = int(rng.integers(3))
    return TaskSpec(
        instruction=(
            f"Fetch the values of {world.ids[index]} and compute the percentage change from "
            f"its {labels[first]} value to its {labels[second]} value. Round the percentage "
            f"to {_places(decimals)} and tell me the result."
        ),
        steps=(
            StepSpec("fetch_dataset_values", {"dataset_id": world.ids[index]}),
            StepSpec(
                "compute_percentage_change",
                {"old_value": f"${{s0.values.{first}}}", "new_value": f"${{s0.values.{second}}}"},
            ),
            StepSpec(
                "round_numeric_value",
                {"value": "${s1.percent_change}", "decimals": decimals},
            ),
        ),
        answer="${s2.text}%",
    )


def compare_two(world: NumbersWorld, rng: np.random.Generator) -> TaskSpec:
    """Two finds, one batch job over both, a percentage change (4 steps, fan-in)."""
    a, b = _pair(world, rng, _POSITIVE)
    stat = _choice(rng, ("mean", "median", "max", "sum"))
    first, second = world.title(a), world.title(b)
    return TaskSpec(
        instruction=(
            f'Compare the {stat} of "{first}" with that of "{second}": run a batch statistics '
            f"job ({stat}) over both datasets, in that order, then compute the percentage "
            f"change from the first dataset's {stat} to the second's. Tell me which dataset "
            "has the higher value and the percentage change."
        ),
        steps=(
            StepSpec("find_numeric_dataset", {"name": first}),
            StepSpec("find_numeric_dataset", {"name": second}),
            StepSpec(
                "run_batch_statistics",
                {"dataset_ids": ["${s0.dataset_id}", "${s1.dataset_id}"], "statistic": stat},
            ),
            StepSpec(
                "compute_percentage_change",
                {"old_value": "${s2.results.0.value}", "new_value": "${s2.results.1.value}"},
            ),
        ),
        # The higher dataset is a choice between the two titles the instruction names (a
        # reference to a title it states would ask for nothing), then the change.
        answer=f"{_ranked(world, [a, b], stat)['highest']['title']}; ${{s3.percent_change}}%",
        options=(first, second),
    )


def total_factors(world: NumbersWorld, rng: np.random.Generator) -> TaskSpec:
    """Find, fetch, summarise, factorise the sum (4 steps, a chain)."""
    index = _pick(world, rng, _INTEGRAL)
    title = world.title(index)
    return TaskSpec(
        instruction=(
            f'Fetch the values of the dataset "{title}", compute their total (sum) and factorise '
            "that total into primes. Tell me the total and its prime factorisation."
        ),
        steps=(
            StepSpec("find_numeric_dataset", {"name": title}),
            StepSpec("fetch_dataset_values", {"dataset_id": "${s0.dataset_id}"}),
            StepSpec("compute_descriptive_statistics", {"values": "${s1.values}"}),
            StepSpec("factorize_integer", {"number": "${s2.sum}"}),
        ),
        answer="${s2.sum} = ${s3.factorization}",
    )


def latest_vs_average(world: NumbersWorld, rng: np.random.Generator) -> TaskSpec:
    """Latest value against the mean, rounded (5 steps; step 3 joins fetch and statistics)."""
    index = _pick(world, rng, _POSITIVE)
    title = world.title(index)
    decimals = 1 + int(rng.integers(2))
    mode = _choice(rng, ("half_up", "half_even"))
    return TaskSpec(
        instruction=(
            f'For the dataset "{title}": fetch its values, compute their mean, then the '
            "percentage change from the mean to the latest (last) value. Round that percentage "
            f"to {_places(decimals)} ({mode.replace('_', ' ')} rounding) and tell me the result."
        ),
        steps=(
            StepSpec("find_numeric_dataset", {"name": title}),
            StepSpec("fetch_dataset_values", {"dataset_id": "${s0.dataset_id}"}),
            StepSpec("compute_descriptive_statistics", {"values": "${s1.values}"}),
            StepSpec(
                "compute_percentage_change",
                {"old_value": "${s2.mean}", "new_value": "${s1.last_value}"},
            ),
            StepSpec(
                "round_numeric_value",
                {"value": "${s3.percent_change}", "decimals": decimals, "mode": mode},
            ),
        ),
        answer="${s4.text}%",
    )


def monthly_correlation(world: NumbersWorld, rng: np.random.Generator) -> TaskSpec:
    """Two finds in parallel, joined by a correlation job (3 steps, fan-in)."""
    monthly = [i for i in range(len(world.ids)) if world.family(i).frequency == "monthly"]
    a = _choice(rng, monthly)
    b = _choice(rng, [i for i in monthly if world.datasets[i][0] != world.datasets[a][0]])
    first, second = world.title(a), world.title(b)
    return TaskSpec(
        instruction=(
            f'How strongly are "{first}" and "{second}" correlated month by month? Look both '
            "datasets up and compute their Pearson correlation; tell me r and its strength."
        ),
        steps=(
            StepSpec("find_numeric_dataset", {"name": first}),
            StepSpec("find_numeric_dataset", {"name": second}),
            StepSpec(
                "compute_dataset_correlation",
                {"dataset_a": "${s0.dataset_id}", "dataset_b": "${s1.dataset_id}"},
            ),
        ),
        answer="${s2.pearson_r} (${s2.strength})",
    )


def rank_three(world: NumbersWorld, rng: np.random.Generator) -> TaskSpec:
    """Three finds in parallel, one batch job over all three (4 steps, fan-in)."""
    family = _choice(rng, FAMILIES).key
    order = [int(i) for i in rng.permutation(_family_members(world, family))]
    titles = [world.title(i) for i in order]
    stat = _choice(rng, ("mean", "median", "max", "min", "stdev", "range"))
    which = _choice(rng, ("highest", "lowest"))
    return TaskSpec(
        instruction=(
            f'Which of "{titles[0]}", "{titles[1]}" and "{titles[2]}" has the {which} {stat}? '
            f"Look the three datasets up and run one batch statistics job ({stat}) over them; "
            "answer with the dataset's title and the value."
        ),
        steps=(
            *(StepSpec("find_numeric_dataset", {"name": title}) for title in titles),
            StepSpec(
                "run_batch_statistics",
                {
                    "dataset_ids": ["${s0.dataset_id}", "${s1.dataset_id}", "${s2.dataset_id}"],
                    "statistic": stat,
                },
            ),
        ),
        answer=f"{_ranked(world, order, stat)[which]['title']}; ${{s3.{which}.value}}",
        options=tuple(titles),
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_dataset(world: NumbersWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant dataset id -> find_numeric_dataset by the dataset's title."""
    if not isinstance(value, str) or value.strip().upper() not in world.ids:
        return None
    title = world.title(world.ids.index(value.strip().upper()))
    return {"name": title}, "dataset_id", f'the dataset "{title}"'


def _follow_fetch(
    world: NumbersWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str | None]:
    """Fetch a dataset the task only looked up, and ask for its latest value."""
    name = followed.arguments.get("name")
    if not is_constant(name):
        return None
    step = StepSpec("fetch_dataset_values", {"dataset_id": f"${{s{index}.dataset_id}}"})
    return (
        step,
        f'Then fetch the values of "{name}" and tell me its latest (last) value.',
        "last_value",
    )


def _follow_statistics(
    world: NumbersWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str | None]:
    """Summarise the values of a dataset fetched by an id the instruction states."""
    dataset_id = followed.arguments.get("dataset_id")
    if not is_constant(dataset_id):
        return None  # fetched by a looked-up id: which dataset is it?
    step = StepSpec("compute_descriptive_statistics", {"values": f"${{s{index}.values}}"})
    return (
        step,
        f"Then compute the descriptive statistics of the values of {dataset_id} and tell me "
        "their sample standard deviation.",
        "stdev",
    )


def _follow_round_statistic(
    world: NumbersWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """Round a statistic (a task computes one set of descriptive statistics at most). Not
    min, max or sum: those can be whole numbers that an instruction also happens to write."""
    stat = _choice(rng, ("mean", "median", "stdev"))
    decimals = int(rng.integers(3))
    step = StepSpec("round_numeric_value", {"value": f"${{s{index}.{stat}}}", "decimals": decimals})
    return (
        step,
        f"Then round the {stat} of the descriptive statistics to {_places(decimals)} and tell "
        "me the rounded value.",
        "value",
    )


def _side_find(world: NumbersWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    """Look a dataset up by title and ask for its id (the one value only a look-up gives:
    unit, size and labels follow from the title)."""
    title = world.title(int(rng.integers(len(world.ids))))
    step = StepSpec("find_numeric_dataset", {"name": title})
    return step, f'Also look up the dataset "{title}" and tell me its id.', "dataset_id"


SCENARIO = Scenario(
    name="number_operations",
    category="Number Operations",
    description=(
        "Look up named numeric datasets, fetch their values and compute statistics, "
        "percentage changes, unit conversions, rounding, prime factorisations, batch "
        "statistics and correlations."
    ),
    make_world=make_world,
    tools=(
        find_numeric_dataset,
        fetch_dataset_values,
        compute_descriptive_statistics,
        compute_percentage_change,
        convert_measurement_unit,
        round_numeric_value,
        factorize_integer,
        run_batch_statistics,
        compute_dataset_correlation,
    ),
    templates={
        "statistic_in_unit": statistic_in_unit,
        "change_between_labels": change_between_labels,
        "compare_two": compare_two,
        "total_factors": total_factors,
        "latest_vs_average": latest_vs_average,
        "monthly_correlation": monthly_correlation,
        "rank_three": rank_three,
    },
    lookups=(
        LookupRule("dataset_id", "find_numeric_dataset", _lookup_dataset),
        LookupRule("dataset_a", "find_numeric_dataset", _lookup_dataset),
        LookupRule("dataset_b", "find_numeric_dataset", _lookup_dataset),
    ),
    follow_ups=(
        FollowUpRule("find_numeric_dataset", _follow_fetch),
        FollowUpRule("fetch_dataset_values", _follow_statistics),
        FollowUpRule("compute_descriptive_statistics", _follow_round_statistic),
    ),
    side_steps=(SideStepRule("dataset_id", _side_find),),
)
