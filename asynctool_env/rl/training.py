"""Train MaskablePPO, PPO or A2C on the procedural ``AsyncTool-v0`` stream.

:func:`train` is what ``asynctool train`` and ``baselines/train.py`` run. A run folder
(``TrainConfig.output``) ends up with:

=========================  ======================================================================
``config.json``            the resolved configuration (every hyperparameter, the env arguments)
``progress.csv``           SB3's logger: rollout, loss and ``eval/*`` values per update
``evaluations.csv``        one row per periodic evaluation on ``eval_split`` (the project's
                           metrics: efficiency, success, rounds, return, mistakes; and
                           ``train_s``, the seconds of training before it)
``checkpoints/*.zip``      full SB3 models every ``checkpoint_freq`` steps (resumable with
                           ``MaskablePPO.load(path, env)``; with optimizer state, so larger)
``policy.pt`` / ``.json``  the kept policy: best mean efficiency on ``eval_split``; compact
                           (weights and a JSON header only), what ``export`` copies
``last_policy.pt``         the weights at the end of training, same format
``training.json``          wall time, steps, steps per second, evaluations, test scores
=========================  ======================================================================

Progress goes to stdout through SB3's logger (no TensorBoard).
"""

from __future__ import annotations

import copy
import csv
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, CheckpointCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from asynctool_env.rl.config import TrainConfig
from asynctool_env.rl.evaluation import SplitEvaluator
from asynctool_env.rl.policy import (
    CompactPolicy,
    NumpyActor,
    masked_action,
    policy_header,
    policy_kwargs,
    save_policy,
)

#: The env id that makes each worker process import the package (and so register the env).
ENV_ID = "asynctool_env:AsyncTool-v0"

#: Summary entries kept per evaluation (names as in ``asynctool eval`` summaries).
EVAL_KEYS = (
    "efficiency",
    "instance_success",
    "task_success_rate",
    "rounds",
    "optimal_rounds",
    "return",
    "invalid_actions",
    "dependency_violations",
)


@dataclass(frozen=True)
class TrainResult:
    """What a run produced (also written to ``training.json`` in the run folder)."""

    output: Path
    policy_path: Path
    last_policy_path: Path
    exported_path: Path | None
    timesteps: int
    wall_time_s: float
    eval_time_s: float
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    best_eval: dict[str, Any] | None = None
    test_eval: dict[str, Any] | None = None

    @property
    def train_time_s(self) -> float:
        """Wall time of ``learn`` without the periodic evaluations."""
        return self.wall_time_s - self.eval_time_s

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("output", "policy_path", "last_policy_path", "exported_path"):
            data[key] = str(data[key]) if data[key] is not None else None
        data["train_time_s"] = self.train_time_s
        data["steps_per_second"] = self.timesteps / self.train_time_s if self.train_time_s else 0
        return data


def make_train_env(config: TrainConfig) -> VecEnv:
    """``n_envs`` procedural envs with the config's env arguments, env ``i`` seeded
    ``seed + i``, each wrapped in SB3's ``Monitor`` (episode returns for the logger); with
    ``vec_env="native"``, one batched env (:class:`~asynctool_env.rl.vec_env.NativeVecEnv`)
    under ``VecMonitor``, the same episodes without a Python env per slot."""
    if config.vec_env == "native":
        from stable_baselines3.common.vec_env import VecMonitor

        from asynctool_env.rl.vec_env import NativeVecEnv

        native = NativeVecEnv(config.n_envs, optimum_in_info=False, **config.resolved_env_kwargs())
        native.seed(config.seed)
        return VecMonitor(native)
    return make_vec_env(
        ENV_ID,
        n_envs=config.n_envs,
        seed=config.seed,
        vec_env_cls=SubprocVecEnv if config.vec_env == "subproc" else DummyVecEnv,
        # Training reads no metrics: the episodes' optima are not solved (see AsyncTool-v0).
        env_kwargs={"optimum_in_info": False, **config.resolved_env_kwargs()},
    )


def build_model(config: TrainConfig, env: VecEnv) -> BaseAlgorithm:
    """The SB3 algorithm of ``config.algo`` with every hyperparameter of ``config``."""
    rate = config.learning_rate
    learning_rate: Any = rate
    if config.lr_schedule == "linear":

        def learning_rate(progress_remaining: float) -> float:
            return rate * progress_remaining

    common: dict[str, Any] = {
        "policy": "MultiInputPolicy",
        "env": env,
        "learning_rate": learning_rate,
        "n_steps": config.n_steps,
        "gamma": config.gamma,
        "gae_lambda": config.gae_lambda,
        "ent_coef": config.ent_coef,
        "vf_coef": config.vf_coef,
        "max_grad_norm": config.max_grad_norm,
        "policy_kwargs": policy_kwargs(config.net_arch, config.activation),
        "seed": config.seed,
        "device": config.device,
        "verbose": 0,
    }
    if config.algo == "a2c":
        from stable_baselines3 import A2C

        return A2C(**common)
    ppo = {"batch_size": config.batch_size, "n_epochs": config.n_epochs}
    ppo["clip_range"] = config.clip_range
    if config.algo == "maskable_ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO(**common, **ppo)
    from stable_baselines3 import PPO

    return PPO(**common, **ppo)


