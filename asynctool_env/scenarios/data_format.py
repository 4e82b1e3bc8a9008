"""Data Format: convert JSON / CSV / YAML / XML text, validate it, extract fields, hash it.

The world
---------
A :class:`FormatWorld` is a small data catalogue: five documents, each of a different kind
(:data:`KINDS`: an inventory, an employee roster, orders, sensor readings, books, bank
transactions, a service configuration), stored in one of the four formats under a name
such as ``inventory_lyon.csv`` and declaring the schema it should follow (``schema_id``,
from :data:`SCHEMAS`). The world stores only which kinds, formats and name qualifiers it
has and a ``seed``; a document's records (3 to 6) and its text are a pure function of the
seed, derived from a hash when a tool first needs them (:func:`_documents`, cached). About
one document in three breaks its schema somewhere (a negative quantity, a missing field, a
wrong type, a value outside a list), so validating is not a formality. Document ids
(``DOC-3F2A1C``) depend on the seed, so they are only learnt from a response.

Formats: JSON; CSV (a list of flat records, header first); YAML (block style: mappings,
lists and scalars); XML (a list is ``<records><record>...</record></records>`` or ``<item>``
elements, an object is ``<document>`` with one child per key). CSV and XML carry no types,
so their cells are read back as numbers, ``true``/``false`` or null (an empty cell) where
they look like one.

The tools
---------
================================= ======= ================================================
``find_data_document``             0       a catalogue document by file name
``fetch_data_document``            1       a document's text, format and schema id
``convert_data_format``            1       text from one format into another
``validate_data_against_schema``   1       checks text against a schema id; lists errors
``extract_data_fields``            0       values at a field path (``*.price``), with sums
``reformat_data_text``             0       pretty-prints or minifies JSON / XML text
``compute_document_hash``          0       md5 / sha1 / sha256 / sha512 of a text
``describe_data_schema``           0       the fields, types and limits of a schema
``save_data_document``             2       stores a text (or a new revision) in the catalogue
================================= ======= ================================================

(the middle column is the declared latency in rounds: local computations 0, the catalogue
and conversions 1, storing a document 2.)

State
-----
The catalogue's own five documents are what the seed says; they are read-only. What
``save_data_document`` stores is kept in the world's
:class:`~asynctool_env.core.state.WorldState`, one object per thing:

* ``("saved", DOC-id)``: every saved revision (name, format, revision number, the text as
  given, its records, size and SHA-256), under the id the save returned;
* ``("document", stem, format)``: the document a name and format designate (the stem case
  folded, as ``find_data_document`` compares names): the id of its latest revision, its
  name as last spelt, the revision count and every revision's id, oldest first.

Saving works like a versioned document store: the first save of a name creates the document
(revision 1); saving again under the same name and format makes a new revision, with a new
id, that the name now designates (the response then says which ``revision`` it is and the
``previous_document_id``), even when the text is the same, so a repeated save shows in the
final state. Earlier revisions stay fetchable by their ids. A name the catalogue's own
documents use (their stem, in any format) is refused, so a look-up of one of them never
depends on what was saved.

Reads see it: ``find_data_document`` finds a saved document by its name (``stem.format``,
one key; a bare stem scans that stem's documents, and asks for the extension when several
formats share it) and describes its latest revision (its ``schema_id`` is null: a save
declares none); ``fetch_data_document`` returns any saved revision by its id. Every other
tool reads only its arguments: a conversion, a validation or a hash is a pure function of
the text it gets, and the look-ups of the catalogue's own documents read no state at all, so
the only tasks that can conflict are two that save under one name.

New ids come from the content and the number of identical saves made before
(:meth:`~asynctool_env.core.state.WorldState.new_id` of the seed, the file name and the
text): the first save of a text under a name has the id dataset v2 gave it, and a repeat
gets a new one.

The templates
-------------
======================= ===== ==============================================================
``convert_and_hash``     4     find -> fetch -> convert -> hash (a chain)
``validate_document``    3     find -> fetch -> validate against a given schema id (a chain)
``field_summary``        2     fetch a given document id -> extract a field's values (chain)
``match_format``         5     find A and find B (named without its extension) in parallel;
                               fetch A; convert A into B's format (fan-in); save the result
``reformat_and_hash``    4     find -> fetch, then reformat and hash the text in parallel
                               (fan-out)
``validate_two``         6     two independent chains find -> fetch -> validate (two documents
                               whose validations answer differently)
======================= ===== ==============================================================

Gold calls find a document by its name without the extension (the tool accepts both), so
that every look-up of one document is spelt alike and evolution never adds it twice.

Evolution hooks
---------------
A constant ``document_id`` or ``schema_id`` is revealed by ``find_data_document`` on the
document's name (lookups). Follow-ups hash a text and ask for the digest: the content of a
document fetched by an id the instruction states, the converted text, or the minified text
(a task converts and reformats one document at most, so "the converted text" names one
thing; a fetch by a looked-up id is not followed, since the rule could not say which
document it was). Side steps ask for the title of a schema or the schema a document
declares.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
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
from asynctool_env.core.state import WorldState
from asynctool_env.core.tools import ToolError, tool

FORMATS: tuple[str, ...] = ("json", "csv", "yaml", "xml")
HASH_ALGORITHMS: tuple[str, ...] = ("md5", "sha1", "sha256", "sha512")
STYLES: tuple[str, ...] = ("pretty", "minified")
MAX_TEXT = 200_000


@dataclass(frozen=True)
class Field:
    """A field of a schema: a column of each record, or a dotted path into an object."""

    path: str
    type: str  # string, integer, number, boolean, date, datetime, string-list
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class Schema:
    """A schema of the catalogue (static, the same in every world)."""

    schema_id: str
    title: str
    records: bool  # a list of records (else one object)
    fields: tuple[Field, ...]


SCHEMAS: tuple[Schema, ...] = (
    Schema(
        "inventory-item/v2",
        "Warehouse stock item",
        True,
        (
            Field("sku", "string"),
            Field("name", "string"),
            Field("quantity", "integer", minimum=0),
            Field("unit_price", "number", minimum=0),
            Field("warehouse", "string"),
        ),
    ),
    Schema(
        "employee-record/v1",
        "Employee roster entry",
        True,
        (
            Field("employee_id", "string"),
            Field("name", "string"),
            Field("department", "string", values=("Sales", "Support", "Engineering", "Finance")),
            Field("salary", "integer", minimum=0),
            Field("remote", "boolean"),
        ),
    ),
    Schema(
        "order-summary/v3",
        "Customer order summary",
        True,
        (
            Field("order_id", "string"),
            Field("customer", "string"),
            Field("total", "number", minimum=0),
            Field("status", "string", values=("pending", "shipped", "delivered", "cancelled")),
            Field("placed_on", "date"),
        ),
    ),
    Schema(
        "sensor-reading/v1",
        "Environmental sensor reading",
        True,
        (
            Field("sensor_id", "string"),
            Field("recorded_at", "datetime"),
            Field("temperature_c", "number", minimum=-50, maximum=60),
            Field("humidity_pct", "integer", minimum=0, maximum=100),
        ),
    ),
    Schema(
        "library-book/v1",
        "Library catalogue book",
        True,
        (
            Field("isbn", "string"),
            Field("title", "string"),
            Field("author", "string"),
            Field("year", "integer", minimum=1450, maximum=2025),
            Field("available", "boolean"),
        ),
    ),
    Schema(
        "bank-transaction/v1",
        "Booked bank transaction",
        True,
        (
            Field("txn_id", "string"),
            Field("account", "string"),
            Field("amount", "number"),
            Field("currency", "string", values=("USD", "EUR", "GBP")),
            Field("booked_on", "date"),
        ),
    ),
    Schema(
        "service-config/v2",
        "Service deployment configuration",
        False,
        (
            Field("service.name", "string"),
            Field("service.port", "integer", minimum=1, maximum=65535),
            Field("service.replicas", "integer", minimum=1),
            Field("service.debug", "boolean"),
            Field("database.host", "string"),
            Field("database.port", "integer", minimum=1, maximum=65535),
            Field("database.pool_size", "integer", minimum=1),
            Field("features", "string-list", required=False),
        ),
    ),
)
_SCHEMA_BY_ID: dict[str, Schema] = {schema.schema_id: schema for schema in SCHEMAS}
#: Document kinds: file-name stem and schema (index-aligned with :data:`SCHEMAS`).
KINDS: tuple[str, ...] = (
    "inventory",
    "employees",
    "orders",
    "sensor_readings",
    "books",
    "transactions",
    "service_config",
)
QUALIFIERS: tuple[str, ...] = (
    "lyon",
    "austin",
    "osaka",
    "leeds",
    "q1",
    "q2",
    "q3",
    "q4",
    "2024",
    "emea",
    "apac",
    "prod",
    "staging",
    "north",
)
N_DOCUMENTS = 5

_ITEMS = ("Desk Lamp", "Office Chair", "USB-C Cable", "Standing Desk", "Monitor Arm", "Notebook")
_WAREHOUSES = ("Lyon", "Austin", "Osaka", "Leeds", "Porto")
_NAMES = (
    "Maya Patel",
    "Liam O'Brien",
    "Sofia Rossi",
    "Noah Kim",
    "Ava Johnson",
    "Lucas Silva",
    "Emma Dubois",
    "Omar Haddad",
    "Hana Sato",
    "Diego Ramirez",
)
_BOOKS = (
    ("Dune", "Frank Herbert", 1965),
    ("The Left Hand of Darkness", "Ursula K. Le Guin", 1969),
    ("Neuromancer", "William Gibson", 1984),
    ("The Name of the Rose", "Umberto Eco", 1980),
    ("Beloved", "Toni Morrison", 1987),
    ("Kafka on the Shore", "Haruki Murakami", 2002),
    ("Middlemarch", "George Eliot", 1871),
)
_SERVICES = ("billing", "checkout", "search", "notifications", "auth")
_FEATURES = ("sso", "audit-log", "rate-limits", "dark-mode", "webhooks", "export-csv")


@dataclass(frozen=True)
class FormatWorld:
    """The state the data format tools work on (see the module docstring).

    Attributes:
        seed: Seeds every document's content and id.
        kinds: Indexes into :data:`KINDS` of the catalogue's documents (distinct).
        formats: Format of each document.
        qualifiers: Name qualifier of each document (``inventory_<qualifier>.csv``).
        state: The documents saved to the catalogue (see *State* in the module docstring).
    """

    seed: int
    kinds: tuple[int, ...]
    formats: tuple[str, ...]
    qualifiers: tuple[str, ...]
    state: WorldState = dataclasses.field(default_factory=WorldState, compare=False, repr=False)


def make_world(rng: np.random.Generator) -> FormatWorld:
    """A world drawn from ``rng`` only: five document kinds, formats, name qualifiers, seed."""
    draws = rng.random(len(KINDS) + len(QUALIFIERS) + N_DOCUMENTS + 1).tolist()
    kinds = sorted(range(len(KINDS)), key=draws.__getitem__)[:N_DOCUMENTS]
    rest = draws[len(KINDS) :]
    qualifiers = sorted(range(len(QUALIFIERS)), key=rest.__getitem__)[:N_DOCUMENTS]
    formats = []
    for kind, draw in zip(kinds, rest[len(QUALIFIERS) :], strict=False):
        allowed = FORMATS if SCHEMAS[kind].records else ("json", "yaml", "xml")
        formats.append(allowed[int(draw * len(allowed))])
    return FormatWorld(
        seed=int(draws[-1] * 2**52),
        kinds=tuple(kinds),
        formats=tuple(formats),
        qualifiers=tuple(QUALIFIERS[i] for i in qualifiers),
    )


# -- documents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A catalogue document (derived from the world)."""

    document_id: str
    name: str
    format: str
    schema: Schema
    content: str
    records: int


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=64)


