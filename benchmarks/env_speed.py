"""Steps per second of AsyncTool-v0 against CartPole-v1, measured in one process.

The target (DESIGN.md): AsyncTool-v0 with random masked actions,
``env.action_space.sample(mask=obs["action_mask"])``, at least half of CartPole-v1's steps per
second with ``env.action_space.sample()``, both built with ``gym.make``. Machines are noisy,
so the two are measured one after the other, best of ``--repeats``, and the ratio is what to
compare across machines.

The script also splits AsyncTool's cost into parts, because Gymnasium's masked sampler is
itself slower than a whole CartPole step: the sampler alone, the env with actions drawn by a
plain numpy generator over the mask, and ``reset``.

Run: ``python benchmarks/env_speed.py [--steps 50000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import asynctool_env  # noqa: F401  (registers AsyncTool-v0)


def cartpole_rate(steps: int) -> float:
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.action_space.seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def asynctool_rate(steps: int, gym_sampler: bool, **kwargs: object) -> tuple[float, int]:
    env = gym.make("AsyncTool-v0", **kwargs)
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    rng = np.random.default_rng(0)
    episodes = 0
    start = time.perf_counter()
    for _ in range(steps):
        mask = obs["action_mask"]
        if gym_sampler:
            action = env.action_space.sample(mask=mask)
        else:
            allowed = np.flatnonzero(mask)
            action = allowed[rng.integers(len(allowed))]
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
            episodes += 1
    return steps / (time.perf_counter() - start), episodes


def sampler_cost(steps: int) -> float:
    """Seconds per call of ``Discrete.sample(mask=...)`` alone, on AsyncTool's action space."""
    env = gym.make("AsyncTool-v0")
    obs, _ = env.reset(seed=0)
    mask = obs["action_mask"]
    space = env.action_space
    start = time.perf_counter()
    for _ in range(steps):
        space.sample(mask=mask)
    return (time.perf_counter() - start) / steps


def reset_cost(resets: int) -> float:
    env = gym.make("AsyncTool-v0")
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(resets):
        env.reset()
    return (time.perf_counter() - start) / resets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cartpole = max(cartpole_rate(args.steps) for _ in range(args.repeats))
    masked = max(asynctool_rate(args.steps, True) for _ in range(args.repeats))
    plain = max(asynctool_rate(args.steps, False) for _ in range(args.repeats))
    three = max(asynctool_rate(args.steps, False, n_tasks=3) for _ in range(args.repeats))
    one = max(asynctool_rate(args.steps, False, n_tasks=1) for _ in range(args.repeats))
    sampler = min(sampler_cost(args.steps) for _ in range(args.repeats))
    reset = min(reset_cost(2_000) for _ in range(args.repeats))

    print(f"CartPole-v1, action_space.sample():          {cartpole:>10,.0f} steps/s")
    print(f"AsyncTool-v0, action_space.sample(mask):     {masked[0]:>10,.0f} steps/s")
    print(f"  ratio AsyncTool / CartPole:                {masked[0] / cartpole:>10.2f}")
    print(f"AsyncTool-v0, numpy choice over the mask:    {plain[0]:>10,.0f} steps/s")
    print(f"  ratio AsyncTool / CartPole:                {plain[0] / cartpole:>10.2f}")
    print(f"  1 task per instance:                       {one[0]:>10,.0f} steps/s")
    print(f"  3 tasks per instance:                      {three[0]:>10,.0f} steps/s")
    print(f"Discrete.sample(mask) alone:                 {sampler * 1e6:>10.2f} us/call")
    print(f"CartPole step + sample, for comparison:      {1e6 / cartpole:>10.2f} us/step")
    print(f"AsyncTool reset (generate instance):         {reset * 1e6:>10.1f} us/reset")
    print(f"  mean decisions per episode (random):       {args.steps / max(plain[1], 1):>10.1f}")


if __name__ == "__main__":
    main()
