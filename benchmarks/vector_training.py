"""MaskablePPO on the batched env (``vec_env="native"``) against today's recipe
(``DummyVecEnv`` of single envs), in one run: training throughput, and the training time each
takes to reach the critical-path heuristic's efficiency on ``dev``.

Both runs use the shipped ``ppo-default`` recipe (``baselines/configs/ppo-default.toml``:
MaskablePPO, direct actions, ``slip`` shaping, [128, 128], 5 epochs, minibatches of 256),
by default without its imitation warm start, so that the time is reinforcement learning
alone, where the env is stepped (``--imitation-episodes 6000`` puts the recipe's warm start
back: cloning the oracle, the same for both runs, then RL), and the same rollout per update
(2,048 steps): 8 envs x 256 steps for
the ``DummyVecEnv`` run, ``--native-envs`` envs x ``2048 / native_envs`` steps for the
native one. Every ``--eval-freq`` steps the policy is scored on the first 72 dev instances
(*train s* is the reinforcement learning: neither the evaluations nor the warm start);
*to level* is the training time of the first evaluation at or above ``critical_path``'s dev
efficiency (``-``: not within the budget), *to 0.95* and *to 0.90* the same for those
levels.

Run: ``python benchmarks/vector_training.py [--timesteps 100000] [--native-envs 64]``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def run(
    vec_env: str, n_envs: int, timesteps: int, eval_freq: int, folder: Path, imitation: int
) -> dict:
    from asynctool_env.rl.config import TrainConfig
    from asynctool_env.rl.training import train

    config = TrainConfig(
        algo="maskable_ppo",
        regime="default",
        imitation_episodes=imitation,
        imitation_epochs=25,
        action_mode="direct",
        slip=-0.05,
        total_timesteps=timesteps,
        n_envs=n_envs,
        vec_env=vec_env,
        n_steps=2048 // n_envs,
        batch_size=256,
        n_epochs=5,
        learning_rate=1e-4,
        ent_coef=0.001,
        net_arch=[128, 128],
        eval_freq=eval_freq,
        eval_episodes=72,
        test_episodes=0,
        checkpoint_freq=0,
        output=folder / vec_env,
        verbose=0,
        log_formats=["csv"],
    )
    result = train(config)
    return {
        "steps": result.timesteps,
        # Reinforcement learning only: the last evaluation's training time (without the
        # warm start, which is the same for both runs, and without the evaluations).
        "train_s": result.evaluations[-1]["train_s"],
        "warm_start_s": result.train_time_s - result.evaluations[-1]["train_s"],
        "evaluations": result.evaluations,
    }


def first_at(evaluations: list[dict], level: float) -> str:
    for row in evaluations:
        if (row.get("efficiency") or 0.0) >= level:
            return f"{row['train_s']:.1f} s ({row['timesteps']} steps)"
    return "-"


def main() -> None:
    from asynctool_env.benchmark import EvalConfig, evaluate, summarize

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--eval-freq", type=int, default=10_240)
    parser.add_argument("--native-envs", type=int, default=64)
    parser.add_argument("--imitation-episodes", type=int, default=0)
    args = parser.parse_args()
    level = summarize(evaluate("critical_path", EvalConfig(split="dev", episodes=72)))["efficiency"]
    with tempfile.TemporaryDirectory() as folder:
        rows = {
            "DummyVecEnv x 8": run(
                "dummy", 8, args.timesteps, args.eval_freq, Path(folder), args.imitation_episodes
            ),
            f"native x {args.native_envs}": run(
                "native",
                args.native_envs,
                args.timesteps,
                args.eval_freq,
                Path(folder),
                args.imitation_episodes,
            ),
        }
    print(f"critical_path dev efficiency (the level): {level:.3f}")
    header = ("env", "steps", "train s", "steps/s", "best eff")
    print("{:18} {:>7} {:>8} {:>8} {:>8}  to level / 0.95 / 0.90".format(*header))
    for name, row in rows.items():
        best = max((r.get("efficiency") or 0.0) for r in row["evaluations"])
        print(
            f"{name:18} {row['steps']:7d} {row['train_s']:8.1f} "
            f"{row['steps'] / row['train_s']:8.0f} {best:8.3f}  "
            f"{first_at(row['evaluations'], level)} / {first_at(row['evaluations'], 0.95)} / "
            f"{first_at(row['evaluations'], 0.90)}"
        )
    dummy, native = rows.values()
    ratio = (native["steps"] / native["train_s"]) / (dummy["steps"] / dummy["train_s"])
    print(f"native steps/s / DummyVecEnv steps/s: {ratio:.2f}")


if __name__ == "__main__":
    main()
