"""The examples run as users would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(script: str, *arguments: str, timeout: int = 300) -> str:
    """Run ``examples/<script>`` as a user would; its standard output."""
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    ).stdout


def test_quickstart_example_prints_the_episode_metrics():
    stdout = _run("quickstart.py", timeout=120)
    assert "task 0" in stdout and "READY" in stdout
    for name in ("rounds", "sequential_rounds", "speedup_vs_sequential", "step_f1"):
        assert name in stdout


@pytest.mark.slow
def test_maskable_ppo_example_trains_and_evaluates():
    pytest.importorskip("sb3_contrib")
    stdout = _run("maskable_ppo.py", "--steps", "512")
    assert "mean return over 20 episodes after 512 steps" in stdout


@pytest.mark.slow
def test_multi_agent_ppo_example_trains_and_compares():
    pytest.importorskip("supersuit")
    pytest.importorskip("stable_baselines3")
    stdout = _run("multi_agent_ppo.py", "--timesteps", "512", "--episodes", "3")
    assert "critical_path" in stdout and "ppo (shared)" in stdout


@pytest.mark.slow
def test_train_maskable_ppo_example_trains_and_compares():
    pytest.importorskip("sb3_contrib")
    stdout = _run("train_maskable_ppo.py", "--steps", "2048", "--episodes", "10")
    assert "maskable_ppo" in stdout and "critical_path" in stdout


@pytest.mark.slow
def test_openenv_example_serves_two_sessions_and_stops_the_server():
    pytest.importorskip("openenv.core")
    stdout = _run("openenv_client.py", "--instance", "2")
    assert "[oracle] return" in stdout and "efficiency 1.000" in stdout
    assert "[waiter]" in stdout and "server stopped" in stdout


@pytest.mark.slow
def test_trl_example_runs_the_recipe(tmp_path):
    pytest.importorskip("trl")
    stdout = _run(
        "trl_grpo.py",
        "--steps",
        "1",
        "--warm-start-steps",
        "20",
        "--output",
        str(tmp_path),
        timeout=600,
    )
    assert '"grpo_steps": 1' in stdout and '"env_episodes": 8' in stdout
