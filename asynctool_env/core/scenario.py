"""Scenarios: a tool suite, the world it works on, and templates of tasks.

A scenario is one module in :mod:`asynctool_env.scenarios` that exposes ``SCENARIO``, a
:class:`Scenario`. Adding a scenario is adding one file; the package finds it by itself.

A scenario declares:

* ``make_world(rng)``: builds a small, seeded world (flights, contacts, files...) with an
  empty :class:`~asynctool_env.core.state.WorldState`. It must depend only on ``rng``.
* ``tools``: its tools (see :func:`asynctool_env.core.tools.tool`). Backends are
  deterministic functions of the world (its seed and its state) and the arguments. Writes
  change the world's state and reads see those changes (:mod:`asynctool_env.core.state`
  states when a call takes effect, how objects are keyed and how new ids are made); ids
  never come from global counters, so two tasks on one world that touch different objects
  get the same responses in any interleaving.
* ``templates``: functions ``(world, rng) -> TaskSpec`` that pick entities from the world and
  write the instruction and the gold calls, where later calls reference earlier responses.

:func:`build_task` runs a template's gold calls through the backends on a fresh world, in
gold order, checks that none of them fails, and freezes the result into a
:class:`~asynctool_env.core.task.Task` with gold arguments and responses resolved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asynctool_env.core.facts import Fact, facts_from_answer
from asynctool_env.core.references import referenced_steps, resolve
from asynctool_env.core.task import Step, Task
from asynctool_env.core.tools import Tool, ToolError


@dataclass(frozen=True)
class StepSpec:
    """A gold call as a template writes it.

    Attributes:
        tool: Tool name.
        arguments: Arguments; ``${sN.path}`` references earlier responses.
        after: Extra dependencies that no argument expresses (rare: "only after X is
            done"). References already imply their own dependencies.
    """

    tool: str
    arguments: Mapping[str, Any]
    after: tuple[int, ...] = ()


@dataclass(frozen=True)
class TaskSpec:
    """What a template returns: the instruction, the gold calls and the answer template.

    The answer template's references are the facts the answer must state
    (:func:`~asynctool_env.core.facts.facts_from_answer`); an answer without references is
    a value the template computed (the warmer of two cities), and ``options`` are the other
    values it could have been (naming one of them too makes the answer ambiguous).
    """

    instruction: str
    steps: Sequence[StepSpec]
    answer: str | None = None
    options: Sequence[str] = ()


World = Any
TaskTemplate = Callable[[World, np.random.Generator], TaskSpec]


def is_constant(value: Any) -> bool:
    """A constant argument value: a string or number with no ``${...}`` reference (what the
    instruction can state, and what evolution rules can name a referent by)."""
    return isinstance(value, (str, int, float)) and "${" not in str(value)


# ---------------------------------------------------------------------------------------
# Evolution hooks. The dataset pipeline grows seed tasks with generic operators; a scenario
# tells them, through these rules, which of its steps can be deepened or widened.


@dataclass(frozen=True)
class LookupRule:
    """A constant argument that a lookup step could reveal instead (in-depth evolution).

    The operator finds a step whose argument ``argument`` holds a constant (no reference),
    asks ``lookup(world, value)`` how to look that value up, inserts the lookup step before
    it and replaces the constant by a reference into the lookup's response. In the
    instruction, the constant is replaced by the noun phrase (or the phrase is appended).

    Attributes:
        argument: Argument name, e.g. ``"contact_id"``.
        tool: The lookup tool, e.g. ``"find_contact"``.
        lookup: ``(world, value) -> (lookup arguments, path of the value in the lookup's
            response, noun phrase)``, e.g. ``({"name": "Maya Patel"}, "contact_id",
            "Maya Patel's contact id")``; ``None`` when this value cannot be looked up.
    """

    argument: str
    tool: str
    lookup: Callable[[World, Any], tuple[dict[str, Any], str, str] | None]


@dataclass(frozen=True)
class FollowUpRule:
    """A step that can be appended after a step of ``after_tool`` (in-depth evolution).

    Attributes:
        after_tool: The tool of the step to follow, e.g. ``"book_flight"``.
        follow_up: ``(world, rng, index, followed) -> (step, sentence[, fact]) | None`` where
            ``index`` is the followed step's index, so the new step's arguments reference it
            as ``f"${{s{index}.booking_id}}"``, and ``followed`` its spec, so the sentence can
            name its referent ("the flights from Paris to Rome on 2025-06-14", never "those
            flights"). ``sentence`` is appended to the instruction. ``fact`` is the path, in
            the new step's response, of the value the sentence asks for (``"condition"``):
            a read must ask for one (its information is otherwise used by nothing); a write
            asks for none (``None`` or a 2-tuple), since making it is the outcome. A rule
            returns ``None`` when it does not apply (it cannot name its referent, say).
    """

    after_tool: str
    follow_up: Callable[..., tuple[Any, ...]]


@dataclass(frozen=True)
class SideStepRule:
    """An independent step that can be added to any task of the scenario (in-breadth).

    Attributes:
        name: Identifies the rule in dataset metadata.
        side_step: ``(world, rng) -> (step, sentence[, fact])``; the step references
            nothing. ``fact`` as for :class:`FollowUpRule`: a read's sentence asks for the
            value at that path of its response ("Also check the weather in Rome on
            2025-06-14 and tell me the forecast condition" with ``"condition"``).
    """

    name: str
    side_step: Callable[..., tuple[Any, ...]]


@dataclass(frozen=True)
class Scenario:
    """One tool category: tools, world generator and task templates.

    Attributes:
        name: Short identifier (the module name), e.g. ``"travel"``.
        category: The paper's category name, e.g. ``"Travel Planning"``.
        description: One sentence for docs and the model's system prompt.
        make_world: ``rng -> world``.
        tools: The scenario's tools; names must be unique across all scenarios.
        templates: Template name -> template function.
        lookups: In-depth evolution: constant arguments a lookup step can reveal.
        follow_ups: In-depth evolution: steps that can be appended after a step.
        side_steps: In-breadth evolution: independent steps that can be added.
    """

    name: str
    category: str
    description: str
    make_world: Callable[[np.random.Generator], World]
    tools: tuple[Tool, ...]
    templates: Mapping[str, TaskTemplate] = field(default_factory=dict)
    lookups: tuple[LookupRule, ...] = ()
    follow_ups: tuple[FollowUpRule, ...] = ()
    side_steps: tuple[SideStepRule, ...] = ()

    def tool(self, name: str) -> Tool:
        for candidate in self.tools:
            if candidate.name == name:
                return candidate
        raise KeyError(f"scenario {self.name!r} has no tool {name!r}")

    def world(self, world_seed: int) -> World:
        """The world of ``world_seed`` (the same seed always gives the same world)."""
        return self.make_world(np.random.default_rng(world_seed))


def stable_id(prefix: str, *parts: Any, digits: int = 6) -> str:
    """An id that depends only on ``parts`` (never on call order or the process).

    >>> stable_id("BK", "FL123", "Ada Lovelace")
    'BK-00FA16'
    >>> stable_id("MSG", "FL123", "Ada Lovelace", digits=8)
    'MSG-00FA1611'
    """
    payload = json.dumps(parts, sort_keys=True, default=str).encode()
    return f"{prefix}-{hashlib.blake2b(payload, digest_size=8).hexdigest()[:digits].upper()}"


def world_digest(seed: int, *parts: object, size: int = 32) -> bytes:
    """Pseudo-random bytes that depend only on ``seed`` and ``parts``.

    Scenario worlds derive their bulky content (schedules, inboxes, file trees) from it on
    demand, so a world is a seed and a few small tables, and the same question always gets
    the same answer, whatever was asked before.
    """
    key = "|".join([str(seed), *map(str, parts)]).encode()
    return hashlib.blake2b(key, digest_size=size).digest()


class TemplateError(RuntimeError):
    """A task template produced a gold trajectory that does not run."""


def build_task(
    scenario: Scenario,
    template_name: str,
    world_seed: int,
    rng: np.random.Generator,
    *,
    world: World | None = None,
) -> Task:
    """Build one task: run the template, execute its gold calls, freeze the result.

    Args:
        scenario: The scenario.
        template_name: A key of ``scenario.templates``.
        world_seed: Seed of the world (``scenario.world(world_seed)``).
        rng: Draws the template's choices (which flight, which contact...).
        world: The world of ``world_seed`` when the caller already built it (a cache the
            template reads; the gold calls always run on a fresh world).

    Raises:
        TemplateError: A gold call fails or a reference cannot be resolved: the template is
            wrong, not the agent.
    """
    if world is None:
        world = scenario.world(world_seed)
    spec = scenario.templates[template_name](world, rng)
    return build_task_from_spec(scenario, spec, world_seed, world=world, template=template_name)


def build_task_from_spec(
    scenario: Scenario,
    spec: TaskSpec,
    world_seed: int,
    *,
    world: World | None = None,
    template: str = "custom",
    metadata: Mapping[str, Any] | None = None,
) -> Task:
    """Execute a :class:`TaskSpec`'s gold calls on the world of ``world_seed`` and freeze it.

    :func:`build_task` runs a template and calls this; the dataset pipeline calls it on
    evolved specs. The task id hashes the world seed, the instruction and the gold calls, so
    two different tasks never share an id by accident.

    Raises:
        TemplateError: A gold call fails, a reference cannot be resolved, or a step depends
            on a later one.
    """
    # The gold is what the gold calls do, in gold order, on a fresh world: never on a world
    # a template or an earlier task has already written to.
    world = scenario.world(world_seed)
    label = f"{scenario.name}/{template}"
    responses: list[Mapping[str, Any] | None] = []
    steps: list[Step] = []
    for index, step_spec in enumerate(spec.steps):
        parents = referenced_steps(step_spec.arguments) | set(step_spec.after)
        if any(parent >= index or parent < 0 for parent in parents):
            raise TemplateError(
                f"{label} step {index} depends on {sorted(parents)}: "
                "a step may only depend on earlier steps"
            )
        try:
            arguments = resolve(step_spec.arguments, responses)
            tool = scenario.tool(step_spec.tool)
            arguments = tool.validate_arguments(arguments)
            response, _ = tool.run(world, arguments)
        except (ToolError, LookupError) as error:
            raise TemplateError(
                f"{label} (world {world_seed}) step {index} {step_spec.tool}: {error}"
            ) from error
        responses.append(response)
        steps.append(
            Step(
                tool=step_spec.tool,
                arguments=step_spec.arguments,
                depends_on=tuple(sorted(parents)),
                expected_arguments=arguments,
                expected_response=response,
                latency=tool.latency,
                writes=tool.writes,
            )
        )
    if not steps:
        raise TemplateError(f"{label}: a task needs at least one step")
    expected_answer = None
    facts: tuple[Fact, ...] = ()
    if spec.answer is not None:
        try:
            expected_answer = resolve(spec.answer, responses)
            facts = facts_from_answer(
                spec.answer,
                responses,
                spec.instruction,
                alternatives=spec.options,
                arguments=[step.expected_arguments for step in steps],
                templates=[step.arguments for step in steps],
            )
        except LookupError as error:
            raise TemplateError(f"{label} answer: {error}") from error
    task_key = json.dumps(
        [world_seed, spec.instruction, [[step.tool, step.expected_arguments] for step in steps]],
        sort_keys=True,
        default=str,
    )
    digest = hashlib.blake2b(task_key.encode(), digest_size=6).hexdigest()
    return Task(
        task_id=f"{label}/{digest}",
        scenario=scenario.name,
        instruction=spec.instruction,
        steps=tuple(steps),
        answer=spec.answer,
        expected_answer=expected_answer,
        world_seed=world_seed,
        metadata={"template": template, **(metadata or {})},
        facts=facts,
    )
