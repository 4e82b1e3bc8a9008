"""The exact solver: the fewest rounds in which an episode's gold steps can all be done.

The rules
---------
The rules are the simulator's (:mod:`asynctool_env.core.simulator`), on the realized
latencies of an episode. An instance has tasks; each task's steps form a DAG
(``depends_on``: earlier steps of the same task); step ``s`` has latency ``L_s >= 0``.
Time runs in rounds ``0, 1, 2, ...``; in each round at most ``cap`` calls may be made
(``max_calls_per_turn``, ``None`` for no limit). A call of ``s`` made in round ``r`` is
delivered at the start of round ``r + 1 + L_s``; ``s`` may be called in round ``r`` only when
every parent has been delivered at a round ``<= r``. Every step is called exactly once, and a
task is answered in the round its last step is delivered, so::

    rounds = max over steps of (delivery round) + 1

One one-step task with ``L = 1`` takes 3 rounds (call in round 0, delivery and answer in
round 2); the sequential schedule (:func:`sequential_rounds`) takes ``sum(1 + L) + 1``; two
chains of ``n`` steps with ``L = 1`` and ``cap = 1`` take ``2n + 2`` at best (interleave them).

**Tool capacities** (``tool_capacity``, the simulator's *Tool servers and contention*): each
step also names its tool, and a tool may have ``c`` slots shared by every task. A call of
``s`` made in round ``r`` then *starts* in round ``start = max(r, earliest slot-free round of
its tool)``, takes that slot until its delivery at ``start + 1 + L_s``, and the queue is
first come, first served: calls made earlier get earlier slots, and calls made in the same
round are served in the order they are made. The call still uses a call slot of round ``r``.
Without a capacity ``start = r``. A tool whose capacity is at least the number of steps that
use it never queues a call, and is treated as unlimited.

Never idle, and when waiting pays
---------------------------------
Calls take one slot of one round whatever their latency, which makes idling useless when no
tool is limited: there is an optimal schedule in which every round makes ``min(cap, #ready)``
calls. Take an optimal schedule and the earliest round ``r`` with a free slot while some
ready step ``s`` is called later, in round ``r' > r``. Moving ``s`` to round ``r`` keeps the
schedule valid (``s``'s parents were delivered by ``r``, there was a free slot, and ``s``'s
children only see their input earlier) and delivers ``s`` earlier, so ``rounds`` does not
grow. Each move lowers the sum of call rounds, so the moves end, in a schedule that never
leaves a slot free while a step is ready. The search therefore branches only on *which*
ready steps fill the slots, and with ``cap = None`` (or whenever every ready step fits)
there is nothing to choose: calling everything ready at once is optimal.

With limited tools the argument breaks for their steps: calling ``s`` earlier can put it in
its tool's queue ahead of a more urgent call of the same tool made a round later, which then
starts (and delivers) later. Example: tool ``A`` of capacity 1, a step ``x`` of ``A`` with
``L = 5`` and no child, ready in round 0, and a step ``y`` of ``A`` that becomes ready in
round 1 and heads a long chain. Calling ``x`` in round 0 holds ``A`` until round 6, so ``y``
starts in round 6; waiting in round 0 (or calling something else) lets ``y`` start in round 1
and ``x`` after it. The move still works for a step of an unlimited tool: it takes no tool
slot, so moving it earlier changes nobody's start. So there is an optimal schedule in which,
in every round, the calls made are a set ``S`` of ready steps with ``|S| <= cap`` and either
``|S| = cap`` or ``S`` holds every ready step of an unlimited tool. Waiting (``S`` empty) is
thus possible only while no unlimited-tool step is ready. The order of the calls of ``S``
matters only among steps of one limited tool that do not all find a free slot this round;
the search tries every distinct order of those.

The search
----------
Depth-first branch and bound over decision points, with memoization. A state is the status
of every step, relative to the current round: not called yet, delivered, or in flight with
``k >= 1`` rounds left until delivery (a call waiting in a queue is in flight too, with a
longer ``k``). Its value ``g`` is the number of rounds still needed (``rounds - now``), which
does not depend on the absolute round, so equal states reached by different orders share one
table entry. From a state the search tries each allowed choice (above), then moves the clock:
by one round when the choice left a ready step uncalled, otherwise to the next round in which
something is ready (jumping over rounds where everything waits on a response: no decision is
made there).

The slot-free rounds of a limited tool are part of the state, but they need not be stored:
they are the ``c`` largest remainders ``k`` of the tool's calls in flight (0 for a free
slot). Proof: a call that is not the last one served by its slot was, when the next call
took that slot, the slot-free round at the top of the heap, i.e. no later than every slot's
free round then, and free rounds only grow; so every such call is due no later than every
slot's last call, and the last calls of the ``c`` slots are the ``c`` latest due calls (a
slot whose last call was delivered is free, code 0). The table key is therefore the step
codes alone, as without capacities.

``_Search.solve(state, limit)`` answers "is ``g(state) < limit``?": it returns ``g`` exactly
when it is below ``limit``, or else a lower bound ``>= limit`` (fail-high); both kinds of
answer are kept (an exact table and a lower-bound table), so a state refuted under one limit
is refuted again in ``O(1)`` under any limit no larger. A child gets the limit
``min(limit, best so far) - dt``; a node stops trying children once ``best`` meets its own
lower bound, and the whole search stops once a schedule meets the root's bound. The root is
searched with the limit set by the heuristics (below): either the search returns something
smaller, with a schedule realizing it (rebuilt from the path and the exact table), or it
proves the best heuristic optimal. When a heuristic already meets the root bound no node is
expanded at all, which is the common case.

Choices are tried best-first: ready steps are ordered by their tail (longest remaining
latency-weighted path first), so the first leaf reached is the critical-path schedule and
the incumbent improves from there; choices that call fewer steps (waiting) come last.

The upper bound at the root is the better of two list schedules: the critical path (never
idle, longest tail first, queueing replayed) and, with limited tools, a contention-aware
variant of it that holds a ready step of a limited tool back (waits) when calling it would
put it in the queue ahead of ``c`` steps of that tool with longer tails that can be called
before it is delivered (:func:`_aware_heuristic`). On the shapes of
``benchmarks/contention_gap.py`` each is the better one about equally often.

Symmetry, where cheap to detect:

* **Interchangeable ready steps.** A ready step whose remaining sub-DAG is a tree (each
  descendant has one parent inside it, every other parent already delivered) is labelled by
  the canonical form of that labelled tree (latency and limited tool of each step as labels,
  children sorted). Two such ready steps with the same label can be swapped by an
  automorphism of the state (their subtrees are disjoint, use the same tools, and touch
  nothing else still open), so choices that differ only by such swaps (and, for ordered
  calls of a limited tool, by such swaps within the order) are tried once. Chains, fan-outs
  and out-trees are covered.
* **Identical tasks.** Tasks with the same DAG, latencies and limited tools are
  interchangeable: the table key sorts their per-task states, so the state "A at step 2, B at
  step 1" and "A at step 1, B at step 2" share an entry (the tools' slot-free rounds, derived
  from the codes, do not change under the swap).

The bound
---------
Admissible lower bound ``h(state) <= g(state)``, computed at every node:

* each uncalled step ``s`` gets an earliest call round ``est_s`` from the precedences alone
  (0 if ready; otherwise the latest over its parents of: rounds left for one in flight,
  ``first_p + 1 + L_p`` for one not called, where ``first_p`` is ``p``'s earliest start:
  ``est_p``, or with a limited tool the later of ``est_p`` and the tool's first slot-free
  round), and a *tail* ``q_s``, with the property that a call of ``s`` starting in round
  ``r`` forces ``rounds >= r + q_s + 1``. The plain tail is the latency-weighted longest path
  ``1 + L_s + max child tail``; the bound uses a stronger one, computed once per instance,
  that also counts the cap below ``s``: its descendants are released ``1 + L_s`` rounds after
  ``s``'s start (plus their own in-between paths) and need slots of their own, so
  ``q_s = 1 + L_s + `` the relaxation below applied to them (a fan-out of ``k`` children
  under ``cap = 1`` adds ``k`` rounds, not 1); with limited tools it is also at least
  ``1 + L_s + `` the per-tool bound (last item) of each tool's descendants, all slots free.
* relax the problem to unit jobs with release dates ``est_s`` and tails ``q_s`` on ``cap``
  slots per round, precedences (and tools) dropped. Taking the jobs by decreasing tail and
  putting each in the earliest round at or after its release that has a free slot minimizes
  ``max(r_s + q_s)`` for that relaxation (exchange argument: for any deadline, a schedule
  that meets it can be turned into this one job by job, swapping a later-deadline job out of
  the slot taken), so the value plus one is admissible. It dominates both textbook bounds:
  the longest remaining path ``max(est_s + q_s) + 1`` (what it reduces to with no cap), and
  the call-count bound ``ceil(U / cap) - 1 + min tail + 1`` for ``U`` uncalled steps. Each
  step alone also gives ``first_s + q_s + 1``.
* a step in flight with ``k`` rounds left forces ``rounds >= now + k + 1``.
* per limited tool of capacity ``c`` (only with capacities): its uncalled steps are jobs on
  ``c`` machines, machine ``i`` busy until the slot-free round ``f_i``; job ``s`` has release
  ``est_s``, processing ``1 + L_s`` (the slot is held from start to delivery) and delivery
  tail ``t_s = q_s - 1 - L_s`` (``rounds >= delivery + t_s + 1``). For any subset ``J`` with
  releases ``>= rho`` and tails ``>= theta``, its jobs need ``P = sum(1 + L)`` machine-rounds,
  none before ``a_i = max(f_i, rho)`` on machine ``i``, so the last of them is delivered no
  earlier than the least ``T`` with ``sum max(0, T - a_i) >= P``, and ``rounds >= T + theta +
  1``. This holds in every schedule (it even allows preemption and a job on two machines at
  once), so the maximum over the ``(rho, theta)`` pairs of releases and tails is admissible.
  For ``c = 1``, ``T = max(f, rho) + P`` and the maximum equals the value of Jackson's
  preemptive schedule (largest tail first; Carlier's characterization), the exact preemptive
  relaxation.

Fallback
--------
Each expanded node counts toward ``node_limit``. Past it the search stops and
:func:`optimal_schedule` returns the best schedule found so far (at worst a heuristic's)
with ``exact=False``, ``nodes == node_limit`` and ``lower_bound`` set to the root's
admissible bound, so the optimum lies in ``[lower_bound, rounds]``. With ``exact=True``,
``lower_bound == rounds``.

Complexity
----------
The problem is NP-hard in general (it contains scheduling unit jobs with precedences on
``cap`` machines, ``P|prec,p_j=1|C_max``), so the worst case is exponential: the table holds
at most one entry per reachable state, i.e. per order ideal of the DAG times the remainders
of the calls in flight. A node costs ``O(N + E)`` to build its state and the bound (plus a
scan over at most ``U + max est`` slots, and ``O(m^2)`` per limited tool with ``m`` uncalled
steps), and the choices it enumerates number at most ``C(#ready, cap)`` without capacities
(times the waiting choices and the orders within a tool with them). With ``cap = None`` and
no limited tool there is one choice per node and the solver is linear in the number of
decision rounds. In practice the bound is tight: on random instances of 2-3 tasks of 2-8
steps, and on the bundled dataset, most instances need no node at all and the rest a few
dozen (``benchmarks/solver_speed.py``: under a millisecond per instance on average). Rare
instances with many small tasks under ``cap = 1`` can need 10^4 nodes (about 100 us each in
CPython), which is what ``node_limit`` is for. Shared capacity-1 tools make the search work
harder (``benchmarks/contention_gap.py``).
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asynctool_env.core.simulator import normalize_tool_capacity, tool_capacity_of

if TYPE_CHECKING:
    from asynctool_env.core.simulator import Simulator
    from asynctool_env.core.task import Instance

__all__ = [
    "Schedule",
    "critical_path_schedule",
    "optimal_schedule",
    "optimal_schedule_for_instance",
    "optimal_schedule_for_simulator",
    "schedule_rounds",
    "sequential_rounds",
    "task_finish_rounds",
]

#: Calls of one round: ``(task, step)`` pairs.
RoundCalls = tuple[tuple[int, int], ...]
#: ``tool_capacity`` as the simulator takes it.
ToolCapacity = int | Mapping[str, int] | None

# Step codes in a state: -1 not called, 0 delivered, k > 0 in flight with k rounds left.
_UNCALLED = -1
_INFINITY = 1 << 60


@dataclass(frozen=True)
class Schedule:
    """A schedule of every gold call, and what is known about its optimality.

    Attributes:
        rounds: Rounds it takes: last delivery round + 1 (the simulator's ``rounds`` when
            each task is answered as soon as its last step is delivered and the calls of
            each round are made in the listed order).
        calls: ``calls[r]``: the ``(task, step)`` pairs called in round ``r``, for rounds
            ``0 .. last call round`` (rounds without a call, including rounds where the
            schedule deliberately waits, are empty tuples; the rounds after the last call,
            spent waiting, are not listed). Without tool capacities (or when no call can
            queue) each round's pairs are sorted; with them they are in **issue order**,
            which matters (a tool's queue is first come, first served) and must be kept
            when the schedule is played.
        exact: ``rounds`` is proven minimal.
        lower_bound: A proven lower bound on the minimum (``== rounds`` when ``exact``).
        nodes: Search nodes expanded (0 for the heuristic or when the root bound was met).
    """

    rounds: int
    calls: tuple[RoundCalls, ...]
    exact: bool
    lower_bound: int
    nodes: int


class _NodeLimitError(Exception):
    """The search expanded ``node_limit`` nodes: fall back to the incumbent."""


class _OptimumFoundError(Exception):
    """The incumbent meets the root's lower bound: nothing left to prove."""


def _check_tools(tools: object, shape: Sequence[Sequence[object]]) -> list[list[str]]:
    """``tools[task][step]``: a tool name for every step of ``shape``, or ValueError."""
    if tools is None:
        raise ValueError(
            "tools (tools[task][step]: the tool name of every step) is needed with tool_capacity"
        )
    if isinstance(tools, (str, bytes)) or not isinstance(tools, Sequence):
        raise ValueError(f"tools must be a list per task of tool names, got {tools!r}")
    if len(tools) != len(shape):
        raise ValueError(f"{len(tools)} tasks of tools but {len(shape)} tasks")
    names: list[list[str]] = []
    for task, (task_tools, steps) in enumerate(zip(tools, shape, strict=True)):
        if isinstance(task_tools, (str, bytes)) or not isinstance(task_tools, Sequence):
            raise ValueError(f"task {task}: tools must be a list of tool names")
        if len(task_tools) != len(steps):
            raise ValueError(f"task {task}: {len(task_tools)} tools for {len(steps)} steps")
        for step, name in enumerate(task_tools):
            if not isinstance(name, str):
                raise ValueError(f"task {task} step {step}: tool {name!r} is not a tool name")
        names.append(list(task_tools))
    return names


def _limited_tools(
    dependencies: Sequence[Sequence[object]], tools: object, tool_capacity: ToolCapacity
) -> tuple[list[int] | None, list[int]]:
    """Per step (task-major) the index of its limited tool (-1: none) and each one's
    capacity; ``(None, [])`` when nothing is limited. A tool used by no more steps than its
    capacity never queues a call and counts as unlimited."""
    capacity = normalize_tool_capacity(tool_capacity)
    if capacity is None:
        if tools is not None:
            _check_tools(tools, dependencies)
        return None, []
    names = [name for task in _check_tools(tools, dependencies) for name in task]
    counts = Counter(names)
    index: dict[str, int] = {}
    caps: list[int] = []
    tool_id: list[int] = []
    for name in names:
        limit = tool_capacity_of(capacity, name)
        if limit is None or limit >= counts[name]:
            tool_id.append(-1)
            continue
        if name not in index:
            index[name] = len(caps)
            caps.append(limit)
        tool_id.append(index[name])
    return (tool_id, caps) if caps else (None, [])


def _queue_bound(jobs: Sequence[tuple[int, int, int]], free: Sequence[int]) -> int:
    """Lower bound on ``max(delivery + tail)`` of ``jobs`` ``(release, processing, tail)`` on
    ``len(free)`` machines, machine ``i`` busy until ``free[i]`` (ascending): the best of the
    subset bounds of the module docstring (*The bound*, per limited tool)."""
    c = len(free)
    by_release = sorted(jobs, reverse=True)
    best = 0
    for theta in {tail for _, _, tail in jobs}:
        members = [job for job in by_release if job[2] >= theta]
        total = 0
        for position, (release, processing, _) in enumerate(members):
            total += processing
            if position + 1 < len(members) and members[position + 1][0] == release:
                continue  # evaluate once every job released at this round is in
            if c == 1:
                finish = (free[0] if free[0] > release else release) + total
            else:
                finish = _fill_until(free, release, total)
            if finish + theta > best:
                best = finish + theta
    return best


def _fill_until(free: Sequence[int], release: int, work: int) -> int:
    """The least ``T`` with ``sum(max(0, T - max(f, release)) for f in free) >= work``."""
    starts = [f if f > release else release for f in free]
    c = len(starts)
    total = 0
    for k in range(c):
        total += starts[k]
        finish = -(-(work + total) // (k + 1))
        if k + 1 == c or finish <= starts[k + 1]:
            return finish
    raise AssertionError("unreachable")


class _Problem:
    """An instance flattened to global step ids (task-major), with static tables.

    This class plays the rules without tool capacities; :class:`_ContendedProblem` adds the
    queues (see :func:`_make_problem`).
    """

    def __init__(
        self,
        dependencies: Sequence[Sequence[Sequence[int]]],
        latencies: Sequence[Sequence[int]],
        max_calls_per_turn: int | None,
        tool_id: Sequence[int] | None = None,
        tool_caps: Sequence[int] = (),
    ) -> None:
        if max_calls_per_turn is not None and (
            isinstance(max_calls_per_turn, bool)
            or not hasattr(max_calls_per_turn, "__index__")
            or max_calls_per_turn < 1
        ):
            raise ValueError(
                f"max_calls_per_turn must be a whole number >= 1 or None, "
                f"got {max_calls_per_turn!r}"
            )
        if len(dependencies) != len(latencies):
            raise ValueError(
                f"{len(dependencies)} tasks of dependencies but {len(latencies)} of latencies"
            )
        if not dependencies:
            raise ValueError("an instance needs at least one task")
        self.offsets: list[int] = []
        self.task_of: list[int] = []
        self.step_of: list[int] = []
        self.parents: list[tuple[int, ...]] = []
        self.lat: list[int] = []
        offset = 0
        for task, (deps, lats) in enumerate(zip(dependencies, latencies, strict=True)):
            if len(deps) != len(lats) or not deps:
                raise ValueError(
                    f"task {task}: {len(deps)} steps of dependencies, {len(lats)} latencies "
                    "(both must match and be >= 1)"
                )
            self.offsets.append(offset)
            for step, (parents, latency) in enumerate(zip(deps, lats, strict=True)):
                if not hasattr(latency, "__index__") or int(latency) < 0:
                    raise ValueError(f"task {task} step {step}: latency {latency!r} is not >= 0")
                for parent in parents:
                    if not 0 <= int(parent) < step:
                        raise ValueError(
                            f"task {task} step {step} depends on {tuple(parents)}: a step may "
                            "only depend on earlier steps"
                        )
                self.task_of.append(task)
                self.step_of.append(step)
                self.parents.append(tuple(sorted({offset + int(p) for p in parents})))
                self.lat.append(int(latency))
            offset += len(deps)
        self.n = n = offset
        self.n_tasks = len(dependencies)
        self.bounds = [*self.offsets, n]
        self.cap = n if max_calls_per_turn is None else min(int(max_calls_per_turn), n)
        # Limited tools: tool_id[g] indexes tool_caps and tool_steps, -1 for no limit.
        self.tool_id: list[int] = [-1] * n if tool_id is None else list(tool_id)
        self.tool_caps: list[int] = list(tool_caps)
        self.tool_steps: list[list[int]] = [[] for _ in self.tool_caps]
        if self.tool_caps:
            for g, t in enumerate(self.tool_id):
                if t >= 0:
                    self.tool_steps[t].append(g)
        self.children: list[list[int]] = [[] for _ in range(n)]
        for g in range(n):
            for p in self.parents[g]:
                self.children[p].append(g)
        # Tail: latency-weighted longest path from a step's call to the last delivery.
        self.tail = [0] * n
        for g in reversed(range(n)):
            self.tail[g] = (
                1 + self.lat[g] + max((self.tail[c] for c in self.children[g]), default=0)
            )
        self.order = sorted(range(n), key=lambda g: (-self.tail[g], g))
        self.rank = [0] * n
        for position, g in enumerate(self.order):
            self.rank[g] = position
        self.closure = [0] * n  # bitmask of g and its descendants
        for g in reversed(range(n)):
            mask = 1 << g
            for c in self.children[g]:
                mask |= self.closure[c]
            self.closure[g] = mask
        self._build_bound_tails()
        self._build_tree_labels()
        self._build_task_classes(dependencies)

    def _build_bound_tails(self) -> None:
        """``bound_tail[g] >= tail[g]``: the tail with the cap counted below ``g``.

        A call of ``g`` starting in round ``r`` delivers in ``r + 1 + L_g``; its descendants
        can be called no earlier, each after its own ancestors inside the sub-DAG, at most
        ``cap`` a round. Scheduling them as the bound's relaxation does (release dates,
        tails, slots) gives the smallest possible ``max(call + tail)`` among them, so
        ``rounds >= r + bound_tail[g] + 1`` with ``bound_tail[g] = 1 + L_g + that``. With no
        cap it is the plain tail; under a cap it counts, e.g., a fan-out's children one slot
        each. With limited tools it also takes the per-tool bound of the descendants of
        each tool, as if every slot were free when ``g`` is delivered.
        """
        n, cap, lat, parents = self.n, self.cap, self.lat, self.parents
        tool_id, tool_caps = self.tool_id, self.tool_caps
        bound_tail = [0] * n
        for g in reversed(range(n)):
            inside = self.closure[g]
            below = [d for d in range(g + 1, n) if inside >> d & 1]
            release: dict[int, int] = {}
            for d in below:  # increasing index: parents first
                release[d] = max(
                    (
                        0 if p == g else release[p] + 1 + lat[p]
                        for p in parents[d]
                        if p in release or p == g
                    ),
                    default=0,
                )
            fill = [0] * (max(release.values(), default=0) + len(below) + 1)
            latest = 0
            for d in sorted(below, key=lambda d: -bound_tail[d]):
                slot = release[d]
                while fill[slot] >= cap:
                    slot += 1
                fill[slot] += 1
                latest = max(latest, slot + bound_tail[d])
            for t, capacity in enumerate(tool_caps):  # empty without limited tools
                jobs = [
                    (release[d], 1 + lat[d], bound_tail[d] - 1 - lat[d])
                    for d in below
                    if tool_id[d] == t
                ]
                if len(jobs) > 1:
                    latest = max(latest, _queue_bound(jobs, [0] * capacity))
            bound_tail[g] = 1 + lat[g] + latest
        self.bound_tail = bound_tail
        self.bound_order = sorted(range(n), key=lambda g: (-bound_tail[g], g))

    def _build_tree_labels(self) -> None:
        """``tree_label[g]``: an id of the labelled tree below ``g``, or ``None`` if the
        steps below ``g`` do not form a tree; ``outside[g]``: their parents outside it.
        A step's label is its latency and its limited tool (-1 for none)."""
        n = self.n
        closure = self.closure
        interned: dict[tuple[object, ...], int] = {}
        label: list[int | None] = [None] * n
        self.outside: list[tuple[int, ...]] = [()] * n
        for g in reversed(range(n)):
            inside = closure[g]
            is_tree = True
            outside: set[int] = set()
            for d in range(g + 1, n):
                if not inside >> d & 1:
                    continue
                in_parents = [p for p in self.parents[d] if inside >> p & 1]
                if len(in_parents) != 1:
                    is_tree = False
                    break
                outside.update(p for p in self.parents[d] if not inside >> p & 1)
            child_labels = [label[c] for c in self.children[g]]
            if not is_tree or None in child_labels:
                continue
            key = (
                self.lat[g],
                tuple(sorted(item for item in child_labels if item is not None)),
                self.tool_id[g],
            )
            label[g] = interned.setdefault(key, len(interned))
            self.outside[g] = tuple(sorted(outside))
        self.tree_label = label

    def _build_task_classes(self, dependencies: Sequence[Sequence[Sequence[int]]]) -> None:
        """Groups of two or more tasks with the same DAG, latencies and limited tools."""
        groups: dict[tuple[object, ...], list[int]] = {}
        for task in range(self.n_tasks):
            start, end = self.bounds[task], self.bounds[task + 1]
            signature = (
                tuple(tuple(sorted(int(p) for p in deps)) for deps in dependencies[task]),
                tuple(self.lat[start:end]),
                tuple(self.tool_id[start:end]),
            )
            groups.setdefault(signature, []).append(task)
        self.task_classes = [members for members in groups.values() if len(members) > 1]

    # -- state helpers -------------------------------------------------------------------

    def root(self) -> tuple[int, ...]:
        return (_UNCALLED,) * self.n

    def ready(self, state: tuple[int, ...]) -> list[int]:
        """Uncalled steps whose parents are all delivered, by decreasing tail."""
        parents = self.parents
        found = [
            g
            for g in range(self.n)
            if state[g] == _UNCALLED and all(state[p] == 0 for p in parents[g])
        ]
        found.sort(key=self.rank.__getitem__)
        return found

    def advance(
        self, state: tuple[int, ...], choice: Sequence[int], n_ready: int
    ) -> tuple[int, tuple[int, ...] | None]:
        """Make the calls of ``choice`` now and move to the next round with a ready step.

        Returns ``(dt, child)``: the rounds the clock moved and the new state, or
        ``(g, None)`` when every step has been called (``g``: rounds still needed).
        """
        codes = list(state)
        lat = self.lat
        for g in choice:
            codes[g] = 1 + lat[g]
        return self._move(codes, n_ready > len(choice))

    def _move(self, codes: list[int], waited: bool) -> tuple[int, tuple[int, ...] | None]:
        """The clock part of :meth:`advance`: one round on if a ready step was left uncalled
        (``waited``), else to the next round in which something is ready."""
        if _UNCALLED not in codes:
            return max(codes) + 1, None
        parents = self.parents
        dt = 0
        step = 1 if waited else 0
        while True:
            if step == 0:
                step = min(code for code in codes if code > 0)
            dt += step
            codes = [code - step if code > step else (code if code < 0 else 0) for code in codes]
            for g, code in enumerate(codes):
                if code == _UNCALLED and all(codes[p] == 0 for p in parents[g]):
                    return dt, tuple(codes)
            step = 0

    def bound(self, state: tuple[int, ...]) -> int:
        """Admissible lower bound on the rounds still needed from ``state``."""
        parents, lat, tail = self.parents, self.lat, self.bound_tail
        est = [-1] * self.n  # earliest call round of each uncalled step; -1 once called
        value = 0
        uncalled = 0
        latest = 0
        for g, code in enumerate(state):
            if code >= 0:
                if code >= value:
                    value = code + 1
                continue
            earliest = 0
            for p in parents[g]:
                c = state[p]
                if c < 0:
                    c = est[p] + 1 + lat[p]
                if c > earliest:
                    earliest = c
            est[g] = earliest
            uncalled += 1
            if earliest > latest:
                latest = earliest
        cap = self.cap
        if uncalled <= cap:
            for g, earliest in enumerate(est):
                if earliest >= 0 and earliest + tail[g] >= value:
                    value = earliest + tail[g] + 1
            return value
        return _slot_relaxation(self.bound_order, est, tail, cap, latest + uncalled, value)

    def choices(self, state: tuple[int, ...], ready: list[int]) -> Iterator[tuple[int, ...]]:
        """Ways to fill the round's slots, best tail first, one per symmetry class."""
        k = self.cap
        if k >= len(ready):
            yield tuple(ready)
            return
        # Interchangeable steps share a label (a tree id >= 0); any other step gets its own.
        labels: list[int] = []
        symmetric = False
        for g in ready:
            label = self.tree_label[g]
            if label is not None and all(state[p] == 0 for p in self.outside[g]):
                labels.append(label)
                symmetric = True
            else:
                labels.append(-1 - g)
        if not symmetric:
            yield from itertools.combinations(ready, k)
            return
        seen: set[tuple[int, ...]] = set()
        for positions in itertools.combinations(range(len(ready)), k):
            signature = tuple(sorted(labels[i] for i in positions))
            if signature in seen:
                continue
            seen.add(signature)
            yield tuple(ready[i] for i in positions)

    def canonical(self, state: tuple[int, ...]) -> tuple[tuple[int, ...], list[int] | None]:
        """Table key of ``state`` and the task relabelling that produced it (``None``: the
        identity); ``frame[actual task] = canonical task``."""
        if not self.task_classes:
            return state, None
        bounds = self.bounds
        parts = [state[bounds[k] : bounds[k + 1]] for k in range(self.n_tasks)]
        frame = list(range(self.n_tasks))
        moved = False
        canonical_parts = list(parts)
        for members in self.task_classes:
            by_state = sorted(members, key=parts.__getitem__)
            for slot, task in zip(members, by_state, strict=True):
                frame[task] = slot
                canonical_parts[slot] = parts[task]
                if slot != task:
                    moved = True
        if not moved:
            return state, None
        return tuple(itertools.chain.from_iterable(canonical_parts)), frame

    def relabel(self, steps: Sequence[int], frame: Sequence[int]) -> tuple[int, ...]:
        """Global step ids under a task relabelling ``frame`` (actual -> canonical task)."""
        offsets, task_of = self.offsets, self.task_of
        return tuple(offsets[frame[task_of[g]]] + g - offsets[task_of[g]] for g in steps)

    def to_schedule_calls(
        self, decisions: Sequence[tuple[int, Sequence[int]]]
    ) -> tuple[tuple[RoundCalls, ...], int]:
        """``(round, steps)`` decisions -> per-round ``(task, step)`` calls and ``rounds``."""
        if not decisions:
            return (), 1
        last = max(r for r, _ in decisions)
        per_round: list[list[tuple[int, int]]] = [[] for _ in range(last + 1)]
        rounds = 1
        for r, steps in decisions:
            for g in steps:
                per_round[r].append((self.task_of[g], self.step_of[g]))
                rounds = max(rounds, r + 1 + self.lat[g] + 1)
        return tuple(tuple(sorted(calls)) for calls in per_round), rounds


class _ContendedProblem(_Problem):
    """The rules with limited tools: calls queue for their tool's slots (module docstring).

    The state is the same tuple of step codes; each limited tool's slot-free rounds are
    derived from it (:meth:`slot_free`)."""

    def slot_free(self, state: Sequence[int]) -> list[list[int]]:
        """Per limited tool, the rounds (relative to now, 0: free) at which its slots are
        free, ascending: the ``c`` largest codes of its calls in flight, 0 for the rest."""
        free: list[list[int]] = []
        for steps, capacity in zip(self.tool_steps, self.tool_caps, strict=True):
            busy = sorted([state[g] for g in steps if state[g] > 0])
            if len(busy) >= capacity:
                free.append(busy[len(busy) - capacity :])
            else:
                free.append([0] * (capacity - len(busy)) + busy)
        return free

    def advance(
        self, state: tuple[int, ...], choice: Sequence[int], n_ready: int
    ) -> tuple[int, tuple[int, ...] | None]:
        """:meth:`_Problem.advance` with the calls of ``choice`` queued in that order."""
        codes = list(state)
        lat, tool_id = self.lat, self.tool_id
        slots: list[list[int]] | None = None
        for g in choice:
            t = tool_id[g]
            if t < 0:
                codes[g] = 1 + lat[g]
                continue
            if slots is None:
                slots = self.slot_free(state)
            heap = slots[t]
            due = heap[0] + 1 + lat[g]
            heapq.heapreplace(heap, due)
            codes[g] = due
        return self._move(codes, n_ready > len(choice))

    def estimates(
        self, state: Sequence[int], slots: Sequence[Sequence[int]]
    ) -> tuple[list[int], list[int]]:
        """``(est, first)``: per uncalled step its earliest call round and earliest start
        from the precedences and its tool's first slot-free round (-1 for called steps)."""
        parents, lat, tool_id = self.parents, self.lat, self.tool_id
        est = [-1] * self.n
        first = [-1] * self.n
        for g, code in enumerate(state):
            if code >= 0:
                continue
            earliest = 0
            for p in parents[g]:
                c = state[p]
                if c < 0:
                    c = first[p] + 1 + lat[p]
                if c > earliest:
                    earliest = c
            est[g] = earliest
            t = tool_id[g]
            first[g] = slots[t][0] if t >= 0 and slots[t][0] > earliest else earliest
        return est, first

    def bound(self, state: tuple[int, ...]) -> int:
        """Admissible lower bound on the rounds still needed from ``state``: the plain
        bound's parts on earliest starts, plus the per-tool queue bound."""
        lat, tail = self.lat, self.bound_tail
        slots = self.slot_free(state)
        est, first = self.estimates(state, slots)
        value = 0
        uncalled = 0
        latest = 0
        for g, code in enumerate(state):
            if code >= 0:
                if code >= value:
                    value = code + 1
                continue
            uncalled += 1
            if first[g] + tail[g] >= value:
                value = first[g] + tail[g] + 1
            if est[g] > latest:
                latest = est[g]
        cap = self.cap
        if uncalled > cap:
            value = _slot_relaxation(self.bound_order, est, tail, cap, latest + uncalled, value)
        for t, steps in enumerate(self.tool_steps):
            jobs = [(est[g], 1 + lat[g], tail[g] - 1 - lat[g]) for g in steps if est[g] >= 0]
            if len(jobs) > 1:
                finish = _queue_bound(jobs, slots[t])
                if finish >= value:
                    value = finish + 1
        return value

    def choices(self, state: tuple[int, ...], ready: list[int]) -> Iterator[tuple[int, ...]]:
        """The allowed choices (module docstring), best tail first, waiting last, one per
        symmetry class; a choice is the calls in issue order."""
        tool_id, rank = self.tool_id, self.rank
        full = min(self.cap, len(ready))
        unlimited = [g for g in ready if tool_id[g] < 0]
        limited = [g for g in ready if tool_id[g] >= 0]
        labels: dict[int, int] = {}
        for g in ready:
            label = self.tree_label[g]
            if label is not None and all(state[p] == 0 for p in self.outside[g]):
                labels[g] = label
            else:
                labels[g] = -1 - g

        def subsets() -> Iterator[tuple[int, ...]]:
            yield from itertools.combinations(ready, full)
            for extra in range(full - len(unlimited) - 1, -1, -1):
                for part in itertools.combinations(limited, extra):
                    yield tuple(sorted((*unlimited, *part), key=rank.__getitem__))

        free_now: list[int] | None = None
        seen: set[tuple[object, ...]] = set()
        for subset in subsets():
            groups: dict[int, list[int]] = {}
            for g in subset:
                if tool_id[g] >= 0:
                    groups.setdefault(tool_id[g], []).append(g)
            ordered: list[int] = []
            for t in sorted(groups):
                if len(groups[t]) > 1:
                    if free_now is None:
                        free_now = [free.count(0) for free in self.slot_free(state)]
                    if len(groups[t]) > free_now[t]:
                        ordered.append(t)
            if not ordered:
                signature: tuple[object, ...] = tuple(sorted(labels[g] for g in subset))
                if signature not in seen:
                    seen.add(signature)
                    yield subset
                continue
            rest = tuple(sorted(labels[g] for g in subset if tool_id[g] not in ordered))
            for orders in itertools.product(*(itertools.permutations(groups[t]) for t in ordered)):
                signature = (rest, tuple(tuple(labels[g] for g in order) for order in orders))
                if signature in seen:
                    continue
                seen.add(signature)
                queues = {t: iter(order) for t, order in zip(ordered, orders, strict=True)}
                yield tuple(next(queues[tool_id[g]]) if tool_id[g] in queues else g for g in subset)

    def to_schedule_calls(
        self, decisions: Sequence[tuple[int, Sequence[int]]]
    ) -> tuple[tuple[RoundCalls, ...], int]:
        """Per-round ``(task, step)`` calls in issue order, and ``rounds`` with the queues
        replayed."""
        if not decisions:
            return (), 1
        last = max(r for r, _ in decisions)
        per_round: list[list[tuple[int, int]]] = [[] for _ in range(last + 1)]
        heaps = [[0] * capacity for capacity in self.tool_caps]
        rounds = 1
        for r, steps in sorted(decisions, key=lambda decision: decision[0]):
            for g in steps:
                per_round[r].append((self.task_of[g], self.step_of[g]))
                start = r
                t = self.tool_id[g]
                if t >= 0:
                    heap = heaps[t]
                    if heap[0] > start:
                        start = heap[0]
                    heapq.heapreplace(heap, start + 1 + self.lat[g])
                rounds = max(rounds, start + 1 + self.lat[g] + 1)
        return tuple(tuple(calls) for calls in per_round), rounds


def _make_problem(
    dependencies: Sequence[Sequence[Sequence[int]]],
    latencies: Sequence[Sequence[int]],
    max_calls_per_turn: int | None,
    tools: Sequence[Sequence[str]] | None,
    tool_capacity: ToolCapacity,
) -> _Problem:
    """The problem, with queues only when some tool can actually queue a call."""
    tool_id, tool_caps = _limited_tools(dependencies, tools, tool_capacity)
    if tool_id is None:
        return _Problem(dependencies, latencies, max_calls_per_turn)
    if len(tool_id) != sum(len(task) for task in latencies):
        # Let _Problem report the shape mismatch between dependencies and latencies.
        _Problem(dependencies, latencies, max_calls_per_turn)
    return _ContendedProblem(dependencies, latencies, max_calls_per_turn, tool_id, tool_caps)


def _slot_relaxation(
    order: Sequence[int],
    est: Sequence[int],
    tail: Sequence[int],
    cap: int,
    horizon: int,
    value: int,
) -> int:
    """The bound's relaxation (see the module docstring): unit jobs with release dates
    ``est`` (``-1``: already called, skipped) and tails, ``cap`` slots per round, precedences
    dropped. Taken by decreasing tail (``order``), each job goes to the earliest round at or
    after its release with a free slot; returns ``max(value, max(slot + tail + 1))``.
    ``horizon`` bounds the rounds used (latest release + number of jobs)."""
    fill = [0] * horizon
    for g in order:
        slot = est[g]
        if slot < 0:
            continue
        while fill[slot] >= cap:
            slot += 1
        fill[slot] += 1
        if slot + tail[g] >= value:
            value = slot + tail[g] + 1
    return value


def _heuristic(problem: _Problem) -> list[tuple[int, tuple[int, ...]]]:
    """Longest-remaining-path-first list schedule: ``(round, steps)`` per decision."""
    state: tuple[int, ...] | None = problem.root()
    now = 0
    decisions: list[tuple[int, tuple[int, ...]]] = []
    while state is not None:
        ready = problem.ready(state)
        choice = tuple(ready[: problem.cap])
        decisions.append((now, choice))
        dt, state = problem.advance(state, choice, len(ready))
        now += dt
    return decisions


def _aware_heuristic(problem: _ContendedProblem) -> list[tuple[int, tuple[int, ...]]]:
    """The critical-path list schedule made to serve each limited tool's queue by tail.

    Ready steps are taken by decreasing tail, as in :func:`_heuristic`, except that a step
    of a limited tool is held back (not called this round) when at least ``c`` (the tool's
    capacity) uncalled steps of the same tool with a longer tail, not called this round,
    could be called before the held step's call would be delivered: calling it now would
    make them queue behind it. The step with the longest tail is never held, so every
    round either calls something or waits for a delivery that makes it ready.
    """
    state: tuple[int, ...] | None = problem.root()
    tail, lat, tool_id = problem.tail, problem.lat, problem.tool_id
    now = 0
    decisions: list[tuple[int, tuple[int, ...]]] = []
    while state is not None:
        ready = problem.ready(state)
        slots = problem.slot_free(state)
        est, _ = problem.estimates(state, slots)
        choice: list[int] = []
        for g in ready:
            if len(choice) == problem.cap:
                break
            t = tool_id[g]
            if t >= 0:
                heap = slots[t]
                due = heap[0] + 1 + lat[g]
                urgent = sum(
                    1
                    for y in problem.tool_steps[t]
                    if est[y] >= 0 and y not in choice and tail[y] > tail[g] and est[y] < due
                )
                if urgent >= problem.tool_caps[t]:
                    continue
                heapq.heapreplace(heap, due)
            choice.append(g)
        if not choice and not any(code > 0 for code in state):
            choice = ready[:1]  # never reached (see the docstring), but never loop forever
        decisions.append((now, tuple(choice)))
        dt, state = problem.advance(state, tuple(choice), len(ready))
        now += dt
    return decisions


class _Search:
    def __init__(self, problem: _Problem, node_limit: int, root_bound: int) -> None:
        self.problem = problem
        self.node_limit = node_limit
        self.root_bound = root_bound
        self.nodes = 0
        self.exact: dict[tuple[int, ...], tuple[int, tuple[int, ...]]] = {}
        self.lower: dict[tuple[int, ...], int] = {}
        self.path: list[tuple[int, tuple[int, ...]]] = []
        self.incumbent: tuple[int, list[tuple[int, tuple[int, ...]]]] | None = None
        self.incumbent_rounds = 0

    def solve(self, state: tuple[int, ...], now: int, limit: int) -> int:
        """``g(state)`` if it is below ``limit``; otherwise a lower bound ``>= limit``."""
        problem = self.problem
        key, frame = problem.canonical(state)
        hit = self.exact.get(key)
        if hit is not None:
            return hit[0]
        bound = problem.bound(state)
        known = self.lower.get(key, 0)
        if known > bound:
            bound = known
        if bound >= limit:
            return bound
        self.nodes += 1
        if self.nodes > self.node_limit:
            raise _NodeLimitError
        ready = problem.ready(state)
        best = _INFINITY
        best_choice: tuple[int, ...] = ()
        for choice in problem.choices(state, ready):
            dt, child = problem.advance(state, choice, len(ready))
            if child is None:
                value = dt
            else:
                self.path.append((now, choice))
                value = dt + self.solve(child, now + dt, min(limit, best) - dt)
                self.path.pop()
            if value < best:
                best, best_choice = value, choice
                if best <= bound:
                    break
        if best < limit:
            stored = best_choice if frame is None else problem.relabel(best_choice, frame)
            self.exact[key] = (best, stored)
            if now + best < self.incumbent_rounds:
                self._record(state, now, now + best)
        else:
            self.lower[key] = best
        return best

    def follow(self, state: tuple[int, ...], now: int) -> list[tuple[int, tuple[int, ...]]]:
        """The decisions stored in the exact table from ``state`` on."""
        problem = self.problem
        decisions: list[tuple[int, tuple[int, ...]]] = []
        current: tuple[int, ...] | None = state
        while current is not None:
            key, frame = problem.canonical(current)
            choice = self.exact[key][1]
            if frame is not None:
                inverse = [0] * len(frame)
                for task, slot in enumerate(frame):
                    inverse[slot] = task
                choice = problem.relabel(choice, inverse)
            decisions.append((now, choice))
            dt, current = problem.advance(current, choice, len(problem.ready(current)))
            now += dt
        return decisions

    def _record(self, state: tuple[int, ...], now: int, rounds: int) -> None:
        self.incumbent = (rounds, [*self.path, *self.follow(state, now)])
        self.incumbent_rounds = rounds
        if rounds <= self.root_bound:
            raise _OptimumFoundError


def _from_decisions(
    problem: _Problem,
    decisions: Sequence[tuple[int, Sequence[int]]],
    *,
    exact: bool,
    lower_bound: int,
    nodes: int,
) -> Schedule:
    calls, rounds = problem.to_schedule_calls(decisions)
    return Schedule(rounds, calls, exact, rounds if exact else lower_bound, nodes)


def optimal_schedule(
    dependencies: Sequence[Sequence[Sequence[int]]],
    latencies: Sequence[Sequence[int]],
    max_calls_per_turn: int | None = 1,
    *,
    tools: Sequence[Sequence[str]] | None = None,
    tool_capacity: ToolCapacity = None,
    node_limit: int = 200_000,
) -> Schedule:
    """A schedule with the fewest rounds (see the module docstring for rules and search).

    Args:
        dependencies: ``dependencies[task][step]``: the earlier steps of the same task that
            ``step`` needs (a step's ``depends_on``).
        latencies: ``latencies[task][step]``: realized latency ``L >= 0`` of the step's call.
        max_calls_per_turn: Calls allowed per round, ``None`` for no limit.
        tools: ``tools[task][step]``: the step's tool name; needed with ``tool_capacity``.
        tool_capacity: As the simulator's: ``None`` (no limit), an int for every tool, or a
            mapping tool name -> capacity (tools not named have no limit; names no step
            uses are ignored). With it, calls of a tool queue for its slots.
        node_limit: Search nodes to expand at most. Past it the best schedule found so far is
            returned with ``exact=False`` and ``lower_bound`` set.

    Raises:
        ValueError: Malformed input (shapes, negative latency, forward dependency, cap < 1,
            capacity < 1, ``tools`` missing with ``tool_capacity`` or not one name per step).
    """
    problem = _make_problem(dependencies, latencies, max_calls_per_turn, tools, tool_capacity)
    heuristic = _heuristic(problem)
    _, upper = problem.to_schedule_calls(heuristic)
    if isinstance(problem, _ContendedProblem):
        aware = _aware_heuristic(problem)
        _, aware_rounds = problem.to_schedule_calls(aware)
        if aware_rounds < upper:
            heuristic, upper = aware, aware_rounds
    root = problem.root()
    root_bound = problem.bound(root)
    if root_bound >= upper:
        return _from_decisions(problem, heuristic, exact=True, lower_bound=upper, nodes=0)
    search = _Search(problem, node_limit, root_bound)
    search.incumbent_rounds = upper
    try:
        value = search.solve(root, 0, upper)
    except _NodeLimitError:
        search.nodes = node_limit
        if search.incumbent is None:
            return _from_decisions(
                problem, heuristic, exact=False, lower_bound=root_bound, nodes=search.nodes
            )
        rounds, decisions = search.incumbent
        exact = rounds <= root_bound
        return _from_decisions(
            problem, decisions, exact=exact, lower_bound=root_bound, nodes=search.nodes
        )
    except _OptimumFoundError:
        assert search.incumbent is not None
        return _from_decisions(
            problem, search.incumbent[1], exact=True, lower_bound=root_bound, nodes=search.nodes
        )
    if value >= upper or search.incumbent is None:
        return _from_decisions(
            problem, heuristic, exact=True, lower_bound=upper, nodes=search.nodes
        )
    schedule = _from_decisions(
        problem, search.incumbent[1], exact=True, lower_bound=value, nodes=search.nodes
    )
    assert schedule.rounds == value
    return schedule


def critical_path_schedule(
    dependencies: Sequence[Sequence[Sequence[int]]],
    latencies: Sequence[Sequence[int]],
    max_calls_per_turn: int | None = 1,
    *,
    tools: Sequence[Sequence[str]] | None = None,
    tool_capacity: ToolCapacity = None,
) -> Schedule:
    """The longest-remaining-path-first list schedule (the search's first upper bound).

    Each round it calls the ``min(cap, #ready)`` ready steps with the longest latency-weighted
    path to the end (``1 + L`` per step), ties to the lower task then step, in that order. It
    never waits and ignores contention when choosing (like the ``critical_path`` agent), but
    with ``tool_capacity`` its ``rounds`` count the queueing. ``exact`` is ``True`` only when
    it meets the admissible root bound (then it is provably optimal); ``lower_bound`` is that
    bound; ``nodes`` is 0.
    """
    problem = _make_problem(dependencies, latencies, max_calls_per_turn, tools, tool_capacity)
    decisions = _heuristic(problem)
    calls, rounds = problem.to_schedule_calls(decisions)
    root_bound = problem.bound(problem.root())
    return Schedule(rounds, calls, rounds <= root_bound, min(root_bound, rounds), 0)


def sequential_rounds(latencies: Sequence[Sequence[int]]) -> int:
    """Rounds of the one-call-at-a-time schedule, each response awaited: ``sum(1 + L) + 1``."""
    return sum(1 + int(latency) for task in latencies for latency in task) + 1


def task_finish_rounds(
    calls: Sequence[Sequence[tuple[int, int]]],
    latencies: Sequence[Sequence[int]],
    *,
    tools: Sequence[Sequence[str]] | None = None,
    tool_capacity: ToolCapacity = None,
) -> list[int]:
    """Per task, the round its last response arrives (when it can be answered), for a
    schedule given as per-round calls; -1 for a task the schedule never calls.

    With ``tool_capacity`` (``tools`` then names every step's tool) the calls queue for
    their tools as in the simulator, the calls of a round made in the listed order."""
    finish = [-1] * len(latencies)
    capacity = normalize_tool_capacity(tool_capacity)
    if capacity is None:
        if tools is not None:
            _check_tools(tools, latencies)
        for r, items in enumerate(calls):
            for task, step in items:
                finish[task] = max(finish[task], r + 1 + int(latencies[task][step]))
        return finish
    names = _check_tools(tools, latencies)
    slots: dict[str, list[int]] = {}
    for r, items in enumerate(calls):
        for task, step in items:
            start = r
            tool = names[task][step]
            limit = tool_capacity_of(capacity, tool)
            if limit is not None:
                heap = slots.setdefault(tool, [0] * limit)
                start = max(start, heap[0])
                heapq.heapreplace(heap, start + 1 + int(latencies[task][step]))
            finish[task] = max(finish[task], start + 1 + int(latencies[task][step]))
    return finish


def schedule_rounds(
    calls: Sequence[Sequence[tuple[int, int]]],
    latencies: Sequence[Sequence[int]],
    *,
    tools: Sequence[Sequence[str]] | None = None,
    tool_capacity: ToolCapacity = None,
) -> int:
    """``rounds`` of a schedule given as per-round calls: last delivery round + 1 (with
    ``tool_capacity``, queues replayed as in :func:`task_finish_rounds`)."""
    finish = task_finish_rounds(calls, latencies, tools=tools, tool_capacity=tool_capacity)
    return 1 + max(max(finish, default=-1), 0)


def optimal_schedule_for_instance(
    instance: Instance,
    step_latency: Sequence[Sequence[int]],
    max_calls_per_turn: int | None = 1,
    *,
    tool_capacity: ToolCapacity = None,
    node_limit: int = 200_000,
) -> Schedule:
    """:func:`optimal_schedule` of an :class:`~asynctool_env.core.task.Instance` on realized
    latencies (``Simulator.step_latency``), its steps' tools queueing under
    ``tool_capacity``."""
    dependencies = [[step.depends_on for step in task.steps] for task in instance.tasks]
    tools = None
    if tool_capacity is not None:
        tools = [[step.tool for step in task.steps] for task in instance.tasks]
    return optimal_schedule(
        dependencies,
        step_latency,
        max_calls_per_turn,
        tools=tools,
        tool_capacity=tool_capacity,
        node_limit=node_limit,
    )


def optimal_schedule_for_simulator(simulator: Simulator, *, node_limit: int = 200_000) -> Schedule:
    """:func:`optimal_schedule` of a simulator's episode: its instance, its realized gold
    latencies, its ``max_calls_per_turn`` and its ``tool_capacity``."""
    return optimal_schedule_for_instance(
        simulator.instance,
        simulator.step_latency,
        simulator.max_calls_per_turn,
        tool_capacity=simulator.tool_capacity,
        node_limit=node_limit,
    )
