"""Backend tests of the data_generation scenario, with values computed independently.

Generated data is derived from a hash of the world's seed, so these tests check what each
generator promises: UUIDs parse as version-4 UUIDs (:mod:`uuid`), a password satisfies every
rule of its policy (counted character by character), a sample's mean is
:func:`statistics.fmean` of the listed samples, a small dataset's column profile is
recomputed from its listed rows, addresses follow their country's format, and the same
arguments always give the same answer.

The generators are pure reads; building a test dataset is the one write (see *State* in
:mod:`asynctool_env.scenarios.data_generation`): the last tests check that only a dataset
built in the world has a summary, that a second identical build is a second dataset with a
new id while the first keeps its dataset-v2 id, and that refused calls change nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
import unicodedata
import uuid
from typing import Any

import pytest

from asynctool_env.core.tools import ToolError
from asynctool_env.scenarios import data_generation
from asynctool_env.scenarios.data_generation import SCHEMAS

SCENARIO = data_generation.SCENARIO
TOOLS = {tool.name: tool for tool in SCENARIO.tools}

#: locale -> (country, ISO code, e-mail domain), as the tool's docstring names them.
LOCALES = {
    "en_US": ("United States", "US", "example.com"),
    "en_GB": ("United Kingdom", "GB", "example.co.uk"),
    "de_DE": ("Germany", "DE", "beispiel.de"),
    "fr_FR": ("France", "FR", "exemple.fr"),
    "es_ES": ("Spain", "ES", "ejemplo.es"),
    "it_IT": ("Italy", "IT", "esempio.it"),
    "ja_JP": ("Japan", "JP", "example.jp"),
}
#: Password policies of the service: name -> (lowest min length, max length, has symbols).
POLICIES = {
    "corporate-standard": (12, 64, True),
    "banking-strict": (16, 64, True),
    "legacy-erp": (8, 12, False),
    "admin-console": (20, 128, True),
    "guest-wifi": (10, 32, False),
    "healthcare-portal": (14, 64, True),
}


def call(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool the way the chat path does (arguments validated first)."""
    return TOOLS[tool_name].execute(world, arguments)


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# -- profiles and addresses -----------------------------------------------------------------


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_profiles_are_consistent(locale):
    world = SCENARIO.world(3)
    country, _, domain = LOCALES[locale]
    out = call(world, "generate_user_profiles", seed=4242, count=20, locale=locale.lower())
    assert (out["locale"], out["seed"], out["count"]) == (locale, 4242, 20)
    assert len(out["profiles"]) == 20
    earliest, latest = dt.date(1960, 1, 1), dt.date(1960, 1, 1) + dt.timedelta(days=45 * 365)
    for profile in out["profiles"]:
        first, last = profile["full_name"].split()
        stem = (ascii_fold(first)[0] + ascii_fold(last)).lower()
        assert re.fullmatch(rf"{re.escape(stem)}\d{{2}}", profile["username"]), profile
        assert 10 <= int(profile["username"][-2:]) <= 99
        # usernames are valid for generate_policy_password (templates chain the two)
        assert re.fullmatch(r"[a-z0-9._-]{3,32}", profile["username"])
        assert profile["email"] == f"{profile['username']}@{domain}"
        assert earliest <= dt.date.fromisoformat(profile["birth_date"]) <= latest
        assert profile["country"] == country
        assert re.fullmatch(r"USR-[0-9A-F]{8}", profile["user_id"])
    # the same seed gives the same profiles; another seed others
    assert call(world, "generate_user_profiles", seed=4242, count=20, locale=locale) == out
    other = call(world, "generate_user_profiles", seed=4243, count=20, locale=locale)
    assert other["profiles"] != out["profiles"]
    assert len({profile["user_id"] for profile in out["profiles"]}) == 20


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"seed": 1, "count": 0}, "count must be between 1 and 20"),
        ({"seed": 1, "count": 21}, "count must be between 1 and 20"),
        ({"seed": -1}, "seed must be between 0 and 4294967295"),
        ({"seed": 2**32}, "seed must be between 0 and 4294967295"),
        ({"seed": 1, "locale": "pt_BR"}, "supported locales: en_US"),
    ],
)
def test_profiles_bad_calls(arguments, message):
    with pytest.raises(ToolError, match=re.escape(message)):
        call(SCENARIO.world(0), "generate_user_profiles", **arguments)


