"""The batched ``AsyncTool-v0`` (``AsyncToolVectorEnv``) against a second implementation:
Gymnasium's ``SyncVectorEnv`` of single ``AsyncTool-v0`` envs, stepped with the same seeds
and actions. Every observation, reward, flag, info counter and episode metric must agree."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asynctool_env  # noqa: F401  (registers the env)
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.envs.vector import AsyncToolVectorEnv

MODES = {"next_step": AutoresetMode.NEXT_STEP, "same_step": AutoresetMode.SAME_STEP}
#: Info entries that are not the running counters (every other key of the single env's
#: info is one, and must match).
NOT_COUNTERS = ("metrics", "final_obs", "final_info")


def counters(info: dict) -> list[str]:
    return [key for key in info if not key.startswith("_") and key not in NOT_COUNTERS]


def _same_metrics(mine: dict, theirs: dict, i: int, where: str) -> None:
    for key, value in theirs.items():
        if key.startswith("_"):
            continue
        assert mine["_" + key][i], (where, key)
        ours, expected = mine[key][i], value[i]
        assert ours == expected or (ours is None and expected is None), (where, key, ours)


def play_both(
    kwargs: dict,
    *,
    n_envs: int,
    steps: int,
    mode: str = "next_step",
    masked: bool = True,
    seed: int = 0,
    action_seed: int = 0,
    optimum: bool = False,
) -> int:
    """Step the batched env and the reference side by side; returns the episodes ended."""
    vector = gym.make_vec(
        "AsyncTool-v0",
        num_envs=n_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode=mode,
        optimum_in_info=optimum,
        **kwargs,
    )
    reference = SyncVectorEnv(
        [lambda: AsyncToolEnv(**kwargs, optimum_in_info=optimum) for _ in range(n_envs)],
        autoreset_mode=MODES[mode],
    )
    assert isinstance(vector, AsyncToolVectorEnv)
    assert vector.observation_space == reference.observation_space
    assert vector.single_action_space == reference.single_action_space
    mine, _ = vector.reset(seed=seed)
    theirs, _ = reference.reset(seed=seed)
    rng = np.random.default_rng(action_seed)
    ended = 0

    def same_observations(a: dict, b: dict, where: str) -> None:
        assert a.keys() == b.keys()
        for key in b:
            assert a[key].dtype == b[key].dtype, (where, key)
            assert np.array_equal(a[key], b[key]), (where, key)

    same_observations(mine, theirs, "reset")
    for t in range(steps):
        if masked:
            allowed = [np.flatnonzero(row) for row in theirs["action_mask"]]
            actions = np.array([rng.choice(row) for row in allowed])
            assert np.array_equal(vector.action_masks(), theirs["action_mask"].astype(bool))
        else:
            actions = rng.integers(0, vector.single_action_space.n, n_envs)
        mine, reward, terminated, truncated, info = vector.step(actions)
        theirs, reward_ref, terminated_ref, truncated_ref, info_ref = reference.step(actions)
        where = f"step {t}"
        same_observations(mine, theirs, where)
        assert np.array_equal(reward, reward_ref), where  # to the last bit
        assert np.array_equal(terminated, terminated_ref), where
        assert np.array_equal(truncated, truncated_ref), where
        assert counters(info) == counters(info_ref), where
        for key in counters(info_ref):
            assert np.array_equal(info[key], info_ref[key]), (where, key)
        if "metrics" in info_ref:
            for i in np.flatnonzero(info_ref["_metrics"]):
                _same_metrics(info["metrics"], info_ref["metrics"], i, where)
                ended += 1
        if "final_info" in info_ref:
            assert np.array_equal(info["_final_obs"], info_ref["_final_obs"])
            for i in np.flatnonzero(info_ref["_final_info"]):
                for key in counters(info_ref["final_info"]):
                    assert info["final_info"][key][i] == info_ref["final_info"][key][i]
                _same_metrics(
                    info["final_info"]["metrics"], info_ref["final_info"]["metrics"], i, where
                )
                same_observations(info["final_obs"][i], info_ref["final_obs"][i], where)
                ended += 1
        else:
            assert "final_info" not in info
    vector.close()
    reference.close()
    return ended


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"split": "dev", "action_mode": "direct"},
        {"split": "dev"},
        {"split": "dev", "action_mode": "direct", "tool_capacity": 1},
        {"split": "test", "latency": "stochastic", "tool_capacity": {"get_weather": 1}},
        {"split": "dev", "reward_weights": {"slip": -0.05, "idle": -0.02}},
        {"n_tasks": 2, "action_mode": "direct", "max_rounds": 30},
    ],
    ids=["direct", "focus", "contention", "stochastic-tool-map", "slip", "procedural"],
)
def test_masked_random_play_matches_single_envs(kwargs, mode):
    assert play_both(kwargs, n_envs=5, steps=250, mode=mode) >= 5  # autoreset exercised


ENV_KWARGS = st.fixed_dictionaries(
    {
        "latency": st.sampled_from(["sync", "fixed", "tool", "stochastic", "uniform", "lognormal"]),
        "max_calls_per_turn": st.sampled_from([1, 2, None]),
        "action_mode": st.sampled_from(["focus", "direct"]),
        "wait_jumps_to_next_delivery": st.booleans(),
        "max_rounds": st.integers(5, 60),
        "tool_capacity": st.sampled_from([None, None, 1, 2]),
        "split": st.sampled_from(["dev", "test"]),
        "pending_slots": st.sampled_from([1, 3, 8]),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kwargs=ENV_KWARGS,
    masked=st.booleans(),
    mode=st.sampled_from(["next_step", "same_step"]),
    seed=st.integers(0, 2**16),
)
def test_random_play_matches_single_envs_in_every_setting(kwargs, masked, mode, seed):
    """Masked and unmasked (dependency violations, redundant calls, premature answers, masked
    no-ops) random play, every latency profile, call cap, layout and contention."""
    play_both(kwargs, n_envs=3, steps=60, mode=mode, masked=masked, seed=seed, action_seed=seed)


@pytest.mark.parametrize("kwargs", [{}, {"tool_capacity": 1}, {"latency": "stochastic"}])
def test_the_optimum_in_info_is_the_single_envs(kwargs):
    """With ``optimum_in_info=True`` the last metrics carry the exact solver's optimum and the
    efficiency, as the single env's do (solved once per instance and latencies)."""
    ended = play_both(
        {"split": "dev", "action_mode": "direct", **kwargs}, n_envs=4, steps=120, optimum=True
    )
    assert ended >= 8


