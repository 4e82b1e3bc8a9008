"""Episode metrics: the one place where a trace becomes numbers.

Every interface (RL env, chat wrapper, multi-agent env) produces the same trace (see
:mod:`asynctool_env.core.simulator`), so every agent is scored by the same code:

=========================== ================================================================
``step_precision``           correct gold calls / all calls made
``step_recall``              gold steps completed / all gold steps
``step_f1``                  harmonic mean of the two (0 when both are 0)
``task_success_rate``        tasks answered right / tasks; a task is right when its work was
                             done (numeric agents: every gold call made, none repeated;
                             written calls: the final state of the world, see
                             :mod:`asynctool_env.core.resolver`) and its answer is right
                             (never when answered early, or spoiled after the answer)
``instance_success``         every task of the instance right and no collateral write (the
                             paper's "Overall")
``rounds``                   last answer's round + 1; rounds elapsed if unfinished
``sequential_rounds``        one call at a time, each response awaited:
                             ``sum(1 + L) + 1`` over the episode's realized gold latencies
``speedup_vs_sequential``    ``sequential_rounds / rounds``; 0 for an unfinished episode
``idle_rounds``/``_ratio``   turns with no call while a step was ready (/ rounds)
``switches``                 consecutive calls that target different tasks
``mean_in_flight``           calls in flight per round, averaged over the rounds played
``dependency_violations``    calls of a step before its inputs arrived
``redundant_calls``          calls of a step already pending or done
``unmatched_calls``          calls matching no gold step (chat path)
``invalid_actions``          refused actions (masked actions, unparsable output)
``premature_answers``        tasks answered before all their steps were done
``task_completion_rounds``   per task, the round it was answered (``None`` if never)
``optimal_rounds``           fewest rounds any schedule takes on this episode's realized
                             latencies and call cap (:mod:`asynctool_env.solver`); ``None``
                             when not computed
``efficiency``               ``optimal_rounds / rounds`` in (0, 1] when every task is right,
                             0 otherwise, so failing fast never scores (``None`` likewise)
``mean_ready_wait``          rounds from a step becoming ready to its correct call, averaged
                             over the steps that became ready (uncalled ones count up to the
                             episode's end)
``neglected_tasks``          tasks never answered by the end of the episode (the agent
                             lost track of them). Waiting on a ready step is not counted: an
                             optimal schedule often defers steps with slack
``queued_rounds``            rounds calls spent waiting in a busy tool's queue, summed over
                             calls (0 without ``tool_capacity``)
``tool_confusions``          calls matching no gold step that pass another task's gold
                             argument value (arguments crossed between tasks)
``revoked_answers``          tasks whose credit was taken back at the end: their work was
                             undone, repeated or spoiled after the answer (written calls)
``collateral_writes``        writes no task owns that changed the world where no gold call does
``failure_modes``            labels of what went wrong: ``dependency_violation``,
                             ``task_neglect``, ``tool_confusion``, ``premature_answer``,
                             ``redundant_call``, ``idle_wait``, ``spoiled_after_answer``,
                             ``collateral_write``
=========================== ================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from asynctool_env.core.simulator import (
    AnswerEvent,
    CallEvent,
    CallKind,
    CollateralEvent,
    DeliveryEvent,
    InvalidEvent,
    RevokeEvent,
    Simulator,
    TraceEvent,
    TurnEndEvent,
)
from asynctool_env.core.task import Instance


@dataclass(frozen=True)
class EpisodeMetrics:
    """Scores of one episode (see the module docstring for each field)."""

    n_tasks: int
    n_steps: int
    finished: bool
    calls: int
    correct_calls: int
    step_precision: float
    step_recall: float
    step_f1: float
    tasks_succeeded: int
    task_success_rate: float
    instance_success: bool
    rounds: int
    sequential_rounds: int
    speedup_vs_sequential: float
    idle_rounds: int
    idle_ratio: float
    switches: int
    mean_in_flight: float
    dependency_violations: int
    redundant_calls: int
    unmatched_calls: int
    invalid_actions: int
    premature_answers: int
    task_completion_rounds: tuple[int | None, ...]
    mean_ready_wait: float = 0.0
    neglected_tasks: int = 0
    tool_confusions: int = 0
    failure_modes: tuple[str, ...] = ()
    optimal_rounds: int | None = None
    efficiency: float | None = None
    queued_rounds: int = 0
    revoked_answers: int = 0
    collateral_writes: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of every field."""
        result = {name: getattr(self, name) for name in _FIELD_NAMES}
        result["task_completion_rounds"] = list(self.task_completion_rounds)
        result["failure_modes"] = list(self.failure_modes)
        return result


