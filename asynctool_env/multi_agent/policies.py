"""Reference policies for one agent of the multi-agent env, and a rollout helper.

Each policy reads only its own agent's Dict observation (no peeking at the simulator or at
the other agents' choices), so running one per agent is the "independent" baseline: every
agent plays the reference heuristic on its own and the team coordinates only through what
the observation shows (tool load, the other agents' progress).

* :class:`RandomAgentPolicy`: uniform over the masked actions; the floor.
* :class:`CriticalPathAgentPolicy`: answer a finished task if answering is an action; else
  call the agent's ready step with the longest remaining latency-weighted path (the
  single-agent ``critical_path`` rule); else, in claim mode, claim an unclaimed task (the
  longest first, shifted by ``rank`` so that agents running the same rule do not all reach
  for the same task); else wait. With ``queue_aware=True`` a step's priority is its path
  minus the rounds its call would wait in the tool's queue, so a free tool goes first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from asynctool_env.agents.heuristics import Observation, Policy, RandomMaskedPolicy, _layout
from asynctool_env.agents.rules import ActionCodec, longest_tail_first
from asynctool_env.multi_agent.environment import AsyncToolParallelEnv

#: What :func:`play_episode` drives, one per agent: the single-agent policy protocol.
AgentPolicy = Policy

#: Uniform over the actions that ``action_mask`` allows (the single-agent random policy reads
#: only the mask, so it serves each agent as it is).
RandomAgentPolicy = RandomMaskedPolicy


class CriticalPathAgentPolicy:
    """Longest remaining path first over the agent's own ready steps (see the module).

    Args:
        rank: Which unclaimed task to claim: the ``rank``-th longest (modulo how many there
            are). Give each agent its own index so identical policies spread their claims.
        queue_aware: Rank ready steps by remaining path minus the tool's current queue wait.
    """

    def __init__(self, rank: int = 0, queue_aware: bool = False) -> None:
        self.rank = int(rank)
        self.queue_aware = bool(queue_aware)
        self.name = "critical_path_queue_aware" if queue_aware else "critical_path"

    def reset(self, seed: int | None = None) -> None:
        return None

    def act(self, observation: Observation) -> int:
        n_tasks, n_steps = _layout(observation)
        codec = ActionCodec("multi_agent", n_tasks, n_steps)
        mask = observation["action_mask"]
        answer_offset = codec.answer(0)
        claim_offset = codec.claim(0)
        answers = np.flatnonzero(mask[answer_offset:claim_offset])
        if len(answers):
            return codec.answer(int(answers[0]))
        # step_tail: the latency-weighted path from the step to its task's end.
        path = observation["step_tail"].reshape(n_tasks, n_steps)
        penalty = observation["step_tool_wait"] if self.queue_aware else None
        best = longest_tail_first(mask[codec.call_slice], path, penalty)
        if best is not None:
            return codec.call(*divmod(best, n_steps))
        claims = np.flatnonzero(mask[claim_offset:])
        if len(claims):
            longest = path.max(axis=1)[claims]
            order = claims[np.argsort(-longest, kind="stable")]
            return codec.claim(int(order[self.rank % len(order)]))
        return 0


def play_episode(
    env: AsyncToolParallelEnv,
    policies: Mapping[str, AgentPolicy] | Callable[[str, Any], int],
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Play one episode of a parallel env to its end.

    Args:
        env: A parallel env (Dict observations for the reference policies).
        policies: One policy per agent name, or a function ``(agent, observation) ->
            action``.
        seed: Passed to ``reset``.
        options: Passed to ``reset``.

    Returns:
        Each agent's return, and the episode summary of the last infos (``metrics``,
        ``agent_metrics``, ``tool_contention``).
    """
    observations, _ = env.reset(seed=seed, options=options)
    if isinstance(policies, Mapping):
        for index, agent in enumerate(env.possible_agents):
            policies[agent].reset(None if seed is None else seed + index)

        def choose(agent: str, observation: Any) -> int:
            return policies[agent].act(observation)
    else:
        choose = policies
    returns = dict.fromkeys(env.possible_agents, 0.0)
    summary: dict[str, Any] = {}
    while env.agents:
        actions = {agent: choose(agent, observations[agent]) for agent in env.agents}
        observations, rewards, _, _, infos = env.step(actions)
        for agent, reward in rewards.items():
            returns[agent] += reward
        if not env.agents:
            summary = {
                key: next(iter(infos.values()))[key]
                for key in ("metrics", "agent_metrics", "tool_contention")
            }
    return returns, summary


__all__ = [
    "AgentPolicy",
    "CriticalPathAgentPolicy",
    "RandomAgentPolicy",
    "play_episode",
]
