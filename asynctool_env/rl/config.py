"""Training configuration: every hyperparameter in one validated object, and the regimes.

A :class:`TrainConfig` is built from defaults, a JSON or TOML file, and flags, in that order
(a flag wins over the file, the file over the default)::

    config = load_config("my_run.toml", {"total_timesteps": 50_000, "seed": 3})

A *regime* is a named set of ``AsyncTool-v0`` keyword arguments (:data:`REGIMES`). It is
applied both to the procedural stream the agent trains on and to the ``dev``/``test``
instances it is evaluated on, so that a policy is always scored under the conditions it was
trained for. ``env_kwargs`` adds to (and overrides) the regime's arguments and passes any
other ``gym.make("AsyncTool-v0", **kwargs)`` argument through unchanged.

This module needs only pydantic (no torch), so the CLI can validate a configuration and
print it without the ``rl`` extra.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = None  # type: ignore[assignment]

#: Regime name -> ``AsyncTool-v0`` keyword arguments, for training and evaluation alike.
#: The shipped policies are ``asynctool_env/policies/ppo-<regime>.pt``.
REGIMES: dict[str, dict[str, Any]] = {
    # The env's defaults: each tool's own typical latency (dataset instances keep their own
    # latency profile), no concurrency limit.
    "default": {},
    # Every tool serves one call at a time; further calls to it queue. Coordination is hard
    # here: the longest-path heuristic drops to about 0.93-0.96 of the optimum.
    "contention": {"tool_capacity": 1},
    # Geometric latencies: the realized latency differs from the expected one.
    "stochastic": {"latency": "stochastic"},
}

Algo = Literal["maskable_ppo", "ppo", "a2c"]

#: Env arguments that would take the agent off the procedural training stream.
_NOT_FOR_TRAINING = ("split", "instances", "render_mode")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the field and the fix."""


