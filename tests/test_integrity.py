"""Reward integrity, one mechanism at a time, with values worked out by hand.

The cheat battery (``tests/test_cheats.py``) attacks every dev instance with every strategy;
these tests pin each mechanism down on small hand-built instances: when a call takes effect,
what a guess and an echo teach, how writes are judged by the final state, how a spoiled
task's credit is taken back and paid back in the last reward, what a change no task owns
costs, and how the numeric envs treat a repeated write.
"""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import numpy as np

import asynctool_env  # noqa: F401  (registers the envs)
from asynctool_env.chat.gym_env import AsyncToolChatEnv
from asynctool_env.core.resolver import Echo, Knowledge
from asynctool_env.core.rewards import RewardWeights
from asynctool_env.core.scenario import StepSpec, TaskSpec, build_task, build_task_from_spec
from asynctool_env.core.simulator import CallEvent, CallKind
from asynctool_env.core.task import Instance, Task
from asynctool_env.scenarios import SCENARIOS

WEIGHTS = RewardWeights()


def _task(scenario: str, template: str, world_seed: int = 7, rng_seed: int = 0) -> Task:
    return build_task(SCENARIOS[scenario], template, world_seed, np.random.default_rng(rng_seed))


#: Restock a product (query -> update) and send a message (find -> send): two scenarios.
RESTOCK = _task("data_management", "restock_product")
MESSAGE = _task("messaging", "message_contact")
TWO = Instance("restock-and-message", (RESTOCK, MESSAGE))


def _env(instance: Instance) -> AsyncToolChatEnv:
    env = AsyncToolChatEnv(
        instances=[instance], latency="sync", max_calls_per_turn=None, max_rounds=40
    )
    env.reset(seed=0, options={"instance_index": 0})
    return env


def _reply(env: AsyncToolChatEnv, *calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"c{index}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for index, (name, arguments) in enumerate(calls or [("wait", {})])
        ],
    }
    *_, info = env.step(message)
    return info


def _gold(task: Task, step: int) -> tuple[str, dict[str, Any]]:
    return task.steps[step].tool, dict(task.steps[step].expected_arguments)


def _answer(task_id: str, answer: Any) -> tuple[str, dict[str, Any]]:
    return "submit_answer", {"task_id": task_id, "answer": answer}


def _changes(env: AsyncToolChatEnv, scenario: str) -> dict[Any, Any]:
    """What calls changed in the episode's world of ``scenario`` (none when no call ran)."""
    world = env.chat._worlds.get((scenario, 7))
    return {} if world is None else world.state.snapshot()


def _kinds(env: AsyncToolChatEnv) -> list[CallKind]:
    return [event.kind for event in env.simulator.trace if isinstance(event, CallEvent)]


# -- when a call takes effect ---------------------------------------------------------------


def test_a_write_takes_effect_when_it_is_made():
    """A read made in the same reply, after the write, sees the write: its response arrives
    together with the write's, but the effect applied when the write was made."""
    env = _env(TWO)
    _reply(env, _gold(RESTOCK, 0))
    record_id = RESTOCK.steps[1].expected_arguments["record_id"]
    _reply(env, _gold(RESTOCK, 1), ("get_table_record", {"record_id": record_id}))
    responses = [
        json.loads(line.split(": ", 1)[1])
        for line in env.chat.messages[-1]["content"].splitlines()
        if line.startswith("Response to c1")
    ]
    assert responses[0]["record"]["stock"] == 210  # the instruction's new stock


# -- guesses and echoes ------------------------------------------------------------------------


def test_a_guessed_id_is_refused_and_changes_nothing():
    """The product's record id is remembered, not looked up: the update is a violation, is
    not made, and the world is as it was."""
    env = _env(TWO)
    _reply(env, _gold(RESTOCK, 1))
    assert _kinds(env) == [CallKind.VIOLATION]
    assert _changes(env, "data_management") == {}
    report = env.chat.messages[-1]["content"]
    assert "dependency violation" in report and "VER-" not in report


def test_an_echo_teaches_nothing_but_new_information_does():
    told = Knowledge()
    # change_text_case gives its input back in capitals: nothing learnt
    told.add({"text": "MAYA PATEL", "style": "upper"}, Echo.of({"text": "maya patel"}))
    assert not told.knows("Maya Patel")
    # a phrase replaced inside a text: the text is learnt whole, its echoed words are not
    told.add({"text": "Nora ordered 7"}, Echo.of({"text": "Nora ordered 5", "old": "5"}))
    assert told.knows("Nora ordered 7") and not told.knows("Nora")
    # a job id that contains an argument ("csv") is new information all the same
    told.add({"job_id": "EXP-ORD-CSV-3F9A", "row_count": 40}, Echo.of({"file_format": "csv"}))
    assert told.knows("EXP-ORD-CSV-3F9A") and told.knows(40)
    # an echoed number is not learnt
    told.add({"limit": 12}, Echo.of({"limit": 12}))
    assert not told.knows(12)