def test_reset_options_and_bad_input():
    vector = AsyncToolVectorEnv(3, split="dev")
    with pytest.raises(gym.error.ResetNeeded):
        vector.step(np.zeros(3, np.int64))
    observation, _ = vector.reset(seed=0, options={"instance_index": [0, 1, 2]})
    single = AsyncToolEnv(split="dev")
    expected, _ = single.reset(seed=1, options={"instance_index": 1})
    assert np.array_equal(observation["step_status"][1], expected["step_status"])
    # Only the masked envs start again.
    vector.step(np.array([0, 0, 0]))
    observation, info = vector.reset(options={"reset_mask": np.array([True, False, False])})
    assert info["round"].tolist() == [0, 1, 1]
    for bad, error in (
        (np.array([0, 0]), TypeError),
        (np.array([0.5, 0, 0]), TypeError),
        (np.array([0, 0, 99]), ValueError),
        (np.array([-1, 0, 0]), ValueError),
    ):
        with pytest.raises(error):
            vector.step(bad)
    with pytest.raises(ValueError, match="instance_index"):
        vector.reset(options={"instance_index": 10_000})
    with pytest.raises(ValueError, match="unknown reset options"):
        vector.reset(options={"nope": 1})
    with pytest.raises(ValueError, match="one seed per env"):
        vector.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="autoreset_mode"):
        AsyncToolVectorEnv(2, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="num_envs"):
        AsyncToolVectorEnv(0)
    with pytest.raises(ValueError, match="max_tasks"):
        AsyncToolVectorEnv(2, max_tasks=99)  # the single env's own checks
    assert (
        AsyncToolVectorEnv(2, autoreset_mode=AutoresetMode.SAME_STEP).metadata["autoreset_mode"]
        is AutoresetMode.SAME_STEP
    )


def test_same_seed_same_trace():
    def trace(seed: int) -> list:
        vector = AsyncToolVectorEnv(8, latency="stochastic", action_mode="direct")
        observation, _ = vector.reset(seed=seed)
        rng = np.random.default_rng(0)
        out = []
        for _ in range(50):
            actions = np.array(
                [rng.choice(np.flatnonzero(mask)) for mask in observation["action_mask"]]
            )
            observation, reward, *_ = vector.step(actions)
            out.append((observation["step_status"].copy(), reward.copy()))
        return out

    first, second, other = trace(3), trace(3), trace(4)
    assert all(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        for a, b in zip(first, second, strict=True)
    )
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first, other, strict=True))


