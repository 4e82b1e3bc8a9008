"""Train MaskablePPO (sb3-contrib) on AsyncTool-v0 for a few thousand steps.

Needs the ``rl`` extra: ``pip install torch==2.13.0 && pip install -e ".[rl]"``.
Run: ``python examples/maskable_ppo.py [--steps 20000]``

MaskablePPO finds the mask through ``env.action_masks()``, which ``AsyncToolEnv`` defines;
the observation is a single-level Dict, so ``MultiInputPolicy`` reads it as it is.

One torch thread: the network is small and the env steps one at a time, so a second thread
only adds synchronisation (on 2 cores, 4,096 steps took 5.4 s with one thread and 77 s with
torch's default of two while the other core was busy). ``asynctool train`` does the same.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
import torch
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

import asynctool_env  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    env = gym.make("AsyncTool-v0", n_tasks=2)
    model = MaskablePPO("MultiInputPolicy", env, n_steps=512, batch_size=128, seed=0, verbose=0)
    print(f"training MaskablePPO for {args.steps} steps (about 1,000 per second)", flush=True)
    model.learn(args.steps, progress_bar=True)
    rewards, _ = evaluate_policy(
        model, Monitor(env), n_eval_episodes=20, return_episode_rewards=True
    )
    print(f"mean return over 20 episodes after {args.steps} steps: {np.mean(rewards):.3f}")


if __name__ == "__main__":
    main()
