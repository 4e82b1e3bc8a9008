"""Multi-agent AsyncTool: a PettingZoo env where agents share rate-limited tool servers.

Several agents play the tasks of one instance in the same rounds, on one simulator whose
tools serve a limited number of calls at once (calls beyond the limit queue up)::

    from asynctool_env.multi_agent import parallel_env

    env = parallel_env(n_agents=2, task_mode="claim", tool_capacity=1)
    observations, infos = env.reset(seed=0)
    while env.agents:
        actions = {
            agent: env.action_space(agent).sample(observations[agent]["action_mask"])
            for agent in env.agents
        }
        observations, rewards, terminations, truncations, infos = env.step(actions)

:func:`env` gives the same game in the AEC API. Everything is documented in
:class:`AsyncToolParallelEnv` (``help(AsyncToolParallelEnv)``) and ``docs/multi_agent.md``.
Needs the ``multiagent`` extra (``pettingzoo``).
"""

from __future__ import annotations

from asynctool_env.multi_agent.environment import (
    OWNER_NONE,
    OWNER_OTHER,
    OWNER_PADDING,
    OWNER_SELF,
    PENDING_FIELDS,
    AgentContribution,
    AsyncToolParallelEnv,
    MultiAgentRewardWeights,
    env,
    parallel_env,
    raw_env,
    tool_contention,
)
from asynctool_env.multi_agent.policies import (
    AgentPolicy,
    CriticalPathAgentPolicy,
    RandomAgentPolicy,
    play_episode,
)

__all__ = [
    "OWNER_NONE",
    "OWNER_OTHER",
    "OWNER_PADDING",
    "OWNER_SELF",
    "PENDING_FIELDS",
    "AgentContribution",
    "AgentPolicy",
    "AsyncToolParallelEnv",
    "CriticalPathAgentPolicy",
    "MultiAgentRewardWeights",
    "RandomAgentPolicy",
    "env",
    "parallel_env",
    "play_episode",
    "raw_env",
    "tool_contention",
]
