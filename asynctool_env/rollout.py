"""Play a policy through the env: the one episode loop every caller uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asynctool_env.agents import Policy
from asynctool_env.envs import AsyncToolEnv


@dataclass(frozen=True)
class EpisodeResult:
    """One episode: its seed, return, number of decisions and metrics."""

    seed: int
    episode_return: float
    decisions: int
    metrics: Mapping[str, Any]


def run_episode(
    env: AsyncToolEnv,
    policy: Policy,
    seed: int,
    options: Mapping[str, Any] | None = None,
) -> EpisodeResult:
    """Play one episode of ``env`` (reset with ``seed`` and ``options``) with ``policy``.

    Policies that read the env itself (the oracle) get ``policy.bind(env)`` after the reset.
    """
    observation, _ = env.reset(seed=seed, options=dict(options) if options else None)
    policy.reset(seed)
    bind = getattr(policy, "bind", None)
    if bind is not None:
        bind(env)
    total, decisions = 0.0, 0
    while True:
        observation, reward, terminated, truncated, info = env.step(policy.act(observation))
        total += reward
        decisions += 1
        if terminated or truncated:
            return EpisodeResult(seed, total, decisions, info["metrics"])


def env_kwargs_for(policy: Policy, env_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """``env_kwargs`` plus the env interface ``policy`` declares in its own ``env_kwargs``
    (a trained policy names its action layout and padding); the regime stays the caller's."""
    return {**dict(env_kwargs or {}), **(getattr(policy, "env_kwargs", None) or {})}


def run_episodes(
    policy: Policy, seeds: Sequence[int], env_kwargs: Mapping[str, Any] | None = None
) -> list[EpisodeResult]:
    """Play one episode per seed on a fresh env built with ``env_kwargs`` (plus the env
    interface the policy declares in its ``env_kwargs``, as a trained policy does)."""
    env = AsyncToolEnv(**env_kwargs_for(policy, env_kwargs))
    try:
        return [run_episode(env, policy, seed) for seed in seeds]
    finally:
        env.close()
