"""Training ``AsyncTool-v0`` with RLlib's PPO and action masking (``pip install
'asynctool-env[ray]' 'ray[rllib]'``; RLlib's new API stack, Ray 2.60 tested).

Action masking is not a core RLlib API: its example ``ActionMaskingTorchRLModule`` (PPO
only) needs the observation to be exactly ``Dict({"action_mask": Box(0, 1, (n,)),
"observations": <space>})``, and RLlib's ``FlattenObservations`` connector would flatten the
mask too. So :class:`RLlibAsyncToolEnv` is AsyncTool's RLlib form: the same env, its mask as
a float Box, and every other observation key concatenated into one ``observations`` Box
(registered as :data:`ENV_NAME` with ``tune.register_env``).

:func:`train_rllib` builds the PPO algorithm (locally, or on the cluster at ``address`` with
``num_env_runners`` remote samplers), trains it, and scores it on ``dev`` through the
project's own evaluation API (:class:`~asynctool_env.rl.evaluation.SplitEvaluator`) with
:class:`RLlibPolicy`, which plays the trained module greedily over the masked logits.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from asynctool_env.envs import AsyncToolEnv

#: The name the RLlib form of the env is registered under.
ENV_NAME = "AsyncTool-RLlib-v0"


class RLlibAsyncToolEnv(gym.Env):
    """``AsyncTool-v0`` with the observation RLlib's masking module needs (see the module
    docstring). ``config`` holds ``AsyncTool-v0`` keyword arguments (RLlib's env_config)."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.env = AsyncToolEnv(**{"optimum_in_info": False, **dict(config or {})})
        space = self.env.observation_space
        self.keys = [key for key in sorted(space.spaces) if key != "action_mask"]
        size = sum(int(np.prod(space[key].shape)) for key in self.keys)
        n = int(self.env.action_space.n)
        self.observation_space = gym.spaces.Dict(
            {
                "action_mask": gym.spaces.Box(0.0, 1.0, (n,), np.float32),
                "observations": gym.spaces.Box(-np.inf, np.inf, (size,), np.float32),
            }
        )
        self.action_space = gym.spaces.Discrete(n)

    def convert(self, observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """An ``AsyncTool-v0`` observation in the RLlib form."""
        return {
            "action_mask": np.asarray(observation["action_mask"], np.float32),
            "observations": np.concatenate(
                [np.asarray(observation[key], np.float32).ravel() for key in self.keys]
            ),
        }

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        observation, info = self.env.reset(seed=seed, options=options)
        return self.convert(observation), info

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        observation, reward, terminated, truncated, info = self.env.step(int(action))
        return self.convert(observation), reward, terminated, truncated, info


def register() -> None:
    """Register :class:`RLlibAsyncToolEnv` with Tune as :data:`ENV_NAME`."""
    from ray.tune.registry import register_env

    register_env(ENV_NAME, lambda config: RLlibAsyncToolEnv(config))


def ppo_config(
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    num_env_runners: int = 0,
    train_batch_size: int = 2000,
    minibatch_size: int = 250,
    num_epochs: int = 4,
    learning_rate: float = 3e-4,
    hidden: tuple[int, ...] = (128, 128),
    seed: int = 0,
) -> Any:
    """RLlib's ``PPOConfig`` for AsyncTool with the masking module (``env_kwargs``: the
    regime, e.g. ``{"tool_capacity": 1}`` or ``{"latency": "stochastic"}``)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import (
        ActionMaskingTorchRLModule,
    )

    register()
    return (
        PPOConfig()
        .environment(ENV_NAME, env_config=dict(env_kwargs or {}))
        .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=1)
        .training(
            train_batch_size_per_learner=train_batch_size,
            minibatch_size=minibatch_size,
            num_epochs=num_epochs,
            lr=learning_rate,
        )
        .rl_module(
            rl_module_spec=RLModuleSpec(
                module_class=ActionMaskingTorchRLModule,
                model_config={"fcnet_hiddens": list(hidden), "head_fcnet_hiddens": [64]},
            )
        )
        .debugging(seed=seed)
    )


class RLlibPolicy:
    """A trained RLlib module as a policy of the project's evaluation API: the most likely
    allowed action of the masked logits (greedy, like the shipped SB3 policies)."""

    name = "rllib_ppo"

    def __init__(self, module: Any, env_kwargs: Mapping[str, Any] | None = None) -> None:
        self.module = module
        self.form = RLlibAsyncToolEnv(env_kwargs)
        #: The env interface the module was trained on (evaluators build it).
        self.env_kwargs = {
            key: value
            for key, value in dict(env_kwargs or {}).items()
            if key in ("action_mode", "max_tasks", "max_steps", "pending_slots")
        }

    def reset(self, seed: int | None = None) -> None:
        """No state between decisions."""

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        import torch
        from ray.rllib.core.columns import Columns

        converted = self.form.convert(observation)
        batch = {
            Columns.OBS: {
                key: torch.as_tensor(value).unsqueeze(0) for key, value in converted.items()
            }
        }
        with torch.no_grad():
            output = self.module.forward_inference(batch)
        logits = output[Columns.ACTION_DIST_INPUTS][0].numpy()
        logits = np.where(converted["action_mask"] > 0, logits, -np.inf)
        return int(np.argmax(logits))


@dataclass
class RLlibRun:
    """What :func:`train_rllib` measured."""

    iterations: int
    env_steps: int
    seconds: float
    train_returns: list[float] = field(default_factory=list)
    dev_before: dict[str, Any] = field(default_factory=dict)
    dev_after: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None

    @property
    def steps_per_second(self) -> float:
        return self.env_steps / self.seconds if self.seconds else 0.0


def evaluate_module(module: Any, env_kwargs: Mapping[str, Any] | None, episodes: int) -> dict:
    """The summary of ``module`` on the first ``episodes`` dev instances (the project's
    evaluation API, the same as for the SB3 policies)."""
    from asynctool_env.rl.evaluation import SplitEvaluator

    evaluator = SplitEvaluator("dev", episodes, env_kwargs)
    try:
        return evaluator.summary(RLlibPolicy(module, env_kwargs), agent="rllib_ppo")
    finally:
        evaluator.close()


def train_rllib(
    *,
    iterations: int = 5,
    env_kwargs: Mapping[str, Any] | None = None,
    address: str | None = None,
    num_env_runners: int = 0,
    eval_episodes: int = 24,
    checkpoint_dir: str | None = None,
    seed: int = 0,
    **config: Any,
) -> RLlibRun:
    """Train PPO with masking for ``iterations`` iterations (on the cluster at ``address``
    with ``num_env_runners`` samplers, or locally), scoring the module on ``dev`` before and
    after; saves an RLlib checkpoint to ``checkpoint_dir`` if given."""
    from asynctool_env.distributed import connect

    env_kwargs = {"action_mode": "direct", **dict(env_kwargs or {})}
    connect(address, num_cpus=2 if address in (None, "local") else None)
    algo = ppo_config(env_kwargs, num_env_runners=num_env_runners, seed=seed, **config).build_algo()
    try:
        module = algo.get_module()
        before = evaluate_module(module, env_kwargs, eval_episodes)
        returns, steps = [], 0
        start = time.perf_counter()
        for _ in range(iterations):
            result = algo.train()
            runners = result.get("env_runners", {})
            returns.append(float(runners.get("episode_return_mean", float("nan"))))
            steps = int(result.get("num_env_steps_sampled_lifetime", 0) or steps)
        seconds = time.perf_counter() - start
        after = evaluate_module(algo.get_module(), env_kwargs, eval_episodes)
        saved = algo.save_to_path(checkpoint_dir) if checkpoint_dir else None
        return RLlibRun(
            iterations=iterations,
            env_steps=steps,
            seconds=seconds,
            train_returns=returns,
            dev_before=before,
            dev_after=after,
            checkpoint=str(saved) if saved else None,
        )
    finally:
        algo.stop()
