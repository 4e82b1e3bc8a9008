"""Trained policies as small files, and :class:`PPOPolicy`, the ``ppo`` agent.

A policy file (``.pt``) holds only what acting needs: the actor-critic's weights (a torch
``state_dict``, a few hundred KB) and a JSON header with the algorithm, the network shape,
the observation layout and the env arguments it was trained with, its training time and
steps, and its recorded scores. No optimizer state, no pickled Python objects: it loads with
``torch.load(..., weights_only=True)``. A ``.json`` file beside it repeats the header for
people (the loader reads only the ``.pt``). Full, resumable models are the run's
``checkpoints/`` (SB3 ``.zip`` files), not these.

:class:`PPOPolicy` follows the reference-policy protocol (``reset``, ``bind``, ``act``), so
``evaluate("ppo", ...)``, ``asynctool eval --agent ppo`` and :func:`run_episode` play it like
any other agent. Which file it plays:

1. the path given to it (``asynctool eval --policy PATH`` passes it in the evaluation's
   config, so worker processes get it too), else
2. the shipped policy of the env's regime (see :func:`asynctool_env.rl.config.regime_of`):
   ``asynctool_env/policies/ppo-<regime>.pt``, picked at each ``bind(env)``.

A path that is a folder means "the ``ppo-<regime>.pt`` file of that folder".
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from asynctool_env.rl.config import regime_of
from asynctool_env.scenarios import TOOL_CODE_SCHEME

#: Where the shipped policies live (package data).
SHIPPED_POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
#: Environment variable naming a policy file or folder for :class:`PPOPolicy`.
#: Format tag in every policy file's header.
POLICY_FORMAT = "asynctool-policy/1"
#: ``algo`` of a policy file exported from RLlib (:func:`asynctool_env.rl.rllib.export_policy`):
#: its header lists the actor's ``layers`` and ``input_keys``, and its weights are
#: ``actor.{i}.weight`` / ``actor.{i}.bias``. It acts through :class:`NumpyActor` alone.
RLLIB_ALGO = "rllib_ppo"

_ACTIVATIONS = ("tanh", "relu")
#: Env arguments that shape the observation and action layout (the network's input and
#: output sizes); a policy is played in an env built with the values it was trained with.
LAYOUT_KWARGS = ("action_mode", "max_tasks", "max_steps", "pending_slots")


class PolicyFileError(ValueError):
    """A policy file that is missing, unreadable or does not fit the env."""


#: Policies loaded in this process, by (resolved path, modification time).
_LOADED: dict[tuple[str, int], CompactPolicy] = {}


# -- spaces <-> JSON ---------------------------------------------------------------------------


def _bound(values: np.ndarray) -> float | list[float]:
    flat = values.reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        return float(flat[0])
    return [float(value) for value in flat]


def space_to_json(space: spaces.Space) -> dict[str, Any]:
    """A JSON description of the spaces the env uses (Box, Discrete, MultiDiscrete,
    MultiBinary)."""
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": _bound(space.low),
            "high": _bound(space.high),
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {
            "type": "MultiDiscrete",
            "nvec": [int(value) for value in space.nvec.reshape(-1)],
            "dtype": str(space.dtype),
        }
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": int(np.prod(space.shape))}
    raise PolicyFileError(f"cannot store a {type(space).__name__} space in a policy file")


def space_from_json(data: Mapping[str, Any]) -> spaces.Space:
    kind = data["type"]
    if kind == "Box":
        shape, dtype = tuple(data["shape"]), np.dtype(data["dtype"])
        low = np.broadcast_to(np.asarray(data["low"], dtype=dtype), shape)
        high = np.broadcast_to(np.asarray(data["high"], dtype=dtype), shape)
        return spaces.Box(low, high, shape, dtype=dtype)
    if kind == "Discrete":
        return spaces.Discrete(int(data["n"]), start=int(data.get("start", 0)))
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(np.asarray(data["nvec"]), dtype=np.dtype(data["dtype"]))
    if kind == "MultiBinary":
        return spaces.MultiBinary(int(data["n"]))
    raise PolicyFileError(f"unknown space type {kind!r} in a policy file")


def observation_layout(space: spaces.Dict) -> list[list[Any]]:
    """``[[key, space JSON], ...]`` in the space's own key order (the network's input order)."""
    return [[key, space_to_json(sub)] for key, sub in space.spaces.items()]


def _same_shape(stored: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    if stored["type"] != live["type"]:
        return False
    if stored["type"] == "Box":
        return stored["shape"] == live["shape"]
    if stored["type"] == "MultiDiscrete":
        return stored["nvec"] == live["nvec"]
    return stored.get("n") == live.get("n")


# -- building, saving, loading -------------------------------------------------------------


def policy_class(algo: str) -> type:
    """The SB3 policy class of ``algo`` for Dict observations."""
    if algo == "maskable_ppo":
        from sb3_contrib.common.maskable.policies import MaskableMultiInputActorCriticPolicy

        return MaskableMultiInputActorCriticPolicy
    if algo in ("ppo", "a2c"):
        from stable_baselines3.common.policies import MultiInputActorCriticPolicy

        return MultiInputActorCriticPolicy
    raise PolicyFileError(f"unknown algo {algo!r} in a policy file")


def policy_kwargs(net_arch: list[int], activation: str) -> dict[str, Any]:
    """``policy_kwargs`` for the SB3 algorithm (and for rebuilding the policy)."""
    import torch

    if activation not in _ACTIVATIONS:
        raise PolicyFileError(f"unknown activation {activation!r}; use tanh or relu")
    return {
        "net_arch": list(net_arch),
        "activation_fn": torch.nn.Tanh if activation == "tanh" else torch.nn.ReLU,
    }


def policy_header(
    policy: Any, *, algo: str, net_arch: list[int], activation: str, **extra: Any
) -> dict[str, Any]:
    """The JSON header of a policy file for an SB3 ``policy`` (plus ``extra`` entries)."""
    return {
        "format": POLICY_FORMAT,
        "algo": algo,
        "net_arch": list(net_arch),
        "activation": activation,
        "observation_space": observation_layout(policy.observation_space),
        "action_space": space_to_json(policy.action_space),
        "tool_code": TOOL_CODE_SCHEME,
        **extra,
    }


def save_policy(
    path: str | os.PathLike[str], state_dict: Mapping[str, Any], header: Mapping[str, Any]
) -> Path:
    """Write the policy file ``path`` (``.pt``) and its readable header ``path.json``.

    Only the actor is kept (the critic's weights, ``value_net`` and
    ``mlp_extractor.value_net``, are needed to train, not to act): that halves the file.
    A policy rebuilt from it gets a freshly initialised critic.
    """
    import torch

    file = Path(path)
    if file.suffix != ".pt":
        raise PolicyFileError(f"policy files end in .pt, got {file}")
    file.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(header, sort_keys=True)
    weights = {
        name: tensor.detach().cpu().clone()
        for name, tensor in state_dict.items()
        if not name.startswith(_CRITIC_PREFIXES)
    }
    torch.save({"format": POLICY_FORMAT, "header": text, "state_dict": weights}, file)
    file.with_suffix(".json").write_text(json.dumps(header, indent=2, sort_keys=True) + "\n")
    return file


def read_policy_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(header, state_dict)`` of a policy file."""
    import torch

    file = Path(path)
    if not file.is_file():
        raise PolicyFileError(f"no policy file at {file}")
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a bad file
        raise PolicyFileError(f"{file} is not a policy file: {error}") from None
    if not isinstance(payload, dict) or payload.get("format") != POLICY_FORMAT:
        raise PolicyFileError(
            f"{file} is not a {POLICY_FORMAT} policy file (full SB3 models are .zip files: "
            "load those with MaskablePPO.load)"
        )
    return json.loads(payload["header"]), payload["state_dict"]


