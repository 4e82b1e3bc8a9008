"""PPO training throughput of the field's trainers on AsyncTool, and the wall time of a whole
recipe to the shipped policy's level, measured in one run on this machine.

**Throughput** (``--part speed``): each trainer trains the shipped network ([128, 128],
tanh, masked PPO, 5 epochs) from scratch on the procedural ``default`` stream for about
``--timesteps`` env steps, without evaluations; *steps/s* is env steps per second of
training (collection and updates together, warm-up update left out where the trainer
allows). Rows:

* SB3 MaskablePPO on ``DummyVecEnv`` x 8, 256 steps per env per update, minibatches of 256:
  today's ``ppo-default`` recipe (the reference of the ratio column);
* SB3 MaskablePPO on the batched env (``NativeVecEnv``) x 1,024, 16 steps, minibatches of
  4,096;
* TorchRL's PPO on the batched env x 1,024, 16 steps, minibatches of 4,096
  (``asynctool train --backend torchrl``);
* RLlib's PPO with the masking module (its own batch and network defaults; needs the ray
  extra; skipped without it).

**Time to level** (``--part level``): today's recipe (``baselines/configs/ppo-default.toml``:
oracle warm start, then SB3 on 8 envs) against the fast one
(``baselines/configs/ppo-default-fast.toml``: the same warm start, then TorchRL on 1,024
batched envs), each evaluated on the first 72 dev instances as it trains; the level is the
shipped ``ppo-default`` policy's efficiency on the same instances. *to level* is the wall
time (warm start included, evaluations left out) of the first evaluation at or above it.

Run: ``python benchmarks/train_speed.py [--part speed|level|both] [--threads 2]``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

RECIPE = {  # the shipped ppo-default recipe's PPO settings
    "algo": "maskable_ppo",
    "regime": "default",
    "action_mode": "direct",
    "slip": -0.05,
    "n_epochs": 5,
    "learning_rate": 1e-4,
    "ent_coef": 0.001,
    "net_arch": [128, 128],
    "test_episodes": 0,
    "checkpoint_freq": 0,
    "verbose": 0,
    "log_formats": ["csv"],
}


def speed_row(name: str, folder: Path, threads: int, timesteps: int, **settings: Any) -> dict:
    """Train without evaluations; steps/s of the training after its first update."""
    from asynctool_env.rl.config import TrainConfig
    from asynctool_env.rl.training import train

    config = TrainConfig(
        **{**RECIPE, **settings},
        total_timesteps=timesteps,
        eval_freq=0,
        eval_episodes=8,
        torch_threads=threads,
        output=folder / name.replace(" ", "_"),
    )
    result = train(config)
    return {
        "trainer": name,
        "envs": config.n_envs,
        "steps": result.timesteps,
        "train_s": result.train_time_s,
        "steps_per_s": result.timesteps / result.train_time_s,
    }


def rllib_row(threads: int, timesteps: int) -> dict | None:
    try:
        from asynctool_env.rl.rllib import train_rllib
    except ImportError:
        return None
    import torch

    torch.set_num_threads(threads)
    iterations = max(1, timesteps // 2000)
    run = train_rllib(iterations=iterations, env_kwargs={"action_mode": "direct"}, eval_episodes=8)
    return {
        "trainer": "RLlib PPO + masking module",
        "envs": 1,
        "steps": run.env_steps,
        "train_s": run.seconds,
        "steps_per_s": run.steps_per_second,
    }


def part_speed(args: argparse.Namespace, folder: Path) -> None:
    rows = [
        speed_row(
            "SB3 DummyVecEnv x 8",
            folder,
            args.threads,
            args.timesteps // 4,  # slow: a quarter of the budget measures it well enough
            n_envs=8,
            vec_env="dummy",
            n_steps=256,
            batch_size=256,
        ),
        speed_row(
            "SB3 native x 1024",
            folder,
            args.threads,
            args.timesteps,
            n_envs=1024,
            vec_env="native",
            n_steps=16,
            batch_size=4096,
        ),
        speed_row(
            "TorchRL batched x 1024",
            folder,
            args.threads,
            args.timesteps,
            backend="torchrl",
            n_envs=1024,
            n_steps=16,
            batch_size=4096,
        ),
    ]
    if not args.no_rllib:
        row = rllib_row(args.threads, args.timesteps // 4)
        if row is not None:
            rows.append(row)
    reference = rows[0]["steps_per_s"]
    print(f"training throughput ({args.threads} torch threads), shipped network [128, 128]:")
    print(f"{'trainer':32} {'envs':>6} {'steps':>8} {'train s':>8} {'steps/s':>9} {'x recipe':>9}")
    for row in rows:
        print(
            f"{row['trainer']:32} {row['envs']:6d} {row['steps']:8d} {row['train_s']:8.1f} "
            f"{row['steps_per_s']:9,.0f} {row['steps_per_s'] / reference:9.2f}"
        )


def part_level(args: argparse.Namespace, folder: Path) -> None:
    from asynctool_env.rl.config import TrainConfig, load_config
    from asynctool_env.rl.evaluation import SplitEvaluator
    from asynctool_env.rl.policy import CompactPolicy, shipped_policy_path
    from asynctool_env.rl.training import train

    root = Path(__file__).resolve().parent.parent / "baselines" / "configs"
    evaluator = SplitEvaluator("dev", 72, TrainConfig().resolved_env_kwargs())
    level = evaluator.summary(CompactPolicy.load(shipped_policy_path("default")))["efficiency"]
    evaluator.close()
    print(f"level: the shipped ppo-default's efficiency on the first 72 dev instances {level:.4f}")
    print(f"{'recipe':34} {'warm s':>7} {'RL steps/s':>10} {'best eff':>9}  to level (wall s)")
    for name, file in (
        ("today's (SB3, DummyVecEnv x 8)", "ppo-default.toml"),
        ("fast (TorchRL, batched x 1024)", "ppo-default-fast.toml"),
    ):
        config = load_config(
            root / file,
            {"output": folder / file, "test_episodes": 0, "verbose": 0,
             "torch_threads": args.threads},
        ).model_copy(update={"export": None})  # never replace the shipped policy  # fmt: skip
        result = train(config)
        rows = result.evaluations
        warm = result.train_time_s - rows[-1]["train_s"]
        rate = result.timesteps / max(rows[-1]["train_s"], 1e-9)
        best = max(row["efficiency"] or 0.0 for row in rows)
        reached = next((row for row in rows if (row["efficiency"] or 0.0) >= level), None)
        when = (
            f"{warm + reached['train_s']:.1f} s ({reached['timesteps']} RL steps)"
            if reached
            else "not reached"
        )
        print(f"{name:34} {warm:7.1f} {rate:10,.0f} {best:9.4f}  {when}")
        trajectory = ", ".join(
            f"{warm + row['train_s']:.0f}s:{row['efficiency']:.4f}" for row in rows
        )
        print(f"    (wall s : dev efficiency) {trajectory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["speed", "level", "both"], default="both")
    parser.add_argument("--threads", type=int, default=2, help="torch threads [2]")
    parser.add_argument("--timesteps", type=int, default=98_304)
    parser.add_argument("--no-rllib", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if args.part in ("speed", "both"):
            part_speed(args, folder)
        if args.part in ("level", "both"):
            part_level(args, folder)


if __name__ == "__main__":
    main()
