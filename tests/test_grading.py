"""Grading written calls and answers: by effect, by information, by facts.

The perturbation suite runs over every distinct gold call of the shipped dataset: each
equivalent spelling a careful model may write must be canonically equal to the gold call and
answered the same by the backend (so a canonical-form declaration never hides a difference
in effect), and each effect-changing edit must not be. Then one regression test per defect
named in the validity issue, played through :class:`ChatEnv` as a model would.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from asynctool_env.chat.env import ChatEnv
from asynctool_env.chat.scripted import native_reply
from asynctool_env.core.canonical import canon, canonical_key
from asynctool_env.core.facts import (
    Fact,
    context_values,
    extract_numbers,
    facts_from_answer,
    grade_answer,
)
from asynctool_env.core.perturb import different_effects, equivalent_spellings
from asynctool_env.core.resolver import CallResolver, same_response
from asynctool_env.core.scenario import build_task_from_spec
from asynctool_env.core.simulator import CallKind, Simulator
from asynctool_env.core.task import Instance
from asynctool_env.core.tools import ToolError
from asynctool_env.dataset import load_split
from asynctool_env.scenarios import SCENARIOS, TOOLS

# -- canonical forms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "a", "b"),
    [
        ("symbol", "jpm", " JPM "),
        ("keyword", "French", "french"),
        ("name", "Ada  Lovelace", " Ada Lovelace"),
        ("date", "2025-06-15", "20250615"),
        ("date", "2025-06-15", "2025-06-15T00:00"),
        ("datetime", "2025-06-15T12:00", "2025-06-15 12:00:00"),
        ("datetime", "2025-06-15 12:00", "2025-06-15T12:00:00Z"),
        ("set:symbol", ["b", "A"], ["a", "B", "a"]),
        ("list", None, []),
        ("number", 3, 3.0),
    ],
)
def test_equivalent_spellings_have_one_canonical_form(spec, a, b):
    assert canon(spec).apply(a) == canon(spec).apply(b)


@pytest.mark.parametrize(
    ("spec", "a", "b"),
    [
        ("text", "abc", " abc"),  # a hash or a count sees the space
        ("name", "Ada Lovelace", "ada lovelace"),  # names keep their case
        ("date", "2025-06-15", "2025-06-16"),
        ("datetime", "2025-06-15T12:00", "2025-06-15T12:30"),
        ("list:symbol", ["a", "b"], ["b", "a"]),  # order matters in a list
        ("symbol", "JPM", "JPMX"),
    ],
)
def test_different_values_stay_different(spec, a, b):
    assert canon(spec).apply(a) != canon(spec).apply(b)


def test_aliases_are_looked_up_after_canonicalising():
    language = canon("keyword", {"French": "fr"})
    assert language.apply(" FRENCH ") == "fr" == language.apply("FR")


# -- the perturbation suite over the shipped dataset -------------------------------------


def _gold_calls():
    """Every distinct gold call of the shipped file, with its task and its index there."""
    seen = {}
    for split in ("test", "dev"):
        for instance in load_split(split):
            for task in instance.tasks:
                for index, step in enumerate(task.steps):
                    key = (task.scenario, task.world_seed, step.tool)
                    signature = canonical_key({"k": key, "a": dict(step.expected_arguments)})
                    seen.setdefault(signature, (task, index))
    return list(seen.values())


GOLD_CALLS = _gold_calls()


def _world_before(task, index):
    """A fresh world of ``task`` with its steps before ``index`` played, in gold order."""
    world = SCENARIOS[task.scenario].world(task.world_seed)
    for step in task.steps[:index]:
        TOOLS[step.tool].run(world, step.expected_arguments)
    return world


def test_the_perturbation_suite_covers_most_tools():
    used = {task.steps[index].tool for task, index in GOLD_CALLS}
    # Tools no template of the shipped file uses are covered by the hand-written cases below.
    assert len(used) >= 0.85 * len(TOOLS), sorted(set(TOOLS) - used)


def test_equivalent_spellings_of_every_gold_call_match_and_do_the_same():
    """Each spelling a careful model may write is canonically the gold call, gets the same
    answer and leaves the same world (played after the task's earlier steps, on a fresh
    world: the gold's own situation)."""
    problems = defaultdict(list)
    checked = 0
    for task, index in GOLD_CALLS:
        step = task.steps[index]
        tool = TOOLS[step.tool]
        gold = dict(step.expected_arguments)
        gold_key = canonical_key(tool.canonical_arguments(gold))
        spellings = list(equivalent_spellings(tool, gold))
        if not spellings:
            continue
        reference = _world_before(task, index)
        tool.run(reference, gold)
        gold_state = reference.state.snapshot()
        for label, arguments in spellings:
            checked += 1
            try:
                validated = tool.validate_arguments(arguments)
            except ToolError as error:
                problems[step.tool].append(f"{label}: refused: {error}")
                continue
            if canonical_key(tool.canonical_arguments(validated)) != gold_key:
                problems[step.tool].append(f"{label}: not canonically equal")
                continue
            world = _world_before(task, index)
            try:
                response, _ = tool.run(world, validated)
            except ToolError as error:
                response = {"error": str(error)}
            if not same_response(response, validated, step.expected_response, gold):
                problems[step.tool].append(f"{label}: the backend answers differently")
            elif world.state.snapshot() != gold_state:
                problems[step.tool].append(f"{label}: the world is left otherwise")
    assert checked > 3000
    assert not problems, {tool: found[:3] for tool, found in problems.items()}


def test_calls_that_differ_in_effect_do_not_match():
    changed = 0
    for task, index in GOLD_CALLS:
        step = task.steps[index]
        tool = TOOLS[step.tool]
        gold = dict(step.expected_arguments)
        gold_key = canonical_key(tool.canonical_arguments(gold))
        for label, arguments in different_effects(gold):
            try:
                validated = tool.validate_arguments(arguments)
            except ToolError:
                continue
            changed += 1
            assert canonical_key(tool.canonical_arguments(validated)) != gold_key, (
                step.tool,
                label,
            )
    assert changed > 1000


# -- the defects of the issue, as a model meets them -------------------------------------


def _instance_with(scenario: str, template: str, world_seed: int = 7, rng_seed: int = 0):
    import numpy as np

    scene = SCENARIOS[scenario]
    world = scene.world(world_seed)
    spec = scene.templates[template](world, np.random.default_rng(rng_seed))
    task = build_task_from_spec(scene, spec, world_seed, world=world, template=template)
    return Instance(f"{scenario}-{template}", (task,))


def _env_for(instance: Instance) -> ChatEnv:
    env = ChatEnv([instance], latency="sync", max_calls_per_turn=None, max_rounds=40)
    env.reset(seed=0, options={"instance_index": 0})
    return env


def _call(tool_name: str, **arguments) -> dict:
    return {
        "content": None,
        "tool_calls": [
            {
                "id": f"c_{tool_name}",
                "type": "function",
                "function": {"name": tool_name, "arguments": json.dumps(arguments)},
            }
        ],
    }


def _kinds(env: ChatEnv) -> list[CallKind]:
    from asynctool_env.core.simulator import CallEvent

    return [event.kind for event in env.simulator.trace if isinstance(event, CallEvent)]


def _finish(env: ChatEnv, answer) -> dict:
    _, terminated, _, info = env.step(_call("submit_answer", task_id="T1", answer=answer))
    assert terminated
    return info


def test_a_lower_case_ticker_is_the_same_quote():
    instance = _instance_with("trading", "buy_shares")
    gold = instance.tasks[0].steps
    quote = next(step for step in gold if step.tool == "get_stock_quote")
    env = _env_for(instance)
    symbol = quote.expected_arguments["symbol"]
    env.step(_call("get_stock_quote", symbol=symbol.lower()))
    assert _kinds(env) == [CallKind.CORRECT]


def test_a_read_answered_with_the_gold_response_counts():
    """The name without its extension (the tool allows it) finds the same document."""
    instance = _instance_with("data_format", "validate_document")
    find = instance.tasks[0].steps[0]
    assert find.tool == "find_data_document"
    name = find.expected_arguments["name"]
    env = _env_for(instance)
    env.step(_call("find_data_document", name=name.rsplit(".", 1)[0]))
    assert _kinds(env) == [CallKind.CORRECT]


def test_a_glossary_asked_by_language_code_counts():
    from asynctool_env.scenarios.string_manipulation import get_translation_glossary

    world = SCENARIOS["string_manipulation"].world(3)
    by_name = get_translation_glossary.function(world, language="French")
    by_code = get_translation_glossary.function(world, language="FR")
    assert same_response(by_code, {"language": "FR"}, by_name, {"language": "French"})


def test_a_read_that_gives_what_the_task_uses_counts():
    """``get_user_posts(limit=1)`` for "the newest post" answers differently from the gold
    (which lists 5), but it gives the newest post, which is all the task uses of it."""
    instance = _instance_with("social", "comment_latest")
    find, posts, comment = instance.tasks[0].steps
    env = _env_for(instance)
    env.step(_call("find_social_user", **find.expected_arguments))
    env.step(_call("get_user_posts", user_id=posts.expected_arguments["user_id"], limit=1))
    env.step("wait")
    env.step(_call("comment_on_post", **comment.expected_arguments))
    env.step("wait")
    assert _kinds(env) == [CallKind.CORRECT, CallKind.CORRECT, CallKind.CORRECT]
    info = _finish(env, f"Commented: {comment.expected_response['comment_id']}")
    assert info["task_results"][0]["success"], info["task_results"]


def test_a_read_of_something_else_does_not_count():
    instance = _instance_with("social", "comment_latest")
    find, posts, _ = instance.tasks[0].steps
    other = next(
        user
        for user in SCENARIOS["social"].world(7).user_ids
        if user != posts.expected_arguments["user_id"]
    )
    env = _env_for(instance)
    env.step(_call("find_social_user", **find.expected_arguments))
    env.step(_call("get_user_posts", user_id=other))
    # another user's posts serve no step; and that user's id was never given: a guess
    assert _kinds(env) == [CallKind.CORRECT, CallKind.VIOLATION]


def test_an_informative_unmatched_read_unblocks_the_next_call():
    """The cascade of the issue: once any response has given the model an id, the call that
    uses it is correct, whichever call delivered it."""
    instance = _instance_with("data_format", "validate_document")
    steps = instance.tasks[0].steps
    document_id = steps[1].expected_arguments["document_id"]
    env = _env_for(instance)
    sim = env.simulator
    sim.call_resolved(-1, -1, "describe_data_schema", {}, CallKind.UNMATCHED, {"note": document_id})
    sim.end_turn()
    resolution = env.resolver.resolve("fetch_data_document", {"document_id": document_id})
    assert resolution.kind is CallKind.CORRECT
    assert (resolution.task, resolution.step) == (0, 1)


def test_a_guessed_id_is_a_violation_and_its_error_reveals_nothing():
    instance = _instance_with("data_format", "validate_document")
    steps = instance.tasks[0].steps
    document_id = steps[1].expected_arguments["document_id"]
    env = _env_for(instance)
    env.step(_call("fetch_data_document", document_id=document_id))
    assert _kinds(env) == [CallKind.VIOLATION]
    # The error arrives later and is not information: the id is still unknown.
    env.step("wait")
    assert not env.resolver.knowledge.knows(document_id)
    arrivals = [
        line
        for message in env.messages
        if message["role"] == "user"
        for line in str(message["content"]).splitlines()
        if line.startswith("Response to")
    ]
    assert len(arrivals) == 1 and "dependency violation" in arrivals[0]
    assert document_id not in arrivals[0]


def test_an_id_learnt_from_another_lookup_is_not_a_violation():
    """Provenance: the vehicle id from find_vehicle serves get_vehicle_status even when the
    gold takes it from another step."""
    instance = _instance_with("vehicle", "status_and_lock")
    steps = instance.tasks[0].steps
    status = next(i for i, s in enumerate(steps) if s.tool == "get_vehicle_status")
    vehicle_id = steps[status].expected_arguments["vehicle_id"]
    env = _env_for(instance)
    env.resolver.knowledge.add({"vehicle_id": vehicle_id})  # as find_vehicle would tell
    resolution = env.resolver.resolve("get_vehicle_status", {"vehicle_id": vehicle_id})
    assert resolution.kind is CallKind.CORRECT


def test_no_hashtags_and_an_empty_list_are_the_same_post():
    tool = TOOLS["publish_social_post"]
    left = tool.canonical_arguments(tool.validate_arguments({"text": "Hi"}))
    right = tool.canonical_arguments(tool.validate_arguments({"text": "Hi", "hashtags": []}))
    assert left == right


def test_publish_at_written_without_seconds_is_the_same_schedule():
    tool = TOOLS["schedule_social_post"]
    a = tool.validate_arguments({"text": "Hi", "publish_at": "2025-06-15 12:00"})
    b = tool.validate_arguments({"text": "Hi", "publish_at": "2025-06-15T12:00"})
    assert tool.canonical_arguments(a) == tool.canonical_arguments(b)


def test_a_whole_episode_with_natural_spellings_and_answers_is_credited():
    """Every gold call respelled (another equivalent form), answers in words."""
    for index, instance in enumerate(load_split("dev")[:24]):
        env = ChatEnv([instance], max_calls_per_turn=None, max_rounds=80)
        env.reset(seed=index, options={"instance_index": 0})
        answered: set[int] = set()
        info: dict = {}
        done = False
        while not done:
            calls = []
            for task, step in env.ready_steps():
                gold = env.gold_call(task, step)
                tool = TOOLS[gold["name"]]
                spellings = list(equivalent_spellings(tool, gold["arguments"]))
                arguments = spellings[-1][1] if spellings else gold["arguments"]
                calls.append((gold["name"], arguments))
            for task_index, task in enumerate(instance.tasks):
                if task_index not in answered and env.simulator.all_steps_done(task_index):
                    answered.add(task_index)
                    words = f"Done. Here is what you asked for: {task.expected_answer}."
                    calls.append(
                        ("submit_answer", {"task_id": f"T{task_index + 1}", "answer": words})
                    )
            reply = native_reply(calls) if calls else "wait"
            _, terminated, truncated, info = env.step(reply)
            done = terminated or truncated
        assert info["metrics"]["instance_success"], (instance.instance_id, info["task_results"])
        assert info["metrics"]["dependency_violations"] == 0


# -- answers as facts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "responses", "answer"),
    [
        ("${s0.lines}", [{"lines": 9}], "9 lines"),
        ("${s0.amount} ${s0.to_currency}", [{"amount": 844.13, "to_currency": "USD"}], "844.13"),
        (
            "${s0.replacements} replacement(s), ${s1.words} words",
            [{"replacements": 2}, {"words": 62}],
            "2 replacements, 62 words",
        ),
        ("${s0.minutes}", [{"minutes": 10}], "10 minutes"),
        ("${s0.change_pct}%", [{"change_pct": -3.6254}], "It fell by -3.63%."),
        ("${s0.total}", [{"total": 1234.5}], "The total is $1,234.50."),
        ("${s0.booking_id}", [{"booking_id": "BK-1A2B3C"}], "booking bk-1a2b3c"),
    ],
)
def test_natural_answers_state_the_facts(template, responses, answer):
    # As if each response echoed its call's inputs: the echoed USD is not required.
    instruction = "Convert it into USD and tell me."
    facts = facts_from_answer(template, responses, instruction, arguments=responses)
    assert grade_answer(answer, facts).correct


