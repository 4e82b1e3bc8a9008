"""The last ``info`` of ``AsyncTool-v0`` computes its metrics when they are first read.

The oracle is the eager computation: :func:`final_metrics` of the same finished simulator.
"""

from __future__ import annotations

import copy
import json
import pickle

import gymnasium as gym
import numpy as np
import pytest

import asynctool_env  # noqa: F401
from asynctool_env.interface import EpisodeEndInfo
from asynctool_env.metrics import episode_metrics, final_metrics


def _play(env: gym.Env, seed: int) -> tuple[dict, object]:
    """A random masked episode; the last info and the finished simulator."""
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    while True:
        obs, _, terminated, truncated, info = env.step(
            env.action_space.sample(mask=obs["action_mask"])
        )
        if terminated or truncated:
            return info, env.unwrapped.simulator


@pytest.fixture(scope="module")
def env() -> gym.Env:
    return gym.make("AsyncTool-v0", split="dev")


def test_metrics_are_computed_on_first_read_and_equal_the_eager_ones(env) -> None:
    calls = []
    info, simulator = _play(env, 0)
    assert isinstance(info, EpisodeEndInfo)
    assert "metrics" in info and list(info)[-1] == "metrics" and len(info) == 8
    make = info._pending["metrics"]
    info._pending["metrics"] = lambda: calls.append(1) or make()
    assert calls == []  # membership, len and keys computed nothing
    expected = final_metrics(simulator).as_dict()
    assert info["metrics"] == expected
    assert info["metrics"]["optimal_rounds"] == expected["optimal_rounds"] is not None
    info.get("metrics")
    dict(info.items())
    assert calls == [1]  # once


@pytest.mark.parametrize(
    "read",
    [
        dict,
        lambda info: {**info},
        lambda info: json.loads(json.dumps(info)),
        lambda info: pickle.loads(pickle.dumps(info)),
        copy.deepcopy,
        copy.copy,
        lambda info: info.copy(),
        lambda info: dict(info.items()),
        lambda info: dict(zip(info.keys(), info.values(), strict=True)),
        lambda info: {key: info[key] for key in info},
        lambda info: {"x": 1} | info,
        lambda info: info | {"x": 1},
    ],
)
def test_every_way_of_reading_sees_the_metrics(env, read) -> None:
    info, simulator = _play(env, 1)
    out = read(info)
    assert out["metrics"] == final_metrics(simulator).as_dict()
    assert type(out) is dict  # copies are plain dicts


def test_writes_compute_nothing_and_replacing_the_metrics_cancels_them(env) -> None:
    info, _ = _play(env, 2)
    info["episode"] = {"r": 1.0}  # as SB3's Monitor does
    info["terminal_observation"] = None  # as SB3's DummyVecEnv does
    assert "metrics" in info._pending
    info["metrics"] = "mine"
    assert not info._pending and info["metrics"] == "mine"
    info2, _ = _play(env, 3)
    del info2["metrics"]
    assert not info2._pending and "metrics" not in info2


def test_equality_and_repr_show_the_metrics(env) -> None:
    a, _ = _play(env, 4)
    b, _ = _play(env, 4)
    assert a == b
    assert (a != b) is False
    assert "optimal_rounds" in repr(a)
    assert dict(a) == {**dict(b)}


def test_without_the_optimum_the_metrics_leave_it_none() -> None:
    env = gym.make("AsyncTool-v0", split="dev", optimum_in_info=False)
    info, simulator = _play(env, 5)
    assert info["metrics"] == episode_metrics(simulator).as_dict()
    assert info["metrics"]["optimal_rounds"] is None


def test_sync_vector_env_merges_the_metrics() -> None:
    envs = gym.make_vec("AsyncTool-v0", num_envs=2, vectorization_mode="sync", split="dev")
    obs, _ = envs.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(400):
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in obs["action_mask"]])
        obs, _, terminated, truncated, info = envs.step(actions)
        if (terminated | truncated).any():
            ended = info["_metrics"]
            assert ended.any()
            assert all(value is not None for value in info["metrics"]["optimal_rounds"][ended])
            return
    pytest.fail("no episode ended")
