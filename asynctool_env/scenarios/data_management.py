"""Data Management: query, read, insert and update database records, aggregate, export, back up.

The world
---------
A :class:`DatabaseWorld` is one company's operational database (its name drawn from
:data:`DATABASE_NAMES`) with the six tables of :data:`TABLES` (customers, orders, products,
employees, invoices, support_tickets), the row count the seed gives each table, the day
"today", a ``seed`` and the state that calls change (see *State*). The seed's rows are *not
stored*: row ``i`` of a table is a pure function of
``seed``, the table and ``i``, derived from a hash when asked for (:func:`_row`), and a
reference column (an order's ``customer_id``) points at a row of the referenced table by
recomputing that row's id. Building a world therefore costs a few microseconds.

Every table has a unique *key* column that people use (a customer's ``email``, a product's
``sku``, an order's ``order_number``...) and every row an opaque ``record_id`` such as
``CUS-07A4F2``: the table's prefix, the row number in two hex digits and four check digits
that depend on the seed. A record id is therefore world-specific (only learnt from a
response) yet decodable, so a tool validates a stored row's id by recomputation, never by a
registry (an inserted record's id is looked up in the state).

The tools
---------
=========================== ======= ======================================================
``describe_database_table``  0       columns (types, allowed values), key and row count
``query_table_records``      1       the records whose column equals a value
``get_table_record``         0       one record by id (stored or inserted), current version
``insert_table_record``      2       inserts a record; returns its new id and version id
``update_table_record``      2       changes columns of a record; returns the new version
``aggregate_table_column``   1       count / sum / avg / min / max, optionally filtered
``start_table_export``       2       starts an export job (csv, json, jsonl, parquet, sql)
``get_export_job_status``    1       a started job, finished: rows, size, checksum, URL
``backup_database_tables``   3       snapshots tables under a label; returns a backup id
=========================== ======= ======================================================

(the middle column is the declared latency in rounds: reads 0-1, writes and exports 2, a
backup 3.)

State
-----
The seed's rows are derived on demand and never stored; what calls do is kept in the
world's :class:`~asynctool_env.core.state.WorldState`, one object per thing:

* ``("row", table, record_id)``: a record a call inserted or changed, with its version:
  ``{"record", "version_id", "updated_on"}``. An insert puts the new record there; an
  update puts the record with the changes applied (on the seed's row or on the stored one),
  a new version id and today's date;
* ``("inserted", table, record_id)``: the mark of an insert (the record id). Row counts scan
  these, so an update never conflicts with a row count;
* ``("export", table, file_format, job_id)``: an export job as started: table, format, the
  table's row count at that moment, the day;
* ``("backup", backup_id)``: a backup as taken: label, tables (sorted), each one's row count
  at that moment, the day.

Reads see it. ``query_table_records`` and ``aggregate_table_column`` read a table's records
as they are now (the seed's rows as updates left them, in row order, then the inserted rows
by record id); ``describe_database_table`` counts the inserted rows too; ``get_table_record``
reads an inserted record like a stored one, with its current version, and an unknown id of
the inserted shape is refused like any other. Key columns stay unique over the rows as they
are now (an insert or an update that would repeat a key is refused), a generated key
(``order_number``...) skips one already in use, and a reference column accepts an inserted
record. ``get_export_job_status`` knows the jobs that were started (and reports the row count
each saw when it started).

Ids. A new record's id is a hash of the inserted values (``CUS-7F3A2B9C``, eight hex digits,
so it never looks like a stored row's id), a version id a hash of the record id, the previous
version and the changes, a backup id a hash of the tables and the label, each made by
:meth:`~asynctool_env.core.state.WorldState.new_id`: the first object of its content keeps
the id it had in dataset v2, and repeating the call makes a second one with a new id (a
second row, a second backup). Versions chain: an update's ``previous_version_id`` is the
record's current version (the seed's, the insert's or the last update's), so a repeated
update is a new version. An export job id (``EXP-ORD-CSV-3F9A``) names its table and format
plus seed-dependent check digits; the first job of a table and format keeps its v2 id, a
second one gets other check digits. Values are stored as the backend normalises them (an
enum in its declared spelling, an int column as an int, money rounded to cents, text with
single spaces, ids upper-cased), so calls that mean the same leave the same state.

Why the keys keep tasks apart: a query, an aggregate or a key check scans one table's rows,
a row count one table's insert marks, an export one table and format's jobs; a read by id
reads one row. Tasks on different tables (or that only read one) never touch a common
object, and two exports of different tables or formats do not either.

The templates
-------------
======================== ===== ============================================================
``order_customer_email``  2     get_table_record (a constant order record id) ->
                                get_table_record of its customer (a chain)
``promote_top_customer``  2     query_table_records -> update_table_record (a chain)
``restock_product``       2     query_table_records -> update_table_record (a chain)
``new_paid_order``        3     query -> insert_table_record -> update_table_record (chain)
``open_ticket``           3     two independent queries (customer, employee) joined by one
                                insert_table_record (fan-in)
``account_review``        4     query a customer; query their orders and their invoices in
                                parallel; update the customer's notes with both (a diamond)
``status_summary``        3     aggregate_table_column, independent of start_table_export ->
                                get_export_job_status (two branches joined in the answer)
======================== ===== ============================================================

``account_review`` states the notes' literal format, ``"Reviewed: <N> orders, <M>
invoices"`` with the words kept as written even for a count of one, so the gold note
("Reviewed: 1 orders, 2 invoices") is what a careful reader writes.

Evolution hooks
---------------
A constant stored ``record_id`` is revealed by querying its table on the key column
(lookup; the instruction then names the table and the key column). A ``start_table_export``
step can be followed by a backup of the exported table labelled with the job id, and an
``insert_table_record`` step by a backup of the table once the insert is done (an order the
sentence states, since the backup takes no value from the insert) (follow-ups). Asking for a
table's row count or starting an export are independent extra steps (side steps). The
follow-up backup comes after the insert, so its row count includes the new row. A side step
is independent of the task's steps, so one on a table a template inserts into (``orders`` in
``new_paid_order``, ``support_tickets`` in ``open_ticket``) would read a row count that
depends on whether it runs before or after the insert (two unordered steps that conflict,
:func:`~asynctool_env.core.effects.unordered_conflicts`): side steps only ask about the other
four tables.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
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
    world_digest,
)
from asynctool_env.core.state import Key, WorldState
from asynctool_env.core.tools import ToolError, tool


@dataclass(frozen=True)
class Column:
    """A column of a table (static schema, the same in every world).

    Attributes:
        name: Column name.
        kind: ``text``, ``note`` (text that may be empty), ``email``, ``enum``, ``int``,
            ``money`` (two decimals), ``date`` (YYYY-MM-DD) or ``ref`` (a record id).
        choices: Allowed values of an ``enum``; the referenced table of a ``ref``.
        default: What an insert that leaves the column out gets: a value, ``"today"``,
            ``"auto"`` (a generated key), or ``None`` when the column is required.
    """

    name: str
    kind: str
    choices: tuple[str, ...] = ()
    default: Any = None


@dataclass(frozen=True)
class Table:
    """A table of the database (static schema)."""

    name: str
    prefix: str
    noun: str
    key: str
    rows: tuple[int, int]  # lowest and highest row count a world may draw
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        wanted = name.strip().casefold()
        for column in self.columns:
            if column.name == wanted:
                return column
        raise ToolError(
            f"table {self.name!r} has no column {name!r}; its columns: "
            + ", ".join(column.name for column in self.columns)
        )


COUNTRIES: tuple[str, ...] = (
    "United States",
    "Germany",
    "France",
    "United Kingdom",
    "Canada",
    "Japan",
    "Brazil",
    "India",
)
TIERS: tuple[str, ...] = ("bronze", "silver", "gold", "platinum")
ORDER_STATUSES: tuple[str, ...] = (
    "pending",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
)
CATEGORIES: tuple[str, ...] = ("electronics", "home", "garden", "sports", "books", "toys")
DEPARTMENTS: tuple[str, ...] = (
    "Sales",
    "Support",
    "Engineering",
    "Finance",
    "Marketing",
    "Operations",
)
INVOICE_STATUSES: tuple[str, ...] = ("open", "paid", "overdue", "void")
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
TICKET_STATUSES: tuple[str, ...] = ("open", "pending", "solved", "closed")

#: The tables of every world, in a fixed order.
TABLES: tuple[Table, ...] = (
    Table(
        "customers",
        "CUS",
        "customer",
        "email",
        (16, 30),
        (
            Column("name", "text"),
            Column("email", "email"),
            Column("country", "enum", COUNTRIES),
            Column("tier", "enum", TIERS, "bronze"),
            Column("signup_date", "date", default="today"),
            Column("lifetime_value", "money", default=0.0),
            Column("notes", "note", default=""),
        ),
    ),
    Table(
        "orders",
        "ORD",
        "order",
        "order_number",
        (24, 40),
        (
            Column("order_number", "text", default="auto"),
            Column("customer_id", "ref", ("customers",)),
            Column("status", "enum", ORDER_STATUSES, "pending"),
            Column("total", "money"),
            Column("items", "int"),
            Column("order_date", "date", default="today"),
        ),
    ),
    Table(
        "products",
        "PRD",
        "product",
        "sku",
        (14, 26),
        (
            Column("sku", "text"),
            Column("name", "text"),
            Column("category", "enum", CATEGORIES),
            Column("price", "money"),
            Column("stock", "int", default=0),
            Column("supplier", "text"),
        ),
    ),
    Table(
        "employees",
        "EMP",
        "employee",
        "email",
        (10, 18),
        (
            Column("name", "text"),
            Column("email", "email"),
            Column("department", "enum", DEPARTMENTS),
            Column("title", "text"),
            Column("salary", "int"),
            Column("hire_date", "date", default="today"),
        ),
    ),
    Table(
        "invoices",
        "INV",
        "invoice",
        "invoice_number",
        (20, 36),
        (
            Column("invoice_number", "text", default="auto"),
            Column("customer_id", "ref", ("customers",)),
            Column("amount", "money"),
            Column("due_date", "date"),
            Column("status", "enum", INVOICE_STATUSES, "open"),
        ),
    ),
    Table(
        "support_tickets",
        "TCK",
        "support ticket",
        "ticket_number",
        (12, 24),
        (
            Column("ticket_number", "text", default="auto"),
            Column("customer_id", "ref", ("customers",)),
            Column("assignee_id", "ref", ("employees",)),
            Column("subject", "text"),
            Column("priority", "enum", PRIORITIES, "normal"),
            Column("status", "enum", TICKET_STATUSES, "open"),
            Column("opened_on", "date", default="today"),
        ),
    ),
)
_TABLE_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}
_TABLE_BY_PREFIX: dict[str, Table] = {table.prefix: table for table in TABLES}

DATABASE_NAMES: tuple[str, ...] = (
    "northwind_retail",
    "bluebird_outfitters",
    "acme_supply",
    "lighthouse_books",
    "pinecrest_garden",
    "summit_sports",
    "harbor_electronics",
    "maple_home",
)
#: First names of people (40, all distinct: a table of at most 40 people has distinct ones).
FIRST_NAMES: tuple[str, ...] = (
    "Maya", "Liam", "Sofia", "Noah", "Ava", "Lucas", "Emma", "Ethan", "Chloe", "Omar",
    "Zara", "Felix", "Hana", "Diego", "Nina", "Raj", "Isla", "Jonas", "Amara", "Tom",
    "Priya", "Mateo", "Elena", "Kenji", "Grace", "Samuel", "Leila", "Oscar", "Mia", "Hugo",
    "Aisha", "Daniel", "Freya", "Marco", "Yuki", "Clara", "Ivan", "Nora", "Ben", "Lucia",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Patel", "O'Brien", "Rossi", "Kim", "Johnson", "Silva", "Dubois", "Nakamura", "Martin",
    "Haddad", "Ahmed", "Wagner", "Sato", "Ramirez", "Kowalski", "Mehta", "Campbell", "Berg",
    "Okafor", "Becker", "Novak", "Fischer", "Costa", "Larsen", "Moreau", "Chen",
)  # fmt: skip
_MAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "outlook.com", "proton.me", "yahoo.com")
_CATEGORY_CODES: dict[str, str] = {
    "electronics": "ELC",
    "home": "HOM",
    "garden": "GRD",
    "sports": "SPT",
    "books": "BOK",
    "toys": "TOY",
}
_PRODUCT_NAMES: dict[str, tuple[str, ...]] = {
    "electronics": ("Wireless Mouse", "USB-C Hub", "Noise-Cancelling Headphones", "4K Monitor"),
    "home": ("Ceramic Mug Set", "Linen Duvet Cover", "Cast Iron Skillet", "Desk Lamp"),
    "garden": ("Pruning Shears", "Garden Hose 25m", "Raised Bed Kit", "Solar Path Light"),
    "sports": ("Yoga Mat", "Trail Running Shoes", "Adjustable Dumbbell", "Water Bottle 1L"),
    "books": ("Clean Code", "The Pragmatic Programmer", "Dune", "Sapiens"),
    "toys": ("Wooden Train Set", "Puzzle 1000 pcs", "Building Blocks", "Plush Fox"),
}
_SUPPLIERS: tuple[str, ...] = (
    "Globex Wholesale",
    "Initech Imports",
    "Umbrella Distribution",
    "Stark Logistics",
    "Wayne Trading",
)
_TITLES: dict[str, tuple[str, ...]] = {
    "Sales": ("Account Executive", "Sales Manager"),
    "Support": ("Support Specialist", "Support Lead"),
    "Engineering": ("Software Engineer", "Engineering Manager"),
    "Finance": ("Accountant", "Financial Analyst"),
    "Marketing": ("Marketing Specialist", "Content Strategist"),
    "Operations": ("Operations Coordinator", "Warehouse Manager"),
}
_TICKET_SUBJECTS: tuple[str, ...] = (
    "Package arrived damaged",
    "Refund not received",
    "Cannot log in to my account",
    "Wrong item shipped",
    "Invoice shows the wrong amount",
    "Change of delivery address",
    "Discount code not accepted",
)
_NOTES: tuple[str, ...] = (
    "Prefers email contact",
    "VIP since the spring campaign",
    "Asked for paper invoices",
    "Ships to a business address",
)
EXPORT_FORMATS: tuple[str, ...] = ("csv", "json", "jsonl", "parquet", "sql")
#: Bytes per row of an export, relative to CSV.
_FORMAT_FACTOR: dict[str, float] = {
    "csv": 1.0,
    "json": 1.9,
    "jsonl": 1.7,
    "parquet": 0.45,
    "sql": 2.3,
}
OPERATIONS: tuple[str, ...] = ("count", "sum", "avg", "min", "max")
MAX_TEXT = 200
_FIRST_DAY = dt.date(2025, 6, 2).toordinal()
_STORED_ID = re.compile(r"^([A-Z]{3})-([0-9A-F]{2})([0-9A-F]{4})$")
_INSERTED_ID = re.compile(r"^([A-Z]{3})-[0-9A-F]{8}$")
_JOB_ID = re.compile(r"^EXP-([A-Z]{3})-([A-Z]+)-([0-9A-F]{4})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


@dataclass(frozen=True)
class DatabaseWorld:
    """The database the data management tools work on (see the module docstring).

    Attributes:
        seed: Seeds every row of every table.
        database: Name of the database, e.g. ``"northwind_retail"``.
        counts: Row count of each table as the seed makes it, in the order of
            :data:`TABLES` (inserts add to it: :func:`_row_count`).
        today: Ordinal (:meth:`datetime.date.toordinal`) of the world's today.
        state: What calls inserted, updated, exported and backed up (see *State* in the
            module docstring).
    """

    seed: int
    database: str
    counts: tuple[int, ...]
    today: int
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)

    def count(self, table: Table) -> int:
        """How many rows the seed gives ``table`` (inserted rows not counted)."""
        return self.counts[TABLES.index(table)]


def make_world(rng: np.random.Generator) -> DatabaseWorld:
    """A world drawn from ``rng`` only: a database name, six row counts, a day, a seed."""
    draws = rng.random(len(TABLES) + 3).tolist()
    counts = tuple(
        low + int(draw * (high - low + 1))
        for (low, high), draw in zip((table.rows for table in TABLES), draws, strict=False)
    )
    return DatabaseWorld(
        seed=int(draws[-1] * 2**52),
        database=DATABASE_NAMES[int(draws[-2] * len(DATABASE_NAMES))],
        counts=counts,
        today=_FIRST_DAY + int(draws[-3] * 90),
    )


# -- rows -----------------------------------------------------------------------------------


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=32)


def _record_id(world: DatabaseWorld, table: Table, index: int) -> str:
    check = _digest(world.seed, "id", table.name, index)
    return f"{table.prefix}-{index:02X}{check[:2].hex().upper()}"


def _day(world: DatabaseWorld, offset: int) -> str:
    """The day ``offset`` days after today (before it when negative), ISO formatted."""
    return dt.date.fromordinal(world.today + offset).isoformat()


def _word(bits: bytes, at: int) -> int:
    return int.from_bytes(bits[at : at + 2], "big")


def _person(world: DatabaseWorld, index: int, salt: int, bits: bytes) -> tuple[str, str]:
    """(full name, lower-case mail handle); the first names of a table are distinct."""
    first = FIRST_NAMES[(world.seed // salt + index) % len(FIRST_NAMES)]
    last = LAST_NAMES[bits[0] % len(LAST_NAMES)]
    return f"{first} {last}", f"{first}.{last.replace(chr(39), '')}".lower()


def _row_values(world: DatabaseWorld, table: Table, index: int) -> dict[str, Any]:
    """The column values of row ``index`` (a pure function of the world)."""
    b = _digest(world.seed, "row", table.name, index)
    n_customers = world.count(_TABLE_BY_NAME["customers"])
    if table.name == "customers":
        name, handle = _person(world, index, 1, b)
        tier = TIERS[(0, 0, 0, 0, 1, 1, 1, 2, 2, 3)[b[3] % 10]]
        scale = (1.0, 2.2, 4.5, 9.0)[TIERS.index(tier)]
        return {
            "name": name,
            "email": f"{handle}@{_MAIL_DOMAINS[b[1] % len(_MAIL_DOMAINS)]}",
            "country": COUNTRIES[b[2] % len(COUNTRIES)],
            "tier": tier,
            "signup_date": _day(world, -30 - _word(b, 4) % 1500),
            "lifetime_value": round(scale * (40 + _word(b, 6) % 60000 / 100), 2),
            "notes": _NOTES[b[8] % len(_NOTES)] if b[9] % 4 == 0 else "",
        }
    if table.name == "orders":
        return {
            "order_number": f"SO-{104000 + 53 * index + b[0] % 53}",
            "customer_id": _record_id(world, _TABLE_BY_NAME["customers"], b[1] % n_customers),
            "status": ORDER_STATUSES[(0, 1, 1, 2, 2, 3, 3, 3, 4, 5)[b[2] % 10]],
            "total": round(15 + _word(b, 3) % 88500 / 100, 2),
            "items": 1 + b[5] % 6,
            "order_date": _day(world, -(b[6] % 120)),
        }
    if table.name == "products":
        category = CATEGORIES[b[1] % len(CATEGORIES)]
        names = _PRODUCT_NAMES[category]
        return {
            "sku": f"{_CATEGORY_CODES[category]}-{1000 + 17 * index + b[0] % 17}",
            "name": names[b[2] % len(names)],
            "category": category,
            "price": round(4.99 + _word(b, 3) % 49500 / 100, 2),
            "stock": b[5] % 251,
            "supplier": _SUPPLIERS[b[6] % len(_SUPPLIERS)],
        }
    if table.name == "employees":
        name, handle = _person(world, index, 7, b)
        department = DEPARTMENTS[b[1] % len(DEPARTMENTS)]
        domain = world.database.split("_")[0]
        return {
            "name": name,
            "email": f"{handle}@{domain}.example.com",
            "department": department,
            "title": _TITLES[department][b[2] % 2],
            "salary": 42000 + 500 * (_word(b, 3) % 290),
            "hire_date": _day(world, -60 - _word(b, 5) % 3900),
        }
    if table.name == "invoices":
        due = b[3] % 90 - 60
        status = "void" if b[4] % 20 == 0 else "paid" if b[4] % 2 else None
        return {
            "invoice_number": f"INV-{1000 + 7 * index + b[0] % 7:05d}",
            "customer_id": _record_id(world, _TABLE_BY_NAME["customers"], b[1] % n_customers),
            "amount": round(80 + _word(b, 5) % 492000 / 100, 2),
            "due_date": _day(world, due),
            "status": status or ("overdue" if due < 0 else "open"),
        }
    # support_tickets
    n_employees = world.count(_TABLE_BY_NAME["employees"])
    return {
        "ticket_number": f"TCK-{5000 + 11 * index + b[0] % 11}",
        "customer_id": _record_id(world, _TABLE_BY_NAME["customers"], b[1] % n_customers),
        "assignee_id": _record_id(world, _TABLE_BY_NAME["employees"], b[2] % n_employees),
        "subject": _TICKET_SUBJECTS[b[3] % len(_TICKET_SUBJECTS)],
        "priority": PRIORITIES[(0, 1, 1, 1, 2, 2, 3)[b[4] % 7]],
        "status": TICKET_STATUSES[b[5] % len(TICKET_STATUSES)],
        "opened_on": _day(world, -(b[6] % 45)),
    }


def _row(world: DatabaseWorld, table: Table, index: int) -> dict[str, Any]:
    """Row ``index`` as the seed makes it (a record: its id, then its columns)."""
    return {"record_id": _record_id(world, table, index), **_row_values(world, table, index)}


def _rows(world: DatabaseWorld, table: Table) -> list[dict[str, Any]]:
    """The seed's rows of ``table`` (what templates choose from: the gold starts there)."""
    return [_row(world, table, index) for index in range(world.count(table))]