def _record(kind: str, n: int, b: bytes) -> dict[str, Any]:
    """Record ``n`` of a document of ``kind`` (``b``: 8 pseudo-random bytes)."""
    word = int.from_bytes(b[:2], "big")
    if kind == "inventory":
        return {
            "sku": f"WH-{1000 + 37 * n + b[2] % 37}",
            "name": _ITEMS[(b[3] + n) % len(_ITEMS)],
            "quantity": b[4] * 2 % 500,
            "unit_price": round(2 + word % 40000 / 100, 2),
            "warehouse": _WAREHOUSES[b[5] % len(_WAREHOUSES)],
        }
    if kind == "employees":
        return {
            "employee_id": f"E{1040 + 7 * n + b[2] % 7}",
            "name": _NAMES[(b[3] + 3 * n) % len(_NAMES)],
            "department": ("Sales", "Support", "Engineering", "Finance")[b[4] % 4],
            "salary": 42000 + 500 * (word % 250),
            "remote": bool(b[5] % 2),
        }
    if kind == "orders":
        return {
            "order_id": f"ORD-{88000 + 13 * n + b[2] % 13}",
            "customer": _NAMES[(b[3] + n) % len(_NAMES)],
            "total": round(10 + word % 90000 / 100, 2),
            "status": ("pending", "shipped", "delivered", "cancelled")[b[4] % 4],
            "placed_on": f"2025-05-{1 + (b[5] + n) % 28:02d}",
        }
    if kind == "sensor_readings":
        return {
            "sensor_id": f"TMP-{1 + b[2] % 20:02d}",
            "recorded_at": f"2025-06-01T{(6 + 2 * n) % 24:02d}:{b[3] % 60:02d}",
            "temperature_c": round(-5 + word % 400 / 10, 1),
            "humidity_pct": b[4] % 101,
        }
    if kind == "books":
        title, author, year = _BOOKS[(b[2] + n) % len(_BOOKS)]
        return {
            "isbn": f"978-{b[3] % 10}-{1000 + word % 9000}-{1000 + b[4] * 31 % 9000}-{b[5] % 10}",
            "title": title,
            "author": author,
            "year": year,
            "available": bool(b[6] % 3),
        }
    return {  # transactions
        "txn_id": f"TX-{5100 + 11 * n + b[2] % 11}",
        "account": f"ACC-{2200 + b[3] % 80}",
        "amount": round((word % 250000 - 50000) / 100, 2),
        "currency": ("USD", "EUR", "GBP")[b[4] % 3],
        "booked_on": f"2025-05-{1 + (b[5] + 2 * n) % 28:02d}",
    }


