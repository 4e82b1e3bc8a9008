"""Knowable tasks of the travel, messaging, trading, vehicle, ticketing and social scenarios.

Regression tests for what the knowability audit found in these scenarios: an order that did
not wait for the comparison it depends on, a read that waited for a login it takes nothing
from, evolution rules whose sentence said "those flights" or asked for nothing, side steps
that repeated a template's look-up. Then the audit itself over every template and evolved
variant of the six scenarios on a few worlds, which must find nothing.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from asynctool_env.core.references import referenced_steps
from asynctool_env.core.resolver import task_facts
from asynctool_env.core.scenario import build_task, build_task_from_spec
from asynctool_env.dataset.audit import audit_task, audit_tasks
from asynctool_env.dataset.build import BuildReport, tasks_for_world
from asynctool_env.dataset.evolution import add_follow_up, add_lookup, add_side_step
from asynctool_env.scenarios import SCENARIOS, TOOLS
from asynctool_env.scenarios import social as social_module
from asynctool_env.scenarios import vehicle as vehicle_module

GROUP_A = ("travel", "messaging", "trading", "vehicle", "ticketing", "social")
SEEDS = range(8)


def build(scenario: str, template: str, seed: int):
    return build_task(SCENARIOS[scenario], template, seed, np.random.default_rng(seed))


def only_rule(scenario_name: str, kind: str, number: int):
    """The scenario with one follow-up (or side-step) rule and none of the other kind."""
    scenario = SCENARIOS[scenario_name]
    rules = getattr(scenario, kind)
    return replace(scenario, **{kind: (rules[number],)})


# -- templates ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_cheaper_stock_orders_only_after_both_quotes(seed):
    task = build("trading", "cheaper_stock", seed)
    quotes = [i for i, step in enumerate(task.steps) if step.tool == "get_stock_quote"]
    order = next(step for step in task.steps if step.tool == "place_stock_order")
    assert len(quotes) == 2
    assert set(quotes) <= set(order.depends_on)
    assert not audit_task(task)


@pytest.mark.parametrize("seed", SEEDS)
def test_status_and_lock_reads_the_status_without_waiting_for_the_login(seed):
    task = build("vehicle", "status_and_lock", seed)
    status = next(step for step in task.steps if step.tool == "get_vehicle_status")
    assert status.depends_on == ()
    assert status.arguments["vehicle_id"] in task.instruction
    lock = next(step for step in task.steps if step.tool == "set_vehicle_lock")
    # the lock needs the login's session token, and comes after the status it would change
    assert lock.depends_on == (0, 1)


def test_status_and_lock_lookup_makes_the_status_wait_for_the_found_id():
    scenario = SCENARIOS["vehicle"]
    world = scenario.world(3)
    spec = scenario.templates["status_and_lock"](world, np.random.default_rng(3))
    evolved = add_lookup(spec, scenario, world, np.random.default_rng(0))
    assert evolved is not None
    task = build_task_from_spec(scenario, evolved, 3, world=world)
    assert "VH-" not in task.instruction  # every use of the id now comes from the lookup
    status = next(step for step in task.steps if step.tool == "get_vehicle_status")
    assert status.depends_on == (0,)
    assert not audit_task(task)


@pytest.mark.parametrize("seed", SEEDS)
def test_known_flight_stays_justified_after_a_lookup(seed):
    """The booking's destination is in the lookup's phrase; the itinerary needs its id."""
    scenario = SCENARIOS["travel"]
    world = scenario.world(seed)
    spec = scenario.templates["known_flight"](world, np.random.default_rng(seed))
    evolved = add_lookup(spec, scenario, world, np.random.default_rng(seed))
    assert evolved is not None
    task = build_task_from_spec(scenario, evolved, seed, world=world)
    assert [step.tool for step in task.steps] == [
        "search_flights",
        "book_flight",
        "create_itinerary",
    ]
    assert task.steps[2].depends_on == (1,)
    assert not audit_task(task)


# -- evolution rules ------------------------------------------------------------------------


def test_book_cheapest_follow_up_names_the_route_and_day():
    scenario = only_rule("travel", "follow_ups", 0)
    world = scenario.world(1)
    spec = scenario.templates["round_trip"](world, np.random.default_rng(1))
    evolved = add_follow_up(spec, scenario, world, np.random.default_rng(0))
    assert evolved is not None
    new = evolved.steps[-1]
    (followed,) = referenced_steps(new.arguments)
    search = evolved.steps[followed].arguments
    sentence = evolved.instruction[len(spec.instruction) :]
    assert "those" not in sentence
    for value in (search["origin"], search["destination"], search["date"]):
        assert value in sentence
    assert evolved.answer == spec.answer  # a write asks for nothing


@pytest.mark.parametrize(
    ("scenario_name", "template", "rule", "wanted"),
    [
        ("messaging", "group_announcement", 1, "name"),  # the group by its name
        ("ticketing", "night_out", 0, "city"),  # the event search by city, day, category
        ("ticketing", "round_trip_train", 1, "origin"),  # the train search by route and day
    ],
)
def test_follow_up_sentences_name_their_referent(scenario_name, template, rule, wanted):
    scenario = only_rule(scenario_name, "follow_ups", rule)
    for seed in range(4):
        world = scenario.world(seed)
        spec = scenario.templates[template](world, np.random.default_rng(seed))
        evolved = add_follow_up(spec, scenario, world, np.random.default_rng(seed))
        assert evolved is not None
        (followed,) = referenced_steps(evolved.steps[-1].arguments)
        sentence = evolved.instruction[len(spec.instruction) :]
        assert str(evolved.steps[followed].arguments[wanted]) in sentence
        assert "those" not in sentence


def test_a_read_side_step_adds_its_fact_to_the_answer():
    scenario = replace(
        SCENARIOS["travel"],
        side_steps=tuple(rule for rule in SCENARIOS["travel"].side_steps if rule.name == "weather"),
    )
    world = scenario.world(2)
    spec = scenario.templates["cheapest_flight"](world, np.random.default_rng(2))
    evolved = add_side_step(spec, scenario, world, np.random.default_rng(0))
    assert evolved is not None
    index = len(evolved.steps) - 1
    assert evolved.answer == f"{spec.answer}; ${{s{index}.condition}}"
    assert "tell me the condition" in evolved.instruction
    task = build_task_from_spec(scenario, evolved, 2, world=world)
    condition = task.steps[index].expected_response["condition"]
    assert condition in [fact.value for fact in task_facts(task)]
    assert not audit_task(task)


@pytest.mark.parametrize("scenario_name", GROUP_A)
def test_every_added_read_asks_for_a_fact_and_every_added_write_for_none(scenario_name):
    """Each follow-up and side-step rule on each template: a read's value joins the answer
    (its information is otherwise used by nothing), a write adds no fact."""
    scenario = SCENARIOS[scenario_name]
    applied = 0
    for kind, operator in (("follow_ups", add_follow_up), ("side_steps", add_side_step)):
        for number in range(len(getattr(scenario, kind))):
            single = only_rule(scenario_name, kind, number)
            for template, make_spec in sorted(scenario.templates.items()):
                world = scenario.world(0)
                spec = make_spec(world, np.random.default_rng(0))
                evolved = operator(spec, single, world, np.random.default_rng(0))
                if evolved is None:
                    continue
                applied += 1
                index = len(evolved.steps) - 1
                added = evolved.steps[index]
                asks = evolved.answer is not None and f"${{s{index}." in evolved.answer
                assert asks != TOOLS[added.tool].writes, (template, added)
                if not asks:
                    assert evolved.answer == spec.answer
    assert applied


def test_side_steps_ask_about_a_car_and_a_user_no_template_picks():
    for seed in range(10):
        world = SCENARIOS["vehicle"].world(seed)
        side_car = world.vehicle_ids[vehicle_module._SIDE_CAR]
        social_world = SCENARIOS["social"].world(seed)
        side_user = social_world.names[social_module._SIDE_USER]
        side_handle = social_world.handles[social_module._SIDE_USER]
        for template in SCENARIOS["vehicle"].templates:
            task = build("vehicle", template, seed)
            assert side_car not in str([step.expected_arguments for step in task.steps])
            assert side_car not in str(task.steps[0].expected_response)
        for template in SCENARIOS["social"].templates:
            task = build("social", template, seed)
            assert side_user not in task.instruction
            assert side_handle not in str([step.expected_response for step in task.steps])


# -- the audit over every template and variant ------------------------------------------------


@pytest.mark.parametrize("scenario_name", GROUP_A)
def test_the_audit_finds_nothing_in_any_template_or_evolved_variant(scenario_name):
    scenario = SCENARIOS[scenario_name]
    report = BuildReport()
    tasks = []
    for stream, worlds in (("test", 3), ("procedural", 2)):
        for world_index in range(worlds):
            tasks += tasks_for_world(
                scenario,
                world_index,
                seed=2605,
                stream=stream,
                variants_per_seed=3,
                report=report,
                replay=False,
            )
    # the build drops flagged tasks, so its report holds what the audit found
    assert not report.rejected_audit, report.rejections[:5]
    assert report.rejected_execution == 0, report.rejections[:5]
    assert audit_tasks(tasks).clean
    evolved = [task for task in tasks if task.metadata["operators"]]
    assert {task.metadata["template"] for task in tasks} == set(scenario.templates)
    assert len(evolved) >= len(tasks) // 3
