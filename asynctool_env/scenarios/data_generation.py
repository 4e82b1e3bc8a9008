"""Data Generation: seeded generators of test data (profiles, addresses, ids, samples).

The world
---------
A :class:`DataGenWorld` is a test-data service: four password policies out of
:data:`POLICY_NAMES` (each with world-specific rules and a ``POL-XXXXXX`` id), the eight
named distributions of :data:`DISTRIBUTIONS` (with world-specific parameters) and a
``seed``. Everything a generator returns (profiles, addresses, UUIDs, samples, passwords,
a test dataset's content) is a pure function of the world's ``seed`` and the call's
arguments, including the caller's own ``seed``, derived from a hash (:func:`_digest`,
:class:`_Stream`). So a world costs a few microseconds to build, the same call always
returns the same data, and no one can predict the data without calling the service. The
test datasets that were built are the world's state (see *State*).

The tools
---------
============================== ======= ======================================================
``generate_user_profiles``      1       1-20 fake user profiles of a locale from a seed
``generate_fake_address``       0       a postal address in a country from a seed
``generate_seeded_uuids``       0       1-50 UUIDs (version 4 format) in a namespace from a seed
``sample_named_distribution``   1       n samples of a named distribution, with their mean
``get_password_policy``         1       a password policy's id and rules by name
``generate_policy_password``    0       a password that satisfies a policy id, for a username
``start_test_dataset_build``    3       builds a test dataset of a schema (slow); returns its id
``get_test_dataset_summary``    1       columns, statistics, checksum and sample rows of an id
============================== ======= ======================================================

(the middle column is the declared latency in rounds: small generators answer on the next
turn, service look-ups take a round, building a dataset of up to a million rows three.)

State
-----
The generators (profiles, addresses, seeded UUIDs, distribution samples, password policies
and passwords) are pure reads: they compute their answer and change nothing. Building a
test dataset is the one write, kept in the world's
:class:`~asynctool_env.core.state.WorldState`:

* ``("dataset", TDS-id)``: every build started (its schema, row count, seed and status).

``get_test_dataset_summary`` reads the build from the state: only a dataset that was built
in this world has a summary (an id merely guessed, or built in another world, is unknown),
and the summary is computed from the stored request. Ids: the first build of a request
(schema, rows, seed) keeps the id it always had, which *encodes* the request, scrambled
with a world-specific key and followed by a check code (:func:`_encode_dataset`); building
the same request again is a second build with a new id (its check code also covers the
token that :meth:`~asynctool_env.core.state.WorldState.new_id` makes for the duplicate), of
the same data and checksum. The schema is stored in its declared spelling, rows and seed
as ints. Keying each build by its id keeps tasks apart: a summary reads only its own build,
so two tasks that build different datasets never touch a common object. Policy ids are
world-specific hashes checked by recomputation. Everything a later step needs (a policy id,
a dataset id, a generated username or country, a sampled count) exists only in an earlier
response.

The templates
-------------
========================== ===== ==============================================================
``policy_password``         2     get_password_policy -> generate_policy_password (a chain)
``profile_password``        2     profiles -> a password under a policy *given by id* for one
                                  profile's username (a chain; the id is a constant for lookups)
``dataset_summary``         2     start_test_dataset_build -> get_test_dataset_summary (a chain)
``user_onboarding``         4     profile and policy in parallel; a password for the profile's
                                  username (fan-in) and an address in its country (fan-out)
``dataset_with_ids``        3     build a dataset; its summary and UUIDs namespaced by its id,
                                  in parallel (fan-out)
``signup_batch``            2     sample the daily signups -> that many profiles (a chain)
========================== ===== ==============================================================

Evolution hooks
---------------
Lookups: a constant ``policy_id`` is revealed by ``get_password_policy`` of the policy's
name, a constant test ``dataset_id`` by the ``start_test_dataset_build`` call it encodes.
Follow-ups: a UUID in the new dataset's namespace after a build, an address in the first
profile's country after profiles, a password after a policy look-up. Side steps: a UUID, or
the mean of distribution samples. Every sentence names its referent by the arguments the
instruction states (the dataset's rows, schema and seed; the profiles' locale and seed; the
policy's name) and asks for the one value the new step adds to the answer.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
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


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=64)


class _Stream:
    """Uniform numbers in (0, 1) from a hash in counter mode (stable across platforms)."""

    def __init__(self, seed: int, *parts: object) -> None:
        self._seed = seed
        self._parts = parts
        self._block = 0
        self._buffer: list[float] = []

    def uniform(self) -> float:
        if not self._buffer:
            bits = _digest(self._seed, *self._parts, "block", self._block)
            self._block += 1
            self._buffer = [
                (int.from_bytes(bits[i : i + 8], "big") + 0.5) / 2**64 for i in range(56, -1, -8)
            ]
        return self._buffer.pop()

    def integer(self, n: int) -> int:
        """0 <= k < n."""
        return min(n - 1, int(self.uniform() * n))

    def choice(self, items: Sequence[Any]) -> Any:
        return items[self.integer(len(items))]

    def normal(self) -> float:
        """A standard normal draw (Box-Muller)."""
        u, v = self.uniform(), self.uniform()
        return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v)


# -- static catalogues ----------------------------------------------------------------------

#: Locale -> (country, ISO code, first names, last names, cities, e-mail domain).
LOCALES: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...], str]] = {
    "en_US": (
        "United States",
        "US",
        ("James", "Olivia", "Ethan", "Ava", "Mason", "Sophia", "Logan", "Harper"),
        ("Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Moore"),
        ("Springfield", "Austin", "Portland", "Denver", "Madison"),
        "example.com",
    ),
    "en_GB": (
        "United Kingdom",
        "GB",
        ("Oliver", "Amelia", "Harry", "Isla", "George", "Poppy", "Jack", "Freya"),
        ("Taylor", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Hughes", "Green"),
        ("Leeds", "Bristol", "York", "Brighton", "Glasgow"),
        "example.co.uk",
    ),
    "de_DE": (
        "Germany",
        "DE",
        ("Lukas", "Mia", "Leon", "Emma", "Finn", "Hannah", "Jonas", "Lea"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Wagner", "Hoffmann"),
        ("Berlin", "Hamburg", "Köln", "Leipzig", "Dresden"),
        "beispiel.de",
    ),
    "fr_FR": (
        "France",
        "FR",
        ("Louis", "Jade", "Gabriel", "Léa", "Hugo", "Chloé", "Arthur", "Manon"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy"),
        ("Lyon", "Nantes", "Lille", "Bordeaux", "Toulouse"),
        "exemple.fr",
    ),
    "es_ES": (
        "Spain",
        "ES",
        ("Hugo", "Lucía", "Mateo", "Sofía", "Pablo", "Martina", "Álvaro", "Carmen"),
        ("García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz"),
        ("Madrid", "Valencia", "Sevilla", "Bilbao", "Málaga"),
        "ejemplo.es",
    ),
    "it_IT": (
        "Italy",
        "IT",
        ("Leonardo", "Giulia", "Francesco", "Aurora", "Lorenzo", "Sofia", "Matteo", "Alice"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"),
        ("Milano", "Torino", "Bologna", "Firenze", "Napoli"),
        "esempio.it",
    ),
    "ja_JP": (
        "Japan",
        "JP",
        ("Haruto", "Yui", "Sota", "Hina", "Yuto", "Aoi", "Riku", "Sakura"),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Kato"),
        ("Tokyo", "Osaka", "Nagoya", "Sapporo", "Fukuoka"),
        "example.jp",
    ),
}
#: Country name or ISO code (case-folded) -> locale.
_COUNTRY_LOCALE: dict[str, str] = {
    key.casefold(): locale for locale, entry in LOCALES.items() for key in entry[:2]
}
_STREETS: tuple[str, ...] = (
    "Oak",
    "Maple",
    "Cedar",
    "Mill",
    "Station",
    "Church",
    "Park",
    "River",
    "Hill",
    "Lake",
)

#: Password policies a world draws four from: name -> (min length, max length, symbols).
POLICY_NAMES: dict[str, tuple[int, int, bool]] = {
    "corporate-standard": (12, 64, True),
    "banking-strict": (16, 64, True),
    "legacy-erp": (8, 12, False),
    "admin-console": (20, 128, True),
    "guest-wifi": (10, 32, False),
    "healthcare-portal": (14, 64, True),
}
N_POLICIES = 4
_SYMBOLS = "!@#$%^&*-_+=?"
_USERNAME = re.compile(r"^[a-z0-9._-]{3,32}$")
_POLICY_ID = re.compile(r"^POL-[0-9A-F]{6}$")


@dataclass(frozen=True)
class Distribution:
    """A named distribution (static data; each world jitters the parameters by up to 10%)."""

    name: str
    family: str  # normal, lognormal, exponential, poisson, categorical
    parameters: tuple[float, ...]
    unit: str
    decimals: int  # 0: whole numbers


#: The service's named distributions.
DISTRIBUTIONS: tuple[Distribution, ...] = (
    Distribution("checkout_amount_usd", "lognormal", (3.9, 0.6), "USD", 2),
    Distribution("session_length_minutes", "exponential", (7.5,), "minutes", 1),
    Distribution("sensor_temperature_c", "normal", (21.5, 1.4), "degC", 2),
    Distribution("daily_signups", "poisson", (9.0,), "signups", 0),
    Distribution("page_load_ms", "lognormal", (6.2, 0.35), "ms", 0),
    Distribution("support_rating", "categorical", (0.06, 0.08, 0.16, 0.35, 0.35), "stars", 0),
    Distribution("delivery_delay_hours", "exponential", (30.0,), "hours", 1),
    Distribution("basket_size_items", "poisson", (3.5,), "items", 0),
)
_DISTRIBUTION_BY_NAME = {distribution.name: distribution for distribution in DISTRIBUTIONS}
MAX_SAMPLES = 1000


@dataclass(frozen=True)
class Column:
    """A column of a test-data schema: name, kind and the values it may take."""

    name: str
    kind: str  # id, name, email, category, date, datetime, float, int, bool
    spec: tuple[Any, ...] = ()  # category values, or (low, high) for numbers and dates
    nullable: bool = False


#: Schemas a test dataset can be built from.
SCHEMAS: dict[str, tuple[Column, ...]] = {
    "customers": (
        Column("customer_id", "id", ("CUS",)),
        Column("full_name", "name"),
        Column("email", "email"),
        Column("country", "category", ("US", "GB", "DE", "FR", "ES", "IT", "JP")),
        Column("signup_date", "date", (2021, 2025)),
        Column("lifetime_value", "float", (0, 5000), True),
    ),
    "orders": (
        Column("order_id", "id", ("ORD",)),
        Column("customer_id", "id", ("CUS",)),
        Column("order_date", "date", (2024, 2025)),
        Column("amount", "float", (5, 900)),
        Column("status", "category", ("pending", "shipped", "delivered", "returned")),
    ),
    "sensor_readings": (
        Column("sensor_id", "category", tuple(f"S-{n:02d}" for n in range(1, 13))),
        Column("recorded_at", "datetime", (2025, 2025)),
        Column("temperature_c", "float", (15, 30)),
        Column("humidity_pct", "float", (20, 90)),
        Column("battery_pct", "int", (0, 100), True),
    ),
    "web_sessions": (
        Column("session_id", "id", ("SES",)),
        Column("user_id", "id", ("USR",)),
        Column("started_at", "datetime", (2025, 2025)),
        Column("duration_s", "int", (5, 3600)),
        Column("pages_viewed", "int", (1, 40)),
        Column("device", "category", ("desktop", "mobile", "tablet")),
    ),
    "payments": (
        Column("payment_id", "id", ("PAY",)),
        Column("order_id", "id", ("ORD",)),
        Column("method", "category", ("card", "paypal", "bank_transfer", "apple_pay")),
        Column("amount", "float", (5, 900)),
        Column("currency", "category", ("USD", "EUR", "GBP")),
        Column("status", "category", ("authorized", "captured", "refunded", "failed")),
    ),
    "support_tickets": (
        Column("ticket_id", "id", ("TKT",)),
        Column("created_at", "datetime", (2025, 2025)),
        Column("priority", "category", ("low", "normal", "high", "urgent")),
        Column("channel", "category", ("email", "chat", "phone")),
        Column("resolved", "bool"),
        Column("satisfaction", "int", (1, 5), True),
    ),
}
_SCHEMA_NAMES = tuple(SCHEMAS)
MAX_ROWS = 1_000_000
MAX_SEED = 2**32 - 1
_PROFILED_ROWS = 100
_DATASET_ID = re.compile(r"^TDS-([0-9A-F]{16})-([0-9A-F]{4})$")


@dataclass(frozen=True)
class DataGenWorld:
    """The state the generators work on (see the module docstring).

    Attributes:
        seed: Seeds every generated value (and the policies' and distributions' details).
        policies: Names of the world's four password policies.
        state: The test datasets built (see *State* in the module docstring).
    """

    seed: int
    policies: tuple[str, ...]
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)


def make_world(rng: np.random.Generator) -> DataGenWorld:
    """A world drawn from ``rng`` only: four password policies and a seed."""
    draws = rng.random(len(POLICY_NAMES) + 1).tolist()
    names = list(POLICY_NAMES)
    chosen = sorted(range(len(names)), key=draws.__getitem__)[:N_POLICIES]
    return DataGenWorld(seed=int(draws[-1] * 2**52), policies=tuple(names[i] for i in chosen))


# -- pure helpers ---------------------------------------------------------------------------


def _seed(seed: int) -> int:
    if not 0 <= seed <= MAX_SEED:
        raise ToolError(f"seed must be between 0 and {MAX_SEED}, got {seed}")
    return seed


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _locale(value: str) -> str:
    wanted = value.strip().replace("-", "_")
    for locale in LOCALES:
        if wanted.casefold() == locale.casefold():
            return locale
    raise ToolError(f"unknown locale {value!r}; supported locales: {', '.join(LOCALES)}")


def _policy(world: DataGenWorld, name: str) -> dict[str, Any]:
    """The world's rules of policy ``name`` (jittered from :data:`POLICY_NAMES`)."""
    low, high, symbols = POLICY_NAMES[name]
    bits = _digest(world.seed, "policy", name)
    allowed = "".join(char for n, char in enumerate(_SYMBOLS) if bits[8 + n] % 3) or "!"
    min_length = low + bits[1] % 3
    return {
        "policy_id": f"POL-{bits[:3].hex().upper()}",
        "name": name,
        "min_length": min_length,
        "max_length": max(high, min_length + 2),
        "require_uppercase": True,
        "require_lowercase": True,
        "min_digits": 1 + bits[4] % 2,
        "min_symbols": 1 + bits[5] % 2 if symbols else 0,
        "allowed_symbols": allowed if symbols else "",
        "forbid_username": True,
    }


