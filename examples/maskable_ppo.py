"""Train MaskablePPO (sb3-contrib) on AsyncTool-v0 for a few thousand steps.

Needs the ``rl`` extra: ``pip install torch==2.13.0 && pip install -e ".[rl]"``.
Run: ``python examples/maskable_ppo.py [--steps 20000]``

MaskablePPO finds the mask through ``env.action_masks()``, which ``AsyncToolEnv`` defines;
the observation is a single-level Dict, so ``MultiInputPolicy`` reads it as it is.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.evaluation import evaluate_policy

import asynctool_env  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    env = gym.make("AsyncTool-v0", n_tasks=2)
    model = MaskablePPO("MultiInputPolicy", env, n_steps=512, batch_size=128, seed=0, verbose=0)
    model.learn(args.steps)
    rewards, _ = evaluate_policy(model, env, n_eval_episodes=20, return_episode_rewards=True)
    print(f"mean return over 20 episodes after {args.steps} steps: {np.mean(rewards):.3f}")


if __name__ == "__main__":
    main()
