"""The exact solver under tool capacities: an exhaustive cross-check, replay in the simulator,
hand-computed cases, input checks.

Notation in the comments: a call of a step with latency ``L`` made in round ``r`` to a tool
whose earliest free slot is round ``f`` starts in ``s = max(r, f)``, holds that slot and is
delivered at the start of round ``s + 1 + L``; ``rounds`` is the last delivery round + 1.
"""

from __future__ import annotations

import functools
import heapq
import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asynctool_env.core.simulator import Simulator, TaskStatus
from asynctool_env.core.task import Instance, Step, Task
from asynctool_env.solver import (
    Schedule,
    critical_path_schedule,
    optimal_schedule,
    optimal_schedule_for_instance,
    optimal_schedule_for_simulator,
    schedule_rounds,
    task_finish_rounds,
)
from tests.test_solver import SEARCHED_CASES

Deps = list[list[tuple[int, ...]]]
Lats = list[list[int]]
Tools = list[list[str]]
Capacity = int | dict[str, int] | None


def chains(n_tasks: int, n_steps: int) -> Deps:
    return [[(s - 1,) if s else () for s in range(n_steps)] for _ in range(n_tasks)]


def capacity_of(capacity: Capacity, tool: str) -> int | None:
    if capacity is None or isinstance(capacity, int):
        return capacity
    return capacity.get(tool)


# ---------------------------------------------------------------------------------------
# Independent checks: a validator that replays the queues, and an exhaustive search.


def deliveries(
    calls: Sequence[Sequence[tuple[int, int]]], lats: Lats, tools: Tools, capacity: Capacity
) -> dict[tuple[int, int], int]:
    """Delivery round of every call, the queues replayed in the listed order."""
    free: dict[str, list[int]] = {}
    delivered: dict[tuple[int, int], int] = {}
    for r, items in enumerate(calls):
        for task, step in items:
            start = r
            limit = capacity_of(capacity, tools[task][step])
            if limit is not None:
                heap = free.setdefault(tools[task][step], [0] * limit)
                start = max(r, heap[0])
                heapq.heapreplace(heap, start + 1 + lats[task][step])
            delivered[task, step] = start + 1 + lats[task][step]
    return delivered


def check_valid(
    deps: Deps, lats: Lats, tools: Tools, capacity: Capacity, cap: int | None, schedule: Schedule
) -> None:
    """Every step called once, after its parents' deliveries, at most ``cap`` a round, and
    ``rounds`` is what the calls give with the queues."""
    delivered = deliveries(schedule.calls, lats, tools, capacity)
    called: set[tuple[int, int]] = set()
    for r, calls in enumerate(schedule.calls):
        assert cap is None or len(calls) <= cap
        for task, step in calls:
            assert (task, step) not in called
            for parent in deps[task][step]:
                assert (task, parent) in called and delivered[task, parent] <= r
            called.add((task, step))
    assert len(called) == sum(len(task) for task in deps)
    assert schedule.rounds == max(delivered.values()) + 1
    assert schedule.rounds == schedule_rounds(
        schedule.calls, lats, tools=tools, tool_capacity=capacity
    )


