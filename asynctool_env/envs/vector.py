"""``AsyncTool-v0`` as a native batched ``VectorEnv``: N episodes held in arrays.

``gym.make_vec("AsyncTool-v0", num_envs=N, vectorization_mode="vector_entry_point")`` returns
:class:`AsyncToolVectorEnv`. It plays N episodes of the single env's game at once, with the
state of all of them in arrays indexed by env (step status, missing parents, due rounds,
tool slots, the round, the calls left...), and one ``step(actions)`` advances every env in
compiled kernels (:mod:`asynctool_env.envs.kernels`, Numba): there is no Python loop over
envs on the step, reset or metrics path.

**The same game.** Every sub-env produces exactly what a single ``AsyncTool-v0`` built with
the same arguments produces for the same seed and actions: observations, rewards,
``terminated``/``truncated``, the ``info`` counters and the last step's ``metrics`` (the
focus and direct layouts, the call cap, ``tool_capacity`` queues, every latency profile,
the reward weights and ``slip``, ``wait_jumps_to_next_delivery``, ``max_decisions_per_turn``).
``tests/test_vector_env.py`` checks it against Gymnasium's ``SyncVectorEnv`` of single envs.
Sub-env ``i`` of ``reset(seed=s)`` is seeded with ``s + i``, as Gymnasium's vector envs do.

**Random draws.** Every sub-env owns a numpy ``Generator`` and consumes it exactly as a
single env does: each reset draws the instance, the realized latencies and the second
stream's seed from it. The kernels draw from the generators themselves (Numba reads and
advances numpy generators in place, with numpy's algorithms), so a reset is an index into
the *instance bank* (every instance of the split compiled once into padded arrays,
:class:`InstanceBank`) plus a few draws, all compiled. Python remains where the single env
does something Numba cannot: ``reset(seed=...)`` makes a generator per seeded env; a call
that is not correct (a masked action played anyway) makes the episode's second stream and
draws from it; a latency distribution of a custom profile is drawn by its own ``sample``;
and the procedural stream (no ``split``/``instances``) composes each episode's instance in
Python, as the single env does: exact, but slower (``procedural_bank=M`` composes M
instances once and draws from them instead).

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

**Memory.** About 9 KB per env at the default padding (the episode state and one step's
observation), measured by ``benchmarks/vector_speed.py``; the bank holds the instances once
(about 2 KB an instance, 1.6 MB for the test split).
"""

from __future__ import annotations