#: State-dict prefixes of the critic, which policy files leave out.
_CRITIC_PREFIXES = ("value_net.", "mlp_extractor.value_net.")


class _NoOptimizer:
    """Stands in for the optimizer SB3 builds with every policy: an inference-only policy
    needs none (and building torch's first optimizer imports torch._dynamo, seconds)."""

    def __init__(self, params: Any, lr: float = 0.0, **kwargs: Any) -> None:
        self.param_groups: list[dict[str, Any]] = []

    def state_dict(self) -> dict[str, Any]:
        return {}


class CompactPolicy:
    """A loaded policy file: its header, its weights, and a numpy copy of the actor that
    acts (the SB3 actor-critic itself is built only when :attr:`policy` is asked for).

    ``act(observation)`` is the deterministic action: the most likely action among those the
    observation's ``action_mask`` allows (with ``use_mask=False``: among all actions, which
    is how a policy trained without masks acts on its own). It follows the reference-policy
    protocol itself; :class:`PPOPolicy` adds the choice of file.
    """

    name = "ppo"

    def __init__(self, header: Mapping[str, Any], state_dict: Mapping[str, Any] | None = None):
        self.header = dict(header)
        if self.header.get("format") != POLICY_FORMAT:
            raise PolicyFileError(f"unsupported policy format {self.header.get('format')!r}")
        layout = [(key, space_from_json(spec)) for key, spec in self.header["observation_space"]]
        self.observation_space = spaces.Dict(layout)
        self.action_space = space_from_json(self.header["action_space"])
        self.keys = tuple(key for key, _ in layout)
        self._state_dict = dict(state_dict) if state_dict is not None else None
        self._policy: Any = None
        # Acting needs only the actor's weights: numpy, without building the SB3 policy.
        if self.header.get("algo") == RLLIB_ALGO:
            self._fast = NumpyActor.from_layers(
                self.observation_space,
                self.header["input_keys"],
                self.header["layers"],
                self._state_dict or {},
            )
            if self._fast is None:
                raise PolicyFileError("the weights do not fit the layers of the header")
            return
        self._fast = (
            NumpyActor.from_state_dict(
                self.observation_space, self._state_dict, self.header["activation"]
            )
            if self._state_dict is not None
            else None
        )
        if self._fast is None:
            self.policy.set_training_mode(False)

    @property
    def policy(self) -> Any:
        """The SB3 actor-critic with these weights (built on first use; e.g. to fine-tune
        or to compare with a model)."""
        if self.header.get("algo") == RLLIB_ALGO:
            raise PolicyFileError(
                "a policy file exported from RLlib holds only the actor, not an SB3 "
                "actor-critic: restore the run's RLlib checkpoint to train it further"
            )
        if self._policy is None:
            self._policy = policy_class(self.header["algo"])(
                self.observation_space,
                self.action_space,
                lambda _progress: 0.0,
                **policy_kwargs(self.header["net_arch"], self.header["activation"]),
                optimizer_class=_NoOptimizer,
            )
            if self._state_dict is not None:
                missing, unexpected = self._policy.load_state_dict(self._state_dict, strict=False)
                if unexpected or any(not name.startswith(_CRITIC_PREFIXES) for name in missing):
                    raise PolicyFileError(
                        f"the weights do not fit the network: missing {missing}, "
                        f"unexpected {unexpected}"
                    )
            self._policy.set_training_mode(False)
        return self._policy

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CompactPolicy:
        header, state_dict = read_policy_file(path)
        try:
            return cls(header, state_dict)
        except (KeyError, RuntimeError, ValueError) as error:
            raise PolicyFileError(f"{path}: cannot rebuild the policy: {error}") from None

    @classmethod
    def cached(cls, path: str | os.PathLike[str]) -> CompactPolicy:
        """:meth:`load`, once per process and file version (agents are made per episode)."""
        file = Path(path).resolve()
        key = (str(file), file.stat().st_mtime_ns if file.exists() else 0)
        found = _LOADED.get(key)
        if found is None:
            found = _LOADED[key] = cls.load(file)
        return found

    @property
    def regime(self) -> str | None:
        return self.header.get("regime")

    @property
    def layout_kwargs(self) -> dict[str, Any]:
        """The layout arguments (:data:`LAYOUT_KWARGS`) the policy was trained with."""
        trained = self.header.get("env_kwargs") or {}
        return {key: trained[key] for key in LAYOUT_KWARGS if key in trained}

    def reset(self, seed: int | None = None) -> None:
        return None

    def check_env(self, env: Any, source: str = "the policy") -> None:
        """Raise :class:`PolicyFileError` unless ``env``'s observations fit the network."""
        unwrapped = getattr(env, "unwrapped", env)
        live = {key: space_to_json(space) for key, space in unwrapped.observation_space.items()}
        stored = dict(self.header["observation_space"])
        problems = []
        for key, spec in stored.items():
            if key not in live:
                problems.append(f"the env has no {key!r} observation")
            elif not _same_shape(spec, live[key]):
                problems.append(f"{key!r} differs (policy {spec}, env {live[key]})")
        trained_mode = (self.header.get("env_kwargs") or {}).get("action_mode", "focus")
        live_mode = getattr(unwrapped, "action_mode", "focus")
        if trained_mode != live_mode:
            problems.append(f"action_mode {trained_mode!r} in the policy, {live_mode!r} in the env")
        if unwrapped.action_space.n != self.action_space.n:
            problems.append(
                f"{self.action_space.n} actions in the policy, {unwrapped.action_space.n} in "
                "the env"
            )
        if problems:
            trained = self.header.get("env_kwargs", {})
            raise PolicyFileError(
                f"{source} does not fit this env: {'; '.join(problems)}. Build the env with "
                f"the padding the policy was trained with (its env kwargs: {trained})"
            )
        trained_code = self.header.get("tool_code")
        if trained_code != TOOL_CODE_SCHEME:
            numbered = (
                f"by {trained_code!r}"
                if trained_code is not None
                else "by their index among the bundled tools (a file from before tool codes)"
            )
            raise PolicyFileError(
                f"{source} was trained on observations that number tools {numbered}, and this "
                f"version numbers them by {TOOL_CODE_SCHEME!r}: retrain it with this version"
            )

    def act(self, observation: Mapping[str, Any], *, use_mask: bool = True) -> int:
        if self._fast is not None:
            return self._fast.act(observation, use_mask=use_mask)
        return masked_action(self.policy, observation, self.keys, use_mask=use_mask)