def test_gymnasium_vector_wrappers_work():
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    for mode in ("next_step", "same_step"):
        env = RecordEpisodeStatistics(
            AsyncToolVectorEnv(4, split="dev", action_mode="direct", autoreset_mode=mode)
        )
        observation, _ = env.reset(seed=0)
        episodes = []
        for _ in range(200):
            actions = np.array([np.flatnonzero(mask)[-1] for mask in observation["action_mask"]])
            observation, _, _, _, info = env.step(actions)
            if "episode" in info:
                episodes.extend(info["episode"]["r"][info["_episode"]].tolist())
        assert len(episodes) >= 8 and all(np.isfinite(episodes))


def test_the_sb3_adapter_is_dummyvecenv_of_single_envs():
    """NativeVecEnv against SB3's own recipe (make_vec_env: DummyVecEnv of single envs, env
    ``i`` seeded ``seed + i``): observations, rewards, dones, the ended envs' infos and the
    masks MaskablePPO reads, step for step."""
    pytest.importorskip("sb3_contrib")
    from sb3_contrib.common.maskable.utils import get_action_masks
    from stable_baselines3.common.env_util import make_vec_env

    from asynctool_env.rl.vec_env import NativeVecEnv

    kwargs = {"action_mode": "direct", "optimum_in_info": False, "tool_capacity": 1}
    native = NativeVecEnv(4, **kwargs)
    native.seed(5)
    reference = make_vec_env("AsyncTool-v0", n_envs=4, seed=5, env_kwargs=kwargs)
    mine, theirs = native.reset(), reference.reset()
    rng = np.random.default_rng(0)
    ended = 0
    for t in range(300):
        masks = get_action_masks(reference)
        assert np.array_equal(get_action_masks(native), masks)
        actions = np.array([rng.choice(np.flatnonzero(mask)) for mask in masks])
        mine, reward, done, infos = native.step(actions)
        theirs, reward_ref, done_ref, infos_ref = reference.step(actions)
        for key in theirs:
            assert np.array_equal(mine[key], theirs[key]), (t, key)
        assert np.array_equal(reward, reward_ref) and np.array_equal(done, done_ref), t
        for i in np.flatnonzero(done_ref):
            ours, expected = infos[i], infos_ref[i]
            assert ours["TimeLimit.truncated"] == expected["TimeLimit.truncated"]
            assert ours["metrics"] == expected["metrics"]
            assert ours["round"] == expected["round"]
            for key in theirs:
                assert np.array_equal(
                    ours["terminal_observation"][key], expected["terminal_observation"][key]
                )
            ended += 1
    assert ended >= 20


