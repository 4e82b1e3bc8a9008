"""The multi-agent env: PettingZoo's API and seed tests, hand-computed contention, the
no-contention optimum split across agents, rewards, termination and bad arguments.

Timing notation: a call issued in round ``r`` that starts in round ``s >= r`` (after waiting
in its tool's queue) with latency ``L`` is delivered at the start of round ``s + 1 + L``; a
capacity-1 tool is busy from ``s`` until that delivery.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from asynctool_env.core.simulator import CallEvent
from asynctool_env.core.task import Instance, Step, Task
from asynctool_env.multi_agent import (
    OWNER_NONE,
    OWNER_OTHER,
    OWNER_SELF,
    AsyncToolParallelEnv,
    CriticalPathAgentPolicy,
    RandomAgentPolicy,
    env,
    parallel_env,
    play_episode,
)
from asynctool_env.scenarios import tool_code
from asynctool_env.solver import optimal_schedule_for_instance

SHARED = "shared_api"
OTHER = "other_api"


def chain(name: str, n_steps: int, tool: str = SHARED) -> Task:
    """A chain ``s0 -> s1 -> ...`` on ``tool``: each step needs the previous token."""
    steps = []
    for index in range(n_steps):
        arguments: dict[str, str] = {"name": f"{name}-{index}"}
        expected = dict(arguments)
        if index:
            arguments["after"] = f"${{s{index - 1}.token}}"
            expected["after"] = f"{name}-token-{index - 1}"
        steps.append(
            Step(
                tool=tool,
                arguments=arguments,
                depends_on=(index - 1,) if index else (),
                expected_arguments=expected,
                expected_response={"token": f"{name}-token-{index}"},
            )
        )
    return Task(f"hand/{name}", "messaging", f"Run {name}.", tuple(steps))


def hand_env(tasks: list[Task], latency: dict[str, int], **kwargs) -> AsyncToolParallelEnv:
    instance = Instance("hand/" + "+".join(task.task_id for task in tasks), tuple(tasks))
    return parallel_env(instances=[instance], tool_latencies=latency, **kwargs)


def call(environment: AsyncToolParallelEnv, task: int, step: int) -> int:
    action = environment.call_action(task, step)
    assert action == 1 + task * environment.max_steps + step  # the documented layout
    return action


def play_ready_steps(environment: AsyncToolParallelEnv, seed: int = 0):
    """Every agent calls its first ready step each round; returns the last step's output."""
    observations, _ = environment.reset(seed=seed)
    result = None
    while environment.agents:
        actions = {}
        for agent in environment.agents:
            mask = observations[agent]["action_mask"]
            calls = np.flatnonzero(mask[1 : environment.answer_action(0)])
            actions[agent] = int(1 + calls[0]) if len(calls) else 0
        result = environment.step(actions)
        observations = result[0]
    return result


# ---------------------------------------------------------------------------------------
# PettingZoo's own tests

CONFIGS = [
    pytest.param({"task_mode": "assigned"}, id="assigned"),
    pytest.param({"task_mode": "claim"}, id="claim"),
    pytest.param({"task_mode": "assigned", "leave_when_done": True}, id="assigned-leave"),
    pytest.param(
        {"task_mode": "claim", "auto_answer": False, "leave_when_done": True, "n_agents": 3},
        id="claim-manual-answer-3-agents",
    ),
    pytest.param({"task_mode": "claim", "flat_observation": True}, id="claim-flat"),
]


@pytest.fixture(autouse=True)
def _quiet_pettingzoo_advice():
    # The API tests advise Box observations; a Dict with action_mask is the documented form.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Observation is not a NumPy array")
        warnings.filterwarnings("ignore", message="Observation space for each agent probably")
        # The API tests reset with a made-up option, which the env ignores with a warning.
        warnings.filterwarnings(
            "ignore", message=r"reset ignores unknown option\(s\) \['options'\]"
        )
        yield


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_parallel_api_test(kwargs):
    parallel_api_test(parallel_env(max_rounds=60, **kwargs), num_cycles=200)


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_aec_api_test(kwargs):
    api_test(env(max_rounds=60, **kwargs), num_cycles=200)


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_seed_tests(kwargs):
    parallel_seed_test(lambda: parallel_env(max_rounds=60, **kwargs), num_cycles=100)
    seed_test(lambda: env(max_rounds=60, **kwargs), num_cycles=100)


