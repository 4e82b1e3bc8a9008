"""Stateful worlds: what a call changes, when it changes it, and how two states compare.

A scenario's world (:mod:`asynctool_env.core.scenario`) is two things:

* **what its seed says**: contacts, table rows, flights, prices, inboxes. They are derived on
  demand from the seed by pure functions and never stored, so a world costs microseconds;
* **a** :class:`WorldState`: the objects that calls have created, changed or removed, by
  key. Reads look in the state first and fall back to what the seed says; writes only ever
  change the state. A fresh world (``Scenario.world(seed)``) has an empty state.

When a call takes effect (one rule for every tool)
--------------------------------------------------
A call takes effect **when it is made**: its backend runs at once on the world as it is at
that moment, its changes apply at once, and the response it computed then is delivered
after the call's latency. The calls of one reply take effect in the order they are written.
A call the environment refuses (bad arguments, a dependency violation, a guess: see
:mod:`asynctool_env.core.resolver`) is not run and changes nothing. A backend that refuses a
call (:class:`~asynctool_env.core.tools.ToolError`) changes nothing either: whatever it
wrote before refusing is rolled back (:meth:`WorldState.recording`).

Why at call time, not at delivery: the response an agent gets is then exactly what the
world said when the call went out, whatever the latency profile or the contention, and the
gold is simply the gold calls played in gold order on a fresh world. Latency delays the
*news*, not the effect, which is also what an agent must assume of a real API: a write it
sent may already have happened before it hears back.

Objects and keys
----------------
A key is a tuple of strings naming one object: ``("row", "customers", "CUS-07A4F2")``,
``("message", "MSG-1A2B3C4D")``. A value is JSON data (dicts, lists, strings, numbers,
booleans, ``None``). Objects are the unit of comparison (a task's writes are judged by the
objects its gold writes touch: :mod:`asynctool_env.core.resolver`) and of conflict (two
tasks that touch the same object do not commute: the dataset audit checks that tasks
sharing a world never do). So a scenario keys each thing a write creates or changes
separately, and derives collections (a table's rows, an inbox, a portfolio) by scanning a key
prefix (:meth:`WorldState.scan`) instead of storing one list that every insert rewrites.

Ids of new objects
------------------
:meth:`WorldState.new_id` names a new object by what it is (its content) and by how many
identical objects were created before it, never by a global counter: two tasks' writes get
the same ids in any interleaving, while a duplicate write gets a new id (and shows in the
final state as a second object). The first object of its content keeps the id that the
stateless backends of dataset v2 gave it (``stable_id(prefix, *parts)``).

Comparing states
----------------
:func:`same_value` compares two JSON values with numbers by value (``3 == 3.0``) and
everything else exactly. Backends store what they mean, not what was typed: an enum in its
declared spelling, a count as an int, a name with single spaces. So two calls the tool
declares canonically equal (:mod:`asynctool_env.core.canonical`) leave equal states, which
the perturbation tests check for every gold write of the shipped dataset.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: A state key: a tuple of strings naming one object.
Key = tuple[str, ...]

_ABSENT: Any = object()

#: The first element of the keys :meth:`WorldState.new_id` counts creations under.
CREATED = "#created"


@dataclass
class Effects:
    """What one call (or one task) read and wrote, by key.

    Attributes:
        reads: Keys read with :meth:`WorldState.get` (or tested with ``in``).
        scans: Prefixes read with :meth:`WorldState.scan` / :meth:`WorldState.count`.
        writes: Keys written or deleted.
    """

    reads: set[Key] = field(default_factory=set)
    scans: set[Key] = field(default_factory=set)
    writes: set[Key] = field(default_factory=set)

    def update(self, other: Effects) -> None:
        """Add ``other``'s keys to these."""
        self.reads |= other.reads
        self.scans |= other.scans
        self.writes |= other.writes

    def touches(self, key: Key) -> bool:
        """Whether these effects read ``key`` (directly or by a scan of a prefix of it)."""
        return key in self.reads or key in self.writes or any(_under(key, p) for p in self.scans)

    def conflicts_with(self, other: Effects) -> list[Key]:
        """The keys one side writes and the other reads or writes: empty when the two can
        run in either order with the same responses and the same final state."""
        clashes = {key for key in self.writes if other.touches(key)}
        clashes |= {key for key in other.writes if self.touches(key)}
        return sorted(clashes)