@pytest.mark.parametrize(
    ("template", "responses", "answer"),
    [
        ("${s0.amount}", [{"amount": 844.13}], "844"),  # rounded past the tolerance
        ("${s0.lines}", [{"lines": 9}], "19 lines"),
        ("${s0.booking_id}", [{"booking_id": "BK-1A2B3C"}], "BK-1A2B3"),
        ("${s0.condition}", [{"condition": "sunny"}], "cloudy"),
    ],
)
def test_wrong_answers_fail(template, responses, answer):
    assert not grade_answer(answer, facts_from_answer(template, responses)).correct


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("Mia Schneider's post got more impressions (2952 vs. 704 for Nora Walsh's).", True),
        ("Mia Schneider", True),
        ("Nora Walsh or Mia Schneider", False),
        ("Nora Walsh", False),
        ("same", False),
    ],
)
def test_a_choice_is_the_option_named_first(answer, right):
    """A comparison names the loser too: the first option named is the answer."""
    options = ["Nora Walsh", "Mia Schneider", "same"]
    facts = facts_from_answer("Mia Schneider", [], alternatives=options)
    assert grade_answer(answer, facts).correct is right


def test_a_tie_may_name_both_options():
    facts = facts_from_answer("same", [], alternatives=["Rome", "Paris", "same"])
    assert grade_answer("Rome and Paris have the same high: the same.", facts).correct
    assert not grade_answer("Rome", facts).correct