def test_same_seed_same_trace_and_infos():
    def run():
        environment = parallel_env(task_mode="claim")
        policies = {a: RandomAgentPolicy(i) for i, a in enumerate(environment.possible_agents)}
        returns, summary = play_episode(environment, policies, seed=7)
        return returns, summary, list(environment.simulator.trace)

    assert run() == run()


def test_spaces_are_cached_distinct_per_agent_and_equal():
    environment = parallel_env(n_agents=3)
    first, second = environment.possible_agents[:2]
    for agent in environment.possible_agents:
        assert environment.observation_space(agent) is environment.observation_space(agent)
        assert environment.action_space(agent) is environment.action_space(agent)
    environment.reset(seed=0)
    environment.step(dict.fromkeys(environment.agents, 0))
    assert environment.action_space(first) is environment.action_spaces[first]
    # Separate objects (each agent's sampling stream is its own), equal spaces (SuperSuit).
    assert environment.action_space(first) is not environment.action_space(second)
    assert environment.observation_space(first) == environment.observation_space(second)
    assert environment.action_space(first).n == 1 + 4 * 8 + 2 * 4


# ---------------------------------------------------------------------------------------
# Contention, computed by hand


def test_two_agents_queue_on_a_capacity_one_tool():
    # Two one-step tasks on one tool, L = 2, both called in round 0. agent_0 goes first:
    # starts at 0, delivered at 3. agent_1 waits for the slot: starts at 3 (queued 3),
    # delivered at 3 + 1 + 2 = 6. Answers in rounds 3 and 6, so rounds = 7.
    environment = hand_env([chain("A", 1), chain("B", 1)], {SHARED: 2})
    observations, _ = environment.reset(seed=0)
    assert observations["agent_0"]["step_tool_wait"][0] == 0
    observations, *_ = environment.step({"agent_0": 1, "agent_1": call(environment, 1, 0)})
    # The two calls hold the slot until round 6: a call made in round 1 would queue 5 rounds.
    assert observations["agent_0"]["step_tool_wait"][0] == 5
    # agent_1's call: task 1, step 0, the tool's code, waited 1, latency 2, queued 3.
    code = float(np.float32(tool_code(SHARED)))  # a hash of the name, bundled or not
    assert observations["agent_1"]["pending"][:6].tolist() == [1, 0, code, 1, 2, 3]
    assert observations["agent_0"]["pending"][:6].tolist() == [0, 0, code, 1, 2, 0]
    result = None
    while environment.agents:
        result = environment.step(dict.fromkeys(environment.agents, 0))
    _, _, terminations, truncations, infos = result
    assert all(terminations.values()) and not any(truncations.values())
    metrics = infos["agent_0"]["metrics"]
    assert metrics["rounds"] == 7
    assert metrics["task_completion_rounds"] == [3, 6]
    # The queue makes this optimal: the pooled bound sees it, the no-limit split does not.
    assert environment.pooled_optimal_rounds() == 7
    assert environment.split_optimal_rounds() == 4
    assert metrics["queued_rounds"] == 3
    assert infos["agent_0"]["agent_metrics"]["agent_0"]["queued_rounds"] == 0
    assert infos["agent_0"]["agent_metrics"]["agent_1"]["queued_rounds"] == 3
    assert infos["agent_1"]["tool_contention"] == {SHARED: {"calls": 2, "queued_rounds": 3}}
    calls = [event for event in environment.simulator.trace if isinstance(event, CallEvent)]
    assert [(event.task, event.due_round, event.queued_rounds) for event in calls] == [
        (0, 3, 0),
        (1, 6, 3),
    ]


def test_two_chains_queue_every_step_and_fifo_follows_agent_order():
    # Two 2-step chains on one capacity-1 tool, L = 1, each agent calling as soon as it can.
    # Round 0: A0 starts at 0 (due 2); B0 queues until 2 (queued 2, due 4).
    # Round 2: A1 queues until 4 (queued 2, due 6). Round 4: B1 queues until 6 (due 8).
    # Answers in rounds 6 and 8: rounds = 9, queued rounds 2 (first agent) + 4 (second).
    for assignment, first_task in (((0, 1), 0), ((1, 0), 1)):
        environment = hand_env([chain("A", 2), chain("B", 2)], {SHARED: 1}, assignment=assignment)
        _, _, _, _, infos = play_ready_steps(environment)
        metrics = infos["agent_0"]["metrics"]
        assert metrics["rounds"] == 9
        assert metrics["queued_rounds"] == 6
        # Four calls of 2 rounds each through one slot: no team can do better than 9.
        assert environment.pooled_optimal_rounds() == 9
        assert environment.split_optimal_rounds() == 5
        # agent_0 acts first in every round, whichever task it owns: it gets the free slot.
        assert metrics["task_completion_rounds"][first_task] == 6
        assert metrics["task_completion_rounds"][1 - first_task] == 8
        per_agent = infos["agent_0"]["agent_metrics"]
        assert per_agent["agent_0"]["queued_rounds"] == 2
        assert per_agent["agent_1"]["queued_rounds"] == 4


