"""A real GRPO run through the TRL adapter on the CPU: a tiny model built from a config,
warm-started on scripted-oracle conversations, then trained with TRL's GRPOTrainer on
episodes played through AsyncTool-Chat-v0 (about three minutes on two cores)."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("trl")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

pytestmark = pytest.mark.slow


def test_grpo_trains_on_episodes_played_through_the_env(tmp_path):
    from asynctool_env.integrations.trl_recipe import train

    steps, rollouts_per_step = 4, 8  # 2 prompts x 4 generations
    report = train(max_steps=steps, warm_start_steps=300, output_dir=str(tmp_path))
    # The warm start taught the call format (the loss fell), so calls reach the env.
    assert report.warm_start_losses[-1] < report.warm_start_losses[0] / 4
    # Every rollout was an episode of the env, and the model's calls were played there.
    assert report.env_episodes == steps * rollouts_per_step
    assert len(report.env_rewards) == steps * rollouts_per_step
    assert report.env_replies > 0
    # The reward TRL trained on is the env's: per step, the mean of the env's returns.
    assert len(report.rewards) == steps
    for step, logged in enumerate(report.rewards):
        batch = report.env_rewards[step * rollouts_per_step : (step + 1) * rollouts_per_step]
        assert logged == pytest.approx(sum(batch) / len(batch), abs=1e-4)
    # Rollouts differed, so GRPO had advantages to follow, and the weights moved.
    assert len(set(report.env_rewards)) > 1
    assert report.weights_changed