def _config(b: bytes) -> dict[str, Any]:
    service = _SERVICES[b[0] % len(_SERVICES)]
    features = [f for i, f in enumerate(_FEATURES) if b[10 + i] % 2]
    return {
        "service": {
            "name": service,
            "port": 8000 + b[1] % 100,
            "replicas": 1 + b[2] % 6,
            "debug": bool(b[3] % 4 == 0),
        },
        "database": {
            "host": f"{service}-db.internal",
            "port": 5432,
            "pool_size": 5 + b[4] % 20,
        },
        "features": features or ["sso"],
    }


def _break(data: Any, schema: Schema, b: bytes) -> Any:
    """``data`` with one schema violation, chosen by ``b``."""
    if not schema.records:
        if b[0] % 2:
            data["service"]["port"] = 70000
        else:
            del data["database"]["host"]
        return data
    record = data[b[1] % len(data)]
    numeric = [f for f in schema.fields if f.type in ("integer", "number")]
    enums = [f for f in schema.fields if f.values]
    choice = b[2] % 4
    if choice == 0 and any(f.minimum is not None for f in numeric):
        field = next(f for f in numeric if f.minimum is not None)
        record[field.path] = -1 - b[3] % 9 if field.minimum == 0 else int(field.minimum) - 7
    elif choice == 1 and enums:
        record[enums[0].path] = "unknown"
    elif choice == 2:
        record[numeric[0].path] = "n/a"
    else:
        del record[schema.fields[1 + b[3] % (len(schema.fields) - 1)].path]
    return data


@functools.lru_cache(maxsize=512)
def _documents(world: FormatWorld) -> tuple[Document, ...]:
    """The catalogue of the world (pure; cached because every call reads it)."""
    documents = []
    for kind_index, fmt, qualifier in zip(
        world.kinds, world.formats, world.qualifiers, strict=True
    ):
        kind, schema = KINDS[kind_index], SCHEMAS[kind_index]
        b = _digest(world.seed, "document", kind)
        if schema.records:
            data: Any = [
                _record(kind, n, _digest(world.seed, kind, n)[:8]) for n in range(3 + b[0] % 4)
            ]
        else:
            data = _config(b[16:])
        if b[1] % 3 == 0:
            data = _break(data, schema, b[32:])
        documents.append(
            Document(
                document_id=f"DOC-{b[8:11].hex().upper()}",
                name=f"{kind}_{qualifier}.{fmt}",
                format=fmt,
                schema=schema,
                content=_dump(data, fmt, "pretty"),
                records=len(data) if isinstance(data, list) else 1,
            )
        )
    return tuple(documents)


# -- parsing and writing --------------------------------------------------------------------

_INT = re.compile(r"^-?(0|[1-9]\d*)$")
_FLOAT = re.compile(r"^-?(0|[1-9]\d*)(\.\d+([eE][-+]?\d+)?|[eE][-+]?\d+)$")
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_DATETIME = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d")


def _infer(text: str) -> Any:
    """A CSV cell or XML text as the JSON value it looks like ("" is null)."""
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return json.dumps(value)
    return str(value)


def _format(value: str, role: str = "data_format") -> str:
    fmt = value.strip().casefold().lstrip(".")
    fmt = "yaml" if fmt == "yml" else fmt
    if fmt not in FORMATS:
        raise ToolError(f"unknown {role} {value!r}; use one of {', '.join(FORMATS)}")
    return fmt


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse(text: str, fmt: str) -> Any:
    """The JSON value that ``text`` in ``fmt`` holds, or a ToolError saying what is wrong."""
    if len(text) > MAX_TEXT:
        raise ToolError(f"text is too long ({len(text)} characters, at most {MAX_TEXT})")
    if not text.strip():
        raise ToolError("text is empty")
    if fmt == "json":
        try:
            return json.loads(text, parse_constant=_no_constant)
        except ValueError as error:
            raise ToolError(f"not valid JSON: {error}") from None
    if fmt == "csv":
        return _parse_csv(text)
    if fmt == "yaml":
        return _parse_yaml(text)
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as error:
        raise ToolError(f"not well-formed XML: {error}") from None
    return _xml_value(root)


def _dump(data: Any, fmt: str, style: str, *, root: str | None = None) -> str:
    """``data`` written in ``fmt``; ``style`` is ``pretty`` or ``minified`` (JSON, XML);
    ``root`` names the XML root element (``records`` for a list, else ``document``)."""
    if fmt == "json":
        if style == "minified":
            return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return _dump_csv(data)
    if fmt == "yaml":
        return "\n".join(_yaml_lines(data, 0)) + "\n"
    for key in _keys(data):
        if not _XML_NAME.match(key) or key.casefold().startswith("xml"):
            raise ToolError(f"key {key!r} cannot be an XML element name")
    tag = root or ("records" if isinstance(data, list) else "document")
    element = _xml_element(tag, data)
    if style == "minified":
        return ET.tostring(element, encoding="unicode")
    ET.indent(element, space="  ")
    return ET.tostring(element, encoding="unicode") + "\n"


def _keys(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [*data, *(key for value in data.values() for key in _keys(value))]
    if isinstance(data, list):
        return [key for value in data for key in _keys(value)]
    return []


def _parse_csv(text: str) -> list[dict[str, Any]]:
    rows = [row for row in csv.reader(io.StringIO(text.strip("\n"))) if any(cell for cell in row)]
    header = [name.strip() for name in rows[0]] if rows else []
    if not header or not all(header) or len(set(header)) != len(header):
        raise ToolError("CSV needs a header row of distinct, non-empty column names")
    records = []
    for number, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise ToolError(f"CSV row {number} has {len(row)} cells; the header has {len(header)}")
        records.append({name: _infer(cell) for name, cell in zip(header, row, strict=True)})
    return records


def _dump_csv(data: Any) -> str:
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data) or not data:
        raise ToolError("CSV holds a non-empty list of flat records; this data is not one")
    header: list[str] = []
    for number, record in enumerate(data, 1):
        for key, value in record.items():
            if isinstance(value, (dict, list)):
                raise ToolError(
                    f"CSV needs flat records: field {key!r} of record {number} is nested"
                )
            if key not in header:
                header.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for record in data:
        writer.writerow([_cell(record.get(key)) for key in header])
    return out.getvalue()


def _xml_element(tag: str, value: Any) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            element.append(_xml_element(key, item))
    elif isinstance(value, list):
        child = "record" if value and all(isinstance(item, dict) for item in value) else "item"
        for item in value:
            element.append(_xml_element(child, item))
    elif value is not None:
        element.text = _cell(value)
    return element