class LivePolicy:
    """The model being trained, behind the reference-policy protocol (masked argmax)."""

    name = "ppo"

    def __init__(self, model: BaseAlgorithm) -> None:
        # A snapshot of the weights: build it again after the model has learned more.
        self.model = model
        self.keys = tuple(model.observation_space.spaces)
        self._fast = NumpyActor.from_policy(model.policy)

    def reset(self, seed: int | None = None) -> None:
        return None

    def act(self, observation: dict[str, Any]) -> int:
        if self._fast is not None:
            return self._fast.act(observation)
        return masked_action(self.model.policy, observation, self.keys)


def _short(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: summary.get(key) for key in ("episodes", *EVAL_KEYS)}


class EvaluationLog:
    """The evaluations of a training run: play the model's policy on the evaluation split,
    append the project's metrics (efficiency, success...) to ``evaluations.csv``, and keep
    the weights with the best mean efficiency (``on_best`` is told at once, so that an
    interrupted run still leaves its best policy). Every trainer uses it (the SB3 one
    through :class:`ProjectEvalCallback`).

    Args:
        evaluator: Plays the policy on the split.
        csv_path: The run's ``evaluations.csv``.
        on_best: ``on_best(row, state_dict)`` when an evaluation is the best so far.
        verbose: Print a line per evaluation.
    """

    def __init__(
        self,
        evaluator: SplitEvaluator,
        csv_path: Path,
        on_best: Any = None,
        verbose: int = 1,
    ) -> None:
        self.evaluator = evaluator
        self.csv_path = csv_path
        self.on_best = on_best
        self.verbose = verbose
        self.evaluations: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.best_state: dict[str, Any] | None = None
        self.eval_time_s = 0.0
        self._started: float | None = None  # when learning began (for each row's train_s)

    def start(self, when: float | None = None) -> None:
        """Learning starts now (or at ``when``, a ``time.perf_counter()``)."""
        self._started = time.perf_counter() if when is None else when

    def evaluate(self, model: Any, timesteps: int, logger: Any = None) -> dict[str, Any]:
        """Score ``model.policy`` (an SB3 actor-critic) after ``timesteps`` env steps."""
        start = time.perf_counter()
        # Seconds of training so far, evaluations left out (for time-to-level comparisons).
        trained = start - (self._started or start) - self.eval_time_s
        summary = self.evaluator.summary(LivePolicy(model))
        row = {"timesteps": timesteps, "train_s": round(trained, 2), **_short(summary)}
        self.evaluations.append(row)
        if logger is not None:
            for key in EVAL_KEYS:
                if row.get(key) is not None:
                    name = {"instance_success": "success", "task_success_rate": "task_success"}
                    logger.record(f"eval/{name.get(key, key)}", row[key])
        new_file = not self.csv_path.exists()
        with self.csv_path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        better = self.best is None or (row["efficiency"] or 0.0) > (self.best["efficiency"] or 0.0)
        if better:
            self.best = row
            self.best_state = copy.deepcopy(model.policy.state_dict())
            if self.on_best is not None:
                self.on_best(row, self.best_state)
        self.eval_time_s += time.perf_counter() - start
        if self.verbose:
            efficiency = row["efficiency"] if row["efficiency"] is not None else float("nan")
            print(
                f"eval {self.evaluator.split} @ {timesteps} steps: efficiency "
                f"{efficiency:.3f}, success {row['instance_success']:.3f}, rounds "
                f"{row['rounds']:.2f}, return {row['return']:.3f}"
                + (" (best so far)" if better else ""),
                flush=True,
            )
        return row


class ProjectEvalCallback(BaseCallback):
    """Every ``eval_freq`` env steps (at the first update after; and at the end), an
    :class:`EvaluationLog` evaluation of the SB3 model, its metrics also in SB3's logger
    (``eval/efficiency``, ``eval/success``...)."""

    def __init__(self, log: EvaluationLog, eval_freq: int) -> None:
        super().__init__(log.verbose)
        self.log = log
        self.eval_freq = eval_freq
        self._last = 0
        #: Score the policy before the first update too (a warm-started policy may be best).
        self.evaluate_at_start = False

    def _on_training_start(self) -> None:
        self.log.start()
        if self.evaluate_at_start:
            self._evaluate()

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        # The weights change only between rollouts: an evaluation inside one would score
        # the same policy again, so evaluations fall due here, after each update.
        if self.eval_freq and self.num_timesteps - self._last >= self.eval_freq:
            self._evaluate()

    def _on_training_end(self) -> None:
        if self._last != self.num_timesteps or not self.log.evaluations:
            self._evaluate()

    def _evaluate(self) -> None:
        self._last = self.num_timesteps
        self.log.evaluate(self.model, self.num_timesteps, self.logger)


