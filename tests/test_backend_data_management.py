"""Backend tests of the data_management scenario, with values computed independently.

Rows are derived from a hash of the world's seed, so a table is listed here by querying it
once per value of one of its enum columns (the answers must partition the table), and every
other answer is checked against that listing: filters really filter, aggregates are the sum,
mean, minimum or maximum of the listed values, references resolve, keys are unique, inserts
fill the documented defaults and updates chain their version ids.

The world is stateful (see *State* in the module docstring): the tests at the end check that
every write shows in the reads that follow, that a repeated write makes a second object with
a new id (the first keeping its v2 id, recomputed here from the documented recipe), that
calls meaning the same leave the same state, that a refused write changes nothing, and that
the keys keep tasks on different tables apart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import statistics
from typing import Any

import numpy as np
import pytest

from asynctool_env.core.effects import play_gold, unordered_conflicts
from asynctool_env.core.scenario import build_task, build_task_from_spec, stable_id, world_digest
from asynctool_env.core.state import WorldState
from asynctool_env.core.tools import ToolError
from asynctool_env.dataset.evolution import add_follow_up, add_lookup, add_side_step
from asynctool_env.scenarios import SCENARIOS, data_management
from asynctool_env.scenarios import TOOLS as ALL_TOOLS

SCENARIO = data_management.SCENARIO
TOOLS = {tool.name: tool for tool in SCENARIO.tools}
TABLE_NAMES = ("customers", "orders", "products", "employees", "invoices", "support_tickets")
SEEDS = range(4)


def call(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool the way the chat path does (arguments validated first)."""
    return TOOLS[tool_name].execute(world, arguments)


def describe(world: Any, table: str) -> dict[str, Any]:
    return call(world, "describe_database_table", table=table)


def listing(world: Any, table: str) -> list[dict[str, Any]]:
    """Every record of ``table``: one query per value of its first enum column."""
    columns = describe(world, table)["columns"]
    enum = next(column for column in columns if column["type"] == "enum")
    records = []
    for value in enum["values"]:
        found = call(
            world, "query_table_records", table=table, where_column=enum["name"], where_value=value
        )
        assert found["matched"] == len(found["records"])
        assert all(record[enum["name"]] == value for record in found["records"])
        records += found["records"]
    return sorted(records, key=lambda record: record["record_id"])


def today(world: Any) -> str:
    """The world's today, as an insert's default date reveals it (on a copy of the world
    with a fresh state, so the probe leaves ``world`` as it was)."""
    inserted = call(
        dataclasses.replace(world, state=WorldState()),
        "insert_table_record",
        table="customers",
        values={"name": "Probe", "email": "probe@example.org", "country": "Japan"},
    )
    return inserted["record"]["signup_date"]


# -- the tables -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_tables_are_partitioned_by_their_enums_and_keys_are_unique(seed):
    world = SCENARIO.world(seed)
    for table in TABLE_NAMES:
        described = describe(world, f" {table.upper()} ")
        records = listing(world, table)
        assert described["table"] == table
        assert len(records) == described["row_count"]
        ids = [record["record_id"] for record in records]
        assert len(set(ids)) == len(ids)
        prefix = described["record_id_prefix"]
        assert all(re.fullmatch(rf"{prefix}-[0-9A-F]{{6}}", record_id) for record_id in ids)
        keys = [record[described["key_column"]] for record in records]
        assert len(set(keys)) == len(keys), (table, keys)
        names = [column["name"] for column in described["columns"]]
        assert all(list(record) == ["record_id", *names] for record in records)
        for column in described["columns"]:
            values = [record[column["name"]] for record in records]
            if column["type"] == "enum":
                assert set(values) <= set(column["values"])
            elif column["type"] == "money":
                assert all(value >= 0 and round(value, 2) == value for value in values)
            elif column["type"] == "int":
                assert all(type(value) is int and value >= 0 for value in values)
            elif column["type"] == "date":
                assert all(dt.date.fromisoformat(value) for value in values)
            elif column["type"] == "email":
                assert all(re.fullmatch(r"[a-z.]+@[a-z.-]+\.[a-z]+", value) for value in values)


@pytest.mark.parametrize("seed", SEEDS)
def test_references_resolve_to_records_of_the_named_table(seed):
    world = SCENARIO.world(seed)
    for table in ("orders", "invoices", "support_tickets"):
        refs = [c for c in describe(world, table)["columns"] if c["type"] == "ref"]
        for record in listing(world, table):
            for column in refs:
                target = call(world, "get_table_record", record_id=record[column["name"]])
                assert target["table"] == column["references"]
                assert target["record"]["record_id"] == record[column["name"]]


@pytest.mark.parametrize("seed", SEEDS)
def test_dates_are_consistent_with_today(seed):
    world = SCENARIO.world(seed)
    now = today(world)
    assert all(record["signup_date"] < now for record in listing(world, "customers"))
    assert all(record["hire_date"] < now for record in listing(world, "employees"))
    assert all(record["order_date"] <= now for record in listing(world, "orders"))
    for invoice in listing(world, "invoices"):
        if invoice["status"] == "open":  # not yet due
            assert invoice["due_date"] >= now, invoice
        if invoice["status"] == "overdue":  # past due and unpaid
            assert invoice["due_date"] < now, invoice