def _xml_value(element: ET.Element) -> Any:
    if element.attrib:
        raise ToolError(f"XML attributes are not supported (on <{element.tag}>)")
    children = list(element)
    if not children:
        return _infer((element.text or "").strip())
    tags = [child.tag for child in children]
    if len(set(tags)) == 1 and (len(tags) > 1 or tags[0] in ("record", "item")):
        return [_xml_value(child) for child in children]
    if len(set(tags)) != len(tags):
        raise ToolError(f"<{element.tag}> mixes repeated and different child elements")
    return {child.tag: _xml_value(child) for child in children}


# YAML: the block subset that data files use (mappings, lists, scalars, comments).

_YAML_KEY = re.compile(r"^([^\s\"'#:\-?\[\]{},&*!|>%@`][^:#]*?)\s*:(?:\s+(.*))?$")
_YAML_SPECIAL = set("-?:,[]{}#&*!|>'\"%@`")
#: Plain strings that some YAML readers take for numbers, dates or booleans: quoted.
_YAML_AMBIGUOUS = re.compile(r"^([-+.\d]|(y|n|yes|no|on|off|true|false|null)$)", re.IGNORECASE)


def _yaml_plain(text: str) -> Any:
    if text in ("null", "Null", "NULL", "~"):
        return None
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text.casefold() == "true"
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def _yaml_scalar(text: str, line: int) -> Any:
    where = f"YAML line {line}"
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            raise ToolError(f"{where}: malformed double-quoted string {text!r}") from None
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise ToolError(f"{where}: unterminated single-quoted string {text!r}")
        return text[1:-1].replace("''", "'")
    if text.startswith("["):
        if not text.endswith("]"):
            raise ToolError(f"{where}: unterminated flow list {text!r}")
        inner = text[1:-1].strip()
        return [_yaml_scalar(part.strip(), line) for part in inner.split(",")] if inner else []
    if text == "{}":
        return {}
    if text[0] in "{|>&*!":
        raise ToolError(
            f"{where}: flow mappings, block scalars, anchors and tags are not supported"
        )
    return _yaml_plain(text)


def _yaml_entry(text: str, line: int) -> tuple[str, str] | None:
    """(key, rest) of a ``key: value`` line, ``None`` when the line is not one."""
    if text[0] in "\"'":
        quote = text[0]
        end = 1
        while end < len(text):
            if text[end] == "\\" and quote == '"':
                end += 2
                continue
            if text[end] == quote:
                break
            end += 1
        rest = text[end + 1 :]
        if end >= len(text) or not rest.startswith(":") or rest[1:2] not in ("", " "):
            return None
        key = _yaml_scalar(text[: end + 1], line)
        return str(key), rest[1:].strip()
    match = _YAML_KEY.match(text)
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").strip()


def _strip_comment(raw: str) -> str:
    quote = ""
    escaped = False
    for index, char in enumerate(raw):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'" and (index == 0 or raw[index - 1] in " :-[,"):
            quote = char
        elif char == "#" and (index == 0 or raw[index - 1] in " \t"):
            return raw[:index]
    return raw


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith("- ")


def _yaml_block(lines: list[list[Any]], i: int, indent: int) -> tuple[Any, int]:
    """The value of the block starting at ``lines[i]`` (all its lines at ``indent``)."""
    text, line = lines[i][1], lines[i][2]
    if _is_item(text):
        items = []
        while i < len(lines) and lines[i][0] == indent and _is_item(lines[i][1]):
            text, line = lines[i][1], lines[i][2]
            rest = text[1:].lstrip(" ")
            if not rest:
                i += 1
                if i < len(lines) and lines[i][0] > indent:
                    value, i = _yaml_block(lines, i, lines[i][0])
                else:
                    value = None
            elif _is_item(rest) or _yaml_entry(rest, line) is not None:
                child = indent + len(text) - len(rest)
                lines[i] = [child, rest, line]
                value, i = _yaml_block(lines, i, child)
            else:
                value, i = _yaml_scalar(rest, line), i + 1
            items.append(value)
        return items, i
    if _yaml_entry(text, line) is None:
        return _yaml_scalar(text, line), i + 1
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent:
        text, line = lines[i][1], lines[i][2]
        entry = _yaml_entry(text, line)
        if entry is None:
            raise ToolError(f"YAML line {line}: expected 'key: value', got {text!r}")
        key, rest = entry
        if key in mapping:
            raise ToolError(f"YAML line {line}: duplicate key {key!r}")
        i += 1
        if rest:
            mapping[key] = _yaml_scalar(rest, line)
        elif i < len(lines) and (
            lines[i][0] > indent or (lines[i][0] == indent and _is_item(lines[i][1]))
        ):
            mapping[key], i = _yaml_block(lines, i, lines[i][0])
        else:
            mapping[key] = None
    return mapping, i


def _parse_yaml(text: str) -> Any:
    lines: list[list[Any]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        body = _strip_comment(raw).rstrip()
        stripped = body.strip()
        if not stripped or stripped in ("---", "...") or stripped.startswith("%"):
            continue
        indent = len(body) - len(body.lstrip(" "))
        if body[indent] == "\t":
            raise ToolError(f"YAML line {number}: indent with spaces, not tabs")
        lines.append([indent, stripped, number])
    if not lines:
        raise ToolError("the YAML text holds no data")
    value, end = _yaml_block(lines, 0, lines[0][0])
    if end != len(lines):
        raise ToolError(f"YAML line {lines[end][2]}: unexpected indentation or structure")
    return value


def _yaml_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[]"
    if isinstance(value, dict):
        return "{}"
    text = str(value)
    plain = (
        text
        and text == text.strip()
        and text[0] not in _YAML_SPECIAL
        and ": " not in text
        and " #" not in text
        and not text.endswith(":")
        and not any(char in text for char in "\n\t\r")
        and isinstance(_yaml_plain(text), str)
        and not _YAML_AMBIGUOUS.match(text)
    )
    return text if plain else json.dumps(text, ensure_ascii=False)


def _yaml_key(key: str) -> str:
    text = _yaml_text(key)
    return text if _YAML_KEY.match(f"{text}: x") else json.dumps(key, ensure_ascii=False)


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict) and value:
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{_yaml_key(key)}:")
                lines.extend(_yaml_lines(item, indent + 2))
            else:
                lines.append(f"{pad}{_yaml_key(key)}: {_yaml_text(item)}")
    elif isinstance(value, list) and value:
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = _yaml_lines(item, indent + 2)
                nested[0] = f"{pad}- {nested[0][indent + 2 :]}"
                lines.extend(nested)
            else:
                lines.append(f"{pad}- {_yaml_text(item)}")
    else:
        lines.append(pad + _yaml_text(value))
    return lines


# -- validation and extraction --------------------------------------------------------------


