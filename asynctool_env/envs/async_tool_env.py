"""``AsyncTool-v0``: asynchronous tool calling over several tasks, as a Gymnasium env."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from asynctool_env.core.checks import (
    check_flag,
    check_optional_whole,
    check_whole,
)
from asynctool_env.core.latency import DEFAULT_MAX_LATENCY, LatencyProfile, make_latency_profile
from asynctool_env.core.rewards import RewardMeter, RewardWeights
from asynctool_env.core.simulator import (
    Simulator,
    StepStatus,
    TaskStatus,
    check_capacity_tools,
    normalize_tool_capacity,
)
from asynctool_env.core.task import Instance
from asynctool_env.dataset.procedural import Composition
from asynctool_env.interface import (
    MAX_STEPS_LIMIT,
    MAX_TASKS_LIMIT,
    EpisodeEndInfo,
    MaskedDiscrete,
    check_instance_fits,
    check_reset_options,
    info_counters,
    instance_source,
    latency_profile_for,
)
from asynctool_env.metrics import episode_metrics, final_metrics
from asynctool_env.scenarios import tool_code

_OPEN = int(TaskStatus.OPEN)
_READY = int(StepStatus.READY)
_DONE = int(StepStatus.DONE)
#: Step codes of a step still to be called correctly (blocked, ready, failed).
_UNCALLED_CODES = frozenset(
    (int(StepStatus.BLOCKED), int(StepStatus.READY), int(StepStatus.FAILED))
)

#: Immutable numpy scalars for ``obs["focused_task"]`` (cheaper than building one per step).
_TASK_INDEXES = tuple(np.int64(index) for index in range(MAX_TASKS_LIMIT))

PENDING_FIELDS = ("task", "step", "tool", "waited", "expected_latency")


class AsyncToolEnv(gym.Env[dict[str, np.ndarray], np.int64]):
    """Juggle several multi-step tasks whose tool calls answer late.

    ## Description

    An episode is one *instance*: 2 or 3 tasks (travel bookings, messages...) running at
    once. Each task is a small DAG of gold tool calls; a call's arguments may need values
    that only an earlier response of the same task reveals (a flight id, a contact id). A
    call made in round ``r`` whose latency is ``L`` is answered at the start of round
    ``r + 1 + L``. An agent that waits for each answer is slow; a good one uses the waiting
    time to advance the other tasks, without ever calling a step before its inputs arrived.
    This is the setting of the AsyncTool benchmark (arXiv 2605.27995), where LLM agents are
    scored; here the same simulator trains and scores numeric policies.

    The agent has a *focus* (one task at a time, like an assistant working in one thread)
    and acts on the focused task.

    ## Action Space

    ``Discrete(K + S + 2)`` with ``K = max_tasks`` and ``S = max_steps``:

    | Action              | Meaning                                                       |
    |---------------------|---------------------------------------------------------------|
    | ``0``               | wait: end the turn (the clock moves on)                       |
    | ``1 .. K``          | switch focus to task ``a - 1``                                |
    | ``K+1 .. K+S``      | call step ``a - K - 1`` of the focused task                   |
    | ``K+S+1``           | answer the focused task (closes it)                           |

    A call fills in its arguments from the responses delivered so far. Switching and
    answering do not end the turn; a call ends it once ``max_calls_per_turn`` calls were
    made; ``wait`` always ends it. After ``max_decisions_per_turn`` decisions without the
    turn ending, the turn ends by itself (this stops endless switching).

    With ``action_mode="direct"`` there is no focus and the action names the task:
    ``Discrete(1 + K*S + K)``: ``0`` wait, ``1 + k*S + s`` call step ``s`` of task ``k``,
    ``1 + K*S + k`` answer task ``k``. The turn rules are the same. This is the layout the
    trained policies use (and the multi-agent env's, less its claim actions): a policy scores
    each step directly from that step's features instead of planning a switch and a call,
    which made MaskablePPO learn the critical-path ordering several times faster.

    ``action_masks()`` (and ``obs["action_mask"]``) marks the sensible actions. Masked
    actions never raise. Most are no-ops with the ``invalid`` penalty (switching to the
    focused, an answered or a padding task; calling a padding step; answering an answered
    task). Three have real consequences, because an unmasked agent (an LLM) can do them:
    calling a step whose inputs have not arrived is a **dependency violation** (the call goes
    out, an error comes back); calling a pending or done step is a **redundant call** (a
    redundant call of a *write* step makes the write twice, a second booking or message on
    a stateful world, and its task fails); answering before every step is done is a
    **premature answer** (the task fails).

    ## Observation Space

    A single-level ``Dict`` of fixed-shape arrays (SB3 ``MultiInputPolicy``,
    ``FlattenObservation`` and ``AsyncVectorEnv`` shared memory all work). Tasks are padded
    to ``K`` and steps to ``S``; index ``k * S + s`` is step ``s`` of task ``k``.

    | Key              | Space                             | Content                          |
    |------------------|-----------------------------------|----------------------------------|
    | ``step_status``  | ``MultiDiscrete([6] * K*S)``      | 0 padding, 1 blocked, 2 ready,   |
    |                  |                                   | 3 pending, 4 done, 5 failed      |
    | ``step_latency`` | ``Box(0, 8, (K*S,))`` float32     | expected latency of each step    |
    | ``step_parents`` | ``MultiBinary(K*S*S)`` int8       | ``[k, s, p] = 1``: step ``s`` of |
    |                  |                                   | task ``k`` needs step ``p``      |
    | ``step_tail``    | ``Box(0, S*(1+8), (K*S,))``       | expected rounds from calling the |
    |                  | float32                           | step to its task's last delivery |
    |                  |                                   | (longest path of ``1 + latency``)|
    | ``step_queue``   | ``Box(0, max_rounds, (K*S,))``    | rounds a call of the step made   |
    |                  | float32                           | now would wait in its tool's     |
    |                  |                                   | queue (0 without contention)     |
    | ``step_backlog`` | ``Box(0, big, (K*S,))`` float32   | expected work ``sum(1 + latency)``|
    |                  |                                   | of the *other* uncalled steps of |
    |                  |                                   | open tasks on the same limited   |
    |                  |                                   | tool (0 without contention)      |
    | ``task_status``  | ``MultiDiscrete([3] * K)``        | 0 padding, 1 open, 2 answered    |
    | ``pending``      | ``Box(-1, max_rounds, (P*5,))``   | calls in flight, soonest due     |
    |                  | float32                           | first, 5 values each: task,      |
    |                  |                                   | step, tool code, rounds waited,  |
    |                  |                                   | expected latency; -1 pads        |
    | ``focused_task`` | ``Discrete(K)``                   | the focused task                 |
    | ``round``        | ``Box(0, max_rounds, (1,))`` int64| the current round                |
    | ``calls_left``   | ``Box(0, K*S, (1,))`` int64       | calls still allowed this turn    |
    | ``action_mask``  | ``MultiBinary(K+S+2)`` int8       | 1 where the action is sensible   |

    ``step_tail`` is what a critical-path scheduler ranks by, precomputed; ``step_queue`` and
    ``step_backlog`` are the tool load under ``tool_capacity`` (see *Contention*).
    ``P = pending_slots``; with more calls in flight the latest-due ones are left out. A
    call's tool is its :func:`~asynctool_env.scenarios.tool_code`, a hash of the tool's name
    in ``[0, 1)``: adding a scenario changes no other tool's code.
    ``obs["pending"].reshape(P, 5)`` gives one row per call (flat, because SB3 policies
    expect 1-D vectors).

    ## Rewards

    A weighted sum (``reward_weights``, defaults in brackets) of: ``task_success`` [+1.0]
    per task answered right; ``step_done`` [+0.1] per gold step whose correct response
    arrived; ``round`` [-0.05] per round that passes, and once more for the round of the
    last answer, so an episode is charged exactly ``rounds`` times; ``idle`` [0.0] per idle
    round (a turn with no call while a step was ready); ``invalid`` [-0.1] per masked no-op;
    ``dependency_violation`` [-0.5], ``redundant_call`` [-0.1] and ``premature_answer``
    [-0.5] per occurrence; ``collateral_write`` [-1.0] per write no task owns that changed
    the world where no gold call does (written calls only: never in this env). A task whose
    credit is revoked when the episode ends (its work spoiled after the answer: written
    calls) pays its ``task_success`` back in the last reward. With equal successes and no
    mistakes the return falls strictly with ``rounds``: returns rank schedules as the
    ``rounds`` metric does.

    ``slip`` [0.0] is potential-based shaping for training: ``slip`` times the change of
    :meth:`~asynctool_env.core.simulator.Simulator.finish_lower_bound` (the earliest round the
    episode can still end in), charged on every decision. It telescopes: over a finished
    episode it adds exactly ``slip * (lower bound at reset - rounds)``, so it ranks finished
    episodes as ``round`` does, but it is paid at the decision that delays the critical path
    instead of rounds later. The trained policies use ``slip = -0.05``.

    ## Contention

    With ``tool_capacity`` the tools are servers shared by all tasks of the instance, each
    serving at most its capacity of calls at once (an int for every tool, or a mapping tool
    name -> capacity). A call to a tool whose slots are all taken is not refused: it waits in
    the tool's queue (first come, first served) and starts when a slot frees, so its
    response comes later (see :mod:`asynctool_env.core.simulator`). Queueing is legal, so the
    action mask does not change; the observation shows the load instead (``step_queue``,
    ``step_backlog``), and the metrics report ``queued_rounds``. Calling a step early can push
    a more urgent call of the same tool back in the queue, so under contention the best
    schedule sometimes waits or calls something else first; the exact solver
    (:mod:`asynctool_env.solver`) accounts for it.

    ## Starting State

    ``reset(seed=...)`` draws an instance (from the procedural generator or the given
    instances) and the realized latency of every gold step from ``self.np_random``. Round 0,
    focus on task 0, steps without parents ready, all others blocked.

    ## Episode End

    *Terminated* when every task has been answered. *Truncated* when the clock reaches
    ``max_rounds`` (the env counts rounds itself, so register it without a ``TimeLimit``: a
    step count would cut episodes by decisions, not by time). ``info`` always carries
    ``round`` and running counters; on the last step it also carries ``metrics``, the full
    episode metrics (:class:`asynctool_env.metrics.EpisodeMetrics` as a dict), with the exact
    optimum of the episode and the efficiency, as in every interface. The last ``info`` is
    an :class:`~asynctool_env.interface.EpisodeEndInfo`, a ``dict`` that computes the
    metrics the first time they are read (``info["metrics"]``, ``items()``, a copy, a
    pickle...): solving costs about 0.4 ms an episode, as much as 20 steps, and a trainer
    that never reads them pays nothing. ``optimum_in_info=False`` leaves the optimum and the
    efficiency ``None`` even when read.

    ## Arguments

    ```python
    gym.make(
        "AsyncTool-v0",
        n_tasks=(2, 3),            # tasks per instance: an int or an inclusive range
        latency=None,              # None: the instance's own profile ("tool" when it has
                                   # none); or "sync", "fixed", "fixed:N", "tool",
                                   # "stochastic", "uniform", "lognormal", a LatencyProfile
        max_calls_per_turn=1,      # None: unlimited (parallel function calling)
        action_mode="focus",       # or "direct": no focus, actions name the task
        tool_capacity=None,        # None, an int for every tool or {tool: int}: calls a
                                   # tool serves at once; more queue (see Contention)
        reward_weights=None,       # mapping of RewardWeights fields to override
        max_rounds=200,            # truncation horizon, in rounds
        instances=None,            # list of Instance, or a .jsonl(.gz) path
        split=None,                # "test" or "dev": the shipped benchmark split
        scenarios=None,            # procedural: scenario names (default: all 12)
        composition="mixed",       # procedural: "cross", "same" or "mixed" scenarios
        steps_per_task=None,       # procedural: (low, high) gold steps per task
        max_tasks=3,               # K, padding of tasks (n_tasks <= K <= 8)
        max_steps=8,               # S, padding of steps per task (<= 16)
        pending_slots=8,           # P, rows of the pending queue
        wait_jumps_to_next_delivery=False,
        max_decisions_per_turn=None,  # default: calls per turn + 3 * K + 1
        task_bank_seed=0,          # procedural: seed of the single-task bank
        render_mode=None,          # "ansi" or "rgb_array"
        optimum_in_info=True,      # False: leave the optimum and efficiency None (faster)
    )
    ```

    With neither ``instances`` nor ``split`` the env is *procedural*: each ``reset(seed)``
    composes a fresh instance from a bank of single tasks built by the dataset's own
    generators (templates and evolution) on worlds the shipped dataset does not use.

    ## Version History

    * v0: Initial version. Since dataset v3 (stateful worlds, grader 3) a redundant call of
      a write step fails its task, as the same repeated write fails an LLM's task. Since
      issue 24 the last ``info`` computes its metrics when first read (the same values).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        n_tasks: int | tuple[int, int] = (2, 3),
        latency: str | LatencyProfile | None = None,
        max_calls_per_turn: int | None = 1,
        tool_capacity: int | Mapping[str, int] | None = None,
        action_mode: str = "focus",
        reward_weights: RewardWeights | Mapping[str, float] | None = None,
        max_rounds: int = 200,
        instances: Sequence[Instance] | str | os.PathLike[str] | None = None,
        split: str | None = None,
        scenarios: Sequence[str] | None = None,
        composition: Composition = "mixed",
        steps_per_task: tuple[int, int] | None = None,
        max_tasks: int = 3,
        max_steps: int = 8,
        pending_slots: int = 8,
        wait_jumps_to_next_delivery: bool = False,
        max_decisions_per_turn: int | None = None,
        task_bank_seed: int = 0,
        render_mode: str | None = None,
        optimum_in_info: bool = True,
    ) -> None:
        check_whole("max_tasks", max_tasks, 1, MAX_TASKS_LIMIT)
        check_whole("max_steps", max_steps, 1, MAX_STEPS_LIMIT)
        check_whole("max_rounds", max_rounds, 2)
        check_whole("pending_slots", pending_slots, 1, 1024)
        check_flag("wait_jumps_to_next_delivery", wait_jumps_to_next_delivery)
        check_optional_whole("max_decisions_per_turn", max_decisions_per_turn, 1)
        check_whole("task_bank_seed", task_bank_seed, 0)
        self.optimum_in_info = check_flag("optimum_in_info", optimum_in_info)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        check_optional_whole("max_calls_per_turn", max_calls_per_turn, 1)
        if action_mode not in ("focus", "direct"):
            raise ValueError(f"action_mode must be 'focus' or 'direct', got {action_mode!r}")
        self.action_mode = action_mode
        # None: each instance's own profile (dataset instances carry one), else "tool".
        self.latency_profile = None if latency is None else make_latency_profile(latency)
        self._profiles: dict[str, LatencyProfile] = {}
        self.max_calls_per_turn = max_calls_per_turn
        self.tool_capacity = normalize_tool_capacity(tool_capacity)
        self.reward_weights = RewardWeights.from_any(reward_weights)
        self.max_rounds = int(max_rounds)
        self.max_tasks = n_task_slots = int(max_tasks)
        self.max_steps = n_step_slots = int(max_steps)
        self.pending_slots = int(pending_slots)
        self.wait_jumps_to_next_delivery = bool(wait_jumps_to_next_delivery)
        self.render_mode = render_mode
        self.max_decisions_per_turn = (
            int(max_decisions_per_turn)
            if max_decisions_per_turn is not None
            else (max_calls_per_turn or n_task_slots * n_step_slots) + 3 * n_task_slots + 1
        )
        if self.max_decisions_per_turn < 1:
            raise ValueError("max_decisions_per_turn must be >= 1")

        self._instances, self._generator = instance_source(
            instances=instances,
            split=split,
            scenarios=scenarios,
            composition=composition,
            n_tasks=n_tasks,
            steps_per_task=steps_per_task,
            task_bank_seed=task_bank_seed,
            max_tasks=n_task_slots,
            max_steps=n_step_slots,
        )
        check_capacity_tools(self.tool_capacity, self._instances)

        # Spaces ---------------------------------------------------------------------------
        self.ACTION_WAIT = 0
        if action_mode == "focus":
            self.n_actions = n_task_slots + n_step_slots + 2
            self.ACTION_ANSWER = n_task_slots + n_step_slots + 1
        else:
            self.n_actions = 1 + n_task_slots * n_step_slots + n_task_slots
            self.ACTION_ANSWER = 1 + n_task_slots * n_step_slots  # + task index
        big = float(max(self.max_rounds, n_task_slots, n_step_slots, DEFAULT_MAX_LATENCY))
        self.action_space = MaskedDiscrete(self.n_actions)
        max_tail = float(n_step_slots * (1 + DEFAULT_MAX_LATENCY))
        max_backlog = float(n_task_slots * max_tail)
        self.observation_space = spaces.Dict(
            {
                "step_status": spaces.MultiDiscrete(np.full(n_task_slots * n_step_slots, 6)),
                "step_latency": spaces.Box(
                    0.0,
                    float(DEFAULT_MAX_LATENCY),
                    (n_task_slots * n_step_slots,),
                    dtype=np.float32,
                ),
                "step_parents": spaces.MultiBinary(n_task_slots * n_step_slots * n_step_slots),
                "step_tail": spaces.Box(
                    0.0, max_tail, (n_task_slots * n_step_slots,), dtype=np.float32
                ),
                "step_queue": spaces.Box(
                    0.0, float(self.max_rounds), (n_task_slots * n_step_slots,), dtype=np.float32
                ),
                "step_backlog": spaces.Box(
                    0.0, max_backlog, (n_task_slots * n_step_slots,), dtype=np.float32
                ),
                "task_status": spaces.MultiDiscrete(np.full(n_task_slots, 3)),
                "pending": spaces.Box(
                    -1.0, big, (self.pending_slots * len(PENDING_FIELDS),), dtype=np.float32
                ),
                "focused_task": spaces.Discrete(n_task_slots),
                "round": spaces.Box(0, self.max_rounds, (1,), dtype=np.int64),
                "calls_left": spaces.Box(0, n_task_slots * n_step_slots, (1,), dtype=np.int64),
                "action_mask": spaces.MultiBinary(self.n_actions),
            }
        )

        # Episode state --------------------------------------------------------------------
        self.simulator: Simulator | None = None
        self._finish_bound = 0.0
        self.instance: Instance | None = None
        self.focused_task = 0
        self._decisions_this_turn = 0
        # The observation lives in one flat buffer per dtype; each step copies the three
        # buffers and hands out slices of the copies (3 copies instead of one per key).
        # Status codes are int64: SB3 sums a MultiDiscrete's nvec in the space's dtype, and
        # an int8 nvec overflows there.
        ks, kss = n_task_slots * n_step_slots, n_task_slots * n_step_slots * n_step_slots
        layouts = (
            (
                np.int64,
                {"step_status": ks, "task_status": n_task_slots, "round": 1, "calls_left": 1},
            ),
            (np.int8, {"step_parents": kss, "action_mask": self.n_actions}),
            (
                np.float32,
                {
                    "step_latency": ks,
                    "step_tail": ks,
                    "step_queue": ks,
                    "step_backlog": ks,
                    "pending": self.pending_slots * 5,
                },
            ),
        )
        self._buffers = tuple(
            np.zeros(sum(layout.values()), dtype=dtype) for dtype, layout in layouts
        )
        self._slices: dict[str, slice] = {}
        views = {}
        for buffer, (_, layout) in zip(self._buffers, layouts, strict=True):
            offset = 0
            for key, size in layout.items():
                self._slices[key] = slice(offset, offset + size)
                views[key] = buffer[offset : offset + size]
                offset += size
        self._clock = views["round"]
        self._calls_left = views["calls_left"]
        self._status = views["step_status"].reshape(n_task_slots, n_step_slots)
        self._parents = views["step_parents"].reshape(n_task_slots, n_step_slots, n_step_slots)
        self._task_status = views["task_status"]
        self._mask = views["action_mask"]
        self._latency = views["step_latency"].reshape(n_task_slots, n_step_slots)
        self._tail = views["step_tail"].reshape(n_task_slots, n_step_slots)
        self._queue = views["step_queue"].reshape(n_task_slots, n_step_slots)
        self._backlog = views["step_backlog"].reshape(n_task_slots, n_step_slots)
        self._max_tail = max_tail
        self._max_backlog = max_backlog
        # Under contention: (task, step, tool) of every step of a limited tool.
        self._limited_steps: list[tuple[int, int, str]] = []
        self._pending = views["pending"].reshape(self.pending_slots, len(PENDING_FIELDS))
        self._pending_dirty = True
        self._mask_dirty = True

    # -- Gymnasium API ---------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode.

        ``options`` may hold ``"instance"`` (an :class:`Instance` to play) or
        ``"instance_index"`` (into the env's instance list).
        """
        super().reset(seed=seed)
        rng = self.np_random
        options = check_reset_options(options, self._instances)
        if "instance" in options:
            instance = options["instance"]
            if not isinstance(instance, Instance):
                raise TypeError("options['instance'] must be an Instance")
            self._check_fits(instance)
        elif "instance_index" in options:
            if self._instances is None:
                raise ValueError("options['instance_index'] needs the env built with instances")
            instance = self._instances[options["instance_index"]]
        elif self._instances is not None:
            instance = self._instances[int(rng.integers(len(self._instances)))]
        else:
            assert self._generator is not None
            instance = self._generator.sample(rng)
        self.instance = instance
        self.simulator = Simulator(
            instance,
            rng,
            latency=self._profile_for(instance),
            max_calls_per_turn=self.max_calls_per_turn,
            wait_jumps_to_next_delivery=self.wait_jumps_to_next_delivery,
            tool_capacity=self.tool_capacity,
        )
        self._meter = RewardMeter(self.simulator, self.reward_weights)
        self.focused_task = 0
        self._decisions_this_turn = 0
        self._finish_bound = (
            self.simulator.finish_lower_bound() if self.reward_weights.slip else 0.0
        )
        self._fill_static_arrays()
        self._pending_dirty = True
        self._mask_dirty = True
        return self._observation(), self._info()

    def step(
        self, action: int | np.integer
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        simulator = self.simulator
        if simulator is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if simulator.finished or simulator.round >= self.max_rounds:
            raise gym.error.ResetNeeded("the episode is over; call reset()")
        if type(action) is np.int64 or type(action) is int:  # the common case, checked fast
            action = int(action)
        elif isinstance(action, (bool, np.bool_)) or (  # True is an int, not an action
            not isinstance(action, (int, np.integer))
            and not (
                isinstance(action, np.ndarray)
                and action.shape in ((), (1,))
                and action.dtype.kind in "iu"
            )
        ):
            raise TypeError(f"action must be an int in [0, {self.n_actions}), got {action!r}")
        else:
            action = int(action.reshape(()) if isinstance(action, np.ndarray) else action)
        if not 0 <= action < self.n_actions:
            raise ValueError(f"action must be in [0, {self.n_actions}), got {action}")
        weights = self.reward_weights
        n_task_slots, n_step_slots = self.max_tasks, self.max_steps
        n_tasks = len(simulator.tasks)
        end_turn = False
        if self.action_mode == "direct" and action > 0:
            action = self._direct_to_focus(action)  # focuses the action's task
            if action < 0:
                self._invalid(f"direct action {-action}")
                action = -1
        focused = self.focused_task
        if action == -1:
            pass
        elif action == 0:
            end_turn = True
        elif action <= n_task_slots:
            target = action - 1
            if target < n_tasks and target != focused and simulator.task_status[target] == _OPEN:
                self.focused_task = target
                self._mask_dirty = True
            else:
                self._invalid(f"switch to task {target}")
        elif action <= n_task_slots + n_step_slots:
            step = action - n_task_slots - 1
            if (
                focused < n_tasks
                and simulator.task_status[focused] == _OPEN
                and step < len(simulator.tasks[focused].steps)
            ):
                simulator.call_step(focused, step)
                self._pending_dirty = True
                if simulator.calls_left == 0:
                    end_turn = True
            else:
                self._invalid(f"call step {step} of task {focused}")
        else:
            if focused < n_tasks and simulator.task_status[focused] == _OPEN:
                simulator.answer_task(focused)
                self._mask_dirty = True
                if self._limited_steps:  # the task's steps leave the tool backlog
                    self._pending_dirty = True
                self._task_status[focused] = TaskStatus.ANSWERED
            else:
                self._invalid(f"answer task {focused}")

        self._decisions_this_turn += 1
        if not end_turn and self._decisions_this_turn >= self.max_decisions_per_turn:
            end_turn = True
        terminated = simulator.finished
        if end_turn and not terminated:
            simulator.end_turn()
            self._decisions_this_turn = 0
            self._pending_dirty = True
        reward = self._meter.take()  # every term but slip (core/rewards.py)
        if weights.slip:
            bound = simulator.finish_lower_bound()
            reward += weights.slip * (bound - self._finish_bound)
            self._finish_bound = bound
        truncated = not terminated and simulator.round >= self.max_rounds
        if terminated or truncated:  # the metrics are computed when they are first read
            score = final_metrics if self.optimum_in_info else episode_metrics
            info = EpisodeEndInfo(self._info(), lambda: score(simulator).as_dict())
        else:
            info = self._info()
        return self._observation(), float(reward), bool(terminated), bool(truncated), info

    def _direct_to_focus(self, action: int) -> int:
        """Map a direct action to the focus action after focusing its task; ``-action`` when
        the task is not one of the instance's."""
        assert self.simulator is not None
        n_task_slots, n_step_slots = self.max_tasks, self.max_steps
        n_tasks = len(self.simulator.tasks)
        if action <= n_task_slots * n_step_slots:
            task, step = divmod(action - 1, n_step_slots)
            focus_action = n_task_slots + 1 + step
        else:
            task = action - 1 - n_task_slots * n_step_slots
            focus_action = n_task_slots + n_step_slots + 1
        if task >= n_tasks:
            return -action
        if task != self.focused_task:
            self.focused_task = task
            self._mask_dirty = True
        return focus_action

    def action_masks(self) -> np.ndarray:
        """Boolean mask of the sensible actions (for sb3-contrib's ``MaskablePPO``)."""
        if self.simulator is None:
            raise gym.error.ResetNeeded("call reset() before action_masks()")
        self._update_mask()
        return self._mask.astype(bool)

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn(
                "render() was called without a render_mode; pass render_mode='ansi' or "
                "'rgb_array' to the constructor"
            )
            return None
        if self.simulator is None:
            raise gym.error.ResetNeeded("call reset() before render()")
        from asynctool_env import rendering

        if self.render_mode == "ansi":
            return rendering.render_text(self.simulator, self.focused_task)
        return rendering.render_timeline(self.simulator)

    def close(self) -> None:
        self.simulator = None

    # -- helpers ---------------------------------------------------------------------------

    def _check_fits(self, instance: Instance) -> None:
        check_instance_fits(instance, self.max_tasks, self.max_steps)

    def _profile_for(self, instance: Instance) -> LatencyProfile:
        return latency_profile_for(instance, self.latency_profile, self._profiles)

    def _invalid(self, what: str) -> None:
        assert self.simulator is not None
        self.simulator.record_invalid(f"masked action: {what}")

    def _fill_static_arrays(self) -> None:
        simulator = self.simulator
        assert simulator is not None
        self._status.fill(StepStatus.PADDING)
        self._latency.fill(0.0)
        self._parents.fill(0)
        self._task_status.fill(TaskStatus.PADDING)
        for k, task in enumerate(simulator.tasks):
            n = len(task.steps)
            self._status[k, :n] = simulator.step_status[k]
            self._latency[k, :n] = simulator.expected_latency[k]
            for s, step in enumerate(task.steps):
                for parent in step.depends_on:
                    self._parents[k, s, parent] = 1
            self._task_status[k] = TaskStatus.OPEN
        np.clip(self._latency, 0.0, DEFAULT_MAX_LATENCY, out=self._latency)
        self._tail.fill(0.0)
        for k, task in enumerate(simulator.tasks):
            self._tail[k, : task.n_steps] = task.remaining_paths(self._latency[k].tolist())
        np.clip(self._tail, 0.0, self._max_tail, out=self._tail)
        simulator.status_changes.clear()
        if self.tool_capacity is None:  # step_queue and step_backlog stay zero
            self._limited_steps = []
            return
        self._queue.fill(0.0)
        self._backlog.fill(0.0)
        self._limited_steps = [
            (k, s, step.tool)
            for k, task in enumerate(simulator.tasks)
            for s, step in enumerate(task.steps)
            if simulator.capacity_of(step.tool) is not None
        ]

    def _update_mask(self) -> None:
        # Plain Python over the simulator's lists: cheaper than numpy on a dozen entries.
        simulator = self.simulator
        assert simulator is not None
        n_task_slots, n_step_slots = self.max_tasks, self.max_steps
        focused = self.focused_task
        task_status = simulator.task_status
        n_tasks = len(task_status)
        values = [0] * self.n_actions
        values[0] = 1
        if self.action_mode == "direct":
            answer = 1 + n_task_slots * n_step_slots
            for task in range(n_tasks):
                if task_status[task] != _OPEN:
                    continue
                row = simulator.step_status[task]
                base = 1 + task * n_step_slots
                all_done = True
                for step, status in enumerate(row):
                    if status == _READY:
                        values[base + step] = 1
                    if status != _DONE:
                        all_done = False
                if all_done:
                    values[answer + task] = 1
            self._mask[:] = values
            return
        for task in range(n_tasks):
            if task != focused and task_status[task] == _OPEN:
                values[1 + task] = 1
        if focused < n_tasks and task_status[focused] == _OPEN:
            row = simulator.step_status[focused]
            all_done = True
            for step, status in enumerate(row):
                if status == _READY:
                    values[n_task_slots + 1 + step] = 1
                if status != _DONE:
                    all_done = False
            values[n_task_slots + n_step_slots + 1] = 1 if all_done else 0
        self._mask[:] = values

    def _update_pending(self) -> None:
        simulator = self.simulator
        assert simulator is not None
        pending = self._pending
        pending.fill(-1.0)
        now = simulator.round
        for row, call in enumerate(sorted(simulator._pending)[: self.pending_slots]):
            entry = call[2]
            pending[row] = (
                entry.task,
                entry.step,
                tool_code(entry.tool),
                now - entry.issued_round,
                entry.expected_latency,
            )
        self._pending_dirty = False

    def _update_tool_load(self) -> None:
        """``step_queue`` and ``step_backlog`` of the steps of limited tools (contention)."""
        simulator = self.simulator
        assert simulator is not None
        status, task_status, latency = (
            simulator.step_status,
            simulator.task_status,
            self._latency,
        )
        backlog: dict[str, float] = {}
        for k, s, tool in self._limited_steps:
            if task_status[k] == _OPEN and status[k][s] in _UNCALLED_CODES:
                backlog[tool] = backlog.get(tool, 0.0) + 1.0 + float(latency[k, s])
        for k, s, tool in self._limited_steps:
            own = (
                1.0 + float(latency[k, s])
                if task_status[k] == _OPEN and status[k][s] in _UNCALLED_CODES
                else 0.0
            )
            self._queue[k, s] = simulator.tool_wait(tool)
            self._backlog[k, s] = min(backlog.get(tool, 0.0) - own, self._max_backlog)
        np.clip(self._queue, 0.0, float(self.max_rounds), out=self._queue)

    def _observation(self) -> dict[str, np.ndarray]:
        simulator = self.simulator
        assert simulator is not None
        changes = simulator.status_changes
        if changes:
            status = self._status
            for task, step, value in changes:
                status[task, step] = value
            changes.clear()
            self._mask_dirty = True
        if self._pending_dirty:
            self._update_pending()
            if self._limited_steps:
                self._update_tool_load()
        if self._mask_dirty:
            self._update_mask()
            self._mask_dirty = False
        calls_left = simulator.calls_left
        bound = self.max_tasks * self.max_steps  # the Box's high: no turn calls more
        self._clock[0] = min(simulator.round, self.max_rounds)
        self._calls_left[0] = bound if calls_left is None else min(calls_left, bound)
        ints, bits, floats = self._buffers
        ints, bits, floats = ints.copy(), bits.copy(), floats.copy()
        part = self._slices
        return {
            "step_status": ints[part["step_status"]],
            "step_latency": floats[part["step_latency"]],
            "step_parents": bits[part["step_parents"]],
            "step_tail": floats[part["step_tail"]],
            "step_queue": floats[part["step_queue"]],
            "step_backlog": floats[part["step_backlog"]],
            "task_status": ints[part["task_status"]],
            "pending": floats[part["pending"]],
            "focused_task": _TASK_INDEXES[self.focused_task],
            "round": ints[part["round"]],
            "calls_left": ints[part["calls_left"]],
            "action_mask": bits[part["action_mask"]],
        }

    def _info(self) -> dict[str, Any]:
        assert self.simulator is not None
        return info_counters(self.simulator)