def brute_force_rounds(
    deps: Deps, lats: Lats, tools: Tools, capacity: Capacity, cap: int | None
) -> int:
    """The fewest rounds of any schedule, by exhaustive search over ALL schedules: in every
    round, every sequence of distinct ready steps of length 0 to ``cap`` (waiting, every
    subset, every order), each call played by the rules (it starts at its tool's earliest
    free slot, taken from a per-tool heap). No "never idle" rule, no symmetry, no bound.

    The state is relative to the current round: each step's code (-1 not called, 0
    delivered, k > 0 delivered in k rounds) and each limited tool's slot-free rounds (0:
    free), sorted. ``g(state)``, the rounds still needed, is memoized. The only pruning: an
    empty round when nothing is in flight and every slot is free leaves the state as it was
    (it only adds a round), so it is skipped; every other move either calls a step or brings
    a delivery or a slot nearer, so the states form no cycle."""
    steps = [(task, step) for task in range(len(deps)) for step in range(len(deps[task]))]
    index = {item: g for g, item in enumerate(steps)}
    parents = [[index[task, p] for p in deps[task][step]] for task, step in steps]
    latency = [lats[task][step] for task, step in steps]
    limited = sorted(
        {tools[t][s] for t, s in steps if capacity_of(capacity, tools[t][s]) is not None}
    )
    tool_of = [limited.index(tools[t][s]) if tools[t][s] in limited else -1 for t, s in steps]
    n = len(steps)
    limit = n if cap is None else cap

    @functools.cache
    def g(codes: tuple[int, ...], slots: tuple[tuple[int, ...], ...]) -> int:
        ready = [i for i in range(n) if codes[i] == -1 and all(codes[p] == 0 for p in parents[i])]
        still = all(c <= 0 for c in codes) and all(f == 0 for free in slots for f in free)
        best = 1 << 30
        for size in range(min(limit, len(ready)) + 1):
            for calls in itertools.permutations(ready, size):
                after = list(codes)
                heaps = [list(free) for free in slots]
                for i in calls:
                    if tool_of[i] < 0:
                        after[i] = 1 + latency[i]
                    else:
                        after[i] = heaps[tool_of[i]][0] + 1 + latency[i]
                        heapq.heapreplace(heaps[tool_of[i]], after[i])
                if -1 not in after:
                    value = max(after) + 1
                elif size == 0 and still:
                    continue
                else:
                    value = 1 + g(
                        tuple(c - 1 if c > 0 else c for c in after),
                        tuple(tuple(sorted(max(0, f - 1) for f in heap)) for heap in heaps),
                    )
                best = min(best, value)
        return best

    root_slots = tuple((0,) * int(capacity_of(capacity, name) or 0) for name in limited)
    return g((-1,) * n, root_slots)


# ---------------------------------------------------------------------------------------
# Replay in the real simulator.


def build_instance(deps: Deps, tools: Tools) -> Instance:
    tasks = []
    for k, task_deps in enumerate(deps):
        steps = tuple(
            Step(
                tool=tools[k][s],
                arguments={"name": f"t{k}-s{s}"},
                depends_on=tuple(parents),
                expected_arguments={"name": f"t{k}-s{s}"},
                expected_response={"token": f"t{k}-s{s}"},
            )
            for s, parents in enumerate(task_deps)
        )
        tasks.append(
            Task(task_id=f"contention/{k}", scenario="custom", instruction="run", steps=steps)
        )
    return Instance("contention/test", tuple(tasks))


def make_simulator(
    deps: Deps, lats: Lats, tools: Tools, capacity: Capacity, cap: int | None
) -> Simulator:
    sim = Simulator(
        build_instance(deps, tools),
        np.random.default_rng(0),
        latency="fixed",
        max_calls_per_turn=cap,
        tool_latencies={name: 1 for task in tools for name in task},  # custom tools
        tool_capacity=capacity,
    )
    sim.step_latency = [list(task) for task in lats]
    return sim


def replay(
    deps: Deps, lats: Lats, tools: Tools, capacity: Capacity, cap: int | None, schedule: Schedule
) -> int:
    """Play ``schedule`` in a Simulator with ``tool_capacity``, each round's calls in the
    listed order, answering each task as soon as its last step is delivered."""
    sim = make_simulator(deps, lats, tools, capacity, cap)
    for r in itertools.count():
        assert sim.round == r
        for k in range(len(deps)):
            if sim.task_status[k] == TaskStatus.OPEN and sim.all_steps_done(k):
                sim.answer_task(k)
        if sim.finished:
            break
        for task, step in schedule.calls[r] if r < len(schedule.calls) else ():
            assert sim.step_is_ready(task, step)
            sim.call_step(task, step)
        sim.end_turn()
        assert r < 1000
    assert all(sim.task_correct)
    assert sim.violations == 0 and sim.redundant_calls == 0
    assert sim.rounds == schedule.rounds
    return sim.rounds


