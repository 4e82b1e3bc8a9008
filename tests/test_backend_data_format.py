"""Backend tests of the data_format scenario, with values computed independently.

Hashes come from :mod:`hashlib`; conversions are parsed back with :mod:`json`, :mod:`csv`,
:mod:`xml.etree.ElementTree` (and PyYAML when it is installed); totals and extremes are
recomputed from the listed values; validation is checked on hand-made documents whose
errors are counted by hand, and on the catalogue with a small validator written here from
``describe_data_schema``'s own description of each schema. Saved documents (the world's
state) are found and fetched back as written, a second save under a name is a new revision
with a new id, and a refused save leaves the state as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from asynctool_env.core.effects import play_gold
from asynctool_env.core.scenario import stable_id
from asynctool_env.core.tools import ToolError
from asynctool_env.dataset import load_split
from asynctool_env.scenarios import data_format
from asynctool_env.scenarios.data_format import KINDS, SCHEMAS

SCENARIO = data_format.SCENARIO
TOOLS = {tool.name: tool for tool in SCENARIO.tools}
SEEDS = range(6)


def call(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool the way the chat path does (arguments validated first)."""
    return TOOLS[tool_name].execute(world, arguments)


def catalogue(world: Any) -> list[tuple[str, str, str]]:
    """(file name, format, schema id) of each document, from the world's own fields."""
    return [
        (f"{KINDS[kind]}_{qualifier}.{fmt}", fmt, SCHEMAS[kind].schema_id)
        for kind, fmt, qualifier in zip(world.kinds, world.formats, world.qualifiers, strict=True)
    ]


def fetched(world: Any, name: str) -> dict[str, Any]:
    found = call(world, "find_data_document", name=name)
    return call(world, "fetch_data_document", document_id=found["document_id"])


def stdlib_value(text: str, fmt: str) -> Any:
    """The JSON value of ``text``, read with the standard library only (CSV cells stay text)."""
    if fmt == "json":
        return json.loads(text)
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    if fmt == "xml":
        return ET.fromstring(text)
    raise AssertionError(fmt)


def record_count(text: str, fmt: str) -> int:
    """Records of a document: list items, CSV rows, <record> elements, top-level '- ' lines."""
    if fmt == "yaml":
        return sum(line.startswith("- ") for line in text.splitlines()) or 1
    value = stdlib_value(text, fmt)
    if fmt == "xml":
        return len(value) if value.tag == "records" else 1
    return len(value) if isinstance(value, list) else 1


def as_json(world: Any, text: str, fmt: str) -> Any:
    """The data of ``text`` as JSON, via the converter, read back with json.loads."""
    out = call(world, "convert_data_format", text=text, source_format=fmt, target_format="json")
    return json.loads(out["content"])


# -- find and fetch -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_find_and_fetch_agree_with_the_world(seed):
    world = SCENARIO.world(seed)
    ids = set()
    for name, fmt, schema_id in catalogue(world):
        found = call(world, "find_data_document", name=name)
        assert (found["name"], found["format"], found["schema_id"]) == (name, fmt, schema_id)
        assert re.fullmatch(r"DOC-[0-9A-F]{6}", found["document_id"])
        ids.add(found["document_id"])
        # the extension may be left out, and case does not matter
        stem = name.rsplit(".", 1)[0]
        assert call(world, "find_data_document", name=f"  {stem.upper()} ") == found
        document = call(world, "fetch_data_document", document_id=found["document_id"].lower())
        assert {key: document[key] for key in found} == found
        content = document["content"]
        assert found["size_bytes"] == len(content.encode())
        assert found["records"] == record_count(content, fmt)
        if fmt != "yaml":
            stdlib_value(content, fmt)  # well-formed for the standard library
    assert len(ids) == len(catalogue(world))


def test_find_unknown_document_lists_the_catalogue():
    world = SCENARIO.world(0)
    with pytest.raises(ToolError) as error:
        call(world, "find_data_document", name="payroll_mars.json")
    for name, _, _ in catalogue(world):
        assert name in str(error.value)