class TrainConfig(BaseModel):
    """Everything that decides a training run (defaults in brackets).

    Algorithm and environment:
        backend: ``sb3`` (Stable-Baselines3, the envs of ``vec_env``) or ``torchrl``
            (TorchRL's PPO on one batched env of ``n_envs``, :mod:`asynctool_env.rl.
            torchrl_ppo`: the fast trainer; MaskablePPO's network and policy files) [sb3].
        algo: ``maskable_ppo`` (sb3-contrib, masks from ``action_masks()``), ``ppo`` or
            ``a2c`` (Stable-Baselines3, no mask: masked actions are no-ops that the env
            penalises with the ``invalid`` reward weight) [maskable_ppo].
        regime: A name in :data:`REGIMES`, or ``None`` for the env defaults [default].
        env_kwargs: More ``AsyncTool-v0`` arguments, on top of the regime's [{}].
        total_timesteps: Env steps (decisions) to train for, over all envs [200000].
        n_envs: Envs stepped together [4].
        vec_env: ``dummy`` (all envs in this process), ``subproc`` (one process each) or
            ``native`` (one batched env, :class:`~asynctool_env.rl.vec_env.NativeVecEnv`;
            the only one for more than 64 envs) [dummy: the env is cheap next to the policy,
            see benchmarks/train_throughput.py].
        seed: Seeds the model (torch, numpy) and env ``i`` with ``seed + i`` [0].
        action_mode: The env's action layout, ``direct`` (actions name the task) or
            ``focus`` [direct: learns several times faster, see docs/environment.md].
        slip: The env's potential-based shaping weight (``RewardWeights.slip``): paid when
            the earliest possible finish slips, so a delay is charged at the decision that
            caused it [-0.05; 0 turns it off].

    Imitation warm start (:mod:`asynctool_env.rl.imitation`):
        imitation_episodes: Oracle episodes of the procedural stream to clone before RL (0:
            start from a random policy) [0]. imitation_teacher: ``oracle`` (the exact
            optimum, planned with the realized latencies) or ``critical_path`` (the
            longest-path rule, online; better under stochastic latency) [oracle].
            imitation_epochs [20],
            imitation_learning_rate [1e-3], imitation_batch_size [256].

    Optimisation (A2C uses learning_rate, n_steps, gamma, gae_lambda, ent_coef, vf_coef and
    max_grad_norm; batch_size, n_epochs and clip_range are PPO's):
        learning_rate [3e-4], lr_schedule (``constant`` or ``linear`` decay to 0)
        [constant], n_steps per env per update [256], batch_size [128], n_epochs [10],
        gamma [0.99], gae_lambda [0.95], ent_coef [0.01], vf_coef [0.5], clip_range [0.2],
        max_grad_norm [0.5], net_arch (hidden layers of the actor and of the critic)
        [64, 64], activation (``tanh`` or ``relu``) [tanh].

    Evaluation, checkpoints, output:
        eval_freq: Evaluate every this many env steps (0: only at the end) [10000].
        eval_split: Dataset split of the periodic evaluation [dev].
        eval_episodes: Episodes per evaluation (the first N instances of the split that fit
            the env's task and step padding) [72, the whole dev split].
        test_episodes: After training, the kept policy is scored on the first N ``test``
            instances and the result is recorded in its file (0: skip) [20].
        checkpoint_freq: Save a full, resumable model every this many env steps (0: never)
            [50000].
        output: Folder of the run [runs/<algo>-<regime>-seed<seed>].
        export: Also write the kept policy (best on ``eval_split``) to this ``.pt`` path,
            e.g. ``asynctool_env/policies/ppo-default.pt`` [None].
        device: torch device [cpu]. torch_threads: torch CPU threads (None: torch's choice)
            [1]. log_formats: SB3 logger outputs (stdout, csv, log, json) [stdout, csv].
        log_interval: Print and log every N updates [1]. verbose: 0 quiet, 1 progress [1].
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    backend: Literal["sb3", "torchrl"] = "sb3"
    algo: Algo = "maskable_ppo"
    regime: str | None = "default"
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    total_timesteps: int = Field(200_000, ge=1)
    n_envs: int = Field(4, ge=1, le=8192)
    vec_env: Literal["dummy", "subproc", "native"] = "dummy"
    seed: int = Field(0, ge=0)
    action_mode: Literal["direct", "focus"] = "direct"
    slip: float = Field(-0.05, le=0.0)
    imitation_episodes: int = Field(0, ge=0)
    imitation_teacher: Literal["oracle", "critical_path"] = "oracle"
    imitation_epochs: int = Field(20, ge=1)
    imitation_learning_rate: float = Field(1e-3, gt=0.0, le=1.0)
    imitation_batch_size: int = Field(256, ge=1)

    learning_rate: float = Field(3e-4, gt=0.0, le=1.0)
    lr_schedule: Literal["constant", "linear"] = "constant"
    n_steps: int = Field(256, ge=1)
    batch_size: int = Field(128, ge=2)
    n_epochs: int = Field(10, ge=1)
    gamma: float = Field(0.99, gt=0.0, le=1.0)
    gae_lambda: float = Field(0.95, ge=0.0, le=1.0)
    ent_coef: float = Field(0.01, ge=0.0)
    vf_coef: float = Field(0.5, ge=0.0)
    clip_range: float = Field(0.2, gt=0.0, le=1.0)
    max_grad_norm: float = Field(0.5, gt=0.0)
    net_arch: list[int] = Field(default_factory=lambda: [64, 64], min_length=1)
    activation: Literal["tanh", "relu"] = "tanh"

    eval_freq: int = Field(10_000, ge=0)
    eval_split: Literal["dev", "test"] = "dev"
    eval_episodes: int = Field(72, ge=1)
    test_episodes: int = Field(20, ge=0)
    checkpoint_freq: int = Field(50_000, ge=0)
    output: Path | None = None
    export: Path | None = None
    device: str = "cpu"
    torch_threads: int | None = Field(1, ge=1)
    log_formats: list[Literal["stdout", "csv", "log", "json"]] = Field(
        default_factory=lambda: ["stdout", "csv"]
    )
    log_interval: int = Field(1, ge=1)
    verbose: int = Field(1, ge=0, le=2)

    @model_validator(mode="after")
    def _torchrl_runs_maskable_ppo(self) -> TrainConfig:
        if self.backend == "torchrl" and self.algo != "maskable_ppo":
            raise ValueError(
                f"the torchrl backend trains maskable PPO; algo {self.algo!r} is SB3's "
                "(use backend='sb3')"
            )
        return self

    @field_validator("regime")
    @classmethod
    def _known_regime(cls, value: str | None) -> str | None:
        if value is not None and value not in REGIMES:
            raise ValueError(f"unknown regime {value!r}; choose one of {', '.join(REGIMES)}")
        return value

    @field_validator("net_arch")
    @classmethod
    def _positive_layers(cls, value: list[int]) -> list[int]:
        if any(width < 1 for width in value):
            raise ValueError(f"every layer width must be >= 1, got {value}")
        return value

    @field_validator("env_kwargs")
    @classmethod
    def _procedural_stream(cls, value: dict[str, Any]) -> dict[str, Any]:
        found = [name for name in _NOT_FOR_TRAINING if name in value]
        if found:
            raise ValueError(
                f"{', '.join(found)} cannot be set: training uses the procedural stream and "
                "evaluation sets the split itself (see eval_split)"
            )
        return value

    @field_validator("imitation_episodes")
    @classmethod
    def _oracle_plays_direct(cls, value: int, info: ValidationInfo) -> int:
        if value and info.data.get("action_mode") != "direct":
            raise ValueError("the imitation warm start needs action_mode='direct'")
        return value

    @field_validator("device")
    @classmethod
    def _device_name(cls, value: str) -> str:
        if value != "auto" and value.split(":")[0] not in ("cpu", "cuda", "mps"):
            raise ValueError(f"device must be cpu, cuda, cuda:N, mps or auto, got {value!r}")
        return value

    @model_validator(mode="after")
    def _many_envs_are_native(self) -> TrainConfig:
        if self.backend == "sb3" and self.vec_env != "native" and self.n_envs > 64:
            raise ValueError(
                f"n_envs={self.n_envs} with one Python env each: use vec_env='native' (one "
                "batched env) for more than 64"
            )
        return self

    @field_validator("batch_size")
    @classmethod
    def _fits_the_rollout(cls, value: int, info: ValidationInfo) -> int:
        # algo, n_envs and n_steps are declared (so validated) before batch_size.
        algo, n_envs, n_steps = (info.data.get(name) for name in ("algo", "n_envs", "n_steps"))
        if algo in ("maskable_ppo", "ppo") and n_envs and n_steps and value > n_envs * n_steps:
            raise ValueError(
                f"batch_size must be <= n_steps * n_envs ({n_steps} * {n_envs} = "
                f"{n_steps * n_envs}), the steps collected per update"
            )
        return value

    # -- derived values -------------------------------------------------------------------

    def resolved_env_kwargs(self) -> dict[str, Any]:
        """The regime's env arguments, the action layout and the shaping weight, updated
        with ``env_kwargs``."""
        interface: dict[str, Any] = {"action_mode": self.action_mode}
        if self.slip:
            interface["reward_weights"] = {"slip": self.slip}
        return {**REGIMES.get(self.regime or "default", {}), **interface, **self.env_kwargs}

    def rollout_steps(self) -> int:
        """Env steps collected per update: ``n_steps`` from each of ``n_envs`` envs."""
        return self.n_steps * self.n_envs

    def planned_timesteps(self) -> int:
        """The steps a run takes: SB3 collects whole rollouts, so ``total_timesteps`` is
        rounded up to the next multiple of :meth:`rollout_steps`."""
        rollout = self.rollout_steps()
        return -(-self.total_timesteps // rollout) * rollout

    def fitted_to_budget(self) -> tuple[TrainConfig, str | None]:
        """This configuration, with the rollout shortened when ``total_timesteps`` is less
        than one rollout (``n_steps`` lowered to the fewest steps per env that cover the
        budget, ``batch_size`` to the rollout at most), and a note that says what was
        rounded (``None`` when the budget is a whole number of rollouts).

        With 256 envs of 256 steps, a budget of 20,000 steps would otherwise run 65,536."""
        fitted, note = self, None
        if self.total_timesteps < self.rollout_steps():
            n_steps = max(1, -(-self.total_timesteps // self.n_envs))
            batch = min(self.batch_size, max(2, n_steps * self.n_envs))
            fitted = self.model_copy(update={"n_steps": n_steps, "batch_size": batch})
            note = (
                f"the budget of {self.total_timesteps} steps is less than one rollout "
                f"({self.n_steps} steps x {self.n_envs} envs): n_steps lowered to {n_steps}"
                + (f", batch_size to {batch}" if batch != self.batch_size else "")
            )
        planned = fitted.planned_timesteps()
        if planned != self.total_timesteps:
            rounded = (
                f"{planned} steps: {self.total_timesteps} rounded up to whole rollouts of "
                f"{fitted.n_steps} x {fitted.n_envs}"
            )
            note = f"{note}; {rounded}" if note else rounded
        return fitted, note

    def output_dir(self) -> Path:
        return (
            self.output or Path("runs") / f"{self.algo}-{self.regime or 'custom'}-seed{self.seed}"
        )

    def to_json(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a ``.json`` or ``.toml`` file (for TOML, the ``[train]`` table if the
    file has one, else the top level)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {file} does not exist")
    suffix = file.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ConfigError(f"config file {file}: use a .json or .toml file")
    if suffix == ".toml" and tomllib is None:
        raise ConfigError(f"config file {file}: TOML needs Python 3.11 or later; use JSON")
    text = file.read_text(encoding="utf-8")
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
            data = data.get("train", data)
        else:
            data = json.loads(text)
    except ValueError as error:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ConfigError(f"config file {file} is not valid: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {file} must hold a table of settings")
    return data


def load_config(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> TrainConfig:
    """Defaults, then the file at ``path``, then ``overrides`` (``None`` values are skipped;
    ``env_kwargs`` are merged key by key rather than replaced).

    Raises:
        ConfigError: A missing or unreadable file, an unknown field or a bad value; the
            message names each offending field.
    """
    data = read_config_file(path) if path is not None else {}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "env_kwargs" and isinstance(data.get("env_kwargs"), dict):
            data["env_kwargs"] = {**data["env_kwargs"], **value}
        else:
            data[key] = value
    try:
        return TrainConfig(**data)
    except ValidationError as error:
        raise ConfigError(_explain(error, path)) from None


def _explain(error: ValidationError, path: str | Path | None) -> str:
    where = f" (from {path} and flags)" if path is not None else ""
    lines = [f"invalid training configuration{where}:"]
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "config"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown setting; see `asynctool train --help` or TrainConfig"
        shown = "" if problem["type"] == "extra_forbidden" else f" (got {problem['input']!r})"
        if problem["loc"] == ():
            shown = ""
        lines.append(f"  {field}: {message}{shown}")
    return "\n".join(lines)


def parse_value(text: str) -> Any:
    """A flag value: JSON when it parses (``3``, ``1e-4``, ``[64, 64]``, ``null``), a
    comma-separated list (``64,64``), else the text itself (``stochastic``, ``fixed:2``)."""
    stripped = text.strip()
    if stripped.lower() == "none":
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    if "," in stripped:
        return [parse_value(part) for part in stripped.split(",") if part.strip()]
    return stripped


def parse_assignments(items: list[str] | None, what: str = "setting") -> dict[str, Any]:
    """``["key=value", ...]`` to a dict, values through :func:`parse_value`."""
    found: dict[str, Any] = {}
    for item in items or ():
        key, sign, value = item.partition("=")
        if not sign or not key.strip():
            raise ConfigError(f"{what} {item!r}: write KEY=VALUE, e.g. n_tasks=2")
        found[key.strip().replace("-", "_")] = parse_value(value)
    return found


def regime_of(env: Any) -> str:
    """The regime an env was built for: ``contention`` when it limits tool concurrency,
    ``stochastic`` when it forces the stochastic latency profile, else ``default``.

    Reads the built env (``env.unwrapped``), so it works for any env however it was made.
    """
    unwrapped = getattr(env, "unwrapped", env)
    if getattr(unwrapped, "tool_capacity", None) is not None:
        return "contention"
    profile = getattr(unwrapped, "latency_profile", None)
    if profile is not None and getattr(profile, "name", None) == "stochastic":
        return "stochastic"
    return "default"


__all__ = [
    "REGIMES",
    "Algo",
    "ConfigError",
    "TrainConfig",
    "load_config",
    "parse_assignments",
    "parse_value",
    "read_config_file",
    "regime_of",
]
