"""Play one AsyncTool-v0 episode with a masked random policy and print what happened.

Run: ``python examples/quickstart.py``
"""

from __future__ import annotations

import gymnasium as gym

import asynctool_env  # noqa: F401  (registers AsyncTool-v0)


def main() -> None:
    env = gym.make("AsyncTool-v0", n_tasks=2, latency="tool", render_mode="ansi")
    observation, info = env.reset(seed=0)
    env.action_space.seed(0)
    print(env.render())
    episode_return = 0.0
    while True:
        action = env.action_space.sample(mask=observation["action_mask"])
        observation, reward, terminated, truncated, info = env.step(action)
        episode_return += reward
        if terminated or truncated:
            break
    print(env.render())
    metrics = info["metrics"]
    print(f"return {episode_return:.2f}")
    for name in ("rounds", "sequential_rounds", "speedup_vs_sequential", "idle_ratio", "step_f1"):
        print(f"{name:>22}: {metrics[name]:.3g}")


if __name__ == "__main__":
    main()