def test_naming_two_candidates_is_ambiguous():
    responses = [{"flights": [{"flight_id": "AF891"}, {"flight_id": "IB905"}]}]
    facts = facts_from_answer("${s0.flights.0.flight_id}", responses)
    assert facts[0].alternatives == ("IB905",)
    assert grade_answer("AF891", facts).correct
    assert not grade_answer("AF891 (or IB905)", facts).correct


def test_context_is_fine_but_a_copy_of_the_responses_fails():
    responses = [
        {"city": "Rome", "condition": "sunny", "high_c": 31, "low_c": 22, "precip": 15},
        {"amount": 46.12, "rate": 0.922417, "from_amount": 50, "to_currency": "EUR"},
    ]
    instruction = "In Rome, the weather, and 50 USD in EUR?"
    facts = facts_from_answer(
        "${s0.condition}, ${s1.amount} ${s1.to_currency}", responses, instruction
    )
    context = context_values(responses, instruction)
    assert grade_answer("Sunny; 46.12 EUR.", facts, context).correct
    assert grade_answer("Sunny (high 31), 46.12 EUR", facts, context).correct
    assert grade_answer("Sunny, high 31 and low 22; 46.12 EUR at 0.922417", facts, context).correct
    dump = " ".join(json.dumps(response) for response in responses)
    verdict = grade_answer(dump, facts, context)
    assert not verdict.correct and "copy of the responses" in verdict.reasons[0]


