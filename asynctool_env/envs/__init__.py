"""Gymnasium environments (the PettingZoo one lives in :mod:`asynctool_env.multi_agent`):
``AsyncToolEnv`` (``AsyncTool-v0``) and its batched form ``AsyncToolVectorEnv``
(``gym.make_vec("AsyncTool-v0", vectorization_mode="vector_entry_point")``)."""

from asynctool_env.envs.async_tool_env import AsyncToolEnv, RewardWeights
from asynctool_env.envs.vector import AsyncToolVectorEnv

__all__ = ["AsyncToolEnv", "AsyncToolVectorEnv", "RewardWeights"]
