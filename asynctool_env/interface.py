"""The interface layer: what every environment over the simulator shares.

``AsyncTool-v0`` (numeric), the PettingZoo env and ``AsyncTool-Chat-v0`` all play episodes of
the same :class:`~asynctool_env.core.simulator.Simulator`. What they share lives here, once:
where episodes come from (:func:`instance_source`: a list, a file, a dataset split or the
procedural stream, checked against the padding at construction), the choice made at reset
(:func:`check_reset_options`), the counters of ``info`` (:func:`info_counters`), the
latency profile of an episode (:func:`latency_profile_for`), the padding limits, and the
masked action space. The argument checks are :mod:`asynctool_env.core.checks`; the rewards
:mod:`asynctool_env.core.rewards`; the text render :mod:`asynctool_env.rendering`; the
action layouts :class:`~asynctool_env.agents.rules.ActionCodec`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, ItemsView, Iterator, Mapping, Sequence, ValuesView
from typing import Any

import numpy as np
from gymnasium import spaces

from asynctool_env.core.checks import check_names, check_pair, check_source, check_whole
from asynctool_env.core.latency import LatencyProfile, make_latency_profile
from asynctool_env.core.simulator import Simulator
from asynctool_env.core.task import Instance
from asynctool_env.dataset.procedural import Composition, InstanceGenerator, shared_task_bank
from asynctool_env.instances import load_instances

#: Largest ``max_tasks`` (and so ``n_tasks``) the env accepts.
MAX_TASKS_LIMIT = 8
#: Largest ``max_steps`` per task the env accepts.
MAX_STEPS_LIMIT = 16


def check_reset_options(
    options: Mapping[str, Any] | None, instances: Sequence[Instance] | None
) -> dict[str, Any]:
    """``reset``'s options, checked: only ``instance`` (an Instance) or an in-range
    ``instance_index``. Every env gives the same error for the same bad option."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    unknown = sorted(str(key) for key in set(options) - {"instance", "instance_index"})
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}; known: instance, instance_index")
    if "instance" in options and "instance_index" in options:
        raise ValueError("pass options['instance'] or options['instance_index'], not both")
    if "instance" in options and not isinstance(options["instance"], Instance):
        raise TypeError(f"options['instance'] must be an Instance, got {options['instance']!r}")
    if "instance_index" in options:
        high = len(instances) - 1 if instances is not None else None
        index = check_whole("options['instance_index']", options["instance_index"], 0, high)
        return {**options, "instance_index": index}
    return dict(options)


def info_counters(simulator: Simulator) -> dict[str, int]:
    """The running counters every single-agent env puts in ``info`` at each step
    (``AsyncTool-v0`` and ``AsyncTool-Chat-v0`` alike; the multi-agent env reports them per
    agent)."""
    return {
        "round": simulator.round,
        "calls": simulator.calls,
        "steps_done": simulator.steps_done,
        "tasks_answered": len(simulator.tasks) - simulator.open_tasks,
        "dependency_violations": simulator.violations,
        "idle_rounds": simulator.idle_rounds,
        "invalid_actions": simulator.invalid_actions,
    }


