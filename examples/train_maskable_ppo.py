"""Train MaskablePPO for a few thousand steps, then score it against the reference agents.

A starting point for training your own coordination policy. It trains on the procedural
stream of 2-task instances with :func:`asynctool_env.rl.train` (sb3-contrib's MaskablePPO,
masks from ``env.action_masks()``, a ``MultiInputPolicy`` over the Dict observation), then
plays the kept policy and the reference agents on the same ``dev`` instances and prints the
project's metrics: *efficiency* (optimal rounds / rounds, per episode), *success* (every
task of the instance right), rounds and return. About half a minute on 2 CPU cores.

Needs the ``rl`` extra: ``pip install torch==2.13.0 && pip install -e ".[rl]"``.
Run: ``python examples/train_maskable_ppo.py [--steps 4096] [--episodes 20]``

For real runs use ``asynctool train`` (flags or a config file for every hyperparameter,
periodic evaluation, checkpoints); the shipped policies are reproduced by the commands in
``baselines/README.md``.
"""

from __future__ import annotations

import argparse
import tempfile

from asynctool_env.agents import CriticalPathPolicy, RandomMaskedPolicy, SequentialPolicy
from asynctool_env.rl import PPOPolicy, SplitEvaluator, TrainConfig, train

#: Two tasks per instance, short tasks (2-3 steps): a few thousand steps are enough.
ENV_KWARGS = {"n_tasks": 2, "steps_per_task": [2, 3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4096, help="Training env steps.")
    parser.add_argument("--episodes", type=int, default=20, help="dev instances to score.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="Run folder (default: a temporary folder).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        config = TrainConfig(
            algo="maskable_ppo",
            env_kwargs=ENV_KWARGS,
            total_timesteps=args.steps,
            n_envs=4,
            n_steps=128,  # 4 envs x 128 steps = 512 steps per update
            batch_size=128,
            n_epochs=4,
            seed=args.seed,
            eval_freq=1024,  # score on the dev split every 1024 steps, keep the best
            eval_episodes=args.episodes,
            test_episodes=0,
            checkpoint_freq=0,
            output=args.output or scratch,
            log_formats=["csv"],  # progress.csv only; add "stdout" for SB3's tables
        )
        result = train(config)  # prints each dev evaluation and a summary line

        # The same dev instances (2-task ones, as trained), episode i with seed i.
        evaluator = SplitEvaluator("dev", args.episodes, ENV_KWARGS)
        agents = {
            "random": RandomMaskedPolicy(0),
            "sequential": SequentialPolicy(),
            "maskable_ppo": PPOPolicy(result.policy_path),
            "critical_path": CriticalPathPolicy(),
        }
        print(f"\n{len(evaluator.instances)} dev instances of 2 tasks:")
        print(f"{'agent':<15}{'efficiency':>11}{'success':>9}{'rounds':>8}{'return':>8}")
        for name, policy in agents.items():
            summary = evaluator.summary(policy, agent=name)
            print(
                f"{name:<15}{summary['efficiency']:>11.3f}{summary['instance_success']:>9.2f}"
                f"{summary['rounds']:>8.2f}{summary['return']:>8.3f}"
            )
        evaluator.close()
        if not args.output:
            print("(the run folder was temporary: pass --output DIR to keep the policy)")


if __name__ == "__main__":
    main()