@pytest.mark.parametrize("seed", SEEDS)
def test_get_record_agrees_with_the_listing(seed):
    world = SCENARIO.world(seed)
    now = dt.date.fromisoformat(today(world))
    for table in TABLE_NAMES:
        for record in listing(world, table):
            got = call(world, "get_table_record", record_id=f" {record['record_id'].lower()} ")
            assert got["table"] == table
            assert got["record"] == record
            assert re.fullmatch(r"VER-[0-9A-F]{6}", got["version_id"])
            changed = dt.date.fromisoformat(got["updated_on"])
            assert now - dt.timedelta(days=29) <= changed <= now


def test_describe_by_hand():
    out = describe(SCENARIO.world(0), "customers")
    assert (out["key_column"], out["record_id_prefix"]) == ("email", "CUS")
    required = {column["name"]: column["required"] for column in out["columns"]}
    assert required == {
        "name": True,
        "email": True,
        "country": True,
        "tier": False,
        "signup_date": False,
        "lifetime_value": False,
        "notes": False,
    }
    tickets = describe(SCENARIO.world(0), "support_tickets")["columns"]
    refs = {column["name"]: column["references"] for column in tickets if column["type"] == "ref"}
    assert refs == {"customer_id": "customers", "assignee_id": "employees"}
    with pytest.raises(ToolError, match="tables: customers, orders"):
        describe(SCENARIO.world(0), "users")


# -- queries and aggregates -----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_queries_filter_what_they_say(seed):
    world = SCENARIO.world(seed)
    customers = listing(world, "customers")
    for country in {record["country"] for record in customers}:
        out = call(
            world,
            "query_table_records",
            table="customers",
            where_column="Country",
            where_value=f"  {country.upper()} ",
        )
        assert (out["where_column"], out["where_value"]) == ("country", country.upper())
        assert out["records"] == [r for r in customers if r["country"] == country]
    orders = listing(world, "orders")
    for items in range(1, 8):  # a numeric column compares numbers
        out = call(
            world,
            "query_table_records",
            table="orders",
            where_column="items",
            where_value=str(items),
        )
        assert out["records"] == [r for r in orders if r["items"] == items]
    order = orders[len(orders) // 2]
    for column, value in (("total", f"{order['total']:.2f}"), ("record_id", order["record_id"])):
        out = call(
            world, "query_table_records", table="orders", where_column=column, where_value=value
        )
        assert order in out["records"]
    by_key = call(
        world,
        "query_table_records",
        table="orders",
        where_column="order_number",
        where_value=order["order_number"].lower(),
    )
    assert by_key["records"] == [order]
    nobody = call(
        world, "query_table_records", table="customers", where_column="name", where_value="Nobody"
    )
    assert (nobody["matched"], nobody["records"]) == (0, [])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"table": "orders", "where_column": "colour", "where_value": "red"}, "no column"),
        ({"table": "orders", "where_column": "status", "where_value": " "}, "must not be empty"),
        ({"table": "orders", "where_column": "total", "where_value": "cheap"}, "must be a number"),
        ({"table": "parcels", "where_column": "status", "where_value": "x"}, "unknown table"),
    ],
)
def test_query_bad_calls(arguments, message):
    with pytest.raises(ToolError, match=message):
        call(SCENARIO.world(0), "query_table_records", **arguments)


def aggregate(values: list[Any], operation: str, money: bool) -> Any:
    if operation == "count":
        return len(values)
    if operation == "sum":
        return round(math.fsum(values), 2) if money else sum(values)
    if not values:
        return None
    if operation == "avg":
        return round(statistics.fmean(values), 2)
    return min(values) if operation == "min" else max(values)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("operation", ["count", "sum", "avg", "min", "max"])
def test_aggregates_are_computed_from_the_records(seed, operation):
    world = SCENARIO.world(seed)
    cases = [
        ("invoices", "amount", "status", "overdue", True),
        ("invoices", "amount", "", "", True),
        ("orders", "items", "status", "delivered", False),
        ("products", "stock", "category", "books", False),
        ("products", "price", "supplier", "Wayne Trading", True),
        ("customers", "lifetime_value", "tier", "platinum", True),
        ("employees", "salary", "department", "Engineering", False),
    ]
    for table, column, where_column, where_value, money in cases:
        records = listing(world, table)
        if where_column:
            records = [r for r in records if r[where_column] == where_value]
        out = call(
            world,
            "aggregate_table_column",
            table=table,
            column=column,
            operation=operation.upper(),
            where_column=where_column,
            where_value=where_value,
        )
        assert (out["table"], out["column"], out["operation"]) == (table, column, operation)
        assert out["matched"] == len(records)
        expected = aggregate([r[column] for r in records], operation, money)
        assert out["value"] == expected, (table, column, where_value, operation)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"column": "status", "operation": "sum"}, "needs a numeric column"),
        ({"column": "amount", "operation": "median"}, "use one of count, sum, avg, min, max"),
        ({"column": "amount", "operation": "sum", "where_column": "status"}, "give both"),
        ({"column": "cost", "operation": "sum"}, "no column 'cost'"),
    ],
)
def test_aggregate_bad_calls(arguments, message):
    with pytest.raises(ToolError, match=message):
        call(SCENARIO.world(0), "aggregate_table_column", table="invoices", **arguments)


def test_count_of_a_text_column_is_allowed():
    world = SCENARIO.world(2)
    out = call(
        world, "aggregate_table_column", table="customers", column="email", operation="count"
    )
    assert out["value"] == out["matched"] == describe(world, "customers")["row_count"]