def _policy_by_id(world: DataGenWorld, policy_id: str) -> dict[str, Any]:
    wanted = policy_id.strip().upper()
    if _POLICY_ID.match(wanted):
        for name in world.policies:
            policy = _policy(world, name)
            if policy["policy_id"] == wanted:
                return policy
    raise ToolError(
        f"unknown policy_id {policy_id!r}; use a policy_id returned by get_password_policy"
    )


def _sample(distribution: Distribution, parameters: list[float], stream: _Stream) -> float:
    family = distribution.family
    if family == "normal":
        return parameters[0] + parameters[1] * stream.normal()
    if family == "lognormal":
        return math.exp(parameters[0] + parameters[1] * stream.normal())
    if family == "exponential":
        return -parameters[0] * math.log(stream.uniform())
    if family == "poisson":  # Knuth's method; the rates here are small
        limit, k, product = math.exp(-parameters[0]), 0, stream.uniform()
        while product > limit:
            k += 1
            product *= stream.uniform()
        return float(k)
    u, total = stream.uniform(), 0.0  # categorical over 1..len(parameters)
    for k, weight in enumerate(parameters, start=1):
        total += weight
        if u <= total:
            return float(k)
    return float(len(parameters))


def _parameters(world: DataGenWorld, distribution: Distribution) -> list[float]:
    """The world's parameters of a distribution (each jittered by up to 10%)."""
    bits = _digest(world.seed, "distribution", distribution.name)
    jittered = [
        value * (0.9 + 0.2 * bits[n] / 255) for n, value in enumerate(distribution.parameters)
    ]
    if distribution.family == "categorical":
        total = sum(jittered)
        jittered = [value / total for value in jittered]
    return [round(value, 4) for value in jittered]


