"""Hybrid data evolution: operators that grow seed tasks into harder or wider ones.

The AsyncTool paper builds its data by "hybrid data evolution": seed trajectories are
deepened (longer dependency chains) and widened (more independent work), then composed into
multi-task instances and filtered by execution. This module holds the task-level operators;
composition and filtering live in :mod:`asynctool_env.dataset.build`.

Every operator takes a :class:`~asynctool_env.core.scenario.TaskSpec` (the template's output,
before execution) and returns a new spec, or ``None`` when it does not apply. The scenario
tells the operators what is possible through its evolution rules
(:class:`~asynctool_env.core.scenario.LookupRule`, ``FollowUpRule``, ``SideStepRule``), so
the operators themselves know nothing about flights or files.

======================== ========= ===========================================================
operator                  kind      what it does
======================== ========= ===========================================================
``lookup``                in-depth  a constant argument (an id the instruction states) is
                                    replaced by a reference into a new lookup step inserted
                                    first; the instruction names the thing instead of the id.
                                    The chain gets one step longer and the id becomes
                                    knowable only from a response.
``follow_up``             in-depth  a dependent step is appended after a step of a given tool
                                    (confirm a booking, check an order), extending a branch;
                                    a read adds the value it asks for to the answer. A write
                                    whose sentence says "Then" comes after every write the
                                    task already makes (worlds are stateful: the final state
                                    sees the order)
``side_step``             in-breadth an independent step is added (a weather check, a quote):
                                    more work that can overlap the waits; a read adds the
                                    value it asks for to the answer
``latency``               in-breadth the instance is given another latency profile (applied at
                                    composition, see ``build.py``)
======================== ========= ===========================================================

Operators never touch the world or run a backend: the evolved spec is executed afterwards by
:func:`~asynctool_env.core.scenario.build_task_from_spec`, and a spec whose gold calls fail is
dropped by the pipeline's filter.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from asynctool_env.core.scenario import Scenario, StepSpec, TaskSpec, World, is_constant

_REFERENCE_INDEX = re.compile(r"\$\{s(\d+)")

#: Steps a task may have after evolution (the env's default ``max_steps`` is 8).
MAX_EVOLVED_STEPS = 8

Operator = Callable[[TaskSpec, Scenario, World, np.random.Generator], TaskSpec | None]


def shift_references(value: Any, offset: int, start: int = 0) -> Any:
    """Renumber ``${sN...}`` references with ``N >= start`` by ``offset`` in any JSON value.

    >>> shift_references({"id": "${s0.flights.0.flight_id}", "n": 2}, 1)
    {'id': '${s1.flights.0.flight_id}', 'n': 2}
    """
    if isinstance(value, str):
        if "${s" not in value:
            return value

        def renumber(match: re.Match[str]) -> str:
            index = int(match.group(1))
            return f"${{s{index + offset if index >= start else index}"

        return _REFERENCE_INDEX.sub(renumber, value)
    if isinstance(value, Mapping):
        return {key: shift_references(item, offset, start) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [shift_references(item, offset, start) for item in value]
    return value


def _append_sentence(instruction: str, sentence: str) -> str:
    instruction = instruction.rstrip()
    if instruction and instruction[-1] not in ".!?":
        instruction += "."
    return f"{instruction} {sentence.strip()}"


def _with_fact(answer: str | None, index: int, fact: str | None) -> str | None:
    """The answer template with the value at ``fact`` of step ``index`` asked for too."""
    if fact is None:
        return answer
    reference = f"${{s{index}.{fact}}}" if fact else f"${{s{index}}}"
    return reference if answer is None else f"{answer}; {reference}"


def _addition(result: tuple[Any, ...]) -> tuple[StepSpec, str, str | None]:
    """A rule's ``(step, sentence[, fact])``."""
    if len(result) == 2:
        return result[0], result[1], None
    return result[0], result[1], result[2]


def _call_follow_up(rule: Any, world: World, rng: np.random.Generator, index: int, spec: TaskSpec):
    """Rules take ``(world, rng, index, followed)``; older ones ``(world, rng, index)``.
    ``None`` when the rule does not apply to this step."""
    parameters = inspect.signature(rule.follow_up).parameters
    if len(parameters) >= 4:
        result = rule.follow_up(world, rng, index, spec.steps[index])
    else:
        result = rule.follow_up(world, rng, index)
    return None if result is None else _addition(result)


def _repeats_a_step(spec: TaskSpec, new: StepSpec) -> bool:
    """True when ``new`` is a call the task already makes (same tool and arguments)."""
    return any(
        step.tool == new.tool and dict(step.arguments) == dict(new.arguments) for step in spec.steps
    )