def test_an_overlong_answer_is_not_read():
    facts = (Fact("id", "BK-1A2B3C"),)
    assert not grade_answer("BK-1A2B3C " + "x" * 2000, facts).correct


def test_numbers_in_ids_and_dates_are_not_facts():
    assert extract_numbers("AF891 BK-12A on 2025-06-15") == [2025.0]


def test_instruction_values_are_not_required():
    responses = [{"amount": 10.5, "to_currency": "GBP", "eta": 12}]
    arguments = [{"amount": 20, "to_currency": "GBP"}]
    instruction = "Convert 20 USD into GBP within 12 minutes; tell me the amount and the ETA."
    template = "${s0.amount} ${s0.to_currency} ${s0.eta}"
    facts = facts_from_answer(template, responses, instruction, arguments=arguments)
    # GBP echoes the call's own input, stated in the instruction; the ETA of 12 is an output
    # that only happens to equal a number of the instruction, so it is still asked for.
    assert [fact.value for fact in facts] == [10.5, 12]


# -- judging by outcome --------------------------------------------------------------------


def test_an_answer_before_the_write_is_confirmed_is_premature():
    instance = _instance_with("travel", "cheapest_flight")
    task = instance.tasks[0]
    env = ChatEnv([instance], latency="fixed:3", max_calls_per_turn=None, max_rounds=40)
    env.reset(seed=0, options={"instance_index": 0})
    env.step(_call("search_flights", **task.steps[0].expected_arguments))
    for _ in range(4):
        env.step("wait")
    env.step(_call("book_flight", **task.steps[1].expected_arguments))
    assert env.resolver.knowledge.knows(task.steps[0].expected_response["flights"][0]["price"])
    verdict = env.resolver.judge_answer(0, task.expected_answer)
    assert verdict.premature and not verdict.correct