def _encode_dataset(
    world: DataGenWorld, schema: int, rows: int, seed: int, salt: tuple[str, ...] = ()
) -> str:
    """The id of a build: the request, scrambled with a key that its check code selects.
    ``salt`` (a duplicate build's) changes the check code, and so the whole id."""
    payload = bytes([schema]) + rows.to_bytes(3, "big") + seed.to_bytes(4, "big")
    check = _digest(world.seed, "dataset-check", payload.hex(), *salt)[:2]
    key = _digest(world.seed, "dataset-key", check.hex())[:8]
    scrambled = bytes(a ^ b for a, b in zip(payload, key, strict=True))
    return f"TDS-{scrambled.hex().upper()}-{check.hex().upper()}"


def _new_dataset_id(world: DataGenWorld, schema: str, rows: int, seed: int) -> str:
    """The id of a new build of a request: the first build's is :func:`_encode_dataset`'s
    (the id it always had); a duplicate's check code also covers the token
    :meth:`~asynctool_env.core.state.WorldState.new_id` makes for it, so it is new."""
    parts = (world.seed, "dataset", schema, rows, seed)
    made = world.state.new_id("TDS", *parts, digits=16)
    salt: tuple[str, ...] = () if made == stable_id("TDS", *parts, digits=16) else (made,)
    while True:
        dataset_id = _encode_dataset(world, _SCHEMA_NAMES.index(schema), rows, seed, salt)
        if ("dataset", dataset_id) not in world.state:  # a 4-hex check clash: rare
            return dataset_id
        salt = (*salt, "again")


