"""The simulator: one episode of asynchronous tool calling over several tasks.

This is the single source of truth that every interface drives: the Gymnasium env (numeric
actions), the chat interface (an LLM's tool calls) and the multi-agent env. It knows nothing
of Gymnasium; it keeps the clock, the calls in flight and the state of every step, and writes
the trace that :mod:`asynctool_env.metrics` scores.

Time model
----------
Time is counted in **rounds**; in each round the agent takes one **turn**. During a turn it
may issue up to ``max_calls_per_turn`` calls (``None``: no limit, i.e. parallel function
calling) and answer any number of tasks; :meth:`Simulator.end_turn` closes the turn. A call
issued in round ``r`` whose latency is ``L`` is delivered at the start of round ``r + 1 + L``,
so ``L = 0`` is a synchronous tool. Responses wait in a heap keyed by ``(due round, call
sequence number)``: delivery is ``O(log P)`` in the number ``P`` of calls in flight, and calls
due in the same round are delivered in the order they were made. With stochastic latency a
later call can be delivered first.

Tool servers and contention
---------------------------
By default every tool serves any number of calls at once. With ``tool_capacity`` a tool is a
server with ``c`` slots shared by every task of the instance: a call that finds all ``c``
slots busy **waits in the tool's queue** (first come, first served) instead of being refused.
A call issued in round ``r`` starts in round ``s = max(r, earliest slot free round)`` and is
delivered at the start of round ``s + 1 + L``; its slot is busy from ``s`` until that
delivery (a call issued in the delivery round can take it). So a queued call behaves as if
it had been issued in round ``s``, except that it used the call slot of round ``r``. Every
call to the tool takes a slot, correct or not. ``s - r`` is the call's ``queued_rounds``
(in its :class:`CallEvent`, summed by the metrics); :meth:`Simulator.tool_wait` tells how
long a call issued now would queue. Queueing is legal, so it never changes what the action
mask allows; it only makes a call answer later.

A turn that ends without a call while some step was ready to be called is an **idle** round
(with ``wait_jumps_to_next_delivery`` every round skipped by the jump is idle too).

``rounds`` (see :attr:`Simulator.rounds`) is the round index of the last answer plus one: a
single one-step task with ``L = 1`` takes 3 rounds (call in round 0, response at the start of
round 2, answer in round 2). The sequential schedule, one call at a time and each response
awaited, takes ``sum(1 + L) + 1`` rounds over all gold steps.

Steps
-----
Each gold step is in one :class:`StepStatus`. ``BLOCKED`` steps wait for a parent's response;
``READY`` steps can be called correctly; a correct call makes the step ``PENDING`` and its
delivery makes it ``DONE``, which may make children ``READY``. Calling a blocked step is a
**dependency violation**: the call goes out with its references unresolved, gets an error
response when due, and the step shows ``FAILED`` until its inputs arrive, when it becomes
``READY`` again. Calling a pending or done step again is a **redundant** call. Neither counts
as a gold match. A redundant call of a **write** step makes the write a second time (a second
booking, a second message: worlds are stateful, :mod:`asynctool_env.core.state`), so the
task fails when answered (``repeated_writes``).

Answers are judged when they are given; a judge of written calls may take a task's credit
back when the episode ends (:meth:`Simulator.revoke`: its work was spoiled after the answer)
or record changes no task owns (:meth:`Simulator.record_collateral`). Both are trace events
the metrics read.

Realized latencies of the gold calls are drawn once, when the episode starts, from the
episode's generator, so the sequential and optimal schedules of an episode are well defined
whatever the agent does; calls that match no gold step draw from a second stream.

Invariants (checked by the property tests): every call is delivered exactly once and never
before its due round; the round never goes back; a step is ``DONE`` only after the delivery
of a correct call for it.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any

import numpy as np

from asynctool_env.core.latency import LatencyProfile, make_latency_profile
from asynctool_env.core.references import UnresolvedReferenceError, resolve
from asynctool_env.core.task import Instance, Task


class StepStatus(IntEnum):
    """State of one gold step (the values are the observation codes)."""

    PADDING = 0  # no step here (observation padding only)
    BLOCKED = 1  # a parent's response has not arrived
    READY = 2  # every input has arrived: a call now is correct
    PENDING = 3  # called correctly, response in flight
    DONE = 4  # the response of a correct call arrived
    FAILED = 5  # called too early (error response); becomes READY when its inputs arrive


class TaskStatus(IntEnum):
    """State of one task (the values are the observation codes)."""

    PADDING = 0
    OPEN = 1
    ANSWERED = 2


# Plain ints for the hot paths (enum member access is slow in CPython 3.11).
_BLOCKED, _READY, _PENDING, _DONE, _FAILED = 1, 2, 3, 4, 5
_OPEN = 1


class CallKind(str, Enum):
    """How a call relates to the gold trajectory."""

    CORRECT = "correct"  # matches a READY gold step
    VIOLATION = "violation"  # a gold step whose inputs have not all arrived
    REDUNDANT = "redundant"  # a gold step already pending or done
    UNMATCHED = "unmatched"  # no gold step (wrong arguments, wrong tool): chat path only


class SimulatorError(RuntimeError):
    """The driver broke the protocol (a call past the cap, an answer to a closed task)."""


class CallLimitError(SimulatorError):
    """A call was made after the turn's ``max_calls_per_turn`` was used up."""