# -- inserts and updates --------------------------------------------------------------------


def test_insert_fills_the_documented_defaults():
    world = SCENARIO.world(1)
    now = today(world)
    out = call(
        world,
        "insert_table_record",
        table="customers",
        values={
            "name": "  Ada   Lovelace ",
            "email": "ADA@Example.ORG",
            "country": "united kingdom",
        },
    )
    assert out["status"] == "inserted"
    assert re.fullmatch(r"CUS-[0-9A-F]{8}", out["record_id"])
    assert re.fullmatch(r"VER-[0-9A-F]{6}", out["version_id"])
    assert out["record"] == {
        "record_id": out["record_id"],
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "country": "United Kingdom",
        "tier": "bronze",
        "signup_date": now,
        "lifetime_value": 0.0,
        "notes": "",
    }
    customer = listing(world, "customers")[0]["record_id"]
    numbers = {record["order_number"] for record in listing(world, "orders")}
    order = call(
        world,
        "insert_table_record",
        table="orders",
        values={"customer_id": customer.lower(), "total": 59.999, "items": "2"},
    )["record"]
    assert order["customer_id"] == customer
    assert (order["total"], order["items"], order["status"]) == (60.0, 2, "pending")
    assert order["order_date"] == now
    assert re.fullmatch(r"SO-7\d{5}", order["order_number"])  # a generated key
    assert order["order_number"] not in numbers


def test_insert_ids_depend_on_the_values_only():
    # Stateful: the same values in another world state give the same first id, and the
    # inserted record is readable by id (v2 refused it as "still being replicated").
    world = SCENARIO.world(1)
    values = {"name": "Grace Hopper", "email": "grace@example.org", "country": "United States"}
    first = call(world, "insert_table_record", table="customers", values=values)
    reordered = dict(reversed(list(values.items())))
    fresh = SCENARIO.world(1)
    assert call(fresh, "insert_table_record", table="customers", values=reordered) == first
    other = call(
        fresh,
        "insert_table_record",
        table="customers",
        values={**values, "email": "g.hopper@example.org"},
    )
    assert other["record_id"] != first["record_id"]
    # the inserted id is accepted as a reference, and readable
    order = call(
        world,
        "insert_table_record",
        table="orders",
        values={"customer_id": first["record_id"], "total": 10, "items": 1},
    )
    assert order["record"]["customer_id"] == first["record_id"]
    got = call(world, "get_table_record", record_id=first["record_id"].lower())
    assert got["record"] == first["record"]
    assert got["version_id"] == first["version_id"]


@pytest.mark.parametrize(
    ("table", "values", "message"),
    [
        ("customers", {"name": "A"}, "missing required columns for customers: email, country"),
        ("customers", {"name": "A", "email": "not-an-email", "country": "Japan"}, "email address"),
        ("customers", {"name": "A", "email": "a@b.io", "country": "Mars"}, "must be one of"),
        (
            "products",
            {"sku": "X", "name": "Y", "category": "toys", "price": -1, "supplier": "Z"},
            ">= 0",
        ),
        ("orders", {"customer_id": "CUS-FFFFFF", "total": 5, "items": 1}, "no record"),
        (
            "orders",
            {"customer_id": "EMP-000000", "total": 5, "items": 1},
            "record_id of a customer",
        ),
        ("orders", {"items": 1.5, "customer_id": "CUS-FFFFFF", "total": 5}, "whole number"),
        ("invoices", {"due_date": "2025-02-30", "customer_id": "x", "amount": 1}, "YYYY-MM-DD"),
        ("employees", {"name": "A", "shoe_size": 9}, "no column 'shoe_size'"),
        ("customers", {}, "at least one column"),
    ],
)
def test_insert_bad_calls(table, values, message):
    with pytest.raises(ToolError, match=re.escape(message)):
        call(SCENARIO.world(0), "insert_table_record", table=table, values=values)


def test_insert_refuses_a_key_already_in_use():
    world = SCENARIO.world(0)
    taken = listing(world, "customers")[3]
    values = {"name": "Copy", "email": taken["email"].upper(), "country": "Japan"}
    with pytest.raises(ToolError, match=taken["record_id"]):
        call(world, "insert_table_record", table="customers", values=values)


@pytest.mark.parametrize("seed", SEEDS)
def test_update_chains_versions(seed):
    world = SCENARIO.world(seed)
    customer = listing(world, "customers")[-1]
    current = call(world, "get_table_record", record_id=customer["record_id"])["version_id"]
    out = call(
        world,
        "update_table_record",
        record_id=customer["record_id"].lower(),
        changes={"Tier": "GOLD", "notes": "  VIP  "},
    )
    assert out["record_id"] == customer["record_id"]
    assert out["table"] == "customers"
    assert out["previous_version_id"] == current
    assert out["changes"] == {"notes": "VIP", "tier": "gold"}
    assert re.fullmatch(r"VER-[0-9A-F]{6}", out["version_id"])
    assert out["version_id"] != current
    # Stateful: the same changes again are a new version chained on the last one (v2 gave
    # the same version id again).
    again = call(
        world,
        "update_table_record",
        record_id=customer["record_id"],
        changes={"notes": "VIP", "tier": "gold"},
    )
    assert again["previous_version_id"] == out["version_id"]
    assert again["version_id"] not in (out["version_id"], current)
    other = call(
        world, "update_table_record", record_id=customer["record_id"], changes={"tier": "silver"}
    )
    assert other["previous_version_id"] == again["version_id"]
    assert other["version_id"] not in (out["version_id"], again["version_id"])
    # a record inserted a moment ago: its first version is the one the insert returned
    inserted = call(
        world,
        "insert_table_record",
        table="products",
        values={"sku": "NEW-1", "name": "Kite", "category": "toys", "price": 12.5, "supplier": "X"},
    )
    update = call(
        world, "update_table_record", record_id=inserted["record_id"], changes={"stock": 40}
    )
    assert update["previous_version_id"] == inserted["version_id"]
    assert update["changes"] == {"stock": 40}