def add_lookup(
    spec: TaskSpec, scenario: Scenario, world: World, rng: np.random.Generator
) -> TaskSpec | None:
    """In-depth: make a constant argument come from a new first lookup step."""
    if len(spec.steps) >= MAX_EVOLVED_STEPS:
        return None
    candidates: list[tuple[int, str, Any, Any]] = []
    for index, step in enumerate(spec.steps):
        for rule in scenario.lookups:
            value = step.arguments.get(rule.argument)
            if value is not None and is_constant(value) and step.tool != rule.tool:
                candidates.append((index, rule.argument, value, rule))
    # Candidates in random order; the first whose value the rule can look up wins.
    for position in rng.permutation(len(candidates)):
        index, argument, value, rule = candidates[int(position)]
        found = rule.lookup(world, value)
        if found is not None:
            break
    else:
        return None
    lookup_arguments, path, phrase = found
    lookup_step = StepSpec(rule.tool, dict(lookup_arguments))
    if _repeats_a_step(spec, lookup_step):
        return None
    shifted = [
        StepSpec(
            step.tool,
            shift_references(step.arguments, 1),
            tuple(parent + 1 for parent in step.after),
        )
        for step in spec.steps
    ]
    # Every step that passes the same constant now takes it from the lookup (not only the
    # one the rule matched): once the instruction names the thing instead of the value, a
    # step still holding the constant would ask for a value the model cannot know.
    reference = "${s0." + path + "}"
    for position, step in enumerate(shifted):
        arguments = {
            name: reference if is_constant(item) and item == value else item
            for name, item in step.arguments.items()
        }
        if position == index:
            arguments[argument] = reference
        shifted[position] = replace(step, arguments=arguments)
    text = str(value)
    if text in spec.instruction:
        instruction = spec.instruction.replace(text, phrase, 1)
    else:
        instruction = _append_sentence(spec.instruction, f"Look up {phrase} first.")
    answer = shift_references(spec.answer, 1) if spec.answer is not None else None
    return TaskSpec(instruction, [lookup_step, *shifted], answer, spec.options)


def add_follow_up(
    spec: TaskSpec, scenario: Scenario, world: World, rng: np.random.Generator
) -> TaskSpec | None:
    """In-depth: append a step that depends on an existing step of a matching tool."""
    if len(spec.steps) >= MAX_EVOLVED_STEPS:
        return None
    candidates = [
        (index, rule)
        for index, step in enumerate(spec.steps)
        for rule in scenario.follow_ups
        if rule.after_tool == step.tool
    ]
    if not candidates:
        return None
    # Candidates in random order; the first that adds a call the task does not make wins.
    for position in rng.permutation(len(candidates)):
        index, rule = candidates[int(position)]
        addition = _call_follow_up(rule, world, rng, index, spec)
        if addition is None:
            continue
        step, sentence, fact = addition
        if not _repeats_a_step(spec, step):
            break
    else:
        return None
    step = _ordered_after_writes(spec, scenario, step, sentence)
    answer = _with_fact(spec.answer, len(spec.steps), fact)
    instruction = _append_sentence(spec.instruction, sentence)
    return TaskSpec(instruction, [*spec.steps, step], answer, spec.options)


def _ordered_after_writes(
    spec: TaskSpec, scenario: Scenario, step: StepSpec, sentence: str
) -> StepSpec:
    """A follow-up write said to come "Then" waits for every write the task already makes
    (an explicit order: the instruction states it, and the final state of the world sees
    it, e.g. a second post in a group after the first)."""
    if not scenario.tool(step.tool).writes or not sentence.lstrip().startswith("Then"):
        return step
    writes = [
        index
        for index, earlier in enumerate(spec.steps)
        if scenario.tool(earlier.tool).writes and index not in step.after
    ]
    if not writes:
        return step
    return StepSpec(step.tool, step.arguments, tuple(sorted({*step.after, *writes})))


def add_side_step(
    spec: TaskSpec, scenario: Scenario, world: World, rng: np.random.Generator
) -> TaskSpec | None:
    """In-breadth: add an independent step."""
    if len(spec.steps) >= MAX_EVOLVED_STEPS or not scenario.side_steps:
        return None
    for position in rng.permutation(len(scenario.side_steps)):
        rule = scenario.side_steps[int(position)]
        step, sentence, fact = _addition(rule.side_step(world, rng))
        if step.after or "${" in str(step.arguments):
            raise ValueError(f"side step rule {rule.name!r} made a dependent step")
        if not _repeats_a_step(spec, step):
            break
    else:
        return None
    answer = _with_fact(spec.answer, len(spec.steps), fact)
    instruction = _append_sentence(spec.instruction, sentence)
    return TaskSpec(instruction, [*spec.steps, step], answer, spec.options)


#: Task-level operators by name, in the order the pipeline tries them.
OPERATORS: dict[str, Operator] = {
    "lookup": add_lookup,
    "follow_up": add_follow_up,
    "side_step": add_side_step,
}


def evolve(
    spec: TaskSpec,
    scenario: Scenario,
    world: World,
    rng: np.random.Generator,
    operators: tuple[str, ...],
) -> tuple[TaskSpec, tuple[str, ...]]:
    """Apply ``operators`` in order; returns the spec and the operators that applied."""
    applied: list[str] = []
    for name in operators:
        evolved = OPERATORS[name](spec, scenario, world, rng)
        if evolved is not None:
            spec = evolved
            applied.append(name)
    return spec, tuple(applied)
