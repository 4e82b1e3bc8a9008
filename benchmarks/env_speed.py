"""Steps per second of AsyncTool-v0 against CartPole-v1, measured in one process.

The target (DESIGN.md): AsyncTool-v0 with random masked actions,
``env.action_space.sample(mask=obs["action_mask"])``, at least half of CartPole-v1's steps per
second with ``env.action_space.sample()``, both built with ``gym.make``. Machines are noisy,
so the two are measured one after the other, best of ``--repeats``, and the ratio is what to
compare across machines.

The script also splits AsyncTool's cost into parts: the masked sampler alone (AsyncTool's
action space is a ``Discrete`` subclass with a cheaper masked ``sample``; Gymnasium's own
``Discrete.sample(mask)`` is measured beside it, since it costs more than a whole CartPole
step), the loop with Gymnasium's sampler, the env with actions drawn by a plain numpy
generator over the mask, and ``reset``.

The headline pair uses the default env (``optimum_in_info=True``: the last ``info`` computes
the metrics and the exact optimum when they are first read, which a random rollout never
does); one row reads every episode's efficiency, paying the solve, and the other rows are
measured as a trainer builds the env, ``optimum_in_info=False``.

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


def asynctool_rate(
    steps: int, sampler: str = "space", read_metrics: bool = False, **kwargs: object
) -> tuple[float, int]:
    """Steps/s with actions from ``sampler``: "space" (the env's action space), "gymnasium"
    (a plain ``gymnasium.spaces.Discrete``) or "numpy" (a numpy generator over the mask);
    ``read_metrics`` reads the efficiency of every episode from its last info."""
    env = gym.make("AsyncTool-v0", **{"optimum_in_info": False, **kwargs})
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    plain = gym.spaces.Discrete(env.action_space.n, seed=0)
    rng = np.random.default_rng(0)
    episodes = 0
    start = time.perf_counter()
    for _ in range(steps):
        mask = obs["action_mask"]
        if sampler == "space":
            action = env.action_space.sample(mask=mask)
        elif sampler == "gymnasium":
            action = plain.sample(mask=mask)
        else:
            allowed = np.flatnonzero(mask)
            action = allowed[rng.integers(len(allowed))]
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            if read_metrics:
                info["metrics"]["efficiency"]
            obs, _ = env.reset()
            episodes += 1
    return steps / (time.perf_counter() - start), episodes


def sampler_cost(steps: int, gymnasium_space: bool) -> float:
    """Seconds per call of ``sample(mask=...)`` alone: AsyncTool's space or Gymnasium's."""
    env = gym.make("AsyncTool-v0")
    obs, _ = env.reset(seed=0)
    mask = obs["action_mask"]
    space = gym.spaces.Discrete(env.action_space.n) if gymnasium_space else env.action_space
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

    def best(sampler: str, **kwargs: object) -> tuple[float, int]:
        return max(asynctool_rate(args.steps, sampler, **kwargs) for _ in range(args.repeats))

    # The headline pair is measured alternately, so that both see the same machine load.
    cartpole_runs, masked_runs = [], []
    for _ in range(args.repeats):
        cartpole_runs.append(cartpole_rate(args.steps))
        masked_runs.append(asynctool_rate(args.steps, "space", optimum_in_info=True))
    cartpole, masked = max(cartpole_runs), max(masked_runs)
    solved = best("space", read_metrics=True, optimum_in_info=True)
    trainer = best("space")
    gymnasium_masked = best("gymnasium")
    plain = best("numpy")
    one, three = best("numpy", n_tasks=1), best("numpy", n_tasks=3)
    ours = min(sampler_cost(args.steps, False) for _ in range(args.repeats))
    theirs = min(sampler_cost(args.steps, True) for _ in range(args.repeats))
    reset = min(reset_cost(2_000) for _ in range(args.repeats))

    rows = [
        ("CartPole-v1, action_space.sample()", f"{cartpole:,.0f} steps/s"),
        ("AsyncTool-v0 (default), action_space.sample(mask)", f"{masked[0]:,.0f} steps/s"),
        ("  ratio AsyncTool / CartPole", f"{masked[0] / cartpole:.2f}"),
        ("  same, reading every episode's efficiency", f"{solved[0]:,.0f} steps/s"),
        ("  ratio AsyncTool / CartPole", f"{solved[0] / cartpole:.2f}"),
        ("  same, optimum_in_info=False", f"{trainer[0]:,.0f} steps/s"),
        ("  ratio AsyncTool / CartPole", f"{trainer[0] / cartpole:.2f}"),
        ("AsyncTool-v0, gymnasium Discrete.sample(mask)", f"{gymnasium_masked[0]:,.0f} steps/s"),
        ("  ratio AsyncTool / CartPole", f"{gymnasium_masked[0] / cartpole:.2f}"),
        ("AsyncTool-v0, numpy choice over the mask", f"{plain[0]:,.0f} steps/s"),
        ("  ratio AsyncTool / CartPole", f"{plain[0] / cartpole:.2f}"),
        ("  1 task per instance (numpy choice)", f"{one[0]:,.0f} steps/s"),
        ("  3 tasks per instance (numpy choice)", f"{three[0]:,.0f} steps/s"),
        ("AsyncTool action_space.sample(mask) alone", f"{ours * 1e6:.2f} us/call"),
        ("gymnasium Discrete.sample(mask) alone", f"{theirs * 1e6:.2f} us/call"),
        ("CartPole step + sample, for comparison", f"{1e6 / cartpole:.2f} us/step"),
        ("AsyncTool reset (compose an instance)", f"{reset * 1e6:.1f} us/reset"),
        ("  decisions per episode (random masked)", f"{args.steps / max(plain[1], 1):.1f}"),
    ]
    for label, value in rows:
        print(f"{label:<48}{value:>18}")


if __name__ == "__main__":
    main()