#: country -> (street regex, postal code regex, city first in the formatted line)
ADDRESS_FORMATS = {
    "US": (r"\d{1,3} [A-Z][a-z]+ Street", r"\d{5}", True),
    "GB": (r"\d{1,3} [A-Z][a-z]+ Road", r"[BLMNS][EHNSW]\d{1,2} \d[A-Z]{2}", True),
    "DE": (r"[A-Z][a-z]+straße \d{1,3}", r"\d{5}", False),
    "FR": (r"\d{1,3} rue du [A-Z][a-z]+", r"\d{5}", False),
    "ES": (r"Calle [A-Z][a-z]+, \d{1,3}", r"\d{5}", False),
    "IT": (r"Via [A-Z][a-z]+ \d{1,3}", r"\d{5}", False),
    "JP": (r"[1-5]-\d{1,2}-\d{1,2} [A-Z][a-z]+-cho", r"\d{3}-\d{4}", False),
}


@pytest.mark.parametrize("code", sorted(ADDRESS_FORMATS))
def test_address_follows_its_country_format(code):
    world = SCENARIO.world(5)
    country = next(name for name, iso, _ in LOCALES.values() if iso == code)
    street_format, postal_format, city_first = ADDRESS_FORMATS[code]
    for seed in range(25):
        by_code = call(world, "generate_fake_address", country=code.lower(), seed=seed)
        assert call(world, "generate_fake_address", country=f" {country} ", seed=seed) == by_code
        assert (by_code["country"], by_code["country_code"]) == (country, code)
        assert re.fullmatch(street_format, by_code["street"]), by_code
        assert re.fullmatch(postal_format, by_code["postal_code"]), by_code
        city, postal = by_code["city"], by_code["postal_code"]
        where = f"{city} {postal}" if city_first else f"{postal} {city}"
        assert by_code["formatted"] == f"{by_code['street']}, {where}, {country}"


def test_address_bad_calls():
    with pytest.raises(ToolError, match="supported countries: United States"):
        call(SCENARIO.world(0), "generate_fake_address", country="Narnia", seed=1)
    with pytest.raises(ToolError, match="seed must be between"):
        call(SCENARIO.world(0), "generate_fake_address", country="US", seed=-5)


# -- UUIDs ----------------------------------------------------------------------------------


def test_uuids_are_version_4_and_reproducible():
    world = SCENARIO.world(1)
    out = call(world, "generate_seeded_uuids", seed=99, count=50, namespace=" TDS-1 ")
    assert (out["namespace"], out["seed"], out["count"]) == ("TDS-1", 99, 50)
    parsed = [uuid.UUID(text) for text in out["uuids"]]
    assert all(value.version == 4 and value.variant == uuid.RFC_4122 for value in parsed)
    assert [str(value) for value in parsed] == out["uuids"]  # canonical lower-case form
    assert len(set(out["uuids"])) == 50
    assert call(world, "generate_seeded_uuids", seed=99, count=50, namespace="TDS-1") == out
    others = call(world, "generate_seeded_uuids", seed=99, count=50, namespace="TDS-2")["uuids"]
    assert not set(others) & set(out["uuids"])
    # the default is one UUID in the "default" namespace
    single = call(world, "generate_seeded_uuids", seed=99)
    assert (single["namespace"], single["count"], len(single["uuids"])) == ("default", 1, 1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"seed": 1, "count": 51}, "count must be between 1 and 50"),
        ({"seed": 1, "namespace": "  "}, "namespace must be 1 to 100 characters"),
        ({"seed": 1, "namespace": "x" * 101}, "namespace must be 1 to 100 characters"),
    ],
)
def test_uuids_bad_calls(arguments, message):
    with pytest.raises(ToolError, match=message):
        call(SCENARIO.world(0), "generate_seeded_uuids", **arguments)


