"""Property-based tests: random actions, masked or not, never break the simulator's rules."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asynctool_env.core.simulator import CallEvent, CallKind, DeliveryEvent, StepStatus
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.metrics import compute_metrics

ENV_KWARGS = st.fixed_dictionaries(
    {
        "latency": st.sampled_from(["sync", "fixed", "tool", "stochastic", "uniform", "lognormal"]),
        "max_calls_per_turn": st.sampled_from([1, 2, None]),
        "n_tasks": st.sampled_from([1, 2, 3, (2, 3)]),
        "wait_jumps_to_next_delivery": st.booleans(),
        "max_rounds": st.integers(5, 60),
        "tool_capacity": st.sampled_from([None, None, 1, 2]),
        "composition": st.sampled_from(["mixed", "same"]),
    }
)

_ENVS: dict[str, AsyncToolEnv] = {}


def env_for(kwargs: dict) -> AsyncToolEnv:
    """Envs are cheap to reset but not to build: keep one per configuration."""
    key = repr(sorted(kwargs.items()))
    if key not in _ENVS:
        _ENVS[key] = AsyncToolEnv(**kwargs)
    return _ENVS[key]


def check_invariants(env: AsyncToolEnv) -> None:
    sim = env.simulator
    calls = {event.call_id: event for event in sim.trace if isinstance(event, CallEvent)}
    deliveries = [event for event in sim.trace if isinstance(event, DeliveryEvent)]
    delivered = Counter(event.call_id for event in deliveries)
    # Every call is delivered at most once, exactly at its due round, or is still in flight.
    assert all(count == 1 for count in delivered.values())
    for event in deliveries:
        assert event.round == calls[event.call_id].due_round
    in_flight = {call.call_id for call in sim.pending_calls}
    assert in_flight.isdisjoint(delivered)
    assert in_flight | set(delivered) == set(calls)
    assert all(call.due_round > sim.round for call in sim.pending_calls)
    # The clock never goes back.
    rounds = [event.round for event in sim.trace]
    assert rounds == sorted(rounds)
    # A step is done exactly when a correct call for it was delivered.
    done_by_delivery = {
        (event.task, event.step)
        for event in deliveries
        if calls[event.call_id].kind is CallKind.CORRECT
    }
    done_by_status = {
        (task, step)
        for task, statuses in enumerate(sim.step_status)
        for step, status in enumerate(statuses)
        if status == StepStatus.DONE
    }
    assert done_by_delivery == done_by_status
    # The observation mirrors the simulator.
    status = env._status
    for task, statuses in enumerate(sim.step_status):
        assert status[task, : len(statuses)].tolist() == statuses
    check_tool_servers(env, calls)


def check_tool_servers(env: AsyncToolEnv, calls: dict[int, CallEvent]) -> None:
    """No limited tool ever serves more calls than its capacity; queues are first come,
    first served; the tool load in the observation equals a from-scratch computation."""
    sim = env.simulator
    by_tool: dict[str, list[CallEvent]] = {}
    for call in calls.values():
        by_tool.setdefault(call.tool, []).append(call)
    for tool, events in by_tool.items():
        capacity = sim.capacity_of(tool)
        if capacity is None:
            assert all(event.queued_rounds == 0 for event in events)
            continue
        starts = sorted(
            (event.round + event.queued_rounds, event.due_round, event.call_id) for event in events
        )
        for start, _, _ in starts:
            serving = sum(1 for s, due, _ in starts if s <= start < due)
            assert serving <= capacity, (tool, start)
        ordered = sorted(events, key=lambda event: event.call_id)
        started = [event.round + event.queued_rounds for event in ordered]
        if capacity == 1:
            assert started == sorted(started)
    if env.tool_capacity is None:
        return
    expected_queue = np.zeros_like(env._queue)
    expected_backlog = np.zeros_like(env._backlog)
    work: dict[str, float] = {}
    uncalled = (StepStatus.BLOCKED, StepStatus.READY, StepStatus.FAILED)
    steps = [
        (k, s, step.tool, 1.0 + float(env._latency[k, s]))
        for k, task in enumerate(sim.tasks)
        for s, step in enumerate(task.steps)
        if sim.capacity_of(step.tool) is not None
    ]
    pending_of = {
        (k, s)
        for k, s, _, _ in steps
        if sim.task_status[k] == 1 and sim.step_status[k][s] in uncalled
    }
    for k, s, tool, cost in steps:
        if (k, s) in pending_of:
            work[tool] = work.get(tool, 0.0) + cost
    for k, s, tool, cost in steps:
        expected_queue[k, s] = sim.tool_wait(tool)
        expected_backlog[k, s] = work.get(tool, 0.0) - (cost if (k, s) in pending_of else 0.0)
    np.testing.assert_allclose(env._queue, expected_queue)
    np.testing.assert_allclose(env._backlog, expected_backlog, rtol=1e-6)


def check_metrics(metrics: dict) -> None:
    for name in ("step_precision", "step_recall", "step_f1", "task_success_rate", "idle_ratio"):
        assert 0.0 <= metrics[name] <= 1.0, name
    assert metrics["rounds"] >= 1
    assert metrics["sequential_rounds"] >= metrics["n_steps"] + 1
    assert (metrics["speedup_vs_sequential"] > 0) == metrics["finished"]
    assert metrics["mean_in_flight"] >= 0
    assert metrics["correct_calls"] <= min(metrics["calls"], metrics["n_steps"])
    assert metrics["idle_rounds"] <= metrics["rounds"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kwargs=ENV_KWARGS,
    seed=st.integers(0, 2**31 - 1),
    masked=st.booleans(),
    choices=st.lists(st.integers(0, 10**6), min_size=1, max_size=300),
)
def test_random_actions_keep_the_invariants(kwargs, seed, masked, choices):
    env = env_for(kwargs)
    observation, info = env.reset(seed=seed)
    for choice in choices:
        if masked:
            allowed = np.flatnonzero(observation["action_mask"])
            action = int(allowed[choice % len(allowed)])
        else:
            action = choice % env.n_actions
        observation, reward, terminated, truncated, info = env.step(action)
        assert isinstance(reward, float) and np.isfinite(reward)
        assert env.observation_space.contains(observation)
        # The incrementally kept mask equals one computed from scratch.
        np.testing.assert_array_equal(observation["action_mask"], env.action_masks())
        check_invariants(env)
        if terminated or truncated:
            check_metrics(info["metrics"])
            if masked:
                assert info["metrics"]["dependency_violations"] == 0
                assert info["metrics"]["invalid_actions"] == 0
            break
    sim = env.simulator
    check_metrics(compute_metrics(sim.instance, sim.trace, sim.step_latency).as_dict())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), latency=st.sampled_from(["tool", "stochastic"]))
def test_masked_greedy_never_slower_than_sequential(seed, latency):
    from asynctool_env.agents import CriticalPathPolicy, SequentialPolicy
    from asynctool_env.rollout import run_episode

    env = env_for({"latency": latency})
    greedy = run_episode(env, CriticalPathPolicy(), seed).metrics
    sequential = run_episode(env, SequentialPolicy(), seed).metrics
    assert sequential["rounds"] == sequential["sequential_rounds"]
    assert greedy["rounds"] <= sequential["rounds"]
    assert greedy["instance_success"] and sequential["instance_success"]