# ---------------------------------------------------------------------------------------
# Trace events. One list per episode, in the order things happened.


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A tool call went out. ``task``/``step`` are -1 for an unmatched call."""

    round: int
    call_id: int
    task: int
    step: int
    tool: str
    arguments: Mapping[str, Any]
    kind: CallKind
    due_round: int
    queued_rounds: int = 0


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    """A response arrived (at the start of ``round``)."""

    round: int
    call_id: int
    task: int
    step: int
    response: Mapping[str, Any]
    is_error: bool


@dataclass(frozen=True, slots=True)
class AnswerEvent:
    """A task was answered (and closed)."""

    round: int
    task: int
    answer: Any
    correct: bool
    premature: bool
    #: Why the answer was judged wrong (written calls only; empty when right).
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TurnEndEvent:
    """A turn ended; the clock moved from ``round`` to ``next_round``."""

    round: int
    calls: int
    idle_rounds: int
    next_round: int
    in_flight: int


@dataclass(frozen=True, slots=True)
class InvalidEvent:
    """Something the agent did that the simulator refused (nothing else changed)."""

    round: int
    reason: str


@dataclass(frozen=True, slots=True)
class RevokeEvent:
    """A task's credit was taken back when the episode ended: after its answer, its work
    was undone, repeated or spoiled (judged on the final state of the world)."""

    round: int
    task: int
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CollateralEvent:
    """Changes to the world that no gold call makes and no task can be told to own: the
    instance is not right (found when the episode ended)."""

    round: int
    changes: tuple[str, ...] = ()


TraceEvent = (
    CallEvent
    | DeliveryEvent
    | AnswerEvent
    | TurnEndEvent
    | InvalidEvent
    | RevokeEvent
    | CollateralEvent
)


@dataclass(frozen=True, slots=True)
class PendingCall:
    """A call in flight."""

    call_id: int
    task: int
    step: int
    tool: str
    kind: CallKind
    issued_round: int
    due_round: int
    response: Mapping[str, Any]
    expected_latency: float
    queued_rounds: int = 0


@dataclass(frozen=True, slots=True)
class AnswerOutcome:
    correct: bool
    premature: bool


_DERIVED = object()


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _normalize_answer(value: Any) -> Any:
    """Canonical form for comparing answers: case and spacing ignored, numbers as numbers.

    ``2``, ``2.0``, ``"2"`` and ``" 2.00 "`` all compare equal; so do ``"NFLX  ord-1"`` and
    ``"nflx ORD-1"``.
    """
    if isinstance(value, bool):
        return str(value).casefold()
    if isinstance(value, (int, float)):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, str):
        text = " ".join(value.split()).casefold()
        if _NUMBER.fullmatch(text):
            return _normalize_answer(float(text))
        return text
    if isinstance(value, (list, tuple)):
        return [_normalize_answer(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _normalize_answer(item) for key, item in value.items()}
    return value


class Simulator:
    """Plays one :class:`~asynctool_env.core.task.Instance`.

    Args:
        instance: The tasks of the episode.
        rng: The episode's generator; latencies are drawn from it at construction.
        latency: A profile name (``"tool"``, ``"fixed"``, ``"sync"``, ``"stochastic"``...)
            or a :class:`~asynctool_env.core.latency.LatencyProfile`.
        max_calls_per_turn: Calls allowed per turn; ``None`` for no limit.
        wait_jumps_to_next_delivery: A turn without calls moves the clock to the next round
            in which a response is due (instead of one round on).
        tool_latencies: Tool name -> declared latency, for tools no step declares
            (``Step.latency``): the tools of calls that match no gold step, or hand-made
            steps without a latency.
        tool_capacity: Calls a tool serves at once (see *Tool servers and contention* in the
            module docstring): ``None`` for no limit, an int for every tool, or a mapping
            tool name -> capacity (tools not named have no limit).

    Attributes:
        round: The current round (starts at 0, never goes back).
        step_status: ``step_status[task][step]``, a :class:`StepStatus` value.
        responses: Delivered responses of correct calls, ``None`` until delivered.
        step_latency: Realized latency of every gold step's correct call.
        status_changes: ``(task, step, new_status)`` appended on every change; drivers that
            mirror the state in arrays (the Gymnasium env) read and clear it.
        trace: Every event of the episode.
    """

    def __init__(
        self,
        instance: Instance,
        rng: np.random.Generator,
        *,
        latency: str | LatencyProfile = "tool",
        max_calls_per_turn: int | None = 1,
        wait_jumps_to_next_delivery: bool = False,
        tool_latencies: Mapping[str, int] | None = None,
        tool_capacity: int | Mapping[str, int] | None = None,
    ) -> None:
        if max_calls_per_turn is not None and (
            not isinstance(max_calls_per_turn, (int, np.integer)) or max_calls_per_turn < 1
        ):
            raise ValueError(
                f"max_calls_per_turn must be a whole number >= 1 or None, "
                f"got {max_calls_per_turn!r}"
            )
        self.instance = instance
        self.tasks: tuple[Task, ...] = instance.tasks
        self.profile = make_latency_profile(latency)
        self.max_calls_per_turn = max_calls_per_turn
        self.wait_jumps_to_next_delivery = wait_jumps_to_next_delivery
        self._declared = _declared_latencies(instance, normalize_tool_latencies(tool_latencies))
        self.tool_capacity = normalize_tool_capacity(tool_capacity)
        # Per limited tool: a min-heap of the rounds at which each of its slots is free.
        self._slots: dict[str, list[int]] = {}

        # Latencies of gold calls first (a property of instance + seed), then a separate
        # stream for every other call so that agent behaviour never shifts the gold draws.
        self.step_latency: list[list[int]] = []
        self.expected_latency: list[list[float]] = []
        for task in self.tasks:
            realized, expected = [], []
            for step in task.steps:
                distribution = self.profile.distribution(step.tool, self._declared[step.tool])
                realized.append(distribution.sample(rng))
                expected.append(distribution.mean)
            self.step_latency.append(realized)
            self.expected_latency.append(expected)
        # Built on first use: most episodes of the numeric env never make a non-gold call.
        self._extra_seed = int(rng.integers(0, 2**63 - 1))
        self._extra_rng_instance: np.random.Generator | None = None

        self.round = 0
        self.calls_this_turn = 0
        self.status_changes: list[tuple[int, int, int]] = []
        self.trace: list[TraceEvent] = []
        self.step_status: list[list[int]] = []
        self.responses: list[list[Mapping[str, Any] | None]] = []
        self._missing_parents: list[list[int]] = []
        self.ready_count = 0
        for task in self.tasks:
            missing = [len(step.depends_on) for step in task.steps]
            statuses = [_READY if count == 0 else _BLOCKED for count in missing]
            self.ready_count += statuses.count(_READY)
            self._missing_parents.append(missing)
            self.step_status.append(statuses)
            self.responses.append([None] * len(task.steps))
        self.task_status: list[int] = [int(_OPEN)] * len(self.tasks)
        self.task_correct: list[bool] = [False] * len(self.tasks)
        #: Per task: calls of its write steps that were already pending or done (each one a
        #: second write, which fails the task).
        self.repeated_writes: list[int] = [0] * len(self.tasks)
        self.answer_round: list[int | None] = [None] * len(self.tasks)
        self.open_tasks = len(self.tasks)
        self.finish_round: int | None = None

        self._pending: list[tuple[int, int, PendingCall]] = []
        self._next_call_id = 0
        self._last_call_task: int | None = None
        # Running counters (metrics.py recomputes all of them from the trace; the tests
        # check that both agree).
        self.calls = 0
        self.correct_calls = 0
        self.violations = 0
        self.redundant_calls = 0
        self.unmatched_calls = 0
        self.invalid_actions = 0
        self.premature_answers = 0
        self.correct_answers = 0
        self.revoked_answers = 0
        self.collateral_writes = 0
        self.steps_done = 0
        self.idle_rounds = 0
        self.switches = 0
        self.in_flight_rounds = 0
        self.queued_rounds = 0

    # -- queries ---------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Every task has been answered."""
        return self.open_tasks == 0

    @property
    def calls_left(self) -> int | None:
        """Calls still allowed this turn (``None``: no limit)."""
        if self.max_calls_per_turn is None:
            return None
        return self.max_calls_per_turn - self.calls_this_turn

    @property
    def rounds(self) -> int:
        """Rounds used: last answer's round + 1 once finished, else rounds elapsed so far."""
        return self.finish_round + 1 if self.finish_round is not None else self.round

    @property
    def pending_calls(self) -> list[PendingCall]:
        """Calls in flight, in delivery order."""
        return [entry[2] for entry in sorted(self._pending)]

    @property
    def n_pending(self) -> int:
        return len(self._pending)

    @property
    def next_due_round(self) -> int | None:
        return self._pending[0][0] if self._pending else None

    @property
    def sequential_rounds(self) -> int:
        """Rounds of the one-call-at-a-time schedule on this episode's latencies."""
        return sum(1 + latency for task in self.step_latency for latency in task) + 1

    def capacity_of(self, tool: str) -> int | None:
        """How many calls ``tool`` serves at once (``None``: no limit)."""
        return tool_capacity_of(self.tool_capacity, tool)

    def tool_wait(self, tool: str) -> int:
        """Rounds a call to ``tool`` issued now would wait in the tool's queue (0: a slot is
        free or the tool has no limit)."""
        slots = self._slots.get(tool)
        capacity = self.capacity_of(tool)
        if slots is None or capacity is None or len(slots) < capacity:
            return 0  # a slot is free (or has never been used)
        return max(0, slots[0] - self.round)

    def tool_busy(self, tool: str) -> int:
        """Slots of ``tool`` taken now or by queued calls (0 for a tool without limit)."""
        slots = self._slots.get(tool)
        if slots is None:
            return 0
        now = self.round
        return sum(1 for free in slots if free > now)

    def finish_lower_bound(self) -> float:
        """A lower bound on ``rounds`` from here: the longest remaining path.

        Each step not yet called correctly is called no earlier than now and than its
        parents' deliveries, and delivered ``1 + latency`` rounds after its call; calls in
        flight are delivered when due; the episode ends one round after the last delivery
        (and no sooner than one round after now while a task is open). Steps not yet called
        count their *expected* latency, so under stochastic latency this is a bound in
        expectation only. The call cap and tool capacities are ignored (they only delay).
        Once every task is answered it equals :attr:`rounds`. ``O(steps + calls in flight)``.
        """
        if self.finished:
            return float(self.rounds)
        now = self.round
        due_of: dict[tuple[int, int], int] = {
            (call.task, call.step): due
            for due, _, call in self._pending
            if call.kind is CallKind.CORRECT
        }
        latest = float(now)
        for task_index, task in enumerate(self.tasks):
            if self.task_status[task_index] != _OPEN:
                continue
            statuses = self.step_status[task_index]
            expected = self.expected_latency[task_index]
            delivery = [0.0] * len(task.steps)
            for step_index, step in enumerate(task.steps):
                status = statuses[step_index]
                if status == _DONE:
                    delivery[step_index] = float(now)
                elif status == _PENDING:
                    delivery[step_index] = float(due_of[(task_index, step_index)])
                else:
                    start = float(now)
                    for parent in step.depends_on:
                        if delivery[parent] > start:
                            start = delivery[parent]
                    delivery[step_index] = start + 1.0 + expected[step_index]
                if delivery[step_index] > latest:
                    latest = delivery[step_index]
        return latest + 1.0

    def step_is_ready(self, task: int, step: int) -> bool:
        return self.step_status[task][step] == _READY

    def all_steps_done(self, task: int) -> bool:
        return all(status == _DONE for status in self.step_status[task])

    # -- actions ---------------------------------------------------------------------------

    def call_step(self, task: int, step: int) -> PendingCall:
        """Call gold step ``step`` of ``task`` with arguments filled from delivered responses.

        This is how numeric agents call: they pick a step, the simulator fills in the
        arguments. What happens depends on the step's status (see the module docstring).

        Raises:
            CallLimitError: The turn's calls are used up (end the turn first).
            IndexError: No such task or step.
        """
        self._check_call_allowed()
        gold = self.tasks[task].steps[step]
        status = self.step_status[task][step]
        if status == _READY:
            return self._issue(
                task,
                step,
                gold.tool,
                gold.expected_arguments,
                CallKind.CORRECT,
                self.step_latency[task][step],
                gold.expected_response,
            )
        if status in (_PENDING, _DONE):
            if gold.writes:
                self.repeated_writes[task] += 1  # the world sees the write twice
            return self._issue(
                task,
                step,
                gold.tool,
                gold.expected_arguments,
                CallKind.REDUNDANT,
                self._draw_latency(gold.tool),
                gold.expected_response,
            )
        # BLOCKED or FAILED: the inputs are not all there.
        try:
            arguments = resolve(gold.arguments, self.responses[task])
            reason = "its inputs had not all arrived"
        except UnresolvedReferenceError as error:
            arguments = gold.arguments
            reason = str(error)
        response = {
            "error": f"dependency violation: {gold.tool} was called before {reason}",
        }
        return self._issue(
            task,
            step,
            gold.tool,
            arguments,
            CallKind.VIOLATION,
            self._draw_latency(gold.tool),
            response,
        )

    def call_resolved(
        self,
        task: int,
        step: int,
        tool: str,
        arguments: Mapping[str, Any],
        kind: CallKind,
        response: Mapping[str, Any],
    ) -> PendingCall:
        """Make a written call that a judge has already resolved
        (:class:`~asynctool_env.core.resolver.CallResolver`): ``kind`` for gold step
        ``step`` of ``task`` (``-1, -1`` for an unmatched call), answered by ``response``.

        Unlike :meth:`call_step`, a ``CORRECT`` call may serve a step whose gold parents
        have not answered: the judge found that the agent already holds the information.

        Raises:
            CallLimitError: The turn's calls are used up (end the turn first).
        """
        self._check_call_allowed()
        if kind is CallKind.UNMATCHED or task < 0:
            # A call that serves no step: unmatched, or a violation (a guess) of no step.
            kind = CallKind.VIOLATION if kind is CallKind.VIOLATION else CallKind.UNMATCHED
            return self._issue(-1, -1, tool, arguments, kind, self._draw_latency(tool), response)
        latency = (
            self.step_latency[task][step] if kind is CallKind.CORRECT else self._draw_latency(tool)
        )
        return self._issue(task, step, tool, arguments, kind, latency, response)

    def answer_task(
        self,
        task: int,
        answer: Any = _DERIVED,
        *,
        verdict: tuple[bool, bool, tuple[str, ...]] | None = None,
    ) -> AnswerOutcome:
        """Answer ``task`` and close it.

        Args:
            task: Task index.
            answer: The agent's final answer. By default it is derived from the delivered
                responses (numeric agents cannot write text): right exactly when every step
                is done.
            verdict: ``(correct, premature, reasons)`` from a judge of written answers
                (:meth:`~asynctool_env.core.resolver.CallResolver.answer`), which grades
                by outcome and facts; without it, a text answer is compared with the gold
                answer as a whole.

        An answer before every step is done is *premature*: the task fails. Answering does
        not end the turn.

        Raises:
            SimulatorError: The task was already answered.
        """
        if self.task_status[task] != _OPEN:
            raise SimulatorError(f"task {task} was already answered")
        gold = self.tasks[task]
        premature = not self.all_steps_done(task)
        reasons: tuple[str, ...] = ()
        if verdict is not None:
            correct, premature, reasons = verdict
        elif answer is _DERIVED:
            answer = None
            if not premature and gold.answer is not None:
                answer = resolve(gold.answer, self.responses[task])
            correct = not premature and not self.repeated_writes[task]
        else:
            correct = (
                not premature
                and not self.repeated_writes[task]
                and (
                    gold.expected_answer is None
                    or _normalize_answer(answer) == _normalize_answer(gold.expected_answer)
                )
            )
        self.task_status[task] = int(TaskStatus.ANSWERED)
        self.task_correct[task] = correct
        self.correct_answers += bool(correct)
        self.answer_round[task] = self.round
        self.open_tasks -= 1
        if premature:
            self.premature_answers += 1
        if self.open_tasks == 0:
            self.finish_round = self.round
        self.trace.append(AnswerEvent(self.round, task, answer, correct, premature, reasons))
        return AnswerOutcome(correct, premature)

    def revoke(self, task: int, reasons: tuple[str, ...] = ()) -> None:
        """Take back the credit of ``task``, answered right, because its work was spoiled
        after the answer (a judge of written calls finds it when the episode ends:
        :meth:`~asynctool_env.core.resolver.CallResolver.finish`). The reward meter pays
        the credit back on its next reading."""
        if not self.task_correct[task]:
            return
        self.task_correct[task] = False
        self.correct_answers -= 1
        self.revoked_answers += 1
        self.trace.append(RevokeEvent(self.round, task, tuple(reasons)))

    def record_collateral(self, changes: tuple[str, ...]) -> None:
        """Record changes to the world that no task can be told to own (the instance is
        not right)."""
        if not changes:
            return
        self.collateral_writes += len(changes)
        self.trace.append(CollateralEvent(self.round, tuple(changes)))

    def record_invalid(self, reason: str) -> None:
        """Count something the driver refused (a masked action, unparsable output)."""
        self.invalid_actions += 1
        self.trace.append(InvalidEvent(self.round, reason))

    def end_turn(self) -> int:
        """Close the turn, move the clock and deliver the responses now due.

        Returns:
            The number of rounds the clock moved (1, or more with
            ``wait_jumps_to_next_delivery`` and no call this turn).
        """
        advance = 1
        if self.calls_this_turn == 0 and self.wait_jumps_to_next_delivery and self._pending:
            advance = max(1, self._pending[0][0] - self.round)
        idle = advance if self.calls_this_turn == 0 and self.ready_count > 0 else 0
        self.idle_rounds += idle
        in_flight = len(self._pending)
        self.in_flight_rounds += in_flight * advance
        next_round = self.round + advance
        self.trace.append(
            TurnEndEvent(self.round, self.calls_this_turn, idle, next_round, in_flight)
        )
        self.round = next_round
        self.calls_this_turn = 0
        self._deliver_due()
        return advance

    # -- internals -------------------------------------------------------------------------

    def _check_call_allowed(self) -> None:
        cap = self.max_calls_per_turn
        if cap is not None and self.calls_this_turn >= cap:
            raise CallLimitError(
                f"round {self.round}: {cap} call(s) per turn already made; end the turn first"
            )

    def _draw_latency(self, tool: str) -> int:
        declared = self._declared.get(tool, 1)
        if self._extra_rng_instance is None:
            self._extra_rng_instance = np.random.default_rng(self._extra_seed)
        return self.profile.distribution(tool, declared).sample(self._extra_rng_instance)

    def _issue(
        self,
        task: int,
        step: int,
        tool: str,
        arguments: Mapping[str, Any],
        kind: CallKind,
        latency: int,
        response: Mapping[str, Any],
    ) -> PendingCall:
        call_id = self._next_call_id
        self._next_call_id += 1
        start = self.round
        if self.tool_capacity is not None:
            capacity = self.capacity_of(tool)
            if capacity is not None:
                # Slots are made as calls need them (at most ``capacity``): a capacity of
                # 10**8 costs nothing until 10**8 calls are in flight.
                slots = self._slots.setdefault(tool, [])
                if len(slots) < capacity:
                    heapq.heappush(slots, start + 1 + latency)
                else:
                    start = max(start, slots[0])
                    heapq.heapreplace(slots, start + 1 + latency)
        queued = start - self.round
        self.queued_rounds += queued
        due = start + 1 + latency
        expected = (
            self.expected_latency[task][step] if task >= 0 else float(self._declared.get(tool, 1))
        )
        call = PendingCall(
            call_id, task, step, tool, kind, self.round, due, response, expected, queued
        )
        heapq.heappush(self._pending, (due, call_id, call))
        self.calls += 1
        self.calls_this_turn += 1
        if task >= 0:
            if self._last_call_task is not None and self._last_call_task != task:
                self.switches += 1
            self._last_call_task = task
        if kind is CallKind.CORRECT:
            self.correct_calls += 1
            self._set_status(task, step, _PENDING)
        elif kind is CallKind.VIOLATION:
            self.violations += 1
            # A blocked step called early shows FAILED until its inputs arrive; a guess on a
            # ready step (a written call using a value never given) leaves it ready.
            if task >= 0 and self.step_status[task][step] == _BLOCKED:
                self._set_status(task, step, _FAILED)
        elif kind is CallKind.REDUNDANT:
            self.redundant_calls += 1
        else:
            self.unmatched_calls += 1
        self.trace.append(
            CallEvent(self.round, call_id, task, step, tool, arguments, kind, due, queued)
        )
        return call

    def _set_status(self, task: int, step: int, status: int) -> None:
        previous = self.step_status[task][step]
        if previous == _READY:
            self.ready_count -= 1
        if status == _READY:
            self.ready_count += 1
        self.step_status[task][step] = status
        self.status_changes.append((task, step, status))

    def _deliver_due(self) -> None:
        pending = self._pending
        while pending and pending[0][0] <= self.round:
            _, _, call = heapq.heappop(pending)
            self.trace.append(
                DeliveryEvent(
                    self.round,
                    call.call_id,
                    call.task,
                    call.step,
                    call.response,
                    "error" in call.response,
                )
            )
            if call.kind is not CallKind.CORRECT:
                continue
            task, step = call.task, call.step
            self.responses[task][step] = call.response
            self._set_status(task, step, _DONE)
            self.steps_done += 1
            missing = self._missing_parents[task]
            for child in self.tasks[task].children[step]:
                missing[child] -= 1
                if missing[child] == 0 and self.step_status[task][child] in (
                    _BLOCKED,
                    _FAILED,
                ):
                    self._set_status(task, child, _READY)