_FIELD_NAMES = tuple(item.name for item in fields(EpisodeMetrics))


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean, 0 when both are 0."""
    total = precision + recall
    return 2 * precision * recall / total if total > 0 else 0.0


def compute_metrics(
    instance: Instance,
    trace: Sequence[TraceEvent],
    step_latency: Sequence[Sequence[int]],
    *,
    rounds_elapsed: int | None = None,
    optimal_rounds: int | None = None,
) -> EpisodeMetrics:
    """Score an episode from its trace alone.

    Args:
        instance: The instance that was played.
        trace: The simulator's trace.
        step_latency: Realized latency of each gold step (``Simulator.step_latency``).
        rounds_elapsed: Rounds played when the episode stopped unfinished; by default the
            round reached by the last turn end in the trace.
        optimal_rounds: The optimum for this episode (see :mod:`asynctool_env.solver`), to
            fill ``optimal_rounds`` and ``efficiency``.
    """
    n_tasks = instance.n_tasks
    n_steps = instance.n_steps
    calls = correct = violations = redundant = unmatched = invalid = 0
    switches = idle_rounds = in_flight_rounds = queued_rounds = 0
    last_task: int | None = None
    last_round = 0
    done_steps: set[tuple[int, int]] = set()
    correct_call_ids: set[int] = set()
    answers: dict[int, AnswerEvent] = {}
    first_call: dict[tuple[int, int], int] = {}
    delivered_round: dict[tuple[int, int], int] = {}
    unmatched_calls: list[CallEvent] = []
    revoked: set[int] = set()
    collateral = 0
    for event in trace:
        if isinstance(event, CallEvent):
            calls += 1
            queued_rounds += event.queued_rounds
            if event.kind is CallKind.CORRECT:
                correct += 1
                correct_call_ids.add(event.call_id)
                first_call.setdefault((event.task, event.step), event.round)
            elif event.kind is CallKind.VIOLATION:
                violations += 1
            elif event.kind is CallKind.REDUNDANT:
                redundant += 1
            else:
                unmatched += 1
                unmatched_calls.append(event)
            if event.task >= 0:
                if last_task is not None and event.task != last_task:
                    switches += 1
                last_task = event.task
        elif isinstance(event, DeliveryEvent):
            if event.call_id in correct_call_ids:
                done_steps.add((event.task, event.step))
                delivered_round[(event.task, event.step)] = event.round
        elif isinstance(event, AnswerEvent):
            answers[event.task] = event
        elif isinstance(event, TurnEndEvent):
            idle_rounds += event.idle_rounds
            in_flight_rounds += event.in_flight * (event.next_round - event.round)
            last_round = event.next_round
        elif isinstance(event, InvalidEvent):
            invalid += 1
        elif isinstance(event, RevokeEvent):
            revoked.add(event.task)
        elif isinstance(event, CollateralEvent):
            collateral += len(event.changes)

    finished = len(answers) == n_tasks
    if finished:
        rounds = max(event.round for event in answers.values()) + 1
    else:
        rounds = rounds_elapsed if rounds_elapsed is not None else last_round
    rounds = max(rounds, 1)
    tasks_succeeded = sum(
        1 for task, event in answers.items() if event.correct and task not in revoked
    )
    all_right = tasks_succeeded == n_tasks and not collateral
    precision = correct / calls if calls else 0.0
    recall = len(done_steps) / n_steps if n_steps else 0.0
    sequential = sum(1 + latency for task in step_latency for latency in task) + 1
    last = rounds - 1
    waits: list[int] = []
    neglected: set[int] = {index for index in range(n_tasks) if index not in answers}
    for task_index, task in enumerate(instance.tasks):
        for step_index, step in enumerate(task.steps):
            parents = [delivered_round.get((task_index, parent)) for parent in step.depends_on]
            if any(parent is None for parent in parents):
                continue  # never became ready
            ready = max((parent for parent in parents if parent is not None), default=0)
            called = first_call.get((task_index, step_index))
            answered = answers.get(task_index)
            end = called if called is not None else (answered.round if answered else last)
            if end < ready:
                continue
            waits.append(end - ready)
    confusions = _tool_confusions(instance, unmatched_calls)
    labels = [
        name
        for name, happened in (
            ("dependency_violation", violations > 0),
            ("task_neglect", bool(neglected)),
            ("tool_confusion", confusions > 0),
            ("premature_answer", any(event.premature for event in answers.values())),
            ("redundant_call", redundant > 0),
            ("idle_wait", idle_rounds > 0),
            ("spoiled_after_answer", bool(revoked)),
            ("collateral_write", collateral > 0),
        )
        if happened
    ]
    return EpisodeMetrics(
        n_tasks=n_tasks,
        n_steps=n_steps,
        finished=finished,
        calls=calls,
        correct_calls=correct,
        step_precision=precision,
        step_recall=recall,
        step_f1=f1_score(precision, recall),
        tasks_succeeded=tasks_succeeded,
        task_success_rate=tasks_succeeded / n_tasks,
        instance_success=all_right,
        rounds=rounds,
        sequential_rounds=sequential,
        speedup_vs_sequential=sequential / rounds if finished else 0.0,
        idle_rounds=idle_rounds,
        idle_ratio=min(idle_rounds / rounds, 1.0),
        switches=switches,
        mean_in_flight=in_flight_rounds / rounds,
        dependency_violations=violations,
        redundant_calls=redundant,
        unmatched_calls=unmatched,
        invalid_actions=invalid,
        premature_answers=sum(1 for event in answers.values() if event.premature),
        task_completion_rounds=tuple(
            answers[index].round if index in answers else None for index in range(n_tasks)
        ),
        mean_ready_wait=sum(waits) / len(waits) if waits else 0.0,
        neglected_tasks=len(neglected),
        tool_confusions=confusions,
        failure_modes=tuple(labels),
        optimal_rounds=optimal_rounds,
        efficiency=(
            (min(optimal_rounds / rounds, 1.0) if all_right else 0.0)
            if optimal_rounds is not None
            else None
        ),
        queued_rounds=queued_rounds,
        revoked_answers=len(revoked),
        collateral_writes=collateral,
    )


def _argument_values(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [item for nested in value.values() for item in _argument_values(nested)]
    if isinstance(value, (list, tuple)):
        return [item for nested in value for item in _argument_values(nested)]
    return [str(value)] if isinstance(value, (str, int)) and not isinstance(value, bool) else []


def _tool_confusions(instance: Instance, unmatched: Sequence[CallEvent]) -> int:
    """Unmatched calls that put one task's gold value into another task's tool.

    A call counts when its tool belongs to some tasks' gold calls and one of its argument
    values (3 characters or more) appears in the gold arguments of exactly one task that does
    not use that tool: the agent crossed arguments between tasks.
    """
    if not unmatched or instance.n_tasks < 2:
        return 0
    owners: dict[str, set[int]] = {}
    users_of: dict[str, set[int]] = {}
    for index, task in enumerate(instance.tasks):
        for step in task.steps:
            users_of.setdefault(step.tool, set()).add(index)
            for value in _argument_values(step.expected_arguments):
                if len(value) >= 3:
                    owners.setdefault(value, set()).add(index)
    count = 0
    for call in unmatched:
        users = users_of.get(call.tool)
        if not users:
            continue
        for value in _argument_values(call.arguments):
            holders = owners.get(value, set())
            if len(holders) == 1 and holders.isdisjoint(users):
                count += 1
                break
    return count


def final_metrics(simulator: Simulator) -> EpisodeMetrics:
    """:func:`episode_metrics` with ``optimal_rounds`` and ``efficiency`` from the exact
    solver on the episode's realized latencies, call cap and tool capacities: what every
    interface reports in its last ``info["metrics"]``."""
    from asynctool_env.solver import optimal_schedule_for_simulator

    best = optimal_schedule_for_simulator(simulator).rounds
    return episode_metrics(simulator, optimal_rounds=best)


def episode_metrics(simulator: Simulator, *, optimal_rounds: int | None = None) -> EpisodeMetrics:
    """Score the episode a simulator has played so far (from its trace)."""
    return compute_metrics(
        simulator.instance,
        simulator.trace,
        simulator.step_latency,
        rounds_elapsed=simulator.rounds,
        optimal_rounds=optimal_rounds,
    )