# -- distributions --------------------------------------------------------------------------

#: name -> (family, nominal parameters, decimals), the service's catalogue.
DISTRIBUTIONS = {
    "checkout_amount_usd": ("lognormal", (3.9, 0.6), 2),
    "session_length_minutes": ("exponential", (7.5,), 1),
    "sensor_temperature_c": ("normal", (21.5, 1.4), 2),
    "daily_signups": ("poisson", (9.0,), 0),
    "page_load_ms": ("lognormal", (6.2, 0.35), 0),
    "support_rating": ("categorical", (0.06, 0.08, 0.16, 0.35, 0.35), 0),
    "delivery_delay_hours": ("exponential", (30.0,), 1),
    "basket_size_items": ("poisson", (3.5,), 0),
}


def theoretical_mean(family: str, parameters: list[float]) -> float:
    if family == "lognormal":
        return math.exp(parameters[0] + parameters[1] ** 2 / 2)
    if family == "categorical":
        return sum(k * weight for k, weight in enumerate(parameters, start=1))
    return parameters[0]  # normal mean, exponential scale, poisson rate


def theoretical_stdev(family: str, parameters: list[float]) -> float:
    if family == "lognormal":
        mu, sigma = parameters
        return math.sqrt((math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2))
    if family == "normal":
        return parameters[1]
    if family == "exponential":
        return parameters[0]
    if family == "poisson":
        return math.sqrt(parameters[0])
    mean = theoretical_mean(family, parameters)
    return math.sqrt(sum(w * (k - mean) ** 2 for k, w in enumerate(parameters, start=1)))


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_samples_and_their_summary(name):
    family, nominal, decimals = DISTRIBUTIONS[name]
    world = SCENARIO.world(8)
    out = call(world, "sample_named_distribution", distribution=name.upper(), n=1000, seed=31)
    assert (out["distribution"], out["family"], out["n"], out["seed"]) == (name, family, 1000, 31)
    samples, parameters = out["samples"], out["parameters"]
    assert len(samples) == 1000
    # the world jitters each parameter by at most 10%
    assert len(parameters) == len(nominal)
    if family == "categorical":
        assert sum(parameters) == pytest.approx(1, abs=1e-3)
    else:
        for value, typical in zip(parameters, nominal, strict=True):
            assert 0.9 * typical - 1e-4 <= value <= 1.1 * typical + 1e-4
    # the summary is the summary of the listed samples
    assert out["sample_mean"] == round(statistics.fmean(samples), 4)
    assert (out["sample_min"], out["sample_max"]) == (min(samples), max(samples))
    # values are rounded to the distribution's decimals, whole numbers are ints
    if decimals == 0:
        assert all(type(value) is int for value in samples)
    else:
        assert all(round(value, decimals) == value for value in samples)
    if family in ("poisson", "lognormal", "exponential"):
        assert min(samples) >= 0
    if family == "categorical":
        assert set(samples) <= {1, 2, 3, 4, 5}
    # and they come from the advertised distribution (1000 draws: 5 standard errors)
    spread = theoretical_stdev(family, parameters) / math.sqrt(1000)
    assert abs(statistics.fmean(samples) - theoretical_mean(family, parameters)) < 5 * spread
    # reproducible, and the first draws of a bigger sample are the smaller sample
    again = call(world, "sample_named_distribution", distribution=name, n=10, seed=31)
    assert again["samples"] == samples[:10]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"distribution": "shoe_size", "n": 5, "seed": 1}, "available: checkout_amount_usd"),
        ({"distribution": "daily_signups", "n": 0, "seed": 1}, "n must be between 1 and 1000"),
        ({"distribution": "daily_signups", "n": 1001, "seed": 1}, "n must be between 1 and 1000"),
        ({"distribution": "daily_signups", "n": 5, "seed": 2**32}, "seed must be between"),
    ],
)
def test_sample_bad_calls(arguments, message):
    with pytest.raises(ToolError, match=message):
        call(SCENARIO.world(0), "sample_named_distribution", **arguments)


