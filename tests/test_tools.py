"""``@tool``: schemas from typed functions, argument validation, execution."""

from __future__ import annotations

import json
from typing import Any

import pytest

from asynctool_env.core.tools import Tool, ToolArgumentError, ToolError, tool


class Counter:
    """A stand-in world that records the calls it gets."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []


@tool(latency=2)
def book_seat(
    world: Counter, flight_id: str, passenger: str, seats: int = 1, tags: list[str] | None = None
) -> dict[str, Any]:
    """Book seats on a flight.

    A second paragraph of the summary
    that wraps.

    Args:
        flight_id: Id returned by search, e.g. "AZ412-0614".
        passenger (str): Full name of the
            traveller, as on the passport.
        seats: How many seats, 1 to 9.
        tags: Free labels.

    Returns:
        The booking.
    """
    world.calls.append({"flight_id": flight_id, "passenger": passenger, "seats": seats})
    if seats > 9:
        raise ToolError(f"at most 9 seats, got {seats}")
    return {"booking": f"{flight_id}/{passenger}", "seats": seats, "tags": tags}


@tool(name="price_of", latency=0)
def convert(world: Counter, amount: float, ratio: float = 1.5) -> dict[str, Any]:
    """Multiply an amount.

    Args:
        amount: The amount.
        ratio: The factor.
    """
    return {"value": amount * ratio}


@tool()
def ping(world: Counter) -> dict[str, Any]:
    """Answer pong."""
    return {"pong": True}


def test_tool_attributes():
    assert isinstance(book_seat, Tool)
    assert book_seat.name == "book_seat"
    assert book_seat.latency == 2
    assert book_seat.scenario == ""
    assert book_seat.description == (
        "Book seats on a flight. A second paragraph of the summary that wraps."
    )
    assert convert.name == "price_of"
    assert convert.latency == 0
    assert ping.latency == 1
    assert ping.description == "Answer pong."


def test_openai_schema_of_book_seat():
    assert book_seat.openai_schema() == {
        "type": "function",
        "function": {
            "name": "book_seat",
            "description": book_seat.description,
            "parameters": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "flight_id": {
                        "type": "string",
                        "description": 'Id returned by search, e.g. "AZ412-0614".',
                    },
                    "passenger": {
                        "type": "string",
                        "description": "Full name of the traveller, as on the passport.",
                    },
                    "seats": {
                        "type": "integer",
                        "default": 1,
                        "description": "How many seats, 1 to 9.",
                    },
                    "tags": {
                        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                        "default": None,
                        "description": "Free labels.",
                    },
                },
                "required": ["flight_id", "passenger"],
            },
        },
    }


def test_openai_schema_of_renamed_tool_and_of_tool_without_arguments():
    parameters = convert.openai_schema()["function"]["parameters"]
    assert convert.openai_schema()["function"]["name"] == "price_of"
    assert parameters["properties"] == {
        "amount": {"type": "number", "description": "The amount."},
        "ratio": {"type": "number", "default": 1.5, "description": "The factor."},
    }
    assert parameters["required"] == ["amount"]
    assert parameters["additionalProperties"] is False
    empty = ping.openai_schema()["function"]["parameters"]
    assert empty["properties"] == {}
    assert empty["additionalProperties"] is False
    assert "required" not in empty


@pytest.mark.parametrize("declared", [book_seat, convert, ping], ids=lambda t: t.name)
def test_schema_has_no_titles_and_is_json(declared):
    schema = declared.openai_schema()
    assert json.loads(json.dumps(schema)) == schema
    parameters = schema["function"]["parameters"]
    assert "title" not in parameters
    assert all("title" not in prop for prop in parameters["properties"].values())


def test_schema_is_a_fresh_copy_each_time():
    first = book_seat.openai_schema()
    first["function"]["parameters"]["properties"].clear()
    assert book_seat.openai_schema()["function"]["parameters"]["properties"]


def test_undocumented_argument_is_a_type_error():
    def undocumented(world: Counter, documented: str, secret: int) -> dict[str, Any]:
        """Do something.

        Args:
            documented: Yes.
        """
        return {}

    with pytest.raises(TypeError, match="tool undocumented: document argument 'secret'"):
        tool()(undocumented)


def test_tool_without_docstring_is_a_type_error_naming_the_argument():
    def bare(world: Counter, value: int) -> dict[str, Any]:
        return {}

    with pytest.raises(TypeError, match="document argument 'value'"):
        tool()(bare)


def test_negative_latency_is_rejected():
    with pytest.raises(ValueError, match="latency must be >= 0"):
        tool(latency=-1)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"flight_id": "AZ1", "passenger": "Ada"},
            {"flight_id": "AZ1", "passenger": "Ada", "seats": 1, "tags": None},
        ),
        (
            {"flight_id": "AZ1", "passenger": "Ada", "seats": 3, "tags": ["x"]},
            {"flight_id": "AZ1", "passenger": "Ada", "seats": 3, "tags": ["x"]},
        ),
        (  # lax mode: a whole-number string or float becomes an int
            {"flight_id": "AZ1", "passenger": "Ada", "seats": "4"},
            {"flight_id": "AZ1", "passenger": "Ada", "seats": 4, "tags": None},
        ),
        (
            {"flight_id": "AZ1", "passenger": "Ada", "seats": 2.0},
            {"flight_id": "AZ1", "passenger": "Ada", "seats": 2, "tags": None},
        ),
    ],
)
def test_validate_arguments_fills_defaults_and_coerces(arguments, expected):
    validated = book_seat.validate_arguments(arguments)
    assert validated == expected
    assert type(validated["seats"]) is int


def test_validate_arguments_coerces_int_to_float():
    assert convert.validate_arguments({"amount": 2}) == {"amount": 2.0, "ratio": 1.5}
    assert type(convert.validate_arguments({"amount": 2})["amount"]) is float


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"passenger": "Ada"}, "book_seat: missing required argument 'flight_id'"),
        (
            {},
            "book_seat: missing required argument 'flight_id'; "
            "missing required argument 'passenger'",
        ),
        (
            {"flight_id": "AZ1", "passenger": "Ada", "class": "business"},
            "book_seat: unexpected argument 'class'",
        ),
        (
            {"flight_id": 412, "passenger": "Ada"},
            "book_seat: argument 'flight_id': Input should be a valid string",
        ),
        (
            {"flight_id": "AZ1", "passenger": "Ada", "seats": "three"},
            "book_seat: argument 'seats': Input should be a valid integer",
        ),
        (
            {"flight_id": "AZ1", "passenger": "Ada", "seats": 1.5},
            "book_seat: argument 'seats': Input should be a valid integer",
        ),
        (
            {"flight_id": "AZ1", "passenger": "Ada", "tags": ["ok", 7]},
            "book_seat: argument 'tags.1': Input should be a valid string",
        ),
        (
            {"flight_id": None, "passenger": "Ada", "extra": 1},
            "book_seat: argument 'flight_id': Input should be a valid string; "
            "unexpected argument 'extra'",
        ),
    ],
)
def test_validate_arguments_errors_name_the_tool_and_the_argument(arguments, message):
    with pytest.raises(ToolArgumentError) as error:
        book_seat.validate_arguments(arguments)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(
    ("arguments", "kind"),
    [(None, "NoneType"), ([1, 2], "list"), ("flight", "str"), (3, "int")],
)
def test_non_object_arguments_are_rejected(arguments, kind):
    with pytest.raises(
        ToolArgumentError, match=f"^book_seat: arguments must be a JSON object, got {kind}$"
    ):
        book_seat.validate_arguments(arguments)


def test_tool_argument_error_is_a_tool_error():
    assert issubclass(ToolArgumentError, ToolError)


def test_execute_runs_the_backend_with_validated_arguments():
    world = Counter()
    response = book_seat.execute(world, {"flight_id": "AZ1", "passenger": "Ada", "seats": "2"})
    assert response == {"booking": "AZ1/Ada", "seats": 2, "tags": None}
    assert world.calls == [{"flight_id": "AZ1", "passenger": "Ada", "seats": 2}]
    assert convert.execute(world, {"amount": 4, "ratio": 0.25}) == {"value": 1.0}
    assert ping.execute(world, {}) == {"pong": True}


def test_execute_does_not_run_the_backend_on_invalid_arguments():
    world = Counter()
    with pytest.raises(ToolArgumentError, match="missing required argument 'passenger'"):
        book_seat.execute(world, {"flight_id": "AZ1"})
    assert world.calls == []


def test_backend_tool_error_propagates():
    world = Counter()
    with pytest.raises(ToolError, match=r"^at most 9 seats, got 12$") as error:
        book_seat.execute(world, {"flight_id": "AZ1", "passenger": "Ada", "seats": 12})
    assert type(error.value) is ToolError
    assert len(world.calls) == 1
