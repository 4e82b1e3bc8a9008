"""Steps per second of the batched AsyncTool-v0 against Gymnasium's CartPoleVectorEnv and the
single AsyncTool-v0, all measured in one run, and the memory each env of a batch costs.

* **AsyncToolVectorEnv**: ``gym.make_vec("AsyncTool-v0", num_envs=N,
  vectorization_mode="vector_entry_point", split=...)`` (the instance bank of the split),
  random *masked* actions: each step's actions are drawn from the last observation's
  ``action_mask`` (``argmax(mask * uniform)``, vectorized).
* **CartPoleVectorEnv**: ``gym.make_vec("CartPole-v1", num_envs=N,
  vectorization_mode="vector_entry_point")``, random actions.
* **AsyncTool-v0**: one ``gym.make("AsyncTool-v0", ...)`` with masked random actions
  (its ``action_space.sample(mask=...)``), as a trainer builds it (``optimum_in_info=False``).

Only the env's ``step`` is timed (the action draws are not), best of ``--repeats``; *steps/s*
counts sub-env steps (N per ``step``). The ratios are what to compare across machines: the
targets (issue 16) are at least 0.2x CartPoleVectorEnv and at least 20x the single env at
N = 1,024, on one core. *bytes/env* is the memory one more env adds to a batch (the
difference between N = 8,192 and N = 1,024, measured with ``tracemalloc``, after a reset and
some steps), which leaves out the instance bank the batch shares.

``--profile`` also prints where the batched env's step time goes at N = 1,024: the time of
each compiled kernel (per call and per env) and the Python around them (cProfile).

Run: ``python benchmarks/vector_speed.py [--split test] [--mode direct] [--seconds 1.0]``
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the targets say

import gymnasium as gym
import numpy as np

import asynctool_env  # noqa: F401  (registers AsyncTool-v0 and its vector entry point)


def _masked(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    return np.argmax(mask * (rng.random(mask.shape) + 1e-9), axis=1)


def vector_rate(n: int, kwargs: dict, seconds: float) -> float:
    env = gym.make_vec(
        "AsyncTool-v0", num_envs=n, vectorization_mode="vector_entry_point", **kwargs
    )
    observation, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    spent, steps = 0.0, 0
    while spent < seconds:
        actions = _masked(rng, observation["action_mask"])
        start = time.perf_counter()
        observation, *_ = env.step(actions)
        spent += time.perf_counter() - start
        steps += n
    env.close()
    return steps / spent


def cartpole_rate(n: int, seconds: float) -> float:
    env = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    spent, steps = 0.0, 0
    while spent < seconds:
        actions = rng.integers(0, 2, n)
        start = time.perf_counter()
        env.step(actions)
        spent += time.perf_counter() - start
        steps += n
    env.close()
    return steps / spent


def single_rate(kwargs: dict, seconds: float) -> float:
    env = gym.make("AsyncTool-v0", optimum_in_info=False, **kwargs)
    observation, _ = env.reset(seed=0)
    env.action_space.seed(0)
    spent, steps = 0.0, 0
    while spent < seconds:
        action = env.action_space.sample(mask=observation["action_mask"])
        start = time.perf_counter()
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            observation, _ = env.reset()
        spent += time.perf_counter() - start
        steps += 1
    return steps / spent


def memory(n: int, kwargs: dict) -> int:
    """Bytes held by a batch of ``n`` envs after a reset and 20 steps."""
    tracemalloc.start()
    env = gym.make_vec(
        "AsyncTool-v0", num_envs=n, vectorization_mode="vector_entry_point", **kwargs
    )
    observation, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        observation, *_ = env.step(_masked(rng, observation["action_mask"]))
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del env, observation
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--mode", default="direct", choices=["direct", "focus"])
    parser.add_argument("--tool-capacity", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=1.0, help="Timed seconds per row.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="1,64,1024,8192")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    kwargs = {"split": args.split, "action_mode": args.mode}
    if args.tool_capacity is not None:
        kwargs["tool_capacity"] = args.tool_capacity
    sizes = [int(value) for value in args.sizes.split(",")]

    def best(function, *values) -> float:
        return max(function(*values) for _ in range(args.repeats))

    single = best(single_rate, kwargs, args.seconds)
    print(f"AsyncTool-v0 {kwargs}: single env {single:,.0f} steps/s")
    header = ("N", "AsyncToolVectorEnv", "CartPoleVectorEnv", "/cartpole", "/single")
    print("{:>6} {:>19} {:>18} {:>10} {:>8}".format(*header))
    results = {}
    for n in sizes:
        mine = best(vector_rate, n, kwargs, args.seconds)
        cartpole = best(cartpole_rate, n, args.seconds)
        results[n] = (mine, cartpole)
        print(
            f"{n:6d} {mine:19,.0f} {cartpole:18,.0f} {mine / cartpole:10.3f} {mine / single:8.1f}"
        )
    small, large = 1024, 8192
    per_env = (memory(large, kwargs) - memory(small, kwargs)) / (large - small)
    print(f"memory: {per_env:,.0f} bytes per env in the batch (beyond the shared instance bank)")
    env = gym.make_vec(
        "AsyncTool-v0", num_envs=1, vectorization_mode="vector_entry_point", **kwargs
    )
    print(
        f"instance bank: {len(env.unwrapped.bank)} instances, {env.unwrapped.bank.nbytes():,} bytes"
    )
    if args.profile:
        import cProfile
        import pstats

        env = gym.make_vec(
            "AsyncTool-v0", num_envs=1024, vectorization_mode="vector_entry_point", **kwargs
        )
        observation, _ = env.reset(seed=0)
        rng = np.random.default_rng(0)

        def run() -> None:
            nonlocal observation
            for _ in range(300):
                observation, *_ = env.step(_masked(rng, observation["action_mask"]))

        from asynctool_env.envs import kernels

        names = ("reset_envs", "step_envs", "observe_envs", "episode_metrics", "wrong_calls")
        spent = dict.fromkeys(names, 0.0)
        compiled = kernels.compiled()
        originals = {name: getattr(compiled, name) for name in names}

        def timed(name: str, function):
            def wrapper(*values):
                start = time.perf_counter()
                out = function(*values)
                spent[name] += time.perf_counter() - start
                return out

            return wrapper

        for name in names:
            setattr(compiled, name, timed(name, originals[name]))
        start = time.perf_counter()
        run()
        total = time.perf_counter() - start
        for name in names:
            setattr(compiled, name, originals[name])
        print(f"N = 1,024, 300 steps: {total / 300 * 1e3:.3f} ms a step, of which")
        for name in names:
            share = spent[name] / 300
            print(f"  {name:16} {share * 1e3:.3f} ms a step, {share / 1024 * 1e9:.0f} ns an env")
        python = total - sum(spent.values())
        print(f"  the rest: {python / 300 * 1e3:.3f} ms a step (Python around them, and the draws")
        print("  of the random masked actions)")
        profiler = cProfile.Profile()
        profiler.runcall(run)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
