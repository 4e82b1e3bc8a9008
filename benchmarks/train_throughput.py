"""Env steps per second while training MaskablePPO, and where the time goes.

For 1, 2 and 4 envs in ``SubprocVecEnv`` (one process per env) and in ``DummyVecEnv`` (all
in this process), the script trains MaskablePPO with the project's default hyperparameters
(:class:`asynctool_env.rl.TrainConfig`; the rollout per update is kept at ``--rollout``
steps whatever the number of envs, so the learner does the same work in every row) and
times, by wrapping the model's own methods:

* *env*: ``VecEnv.step`` plus the ``action_masks()`` calls, i.e. the env stepping and, for
  subprocess envs, the round trips to the workers;
* *policy*: the rest of rollout collection: the forward passes that pick actions, the
  rollout buffer, the callbacks;
* *learner*: ``train()``, the gradient updates (``n_epochs`` passes over the rollout).

*steps/s* is env steps per second of training (collection and updates together);
*collect steps/s* counts collection alone. One warm-up update runs first and is not counted;
*start s* is the time to build the vector env (process start-up for subprocess envs). The
machine is shared and noisy: compare rows of one run, not runs of different days.

Run: ``python benchmarks/train_throughput.py [--timesteps 8192] [--rollout 1024]``
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from typing import Any


def _timed(function: Callable[..., Any], totals: dict[str, float], key: str) -> Callable:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start

    return wrapper


def measure(vec_env: str, n_envs: int, timesteps: int, rollout: int, threads: int) -> dict:
    """Train ``timesteps`` steps after one warm-up update; seconds per part and rates."""
    from asynctool_env.rl.config import TrainConfig
    from asynctool_env.rl.training import build_model, make_train_env

    config = TrainConfig(
        n_envs=n_envs,
        vec_env=vec_env,
        n_steps=max(rollout // n_envs, 1),
        batch_size=min(128, rollout),
        torch_threads=threads,
        verbose=0,
    )
    start = time.perf_counter()
    env = make_train_env(config)
    startup = time.perf_counter() - start
    try:
        model = build_model(config, env)
        model.learn(config.n_steps * n_envs)  # warm-up: first forward passes, first update
        totals = dict.fromkeys(("env", "collect", "learner"), 0.0)
        vec = model.get_env()
        vec.step = _timed(vec.step, totals, "env")
        vec.env_method = _timed(vec.env_method, totals, "env")
        model.collect_rollouts = _timed(model.collect_rollouts, totals, "collect")
        model.train = _timed(model.train, totals, "learner")
        before = model.num_timesteps
        model.learn(timesteps, reset_num_timesteps=False)
        steps = model.num_timesteps - before
    finally:
        env.close()
    busy = totals["collect"] + totals["learner"]
    return {
        "vec_env": vec_env,
        "n_envs": n_envs,
        "steps": steps,
        "steps_per_s": steps / busy,
        "collect_steps_per_s": steps / totals["collect"],
        "env_share": totals["env"] / busy,
        "policy_share": (totals["collect"] - totals["env"]) / busy,
        "learner_share": totals["learner"] / busy,
        "startup_s": startup,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=8192, help="Steps timed per row.")
    parser.add_argument("--rollout", type=int, default=1024, help="Steps per update.")
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--vec-env", nargs="+", default=["subproc", "dummy"])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads.")
    args = parser.parse_args()

    import os

    import torch

    torch.set_num_threads(args.threads)
    print(
        f"MaskablePPO, {args.timesteps} timed steps per row, {args.rollout} steps per update, "
        f"{os.cpu_count()} CPUs, {args.threads} torch thread(s)"
    )
    header = (
        f"{'vec env':<9}{'envs':>5}{'steps/s':>10}{'collect steps/s':>17}"
        f"{'env':>8}{'policy':>8}{'learner':>9}{'start s':>9}"
    )
    print(header)
    print("-" * len(header))
    for vec_env in args.vec_env:
        for n_envs in args.envs:
            row = measure(vec_env, n_envs, args.timesteps, args.rollout, args.threads)
            print(
                f"{row['vec_env']:<9}{row['n_envs']:>5}{row['steps_per_s']:>10,.0f}"
                f"{row['collect_steps_per_s']:>17,.0f}{row['env_share']:>8.0%}"
                f"{row['policy_share']:>8.0%}{row['learner_share']:>9.0%}"
                f"{row['startup_s']:>9.1f}",
                flush=True,
            )
    print(
        "env: VecEnv.step + action_masks() (incl. worker round trips); policy: the rest of "
        "rollout collection; learner: gradient updates. Shares of collection + updates."
    )


if __name__ == "__main__":
    main()