def _schema(schema_id: str) -> Schema:
    schema = _SCHEMA_BY_ID.get(schema_id.strip().casefold())
    if schema is None:
        raise ToolError(f"unknown schema_id {schema_id!r}; schemas: {', '.join(_SCHEMA_BY_ID)}")
    return schema


def _lookup_path(data: Any, path: str) -> tuple[bool, Any]:
    current = data
    for key in path.split("."):
        if not isinstance(current, dict) or key not in current:
            return False, None
        current = current[key]
    return True, current


def _real_day(value: str) -> bool:
    """2025-02-30 has the shape of a date but is none."""
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _field_errors(field: Field, value: Any, present: bool) -> list[str]:
    if not present or value is None:
        return [f"missing required field {field.path!r}"] if field.required else []
    kind = field.type
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "date": isinstance(value, str) and bool(_DATE.match(value)) and _real_day(value),
        "datetime": isinstance(value, str) and bool(_DATETIME.match(value)),
        "string-list": isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[kind]
    if not ok:
        return [f"{field.path} must be {'an' if kind[0] in 'i' else 'a'} {kind}, got {value!r}"]
    if field.minimum is not None and value < field.minimum:
        return [f"{field.path} must be >= {field.minimum:g}, got {value!r}"]
    if field.maximum is not None and value > field.maximum:
        return [f"{field.path} must be <= {field.maximum:g}, got {value!r}"]
    if field.values and value not in field.values:
        return [f"{field.path} must be one of {', '.join(field.values)}; got {value!r}"]
    return []


def _kind_of(data: Any) -> str:
    return (
        "an object" if isinstance(data, dict) else "a list" if isinstance(data, list) else "a value"
    )


def _validate(data: Any, schema: Schema) -> tuple[list[str], int]:
    """(errors, number of records or objects checked)."""
    if schema.records:
        if not isinstance(data, list):
            return [f"expected a list of records, got {_kind_of(data)}"], 0
        errors = []
        for number, record in enumerate(data, 1):
            if not isinstance(record, dict):
                errors.append(f"record {number}: expected an object, got {record!r}")
                continue
            for field in schema.fields:
                value = record.get(field.path)
                problems = _field_errors(field, value, field.path in record)
                errors += [f"record {number}: {problem}" for problem in problems]
        return errors, len(data)
    if not isinstance(data, dict):
        return [f"expected an object, got {_kind_of(data)}"], 0
    errors = []
    for field in schema.fields:
        found, value = _lookup_path(data, field.path)
        errors += _field_errors(field, value, found)
    return errors, 1


def _select(data: Any, path: str) -> list[Any]:
    current = [data]
    for segment in path.split("."):
        selected: list[Any] = []
        for value in current:
            if segment == "*":
                if isinstance(value, list):
                    selected.extend(value)
                elif isinstance(value, dict):
                    selected.extend(value.values())
            elif isinstance(value, list) and segment.isdigit():
                if int(segment) < len(value):
                    selected.append(value[int(segment)])
            elif isinstance(value, dict) and segment in value:
                selected.append(value[segment])
        current = selected
    return current


def _shape_hint(data: Any) -> str:
    if isinstance(data, list):
        fields = sorted({key for item in data if isinstance(item, dict) for key in item})
        return (
            f"the data is a list of {len(data)} items with fields {', '.join(fields)}; use "
            "'*.<field>' for a field of every item"
        )
    if isinstance(data, dict):
        return f"the data is an object with keys {', '.join(data)}; use dotted paths like 'a.b'"
    return "the data is a single value"


# -- tools ----------------------------------------------------------------------------------


def _stem_of(name: str) -> str:
    """A file name without its extension (a saved document's stem has no dot)."""
    return name.rsplit(".", 1)[0]


def _seed_document(world: FormatWorld, name: str) -> Document | None:
    """The catalogue's own document called ``name`` (with or without its extension)."""
    wanted = name.strip().casefold()
    for document in _documents(world):
        if wanted in (document.name.casefold(), _stem_of(document.name).casefold()):
            return document
    return None


def _saved_by_name(world: FormatWorld, name: str) -> dict[str, Any] | None:
    """The latest revision of the saved document called ``name``: ``stem.format`` is one
    key, a bare stem the documents of that stem (one, or the call is ambiguous)."""
    wanted = name.strip().casefold()
    if "." in wanted:
        stem, extension = wanted.rsplit(".", 1)
        head = world.state.get(("document", stem, "yaml" if extension == "yml" else extension))
        heads = [] if head is None else [head]
    else:
        heads = [value for _, value in world.state.scan("document", wanted)]
    if len(heads) > 1:
        names = ", ".join(head["name"] for head in heads)
        raise ToolError(
            f"several documents are named {name.strip()!r} ({names}); give the extension"
        )
    if not heads:
        return None
    return world.state.get(("saved", heads[0]["document_id"]))


def _not_found(world: FormatWorld, name: str) -> ToolError:
    saved = [value["name"] for _, value in world.state.scan("document")]
    names = ", ".join([document.name for document in _documents(world)] + saved)
    return ToolError(f"no document named {name!r}; the catalogue holds: {names}")


def _summary(document: Document) -> dict[str, Any]:
    return {
        "document_id": document.document_id,
        "name": document.name,
        "format": document.format,
        "schema_id": document.schema.schema_id,
        "records": document.records,
        "size_bytes": len(document.content.encode()),
    }


