"""``${sN.path}`` references: which steps a value needs, and resolving them."""

from __future__ import annotations

import pytest

from asynctool_env.core.references import UnresolvedReferenceError, referenced_steps, resolve

RESPONSES = [
    {
        "flights": [
            {"flight_id": "AZ412-0614", "price": 120},
            {"flight_id": "LH500-0614", "price": 135},
        ],
        "count": 2,
        "ok": True,
        "note": None,
        "rate": 1.25,
        "meta": {"route": {"from": "Paris", "to": "Rome"}, "tags": ["a", "b"]},
    },
    {"booking_id": "BK-1A2B3C", "0": "digit key", "seats": [[1, 2], [3, 4]]},
    None,
    {"error": "no flight 'XX000-0101'"},
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${s0.x}", {0}),
        ("${s12.a.b}", {12}),
        ("${s3}", {3}),
        ("plain", set()),
        ("", set()),
        (7, set()),
        (None, set()),
        (True, set()),
        ("${s1.a} and ${s4.b} and ${s1.c}", {1, 4}),
        ({"a": "${s0.x}", "b": ["${s2.y.0}", "plain"]}, {0, 2}),
        ({"outer": {"inner": {"deep": ["x", {"z": "${s5.id}"}]}}}, {5}),
        ([["${s0.a}"], ("${s1.b}",), {"k": "${s2.c}"}], {0, 1, 2}),
        ({"${s9.key}": "value"}, set()),  # keys are never references
        ("${x0.a}", set()),
        ("${s.a}", set()),
        ("$s0.a", set()),
        ("{s0.a}", set()),
        ("${s0.a-b}", set()),
    ],
)
def test_referenced_steps(value, expected):
    assert referenced_steps(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${s0.count}", 2),
        ("${s0.rate}", 1.25),
        ("${s0.ok}", True),
        ("${s0.note}", None),
        ("${s0.meta.tags}", ["a", "b"]),
        ("${s0.meta.route}", {"from": "Paris", "to": "Rome"}),
        ("${s0.meta.route.to}", "Rome"),
        ("${s0.flights.0.flight_id}", "AZ412-0614"),
        ("${s0.flights.1.price}", 135),
        ("${s0.flights.1}", {"flight_id": "LH500-0614", "price": 135}),
        ("${s1.seats.1.0}", 3),
        ("${s1.0}", "digit key"),  # a dict key made of digits is a key, not an index
        ("${s1}", RESPONSES[1]),
    ],
)
def test_whole_string_reference_keeps_its_json_type(value, expected):
    resolved = resolve(value, RESPONSES)
    assert resolved == expected
    assert type(resolved) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Booked ${s1.booking_id}, see you!", "Booked BK-1A2B3C, see you!"),
        ("${s0.flights.0.flight_id} costs ${s0.flights.0.price}", "AZ412-0614 costs 120"),
        ("${s1.booking_id}${s1.booking_id}", "BK-1A2B3CBK-1A2B3C"),
        ("rate=${s0.rate}", "rate=1.25"),
        ("ok=${s0.ok}, note=${s0.note}", "ok=true, note=null"),
        ("tags: ${s0.meta.tags}", 'tags: ["a", "b"]'),
        (" ${s0.count}", " 2"),
        ("no reference", "no reference"),
        ("$ { not one }", "$ { not one }"),
        ("${unknown} stays", "${unknown} stays"),
    ],
)
def test_partial_interpolation(value, expected):
    assert resolve(value, RESPONSES) == expected


def test_resolve_walks_nested_containers():
    value = {
        "flight_id": "${s0.flights.0.flight_id}",
        "items": ["Flight ${s1.booking_id}", "${s0.count}", 5, None],
        "nested": {"route": "${s0.meta.route}", "tuple": ("${s0.ok}",)},
        "plain": 1.5,
    }
    assert resolve(value, RESPONSES) == {
        "flight_id": "AZ412-0614",
        "items": ["Flight BK-1A2B3C", 2, 5, None],
        "nested": {"route": {"from": "Paris", "to": "Rome"}, "tuple": [True]},
        "plain": 1.5,
    }


def test_resolve_does_not_mutate_its_input():
    value = {"a": ["${s0.count}"]}
    resolve(value, RESPONSES)
    assert value == {"a": ["${s0.count}"]}


@pytest.mark.parametrize("value", [3, 2.5, None, True, "text", [], {}])
def test_values_without_references_are_returned_equal(value):
    assert resolve(value, []) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${s2.booking_id}", r"\$\{s2\.booking_id\}: step 2 has not answered yet"),
        ("${s4.x}", r"\$\{s4\.x\}: step 4 has not answered yet"),
        ("${s9}", r"\$\{s9\}: step 9 has not answered yet"),
        ("${s3.anything}", r"\$\{s3\.anything\}: step 3 answered with an error"),
        ("${s0.missing}", r"\$\{s0\.missing\}: the response has no field 'missing'"),
        ("${s0.meta.route.via}", r"\$\{s0\.meta\.route\.via\}: the response has no field 'via'"),
        ("${s0.flights.2.flight_id}", r"\$\{s0\.flights\.2\.flight_id\}: .* no field '2'"),
        ("${s0.flights.first}", r"no field 'first'"),
        ("${s0.count.value}", r"no field 'value'"),
        ("${s0.meta.tags.0.x}", r"no field 'x'"),
        ("Booked ${s2.booking_id}", r"step 2 has not answered yet"),
        ({"deep": ["${s0.nope}"]}, r"no field 'nope'"),
    ],
)
def test_unresolvable_reference_raises_informative_error(value, message):
    with pytest.raises(UnresolvedReferenceError, match=message):
        resolve(value, RESPONSES)


def test_unresolved_reference_error_is_a_lookup_error():
    assert issubclass(UnresolvedReferenceError, LookupError)
    with pytest.raises(LookupError):
        resolve("${s0.x}", [])