def check_all(
    deps: Deps,
    lats: Lats,
    tools: Tools,
    capacity: Capacity,
    cap: int | None,
    expected: int | None = None,
) -> Schedule:
    """Optimal schedule: exact, valid, replays in the simulator, no worse than the critical
    path (which replays too); optionally == expected."""
    schedule = optimal_schedule(deps, lats, cap, tools=tools, tool_capacity=capacity)
    assert schedule.exact and schedule.lower_bound == schedule.rounds
    if expected is not None:
        assert schedule.rounds == expected
    check_valid(deps, lats, tools, capacity, cap, schedule)
    replay(deps, lats, tools, capacity, cap, schedule)
    heuristic = critical_path_schedule(deps, lats, cap, tools=tools, tool_capacity=capacity)
    check_valid(deps, lats, tools, capacity, cap, heuristic)
    replay(deps, lats, tools, capacity, cap, heuristic)
    assert heuristic.lower_bound <= schedule.rounds <= heuristic.rounds
    return schedule


# ---------------------------------------------------------------------------------------
# Hand-computed cases.

# Task 0: x (tool A, L=5), alone. Task 1: u0 (B, L=0) -> u1 (A, L=0) -> u2 (B, L=4). A has
# one slot, B none. u1 is the urgent call of A, ready in round 1 (u0 is delivered then).
WAIT_DEPS: Deps = [[()], [(), (0,), (1,)]]
WAIT_LATS: Lats = [[5], [0, 0, 4]]
WAIT_TOOLS: Tools = [["A"], ["B", "A", "B"]]


@pytest.mark.parametrize("cap", [2, None])
def test_waiting_helps(cap: int | None) -> None:
    # Never idle, round 0 calls both ready steps x and u0: x holds A over rounds 0..5 (due
    # 0+1+5 = 6), u1 (called in 1) starts in 6, due 7, u2 called in 7, due 7+1+4 = 12:
    # 13 rounds. Waiting on x in round 0: u0 in 0, u1 in 1 (A free: due 2), x queued behind
    # it (starts 2, due 8), u2 in 2 (due 7): 9 rounds. Nothing does better: if x starts
    # before u1, u1 starts >= 6 and u2 is due >= 12; otherwise x starts after u1 is
    # delivered (>= 2), so x is due >= 8.
    capacity = {"A": 1}
    heuristic = critical_path_schedule(
        WAIT_DEPS, WAIT_LATS, cap, tools=WAIT_TOOLS, tool_capacity=capacity
    )
    assert heuristic.rounds == 13
    assert heuristic.calls[0] == ((1, 0), (0, 0))  # u0 has the longer tail (7 vs 6)
    schedule = check_all(WAIT_DEPS, WAIT_LATS, WAIT_TOOLS, capacity, cap, expected=9)
    assert schedule.calls[0] == ((1, 0),)  # x is ready but deliberately not called
    assert brute_force_rounds(WAIT_DEPS, WAIT_LATS, WAIT_TOOLS, capacity, cap) == 9
    # Without the capacity nothing queues: x in 0 with u0, u1 in 1, u2 in 2, due 7: 8 rounds.
    assert check_all(WAIT_DEPS, WAIT_LATS, WAIT_TOOLS, None, cap).rounds == 8


def test_waiting_example_one_call_per_round() -> None:
    # cap 1. Critical path: u0 (tail 7) in 0; in round 1 x and u1 tie at tail 6 and x (task
    # 0) wins: x due 7, u1 queued until 7 (due 8), u2 called in 8, due 13: 14 rounds.
    # Optimal: u0 in 0, u1 in 1 (due 2), x in 2 (starts 2, due 8), u2 in 3 (due 8): 9.
    capacity = {"A": 1}
    heuristic = critical_path_schedule(
        WAIT_DEPS, WAIT_LATS, 1, tools=WAIT_TOOLS, tool_capacity=capacity
    )
    assert heuristic.rounds == 14
    check_all(WAIT_DEPS, WAIT_LATS, WAIT_TOOLS, capacity, 1, expected=9)