def masked_action(
    policy: Any, observation: Mapping[str, Any], keys: tuple[str, ...], *, use_mask: bool = True
) -> int:
    """The most likely action of an SB3 actor-critic for one (unbatched) observation, among
    those ``observation["action_mask"]`` allows when ``use_mask`` (torch, any policy)."""
    import torch
    from stable_baselines3.common.policies import BaseModel

    tensor, _ = policy.obs_to_tensor({key: observation[key] for key in keys})
    with torch.no_grad():
        # BaseModel's version: the actor's features whether or not the critic shares them.
        features = BaseModel.extract_features(policy, tensor, policy.pi_features_extractor)
        logits = policy.action_net(policy.mlp_extractor.forward_actor(features))[0].numpy()
    return _argmax(logits, observation.get("action_mask") if use_mask else None)


def _argmax(logits: np.ndarray, mask: Any) -> int:
    if mask is not None:
        allowed = np.asarray(mask, dtype=bool)
        if allowed.any():
            logits = np.where(allowed, logits, -np.inf)
    return int(np.argmax(logits))


def _linear(weight: Any, bias: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(W^T, b)`` as float32 numpy arrays, for ``x @ W^T + b``."""
    as_array = [np.asarray(t.detach().cpu().numpy(), dtype=np.float32) for t in (weight, bias)]
    return np.ascontiguousarray(as_array[0].T), as_array[1].copy()


class NumpyActor:
    """The actor of an SB3 ``MultiInputPolicy`` as numpy arrays: one decision costs tens of
    microseconds instead of a millisecond or more through torch's per-key preprocessing.

    It redoes what SB3 does for the env's spaces (``CombinedExtractor`` with a ``Flatten``
    per key: Box as floats, Discrete and MultiDiscrete one-hot, MultiBinary as floats, in the
    space's key order), then the actor MLP and ``action_net``. :meth:`from_policy` returns
    ``None`` for anything else (images, custom extractors), and callers fall back to torch.
    """

    def __init__(self, encoders: list[tuple[str, str, int, Any]], size: int, layers: list):
        self._encoders = encoders
        self._size = size
        self._layers = layers

    @staticmethod
    def _encoders(observation_space: spaces.Dict) -> tuple[list, int] | None:
        encoders: list[tuple[str, str, int, Any]] = []
        offset = 0
        for key, space in observation_space.spaces.items():
            if isinstance(space, (spaces.Box, spaces.MultiBinary)) and len(space.shape) == 1:
                encoders.append((key, "box", offset, None))
                offset += int(space.shape[0])
            elif isinstance(space, spaces.Discrete) and int(space.start) == 0:
                encoders.append((key, "one_hot", offset, None))
                offset += int(space.n)
            elif isinstance(space, spaces.MultiDiscrete) and space.nvec.ndim == 1:
                starts = np.concatenate(([0], np.cumsum(space.nvec)[:-1])).astype(np.int64)
                encoders.append((key, "one_hots", offset, starts))
                offset += int(space.nvec.sum())
            else:
                return None
        return encoders, offset

    @classmethod
    def from_policy(cls, policy: Any) -> NumpyActor | None:
        """From a live SB3 policy (a snapshot of its current weights)."""
        from stable_baselines3.common.torch_layers import CombinedExtractor
        from torch import nn

        extractor = policy.pi_features_extractor
        if not isinstance(extractor, CombinedExtractor) or not all(
            isinstance(module, nn.Flatten) for module in extractor.extractors.values()
        ):
            return None
        found = cls._encoders(policy.observation_space)
        if found is None:
            return None
        layers: list[tuple[str, Any]] = []
        for module in [*policy.mlp_extractor.policy_net, policy.action_net]:
            if isinstance(module, nn.Linear):
                layers.append(("linear", _linear(module.weight, module.bias)))
            elif isinstance(module, (nn.Tanh, nn.ReLU)):
                layers.append(("tanh" if isinstance(module, nn.Tanh) else "relu", None))
            else:
                return None
        return cls(*found, layers)

    @classmethod
    def from_state_dict(
        cls, observation_space: spaces.Dict, state_dict: Mapping[str, Any], activation: str
    ) -> NumpyActor | None:
        """From the ``state_dict`` of an SB3 ``MultiInputPolicy`` with the default extractor
        (``mlp_extractor.policy_net.{i}`` linear layers, each followed by ``activation``,
        then ``action_net``); ``None`` when the weights do not look like that."""
        found = cls._encoders(observation_space)
        if found is None or activation not in _ACTIVATIONS:
            return None
        prefix = "mlp_extractor.policy_net."
        indexes = sorted(
            int(name[len(prefix) :].split(".")[0])
            for name in state_dict
            if name.startswith(prefix) and name.endswith(".weight")
        )
        names = [f"{prefix}{index}" for index in indexes] + ["action_net"]
        layers: list[tuple[str, Any]] = []
        width = found[1]
        for position, name in enumerate(names):
            weight, bias = state_dict.get(f"{name}.weight"), state_dict.get(f"{name}.bias")
            if weight is None or bias is None or tuple(weight.shape)[1:] != (width,):
                return None
            layers.append(("linear", _linear(weight, bias)))
            width = int(weight.shape[0])
            if position < len(names) - 1:
                layers.append((activation, None))
        return cls(*found, layers)

    @classmethod
    def from_layers(
        cls,
        observation_space: spaces.Dict,
        input_keys: list[str],
        kinds: list[str],
        state_dict: Mapping[str, Any],
    ) -> NumpyActor | None:
        """From an RLlib policy file (:data:`RLLIB_ALGO`): the ``input_keys`` observations
        concatenated as numbers (no one-hot), then the ``kinds`` in order (``linear``
        ``i`` has weights ``actor.{i}.*``); ``None`` when the weights do not fit."""
        encoders: list[tuple[str, str, int, Any]] = []
        width = 0
        for key in input_keys:
            if key not in observation_space.spaces:
                return None
            encoders.append((key, "box", width, None))
            width += int(np.prod(observation_space[key].shape))
        size = width
        layers: list[tuple[str, Any]] = []
        for index, kind in enumerate(kinds):
            if kind == "linear":
                weight = state_dict.get(f"actor.{index}.weight")
                bias = state_dict.get(f"actor.{index}.bias")
                if weight is None or bias is None or tuple(weight.shape)[1:] != (width,):
                    return None
                layers.append(("linear", _linear(weight, bias)))
                width = int(weight.shape[0])
            elif kind in _ACTIVATIONS:
                layers.append((kind, None))
            else:
                return None
        return cls(encoders, size, layers)

    @classmethod
    def features_of(cls, observation_space: spaces.Dict) -> SB3Features | None:
        """The encoder of SB3's ``MultiInputPolicy`` input for ``observation_space``
        (``None`` when SB3 would need more than flattening and one-hot)."""
        found = cls._encoders(observation_space)
        return None if found is None else SB3Features(*found)

    def logits(self, observation: Mapping[str, Any]) -> np.ndarray:
        x = np.zeros(self._size, dtype=np.float32)
        for key, kind, offset, starts in self._encoders:
            value = np.asarray(observation[key])
            if kind == "box":
                x[offset : offset + value.size] = value.reshape(-1)
            elif kind == "one_hot":
                x[offset + int(value)] = 1.0
            else:
                x[offset + starts + value.reshape(-1).astype(np.int64)] = 1.0
        for kind, params in self._layers:
            if kind == "linear":
                weight, bias = params
                x = x @ weight + bias
            elif kind == "tanh":
                x = np.tanh(x)
            else:
                x = np.maximum(x, 0.0)
        return x

    def act(self, observation: Mapping[str, Any], *, use_mask: bool = True) -> int:
        return _argmax(
            self.logits(observation), observation.get("action_mask") if use_mask else None
        )


class SB3Features:
    """What SB3's ``CombinedExtractor`` makes of a batch of Dict observations, in numpy: each
    key flattened in the space's key order, Box and MultiBinary as floats, Discrete and
    MultiDiscrete one-hot. A trainer that feeds an SB3 actor-critic's ``mlp_extractor``
    with these features computes what the SB3 policy computes from the observations, without
    SB3's per-key torch preprocessing (see :class:`NumpyActor`, which acts on the same
    layout)."""

    def __init__(self, encoders: list[tuple[str, str, int, Any]], size: int) -> None:
        self.encoders = encoders
        #: Features per observation.
        self.size = size

    def encode(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """``(N, size)`` float32 features of a batch (every value has a leading N)."""
        n = len(next(iter(observations.values())))
        features = np.zeros((n, self.size), dtype=np.float32)
        rows = np.arange(n)
        for key, kind, offset, starts in self.encoders:
            value = np.asarray(observations[key])
            if kind == "box":
                flat = value.reshape(n, -1)
                features[:, offset : offset + flat.shape[1]] = flat
            elif kind == "one_hot":
                features[rows, offset + value.reshape(n).astype(np.int64)] = 1.0
            else:
                columns = offset + starts[None, :] + value.reshape(n, -1).astype(np.int64)
                features[rows[:, None], columns] = 1.0
        return features


# -- the ``ppo`` agent -------------------------------------------------------------------------


def shipped_policy_path(regime: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """``<folder>/ppo-<regime>.pt`` (default folder: the package's ``policies/``)."""
    return Path(folder if folder is not None else SHIPPED_POLICY_DIR) / f"ppo-{regime}.pt"


def _missing_policy_message(regime: str, path: Path) -> str:
    return (
        f"no PPO policy for the {regime!r} regime at {path}. Train one with "
        f"`asynctool train --regime {regime} --export {path}` (the exact commands of the "
        "shipped policies are in baselines/README.md), or pass a policy file: "
        "`asynctool eval --agent ppo --policy FILE` / PPOPolicy(FILE)"
    )


class PPOPolicy:
    """A trained policy (PPO, MaskablePPO or A2C) behind the reference-policy protocol.

    Args:
        path: A policy file, or a folder of ``ppo-<regime>.pt`` files. ``None``: the
            shipped policies. (``make_policy("ppo", policy=FILE)`` and
            ``EvalConfig(policy=FILE)`` pass it, to worker processes too.)
        use_mask: Choose only among the actions the observation's mask allows (default).
            ``False`` lets a policy trained without masks act on its own.
    """

    name = "ppo"

    def __init__(self, path: str | os.PathLike[str] | None = None, *, use_mask: bool = True):
        self._source = Path(path) if path is not None else None
        self.use_mask = use_mask
        self._cache: dict[Path, CompactPolicy] = {}
        # Envs already checked against each file (checking costs more than an episode).
        self._checked: weakref.WeakKeyDictionary[Any, set[Path]] = weakref.WeakKeyDictionary()
        self.current: CompactPolicy | None = None
        if self._source is not None and not self._source.is_dir():
            self.current = self._load(self._source)

    def _load(self, path: Path) -> CompactPolicy:
        found = self._cache.get(path)
        if found is None:
            from asynctool_env.rl import require_rl

            require_rl()
            found = self._cache[path] = CompactPolicy.cached(path)
        return found

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """Env arguments this agent needs of the env's interface (read by
        :func:`asynctool_env.benchmark.evaluate` before it builds the env): the layout
        (:data:`LAYOUT_KWARGS`) the policy was trained with. Without a given file, the layout
        the policies of the folder share (``{}`` when they differ or there are none; then
        :meth:`bind` says which env a policy needs)."""
        if self._source is not None and not self._source.is_dir():
            return self.current.layout_kwargs if self.current is not None else {}
        folder = self._source if self._source is not None else SHIPPED_POLICY_DIR
        layouts = []
        for file in sorted(Path(folder).glob("ppo-*.pt")):
            try:
                layouts.append(self._load(file).layout_kwargs)
            except PolicyFileError:
                return {}
        return layouts[0] if layouts and all(x == layouts[0] for x in layouts) else {}

    def policy_path(self, env: Any) -> Path:
        """The file this agent plays in ``env``."""
        if self._source is not None and not self._source.is_dir():
            return self._source
        return shipped_policy_path(regime_of(env), self._source)

    def reset(self, seed: int | None = None) -> None:
        return None

    def bind(self, env: Any) -> None:
        """Pick the policy for ``env`` (by its regime, unless a file was given) and check
        that the env's observations fit it."""
        path = self.policy_path(env)
        if not path.is_file():
            if self._source is not None and not self._source.is_dir():
                raise PolicyFileError(f"no policy file at {path}")
            raise FileNotFoundError(_missing_policy_message(regime_of(env), path))
        self.current = self._load(path)
        unwrapped = getattr(env, "unwrapped", env)
        try:
            checked = self._checked.setdefault(unwrapped, set())
        except TypeError:  # not weak-referenceable: check every time
            checked = set()
        if path not in checked:
            self.current.check_env(env, str(path))
            checked.add(path)

    def act(self, observation: Mapping[str, Any]) -> int:
        if self.current is None:
            raise RuntimeError(
                "PPOPolicy has no policy yet: give it a policy file, or call bind(env) after "
                "each reset to pick the shipped policy of the env's regime"
            )
        return self.current.act(observation, use_mask=self.use_mask)


__all__ = [
    "LAYOUT_KWARGS",
    "POLICY_FORMAT",
    "RLLIB_ALGO",
    "SHIPPED_POLICY_DIR",
    "CompactPolicy",
    "NumpyActor",
    "PPOPolicy",
    "PolicyFileError",
    "masked_action",
    "observation_layout",
    "policy_class",
    "policy_header",
    "policy_kwargs",
    "read_policy_file",
    "save_policy",
    "shipped_policy_path",
    "space_from_json",
    "space_to_json",
]