@pytest.mark.parametrize("document_id", ["DOC-000000", "", "inventory_lyon.csv"])
def test_fetch_unknown_id_points_to_find(document_id):
    with pytest.raises(ToolError, match="find_data_document"):
        call(SCENARIO.world(0), "fetch_data_document", document_id=document_id)


# -- conversions ----------------------------------------------------------------------------

RECORDS = [
    {"a": 1, "b": 'x, "y"', "c": True, "d": None, "e": 2.5},
    {"a": 2, "f": "z"},
]


def test_json_to_csv_by_hand():
    out = call(
        SCENARIO.world(0),
        "convert_data_format",
        text=json.dumps(RECORDS),
        source_format="json",
        target_format="csv",
    )
    # header: every key in order of first appearance; quotes doubled; missing and null empty
    assert out["content"] == 'a,b,c,d,e,f\n1,"x, ""y""",true,,2.5,\n2,,,,,z\n'
    assert out["records"] == 2
    assert out["size_bytes"] == len(out["content"].encode())
    rows = list(csv.DictReader(io.StringIO(out["content"])))
    assert rows[0]["b"] == 'x, "y"'
    assert rows[1]["f"] == "z"


def test_csv_to_json_infers_the_types_it_promises():
    text = "id,code,v,f,flag,empty,word\n1,007,1e3,-2.50,false,,true-ish\n"
    out = call(
        SCENARIO.world(0),
        "convert_data_format",
        text=text,
        source_format="CSV",
        target_format="json",
    )
    # numbers, true/false and empty cells are typed; "007" is not a number as written
    assert json.loads(out["content"]) == [
        {
            "id": 1,
            "code": "007",
            "v": 1000.0,
            "f": -2.5,
            "flag": False,
            "empty": None,
            "word": "true-ish",
        }
    ]
    assert out["source_format"] == "csv"
    assert out["records"] == 1


def test_json_to_yaml_by_hand():
    data = {
        "service": {"name": "auth", "port": 8034},
        "features": ["sso", "audit-log"],
        "date": "2025-05-01",
        "flag": "yes",
        "empty": [],
        "q": "a: b",
    }
    out = call(
        SCENARIO.world(0),
        "convert_data_format",
        text=json.dumps(data),
        source_format="json",
        target_format=".yml",
    )
    assert out["target_format"] == "yaml"
    # strings a YAML reader would take for a date, a boolean or a mapping are quoted
    assert out["content"] == (
        "service:\n"
        "  name: auth\n"
        "  port: 8034\n"
        "features:\n"
        "  - sso\n"
        "  - audit-log\n"
        'date: "2025-05-01"\n'
        'flag: "yes"\n'
        "empty: []\n"
        'q: "a: b"\n'
    )
    assert out["records"] == 1


def test_json_to_xml_parses_back_with_elementtree():
    out = call(
        SCENARIO.world(0),
        "convert_data_format",
        text=json.dumps([{"a": 1, "b": [1, 2]}, {"a": 2, "b": []}]),
        source_format="json",
        target_format="xml",
    )
    root = ET.fromstring(out["content"])
    assert root.tag == "records"
    assert [child.tag for child in root] == ["record", "record"]
    assert root[0].find("a").text == "1"
    assert [item.text for item in root[0].find("b")] == ["1", "2"]
    assert out["records"] == 2


@pytest.mark.parametrize("seed", SEEDS)
def test_catalogue_conversions_round_trip(seed):
    world = SCENARIO.world(seed)
    for name, fmt, _ in catalogue(world):
        document = fetched(world, name)
        data = as_json(world, document["content"], fmt)
        for target in ("json", "yaml", "xml", "csv"):
            if target == "csv" and not isinstance(data, list):
                continue
            out = call(
                world,
                "convert_data_format",
                text=document["content"],
                source_format=fmt,
                target_format=target,
            )
            assert out["records"] == (len(data) if isinstance(data, list) else 1)
            back = as_json(world, out["content"], target)
            if target == "csv":  # a missing field comes back as an empty cell (null)
                header = next(csv.reader(io.StringIO(out["content"])))
                data_csv = [{key: record.get(key) for key in header} for record in data]
                assert back == data_csv, (name, target)
            else:
                assert back == data, (name, target)


