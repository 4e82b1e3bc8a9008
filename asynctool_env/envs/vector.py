"""``AsyncTool-v0`` as a native batched ``VectorEnv``: N episodes held in arrays.

``gym.make_vec("AsyncTool-v0", num_envs=N, vectorization_mode="vector_entry_point")`` returns
:class:`AsyncToolVectorEnv`. It plays N episodes of the single env's game at once, with the
state of all of them in arrays indexed by env (step status, missing parents, due rounds,
tool slots, the round, the calls left...), and one ``step(actions)`` advances every env
with array operations: there is no Python loop over envs on the step path.

**The same game.** Every sub-env produces exactly what a single ``AsyncTool-v0`` built with
the same arguments produces for the same seed and actions: observations, rewards,
``terminated``/``truncated``, the ``info`` counters and the last step's ``metrics`` (the
focus and direct layouts, the call cap, ``tool_capacity`` queues, every latency profile,
the reward weights and ``slip``, ``wait_jumps_to_next_delivery``, ``max_decisions_per_turn``).
``tests/test_vector_env.py`` checks it against Gymnasium's ``SyncVectorEnv`` of single envs.
Sub-env ``i`` of ``reset(seed=s)`` is seeded with ``s + i``, as Gymnasium's vector envs do.

**Where Python remains.** Only where a single env consumes its random generator, so that the
draws are the same: each reset draws the instance and the realized latencies from that
sub-env's own generator (a few scalar draws; none for the ``tool``, ``fixed`` and ``sync``
profiles' latencies), and a call that is not correct (a masked action played anyway) draws
its latency from the episode's second stream. A reset is otherwise an index into the
*instance bank*: every instance of the split compiled once into padded arrays
(:class:`InstanceBank`). The procedural stream (no ``split``/``instances``) composes each
episode's instance in Python, as the single env does, and compiles it at reset: exact, but
slower; ``procedural_bank=M`` composes M instances once and draws from them instead.

**Autoreset.** ``autoreset_mode`` is Gymnasium 1.x's: ``"next_step"`` (default: the step
after an episode ends resets that env, ignores its action and returns the first observation
with reward 0) or ``"same_step"`` (the ending step returns the new episode's first
observation, the last one in ``info["final_obs"]``, an object array of observations, and
the last info in ``info["final_info"]``, a vector info, as Gymnasium's ``SyncVectorEnv``
gives them). ``metadata["autoreset_mode"]`` says which.

**Infos** follow Gymnasium's vector convention: ``info[key]`` is an array over envs and
``info["_" + key]`` marks the envs that reported it. ``info["metrics"]`` (a dict of arrays;
the list-valued fields, built for each ended episode, as object arrays) is set for the envs
whose episode ended.

**Memory.** About 7.5 KB per env at the default padding (the episode state and one step's
observation), measured by ``benchmarks/vector_speed.py``; the bank holds the instances once
(about 1.5 KB an instance without contention, 1.1 MB for the test split; 3.8 KB with).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from asynctool_env.core.checks import check_flag, check_whole
from asynctool_env.core.latency import DEFAULT_MAX_LATENCY, Fixed, LatencyProfile
from asynctool_env.core.simulator import tool_capacity_of
from asynctool_env.core.task import Instance
from asynctool_env.envs.async_tool_env import AsyncToolEnv
from asynctool_env.results import FAILURE_MODES as _FAILURE_MODES
from asynctool_env.scenarios import tool_code

# Step and task codes (asynctool_env.core.simulator.StepStatus / TaskStatus).
_PADDING, _BLOCKED, _READY, _PENDING, _DONE, _FAILED = 0, 1, 2, 3, 4, 5
_OPEN, _ANSWERED = 1, 2
#: The sort key of a free slot of the calls in flight (after every call).
_NO_CALL = np.iinfo(np.int64).max
# Operations a decision turns into.
_NONE, _WAIT, _SWITCH, _CALL, _ANSWER = 0, 1, 2, 3, 4
#: ``autoreset_mode`` names (any case, with or without ``_``): Gymnasium's own values too.
_AUTORESET_MODES = {
    "nextstep": AutoresetMode.NEXT_STEP,
    "samestep": AutoresetMode.SAME_STEP,
}


#: The failure-mode list of every combination of labels (bit ``j``: label ``j``).
_MODE_LISTS = tuple(
    tuple(mode for j, mode in enumerate(_FAILURE_MODES) if code >> j & 1)
    for code in range(1 << len(_FAILURE_MODES))
)


class InstanceBank:
    """Instances compiled into padded arrays, so that starting an episode is an index.

    Everything here depends only on the instance and the env's arguments (padding, latency
    profile, tool capacities); what depends on the seed (the realized latencies) is drawn at
    reset. ``template`` is a single ``AsyncTool-v0`` built with the same arguments: its
    checks, profiles and capacities are the ones used, so the two cannot disagree.
    """

    def __init__(self, template: AsyncToolEnv, instances: Sequence[Instance]) -> None:
        K, S = template.max_tasks, template.max_steps
        B = len(instances)
        self.instances = list(instances)
        self.profiles: list[LatencyProfile] = []
        #: Per instance and step: the (tool, declared latency) pairs, for second-stream draws.
        self.tools: list[list[list[tuple[str, int]]]] = []
        self.n_tasks = np.zeros(B, np.int64)
        self.n_steps = np.zeros((B, K), np.int64)
        self.parents = np.zeros((B, K, S, S), np.int8)
        self.n_parents = np.zeros((B, K, S), np.int16)
        self.latency = np.zeros((B, K, S), np.float32)  # expected, clipped (observation)
        self.expected = np.zeros((B, K, S), np.float64)  # expected, as the simulator has it
        self.tail = np.zeros((B, K, S), np.float32)
        self.code = np.zeros((B, K, S), np.float32)  # tool code of each step
        self.writes = np.zeros((B, K, S), bool)  # the step's tool changes the world
        self.tool = np.full((B, K, S), -1, np.int64)  # the step's tool, numbered per instance
        self.fixed = np.zeros((B, K, S), np.int64)  # realized latency when deterministic
        self.random_steps: list[list[tuple[int, int, Any]]] = []  # steps whose draw is random
        self._plans: list[tuple[list[int], Any]] = []
        #: Whether an episode of the instance draws latencies at all.
        self.has_draws: list[bool] = []
        self.max_steps = S
        self.limited = np.zeros((B, K, S), bool)  # the step's tool has a capacity
        # Pairs of limited steps on the same tool (contention only: empty otherwise).
        contention = template.tool_capacity is not None
        self.same_tool = np.zeros((B, K * S, K * S) if contention else (B, 0, 0), np.float32)
        n_tools = 1
        capacities: list[list[int]] = []
        max_tail = float(S * (1 + DEFAULT_MAX_LATENCY))
        for b, instance in enumerate(instances):
            profile = template._profile_for(instance)
            self.profiles.append(profile)
            declared = _declared(instance)
            names: dict[str, int] = {}
            caps: list[int] = []
            random_steps = []
            tools = []
            self.n_tasks[b] = instance.n_tasks
            for k, task in enumerate(instance.tasks):
                self.n_steps[b, k] = len(task.steps)
                row = []
                for s, step in enumerate(task.steps):
                    distribution = profile.distribution(step.tool, declared[step.tool])
                    self.expected[b, k, s] = distribution.mean
                    if _draws_nothing(distribution):
                        self.fixed[b, k, s] = distribution.sample(None)  # type: ignore[arg-type]
                    else:
                        random_steps.append((k, s, distribution))
                    for parent in step.depends_on:
                        self.parents[b, k, s, parent] = 1
                    self.n_parents[b, k, s] = len(step.depends_on)
                    self.code[b, k, s] = tool_code(step.tool)
                    self.writes[b, k, s] = step.writes
                    if step.tool not in names:
                        names[step.tool] = len(names)
                        capacity = tool_capacity_of(template.tool_capacity, step.tool)
                        caps.append(0 if capacity is None else capacity)
                    self.tool[b, k, s] = names[step.tool]
                    self.limited[b, k, s] = caps[names[step.tool]] > 0
                    row.append((step.tool, declared[step.tool]))
                tools.append(row)
                clipped = np.clip(self.expected[b, k, : len(task.steps)], 0, DEFAULT_MAX_LATENCY)
                self.latency[b, k, : len(task.steps)] = clipped
                tail = task.remaining_paths(self.latency[b, k, : len(task.steps)].tolist())
                self.tail[b, k, : len(task.steps)] = np.clip(tail, 0.0, max_tail)
            if contention:
                flat_tool = self.tool[b].reshape(-1)
                flat_limited = self.limited[b].reshape(-1)
                self.same_tool[b] = (
                    (flat_tool[:, None] == flat_tool[None, :])
                    & flat_limited[:, None]
                    & flat_limited[None, :]
                )
            self.random_steps.append(random_steps)
            self.has_draws.append(bool(random_steps))
            self._plans.append(self._plan(random_steps))
            self.tools.append(tools)
            capacities.append(caps)
            n_tools = max(n_tools, len(names))
        self.n_tools = n_tools
        self.capacity = np.zeros((B, n_tools), np.int64)  # 0: no limit
        for b, caps in enumerate(capacities):
            self.capacity[b, : len(caps)] = caps
        real = np.arange(S)[None, None, :] < self.n_steps[:, :, None]
        #: Each instance's step and task codes at reset, and its steps ready then.
        self.initial_status = np.where(
            real, np.where(self.n_parents == 0, _READY, _BLOCKED), _PADDING
        ).astype(np.int64)
        self.initial_tasks = np.where(
            np.arange(K)[None, :] < self.n_tasks[:, None], _OPEN, _PADDING
        ).astype(np.int64)
        self.n_roots = (self.initial_status == _READY).sum(axis=(1, 2))

    def __len__(self) -> int:
        return len(self.instances)

    def draw_latencies(self, b: int, rng: np.random.Generator) -> tuple[list[int], list[int]]:
        """The random part of an episode of instance ``b``'s realized latencies, drawn from
        ``rng`` in the simulator's order (task by task, step by step; the draws that consume
        nothing are in :attr:`fixed`): ``(positions k * S + s, values)``.

        The draws are the distributions' own (``Geometric``: ``geometric(p) - 1`` clipped,
        ``Uniform``: ``integers(low, high + 1)``), made straight on ``rng``; any other
        distribution draws through its ``sample``."""
        positions, plan = self._plans[b]
        if plan is None:
            return positions, [d.sample(rng) for _, _, d in self.random_steps[b]]
        kind, params = plan
        if kind == "geometric":
            geometric = rng.geometric
            return positions, [min(int(geometric(p)) - 1, top) for p, top in params]
        integers = rng.integers
        return positions, [int(integers(low, high)) for low, high in params]

    def _plan(self, random_steps: list[tuple[int, int, Any]]) -> tuple[list[int], Any]:
        """Positions of an instance's random steps, and how :meth:`draw_latencies` draws
        them (``None``: through each distribution's ``sample``)."""
        from asynctool_env.core.latency import Geometric, Uniform

        positions = [k * self.max_steps + s for k, s, _ in random_steps]
        kinds = {type(distribution) for _, _, distribution in random_steps}
        if kinds == {Geometric}:
            params = [(1.0 / (1.0 + d.mean_rounds), d.max_latency) for _, _, d in random_steps]
            return positions, ("geometric", params)
        if kinds == {Uniform}:
            return positions, ("uniform", [(d.low, d.high + 1) for _, _, d in random_steps])
        return positions, None

    def nbytes(self) -> int:
        """Bytes of the bank's arrays."""
        return sum(value.nbytes for value in vars(self).values() if isinstance(value, np.ndarray))


def _draws_nothing(distribution: Any) -> bool:
    """Whether ``distribution.sample(rng)`` returns without touching ``rng`` (so the batched
    env can skip it and the stream stays the simulator's)."""
    from asynctool_env.core.latency import Geometric, LogNormal

    return (
        isinstance(distribution, Fixed)
        or (isinstance(distribution, Geometric) and distribution.mean_rounds == 0)
        or (isinstance(distribution, LogNormal) and distribution.median == 0)
    )


def _declared(instance: Instance) -> dict[str, int]:
    from asynctool_env.core.simulator import _declared_latencies

    return _declared_latencies(instance, None)


class AsyncToolVectorEnv(VectorEnv):
    """N ``AsyncTool-v0`` episodes stepped together with array operations (see the module).

    Args:
        num_envs: N, the number of sub-envs.
        autoreset_mode: ``"next_step"`` (default) or ``"same_step"`` (or Gymnasium's
            ``AutoresetMode``).
        optimum_in_info: Fill ``optimal_rounds`` and ``efficiency`` in the last step's
            metrics with the exact solver (cached per instance and realized latencies).
            Default ``False``: the batched env is for training.
        procedural_bank: Procedural envs only: compose this many instances from the
            procedural stream once (seeded by ``procedural_seed``) and draw episodes from
            them, so that a reset is an index (the episodes are then those of a single
            ``AsyncTool-v0`` built with ``instances=env.bank.instances``). Default ``None``:
            each reset composes a fresh instance, as a single env does (slower).
        procedural_seed: The seed of the procedural bank [0].
        **kwargs: ``AsyncTool-v0``'s arguments (``render_mode`` excepted), checked by it.
    """

    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        optimum_in_info: bool = False,
        procedural_bank: int | None = None,
        procedural_seed: int = 0,
        **kwargs: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)):
            raise TypeError(f"num_envs must be a whole number >= 1, got {num_envs!r}")
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if kwargs.get("render_mode") is not None:
            raise ValueError("the batched env does not render; render a single AsyncTool-v0")
        kwargs.pop("render_mode", None)
        mode = _AUTORESET_MODES.get(
            autoreset_mode.lower().replace("_", "") if isinstance(autoreset_mode, str) else None,
            autoreset_mode if isinstance(autoreset_mode, AutoresetMode) else None,
        )
        if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(
                f"autoreset_mode must be 'next_step' or 'same_step' (or Gymnasium's "
                f"AutoresetMode.NEXT_STEP / SAME_STEP), got {autoreset_mode!r}"
            )
        self.template = AsyncToolEnv(**kwargs, optimum_in_info=False)
        template = self.template
        self.num_envs = N = int(num_envs)
        self.autoreset_mode = mode
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.render_mode = None
        check_flag("optimum_in_info", optimum_in_info)
        self.optimum_in_info = bool(optimum_in_info)
        self.single_observation_space = template.observation_space
        self.single_action_space = template.action_space
        self.observation_space = batch_space(self.single_observation_space, N)
        self.action_space = batch_space(self.single_action_space, N)
        self.action_mode = template.action_mode
        self.max_tasks = K = template.max_tasks
        self.max_steps = S = template.max_steps
        self.n_actions = template.n_actions
        self.max_rounds = template.max_rounds
        self.pending_slots = template.pending_slots
        self.max_calls_per_turn = template.max_calls_per_turn
        self.max_decisions_per_turn = template.max_decisions_per_turn
        self.wait_jumps = template.wait_jumps_to_next_delivery
        self.tool_capacity = template.tool_capacity
        weights = template.reward_weights
        self.reward_weights = weights
        self._weights = weights.in_meter_order()
        self._max_tail = float(S * (1 + DEFAULT_MAX_LATENCY))
        self._max_backlog = float(K * self._max_tail)
        instances = template._instances
        if procedural_bank is not None:
            check_whole("procedural_bank", procedural_bank, 1)
            check_whole("procedural_seed", procedural_seed, 0)
            if template._generator is None:
                raise ValueError("procedural_bank is for procedural envs (no split or instances)")
            rng = np.random.default_rng(procedural_seed)
            instances = [template._generator.sample(rng) for _ in range(int(procedural_bank))]
        self._procedural = instances is None
        self.bank = InstanceBank(template, instances or [])
        self._optimum_cache: dict[tuple[int, bytes], int] = {}

        # Per-env state (see the module docstring) --------------------------------------
        self._rngs: list[np.random.Generator | None] = [None] * N
        #: The bank each env's episode came from (the split's, or a procedural reset's).
        self._bank_of: list[InstanceBank] = [self.bank] * N
        self._extra_seed = np.zeros(N, np.int64)
        self._extra_rngs: list[np.random.Generator | None] = [None] * N
        self._instance_index = np.zeros(N, np.int64)  # into the bank
        self._n_tasks = np.zeros(N, np.int64)
        self._n_steps = np.zeros((N, K), np.int64)
        self._parents = np.zeros((N, K, S, S), np.int8)
        self._latency = np.zeros((N, K, S), np.float32)
        self._expected = np.zeros((N, K, S), np.float64)
        self._tail = np.zeros((N, K, S), np.float32)
        self._code = np.zeros((N, K, S), np.float32)
        self._writes = np.zeros((N, K, S), bool)
        self._tool = np.zeros((N, K, S), np.int64)
        self._limited = np.zeros((N, K, S), bool)
        contention = template.tool_capacity is not None
        self._same_tool = np.zeros((N, K * S, K * S) if contention else (0, 0, 0), np.float32)
        self._realized = np.zeros((N, K, S), np.int64)
        self._status = np.zeros((N, K, S), np.int64)
        self._missing = np.zeros((N, K, S), np.int16)
        self._undone = np.zeros((N, K), np.int64)  # steps of each task not done yet
        self._ready_count = np.zeros(N, np.int64)  # READY steps (the simulator's ready_count)
        self._task_status = np.zeros((N, K), np.int64)
        self._premature = np.zeros((N, K), bool)
        self._repeated = np.zeros((N, K), bool)  # a write step of the task called twice
        self._answer_round = np.full((N, K), -1, np.int64)
        self._first_call = np.full((N, K, S), -1, np.int64)
        self._delivered = np.full((N, K, S), -1, np.int64)
        self._round = np.zeros(N, np.int64)
        self._calls_this_turn = np.zeros(N, np.int64)
        self._decisions = np.zeros(N, np.int64)
        self._focused = np.zeros(N, np.int64)
        self._open = np.zeros(N, np.int64)
        self._finish_round = np.full(N, -1, np.int64)
        self._last_call_task = np.full(N, -1, np.int64)
        self._next_call_id = np.zeros(N, np.int64)
        counters = (
            "calls",
            "correct_calls",
            "violations",
            "redundant",
            "invalid",
            "premature_answers",
            "correct_answers",
            "steps_done",
            "idle_rounds",
            "switches",
            "in_flight_rounds",
            "queued_rounds",
        )
        self._counters = {name: np.zeros(N, np.int64) for name in counters}
        self._finish_bound = np.zeros(N, np.float64)
        self._autoreset = np.zeros(N, bool)
        self._has_reset = False
        self._last_masks = np.zeros((N, self.n_actions), bool)
        # Calls in flight: a pool of slots per env, grown when an env fills it.
        self._pool = 0
        self._p_valid = np.zeros((N, 0), bool)
        self._p_due = np.zeros((N, 0), np.int64)
        self._p_key = np.zeros((N, 0), np.int64)  # (due, call id) packed; _NO_CALL when free
        self._p_task = np.zeros((N, 0), np.int64)
        self._p_step = np.zeros((N, 0), np.int64)
        self._p_correct = np.zeros((N, 0), bool)
        # The observation row of each call: task, step, tool code, issued round, expected
        # (all -1 in a free slot).
        self._p_fields = np.zeros((N, 0, 5), np.float32)
        # Tool slots (contention): per env and tool, the round each slot is free from (as
        # many slots as calls can be in flight: the pool's size).
        self._capacity = np.zeros((N, 1), np.int64)
        self._slots = np.zeros((N, 1, 1), np.int64)
        self._grow_pool(max(8, self.pending_slots))
        self._arange = np.arange(N)
        # Direct actions decoded by lookup: kind (wait, call, answer), task, step.
        actions = np.arange(self.n_actions)
        is_call = (actions >= 1) & (actions <= K * S)
        self._action_kind = np.where(actions == 0, _WAIT, np.where(is_call, _CALL, _ANSWER))
        self._action_task = np.where(is_call, (actions - 1) // S, actions - 1 - K * S)
        self._action_step = np.where(is_call, (actions - 1) % S, 0)

    # -- Gymnasium API ---------------------------------------------------------------------

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every env (sub-env ``i`` seeded with ``seed + i``; a list gives each its own).

        ``options`` may hold ``"reset_mask"`` (only those envs start again, as in
        Gymnasium's vector envs) and ``"instance_index"`` (one index, or one per env, into
        the env's instances).
        """
        N = self.num_envs
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if mask is not None:
            given = np.asarray(mask)
            if given.shape != (N,) or given.dtype != np.bool_:
                raise ValueError(
                    f"reset_mask must be a boolean array of shape ({N},), got dtype "
                    f"{given.dtype} and shape {given.shape}"
                )
        envs = np.arange(N) if mask is None else np.flatnonzero(np.asarray(mask, bool))

        def whole(value: Any) -> bool:
            return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))

        if seed is None:
            seeds: list[int | None] = [None] * N
        elif whole(seed):
            seeds = [int(seed) + i for i in range(N)]
        elif isinstance(seed, (str, bytes)) or not isinstance(seed, (Sequence, np.ndarray)):
            raise TypeError(
                f"seed must be an int, one int (or None) per env, or None; got {seed!r}"
            )
        else:
            seeds = list(seed)
            if len(seeds) != N:
                raise ValueError(f"give one seed per env ({N}), got {len(seeds)}")
            wrong = [value for value in seeds if value is not None and not whole(value)]
            if wrong:
                raise TypeError(f"each seed must be an int or None, got {wrong[0]!r}")
        index = options.pop("instance_index", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}")
        indexes: list[int | None] = [None] * N
        if index is not None:
            if self._procedural:
                raise ValueError("options['instance_index'] needs the env built with instances")
            values = np.broadcast_to(np.asarray(index), (N,))
            if values.dtype.kind not in "iu":  # 1.5, "3", True are no index
                raise ValueError(
                    f"options['instance_index'] must be an int or one int per env, got {index!r}"
                )
            for i in envs:
                value = values[i]
                if not 0 <= int(value) < len(self.bank):
                    raise ValueError(
                        f"options['instance_index'] must be in [0, {len(self.bank) - 1}], "
                        f"got {value}"
                    )
                indexes[i] = int(value)
        for i in envs:
            if seeds[i] is not None or self._rngs[i] is None:
                self._rngs[i], _ = seeding.np_random(seeds[i])
        self._reset_envs(envs, indexes)
        self._autoreset[envs] = False
        self._has_reset = True
        return self._observation(), self._info()

    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._has_reset:
            raise gym.error.ResetNeeded("call reset() before step()")
        N, K, S = self.num_envs, self.max_tasks, self.max_steps
        actions = self._check_actions(actions)
        restart = self._autoreset.copy() if self.autoreset_mode == AutoresetMode.NEXT_STEP else None
        active = ~restart if restart is not None else np.ones(N, bool)
        counters = self._counters
        before = self._reward_counters()
        rows = self._arange

        # Decode the decision ------------------------------------------------------------
        op = np.full(N, _NONE, np.int64)
        step_index = np.zeros(N, np.int64)
        invalid = np.zeros(N, bool)
        if self.action_mode == "direct":
            kind = self._action_kind[actions]
            calls, answers = kind == _CALL, kind == _ANSWER
            task = self._action_task[actions]
            step_index = self._action_step[actions]
            named = (actions > 0) & active
            outside = named & (task >= self._n_tasks)
            invalid |= outside
            refocus = named & ~outside
            self._focused = np.where(refocus, task, self._focused)
            op = np.where(active & (actions == 0), _WAIT, op)
            op = np.where(refocus & calls, _CALL, op)
            op = np.where(refocus & answers, _ANSWER, op)
        else:
            op = np.where(active & (actions == 0), _WAIT, op)
            switch = active & (actions >= 1) & (actions <= K)
            op = np.where(switch, _SWITCH, op)
            op = np.where(active & (actions > K) & (actions <= K + S), _CALL, op)
            op = np.where(active & (actions == K + S + 1), _ANSWER, op)
            step_index = np.clip(actions - K - 1, 0, S - 1)
            target = np.clip(actions - 1, 0, K - 1)
            target_open = self._task_status[rows, target] == _OPEN
            good = (
                (op == _SWITCH)
                & (actions - 1 < self._n_tasks)
                & (actions - 1 != self._focused)
                & target_open
            )
            invalid |= (op == _SWITCH) & ~good
            self._focused = np.where(good, actions - 1, self._focused)
        focused = self._focused
        focus_open = (focused < self._n_tasks) & (self._task_status[rows, focused] == _OPEN)
        end_turn = op == _WAIT

        # Calls ----------------------------------------------------------------------------
        want_call = op == _CALL
        calling = want_call & focus_open & (step_index < self._n_steps[rows, focused])
        invalid |= want_call & ~calling
        if calling.any():
            end_turn |= self._call(np.flatnonzero(calling), step_index)

        # Answers --------------------------------------------------------------------------
        want_answer = op == _ANSWER
        answering = want_answer & focus_open
        invalid |= want_answer & ~answering
        if answering.any():
            self._answer(np.flatnonzero(answering))

        counters["invalid"] += invalid
        self._decisions += active
        end_turn |= active & (self._decisions >= self.max_decisions_per_turn)
        terminated = active & (self._open == 0)
        ending = end_turn & ~terminated & active
        if ending.any():
            self._end_turn(ending)
        rewards = self._reward(before)
        if self.reward_weights.slip:
            bound = self._finish_lower_bound()
            rewards += self.reward_weights.slip * np.where(active, bound - self._finish_bound, 0)
            self._finish_bound = np.where(active, bound, self._finish_bound)
        truncated = active & ~terminated & (self._round >= self.max_rounds)
        done = terminated | truncated
        rewards = np.where(active, rewards, 0.0)

        ended = done.any()
        metrics = self._metrics(np.flatnonzero(done)) if ended else None
        if restart is not None:
            if restart.any():
                self._reset_envs(np.flatnonzero(restart), [None] * N)
            info = self._info()
            if metrics is not None:
                info["metrics"], info["_metrics"] = metrics, done.copy()
            self._autoreset = done
            return self._observation(), rewards, terminated, truncated, info
        info = self._info()
        if metrics is not None:  # (same step: only in final_info, as Gymnasium's envs do)
            info["metrics"], info["_metrics"] = metrics, done.copy()
        if done.any():  # same step: the last observation and info go into info
            last = self._observation()
            finished = np.flatnonzero(done)
            final_obs = np.empty(N, dtype=object)
            for i in finished:  # only the envs whose episode just ended
                final_obs[i] = {key: value[i] for key, value in last.items()}
            final_info: dict[str, Any] = {}
            for key, value in info.items():  # the vector info, kept for the ended envs
                if key.startswith("_"):
                    continue
                final_info[key] = value if key == "metrics" else np.where(done, value, 0)
                final_info["_" + key] = done.copy()
            self._reset_envs(finished, [None] * N)
            info = self._info()
            info["final_obs"], info["_final_obs"] = final_obs, done.copy()
            info["final_info"], info["_final_info"] = final_info, done.copy()
        return self._observation(), rewards, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """``(num_envs, n_actions)`` boolean masks of the sensible actions (MaskablePPO)."""
        if not self._has_reset:
            raise gym.error.ResetNeeded("call reset() before action_masks()")
        return self._last_masks.copy()

    def close_extras(self, **kwargs: Any) -> None:
        self._has_reset = False

    # -- episodes ----------------------------------------------------------------------------

    def _reset_envs(self, envs: np.ndarray, indexes: Sequence[int | None]) -> None:
        """Start a new episode in each of ``envs`` (drawing from each env's generator exactly
        as a single ``AsyncTool-v0`` reset does)."""
        if len(envs) == 0:
            return
        bank = self.bank
        if self._procedural:  # compose each instance as the single env does, then compile
            generator = self.template._generator
            assert generator is not None
            drawn = [generator.sample(self._rngs[i]) for i in envs]  # type: ignore[arg-type]
            bank = InstanceBank(self.template, drawn)
            indexes = [None] * self.num_envs
            for position, i in enumerate(envs):
                indexes[i] = position
        rngs, extra_rngs, bank_of = self._rngs, self._extra_rngs, self._bank_of
        count, has_draws = len(bank), bank.has_draws
        chosen = np.empty(len(envs), np.int64)
        extra_seeds = np.empty(len(envs), np.int64)
        rows: list[int] = []
        columns: list[int] = []
        values: list[int] = []
        for position, i in enumerate(envs.tolist()):  # each env's own generator, in order
            rng = rngs[i]
            assert rng is not None
            b = indexes[i]
            if b is None:
                b = int(rng.integers(count))
            chosen[position] = b
            if has_draws[b]:
                where, drawn = bank.draw_latencies(b, rng)
                columns += where
                values += drawn
                rows += [position] * len(where)
            extra_seeds[position] = int(rng.integers(0, 2**63 - 1))
            extra_rngs[i] = None
            bank_of[i] = bank
        self._instance_index[envs] = chosen
        self._extra_seed[envs] = extra_seeds
        realized = bank.fixed[chosen].reshape(len(envs), -1)
        if rows:
            realized[rows, columns] = values
        b = self._instance_index[envs]
        self._ensure_tools(bank.n_tools)
        self._n_tasks[envs] = bank.n_tasks[b]
        self._n_steps[envs] = bank.n_steps[b]
        self._parents[envs] = bank.parents[b]
        self._latency[envs] = bank.latency[b]
        self._expected[envs] = bank.expected[b]
        self._tail[envs] = bank.tail[b]
        self._code[envs] = bank.code[b]
        self._writes[envs] = bank.writes[b]
        self._tool[envs] = bank.tool[b]
        self._limited[envs] = bank.limited[b]
        if self.tool_capacity is not None:
            self._same_tool[envs] = bank.same_tool[b]
            self._capacity[envs] = 0
            self._capacity[envs, : bank.n_tools] = bank.capacity[b]
            self._slots[envs] = 0
        self._realized[envs] = realized.reshape(len(envs), self.max_tasks, self.max_steps)
        self._status[envs] = bank.initial_status[b]
        self._missing[envs] = bank.n_parents[b]
        self._task_status[envs] = bank.initial_tasks[b]
        self._undone[envs] = bank.n_steps[b]
        self._ready_count[envs] = bank.n_roots[b]
        self._premature[envs] = False
        self._repeated[envs] = False
        self._answer_round[envs] = -1
        self._first_call[envs] = -1
        self._delivered[envs] = -1
        self._round[envs] = 0
        self._calls_this_turn[envs] = 0
        self._decisions[envs] = 0
        self._focused[envs] = 0
        self._open[envs] = self._n_tasks[envs]
        self._finish_round[envs] = -1
        self._last_call_task[envs] = -1
        self._next_call_id[envs] = 0
        for counter in self._counters.values():
            counter[envs] = 0
        self._p_valid[envs] = False
        self._p_key[envs] = _NO_CALL
        self._p_fields[envs] = -1.0
        if self.reward_weights.slip:
            self._finish_bound[envs] = self._finish_lower_bound()[envs]

    def _ensure_tools(self, n_tools: int) -> None:
        """Size the per-tool slot arrays for ``n_tools`` tools (contention only)."""
        if self.tool_capacity is None:
            return
        N = self.num_envs
        width = self._pool  # never more calls at once on one tool than in flight
        if self._capacity.shape[1] < n_tools:
            grown = np.zeros((N, n_tools), np.int64)
            grown[:, : self._capacity.shape[1]] = self._capacity
            self._capacity = grown
        if self._slots.shape[1] < n_tools or self._slots.shape[2] < width:
            grown_slots = np.zeros((N, max(n_tools, self._slots.shape[1]), width), np.int64)
            old = self._slots
            grown_slots[:, : old.shape[1], : old.shape[2]] = old
            self._slots = grown_slots

    def _grow_pool(self, size: int) -> None:
        """Room for ``size`` calls in flight per env (slots are kept, new ones empty)."""
        N, old = self.num_envs, self._pool
        for name in ("_p_valid", "_p_due", "_p_key", "_p_task", "_p_step", "_p_correct"):
            array = getattr(self, name)
            grown = np.full((N, size), _NO_CALL if name == "_p_key" else 0, array.dtype)
            grown[:, :old] = array
            setattr(self, name, grown)
        fields = np.full((N, size, 5), -1.0, np.float32)
        fields[:, :old] = self._p_fields
        self._p_fields = fields
        self._pool = size
        self._ensure_tools(self._slots.shape[1])

    # -- the simulator, batched -------------------------------------------------------------

    def _call(self, envs: np.ndarray, step_index: np.ndarray) -> np.ndarray:
        """Issue the focused task's call in each of ``envs``; returns the ``num_envs`` mask of
        the envs whose turn the call ended (the call cap)."""
        N = self.num_envs
        counters = self._counters
        task = self._focused[envs]
        step = step_index[envs]
        status = self._status[envs, task, step]
        correct = status == _READY
        redundant = (status == _PENDING) | (status == _DONE)
        violation = ~correct & ~redundant
        latency = self._realized[envs, task, step].copy()
        for position in np.flatnonzero(~correct):  # second stream: masked calls only
            latency[position] = self._draw_extra(envs[position], task[position], step[position])
        if (self._p_valid[envs].sum(axis=1) >= self._pool).any():
            self._grow_pool(self._pool * 2)
        now = self._round[envs]
        start = now.copy()
        if self.tool_capacity is not None:
            limited = self._limited[envs, task, step]
            tool = self._tool[envs, task, step]
            capacity = self._capacity[envs, tool]
            width = np.arange(self._slots.shape[2])[None, :]
            slots = self._slots[envs, tool]  # (calls, width)
            usable = width < capacity[:, None]
            free = np.where(usable, slots, np.iinfo(np.int64).max)
            soonest = free.argmin(axis=1)
            earliest = free[np.arange(len(envs)), soonest]
            start = np.where(limited, np.maximum(now, earliest), now)
            chosen = envs[limited]
            self._slots[chosen, tool[limited], soonest[limited]] = (start + 1 + latency)[limited]
        queued = start - now
        due = start + 1 + latency
        slot = np.argmin(self._p_valid[envs], axis=1)
        self._p_valid[envs, slot] = True
        self._p_due[envs, slot] = due
        self._p_key[envs, slot] = (due << 32) + self._next_call_id[envs]
        self._p_task[envs, slot] = task
        self._p_step[envs, slot] = step
        self._p_correct[envs, slot] = correct
        self._p_fields[envs, slot] = np.stack(
            [task, step, self._code[envs, task, step], now, self._expected[envs, task, step]],
            axis=1,
        )
        self._ready_count[envs] -= correct
        self._next_call_id[envs] += 1
        counters["calls"][envs] += 1
        counters["queued_rounds"][envs] += queued
        self._calls_this_turn[envs] += 1
        last = self._last_call_task[envs]
        counters["switches"][envs] += (last >= 0) & (last != task)
        self._last_call_task[envs] = task
        counters["correct_calls"][envs] += correct
        counters["violations"][envs] += violation
        counters["redundant"][envs] += redundant
        self._repeated[envs, task] |= redundant & self._writes[envs, task, step]
        first = self._first_call[envs, task, step]
        self._first_call[envs, task, step] = np.where(correct & (first < 0), now, first)
        self._status[envs, task, step] = np.where(
            correct, _PENDING, np.where(violation, _FAILED, status)
        )
        ended = np.zeros(N, bool)
        if self.max_calls_per_turn is not None:
            ended[envs] = self._calls_this_turn[envs] >= self.max_calls_per_turn
        return ended

    def _draw_extra(self, env: int, task: int, step: int) -> int:
        """A latency from env ``env``'s second stream (a call that is not correct)."""
        rng = self._extra_rngs[env]
        if rng is None:
            rng = self._extra_rngs[env] = np.random.default_rng(int(self._extra_seed[env]))
        bank, b = self._bank_of[env], int(self._instance_index[env])
        tool, declared = bank.tools[b][task][step]
        return int(bank.profiles[b].distribution(tool, declared).sample(rng))

    def _answer(self, envs: np.ndarray) -> None:
        counters = self._counters
        task = self._focused[envs]
        all_done = self._undone[envs, task] == 0
        premature = ~all_done
        self._task_status[envs, task] = _ANSWERED
        self._premature[envs, task] = premature
        counters["correct_answers"][envs] += all_done & ~self._repeated[envs, task]
        counters["premature_answers"][envs] += premature
        self._answer_round[envs, task] = self._round[envs]
        self._open[envs] -= 1
        finished = envs[self._open[envs] == 0]
        self._finish_round[finished] = self._round[finished]

    def _end_turn(self, ending: np.ndarray) -> None:
        """Close the turn of the envs ``ending`` marks (a boolean mask over all envs, most of
        them every step: whole-array operations cost less than gathering them): move their
        clocks and deliver what is due."""
        counters = self._counters
        valid = self._p_valid
        in_flight = valid.sum(axis=1)
        advance = ending.astype(np.int64)  # 1 round, 0 for the envs whose turn goes on
        silent = self._calls_this_turn == 0
        if self.wait_jumps:
            soonest = np.where(valid, self._p_due, np.iinfo(np.int64).max).min(axis=1)
            jump = ending & silent & (in_flight > 0)
            advance = np.where(jump, np.maximum(1, soonest - self._round), advance)
        counters["idle_rounds"] += np.where(silent & (self._ready_count > 0), advance, 0)
        counters["in_flight_rounds"] += in_flight * advance
        self._round += advance
        kept = ~ending
        self._calls_this_turn *= kept
        self._decisions *= kept
        # Deliveries: every call now due.
        due = valid & (self._p_due <= self._round[:, None])
        due &= ending[:, None]
        due_env, due_slot = np.nonzero(due)
        if len(due_env) == 0:
            return
        gone = due_env
        self._p_valid[gone, due_slot] = False
        self._p_key[gone, due_slot] = _NO_CALL
        self._p_fields[gone, due_slot] = -1.0
        hit = self._p_correct[gone, due_slot]
        if not hit.any():
            return
        env, hit_slot = gone[hit], due_slot[hit]
        task = self._p_task[env, hit_slot]
        step = self._p_step[env, hit_slot]
        self._status[env, task, step] = _DONE
        self._delivered[env, task, step] = self._round[env]
        per_env = np.bincount(env, minlength=self.num_envs)
        counters["steps_done"] += per_env
        # Children lose one missing parent per delivered parent (``subtract.at`` only when
        # one task had two deliveries in the round: fancy ``-=`` would count one).
        lost = self._parents[env, task, :, step].astype(np.int16)
        pair = env * self.max_tasks + task
        order = np.argsort(pair, kind="stable")
        pair, lost = pair[order], lost[order]
        first = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1])))
        done_here = np.diff(np.append(first, len(pair)))  # deliveries per task
        if len(first) < len(pair):  # a task with two deliveries this round: add them up
            lost = np.add.reduceat(lost, first, axis=0)
            pair = pair[first]
        pair_env, pair_task = pair // self.max_tasks, pair % self.max_tasks
        self._missing[pair_env, pair_task] -= lost
        self._undone[pair_env, pair_task] -= done_here
        touched = np.flatnonzero(per_env)
        status = self._status[touched]
        freed = (self._missing[touched] == 0) & ((status == _BLOCKED) | (status == _FAILED))
        self._ready_count[touched] += freed.reshape(len(touched), -1).sum(axis=1)
        status[freed] = _READY
        self._status[touched] = status

    def _finish_lower_bound(self) -> np.ndarray:
        """:meth:`Simulator.finish_lower_bound` of every env (the ``slip`` potential)."""
        N, S = self.num_envs, self.max_steps
        now = self._round.astype(np.float64)
        pending_due = np.full((N, self.max_tasks, S), np.nan)
        valid = self._p_valid & self._p_correct
        e, slot = np.nonzero(valid)
        pending_due[e, self._p_task[e, slot], self._p_step[e, slot]] = self._p_due[e, slot]
        delivery = np.zeros((N, self.max_tasks, S))
        status = self._status
        for s in range(S):
            parents = self._parents[:, :, s, :s].astype(bool)  # (N, K, s)
            start = np.maximum(
                now[:, None],
                np.where(parents, delivery[:, :, :s], -np.inf).max(axis=2, initial=-np.inf),
            )
            value = start + 1.0 + self._expected[:, :, s]
            value = np.where(status[:, :, s] == _DONE, now[:, None], value)
            value = np.where(status[:, :, s] == _PENDING, pending_due[:, :, s], value)
            delivery[:, :, s] = value
        counted = (status != _PADDING) & (self._task_status == _OPEN)[:, :, None]
        latest = np.maximum(now, np.where(counted, delivery, -np.inf).max(axis=(1, 2)))
        finished = self._open == 0
        return np.where(finished, (self._finish_round + 1).astype(np.float64), latest + 1.0)

    def _reward(self, before: list[np.ndarray]) -> np.ndarray:
        """The reward since ``before`` (:meth:`_reward_counters`), term by term in
        :class:`~asynctool_env.core.rewards.RewardMeter`'s order, so that the float sums are
        the single env's to the last bit."""
        reward = np.zeros(self.num_envs)
        for weight, after, earlier in zip(
            self._weights, self._reward_counters(), before, strict=True
        ):
            if weight:
                reward += weight * (after - earlier)
        return reward

    def _reward_counters(self) -> list[np.ndarray]:
        """Copies of the reward counters of every env, in :class:`RewardMeter` order."""
        c = self._counters
        return [
            c["correct_answers"].copy(),
            c["premature_answers"].copy(),
            c["steps_done"].copy(),
            self._round + (self._open == 0),
            c["idle_rounds"].copy(),
            c["invalid"].copy(),
            c["violations"].copy(),
            c["redundant"].copy(),
            np.zeros(self.num_envs, np.int64),  # collateral writes: written calls only
        ]

    # -- observations and infos ---------------------------------------------------------------

    def _mask(self) -> np.ndarray:
        N, K, S = self.num_envs, self.max_tasks, self.max_steps
        mask = np.zeros((N, self.n_actions), np.int8)
        mask[:, 0] = 1
        open_ = self._task_status == _OPEN  # (N, K)
        ready = self._status == _READY
        all_done = self._undone == 0
        if self.action_mode == "direct":
            mask[:, 1 : 1 + K * S] = (ready & open_[:, :, None]).reshape(N, K * S)
            mask[:, 1 + K * S :] = open_ & all_done
            return mask
        focused = self._focused
        rows = self._arange
        mask[:, 1 : 1 + K] = open_ & (np.arange(K)[None, :] != focused[:, None])
        focus_open = open_[rows, focused]
        mask[:, 1 + K : 1 + K + S] = ready[rows, focused] & focus_open[:, None]
        mask[:, 1 + K + S] = focus_open & all_done[rows, focused]
        return mask

    def _observation(self) -> dict[str, np.ndarray]:
        N, K, S = self.num_envs, self.max_tasks, self.max_steps
        KS = K * S
        P = self.pending_slots
        # Calls in flight, soonest due first (ties: the earlier call), P rows of 5 fields.
        take = min(P, self._pool)
        order = np.argsort(self._p_key, axis=1)[:, :take]
        flat = (order + (self._arange * self._pool)[:, None]).reshape(-1)
        rows = self._p_fields.reshape(-1, 5)[flat].reshape(N, take, 5)  # free slots: all -1
        shown = self._p_valid.reshape(-1)[flat].reshape(N, take)
        rows[:, :, 3] = np.where(shown, self._round[:, None] - rows[:, :, 3], -1.0)  # waited
        pending = np.full((N, P, 5), -1.0, np.float32)
        pending[:, :take] = rows
        queue = np.zeros((N, KS), np.float32)
        backlog = np.zeros((N, KS), np.float32)
        if self.tool_capacity is not None:
            queue, backlog = self._tool_load()
        calls_left = np.full(N, KS, np.int64)
        if self.max_calls_per_turn is not None:
            calls_left = np.minimum(self.max_calls_per_turn - self._calls_this_turn, KS)
        mask = self._mask()
        # action_masks() reads this until the next step or reset (which change the state).
        self._last_masks = mask.astype(bool)
        return {
            "step_status": self._status.reshape(N, KS).copy(),
            "step_latency": self._latency.reshape(N, KS).copy(),
            "step_parents": self._parents.reshape(N, KS * S).copy(),
            "step_tail": self._tail.reshape(N, KS).copy(),
            "step_queue": queue,
            "step_backlog": backlog,
            "task_status": self._task_status.copy(),
            "pending": pending.reshape(N, P * 5),
            "focused_task": self._focused.copy(),
            "round": np.minimum(self._round, self.max_rounds)[:, None].copy(),
            "calls_left": calls_left[:, None].astype(np.int64),
            "action_mask": mask,
        }

    def _tool_load(self) -> tuple[np.ndarray, np.ndarray]:
        """``step_queue`` and ``step_backlog`` (contention; see ``AsyncTool-v0``)."""
        N, KS = self.num_envs, self.max_tasks * self.max_steps
        limited = self._limited.reshape(N, KS)
        tool = self._tool.reshape(N, KS).clip(0)
        slots = self._slots[self._arange[:, None], tool]  # (N, KS, width)
        width = np.arange(slots.shape[2])[None, None, :]
        capacity = self._capacity[self._arange[:, None], tool]
        free = np.where(width < capacity[:, :, None], slots, np.iinfo(np.int64).max).min(axis=2)
        wait = np.maximum(0, free - self._round[:, None])
        queue = np.where(limited, np.clip(wait, 0, self.max_rounds), 0).astype(np.float32)
        status = self._status.reshape(N, KS)
        uncalled = (status == _BLOCKED) | (status == _READY) | (status == _FAILED)
        open_ = np.repeat(self._task_status == _OPEN, self.max_steps, axis=1)
        latency = self._latency.reshape(N, KS).astype(np.float64)
        work = np.where(limited & open_ & uncalled, 1.0 + latency, 0.0)
        # Each tool's work summed step by step in the single env's order (float64, then
        # float32 like its buffer), so that the sums agree to the last bit.
        total = np.zeros((N, KS))
        for j in range(KS):
            total += self._same_tool[:, :, j] * work[:, j, None]
        backlog = np.where(limited, np.minimum(total - work, self._max_backlog), 0.0)
        return queue, backlog.astype(np.float32)

    def _info(self) -> dict[str, Any]:
        """The running counters of every env (``info_counters``), in vector form."""
        N = self.num_envs
        c = self._counters
        values = {
            "round": self._round.copy(),
            "calls": c["calls"].copy(),
            "steps_done": c["steps_done"].copy(),
            "tasks_answered": self._n_tasks - self._open,
            "dependency_violations": c["violations"].copy(),
            "idle_rounds": c["idle_rounds"].copy(),
            "invalid_actions": c["invalid"].copy(),
        }
        info: dict[str, Any] = {}
        everyone = np.ones(N, bool)
        for key, value in values.items():
            info[key] = value
            info["_" + key] = everyone
        return info

    def _metrics(self, envs: np.ndarray) -> dict[str, Any]:
        """The episode metrics (:class:`~asynctool_env.metrics.EpisodeMetrics`) of ``envs``,
        as arrays over all envs (filled for ``envs``)."""
        N, K, S = self.num_envs, self.max_tasks, self.max_steps
        c = self._counters
        e = envs
        n_tasks = self._n_tasks[e]
        n_steps = self._n_steps[e].sum(axis=1)
        finished = self._open[e] == 0
        rounds = np.maximum(np.where(finished, self._finish_round[e] + 1, self._round[e]), 1)
        calls = c["calls"][e]
        correct = c["correct_calls"][e]
        precision = np.where(calls > 0, correct / np.maximum(calls, 1), 0.0)
        recall = np.where(n_steps > 0, c["steps_done"][e] / np.maximum(n_steps, 1), 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1), 0.0)
        real = np.arange(S)[None, None, :] < self._n_steps[e][:, :, None]
        sequential = np.where(real, 1 + self._realized[e], 0).sum(axis=(1, 2)) + 1
        answered = self._task_status[e] == _ANSWERED
        # A numeric env's answer is derived from the responses: right unless premature or a
        # write of the task was made twice.
        succeeded = (answered & ~self._premature[e] & ~self._repeated[e]).sum(axis=1)
        task_real = np.arange(K)[None, :] < n_tasks[:, None]
        neglected = (task_real & ~answered).sum(axis=1)
        premature = (self._premature[e] & answered).sum(axis=1)
        # Mean wait of a ready step (see metrics.compute_metrics).
        delivered = self._delivered[e]  # (n, K, S)
        parents = self._parents[e].astype(bool)  # (n, K, S, S)
        parent_rounds = np.where(parents, delivered[:, :, None, :], 0)
        reached = ~(parents & (delivered[:, :, None, :] < 0)).any(axis=3)
        ready_round = parent_rounds.max(axis=3)
        last = (rounds - 1)[:, None, None]
        answer_round = self._answer_round[e][:, :, None]
        end = np.where(
            self._first_call[e] >= 0,
            self._first_call[e],
            np.where(answer_round >= 0, answer_round, last),
        )
        counted = real & reached & (end >= ready_round)
        waits = np.where(counted, end - ready_round, 0).sum(axis=(1, 2))
        n_waits = counted.sum(axis=(1, 2))
        idle = c["idle_rounds"][e]
        labels = np.stack(
            [
                c["violations"][e] > 0,
                neglected > 0,
                np.zeros(len(e), bool),
                premature > 0,
                c["redundant"][e] > 0,
                idle > 0,
                np.zeros(len(e), bool),  # spoiled after the answer: written calls only
                np.zeros(len(e), bool),  # collateral writes: written calls only
            ],
            axis=1,
        )
        optimal = np.full(len(e), -1, np.int64)
        if self.optimum_in_info:
            optimal = np.array([self._optimum(i) for i in e], np.int64)
        values: dict[str, Any] = {
            "n_tasks": n_tasks,
            "n_steps": n_steps,
            "finished": finished,
            "calls": calls,
            "correct_calls": correct,
            "step_precision": precision,
            "step_recall": recall,
            "step_f1": f1,
            "tasks_succeeded": succeeded,
            "task_success_rate": succeeded / n_tasks,
            "instance_success": succeeded == n_tasks,
            "rounds": rounds,
            "sequential_rounds": sequential,
            "speedup_vs_sequential": np.where(finished, sequential / rounds, 0.0),
            "idle_rounds": idle,
            "idle_ratio": np.minimum(idle / rounds, 1.0),
            "switches": c["switches"][e],
            "mean_in_flight": c["in_flight_rounds"][e] / rounds,
            "dependency_violations": c["violations"][e],
            "redundant_calls": c["redundant"][e],
            "unmatched_calls": np.zeros(len(e), np.int64),
            "invalid_actions": c["invalid"][e],
            "premature_answers": premature,
            "mean_ready_wait": np.where(n_waits > 0, waits / np.maximum(n_waits, 1), 0.0),
            "neglected_tasks": neglected,
            "tool_confusions": np.zeros(len(e), np.int64),
            "queued_rounds": c["queued_rounds"][e],
            "revoked_answers": np.zeros(len(e), np.int64),
            "collateral_writes": np.zeros(len(e), np.int64),
        }
        metrics: dict[str, Any] = {}
        mask = np.zeros(N, bool)
        mask[e] = True
        groups: dict[np.dtype, list[tuple[str, np.ndarray]]] = {}
        for key, value in values.items():
            groups.setdefault(value.dtype, []).append((key, value))
        for dtype, items in groups.items():  # one block a dtype: a row a metric, zero-filled
            block = np.zeros((len(items), N), dtype)
            block[:, e] = np.stack([value for _, value in items])
            for row, (key, _) in enumerate(items):
                metrics[key] = block[row]
                metrics["_" + key] = mask
        completion = np.empty(N, dtype=object)
        modes = np.empty(N, dtype=object)
        optimal_rounds = np.empty(N, dtype=object)
        efficiency = np.empty(N, dtype=object)
        codes = (labels * (1 << np.arange(len(_FAILURE_MODES)))).sum(axis=1).tolist()
        answer_rounds = self._answer_round[e].tolist()
        for position, i in enumerate(e.tolist()):  # the list-valued fields of ended episodes
            rows = answer_rounds[position][: n_tasks[position]]
            completion[i] = [None if r < 0 else r for r in rows]
            modes[i] = list(_MODE_LISTS[codes[position]])
            if optimal[position] >= 0:
                best = int(optimal[position])
                optimal_rounds[i] = best
                efficiency[i] = (
                    min(best / int(rounds[position]), 1.0)
                    if succeeded[position] == n_tasks[position]
                    else 0.0
                )
        for key, value in (
            ("task_completion_rounds", completion),
            ("failure_modes", modes),
            ("optimal_rounds", optimal_rounds),
            ("efficiency", efficiency),
        ):
            metrics[key] = value
            metrics["_" + key] = mask
        return metrics

    def _optimum(self, i: int) -> int:
        """The exact optimum of env ``i``'s episode (cached by instance and latencies)."""
        from asynctool_env.solver import optimal_schedule_for_instance

        b = int(self._instance_index[i])
        realized = self._realized[i]
        key = (b, realized.tobytes()) if not self._procedural else None
        if key is not None and key in self._optimum_cache:
            return self._optimum_cache[key]
        instance = self._bank_of[i].instances[b]
        latencies = [
            realized[k, : len(task.steps)].tolist() for k, task in enumerate(instance.tasks)
        ]
        best = optimal_schedule_for_instance(
            instance, latencies, self.max_calls_per_turn, tool_capacity=self.tool_capacity
        ).rounds
        if key is not None:
            self._optimum_cache[key] = best
        return best

    def _check_actions(self, actions: Any) -> np.ndarray:
        array = np.asarray(actions)
        if array.shape != (self.num_envs,) or array.dtype.kind not in "iu":
            raise TypeError(
                f"actions must be {self.num_envs} whole numbers (an int array of shape "
                f"({self.num_envs},)), got {actions!r}"
            )
        array = array.astype(np.int64)
        if ((array < 0) | (array >= self.n_actions)).any():
            raise ValueError(f"every action must be in [0, {self.n_actions}), got {array}")
        return array


__all__ = ["AsyncToolVectorEnv", "InstanceBank"]
