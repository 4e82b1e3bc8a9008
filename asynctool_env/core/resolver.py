"""The resolver: one place that decides what an agent's call is, and whether a task is done.

Numeric agents (the Gymnasium and multi-agent envs) name a gold step and the simulator fills
in its arguments, so what they call is never in doubt. Agents that write their calls (LLMs
through the chat interface, a person through ``asynctool play``) need a judge, and this is
it: every interface that takes written calls goes through :class:`CallResolver`.

What a call is
--------------
A written call (tool name and schema-validated arguments) is resolved against the gold
steps of every task:

1. **Match by effect.** The call *serves* a gold step of the same tool when its canonical
   arguments equal the step's (each tool declares how its arguments canonicalise:
   :mod:`asynctool_env.core.canonical`), or, for a **read** tool, when the backend answers it
   with the step's gold response (fields that only echo an argument aside) or with a
   response that holds everything the task uses of the gold response. So
   ``get_stock_quote(symbol="jpm")``, ``find_data_document("transactions_north")`` (the
   extension left out, as the tool allows), ``get_user_posts(limit=1)`` for the newest post
   and ``publish_at="2025-06-15T12:00"`` all count.
2. **Premature by information, not by gold identity.** A call is a *dependency violation*
   only when it uses a value (an id, a number) that the gold step takes from a response and
   that no response delivered to the agent yet contains (nor the instruction, nor a tool
   schema), or when it comes before a write the task says it must follow. Once the agent
   holds the value, by any equivalent call or from another task's response, the step is
   callable: the same id learnt from ``find_vehicle`` instead of ``authenticate_vehicle``
   is the same id. A premature call is not run (its response is an error), and the error
   never reveals a value.
3. Among several steps a call serves (two tasks on one world may share a call), the most
   useful wins: an open task's step not called yet (correct), then one that would be early
   (violation), then one already pending or done (redundant); lowest task first.
4. A call that serves no step is *unmatched*: the backend answers it on the task's world.
   An unmatched **write** that succeeds changed something no task asked for: it is a
   *wrong write*, charged to the open task(s) of the tool's scenario whose gold calls share
   the most argument values with it (every open task of that scenario when none shares
   any).

When a task is right
--------------------
:meth:`CallResolver.judge_answer` grades by outcome and by information (BFCL's and tau2's
lesson: check the state and the facts, not the spelling):

* every gold **write** of the task was made, by effect, after its inputs arrived, and its
  confirmation has arrived (an answer before that is *premature*);
* no wrong write was charged to the task;
* the answer states every required fact (:mod:`asynctool_env.core.facts`), each one already
  delivered to the agent when the answer was given (a value stated before it arrived was
  guessed, not learnt);
* an answer the template computed from responses (the warmer of two cities) needs every
  gold step of the task done, since those responses are its inputs;
* a task that asks for no fact and makes no write (rare) needs all its gold steps done.

Reads are means to information. A read is required exactly when its information is needed:
by a write that uses its values (that write is only correct once they arrived) or by a fact
of the answer. A read whose information the agent already holds is not required. Step
precision, recall and F1 keep the paper's meaning (calls matched to gold steps) as
diagnostics; they do not decide success.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asynctool_env.core.canonical import canonical_key
from asynctool_env.core.facts import (
    Fact,
    context_values,
    extract_numbers,
    grade_answer,
    normalize_text,
)
from asynctool_env.core.references import referenced_steps, resolved_references
from asynctool_env.core.simulator import (
    CallEvent,
    CallKind,
    DeliveryEvent,
    PendingCall,
    Simulator,
    StepStatus,
    TaskStatus,
)
from asynctool_env.core.task import Task
from asynctool_env.core.tools import Tool, ToolError

#: Version of the grading rules; result files carry it (results of other versions are not
#: comparable).
GRADER_VERSION = "2"

World = Any


def same_response(
    response: Mapping[str, Any],
    arguments: Mapping[str, Any],
    gold_response: Mapping[str, Any],
    gold_arguments: Mapping[str, Any],
) -> bool:
    """Whether two responses say the same, ignoring top-level fields that only echo one of
    the calls' own string arguments (``{"query": "Meeting Notes"}`` vs ``"meeting notes"``).
    """
    if "error" in response or "error" in gold_response:
        return False
    echoes = {
        normalize_text(value)
        for value in [*arguments.values(), *gold_arguments.values()]
        if isinstance(value, str)
    }

    def kept(data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            key: value
            for key, value in data.items()
            if not (isinstance(value, str) and normalize_text(value) in echoes)
        }

    return kept(response) == kept(gold_response)


class Knowledge:
    """Every value the agent has been told: instructions, tool schemas, delivered responses.

    ``knows(value)`` is what "the agent had this information" means: a string is known when
    it stands in something delivered (case and spacing ignored; short strings must be a
    whole delivered value, longer ones may sit inside a delivered text), a number when it
    was delivered as a number or written in a delivered text.
    """

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._numbers: set[float] = set()
        self._blob: list[str] = []
        for text in texts:
            self.add(text)

    def add(self, value: Any) -> None:
        """Learn ``value`` (any JSON value; containers are learnt item by item)."""
        if isinstance(value, Mapping):
            for key, item in value.items():
                self.add(str(key))
                self.add(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                self.add(item)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, (int, float)):
            if math.isfinite(value):
                self._numbers.add(round(float(value), 9))
        else:
            text = normalize_text(str(value))
            self._values.add(text)
            self._blob.append(text)
            for number in extract_numbers(text):  # read as answers are (facts.py)
                self._numbers.add(round(number, 9))

    def knows(self, value: Any) -> bool:
        if isinstance(value, Mapping):
            return all(self.knows(item) for item in value.values())
        if isinstance(value, (list, tuple)):
            return all(self.knows(item) for item in value)
        if isinstance(value, bool) or value is None:
            return True
        if isinstance(value, (int, float)):
            return round(float(value), 9) in self._numbers
        text = normalize_text(str(value))
        if not text or text in self._values:
            return True
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return round(float(text), 9) in self._numbers
        return len(text) >= 4 and any(text in blob for blob in self._blob)


@dataclass(frozen=True)
class Resolution:
    """What a written call is (see the module docstring).

    Attributes:
        kind: Correct, violation, redundant or unmatched.
        task: The task of the step it serves (-1 when unmatched).
        step: The step it serves (-1 when unmatched).
        response: What the agent receives when the call is delivered.
        missing: For a violation: why (the values used before they arrived).
        wrong_write_tasks: For an unmatched write that succeeded: the tasks charged.
    """

    kind: CallKind
    task: int
    step: int
    response: Mapping[str, Any]
    missing: tuple[str, ...] = ()
    wrong_write_tasks: tuple[int, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The judgement of one task's answer."""

    correct: bool
    premature: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class _GoldStep:
    task: int
    step: int
    key: str  # canonical arguments
    needed: tuple[Any, ...]  # values the gold takes from responses
    order_parents: tuple[int, ...]  # explicit "after" parents (no value flows)
    provides: tuple[Any, ...]  # what the task uses of this step's response (later steps, facts)