def test_update_bad_calls():
    world = SCENARIO.world(0)
    customers = listing(world, "customers")
    record_id = customers[0]["record_id"]
    # keeping one's own key is fine, taking another record's is not
    own = {"email": customers[0]["email"]}
    assert call(world, "update_table_record", record_id=record_id, changes=own)["changes"] == own
    with pytest.raises(ToolError, match="already used by record"):
        call(
            world,
            "update_table_record",
            record_id=record_id,
            changes={"email": customers[1]["email"]},
        )
    with pytest.raises(ToolError, match="at least one column"):
        call(world, "update_table_record", record_id=record_id, changes={})
    with pytest.raises(ToolError, match="malformed record_id"):
        call(world, "update_table_record", record_id="customer-1", changes={"tier": "gold"})
    count = describe(world, "customers")["row_count"]
    with pytest.raises(ToolError, match="no record"):
        call(
            world, "update_table_record", record_id=f"CUS-{count:02X}0000", changes={"tier": "gold"}
        )
    wrong_check = record_id[:-1] + ("0" if record_id[-1] != "0" else "1")
    with pytest.raises(ToolError, match="no record"):
        call(world, "get_table_record", record_id=wrong_check)


# -- exports and backups --------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_export_jobs(seed):
    world = SCENARIO.world(seed)
    for table in TABLE_NAMES:
        rows = describe(world, table)["row_count"]
        sizes = {}
        for fmt in ("csv", "json", "jsonl", "parquet", "sql"):
            job = call(world, "start_table_export", table=table, file_format=f".{fmt.upper()}")
            prefix = describe(world, table)["record_id_prefix"]
            assert re.fullmatch(rf"EXP-{prefix}-{fmt.upper()}-[0-9A-F]{{4}}", job["job_id"])
            assert (job["table"], job["file_format"], job["status"]) == (table, fmt, "queued")
            assert job["row_count"] == rows
            status = call(world, "get_export_job_status", job_id=job["job_id"].lower())
            assert status["job_id"] == job["job_id"]
            assert (status["status"], status["table"], status["file_format"]) == (
                "completed",
                table,
                fmt,
            )
            assert status["row_count"] == rows
            assert re.fullmatch(r"[0-9a-f]{64}", status["sha256"])
            host = world.database.replace("_", "-")
            assert status["download_url"] == (
                f"https://exports.{host}.example.com/{job['job_id'].lower()}.{fmt}"
            )
            sizes[fmt] = status["size_bytes"]
        # verbose formats are bigger, columnar parquet the smallest
        assert sizes["sql"] > sizes["json"] > sizes["csv"] > sizes["parquet"] > 0


def test_export_bad_calls():
    world = SCENARIO.world(0)
    with pytest.raises(ToolError, match="csv, json, jsonl, parquet, sql"):
        call(world, "start_table_export", table="orders", file_format="xlsx")
    job = call(world, "start_table_export", table="orders", file_format="csv")["job_id"]
    for bad in (job[:-1] + ("0" if job[-1] != "0" else "1"), "EXP-ORD-XLSX-0000", "job-1"):
        with pytest.raises(ToolError, match="start_table_export"):
            call(world, "get_export_job_status", job_id=bad)


@pytest.mark.parametrize("seed", SEEDS)
def test_backups(seed):
    world = SCENARIO.world(seed)
    counts = {table: describe(world, table)["row_count"] for table in TABLE_NAMES}
    chosen = ["orders", "customers", "invoices"]
    out = call(
        world, "backup_database_tables", tables=[" Orders", "CUSTOMERS", "invoices"], label=" pre "
    )
    assert out["tables"] == chosen
    assert out["label"] == "pre"
    assert out["row_count"] == sum(counts[table] for table in chosen)
    assert out["snapshot_date"] == today(world)
    assert out["status"] == "completed"
    assert re.fullmatch(r"BKP-[0-9A-F]{8}", out["backup_id"])
    # the same tables in another order are the same snapshot (the same first id in a fresh
    # world); taken again it is a second backup with a new id (stateful: v2 repeated the id)
    fresh = SCENARIO.world(seed)
    same = call(fresh, "backup_database_tables", tables=sorted(chosen), label="pre")
    assert same["backup_id"] == out["backup_id"]
    assert same["size_bytes"] == out["size_bytes"]
    second = call(world, "backup_database_tables", tables=sorted(chosen), label="pre")
    assert second["backup_id"] != out["backup_id"]
    assert second["size_bytes"] == out["size_bytes"]
    relabelled = call(world, "backup_database_tables", tables=chosen, label="post")
    assert relabelled["backup_id"] != out["backup_id"]
    everything = call(world, "backup_database_tables", tables=list(TABLE_NAMES), label="all")
    assert everything["row_count"] == sum(counts.values())
    assert everything["size_bytes"] > out["size_bytes"]


