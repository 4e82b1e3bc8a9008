"""Training and playing RL policies on ``AsyncTool-v0`` (needs the ``rl`` extra).

* :mod:`asynctool_env.rl.config`: :class:`TrainConfig` (every hyperparameter, validated;
  from flags, JSON or TOML) and the :data:`REGIMES` (named env settings).
* :mod:`asynctool_env.rl.training`: :func:`train`, used by ``asynctool train`` and
  ``baselines/train.py``: MaskablePPO, PPO or A2C with dummy or subprocess vector envs,
  SB3's logger to stdout and CSV, periodic evaluation on the ``dev`` split with the
  project's metrics, checkpoints, and a compact policy file at the end.
* :mod:`asynctool_env.rl.torchrl_ppo`: the fast trainer (``backend="torchrl"``): TorchRL's
  PPO on the batched env, with MaskablePPO's network and policy files (``torchrl`` extra).
* :mod:`asynctool_env.rl.policy`: the policy file format and :class:`PPOPolicy`, the ``ppo``
  agent of ``asynctool eval`` (shipped policies per regime in ``asynctool_env/policies/``).
* :mod:`asynctool_env.rl.evaluation`: :class:`SplitEvaluator`, benchmark scoring for a
  policy object.

The configuration imports without torch; everything else is loaded on first use, and raises
:class:`MissingRLExtraError` with the install command when torch or SB3 is missing::

    from asynctool_env.rl import TrainConfig, train

    result = train(TrainConfig(total_timesteps=20_000, output="runs/demo"))
"""

from __future__ import annotations

import importlib
from typing import Any

from asynctool_env.rl.config import REGIMES, ConfigError, TrainConfig, load_config, regime_of

INSTALL_HINT = 'pip install "asynctool-env[rl]" (on CPU-only machines: pip install torch first)'


class MissingRLExtraError(ImportError):
    """torch, Stable-Baselines3 or sb3-contrib is not installed."""


def require_rl(backend: str = "sb3") -> None:
    """Raise :class:`MissingRLExtraError` (with the install command) unless the extra is
    there (and, for ``backend="torchrl"``, TorchRL: the ``torchrl`` extra)."""
    needed = ["torch", "stable_baselines3", "sb3_contrib"]
    if backend == "torchrl":
        needed += ["torchrl", "tensordict"]
    missing = []
    for module in needed:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing and backend == "torchrl" and set(missing) <= {"torchrl", "tensordict"}:
        raise MissingRLExtraError(
            f"--backend torchrl needs the torchrl extra (missing: {', '.join(missing)}): "
            'pip install "asynctool-env[torchrl]"'
        )
    if missing:
        raise MissingRLExtraError(
            f"training and the ppo agent need the rl extra (missing: {', '.join(missing)}): "
            + INSTALL_HINT
        )


_LAZY = {
    "train": "asynctool_env.rl.training",
    "TrainResult": "asynctool_env.rl.training",
    "PPOPolicy": "asynctool_env.rl.policy",
    "CompactPolicy": "asynctool_env.rl.policy",
    "PolicyFileError": "asynctool_env.rl.policy",
    "SplitEvaluator": "asynctool_env.rl.evaluation",
    "evaluate_policy": "asynctool_env.rl.evaluation",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'asynctool_env.rl' has no attribute {name!r}")
    require_rl()
    return getattr(importlib.import_module(module), name)


__all__ = [
    "INSTALL_HINT",
    "REGIMES",
    "CompactPolicy",
    "ConfigError",
    "MissingRLExtraError",
    "PPOPolicy",
    "PolicyFileError",
    "SplitEvaluator",
    "TrainConfig",
    "TrainResult",
    "evaluate_policy",
    "load_config",
    "regime_of",
    "require_rl",
    "train",
]
