"""AsyncTool-v0 against Gymnasium's and SB3's checkers, vector envs, determinism, by hand."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import asynctool_env  # noqa: F401
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.metrics import compute_metrics
from tests.conftest import chain_instance

VARIANTS = {
    "default": {},
    "sync": {"latency": "sync"},
    "stochastic": {"latency": "stochastic"},
    "three_tasks": {"n_tasks": 3},
    "unlimited_calls": {"max_calls_per_turn": None},
    "jumping_waits": {"wait_jumps_to_next_delivery": True, "latency": "lognormal"},
    "contention": {"tool_capacity": 1, "composition": "same"},
    "direct_actions": {"action_mode": "direct", "tool_capacity": 2},
}

# Action ids with the default padding (K = 3 tasks, S = 8 steps).
WAIT, ANSWER = 0, 12


def switch(task: int) -> int:
    return 1 + task


def call(step: int) -> int:
    return 4 + step


@pytest.mark.parametrize("kwargs", VARIANTS.values(), ids=VARIANTS.keys())
def test_gymnasium_check_env(kwargs):
    for mode in (None, "ansi", "rgb_array"):
        env = gym.make("AsyncTool-v0", render_mode=mode, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any checker warning fails the test
            check_env(env.unwrapped)


@pytest.mark.parametrize("kwargs", VARIANTS.values(), ids=VARIANTS.keys())
def test_sb3_check_env(kwargs):
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = gym.make("AsyncTool-v0", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_checker.check_env(env.unwrapped)


@pytest.mark.parametrize("vector_class", ["sync", "async"])
def test_vector_envs_run_1000_steps(vector_class):
    env = gym.make_vec(
        "AsyncTool-v0", num_envs=4, vectorization_mode=vector_class, vector_kwargs={}
    )
    observations, _ = env.reset(seed=1)
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(1000):
        masks = observations["action_mask"]
        actions = np.array([rng.choice(np.flatnonzero(mask)) for mask in masks])
        observations, rewards, terminated, truncated, infos = env.step(actions)
        assert rewards.shape == (4,)
        assert observations["step_status"].shape == (4, 24)
        finished += int(terminated.sum() + truncated.sum())
        if "metrics" in infos:
            done = infos["_metrics"]
            assert (infos["metrics"]["step_f1"][done] == 1.0).all()  # masked: no mistakes
    env.close()
    assert finished >= 10


def test_registered_without_time_limit():
    spec = gym.spec("AsyncTool-v0")
    assert spec.max_episode_steps is None
    env = gym.make("AsyncTool-v0", max_rounds=5)
    env.reset(seed=0)
    truncated = terminated = False
    steps = 0
    while not (terminated or truncated):
        _, _, terminated, truncated, info = env.step(WAIT)
        steps += 1
    assert truncated and not terminated
    assert steps == 5 and info["round"] == 5
    assert info["metrics"]["rounds"] == 5 and not info["metrics"]["finished"]
    with pytest.raises(gym.error.ResetNeeded):
        env.unwrapped.step(WAIT)


def play(env, seed, actions):
    env.reset(seed=seed)
    trace = []
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        trace.append((observation, reward, terminated, truncated, info))
        if terminated or truncated:
            break
    return trace


def test_same_seed_same_trace():
    actions = np.random.default_rng(3).integers(0, 13, size=200)
    first_env = gym.make("AsyncTool-v0", latency="stochastic")
    second_env = gym.make("AsyncTool-v0", latency="stochastic")
    first, second = play(first_env, 7, actions), play(second_env, 7, actions)
    assert len(first) == len(second)
    for (obs_a, *rest_a), (obs_b, *rest_b) in zip(first, second, strict=True):
        assert rest_a == rest_b
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key])
    assert first_env.unwrapped.simulator.trace == second_env.unwrapped.simulator.trace


def test_different_seeds_give_different_instances():
    env = AsyncToolEnv()
    ids = set()
    for seed in range(20):
        env.reset(seed=seed)
        ids.add(env.instance.instance_id)
    assert len(ids) >= 15


def test_hand_built_schedules_through_the_env():
    """The 2-chain instance of tests/conftest.py with L = 1: sequential 13, interleaved 8."""
    instance = chain_instance(2, 3)
    sequential = [call(0), WAIT, call(1), WAIT, call(2), WAIT, ANSWER]
    sequential += [switch(1), call(0), WAIT, call(1), WAIT, call(2), WAIT, ANSWER]
    interleaved = [call(0), switch(1), call(0), switch(0), call(1), switch(1), call(1)]
    interleaved += [switch(0), call(2), switch(1), call(2), switch(0), ANSWER, WAIT]
    interleaved += [switch(1), ANSWER]
    expected = {"sequential": (sequential, 13, 3, 1.95), "interleaved": (interleaved, 8, 0, 2.2)}
    for name, (actions, rounds, idle, episode_return) in expected.items():
        env = AsyncToolEnv(instances=[instance], latency="fixed")
        observation, _ = env.reset(seed=0)
        total = 0.0
        for index, action in enumerate(actions):
            assert observation["action_mask"][action] == 1, (name, index, action)
            observation, reward, terminated, _truncated, info = env.step(action)
            total += reward
            assert terminated == (index == len(actions) - 1), (name, index)
        metrics = info["metrics"]
        assert metrics["rounds"] == rounds, name
        assert metrics["idle_rounds"] == idle, name
        assert metrics["step_f1"] == 1.0 and metrics["instance_success"], name
        assert metrics["sequential_rounds"] == 13
        assert total == pytest.approx(episode_return), name


def test_masked_actions_are_no_ops_with_a_penalty():
    env = AsyncToolEnv(instances=[chain_instance(2, 3)], latency="fixed")
    observation, _ = env.reset(seed=0)
    before = {key: value.copy() for key, value in observation.items()}
    for action in (switch(0), switch(2), call(5)):  # focused, padding task, padding step
        observation, reward, terminated, truncated, info = env.step(action)
        assert reward == pytest.approx(-0.1)
        assert not (terminated or truncated)
        for key in before:
            np.testing.assert_array_equal(observation[key], before[key])
    assert info["invalid_actions"] == 3


def test_violation_redundant_and_premature_have_consequences():
    env = AsyncToolEnv(instances=[chain_instance(2, 3)], latency="fixed", max_calls_per_turn=None)
    observation, _ = env.reset(seed=0)
    assert observation["action_mask"][call(1)] == 0
    _, reward, *_ = env.step(call(1))  # blocked: a dependency violation
    assert reward == pytest.approx(-0.5)
    assert env.simulator.violations == 1
    env.step(call(0))
    _, reward, *_ = env.step(call(0))  # pending already: redundant
    assert reward == pytest.approx(-0.1)
    _, reward, _, _, info = env.step(ANSWER)  # nothing done yet: premature
    assert reward == pytest.approx(-0.5)
    assert env.simulator.premature_answers == 1
    assert info["tasks_answered"] == 1


def test_decision_limit_forces_a_wait():
    env = AsyncToolEnv(instances=[chain_instance(2, 3)], latency="fixed", max_decisions_per_turn=3)
    env.reset(seed=0)
    env.step(switch(1))
    env.step(switch(0))
    _, _, _, _, info = env.step(switch(1))
    assert info["round"] == 1


def test_observation_layout():
    env = AsyncToolEnv(instances=[chain_instance(2, 3)], latency="fixed:2")
    observation, _ = env.reset(seed=0)
    status = observation["step_status"].reshape(3, 8)
    assert status[0, :3].tolist() == [2, 1, 1] and status[2].sum() == 0
    assert observation["step_latency"].reshape(3, 8)[1, :3].tolist() == [2, 2, 2]
    parents = observation["step_parents"].reshape(3, 8, 8)
    assert parents[0, 1, 0] == 1 and parents[0, 2, 1] == 1 and parents.sum() == 4
    assert observation["task_status"].tolist() == [1, 1, 0]
    observation, *_ = env.step(call(0))
    pending = observation["pending"].reshape(8, 5)
    assert pending[0, :2].tolist() == [0, 0] and pending[0, 3:].tolist() == [1, 2]
    assert (pending[1:] == -1).all()
    assert observation["round"].tolist() == [1] and observation["calls_left"].tolist() == [1]


def test_tail_and_tool_load_features():
    """``step_tail``: 3 chained steps of L = 2 give tails 9, 6, 3. Under capacity 1 (both
    chains use find_contact) ``step_queue`` is the wait a call would get, and
    ``step_backlog`` the work of the other uncalled steps of that tool."""
    env = AsyncToolEnv(instances=[chain_instance(2, 3)], latency="fixed:2", tool_capacity=1)
    observation, _ = env.reset(seed=0)
    tail = observation["step_tail"].reshape(3, 8)
    assert tail[0, :3].tolist() == [9, 6, 3] and tail[1, :3].tolist() == [9, 6, 3]
    assert observation["step_queue"].sum() == 0
    assert observation["step_backlog"].reshape(3, 8)[0, :3].tolist() == [15, 15, 15]
    observation, *_ = env.step(call(0))  # A0 takes the tool until round 3; now round 1
    queue = observation["step_queue"].reshape(3, 8)
    assert queue[1, 0] == 2 and queue[0, 1] == 2
    backlog = observation["step_backlog"].reshape(3, 8)
    assert backlog[1, 0] == 12 and backlog[0, 0] == 15  # A0 is called: not in the backlog
    observation, *_ = env.step(ANSWER)  # task 0 answered early: its steps leave the backlog
    assert observation["step_backlog"].reshape(3, 8)[1, 0] == 6
    uncontended = AsyncToolEnv(instances=[chain_instance(2, 3)], latency="fixed:2")
    observation, _ = uncontended.reset(seed=0)
    observation, *_ = uncontended.step(call(0))
    assert observation["step_queue"].sum() == 0 and observation["step_backlog"].sum() == 0


def test_metrics_agree_with_running_counters():
    env = AsyncToolEnv(latency="stochastic")
    rng = np.random.default_rng(5)
    for seed in range(10):
        env.reset(seed=seed)
        while True:
            action = int(rng.integers(env.n_actions))
            _observation, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        sim = env.simulator
        metrics = compute_metrics(sim.instance, sim.trace, sim.step_latency)
        assert metrics.calls == sim.calls == info["calls"]
        assert metrics.idle_rounds == sim.idle_rounds
        assert metrics.switches == sim.switches
        assert metrics.dependency_violations == sim.violations
        assert metrics.invalid_actions == sim.invalid_actions


def test_render_modes():
    env = AsyncToolEnv(render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert "task 0" in text and "READY" in text
    env = AsyncToolEnv(render_mode="rgb_array", n_tasks=3)
    env.reset(seed=0)
    for _ in range(6):
        env.step(int(np.flatnonzero(env.action_masks())[-1]))
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[0] >= 3 * 30
    assert len(np.unique(image.reshape(-1, 3), axis=0)) >= 4  # lanes, bars, cursor


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latency": "warp"}, "unknown latency profile"),
        ({"max_calls_per_turn": 0}, "max_calls_per_turn"),
        ({"n_tasks": 4}, "exceeds max_tasks"),
        ({"max_tasks": 9}, "max_tasks"),
        ({"max_rounds": 1}, "max_rounds"),
        ({"reward_weights": {"speed": 1.0}}, "unknown reward weight"),
        ({"render_mode": "human"}, "render_mode"),
        ({"scenarios": ["cooking"]}, "unknown scenario"),
        ({"instances": []}, "empty"),
        ({"tool_capacity": 0}, "tool_capacity"),
        ({"action_mode": "focused"}, "action_mode"),
        ({"tool_capacity": {"find_contact": -2}}, "tool_capacity"),
    ],
)
def test_bad_arguments_have_clear_errors(kwargs, message):
    with pytest.raises((ValueError, KeyError, TypeError), match=message):
        AsyncToolEnv(**kwargs)


@pytest.mark.parametrize("action", [-1, 13, 2.5, "wait"])
def test_out_of_range_actions_raise_clearly(action):
    env = AsyncToolEnv()
    env.reset(seed=0)
    with pytest.raises((ValueError, TypeError), match="action must be"):
        env.step(action)


def test_reward_weights_can_be_overridden():
    env = AsyncToolEnv(
        instances=[chain_instance(1, 1)], latency="sync", reward_weights={"round": -1.0}
    )
    env.reset(seed=0)
    total = sum(env.step(action)[1] for action in (call(0), ANSWER))
    assert total == pytest.approx(1.0 + 0.1 - 2.0)  # success + step - 2 rounds


def test_masked_sampler_matches_gymnasium_semantics():
    from collections import Counter

    from asynctool_env.envs.async_tool_env import MaskedDiscrete

    space = MaskedDiscrete(13, seed=0)
    mask = np.zeros(13, dtype=np.int8)
    mask[[0, 3, 7]] = 1
    counts = Counter(int(space.sample(mask=mask)) for _ in range(6000))
    assert set(counts) == {0, 3, 7}
    assert all(abs(count - 2000) < 200 for count in counts.values())  # uniform
    assert space.sample(mask=np.zeros(13, dtype=np.int8)) == 0  # nothing allowed: start
    seeded = [MaskedDiscrete(13, seed=5) for _ in range(2)]
    draws = [[int(one.sample(mask=mask)) for _ in range(20)] for one in seeded]
    assert draws[0] == draws[1] and len(set(draws[0])) > 1
    assert isinstance(space, gym.spaces.Discrete)
    for bad, message in [
        (np.ones(13, dtype=np.int64), "dtype"),
        (np.ones(12, dtype=np.int8), "shape"),
        (np.full(13, 2, dtype=np.int8), "0 or 1"),
    ]:
        with pytest.raises(AssertionError, match=message):
            space.sample(mask=bad)


def test_slip_shaping_telescopes_to_a_round_penalty():
    """Over a finished episode the ``slip`` term adds ``slip * (bound at reset - rounds)``:
    it ranks episodes as the round penalty does, but is paid when the critical path slips."""
    instance = chain_instance(2, 3)
    interleaved = [call(0), switch(1), call(0), switch(0), call(1), switch(1), call(1)]
    interleaved += [switch(0), call(2), switch(1), call(2), switch(0), ANSWER, WAIT]
    interleaved += [switch(1), ANSWER]
    returns = {}
    for slip in (0.0, -0.05):
        env = AsyncToolEnv(instances=[instance], latency="fixed", reward_weights={"slip": slip})
        env.reset(seed=0)
        assert env.simulator.finish_lower_bound() == 7  # 3 steps of 1 + L = 2, both chains
        rewards = [env.step(action)[1] for action in interleaved]
        returns[slip] = sum(rewards)
        if slip:
            # A1 waits one round for the call slot: the bound slips once, at that decision.
            assert sum(1 for reward in rewards if reward < -0.06) >= 1
    assert env.simulator.finish_lower_bound() == env.simulator.rounds == 8
    assert returns[-0.05] - returns[0.0] == pytest.approx(-0.05 * (8 - 7))


def test_direct_actions_play_the_interleaved_schedule():
    """``action_mode="direct"``: ``1 + k*S + s`` calls step s of task k, ``1 + K*S + k``
    answers task k; the interleaved 2-chain schedule takes 8 rounds as in focus mode."""
    env = AsyncToolEnv(instances=[chain_instance(2, 3)], latency="fixed", action_mode="direct")
    assert env.action_space.n == 1 + 3 * 8 + 3

    def direct_call(task: int, step: int) -> int:
        return 1 + task * 8 + step

    def direct_answer(task: int) -> int:
        return 1 + 3 * 8 + task

    actions = [direct_call(k, s) for s in range(3) for k in (0, 1)]
    actions += [direct_answer(0), WAIT, direct_answer(1)]
    observation, _ = env.reset(seed=0)
    assert np.flatnonzero(observation["action_mask"]).tolist() == [0, 1, 9]
    for index, action in enumerate(actions):
        assert observation["action_mask"][action] == 1, (index, action)
        observation, _, terminated, _, info = env.step(action)
    assert terminated
    assert info["metrics"]["rounds"] == 8 and info["metrics"]["instance_success"]
    # A padding task's action is a penalised no-op, not a crash.
    env.reset(seed=0)
    _, reward, *_ = env.step(direct_call(2, 0))
    assert reward == pytest.approx(-0.1) and env.simulator.invalid_actions == 1


def test_bad_reset_options_and_too_small_padding_are_refused_clearly():
    env = AsyncToolEnv(instances=[chain_instance(2, 3)])
    with pytest.raises(ValueError, match=r"instance_index'\] must be in 0\.\.0, got 1"):
        env.reset(seed=0, options={"instance_index": 1})
    with pytest.raises(TypeError, match="must be a whole number"):
        env.reset(seed=0, options={"instance_index": 0.5})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(seed=0, options={"instance_idx": 0})
    with pytest.raises(TypeError, match="must be a dict"):
        env.reset(seed=0, options="instance_index")
    env.reset(seed=0, options={"instance_index": np.int64(0)})
    # A procedural bank with longer tasks than the padding fails at construction, not on
    # the seeds that happen to draw a long task.
    with pytest.raises(ValueError, match="raise max_steps"):
        AsyncToolEnv(max_steps=2)
    AsyncToolEnv(max_steps=3, steps_per_task=(2, 3)).reset(seed=0)