def _decode_dataset(world: DataGenWorld, dataset_id: str) -> tuple[str, int, int]:
    """(schema, rows, seed) of the id of a request's first build (:func:`_encode_dataset`
    without a salt), whether it was built or not (the lookup hook uses it)."""
    hint = "use a dataset_id returned by start_test_dataset_build"
    match = _DATASET_ID.match(dataset_id.strip().upper())
    if match is None:
        raise ToolError(
            f"malformed dataset_id {dataset_id!r} (like 'TDS-<16 hex>-<4 hex>'); {hint}"
        )
    key = _digest(world.seed, "dataset-key", match.group(2).lower())[:8]
    payload = bytes(a ^ b for a, b in zip(bytes.fromhex(match.group(1)), key, strict=True))
    check = _digest(world.seed, "dataset-check", payload.hex())[:2].hex().upper()
    schema = payload[0]
    rows = int.from_bytes(payload[1:4], "big")
    seed = int.from_bytes(payload[4:], "big")
    if check != match.group(2) or schema >= len(_SCHEMA_NAMES) or not 1 <= rows <= MAX_ROWS:
        raise ToolError(f"no test dataset {dataset_id!r}; {hint}")
    return _SCHEMA_NAMES[schema], rows, seed


def _cell(column: Column, stream: _Stream) -> Any:
    if column.nullable and stream.uniform() < 0.08:
        return None
    kind = column.kind
    if kind == "id":
        return f"{column.spec[0]}-{int(stream.uniform() * 16**8):08X}"
    if kind in ("name", "email"):
        locale = stream.choice(tuple(LOCALES))
        _, _, firsts, lasts, _, domain = LOCALES[locale]
        first, last = stream.choice(firsts), stream.choice(lasts)
        if kind == "name":
            return f"{first} {last}"
        return f"{_ascii(first).lower()}.{_ascii(last).lower()}@{domain}"
    if kind == "category":
        return stream.choice(column.spec)
    if kind == "bool":
        return stream.uniform() < 0.7
    if kind in ("date", "datetime"):
        start = dt.datetime(column.spec[0], 1, 1)
        end = dt.datetime(column.spec[1], 12, 31)
        when = start + (end - start) * stream.uniform()
        if kind == "date":
            return when.date().isoformat()
        return when.replace(microsecond=0).isoformat()
    low, high = column.spec
    if kind == "int":
        return low + stream.integer(high - low + 1)
    return round(low + (high - low) * stream.uniform() ** 1.5, 2)


def _rows(world: DataGenWorld, schema: str, seed: int, count: int) -> list[dict[str, Any]]:
    columns = SCHEMAS[schema]
    rows = []
    for row in range(count):
        stream = _Stream(world.seed, "row", schema, seed, row)
        rows.append({column.name: _cell(column, stream) for column in columns})
    return rows


def _profile_column(column: Column, values: list[Any], rows: int) -> dict[str, Any]:
    present = [value for value in values if value is not None]
    summary: dict[str, Any] = {
        "name": column.name,
        "type": {"id": "string", "name": "string", "email": "string"}.get(column.kind, column.kind),
        "null_fraction": round(1 - len(present) / len(values), 4),
    }
    if column.kind in ("int", "float"):
        summary.update(
            min=min(present),
            max=max(present),
            mean=round(sum(present) / len(present), 2),
        )
    elif column.kind in ("category", "bool"):
        counts: dict[Any, int] = {}
        for value in present:
            counts[value] = counts.get(value, 0) + 1
        top = max(sorted(counts, key=str), key=counts.__getitem__)
        summary.update(distinct=len(counts), top_value=top)
    elif column.kind in ("date", "datetime"):
        summary.update(min=min(present), max=max(present))
    else:
        summary.update(distinct=rows if column.kind == "id" else len(set(present)))
    return summary


# -- tools ----------------------------------------------------------------------------------


@tool(latency=1, canonical={"locale": "name"})
def generate_user_profiles(
    world: DataGenWorld, seed: int, count: int = 3, locale: str = "en_US"
) -> dict[str, Any]:
    """Generate fake user profiles (name, username, e-mail, birth date, city) from a seed.

    Args:
        seed: Any whole number from 0 to 4294967295; the same seed gives the same profiles.
        count: How many profiles, 1 to 20.
        locale: en_US, en_GB, de_DE, fr_FR, es_ES, it_IT or ja_JP.
    """
    source = _seed(seed)
    if not 1 <= count <= 20:
        raise ToolError(f"count must be between 1 and 20, got {count}")
    code = _locale(locale)
    country, _, firsts, lasts, cities, domain = LOCALES[code]
    profiles = []
    for n in range(count):
        stream = _Stream(world.seed, "user", code, source, n)
        first, last = stream.choice(firsts), stream.choice(lasts)
        username = f"{_ascii(first)[0]}{_ascii(last)}{10 + stream.integer(90)}".lower()
        born = dt.date(1960, 1, 1) + dt.timedelta(days=stream.integer(45 * 365))
        profiles.append(
            {
                "user_id": f"USR-{int(stream.uniform() * 16**8):08X}",
                "full_name": f"{first} {last}",
                "username": username,
                "email": f"{username}@{domain}",
                "birth_date": born.isoformat(),
                "city": stream.choice(cities),
                "country": country,
            }
        )
    return {
        "batch_id": stable_id("UB", world.seed, source, count, code),
        "locale": code,
        "seed": source,
        "count": count,
        "profiles": profiles,
    }


