"""``asynctool_multi_v0``: several agents share one AsyncTool simulator and its tool servers.

The module-level factories follow PettingZoo's convention: :func:`parallel_env` builds the
:class:`AsyncToolParallelEnv` and :func:`env` the same game in the AEC API (through
``pettingzoo.utils.conversions.parallel_to_aec``). Everything is documented in the class
docstring (``help(AsyncToolParallelEnv)``); the design choices are explained in
``docs/multi_agent.md``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

try:
    from pettingzoo import AECEnv, ParallelEnv
    from pettingzoo.utils.conversions import parallel_to_aec
    from pettingzoo.utils.wrappers import BaseWrapper
except ModuleNotFoundError as error:  # pragma: no cover - depends on the installed extras
    raise ModuleNotFoundError(
        "asynctool_env.multi_agent needs PettingZoo: pip install 'asynctool-env[multiagent]'"
    ) from error

from asynctool_env.core.checks import check_whole
from asynctool_env.core.latency import DEFAULT_MAX_LATENCY, LatencyProfile, make_latency_profile
from asynctool_env.core.simulator import (
    CallEvent,
    CallKind,
    Simulator,
    StepStatus,
    TaskStatus,
    check_capacity_tools,
    normalize_tool_capacity,
    normalize_tool_latencies,
)
from asynctool_env.core.task import Instance
from asynctool_env.dataset.procedural import Composition
from asynctool_env.interface import (
    MAX_STEPS_LIMIT,
    MAX_TASKS_LIMIT,
    MaskedDiscrete,
    check_instance_fits,
    instance_source,
    latency_profile_for,
)
from asynctool_env.metrics import EpisodeMetrics, episode_metrics
from asynctool_env.scenarios import tool_code

TaskMode = Literal["assigned", "claim"]

_OPEN = int(TaskStatus.OPEN)
_ANSWERED = int(TaskStatus.ANSWERED)
_READY = int(StepStatus.READY)
_DONE = int(StepStatus.DONE)

#: ``obs["task_owner"]`` codes.
OWNER_PADDING, OWNER_SELF, OWNER_OTHER, OWNER_NONE = 0, 1, 2, 3

#: Columns of ``obs["pending"].reshape(P, 6)``.
PENDING_FIELDS = ("task", "step", "tool", "waited", "expected_latency", "queued")

_UNCLAIMED = -1

#: Largest ``n_agents`` the env accepts (agents beyond the number of tasks only wait).
MAX_AGENTS = 64

#: Keys ``reset(options=...)`` understands.
RESET_OPTIONS = ("instance", "instance_index", "assignment")


@dataclass(frozen=True)
class MultiAgentRewardWeights:
    """Weights of the reward terms (see ``AsyncToolParallelEnv``'s *Rewards* section).

    *Team* terms (``task_success``, ``round``) are paid to every agent still in the episode;
    every other term is *individual*: paid only to the agent whose action or task caused it.
    With the defaults, equal successes and no mistakes, the sum of the agents' returns falls
    strictly with ``rounds`` (the ranking of the metrics), and so does each agent's own return
    in assigned mode (see *Ranking* in ``AsyncToolParallelEnv``'s *Rewards*); ``queued`` and
    ``idle`` are 0 by default because a call that queues (or a deferred step) can belong to an
    optimal schedule.
    """

    # Team terms.
    task_success: float = 1.0
    round: float = -0.05
    # Individual terms.
    step_done: float = 0.1
    idle: float = 0.0
    queued: float = 0.0
    invalid: float = -0.1
    claim_conflict: float = 0.0
    dependency_violation: float = -0.5
    redundant_call: float = -0.1
    premature_answer: float = -0.5

    TEAM_TERMS: ClassVar[tuple[str, ...]] = ("task_success", "round")

    @classmethod
    def from_any(
        cls, value: MultiAgentRewardWeights | Mapping[str, float] | None
    ) -> MultiAgentRewardWeights:
        """Accept an instance, a mapping of the weights to override, or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(
                "reward_weights must be a MultiAgentRewardWeights or a mapping name -> weight"
            )
        known = {item.name for item in fields(cls)}
        unknown = sorted(str(name) for name in value if name not in known)
        if unknown:
            raise ValueError(
                f"unknown reward weight(s) {unknown}; known weights: {', '.join(sorted(known))}"
            )
        checked = {}
        for name, weight in value.items():
            if (
                isinstance(weight, bool)
                or not isinstance(weight, (int, float, np.integer, np.floating))
                or not np.isfinite(weight)
            ):
                raise ValueError(f"reward weight {name!r} must be a finite number, got {weight!r}")
            checked[name] = float(weight)
        return cls(**checked)


@dataclass
class AgentContribution:
    """What one agent did in an episode (running totals; ``infos[agent]`` carries them).

    Attributes:
        calls: Tool calls it made (every kind).
        correct_calls: Calls of a ready gold step.
        steps_done: Gold steps of its tasks whose correct response arrived.
        queued_rounds: Rounds its calls spent in tool queues, summed over its calls.
        idle_rounds: Rounds it made no call while one of its tasks had a ready step.
        invalid_actions: Masked no-ops it chose.
        claim_conflicts: Claims lost to an agent earlier in the order, in the same round.
        dependency_violations: Calls of a step of its tasks before the inputs arrived.
        redundant_calls: Calls of a step already pending or done.
        premature_answers: Tasks it answered before all their steps were done.
        tasks_owned: Tasks assigned to it or claimed by it.
        tasks_answered: Of those, the ones answered.
        tasks_succeeded: Of those, the ones answered right.
    """

    calls: int = 0
    correct_calls: int = 0
    steps_done: int = 0
    queued_rounds: int = 0
    idle_rounds: int = 0
    invalid_actions: int = 0
    claim_conflicts: int = 0
    dependency_violations: int = 0
    redundant_calls: int = 0
    premature_answers: int = 0
    tasks_owned: int = 0
    tasks_answered: int = 0
    tasks_succeeded: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (what ``infos[agent]`` carries)."""
        # dataclasses.asdict deep-copies every field: too slow for a per-step info.
        return {name: getattr(self, name) for name in _CONTRIBUTION_FIELDS}


_CONTRIBUTION_FIELDS = tuple(item.name for item in fields(AgentContribution))


class AsyncToolParallelEnv(ParallelEnv[str, Any, int]):
    """Several agents juggle the tasks of one instance against shared, rate-limited tools.

    ## Description

    The multi-agent version of ``AsyncTool-v0``, on the same core simulator: one instance
    (2-4 tasks by default), one round clock, one trace, and ``n_agents`` agents that act in
    the same rounds. Tools are **servers with a concurrency limit** (``tool_capacity``,
    default 1): a call that finds every slot of its tool busy waits in the tool's FIFO queue
    and answers later (see *Tool servers and contention* in
    :mod:`asynctool_env.core.simulator`). Agents therefore interfere: a call one agent makes
    now can delay another agent's next call to the same tool by several rounds, and a good
    team spreads its calls over free tools.

    Each task belongs to one agent, who alone may call its steps (and answer it). With
    ``task_mode="assigned"`` the tasks are handed out at reset (round-robin: task ``k`` to
    agent ``k % n_agents``, or the ``assignment`` given); with ``task_mode="claim"`` every
    task starts unowned and an agent takes one with a *claim* action.

    ## Rounds and agent order

    One ``step(actions)`` of the parallel env is **one round**: every live agent makes one
    decision (wait, call a step, answer a task, claim a task), so each agent makes at most one
    call per round (the paper's default cap, per agent) and the team up to ``n_agents``. There
    is no focus: a flat action names its task, which is what a parallel API needs (a focus
    switch is a micro-decision that would make a step less than a round).

    The decisions of a round are applied **in the fixed order of** ``possible_agents``
    (``agent_0`` first). The order matters twice: calls of the same round to a busy tool
    join its queue in that order (FIFO), and when two agents claim the same task in the same
    round the first in the order gets it (the other's action is a *claim conflict*, a no-op
    it could not have foreseen). Then the round ends (``Simulator.end_turn``): the clock moves
    on and the responses now due are delivered. In the AEC form (:func:`env`) agents act one
    after the other in that same order and the round ends after the last of them.

    ## Action Space

    ``Discrete(1 + K*S + 2*K)`` for every agent, ``K = max_tasks``, ``S = max_steps``:

    | Action                   | Meaning                                                |
    |--------------------------|--------------------------------------------------------|
    | ``0``                    | wait (no call this round)                              |
    | ``1 + k*S + s``          | call step ``s`` of task ``k`` (one of the agent's own) |
    | ``1 + K*S + k``          | answer task ``k`` (only with ``auto_answer=False``)    |
    | ``1 + K*S + K + k``      | claim task ``k`` (only with ``task_mode="claim"``)     |

    The layout is the same in every mode, so one policy network fits all of them; actions a
    mode does not use are always masked. A call fills its arguments from the responses
    delivered so far. With ``auto_answer=True`` (default) a task is answered for its owner as
    soon as its last response arrives, in that delivery round (a numeric agent has no answer
    text to write, and an answer that cost a decision would make an agent finishing two tasks
    at once one round slower than the single-agent optimum); with ``auto_answer=False``
    answering is an action, which uses the agent's decision of that round.

    ``obs["action_mask"]`` marks the sensible actions. Masked actions never raise. Most are
    no-ops with the ``invalid`` penalty (acting on a padding task, on another agent's task,
    on an answered task, claiming an owned task). Calls of one's own blocked, pending or done
    steps go out as in the single-agent env: a **dependency violation** or a **redundant
    call**; answering too early is a **premature answer** (the task fails).

    ## Observation Space

    Each agent sees the whole instance from its own point of view, as a single-level
    ``Dict`` of fixed-shape arrays (index ``k * S + s`` is step ``s`` of task ``k``;
    ``P = pending_slots``):

    | Key                | Space                            | Content                         |
    |--------------------|----------------------------------|---------------------------------|
    | ``step_status``    | ``MultiDiscrete([6] * K*S)``     | 0 padding, 1 blocked, 2 ready,  |
    |                    |                                  | 3 pending, 4 done, 5 failed     |
    | ``step_latency``   | ``Box(0, 8, (K*S,))`` float32    | expected latency of each step   |
    | ``step_parents``   | ``MultiBinary(K*S*S)`` int8      | ``[k, s, p] = 1``: step ``s`` of|
    |                    |                                  | task ``k`` needs step ``p``     |
    | ``step_tail``      | ``Box(0, S*(1+8), (K*S,))``      | expected rounds from calling the|
    |                    | float32                          | step to its task's last delivery|
    |                    |                                  | (longest path of 1 + latency)   |
    | ``step_tool_wait`` | ``Box(0, max_rounds, (K*S,))``   | tool load: rounds a call of the |
    |                    | float32                          | step made now would queue       |
    | ``task_status``    | ``MultiDiscrete([3] * K)``       | 0 padding, 1 open, 2 answered   |
    | ``task_owner``     | ``MultiDiscrete([4] * K)``       | 0 padding, 1 mine, 2 another    |
    |                    |                                  | agent's, 3 unclaimed            |
    | ``pending``        | ``Box(-1, B, (P*6,))`` float32   | this agent's calls in flight,   |
    |                    |                                  | soonest due first: task, step,  |
    |                    |                                  | tool code, rounds waited,       |
    |                    |                                  | expected latency, rounds queued;|
    |                    |                                  | -1 pads                         |
    | ``round``          | ``Box(0, max_rounds, (1,))``     | the current round               |
    |                    | int64                            |                                 |
    | ``action_mask``    | ``MultiBinary(1+K*S+2K)`` int8   | 1 where the action is sensible  |

    ``B = max(max_rounds, number of bundled tools, K, S, 8)``; tool waits and queued rounds
    are clipped to their bounds, expected latencies to 8. ``step_tail`` is what the
    critical-path heuristic ranks by, as in ``AsyncTool-v0``; ``step_tool_wait`` plays the
    part of that env's ``step_queue``. With ``flat_observation=True`` the observation is instead one
    ``Box`` float32 vector, ``gymnasium.spaces.flatten`` of that Dict (status codes one-hot),
    which SuperSuit's vector envs and plain SB3 policies need. Its keys come in sorted order,
    so the mask is its first ``n_actions`` entries (:meth:`flat_slice` gives every key's
    place); the mask is also in ``infos[agent]["action_mask"]``.

    ## Rewards

    A weighted sum (``reward_weights``, :class:`MultiAgentRewardWeights`, defaults in
    brackets). **Team** terms, paid to every agent still in the episode: ``task_success``
    [+1.0] per task answered right (whoever owns it); ``round`` [-0.05] per round that
    passes, and once more for the round of the last answer, so an episode is charged
    exactly ``rounds`` times. **Individual** terms: ``step_done`` [+0.1] per gold step of the
    agent's own tasks whose correct response arrived; ``idle`` [0.0] per round the agent did
    not call while one of its steps was ready; ``queued`` [0.0] per round its calls wait in a
    queue (charged when the call is made, the wait being known then); ``invalid`` [-0.1] per
    masked no-op; ``claim_conflict`` [0.0] per lost claim; ``dependency_violation`` [-0.5],
    ``redundant_call`` [-0.1] and ``premature_answer`` [-0.5] per occurrence.

    **Ranking.** With the defaults, no mistakes and every task answered right, an agent's
    return is ``n_tasks - 0.05 * rounds + 0.1 * (steps of its own tasks)``. In assigned mode
    the last term is fixed by the assignment, so every agent's return ranks schedules as the
    ``rounds`` metric does. In claim mode it grows with the work an agent claims (0.1 per
    step against 0.05 per round), so one agent's return can prefer a slower schedule in which
    it owns more; the sum of the returns still ranks by ``rounds``. Set ``step_done=0`` for
    per-agent ranking in claim mode. With ``leave_when_done=True`` an agent that has left is
    charged no more rounds and paid no more successes, so its return ranks its own finish,
    not the team's.

    ## Starting State

    ``reset(seed=...)`` draws an instance (procedural generator or the given instances) and
    every gold step's realized latency from the env's seeded generator, then hands out the
    tasks (assigned mode). Round 0, every tool idle.

    ## Episode End

    *Terminated*, for every agent at once, when every task has been answered. With
    ``leave_when_done=True`` an agent also terminates as soon as it has nothing left to do
    (no open task of its own and, in claim mode, no unclaimed task); the others play on.
    *Truncated*, for every agent still there, when the clock reaches ``max_rounds``. An agent
    leaves ``agents`` exactly in the step where it is terminated or truncated (the step's
    dicts still carry it, for the last time). An agent given no task at all (assigned mode,
    more agents than tasks or an ``assignment`` that skips it) still plays the first round,
    with only ``wait`` allowed: ``reset`` cannot return an agent that has already ended.

    ``infos[agent]`` carries ``round`` and the agent's :class:`AgentContribution`. When the
    episode ends every agent's last info also carries ``metrics`` (the single-agent episode
    metrics of the team's trace, :func:`asynctool_env.metrics.episode_metrics`, including
    ``queued_rounds``), ``agent_metrics`` (every agent's contribution) and ``tool_contention``
    (tool -> calls and rounds queued). Team-level ``idle_rounds`` and ``switches`` count the
    team's calls as one agent's: a round is idle when no agent called while a step was ready.

    ## Arguments

    ```python
    from asynctool_env.multi_agent import parallel_env, env

    parallel_env(
        n_agents=2,
        task_mode="assigned",      # or "claim"
        assignment=None,           # assigned mode: task k -> agent assignment[k]
                                   # (None: round-robin k % n_agents)
        tool_capacity=1,           # calls a tool serves at once: int, {tool: int}, None
        n_tasks=(2, 4),            # tasks per instance: an int or an inclusive range
        latency=None,              # None: the instance's own profile ("tool" when none)
        reward_weights=None,       # mapping of MultiAgentRewardWeights fields to override
        max_rounds=200,            # truncation horizon, in rounds
        instances=None,            # list of Instance, or a .jsonl(.gz) path
        split=None,                # "test" or "dev": the shipped benchmark split
        scenarios=None,            # procedural: scenario names (default: all 12)
        composition="same",        # procedural: "same" (one scenario: shared tools),
                                   # "cross" or "mixed"
        steps_per_task=None,       # procedural: (low, high) gold steps per task
        max_tasks=4,               # K, padding of tasks (<= 8)
        max_steps=8,               # S, padding of steps per task (<= 16)
        pending_slots=8,           # P, rows of the pending queue
        tool_latencies=None,       # {tool: latency} for tools no bundled scenario declares
        auto_answer=True,          # answer each task when its last response arrives
        leave_when_done=False,     # an agent with nothing left to do terminates early
        flat_observation=False,    # one flat float32 Box instead of the Dict
        task_bank_seed=0,          # procedural: seed of the single-task bank
        render_mode=None,          # "ansi"
    )
    ```

    ``reset(options=...)`` accepts ``"instance"`` (an :class:`Instance` to play),
    ``"instance_index"`` (into the env's instances) and ``"assignment"`` (this episode's);
    any other key is ignored with a warning (PettingZoo's API tests pass a made-up one).

    ## Version History

    * v0: Initial version.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "asynctool_multi_v0",
        "render_modes": ["ansi"],
        "render_fps": 4,
        "is_parallelizable": True,
    }

    def __init__(
        self,
        n_agents: int = 2,
        task_mode: TaskMode = "assigned",
        assignment: Sequence[int] | None = None,
        tool_capacity: int | Mapping[str, int] | None = 1,
        n_tasks: int | tuple[int, int] = (2, 4),
        latency: str | LatencyProfile | None = None,
        reward_weights: MultiAgentRewardWeights | Mapping[str, float] | None = None,
        max_rounds: int = 200,
        instances: Sequence[Instance] | str | os.PathLike[str] | None = None,
        split: str | None = None,
        scenarios: Sequence[str] | None = None,
        composition: Composition = "same",
        steps_per_task: tuple[int, int] | None = None,
        max_tasks: int = 4,
        max_steps: int = 8,
        pending_slots: int = 8,
        tool_latencies: Mapping[str, int] | None = None,
        auto_answer: bool = True,
        leave_when_done: bool = False,
        flat_observation: bool = False,
        task_bank_seed: int = 0,
        render_mode: str | None = None,
    ) -> None:
        if isinstance(n_agents, bool) or not isinstance(n_agents, (int, np.integer)):
            raise TypeError(f"n_agents must be a whole number >= 1, got {n_agents!r}")
        if not 1 <= n_agents <= MAX_AGENTS:
            raise ValueError(
                f"n_agents must be in 1..{MAX_AGENTS} (an instance has at most "
                f"{MAX_TASKS_LIMIT} tasks), got {n_agents}"
            )
        if task_mode not in ("assigned", "claim"):
            raise ValueError(f"task_mode must be 'assigned' or 'claim', got {task_mode!r}")
        check_whole("max_tasks", max_tasks, 1, MAX_TASKS_LIMIT)
        check_whole("max_steps", max_steps, 1, MAX_STEPS_LIMIT)
        check_whole("max_rounds", max_rounds, 2)
        check_whole("pending_slots", pending_slots, 1)
        check_whole("task_bank_seed", task_bank_seed, 0)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        self.n_agents = int(n_agents)
        self.task_mode: TaskMode = task_mode
        self.assignment = self._check_assignment(assignment) if assignment is not None else None
        if self.assignment is not None and task_mode == "claim":
            raise ValueError(
                "assignment only applies to task_mode='assigned'; in claim mode agents claim "
                "tasks themselves"
            )
        self.tool_capacity = normalize_tool_capacity(tool_capacity)
        self.latency_profile = None if latency is None else make_latency_profile(latency)
        self._profiles: dict[str, LatencyProfile] = {}
        self.reward_weights = MultiAgentRewardWeights.from_any(reward_weights)
        self.max_rounds = int(max_rounds)
        self.max_tasks = n_task_slots = int(max_tasks)
        self.max_steps = n_step_slots = int(max_steps)
        self.pending_slots = int(pending_slots)
        self.tool_latencies = normalize_tool_latencies(tool_latencies)
        self.auto_answer = bool(auto_answer)
        self.leave_when_done = bool(leave_when_done)
        self.flat_observation = bool(flat_observation)
        self.render_mode = render_mode

        # Instance source, as in the single-agent env --------------------------------------
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

        # Agents and spaces (built once: observation_space(agent) is always the same object)
        self.possible_agents: list[str] = [f"agent_{index}" for index in range(self.n_agents)]
        self.agents: list[str] = []
        self._agent_index = {name: index for index, name in enumerate(self.possible_agents)}
        ks = n_task_slots * n_step_slots
        self._call_offset = 1
        self._answer_offset = 1 + ks
        self._claim_offset = 1 + ks + n_task_slots
        self.n_actions = 1 + ks + 2 * n_task_slots
        big = float(max(self.max_rounds, n_task_slots, n_step_slots, DEFAULT_MAX_LATENCY))
        self._pending_bound = big
        self._dict_space = self._make_dict_space(big)
        self._flat_space: spaces.Box | None = None
        # (key, start, stop, offsets of each code's one-hot block or None), in Dict order.
        self._flat_layout: list[tuple[str, int, int, np.ndarray | None]] = []
        self._flat_size = 0
        for key, subspace in self._dict_space.items():
            if isinstance(subspace, spaces.MultiDiscrete):
                nvec = subspace.nvec.reshape(-1)
                offsets = np.concatenate(([0], np.cumsum(nvec)[:-1]))
                size = int(nvec.sum())
            else:
                offsets = None
                size = int(np.prod(subspace.shape))
            self._flat_layout.append((key, self._flat_size, self._flat_size + size, offsets))
            self._flat_size += size
        if self.flat_observation:
            flat = spaces.flatten_space(self._dict_space)
            self._flat_space = spaces.Box(
                flat.low.astype(np.float32), flat.high.astype(np.float32), dtype=np.float32
            )
        self.observation_spaces: dict[str, spaces.Space[Any]] = {
            agent: (
                spaces.Box(self._flat_space.low, self._flat_space.high, dtype=np.float32)
                if self._flat_space is not None
                else self._make_dict_space(big)
            )
            for agent in self.possible_agents
        }
        self.action_spaces: dict[str, spaces.Discrete] = {
            agent: MaskedDiscrete(self.n_actions) for agent in self.possible_agents
        }

        # Episode state --------------------------------------------------------------------
        self._np_random: np.random.Generator | None = None
        self.simulator: Simulator | None = None
        self.instance: Instance | None = None
        #: ``task_owner[k]``: index of the agent owning task ``k`` (-1: unclaimed).
        self.task_owner: list[int] = []
        #: ``call_agent[call_id]``: index of the agent that made the call.
        self.call_agent: list[int] = []
        self.contributions: dict[str, AgentContribution] = {}
        self._status = np.zeros((n_task_slots, n_step_slots), dtype=np.int64)
        self._latency = np.zeros((n_task_slots, n_step_slots), dtype=np.float32)
        self._parents = np.zeros((n_task_slots, n_step_slots, n_step_slots), dtype=np.int8)
        self._tail = np.zeros((n_task_slots, n_step_slots), dtype=np.float32)
        self._task_status = np.zeros(n_task_slots, dtype=np.int64)
        # Per step slot: index into this episode's list of tools (padding: the last entry).
        self._step_tool = np.zeros(ks, dtype=np.int64)
        self._tools: list[str] = []
        self._successes_this_step = 0
        # Per agent, obs["task_owner"]; rebuilt after a reset or a claim.
        self._owner_codes: list[np.ndarray] | None = None
        # Flat observations hide the mask: infos carry the last one of each agent.
        self._last_masks: dict[str, np.ndarray] = {}

    # -- PettingZoo API --------------------------------------------------------------------

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """The agent's observation space (the same object on every call)."""
        self._check_agent_name(agent)
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        """The agent's action space (the same object on every call)."""
        self._check_agent_name(agent)
        return self.action_spaces[agent]

    def flat_slice(self, key: str) -> slice:
        """Where ``obs[key]`` of the Dict observation lies in the flat one.

        The flat vector (``flat_observation=True``) is ``gymnasium.spaces.flatten`` of the
        Dict: its keys in sorted order, status codes one-hot. ``flat[env.flat_slice(
        "action_mask")]`` is the mask (the first ``n_actions`` entries), which is how a policy
        on the flat vector can mask its logits.
        """
        for name, start, stop, _ in self._flat_layout:
            if name == key:
                return slice(start, stop)
        raise KeyError(
            f"no observation key {key!r}; the keys are {[row[0] for row in self._flat_layout]}"
        )

    def call_action(self, task: int, step: int) -> int:
        """The action that calls step ``step`` of task ``task``."""
        return self._call_offset + task * self.max_steps + step

    def answer_action(self, task: int) -> int:
        """The action that answers task ``task`` (``auto_answer=False`` only)."""
        return self._answer_offset + task

    def claim_action(self, task: int) -> int:
        """The action that claims task ``task`` (``task_mode="claim"`` only)."""
        return self._claim_offset + task

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Start an episode (see the class docstring's *Starting State*)."""
        if seed is not None or self._np_random is None:
            self._np_random, _ = seeding.np_random(seed)
        rng = self._np_random
        options = self._check_options(options)
        if "instance" in options:
            instance = options["instance"]
            if not isinstance(instance, Instance):
                raise TypeError("options['instance'] must be an Instance")
            self._check_fits(instance)
        elif "instance_index" in options:
            if self._instances is None:
                raise ValueError("options['instance_index'] needs the env built with instances")
            index = options["instance_index"]
            check_whole("options['instance_index']", index, 0, len(self._instances) - 1)
            instance = self._instances[int(index)]
        elif self._instances is not None:
            instance = self._instances[int(rng.integers(len(self._instances)))]
        else:
            assert self._generator is not None
            instance = self._generator.sample(rng)
        assignment = self.assignment
        if "assignment" in options:
            if self.task_mode != "assigned":
                raise ValueError("options['assignment'] only applies to task_mode='assigned'")
            assignment = self._check_assignment(options["assignment"])
        simulator = Simulator(
            instance,
            rng,
            latency=self._profile_for(instance),
            max_calls_per_turn=None,  # the env caps each agent at one call per round itself
            tool_latencies=self.tool_latencies,
            tool_capacity=self.tool_capacity,
        )
        self.instance = instance
        self.simulator = simulator
        n_tasks = instance.n_tasks
        if self.task_mode == "claim":
            self.task_owner = [_UNCLAIMED] * n_tasks
        elif assignment is None:
            self.task_owner = [task % self.n_agents for task in range(n_tasks)]
        else:
            if len(assignment) < n_tasks:
                raise ValueError(
                    f"assignment {tuple(assignment)} covers {len(assignment)} tasks but instance "
                    f"{instance.instance_id!r} has {n_tasks}; give one agent index per task"
                )
            self.task_owner = list(assignment[:n_tasks])
        self._owner_codes = None
        self.call_agent = []
        self.agents = list(self.possible_agents)
        self.contributions = {agent: AgentContribution() for agent in self.possible_agents}
        for owner in self.task_owner:
            if owner != _UNCLAIMED:
                self.contributions[self.possible_agents[owner]].tasks_owned += 1
        self._fill_static_arrays()
        observations = self._observations(self.agents)
        return observations, {agent: self._info(agent) for agent in self.agents}

    def step(
        self, actions: Mapping[str, int | np.integer]
    ) -> tuple[
        dict[str, Any],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Play one round: every live agent's action, in ``possible_agents`` order."""
        simulator = self.simulator
        if simulator is None:
            raise RuntimeError("call reset() before step()")
        live = list(self.agents)
        if not live:
            raise RuntimeError("the episode is over (no agent left); call reset()")
        if not isinstance(actions, Mapping):
            raise TypeError(
                f"step() takes a dict agent name -> action, got {type(actions).__name__}"
            )
        missing = [agent for agent in live if agent not in actions]
        if missing:
            raise ValueError(
                f"step() needs an action for every agent in env.agents; missing: {missing}"
            )
        extra = [agent for agent in actions if agent not in self._agent_index or agent not in live]
        if extra:
            raise ValueError(
                f"actions given for agents not in the episode (unknown or already left): {extra}"
            )
        decisions = {agent: self._check_action(actions[agent]) for agent in live}

        weights = self.reward_weights
        rewards = dict.fromkeys(live, 0.0)
        # A step is ready for an agent when the round starts: that decides idle rounds.
        had_ready = {agent: self._has_ready_step(self._agent_index[agent]) for agent in live}
        self._successes_this_step = 0
        claimed_this_round: set[int] = set()
        for agent in live:  # the fixed agent order: it sets FIFO order among this round's calls
            calls_before = len(self.call_agent)
            rewards[agent] += self._act(agent, decisions[agent], claimed_this_round)
            if had_ready[agent] and len(self.call_agent) == calls_before:
                self.contributions[agent].idle_rounds += 1
                rewards[agent] += weights.idle

        round_ended = not simulator.finished  # a manual answer can finish mid-round
        if round_ended:
            simulator.end_turn()
        touched = self._credit_deliveries(rewards)
        if self.auto_answer:
            for task in sorted(touched):
                if simulator.task_status[task] == _OPEN and simulator.all_steps_done(task):
                    self._answer(task)
        # One charge for the round played, and one more when the round just reached holds
        # the last answer (auto answers), so that an episode is charged exactly `rounds`.
        rounds_passed = 2 if round_ended and simulator.finished else 1
        team = weights.round * rounds_passed + weights.task_success * self._successes_this_step
        for agent in live:
            rewards[agent] += team

        finished = simulator.finished
        out_of_time = not finished and simulator.round >= self.max_rounds
        terminations: dict[str, bool] = {}
        truncations: dict[str, bool] = {}
        for agent in live:
            done = finished or (
                self.leave_when_done and self._nothing_left(self._agent_index[agent])
            )
            terminations[agent] = bool(done)
            truncations[agent] = bool(out_of_time and not done)
        self.agents = [agent for agent in live if not (terminations[agent] or truncations[agent])]
        observations = self._observations(live)
        infos = {agent: self._info(agent) for agent in live}
        if not self.agents:
            summary = self.episode_summary()
            for agent in live:
                infos[agent].update(summary)
        return (
            observations,
            {agent: float(value) for agent, value in rewards.items()},
            terminations,
            truncations,
            infos,
        )

    def render(self) -> str | None:
        """With ``render_mode="ansi"``: the shared text table (tasks with their owners, steps,
        calls in flight, busy tools with their queue wait). ``None`` without a render mode."""
        if self.render_mode is None:
            return None
        simulator = self.simulator
        if simulator is None:
            return "(call reset() first)"
        from asynctool_env import rendering

        owners = [
            self.possible_agents[owner] if owner != _UNCLAIMED else "unclaimed"
            for owner in self.task_owner
        ]
        return f"{self.task_mode} mode\n" + rendering.render_text(simulator, owners=owners)

    def close(self) -> None:
        """Drop the episode (safe to call twice; ``reset`` starts a new one)."""
        self.simulator = None

    # -- Episode results -------------------------------------------------------------------

    def episode_metrics(self) -> EpisodeMetrics:
        """The team's metrics: the single-agent metrics of the shared trace."""
        if self.simulator is None:
            raise RuntimeError("call reset() first")
        return episode_metrics(self.simulator)

    def agent_metrics(self) -> dict[str, dict[str, int]]:
        """Every agent's contribution so far."""
        return {agent: item.as_dict() for agent, item in self.contributions.items()}

    def tool_contention(self) -> dict[str, dict[str, int]]:
        """Per tool used so far: ``calls`` and ``queued_rounds`` (summed over its calls)."""
        if self.simulator is None:
            raise RuntimeError("call reset() first")
        return tool_contention(self.simulator.trace)

    def split_optimal_rounds(self, *, node_limit: int = 200_000) -> int | None:
        """The team's best ``rounds`` with each agent alone on its own tasks, no tool limits.

        The maximum over agents of the single-agent optimum (one call per round,
        :func:`asynctool_env.solver.optimal_schedule_for_instance`) of the tasks it owns, on
        this episode's realized latencies. With the current owners it is a **lower bound** on
        the team's ``rounds`` under any ``tool_capacity`` (a queued call only delivers later),
        and it is reached without limits when each agent plays its optimum. ``None`` while a
        task has no owner (claim mode). Runs the exact solver: call it once per episode, not
        per step (where the search hits ``node_limit`` its proven lower bound is used).
        """
        from asynctool_env.solver import optimal_schedule_for_instance

        simulator, instance = self.simulator, self.instance
        if simulator is None or instance is None:
            raise RuntimeError("call reset() first")
        if _UNCLAIMED in self.task_owner:
            return None
        best = 0
        for me in range(self.n_agents):
            mine = [task for task, owner in enumerate(self.task_owner) if owner == me]
            if not mine:
                continue
            schedule = optimal_schedule_for_instance(
                Instance(
                    f"{instance.instance_id}/agent_{me}", tuple(instance.tasks[k] for k in mine)
                ),
                [simulator.step_latency[k] for k in mine],
                1,
                node_limit=node_limit,
            )
            best = max(best, schedule.lower_bound)
        return best

    def pooled_optimal_rounds(self, *, node_limit: int = 200_000) -> int:
        """The team's best ``rounds`` if ownership did not matter, tool limits included.

        The single-agent optimum of the whole instance with ``n_agents`` calls per round and
        this env's ``tool_capacity`` (:func:`asynctool_env.solver.optimal_schedule_for_instance`),
        on this episode's realized latencies. Every team schedule is such a schedule (the
        team makes at most ``n_agents`` calls per round, and the solver may order a round's
        calls in any way, the env only in agent order), so it is a **lower bound** on the
        team's ``rounds`` in either task mode; unlike :meth:`split_optimal_rounds` it sees the
        queues, and ``max`` of the two is a lower bound too. Runs the exact solver: once per
        episode, not per step (where the search hits ``node_limit`` its proven lower bound is
        used).
        """
        from asynctool_env.solver import optimal_schedule_for_instance

        simulator, instance = self.simulator, self.instance
        if simulator is None or instance is None:
            raise RuntimeError("call reset() first")
        schedule = optimal_schedule_for_instance(
            instance,
            simulator.step_latency,
            self.n_agents,
            tool_capacity=self.tool_capacity,
            node_limit=node_limit,
        )
        return schedule.lower_bound

    def episode_summary(self) -> dict[str, Any]:
        """``metrics``, ``agent_metrics`` and ``tool_contention`` (the last infos carry it)."""
        return {
            "metrics": self.episode_metrics().as_dict(),
            "agent_metrics": self.agent_metrics(),
            "tool_contention": self.tool_contention(),
        }

    # -- helpers ---------------------------------------------------------------------------

    def _make_dict_space(self, big: float) -> spaces.Dict:
        ks = self.max_tasks * self.max_steps
        return spaces.Dict(
            {
                "step_status": spaces.MultiDiscrete(np.full(ks, 6)),
                "step_latency": spaces.Box(
                    0.0, float(DEFAULT_MAX_LATENCY), (ks,), dtype=np.float32
                ),
                "step_parents": spaces.MultiBinary(ks * self.max_steps),
                "step_tail": spaces.Box(
                    0.0, float(self.max_steps * (1 + DEFAULT_MAX_LATENCY)), (ks,), dtype=np.float32
                ),
                "step_tool_wait": spaces.Box(0.0, float(self.max_rounds), (ks,), dtype=np.float32),
                "task_status": spaces.MultiDiscrete(np.full(self.max_tasks, 3)),
                "task_owner": spaces.MultiDiscrete(np.full(self.max_tasks, 4)),
                "pending": spaces.Box(
                    -1.0, big, (self.pending_slots * len(PENDING_FIELDS),), dtype=np.float32
                ),
                "round": spaces.Box(0, self.max_rounds, (1,), dtype=np.int64),
                "action_mask": spaces.MultiBinary(self.n_actions),
            }
        )

    @staticmethod
    def _check_options(options: Any) -> Mapping[str, Any]:
        if options is None:
            return {}
        if not isinstance(options, Mapping):
            raise TypeError(f"options must be a dict or None, got {options!r}")
        unknown = sorted(str(key) for key in options if key not in RESET_OPTIONS)
        if unknown:
            # A warning, not an error: PettingZoo's API tests reset with a made-up option.
            warnings.warn(
                f"reset ignores unknown option(s) {unknown}; known options: "
                f"{', '.join(RESET_OPTIONS)}",
                stacklevel=3,
            )
        if "instance" in options and "instance_index" in options:
            raise ValueError("pass options['instance'] or options['instance_index'], not both")
        return options

    def _check_agent_name(self, agent: Any) -> None:
        if agent not in self._agent_index:
            raise KeyError(f"unknown agent {agent!r}; the agents are {self.possible_agents}")

    def _check_assignment(self, assignment: Any) -> tuple[int, ...]:
        if isinstance(assignment, (str, bytes)) or not isinstance(assignment, Sequence):
            raise TypeError(
                f"assignment must be a sequence of agent indexes, one per task, got {assignment!r}"
            )
        result = []
        for index, value in enumerate(assignment):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"assignment[{index}] must be an agent index, got {value!r}")
            if not 0 <= value < self.n_agents:
                raise ValueError(
                    f"assignment[{index}] = {value} is not an agent index in 0..{self.n_agents - 1}"
                )
            result.append(int(value))
        return tuple(result)

    def _check_fits(self, instance: Instance) -> None:
        check_instance_fits(instance, self.max_tasks, self.max_steps)

    def _profile_for(self, instance: Instance) -> LatencyProfile:
        return latency_profile_for(instance, self.latency_profile, self._profiles)

    def _check_action(self, action: Any) -> int:
        if isinstance(action, np.ndarray) and action.shape in ((), (1,)):
            action = action.reshape(())[()]
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)):
            raise TypeError(f"an action must be an int in [0, {self.n_actions}), got {action!r}")
        if not 0 <= action < self.n_actions:
            raise ValueError(f"an action must be in [0, {self.n_actions}), got {action}")
        return int(action)

    def _act(self, agent: str, action: int, claimed_this_round: set[int]) -> float:
        """Apply one agent's decision; returns its individual reward."""
        simulator = self.simulator
        assert simulator is not None
        weights = self.reward_weights
        me = self._agent_index[agent]
        mine = self.contributions[agent]
        n_tasks = len(simulator.tasks)
        if action == 0:
            return 0.0
        if action < self._answer_offset:
            task, step = divmod(action - self._call_offset, self.max_steps)
            if (
                task < n_tasks
                and step < len(simulator.tasks[task].steps)
                and simulator.task_status[task] == _OPEN
                and self.task_owner[task] == me
            ):
                call = simulator.call_step(task, step)
                self.call_agent.append(me)  # call ids count from 0: the list is indexed by id
                mine.calls += 1
                mine.queued_rounds += call.queued_rounds
                reward = weights.queued * call.queued_rounds
                if call.kind is CallKind.CORRECT:
                    mine.correct_calls += 1
                elif call.kind is CallKind.VIOLATION:
                    mine.dependency_violations += 1
                    reward += weights.dependency_violation
                elif call.kind is CallKind.REDUNDANT:
                    mine.redundant_calls += 1
                    reward += weights.redundant_call
                return reward
            return self._invalid(agent, f"call step {step} of task {task}")
        if action < self._claim_offset:
            task = action - self._answer_offset
            if (
                not self.auto_answer
                and task < n_tasks
                and simulator.task_status[task] == _OPEN
                and self.task_owner[task] == me
            ):
                return self._answer(task)
            return self._invalid(agent, f"answer task {task}")
        task = action - self._claim_offset
        if self.task_mode == "claim" and task < n_tasks and simulator.task_status[task] == _OPEN:
            if self.task_owner[task] == _UNCLAIMED:
                self.task_owner[task] = me
                self._owner_codes = None
                claimed_this_round.add(task)
                mine.tasks_owned += 1
                return 0.0
            if task in claimed_this_round and self.task_owner[task] != me:
                mine.claim_conflicts += 1
                return weights.claim_conflict
        return self._invalid(agent, f"claim task {task}")

    def _invalid(self, agent: str, what: str) -> float:
        assert self.simulator is not None
        self.simulator.record_invalid(f"{agent}: masked action: {what}")
        self.contributions[agent].invalid_actions += 1
        return self.reward_weights.invalid

    def _answer(self, task: int) -> float:
        """Answer ``task`` for its owner; returns the owner's individual reward."""
        simulator = self.simulator
        assert simulator is not None
        outcome = simulator.answer_task(task)
        self._task_status[task] = _ANSWERED
        owner = self.contributions[self.possible_agents[self.task_owner[task]]]
        owner.tasks_answered += 1
        if outcome.correct:
            owner.tasks_succeeded += 1
            self._successes_this_step += 1
        if outcome.premature:
            owner.premature_answers += 1
            return self.reward_weights.premature_answer
        return 0.0

    def _credit_deliveries(self, rewards: dict[str, float]) -> set[int]:
        """Mirror the simulator's status changes; pay ``step_done`` to the owners still in
        the episode. Returns the tasks that got a step done."""
        simulator = self.simulator
        assert simulator is not None
        status = self._status
        touched: set[int] = set()
        for task, step, value in simulator.status_changes:
            status[task, step] = value
            if value == _DONE:
                touched.add(task)
                owner = self.possible_agents[self.task_owner[task]]
                self.contributions[owner].steps_done += 1
                if owner in rewards:
                    rewards[owner] += self.reward_weights.step_done
        simulator.status_changes.clear()
        return touched

    def _has_ready_step(self, me: int) -> bool:
        simulator = self.simulator
        assert simulator is not None
        return any(
            owner == me
            and simulator.task_status[task] == _OPEN
            and _READY in simulator.step_status[task]
            for task, owner in enumerate(self.task_owner)
        )

    def _nothing_left(self, me: int) -> bool:
        simulator = self.simulator
        assert simulator is not None
        for task, owner in enumerate(self.task_owner):
            if simulator.task_status[task] == _OPEN and owner in (me, _UNCLAIMED):
                return False
        return True

    def _fill_static_arrays(self) -> None:
        simulator = self.simulator
        assert simulator is not None
        self._status.fill(StepStatus.PADDING)
        self._latency.fill(0.0)
        self._parents.fill(0)
        self._task_status.fill(TaskStatus.PADDING)
        tools: dict[str, int] = {}
        step_tool = np.full((self.max_tasks, self.max_steps), -1, dtype=np.int64)
        for k, task in enumerate(simulator.tasks):
            n = len(task.steps)
            self._status[k, :n] = simulator.step_status[k]
            self._latency[k, :n] = simulator.expected_latency[k]
            for s, step in enumerate(task.steps):
                for parent in step.depends_on:
                    self._parents[k, s, parent] = 1
                step_tool[k, s] = tools.setdefault(step.tool, len(tools))
            self._task_status[k] = TaskStatus.OPEN
        np.clip(self._latency, 0.0, DEFAULT_MAX_LATENCY, out=self._latency)
        self._tail.fill(0.0)
        for k, task in enumerate(simulator.tasks):
            self._tail[k, : task.n_steps] = task.remaining_paths(self._latency[k].tolist())
        self._tools = list(tools)
        step_tool[step_tool < 0] = len(self._tools)  # padding reads a constant 0 wait
        self._step_tool = step_tool.reshape(-1)
        simulator.status_changes.clear()

    def _observations(self, agents: Sequence[str]) -> dict[str, Any]:
        simulator = self.simulator
        assert simulator is not None
        # Shared parts, once per round.
        waits = np.zeros(len(self._tools) + 1, dtype=np.float32)
        for index, tool in enumerate(self._tools):
            waits[index] = simulator.tool_wait(tool)
        np.minimum(waits, float(self.max_rounds), out=waits)
        tool_wait = waits[self._step_tool]
        step_status = self._status.reshape(-1)
        clock = np.array([min(simulator.round, self.max_rounds)], dtype=np.int64)
        ready = self._status == _READY
        all_done = ((self._status == _DONE) | (self._status == StepStatus.PADDING)).all(axis=1)
        task_open = self._task_status == _OPEN
        if self._owner_codes is None:
            self._owner_codes = self._make_owner_codes()
        # Own calls in flight, soonest due first.
        rows: dict[int, list[tuple[float, ...]]] = {}
        now = simulator.round
        bound = self._pending_bound
        for call in simulator.pending_calls:
            me = self.call_agent[call.call_id]
            mine = rows.setdefault(me, [])
            if len(mine) < self.pending_slots:
                mine.append(
                    (
                        call.task,
                        call.step,
                        tool_code(call.tool),
                        min(now - call.issued_round, bound),
                        min(call.expected_latency, DEFAULT_MAX_LATENCY),  # as step_latency
                        min(call.queued_rounds, bound),
                    )
                )

        observations: dict[str, Any] = {}
        for agent in agents:
            me = self._agent_index[agent]
            task_owner = self._owner_codes[me]
            mask = np.zeros(self.n_actions, dtype=np.int8)
            mask[0] = 1
            own_open = (task_owner == OWNER_SELF) & task_open
            mask[self._call_offset : self._answer_offset] = (ready & own_open[:, None]).reshape(-1)
            if not self.auto_answer:
                mask[self._answer_offset : self._claim_offset] = own_open & all_done
            if self.task_mode == "claim":
                mask[self._claim_offset :] = (task_owner == OWNER_NONE) & task_open
            pending = np.full((self.pending_slots, len(PENDING_FIELDS)), -1.0, dtype=np.float32)
            for row, values in enumerate(rows.get(me, ())):
                pending[row] = values
            observation = {
                "step_status": step_status.copy(),
                "step_latency": self._latency.reshape(-1).copy(),
                "step_parents": self._parents.reshape(-1).copy(),
                "step_tail": self._tail.reshape(-1).copy(),
                "step_tool_wait": tool_wait.copy(),
                "task_status": self._task_status.copy(),
                "task_owner": task_owner.copy(),
                "pending": pending.reshape(-1),
                "round": clock.copy(),
                "action_mask": mask,
            }
            if self._flat_space is not None:
                observations[agent] = self._flatten(observation)
                self._last_masks[agent] = mask
            else:
                observations[agent] = observation
        return observations

    def _flatten(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """``gymnasium.spaces.flatten(dict_space, observation)`` as float32, without its
        per-call dispatch (status codes one-hot, everything else as is)."""
        flat = np.zeros(self._flat_size, dtype=np.float32)
        for key, start, stop, one_hot_offsets in self._flat_layout:
            value = observation[key]
            if one_hot_offsets is None:
                flat[start:stop] = value
            else:
                flat[start + one_hot_offsets + value] = 1.0
        return flat

    def _make_owner_codes(self) -> list[np.ndarray]:
        codes = []
        for me in range(self.n_agents):
            row = np.full(self.max_tasks, OWNER_PADDING, dtype=np.int64)
            for task, owner in enumerate(self.task_owner):
                if owner == me:
                    row[task] = OWNER_SELF
                elif owner == _UNCLAIMED:
                    row[task] = OWNER_NONE
                else:
                    row[task] = OWNER_OTHER
            codes.append(row)
        return codes

    def _info(self, agent: str) -> dict[str, Any]:
        simulator = self.simulator
        assert simulator is not None
        info: dict[str, Any] = {"round": simulator.round, **self.contributions[agent].as_dict()}
        if self._flat_space is not None:
            info["action_mask"] = self._last_masks[agent].copy()
        return info


def tool_contention(trace: Sequence[Any]) -> dict[str, dict[str, int]]:
    """Per tool in a trace: ``calls`` made and ``queued_rounds`` spent in its queue."""
    result: dict[str, dict[str, int]] = {}
    for event in trace:
        if isinstance(event, CallEvent):
            entry = result.setdefault(event.tool, {"calls": 0, "queued_rounds": 0})
            entry["calls"] += 1
            entry["queued_rounds"] += event.queued_rounds
    return dict(sorted(result.items()))


def parallel_env(**kwargs: Any) -> AsyncToolParallelEnv:
    """The multi-agent AsyncTool env in PettingZoo's Parallel API (kwargs: see
    :class:`AsyncToolParallelEnv`)."""
    return AsyncToolParallelEnv(**kwargs)


class _CheckedAEC(BaseWrapper):
    """Refuses a bad action at the step of the agent that sent it (``parallel_to_aec``
    keeps actions until the round's last agent, so the error would name someone else)."""

    def __init__(self, parallel: AsyncToolParallelEnv) -> None:
        super().__init__(parallel_to_aec(parallel))
        self._parallel = parallel

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        dead = self.terminations.get(agent, False) or self.truncations.get(agent, False)
        if not (dead and action is None):
            try:
                self._parallel._check_action(action)
            except (TypeError, ValueError) as error:
                raise type(error)(f"{agent}: {error}") from None
        super().step(action)


def env(**kwargs: Any) -> AECEnv:
    """The same game in PettingZoo's AEC API: agents act one after the other in
    ``possible_agents`` order and the round ends after the last of them. A bad action is
    refused at once, naming the agent that sent it."""
    return _CheckedAEC(AsyncToolParallelEnv(**kwargs))


#: PettingZoo's usual name for the unwrapped env class.
raw_env = AsyncToolParallelEnv
