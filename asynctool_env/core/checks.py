"""Argument checks shared by every interface: one rule, one message.

Each check raises with the argument's name, the value it got and what is allowed, so a user
learns what to change (``max_tasks must be a whole number in 1..8, got '3'``), and nothing
is coerced silently (``'no'`` is not ``True``, ``2.5`` is not ``2``, ``'travel'`` is not
``['t', 'r', ...]``). The Gymnasium env, the multi-agent env and the chat env call these.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def check_whole(name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` as an int, if it is a whole number (not a bool, not a float) in range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        where = f">= {low}" if high is None else f"in {low}..{high}"
        raise TypeError(f"{name} must be a whole number {where}, got {value!r}")
    if value < low or (high is not None and value > high):
        where = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"{name} must be {where}, got {value!r}")
    return int(value)


def check_optional_whole(name: str, value: Any, low: int, high: int | None = None) -> int | None:
    """:func:`check_whole`, or ``None``."""
    return None if value is None else check_whole(name, value, low, high)


def check_flag(name: str, value: Any) -> bool:
    """``value`` if it is a bool (``'no'`` is not ``True``)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_number(name: str, value: Any) -> float:
    """``value`` as a float, if it is a finite number (not a bool, not text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_names(name: str, value: Any) -> tuple[str, ...]:
    """A list of names (``['travel']``), not one string read letter by letter."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list of names, e.g. ['travel'], got {value!r}")
    for item in value:
        if not isinstance(item, str):
            raise TypeError(f"{name} must hold names (strings), got {item!r} in {value!r}")
    return tuple(value)


def check_pair(name: str, value: Any, low: int, high: int | None = None) -> tuple[int, int]:
    """A ``(low, high)`` pair of whole numbers in range with ``low <= high``."""
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{name} must be a (low, high) pair of whole numbers, got {value!r}")
    first = check_whole(f"{name}[0]", value[0], low, high)
    second = check_whole(f"{name}[1]", value[1], low, high)
    if first > second:
        raise ValueError(f"{name} must have low <= high, got {value!r}")
    return first, second


def check_source(name: str, value: Any) -> None:
    """Instances: a list of :class:`~asynctool_env.core.task.Instance` or a file path."""
    from asynctool_env.core.task import Instance

    if isinstance(value, (str, os.PathLike)):
        return
    if isinstance(value, Sequence) and all(isinstance(item, Instance) for item in value):
        return
    raise TypeError(
        f"{name} must be a list of Instance objects or the path of a .jsonl(.gz) file, "
        f"got {value!r}"
    )