class CallResolver:
    """Resolves written calls and judges answers for one episode of ``simulator``.

    Args:
        simulator: The episode (its instance, step states and trace).
        tools: Tool name -> :class:`~asynctool_env.core.tools.Tool` (the scenario tools
            offered to the agent).
        world_of: Task index -> the world its backends run on.
        texts: What the agent was told up front (the prompt, the tool schemas): values in
            them are known from the start.
        hold_deliveries: The agent reads responses itself (a chat env's ``pull`` mode): a
            delivered response is *held* until :meth:`read` hands it over, and only then
            are its values known and its step counted as arrived for the answer's judge.
    """

    def __init__(
        self,
        simulator: Simulator,
        tools: Mapping[str, Tool],
        world_of: Callable[[int], World],
        texts: Iterable[str] = (),
        *,
        hold_deliveries: bool = False,
    ) -> None:
        self.simulator = simulator
        self.hold_deliveries = hold_deliveries
        self._held: list[DeliveryEvent] = []
        self._unread_steps: set[tuple[int, int]] = set()
        self.tools = tools
        self.world_of = world_of
        self.knowledge = Knowledge(texts)
        for task in simulator.tasks:
            self.knowledge.add(task.instruction)
        self._trace_seen = 0
        self._violation_calls: set[int] = set()
        self.wrong_writes: list[list[str]] = [[] for _ in simulator.tasks]
        self._gold: dict[str, list[_GoldStep]] = {}
        for task_index, task in enumerate(simulator.tasks):
            responses = [step.expected_response for step in task.steps]
            used = _used_values(task)
            for step_index, step in enumerate(task.steps):
                tool = tools.get(step.tool)
                canonical = (
                    tool.canonical_arguments(step.expected_arguments)
                    if tool is not None
                    else dict(step.expected_arguments)
                )
                value_parents = referenced_steps(step.arguments)
                self._gold.setdefault(step.tool, []).append(
                    _GoldStep(
                        task_index,
                        step_index,
                        canonical_key(canonical),
                        tuple(_needed_values(step.arguments, responses)),
                        tuple(p for p in step.depends_on if p not in value_parents),
                        tuple(used[step_index]),
                    )
                )

    # -- information ---------------------------------------------------------------------

    def sync(self) -> None:
        """Learn the responses delivered since the last call (violations' errors aside:
        they are the env's refusals, not information)."""
        trace = self.simulator.trace
        for event in trace[self._trace_seen :]:
            if isinstance(event, CallEvent) and event.kind is CallKind.VIOLATION:
                self._violation_calls.add(event.call_id)
            elif isinstance(event, DeliveryEvent):
                if self.hold_deliveries:
                    self._held.append(event)
                    self._unread_steps.add((event.task, event.step))
                elif event.call_id not in self._violation_calls:
                    self.knowledge.add(event.response)
        self._trace_seen = len(trace)

    def read(self) -> list[DeliveryEvent]:
        """Hand over the held deliveries (``hold_deliveries``), oldest first, and learn them.
        Without ``hold_deliveries`` there is never anything held: deliveries are known as
        they arrive."""
        self.sync()
        events, self._held = self._held, []
        for event in events:
            self._unread_steps.discard((event.task, event.step))
            if event.call_id not in self._violation_calls:
                self.knowledge.add(event.response)
        return events

    @property
    def unread(self) -> int:
        """Deliveries held for the agent to read (``hold_deliveries``; otherwise 0)."""
        self.sync()
        return len(self._held)

    def _arrived(self, task: int) -> list[bool]:
        """Per step of ``task``: its response was delivered, and read if deliveries are held."""
        unread = self._unread_steps
        return [
            status == StepStatus.DONE and (task, step) not in unread
            for step, status in enumerate(self.simulator.step_status[task])
        ]

    # -- calls ---------------------------------------------------------------------------

    def run_backend(self, tool: Tool, arguments: Mapping[str, Any], task: int) -> dict[str, Any]:
        """The tool's answer on ``task``'s world (errors as ``{"error": ...}``, never raises)."""
        try:
            return dict(tool.function(self.world_of(task), **arguments))
        except ToolError as error:
            return {"error": str(error)}
        except Exception as error:  # a backend bug must not end the episode
            return {"error": f"the tool failed: {type(error).__name__}"}

    def resolve(self, name: str, arguments: Mapping[str, Any]) -> Resolution:
        """What the call ``name(**arguments)`` is (arguments already validated)."""
        self.sync()
        simulator = self.simulator
        tool = self.tools[name]
        key = canonical_key(tool.canonical_arguments(arguments))
        worlds_tasks = [
            index for index, task in enumerate(simulator.tasks) if task.scenario == tool.scenario
        ]
        responses: dict[int, dict[str, Any]] = {}

        def response_on(task_index: int) -> dict[str, Any]:
            if task_index not in responses:
                responses[task_index] = self.run_backend(tool, arguments, task_index)
            return responses[task_index]

        best: tuple[int, _GoldStep, tuple[str, ...]] | None = None
        leaves = _leaves(arguments)
        for gold in self._gold.get(name, ()):
            step = simulator.tasks[gold.task].steps[gold.step]
            serves = gold.key == key or (
                not tool.writes and _informs(response_on(gold.task), arguments, step, gold.provides)
            )
            if not serves:
                continue
            status = simulator.step_status[gold.task][gold.step]
            missing: tuple[str, ...] = ()
            if simulator.task_status[gold.task] != TaskStatus.OPEN:
                rank = 4
            elif status in (StepStatus.PENDING, StepStatus.DONE):
                rank = 3
            else:
                missing = self._missing(gold, leaves)
                rank = 1 if missing else 0
            if best is None or rank < best[0]:
                best = (rank, gold, missing)
            if rank == 0:
                break
        if best is not None:
            rank, gold, missing = best
            step = simulator.tasks[gold.task].steps[gold.step]
            # The agent gets the answer to the call it made: the gold response when the call
            # is the gold call (canonically), else what the backend answered (a read that
            # served the step with other arguments, say limit=1 instead of 5).
            answer = step.expected_response if gold.key == key else response_on(gold.task)
            if rank == 0:
                return Resolution(CallKind.CORRECT, gold.task, gold.step, answer)
            if rank == 1:
                message = (
                    f"dependency violation: {name} was called before "
                    + "; ".join(missing)
                    + ". Wait for the responses it needs, then call it again."
                )
                return Resolution(
                    CallKind.VIOLATION, gold.task, gold.step, {"error": message}, missing
                )
            return Resolution(CallKind.REDUNDANT, gold.task, gold.step, answer)
        task_index = worlds_tasks[0] if worlds_tasks else -1
        if task_index < 0:
            return Resolution(
                CallKind.UNMATCHED, -1, -1, {"error": f"{name} is not available here"}
            )
        response = response_on(task_index)
        charged: tuple[int, ...] = ()
        if tool.writes and "error" not in response:
            charged = self._charge(name, arguments, worlds_tasks)
        return Resolution(CallKind.UNMATCHED, -1, -1, response, (), charged)

    def issue(self, name: str, arguments: Mapping[str, Any]) -> tuple[PendingCall, Resolution]:
        """Resolve the call and make it in the simulator (the caller checks the call cap)."""
        resolution = self.resolve(name, arguments)
        pending = self.simulator.call_resolved(
            resolution.task,
            resolution.step,
            name,
            arguments,
            resolution.kind,
            resolution.response,
        )
        for task in resolution.wrong_write_tasks:
            self.wrong_writes[task].append(f"{name}({_short(arguments)})")
        return pending, resolution

    def _missing(self, gold: _GoldStep, leaves: Sequence[Any]) -> tuple[str, ...]:
        """Why the call would be early: values it uses that the agent was not given, and
        writes the task orders before it that are not done."""
        simulator = self.simulator
        reasons = []
        for value in gold.needed:
            if _uses(leaves, value) and not self.knowledge.knows(value):
                reasons.append("a value it uses had reached you in a response")
                break
        task = simulator.tasks[gold.task]
        arrived = self._arrived(gold.task) if gold.order_parents else []
        for parent in gold.order_parents:
            if not arrived[parent]:
                reasons.append(
                    f"the task's {task.steps[parent].tool} call, which must come first, "
                    "was confirmed"
                )
        return tuple(reasons)

    def _charge(
        self, name: str, arguments: Mapping[str, Any], candidates: Sequence[int]
    ) -> tuple[int, ...]:
        simulator = self.simulator
        open_tasks = [t for t in candidates if simulator.task_status[t] == TaskStatus.OPEN]
        if not open_tasks:
            return ()
        values = {normalize_text(v) for v in _leaves(arguments) if v not in (None, "")}
        overlap: dict[int, int] = {}
        for task_index in open_tasks:
            gold_values = {
                normalize_text(v)
                for step in simulator.tasks[task_index].steps
                for v in _leaves(step.expected_arguments)
            }
            same_tool = any(s.tool == name for s in simulator.tasks[task_index].steps)
            overlap[task_index] = len(values & gold_values) * 2 + same_tool
        top = max(overlap.values())
        return tuple(t for t in open_tasks if overlap[t] == top)

    # -- answers -------------------------------------------------------------------------

    def judge_answer(self, task_index: int, answer: Any) -> Verdict:
        """Judge ``answer`` to task ``task_index`` now (see the module docstring)."""
        self.sync()
        simulator = self.simulator
        task = simulator.tasks[task_index]
        arrived = self._arrived(task_index)
        tools = self.tools
        writes = [
            index
            for index, step in enumerate(task.steps)
            if step.tool in tools and tools[step.tool].writes
        ]
        facts = task_facts(task)
        reasons: list[str] = []
        if writes or facts:
            unconfirmed = [i for i in writes if not arrived[i]]
        else:
            unconfirmed = [i for i, done in enumerate(arrived) if not done]
        for index in unconfirmed:
            reasons.append(
                f"{task.steps[index].tool} was not made (or its confirmation had not arrived)"
            )
        premature = bool(unconfirmed)
        for call in self.wrong_writes[task_index]:
            reasons.append(f"a wrong write was made for this task: {call}")
        responses = [step.expected_response for step in task.steps]
        grade = grade_answer(
            answer,
            facts,
            context_values(responses, task.instruction),
            responses,
        )
        reasons.extend(grade.reasons)
        computed = any(fact.source is None for fact in facts)
        if computed and not all(arrived):
            # A value the template computed from the responses (the warmer city) is only
            # learnt once every response it was computed from has arrived.
            reasons.append("the answer was given before the responses it depends on arrived")
            premature = True
        for check in grade.checks:
            if check.fact.source is None:
                continue
            if check.ok and not self.knowledge.knows(check.fact.value):
                reasons.append(
                    f"the {check.fact.label or 'value'} was stated before any response gave it"
                )
                premature = True
        return Verdict(not reasons, premature, tuple(reasons))

    def answer(self, task_index: int, answer: Any) -> Verdict:
        """Judge ``answer`` and record it in the simulator (closing the task)."""
        verdict = self.judge_answer(task_index, answer)
        self.simulator.answer_task(
            task_index, answer, verdict=(verdict.correct, verdict.premature, verdict.reasons)
        )
        return verdict