def test_two_chains_share_a_capacity_one_tool() -> None:
    # Two chains T -> U; T (L=2) has one slot, U (L=0) none; cap 1. Without capacity: A0 in
    # 0 (due 3), B0 in 1 (due 4), A1 in 3 (due 4), B1 in 4 (due 5): 6 rounds. With it, T
    # serves A0 over 0..2 and B0 over 3..5 (due 6, the earliest possible for the second T
    # call), so B1 is called in >= 6 and due >= 7: 8 rounds, e.g. A0 in 0, B0 in 1 (queued
    # until 3), A1 in 3, B1 in 6.
    deps = chains(2, 2)
    lats = [[2, 0], [2, 0]]
    tools = [["T", "U"], ["T", "U"]]
    check_all(deps, lats, tools, None, 1, expected=6)
    schedule = check_all(deps, lats, tools, {"T": 1}, 1, expected=8)
    delivered = deliveries(schedule.calls, lats, tools, {"T": 1})
    assert sorted([delivered[0, 0], delivered[1, 0]]) == [3, 6]  # T serves them back to back
    # Every tool with one slot: U has two calls too, but they never overlap here.
    check_all(deps, lats, tools, 1, 1, expected=8)
    # Two slots: nothing queues.
    check_all(deps, lats, tools, 2, 1, expected=6)
    # Everything on one capacity-1 tool, L = 1: the four calls hold it 2 rounds each, back
    # to back from round 0: the last is due 8, 9 rounds (the sequential schedule's).
    check_all(chains(2, 2), [[1, 1], [1, 1]], [["A", "A"], ["A", "A"]], 1, 1, expected=9)


def test_queue_order_within_a_round() -> None:
    # Two steps of A (one slot) called in the same round: the first listed is served first.
    lats = [[3], [0]]
    tools = [["A"], ["A"]]
    first_x = [((0, 0), (1, 0))]
    first_y = [((1, 0), (0, 0))]
    # x first: x over 0..3 (due 4), y starts 4, due 5. y first: y due 1, x starts 1, due 5.
    assert task_finish_rounds(first_x, lats, tools=tools, tool_capacity=1) == [4, 5]
    assert task_finish_rounds(first_y, lats, tools=tools, tool_capacity=1) == [5, 1]
    assert task_finish_rounds(first_x, lats) == [4, 1]
    assert schedule_rounds(first_x, lats, tools=tools, tool_capacity={"A": 1}) == 6
    assert schedule_rounds(first_x, lats, tools=tools, tool_capacity={"B": 1}) == 5
    # With a child of y on another tool, y must go first (cap 2 allows both in round 0).
    deps: Deps = [[()], [(), (0,)]]
    schedule = check_all(deps, [[3], [0, 3]], [["A"], ["A", "B"]], {"A": 1}, 2, expected=6)
    # y in 0 (due 1), x in 0 or 1 behind it (due 5), y's child in 1 (due 5): 6 rounds.
    delivered = deliveries(schedule.calls, [[3], [0, 3]], [["A"], ["A", "B"]], {"A": 1})
    assert delivered[1, 0] == 1


def test_identical_tasks_with_different_tools() -> None:
    # Same DAG and latencies, different tools: the tasks are not interchangeable (the table's
    # task symmetry must include the tools). Found by comparing with a solver that ignored
    # them (it answered 13); the brute force agrees on 12.
    deps: Deps = [[(), (0,), (1,)], [(), (0,), (1,)]]
    lats: Lats = [[3, 1, 0], [3, 1, 0]]
    tools: Tools = [["B", "B", "A"], ["B", "A", "B"]]
    check_all(deps, lats, tools, 1, 1, expected=12)
    assert brute_force_rounds(deps, lats, tools, 1, 1) == 12


def test_no_capacity_is_todays_solver() -> None:
    # tool_capacity=None (with or without tools), a mapping naming no tool of the instance,
    # or capacities no tool can exceed: exactly the schedule of the solver without tools.
    for deps, lats, cap in SEARCHED_CASES:
        tools = [["A" if s % 2 else "B" for s in range(len(task))] for task in deps]
        plain = optimal_schedule(deps, lats, cap)
        assert optimal_schedule(deps, lats, cap, tools=tools) == plain
        assert optimal_schedule(deps, lats, cap, tools=tools, tool_capacity=None) == plain
        assert optimal_schedule(deps, lats, cap, tools=tools, tool_capacity={"Z": 1}) == plain
        many = sum(map(len, deps))
        assert optimal_schedule(deps, lats, cap, tools=tools, tool_capacity=many) == plain
        assert critical_path_schedule(
            deps, lats, cap, tools=tools, tool_capacity={"Z": 1}
        ) == critical_path_schedule(deps, lats, cap)