def _version(world: DatabaseWorld, table: Table, index: int) -> tuple[str, str]:
    """(version id, day of the last change) of a stored row as the seed makes it."""
    bits = _digest(world.seed, "version", table.name, index)
    return f"VER-{bits[:3].hex().upper()}", _day(world, -(bits[3] % 30))


# -- state ----------------------------------------------------------------------------------


def _row_key(table: Table, record_id: str) -> Key:
    """Where a row that calls inserted or changed is kept: ``{"record", "version_id",
    "updated_on"}``."""
    return ("row", table.name, record_id)


def _inserted_key(table: Table, record_id: str) -> Key:
    """The mark an insert leaves (what row counts scan: an update never touches it)."""
    return ("inserted", table.name, record_id)


def _export_key(table: Table, fmt: str, job_id: str) -> Key:
    return ("export", table.name, fmt, job_id)


def _row_count(world: DatabaseWorld, table: Table) -> int:
    """How many rows ``table`` has now: the seed's, plus the inserted ones."""
    return world.count(table) + world.state.count("inserted", table.name)


def _live_rows(world: DatabaseWorld, table: Table) -> list[dict[str, Any]]:
    """Every record of ``table`` as it is now: the seed's rows in row order (as updates left
    them), then the inserted rows by record id (an order no write order changes)."""
    changed = {key[2]: entry["record"] for key, entry in world.state.scan("row", table.name)}
    rows = []
    for index in range(world.count(table)):
        record_id = _record_id(world, table, index)
        rows.append(changed.pop(record_id, None) or _row(world, table, index))
    return rows + [changed[record_id] for record_id in sorted(changed)]