def imitate(config: TrainConfig, model: Any, env_kwargs: dict[str, Any]) -> dict:
    """Clone the config's teacher into ``model.policy`` before RL (see
    :mod:`asynctool_env.rl.imitation`); what it did, for ``training.json``."""
    from asynctool_env.rl.imitation import behaviour_clone, collect_demonstrations

    start = time.perf_counter()
    # Seeds far from the training envs' (seed + i) so the clone sees other instances.
    demonstrations = collect_demonstrations(
        env_kwargs,
        config.imitation_episodes,
        seed=config.seed + 10_000_000,
        gamma=config.gamma,
        teacher=config.imitation_teacher,
    )
    collected = time.perf_counter()
    losses = behaviour_clone(
        model,
        demonstrations,
        epochs=config.imitation_epochs,
        batch_size=config.imitation_batch_size,
        learning_rate=config.imitation_learning_rate,
        seed=config.seed,
    )
    done = time.perf_counter()
    if config.verbose:
        print(
            f"imitation: {config.imitation_episodes} {config.imitation_teacher} episodes, "
            f"{len(demonstrations)} decisions in {collected - start:.1f}s; "
            f"{config.imitation_epochs} epochs in {done - collected:.1f}s, "
            f"loss {losses[0]:.3f} -> {losses[-1]:.3f}",
            flush=True,
        )
    return {
        "episodes": config.imitation_episodes,
        "teacher": config.imitation_teacher,
        "decisions": len(demonstrations),
        "epochs": config.imitation_epochs,
        "first_loss": round(losses[0], 4),
        "last_loss": round(losses[-1], 4),
        "collect_s": round(collected - start, 2),
        "fit_s": round(done - collected, 2),
    }


def versions() -> dict[str, str]:
    import gymnasium
    import sb3_contrib
    import stable_baselines3

    import asynctool_env

    return {
        "asynctool_env": asynctool_env.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "sb3_contrib": sb3_contrib.__version__,
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "python": platform.python_version(),
    }