def test_a_wrong_write_fails_the_task():
    instance = _instance_with("travel", "cheapest_flight")
    task = instance.tasks[0]
    search = task.steps[0].expected_response["flights"]
    env = _env_for(instance)
    env.step(_call("search_flights", **task.steps[0].expected_arguments))
    env.step("wait")
    passenger = task.steps[1].expected_arguments["passenger"]
    env.step(_call("book_flight", flight_id=search[1]["flight_id"], passenger=passenger))
    env.step(_call("book_flight", **task.steps[1].expected_arguments))
    for _ in range(4):
        env.step("wait")
    info = _finish(env, task.expected_answer)
    result = info["task_results"][0]
    assert not result["success"]
    # the extra booking is a change no gold call makes, charged to the task that books
    assert any("which the task does not ask for" in reason for reason in result["reasons"])
    assert info["metrics"]["collateral_writes"] == 0  # charged to a task, not unowned


def test_a_fact_stated_before_it_arrived_is_not_credited():
    instance = _instance_with("travel", "warmer_city")
    task = instance.tasks[0]
    sim = Simulator(
        instance, __import__("numpy").random.default_rng(0), latency="sync", max_calls_per_turn=None
    )
    resolver = CallResolver(sim, TOOLS, lambda _: SCENARIOS["travel"].world(7))
    for step in task.steps:
        resolver.issue(step.tool, dict(step.expected_arguments))
    verdict = resolver.judge_answer(0, task.expected_answer)
    assert not verdict.correct  # the forecasts had not arrived


