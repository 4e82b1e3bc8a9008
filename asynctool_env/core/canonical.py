"""Canonical argument values: when two spellings of a call do the same thing.

A model that writes ``get_stock_quote(symbol="jpm")`` asks for the same quote as the gold
``symbol="JPM"``; one that writes ``publish_at="2025-06-15T12:00"`` schedules the same post as
``"2025-06-15T12:00:00"``. The resolver (:mod:`asynctool_env.core.resolver`) compares calls
by their *canonical* arguments, and this module is the one place that says what canonical
means. Each tool declares, per argument, how its values canonicalise (the ``canonical=``
argument of :func:`asynctool_env.core.tools.tool`); undeclared arguments get a default from
their type.

============== ===================================================================== =========
kind            canonical form                                                        default
============== ===================================================================== =========
``text``        the string as written: a message body, a document's content or a      ``str``
                phrase to find is what it is (a hash or a count sees every space)
``name``        whitespace collapsed to single spaces (names, titles, queries)
``keyword``     ``name`` plus case folded (enum values, styles, algorithms, languages)
``symbol``      ``name`` plus upper case (tickers, currency codes, ids)
``date``        any unambiguous ISO date (``2025-06-15``, ``20250615``, a date-time at
                midnight) -> ``YYYY-MM-DD``
``datetime``    ISO date-time with or without seconds, ``T`` or a space, a trailing
                ``Z`` -> ``YYYY-MM-DDTHH:MM:SS``
``number``      ints and integral floats as ints, other floats as floats              numbers
``list``        an ordered list of canonical items (``None``, an omitted optional list, ``list``
                is the empty list)
``set``         a list whose order and repeats do not matter (sorted canonical items)
``tag``         ``name`` less a leading ``#`` or ``@`` (hashtags, handles: ``#sale``,
                ``sale``)
``exact``       the value as the schema coerced it
============== ===================================================================== =========

A kind may carry ``aliases`` (documented alternative spellings: ``"french"`` for ``"fr"``),
looked up after canonicalising, and a list kind names its items' kind (``"set:symbol"``).

The rule these declarations must keep, checked by the perturbation tests for every gold call
of the shipped dataset: **two calls with equal canonical arguments get equal responses from
the backend** (so a declaration never hides a difference in effect), and the perturbations a
careful model may write (case, spacing, date forms, aliases, omitted defaults, list order,
an int written as a string) are canonically equal to the gold call.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "text",
    "name",
    "keyword",
    "symbol",
    "tag",
    "date",
    "datetime",
    "number",
    "list",
    "set",
    "exact",
)


@dataclass(frozen=True)
class Canon:
    """How one argument's values canonicalise.

    Attributes:
        kind: One of :data:`KINDS`.
        item: For ``list`` and ``set``: the items' canonical form.
        aliases: Canonical alternative spelling -> canonical value (applied last).
    """

    kind: str = "text"
    item: Canon | None = None
    aliases: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown canonical kind {self.kind!r}; use one of {KINDS}")

    def apply(self, value: Any) -> Any:
        """The canonical form of ``value`` (never raises; unknown shapes pass through)."""
        result = _apply(self, value)
        if self.aliases and isinstance(result, str):
            return self.aliases.get(result, result)
        return result


def canon(spec: str | Canon, aliases: Mapping[str, Any] | None = None) -> Canon:
    """A :class:`Canon` from a short spec: ``"keyword"``, ``"set:symbol"``, ``"list:date"``.

    >>> canon("set:symbol").apply(["msft", " aapl", "MSFT"])
    ['AAPL', 'MSFT']
    """
    if isinstance(spec, Canon):
        return spec
    kind, _, item = spec.partition(":")
    canonical_aliases = {
        str(_apply(Canon(kind if kind not in ("list", "set") else "keyword"), key)): value
        for key, value in (aliases or {}).items()
    }
    return Canon(kind, canon(item) if item else None, canonical_aliases)


def default_canon(value: Any) -> Canon:
    """The canonical form of an undeclared argument, from the value's type."""
    if isinstance(value, str):
        return _TEXT
    if isinstance(value, (list, tuple)):
        return _LIST
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _NUMBER
    return _EXACT


def canonical_arguments(
    arguments: Mapping[str, Any], declared: Mapping[str, Canon] | None = None
) -> dict[str, Any]:
    """Every argument in canonical form (``arguments`` already validated by the schema, so
    omitted optional arguments hold their defaults)."""
    declared = declared or {}
    return {
        name: (declared.get(name) or default_canon(value)).apply(value)
        for name, value in arguments.items()
    }


def canonical_key(arguments: Mapping[str, Any]) -> str:
    """A hashable, order-independent key of canonical arguments."""
    return json.dumps(arguments, sort_keys=True, default=str, ensure_ascii=False)


# -- the kinds ------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
_DATE_BASIC = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.0+)?)?(?:Z|[+-]00:?00)?$"
)


def _apply(spec: Canon, value: Any) -> Any:
    kind = spec.kind
    if kind == "exact":
        return value
    if kind in ("list", "set"):
        if value is None:
            return []  # an optional list left out means no items
        if not isinstance(value, (list, tuple)):
            return value
        item = spec.item
        items = [item.apply(x) if item else default_canon(x).apply(x) for x in value]
        if kind == "set":
            unique = {canonical_key({"v": x}): x for x in items}
            return [unique[key] for key in sorted(unique)]
        return items
    if kind == "number":
        return _number(value)
    if not isinstance(value, str):
        return _number(value) if isinstance(value, (int, float)) else value
    if kind == "text":
        return value
    text = _SPACES.sub(" ", value).strip()
    if kind == "name":
        return text
    if kind == "keyword":
        return text.casefold()
    if kind == "symbol":
        return text.upper()
    if kind == "tag":
        return text.lstrip("#@").strip()
    if kind == "date":
        return _date(text)
    return _datetime(text)


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _date(text: str) -> str:
    basic = _DATE_BASIC.match(text)
    if basic:
        text = "-".join(basic.groups())
    moment = _DATETIME.match(text)
    if moment and moment.group(2) == moment.group(3) == "00" and (moment.group(4) or "00") == "00":
        text = moment.group(1)
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return text


def _datetime(text: str) -> str:
    moment = _DATETIME.match(text)
    if moment is None:
        return text
    day, hours, minutes, seconds = moment.groups()
    candidate = f"{day}T{hours}:{minutes}:{seconds or '00'}"
    try:
        return dt.datetime.fromisoformat(candidate).isoformat()
    except ValueError:
        return text


_TEXT = Canon("text")
_LIST = Canon("list")
_NUMBER = Canon("number")
_EXACT = Canon("exact")
