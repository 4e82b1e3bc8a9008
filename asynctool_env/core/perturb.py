"""Equivalent and effect-changing spellings of a call (the perturbation suite's generator).

:func:`equivalent_spellings` writes a call the ways a careful model may write the same
request (letter case of symbols and keywords, extra spacing, other ISO date forms, an
omitted default, a set-like list in another order, a whole number as a string);
:func:`different_effects` changes what the call does (another id, another number, another
word). The tests check that the resolver matches the first and not the second, and that the
backend answers every equivalent spelling exactly as it answers the gold call, which is what
makes a canonical-form declaration safe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from asynctool_env.core.canonical import Canon
from asynctool_env.core.tools import Tool


def _date_forms(value: str) -> list[str]:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return []
    return [day.strftime("%Y%m%d"), f" {value} "]


def _datetime_forms(value: str) -> list[str]:
    forms = []
    if value.endswith(":00") and value.count(":") == 2:
        forms.append(value[:-3])
    forms.append(value.replace("T", " ") if "T" in value else value.replace(" ", "T", 1))
    return forms


def _string_forms(value: str, spec: Canon | None) -> list[str]:
    kind = spec.kind if spec else "text"
    forms = [f"  {value} "] if kind != "text" and value.strip() == value and value else []
    if kind in ("name", "keyword", "symbol") and " " in value.strip():
        forms.append(value.replace(" ", "  ", 1))
    if kind in ("keyword", "symbol"):
        forms += [value.lower(), value.upper()]
    if kind == "keyword":
        forms.append(value.title())
    if kind == "tag":
        forms.append(value.lstrip("#@") if value[:1] in "#@" else f"#{value}")
    if kind == "date":
        forms += _date_forms(value)
    if kind == "datetime":
        forms += _datetime_forms(value)
    if spec and spec.aliases:
        forms += [alias for alias, target in spec.aliases.items() if target == spec.apply(value)]
    return [form for form in dict.fromkeys(forms) if form != value]


def equivalent_spellings(
    tool: Tool, arguments: Mapping[str, Any]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(label, arguments)`` for each equivalent spelling of a gold call's arguments."""
    defaults = {
        name: field.default
        for name, field in tool.arguments_model.model_fields.items()
        if not field.is_required()
    }
    for name, value in arguments.items():
        spec = tool.canonical.get(name)
        if name in defaults and defaults[name] == value:
            yield f"{name} omitted (default)", {k: v for k, v in arguments.items() if k != name}
        if isinstance(value, str):
            for form in _string_forms(value, spec):
                yield f"{name}={form!r}", {**arguments, name: form}
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            yield f"{name} as a string", {**arguments, name: str(value)}
        elif isinstance(value, list) and spec is not None and spec.kind == "set" and len(value) > 1:
            yield f"{name} reversed", {**arguments, name: list(reversed(value))}
        if isinstance(value, list) and spec is not None and spec.item is not None:
            for index, item in enumerate(value):
                if isinstance(item, str):
                    for form in _string_forms(item, spec.item)[:2]:
                        changed = list(value)
                        changed[index] = form
                        yield f"{name}[{index}]={form!r}", {**arguments, name: changed}


def different_effects(arguments: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(label, arguments)`` for changes that alter what a call does."""
    for name, value in arguments.items():
        if isinstance(value, bool):
            yield f"{name} negated", {**arguments, name: not value}
        elif isinstance(value, int):
            yield f"{name}+1", {**arguments, name: value + 1}
        elif isinstance(value, float):
            yield f"{name}*1.5", {**arguments, name: round(value * 1.5 + 1, 2)}
        elif isinstance(value, str) and value.strip():
            changed = _other_string(value)
            yield f"{name}={changed!r}", {**arguments, name: changed}


def _other_string(value: str) -> str:
    """A different value of the same shape: the last letter or digit moved on by one."""
    for index in range(len(value) - 1, -1, -1):
        char = value[index]
        if char.isdigit():
            return value[:index] + str((int(char) + 1) % 10) + value[index + 1 :]
        if char.isalpha():
            base = "a" if char.islower() else "A"
            if char.isascii():
                return (
                    value[:index]
                    + chr((ord(char) - ord(base) + 1) % 26 + ord(base))
                    + value[index + 1 :]
                )
    return value + "x"
