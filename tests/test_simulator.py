"""The simulator's time model, step states and counters, on hand-built instances."""

from __future__ import annotations

import numpy as np
import pytest

from asynctool_env.core.latency import Fixed, LatencyProfile
from asynctool_env.core.resolver import CallResolver
from asynctool_env.core.simulator import (
    CallKind,
    CallLimitError,
    DeliveryEvent,
    Simulator,
    SimulatorError,
    StepStatus,
)
from asynctool_env.metrics import episode_metrics
from asynctool_env.scenarios import TOOLS
from tests.conftest import chain_instance


def make_sim(instance, latency="fixed", cap=1, seed=0, jump=False):
    return Simulator(
        instance,
        np.random.default_rng(seed),
        latency=latency,
        max_calls_per_turn=cap,
        wait_jumps_to_next_delivery=jump,
    )


def test_call_is_delivered_at_round_plus_one_plus_latency(two_chains):
    sim = make_sim(two_chains, latency="fixed:2")
    call = sim.call_step(0, 0)
    assert call.kind is CallKind.CORRECT
    assert call.due_round == 3
    assert sim.step_status[0][0] == StepStatus.PENDING
    for expected_round in (1, 2):
        sim.end_turn()
        assert sim.round == expected_round
        assert sim.step_status[0][0] == StepStatus.PENDING
    sim.end_turn()
    assert sim.round == 3
    assert sim.step_status[0][0] == StepStatus.DONE
    assert sim.step_status[0][1] == StepStatus.READY
    assert sim.responses[0][0] == {"token": "A-token-0"}


def test_synchronous_latency_answers_on_the_next_turn(two_chains):
    sim = make_sim(two_chains, latency="sync")
    sim.call_step(1, 0)
    sim.end_turn()
    assert sim.step_status[1][0] == StepStatus.DONE


def test_sequential_schedule_by_hand(two_chains):
    """A then B, each response awaited: 4n + 1 = 13 rounds, 3 idle rounds (B0 was ready)."""
    sim = make_sim(two_chains)
    for task in (0, 1):
        for step in range(3):
            sim.call_step(task, step)
            sim.end_turn()  # the call used the turn
            sim.end_turn()  # wait for the response
        sim.answer_task(task)
    metrics = episode_metrics(sim)
    assert metrics.rounds == 13
    assert metrics.sequential_rounds == 13
    assert metrics.idle_rounds == 3
    assert metrics.step_f1 == 1.0
    assert metrics.instance_success
    assert metrics.task_completion_rounds == (6, 12)


def test_interleaved_schedule_by_hand(two_chains):
    """A0 B0 A1 B1 A2 B2: 2n + 2 = 8 rounds, no idle round."""
    sim = make_sim(two_chains)
    for step in range(3):
        for task in (0, 1):
            sim.call_step(task, step)
            sim.end_turn()
    sim.answer_task(0)  # round 6: A2 arrived
    sim.end_turn()
    sim.answer_task(1)  # round 7: B2 arrived
    metrics = episode_metrics(sim)
    assert (metrics.rounds, metrics.idle_rounds, metrics.switches) == (8, 0, 5)
    assert metrics.speedup_vs_sequential == pytest.approx(13 / 8)
    # In flight at each turn's end: 1, 2, 2, 2, 2, 2, 1 over 8 rounds.
    assert metrics.mean_in_flight == pytest.approx(12 / 8)


def test_dependency_violation_fails_then_recovers(two_chains):
    sim = make_sim(two_chains, latency="fixed:0")
    call = sim.call_step(0, 1)
    assert call.kind is CallKind.VIOLATION
    assert "error" in call.response
    assert sim.step_status[0][1] == StepStatus.FAILED
    sim.end_turn()
    assert sim.step_status[0][1] == StepStatus.FAILED  # its input is still missing
    sim.call_step(0, 0)
    sim.end_turn()
    assert sim.step_status[0][1] == StepStatus.READY
    metrics = episode_metrics(sim)
    assert metrics.dependency_violations == 1
    assert metrics.step_precision == 0.5


def test_redundant_call_does_not_count_twice(two_chains):
    sim = make_sim(two_chains, cap=None)
    sim.call_step(0, 0)
    assert sim.call_step(0, 0).kind is CallKind.REDUNDANT
    sim.end_turn()
    sim.end_turn()
    assert sim.steps_done == 1
    metrics = episode_metrics(sim)
    assert (metrics.calls, metrics.correct_calls, metrics.redundant_calls) == (2, 1, 1)
    assert metrics.step_recall == pytest.approx(1 / 6)


def test_premature_answer_fails_the_task(two_chains):
    sim = make_sim(two_chains)
    outcome = sim.answer_task(0)
    assert outcome.premature and not outcome.correct
    with pytest.raises(SimulatorError, match="already answered"):
        sim.answer_task(0)
    assert episode_metrics(sim).premature_answers == 1


