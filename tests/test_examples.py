"""The examples run as users would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_quickstart_example_prints_the_episode_metrics():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "task 0" in result.stdout and "READY" in result.stdout
    for name in ("rounds", "sequential_rounds", "speedup_vs_sequential", "step_f1"):
        assert name in result.stdout


@pytest.mark.slow
def test_maskable_ppo_example_trains_and_evaluates():
    pytest.importorskip("sb3_contrib")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "maskable_ppo.py"), "--steps", "512"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "mean return over 20 episodes after 512 steps" in result.stdout


@pytest.mark.slow
def test_multi_agent_ppo_example_trains_and_compares():
    pytest.importorskip("supersuit")
    pytest.importorskip("stable_baselines3")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "multi_agent_ppo.py"),
            "--timesteps",
            "512",
            "--episodes",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "critical_path" in result.stdout and "ppo (shared)" in result.stdout


@pytest.mark.slow
def test_train_maskable_ppo_example_trains_and_compares():
    pytest.importorskip("sb3_contrib")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "train_maskable_ppo.py"),
            "--steps",
            "2048",
            "--episodes",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "maskable_ppo" in result.stdout and "critical_path" in result.stdout


@pytest.mark.slow
def test_openenv_example_serves_two_sessions_and_stops_the_server():
    pytest.importorskip("openenv.core")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "openenv_client.py"), "--instance", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "[oracle] return" in result.stdout and "efficiency 1.000" in result.stdout
    assert "[waiter]" in result.stdout and "server stopped" in result.stdout


@pytest.mark.slow
def test_trl_example_runs_the_recipe():
    pytest.importorskip("trl")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "trl_grpo.py"),
            "--steps",
            "1",
            "--warm-start-steps",
            "20",
            "--output",
            "/tmp/asynctool-trl-example",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert '"grpo_steps": 1' in result.stdout and '"env_episodes": 8' in result.stdout