def test_a_remembered_value_laundered_through_an_echo_stays_unknown():
    """The remembered record id, passed through a query that reports its filter back, is a
    guess itself; and the update that would use it is refused too."""
    env = _env(TWO)
    record_id = RESTOCK.steps[1].expected_arguments["record_id"]
    wash = {"table": "products", "where_column": "record_id", "where_value": record_id}
    _reply(env, ("query_table_records", wash))
    _reply(env, _gold(RESTOCK, 1))
    assert _kinds(env) == [CallKind.VIOLATION, CallKind.VIOLATION]
    assert not env.chat.resolver.knowledge.knows(record_id)


# -- writes by the final state, and credit taken back -------------------------------------------


def _restock(env: AsyncToolChatEnv) -> None:
    _reply(env, _gold(RESTOCK, 0))
    _reply(env, _gold(RESTOCK, 1))


def _message(env: AsyncToolChatEnv) -> dict[str, Any]:
    _reply(env, _gold(MESSAGE, 0))
    _reply(env, _gold(MESSAGE, 1))
    return _reply(env, _answer("T2", MESSAGE.expected_answer))


def _episode(after_t1: tuple[str, dict[str, Any]]) -> tuple[AsyncToolChatEnv, dict[str, Any]]:
    """T1 restocked and answered, one more call, then T2 done and answered."""
    env = _env(TWO)
    _restock(env)
    _reply(env, _answer("T1", RESTOCK.expected_answer))
    _reply(env, after_t1)
    return env, _message(env)


def test_a_write_repeated_after_the_answer_takes_the_credit_back():
    """The same update again, after T1 was answered: a second version of the record. T1 was
    credited when answered; the end of the episode takes it back, and the last reward pays
    the task_success weight back (the repeat also costs the redundant-call weight)."""
    record_id = RESTOCK.steps[1].expected_arguments["record_id"]
    honest, honest_info = _episode(("get_table_record", {"record_id": record_id}))
    spoiled, info = _episode(_gold(RESTOCK, 1))
    assert [r["success"] for r in honest_info["task_results"]] == [True, True]
    t1 = info["task_results"][0]
    assert not t1["success"] and any(r.startswith("after the answer") for r in t1["reasons"])
    assert info["metrics"]["revoked_answers"] == 1
    assert "spoiled_after_answer" in info["metrics"]["failure_modes"]
    assert info["metrics"]["tasks_succeeded"] == 1 and not info["metrics"]["instance_success"]
    difference = spoiled.episode_return - honest.episode_return
    assert np.isclose(difference, -WEIGHTS.task_success + WEIGHTS.redundant_call)


def test_a_write_no_task_owns_fails_the_instance_and_costs_its_weight():
    """A backup nobody asked for (no task's tool, no task's values): charged to no task, so
    both tasks keep their credit, but the instance is not right and the last reward pays the
    collateral_write weight."""
    record_id = RESTOCK.steps[1].expected_arguments["record_id"]
    honest, _ = _episode(("get_table_record", {"record_id": record_id}))
    backup = {"tables": ["invoices"], "label": "nightly"}
    env, info = _episode(("backup_database_tables", backup))
    assert [r["success"] for r in info["task_results"]] == [True, True]
    assert info["metrics"]["collateral_writes"] == 1
    assert not info["metrics"]["instance_success"] and info["metrics"]["efficiency"] == 0.0
    assert "collateral_write" in info["metrics"]["failure_modes"]
    assert np.isclose(env.episode_return - honest.episode_return, WEIGHTS.collateral_write)


def test_an_extra_write_of_the_tasks_own_kind_is_charged_to_it():
    """A second message, to the same contact with another text: T2's (its tool, its
    contact), so T2 fails; T1 is untouched."""
    env = _env(TWO)
    _restock(env)
    _reply(env, _answer("T1", RESTOCK.expected_answer))
    _reply(env, _gold(MESSAGE, 0))
    name, arguments = _gold(MESSAGE, 1)
    _reply(env, (name, arguments), (name, {**arguments, "text": "And one more thing."}))
    info = _reply(env, _answer("T2", MESSAGE.expected_answer))
    assert [r["success"] for r in info["task_results"]] == [True, False]
    assert any("does not ask for" in r for r in info["task_results"][1]["reasons"])
    assert info["metrics"]["collateral_writes"] == 0