def test_text_answer_is_compared_normalized(two_chains):
    sim = make_sim(two_chains, latency="sync")
    for step in range(3):
        sim.call_step(0, step)
        sim.end_turn()
    assert sim.answer_task(0, "  a-TOKEN-2 ").correct
    for step in range(3):
        sim.call_step(1, step)
        sim.end_turn()
    assert not sim.answer_task(1, "B-token-1").correct


def test_call_cap_is_enforced(two_chains):
    sim = make_sim(two_chains, cap=2)
    sim.call_step(0, 0)
    sim.call_step(1, 0)
    assert sim.calls_left == 0
    with pytest.raises(CallLimitError, match="end the turn first"):
        sim.call_step(0, 0)
    sim.end_turn()
    assert sim.calls_left == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_bad_call_cap_is_refused(two_chains, bad):
    with pytest.raises(ValueError, match="max_calls_per_turn"):
        make_sim(two_chains, cap=bad)


def test_wait_can_jump_to_the_next_delivery(two_chains):
    sim = make_sim(two_chains, latency="fixed:4", jump=True)
    sim.call_step(0, 0)  # due in round 5
    assert sim.end_turn() == 1
    assert sim.end_turn() == 4  # no call this turn: jump to round 5
    assert sim.round == 5
    # B0 was ready during the whole jump: every skipped round is idle.
    assert sim.idle_rounds == 4


def test_out_of_order_delivery_with_per_tool_latency():
    instance = chain_instance(2, 1)
    profile = LatencyProfile("mixed", default=lambda _: Fixed(0), per_tool={})
    sim = Simulator(instance, np.random.default_rng(0), latency=profile, max_calls_per_turn=None)
    sim.step_latency[0][0] = 3  # the first call is slow, the second fast
    sim.step_latency[1][0] = 0
    first = sim.call_step(0, 0)
    second = sim.call_step(1, 0)
    while sim.n_pending:
        sim.end_turn()
    deliveries = [event.call_id for event in sim.trace if isinstance(event, DeliveryEvent)]
    assert deliveries == [second.call_id, first.call_id]


def test_latencies_are_drawn_per_seed():
    instance = chain_instance(3, 8)
    draws = {
        seed: make_sim(instance, latency="stochastic", seed=seed).step_latency for seed in range(5)
    }
    assert draws[0] == make_sim(instance, latency="stochastic", seed=0).step_latency
    assert len({str(value) for value in draws.values()}) > 1


def test_unknown_tool_needs_a_declared_latency():
    from dataclasses import replace

    task = chain_instance(1, 1).tasks[0]
    odd = replace(task, steps=(replace(task.steps[0], tool="teleport", latency=None),))
    from asynctool_env.core.task import Instance

    with pytest.raises(KeyError, match="tool_latencies"):
        make_sim(Instance("odd", (odd,)))
    sim = Simulator(
        Instance("odd", (odd,)), np.random.default_rng(0), tool_latencies={"teleport": 3}
    )
    assert sim.step_latency == [[3]]


def test_instance_rejects_forward_dependencies():
    from dataclasses import replace

    from asynctool_env.core.task import Instance

    task = chain_instance(1, 2).tasks[0]
    with pytest.raises(ValueError, match="earlier steps"):
        replace(task, steps=(replace(task.steps[0], depends_on=(1,)), task.steps[1]))
    with pytest.raises(ValueError, match="no tasks"):
        Instance("empty", ())


def test_failure_labels_and_ready_waits_of_the_hand_schedules(two_chains):
    sequential = make_sim(two_chains)
    for task in (0, 1):
        for step in range(3):
            sequential.call_step(task, step)
            sequential.end_turn()
            sequential.end_turn()
        sequential.answer_task(task)
    metrics = episode_metrics(sequential)
    # B0 is ready from round 0 but called in round 6; every other step is called at once.
    assert metrics.mean_ready_wait == pytest.approx(6 / 6)
    assert metrics.neglected_tasks == 0  # both tasks were answered
    assert metrics.failure_modes == ("idle_wait",)

    interleaved = make_sim(two_chains)
    for step in range(3):
        for task in (0, 1):
            interleaved.call_step(task, step)
            interleaved.end_turn()
    interleaved.answer_task(0)
    interleaved.end_turn()
    interleaved.answer_task(1)
    metrics = episode_metrics(interleaved, optimal_rounds=8)
    assert metrics.mean_ready_wait == pytest.approx(1 / 6)  # only B0 waited, one round
    assert metrics.failure_modes == ()
    assert (metrics.optimal_rounds, metrics.efficiency) == (8, 1.0)


def test_unanswered_task_is_neglected_and_premature_is_labelled(two_chains):
    sim = make_sim(two_chains, latency="sync")
    sim.call_step(0, 1)  # violation
    sim.answer_task(0)  # premature
    sim.end_turn()
    metrics = episode_metrics(sim, optimal_rounds=10)
    assert metrics.neglected_tasks == 1  # B was never answered (A was, wrongly)
    assert set(metrics.failure_modes) == {
        "dependency_violation",
        "task_neglect",
        "premature_answer",
    }
    assert metrics.efficiency == 0.0  # an episode that fails never scores on speed
    assert metrics.speedup_vs_sequential == 0.0