def task_facts(task: Task) -> tuple[Fact, ...]:
    """The facts ``task``'s answer must state: stored on the task (v2 files), or derived
    from its answer template (v1)."""
    if task.facts is not None:
        return task.facts
    from asynctool_env.core.facts import facts_from_answer

    responses = [step.expected_response for step in task.steps]
    return facts_from_answer(
        task.answer,
        responses,
        task.instruction,
        arguments=[step.expected_arguments for step in task.steps],
    )


def _informs(
    response: Mapping[str, Any],
    arguments: Mapping[str, Any],
    gold: Any,
    provides: Sequence[Any],
) -> bool:
    """Whether a read's ``response`` does what gold read step ``gold`` does: it answers
    the same, or it holds everything the task uses of the gold response (``get_user_posts``
    with ``limit=1`` gives the newest post as well as the gold's five posts do)."""
    if same_response(response, arguments, gold.expected_response, gold.expected_arguments):
        return True
    # Only values that identify something (an id, a text, a precise number) can stand for
    # the gold response: a small count could be any table's.
    telling = [
        value
        for value in provides
        if (isinstance(value, str) and len(value) >= 4)
        or (isinstance(value, float) and not value.is_integer())
    ]
    if not telling or "error" in response:
        return False
    delivered = Knowledge()
    delivered.add(response)
    return all(delivered.knows(value) for value in provides)