def test_for_instance_and_simulator() -> None:
    deps, lats, tools = WAIT_DEPS, WAIT_LATS, WAIT_TOOLS
    sim = make_simulator(deps, lats, tools, {"A": 1}, 2)
    by_simulator = optimal_schedule_for_simulator(sim)
    by_instance = optimal_schedule_for_instance(sim.instance, lats, 2, tool_capacity={"A": 1})
    assert by_simulator == by_instance
    assert by_simulator.rounds == 9
    unlimited = make_simulator(deps, lats, tools, None, 2)
    assert optimal_schedule_for_simulator(unlimited).rounds == 8


# ---------------------------------------------------------------------------------------
# Random instances against the brute force.


def random_case(rng: np.random.Generator) -> tuple[Deps, Lats, Tools, Capacity, int]:
    """1-3 tasks of 1-4 steps (chains or small DAGs; sometimes a copy of the previous task's
    DAG and latencies, with its own tools), latencies 0-3, 2-3 tool names shared across the
    tasks; capacities 1 or 2 for every tool, or per tool (some unlimited)."""
    names = ["A", "B", "C"][: int(rng.integers(2, 4))]
    deps: Deps = []
    lats: Lats = []
    tools: Tools = []
    for _ in range(int(rng.integers(1, 4))):
        if deps and rng.random() < 0.25:  # the previous task's DAG and latencies again
            deps.append(list(deps[-1]))
            lats.append(list(lats[-1]))
            tools.append([str(rng.choice(names)) for _ in deps[-1]])
            continue
        n_steps = int(rng.integers(1, 5))
        if rng.random() < 0.5:
            deps.append([(s - 1,) if s else () for s in range(n_steps)])
        else:
            deps.append([tuple(p for p in range(s) if rng.random() < 0.5) for s in range(n_steps)])
        lats.append([int(rng.integers(0, 4)) for _ in range(n_steps)])
        tools.append([str(rng.choice(names)) for _ in range(n_steps)])
    draw = rng.random()
    capacity: Capacity
    if draw < 0.3:
        capacity = 1
    elif draw < 0.45:
        capacity = 2
    else:
        capacity = {name: int(rng.integers(1, 3)) for name in names if rng.random() < 0.8}
        capacity = capacity or {names[0]: 1}
    return deps, lats, tools, capacity, int(rng.integers(1, 3))


def test_random_instances_match_brute_force() -> None:
    rng = np.random.default_rng(20240611)
    checked = beaten = searched = 0
    while checked < 500:
        deps, lats, tools, capacity, cap = random_case(rng)
        if sum(map(len, deps)) > 8:  # keeps the exhaustive search quick (about 5 ms each)
            continue
        checked += 1
        schedule = check_all(deps, lats, tools, capacity, cap)
        assert schedule.rounds == brute_force_rounds(deps, lats, tools, capacity, cap)
        heuristic = critical_path_schedule(deps, lats, cap, tools=tools, tool_capacity=capacity)
        beaten += schedule.rounds < heuristic.rounds
        searched += schedule.nodes > 0
    # The sample is not trivial: contention makes the critical path lose, and the search runs.
    assert beaten >= 20 and searched >= 20


def test_brute_force_without_capacity_matches_the_solver() -> None:
    # The brute force itself, on the rules without queues that tests/test_solver.py checks.
    for deps, lats, cap in SEARCHED_CASES[:6]:
        tools = [["A"] * len(task) for task in deps]
        expected = optimal_schedule(deps, lats, cap).rounds
        assert brute_force_rounds(deps, lats, tools, None, cap) == expected