def _saved_summary(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved revision as the catalogue describes it (it declares no schema)."""
    return {
        "document_id": saved["document_id"],
        "name": saved["name"],
        "format": saved["format"],
        "schema_id": None,
        "records": saved["records"],
        "size_bytes": saved["size_bytes"],
        "revision": saved["revision"],
    }


@tool(latency=0, canonical={"name": "name"})
def find_data_document(world: FormatWorld, name: str) -> dict[str, Any]:
    """Find a document of the data catalogue by file name: its id, format and schema id.

    Args:
        name: The document's file name, e.g. "inventory_lyon.csv" (the extension may be left
            out).
    """
    document = _seed_document(world, name)
    if document is not None:
        return _summary(document)
    saved = _saved_by_name(world, name)
    if saved is None:
        raise _not_found(world, name)
    return _saved_summary(saved)


@tool(latency=1, canonical={"document_id": "symbol"})
def fetch_data_document(world: FormatWorld, document_id: str) -> dict[str, Any]:
    """Fetch the text content of a catalogue document, with its format and schema id.

    Args:
        document_id: A document_id returned by find_data_document, e.g. "DOC-3F2A1C".
    """
    wanted = document_id.strip().upper()
    for document in _documents(world):
        if document.document_id == wanted:
            return {**_summary(document), "content": document.content}
    saved = world.state.get(("saved", wanted)) if wanted else None
    if saved is not None:
        return {**_saved_summary(saved), "content": saved["content"]}
    raise ToolError(
        f"no document {document_id!r} in the catalogue; use a document_id returned by "
        "find_data_document"
    )


@tool(latency=1, canonical={"source_format": "keyword", "target_format": "keyword"})
def convert_data_format(
    world: FormatWorld, text: str, source_format: str, target_format: str
) -> dict[str, Any]:
    """Convert data text from one format to another (json, csv, yaml, xml), pretty-printed.

    Args:
        text: The data text to convert.
        source_format: Format of text: json, csv, yaml or xml.
        target_format: Wanted format: json, csv (needs a list of flat records), yaml or xml.
    """
    source = _format(source_format, "source_format")
    target = _format(target_format, "target_format")
    data = _parse(text, source)
    content = _dump(data, target, "pretty")
    return {
        "source_format": source,
        "target_format": target,
        "content": content,
        "records": len(data) if isinstance(data, list) else 1,
        "size_bytes": len(content.encode()),
    }


@tool(latency=1, canonical={"data_format": "keyword", "schema_id": "keyword"})
def validate_data_against_schema(
    world: FormatWorld, text: str, data_format: str, schema_id: str
) -> dict[str, Any]:
    """Validate data text against a schema of the catalogue: `error_count` counts every
    violation found, and `errors` lists the first 20 of them.

    Args:
        text: The data text to validate.
        data_format: Format of text: json, csv, yaml or xml.
        schema_id: Id of the schema, e.g. "inventory-item/v2".
    """
    schema = _schema(schema_id)
    data = _parse(text, _format(data_format))
    errors, checked = _validate(data, schema)
    return {
        "schema_id": schema.schema_id,
        "status": "invalid" if errors else "valid",
        "error_count": len(errors),
        "errors": errors[:20],
        "checked": checked,
    }


@tool(latency=0, canonical={"data_format": "keyword", "field_path": "name"})
def extract_data_fields(
    world: FormatWorld, text: str, data_format: str, field_path: str
) -> dict[str, Any]:
    """Extract the values at a field path from data text; numbers also get total, min and max.

    Args:
        text: The data text.
        data_format: Format of text: json, csv, yaml or xml.
        field_path: Dotted path; "*" takes every item of a list, a number one item, e.g.
            "*.price" (a field of every record), "0.name" or "service.port".
    """
    data = _parse(text, _format(data_format))
    path = field_path.strip()
    if not path or any(not segment for segment in path.split(".")):
        raise ToolError(f"malformed field_path {field_path!r}, e.g. '*.price' or 'service.port'")
    values = _select(data, path)
    if not values:
        raise ToolError(f"nothing at field_path {path!r}; {_shape_hint(data)}")
    result: dict[str, Any] = {"field_path": path, "values": values, "count": len(values)}
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        result["total"] = round(sum(values), 6)
        result["minimum"] = min(values)
        result["maximum"] = max(values)
    return result


@tool(latency=0, canonical={"data_format": "keyword", "style": "keyword"})
def reformat_data_text(
    world: FormatWorld, text: str, data_format: str, style: str
) -> dict[str, Any]:
    """Pretty-print or minify data text in its own format (minified: json and xml only).

    Args:
        text: The data text.
        data_format: Format of text: json, csv, yaml or xml.
        style: "pretty" (indented) or "minified" (no whitespace between tokens).
    """
    fmt = _format(data_format)
    wanted = style.strip().casefold()
    if wanted not in STYLES:
        raise ToolError(f"unknown style {style!r}; use pretty or minified")
    if wanted == "minified" and fmt in ("csv", "yaml"):
        raise ToolError(f"{fmt} has no minified form; only json and xml can be minified")
    data = _parse(text, fmt)
    # Reformatting keeps the document: an XML root keeps its own name.
    root = ET.fromstring(text.strip()).tag if fmt == "xml" else None
    content = _dump(data, fmt, wanted, root=root)
    return {
        "data_format": fmt,
        "style": wanted,
        "content": content,
        "size_bytes": len(content.encode()),
        "original_size_bytes": len(text.encode()),
    }


@tool(latency=0, canonical={"algorithm": "keyword"})
def compute_document_hash(world: FormatWorld, text: str, algorithm: str) -> dict[str, Any]:
    """Compute the hash of a text (its UTF-8 bytes, exactly as given), as a hex digest.

    Args:
        text: The text to hash.
        algorithm: One of md5, sha1, sha256, sha512.
    """
    name = algorithm.strip().casefold().replace("-", "")
    if name not in HASH_ALGORITHMS:
        raise ToolError(f"unknown algorithm {algorithm!r}; use one of {', '.join(HASH_ALGORITHMS)}")
    if len(text) > MAX_TEXT:
        raise ToolError(f"text is too long ({len(text)} characters, at most {MAX_TEXT})")
    data = text.encode()
    return {
        "algorithm": name,
        "digest": hashlib.new(name, data).hexdigest(),
        "size_bytes": len(data),
    }


@tool(latency=0, canonical={"schema_id": "keyword"})
def describe_data_schema(world: FormatWorld, schema_id: str) -> dict[str, Any]:
    """Describe a schema of the catalogue: the shape it expects and each field's type and limits.

    Args:
        schema_id: Id of the schema, e.g. "order-summary/v3".
    """
    schema = _schema(schema_id)
    fields = []
    for field in schema.fields:
        entry: dict[str, Any] = {"path": field.path, "type": field.type, "required": field.required}
        if field.minimum is not None:
            entry["minimum"] = field.minimum
        if field.maximum is not None:
            entry["maximum"] = field.maximum
        if field.values:
            entry["values"] = list(field.values)
        fields.append(entry)
    return {
        "schema_id": schema.schema_id,
        "title": schema.title,
        "root": "list of records" if schema.records else "object",
        "fields": fields,
    }


@tool(latency=2, writes=True, canonical={"name": "name", "data_format": "keyword"})
def save_data_document(
    world: FormatWorld, name: str, text: str, data_format: str
) -> dict[str, Any]:
    """Save data text to the catalogue under a name; returns its id and SHA-256. Saving
    again under a name you saved makes a new revision of that document, with a new id.

    Args:
        name: File name without extension, e.g. "inventory_lyon_export" (letters, digits,
            "_" and "-"); the extension follows the format.
        text: The data text (it must parse in data_format).
        data_format: Format of text: json, csv, yaml or xml.
    """
    fmt = _format(data_format)
    stem = name.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,60}", stem):
        raise ToolError(f"malformed name {name!r}: 1 to 60 letters, digits, '_' or '-'")
    file_name = f"{stem}.{fmt}"
    taken = _seed_document(world, stem)
    if taken is not None:  # the catalogue's own documents are read-only
        raise ToolError(
            f"the catalogue already holds a document named {taken.name}; choose another name"
        )
    data = _parse(text, fmt)
    head_key = ("document", stem.casefold(), fmt)
    head = world.state.get(head_key)
    revision = 1 if head is None else head["revision"] + 1
    document_id = world.state.new_id("DOC", world.seed, file_name, text, digits=8)
    sha256 = hashlib.sha256(text.encode()).hexdigest()
    saved = {
        "document_id": document_id,
        "name": file_name,
        "format": fmt,
        "revision": revision,
        "content": text,
        "records": len(data) if isinstance(data, list) else 1,
        "size_bytes": len(text.encode()),
        "sha256": sha256,
    }
    world.state.put(("saved", document_id), saved)
    world.state.put(
        head_key,
        {
            "document_id": document_id,
            "name": file_name,
            "revision": revision,
            "revisions": [*(head["revisions"] if head else []), document_id],
        },
    )
    response = {
        "document_id": document_id,
        "name": file_name,
        "format": fmt,
        "status": "saved",
        "records": saved["records"],
        "size_bytes": saved["size_bytes"],
        "sha256": sha256,
    }
    if head is not None:
        response["revision"] = revision
        response["previous_document_id"] = head["document_id"]
    return response


# -- templates ------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _two(world: FormatWorld, rng: np.random.Generator) -> tuple[Document, Document]:
    documents = _documents(world)
    first, second = rng.permutation(len(documents))[:2]
    return documents[int(first)], documents[int(second)]


def _stem(document: Document) -> str:
    """The document's name without its extension: how every gold call finds a document.

    One spelling for every look-up of a document (instructions say the full name, which the
    tool accepts too) lets the evolution operators recognise a look-up the task already
    makes, whatever added it.
    """
    return document.name.rsplit(".", 1)[0]


def _find_fetch(document: Document, at: int) -> tuple[StepSpec, StepSpec]:
    """find_data_document as step ``at`` and fetch_data_document as the next one."""
    return (
        StepSpec("find_data_document", {"name": _stem(document)}),
        StepSpec("fetch_data_document", {"document_id": f"${{s{at}.document_id}}"}),
    )


def convert_and_hash(world: FormatWorld, rng: np.random.Generator) -> TaskSpec:
    """Find, fetch, convert, hash (4 steps, a chain)."""
    document = _choice(rng, _documents(world))
    targets = [
        f for f in FORMATS if f != document.format and (document.schema.records or f != "csv")
    ]
    target = _choice(rng, targets)
    algorithm = _choice(rng, HASH_ALGORITHMS)
    return TaskSpec(
        instruction=(
            f"Fetch the document {document.name} from the data catalogue, convert its content "
            f"to {target}, and tell me the {algorithm} hash of the converted text."
        ),
        steps=(
            *_find_fetch(document, 0),
            StepSpec(
                "convert_data_format",
                {"text": "${s1.content}", "source_format": "${s1.format}", "target_format": target},
            ),
            StepSpec("compute_document_hash", {"text": "${s2.content}", "algorithm": algorithm}),
        ),
        answer="${s3.digest}",
    )


def validate_document(world: FormatWorld, rng: np.random.Generator) -> TaskSpec:
    """Find, fetch, validate against a named schema (3 steps, a chain)."""
    document = _choice(rng, _documents(world))
    schema = document.schema
    if rng.random() < 0.25:  # sometimes against another schema of the same shape
        schema = _choice(rng, [s for s in SCHEMAS if s.records == schema.records])
    return TaskSpec(
        instruction=(
            f"Fetch the document {document.name} from the data catalogue and validate it "
            f'against {schema.schema_id}. Tell me the result ("valid" or "invalid") and '
            "the number of errors."
        ),
        steps=(
            *_find_fetch(document, 0),
            StepSpec(
                "validate_data_against_schema",
                {
                    "text": "${s1.content}",
                    "data_format": "${s1.format}",
                    "schema_id": schema.schema_id,
                },
            ),
        ),
        answer="${s2.status}, ${s2.error_count} errors",
    )


_STATS: dict[str, str] = {"total": "total", "minimum": "smallest value", "maximum": "largest value"}


def field_summary(world: FormatWorld, rng: np.random.Generator) -> TaskSpec:
    """Fetch a document given by id, extract a numeric field of every record (2 steps)."""
    candidates = []
    for document in _documents(world):
        for field in document.schema.fields if document.schema.records else ():
            if field.type not in ("integer", "number"):
                continue
            path = f"*.{field.path}"
            found = extract_data_fields.function(
                world, text=document.content, data_format=document.format, field_path=path
            )
            if "total" in found:
                candidates.append((document, field.path))
    stat = _choice(rng, tuple(_STATS))
    if candidates:
        document, field = _choice(rng, candidates)
        ask, answer = f"their {_STATS[stat]}", f"{stat} ${{s1.{stat}}}"
    else:  # every numeric column holds a broken value: count the record ids instead
        document = next(d for d in _documents(world) if d.schema.records)
        field = document.schema.fields[0].path
        ask, answer = "how many there are", "${s1.count} values"
    return TaskSpec(
        instruction=(
            f"Using {document.document_id}, fetch the catalogue document it identifies and "
            f'extract the {field} value of every record (field path "*.{field}"). Tell me '
            f"{ask}."
        ),
        steps=(
            StepSpec("fetch_data_document", {"document_id": document.document_id}),
            StepSpec(
                "extract_data_fields",
                {
                    "text": "${s0.content}",
                    "data_format": "${s0.format}",
                    "field_path": f"*.{field}",
                },
            ),
        ),
        answer=answer,
    )


def match_format(world: FormatWorld, rng: np.random.Generator) -> TaskSpec:
    """Find A and B in parallel, convert A into B's format, save it (5 steps, fan-in).

    B is named without its extension, so its format is learnt only from its look-up: the
    conversion has to wait for both branches.
    """
    documents = _documents(world)
    pairs = [
        (a, b)
        for a in documents
        for b in documents
        if a is not b and a.format != b.format and (a.schema.records or b.format != "csv")
    ] or [(a, b) for a in documents for b in documents if a is not b and a.schema.records]
    source, model = _choice(rng, pairs)
    stem, model_stem = _stem(source), _stem(model)
    new = f"{stem}_{_choice(rng, ('export', 'converted', 'v2', 'shared'))}"
    return TaskSpec(
        instruction=(
            f"Convert the document {source.name} into the same format as the catalogue "
            f"document {model_stem} (look its format up), save the converted text in the "
            f'catalogue under the name "{new}", and tell me the new document id.'
        ),
        steps=(
            StepSpec("find_data_document", {"name": stem}),
            StepSpec("find_data_document", {"name": model_stem}),
            StepSpec("fetch_data_document", {"document_id": "${s0.document_id}"}),
            StepSpec(
                "convert_data_format",
                {
                    "text": "${s2.content}",
                    "source_format": "${s2.format}",
                    "target_format": "${s1.format}",
                },
            ),
            StepSpec(
                "save_data_document",
                {"name": new, "text": "${s3.content}", "data_format": "${s3.target_format}"},
            ),
        ),
        answer="${s4.document_id}",
    )


def reformat_and_hash(world: FormatWorld, rng: np.random.Generator) -> TaskSpec:
    """Find, fetch, then reformat and hash the text in parallel (4 steps, fan-out)."""
    document = _choice(rng, _documents(world))
    style = _choice(rng, STYLES) if document.format in ("json", "xml") else "pretty"
    algorithm = _choice(rng, HASH_ALGORITHMS)
    return TaskSpec(
        instruction=(
            f"Fetch the document {document.name} from the data catalogue. Tell me how many "
            f"bytes its {style} {document.format} form takes, and the {algorithm} hash of its "
            "content as fetched."
        ),
        steps=(
            *_find_fetch(document, 0),
            StepSpec(
                "reformat_data_text",
                {"text": "${s1.content}", "data_format": "${s1.format}", "style": style},
            ),
            StepSpec("compute_document_hash", {"text": "${s1.content}", "algorithm": algorithm}),
        ),
        answer="${s2.size_bytes} bytes, ${s3.digest}",
    )


def _validation(world: FormatWorld, document: Document) -> dict[str, Any]:
    """What validating ``document`` against its own schema answers."""
    return validate_data_against_schema.function(
        world,
        text=document.content,
        data_format=document.format,
        schema_id=document.schema.schema_id,
    )


def validate_two(world: FormatWorld, rng: np.random.Generator) -> TaskSpec:
    """Two independent find -> fetch -> validate chains (6 steps)."""
    documents = _documents(world)
    # Two documents whose validations answer differently (beyond the schema id): the same
    # answer twice would be one lookup made twice, not two pieces of work.
    outcomes = [
        {key: value for key, value in _validation(world, document).items() if key != "schema_id"}
        for document in documents
    ]
    pairs = [
        (documents[a], documents[b])
        for a in range(len(documents))
        for b in range(len(documents))
        if a != b and outcomes[a] != outcomes[b]
    ]
    first, second = _choice(rng, pairs) if pairs else _two(world, rng)
    return TaskSpec(
        instruction=(
            f"Validate the documents {first.name} and {second.name}, each against the schema "
            'it declares, and tell me for each the result ("valid" or "invalid") and the number '
            "of errors."
        ),
        steps=(
            StepSpec("find_data_document", {"name": _stem(first)}),
            StepSpec("find_data_document", {"name": _stem(second)}),
            StepSpec("fetch_data_document", {"document_id": "${s0.document_id}"}),
            StepSpec("fetch_data_document", {"document_id": "${s1.document_id}"}),
            StepSpec(
                "validate_data_against_schema",
                {
                    "text": "${s2.content}",
                    "data_format": "${s2.format}",
                    "schema_id": "${s2.schema_id}",
                },
            ),
            StepSpec(
                "validate_data_against_schema",
                {
                    "text": "${s3.content}",
                    "data_format": "${s3.format}",
                    "schema_id": "${s3.schema_id}",
                },
            ),
        ),
        answer=(
            f"{first.name}: ${{s4.status}} (${{s4.error_count}} errors), "
            f"{second.name}: ${{s5.status}} (${{s5.error_count}} errors)"
        ),
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_document(world: FormatWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    for document in _documents(world):
        if isinstance(value, str) and document.document_id == value.strip().upper():
            phrase = f"the id of the document {document.name}"
            return {"name": _stem(document)}, "document_id", phrase
    return None


def _lookup_schema(world: FormatWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    for document in _documents(world):
        if document.schema.schema_id == value:
            phrase = f"the schema that {document.name} declares"
            return {"name": _stem(document)}, "schema_id", phrase
    return None


def _hash_step(text: str, rng: np.random.Generator) -> tuple[StepSpec, str]:
    algorithm = _choice(rng, HASH_ALGORITHMS)
    return StepSpec("compute_document_hash", {"text": text, "algorithm": algorithm}), algorithm


def _follow_fetch(
    world: FormatWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str | None]:
    """Hash the content of a document fetched by an id the instruction states."""
    document_id = followed.arguments.get("document_id")
    if not isinstance(document_id, str) or "${" in document_id:
        # Fetched by an id from a look-up: the rule cannot tell which of the task's
        # documents it is, so it cannot name it.
        return None
    step, algorithm = _hash_step(f"${{s{index}.content}}", rng)
    return (
        step,
        f"Then compute the {algorithm} hash of the content of document {document_id} as "
        "fetched and tell me that hash.",
        "digest",
    )


def _follow_convert(
    world: FormatWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """Hash the converted text (a task converts one document at most)."""
    target = followed.arguments.get("target_format")
    what = (
        f"the text converted to {target}"
        if isinstance(target, str) and "${" not in target
        else "the converted text"
    )
    step, algorithm = _hash_step(f"${{s{index}.content}}", rng)
    return step, f"Then compute the {algorithm} hash of {what} and tell me that hash.", "digest"


def _follow_reformat(
    world: FormatWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str | None]:
    """Hash the minified text (a task reformats one document at most)."""
    if followed.arguments.get("style") != "minified":
        # Documents are stored pretty-printed: hashing the pretty form would repeat a hash
        # of the content as fetched.
        return None
    step, algorithm = _hash_step(f"${{s{index}.content}}", rng)
    return (
        step,
        f"Then compute the {algorithm} hash of the minified text and tell me that hash.",
        "digest",
    )


def _side_schema(world: FormatWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    # A schema that no document of the world declares: a declared one may be what a step of
    # the task learns from a look-up, and the sentence would state it.
    declared = {document.schema.schema_id for document in _documents(world)}
    schema = _choice(rng, [s.schema_id for s in SCHEMAS if s.schema_id not in declared])
    step = StepSpec("describe_data_schema", {"schema_id": schema})
    return step, f'Also tell me the title of the schema "{schema}".', "title"


def _side_document(world: FormatWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    # Named without its extension, as the tool allows: an extension in the sentence would
    # state a format that another step of the task may have to look up.
    stem = _stem(_choice(rng, _documents(world)))
    step = StepSpec("find_data_document", {"name": stem})
    return step, f"Also tell me which schema the catalogue document {stem} declares.", "schema_id"


SCENARIO = Scenario(
    name="data_format",
    category="Data Format",
    description=(
        "Fetch documents from a data catalogue and convert them between JSON, CSV, YAML and "
        "XML, validate them against schemas, extract fields, reformat and hash them."
    ),
    make_world=make_world,
    tools=(
        find_data_document,
        fetch_data_document,
        convert_data_format,
        validate_data_against_schema,
        extract_data_fields,
        reformat_data_text,
        compute_document_hash,
        describe_data_schema,
        save_data_document,
    ),
    templates={
        "convert_and_hash": convert_and_hash,
        "validate_document": validate_document,
        "field_summary": field_summary,
        "match_format": match_format,
        "reformat_and_hash": reformat_and_hash,
        "validate_two": validate_two,
    },
    lookups=(
        LookupRule("document_id", "find_data_document", _lookup_document),
        LookupRule("schema_id", "find_data_document", _lookup_schema),
    ),
    follow_ups=(
        FollowUpRule("fetch_data_document", _follow_fetch),
        FollowUpRule("convert_data_format", _follow_convert),
        FollowUpRule("reformat_data_text", _follow_reformat),
    ),
    side_steps=(
        SideStepRule("describe_schema", _side_schema),
        SideStepRule("find_document", _side_document),
    ),
)