@pytest.mark.parametrize("seed", SEEDS)
def test_yaml_output_reads_back_with_pyyaml(seed):
    yaml = pytest.importorskip("yaml")
    world = SCENARIO.world(seed)
    for name, fmt, _ in catalogue(world):
        document = fetched(world, name)
        out = call(
            world,
            "convert_data_format",
            text=document["content"],
            source_format=fmt,
            target_format="yaml",
        )
        assert yaml.safe_load(out["content"]) == as_json(world, document["content"], fmt)


@pytest.mark.parametrize(
    ("text", "source", "target", "message"),
    [
        ('{"a": {"b": 1}}', "json", "csv", "list of flat records"),
        ('[{"a": {"b": 1}}]', "json", "csv", "nested"),
        ("{not json", "json", "yaml", "not valid JSON"),
        ('{"a": NaN}', "json", "yaml", "not valid JSON"),
        ("<a><b>1</a>", "xml", "json", "not well-formed XML"),
        ('<a x="1">2</a>', "xml", "json", "attributes"),
        ("a,a\n1,2\n", "csv", "json", "distinct"),
        ("a,b\n1\n", "csv", "json", "row 2 has 1 cells"),
        ('{"a": 1}', "json", "toml", "use one of json, csv, yaml, xml"),
        ('{"a": 1}', "xls", "json", "source_format"),
        ("   ", "json", "xml", "empty"),
        ('{"1a": 1}', "json", "xml", "XML element name"),
    ],
)
def test_bad_conversions_say_what_is_wrong(text, source, target, message):
    with pytest.raises(ToolError, match=re.escape(message)):
        call(
            SCENARIO.world(0),
            "convert_data_format",
            text=text,
            source_format=source,
            target_format=target,
        )


# -- validation -----------------------------------------------------------------------------

INVENTORY = [
    {"sku": "A-1", "name": "Lamp", "quantity": 3, "unit_price": 9.5, "warehouse": "Lyon"},
    {"sku": "A-2", "name": "Desk", "quantity": -3, "unit_price": 120},  # 2 errors
    {"sku": "A-3", "name": "Chair", "quantity": 1.5, "unit_price": "n/a", "warehouse": "Porto"},
]


def validate(text: str, fmt: str, schema_id: str) -> dict[str, Any]:
    return call(
        SCENARIO.world(0),
        "validate_data_against_schema",
        text=text,
        data_format=fmt,
        schema_id=schema_id,
    )


def test_validate_counts_each_violation():
    result = validate(json.dumps(INVENTORY), "json", "inventory-item/v2")
    # record 2: quantity < 0 and no warehouse; record 3: quantity not an integer, price text
    assert result["status"] == "invalid"
    assert result["error_count"] == 4
    assert result["checked"] == 3
    assert len(result["errors"]) == 4
    expected = [(2, "quantity"), (2, "warehouse"), (3, "quantity"), (3, "unit_price")]
    for error, (record, field) in zip(result["errors"], expected, strict=True):
        assert error.startswith(f"record {record}:") and field in error, error
    # the valid record alone is valid
    alone = validate(json.dumps(INVENTORY[:1]), "json", "inventory-item/v2")
    assert (alone["status"], alone["error_count"], alone["errors"]) == ("valid", 0, [])


def test_validate_the_same_records_as_csv():
    rows = ["sku,name,quantity,unit_price,warehouse", "A-1,Lamp,3,9.5,Lyon", "A-2,Desk,-3,120,"]
    result = validate("\n".join(rows) + "\n", "csv", "inventory-item/v2")
    assert (result["error_count"], result["checked"]) == (2, 2)