def _used_values(task: Task) -> list[list[Any]]:
    """Per step: the values of its gold response that the task uses (taken by a later
    step's arguments, or stated by a fact of the answer)."""
    responses = [step.expected_response for step in task.steps]
    used: list[list[Any]] = [[] for _ in task.steps]
    templates = [step.arguments for step in task.steps]
    templates += [fact.source for fact in task_facts(task) if fact.source is not None]
    for step, value in resolved_references(templates, responses):
        used[step].extend(leaf for leaf in _leaves(value) if not isinstance(leaf, bool))
    return used


def _needed_values(arguments: Any, responses: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The values a gold call takes from responses (each reference resolved)."""
    found = [
        leaf for _, value in resolved_references(arguments, responses) for leaf in _leaves(value)
    ]
    return [value for value in found if value not in (None, "") and not isinstance(value, bool)]


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _uses(leaves: Sequence[Any], value: Any) -> bool:
    """Whether a call whose argument leaves are ``leaves`` uses ``value``."""
    if isinstance(value, (int, float)):
        for leaf in leaves:
            if isinstance(leaf, (int, float)) and not isinstance(leaf, bool):
                if math.isclose(float(leaf), float(value), abs_tol=1e-9):
                    return True
            elif isinstance(leaf, str) and str(value) in leaf:
                return True
        return False
    wanted = normalize_text(str(value))
    return any(isinstance(leaf, str) and wanted in normalize_text(leaf) for leaf in leaves)


def _short(arguments: Mapping[str, Any], limit: int = 120) -> str:
    text = ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in arguments.items()
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."