def test_the_shipped_file_passes_the_knowability_audit():
    from asynctool_env.dataset.audit import audit_instances

    instances = load_split("test") + load_split("dev")
    report = audit_instances(instances)
    assert report.clean, report.counts
    assert len(load_split("test")) >= 712
    assert {task.scenario for i in instances for task in i.tasks} == set(SCENARIOS)
    assert {i.n_tasks for i in instances} == {2, 3}


def test_equivalent_spellings_of_the_tools_no_shipped_task_uses():
    """The two tools no v2 template calls: an order's status asked with its id in another
    case, a file's metadata asked by its path (a path is exact text: no other spelling)."""
    from tests.test_backend_ticketing import BUYER, an_event, hold

    world = SCENARIOS["ticketing"].world(2)
    held = hold(world, an_event(world), 2)
    order = TOOLS["purchase_tickets"].execute(world, {"hold_ids": [held["hold_id"]], **BUYER})
    status = TOOLS["get_ticket_order_status"]
    gold = {"order_id": order["order_id"]}
    spellings = list(equivalent_spellings(status, gold))
    assert len(spellings) >= 2
    for _label, arguments in spellings:
        validated = status.validate_arguments(arguments)
        assert status.canonical_arguments(validated) == status.canonical_arguments(gold)
        answer = status.execute(world, validated)
        assert same_response(answer, validated, status.execute(world, gold), gold)
    metadata = TOOLS["get_file_metadata"]
    assert list(equivalent_spellings(metadata, {"path": "/home/ada/notes.txt"})) == []


def test_naming_a_rival_number_from_the_same_list_is_ambiguous():
    """Playtest: "63 or 26 seats" hedges between the candidates of one list, as "AF891 or
    IB905" does; a number another fact asks for is not a rival."""
    from asynctool_env.core.facts import Fact, grade_answer

    seats = Fact("number", 63, "x", alternatives=(26,), label="available seats")
    assert grade_answer("63 seats", (seats,), [], []).reasons == ()
    assert grade_answer("63 seats left on 2025-08-26", (seats,), [], []).reasons == ()
    for hedged in ("63 or 26", "Business 63, First Class 26", "26 or 63 seats"):
        reasons = grade_answer(hedged, (seats,), [], []).reasons
        assert reasons and "ambiguous" in reasons[0], hedged
    price = Fact("number", 26, "y", label="price")
    assert grade_answer("63 seats at 26 USD", (seats, price), [], []).reasons == ()