def test_tool_confusion_counts_crossed_arguments():
    from asynctool_env.core.task import Instance
    from tests.conftest import chain_task

    instance = Instance(
        "mixed", (chain_task("A", 2, tool="send_message"), chain_task("B", 2, tool="find_contact"))
    )
    sim = make_sim(instance, cap=None)
    unmatched = CallKind.UNMATCHED
    sim.call_resolved(-1, -1, "send_message", {"name": "B-1"}, unmatched, {"error": "no"})  # B's
    sim.call_resolved(-1, -1, "send_message", {"name": "nobody"}, unmatched, {"error": "no"})
    sim.call_resolved(  # B's own value with B's own tool: not a confusion
        -1, -1, "find_contact", {"name": "B-1", "after": "x"}, unmatched, {"error": "no"}
    )
    assert episode_metrics(sim).tool_confusions == 1
    assert "tool_confusion" in episode_metrics(sim).failure_modes


def test_an_identical_call_matches_the_ready_step_first():
    from dataclasses import replace

    from asynctool_env.core.task import Instance, Step
    from tests.conftest import chain_task

    first = chain_task("A", 2)
    call = first.steps[0]
    # Task B's step 1 is the same call as task A's step 0, but in B it is blocked.
    twin = chain_task("B", 2)
    blocked_copy = Step(
        call.tool,
        call.arguments,
        (0,),
        call.expected_arguments,
        call.expected_response,
        call.latency,
    )
    instance = Instance("twins", (replace(twin, steps=(twin.steps[0], blocked_copy)), first))
    sim = make_sim(instance)
    resolver = CallResolver(sim, TOOLS, lambda task: None)
    first_call = resolver.resolve(call.tool, call.expected_arguments)
    assert (first_call.kind, first_call.task, first_call.step) == (CallKind.CORRECT, 1, 0)
    sim.call_step(1, 0)
    # Now only B's copy is left, and B orders it after its step 0: an early call.
    second = resolver.resolve(call.tool, call.expected_arguments)
    assert (second.kind, second.task, second.step) == (CallKind.VIOLATION, 0, 1)


# -- tool servers with a concurrency limit ---------------------------------------------------


def test_capacity_one_queues_the_second_call_until_the_first_is_delivered(two_chains):
    """Both chains use find_contact. With capacity 1 and L = 2: A0 is called in round 0 and
    delivered in round 3; B0, called in round 1, waits 2 rounds and starts in round 3, so it
    is delivered in round 3 + 1 + 2 = 6 instead of 4."""
    sim = Simulator(two_chains, np.random.default_rng(0), latency="fixed:2", tool_capacity=1)
    first = sim.call_step(0, 0)
    assert (first.due_round, first.queued_rounds) == (3, 0)
    sim.end_turn()
    assert sim.tool_wait("find_contact") == 2
    assert sim.tool_busy("find_contact") == 1
    second = sim.call_step(1, 0)
    assert (second.due_round, second.queued_rounds) == (6, 2)
    sim.end_turn()
    sim.end_turn()
    assert sim.round == 3
    assert sim.step_status[0][0] == StepStatus.DONE
    assert sim.step_status[1][0] == StepStatus.PENDING
    # A1 queues behind B0 (first come, first served): starts at 6, delivered at 9.
    third = sim.call_step(0, 1)
    assert (third.due_round, third.queued_rounds) == (9, 3)
    assert sim.queued_rounds == 5
    while sim.round < 9:
        sim.end_turn()
    metrics = episode_metrics(sim)
    assert metrics.queued_rounds == 5


def test_capacity_two_serves_two_calls_at_once(two_chains):
    sim = Simulator(
        chain_instance(3, 1),
        np.random.default_rng(0),
        latency="fixed:1",
        tool_capacity=2,
        max_calls_per_turn=None,
    )
    due = [sim.call_step(task, 0).due_round for task in range(3)]
    assert due == [2, 2, 4]  # the third waits for a slot, freed at round 2
    assert sim.tool_busy("find_contact") == 2


def test_capacity_mapping_limits_only_the_named_tools(two_chains):
    sim = Simulator(
        two_chains,
        np.random.default_rng(0),
        latency="fixed:1",
        tool_capacity={"send_message": 1},
        max_calls_per_turn=None,
    )
    assert sim.capacity_of("find_contact") is None
    assert [sim.call_step(task, 0).due_round for task in (0, 1)] == [2, 2]
    assert sim.tool_wait("find_contact") == 0


def test_violations_and_redundant_calls_take_a_slot_too(two_chains):
    sim = Simulator(two_chains, np.random.default_rng(0), latency="fixed:1", tool_capacity=1)
    assert sim.call_step(0, 1).kind is CallKind.VIOLATION  # busy until round 2
    sim.end_turn()
    assert sim.call_step(0, 0).queued_rounds == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "1", {"find_contact": 0}])
def test_bad_tool_capacity_is_refused(two_chains, bad):
    with pytest.raises((ValueError, TypeError), match="tool_capacity"):
        Simulator(two_chains, np.random.default_rng(0), tool_capacity=bad)
