"""AsyncTool: asynchronous function calling over several tasks, as environments.

Importing the package registers ``AsyncTool-v0`` (numeric) and ``AsyncTool-Chat-v0`` (the chat
interface for LLMs) with Gymnasium::

    import gymnasium as gym
    import asynctool_env  # noqa: F401  (registers the env)

    env = gym.make("AsyncTool-v0", n_tasks=2, latency="stochastic")

The layers, from the bottom: :mod:`asynctool_env.core` (simulator, tasks, latency, tools; no
Gymnasium), :mod:`asynctool_env.scenarios` (one module per tool suite),
:mod:`asynctool_env.instances` (procedural generation and dataset files),
:mod:`asynctool_env.envs` (the Gymnasium env), :mod:`asynctool_env.metrics` (the one place a
trace becomes scores) and :mod:`asynctool_env.agents` (reference policies).
"""

from __future__ import annotations

import gymnasium

from asynctool_env.core.latency import LatencyProfile, make_latency_profile
from asynctool_env.core.simulator import Simulator, StepStatus, TaskStatus
from asynctool_env.core.task import Instance, Step, Task
from asynctool_env.envs import AsyncToolEnv, RewardWeights
from asynctool_env.metrics import EpisodeMetrics, compute_metrics, episode_metrics

__version__ = "0.1.0"

# No TimeLimit: the envs truncate by rounds (max_rounds), not by decisions.
gymnasium.register(
    id="AsyncTool-v0",
    entry_point="asynctool_env.envs:AsyncToolEnv",
    vector_entry_point="asynctool_env.envs.vector:AsyncToolVectorEnv",
)
gymnasium.register(
    id="AsyncTool-Chat-v0", entry_point="asynctool_env.chat.gym_env:AsyncToolChatEnv"
)

__all__ = [
    "AsyncToolEnv",
    "EpisodeMetrics",
    "Instance",
    "LatencyProfile",
    "RewardWeights",
    "Simulator",
    "Step",
    "StepStatus",
    "Task",
    "TaskStatus",
    "compute_metrics",
    "episode_metrics",
    "make_latency_profile",
]