def _under(key: Key, prefix: Key) -> bool:
    return key[: len(prefix)] == prefix


def _check_key(key: Any) -> Key:
    if not isinstance(key, tuple) or not key or not all(isinstance(p, str) for p in key):
        raise TypeError(f"a state key is a non-empty tuple of strings, got {key!r}")
    return key


def _check_value(value: Any, where: str = "value", depth: int = 0) -> None:
    """Refuse anything that is not JSON data (a backend bug, caught at once)."""
    if depth > 32:
        raise TypeError(f"state {where} is nested too deeply")
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"state {where} must be finite, got {value!r}")
        return
    if isinstance(value, Mapping):
        for item_key, item in value.items():
            if not isinstance(item_key, str):
                raise TypeError(f"state {where} has a non-string key {item_key!r}")
            _check_value(item, f"{where}.{item_key}", depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_value(item, f"{where}[{index}]", depth + 1)
        return
    raise TypeError(f"state {where} must be JSON data, got {type(value).__name__}")


class WorldState:
    """The objects calls have created, changed or removed in one world (see the module
    docstring). Every access is noted by the recordings in progress (:meth:`recording`),
    which is how the resolver learns what a call wrote and the audit what a task touched.
    """

    __slots__ = ("_journals", "_objects", "_recorders")

    def __init__(self) -> None:
        self._objects: dict[Key, Any] = {}
        self._recorders: list[Effects] = []
        self._journals: list[list[tuple[Key, Any]]] = []

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: Key, default: Any = None) -> Any:
        """The object at ``key`` (a copy: change it and :meth:`put` it back), or
        ``default`` when there is none."""
        key = _check_key(key)
        for recorder in self._recorders:
            recorder.reads.add(key)
        value = self._objects.get(key, _ABSENT)
        return default if value is _ABSENT else copy.deepcopy(value)

    def __contains__(self, key: object) -> bool:
        key = _check_key(key)
        for recorder in self._recorders:
            recorder.reads.add(key)
        return key in self._objects

    def scan(self, *prefix: str) -> list[tuple[Key, Any]]:
        """Every object whose key starts with ``prefix``, sorted by key (copies). The order
        never depends on the order of the writes, so a listing commutes with writes it does
        not see."""
        key = _check_key(tuple(prefix))
        for recorder in self._recorders:
            recorder.scans.add(key)
        found = sorted(k for k in self._objects if _under(k, key))
        return [(k, copy.deepcopy(self._objects[k])) for k in found]

    def count(self, *prefix: str) -> int:
        """How many objects have a key starting with ``prefix``."""
        return len(self.scan(*prefix))

    # -- writes ------------------------------------------------------------------------------

    def put(self, key: Key, value: Any) -> None:
        """Set the object at ``key`` to ``value`` (JSON data, stored as a copy)."""
        key = _check_key(key)
        _check_value(value)
        self._note_write(key)
        self._objects[key] = copy.deepcopy(value)

    def delete(self, key: Key) -> None:
        """Remove the object at ``key`` (nothing happens when there is none, but the
        removal still counts as a write of ``key``)."""
        key = _check_key(key)
        self._note_write(key)
        self._objects.pop(key, None)

    def new_id(self, prefix: str, *parts: Any, digits: int = 6) -> str:
        """An id for a new object of content ``parts``: ``stable_id(prefix, *parts)`` for
        the first such object, then ``stable_id(prefix, *parts, n)`` for the ``n``-th
        duplicate (n = 1, 2...). Counts creations under ``("#created", prefix, digest)``,
        so a duplicate shows in the state even after its object is removed."""
        from asynctool_env.core.scenario import stable_id  # scenario imports this module

        payload = json.dumps(parts, sort_keys=True, default=str).encode()
        counter = (CREATED, prefix, hashlib.blake2b(payload, digest_size=8).hexdigest())
        made = self.get(counter, 0)
        self.put(counter, made + 1)
        if made == 0:
            return stable_id(prefix, *parts, digits=digits)
        return stable_id(prefix, *parts, made, digits=digits)

    def _note_write(self, key: Key) -> None:
        for recorder in self._recorders:
            recorder.writes.add(key)
        for journal in self._journals:
            journal.append((key, self._objects.get(key, _ABSENT)))

    # -- recordings ------------------------------------------------------------------------------

    @contextmanager
    def recording(self) -> Iterator[Effects]:
        """Record the keys read and written inside the ``with`` block; if the block raises,
        undo every write it made (a refused call changes nothing) and re-raise."""
        effects = Effects()
        journal: list[tuple[Key, Any]] = []
        self._recorders.append(effects)
        self._journals.append(journal)
        try:
            yield effects
        except BaseException:
            for key, old in reversed(journal):
                if old is _ABSENT:
                    self._objects.pop(key, None)
                else:
                    self._objects[key] = old
            raise
        finally:
            self._recorders.pop()
            self._journals.pop()

    # -- whole state -----------------------------------------------------------------------------

    def snapshot(self) -> dict[Key, Any]:
        """Every object, by key (copies)."""
        return copy.deepcopy(self._objects)

    def keys(self) -> list[Key]:
        """Every key that holds an object, sorted."""
        return sorted(self._objects)

    def __len__(self) -> int:
        return len(self._objects)

    def __repr__(self) -> str:
        return f"WorldState({len(self._objects)} objects)"


