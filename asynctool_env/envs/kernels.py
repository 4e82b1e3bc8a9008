"""The batched env's transition, compiled: one loop over envs per call, in Numba.

:class:`~asynctool_env.envs.vector.AsyncToolVectorEnv` keeps N episodes in arrays and calls
the four kernels here: :func:`reset_envs` (start episodes: draw the instance, the realized
latencies and the second stream's seed from each env's own numpy ``Generator``, exactly as a
single ``AsyncTool-v0`` reset draws them, and copy the instance's rows from the bank),
:func:`step_envs` (decode one decision per env, issue calls, answer, close turns, deliver,
pay rewards), :func:`observe_envs` (the pending queue, tool load, calls left and the action
mask) and :func:`episode_metrics` (the numeric episode metrics of the envs that ended). Each
is a plain loop over envs written as the single env's rules, one env at a time, so the
floats come out of the same operations in the same order as the single env's (rewards, the
``slip`` bound, the tool backlog): the batched env gives its sub-envs' episodes bit for bit.

Numba compiles them on first use (:func:`compiled`; a few seconds, cached on disk
afterwards, in ``__pycache__`` or Numba's cache folder). Numba reads and advances numpy
``Generator`` objects in place (the same bit generator state, the same algorithms), which
is what lets a reset draw inside the loop and stay the single env's stream. Without Numba
installed (``pip install 'asynctool-env[fast]'``; the ``rl`` extra includes it) the same
functions run as Python: exact, but far slower, and the env warns.

The per-env scalars live in one ``(N, N_SCALARS)`` int64 array ``es``, columns named by the
constants below (``ROUND``, ``FOCUSED``, the counters ``C_*``...).
"""

from __future__ import annotations

import math
import sys
from types import SimpleNamespace
from typing import Any

import numpy as np

#: The kernels :func:`compiled` hands out.
KERNELS = ("reset_envs", "wrong_calls", "step_envs", "observe_envs", "episode_metrics")
_compiled: list[SimpleNamespace] = []


def available() -> bool:
    """Whether the kernels are compiled (Numba is installed; else they run as Python)."""
    return compiled().List is not list


def compiled() -> SimpleNamespace:
    """The kernels (attributes named as in :data:`KERNELS`, and ``List``, the list type the
    generators go in), compiled with Numba on first use; without Numba, these functions as
    Python. Numba is imported here, not with the module, so that importing the package does
    not pay for it (about 0.15 s)."""
    if not _compiled:
        module = sys.modules[__name__]
        try:
            from numba import njit
            from numba.typed import List
        except ImportError:
            functions = {name: getattr(module, name) for name in KERNELS}
            _compiled.append(SimpleNamespace(**functions, List=list))
        else:
            # Inlined into the kernels that call it (a call costs more than its work).
            module._finish_bound = njit(cache=True, inline="always")(module._finish_bound)
            functions = {name: njit(cache=True)(getattr(module, name)) for name in KERNELS}
            _compiled.append(SimpleNamespace(**functions, List=List))
    return _compiled[0]


# Step and task codes (asynctool_env.core.simulator.StepStatus / TaskStatus).
PADDING, BLOCKED, READY, PENDING, DONE, FAILED = 0, 1, 2, 3, 4, 5
OPEN, ANSWERED = 1, 2
#: Codes of a step not called yet (its work still ahead of its tool).
_UNCALLED = (BLOCKED, READY, FAILED)
# What a decision turns into.
NONE, WAIT, SWITCH, CALL, ANSWER = 0, 1, 2, 3, 4
#: The sort key of a free slot of the calls in flight (after every call).
NO_CALL = np.iinfo(np.int64).max
#: Kinds of random latency draws a bank plans for the reset kernel (0: none planned).
DRAW_GEOMETRIC, DRAW_UNIFORM, DRAW_LOGNORMAL = 1, 2, 3

