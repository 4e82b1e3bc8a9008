"""References from a step's arguments to earlier steps' responses.

A gold argument may name a value that only an earlier response reveals, written as a
``${...}`` placeholder inside any JSON value::

    {"flight_id": "${s0.flights.0.flight_id}"}        # whole value: keeps its JSON type
    {"text": "Booked ${s1.booking_id}, see you!"}      # inside a string: interpolated
    {"members": ["${s0.contact_id}", "${s1.contact_id}"]}

``s0`` is step 0 of the same task; the rest of the path walks the response (dict keys and
list indexes). Inside a longer string, a referenced string is inserted as it is and any other
value as JSON (``true``, ``null``, ``[1, 2]``). A step *depends on* every step its arguments
reference, which is how the dependency DAG of a task is derived from its gold calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_REFERENCE = re.compile(r"\$\{s(\d+)((?:\.[A-Za-z0-9_]+)*)\}")


def leaves(value: Any) -> list[Any]:
    """The scalar values inside a JSON value, in order (dict values and list items, at any
    depth): what the resolver and the answer grader compare value by value.

    >>> leaves({"a": [1, {"b": "x"}], "c": None})
    [1, 'x', None]
    """
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


class UnresolvedReferenceError(LookupError):
    """An argument references a response that has not been delivered (or lacks the field)."""


def referenced_steps(value: Any) -> set[int]:
    """Indexes of the steps that ``value`` (any JSON value) references.

    >>> sorted(referenced_steps({"a": "${s0.x}", "b": ["${s2.y.0}", "plain"]}))
    [0, 2]
    """
    if isinstance(value, str):
        return {int(match.group(1)) for match in _REFERENCE.finditer(value)}
    if isinstance(value, Mapping):
        found: set[int] = set()
        for item in value.values():
            found |= referenced_steps(item)
        return found
    if isinstance(value, (list, tuple)):
        found = set()
        for item in value:
            found |= referenced_steps(item)
        return found
    return set()


def _walk(response: Any, path: str, placeholder: str) -> Any:
    current = response
    for key in path.split(".")[1:] if path else []:
        if isinstance(current, Mapping) and key in current:
            current = current[key]
        elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            raise UnresolvedReferenceError(f"{placeholder}: the response has no field {key!r}")
    return current


def resolve(value: Any, responses: Sequence[Mapping[str, Any] | None]) -> Any:
    """Replace every reference in ``value`` with the value it names.

    Args:
        value: A JSON value that may contain ``${sN.path}`` placeholders.
        responses: Delivered responses of the task's steps by index; ``None`` for a step
            whose response has not arrived.

    Raises:
        UnresolvedReferenceError: A referenced response is missing, is an error, or lacks
            the field.
    """
    if isinstance(value, str):
        if "${" not in value:
            return value
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(whole, responses)
        return _REFERENCE.sub(lambda match: _as_text(_lookup(match, responses)), value)
    if isinstance(value, Mapping):
        return {key: resolve(item, responses) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(item, responses) for item in value]
    return value


def _as_text(value: Any) -> str:
    """How a value reads inside a string: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _lookup(match: re.Match[str], responses: Sequence[Mapping[str, Any] | None]) -> Any:
    step = int(match.group(1))
    if step >= len(responses) or responses[step] is None:
        raise UnresolvedReferenceError(f"{match.group(0)}: step {step} has not answered yet")
    response = responses[step]
    if isinstance(response, Mapping) and "error" in response:
        raise UnresolvedReferenceError(f"{match.group(0)}: step {step} answered with an error")
    return _walk(response, match.group(2), match.group(0))


def resolved_references(
    value: Any, responses: Sequence[Mapping[str, Any] | None]
) -> list[tuple[int, Any]]:
    """``(step, value it names)`` for every reference in ``value`` (any JSON value), in
    order; references that do not resolve are left out.

    >>> resolved_references({"a": "Fly ${s0.id}", "b": ["${s1.n}"]}, [{"id": "X"}, {"n": 2}])
    [(0, 'X'), (1, 2)]
    """
    found: list[tuple[int, Any]] = []

    def visit(item: Any) -> None:
        if isinstance(item, str):
            for match in _REFERENCE.finditer(item):
                try:
                    found.append((int(match.group(1)), _lookup(match, responses)))
                except UnresolvedReferenceError:
                    continue
        elif isinstance(item, Mapping):
            for inner in item.values():
                visit(inner)
        elif isinstance(item, (list, tuple)):
            for inner in item:
                visit(inner)

    visit(value)
    return found