def _entry(world: DatabaseWorld, table: Table, index: int | None, record_id: str) -> dict[str, Any]:
    """A record with its version: ``{"record", "version_id", "updated_on"}`` (the state's
    when a call inserted or changed it, else the seed's row ``index``)."""
    entry = world.state.get(_row_key(table, record_id))
    if entry is not None:
        return dict(entry)
    if index is None:  # _find checked that an inserted record exists
        raise ToolError(f"no record {record_id!r} in table {table.name!r}")
    version, updated = _version(world, table, index)
    return {"record": _row(world, table, index), "version_id": version, "updated_on": updated}


# -- validation -----------------------------------------------------------------------------


def _table(name: str) -> Table:
    table = _TABLE_BY_NAME.get(name.strip().casefold())
    if table is None:
        raise ToolError(f"unknown table {name!r}; tables: {', '.join(_TABLE_BY_NAME)}")
    return table


_RECORD_HINT = "use a record_id returned by query_table_records or insert_table_record"


def _stored(world: DatabaseWorld, record_id: str) -> tuple[Table, int] | None:
    """(table, row) of a record id the seed makes, ``None`` for the shape of an inserted one
    (whether that one exists is :func:`_find`'s business).

    Raises:
        ToolError: The id is malformed or names no row the seed makes.
    """
    wanted = record_id.strip().upper()
    hint = _RECORD_HINT
    inserted = _INSERTED_ID.match(wanted)
    if inserted and inserted.group(1) in _TABLE_BY_PREFIX:
        return None
    match = _STORED_ID.match(wanted)
    if match is None or match.group(1) not in _TABLE_BY_PREFIX:
        raise ToolError(f"malformed record_id {record_id!r} (like 'CUS-07A4F2'); {hint}")
    table = _TABLE_BY_PREFIX[match.group(1)]
    index = int(match.group(2), 16)
    if index >= world.count(table) or _record_id(world, table, index) != wanted:
        raise ToolError(f"no record {record_id!r} in table {table.name!r}; {hint}")
    return table, index


