"""Episode metrics: the one place where a trace becomes numbers.

Every interface (RL env, chat wrapper, multi-agent env) produces the same trace (see
:mod:`asynctool_env.core.simulator`), so every agent is scored by the same code:

=========================== ================================================================
``step_precision``           correct gold calls / all calls made
``step_recall``              gold steps completed / all gold steps
``step_f1``                  harmonic mean of the two (0 when both are 0)
``task_success_rate``        tasks answered right / tasks; a task is right when all its gold
                             calls were made in a dependency-consistent order and its answer
                             is right (never when answered early)
``instance_success``         every task of the instance right (the paper's "Overall")
``rounds``                   last answer's round + 1; rounds elapsed if unfinished
``sequential_rounds``        one call at a time, each response awaited:
                             ``sum(1 + L) + 1`` over the episode's realized gold latencies
``speedup_vs_sequential``    ``sequential_rounds / rounds``
``idle_rounds``/``_ratio``   turns with no call while a step was ready (/ rounds)
``switches``                 consecutive calls that target different tasks
``mean_in_flight``           calls in flight per round, averaged over the rounds played
``dependency_violations``    calls of a step before its inputs arrived
``redundant_calls``          calls of a step already pending or done
``unmatched_calls``          calls matching no gold step (chat path)
``invalid_actions``          refused actions (masked actions, unparsable output)
``premature_answers``        tasks answered before all their steps were done
``task_completion_rounds``   per task, the round it was answered (``None`` if never)
=========================== ================================================================

The optimal round count and the efficiency ratio against it come from the exact solver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from asynctool_env.core.simulator import (
    AnswerEvent,
    CallEvent,
    CallKind,
    DeliveryEvent,
    InvalidEvent,
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

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of every field."""
        result = {name: getattr(self, name) for name in _FIELD_NAMES}
        result["task_completion_rounds"] = list(self.task_completion_rounds)
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
) -> EpisodeMetrics:
    """Score an episode from its trace alone.

    Args:
        instance: The instance that was played.
        trace: The simulator's trace.
        step_latency: Realized latency of each gold step (``Simulator.step_latency``).
        rounds_elapsed: Rounds played when the episode stopped unfinished; by default the
            round reached by the last turn end in the trace.
    """
    n_tasks = instance.n_tasks
    n_steps = instance.n_steps
    calls = correct = violations = redundant = unmatched = invalid = 0
    switches = idle_rounds = in_flight_rounds = 0
    last_task: int | None = None
    last_round = 0
    done_steps: set[tuple[int, int]] = set()
    correct_call_ids: set[int] = set()
    answers: dict[int, AnswerEvent] = {}
    for event in trace:
        if isinstance(event, CallEvent):
            calls += 1
            if event.kind is CallKind.CORRECT:
                correct += 1
                correct_call_ids.add(event.call_id)
            elif event.kind is CallKind.VIOLATION:
                violations += 1
            elif event.kind is CallKind.REDUNDANT:
                redundant += 1
            else:
                unmatched += 1
            if event.task >= 0:
                if last_task is not None and event.task != last_task:
                    switches += 1
                last_task = event.task
        elif isinstance(event, DeliveryEvent):
            if event.call_id in correct_call_ids:
                done_steps.add((event.task, event.step))
        elif isinstance(event, AnswerEvent):
            answers[event.task] = event
        elif isinstance(event, TurnEndEvent):
            idle_rounds += event.idle_rounds
            in_flight_rounds += event.in_flight * (event.next_round - event.round)
            last_round = event.next_round
        elif isinstance(event, InvalidEvent):
            invalid += 1

    finished = len(answers) == n_tasks
    if finished:
        rounds = max(event.round for event in answers.values()) + 1
    else:
        rounds = rounds_elapsed if rounds_elapsed is not None else last_round
    rounds = max(rounds, 1)
    tasks_succeeded = sum(1 for event in answers.values() if event.correct)
    precision = correct / calls if calls else 0.0
    recall = len(done_steps) / n_steps if n_steps else 0.0
    sequential = sum(1 + latency for task in step_latency for latency in task) + 1
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
        instance_success=tasks_succeeded == n_tasks,
        rounds=rounds,
        sequential_rounds=sequential,
        speedup_vs_sequential=sequential / rounds,
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
    )


def episode_metrics(simulator: Simulator) -> EpisodeMetrics:
    """Score the episode a simulator has played so far (from its trace)."""
    return compute_metrics(
        simulator.instance,
        simulator.trace,
        simulator.step_latency,
        rounds_elapsed=simulator.rounds,
    )