@pytest.mark.parametrize(
    ("record", "errors"),
    [
        ({}, 0),
        ({"department": "HR"}, 1),  # not one of the listed departments
        ({"remote": "yes"}, 1),  # not a boolean
        ({"salary": True}, 1),  # a boolean is not an integer
        ({"salary": -1, "department": "Legal"}, 2),
        ({"name": None}, 1),  # null counts as missing
    ],
)
def test_validate_employee_fields(record, errors):
    base = {
        "employee_id": "E1",
        "name": "Ada",
        "department": "Finance",
        "salary": 50000,
        "remote": False,
    }
    result = validate(json.dumps([{**base, **record}]), "json", "employee-record/v1")
    assert result["error_count"] == errors
    assert result["status"] == ("valid" if errors == 0 else "invalid")


CONFIG = {
    "service": {"name": "auth", "port": 8034, "replicas": 2, "debug": False},
    "database": {"host": "db", "port": 5432, "pool_size": 5},
}


def test_validate_object_schema():
    assert validate(json.dumps(CONFIG), "json", "service-config/v2")["status"] == "valid"
    broken = json.loads(json.dumps(CONFIG))
    broken["service"]["port"] = 70000  # above 65535
    del broken["database"]["host"]
    broken["features"] = ["sso", 3]  # not a list of strings
    result = validate(json.dumps(broken), "json", "service-config/v2")
    assert (result["error_count"], result["checked"]) == (3, 1)
    # a list where an object is expected, and the other way round
    assert validate("[1, 2]", "json", "service-config/v2")["error_count"] == 1
    wrong_shape = validate(json.dumps(CONFIG), "json", "inventory-item/v2")
    assert (wrong_shape["error_count"], wrong_shape["checked"]) == (1, 0)


def test_validate_unknown_schema_lists_the_schemas():
    with pytest.raises(ToolError) as error:
        validate("[]", "json", "inventory/v9")
    assert all(schema.schema_id in str(error.value) for schema in SCHEMAS)


def test_validate_rejects_a_day_that_does_not_exist():
    order = {
        "order_id": "O-1",
        "customer": "Ada",
        "total": 10,
        "status": "pending",
        "placed_on": "2025-02-30",
    }
    assert validate(json.dumps([order]), "json", "order-summary/v3")["error_count"] == 1


def field_problems(field: dict[str, Any], present: bool, value: Any) -> int:
    """0 or 1: a field checked against describe_data_schema's description of it."""
    if not present or value is None:
        return int(field["required"])
    kind = field["type"]
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "integer":
        ok = type(value) is int
    elif kind == "number":
        ok = type(value) in (int, float)
    elif kind == "boolean":
        ok = type(value) is bool
    elif kind == "string-list":
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    else:
        parse = dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat
        try:
            ok = isinstance(value, str) and bool(parse(value))
        except ValueError:
            ok = False
    if not ok:
        return 1
    too_low = "minimum" in field and value < field["minimum"]
    too_high = "maximum" in field and value > field["maximum"]
    return int(too_low or too_high or ("values" in field and value not in field["values"]))


def expected_errors(data: Any, description: dict[str, Any]) -> int:
    fields = description["fields"]
    if description["root"] == "object":
        total = 0
        for field in fields:
            node, present = data, True
            for key in field["path"].split("."):
                present = isinstance(node, dict) and key in node
                node = node[key] if present else None
            total += field_problems(field, present, node)
        return total
    return sum(
        field_problems(field, field["path"] in record, record.get(field["path"]))
        for record in data
        for field in fields
    )