def _address_lines(locale: str, stream: _Stream) -> tuple[str, str, str]:
    """(street line, city, postal code) in the country's style."""
    street, number = stream.choice(_STREETS), 1 + stream.integer(240)
    digits = f"{stream.integer(100000):05d}"
    city = stream.choice(LOCALES[locale][4])
    if locale == "en_US":
        return f"{number} {street} Street", city, digits
    if locale == "en_GB":
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        postcode = (
            f"{stream.choice('BLMNS')}{stream.choice('EHNSW')}{1 + stream.integer(20)} "
            f"{stream.integer(10)}{stream.choice(letters)}{stream.choice(letters)}"
        )
        return f"{number} {street} Road", city, postcode
    if locale == "de_DE":
        return f"{_ascii(street)}straße {number}", city, digits
    if locale == "fr_FR":
        return f"{number} rue du {street}", city, digits
    if locale == "es_ES":
        return f"Calle {street}, {number}", city, digits
    if locale == "it_IT":
        return f"Via {street} {number}", city, digits
    chome = f"{1 + stream.integer(5)}-{1 + stream.integer(30)}-{1 + stream.integer(20)}"
    return f"{chome} {street}-cho", city, f"{digits[:3]}-{stream.integer(10000):04d}"


@tool(latency=0, canonical={"country": "text"})
def generate_fake_address(world: DataGenWorld, country: str, seed: int) -> dict[str, Any]:
    """Generate a fake postal address in a country, formatted the country's way, from a seed.

    Args:
        country: United States, United Kingdom, Germany, France, Spain, Italy or Japan (or the
            ISO code US, GB, DE, FR, ES, IT, JP).
        seed: Any whole number from 0 to 4294967295; the same seed gives the same address.
    """
    locale = _COUNTRY_LOCALE.get(country.strip().casefold())
    if locale is None:
        names = ", ".join(entry[0] for entry in LOCALES.values())
        raise ToolError(f"unknown country {country!r}; supported countries: {names}")
    stream = _Stream(world.seed, "address", locale, _seed(seed))
    street, city, postal_code = _address_lines(locale, stream)
    name, code = LOCALES[locale][:2]
    if locale in ("en_US", "en_GB"):
        formatted = f"{street}, {city} {postal_code}, {name}"
    else:
        formatted = f"{street}, {postal_code} {city}, {name}"
    return {
        "street": street,
        "city": city,
        "postal_code": postal_code,
        "country": name,
        "country_code": code,
        "formatted": formatted,
    }


@tool(latency=0, canonical={"namespace": "name"})
def generate_seeded_uuids(
    world: DataGenWorld, seed: int, count: int = 1, namespace: str = "default"
) -> dict[str, Any]:
    """Generate reproducible UUIDs (version 4 format) from a seed within a namespace.

    Args:
        seed: Any whole number from 0 to 4294967295.
        count: How many UUIDs, 1 to 50.
        namespace: Any label (1 to 100 characters), e.g. a dataset id; other namespaces give
            other UUIDs.
    """
    source = _seed(seed)
    if not 1 <= count <= 50:
        raise ToolError(f"count must be between 1 and 50, got {count}")
    label = namespace.strip()
    if not 1 <= len(label) <= 100:
        raise ToolError("namespace must be 1 to 100 characters")
    uuids = []
    for n in range(count):
        raw = bytearray(_digest(world.seed, "uuid", label, source, n)[:16])
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        text = raw.hex()
        uuids.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
    return {"namespace": label, "seed": source, "count": count, "uuids": uuids}


@tool(latency=1, canonical={"distribution": "keyword"})
def sample_named_distribution(
    world: DataGenWorld, distribution: str, n: int, seed: int
) -> dict[str, Any]:
    """Draw n samples from one of the service's named distributions, with their summary.

    Args:
        distribution: Name of the distribution, e.g. "daily_signups" or "checkout_amount_usd".
        n: Number of samples, 1 to 1000.
        seed: Any whole number from 0 to 4294967295; the same seed gives the same samples.
    """
    spec = _DISTRIBUTION_BY_NAME.get(distribution.strip().lower())
    if spec is None:
        names = ", ".join(_DISTRIBUTION_BY_NAME)
        raise ToolError(f"unknown distribution {distribution!r}; available: {names}")
    if not 1 <= n <= MAX_SAMPLES:
        raise ToolError(f"n must be between 1 and {MAX_SAMPLES}, got {n}")
    parameters = _parameters(world, spec)
    stream_seed = _seed(seed)
    stream = _Stream(world.seed, "sample", spec.name, stream_seed)
    samples: list[Any] = []
    for _ in range(n):
        value = _sample(spec, parameters, stream)
        samples.append(round(value) if spec.decimals == 0 else round(value, spec.decimals))
    return {
        "distribution": spec.name,
        "family": spec.family,
        "parameters": parameters,
        "unit": spec.unit,
        "seed": stream_seed,
        "n": n,
        "samples": samples,
        "sample_mean": round(sum(samples) / n, 4),
        "sample_min": min(samples),
        "sample_max": max(samples),
    }