@pytest.mark.parametrize(
    ("tables", "label", "message"),
    [
        ([], "x", "1 to 6 different tables"),
        (["orders", "ORDERS"], "x", "1 to 6 different tables"),
        (["orders", "parcels"], "x", "unknown table"),
        (["orders"], " ", "label must not be empty"),
        (["orders"], "x" * 61, "at most 60"),
    ],
)
def test_backup_bad_calls(tables, label, message):
    with pytest.raises(ToolError, match=message):
        call(SCENARIO.world(0), "backup_database_tables", tables=tables, label=label)


# -- state: reads see writes ----------------------------------------------------------------


def run(world: Any, tool_name: str, /, **arguments: Any) -> tuple[dict[str, Any], Any]:
    """Run a tool as the environment does (recording its effects; a refusal rolls back)."""
    tool = TOOLS[tool_name]
    return tool.run(world, tool.validate_arguments(arguments))


def a_customer(world: Any) -> str:
    return listing(world, "customers")[0]["record_id"]


@pytest.mark.parametrize("seed", SEEDS)
def test_an_insert_is_seen_by_every_read(seed):
    world = SCENARIO.world(seed)
    counts = {table: describe(world, table)["row_count"] for table in TABLE_NAMES}
    before = listing(world, "orders")
    shipped = [record for record in before if record["status"] == "shipped"]
    inserted = call(
        world,
        "insert_table_record",
        table="orders",
        values={"customer_id": a_customer(world), "total": 123.45, "items": 3, "status": "Shipped"},
    )
    new = inserted["record"]
    assert new["status"] == "shipped"
    # describe counts it, only in its own table
    for table in TABLE_NAMES:
        assert describe(world, table)["row_count"] == counts[table] + (table == "orders")
    # the listing is the old one plus the new record
    assert listing(world, "orders") == sorted([*before, new], key=lambda r: r["record_id"])
    # a query and an aggregate see it
    found = call(
        world, "query_table_records", table="orders", where_column="status", where_value="shipped"
    )
    assert found["matched"] == len(shipped) + 1
    assert found["records"][-1] == new
    total = call(
        world,
        "aggregate_table_column",
        table="orders",
        column="total",
        operation="sum",
        where_column="status",
        where_value="shipped",
    )
    assert total["value"] == round(math.fsum([r["total"] for r in shipped]) + 123.45, 2)
    assert total["matched"] == len(shipped) + 1
    for column, value in (("order_number", new["order_number"]), ("record_id", new["record_id"])):
        out = call(
            world, "query_table_records", table="orders", where_column=column, where_value=value
        )
        assert out["records"] == [new]
    # and it can be read by id
    got = call(world, "get_table_record", record_id=new["record_id"])
    assert got == {
        "table": "orders",
        "record": new,
        "version_id": inserted["version_id"],
        "updated_on": today(world),
    }


def test_a_repeated_insert_is_a_second_row_and_the_first_keeps_its_v2_id():
    world = SCENARIO.world(2)
    rows = describe(world, "orders")["row_count"]
    customer = a_customer(world)
    values = {"customer_id": customer, "total": 19.99, "items": 2}
    first = call(world, "insert_table_record", table="orders", values=values)
    second = call(world, "insert_table_record", table="orders", values=dict(values))
    # the documented recipe: a hash of the seed, the table and the inserted values (as stored),
    # and for the n-th duplicate the same parts and n
    stored = {"customer_id": customer, "items": 2, "total": 19.99}
    assert first["record_id"] == stable_id("ORD", world.seed, "orders", stored, digits=8)
    assert second["record_id"] == stable_id("ORD", world.seed, "orders", stored, 1, digits=8)
    assert first["version_id"] == stable_id("VER", world.seed, first["record_id"])
    assert second["version_id"] == stable_id("VER", world.seed, second["record_id"])
    assert first["record"]["order_number"] != second["record"]["order_number"]
    assert describe(world, "orders")["row_count"] == rows + 2
    for out in (first, second):
        assert (
            call(world, "get_table_record", record_id=out["record_id"])["record"] == out["record"]
        )


def test_a_generated_key_skips_one_already_in_use():
    world = SCENARIO.world(0)
    values = {"customer_id": a_customer(world), "total": 42.5, "items": 1}
    stored = {"customer_id": values["customer_id"], "items": 1, "total": 42.5}
    first = call(world, "insert_table_record", table="orders", values=values)
    # the order number the duplicate would get: SO-7 and its id's last six hex digits mod 10^5
    duplicate_id = stable_id("ORD", world.seed, "orders", stored, 1, digits=8)
    serial = int(duplicate_id[-6:], 16) % 100000
    call(
        world,
        "update_table_record",
        record_id=first["record_id"],
        changes={"order_number": f"SO-7{serial:05d}"},
    )
    second = call(world, "insert_table_record", table="orders", values=values)
    assert second["record_id"] == duplicate_id
    assert second["record"]["order_number"] == f"SO-7{(serial + 1) % 100000:05d}"