def test_without_limits_the_chains_run_side_by_side():
    # Same chains, tool_capacity=None: calls at 0 and 2, last delivery at 4, rounds 5.
    environment = hand_env([chain("A", 2), chain("B", 2)], {SHARED: 1}, tool_capacity=None)
    *_, infos = play_ready_steps(environment)
    assert infos["agent_0"]["metrics"]["rounds"] == 5
    assert infos["agent_0"]["metrics"]["queued_rounds"] == 0


def test_per_tool_capacity_limits_only_the_named_tool():
    # Tasks A, B on the limited tool (L = 1), C, D on an unlimited one. Round 0: A (agent_0)
    # and B (agent_1) call; B queues 2 rounds (due 4). Round 1: agent_0 calls C (free, due 3),
    # agent_1 calls D (free, due 3). Answers: A 2, C 3, D 3, B 4 -> rounds 5.
    environment = hand_env(
        [chain("A", 1), chain("B", 1), chain("C", 1, OTHER), chain("D", 1, OTHER)],
        {SHARED: 1, OTHER: 1},
        tool_capacity={SHARED: 1},
    )
    environment.reset(seed=0)
    environment.step({"agent_0": call(environment, 0, 0), "agent_1": call(environment, 1, 0)})
    environment.step({"agent_0": call(environment, 2, 0), "agent_1": call(environment, 3, 0)})
    result = None
    while environment.agents:
        result = environment.step(dict.fromkeys(environment.agents, 0))
    metrics = result[4]["agent_0"]["metrics"]
    assert metrics["task_completion_rounds"] == [2, 4, 3, 3]
    assert metrics["rounds"] == 5
    assert result[4]["agent_0"]["tool_contention"] == {
        OTHER: {"calls": 2, "queued_rounds": 0},
        SHARED: {"calls": 2, "queued_rounds": 2},
    }


# ---------------------------------------------------------------------------------------
# Without limits: the team's rounds are the single-agent optimum split across agents


@pytest.mark.parametrize("n_agents", [1, 2, 3])
def test_without_limits_team_rounds_equal_the_max_of_each_agents_optimum(n_agents):
    environment = parallel_env(
        n_agents=n_agents, tool_capacity=None, n_tasks=(2, 4), composition="mixed"
    )
    for seed in range(8):
        environment.reset(seed=seed)
        simulator, instance = environment.simulator, environment.instance
        plans: list[dict[int, tuple[int, int]]] = []
        expected = 0
        for index in range(n_agents):
            mine = [k for k, owner in enumerate(environment.task_owner) if owner == index]
            if not mine:
                plans.append({})
                continue
            sub = Instance("sub", tuple(instance.tasks[k] for k in mine))
            schedule = optimal_schedule_for_instance(
                sub, [simulator.step_latency[k] for k in mine], 1
            )
            assert schedule.exact
            expected = max(expected, schedule.rounds)
            plans.append(
                {r: (mine[t], s) for r, calls in enumerate(schedule.calls) for t, s in calls}
            )
        result = None
        while environment.agents:
            now = environment.simulator.round
            actions = {}
            for agent in environment.agents:
                planned = plans[environment.possible_agents.index(agent)].get(now)
                actions[agent] = call(environment, *planned) if planned else 0
            result = environment.step(actions)
        metrics = result[4][environment.possible_agents[0]]["metrics"]
        assert environment.split_optimal_rounds() == expected
        assert metrics["instance_success"]
        assert metrics["correct_calls"] == metrics["calls"] == instance.n_steps
        assert metrics["rounds"] == expected, f"seed {seed}"


@pytest.mark.parametrize("task_mode", ["assigned", "claim"])
def test_no_team_beats_the_split_or_the_pooled_optimum(task_mode):
    environment = parallel_env(tool_capacity=1, task_mode=task_mode, n_tasks=4, max_rounds=80)
    tighter = 0
    for seed in range(6):
        for make in (CriticalPathAgentPolicy, RandomAgentPolicy):
            policies = {agent: make(i) for i, agent in enumerate(environment.possible_agents)}
            _, summary = play_episode(environment, policies, seed=seed)
            rounds = summary["metrics"]["rounds"]
            pooled = environment.pooled_optimal_rounds()
            assert summary["metrics"]["finished"] and rounds >= pooled
            split = environment.split_optimal_rounds()
            if split is not None:  # None while a task is unclaimed
                assert rounds >= split
                tighter += pooled > split
    # Four tasks of one scenario share tools: the queues matter in most episodes.
    assert tighter >= 3