def tool_capacity_of(capacity: int | Mapping[str, int] | None, tool: str) -> int | None:
    """A normalized ``tool_capacity``'s limit for ``tool`` (``None``: no limit); the one
    rule the simulator, the solver and the batched env read capacities by."""
    if capacity is None or isinstance(capacity, int):
        return capacity
    return capacity.get(tool)


def normalize_tool_capacity(
    tool_capacity: int | Mapping[str, int] | None,
) -> int | dict[str, int] | None:
    """Check a ``tool_capacity`` argument: ``None``, an int >= 1, or a mapping of tool names
    to ints >= 1. Returns ``None``, the int, or a plain dict."""
    if tool_capacity is None:
        return None

    def check(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{where} must be a whole number >= 1, got {value!r}")
        return int(value)

    if isinstance(tool_capacity, Mapping):
        capacities = {}
        for name, value in tool_capacity.items():
            if not isinstance(name, str):
                raise TypeError(f"tool_capacity keys must be tool names, got {name!r}")
            capacities[name] = check(value, f"tool_capacity[{name!r}]")
        return capacities or None
    return check(tool_capacity, "tool_capacity")


def normalize_tool_latencies(tool_latencies: Mapping[str, int] | None) -> dict[str, int] | None:
    """Check a ``tool_latencies`` argument: ``None``, or tool names to whole numbers of
    rounds >= 0. Returns ``None`` or a plain dict.

    Raises:
        TypeError, ValueError: Naming the argument, the tool and the value.
    """
    if tool_latencies is None:
        return None
    if not isinstance(tool_latencies, Mapping):
        raise TypeError(
            f"tool_latencies must be a mapping tool name -> latency, got {tool_latencies!r}"
        )
    latencies = {}
    for name, value in tool_latencies.items():
        if not isinstance(name, str):
            raise TypeError(f"tool_latencies keys must be tool names, got {name!r}")
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(
                f"tool_latencies[{name!r}] must be a whole number of rounds >= 0, got {value!r}"
            )
        latencies[name] = int(value)
    return latencies


def check_capacity_tools(
    capacity: int | Mapping[str, int] | None, instances: Sequence[Instance] | None
) -> None:
    """Refuse a ``tool_capacity`` mapping that names a tool no instance can call (a typo
    would leave that tool without a limit, silently). The tools an env can call: the
    scenarios' (the procedural stream's), or those of its ``instances``.

    Raises:
        ValueError: Naming the unknown tools and where the known ones are.
    """
    if not isinstance(capacity, Mapping):
        return
    from asynctool_env.scenarios import TOOLS

    known = set(TOOLS)
    for instance in instances or ():
        known.update(step.tool for task in instance.tasks for step in task.steps)
    unknown = sorted(name for name in capacity if name not in known)
    if unknown:
        raise ValueError(
            f"tool_capacity names tools no instance calls: {', '.join(map(repr, unknown))} "
            f"(the {len(known)} known tools are the scenarios' and the instances' own; "
            "asynctool_env.scenarios.TOOLS lists the scenarios')"
        )


def _declared_latencies(instance: Instance, extra: Mapping[str, int] | None) -> dict[str, int]:
    """Declared latency of every tool the instance uses: each step's own (``Step.latency``),
    overridden or completed by ``extra`` (``tool_latencies``: tools of calls that match no
    step, hand-made steps without a latency)."""
    declared: dict[str, int] = {}
    for task in instance.tasks:
        for step in task.steps:
            if step.latency is not None:
                declared[step.tool] = step.latency
    declared.update(extra or {})
    for task in instance.tasks:
        for index, step in enumerate(task.steps):
            if step.tool not in declared:
                raise KeyError(
                    f"task {task.task_id!r} step {index} ({step.tool}) has no declared latency: "
                    "set Step.latency (tasks built from a scenario or loaded from a file have "
                    f"it) or pass tool_latencies={{{step.tool!r}: rounds}}"
                )
    return declared