# Columns of the per-env scalars ``es``.
N_TASKS = 0
ROUND = 1
CALLS_TURN = 2  # calls made this turn
DECISIONS = 3  # decisions made this turn
FOCUSED = 4
OPEN_TASKS = 5
FINISH_ROUND = 6  # round of the last answer, -1 before
LAST_TASK = 7  # task of the last call, -1 before
NEXT_ID = 8  # id of the next call
READY_COUNT = 9  # READY steps (the simulator's ready_count)
INSTANCE = 10  # index into the bank the episode came from
EXTRA_SEED = 11  # the second stream's seed
IN_FLIGHT = 12  # calls in flight
C_CALLS = 13
C_CORRECT = 14
C_VIOLATIONS = 15
C_REDUNDANT = 16
C_INVALID = 17
C_PREMATURE = 18
C_ANSWERS = 19  # correct answers
C_STEPS_DONE = 20
C_IDLE = 21
C_SWITCHES = 22
C_IN_FLIGHT_ROUNDS = 23
C_QUEUED = 24
N_SCALARS = 25

#: The numeric episode metrics :func:`episode_metrics` fills, by dtype, in the order of
#: :class:`~asynctool_env.metrics.EpisodeMetrics`'s fields within each dtype.
INT_METRICS = (
    "n_tasks",
    "n_steps",
    "calls",
    "correct_calls",
    "tasks_succeeded",
    "rounds",
    "sequential_rounds",
    "idle_rounds",
    "switches",
    "dependency_violations",
    "redundant_calls",
    "unmatched_calls",
    "invalid_actions",
    "premature_answers",
    "neglected_tasks",
    "tool_confusions",
    "queued_rounds",
    "revoked_answers",
    "collateral_writes",
)
BOOL_METRICS = ("finished", "instance_success")
FLOAT_METRICS = (
    "step_precision",
    "step_recall",
    "step_f1",
    "task_success_rate",
    "speedup_vs_sequential",
    "idle_ratio",
    "mean_in_flight",
    "mean_ready_wait",
)


def typed_generators(generators: list[np.random.Generator]) -> Any:
    """The envs' generators in a list the kernels can index (Numba's typed list: each item
    shares its bit generator's state with the Python object)."""
    return compiled().List(generators)


# -- reset ------------------------------------------------------------------------------------


def _finish_bound(
    i: int,
    es: np.ndarray,
    status: np.ndarray,
    task_status: np.ndarray,
    parents: np.ndarray,
    expected: np.ndarray,
    p_valid: np.ndarray,
    p_correct: np.ndarray,
    p_task: np.ndarray,
    p_step: np.ndarray,
    p_due: np.ndarray,
    pending_due: np.ndarray,
    delivery: np.ndarray,
) -> float:
    """:meth:`Simulator.finish_lower_bound` of env ``i`` (the ``slip`` potential);
    ``pending_due`` and ``delivery`` are ``(K, S)`` float scratch arrays."""
    K, S = status.shape[1], status.shape[2]
    if es[i, OPEN_TASKS] == 0:
        return float(es[i, FINISH_ROUND] + 1)
    now = float(es[i, ROUND])
    for slot in range(p_valid.shape[1]):  # (every PENDING step has its correct call here)
        if p_valid[i, slot] and p_correct[i, slot]:
            pending_due[p_task[i, slot], p_step[i, slot]] = float(p_due[i, slot])
    latest = now
    for k in range(K):
        if task_status[i, k] != OPEN:  # (steps only wait on steps of their own task)
            continue
        for s in range(S):
            code = status[i, k, s]
            if code == PADDING:  # the task's steps are done
                break
            if code == DONE:
                value = now
            elif code == PENDING:
                value = pending_due[k, s]
            else:
                start = -np.inf
                for parent in range(s):
                    if parents[i, k, s, parent] and delivery[k, parent] > start:
                        start = delivery[k, parent]
                if now > start:
                    start = now
                value = start + 1.0 + expected[i, k, s]
            delivery[k, s] = value
            if value > latest:
                latest = value
    return latest + 1.0


