"""The fast trainer: TorchRL's PPO on the batched env (``asynctool train --backend torchrl``).

Oracles: SB3's own feature extractor and ``evaluate_actions`` (the trainer feeds SB3's network
the features SB3 would compute), the batched env stepped directly, and TorchRL's spec check.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

pytest.importorskip("torchrl")

from torchrl.envs.utils import check_env_specs
from typer.testing import CliRunner

from asynctool_env.cli import app
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.envs.vector import AsyncToolVectorEnv
from asynctool_env.rl.config import ConfigError, TrainConfig, load_config
from asynctool_env.rl.policy import (
    CompactPolicy,
    NumpyActor,
    policy_class,
    policy_kwargs,
)
from asynctool_env.rl.torchrl_ppo import AsyncToolTorchRLEnv

KWARGS = {"action_mode": "direct", "split": "dev"}


def _sb3_policy(env: AsyncToolEnv) -> object:
    torch.manual_seed(0)
    return policy_class("maskable_ppo")(
        env.observation_space,
        env.action_space,
        lambda _progress: 1e-3,
        **policy_kwargs([32, 32], "tanh"),
    )


def test_the_features_are_sb3s_own():
    vector = AsyncToolVectorEnv(6, **KWARGS, tool_capacity=1)
    observation, _ = vector.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(7):
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in observation["action_mask"]])
        observation, *_ = vector.step(actions)
    features = NumpyActor.features_of(vector.single_observation_space)
    policy = _sb3_policy(AsyncToolEnv(**KWARGS, tool_capacity=1))
    tensors, _ = policy.obs_to_tensor(observation)
    expected = policy.extract_features(tensors, policy.pi_features_extractor).detach().numpy()
    assert np.array_equal(features.encode(observation), expected)


def test_the_torchrl_env_passes_torchrls_checks_and_plays_the_batched_envs_episodes():
    env = AsyncToolTorchRLEnv(4, **KWARGS)
    check_env_specs(env)
    env.set_seed(11)
    first = env.reset()
    reference = AsyncToolVectorEnv(4, **KWARGS, optimum_in_info=False)
    observation, _ = reference.reset(seed=11)
    encode = NumpyActor.features_of(reference.single_observation_space).encode
    assert torch.equal(first["observation"], torch.from_numpy(encode(observation)))
    for _ in range(30):
        masks = first["action_mask"].numpy()
        actions = np.array([np.flatnonzero(m)[-1] for m in masks])
        first.set("action", torch.from_numpy(actions))
        out = env.step(first)["next"]
        observation, reward, terminated, truncated, _ = reference.step(actions)
        assert torch.equal(out["observation"], torch.from_numpy(encode(observation)))
        assert torch.equal(out["reward"].squeeze(-1), torch.from_numpy(reward.astype(np.float32)))
        assert torch.equal(out["terminated"].squeeze(-1), torch.from_numpy(terminated))
        assert torch.equal(out["done"].squeeze(-1), torch.from_numpy(terminated | truncated))
        first = out


def test_a_partial_reset_starts_only_those_envs_again():
    env = AsyncToolTorchRLEnv(3, **KWARGS)
    env.set_seed(0)
    td = env.reset()
    td.set("action", torch.zeros(3, dtype=torch.int64))  # wait: the round moves
    td = env.step(td)["next"]
    rounds_before = env.venv._es[:, 1].copy()
    assert (rounds_before == 1).all()
    td.set("_reset", torch.tensor([[True], [False], [False]]))
    env.reset(td)
    assert env.venv._es[:, 1].tolist() == [0, 1, 1]


def test_behaviour_cloning_from_features_is_sb3s_evaluate_actions_exactly(monkeypatch):
    import asynctool_env.rl.imitation as imitation

    demonstrations = imitation.collect_demonstrations({"action_mode": "direct"}, 20, seed=5)
    env = AsyncToolEnv(action_mode="direct")
    fast = _sb3_policy(env)
    fast_losses = imitation.behaviour_clone(SimpleNamespace(policy=fast), demonstrations, epochs=2)
    monkeypatch.setattr(imitation, "_flat_features", lambda *args: None)  # SB3's own path
    slow = _sb3_policy(env)
    slow_losses = imitation.behaviour_clone(SimpleNamespace(policy=slow), demonstrations, epochs=2)
    assert fast_losses == slow_losses
    for (name, a), (_, b) in zip(fast.state_dict().items(), slow.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_a_short_torchrl_run_writes_a_policy_that_eval_plays(tmp_path):
    from asynctool_env.rl.training import train

    config = TrainConfig(
        backend="torchrl",
        n_envs=64,
        n_steps=8,
        batch_size=256,
        n_epochs=2,
        total_timesteps=1024,
        imitation_episodes=20,
        imitation_epochs=2,
        eval_freq=512,
        eval_episodes=6,
        test_episodes=3,
        checkpoint_freq=512,
        net_arch=[32, 32],
        output=tmp_path / "run",
        verbose=0,
        log_formats=["csv"],
    )
    result = train(config)
    assert result.timesteps == 1024
    steps = [row["timesteps"] for row in result.evaluations]
    assert steps == [0, 512, 1024]  # after the warm start, then every 512 steps
    assert (tmp_path / "run" / "checkpoints" / "torchrl_512.pt").exists()
    training = json.loads((tmp_path / "run" / "training.json").read_text())
    assert training["backend"] == "torchrl" and training["imitation"]["episodes"] == 20
    policy = CompactPolicy.load(result.policy_path)
    assert policy.header["algo"] == "maskable_ppo"  # SB3's network: the usual policy file
    assert policy.header["config"]["backend"] == "torchrl"
    # The SB3 policy rebuilt from the file acts as the file's numpy actor does.
    env = AsyncToolEnv(**KWARGS)
    observation, _ = env.reset(seed=0)
    tensors, _ = policy.policy.obs_to_tensor(observation)
    expected = policy.policy.get_distribution(tensors).distribution.logits  # normalized
    mine = torch.log_softmax(torch.from_numpy(policy._fast.logits(observation)), dim=-1)
    assert torch.allclose(mine, expected[0], atol=1e-5)
    out = CliRunner().invoke(
        app,
        ["eval", "-a", "ppo", "--policy", str(result.policy_path), "--split", "dev",
         "--episodes", "3", "--output", str(tmp_path / "eval")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output


def test_the_cli_keeps_sb3_settings_off_the_torchrl_backend(tmp_path):
    out = CliRunner().invoke(app, ["train", "--backend", "torchrl", "--vec-env", "dummy"])
    assert out.exit_code != 0 and "--vec-env is SB3's" in out.output
    out = CliRunner().invoke(app, ["train", "--backend", "nope"])
    assert out.exit_code != 0 and "sb3, torchrl or rllib" in out.output
    with pytest.raises(ConfigError, match="torchrl backend trains maskable PPO"):
        load_config(None, {"backend": "torchrl", "algo": "a2c"})
    out = CliRunner().invoke(
        app,
        ["train", "--backend", "torchrl", "--n-envs", "512", "--show-config",
         "--output", str(tmp_path / "x")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["backend"] == "torchrl"  # 512 envs: no vec_env complaint


def test_the_train_command_runs_the_torchrl_backend(tmp_path):
    out = CliRunner().invoke(
        app,
        ["train", "--backend", "torchrl", "--n-envs", "32", "--n-steps", "8", "--batch-size",
         "128", "--n-epochs", "1", "--timesteps", "512", "--net-arch", "16,16",
         "--eval-episodes", "4", "--test-episodes", "0", "--checkpoint-freq", "0",
         "--output", str(tmp_path / "run")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "32 batched envs (TorchRL)" in out.output and "done: 512 steps" in out.output
    assert (tmp_path / "run" / "policy.pt").exists()


def test_a_missing_torchrl_names_its_extra(monkeypatch):
    import importlib

    from asynctool_env.rl import MissingRLExtraError, require_rl

    real = importlib.import_module

    def without_torchrl(name: str, *args: object) -> object:
        if name == "torchrl":
            raise ImportError("No module named 'torchrl'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_torchrl)
    require_rl()  # the SB3 backend does not need it
    with pytest.raises(MissingRLExtraError, match=r"asynctool-env\[torchrl\]"):
        require_rl("torchrl")