def test_the_last_write_wins():
    """Two ordered updates of one record (gold, then platinum); making the first again after
    the second leaves the record gold: not what the task leaves."""
    scenario = SCENARIOS["data_management"]
    base = _task("data_management", "promote_top_customer")
    query, update = base.steps
    record = update.arguments["record_id"]
    spec = TaskSpec(
        instruction=base.instruction.replace(
            'change their tier to "gold"', 'change their tier to "gold", then to "platinum"'
        ),
        steps=(
            StepSpec(query.tool, dict(query.arguments)),
            StepSpec(update.tool, {"record_id": record, "changes": {"tier": "gold"}}),
            StepSpec(update.tool, {"record_id": record, "changes": {"tier": "platinum"}}, (1,)),
        ),
        answer="${s2.version_id}",
    )
    task = build_task_from_spec(scenario, spec, 7, template="two_tiers")
    instance = Instance("two-tiers", (task, MESSAGE))
    for last_again in (False, True):
        env = _env(instance)
        for step in range(3):
            _reply(env, _gold(task, step))
        if last_again:
            _reply(env, _gold(task, 1))  # gold again: the record ends gold
        _reply(env, _answer("T1", task.expected_answer))
        results = _message(env)["task_results"]
        assert results[0]["success"] is (not last_again), results[0]["reasons"]


# -- the numeric envs -------------------------------------------------------------------------


def test_the_numeric_env_fails_a_task_whose_write_step_is_called_twice():
    """direct actions: 0 wait, 1 + k*S + s call step s of task k, 1 + K*S + k answer task k.
    Restocking twice fails T1 in the single env and in the batched env alike."""
    kwargs = {"instances": [TWO], "action_mode": "direct", "latency": "sync"}
    single = gym.make("AsyncTool-v0", **kwargs)
    batched = gym.make_vec(
        "AsyncTool-v0", num_envs=1, vectorization_mode="vector_entry_point", **kwargs
    )
    env = single.unwrapped
    tasks, steps = env.max_tasks, env.max_steps
    call = lambda task, step: 1 + task * steps + step  # noqa: E731
    answer = lambda task: 1 + tasks * steps + task  # noqa: E731
    plan = [call(0, 0), 0, call(0, 1), 0, call(0, 1), 0, answer(0)]
    plan += [call(1, 0), 0, call(1, 1), 0, answer(1)]
    single.reset(seed=0)
    batched.reset(seed=0)
    total = batch_total = 0.0
    for action in plan:
        _, reward, terminated, _, info = single.step(action)
        _, rewards, *_ = batched.step(np.array([action]))
        total += reward
        batch_total += float(rewards[0])
    assert terminated
    metrics = info["metrics"]
    assert metrics["tasks_succeeded"] == 1 and metrics["redundant_calls"] == 1
    assert np.isclose(total, batch_total)
    assert info["metrics"]["task_completion_rounds"][0] is not None  # answered, and failed


# -- doing a step's work ------------------------------------------------------------------


def test_a_check_run_on_other_input_does_not_do_the_steps_work():
    """The document is fetched honestly, then "validated" as a one-record excerpt: even if
    that answers as the gold validation does, it is not the validation of the document, so
    the step stays undone and the answer read from it is refused."""
    task = _task("data_format", "validate_document")
    instance = Instance("validate", (task, MESSAGE))
    env = _env(instance)
    _reply(env, _gold(task, 0))
    _reply(env, _gold(task, 1))
    name, arguments = _gold(task, 2)
    excerpt = arguments["text"].split("\n- ")[0]  # the first record only
    _reply(env, (name, {**arguments, "text": excerpt}))
    assert _kinds(env)[-1] is CallKind.UNMATCHED
    _reply(env, _answer("T1", task.expected_answer))
    result = env.chat.task_results()[0]
    assert not result["success"] and any("reached you" in r for r in result["reasons"])


def test_a_value_picked_from_a_list_needs_that_list():
    """The restocked product is the one with the lowest stock of a query's list. Its record
    id, known from elsewhere (here: handed to the agent directly), is not enough: knowing the
    id is not knowing it is the one, so the update is a violation until the query arrived."""
    env = _env(TWO)
    record_id = RESTOCK.steps[1].expected_arguments["record_id"]
    env.chat.resolver.knowledge.add({"record_id": record_id})
    env.chat.resolver.learnt.add({"record_id": record_id})
    resolution = env.chat.resolver.resolve(*_gold(RESTOCK, 1))
    assert resolution.kind is CallKind.VIOLATION
    _reply(env, _gold(RESTOCK, 0))  # the query that lists the candidates
    assert env.chat.resolver.resolve("get_table_record", {"record_id": record_id}).kind in (
        CallKind.UNMATCHED,
        CallKind.CORRECT,
    )
    assert env.chat.resolver.resolve(*_gold(RESTOCK, 1)).kind is CallKind.CORRECT