# -- password policies ----------------------------------------------------------------------


def check_password(password: str, policy: dict[str, Any], username: str) -> None:
    """Every rule of ``policy``, checked character by character."""
    assert policy["min_length"] <= len(password) <= policy["max_length"]
    assert any(char.isupper() for char in password)
    assert any(char.islower() for char in password)
    assert sum(char.isdigit() for char in password) >= policy["min_digits"]
    symbols = [char for char in password if not char.isalnum()]
    assert len(symbols) >= policy["min_symbols"]
    assert set(symbols) <= set(policy["allowed_symbols"])
    assert all(char.isascii() for char in password)
    assert username not in password.lower()


@pytest.mark.parametrize("seed", range(4))
def test_policies_and_passwords(seed):
    world = SCENARIO.world(seed)
    assert len(world.policies) == 4
    for name in world.policies:
        policy = call(world, "get_password_policy", name=f" {name.upper()} ")
        lowest, longest, symbols = POLICIES[name]
        assert policy["name"] == name
        assert re.fullmatch(r"POL-[0-9A-F]{6}", policy["policy_id"])
        assert lowest <= policy["min_length"] <= lowest + 2
        assert policy["max_length"] >= max(longest, policy["min_length"] + 2)
        assert policy["min_digits"] >= 1
        assert (policy["min_symbols"] > 0) == symbols == bool(policy["allowed_symbols"])
        for username in ("jdoe", "a.kowalski", "svc-backup", "ops_admin"):
            out = call(
                world,
                "generate_policy_password",
                policy_id=policy["policy_id"].lower(),
                username=f" {username.upper()} ",
                seed=7,
            )
            check_password(out["password"], policy, username)
            assert out["length"] == len(out["password"])
            assert (out["policy_id"], out["policy_name"]) == (policy["policy_id"], name)
            assert (out["username"], out["satisfies_policy"]) == (username, True)
            # entropy of a password drawn from its alphabet: length * log2(alphabet size)
            alphabet = math.pow(2, out["entropy_bits"] / out["length"])
            size = 26 + 26 + 10 + len(policy["allowed_symbols"])
            assert size - 12 <= round(alphabet) <= size
            again = call(
                world,
                "generate_policy_password",
                policy_id=policy["policy_id"],
                username=username,
                seed=7,
            )
            assert again == out
        seeds = [
            call(
                world,
                "generate_policy_password",
                policy_id=policy["policy_id"],
                username="jdoe",
                seed=seed,
            )["password"]
            for seed in (7, 8, 9)
        ]
        assert len(set(seeds)) == 3  # another seed, another password


def test_policy_bad_calls():
    world = SCENARIO.world(0)
    absent = next(name for name in POLICIES if name not in world.policies)
    with pytest.raises(ToolError) as error:
        call(world, "get_password_policy", name=absent)
    assert all(name in str(error.value) for name in world.policies)
    policy_id = call(world, "get_password_policy", name=world.policies[0])["policy_id"]
    with pytest.raises(ToolError, match="invalid username"):
        call(world, "generate_policy_password", policy_id=policy_id, username="a b", seed=1)
    with pytest.raises(ToolError, match="invalid username"):
        call(world, "generate_policy_password", policy_id=policy_id, username="ab", seed=1)
    with pytest.raises(ToolError, match="get_password_policy"):
        call(world, "generate_policy_password", policy_id="POL-000000", username="jdoe", seed=1)
    # a policy id of another world is unknown here
    foreign = SCENARIO.world(1)
    foreign_id = call(foreign, "get_password_policy", name=foreign.policies[0])["policy_id"]
    own = {call(world, "get_password_policy", name=n)["policy_id"] for n in world.policies}
    assert foreign_id not in own
    with pytest.raises(ToolError, match="unknown policy_id"):
        call(world, "generate_policy_password", policy_id=foreign_id, username="jdoe", seed=1)


