"""Play a policy through the env: the one episode loop every caller uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from asynctool_env.agents import Policy
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.results import EpisodeRecord, episode_record


@dataclass(frozen=True)
class EpisodeResult:
    """One episode: its seed, return, number of decisions and metrics."""

    seed: int
    episode_return: float
    decisions: int
    metrics: Mapping[str, Any]


def run_episode(
    env: gym.Env,
    policy: Policy,
    seed: int,
    options: Mapping[str, Any] | None = None,
) -> EpisodeResult:
    """Play one episode of ``env`` (reset with ``seed`` and ``options``) with ``policy``.

    The one episode loop: the benchmark, the trainer's evaluation and the LLM runner all
    play through it, the numeric agents on ``AsyncTool-v0`` and chat models on
    ``AsyncTool-Chat-v0`` (:class:`~asynctool_env.chat.runner.ModelPolicy`). Policies that
    read the env itself (the oracle, a chat model's conversation) get ``policy.bind(env)``
    after the reset.
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


def play_and_record(
    env: gym.Env,
    policy: Policy,
    seed: int,
    *,
    agent: str,
    instance_index: int | None = None,
    optimal: bool = True,
    optimum_cache: dict[Any, int] | None = None,
    details: Mapping[str, Any] | None = None,
    trial: int = 0,
) -> EpisodeRecord:
    """Play one episode with :func:`run_episode` and make its record: the one evaluation
    path of the benchmark, the trainer's evaluation and the LLM runner.

    The record is scored with the episode's exact optimum: the one the env put in its last
    ``info["metrics"]`` when it did (the chat envs always, ``AsyncTool-v0`` by default), else
    solved here (``optimal=False``: not at all). ``optimum_cache`` keeps solved optima by
    instance and realized latencies, for an evaluator that plays the same episodes again.
    """
    options = {"instance_index": instance_index} if instance_index is not None else None
    result = run_episode(env, policy, seed, options)
    simulator = env.unwrapped.simulator
    best = result.metrics.get("optimal_rounds")
    if best is None and optimal:
        key = (simulator.instance.instance_id, tuple(map(tuple, simulator.step_latency)))
        best = optimum_cache.get(key) if optimum_cache is not None else None
        if best is None:
            from asynctool_env.solver import optimal_schedule_for_simulator

            best = optimal_schedule_for_simulator(simulator).rounds
            if optimum_cache is not None:
                optimum_cache[key] = best
    return episode_record(
        simulator, agent, result, seed, instance_index, best, details=details, trial=trial
    )


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
