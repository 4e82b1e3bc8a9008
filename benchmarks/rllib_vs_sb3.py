"""RLlib's PPO against SB3's MaskablePPO on ``AsyncTool-v0``: env steps per second while
training, and the dev efficiency each reaches, for the same budget of env steps, in one run.

Both start from a random policy (no imitation warm start), train on the procedural stream of
the same regime for ``--timesteps`` env steps, and are then scored by the same evaluator (the
first ``--eval-episodes`` dev instances, :class:`~asynctool_env.rl.evaluation.SplitEvaluator`,
greedy actions among the masked ones): the SB3 run through its exported policy file, the
RLlib run through its module. Each framework keeps its own PPO defaults (SB3: the project's
:class:`~asynctool_env.rl.config.TrainConfig`, 4 envs of 256 steps per update, 10 epochs,
[64, 64]; RLlib: :func:`~asynctool_env.rl.rllib.ppo_config`, 2,000 steps per iteration, 4
epochs, [128, 128] and a 64-wide head), so this compares the two recipes as shipped.

*steps/s* counts training only (sampling and updates; not the start-up, not the scoring).
The machine is shared and noisy: compare rows of one run.

Run: ``python benchmarks/rllib_vs_sb3.py [--timesteps 20000] [--regime default]``
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path


def sb3(regime: str, timesteps: int, episodes: int, folder: Path, seed: int) -> dict:
    from asynctool_env.rl.config import REGIMES, TrainConfig
    from asynctool_env.rl.evaluation import SplitEvaluator
    from asynctool_env.rl.policy import PPOPolicy
    from asynctool_env.rl.training import train

    config = TrainConfig(
        regime=regime,
        total_timesteps=timesteps,
        seed=seed,
        eval_freq=0,
        eval_episodes=episodes,
        test_episodes=0,
        checkpoint_freq=0,
        output=folder / "sb3",
        export=folder / "sb3.pt",
        verbose=0,
        log_formats=["csv"],
    )
    start = time.perf_counter()
    result = train(config)
    total = time.perf_counter() - start
    evaluator = SplitEvaluator("dev", episodes, {"action_mode": "direct", **REGIMES[regime]})
    try:
        summary = evaluator.summary(PPOPolicy(result.last_policy_path), agent="sb3")
    finally:
        evaluator.close()
    return {
        "steps": result.timesteps,
        "seconds": result.train_time_s,
        "wall": total,
        "efficiency": summary["efficiency"],
        "return": summary["return"],
        "success": summary["instance_success"],
    }


def rllib(regime: str, timesteps: int, episodes: int, seed: int) -> dict:
    from asynctool_env.rl.config import REGIMES
    from asynctool_env.rl.rllib import train_rllib

    start = time.perf_counter()
    run = train_rllib(
        iterations=max(1, math.ceil(timesteps / 2000)),
        env_kwargs=REGIMES[regime],
        eval_episodes=episodes,
        seed=seed,
    )
    return {
        "steps": run.env_steps,
        "seconds": run.seconds,
        "wall": time.perf_counter() - start,
        "efficiency": run.dev_after["efficiency"],
        "return": run.dev_after["return"],
        "success": run.dev_after["instance_success"],
        "efficiency_before": run.dev_before["efficiency"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=20_000)
    parser.add_argument("--regime", default="default")
    parser.add_argument("--eval-episodes", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = {
            "SB3 MaskablePPO": sb3(
                args.regime, args.timesteps, args.eval_episodes, Path(folder), args.seed
            ),
            "RLlib PPO (masking module)": rllib(
                args.regime, args.timesteps, args.eval_episodes, args.seed
            ),
        }
    print(f"regime {args.regime}, budget {args.timesteps} env steps, dev {args.eval_episodes}")
    print(f"{'trainer':28} {'steps':>7} {'train s':>8} {'steps/s':>8} {'eff':>6} {'return':>7}")
    for name, row in rows.items():
        rate = row["steps"] / row["seconds"] if row["seconds"] else 0.0
        print(
            f"{name:28} {row['steps']:7d} {row['seconds']:8.1f} {rate:8.0f} "
            f"{row['efficiency']:6.3f} {row['return']:7.3f}"
        )
    sb3_rate = rows["SB3 MaskablePPO"]["steps"] / rows["SB3 MaskablePPO"]["seconds"]
    rl = rows["RLlib PPO (masking module)"]
    print(f"RLlib steps/s / SB3 steps/s: {rl['steps'] / rl['seconds'] / sb3_rate:.2f}")
    print(f"RLlib untrained dev efficiency: {rl['efficiency_before']:.3f}")


if __name__ == "__main__":
    main()