@tool(latency=1, canonical={"name": "keyword"})
def get_password_policy(world: DataGenWorld, name: str) -> dict[str, Any]:
    """Get a password policy by name: its id and its rules (lengths, required characters).

    Args:
        name: Name of the policy, e.g. "banking-strict".
    """
    wanted = name.strip().lower()
    if wanted not in world.policies:
        raise ToolError(f"unknown password policy {name!r}; policies: {', '.join(world.policies)}")
    return _policy(world, wanted)


@tool(latency=0, canonical={"policy_id": "symbol", "username": "name"})
def generate_policy_password(
    world: DataGenWorld, policy_id: str, username: str, seed: int
) -> dict[str, Any]:
    """Generate a password for a username that satisfies a password policy, from a seed.

    Args:
        policy_id: A policy_id returned by get_password_policy, e.g. "POL-1A2B3C".
        username: The account's username (3 to 32 of a-z, 0-9, dot, dash, underscore).
        seed: Any whole number from 0 to 4294967295; the same seed gives the same password.
    """
    policy = _policy_by_id(world, policy_id)
    user = username.strip().lower()
    if not _USERNAME.match(user):
        raise ToolError(
            f"invalid username {username!r}: use 3 to 32 characters of a-z, 0-9, '.', '-', '_'"
        )
    stream = _Stream(world.seed, "password", policy["policy_id"], user, _seed(seed))
    upper, lower, digits = "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789"
    symbols = policy["allowed_symbols"]
    length = min(policy["max_length"], policy["min_length"] + stream.integer(4))
    chars = [stream.choice(upper), stream.choice(lower)]
    chars += [stream.choice(digits) for _ in range(policy["min_digits"])]
    chars += [stream.choice(symbols) for _ in range(policy["min_symbols"])]
    alphabet = upper + lower + digits + symbols
    chars += [stream.choice(alphabet) for _ in range(length - len(chars))]
    for i in range(len(chars) - 1, 0, -1):  # Fisher-Yates
        j = stream.integer(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    password = "".join(chars)
    if user in password.lower():  # astronomically rare: rotate it away
        password = password[1:] + password[0]
    return {
        "password": password,
        "length": len(password),
        "policy_id": policy["policy_id"],
        "policy_name": policy["name"],
        "username": user,
        "entropy_bits": round(len(password) * math.log2(len(alphabet)), 1),
        "satisfies_policy": True,
    }


@tool(latency=3, writes=True, canonical={"schema_name": "keyword"})
def start_test_dataset_build(
    world: DataGenWorld, schema_name: str, rows: int, seed: int
) -> dict[str, Any]:
    """Build a synthetic test dataset of a schema (a slow batch job); returns the dataset's id.

    Args:
        schema_name: customers, orders, sensor_readings, web_sessions, payments or support_tickets.
        rows: Number of rows, 1 to 1000000.
        seed: Any whole number from 0 to 4294967295; the same seed gives the same data.
    """
    wanted = schema_name.strip().lower()
    if wanted not in SCHEMAS:
        raise ToolError(f"unknown schema_name {schema_name!r}; schemas: {', '.join(SCHEMAS)}")
    if not 1 <= rows <= MAX_ROWS:
        raise ToolError(f"rows must be between 1 and {MAX_ROWS}, got {rows}")
    source = _seed(seed)
    columns = SCHEMAS[wanted]
    dataset_id = _new_dataset_id(world, wanted, rows, source)
    build = {
        "dataset_id": dataset_id,
        "status": "completed",
        "schema": wanted,
        "rows": rows,
        "columns": [column.name for column in columns],
    }
    world.state.put(("dataset", dataset_id), {**build, "seed": source})
    return build


@tool(latency=1, canonical={"dataset_id": "symbol"})
def get_test_dataset_summary(world: DataGenWorld, dataset_id: str) -> dict[str, Any]:
    """Get a built test dataset's summary: column profiles, checksum and the first rows.

    Args:
        dataset_id: A dataset_id returned by start_test_dataset_build.
    """
    wanted = dataset_id.strip().upper()
    if _DATASET_ID.match(wanted) is None:
        raise ToolError(
            f"malformed dataset_id {dataset_id!r} (like 'TDS-<16 hex>-<4 hex>'); use a "
            "dataset_id returned by start_test_dataset_build"
        )
    build = world.state.get(("dataset", wanted))
    if build is None:
        raise ToolError(
            f"no test dataset {dataset_id!r} was built; use a dataset_id returned by "
            "start_test_dataset_build"
        )
    schema, rows, seed = build["schema"], build["rows"], build["seed"]
    profiled = _rows(world, schema, seed, min(rows, _PROFILED_ROWS))
    columns = [
        _profile_column(column, [row[column.name] for row in profiled], rows)
        for column in SCHEMAS[schema]
    ]
    return {
        "dataset_id": wanted,
        "schema": schema,
        "rows": rows,
        "profiled_rows": len(profiled),
        "columns": columns,
        "checksum": _digest(world.seed, "checksum", schema, rows, seed)[:8].hex(),
        "first_rows": profiled[:2],
    }


# -- templates ------------------------------------------------------------------------------

_USERNAMES: tuple[str, ...] = (
    "jdoe",
    "a.kowalski",
    "mpatel",
    "svc-backup",
    "ops_admin",
    "lchen",
    "r.garcia",
    "qa-bot",
    "hsato",
    "ebrown",
)
_ORDINALS = ("first", "second", "third", "fourth", "fifth")


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _user_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 100000))


def policy_password(world: DataGenWorld, rng: np.random.Generator) -> TaskSpec:
    """Look a policy up, generate a password under it (2 steps, a chain)."""
    name = _choice(rng, world.policies)
    username = _choice(rng, _USERNAMES)
    seed = _user_seed(rng)
    return TaskSpec(
        instruction=(
            f'Generate a password for the account "{username}" that satisfies the "{name}" '
            f"password policy, using seed {seed}. Tell me the password."
        ),
        steps=(
            StepSpec("get_password_policy", {"name": name}),
            StepSpec(
                "generate_policy_password",
                {"policy_id": "${s0.policy_id}", "username": username, "seed": seed},
            ),
        ),
        answer="${s1.password}",
    )


