"""The dispatching rules (``most_work_remaining``, ``most_ops_remaining``,
``shortest_latency_first``, ``queue_aware_critical_path``) on hand-built observations whose
choices are worked out by hand, and on the benchmark's episodes."""

from __future__ import annotations

import numpy as np
import pytest

from asynctool_env.agents import DispatchRulePolicy, make_policy
from asynctool_env.benchmark import EvalConfig, evaluate, summarize
from asynctool_env.core.simulator import StepStatus, TaskStatus

B, R, P = StepStatus.BLOCKED, StepStatus.READY, StepStatus.PADDING


def observation(queue_first: float = 0.0, focused: int = 0) -> dict[str, np.ndarray]:
    """Two tasks, three step slots. Task 0: a chain of two steps of latency 5 (tails 12 and
    6); task 1: three independent ready steps of latency 0 (tails 1)."""
    status = np.array([[R, B, P], [R, R, R]], dtype=np.int64)
    latency = np.array([[5, 5, 0], [0, 0, 0]], dtype=np.float32)
    tail = np.array([[12, 6, 0], [1, 1, 1]], dtype=np.float32)
    queue = np.zeros((2, 3), dtype=np.float32)
    queue[0, 0] = queue_first
    mask = np.zeros(2 + 3 + 2, dtype=np.int8)
    return {
        "step_status": status.reshape(-1),
        "step_latency": latency.reshape(-1),
        "step_tail": tail.reshape(-1),
        "step_queue": queue.reshape(-1),
        "task_status": np.array([TaskStatus.OPEN, TaskStatus.OPEN], dtype=np.int64),
        "focused_task": np.int64(focused),
        "calls_left": np.array([1]),
        "action_mask": mask,
    }


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # Task 0 holds 2 x (1 + 5) = 12 rounds of work, task 1 holds 3 x (1 + 0) = 3.
        ("most_work_remaining", (0, 0)),
        # Task 1 has three steps left, task 0 two; the tails tie (1), so the lowest step.
        ("most_ops_remaining", (1, 0)),
        # Latency 0 beats 5.
        ("shortest_latency_first", (1, 0)),
        # No queue: the critical path, task 0's head (tail 12).
        ("queue_aware_critical_path", (0, 0)),
    ],
)
def test_each_rule_picks_the_step_worked_out_by_hand(rule, expected):
    assert DispatchRulePolicy(rule).choose(observation()) == expected


def test_the_queue_aware_rule_skips_a_step_whose_tool_queue_outweighs_its_tail():
    policy = DispatchRulePolicy("queue_aware_critical_path")
    # 12 - 11 = 1 ties task 1's steps (1 - 0): the longer tail (12) breaks the tie.
    assert policy.choose(observation(queue_first=11.0)) == (0, 0)
    # 12 - 12 = 0 < 1: task 1 goes first.
    assert policy.choose(observation(queue_first=12.0)) == (1, 0)


def test_the_focus_layout_switches_before_calling_and_prefers_the_focused_task_on_ties():
    policy = DispatchRulePolicy("shortest_latency_first")
    # Focused on task 0, the rule wants task 1: switch to it first (action 1 + task).
    assert policy.act(observation(focused=0)) == 1 + 1
    # Focused on task 1: call its step 0 (action n_tasks + 1 + step).
    assert policy.act(observation(focused=1)) == 2 + 1 + 0


def test_unknown_rules_are_refused():
    with pytest.raises(ValueError, match="choose one of"):
        DispatchRulePolicy("fastest")


def test_the_rules_finish_every_dev_episode_and_rank_as_expected():
    """On the dev split the critical path (without queues, the queue-aware rule is the same)
    stays the best rule; shortest-latency-first is near greedy."""
    scores = {}
    for rule in ("critical_path", "queue_aware_critical_path", "shortest_latency_first"):
        summary = summarize(evaluate(rule, EvalConfig(split="dev", episodes=24)))
        assert summary["instance_success"] == 1.0
        scores[rule] = summary["efficiency"]
    assert scores["queue_aware_critical_path"] == scores["critical_path"]
    assert scores["shortest_latency_first"] < scores["critical_path"]
    assert make_policy("most_work_remaining").name == "most_work_remaining"
