"""Backend tests of the data_management scenario, with values computed independently.

Rows are derived from a hash of the world's seed, so a table is listed here by querying it
once per value of one of its enum columns (the answers must partition the table), and every
other answer is checked against that listing: filters really filter, aggregates are the sum,
mean, minimum or maximum of the listed values, references resolve, keys are unique, inserts
fill the documented defaults and updates chain their version ids.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from typing import Any

import pytest

from asynctool_env.core.tools import ToolError
from asynctool_env.scenarios import data_management

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
    """The world's today, as an insert's default date reveals it."""
    inserted = call(
        world,
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
    numbers = {record["order_number"] for record in listing(world, "orders")}
    assert order["order_number"] not in numbers


def test_insert_ids_depend_on_the_values_only():
    world = SCENARIO.world(1)
    values = {"name": "Grace Hopper", "email": "grace@example.org", "country": "United States"}
    first = call(world, "insert_table_record", table="customers", values=values)
    reordered = dict(reversed(list(values.items())))
    assert call(world, "insert_table_record", table="customers", values=reordered) == first
    other = call(world, "insert_table_record", table="customers", values={**values, "tier": "gold"})
    assert other["record_id"] != first["record_id"]
    # the inserted id is accepted as a reference, but not yet readable
    order = call(
        world,
        "insert_table_record",
        table="orders",
        values={"customer_id": first["record_id"], "total": 10, "items": 1},
    )
    assert order["record"]["customer_id"] == first["record_id"]
    with pytest.raises(ToolError, match="still being replicated"):
        call(world, "get_table_record", record_id=first["record_id"])


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
    again = call(
        world,
        "update_table_record",
        record_id=customer["record_id"],
        changes={"notes": "VIP", "tier": "gold"},
    )
    assert again == out
    other = call(
        world, "update_table_record", record_id=customer["record_id"], changes={"tier": "silver"}
    )
    assert other["version_id"] != out["version_id"]
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
    # the same tables in another order are the same snapshot; another label another one
    same = call(world, "backup_database_tables", tables=sorted(chosen), label="pre")
    assert same["backup_id"] == out["backup_id"]
    assert same["size_bytes"] == out["size_bytes"]
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
