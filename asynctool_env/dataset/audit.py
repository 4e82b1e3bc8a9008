"""The knowability audit: can a careful model know everything the gold expects of it?

A benchmark item is only fair when a model that reads the instruction, the tool schemas and
the responses it receives can produce the gold behaviour. The build runs this audit on every
task and drops those that fail; ``asynctool data audit`` runs it on a file, and the dataset
card reports its counts (zero for the shipped file, checked in CI).

========================= =================================================================
finding                    what it means
========================= =================================================================
``unknowable_argument``    a gold argument value stands nowhere the model can learn it: not
                           in the instruction, not in the tool's schema, not its default,
                           not taken from a response of a step the call depends on
``unjustified_edge``       a dependency that carries nothing: every value the step takes
                           from its parent is already in the instruction (the model need not
                           wait), or an explicit order on a step that is not a write
``unused_read``            a read whose information nothing uses: no later step takes a
                           value from it and the answer asks for none of it (the instruction
                           asks for work that is never graded, or the read is a repeat)
``repeated_read``          a read that repeats another read of the task (same tool, same
                           answer): looking the same car up twice is not work to grade
``unread_fact``            a fact of the answer that no step's response holds
``gold_answer_fails``      the gold answer, as text, does not pass its own facts
``pasted_answer_passes``   an answer pasting every response of the task passes (the fact
                           grading could not tell a dump from an answer)
``gold_replay_differs``    the gold calls, played in gold order on a fresh world, do not
                           give the stored gold responses (worlds are stateful:
                           :mod:`asynctool_env.core.state`)
``unordered_conflict``     two steps no dependency orders touch one object of the world, one
                           writing it: the gold would depend on the order a careful agent
                           picks
``tasks_conflict``         (instances) two tasks sharing a world touch one object, one
                           writing it: their interleaving would change responses or the
                           final state
========================= =================================================================

Values count as stated in the instruction when they appear in it with case, spacing and
quotes ignored; numbers when the instruction writes the same number. Booleans are not
audited (a flag's wording cannot be matched to its value).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from asynctool_env.core.effects import play_gold, task_conflicts, unordered_conflicts
from asynctool_env.core.facts import (
    context_values,
    extract_numbers,
    grade_answer,
    normalize_text,
)
from asynctool_env.core.references import _REFERENCE, referenced_steps, resolved_references
from asynctool_env.core.resolver import Knowledge, same_response, task_facts
from asynctool_env.core.task import Instance, Task
from asynctool_env.core.tools import Tool

FINDINGS = (
    "unknowable_argument",
    "unjustified_edge",
    "unused_read",
    "repeated_read",
    "unread_fact",
    "gold_answer_fails",
    "pasted_answer_passes",
    "gold_replay_differs",
    "unordered_conflict",
    "tasks_conflict",
)


@dataclass(frozen=True)
class Finding:
    """One problem of one task."""

    kind: str
    task_id: str
    detail: str


@dataclass
class AuditReport:
    """Findings over a set of tasks."""

    tasks: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(finding.kind for finding in self.findings)
        return {kind: counted.get(kind, 0) for kind in FINDINGS}

    @property
    def clean(self) -> bool:
        return not self.findings


def _tools() -> Mapping[str, Tool]:
    from asynctool_env.scenarios import TOOLS

    return TOOLS


def _fresh_world(scenario: str, world_seed: int) -> Any:
    from asynctool_env.scenarios import SCENARIOS

    return SCENARIOS[scenario].world(world_seed)


def state_findings(task: Task, tools: Mapping[str, Tool] | None = None) -> list[Finding]:
    """The stateful-world findings of one task: its gold replayed in gold order on a fresh
    world gives the stored responses, and its unordered steps commute."""
    tools = tools if tools is not None else _tools()
    findings: list[Finding] = []
    play = play_gold([task], tools, _fresh_world)
    for index, step in enumerate(task.steps):
        if play.responses[0][index] != dict(step.expected_response):
            findings.append(
                Finding(
                    "gold_replay_differs",
                    task.task_id,
                    f"step {index} {step.tool} answers otherwise when replayed in gold order",
                )
            )
    for earlier, later, key in unordered_conflicts(task, play, 0):
        findings.append(
            Finding(
                "unordered_conflict",
                task.task_id,
                f"steps {earlier} and {later} both touch {key!r} and nothing orders them",
            )
        )
    return findings


def instance_findings(instance: Instance, tools: Mapping[str, Tool] | None = None) -> list[Finding]:
    """Findings of an instance as a whole: tasks sharing a world must commute."""
    tools = tools if tools is not None else _tools()
    play = play_gold(instance.tasks, tools, _fresh_world)
    return [
        Finding(
            "tasks_conflict",
            instance.instance_id,
            f"tasks {instance.tasks[first].task_id} and {instance.tasks[second].task_id} "
            f"both touch {key!r}",
        )
        for first, second, key in task_conflicts(instance.tasks, play)
    ]


def _stated(value: Any, text: str, numbers: list[float]) -> bool:
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, (int, float)):
        return any(abs(float(value) - number) < 1e-9 for number in numbers)
    wanted = normalize_text(str(value))
    if not wanted:
        return True
    return re.search(r"(?<!\w)" + re.escape(wanted) + r"(?!\w)", text) is not None


def _constant_leaves(value: Any) -> list[Any]:
    """Constant parts of an argument template (references removed)."""
    if isinstance(value, str):
        if "${" not in value:
            return [value]
        return [piece for piece in _REFERENCE.sub("\x00", value).split("\x00") if piece]
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in _constant_leaves(item)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _constant_leaves(item)]
    return [value]


def _referenced_values(value: Any, responses: list[Mapping[str, Any]], parent: int) -> list[Any]:
    return [item for step, item in resolved_references(value, responses) if step == parent]


def audit_task(task: Task, tools: Mapping[str, Tool] | None = None) -> list[Finding]:
    """Every finding of one task (see the module docstring)."""
    tools = tools if tools is not None else _tools()
    findings: list[Finding] = []
    instruction = normalize_text(task.instruction)
    numbers = extract_numbers(task.instruction)
    responses = [step.expected_response for step in task.steps]
    consumed: set[int] = set()
    for index, step in enumerate(task.steps):
        tool = tools[step.tool]
        schema = normalize_text(json.dumps(tool.openai_schema()))
        schema_numbers = extract_numbers(json.dumps(tool.openai_schema()))
        defaults = {
            name: info.default
            for name, info in tool.arguments_model.model_fields.items()
            if not info.is_required()
        }
        for name, value in step.arguments.items():
            if name in defaults and defaults[name] == value:
                continue
            for leaf in _constant_leaves(value):
                if isinstance(leaf, str) and len(leaf.strip()) < 3 and "${" in str(value):
                    continue  # punctuation between references ("${a}, ${b}")
                if isinstance(leaf, str) and not leaf.strip() and value != leaf:
                    continue
                if _stated(leaf, instruction, numbers):
                    continue
                if not isinstance(leaf, str) and _stated(leaf, schema, schema_numbers):
                    continue
                if isinstance(leaf, str) and normalize_text(leaf) in schema and len(leaf) < 24:
                    continue
                findings.append(
                    Finding(
                        "unknowable_argument",
                        task.task_id,
                        f"step {index} {step.tool}: {name}={leaf!r} is stated nowhere",
                    )
                )
        value_parents = referenced_steps(step.arguments)
        consumed |= value_parents | set(step.depends_on)
        for parent in step.depends_on:
            if parent not in value_parents:
                if not tool.writes:
                    findings.append(
                        Finding(
                            "unjustified_edge",
                            task.task_id,
                            f"step {index} {step.tool} waits for step {parent} but is a read "
                            "that takes nothing from it",
                        )
                    )
                continue
            carried = _referenced_values(step.arguments, responses, parent)
            if carried and all(_stated(item, instruction, numbers) for item in carried):
                findings.append(
                    Finding(
                        "unjustified_edge",
                        task.task_id,
                        f"step {index} {step.tool} waits for step {parent}, but what it takes "
                        f"from it ({carried!r}) is in the instruction",
                    )
                )
    facts = task_facts(task)
    computed = any(fact.source is None for fact in facts)
    for fact in facts:
        if fact.source is not None:
            consumed |= referenced_steps(fact.source)
    if task.answer is not None:
        consumed |= referenced_steps(task.answer)
    if not computed:
        for index, step in enumerate(task.steps):
            if index not in consumed and not tools[step.tool].writes:
                findings.append(
                    Finding(
                        "unused_read",
                        task.task_id,
                        f"step {index} {step.tool}: nothing uses its response",
                    )
                )
    delivered = Knowledge()
    for response in responses:
        delivered.add(response)
    for index, step in enumerate(task.steps):
        if tools[step.tool].writes:
            continue
        for other in range(index):
            earlier = task.steps[other]
            if earlier.tool == step.tool and same_response(
                step.expected_response,
                step.expected_arguments,
                earlier.expected_response,
                earlier.expected_arguments,
            ):
                findings.append(
                    Finding(
                        "repeated_read",
                        task.task_id,
                        f"step {index} {step.tool} answers what step {other} already answered",
                    )
                )
                break
    for fact in facts:
        if fact.source is None:
            continue
        if not delivered.knows(fact.value):
            findings.append(Finding("unread_fact", task.task_id, f"{fact.label}={fact.value!r}"))
    if facts and task.expected_answer is not None:
        context = context_values(responses, task.instruction)
        grade = grade_answer(
            str(task.expected_answer), facts, context, responses, instruction=task.instruction
        )
        if not grade.correct:
            findings.append(Finding("gold_answer_fails", task.task_id, "; ".join(grade.reasons)))
        pasted = " ".join(json.dumps(r, ensure_ascii=False) for r in responses)
        if grade_answer(pasted, facts, context, responses, instruction=task.instruction).correct:
            findings.append(
                Finding(
                    "pasted_answer_passes",
                    task.task_id,
                    f"a dump of the responses ({len(pasted)} characters) passes",
                )
            )
    findings.extend(state_findings(task, tools))
    return findings


def audit_tasks(tasks: Iterable[Task]) -> AuditReport:
    """Audit distinct tasks (by id)."""
    report = AuditReport()
    tools = _tools()
    seen: set[str] = set()
    for task in tasks:
        if task.task_id in seen:
            continue
        seen.add(task.task_id)
        report.tasks += 1
        report.findings.extend(audit_task(task, tools))
    return report


def audit_instances(instances: Iterable[Instance]) -> AuditReport:
    """Audit every distinct task of ``instances``, and every instance as a whole."""
    instances = list(instances)
    report = audit_tasks(task for instance in instances for task in instance.tasks)
    tools = _tools()
    for instance in instances:
        report.findings.extend(instance_findings(instance, tools))
    return report