# ---------------------------------------------------------------------------------------
# Claims, rewards, termination


def test_claim_conflict_goes_to_the_first_agent_in_the_order():
    environment = hand_env([chain("A", 1), chain("B", 1)], {SHARED: 1}, task_mode="claim")
    observations, _ = environment.reset(seed=0)
    claim_a = environment.claim_action(0)
    assert claim_a == 1 + 4 * 8 + 4
    assert observations["agent_1"]["task_owner"][:2].tolist() == [OWNER_NONE, OWNER_NONE]
    assert observations["agent_1"]["action_mask"][1:claim_a].sum() == 0  # no owned task
    observations, *_, infos = environment.step({"agent_0": claim_a, "agent_1": claim_a})
    assert environment.task_owner == [0, -1]
    assert infos["agent_1"]["claim_conflicts"] == 1
    assert infos["agent_1"]["invalid_actions"] == 0
    assert observations["agent_0"]["task_owner"][:2].tolist() == [OWNER_SELF, OWNER_NONE]
    assert observations["agent_1"]["task_owner"][:2].tolist() == [OWNER_OTHER, OWNER_NONE]
    assert observations["agent_1"]["action_mask"][claim_a] == 0
    # Claiming an owned task now is a masked no-op.
    *_, infos = environment.step({"agent_0": 0, "agent_1": claim_a})
    assert infos["agent_1"]["invalid_actions"] == 1
    assert environment.simulator.invalid_actions == 1


def test_rewards_split_into_team_and_individual_terms():
    # The hand case of test_two_agents_queue_on_a_capacity_one_tool: 7 rounds, 2 successes,
    # one step done per agent; agent_1 also pays for its 3 queued rounds.
    weights = {"queued": -0.01}
    environment = hand_env([chain("A", 1), chain("B", 1)], {SHARED: 2}, reward_weights=weights)
    environment.reset(seed=0)
    returns = dict.fromkeys(environment.possible_agents, 0.0)
    actions = {"agent_0": 1, "agent_1": call(environment, 1, 0)}
    while environment.agents:
        _, rewards, *_ = environment.step(actions)
        for agent, reward in rewards.items():
            assert isinstance(reward, float)
            returns[agent] += reward
        actions = dict.fromkeys(environment.agents, 0)
    team = 2 * 1.0 - 0.05 * 7
    assert returns["agent_0"] == pytest.approx(team + 0.1)
    assert returns["agent_1"] == pytest.approx(team + 0.1 - 0.01 * 3)


def test_agents_leave_exactly_when_done():
    # agent_0 owns a one-step task (answered at round 2), agent_1 a 3-step chain (round 6).
    environment = hand_env(
        [chain("A", 1), chain("B", 3)], {SHARED: 1}, tool_capacity=None, leave_when_done=True
    )
    observations, _ = environment.reset(seed=0)
    left: dict[str, int] = {}
    while environment.agents:
        before = list(environment.agents)
        actions = {}
        for agent in before:
            calls = np.flatnonzero(
                observations[agent]["action_mask"][1 : environment.answer_action(0)]
            )
            actions[agent] = int(1 + calls[0]) if len(calls) else 0
        observations, rewards, terminations, truncations, infos = environment.step(actions)
        assert set(observations) == set(rewards) == set(terminations) == set(before)
        for agent in before:
            assert (agent in environment.agents) == (
                not terminations[agent] and not truncations[agent]
            )
            if terminations[agent]:
                left[agent] = environment.simulator.round
    assert left == {"agent_0": 2, "agent_1": 6}
    assert "metrics" in infos["agent_1"] and "metrics" not in infos.get("agent_0", {})


def test_truncation_at_max_rounds_removes_every_agent():
    environment = parallel_env(max_rounds=5)
    environment.reset(seed=0)
    for _ in range(4):
        _, _, terminations, truncations, _ = environment.step(dict.fromkeys(environment.agents, 0))
        assert not any(truncations.values()) and environment.agents
    _, _, terminations, truncations, infos = environment.step(dict.fromkeys(environment.agents, 0))
    assert all(truncations.values()) and not any(terminations.values())
    assert environment.agents == []
    assert infos["agent_0"]["metrics"]["rounds"] == 5
    assert not infos["agent_0"]["metrics"]["finished"]