@pytest.mark.parametrize("seed", SEEDS)
def test_an_update_is_seen_and_versions_chain(seed):
    world = SCENARIO.world(seed)
    product = listing(world, "products")[1]
    seeded = call(world, "get_table_record", record_id=product["record_id"])
    first = call(
        world, "update_table_record", record_id=product["record_id"], changes={"stock": "220"}
    )
    assert first["previous_version_id"] == seeded["version_id"]
    assert first["version_id"] == stable_id(
        "VER", world.seed, product["record_id"], seeded["version_id"], {"stock": 220}
    )
    got = call(world, "get_table_record", record_id=product["record_id"])
    assert got["record"] == {**product, "stock": 220}
    assert got["version_id"] == first["version_id"]
    assert got["updated_on"] == today(world)
    by_sku = call(
        world,
        "query_table_records",
        table="products",
        where_column="sku",
        where_value=product["sku"],
    )
    assert by_sku["records"] == [{**product, "stock": 220}]
    stock = call(
        world,
        "aggregate_table_column",
        table="products",
        column="stock",
        operation="sum",
    )
    assert stock["value"] == sum(r["stock"] for r in listing(world, "products"))
    assert stock["value"] == sum(r["stock"] for r in listing(SCENARIO.world(seed), "products")) + (
        220 - product["stock"]
    )
    # the next update chains on this one, and the row count never changed
    second = call(
        world, "update_table_record", record_id=product["record_id"], changes={"price": 9.5}
    )
    assert second["previous_version_id"] == first["version_id"]
    got = call(world, "get_table_record", record_id=product["record_id"])
    assert got["record"] == {**product, "stock": 220, "price": 9.5}
    assert describe(world, "products")["row_count"] == len(
        listing(SCENARIO.world(seed), "products")
    )


def test_calls_that_mean_the_same_leave_the_same_state():
    worlds = [SCENARIO.world(3), SCENARIO.world(3)]
    customer = a_customer(worlds[0])
    employee = listing(worlds[0], "employees")[0]["record_id"]
    product = listing(worlds[0], "products")[0]["record_id"]
    spellings = [
        (
            {"customer_id": customer, "assignee_id": employee, "subject": "Lost parcel"},
            "High",
            "220",
            " united   kingdom ",
            ".CSV",
            ["Orders", "customers"],
            " before  import ",
        ),
        (
            {"customer_id": customer.lower(), "assignee_id": employee, "subject": " Lost  parcel"},
            "high",
            220,
            "United Kingdom",
            "csv",
            ["customers", "orders"],
            "before import",
        ),
    ]
    for world, (ticket, priority, stock, country, fmt, tables, label) in zip(
        worlds, spellings, strict=True
    ):
        call(
            world,
            "insert_table_record",
            table="support_tickets",
            values={**ticket, "priority": priority},
        )
        call(world, "update_table_record", record_id=product, changes={"Stock": stock})
        call(
            world,
            "insert_table_record",
            table=" Customers",
            values={"name": "Ada  Lovelace", "email": "ADA@example.org", "country": country},
        )
        call(world, "start_table_export", table="ORDERS", file_format=fmt)
        call(world, "backup_database_tables", tables=tables, label=label)
    assert worlds[0].state.snapshot() == worlds[1].state.snapshot()
    assert len(worlds[0].state) > 0


def test_key_uniqueness_sees_inserted_and_updated_rows():
    world = SCENARIO.world(0)
    customers = listing(world, "customers")
    new = call(
        world,
        "insert_table_record",
        table="customers",
        values={"name": "New One", "email": "new@example.org", "country": "Japan"},
    )
    with pytest.raises(ToolError, match=new["record_id"]):
        call(
            world,
            "insert_table_record",
            table="customers",
            values={"name": "Copy", "email": "NEW@example.org", "country": "Japan"},
        )
    with pytest.raises(ToolError, match=new["record_id"]):
        call(
            world,
            "update_table_record",
            record_id=customers[1]["record_id"],
            changes={"email": "new@example.org"},
        )
    # an updated key takes the new value and frees the old one
    moved = customers[2]
    call(
        world,
        "update_table_record",
        record_id=moved["record_id"],
        changes={"email": "moved@example.org"},
    )
    with pytest.raises(ToolError, match=moved["record_id"]):
        call(
            world,
            "insert_table_record",
            table="customers",
            values={"name": "Copy", "email": "moved@example.org", "country": "Japan"},
        )
    freed = call(
        world,
        "insert_table_record",
        table="customers",
        values={"name": "Heir", "email": moved["email"], "country": "Japan"},
    )
    assert freed["record"]["email"] == moved["email"]
    # an inserted record may keep its own key
    own = call(
        world,
        "update_table_record",
        record_id=new["record_id"],
        changes={"email": "new@example.org"},
    )
    assert own["changes"] == {"email": "new@example.org"}


def test_only_records_that_exist_are_accepted():
    world = SCENARIO.world(1)
    never = "CUS-ABCDEF12"  # the shape of an inserted id, but nothing was inserted
    with pytest.raises(ToolError, match="no record"):
        call(world, "get_table_record", record_id=never)
    with pytest.raises(ToolError, match="no record"):
        call(world, "update_table_record", record_id=never, changes={"tier": "gold"})
    with pytest.raises(ToolError, match="no record"):
        call(
            world,
            "insert_table_record",
            table="orders",
            values={"customer_id": never, "total": 5, "items": 1},
        )
    # inserted in another world: unknown here
    elsewhere = call(
        SCENARIO.world(1),
        "insert_table_record",
        table="customers",
        values={"name": "Elsewhere", "email": "else@example.org", "country": "India"},
    )
    with pytest.raises(ToolError, match="no record"):
        call(world, "get_table_record", record_id=elsewhere["record_id"])