def _find(world: DatabaseWorld, record_id: str) -> tuple[Table, int | None, str]:
    """(table, seed row or ``None`` for an inserted record, upper-cased id) of a record
    that exists now.

    Raises:
        ToolError: The id is malformed, or names no row of the seed and no inserted record.
    """
    wanted = record_id.strip().upper()
    stored = _stored(world, wanted)
    if stored is not None:
        return stored[0], stored[1], wanted
    table = _TABLE_BY_PREFIX[wanted[:3]]
    if _row_key(table, wanted) not in world.state:
        raise ToolError(f"no record {record_id!r} in table {table.name!r}; {_RECORD_HINT}")
    return table, None, wanted


def _text(value: Any, role: str, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ToolError(f"{role} must be text, got {value!r}")
    cleaned = " ".join(value.split())
    if not cleaned and not empty:
        raise ToolError(f"{role} must not be empty")
    if len(cleaned) > MAX_TEXT:
        raise ToolError(f"{role} is too long ({len(cleaned)} characters, at most {MAX_TEXT})")
    return cleaned


def _number(value: Any, role: str) -> float:
    if isinstance(value, bool):
        raise ToolError(f"{role} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ToolError(f"{role} must be a number, got {value!r}") from None
    if not math.isfinite(number) or abs(number) >= 1e12:
        raise ToolError(f"{role} must be a finite number, got {value!r}")
    return number


def _coerce(world: DatabaseWorld, table: Table, column: Column, value: Any) -> Any:
    """``value`` as ``column`` stores it, or a ToolError that says what is valid."""
    role = f"{table.name}.{column.name}"
    if column.kind in ("text", "note"):
        return _text(value, role, empty=column.kind == "note")
    if column.kind == "email":
        email = _text(value, role).lower()
        if not _EMAIL.match(email):
            raise ToolError(f"{role} must be an email address, got {value!r}")
        return email
    if column.kind == "enum":
        text = _text(value, role).casefold()
        for choice in column.choices:
            if choice.casefold() == text:
                return choice
        raise ToolError(f"{role} must be one of {', '.join(column.choices)}; got {value!r}")
    if column.kind == "int":
        number = _number(value, role)
        if number != int(number) or number < 0:
            raise ToolError(f"{role} must be a whole number >= 0, got {value!r}")
        return int(number)
    if column.kind == "money":
        number = _number(value, role)
        if number < 0:
            raise ToolError(f"{role} must be an amount >= 0, got {value!r}")
        return round(number, 2)
    if column.kind == "date":
        text = _text(value, role)
        try:
            if not _DATE.match(text):
                raise ValueError
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise ToolError(f"{role} must be a date YYYY-MM-DD, got {value!r}") from None
    # ref
    target = _TABLE_BY_NAME[column.choices[0]]
    reference = _text(value, role).upper()
    if not reference.startswith(target.prefix + "-"):
        raise ToolError(
            f"{role} must be the record_id of a {target.noun} (like '{target.prefix}-07A4F2'), "
            f"got {value!r}"
        )
    _find(world, reference)
    return reference


def _changes(
    world: DatabaseWorld, table: Table, values: Mapping[str, Any], role: str
) -> dict[str, Any]:
    if not values:
        raise ToolError(f"{role} must name at least one column")
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        column = table.column(name)
        cleaned[column.name] = _coerce(world, table, column, value)
    return dict(sorted(cleaned.items()))


def _check_key_free(world: DatabaseWorld, table: Table, key: Any, skip: str = "") -> None:
    """Refuse ``key`` when a record of ``table`` other than ``skip`` has it now."""
    for row in _live_rows(world, table):
        if row["record_id"] != skip and row[table.key] == key:
            raise ToolError(
                f"{table.name}.{table.key} {key!r} is already used by record "
                f"{row['record_id']}; it must be unique"
            )


def _filter(
    world: DatabaseWorld, table: Table, where_column: str, where_value: str
) -> list[dict[str, Any]]:
    """The records whose ``where_column`` equals ``where_value`` now (all of them when both
    are empty)."""
    rows = _live_rows(world, table)
    if not where_column.strip() and not where_value.strip():
        return rows
    if not where_column.strip() or not where_value.strip():
        raise ToolError("give both where_column and where_value, or neither")
    name = where_column.strip().casefold()
    column = None if name == "record_id" else table.column(name)
    wanted = " ".join(where_value.split()).casefold()
    if column is not None and column.kind in ("int", "money"):
        number = _number(where_value, f"where_value for {table.name}.{column.name}")
        return [row for row in rows if row[column.name] == number]
    key = column.name if column is not None else "record_id"
    return [row for row in rows if str(row[key]).casefold() == wanted]


# -- tools ----------------------------------------------------------------------------------


@tool(latency=0, canonical={"table": "keyword"})
def describe_database_table(world: DatabaseWorld, table: str) -> dict[str, Any]:
    """Describe a database table: its columns (type, allowed values), key column and row count.

    Args:
        table: Table name: customers, orders, products, employees, invoices or
            support_tickets.
    """
    found = _table(table)
    columns = []
    for column in found.columns:
        entry: dict[str, Any] = {"name": column.name, "type": column.kind}
        if column.kind == "enum":
            entry["values"] = list(column.choices)
        if column.kind == "ref":
            entry["references"] = column.choices[0]
        entry["required"] = column.default is None
        columns.append(entry)
    return {
        "table": found.name,
        "database": world.database,
        "key_column": found.key,
        "record_id_prefix": found.prefix,
        "row_count": _row_count(world, found),
        "columns": columns,
    }


@tool(
    latency=1, canonical={"table": "keyword", "where_column": "keyword", "where_value": "keyword"}
)
def query_table_records(
    world: DatabaseWorld, table: str, where_column: str, where_value: str
) -> dict[str, Any]:
    """Find the records of a table whose column equals a value (text compared ignoring case).

    Args:
        table: Table name, e.g. "customers".
        where_column: Column to filter on, e.g. "country" (or "record_id").
        where_value: The value it must equal, e.g. "Germany".
    """
    found = _table(table)
    if not where_column.strip() or not where_value.strip():
        raise ToolError("where_column and where_value must not be empty")
    records = _filter(world, found, where_column, where_value)
    return {
        "table": found.name,
        "where_column": where_column.strip().casefold(),
        "where_value": " ".join(where_value.split()),
        "matched": len(records),
        "records": records,
    }


@tool(latency=0, canonical={"record_id": "symbol"})
def get_table_record(world: DatabaseWorld, record_id: str) -> dict[str, Any]:
    """Get one database record by its id, with its current version id.

    Args:
        record_id: A record_id returned by query_table_records, e.g. "CUS-07A4F2"; its
            prefix names the table.
    """
    table, index, wanted = _find(world, record_id)
    entry = _entry(world, table, index, wanted)
    return {
        "table": table.name,
        "record": entry["record"],
        "version_id": entry["version_id"],
        "updated_on": entry["updated_on"],
    }


@tool(latency=2, writes=True, canonical={"table": "keyword"})
def insert_table_record(
    world: DatabaseWorld, table: str, values: dict[str, str | int | float]
) -> dict[str, Any]:
    """Insert a record into a table; columns left out get their defaults.

    Args:
        table: Table name, e.g. "orders".
        values: Column values, e.g. {"customer_id": "CUS-07A4F2", "total": 59.9, "items": 2};
            describe_database_table lists the required columns.
    """
    found = _table(table)
    given = _changes(world, found, values, "values")
    missing = [c.name for c in found.columns if c.default is None and c.name not in given]
    if missing:
        raise ToolError(f"missing required columns for {found.name}: {', '.join(missing)}")
    if found.key in given:
        _check_key_free(world, found, given[found.key])
    taken = {row[found.key] for row in _live_rows(world, found)}
    record_id = world.state.new_id(found.prefix, world.seed, found.name, given, digits=8)
    record: dict[str, Any] = {"record_id": record_id}
    for column in found.columns:
        if column.name in given:
            record[column.name] = given[column.name]
        elif column.default == "today":
            record[column.name] = _day(world, 0)
        elif column.default == "auto":
            serial = int(record_id[-6:], 16) % 100000
            stem = {"orders": "SO-7", "invoices": "INV-5", "support_tickets": "TCK-8"}
            while f"{stem[found.name]}{serial:05d}" in taken:  # a key stays unique
                serial = (serial + 1) % 100000
            record[column.name] = f"{stem[found.name]}{serial:05d}"
        else:
            record[column.name] = column.default
    version_id = world.state.new_id("VER", world.seed, record_id)
    world.state.put(
        _row_key(found, record_id),
        {"record": record, "version_id": version_id, "updated_on": _day(world, 0)},
    )
    world.state.put(_inserted_key(found, record_id), record_id)
    return {
        "table": found.name,
        "record_id": record_id,
        "version_id": version_id,
        "status": "inserted",
        "record": record,
    }


@tool(latency=2, writes=True, canonical={"record_id": "symbol"})
def update_table_record(
    world: DatabaseWorld, record_id: str, changes: dict[str, str | int | float]
) -> dict[str, Any]:
    """Change columns of a record; returns the record's new version id.

    Args:
        record_id: A record_id from query_table_records or insert_table_record.
        changes: New column values, e.g. {"tier": "gold"}.
    """
    table, index, wanted = _find(world, record_id)
    cleaned = _changes(world, table, changes, "changes")
    if table.key in cleaned:
        _check_key_free(world, table, cleaned[table.key], skip=wanted)
    entry = _entry(world, table, index, wanted)
    previous = entry["version_id"]
    version_id = world.state.new_id("VER", world.seed, wanted, previous, cleaned)
    world.state.put(
        _row_key(table, wanted),
        {
            "record": {**entry["record"], **cleaned},
            "version_id": version_id,
            "updated_on": _day(world, 0),
        },
    )
    return {
        "table": table.name,
        "record_id": wanted,
        "version_id": version_id,
        "previous_version_id": previous,
        "status": "updated",
        "changes": cleaned,
    }


@tool(
    latency=1,
    canonical={
        "table": "keyword",
        "column": "keyword",
        "operation": "keyword",
        "where_column": "keyword",
        "where_value": "keyword",
    },
)
def aggregate_table_column(
    world: DatabaseWorld,
    table: str,
    column: str,
    operation: str,
    where_column: str = "",
    where_value: str = "",
) -> dict[str, Any]:
    """Aggregate a column over a table's records (count, sum, avg, min or max), optionally filtered.

    Args:
        table: Table name, e.g. "invoices".
        column: Column to aggregate, e.g. "amount" (sum, avg, min and max need a numeric one).
        operation: One of count, sum, avg, min, max.
        where_column: Optional column to filter on, e.g. "status" (leave empty for all rows).
        where_value: The value where_column must equal, e.g. "overdue".
    """
    found = _table(table)
    target = found.column(column)
    op = operation.strip().casefold()
    if op not in OPERATIONS:
        raise ToolError(f"unknown operation {operation!r}; use one of {', '.join(OPERATIONS)}")
    if op != "count" and target.kind not in ("int", "money"):
        raise ToolError(f"{op} needs a numeric column; {found.name}.{target.name} is {target.kind}")
    rows = _filter(world, found, where_column, where_value)
    values = [row[target.name] for row in rows]
    value: Any
    if op == "count":
        value = len(values)
    elif op == "sum":
        value = round(sum(values), 2) if target.kind == "money" else sum(values)
    elif not values:
        value = None
    elif op == "avg":
        value = round(sum(values) / len(values), 2)
    else:
        value = min(values) if op == "min" else max(values)
    return {
        "table": found.name,
        "column": target.name,
        "operation": op,
        "value": value,
        "matched": len(rows),
    }


def _job_id(world: DatabaseWorld, table: Table, fmt: str, made: int) -> str:
    """The id of an export job of ``table`` as ``fmt`` when ``made`` such jobs were started
    before (the first keeps the id it always had): table, format, seed-dependent digits."""
    parts = (table.name, fmt) if made == 0 else (table.name, fmt, made)
    check = _digest(world.seed, "export", *parts)[:2].hex().upper()
    return f"EXP-{table.prefix}-{fmt.upper()}-{check}"


@tool(latency=2, writes=True, canonical={"table": "keyword", "file_format": "keyword"})
def start_table_export(world: DatabaseWorld, table: str, file_format: str) -> dict[str, Any]:
    """Start exporting a whole table to a file; returns the export job id.

    Args:
        table: Table name, e.g. "orders".
        file_format: One of csv, json, jsonl, parquet, sql.
    """
    found = _table(table)
    fmt = file_format.strip().casefold().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise ToolError(f"unknown file_format {file_format!r}; use {', '.join(EXPORT_FORMATS)}")
    started = {key[-1] for key, _ in world.state.scan("export", found.name, fmt)}
    made = len(started)
    job_id = _job_id(world, found, fmt, made)
    while job_id in started:  # a second job never takes an earlier job's id
        made += 1
        job_id = _job_id(world, found, fmt, made)
    rows = _row_count(world, found)
    world.state.put(
        _export_key(found, fmt, job_id),
        {
            "job_id": job_id,
            "table": found.name,
            "file_format": fmt,
            "row_count": rows,
            "started_on": _day(world, 0),
        },
    )
    return {
        "job_id": job_id,
        "table": found.name,
        "file_format": fmt,
        "status": "queued",
        "row_count": rows,
    }


@tool(latency=1, canonical={"job_id": "symbol"})
def get_export_job_status(world: DatabaseWorld, job_id: str) -> dict[str, Any]:
    """Get the status of a table export job, with the file's size and download link when done.

    Args:
        job_id: A job_id returned by start_table_export, e.g. "EXP-ORD-CSV-3F9A".
    """
    wanted = job_id.strip().upper()
    match = _JOB_ID.match(wanted)
    table = _TABLE_BY_PREFIX.get(match.group(1)) if match else None
    fmt = match.group(2).casefold() if match else ""
    job = None
    if table is not None and fmt in EXPORT_FORMATS:
        job = world.state.get(_export_key(table, fmt, wanted))
    if table is None or job is None:
        raise ToolError(
            f"unknown export job {job_id!r} (like 'EXP-ORD-CSV-3F9A'); use the job_id returned "
            "by start_table_export"
        )
    rows = job["row_count"]
    # The file's checksum: the job's own when the table had the seed's rows, and one that
    # also depends on the row count when inserts had changed it.
    if rows == world.count(table):
        bits = _digest(world.seed, "export-file", wanted)
    else:
        bits = _digest(world.seed, "export-file", wanted, rows)
    width = 24 + 14 * len(table.columns)
    host = world.database.replace("_", "-")
    return {
        "job_id": wanted,
        "status": "completed",
        "table": table.name,
        "file_format": fmt,
        "row_count": rows,
        "size_bytes": int((rows + 1) * width * _FORMAT_FACTOR[fmt]) + bits[0],
        "sha256": bits.hex(),
        "download_url": f"https://exports.{host}.example.com/{wanted.lower()}.{fmt}",
    }


@tool(latency=3, writes=True, canonical={"tables": "set:keyword", "label": "name"})
def backup_database_tables(world: DatabaseWorld, tables: list[str], label: str) -> dict[str, Any]:
    """Take a consistent backup snapshot of one or more tables under a label.

    Args:
        tables: Table names, e.g. ["customers", "orders"] (1 to 6, no repeats).
        label: A label for the backup, e.g. "before-price-update".
    """
    names = [_table(name).name for name in tables]
    if not 1 <= len(names) <= len(TABLES) or len(set(names)) != len(names):
        raise ToolError(f"tables must list 1 to {len(TABLES)} different tables, got {tables}")
    tag = _text(label, "label")
    if len(tag) > 60:
        raise ToolError(f"label is too long ({len(tag)} characters, at most 60)")
    counts = {name: _row_count(world, _TABLE_BY_NAME[name]) for name in sorted(names)}
    rows = sum(counts.values())
    backup_id = world.state.new_id("BKP", world.seed, sorted(names), tag, digits=8)
    world.state.put(
        ("backup", backup_id),
        {
            "backup_id": backup_id,
            "label": tag,
            "tables": sorted(names),
            "row_counts": counts,
            "snapshot_date": _day(world, 0),
        },
    )
    return {
        "backup_id": backup_id,
        "label": tag,
        "tables": names,
        "row_count": rows,
        "size_bytes": 4096 + 152 * rows,
        "snapshot_date": _day(world, 0),
        "status": "completed",
    }


# -- templates ------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _customer(world: DatabaseWorld, rng: np.random.Generator) -> dict[str, Any]:
    table = _TABLE_BY_NAME["customers"]
    return _row(world, table, int(rng.integers(world.count(table))))


def order_customer_email(world: DatabaseWorld, rng: np.random.Generator) -> TaskSpec:
    """Read an order by its (given) record id, then its customer (2 steps, a chain)."""
    orders = _TABLE_BY_NAME["orders"]
    record_id = _record_id(world, orders, int(rng.integers(world.count(orders))))
    return TaskSpec(
        instruction=(
            f"Using {record_id}, open the order record it identifies, then open the customer "
            "record that order points to, and tell me the customer's email address."
        ),
        steps=(
            StepSpec("get_table_record", {"record_id": record_id}),
            StepSpec("get_table_record", {"record_id": "${s0.record.customer_id}"}),
        ),
        answer="${s1.record.email}",
    )


def promote_top_customer(world: DatabaseWorld, rng: np.random.Generator) -> TaskSpec:
    """Query the customers of a country, re-tier the most valuable (2 steps, a chain)."""
    country = _customer(world, rng)["country"]
    customers = _filter(world, _TABLE_BY_NAME["customers"], "country", country)
    best = max(range(len(customers)), key=lambda i: customers[i]["lifetime_value"])
    tier = _choice(rng, [t for t in TIERS if t != customers[best]["tier"]])
    return TaskSpec(
        instruction=(
            f"Find the customer from {country} with the highest lifetime value (query the "
            f'customers table by country) and change their tier to "{tier}". Tell me the new '
            "version id of their record."
        ),
        steps=(
            StepSpec(
                "query_table_records",
                {"table": "customers", "where_column": "country", "where_value": country},
            ),
            StepSpec(
                "update_table_record",
                {"record_id": f"${{s0.records.{best}.record_id}}", "changes": {"tier": tier}},
            ),
        ),
        answer="${s1.version_id}",
    )


def restock_product(world: DatabaseWorld, rng: np.random.Generator) -> TaskSpec:
    """Query a category's products, restock the scarcest to a given level (2 steps, a chain)."""
    products = _TABLE_BY_NAME["products"]
    category = _row(world, products, int(rng.integers(world.count(products))))["category"]
    rows = _filter(world, products, "category", category)
    low = min(range(len(rows)), key=lambda i: (rows[i]["stock"], i))
    # A level the instruction states (above the current stock): the model must not have to
    # do arithmetic on a response to know the value it writes.
    level = 10 * math.ceil((rows[low]["stock"] + 10 * (2 + int(rng.integers(19)))) / 10)
    return TaskSpec(
        instruction=(
            f"Among the products in the {category} category, find the one with the lowest "
            f"stock (the first one listed if several tie) and restock it: set its stock to "
            f"{level} units. Tell me its SKU and the new version id of its record."
        ),
        steps=(
            StepSpec(
                "query_table_records",
                {"table": "products", "where_column": "category", "where_value": category},
            ),
            StepSpec(
                "update_table_record",
                {
                    "record_id": f"${{s0.records.{low}.record_id}}",
                    "changes": {"stock": level},
                },
            ),
        ),
        answer=f"${{s0.records.{low}.sku}} ${{s1.version_id}}",
    )


def new_paid_order(world: DatabaseWorld, rng: np.random.Generator) -> TaskSpec:
    """Find a customer, insert an order for them, mark it paid (3 steps, a chain)."""
    email = _customer(world, rng)["email"]
    total = round(float(rng.integers(1500, 60000)) / 100, 2)
    items = 1 + int(rng.integers(6))
    return TaskSpec(
        instruction=(
            f"Create an order for the customer with email {email}: insert into the orders "
            f"table their customer_id, total {total:.2f} and items {items}, leaving the other "
            'columns at their defaults. Then set the new order\'s status to "paid" and tell me '
            "its order number."
        ),
        steps=(
            StepSpec(
                "query_table_records",
                {"table": "customers", "where_column": "email", "where_value": email},
            ),
            StepSpec(
                "insert_table_record",
                {
                    "table": "orders",
                    "values": {
                        "customer_id": "${s0.records.0.record_id}",
                        "total": total,
                        "items": items,
                    },
                },
            ),
            StepSpec(
                "update_table_record",
                {"record_id": "${s1.record_id}", "changes": {"status": "paid"}},
            ),
        ),
        answer="${s1.record.order_number}",
    )


def open_ticket(world: DatabaseWorld, rng: np.random.Generator) -> TaskSpec:
    """Find a customer and an employee in parallel, insert a ticket joining them (3 steps)."""
    email = _customer(world, rng)["email"]
    employees = _TABLE_BY_NAME["employees"]
    staff = _rows(world, employees)
    support = [row for row in staff if row["department"] == "Support"] or staff
    assignee = _choice(rng, support)["name"]
    subject = _choice(rng, _TICKET_SUBJECTS)
    priority = _choice(rng, PRIORITIES)
    return TaskSpec(
        instruction=(
            f"Open a support ticket for the customer with email {email}, assigned to "
            f"{assignee} of the employees table (look the employee up by name): subject "
            f'"{subject}", priority "{priority}". Insert it into the support_tickets table '
            "with only customer_id, assignee_id, subject and priority (the other columns keep "
            "their defaults), and tell me the ticket number."
        ),
        steps=(
            StepSpec(
                "query_table_records",
                {"table": "customers", "where_column": "email", "where_value": email},
            ),
            StepSpec(
                "query_table_records",
                {"table": "employees", "where_column": "name", "where_value": assignee},
            ),
            StepSpec(
                "insert_table_record",
                {
                    "table": "support_tickets",
                    "values": {
                        "customer_id": "${s0.records.0.record_id}",
                        "assignee_id": "${s1.records.0.record_id}",
                        "subject": subject,
                        "priority": priority,
                    },
                },
            ),
        ),
        answer="${s2.record.ticket_number}",
    )


def account_review(world: DatabaseWorld, rng: np.random.Generator) -> TaskSpec:
    """Customer -> (their orders, their invoices) -> a note joining both (4 steps, diamond)."""
    customers = _rows(world, _TABLE_BY_NAME["customers"])
    # A customer with some order or invoice: with neither, the two queries would answer the
    # same (nothing), one lookup made twice.
    active = [
        row
        for row in customers
        if any(
            _filter(world, _TABLE_BY_NAME[table], "customer_id", row["record_id"])
            for table in ("orders", "invoices")
        )
    ]
    email = _choice(rng, active or customers)["email"]
    heading = _choice(rng, ("Reviewed", "Account review", "Checked", "Audit"))
    by_customer = {"where_column": "customer_id", "where_value": "${s0.records.0.record_id}"}
    return TaskSpec(
        instruction=(
            f"Review the account of the customer with email {email}: look up their orders and "
            "their invoices (query each table by customer_id), then set the customer's notes "
            f'to exactly "{heading}: <N> orders, <M> invoices", with <N> the number of their '
            'orders and <M> the number of their invoices (keep the words "orders" and '
            '"invoices" as written, even for a count of one), and tell me the record\'s new '
            "version id."
        ),
        steps=(
            StepSpec(
                "query_table_records",
                {"table": "customers", "where_column": "email", "where_value": email},
            ),
            StepSpec("query_table_records", {"table": "orders", **by_customer}),
            StepSpec("query_table_records", {"table": "invoices", **by_customer}),
            StepSpec(
                "update_table_record",
                {
                    "record_id": "${s0.records.0.record_id}",
                    "changes": {
                        "notes": f"{heading}: ${{s1.matched}} orders, ${{s2.matched}} invoices"
                    },
                },
            ),
        ),
        answer="${s3.version_id}",
    )


_OPERATION_WORDS: dict[str, str] = {"sum": "total", "avg": "average", "max": "largest"}


def status_summary(world: DatabaseWorld, rng: np.random.Generator) -> TaskSpec:
    """An aggregate, and an export followed by its status, independent (3 steps)."""
    name, column = _choice(rng, (("orders", "total"), ("invoices", "amount")))
    table = _TABLE_BY_NAME[name]
    status = _row(world, table, int(rng.integers(world.count(table))))["status"]
    operation = _choice(rng, tuple(_OPERATION_WORDS))
    fmt = _choice(rng, EXPORT_FORMATS)
    return TaskSpec(
        instruction=(
            f"What is the {_OPERATION_WORDS[operation]} {column} ({operation} of the {column} "
            f'column) of the {name} whose status is "{status}"? Also export the whole {name} '
            f"table as {fmt} and, once the export job has finished, give me its download link."
        ),
        steps=(
            StepSpec(
                "aggregate_table_column",
                {
                    "table": name,
                    "column": column,
                    "operation": operation,
                    "where_column": "status",
                    "where_value": status,
                },
            ),
            StepSpec("start_table_export", {"table": name, "file_format": fmt}),
            StepSpec("get_export_job_status", {"job_id": "${s1.job_id}"}),
        ),
        answer="${s0.value}, ${s2.download_url}",
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_record(world: DatabaseWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A stored record id is revealed by querying its table on the key column."""
    if not isinstance(value, str):
        return None
    try:
        stored = _stored(world, value)
    except ToolError:
        return None
    if stored is None:
        return None
    table, index = stored
    key = _row_values(world, table, index)[table.key]
    arguments = {"table": table.name, "where_column": table.key, "where_value": key}
    return (
        arguments,
        "records.0.record_id",
        f"the record id of the {table.noun} in the {table.name} table whose {table.key} is {key}",
    )


def _follow_export(
    world: DatabaseWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """Back up the exported table, labelled with the export's job id (the template that
    exports already checks the job's status, so a status follow-up would only repeat it)."""
    table, fmt = followed.arguments["table"], followed.arguments["file_format"]
    step = StepSpec("backup_database_tables", {"tables": [table], "label": f"${{s{index}.job_id}}"})
    return step, (
        f"Then back up the {table} table on its own, using the job id of its {fmt} export as "
        "the backup label."
    )


def _follow_insert(
    world: DatabaseWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """Back up the table inserted into, once the insert is done (an order the sentence
    states: the backup takes no value from the insert)."""
    table = followed.arguments["table"]
    label = f"after-insert-{_choice(rng, ('am', 'pm', 'eod', 'audit'))}-{int(rng.integers(1, 100))}"
    step = StepSpec("backup_database_tables", {"tables": [table], "label": label}, after=(index,))
    return step, (
        f"Once the new {_TABLE_BY_NAME[table].noun} is inserted, back up the {table} table with "
        f'the label "{label}".'
    )


#: Tables no template inserts into: a side step about one never reads what the task's own
#: insert changes (a row count taken beside an insert of the same table would depend on
#: which of the two a model calls first).
_SIDE_TABLES: tuple[Table, ...] = tuple(
    table for table in TABLES if table.name not in ("orders", "support_tickets")
)


def _side_row_count(world: DatabaseWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    table = _choice(rng, _SIDE_TABLES).name
    step = StepSpec("describe_database_table", {"table": table})
    return step, f"Also tell me how many rows the {table} table has.", "row_count"


def _side_export(world: DatabaseWorld, rng: np.random.Generator) -> tuple[StepSpec, str]:
    table = _choice(rng, _SIDE_TABLES).name
    fmt = _choice(rng, EXPORT_FORMATS)
    step = StepSpec("start_table_export", {"table": table, "file_format": fmt})
    return step, f"Also start a {fmt} export of the {table} table."


SCENARIO = Scenario(
    name="data_management",
    category="Data Management",
    description=(
        "Query, read, insert and update records in a company database, aggregate columns, "
        "export tables and back them up."
    ),
    make_world=make_world,
    tools=(
        describe_database_table,
        query_table_records,
        get_table_record,
        insert_table_record,
        update_table_record,
        aggregate_table_column,
        start_table_export,
        get_export_job_status,
        backup_database_tables,
    ),
    templates={
        "order_customer_email": order_customer_email,
        "promote_top_customer": promote_top_customer,
        "restock_product": restock_product,
        "new_paid_order": new_paid_order,
        "open_ticket": open_ticket,
        "account_review": account_review,
        "status_summary": status_summary,
    },
    lookups=(LookupRule("record_id", "query_table_records", _lookup_record),),
    follow_ups=(
        FollowUpRule("start_table_export", _follow_export),
        FollowUpRule("insert_table_record", _follow_insert),
    ),
    side_steps=(
        SideStepRule("table_row_count", _side_row_count),
        SideStepRule("export_table", _side_export),
    ),
)