def test_manual_answers_and_premature_answers():
    environment = hand_env([chain("A", 2), chain("B", 1)], {SHARED: 0}, auto_answer=False)
    environment.reset(seed=0)
    answer_a = environment.answer_action(0)
    # agent_0 answers task A before its steps are done: premature, the task fails.
    _, rewards, *_, infos = environment.step(
        {"agent_0": answer_a, "agent_1": call(environment, 1, 0)}
    )
    assert infos["agent_0"]["premature_answers"] == 1
    assert rewards["agent_0"] == pytest.approx(-0.5 - 0.05)
    observations, *_ = environment.step({"agent_0": 0, "agent_1": 0})
    assert observations["agent_1"]["action_mask"][answer_a + 1] == 1  # B's step is done
    *_, terminations, _, infos = environment.step({"agent_0": 0, "agent_1": answer_a + 1})
    assert all(terminations.values())
    metrics = infos["agent_0"]["metrics"]
    assert metrics["rounds"] == 3 and metrics["tasks_succeeded"] == 1
    assert metrics["premature_answers"] == 1


# ---------------------------------------------------------------------------------------
# Robustness and bookkeeping


@pytest.mark.parametrize("task_mode", ["assigned", "claim"])
def test_any_action_in_the_space_is_safe_and_counters_match_the_trace(task_mode):
    environment = parallel_env(task_mode=task_mode, auto_answer=False, max_rounds=40)
    rng = np.random.default_rng(0)
    for seed in range(6):
        environment.reset(seed=seed)
        infos = {}
        while environment.agents:
            actions = {
                agent: int(rng.integers(environment.n_actions)) for agent in environment.agents
            }
            *_, infos = environment.step(actions)
        summary = infos[environment.possible_agents[0]]
        metrics, per_agent = summary["metrics"], summary["agent_metrics"]
        for name in ("calls", "invalid_actions", "queued_rounds", "premature_answers"):
            assert sum(item[name] for item in per_agent.values()) == metrics[name], name
        assert (
            sum(item["dependency_violations"] for item in per_agent.values())
            == (metrics["dependency_violations"])
        )
        contention = summary["tool_contention"]
        assert (
            sum(item["queued_rounds"] for item in contention.values()) == (metrics["queued_rounds"])
        )


def test_flat_observation_and_mask_in_info():
    flat = parallel_env(flat_observation=True)
    nested = parallel_env()
    flat_obs, flat_infos = flat.reset(seed=3)
    nested_obs, _ = nested.reset(seed=3)
    space = flat.observation_space("agent_0")
    assert space.dtype == np.float32 and flat_obs["agent_0"].shape == space.shape
    assert space.contains(flat_obs["agent_0"])
    np.testing.assert_array_equal(
        flat_infos["agent_0"]["action_mask"], nested_obs["agent_0"]["action_mask"]
    )


def test_supersuit_vector_env_runs():
    ss = pytest.importorskip("supersuit")
    pytest.importorskip("stable_baselines3")
    vec = ss.concat_vec_envs_v1(
        ss.pettingzoo_env_to_vec_env_v1(parallel_env(flat_observation=True, max_rounds=20)),
        2,
        num_cpus=0,
        base_class="stable_baselines3",
    )
    observations = vec.reset()
    assert observations.shape[0] == 4
    for _ in range(25):  # past one episode end: the vector env resets by itself
        observations, rewards, _, _ = vec.step(np.zeros(4, dtype=np.int64))
    assert observations.shape[0] == rewards.shape[0] == 4
    vec.close()