def test_catalogue_validation_matches_an_independent_validator():
    invalid = total = 0
    for seed in range(40):
        world = SCENARIO.world(seed)
        for name, fmt, schema_id in catalogue(world):
            document = fetched(world, name)
            result = call(
                world,
                "validate_data_against_schema",
                text=document["content"],
                data_format=fmt,
                schema_id=schema_id,
            )
            description = call(world, "describe_data_schema", schema_id=schema_id)
            data = as_json(world, document["content"], fmt)
            assert result["error_count"] == expected_errors(data, description), name
            assert result["status"] == ("invalid" if result["error_count"] else "valid")
            assert result["checked"] == document["records"]
            invalid += result["status"] == "invalid"
            total += 1
    # "about one document in three breaks its schema somewhere"
    assert 0.2 <= invalid / total <= 0.5


# -- extraction -----------------------------------------------------------------------------

SHOP = {
    "items": [
        {"name": "pen", "price": 1.2, "tags": ["office", "cheap"]},
        {"name": "desk", "price": 249.99, "tags": ["office"]},
        {"name": "mug", "price": 7, "tags": []},
    ],
    "service": {"port": 8080},
}


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("items.*.price", [1.2, 249.99, 7]),
        ("items.1.name", ["desk"]),
        ("items.*.tags.*", ["office", "cheap", "office"]),
        ("service.port", [8080]),
        ("items.*.name", ["pen", "desk", "mug"]),
    ],
)
def test_extract_values_and_their_summary(path, values):
    out = call(
        SCENARIO.world(0),
        "extract_data_fields",
        text=json.dumps(SHOP),
        data_format="json",
        field_path=f" {path} ",
    )
    assert out["field_path"] == path
    assert out["values"] == values
    assert out["count"] == len(values)
    if all(isinstance(value, (int, float)) for value in values):
        assert out["total"] == pytest.approx(math.fsum(values), abs=1e-6)
        assert out["minimum"] == min(values)
        assert out["maximum"] == max(values)
    else:
        assert "total" not in out and "minimum" not in out


@pytest.mark.parametrize("seed", SEEDS)
def test_extract_catalogue_columns(seed):
    world = SCENARIO.world(seed)
    for name, fmt, schema_id in catalogue(world):
        document = fetched(world, name)
        data = as_json(world, document["content"], fmt)
        if not isinstance(data, list):
            continue
        schema = next(schema for schema in SCHEMAS if schema.schema_id == schema_id)
        for field in schema.fields:
            present = [record[field.path] for record in data if field.path in record]
            out = call(
                world,
                "extract_data_fields",
                text=document["content"],
                data_format=fmt,
                field_path=f"*.{field.path}",
            )
            assert out["values"] == present
            numeric = all(type(value) in (int, float) for value in present)
            assert ("total" in out) == numeric
            if numeric:
                assert out["total"] == pytest.approx(math.fsum(present), abs=1e-6)
                assert (out["minimum"], out["maximum"]) == (min(present), max(present))


@pytest.mark.parametrize(
    ("path", "message"),
    [("items..price", "malformed field_path"), ("price", "items"), ("items.9.name", "nothing")],
)
def test_extract_bad_paths(path, message):
    with pytest.raises(ToolError, match=message):
        call(
            SCENARIO.world(0),
            "extract_data_fields",
            text=json.dumps(SHOP),
            data_format="json",
            field_path=path,
        )


# -- reformatting ---------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["pretty", "minified"])
def test_reformat_json(style):
    text = '{ "café": [1, 2.5, {"x": null}],\n  "ok": true }'
    out = call(SCENARIO.world(0), "reformat_data_text", text=text, data_format="json", style=style)
    data = json.loads(text)
    if style == "minified":
        expected = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    else:
        expected = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    assert out["content"] == expected
    assert out["size_bytes"] == len(expected.encode("utf-8"))
    assert out["original_size_bytes"] == len(text.encode("utf-8"))  # bytes, not characters
    assert out["original_size_bytes"] == len(text) + 1  # "é" takes two bytes