def test_maskable_ppo_trains_on_the_native_env(tmp_path):
    """``asynctool train --vec-env native`` (MaskablePPO straight on the batched env)."""
    pytest.importorskip("sb3_contrib")
    from typer.testing import CliRunner

    from asynctool_env.cli import app

    result = CliRunner().invoke(
        app,
        ["train", "--vec-env", "native", "--n-envs", "128", "--n-steps", "8",
         "--batch-size", "256", "--timesteps", "2048", "--eval-episodes", "4",
         "--test-episodes", "0", "--output", str(tmp_path / "run"), "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "policy.pt").is_file() or list((tmp_path / "run").glob("*.pt"))
    too_many = CliRunner().invoke(app, ["train", "--n-envs", "100", "--show-config"])
    assert too_many.exit_code == 2 and "native" in too_many.output


def test_a_procedural_bank_plays_like_single_envs_on_its_instances():
    """``procedural_bank=M``: M instances composed once; each sub-env then plays what a
    single env built with those instances plays."""
    vector = AsyncToolVectorEnv(
        3, n_tasks=2, action_mode="direct", procedural_bank=40, autoreset_mode="same_step"
    )
    assert len(vector.bank) == 40 and all(i.n_tasks == 2 for i in vector.bank.instances)
    instances = vector.bank.instances
    vector.close()
    ended = play_both(
        {"instances": instances, "action_mode": "direct"}, n_envs=3, steps=150, mode="same_step"
    )
    assert ended >= 5
    with pytest.raises(ValueError, match="procedural_bank is for procedural"):
        AsyncToolVectorEnv(2, split="dev", procedural_bank=10)
    with pytest.raises(ValueError, match="procedural_bank"):
        AsyncToolVectorEnv(2, procedural_bank=0)


def test_more_gymnasium_vector_wrappers():
    from gymnasium.wrappers.vector import ClipReward, DictInfoToList, NormalizeReward

    env = DictInfoToList(
        NormalizeReward(ClipReward(AsyncToolVectorEnv(3, split="dev", action_mode="direct"), -1, 1))
    )
    observation, infos = env.reset(seed=0)
    assert isinstance(infos, list) and len(infos) == 3 and infos[0]["round"] == 0
    for _ in range(60):
        actions = np.array([np.flatnonzero(mask)[-1] for mask in observation["action_mask"]])
        observation, reward, _, _, infos = env.step(actions)
        assert reward.shape == (3,) and np.isfinite(reward).all()
    assert all(isinstance(info, dict) and "calls" in info for info in infos)


def test_the_pool_of_calls_in_flight_grows_as_needed():
    """Unlimited calls a turn, unmasked actions and a queue of one slot per tool: calls pile
    up in flight past the pool's first size, which grows, and the sub-envs still match."""
    kwargs = {"split": "dev", "action_mode": "direct", "max_calls_per_turn": None}
    play_both({**kwargs, "tool_capacity": 1}, n_envs=2, steps=300, masked=False, seed=5)
    vector = AsyncToolVectorEnv(2, **kwargs, tool_capacity=1)
    vector.reset(seed=5)
    first = vector._pool
    rng = np.random.default_rng(0)
    for _ in range(300):
        calls = rng.integers(1, 1 + vector.max_tasks * vector.max_steps, 2)  # never wait
        vector.step(calls)
    assert vector._pool > first


class _Coin:
    """A latency distribution the batched env's kernels do not know: 0 or twice the declared
    latency, drawn with ``random()`` (resets draw it in Python, the rest stays compiled)."""

    def __init__(self, declared: int) -> None:
        self.declared = declared

    def sample(self, rng: np.random.Generator) -> int:
        return 2 * self.declared if rng.random() < 0.5 else 0

    @property
    def mean(self) -> float:
        return float(self.declared)

    @property
    def is_deterministic(self) -> bool:
        return False


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_a_custom_latency_distribution_matches_single_envs(mode):
    from asynctool_env.core.latency import LatencyProfile

    profile = LatencyProfile("coin", default=_Coin)
    kwargs = {"split": "dev", "latency": profile, "tool_capacity": 1}
    vector = AsyncToolVectorEnv(2, **kwargs)
    assert vector.bank.python_draws
    assert play_both(kwargs, n_envs=3, steps=120, mode=mode, masked=False, seed=3) >= 3


def _run_python(code: str, **environment: str) -> str:
    """Run ``code`` in a fresh interpreter from the repository root; its stdout."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_kernels_run_as_python_without_numba_compiling():
    """Without Numba (or with ``NUMBA_DISABLE_JIT=1``) the same kernels run as Python and
    give the same episodes."""
    code = (
        "import tests.test_vector_env as t\n"
        "n = t.play_both({'split': 'dev', 'action_mode': 'direct', 'tool_capacity': 1,"
        " 'reward_weights': {'slip': -0.05}}, n_envs=3, steps=60, masked=False)\n"
        "n += t.play_both({'split': 'test', 'latency': 'lognormal', 'wait_jumps_to_next_delivery':"
        " True}, n_envs=2, steps=60, mode='same_step')\n"
        "print('ended', n)\n"
    )
    assert int(_run_python(code, NUMBA_DISABLE_JIT="1").split()[-1]) > 0


def test_a_deep_copy_plays_on_exactly_as_the_original():
    import copy

    vector = AsyncToolVectorEnv(3, split="dev", latency="stochastic")
    observation, _ = vector.reset(seed=4)
    twin = copy.deepcopy(vector)
    rng = np.random.default_rng(0)
    for _ in range(80):  # episodes end and restart: both draw from their own generators
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in observation["action_mask"]])
        observation, reward, *_ = vector.step(actions)
        mine, reward_twin, *_ = twin.step(actions)
        assert np.array_equal(reward, reward_twin)
        assert all(np.array_equal(observation[key], mine[key]) for key in observation)


def test_without_numba_the_env_warns_and_plays_the_same_episodes():
    code = (
        "import sys, warnings\n"
        "sys.modules['numba'] = None  # as if it were not installed\n"
        "import tests.test_vector_env as t\n"
        "from asynctool_env.envs import kernels\n"
        "assert not kernels.available()\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    n = t.play_both({'split': 'dev', 'latency': 'stochastic'}, n_envs=2, steps=50)\n"
        "assert any('Numba is not installed' in str(w.message) for w in caught), caught\n"
        "assert kernels.compiled().List is list\n"
        "print('ended', n)\n"
    )
    assert int(_run_python(code).split()[-1]) > 0