# -- test datasets --------------------------------------------------------------------------


def expected_profile(column: Any, values: list[Any], rows: int) -> dict[str, Any]:
    """A column's profile recomputed from its listed values (at most a few)."""
    present = [value for value in values if value is not None]
    kind = {"id": "string", "name": "string", "email": "string"}.get(column.kind, column.kind)
    profile: dict[str, Any] = {
        "name": column.name,
        "type": kind,
        "null_fraction": round((len(values) - len(present)) / len(values), 4),
    }
    if column.kind in ("int", "float"):
        profile.update(min=min(present), max=max(present), mean=round(statistics.fmean(present), 2))
    elif column.kind in ("category", "bool"):
        best = max(present.count(value) for value in present)
        top = min((value for value in present if present.count(value) == best), key=str)
        profile.update(distinct=len(set(present)), top_value=top)
    elif column.kind in ("date", "datetime"):
        profile.update(min=min(present), max=max(present))
    else:
        profile.update(distinct=rows if column.kind == "id" else len(set(present)))
    return profile


def check_cell(column: Any, value: Any) -> None:
    """A generated cell fits its column."""
    if value is None:
        assert column.nullable
        return
    if column.kind == "id":
        assert re.fullmatch(rf"{column.spec[0]}-[0-9A-F]{{8}}", value)
    elif column.kind == "name":
        assert len(value.split()) == 2
    elif column.kind == "email":
        assert re.fullmatch(r"[a-z]+\.[a-z]+@[a-z.]+", value), value
    elif column.kind == "category":
        assert value in column.spec
    elif column.kind == "bool":
        assert type(value) is bool
    elif column.kind == "date":
        assert column.spec[0] <= dt.date.fromisoformat(value).year <= column.spec[1]
    elif column.kind == "datetime":
        assert column.spec[0] <= dt.datetime.fromisoformat(value).year <= column.spec[1]
    else:
        assert column.spec[0] <= value <= column.spec[1]
        assert type(value) is (int if column.kind == "int" else float)


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
@pytest.mark.parametrize("rows", [1, 2])
def test_small_dataset_summary_is_its_rows(schema, rows):
    world = SCENARIO.world(4)
    build = call(world, "start_test_dataset_build", schema_name=schema.upper(), rows=rows, seed=77)
    columns = SCHEMAS[schema]
    assert re.fullmatch(r"TDS-[0-9A-F]{16}-[0-9A-F]{4}", build["dataset_id"])
    assert (build["status"], build["schema"], build["rows"]) == ("completed", schema, rows)
    assert build["columns"] == [column.name for column in columns]
    summary = call(world, "get_test_dataset_summary", dataset_id=build["dataset_id"].lower())
    assert summary["dataset_id"] == build["dataset_id"]
    assert (summary["schema"], summary["rows"], summary["profiled_rows"]) == (schema, rows, rows)
    assert re.fullmatch(r"[0-9a-f]{16}", summary["checksum"])
    first = summary["first_rows"]
    assert len(first) == rows
    for row in first:
        assert list(row) == build["columns"]
        for column in columns:
            check_cell(column, row[column.name])
    assert summary["columns"] == [
        expected_profile(column, [row[column.name] for row in first], rows) for column in columns
    ]


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_large_dataset_summary_is_consistent(schema):
    world = SCENARIO.world(6)
    build = call(world, "start_test_dataset_build", schema_name=schema, rows=250_000, seed=5)
    summary = call(world, "get_test_dataset_summary", dataset_id=build["dataset_id"])
    assert (summary["rows"], summary["profiled_rows"], len(summary["first_rows"])) == (
        250_000,
        100,
        2,
    )
    for column, profile in zip(SCHEMAS[schema], summary["columns"], strict=True):
        assert profile["name"] == column.name
        assert 0 <= profile["null_fraction"] <= (0.3 if column.nullable else 0)
        if "mean" in profile:
            assert column.spec[0] <= profile["min"] <= profile["mean"] <= profile["max"]
            assert profile["max"] <= column.spec[1]
        if "top_value" in profile:
            assert profile["top_value"] in (column.spec or (True, False))
            assert 1 <= profile["distinct"] <= len(column.spec or (True, False))
        for row in summary["first_rows"]:
            check_cell(column, row[column.name])
    # stateful now: the same request again is a second build (a new id, the same data);
    # a different request is a different dataset
    again = call(world, "start_test_dataset_build", schema_name=schema, rows=250_000, seed=5)
    assert again["dataset_id"] != build["dataset_id"]
    assert {**again, "dataset_id": build["dataset_id"]} == build
    assert call(world, "get_test_dataset_summary", dataset_id=again["dataset_id"]) == {
        **summary,
        "dataset_id": again["dataset_id"],
    }
    other = call(world, "start_test_dataset_build", schema_name=schema, rows=250_000, seed=6)
    assert other["dataset_id"] != build["dataset_id"]
    assert call(world, "get_test_dataset_summary", dataset_id=build["dataset_id"]) == summary