@pytest.mark.parametrize("seed", SEEDS)
def test_reformat_catalogue_xml_and_json_keep_the_data(seed):
    world = SCENARIO.world(seed)
    for name, fmt, _ in catalogue(world):
        if fmt not in ("json", "xml"):
            continue
        document = fetched(world, name)
        out = call(
            world, "reformat_data_text", text=document["content"], data_format=fmt, style="minified"
        )
        assert "\n" not in out["content"]
        assert out["size_bytes"] < out["original_size_bytes"] == document["size_bytes"]
        if fmt == "json":
            assert json.loads(out["content"]) == json.loads(document["content"])
        else:
            assert ET.canonicalize(out["content"], strip_text=True) == ET.canonicalize(
                document["content"], strip_text=True
            )


def test_reformat_xml_keeps_the_root_element():
    text = "<catalog>\n  <title>Dune</title>\n  <year>1965</year>\n</catalog>"
    out = call(
        SCENARIO.world(0), "reformat_data_text", text=text, data_format="xml", style="minified"
    )
    assert out["content"] == "<catalog><title>Dune</title><year>1965</year></catalog>"


@pytest.mark.parametrize(
    ("fmt", "style", "message"),
    [("yaml", "minified", "no minified form"), ("csv", "minified", "no minified form")],
)
def test_reformat_refuses_what_it_cannot_do(fmt, style, message):
    with pytest.raises(ToolError, match=message):
        call(SCENARIO.world(0), "reformat_data_text", text="a: 1\n", data_format=fmt, style=style)
    with pytest.raises(ToolError, match="pretty or minified"):
        call(SCENARIO.world(0), "reformat_data_text", text="{}", data_format="json", style="ugly")


# -- hashing, schemas, saving ---------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512", "SHA-256"])
@pytest.mark.parametrize("text", ["", "abc", "naïve café ☕\n", "line\r\nbreak"])
def test_hash_matches_hashlib(algorithm, text):
    name = algorithm.lower().replace("-", "")
    out = call(SCENARIO.world(0), "compute_document_hash", text=text, algorithm=algorithm)
    assert out["algorithm"] == name
    assert out["digest"] == hashlib.new(name, text.encode("utf-8")).hexdigest()
    assert out["size_bytes"] == len(text.encode("utf-8"))