class LazyDict(dict):
    """A plain ``dict`` some of whose values are computed the first time anything reads them.

    The keys are there from the start (``key in d``, ``len``, ``keys()`` and iteration see
    them without computing anything), and every way of reading values (``d[key]``, ``get``,
    ``items``, ``values``, ``dict(d)``, ``{**d}``, ``copy``, ``==``, ``repr``, pickling,
    ``copy.deepcopy``, ``json.dumps``) computes what it needs once and keeps it. Copies and
    pickles are plain dicts. Writing other keys computes nothing; replacing or deleting a
    pending key drops its computation.

    Args:
        values: The values known now.
        pending: ``{key: function}``: each function makes its key's value (called at most
            once; what it reads must not change afterwards).
    """

    __slots__ = ("_pending",)

    def __init__(self, values: Mapping[str, Any], pending: Mapping[str, Callable[[], Any]]):
        super().__init__(values)
        for key in pending:
            dict.__setitem__(self, key, None)
        self._pending: dict[Any, Callable[[], Any]] = dict(pending)

    def _fill(self, key: Any = ...) -> None:
        """Compute ``key`` (every pending key when none is named)."""
        pending = self._pending
        if not pending:
            return
        for name in list(pending) if key is ... else [key]:
            make = pending.pop(name, None)
            if make is not None:
                dict.__setitem__(self, name, make())

    # Reads: compute first.
    def __getitem__(self, key: Any) -> Any:
        self._fill(key)
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._fill(key)
        return dict.get(self, key, default)

    def items(self) -> ItemsView[Any, Any]:  # type: ignore[override]
        self._fill()
        return dict.items(self)

    def values(self) -> ValuesView[Any]:  # type: ignore[override]
        self._fill()
        return dict.values(self)

    def __iter__(self) -> Iterator[Any]:
        # Overridden so that dict(d), {**d} and update(d) read values through __getitem__
        # instead of copying the storage (CPython's fast path).
        return dict.__iter__(self)

    def copy(self) -> dict[str, Any]:  # type: ignore[override]
        self._fill()
        return dict(dict.items(self))

    def __or__(self, other: Any) -> Any:
        return self.copy() | other

    def __ror__(self, other: Any) -> Any:
        return other | self.copy()

    def __eq__(self, other: object) -> bool:
        self._fill()
        if isinstance(other, LazyDict):
            other._fill()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self._fill()
        return dict.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (self.copy(),))

    def popitem(self) -> tuple[Any, Any]:
        self._fill()
        return dict.popitem(self)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._fill(key)
        return dict.setdefault(self, key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        self._fill(key)
        return dict.pop(self, key, *default)

    # Writes: replacing a pending key cancels its computation; other keys cost nothing.
    def __setitem__(self, key: Any, value: Any) -> None:
        self._pending.pop(key, None)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._pending.pop(key, None)
        dict.__delitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        other = dict(*args, **kwargs)
        for key in other:
            self._pending.pop(key, None)
        dict.update(self, other)

    def clear(self) -> None:
        self._pending.clear()
        dict.clear(self)


class EpisodeEndInfo(LazyDict):
    """The last step's ``info`` of ``AsyncTool-v0``: the running counters, and ``"metrics"``
    computed the first time anything reads it (a :class:`LazyDict`).

    The episode metrics include the exact optimum, which costs about as much to solve as 20
    env steps; a trainer that never looks at the last info should not pay for it, and a user
    who does must get it.

    Args:
        counters: The step's running counters (:func:`info_counters`).
        metrics: Makes the metrics dict (after the episode ended: a finished simulator does
            not change).
    """

    __slots__ = ()

    def __init__(self, counters: Mapping[str, Any], metrics: Callable[[], dict[str, Any]]):
        super().__init__(counters, {"metrics": metrics})


def check_instance_fits(instance: Instance, max_tasks: int, max_steps: int) -> None:
    """Raise ``ValueError`` unless ``instance`` fits the observation padding."""
    if instance.n_tasks > max_tasks:
        raise ValueError(
            f"instance {instance.instance_id!r} has {instance.n_tasks} tasks; "
            f"max_tasks is {max_tasks}"
        )
    longest = max(len(task.steps) for task in instance.tasks)
    if longest > max_steps:
        raise ValueError(
            f"instance {instance.instance_id!r} has a task of {longest} steps; "
            f"max_steps is {max_steps}"
        )


def instance_source(
    *,
    instances: Sequence[Instance] | str | os.PathLike[str] | None,
    split: str | None,
    scenarios: Sequence[str] | None,
    composition: Composition,
    n_tasks: int | tuple[int, int],
    steps_per_task: tuple[int, int] | None,
    task_bank_seed: int,
    max_tasks: int,
    max_steps: int,
) -> tuple[list[Instance] | None, InstanceGenerator | None]:
    """Where an env's episodes come from: ``(instances, None)`` for a given list, file or
    dataset split, or ``(None, generator)`` for the procedural stream. Everything is checked
    against the padding here, at construction, so that no seed fails later at ``reset``."""
    if instances is not None and split is not None:
        raise ValueError("pass instances or split, not both")
    if instances is not None:
        check_source("instances", instances)
    if scenarios is not None:
        scenarios = check_names("scenarios", scenarios)
    if steps_per_task is not None:
        steps_per_task = check_pair("steps_per_task", steps_per_task, 1, MAX_STEPS_LIMIT)
    if split is not None:
        from asynctool_env.dataset import load_split

        instances = load_split(split)
    if instances is None:
        bank = shared_task_bank(
            tuple(scenarios) if scenarios is not None else None, seed=int(task_bank_seed)
        )
        generator = InstanceGenerator(
            bank, n_tasks=n_tasks, composition=composition, steps_per_task=steps_per_task
        )
        if generator.max_task_steps > max_steps:
            raise ValueError(
                f"the task bank has tasks of up to {generator.max_task_steps} steps but "
                f"max_steps is {max_steps}; raise max_steps (up to {MAX_STEPS_LIMIT}) or pass "
                f"steps_per_task=(low, high) with high <= {max_steps}"
            )
        if generator.n_tasks[1] > max_tasks:
            raise ValueError(
                f"n_tasks={n_tasks!r} exceeds max_tasks={max_tasks}; raise max_tasks "
                f"(up to {MAX_TASKS_LIMIT})"
            )
        return None, generator
    loaded = (
        load_instances(instances) if isinstance(instances, (str, os.PathLike)) else list(instances)
    )
    if not loaded:
        raise ValueError("instances is empty")
    for instance in loaded:
        if not isinstance(instance, Instance):
            raise TypeError(f"instances must hold Instance objects, got {type(instance).__name__}")
        check_instance_fits(instance, max_tasks, max_steps)
    return loaded, None


def latency_profile_for(
    instance: Instance, forced: LatencyProfile | None, cache: dict[str, LatencyProfile]
) -> LatencyProfile:
    """The profile an episode of ``instance`` plays: ``forced`` if given, else the
    instance's own (built once per name into ``cache``)."""
    if forced is not None:
        return forced
    name = instance.latency_profile
    profile = cache.get(name)
    if profile is None:
        profile = cache[name] = make_latency_profile(name)
    return profile


class MaskedDiscrete(spaces.Discrete):
    """``Discrete`` with a cheaper ``sample(mask=...)``; everything else is Gymnasium's.

    Random masked rollouts call ``action_space.sample(mask=obs["action_mask"])`` once per
    step, and Gymnasium's general implementation costs more than a whole env step here.
    This one draws from the same distribution (uniform over the allowed actions, ``start``
    when none is allowed) from the space's own seeded generator, and hands any mask that is
    not a clean int8 0/1 vector of the right shape to Gymnasium, which rejects it with its
    usual message.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The allowed actions of each mask met (its bytes -> indexes), at most 4,096 kept.
        self._allowed: dict[bytes, tuple[int, ...]] = {}

    def sample(
        self, mask: np.ndarray | None = None, probability: np.ndarray | None = None
    ) -> np.int64:
        if (
            mask is None
            or probability is not None
            or not isinstance(mask, np.ndarray)
            or mask.dtype != np.int8
            or mask.shape != (self.n,)
        ):
            return super().sample(mask=mask, probability=probability)
        data = mask.tobytes()
        allowed = self._allowed.get(data)
        if allowed is None:  # a mask not seen yet (a game has few distinct ones)
            if data.translate(None, b"\x00\x01"):  # a value other than 0 and 1
                return super().sample(mask=mask)
            if len(self._allowed) >= 4096:
                self._allowed.clear()
            allowed = self._allowed[data] = tuple(i for i, value in enumerate(data) if value)
        if not allowed:
            return self.start
        choice = allowed[int(self.np_random.random() * len(allowed))]
        return self.start + self.dtype.type(choice)