def reset_envs(
    envs: np.ndarray,
    chosen: np.ndarray,
    draw: bool,
    gens: Any,
    realized_given: np.ndarray,
    extra_given: np.ndarray,
    slip: bool,
    contention: bool,
    # the bank
    b_n_tasks: np.ndarray,
    b_n_steps: np.ndarray,
    b_parents: np.ndarray,
    b_n_parents: np.ndarray,
    b_latency: np.ndarray,
    b_expected: np.ndarray,
    b_tail: np.ndarray,
    b_code: np.ndarray,
    b_writes: np.ndarray,
    b_tool: np.ndarray,
    b_limited: np.ndarray,
    b_capacity: np.ndarray,
    b_fixed: np.ndarray,
    b_status: np.ndarray,
    b_tasks: np.ndarray,
    b_roots: np.ndarray,
    r_count: np.ndarray,
    r_pos: np.ndarray,
    r_kind: np.ndarray,
    r_param: np.ndarray,
    # the state
    es: np.ndarray,
    n_steps: np.ndarray,
    parents: np.ndarray,
    latency: np.ndarray,
    expected: np.ndarray,
    tail: np.ndarray,
    code: np.ndarray,
    writes: np.ndarray,
    tool: np.ndarray,
    limited: np.ndarray,
    capacity: np.ndarray,
    slots: np.ndarray,
    realized: np.ndarray,
    status: np.ndarray,
    missing: np.ndarray,
    undone: np.ndarray,
    task_status: np.ndarray,
    premature: np.ndarray,
    repeated: np.ndarray,
    answer_round: np.ndarray,
    first_call: np.ndarray,
    delivered: np.ndarray,
    p_valid: np.ndarray,
    p_key: np.ndarray,
    p_fields: np.ndarray,
    p_correct: np.ndarray,
    p_task: np.ndarray,
    p_step: np.ndarray,
    p_due: np.ndarray,
    finish_bound: np.ndarray,
) -> None:
    """Start a new episode in each env of ``envs``.

    With ``draw``, env ``i`` draws from ``gens[i]`` as a single env's reset does: the
    instance (unless ``chosen[j] >= 0`` names it), the random latencies in the simulator's
    order (task by task, step by step), then the second stream's seed. Without it the caller
    drew them (``chosen``, ``realized_given[j]``, ``extra_given[j]``)."""
    B = b_n_tasks.shape[0]
    K, S = status.shape[1], status.shape[2]
    pending_due, delivery = np.empty((K, S)), np.empty((K, S))  # _finish_bound's scratch
    for j in range(envs.shape[0]):
        i = envs[j]
        b = chosen[j]
        if draw:
            generator = gens[i]
            if b < 0:
                b = generator.integers(0, B)
            realized[i] = b_fixed[b]
            for r in range(r_count[b]):
                position = r_pos[b, r]
                kind = r_kind[b, r]
                if kind == DRAW_GEOMETRIC:
                    value = generator.geometric(r_param[b, r, 0]) - 1
                    top = int(r_param[b, r, 1])
                    if value > top:
                        value = top
                elif kind == DRAW_UNIFORM:
                    value = generator.integers(int(r_param[b, r, 0]), int(r_param[b, r, 1]))
                else:  # DRAW_LOGNORMAL: round(exp(normal(log median, sigma))) in [0, max]
                    draw_ = round(math.exp(generator.normal(r_param[b, r, 0], r_param[b, r, 1])))
                    value = min(max(draw_, 0), int(r_param[b, r, 2]))
                realized[i, position // S, position % S] = value
            es[i, EXTRA_SEED] = generator.integers(0, 2**63 - 1)
        else:
            realized[i] = realized_given[j]
            es[i, EXTRA_SEED] = extra_given[j]
        es[i, INSTANCE] = b
        for column in range(N_SCALARS):
            if column != INSTANCE and column != EXTRA_SEED:
                es[i, column] = 0
        es[i, N_TASKS] = b_n_tasks[b]
        es[i, OPEN_TASKS] = b_n_tasks[b]
        es[i, FINISH_ROUND] = -1
        es[i, LAST_TASK] = -1
        es[i, READY_COUNT] = b_roots[b]
        n_steps[i] = b_n_steps[b]
        undone[i] = b_n_steps[b]
        task_status[i] = b_tasks[b]
        premature[i] = False
        repeated[i] = False
        answer_round[i] = -1
        parents[i] = b_parents[b]
        latency[i] = b_latency[b]
        expected[i] = b_expected[b]
        tail[i] = b_tail[b]
        code[i] = b_code[b]
        writes[i] = b_writes[b]
        tool[i] = b_tool[b]
        limited[i] = b_limited[b]
        status[i] = b_status[b]
        missing[i] = b_n_parents[b]
        first_call[i] = -1
        delivered[i] = -1
        if contention:
            for t in range(capacity.shape[1]):
                capacity[i, t] = b_capacity[b, t] if t < b_capacity.shape[1] else 0
                for w in range(slots.shape[2]):
                    slots[i, t, w] = 0
        p_valid[i] = False
        p_key[i] = NO_CALL
        p_fields[i] = -1.0
        if slip:
            finish_bound[i] = _finish_bound(
                i, es, status, task_status, parents, expected, p_valid, p_correct, p_task,
                p_step, p_due, pending_due, delivery,
            )  # fmt: skip


# -- step -------------------------------------------------------------------------------------


def wrong_calls(
    actions: np.ndarray,
    active: np.ndarray,
    direct: bool,
    action_kind: np.ndarray,
    action_task: np.ndarray,
    action_step: np.ndarray,
    es: np.ndarray,
    n_steps: np.ndarray,
    status: np.ndarray,
    task_status: np.ndarray,
) -> np.ndarray:
    """``(env, task, step)`` rows of the calls this step's actions make that are not correct
    (their latency comes from the env's second stream, drawn by the caller first)."""
    K, S = status.shape[1], status.shape[2]
    out = np.empty((0, 3), np.int64)
    rows = []
    for i in range(actions.shape[0]):
        if not active[i]:
            continue
        a = actions[i]
        if direct:
            if action_kind[a] != CALL:
                continue
            task, step = action_task[a], action_step[a]
        else:
            if a <= K or a > K + S:
                continue
            task, step = es[i, FOCUSED], a - K - 1
        if task >= es[i, N_TASKS] or task_status[i, task] != OPEN or step >= n_steps[i, task]:
            continue
        if status[i, task, step] != READY:
            rows.append((i, task, step))
    if len(rows) == 0:
        return out
    out = np.empty((len(rows), 3), np.int64)
    for r in range(len(rows)):
        out[r, 0], out[r, 1], out[r, 2] = rows[r]
    return out


def step_envs(
    actions: np.ndarray,
    active: np.ndarray,
    extra_latency: np.ndarray,
    direct: bool,
    max_calls: int,
    max_decisions: int,
    wait_jumps: bool,
    max_rounds: int,
    weights: np.ndarray,
    slip: float,
    contention: bool,
    action_kind: np.ndarray,
    action_task: np.ndarray,
    action_step: np.ndarray,
    es: np.ndarray,
    n_steps: np.ndarray,
    parents: np.ndarray,
    expected: np.ndarray,
    code: np.ndarray,
    writes: np.ndarray,
    tool: np.ndarray,
    limited: np.ndarray,
    capacity: np.ndarray,
    slots: np.ndarray,
    realized: np.ndarray,
    status: np.ndarray,
    missing: np.ndarray,
    undone: np.ndarray,
    task_status: np.ndarray,
    premature: np.ndarray,
    repeated: np.ndarray,
    answer_round: np.ndarray,
    first_call: np.ndarray,
    delivered: np.ndarray,
    p_valid: np.ndarray,
    p_due: np.ndarray,
    p_key: np.ndarray,
    p_task: np.ndarray,
    p_step: np.ndarray,
    p_correct: np.ndarray,
    p_fields: np.ndarray,
    finish_bound: np.ndarray,
    rewards: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
) -> int:
    """One decision of every active env (``max_calls < 0``: no call cap; ``contention``:
    some tool has a capacity). Fills ``rewards``, ``terminated`` and ``truncated``; returns
    the most calls any env has in flight."""
    N, K, S = status.shape[0], status.shape[1], status.shape[2]
    most_in_flight = 0
    pending_due, delivery = np.empty((K, S)), np.empty((K, S))  # _finish_bound's scratch
    before = np.zeros(9, np.int64)
    for i in range(N):
        rewards[i] = 0.0
        terminated[i] = False
        truncated[i] = False
        if not active[i]:
            if es[i, IN_FLIGHT] > most_in_flight:
                most_in_flight = es[i, IN_FLIGHT]
            continue
        # The reward counters before, in RewardMeter order.
        before[0] = es[i, C_ANSWERS]
        before[1] = es[i, C_PREMATURE]
        before[2] = es[i, C_STEPS_DONE]
        before[3] = es[i, ROUND] + (1 if es[i, OPEN_TASKS] == 0 else 0)
        before[4] = es[i, C_IDLE]
        before[5] = es[i, C_INVALID]
        before[6] = es[i, C_VIOLATIONS]
        before[7] = es[i, C_REDUNDANT]
        a = actions[i]
        op = NONE
        step = 0
        invalid = False
        n_tasks = es[i, N_TASKS]
        # Decode the decision.
        if direct:
            if a == 0:
                op = WAIT
            else:
                task = action_task[a]
                if task >= n_tasks:
                    invalid = True
                else:
                    es[i, FOCUSED] = task
                    op = CALL if action_kind[a] == CALL else ANSWER
                    step = action_step[a]
        else:
            if a == 0:
                op = WAIT
            elif a <= K:
                target = a - 1
                if target < n_tasks and target != es[i, FOCUSED] and task_status[i, target] == OPEN:
                    es[i, FOCUSED] = target
                else:
                    invalid = True
            elif a <= K + S:
                op = CALL
                step = a - K - 1
            else:
                op = ANSWER
        focused = es[i, FOCUSED]
        focus_open = focused < n_tasks and task_status[i, focused] == OPEN
        end_turn = op == WAIT
        # A call.
        if op == CALL:
            if focus_open and step < n_steps[i, focused]:
                # Issue the call (inlined: a helper taking these arrays costs more than
                # the work, in Numba's argument handling).
                task = focused
                current = status[i, task, step]
                correct = current == READY
                redundant = current in (PENDING, DONE)
                latency = realized[i, task, step] if correct else extra_latency[i]
                now = es[i, ROUND]
                start = now
                if contention and limited[i, task, step]:
                    t = tool[i, task, step]
                    # The soonest free slot of the tool (the first of the earliest).
                    soonest, earliest = 0, NO_CALL
                    for w in range(min(capacity[i, t], slots.shape[2])):
                        if slots[i, t, w] < earliest:
                            soonest, earliest = w, slots[i, t, w]
                    start = max(start, earliest)
                    slots[i, t, soonest] = start + 1 + latency
                due = start + 1 + latency
                slot = 0
                while p_valid[i, slot]:
                    slot += 1
                p_valid[i, slot] = True
                p_due[i, slot] = due
                p_key[i, slot] = (due << 32) + es[i, NEXT_ID]
                p_task[i, slot] = task
                p_step[i, slot] = step
                p_correct[i, slot] = correct
                p_fields[i, slot, 0] = task
                p_fields[i, slot, 1] = step
                p_fields[i, slot, 2] = code[i, task, step]
                p_fields[i, slot, 3] = now
                p_fields[i, slot, 4] = expected[i, task, step]
                es[i, IN_FLIGHT] += 1
                if correct:
                    es[i, READY_COUNT] -= 1
                    es[i, C_CORRECT] += 1
                    if first_call[i, task, step] < 0:
                        first_call[i, task, step] = now
                    status[i, task, step] = PENDING
                elif redundant:
                    es[i, C_REDUNDANT] += 1
                    if writes[i, task, step]:
                        repeated[i, task] = True
                else:  # a dependency violation: the step shows FAILED until its inputs arrive
                    es[i, C_VIOLATIONS] += 1
                    status[i, task, step] = FAILED
                es[i, NEXT_ID] += 1
                es[i, C_CALLS] += 1
                es[i, C_QUEUED] += start - now
                es[i, CALLS_TURN] += 1
                last = es[i, LAST_TASK]
                if last >= 0 and last != task:
                    es[i, C_SWITCHES] += 1
                es[i, LAST_TASK] = task
                if max_calls >= 0 and es[i, CALLS_TURN] >= max_calls:
                    end_turn = True
            else:
                invalid = True
        # An answer.
        if op == ANSWER:
            if focus_open:
                all_done = undone[i, focused] == 0
                task_status[i, focused] = ANSWERED
                premature[i, focused] = not all_done
                if all_done and not repeated[i, focused]:
                    es[i, C_ANSWERS] += 1
                if not all_done:
                    es[i, C_PREMATURE] += 1
                answer_round[i, focused] = es[i, ROUND]
                es[i, OPEN_TASKS] -= 1
                if es[i, OPEN_TASKS] == 0:
                    es[i, FINISH_ROUND] = es[i, ROUND]
            else:
                invalid = True
        if invalid:
            es[i, C_INVALID] += 1
        es[i, DECISIONS] += 1
        if es[i, DECISIONS] >= max_decisions:
            end_turn = True
        done = es[i, OPEN_TASKS] == 0
        if end_turn and not done:
            # Close the turn: move the clock, deliver the calls now due (inlined).
            in_flight = es[i, IN_FLIGHT]
            silent = es[i, CALLS_TURN] == 0
            advance = 1
            if wait_jumps and silent and in_flight > 0:
                soonest = NO_CALL
                for slot in range(p_valid.shape[1]):
                    if p_valid[i, slot] and p_due[i, slot] < soonest:
                        soonest = p_due[i, slot]
                advance = max(1, soonest - es[i, ROUND])
            if silent and es[i, READY_COUNT] > 0:
                es[i, C_IDLE] += advance
            es[i, C_IN_FLIGHT_ROUNDS] += in_flight * advance
            es[i, ROUND] += advance
            now = es[i, ROUND]
            es[i, CALLS_TURN] = 0
            es[i, DECISIONS] = 0
            freed = False
            for slot in range(p_valid.shape[1] if in_flight > 0 else 0):
                if not p_valid[i, slot] or p_due[i, slot] > now:
                    continue
                p_valid[i, slot] = False
                p_key[i, slot] = NO_CALL
                for f in range(5):
                    p_fields[i, slot, f] = -1.0
                es[i, IN_FLIGHT] -= 1
                if not p_correct[i, slot]:
                    continue
                k, s = p_task[i, slot], p_step[i, slot]
                status[i, k, s] = DONE
                delivered[i, k, s] = now
                es[i, C_STEPS_DONE] += 1
                undone[i, k] -= 1
                for child in range(S):
                    if parents[i, k, child, s]:
                        missing[i, k, child] -= 1
                freed = True
            if freed:  # steps whose last parent arrived (blocked, or failed by an early call)
                for k in range(K):
                    for s in range(S):
                        value = status[i, k, s]
                        if missing[i, k, s] == 0 and value in (BLOCKED, FAILED):
                            status[i, k, s] = READY
                            es[i, READY_COUNT] += 1
        # The reward: the meter's terms in its order, then slip.
        reward = 0.0
        after = (
            es[i, C_ANSWERS],
            es[i, C_PREMATURE],
            es[i, C_STEPS_DONE],
            es[i, ROUND] + (1 if es[i, OPEN_TASKS] == 0 else 0),
            es[i, C_IDLE],
            es[i, C_INVALID],
            es[i, C_VIOLATIONS],
            es[i, C_REDUNDANT],
        )
        for term in range(8):
            if weights[term] != 0.0:
                reward += weights[term] * (after[term] - before[term])
        if slip != 0.0:
            bound = _finish_bound(
                i, es, status, task_status, parents, expected, p_valid, p_correct, p_task,
                p_step, p_due, pending_due, delivery,
            )  # fmt: skip
            reward += slip * (bound - finish_bound[i])
            finish_bound[i] = bound
        rewards[i] = reward
        terminated[i] = done
        truncated[i] = not done and es[i, ROUND] >= max_rounds
        if es[i, IN_FLIGHT] > most_in_flight:
            most_in_flight = es[i, IN_FLIGHT]
    return most_in_flight


# -- observation ------------------------------------------------------------------------------


def observe_envs(
    direct: bool,
    contention: bool,
    max_calls: int,
    max_rounds: int,
    max_backlog: float,
    es: np.ndarray,
    n_steps: np.ndarray,
    latency: np.ndarray,
    tool: np.ndarray,
    limited: np.ndarray,
    capacity: np.ndarray,
    slots: np.ndarray,
    status: np.ndarray,
    undone: np.ndarray,
    task_status: np.ndarray,
    p_valid: np.ndarray,
    p_key: np.ndarray,
    p_fields: np.ndarray,
    pending: np.ndarray,
    queue: np.ndarray,
    backlog: np.ndarray,
    calls_left: np.ndarray,
    mask: np.ndarray,
) -> None:
    """Fill the observation parts that are computed: ``pending`` (the calls in flight,
    soonest due first, ties by call order), the tool load under contention, ``calls_left``
    and the action ``mask``."""
    N, K, S = status.shape[0], status.shape[1], status.shape[2]
    P = pending.shape[1] // 5
    KS = K * S
    order = np.empty(p_valid.shape[1], np.int64)
    free = np.empty(capacity.shape[1], np.int64)  # each tool's soonest free slot
    work = np.empty(capacity.shape[1])  # each tool's work not yet called
    for i in range(N):
        now = es[i, ROUND]
        # Calls in flight, sorted by (due, call id): insertion sort over the valid slots.
        count = 0
        for slot in range(p_valid.shape[1]):
            if p_valid[i, slot]:
                key = p_key[i, slot]
                position = count
                while position > 0 and p_key[i, order[position - 1]] > key:
                    order[position] = order[position - 1]
                    position -= 1
                order[position] = slot
                count += 1
        for row in range(P):
            if row < count:
                slot = order[row]
                pending[i, row * 5] = p_fields[i, slot, 0]
                pending[i, row * 5 + 1] = p_fields[i, slot, 1]
                pending[i, row * 5 + 2] = p_fields[i, slot, 2]
                pending[i, row * 5 + 3] = now - p_fields[i, slot, 3]
                pending[i, row * 5 + 4] = p_fields[i, slot, 4]
            else:
                for f in range(5):
                    pending[i, row * 5 + f] = -1.0
        if contention:  # step_queue and step_backlog (see AsyncTool-v0)
            for t in range(capacity.shape[1]):
                free[t] = NO_CALL
                for w in range(min(capacity[i, t], slots.shape[2])):
                    free[t] = min(free[t], slots[i, t, w])
                work[t] = 0.0
            # Each tool's work summed step by step in the single env's order, in float64
            # (stored as float32, like its buffer), so that the sums agree to the last bit.
            for k in range(K):
                for s in range(S):
                    value = status[i, k, s]
                    if limited[i, k, s] and task_status[i, k] == OPEN and value in _UNCALLED:
                        work[tool[i, k, s]] += 1.0 + np.float64(latency[i, k, s])
            for k in range(K):
                for s in range(S):
                    a = k * S + s
                    if not limited[i, k, s]:
                        queue[i, a] = 0.0
                        backlog[i, a] = 0.0
                        continue
                    t = tool[i, k, s]
                    queue[i, a] = min(max(free[t] - now, 0), max_rounds)
                    value = status[i, k, s]
                    own = 0.0
                    if task_status[i, k] == OPEN and value in _UNCALLED:
                        own = 1.0 + np.float64(latency[i, k, s])
                    backlog[i, a] = min(work[t] - own, max_backlog)
        if max_calls >= 0:
            calls_left[i, 0] = min(max_calls - es[i, CALLS_TURN], KS)
        else:
            calls_left[i, 0] = KS
        # The action mask.
        for column in range(mask.shape[1]):
            mask[i, column] = 0
        mask[i, 0] = 1
        if direct:
            for k in range(K):
                if task_status[i, k] != OPEN:
                    continue
                for s in range(S):
                    if status[i, k, s] == READY:
                        mask[i, 1 + k * S + s] = 1
                if undone[i, k] == 0:
                    mask[i, 1 + KS + k] = 1
        else:
            focused = es[i, FOCUSED]
            for k in range(K):
                if task_status[i, k] == OPEN and k != focused:
                    mask[i, 1 + k] = 1
            if task_status[i, focused] == OPEN:
                for s in range(S):
                    if status[i, focused, s] == READY:
                        mask[i, 1 + K + s] = 1
                if undone[i, focused] == 0:
                    mask[i, 1 + K + S] = 1


# -- metrics ----------------------------------------------------------------------------------


def episode_metrics(
    envs: np.ndarray,
    es: np.ndarray,
    n_steps: np.ndarray,
    parents: np.ndarray,
    realized: np.ndarray,
    task_status: np.ndarray,
    premature: np.ndarray,
    repeated: np.ndarray,
    answer_round: np.ndarray,
    first_call: np.ndarray,
    delivered: np.ndarray,
    ints: np.ndarray,
    bools: np.ndarray,
    floats: np.ndarray,
    modes: np.ndarray,
) -> None:
    """The numeric episode metrics of ``envs`` (:func:`asynctool_env.metrics.compute_metrics`
    on a numeric env's trace) into columns of ``ints``, ``bools`` and ``floats`` (rows in
    :data:`INT_METRICS`, :data:`BOOL_METRICS`, :data:`FLOAT_METRICS` order), and each
    episode's failure-mode labels as bits (``FAILURE_MODES`` order) into ``modes``."""
    K, S = n_steps.shape[1], parents.shape[2]
    for j in range(envs.shape[0]):
        i = envs[j]
        n_tasks = es[i, N_TASKS]
        total_steps = 0
        sequential = 1
        for k in range(K):
            total_steps += n_steps[i, k]
            for s in range(n_steps[i, k]):
                sequential += 1 + realized[i, k, s]
        finished = es[i, OPEN_TASKS] == 0
        rounds = es[i, FINISH_ROUND] + 1 if finished else es[i, ROUND]
        rounds = max(rounds, 1)
        calls = es[i, C_CALLS]
        correct = es[i, C_CORRECT]
        precision = correct / max(calls, 1) if calls > 0 else 0.0
        recall = es[i, C_STEPS_DONE] / max(total_steps, 1) if total_steps > 0 else 0.0
        both = precision + recall
        f1 = 2 * precision * recall / both if both > 0 else 0.0
        succeeded = 0
        neglected = 0
        premature_count = 0
        for k in range(n_tasks):
            answered = task_status[i, k] == ANSWERED
            if answered and not premature[i, k] and not repeated[i, k]:
                succeeded += 1
            if not answered:
                neglected += 1
            if answered and premature[i, k]:
                premature_count += 1
        # Mean wait of a ready step (see metrics.compute_metrics).
        waits = 0
        n_waits = 0
        last = rounds - 1
        for k in range(K):
            for s in range(n_steps[i, k]):
                reached = True
                ready_round = 0
                for parent in range(S):
                    if parents[i, k, s, parent]:
                        if delivered[i, k, parent] < 0:
                            reached = False
                        elif delivered[i, k, parent] > ready_round:
                            ready_round = delivered[i, k, parent]
                if not reached:
                    continue
                if first_call[i, k, s] >= 0:
                    end = first_call[i, k, s]
                elif answer_round[i, k] >= 0:
                    end = answer_round[i, k]
                else:
                    end = last
                if end >= ready_round:
                    waits += end - ready_round
                    n_waits += 1
        idle = es[i, C_IDLE]
        values = (
            n_tasks,
            total_steps,
            calls,
            correct,
            succeeded,
            rounds,
            sequential,
            idle,
            es[i, C_SWITCHES],
            es[i, C_VIOLATIONS],
            es[i, C_REDUNDANT],
            0,  # unmatched calls: written calls only
            es[i, C_INVALID],
            premature_count,
            neglected,
            0,  # tool confusions: written calls only
            es[i, C_QUEUED],
            0,  # revoked answers: written calls only
            0,  # collateral writes: written calls only
        )
        for row in range(len(values)):
            ints[row, i] = values[row]
        bools[0, i] = finished
        bools[1, i] = succeeded == n_tasks
        floats[0, i] = precision
        floats[1, i] = recall
        floats[2, i] = f1
        floats[3, i] = succeeded / n_tasks
        floats[4, i] = sequential / rounds if finished else 0.0
        floats[5, i] = min(idle / rounds, 1.0)
        floats[6, i] = es[i, C_IN_FLIGHT_ROUNDS] / rounds
        floats[7, i] = waits / max(n_waits, 1) if n_waits > 0 else 0.0
        # Failure modes (bit j: FAILURE_MODES[j]); spoiled and collateral: written calls only.
        bits = 0
        if es[i, C_VIOLATIONS] > 0:
            bits |= 1
        if neglected > 0:
            bits |= 2
        if premature_count > 0:
            bits |= 8
        if es[i, C_REDUNDANT] > 0:
            bits |= 16
        if idle > 0:
            bits |= 32
        modes[i] = bits