def profile_password(world: DataGenWorld, rng: np.random.Generator) -> TaskSpec:
    """Profiles, then a password under a policy given by id for one of them (2, a chain)."""
    policy = _policy(world, _choice(rng, world.policies))
    locale = _choice(rng, tuple(LOCALES))
    count = 2 + int(rng.integers(4))
    which = int(rng.integers(count))
    seed, password_seed = _user_seed(rng), _user_seed(rng)
    return TaskSpec(
        instruction=(
            f"Generate {count} {locale} user profiles with seed {seed}. Then, for the "
            f"{_ORDINALS[which]} profile's username, generate a password that satisfies "
            f"{policy['policy_id']}, with seed {password_seed}. Tell me that username and its "
            "password."
        ),
        steps=(
            StepSpec("generate_user_profiles", {"seed": seed, "count": count, "locale": locale}),
            StepSpec(
                "generate_policy_password",
                {
                    "policy_id": policy["policy_id"],
                    "username": f"${{s0.profiles.{which}.username}}",
                    "seed": password_seed,
                },
            ),
        ),
        answer=f"${{s0.profiles.{which}.username}}: ${{s1.password}}",
    )


def _numeric_column(rng: np.random.Generator, schema: str) -> tuple[int, str]:
    numeric = [
        (n, column.name)
        for n, column in enumerate(SCHEMAS[schema])
        if column.kind in ("int", "float")
    ]
    return _choice(rng, numeric)


def dataset_summary(world: DataGenWorld, rng: np.random.Generator) -> TaskSpec:
    """Build a test dataset, read its summary (2 steps, a chain)."""
    schema = _choice(rng, _SCHEMA_NAMES)
    rows = int(_choice(rng, (500, 1000, 5000, 10000, 50000, 250000)))
    seed = _user_seed(rng)
    position, column = _numeric_column(rng, schema)
    stat = _choice(rng, ("mean", "max", "min"))
    return TaskSpec(
        instruction=(
            f"Build a {rows}-row test dataset of the {schema} schema with seed {seed}, then "
            f"get its summary. Tell me the dataset's checksum and the {stat} of its "
            f"{column} column as the summary's column profile reports it."
        ),
        steps=(
            StepSpec(
                "start_test_dataset_build", {"schema_name": schema, "rows": rows, "seed": seed}
            ),
            StepSpec("get_test_dataset_summary", {"dataset_id": "${s0.dataset_id}"}),
        ),
        answer=f"${{s1.checksum}}, {column} {stat} ${{s1.columns.{position}.{stat}}}",
    )


def user_onboarding(world: DataGenWorld, rng: np.random.Generator) -> TaskSpec:
    """Profile and policy in parallel; password (fan-in) and address (4 steps).

    DAG: {0, 1} -> 2, 0 -> 3.
    """
    locale = _choice(rng, tuple(LOCALES))
    name = _choice(rng, world.policies)
    seed, password_seed, address_seed = (_user_seed(rng) for _ in range(3))
    return TaskSpec(
        instruction=(
            f"Onboard a test user: generate one {locale} user profile with seed {seed}; "
            f'generate a password for its username under the "{name}" policy with seed '
            f"{password_seed}; and generate a fake address in the profile's country with "
            f"seed {address_seed}. Tell me the username, the password and the address."
        ),
        steps=(
            StepSpec("generate_user_profiles", {"seed": seed, "count": 1, "locale": locale}),
            StepSpec("get_password_policy", {"name": name}),
            StepSpec(
                "generate_policy_password",
                {
                    "policy_id": "${s1.policy_id}",
                    "username": "${s0.profiles.0.username}",
                    "seed": password_seed,
                },
            ),
            StepSpec(
                "generate_fake_address",
                {"country": "${s0.profiles.0.country}", "seed": address_seed},
            ),
        ),
        answer="${s0.profiles.0.username}, ${s2.password}, ${s3.formatted}",
    )


def dataset_with_ids(world: DataGenWorld, rng: np.random.Generator) -> TaskSpec:
    """Build a dataset; its summary and UUIDs in its namespace, in parallel (3, fan-out)."""
    schema = _choice(rng, _SCHEMA_NAMES)
    rows = int(_choice(rng, (100, 2000, 20000, 100000, 1000000)))
    seed, uuid_seed = _user_seed(rng), _user_seed(rng)
    count = 1 + int(rng.integers(5))
    return TaskSpec(
        instruction=(
            f"Build a {rows}-row {schema} test dataset with seed {seed}. Then, using the new "
            f"dataset's id as the namespace, generate {count} UUID(s) with seed {uuid_seed}, "
            "and fetch the dataset's summary. Tell me the checksum and the first UUID."
        ),
        steps=(
            StepSpec(
                "start_test_dataset_build", {"schema_name": schema, "rows": rows, "seed": seed}
            ),
            StepSpec("get_test_dataset_summary", {"dataset_id": "${s0.dataset_id}"}),
            StepSpec(
                "generate_seeded_uuids",
                {"seed": uuid_seed, "count": count, "namespace": "${s0.dataset_id}"},
            ),
        ),
        answer="${s1.checksum}, ${s2.uuids.0}",
    )


def _signups(world: DataGenWorld, seed: int) -> int:
    """The one daily_signups sample of ``seed``."""
    return sample_named_distribution.function(world, "daily_signups", 1, seed)["samples"][0]