def flip(text: str, position: int) -> str:
    char = "0" if text[position] != "0" else "1"
    return text[:position] + char + text[position + 1 :]


def test_dataset_bad_calls():
    world = SCENARIO.world(0)
    with pytest.raises(ToolError, match="schemas: customers"):
        call(world, "start_test_dataset_build", schema_name="invoices", rows=5, seed=1)
    for rows in (0, 1_000_001):
        with pytest.raises(ToolError, match="rows must be between 1 and 1000000"):
            call(world, "start_test_dataset_build", schema_name="orders", rows=rows, seed=1)
    dataset_id = call(world, "start_test_dataset_build", schema_name="orders", rows=5, seed=1)[
        "dataset_id"
    ]
    with pytest.raises(ToolError, match="malformed dataset_id"):
        call(world, "get_test_dataset_summary", dataset_id="TDS-123")
    for position in (4, 12, 19, 23):  # body and check code
        with pytest.raises(ToolError, match="start_test_dataset_build"):
            call(world, "get_test_dataset_summary", dataset_id=flip(dataset_id, position))
    with pytest.raises(ToolError, match="no test dataset"):  # an id of another world
        call(SCENARIO.world(1), "get_test_dataset_summary", dataset_id=dataset_id)


# -- state: builds ----------------------------------------------------------------------------


