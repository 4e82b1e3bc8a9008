"""Gymnasium environments (the PettingZoo one lives in :mod:`asynctool_env.multiagent`)."""

from asynctool_env.envs.async_tool_env import AsyncToolEnv, RewardWeights

__all__ = ["AsyncToolEnv", "RewardWeights"]