def test_hash_of_known_vectors_and_of_fetched_content():
    world = SCENARIO.world(1)
    out = call(world, "compute_document_hash", text="abc", algorithm="sha256")
    assert out["digest"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    out = call(world, "compute_document_hash", text="", algorithm="md5")
    assert out["digest"] == "d41d8cd98f00b204e9800998ecf8427e"
    name = catalogue(world)[0][0]
    content = fetched(world, name)["content"]
    out = call(world, "compute_document_hash", text=content, algorithm="sha1")
    assert out["digest"] == hashlib.sha1(content.encode()).hexdigest()


def test_hash_unknown_algorithm():
    with pytest.raises(ToolError, match="md5, sha1, sha256, sha512"):
        call(SCENARIO.world(0), "compute_document_hash", text="x", algorithm="crc32")


def test_describe_schema_by_hand():
    out = call(SCENARIO.world(0), "describe_data_schema", schema_id=" Inventory-Item/V2 ")
    assert out["schema_id"] == "inventory-item/v2"
    assert out["root"] == "list of records"
    assert out["fields"] == [
        {"path": "sku", "type": "string", "required": True},
        {"path": "name", "type": "string", "required": True},
        {"path": "quantity", "type": "integer", "required": True, "minimum": 0},
        {"path": "unit_price", "type": "number", "required": True, "minimum": 0},
        {"path": "warehouse", "type": "string", "required": True},
    ]
    config = call(SCENARIO.world(0), "describe_data_schema", schema_id="service-config/v2")
    assert config["root"] == "object"
    port = next(field for field in config["fields"] if field["path"] == "service.port")
    assert (port["minimum"], port["maximum"]) == (1, 65535)
    features = next(field for field in config["fields"] if field["path"] == "features")
    assert features == {"path": "features", "type": "string-list", "required": False}
    with pytest.raises(ToolError, match="unknown schema_id"):
        call(SCENARIO.world(0), "describe_data_schema", schema_id="nope/v1")


def test_save_returns_the_hash_of_what_it_stores():
    world = SCENARIO.world(2)
    text = "a,b\n1,2\n3,4\n"
    saved = call(world, "save_data_document", name="export_01", text=text, data_format="csv")
    assert saved["name"] == "export_01.csv"
    assert saved["format"] == "csv"
    assert saved["status"] == "saved"
    assert saved["records"] == 2
    assert saved["size_bytes"] == len(text.encode())
    assert saved["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert re.fullmatch(r"DOC-[0-9A-F]{8}", saved["document_id"])
    assert "revision" not in saved  # a first save answers as in dataset v2
    # the first save of a name and text keeps the id dataset v2 gave it
    assert saved["document_id"] == stable_id("DOC", world.seed, "export_01.csv", text, digits=8)
    # Stateful since v3: saving again under the name is a new revision with a new id (it
    # used to answer the same id, which left no trace of the repeat)
    again = call(world, "save_data_document", name="export_01", text=text, data_format="csv")
    assert again["document_id"] != saved["document_id"]
    assert (again["revision"], again["previous_document_id"]) == (2, saved["document_id"])
    other = call(world, "save_data_document", name="export_02", text=text, data_format="csv")
    changed = call(
        world, "save_data_document", name="export_01", text=text + "5,6\n", data_format="csv"
    )
    assert changed["revision"] == 3
    ids = {saved["document_id"], again["document_id"], other["document_id"]}
    assert len(ids | {changed["document_id"]}) == 4


def test_save_refusals():
    world = SCENARIO.world(2)
    name, fmt, _ = catalogue(world)[0]
    content = fetched(world, name)["content"]
    with pytest.raises(ToolError, match="already holds"):
        call(
            world, "save_data_document", name=name.rsplit(".", 1)[0], text=content, data_format=fmt
        )
    with pytest.raises(ToolError, match="malformed name"):
        call(world, "save_data_document", name="my export.json", text="{}", data_format="json")
    with pytest.raises(ToolError, match="not valid JSON"):
        call(world, "save_data_document", name="broken", text="{", data_format="json")
    with pytest.raises(ToolError, match="already holds"):
        stem = name.rsplit(".", 1)[0].upper()  # the stem of a catalogue document, any format
        call(world, "save_data_document", name=stem, text="{}", data_format="json")


# -- state: saved documents ---------------------------------------------------------------------


def run(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool as the environment does (recorded; a refused call is rolled back)."""
    tool = TOOLS[tool_name]
    return tool.run(world, tool.validate_arguments(arguments))[0]


def test_a_saved_document_is_found_and_fetched():
    world = SCENARIO.world(1)
    text = '[{"sku": "A-1", "quantity": 3}, {"sku": "B-2", "quantity": 0}]'
    saved = call(world, "save_data_document", name=" stock_copy ", text=text, data_format="JSON")
    expected = {
        "document_id": saved["document_id"],
        "name": "stock_copy.json",
        "format": "json",
        "schema_id": None,
        "records": 2,
        "size_bytes": 62,  # counted by hand
        "revision": 1,
    }
    for name in ("stock_copy", "stock_copy.json", "STOCK_COPY.JSON", " Stock_Copy "):
        assert call(world, "find_data_document", name=name) == expected
    fetched_back = call(world, "fetch_data_document", document_id=saved["document_id"].lower())
    assert fetched_back == {**expected, "content": text}  # stored as written
    assert json.loads(fetched_back["content"])[1]["quantity"] == 0
    # another world has no such document
    with pytest.raises(ToolError, match="no document named"):
        call(SCENARIO.world(1), "find_data_document", name="stock_copy")
    with pytest.raises(ToolError, match="find_data_document"):
        call(SCENARIO.world(1), "fetch_data_document", document_id=saved["document_id"])


def test_a_second_save_is_a_new_revision_that_the_name_designates():
    world = SCENARIO.world(3)
    first = call(world, "save_data_document", name="notes", text="a: 1\n", data_format="yaml")
    once = world.state.snapshot()
    second = call(world, "save_data_document", name="notes", text="a: 1\n", data_format="yml")
    assert world.state.snapshot() != once
    assert second["document_id"] != first["document_id"]
    assert (second["revision"], second["previous_document_id"]) == (2, first["document_id"])
    found = call(world, "find_data_document", name="notes.yaml")
    assert (found["document_id"], found["revision"]) == (second["document_id"], 2)
    old = call(world, "fetch_data_document", document_id=first["document_id"])
    assert (old["revision"], old["content"]) == (1, "a: 1\n")
    new = call(world, "fetch_data_document", document_id=second["document_id"])
    assert (new["revision"], new["content"]) == (2, "a: 1\n")


def test_one_stem_in_two_formats_needs_the_extension():
    world = SCENARIO.world(4)
    as_json = call(world, "save_data_document", name="pair", text="[]", data_format="json")
    as_csv = call(world, "save_data_document", name="pair", text="a\n1\n", data_format="csv")
    assert "revision" not in as_csv  # another format is another document
    with pytest.raises(ToolError, match="give the extension"):
        call(world, "find_data_document", name="pair")
    assert (
        call(world, "find_data_document", name="pair.json")["document_id"]
        == (as_json["document_id"])
    )
    assert call(world, "find_data_document", name="pair.csv")["records"] == 1
    with pytest.raises(ToolError) as error:
        call(world, "find_data_document", name="nothing")
    assert "pair.csv" in str(error.value) and "pair.json" in str(error.value)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "kept", "text": "{", "data_format": "json"}, "not valid JSON"),
        ({"name": "kept", "text": "[]", "data_format": "toml"}, "unknown data_format"),
        ({"name": "no way", "text": "[]", "data_format": "json"}, "malformed name"),
    ],
)
def test_a_refused_save_changes_nothing(arguments, message):
    world = SCENARIO.world(0)
    kept = call(world, "save_data_document", name="kept", text="[1]", data_format="json")
    before = world.state.snapshot()
    with pytest.raises(ToolError, match=message):
        run(world, "save_data_document", **arguments)
    assert world.state.snapshot() == before
    assert call(world, "find_data_document", name="kept")["document_id"] == kept["document_id"]


def test_reading_the_catalogue_commutes_with_saving():
    world = SCENARIO.world(0)
    name = catalogue(world)[0][0]
    save = TOOLS["save_data_document"].run(
        world, {"name": "other", "text": "[]", "data_format": "json"}
    )[1]
    found, find = TOOLS["find_data_document"].run(world, {"name": name})
    fetch = TOOLS["fetch_data_document"].run(world, {"document_id": found["document_id"]})[1]
    assert not save.conflicts_with(find) and not save.conflicts_with(fetch)
    assert not find.reads and not find.scans  # the catalogue's own documents are the seed's
    again = TOOLS["save_data_document"].run(
        world, {"name": "Other", "text": "[1]", "data_format": "json"}
    )[1]
    assert save.conflicts_with(again)  # the same document (names compare case-blind)


def test_the_shipped_gold_saves_get_the_ids_they_have_in_the_dataset():
    """Every gold step of the shipped dataset, replayed in gold order on a fresh world,
    answers what the dataset stores: a first save keeps the id dataset v2 gave it."""
    saves = 0
    for split in ("dev", "test"):
        for instance in load_split(split):
            for task in instance.tasks:
                if task.scenario != SCENARIO.name:
                    continue
                play = play_gold([task], TOOLS, lambda _, seed: SCENARIO.world(seed))
                for index, step in enumerate(task.steps):
                    assert play.responses[0][index] == dict(step.expected_response), (
                        task.task_id,
                        index,
                    )
                    saves += step.tool == "save_data_document"
    assert saves