def signup_batch(world: DataGenWorld, rng: np.random.Generator) -> TaskSpec:
    """Sample today's signups, generate that many profiles (2 steps, a chain)."""
    locale = _choice(rng, tuple(LOCALES))
    profile_seed = _user_seed(rng)
    seed = _user_seed(rng)
    while not 1 <= _signups(world, seed) <= 20:  # keep the count a valid profile count
        seed += 1
    return TaskSpec(
        instruction=(
            f"Simulate one day of signups: draw one sample from the daily_signups "
            f"distribution with seed {seed}, then generate that many {locale} user profiles "
            f"with seed {profile_seed}. Tell me how many signups there were and the first "
            "profile's full name."
        ),
        steps=(
            StepSpec(
                "sample_named_distribution", {"distribution": "daily_signups", "n": 1, "seed": seed}
            ),
            StepSpec(
                "generate_user_profiles",
                {"seed": profile_seed, "count": "${s0.samples.0}", "locale": locale},
            ),
        ),
        answer="${s1.count}, ${s1.profiles.0.full_name}",
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_policy(world: DataGenWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant policy id -> get_password_policy by the policy's name."""
    if not isinstance(value, str):
        return None
    try:
        policy = _policy_by_id(world, value)
    except ToolError:
        return None
    name = policy["name"]
    return {"name": name}, "policy_id", f'the "{name}" password policy'


def _lookup_dataset(world: DataGenWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant test dataset id -> the build that returns it."""
    if not isinstance(value, str):
        return None
    try:
        schema, rows, seed = _decode_dataset(world, value)
    except ToolError:
        return None
    return (
        {"schema_name": schema, "rows": rows, "seed": seed},
        "dataset_id",
        f"a {rows}-row {schema} test dataset built with seed {seed}",
    )


def _follow_uuids(
    world: DataGenWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """A UUID in the new dataset's namespace (the templates that build a dataset already read
    its summary, so a summary follow-up would only repeat a call they make)."""
    arguments = followed.arguments
    seed = _user_seed(rng)
    step = StepSpec(
        "generate_seeded_uuids", {"seed": seed, "namespace": f"${{s{index}.dataset_id}}"}
    )
    dataset = (
        f"the {arguments['rows']}-row {arguments['schema_name']} test dataset built with seed "
        f"{arguments['seed']}"
    )
    return (
        step,
        f"Then, using the id of {dataset} as the namespace, generate one UUID with seed {seed} "
        "and tell me that UUID.",
        "uuids.0",
    )


def _follow_address(
    world: DataGenWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """An address in the country of the first generated profile (named by locale and seed)."""
    arguments = followed.arguments
    seed = _user_seed(rng)
    step = StepSpec(
        "generate_fake_address", {"country": f"${{s{index}.profiles.0.country}}", "seed": seed}
    )
    profiles = f"the {arguments['locale']} profiles generated with seed {arguments['seed']}"
    if not is_constant(arguments["locale"]) or not is_constant(arguments["seed"]):
        profiles = "the generated profiles"  # no template does this: each has one batch
    return (
        step,
        f"Then generate a fake address in the country of the first of {profiles}, with seed "
        f"{seed}, and tell me the formatted address.",
        "formatted",
    )


def _follow_password(
    world: DataGenWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    username, seed = _choice(rng, _USERNAMES), _user_seed(rng)
    step = StepSpec(
        "generate_policy_password",
        {"policy_id": f"${{s{index}.policy_id}}", "username": username, "seed": seed},
    )
    return (
        step,
        f'Then generate a password for "{username}" under the "{followed.arguments["name"]}" '
        f"policy with seed {seed} and tell me that password.",
        "password",
    )


def _side_uuids(world: DataGenWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    namespace = _choice(rng, ("orders", "invoices", "devices", "sessions", "tenants"))
    seed = _user_seed(rng)
    step = StepSpec("generate_seeded_uuids", {"seed": seed, "namespace": namespace})
    return (
        step,
        f'Also generate one UUID in the namespace "{namespace}" with seed {seed} and tell me it.',
        "uuids.0",
    )


def _side_sample(world: DataGenWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    spec = _choice(rng, DISTRIBUTIONS)
    # At least 50 samples: a small n could equal a count that a task reads from a response
    # (daily signups), which the sentence would then seem to state.
    n, seed = int(_choice(rng, (50, 100, 200, 500))), _user_seed(rng)
    step = StepSpec("sample_named_distribution", {"distribution": spec.name, "n": n, "seed": seed})
    return (
        step,
        f"Also draw {n} samples from the {spec.name} distribution with seed {seed} and tell me "
        "their mean.",
        "sample_mean",
    )


SCENARIO = Scenario(
    name="data_generation",
    category="Data Generation",
    description=(
        "Generate seeded test data: user profiles, fake addresses, UUIDs, samples of named "
        "distributions, passwords that meet a policy, and synthetic test datasets with "
        "their summaries."
    ),
    make_world=make_world,
    tools=(
        generate_user_profiles,
        generate_fake_address,
        generate_seeded_uuids,
        sample_named_distribution,
        get_password_policy,
        generate_policy_password,
        start_test_dataset_build,
        get_test_dataset_summary,
    ),
    templates={
        "policy_password": policy_password,
        "profile_password": profile_password,
        "dataset_summary": dataset_summary,
        "user_onboarding": user_onboarding,
        "dataset_with_ids": dataset_with_ids,
        "signup_batch": signup_batch,
    },
    lookups=(
        LookupRule("policy_id", "get_password_policy", _lookup_policy),
        LookupRule("dataset_id", "start_test_dataset_build", _lookup_dataset),
    ),
    follow_ups=(
        FollowUpRule("start_test_dataset_build", _follow_uuids),
        FollowUpRule("generate_user_profiles", _follow_address),
        FollowUpRule("get_password_policy", _follow_password),
    ),
    side_steps=(
        SideStepRule("seeded_uuids", _side_uuids),
        SideStepRule("distribution_sample", _side_sample),
    ),
)