import math
import warnings
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
from asynctool_env.envs import kernels as _kernels
from asynctool_env.envs.async_tool_env import AsyncToolEnv
from asynctool_env.interface import LazyDict
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
        self.max_steps = S
        self.limited = np.zeros((B, K, S), bool)  # the step's tool has a capacity
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
            self.random_steps.append(random_steps)
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
        self._plan_draws()

    def __len__(self) -> int:
        return len(self.instances)

    def draw_latencies(self, b: int, rng: np.random.Generator) -> np.ndarray:
        """Instance ``b``'s realized latencies for one episode, ``(K, S)``, drawn from
        ``rng`` in the simulator's order (task by task, step by step) by each distribution's
        own ``sample``: the reset kernel's draws, in Python, for the distributions it does
        not know (:attr:`python_draws`)."""
        realized = self.fixed[b].copy()
        flat = realized.reshape(-1)
        for position, (_, _, distribution) in zip(
            self.draw_position[b], self.random_steps[b], strict=False
        ):
            flat[position] = distribution.sample(rng)
        return realized

    def _plan_draws(self) -> None:
        """The random latency draws of every instance as arrays the reset kernel reads:
        ``draw_count[b]`` draws, at flat positions ``draw_position[b, r]`` (``k * S + s``),
        of kind ``draw_kind[b, r]`` with parameters ``draw_param[b, r]``: geometric
        ``(p, max, -)``, uniform ``(low, high + 1, -)``, lognormal ``(log median, sigma,
        max)``, each as the distribution's own ``sample`` draws. ``python_draws``: some
        distribution is none of these (a custom profile), so resets draw in Python."""
        from asynctool_env.core.latency import Geometric, LogNormal, Uniform

        B = len(self.instances)
        width = max([len(steps) for steps in self.random_steps] + [1])
        self.draw_count = np.zeros(B, np.int64)
        self.draw_position = np.zeros((B, width), np.int64)
        self.draw_kind = np.zeros((B, width), np.int64)
        self.draw_param = np.zeros((B, width, 3), np.float64)
        self.python_draws = False
        for b, steps in enumerate(self.random_steps):
            self.draw_count[b] = len(steps)
            for r, (k, s, d) in enumerate(steps):
                self.draw_position[b, r] = k * self.max_steps + s
                if isinstance(d, Geometric):
                    kind = _kernels.DRAW_GEOMETRIC
                    param = (1.0 / (1.0 + d.mean_rounds), d.max_latency, 0)
                elif isinstance(d, Uniform):
                    kind, param = _kernels.DRAW_UNIFORM, (d.low, d.high + 1, 0)
                elif isinstance(d, LogNormal):
                    kind = _kernels.DRAW_LOGNORMAL
                    param = (math.log(d.median), d.sigma, d.max_latency)
                else:
                    self.python_draws = True
                    continue
                self.draw_kind[b, r] = kind
                self.draw_param[b, r] = param

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

        # Per-env state (see the module docstring and kernels.py) ------------------------
        self._rngs: list[np.random.Generator | None] = [None] * N
        self._gens: Any = None  # the same generators, in a list the kernels index
        #: The bank each env's episode came from (the split's, or a procedural reset's).
        self._bank_of: list[InstanceBank] = [self.bank] * N
        #: Each env's second stream, made for its first call that is not correct.
        self._extra_rngs: dict[int, np.random.Generator] = {}
        self._es = np.zeros((N, _kernels.N_SCALARS), np.int64)  # per-env scalars
        self._n_steps = np.zeros((N, K), np.int64)
        self._parents = np.zeros((N, K, S, S), np.int8)
        self._latency = np.zeros((N, K, S), np.float32)
        self._expected = np.zeros((N, K, S), np.float64)
        self._tail = np.zeros((N, K, S), np.float32)
        self._code = np.zeros((N, K, S), np.float32)
        self._writes = np.zeros((N, K, S), bool)
        self._tool = np.zeros((N, K, S), np.int64)
        self._limited = np.zeros((N, K, S), bool)
        self._realized = np.zeros((N, K, S), np.int64)
        self._status = np.zeros((N, K, S), np.int64)
        self._missing = np.zeros((N, K, S), np.int16)
        self._undone = np.zeros((N, K), np.int64)  # steps of each task not done yet
        self._task_status = np.zeros((N, K), np.int64)
        self._premature = np.zeros((N, K), bool)
        self._repeated = np.zeros((N, K), bool)  # a write step of the task called twice
        self._answer_round = np.full((N, K), -1, np.int64)
        self._first_call = np.full((N, K, S), -1, np.int64)
        self._delivered = np.full((N, K, S), -1, np.int64)
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
        # Direct actions decoded by lookup: kind (wait, call, answer), task, step.
        actions = np.arange(self.n_actions)
        is_call = (actions >= 1) & (actions <= K * S)
        self._action_kind = np.where(actions == 0, _WAIT, np.where(is_call, _CALL, _ANSWER))
        self._action_task = np.where(is_call, (actions - 1) // S, actions - 1 - K * S)
        self._action_step = np.where(is_call, (actions - 1) % S, 0)
        # The kernels' settings.
        self._direct = self.action_mode == "direct"
        self._max_calls = -1 if self.max_calls_per_turn is None else self.max_calls_per_turn
        self._weight_array = np.array(self._weights[:8], np.float64)  # (collateral: 0 here)
        if not _kernels.available():
            warnings.warn(
                "Numba is not installed: the batched env runs its kernels as Python (exact, "
                "but slow); pip install 'asynctool-env[fast]' compiles them",
                RuntimeWarning,
                stacklevel=2,
            )

    def __getstate__(self) -> dict[str, Any]:
        # Numba's typed list of the generators does not copy: it is made again from them.
        state = dict(self.__dict__)
        state["_gens"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if all(rng is not None for rng in self._rngs):
            self._gens = _kernels.typed_generators(self._rngs)

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
        chosen = np.full(len(envs), -1, np.int64)  # -1: drawn from the env's generator
        if index is not None:
            if self._procedural:
                raise ValueError("options['instance_index'] needs the env built with instances")
            values = np.broadcast_to(np.asarray(index), (N,))
            if values.dtype.kind not in "iu":  # 1.5, "3", True are no index
                raise ValueError(
                    f"options['instance_index'] must be an int or one int per env, got {index!r}"
                )
            chosen = values[envs].astype(np.int64)
            outside = (chosen < 0) | (chosen >= len(self.bank))
            if outside.any():
                raise ValueError(
                    f"options['instance_index'] must be in [0, {len(self.bank) - 1}], "
                    f"got {chosen[outside][0]}"
                )
        # Seeding makes a numpy Generator per env (as Gymnasium's vector envs do): Python,
        # but only when a seed is given or an env has none yet.
        fresh = [i for i in envs.tolist() if seeds[i] is not None or self._rngs[i] is None]
        for i in fresh:
            self._rngs[i], _ = seeding.np_random(seeds[i])
        if self._gens is None or len(fresh) > N // 2:
            self._gens = _kernels.typed_generators(self._rngs)
        else:
            for i in fresh:
                self._gens[i] = self._rngs[i]
        self._reset_envs(envs, chosen)
        self._autoreset[envs] = False
        self._has_reset = True
        return self._observation(), self._info()

    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._has_reset:
            raise gym.error.ResetNeeded("call reset() before step()")
        N = self.num_envs
        actions = self._check_actions(actions)
        next_step = self.autoreset_mode == AutoresetMode.NEXT_STEP
        if next_step and self._autoreset.any():  # the envs that ended start again, idle
            restart = self._autoreset
            self._reset_envs(np.flatnonzero(restart), None)
            active = ~restart
        else:
            active = np.ones(N, bool)
        # Calls that are not correct draw their latency from the env's second stream (a
        # masked action played anyway): the few such calls are drawn here, in order.
        extra = np.zeros(N, np.int64)
        wrong = _kernels.compiled().wrong_calls(
            actions, active, self._direct, self._action_kind, self._action_task,
            self._action_step, self._es, self._n_steps, self._status, self._task_status,
        )  # fmt: skip
        for env, task, step in wrong.tolist():
            extra[env] = self._draw_extra(env, task, step)
        rewards = np.empty(N, np.float64)
        terminated = np.empty(N, bool)
        truncated = np.empty(N, bool)
        most_in_flight = _kernels.compiled().step_envs(
            actions, active, extra, self._direct, self._max_calls,
            self.max_decisions_per_turn, self.wait_jumps, self.max_rounds, self._weight_array,
            float(self.reward_weights.slip), self.tool_capacity is not None,
            self._action_kind, self._action_task, self._action_step,
            self._es, self._n_steps, self._parents, self._expected, self._code, self._writes,
            self._tool, self._limited, self._capacity, self._slots, self._realized,
            self._status, self._missing, self._undone, self._task_status, self._premature,
            self._repeated, self._answer_round, self._first_call, self._delivered,
            self._p_valid, self._p_due, self._p_key, self._p_task, self._p_step,
            self._p_correct, self._p_fields, self._finish_bound, rewards, terminated, truncated,
        )  # fmt: skip
        if most_in_flight >= self._pool:  # room for one more call in every env
            self._grow_pool(self._pool * 2)
        done = terminated | truncated
        ended = np.flatnonzero(done)
        metrics = self._metrics(ended) if len(ended) else None
        if next_step:
            info = self._info()
            if metrics is not None:
                info["metrics"], info["_metrics"] = metrics, done
            self._autoreset = done
            return self._observation(), rewards, terminated, truncated, info
        info = self._info()
        if metrics is not None:  # (same step: only in final_info, as Gymnasium's envs do)
            info["metrics"], info["_metrics"] = metrics, done
        if len(ended):  # same step: the last observation and info go into info
            last = self._observation()
            final_obs = np.empty(N, dtype=object)
            for i in ended.tolist():  # Gymnasium's format: one dict per ended env
                final_obs[i] = {key: value[i] for key, value in last.items()}
            final_info: dict[str, Any] = {}
            for key, value in info.items():  # the vector info, kept for the ended envs
                if key.startswith("_"):
                    continue
                final_info[key] = value if key == "metrics" else np.where(done, value, 0)
                final_info["_" + key] = done
            self._reset_envs(ended, None)
            info = self._info()
            info["final_obs"], info["_final_obs"] = final_obs, done
            info["final_info"], info["_final_info"] = final_info, done
        return self._observation(), rewards, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """``(num_envs, n_actions)`` boolean masks of the sensible actions (MaskablePPO)."""
        if not self._has_reset:
            raise gym.error.ResetNeeded("call reset() before action_masks()")
        return self._last_masks.copy()

    def close_extras(self, **kwargs: Any) -> None:
        self._has_reset = False

    # -- episodes ----------------------------------------------------------------------------

    def _reset_envs(self, envs: np.ndarray, chosen: np.ndarray | None) -> None:
        """Start a new episode in each of ``envs`` (``chosen``: the instance of each, -1 or
        ``None`` to draw it), drawing from each env's generator exactly as a single
        ``AsyncTool-v0`` reset does."""
        if len(envs) == 0:
            return
        n = len(envs)
        if chosen is None:
            chosen = np.full(n, -1, np.int64)
        bank = self.bank
        if self._procedural:  # compose each instance as the single env does (Python)
            generator = self.template._generator
            assert generator is not None
            drawn = [generator.sample(self._rngs[i]) for i in envs.tolist()]  # type: ignore[arg-type]
            bank = InstanceBank(self.template, drawn)
            chosen = np.arange(n, dtype=np.int64)
            for i in envs.tolist():
                self._bank_of[i] = bank
        realized = np.zeros((0, self.max_tasks, self.max_steps), np.int64)
        extra_seeds = np.zeros(0, np.int64)
        if bank.python_draws:  # a custom latency distribution: every draw in Python
            realized = np.zeros((n, self.max_tasks, self.max_steps), np.int64)
            extra_seeds = np.zeros(n, np.int64)
            for position, i in enumerate(envs.tolist()):
                rng = self._rngs[i]
                assert rng is not None
                b = int(chosen[position])
                if b < 0:
                    b = chosen[position] = int(rng.integers(len(bank)))
                realized[position] = bank.draw_latencies(b, rng)
                extra_seeds[position] = int(rng.integers(0, 2**63 - 1))
        self._ensure_tools(bank.n_tools)
        if self._extra_rngs:  # a new episode, a new second stream
            for i in envs.tolist():
                self._extra_rngs.pop(i, None)
        _kernels.compiled().reset_envs(
            envs, chosen, not bank.python_draws, self._gens, realized, extra_seeds,
            bool(self.reward_weights.slip), self.tool_capacity is not None,
            bank.n_tasks, bank.n_steps, bank.parents, bank.n_parents, bank.latency,
            bank.expected, bank.tail, bank.code, bank.writes, bank.tool, bank.limited,
            bank.capacity, bank.fixed, bank.initial_status,
            bank.initial_tasks, bank.n_roots, bank.draw_count, bank.draw_position,
            bank.draw_kind, bank.draw_param,
            self._es, self._n_steps, self._parents, self._latency, self._expected,
            self._tail, self._code, self._writes, self._tool, self._limited,
            self._capacity, self._slots, self._realized, self._status, self._missing,
            self._undone, self._task_status, self._premature, self._repeated,
            self._answer_round, self._first_call, self._delivered, self._p_valid,
            self._p_key, self._p_fields, self._p_correct, self._p_task, self._p_step,
            self._p_due, self._finish_bound,
        )  # fmt: skip

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

    def _draw_extra(self, env: int, task: int, step: int) -> int:
        """A latency from env ``env``'s second stream (a call that is not correct)."""
        rng = self._extra_rngs.get(env)
        if rng is None:
            seed = int(self._es[env, _kernels.EXTRA_SEED])
            rng = self._extra_rngs[env] = np.random.default_rng(seed)
        bank, b = self._bank_of[env], int(self._es[env, _kernels.INSTANCE])
        tool, declared = bank.tools[b][task][step]
        return int(bank.profiles[b].distribution(tool, declared).sample(rng))

    # -- observations and infos ---------------------------------------------------------------

    def _observation(self) -> dict[str, np.ndarray]:
        N, K, S = self.num_envs, self.max_tasks, self.max_steps
        KS = K * S
        P = self.pending_slots
        pending = np.empty((N, P * 5), np.float32)
        queue = np.zeros((N, KS), np.float32)
        backlog = np.zeros((N, KS), np.float32)
        calls_left = np.empty((N, 1), np.int64)
        mask = np.empty((N, self.n_actions), np.int8)
        _kernels.compiled().observe_envs(
            self._direct, self.tool_capacity is not None, self._max_calls, self.max_rounds,
            self._max_backlog, self._es, self._n_steps, self._latency, self._tool,
            self._limited, self._capacity, self._slots, self._status, self._undone,
            self._task_status, self._p_valid, self._p_key, self._p_fields, pending, queue,
            backlog, calls_left, mask,
        )  # fmt: skip
        # action_masks() reads this until the next step or reset (which change the state).
        self._last_masks = mask.view(bool)
        es = self._es
        return {
            "step_status": self._status.reshape(N, KS).copy(),
            "step_latency": self._latency.reshape(N, KS).copy(),
            "step_parents": self._parents.reshape(N, KS * S).copy(),
            "step_tail": self._tail.reshape(N, KS).copy(),
            "step_queue": queue,
            "step_backlog": backlog,
            "task_status": self._task_status.copy(),
            "pending": pending,
            "focused_task": es[:, _kernels.FOCUSED].copy(),
            "round": np.minimum(es[:, _kernels.ROUND], self.max_rounds)[:, None],
            "calls_left": calls_left,
            "action_mask": mask,
        }

    def _info(self) -> dict[str, Any]:
        """The running counters of every env (``info_counters``), in vector form."""
        es = self._es
        rows = es[:, _INFO_SOURCES].T.copy()  # one copy (row 3 becomes tasks_answered)
        rows[3] -= es[:, _kernels.OPEN_TASKS]
        everyone = np.ones(self.num_envs, bool)
        info: dict[str, Any] = {}
        for key, row in zip(_INFO_KEYS, rows, strict=True):
            info[key] = row
            info["_" + key] = everyone
        return info

    def _metrics(self, envs: np.ndarray) -> dict[str, Any]:
        """The episode metrics (:class:`~asynctool_env.metrics.EpisodeMetrics`) of ``envs``,
        as arrays over all envs (filled for ``envs``). The list-valued fields (object arrays)
        are made when first read (a :class:`~asynctool_env.interface.LazyDict`)."""
        N = self.num_envs
        ints = np.zeros((len(_kernels.INT_METRICS), N), np.int64)
        bools = np.zeros((len(_kernels.BOOL_METRICS), N), bool)
        floats = np.zeros((len(_kernels.FLOAT_METRICS), N), np.float64)
        modes = np.zeros(N, np.int64)
        _kernels.compiled().episode_metrics(
            envs, self._es, self._n_steps, self._parents, self._realized, self._task_status,
            self._premature, self._repeated, self._answer_round, self._first_call,
            self._delivered, ints, bools, floats, modes,
        )  # fmt: skip
        mask = np.zeros(N, bool)
        mask[envs] = True
        values: dict[str, Any] = {}
        for names, block in (
            (_kernels.INT_METRICS, ints),
            (_kernels.BOOL_METRICS, bools),
            (_kernels.FLOAT_METRICS, floats),
        ):
            for row, key in enumerate(names):
                values[key] = block[row]
                values["_" + key] = mask
        optimal = (
            np.array([self._optimum(i) for i in envs.tolist()], np.int64)
            if self.optimum_in_info
            else None
        )
        # What the list-valued fields need, kept now (the envs start again right after).
        n_tasks = ints[0, envs]
        rounds = ints[_kernels.INT_METRICS.index("rounds"), envs]
        success = bools[1, envs]
        answers = self._answer_round[envs]
        codes = modes[envs]
        built: dict[str, np.ndarray] = {}

        def lists() -> dict[str, np.ndarray]:
            if not built:
                completion = np.empty(N, dtype=object)
                failure = np.empty(N, dtype=object)
                optimal_rounds = np.empty(N, dtype=object)
                efficiency = np.empty(N, dtype=object)
                for position, i in enumerate(envs.tolist()):
                    rows = answers[position, : n_tasks[position]].tolist()
                    completion[i] = [None if r < 0 else r for r in rows]
                    failure[i] = list(_MODE_LISTS[codes[position]])
                    if optimal is not None:
                        best = int(optimal[position])
                        optimal_rounds[i] = best
                        efficiency[i] = (
                            min(best / int(rounds[position]), 1.0) if success[position] else 0.0
                        )
                built.update(
                    task_completion_rounds=completion,
                    failure_modes=failure,
                    optimal_rounds=optimal_rounds,
                    efficiency=efficiency,
                )
            return built

        pending = {}
        for key in ("task_completion_rounds", "failure_modes", "optimal_rounds", "efficiency"):
            pending[key] = lambda key=key: lists()[key]
            values["_" + key] = mask
        return LazyDict(values, pending)

    def _optimum(self, i: int) -> int:
        """The exact optimum of env ``i``'s episode (cached by instance and latencies)."""
        from asynctool_env.solver import optimal_schedule_for_instance

        b = int(self._es[i, _kernels.INSTANCE])
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
        array = array.astype(np.int64, copy=False)  # (read, never written)
        if array.min() < 0 or array.max() >= self.n_actions:
            raise ValueError(f"every action must be in [0, {self.n_actions}), got {array}")
        return array


#: The keys of ``info`` (the single env's ``info_counters``, in its order), and the column of
#: the per-env scalars each is read from (``tasks_answered``: computed, from two columns).
_INFO_KEYS = (
    "round",
    "calls",
    "steps_done",
    "tasks_answered",
    "dependency_violations",
    "idle_rounds",
    "invalid_actions",
)
_INFO_SOURCES = np.array(
    [
        _kernels.ROUND,
        _kernels.C_CALLS,
        _kernels.C_STEPS_DONE,
        _kernels.N_TASKS,  # minus the open tasks
        _kernels.C_VIOLATIONS,
        _kernels.C_IDLE,
        _kernels.C_INVALID,
    ]
)


__all__ = ["AsyncToolVectorEnv", "InstanceBank"]