def test_export_jobs_report_what_they_saw_and_a_second_job_is_new():
    world = SCENARIO.world(1)
    rows = describe(world, "orders")["row_count"]
    first = call(world, "start_table_export", table="orders", file_format="csv")
    check = world_digest(world.seed, "export", "orders", "csv", size=32)[:2].hex().upper()
    assert first["job_id"] == f"EXP-ORD-CSV-{check}"  # the v2 id
    assert first["row_count"] == rows
    # a job of the right shape that was never started is unknown
    other = world_digest(world.seed, "export", "orders", "json", size=32)[:2].hex().upper()
    with pytest.raises(ToolError, match="unknown export job"):
        call(world, "get_export_job_status", job_id=f"EXP-ORD-JSON-{other}")
    before = call(world, "get_export_job_status", job_id=first["job_id"])
    call(
        world,
        "insert_table_record",
        table="orders",
        values={"customer_id": a_customer(world), "total": 5, "items": 1},
    )
    # the first job keeps the row count it saw; a second export is a second job
    assert call(world, "get_export_job_status", job_id=first["job_id"]) == before
    assert before["row_count"] == rows
    second = call(world, "start_table_export", table="orders", file_format="csv")
    assert second["job_id"] != first["job_id"]
    assert re.fullmatch(r"EXP-ORD-CSV-[0-9A-F]{4}", second["job_id"])
    assert second["row_count"] == rows + 1
    status = call(world, "get_export_job_status", job_id=second["job_id"])
    assert status["row_count"] == rows + 1
    assert status["size_bytes"] > before["size_bytes"]
    assert status["sha256"] != before["sha256"]
    # the json export of the same table is still unknown, and then its own first job
    with pytest.raises(ToolError, match="unknown export job"):
        call(world, "get_export_job_status", job_id=f"EXP-ORD-JSON-{other}")
    json_job = call(world, "start_table_export", table="orders", file_format="json")
    assert json_job["job_id"] == f"EXP-ORD-JSON-{other}"


def test_backups_are_kept_with_the_counts_they_saw():
    world = SCENARIO.world(2)
    rows = describe(world, "orders")["row_count"]
    customers = describe(world, "customers")["row_count"]
    first = call(world, "backup_database_tables", tables=["orders", "customers"], label="pre")
    v2_id = stable_id("BKP", world.seed, ["customers", "orders"], "pre", digits=8)
    assert first["backup_id"] == v2_id
    assert world.state.get(("backup", v2_id)) == {
        "backup_id": v2_id,
        "label": "pre",
        "tables": ["customers", "orders"],
        "row_counts": {"customers": customers, "orders": rows},
        "snapshot_date": today(world),
    }
    call(
        world,
        "insert_table_record",
        table="orders",
        values={"customer_id": a_customer(world), "total": 5, "items": 1},
    )
    again = call(world, "backup_database_tables", tables=["customers", "orders"], label="pre")
    assert again["backup_id"] == stable_id(
        "BKP", world.seed, ["customers", "orders"], "pre", 1, digits=8
    )
    assert again["row_count"] == rows + customers + 1
    assert world.state.get(("backup", v2_id))["row_counts"]["orders"] == rows  # unchanged


def test_a_refused_write_changes_nothing():
    world = SCENARIO.world(0)
    customers = listing(world, "customers")
    call(
        world,
        "update_table_record",
        record_id=customers[0]["record_id"],
        changes={"tier": "gold"},
    )
    before = world.state.snapshot()
    refused = [
        (
            "insert_table_record",
            {
                "table": "customers",
                "values": {"name": "X", "email": customers[3]["email"], "country": "Japan"},
            },
        ),
        ("insert_table_record", {"table": "orders", "values": {"total": 5, "items": 1}}),
        (
            "update_table_record",
            {"record_id": customers[0]["record_id"], "changes": {"tier": "diamond"}},
        ),
        (
            "update_table_record",
            {"record_id": customers[0]["record_id"], "changes": {"email": customers[1]["email"]}},
        ),
        ("update_table_record", {"record_id": "CUS-00000000", "changes": {"tier": "gold"}}),
        ("start_table_export", {"table": "orders", "file_format": "xlsx"}),
        ("backup_database_tables", {"tables": ["orders", "orders"], "label": "x"}),
        ("backup_database_tables", {"tables": ["orders"], "label": "x" * 61}),
    ]
    for tool_name, arguments in refused:
        with pytest.raises(ToolError):
            run(world, tool_name, **arguments)
        assert world.state.snapshot() == before, tool_name
    # the update before them still shows
    got = call(world, "get_table_record", record_id=customers[0]["record_id"])
    assert got["record"]["tier"] == "gold"