def train(config: TrainConfig, *, callbacks: Sequence[BaseCallback] = ()) -> TrainResult:
    """Train ``config.algo`` on the procedural stream; evaluate, checkpoint, save compactly.

    ``config.backend == "torchrl"`` runs :func:`asynctool_env.rl.torchrl_ppo.train_torchrl`
    instead (the batched env and TorchRL's PPO; the same run folder and policy files).

    Args:
        config: Every setting of the run (see :class:`~asynctool_env.rl.config.TrainConfig`).
        callbacks: More SB3 callbacks to run during ``learn`` (SB3 only).

    Returns:
        Paths of the saved policies, wall time, steps and evaluation results.
    """
    if config.backend == "torchrl":
        if callbacks:
            raise ValueError("callbacks are SB3's: the torchrl backend takes none")
        from asynctool_env.rl.torchrl_ppo import train_torchrl

        return train_torchrl(config)
    config, _ = config.fitted_to_budget()
    out = start_run(config)
    env_kwargs = config.resolved_env_kwargs()
    # The evaluator first: it checks the env arguments on one env, before any process starts.
    evaluator = SplitEvaluator(config.eval_split, config.eval_episodes, env_kwargs)
    env = make_train_env(config)
    try:
        model = build_model(config, env)
        formats = [f for f in config.log_formats if config.verbose or f != "stdout"]
        model.set_logger(configure(str(out), formats))
        log = evaluation_log(config, model, evaluator, env_kwargs)
        evaluation = ProjectEvalCallback(log, config.eval_freq)
        start = time.perf_counter()
        imitation = imitate(config, model, env_kwargs) if config.imitation_episodes else None
        imitation_s = time.perf_counter() - start
        evaluation.evaluate_at_start = imitation is not None
        chain: list[BaseCallback] = [evaluation, *callbacks]
        if config.checkpoint_freq:
            chain.append(
                CheckpointCallback(
                    save_freq=max(config.checkpoint_freq // config.n_envs, 1),
                    save_path=str(out / "checkpoints"),
                    name_prefix=config.algo,
                )
            )
        start = time.perf_counter()
        model.learn(
            config.total_timesteps, callback=CallbackList(chain), log_interval=config.log_interval
        )
        wall = time.perf_counter() - start + imitation_s
    finally:
        env.close()
    result = save_run(
        config, model, log, env_kwargs, timesteps=int(model.num_timesteps), wall=wall,
        imitation=imitation, trainer={"vec_env": config.vec_env},
    )  # fmt: skip
    evaluator.close()
    return result


def start_run(config: TrainConfig) -> Path:
    """Make the run folder (stale evaluation files removed), write ``config.json`` and set
    torch's threads; the folder."""
    out = config.output_dir()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("evaluations.csv", "progress.csv"):
        (out / stale).unlink(missing_ok=True)
    (out / "config.json").write_text(json.dumps(config.to_json(), indent=2) + "\n")
    if config.torch_threads is not None:
        torch.set_num_threads(config.torch_threads)
    return out


def _header(config: TrainConfig, model: Any, env_kwargs: dict[str, Any], **extra: Any) -> dict:
    return policy_header(
        model.policy,
        algo="maskable_ppo" if config.backend == "torchrl" else config.algo,
        net_arch=config.net_arch,
        activation=config.activation,
        regime=config.regime,
        env_kwargs=env_kwargs,
        masked_training=config.algo == "maskable_ppo",
        config=config.to_json(),
        **extra,
    )


def evaluation_log(
    config: TrainConfig, model: Any, evaluator: SplitEvaluator, env_kwargs: dict[str, Any]
) -> EvaluationLog:
    """The run's :class:`EvaluationLog`, writing each new best policy to ``policy.pt``."""
    out = config.output_dir()

    def save_best(row: dict[str, Any], state: dict[str, Any]) -> None:
        header = _header(config, model, env_kwargs, eval=row, eval_split=config.eval_split)
        save_policy(out / "policy.pt", state, header)

    return EvaluationLog(evaluator, out / "evaluations.csv", save_best, config.verbose)


def save_run(
    config: TrainConfig,
    model: Any,
    log: EvaluationLog,
    env_kwargs: dict[str, Any],
    *,
    timesteps: int,
    wall: float,
    imitation: dict[str, Any] | None,
    trainer: dict[str, Any],
) -> TrainResult:
    """After training: write ``last_policy.pt``, the kept (best) ``policy.pt`` scored on
    the test instances, the export and ``training.json``; the result."""
    out = config.output_dir()
    training = {
        "timesteps": timesteps,
        "wall_time_s": round(wall, 2),
        "eval_time_s": round(log.eval_time_s, 2),
        "train_time_s": round(wall - log.eval_time_s, 2),
        "imitation": imitation,
        "n_envs": config.n_envs,
        **trainer,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "versions": versions(),
    }
    last_path = save_policy(
        out / "last_policy.pt",
        model.policy.state_dict(),
        _header(
            config, model, env_kwargs, training=training, eval=log.evaluations[-1],
            eval_split=config.eval_split,
        ),
    )  # fmt: skip
    best_state = log.best_state or model.policy.state_dict()
    kept_header = _header(
        config, model, env_kwargs, training=training, eval=log.best,
        eval_split=config.eval_split, evaluations=log.evaluations,
    )  # fmt: skip
    test_eval = None
    if config.test_episodes:
        kept = CompactPolicy(kept_header, best_state)
        tester = SplitEvaluator("test", config.test_episodes, env_kwargs)
        test_eval = {"split": "test", "seed": 0, **_short(tester.summary(kept))}
        tester.close()
        kept_header["test_eval"] = test_eval
        if config.verbose:
            print(
                f"kept policy on the first {test_eval['episodes']} test instances: efficiency "
                f"{test_eval['efficiency']:.3f}, success {test_eval['instance_success']:.3f}",
                flush=True,
            )
    policy_path = save_policy(out / "policy.pt", best_state, kept_header)
    exported = save_policy(config.export, best_state, kept_header) if config.export else None
    result = TrainResult(
        output=out,
        policy_path=policy_path,
        last_policy_path=last_path,
        exported_path=exported,
        timesteps=timesteps,
        wall_time_s=wall,
        eval_time_s=log.eval_time_s,
        evaluations=log.evaluations,
        best_eval=log.best,
        test_eval=test_eval,
    )
    (out / "training.json").write_text(
        json.dumps({**result.to_json(), **training}, indent=2, sort_keys=True) + "\n"
    )
    if config.verbose:
        size = policy_path.stat().st_size / 1024
        print(
            f"trained {timesteps} steps in {wall:.1f} s "
            f"({training['train_time_s']:.1f} s training, {training['eval_time_s']:.1f} s "
            f"evaluating); policy {policy_path} ({size:.0f} KB)"
            + (f", exported to {exported}" if exported else ""),
            flush=True,
        )
    return result


__all__ = [
    "ENV_ID",
    "EvaluationLog",
    "LivePolicy",
    "ProjectEvalCallback",
    "TrainResult",
    "build_model",
    "evaluation_log",
    "imitate",
    "make_train_env",
    "save_run",
    "start_run",
    "train",
]