def run(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool as the environment does (recorded; a refused call is rolled back)."""
    return TOOLS[tool_name].run(world, TOOLS[tool_name].validate_arguments(arguments))[0]


def test_the_first_build_keeps_its_v2_id_and_a_second_one_is_new():
    world = SCENARIO.world(2086162138)  # a world of the shipped dataset v2 (dev split)
    first = run(world, "start_test_dataset_build", schema_name="customers", rows=250000, seed=69450)
    assert first["dataset_id"] == "TDS-7F48E89D0100699E-38E7"  # dataset_summary/06d797e90080
    second = run(
        world, "start_test_dataset_build", schema_name=" Customers", rows=250000, seed=69450
    )
    third = run(world, "start_test_dataset_build", schema_name="customers", rows=250000, seed=69450)
    ids = [first["dataset_id"], second["dataset_id"], third["dataset_id"]]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"TDS-[0-9A-F]{16}-[0-9A-F]{4}", dataset_id) for dataset_id in ids)
    built = [key[1] for key in world.state.snapshot() if key[0] == "dataset"]
    assert sorted(built) == sorted(ids)
    summaries = [run(world, "get_test_dataset_summary", dataset_id=i) for i in ids]
    assert {summary["checksum"] for summary in summaries} == {summaries[0]["checksum"]}
    assert world.state.get(("dataset", ids[1])) == {
        "dataset_id": ids[1],
        "status": "completed",
        "schema": "customers",
        "rows": 250000,
        "columns": [column.name for column in SCHEMAS["customers"]],
        "seed": 69450,
    }


def test_only_a_built_dataset_has_a_summary():
    built = SCENARIO.world(3)
    dataset_id = call(built, "start_test_dataset_build", schema_name="orders", rows=10, seed=4)[
        "dataset_id"
    ]
    assert call(built, "get_test_dataset_summary", dataset_id=dataset_id)["rows"] == 10
    fresh = SCENARIO.world(3)  # the same world, where nothing was built
    with pytest.raises(ToolError, match="no test dataset"):
        call(fresh, "get_test_dataset_summary", dataset_id=dataset_id)
    assert len(fresh.state) == 0


def test_generators_are_reads_and_a_build_is_the_only_write():
    world = SCENARIO.world(0)
    policy = run(world, "get_password_policy", name=world.policies[0])["policy_id"]
    reads = [
        ("generate_user_profiles", {"seed": 1, "count": 2}),
        ("generate_fake_address", {"country": "FR", "seed": 1}),
        ("generate_seeded_uuids", {"seed": 1, "count": 2}),
        ("sample_named_distribution", {"distribution": "page_load_ms", "n": 5, "seed": 1}),
        ("get_password_policy", {"name": world.policies[1]}),
        ("generate_policy_password", {"policy_id": policy, "username": "jdoe", "seed": 1}),
    ]
    for tool_name, arguments in reads:
        assert not TOOLS[tool_name].writes
        _, effects = TOOLS[tool_name].run(world, arguments)
        assert not effects.writes, tool_name
    assert len(world.state) == 0
    _, effects = TOOLS["start_test_dataset_build"].run(
        world, {"schema_name": "payments", "rows": 3, "seed": 9}
    )
    built = [key for key in effects.writes if key[0] == "dataset"]
    assert len(built) == 1
    _, read = TOOLS["get_test_dataset_summary"].run(world, {"dataset_id": built[0][1]})
    assert read.reads == {built[0]} and not read.writes and not read.scans


@pytest.mark.parametrize(
    "arguments",
    [
        {"schema_name": "invoices", "rows": 5, "seed": 1},
        {"schema_name": "orders", "rows": 0, "seed": 1},
        {"schema_name": "orders", "rows": 5, "seed": -1},
    ],
)
def test_a_refused_build_changes_nothing_even_unrecorded(arguments):
    """The backend validates before writing: even the unrecorded path leaves no trace."""
    world = SCENARIO.world(0)
    with pytest.raises(ToolError):
        call(world, "start_test_dataset_build", **arguments)
    assert len(world.state) == 0


def test_builds_of_different_requests_commute():
    world = SCENARIO.world(1)
    build, summary = TOOLS["start_test_dataset_build"], TOOLS["get_test_dataset_summary"]
    one, one_effects = build.run(world, {"schema_name": "orders", "rows": 5, "seed": 1})
    two, two_effects = build.run(world, {"schema_name": "orders", "rows": 5, "seed": 2})
    _, read_one = summary.run(world, {"dataset_id": one["dataset_id"]})
    assert not one_effects.conflicts_with(two_effects)
    assert not two_effects.conflicts_with(read_one)
    # in the other order, on a fresh world: the same ids and the same state
    other = SCENARIO.world(1)
    assert build.run(other, {"schema_name": "orders", "rows": 5, "seed": 2})[0] == two
    assert build.run(other, {"schema_name": "orders", "rows": 5, "seed": 1})[0] == one
    assert other.state.snapshot() == world.state.snapshot()