def test_reads_write_nothing_and_keys_keep_tables_apart():
    world = SCENARIO.world(4)
    customer = a_customer(world)
    insert_order, writes = run(
        world,
        "insert_table_record",
        table="orders",
        values={"customer_id": customer, "total": 5, "items": 1},
    )
    update_customer = run(
        world, "update_table_record", record_id=customer, changes={"tier": "gold"}
    )
    effects = {
        "insert order": writes,
        "update customer": update_customer[1],
        "describe customers": run(world, "describe_database_table", table="customers")[1],
        "describe orders": run(world, "describe_database_table", table="orders")[1],
        "query customers": run(
            world, "query_table_records", table="customers", where_column="tier", where_value="gold"
        )[1],
        "export orders csv": run(world, "start_table_export", table="orders", file_format="csv")[1],
        "export orders json": run(world, "start_table_export", table="orders", file_format="json")[
            1
        ],
        "export customers csv": run(
            world, "start_table_export", table="customers", file_format="csv"
        )[1],
        "backup invoices": run(world, "backup_database_tables", tables=["invoices"], label="b")[1],
        "get order": run(world, "get_table_record", record_id=insert_order["record_id"])[1],
    }
    reads = ("describe customers", "describe orders", "query customers", "get order")
    assert all(not effects[name].writes for name in reads)
    apart = [
        ("insert order", "describe customers"),
        ("insert order", "query customers"),
        ("insert order", "update customer"),
        ("insert order", "export customers csv"),
        ("insert order", "backup invoices"),
        ("update customer", "describe customers"),  # an update never changes a row count
        ("update customer", "export customers csv"),
        ("export orders csv", "export orders json"),
        ("export orders csv", "export customers csv"),
    ]
    for one, other in apart:
        assert effects[one].conflicts_with(effects[other]) == [], (one, other)
    together = [
        ("insert order", "describe orders"),
        ("insert order", "export orders csv"),
        ("insert order", "get order"),
        ("update customer", "query customers"),
    ]
    for one, other in together:
        assert effects[one].conflicts_with(effects[other]), (one, other)


# -- state: templates and evolution hooks ---------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_account_review_states_the_literal_note_format(seed):
    task = build_task(SCENARIO, "account_review", seed, np.random.default_rng(seed))
    note = task.steps[3].expected_arguments["changes"]["notes"]
    heading = note.split(":")[0]
    orders = task.steps[1].expected_response["matched"]
    invoices = task.steps[2].expected_response["matched"]
    assert note == f"{heading}: {orders} orders, {invoices} invoices"
    assert f'"{heading}: <N> orders, <M> invoices"' in task.instruction
    assert "even for a count of one" in task.instruction
    # the update is seen: the customer's record holds the note
    world = SCENARIO.world(seed)
    for step in task.steps:
        TOOLS[step.tool].run(world, step.expected_arguments)
    record_id = task.steps[3].expected_arguments["record_id"]
    got = call(world, "get_table_record", record_id=record_id)
    assert got["record"]["notes"] == note
    assert got["version_id"] == task.steps[3].expected_response["version_id"]


@pytest.mark.parametrize("seed", range(4))
def test_new_paid_order_leaves_a_paid_order_and_a_backup_after_it_counts_it(seed):
    world = SCENARIO.world(seed)
    rows = describe(SCENARIO.world(seed), "orders")["row_count"]
    spec = SCENARIO.templates["new_paid_order"](world, np.random.default_rng(seed))
    only = dataclasses.replace(
        SCENARIO,
        follow_ups=tuple(r for r in SCENARIO.follow_ups if r.after_tool == "insert_table_record"),
    )
    evolved = add_follow_up(spec, only, world, np.random.default_rng(seed))
    assert evolved is not None
    task = build_task_from_spec(SCENARIO, evolved, seed, template="new_paid_order")
    insert, update, backup = (step.expected_response for step in task.steps[1:])
    assert update["previous_version_id"] == insert["version_id"]
    assert backup["row_count"] == rows + 1  # the backup comes after the insert
    played = SCENARIO.world(seed)
    for step in task.steps:
        TOOLS[step.tool].run(played, step.expected_arguments)
    got = call(played, "get_table_record", record_id=insert["record_id"])
    assert got["record"] == {**insert["record"], "status": "paid"}
    assert got["version_id"] == update["version_id"]


def test_evolved_steps_commute_except_a_side_step_on_the_inserted_table():
    """Lookups and follow-ups never make two unordered steps touch one object; a side step
    (independent by definition) does only when it reads the row count of the table the task
    inserts into, which the build must drop (see *Evolution hooks* in the module)."""
    conflicting: set[str] = set()
    for template in sorted(SCENARIO.templates):
        for seed in range(4):
            world = SCENARIO.world(seed)
            spec = SCENARIO.templates[template](world, np.random.default_rng(seed))
            for rng_seed in range(4):
                rng = np.random.default_rng(rng_seed)
                variants = [
                    ("lookup", add_lookup(spec, SCENARIO, world, rng)),
                    ("follow_up", add_follow_up(spec, SCENARIO, world, rng)),
                    ("side_step", add_side_step(spec, SCENARIO, world, rng)),
                ]
                for kind, evolved in variants:
                    if evolved is None:
                        continue
                    task = build_task_from_spec(SCENARIO, evolved, seed, template=template)
                    play = play_gold([task], ALL_TOOLS, lambda name, s: SCENARIOS[name].world(s))
                    clashes = unordered_conflicts(task, play, 0)
                    if kind != "side_step" or not clashes:
                        assert clashes == [], (template, kind, clashes)
                        continue
                    steps = task.steps
                    insert = next(i for i, s in enumerate(steps) if s.tool == "insert_table_record")
                    assert (
                        steps[-1].expected_arguments["table"]
                        == steps[insert].expected_arguments["table"]
                    )
                    assert {(a, b) for a, b, _ in clashes} == {(insert, len(steps) - 1)}
                    conflicting.add(template)
    assert conflicting <= {"new_paid_order", "open_ticket"}