def test_render_ansi_describes_owners_and_tools():
    environment = hand_env([chain("A", 1), chain("B", 1)], {SHARED: 2}, render_mode="ansi")
    environment.reset(seed=0)
    environment.step({"agent_0": 1, "agent_1": call(environment, 1, 0)})
    text = environment.render()
    assert "agent_0" in text and "shared_api 1/1 busy, wait 5" in text


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_agents": 0}, ValueError, "n_agents"),
        ({"n_agents": 1.5}, TypeError, "n_agents"),
        ({"task_mode": "auction"}, ValueError, "task_mode"),
        ({"task_mode": "claim", "assignment": (0, 1)}, ValueError, "assignment"),
        ({"assignment": (0, 2)}, ValueError, r"assignment\[1\]"),
        ({"assignment": "01"}, TypeError, "assignment"),
        ({"tool_capacity": 0}, ValueError, "tool_capacity"),
        ({"tool_capacity": {SHARED: 0}}, ValueError, "tool_capacity"),
        ({"reward_weights": {"speed": 1.0}}, ValueError, "unknown reward weight"),
        ({"max_tasks": 9}, ValueError, "max_tasks"),
        ({"n_tasks": 5}, ValueError, "max_tasks"),
        ({"max_rounds": 1}, ValueError, "max_rounds"),
        ({"render_mode": "human"}, ValueError, "render_mode"),
        ({"instances": []}, ValueError, "empty"),
        ({"n_agents": 10**9}, ValueError, r"n_agents must be in 1\.\.64"),
        ({"max_tasks": "4"}, TypeError, "max_tasks must be a whole number"),
        ({"max_steps": 2.5}, TypeError, "max_steps must be a whole number"),
        ({"pending_slots": 1.5}, TypeError, "pending_slots must be a whole number"),
        ({"max_rounds": 2.0}, TypeError, "max_rounds must be a whole number"),
        ({"task_bank_seed": "a"}, TypeError, "task_bank_seed"),
        ({"tool_latencies": [1]}, TypeError, "tool_latencies must be a mapping"),
        ({"reward_weights": {"round": "x"}}, ValueError, "'round' must be a finite number"),
        ({"reward_weights": {"invalid": float("nan")}}, ValueError, "'invalid' must be a finite"),
        # The bank has tasks of up to 8 steps: without steps_per_task they may not fit.
        ({"max_steps": 3}, ValueError, "raise max_steps .* or pass steps_per_task"),
        ({"max_steps": 3, "steps_per_task": (2, 4)}, ValueError, "up to 4 steps"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        parallel_env(**kwargs)


def test_bad_calls_raise_clear_errors():
    environment = hand_env([chain("A", 1), chain("B", 1), chain("C", 1)], {SHARED: 1})
    with pytest.raises(RuntimeError, match="reset"):
        environment.step({"agent_0": 0, "agent_1": 0})
    with pytest.raises(ValueError, match="covers 2 tasks"):
        environment.reset(options={"assignment": (0, 1)})
    environment.reset(seed=0)
    with pytest.raises(ValueError, match="missing"):
        environment.step({"agent_0": 0})
    with pytest.raises(ValueError, match="not in the episode"):
        environment.step({"agent_0": 0, "agent_1": 0, "agent_7": 0})
    with pytest.raises(ValueError, match="must be in"):
        environment.step({"agent_0": 0, "agent_1": environment.n_actions})
    with pytest.raises(TypeError, match="must be an int"):
        environment.step({"agent_0": 0, "agent_1": None})
    unknown_tool = Instance("odd", (chain("A", 1, "teleport"),))
    with pytest.raises(KeyError, match="tool_latencies"):
        parallel_env(instances=[unknown_tool]).reset(seed=0)


def test_bad_reset_options_raise_clear_errors_and_typos_warn():
    environment = hand_env([chain("A", 1), chain("B", 1)], {SHARED: 1})
    with pytest.raises(TypeError, match="options must be a dict"):
        environment.reset(seed=0, options="instance_index")
    with pytest.raises(ValueError, match=r"instance_index'\] must be in 0\.\.0, got 1"):
        environment.reset(seed=0, options={"instance_index": 1})
    with pytest.raises(ValueError, match=r"must be in 0\.\.0, got -1"):
        environment.reset(seed=0, options={"instance_index": -1})
    with pytest.raises(TypeError, match="instance_index'] must be a whole number"):
        environment.reset(seed=0, options={"instance_index": 0.7})
    with pytest.raises(ValueError, match="not both"):
        environment.reset(
            seed=0, options={"instance": Instance("x", (chain("A", 1),)), "instance_index": 0}
        )
    with pytest.warns(UserWarning, match=r"ignores unknown option\(s\) \['asignment'\]"):
        environment.reset(seed=0, options={"asignment": (1, 0)})
    assert environment.task_owner == [0, 1]  # the typo changed nothing
    environment.reset(seed=0, options={"instance_index": 0, "assignment": (1, 1)})
    assert environment.task_owner == [1, 1]


def test_bad_step_input_and_unknown_agents_raise_clear_errors():
    environment = hand_env([chain("A", 1), chain("B", 1)], {SHARED: 1})
    environment.reset(seed=0)
    with pytest.raises(TypeError, match="dict agent name -> action, got list"):
        environment.step([0, 0])
    with pytest.raises(TypeError, match="got NoneType"):
        environment.step(None)
    with pytest.raises(KeyError, match=r"unknown agent 'agent_9'; the agents are \['agent_0'"):
        environment.observation_space("agent_9")
    with pytest.raises(KeyError, match="unknown agent 'bob'"):
        environment.action_space("bob")


def test_pending_latency_of_a_slow_custom_tool_stays_in_the_space():
    # A declared latency of 100 with max_rounds=20: the pending row's expected latency is
    # clipped to 8 like step_latency (it used to be 100, outside the Box's bound of 20).
    environment = hand_env([chain("A", 1), chain("B", 1)], {SHARED: 100}, max_rounds=20)
    environment.reset(seed=0)
    observations, *_ = environment.step({"agent_0": call(environment, 0, 0), "agent_1": 0})
    code = float(np.float32(tool_code(SHARED)))
    assert observations["agent_0"]["pending"][:6].tolist() == [0, 0, code, 1, 8, 0]
    assert observations["agent_0"]["step_latency"][0] == 8
    assert environment.observation_space("agent_0").contains(observations["agent_0"])


def remaining_path(observation: dict) -> np.ndarray:
    """From scratch, off the observation alone: per step (``K x S``), ``1 + latency`` plus the
    longest such path among the steps that need it (children read off ``step_parents``)."""
    n_tasks = observation["task_status"].shape[0]
    n_steps = observation["step_status"].shape[0] // n_tasks
    parents = observation["step_parents"].reshape(n_tasks, n_steps, n_steps)
    cost = 1.0 + observation["step_latency"].reshape(n_tasks, n_steps)
    present = observation["step_status"].reshape(n_tasks, n_steps) != 0
    path = np.zeros((n_tasks, n_steps))
    for step in range(n_steps - 1, -1, -1):  # children always come after their parents
        children = parents[:, :, step].astype(bool)  # [k, c]: c needs step
        longest_child = np.where(children, path, 0.0).max(axis=1)
        path[:, step] = np.where(present[:, step], cost[:, step] + longest_child, 0.0)
    return path


def test_step_tail_is_the_remaining_path_the_heuristic_ranks_by():
    # Chain of 3 on L = 1 (cost 2 each): tails 6, 4, 2; a one-step task on L = 2: tail 3.
    environment = hand_env([chain("A", 3), chain("B", 1)], {SHARED: 1})
    observations, _ = environment.reset(seed=0)
    tail = observations["agent_0"]["step_tail"].reshape(4, 8)
    assert tail[0, :4].tolist() == [6, 4, 2, 0]
    assert tail[1, :2].tolist() == [2, 0]
    assert tail[2:].sum() == 0
    generated = parallel_env(composition="mixed")
    for seed in range(5):
        observations, _ = generated.reset(seed=seed)
        observation = observations["agent_1"]
        np.testing.assert_allclose(
            observation["step_tail"], remaining_path(observation).reshape(-1), rtol=1e-6
        )


def test_flat_slice_locates_the_mask_at_the_front_of_the_flat_observation():
    environment = parallel_env(flat_observation=True, task_mode="claim")
    observations, infos = environment.reset(seed=1)
    mask_slice = environment.flat_slice("action_mask")
    assert mask_slice == slice(0, environment.n_actions)
    for agent in environment.agents:
        np.testing.assert_array_equal(observations[agent][mask_slice], infos[agent]["action_mask"])
    nested = parallel_env(task_mode="claim")
    nested_obs, _ = nested.reset(seed=1)
    tail = environment.flat_slice("step_tail")
    np.testing.assert_array_equal(observations["agent_0"][tail], nested_obs["agent_0"]["step_tail"])
    with pytest.raises(KeyError, match="no observation key 'mask'"):
        environment.flat_slice("mask")


def test_claims_after_everything_is_claimed_and_agents_without_tasks():
    # Three agents, two tasks. Round 0: agent_0 and agent_1 both claim A (agent_1 loses),
    # agent_2 claims B. Nothing is left to claim: every claim action is masked for everyone.
    environment = hand_env(
        [chain("A", 2), chain("B", 1)], {SHARED: 1}, task_mode="claim", n_agents=3
    )
    environment.reset(seed=0)
    claim_a, claim_b = environment.claim_action(0), environment.claim_action(1)
    observations, *_, infos = environment.step(
        {"agent_0": claim_a, "agent_1": claim_a, "agent_2": claim_b}
    )
    assert environment.task_owner == [0, 2]
    assert infos["agent_1"]["claim_conflicts"] == 1 and infos["agent_1"]["tasks_owned"] == 0
    for agent in environment.agents:
        assert observations[agent]["action_mask"][claim_a:].sum() == 0
    # agent_1 owns nothing: only wait is allowed, and a claim now is an invalid no-op.
    assert np.flatnonzero(observations["agent_1"]["action_mask"]).tolist() == [0]
    *_, infos = environment.step({"agent_0": 0, "agent_1": claim_b, "agent_2": 0})
    assert infos["agent_1"]["invalid_actions"] == 1 and environment.task_owner == [0, 2]

    # With leave_when_done the agent left without work terminates in that same round.
    leaving = hand_env(
        [chain("A", 2), chain("B", 1)],
        {SHARED: 1},
        task_mode="claim",
        n_agents=3,
        leave_when_done=True,
    )
    leaving.reset(seed=0)
    _, _, terminations, _, _ = leaving.step(
        {"agent_0": claim_a, "agent_1": claim_a, "agent_2": claim_b}
    )
    assert terminations == {"agent_0": False, "agent_1": True, "agent_2": False}
    assert leaving.agents == ["agent_0", "agent_2"]


def test_an_agent_assigned_nothing_leaves_after_the_first_round():
    environment = hand_env(
        [chain("A", 1), chain("B", 1)], {SHARED: 1}, assignment=(0, 0), leave_when_done=True
    )
    observations, _ = environment.reset(seed=0)
    assert environment.agents == ["agent_0", "agent_1"]
    assert np.flatnonzero(observations["agent_1"]["action_mask"]).tolist() == [0]
    _, _, terminations, truncations, _ = environment.step({"agent_0": 1, "agent_1": 0})
    assert terminations == {"agent_0": False, "agent_1": True} and not any(truncations.values())
    assert environment.agents == ["agent_0"]


def _claim_mode_returns(plan: list[dict[str, int]], **kwargs) -> tuple[dict[str, float], int]:
    """Play ``plan`` (one dict of actions per round, then waits) on two 2-step chains."""
    environment = hand_env(
        [chain("A", 2), chain("B", 2)],
        {SHARED: 1},
        task_mode="claim",
        tool_capacity=None,
        **kwargs,
    )
    environment.reset(seed=0)
    returns = dict.fromkeys(environment.possible_agents, 0.0)
    rounds = iter(plan)
    infos = {}
    while environment.agents:
        actions = next(rounds, {})
        _, rewards, _, _, infos = environment.step(
            {agent: actions.get(agent, 0) for agent in environment.agents}
        )
        for agent, reward in rewards.items():
            returns[agent] += reward
    metrics = infos["agent_0"]["metrics"]
    assert metrics["tasks_succeeded"] == 2 and metrics["invalid_actions"] == 0
    return returns, metrics["rounds"]


def test_claim_mode_returns_rank_by_rounds_in_sum_but_step_done_rewards_hoarding():
    # Split: claims in round 0, calls in rounds 1 and 3 (L = 1), rounds = 6.
    # Hoard: agent_0 claims both (rounds 0, 1) and calls A0, B0, A1, B1 in rounds 2..5,
    # last delivery at 7, rounds = 8. Per agent: 2 - 0.05 * rounds + 0.1 * own steps.
    c, a = 1 + 4 * 8 + 4, 1  # claim task 0; call task 0 step 0
    split = [
        {"agent_0": c, "agent_1": c + 1},
        {"agent_0": a, "agent_1": a + 8},
        {},
        {"agent_0": a + 1, "agent_1": a + 9},
    ]
    hoard = [{"agent_0": c}, {"agent_0": c + 1}] + [
        {"agent_0": action} for action in (a, a + 8, a + 1, a + 9)
    ]
    split_returns, split_rounds = _claim_mode_returns(split)
    hoard_returns, hoard_rounds = _claim_mode_returns(hoard)
    assert (split_rounds, hoard_rounds) == (6, 8)
    assert split_returns["agent_0"] == pytest.approx(2 - 0.3 + 0.2)
    assert hoard_returns["agent_0"] == pytest.approx(2 - 0.4 + 0.4)  # better for agent_0
    assert hoard_returns["agent_1"] == pytest.approx(2 - 0.4)
    assert sum(split_returns.values()) > sum(hoard_returns.values())  # the team ranks right
    # With step_done = 0 every agent's own return ranks by rounds too.
    flat_split, _ = _claim_mode_returns(split, reward_weights={"step_done": 0.0})
    flat_hoard, _ = _claim_mode_returns(hoard, reward_weights={"step_done": 0.0})
    assert all(flat_split[agent] > flat_hoard[agent] for agent in flat_split)
