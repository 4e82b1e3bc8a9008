"""The env inside Stable-Baselines3 and sb3-contrib (needs the ``rl`` extra)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import asynctool_env  # noqa: F401

pytest.importorskip("torch")
sb3_contrib = pytest.importorskip("sb3_contrib")


@pytest.mark.slow
def test_maskable_ppo_learns_on_dummy_and_subproc_vec_envs():
    from sb3_contrib.common.maskable.utils import get_action_masks
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    for vec_env_cls in (None, SubprocVecEnv):
        # "module:id" makes each worker process import the package (and so register the env).
        env = make_vec_env("asynctool_env:AsyncTool-v0", n_envs=2, seed=0, vec_env_cls=vec_env_cls)
        model = sb3_contrib.MaskablePPO(
            "MultiInputPolicy", env, n_steps=64, batch_size=64, n_epochs=1, seed=0
        )
        model.learn(128)
        observation = env.reset()
        masks = get_action_masks(env)
        assert masks.shape == (2, env.action_space.n) and masks.dtype == bool
        actions, _ = model.predict(observation, action_masks=masks, deterministic=True)
        assert all(masks[index, action] for index, action in enumerate(actions))
        env.close()


def test_flatten_observation_wrapper():
    env = gym.wrappers.FlattenObservation(gym.make("AsyncTool-v0"))
    observation, _ = env.reset(seed=0)
    assert observation.ndim == 1 and observation.shape == env.observation_space.shape
    assert np.isfinite(observation).all()
