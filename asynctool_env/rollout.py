"""Run policies through the env and collect their episode metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from asynctool_env.agents import Policy
from asynctool_env.envs import AsyncToolEnv


@dataclass(frozen=True)
class EpisodeResult:
    """One episode: its seed, return, number of decisions and metrics."""

    seed: int
    episode_return: float
    decisions: int
    metrics: Mapping[str, Any]


def run_episode(env: AsyncToolEnv, policy: Policy, seed: int) -> EpisodeResult:
    """Play one episode of ``env`` (reset with ``seed``) with ``policy``."""
    observation, _ = env.reset(seed=seed)
    policy.reset(seed)
    bind = getattr(policy, "bind", None)
    if bind is not None:  # policies that read the env itself (the oracle)
        bind(env)
    total, decisions = 0.0, 0
    while True:
        observation, reward, terminated, truncated, info = env.step(policy.act(observation))
        total += reward
        decisions += 1
        if terminated or truncated:
            return EpisodeResult(seed, total, decisions, info["metrics"])


def run_episodes(
    policy: Policy, seeds: Sequence[int], env_kwargs: Mapping[str, Any] | None = None
) -> list[EpisodeResult]:
    """Play one episode per seed on a fresh env built with ``env_kwargs``."""
    env = AsyncToolEnv(**dict(env_kwargs or {}))
    try:
        return [run_episode(env, policy, seed) for seed in seeds]
    finally:
        env.close()


#: Metrics averaged by :func:`summarize` (booleans become rates).
SUMMARY_METRICS = (
    "step_f1",
    "task_success_rate",
    "instance_success",
    "rounds",
    "sequential_rounds",
    "speedup_vs_sequential",
    "idle_ratio",
    "mean_in_flight",
    "switches",
    "dependency_violations",
    "invalid_actions",
)


def summarize(results: Sequence[EpisodeResult]) -> dict[str, float]:
    """Mean of each of :data:`SUMMARY_METRICS` and of the return over ``results``."""
    if not results:
        raise ValueError("no episodes to summarize")
    summary = {
        name: float(np.mean([float(result.metrics[name]) for result in results]))
        for name in SUMMARY_METRICS
    }
    summary["return"] = float(np.mean([result.episode_return for result in results]))
    summary["episodes"] = float(len(results))
    return summary