def state_of(world: Any) -> WorldState:
    """The :class:`WorldState` of a scenario world (its ``state`` attribute).

    Raises:
        TypeError: The world keeps no state (a scenario that was not made stateful).
    """
    state = getattr(world, "state", None)
    if not isinstance(state, WorldState):
        raise TypeError(
            f"{type(world).__name__} has no WorldState: give the world dataclass a field "
            "`state: WorldState = field(default_factory=WorldState, compare=False, repr=False)`"
        )
    return state


def canonical_value(value: Any) -> Any:
    """``value`` in the form :func:`same_value` compares: numbers by value (an integral
    float as an int, others rounded to 9 places), tuples as lists, everything else as is."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return int(number)
        return round(number, 9)
    if isinstance(value, Mapping):
        return {str(k): canonical_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical_value(item) for item in value]
    return value


def same_value(a: Any, b: Any) -> bool:
    """Whether two state values are equal (numbers by value: ``3 == 3.0``; absent objects
    are passed as :data:`ABSENT`)."""
    return canonical_value(a) == canonical_value(b)


#: Stands for "no object at this key" when comparing states.
ABSENT: Any = _ABSENT


def describe_key(key: Key) -> str:
    """A key as people read it: ``row customers CUS-07A4F2``."""
    return " ".join(part for part in key if part)


def difference(live: Any, gold: Any) -> str:
    """What differs between an object as it is and as the task leaves it, without giving
    the expected values away (names of the fields that differ)."""
    if live is ABSENT:
        return "the task's change to it was not made"
    if gold is ABSENT:
        return "it should not exist"
    if isinstance(live, Mapping) and isinstance(gold, Mapping):
        fields = sorted(
            name
            for name in set(live) | set(gold)
            if not same_value(live.get(name, ABSENT), gold.get(name, ABSENT))
        )
        if fields:
            shown = ", ".join(fields[:4]) + (" ..." if len(fields) > 4 else "")
            verb = "differ" if len(fields) > 1 else "differs"
            return f"its {shown} {verb} from what the task leaves"
    return "it differs from what the task leaves"