@st.composite
def contended_cases(draw: st.DrawFn) -> tuple[Deps, Lats, Tools, Capacity, int | None]:
    deps: Deps = []
    lats: Lats = []
    tools: Tools = []
    for _ in range(draw(st.integers(1, 3))):
        n_steps = draw(st.integers(1, 3))
        deps.append([tuple(p for p in range(s) if draw(st.booleans())) for s in range(n_steps)])
        lats.append([draw(st.integers(0, 3)) for _ in range(n_steps)])
        tools.append([draw(st.sampled_from("ABC")) for _ in range(n_steps)])
    capacity: Capacity = draw(
        st.one_of(
            st.integers(1, 2),
            st.dictionaries(st.sampled_from("ABC"), st.integers(1, 2), min_size=1),
        )
    )
    return deps, lats, tools, capacity, draw(st.sampled_from([1, 2, None]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contended_cases())
def test_optimal_equals_brute_force(case: tuple[Deps, Lats, Tools, Capacity, int | None]) -> None:
    deps, lats, tools, capacity, cap = case
    schedule = check_all(deps, lats, tools, capacity, cap)
    assert schedule.rounds == brute_force_rounds(deps, lats, tools, capacity, cap)


def test_larger_instances_are_exact_and_replay() -> None:
    # The benchmark's shape (benchmarks/contention_gap.py): 2-3 chains of 2-6 steps, cap 1,
    # 2-3 shared tools of capacity 1. Too big for the brute force; exact, valid, replayed.
    rng = np.random.default_rng(7)
    for _ in range(25):
        names = ["A", "B", "C"][: int(rng.integers(2, 4))]
        sizes = [int(rng.integers(2, 7)) for _ in range(int(rng.integers(2, 4)))]
        deps = [[(s - 1,) if s else () for s in range(n)] for n in sizes]
        lats = [[int(rng.integers(0, 4)) for _ in range(n)] for n in sizes]
        tools = [[str(rng.choice(names)) for _ in range(n)] for n in sizes]
        check_all(deps, lats, tools, 1, 1)


# ---------------------------------------------------------------------------------------
# Input checks.


@pytest.mark.parametrize(
    ("tools", "capacity"),
    [
        (None, 1),  # tools missing
        ([["A", "B"]], 1),  # one task of tools for two tasks
        ([["A"], ["A"]], 1),  # a task with too few tools
        ([["A"], ["A", "B", "C"]], 1),  # a task with too many tools
        ([["A"], ["A", 3]], 1),  # not a tool name
        ("AB", 1),  # not a list per task
        ([["A"], "AB"], 1),  # a task's tools as a string
        ([["A"], ["A", "B"]], 0),  # capacity 0
        ([["A"], ["A", "B"]], -1),  # negative capacity
        ([["A"], ["A", "B"]], True),  # a bool is not a capacity
        ([["A"], ["A", "B"]], {"A": 0}),  # capacity 0 in a mapping
        ([["A"], ["A", "B"]], 1.5),  # not a whole number
    ],
)
def test_bad_input(tools: object, capacity: object) -> None:
    deps: Deps = [[()], [(), (0,)]]
    lats: Lats = [[1], [1, 1]]
    with pytest.raises(ValueError):
        optimal_schedule(deps, lats, 1, tools=tools, tool_capacity=capacity)
    with pytest.raises(ValueError):
        critical_path_schedule(deps, lats, 1, tools=tools, tool_capacity=capacity)
    with pytest.raises(ValueError):
        schedule_rounds([((0, 0),)], lats, tools=tools, tool_capacity=capacity)


def test_unknown_tools_in_a_mapping_are_ignored() -> None:
    deps: Deps = [[()], [(), (0,)]]
    lats: Lats = [[1], [1, 1]]
    tools: Tools = [["A"], ["A", "B"]]
    capacity: Mapping[str, int] = {"nope": 1, "B": 5}
    schedule = optimal_schedule(deps, lats, 1, tools=tools, tool_capacity=capacity)
    assert schedule == optimal_schedule(deps, lats, 1)
    assert schedule.rounds == check_all(deps, lats, tools, dict(capacity), 1).rounds
