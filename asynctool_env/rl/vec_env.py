"""The batched ``AsyncTool-v0`` as a Stable-Baselines3 ``VecEnv`` (no subprocesses).

:class:`NativeVecEnv` wraps :class:`~asynctool_env.envs.vector.AsyncToolVectorEnv` (in
Gymnasium's ``same_step`` autoreset mode, the one SB3's ``VecEnv`` API has) so that SB3 and
sb3-contrib train on it directly::

    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.vec_env import VecMonitor

    env = VecMonitor(NativeVecEnv(64, split=None, action_mode="direct"))
    MaskablePPO("MultiInputPolicy", env).learn(100_000)

It gives what ``DummyVecEnv`` of single envs gives, step for step (the same seeds: env ``i``
of ``seed(s)`` plays seed ``s + i``): the batched observations, rewards and dones, and for
an env whose episode ended, ``infos[i]`` with ``terminal_observation``,
``TimeLimit.truncated``, the last counters and ``metrics``. The infos of the other envs are
empty (SB3 reads nothing there; building N dicts of counters every step would cost more
than the step): the running counters of every env are in :attr:`last_info`, in Gymnasium's
vector form. ``env_method("action_masks")`` gives the masks MaskablePPO asks for, from one
array. ``asynctool train --vec-env native`` trains this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

from asynctool_env.envs.vector import AsyncToolVectorEnv


class NativeVecEnv(VecEnv):
    """SB3's ``VecEnv`` over :class:`AsyncToolVectorEnv` (see the module docstring).

    Args:
        num_envs: Envs in the batch.
        **kwargs: ``AsyncTool-v0``'s arguments (and ``optimum_in_info``).
    """

    def __init__(self, num_envs: int, **kwargs: Any) -> None:
        self.venv = AsyncToolVectorEnv(num_envs, autoreset_mode="same_step", **kwargs)
        self.render_mode = None
        self._actions: np.ndarray | None = None
        #: The vector info of the last step or reset (every env's running counters).
        self.last_info: dict[str, Any] = {}
        super().__init__(
            num_envs, self.venv.single_observation_space, self.venv.single_action_space
        )

    def reset(self) -> dict[str, np.ndarray]:
        seeds = None if all(seed is None for seed in self._seeds) else list(self._seeds)
        observation, self.last_info = self.venv.reset(seed=seeds)
        self._reset_seeds()
        self._reset_options()
        return observation

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[dict]]:
        assert self._actions is not None, "step_async first"
        observation, reward, terminated, truncated, info = self.venv.step(self._actions)
        self.last_info = info
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            final = info["final_info"]
            counters = [key for key in final if not key.startswith("_") and key != "metrics"]
            metrics = final["metrics"]
            names = [key for key in metrics if not key.startswith("_")]
            for i in np.flatnonzero(dones):
                entry = {key: final[key][i].item() for key in counters}
                entry["metrics"] = {
                    key: value.item() if isinstance(value, np.generic) else value
                    for key, value in ((key, metrics[key][i]) for key in names)
                }
                entry["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                entry["terminal_observation"] = info["final_obs"][i]
                infos[i] = entry
        return observation, reward.astype(np.float32), dones, infos

    def action_masks(self) -> np.ndarray:
        """``(num_envs, n_actions)`` boolean masks."""
        return self.venv.action_masks()

    def close(self) -> None:
        self.venv.close()

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The batched env's attribute, once per env asked for."""
        value = getattr(self.venv, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(
            f"cannot set {attr_name!r} per env: the batched env's settings are shared; build "
            "a NativeVecEnv with the arguments you need"
        )

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        """``action_masks`` per env (rows of one array); other methods are not per env."""
        chosen = self._indices(indices)
        if method_name == "action_masks":
            masks = self.venv.action_masks()
            return [masks[i] for i in chosen]
        raise AttributeError(f"the batched env has no per-env method {method_name!r}")

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]


__all__ = ["NativeVecEnv"]
