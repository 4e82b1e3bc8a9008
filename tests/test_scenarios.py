"""The scenario registry, the bundled scenarios' tools and templates, and ``build_task``.

Scenarios are discovered by themselves, so everything that holds for every scenario is checked
generically (registry invariants, every template's task, order independence, robustness of the
backends to bad arguments, the evolution hooks). The travel and messaging scenarios, the first
two, also keep their specific tests (exact DAGs, tool schemas, backend behaviour, bad calls).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
import re
from dataclasses import replace
from typing import Any

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asynctool_env.core.effects import play_gold, task_conflicts
from asynctool_env.core.references import referenced_steps, resolve
from asynctool_env.core.scenario import (
    Scenario,
    StepSpec,
    TaskSpec,
    TemplateError,
    build_task,
    build_task_from_spec,
    stable_id,
)
from asynctool_env.core.task import Instance, Task
from asynctool_env.core.tools import Tool, ToolArgumentError, ToolError
from asynctool_env.dataset.evolution import add_follow_up, add_lookup, add_side_step
from asynctool_env.scenarios import SCENARIOS, TOOL_INDEX, TOOLS, get_scenario
from asynctool_env.scenarios import messaging as messaging_module
from asynctool_env.scenarios import travel as travel_module

SCENARIO_NAMES = sorted(SCENARIOS)
TEMPLATES = [(name, template) for name in SCENARIO_NAMES for template in SCENARIOS[name].templates]
#: The first two scenarios, whose templates and backends this file knows in detail.
ORIGINAL_SCENARIOS = ("travel", "messaging")

#: Gold DAG (``depends_on`` of every step) of the travel and messaging templates known when
#: this file was written; group_announcement has two. Other templates are checked generically.
DAGS: dict[tuple[str, str], list[list[tuple[int, ...]]]] = {
    ("travel", "cheapest_flight"): [[(), (0,)]],
    ("travel", "hotel_in_currency"): [[(), (0,), (1,)]],
    ("travel", "trip"): [[(), (), (), (0,), (1,), (3, 4)]],
    ("travel", "round_trip"): [[(), (), (0,), (1,), (2, 3)]],
    ("travel", "weather_and_cash"): [[(), ()]],
    ("travel", "warmer_city"): [[(), ()]],
    ("messaging", "message_contact"): [[(), (0,)]],
    ("messaging", "reply_latest"): [[(), (0,), (1,)]],
    ("messaging", "group_announcement"): [
        [(), (), (0, 1), (2,)],
        [(), (), (), (0, 1, 2), (3,)],
    ],
    ("messaging", "forward_latest"): [[(), (), (0,), (1, 2)]],
    ("messaging", "message_two"): [[(), (), (0,), (1,)]],
}

#: Steps a template's task has (the evolution operators may add more later).
MIN_STEPS, MAX_STEPS = 2, 6
#: Declared latencies, in rounds.
MIN_LATENCY, MAX_LATENCY = 0, 3
#: A value no world holds: an unknown id, name, path or code.
NOPE = "ZZZ-NOPE"


def world_seeds(scenario_name: str) -> range:
    """World seeds each template is built on (fewer for the many newer scenarios)."""
    return range(30) if scenario_name in ORIGINAL_SCENARIOS else range(10)


def build(scenario: str, template: str, seed: int) -> Task:
    return build_task(SCENARIOS[scenario], template, seed, np.random.default_rng(seed))


def gold_responses(scenario: Scenario, task: Task, order: list[int]) -> dict[int, Any]:
    """Run the task's gold calls (arguments already resolved) on a fresh world in ``order``."""
    world = scenario.world(task.world_seed)
    return {
        index: scenario.tool(task.steps[index].tool).execute(
            world, task.steps[index].expected_arguments
        )
        for index in order
    }


def json_round_trips(value: Any) -> bool:
    return json.loads(json.dumps(value, allow_nan=False)) == value


def is_chain(task: Task) -> bool:
    """True when every step needs exactly the previous one (no parallelism at all)."""
    return [step.depends_on for step in task.steps] == [
        (index - 1,) if index else () for index in range(task.n_steps)
    ]


def assert_consistent_task(
    scenario: Scenario, template: str, spec: TaskSpec, task: Task, world_seed: int
) -> None:
    """``task`` is ``spec`` executed on world ``world_seed``, and it is well formed."""
    assert task.scenario == scenario.name
    assert task.world_seed == world_seed
    assert re.fullmatch(
        rf"{re.escape(scenario.name)}/{re.escape(template)}/[0-9a-f]{{12}}", task.task_id
    ), task.task_id
    assert task.metadata["template"] == template
    assert task.instruction == spec.instruction
    assert task.instruction.strip()
    assert task.n_steps == len(spec.steps)
    tool_names = {tool.name for tool in scenario.tools}
    responses: list[Any] = []
    for index, (step, step_spec) in enumerate(zip(task.steps, spec.steps, strict=True)):
        assert step.tool == step_spec.tool
        assert step.tool in tool_names
        assert step.arguments == step_spec.arguments
        assert all(0 <= parent < index for parent in step.depends_on)
        assert step.depends_on == tuple(
            sorted(referenced_steps(step_spec.arguments) | set(step_spec.after))
        )
        tool = scenario.tool(step.tool)
        assert tool.validate_arguments(step.expected_arguments) == step.expected_arguments
        resolved = tool.validate_arguments(resolve(step.arguments, responses))
        assert resolved == step.expected_arguments
        assert json_round_trips(dict(step.expected_arguments))
        assert isinstance(step.expected_response, dict)
        assert "error" not in step.expected_response
        assert json_round_trips(step.expected_response), (step.tool, step.expected_response)
        responses.append(step.expected_response)
    if spec.answer is None:
        assert task.answer is None
        assert task.expected_answer is None
    else:
        assert task.answer == spec.answer
        assert task.expected_answer == resolve(spec.answer, responses)
        assert json_round_trips(task.expected_answer)
    Instance("one", (task,))  # the DAG is acceptable to an instance


# -- registry -------------------------------------------------------------------------------


def test_registry_holds_the_bundled_scenarios():
    assert len(SCENARIOS) >= 2
    assert set(ORIGINAL_SCENARIOS) <= set(SCENARIOS)
    assert all(name == scenario.name for name, scenario in SCENARIOS.items())
    assert SCENARIOS["travel"].category == "Travel Planning"
    assert SCENARIOS["messaging"].category == "Message"
    assert all(scenario.category.strip() for scenario in SCENARIOS.values())
    assert all(scenario.description.strip() for scenario in SCENARIOS.values())


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_scenario_is_a_module_of_the_same_name(name):
    module = importlib.import_module(f"asynctool_env.scenarios.{name}")
    assert module.SCENARIO.name == name
    # registration copies the tools; the module's own tools are not mutated
    assert [tool.name for tool in module.SCENARIO.tools] == [
        tool.name for tool in SCENARIOS[name].tools
    ]
    assert all(tool.scenario == "" for tool in module.SCENARIO.tools)
    for tool in module.SCENARIO.tools:
        assert TOOLS[tool.name].function is tool.function


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_scenario_invariants(name):
    scenario = SCENARIOS[name]
    assert scenario.category.strip()
    assert scenario.description.strip()
    assert len(scenario.tools) >= 4
    assert len(scenario.templates) >= 4
    assert all(template and callable(function) for template, function in scenario.templates.items())
    tool_names = [tool.name for tool in scenario.tools]
    assert len(tool_names) == len(set(tool_names))
    for tool in scenario.tools:
        assert isinstance(tool, Tool)
        assert tool.scenario == name
        assert TOOLS[tool.name] is tool
        assert isinstance(tool.latency, int)
        assert MIN_LATENCY <= tool.latency <= MAX_LATENCY, (tool.name, tool.latency)
    # evolution hooks: at least one of each, naming the scenario's own tools
    assert len(scenario.lookups) >= 1
    assert len(scenario.follow_ups) >= 1
    assert len(scenario.side_steps) >= 1
    assert all(rule.tool in tool_names and rule.argument for rule in scenario.lookups)
    assert all(rule.after_tool in tool_names for rule in scenario.follow_ups)
    side_step_names = [rule.name for rule in scenario.side_steps]
    assert all(side_step_names)
    assert len(side_step_names) == len(set(side_step_names))


@pytest.mark.parametrize(
    ("scenario", "latencies"),
    [
        (
            "travel",
            {
                "search_flights": 1,
                "book_flight": 2,
                "search_hotels": 1,
                "book_hotel": 2,
                "convert_currency": 1,
                "get_weather": 0,
                "create_itinerary": 1,
            },
        ),
        (
            "messaging",
            {
                "find_contact": 1,
                "list_messages": 1,
                "send_message": 1,
                "reply_to_message": 1,
                "create_group": 2,
                "send_group_message": 1,
            },
        ),
    ],
)
def test_scenario_tools_and_declared_latencies(scenario, latencies):
    tools = SCENARIOS[scenario].tools
    assert {tool.name: tool.latency for tool in tools} == latencies
    assert all(tool.scenario == scenario for tool in tools)
    assert all(TOOLS[tool.name] is tool for tool in tools)


def test_tool_names_are_unique_and_all_registered():
    names = [tool.name for scenario in SCENARIOS.values() for tool in scenario.tools]
    assert len(names) == len(set(names))
    assert len(names) >= 4 * len(SCENARIOS)
    assert set(TOOLS) == set(names)
    assert all(tool.scenario for tool in TOOLS.values())
    assert {name: tool.scenario for name, tool in TOOLS.items()} == {
        tool.name: scenario.name for scenario in SCENARIOS.values() for tool in scenario.tools
    }
    assert dict(TOOL_INDEX) == {name: index for index, name in enumerate(sorted(names))}


def test_module_level_tools_are_not_mutated_by_registration():
    assert travel_module.search_flights.scenario == ""
    assert TOOLS["search_flights"].scenario == "travel"
    assert TOOLS["search_flights"].function is travel_module.search_flights.function


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_get_scenario(name):
    assert get_scenario(name) is SCENARIOS[name]


@pytest.mark.parametrize("name", ["nope", "Travel", ""])
def test_get_scenario_unknown_name_lists_the_bundled_ones(name):
    with pytest.raises(KeyError) as error:
        get_scenario(name)
    assert error.value.args[0] == (
        f"unknown scenario {name!r}; bundled scenarios: {', '.join(SCENARIO_NAMES)}"
    )


def test_scenario_tool_lookup():
    travel = SCENARIOS["travel"]
    assert travel.tool("book_flight") is TOOLS["book_flight"]
    with pytest.raises(KeyError, match="scenario 'travel' has no tool 'find_contact'"):
        travel.tool("find_contact")


# -- schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_tool_schema_is_valid_json_schema(name):
    tool = TOOLS[name]
    schema = tool.openai_schema()
    assert json.loads(json.dumps(schema)) == schema
    assert schema["type"] == "function"
    function = schema["function"]
    assert function["name"] == name
    assert function["description"] == tool.description
    assert tool.description.endswith(".")
    parameters = function["parameters"]
    jsonschema.Draft202012Validator.check_schema(parameters)
    jsonschema.Draft7Validator.check_schema(parameters)
    assert parameters["type"] == "object"
    assert parameters["additionalProperties"] is False
    assert set(parameters.get("required", [])) <= set(parameters["properties"])
    for prop in parameters["properties"].values():
        assert prop["description"]
        assert "title" not in prop


@pytest.mark.parametrize(
    ("name", "required", "optional"),
    [
        ("search_flights", ["origin", "destination", "date"], []),
        ("book_flight", ["flight_id", "passenger"], []),
        ("search_hotels", ["city", "check_in", "nights"], []),
        ("book_hotel", ["hotel_id", "guest", "check_in", "nights"], []),
        ("convert_currency", ["amount", "from_currency", "to_currency"], []),
        ("get_weather", ["city", "date"], []),
        ("create_itinerary", ["title", "items"], []),
        ("find_contact", ["name"], []),
        ("list_messages", ["contact_id"], ["limit"]),
        ("send_message", ["contact_id", "text"], []),
        ("reply_to_message", ["message_id", "text"], []),
        ("create_group", ["name", "member_ids"], []),
        ("send_group_message", ["group_id", "text"], []),
    ],
)
def test_tool_schema_arguments(name, required, optional):
    parameters = TOOLS[name].openai_schema()["function"]["parameters"]
    assert parameters["required"] == required
    assert list(parameters["properties"]) == required + optional


# -- templates ------------------------------------------------------------------------------


@pytest.mark.parametrize(("scenario_name", "template"), TEMPLATES)
def test_every_template_builds_a_consistent_task(scenario_name, template):
    scenario = SCENARIOS[scenario_name]
    for seed in world_seeds(scenario_name):
        world = scenario.world(seed)
        spec = scenario.templates[template](world, np.random.default_rng(seed))
        task = build(scenario_name, template, seed)
        assert task == build_task_from_spec(
            scenario, spec, seed, world=scenario.world(seed), template=template
        )
        assert MIN_STEPS <= task.n_steps <= MAX_STEPS
        assert_consistent_task(scenario, template, spec, task, seed)
        if (scenario_name, template) in DAGS:
            assert [list(step.depends_on) for step in task.steps] in [
                [list(parents) for parents in dag] for dag in DAGS[scenario_name, template]
            ]


@pytest.mark.parametrize("scenario_name", SCENARIO_NAMES)
def test_every_scenario_has_a_template_that_is_not_a_chain(scenario_name):
    scenario = SCENARIOS[scenario_name]
    branching = {
        template
        for template in scenario.templates
        for seed in range(5)
        if not is_chain(build(scenario_name, template, seed))
    }
    assert branching, f"{scenario_name}: every template builds a simple chain"


@pytest.mark.parametrize(("scenario_name", "template"), TEMPLATES)
def test_templates_are_deterministic(scenario_name, template):
    for seed in (0, 1, 17):
        assert build(scenario_name, template, seed) == build(scenario_name, template, seed)
    first = build(scenario_name, template, 0)
    assert first == build_task(
        SCENARIOS[scenario_name],
        template,
        0,
        np.random.default_rng(0),
        world=SCENARIOS[scenario_name].world(0),
    )
    others = {build(scenario_name, template, seed).task_id for seed in range(1, 6)}
    assert len(others | {first.task_id}) > 1


def topological_order(task: Task, rng: np.random.Generator) -> list[int]:
    """A random order of the task's steps that the dependencies allow."""
    done: set[int] = set()
    order: list[int] = []
    while len(order) < task.n_steps:
        ready = [
            index
            for index, step in enumerate(task.steps)
            if index not in done and set(step.depends_on) <= done
        ]
        pick = ready[int(rng.integers(len(ready)))]
        done.add(pick)
        order.append(pick)
    return order


@pytest.mark.parametrize(("scenario_name", "template"), TEMPLATES)
def test_gold_responses_do_not_depend_on_the_order_the_dependencies_allow(scenario_name, template):
    """Independent branches of a task commute: any order a careful agent may pick gets the
    gold responses and leaves the gold final state."""
    scenario = SCENARIOS[scenario_name]
    shuffle = np.random.default_rng(99)
    for seed in range(10):
        task = build(scenario_name, template, seed)
        expected = {index: step.expected_response for index, step in enumerate(task.steps)}
        gold_world = scenario.world(task.world_seed)
        for step in task.steps:
            scenario.tool(step.tool).run(gold_world, step.expected_arguments)
        for _ in range(3):
            order = topological_order(task, shuffle)
            world = scenario.world(task.world_seed)
            responses = {
                index: scenario.tool(task.steps[index].tool).run(
                    world, task.steps[index].expected_arguments
                )[0]
                for index in order
            }
            assert responses == expected, order
            assert world.state.snapshot() == gold_world.state.snapshot()


def _commuting_tasks(scenario: Scenario, seed: int) -> list[Task]:
    """Tasks of every template on one world, keeping only those that touch no object
    another kept task writes (what the dataset composes into one instance)."""
    rng = np.random.default_rng(seed)
    world = scenario.world(seed)
    kept: list[Task] = []
    for template in sorted(scenario.templates):
        for _ in range(3):
            task = build_task(scenario, template, seed, rng, world=world)
            play = play_gold([*kept, task], TOOLS, lambda name, s: SCENARIOS[name].world(s))
            if not task_conflicts([*kept, task], play):
                kept.append(task)
    return kept


@pytest.mark.parametrize("scenario_name", SCENARIO_NAMES)
def test_interleaving_tasks_that_commute_gives_the_gold_responses(scenario_name):
    """Tasks on one world that touch different objects can be interleaved in any way the
    dependencies allow: every response is the gold one, and the final state is the gold's."""
    scenario = SCENARIOS[scenario_name]
    sizes = []
    for seed in (5, 6):
        tasks = _commuting_tasks(scenario, seed)
        sizes.append(len(tasks))
        assert len(tasks) >= 2, [task.task_id for task in tasks]
        gold = play_gold(tasks, TOOLS, lambda name, s: SCENARIOS[name].world(s))
        shuffle = np.random.default_rng(seed)
        orders = [topological_order(task, shuffle) for task in tasks]
        queue = [(t, s) for t, order in enumerate(orders) for s in order]
        # merge the per-task orders at random, keeping each task's own order
        positions = [0] * len(tasks)
        world = scenario.world(seed)
        while any(p < len(o) for p, o in zip(positions, orders, strict=True)):
            open_tasks = [t for t, o in enumerate(orders) if positions[t] < len(o)]
            t = open_tasks[int(shuffle.integers(len(open_tasks)))]
            index = orders[t][positions[t]]
            positions[t] += 1
            step = tasks[t].steps[index]
            response, _ = scenario.tool(step.tool).run(world, step.expected_arguments)
            assert response == step.expected_response, (tasks[t].task_id, index)
        assert len(queue) == sum(task.n_steps for task in tasks)
        assert world.state.snapshot() == gold.final[(scenario_name, seed)]
    # a trading world has three accounts that every trading task writes to: few commute
    assert max(sizes) >= 3, sizes


@pytest.mark.parametrize("scenario_name", SCENARIO_NAMES)
def test_reads_never_change_the_world_and_every_gold_write_does(scenario_name):
    scenario = SCENARIOS[scenario_name]
    for template in sorted(scenario.templates):
        task = build(scenario_name, template, 2)
        play = play_gold([task], TOOLS, lambda name, s: SCENARIOS[name].world(s))
        for index, step in enumerate(task.steps):
            writes = play.effects[0][index].writes
            if scenario.tool(step.tool).writes:
                assert writes, f"{task.task_id} step {index} {step.tool} changed nothing"
            else:
                assert not writes


@pytest.mark.parametrize("scenario_name", SCENARIO_NAMES)
def test_a_repeated_write_is_a_second_write(scenario_name):
    """Making a gold write twice changes the world a second time (a duplicated booking, a
    second message, a second version): the final state differs from the gold's."""
    scenario = SCENARIOS[scenario_name]
    checked = 0
    for template in sorted(scenario.templates):
        task = build(scenario_name, template, 3)
        for index, step in enumerate(task.steps):
            tool = scenario.tool(step.tool)
            if not tool.writes:
                continue
            world = scenario.world(task.world_seed)
            for earlier in task.steps[: index + 1]:
                scenario.tool(earlier.tool).run(world, earlier.expected_arguments)
            once = world.state.snapshot()
            try:
                tool.run(world, step.expected_arguments)
            except ToolError:
                pass  # refusing a repeat (a hold already used) is also fine
            else:
                assert world.state.snapshot() != once, (task.task_id, index, step.tool)
            checked += 1
    assert checked or not any(tool.writes for tool in scenario.tools)


@pytest.mark.parametrize("scenario_name", SCENARIO_NAMES)
def test_a_refused_call_changes_nothing(scenario_name):
    """A backend that refuses a call leaves the state as it was (its writes rolled back)."""
    scenario = SCENARIOS[scenario_name]
    task = build(scenario_name, sorted(scenario.templates)[0], 4)
    world = scenario.world(task.world_seed)
    for step in task.steps:
        scenario.tool(step.tool).run(world, step.expected_arguments)
    before = world.state.snapshot()
    for tool in scenario.tools:
        for arguments in _bad_argument_sets(tool):
            try:
                tool.run(world, tool.validate_arguments(arguments))
            except ToolError:
                assert world.state.snapshot() == before, tool.name
            else:
                before = world.state.snapshot()


def _bad_argument_sets(tool: Tool) -> list[dict[str, Any]]:
    """Arguments that fit the schema but name nothing the world has."""
    properties = tool.openai_schema()["function"]["parameters"].get("properties", {})
    values: dict[str, Any] = {}
    for name, schema in properties.items():
        kinds = _accepted_types(schema) or {"string"}
        if "string" in kinds:
            values[name] = NOPE
        elif "integer" in kinds or "number" in kinds:
            values[name] = 1
        elif "array" in kinds:
            values[name] = [NOPE, NOPE + "2"]
        elif "object" in kinds:
            values[name] = {"nope": NOPE}
        elif "boolean" in kinds:
            values[name] = True
    return [values]


@pytest.mark.parametrize("scenario_name", SCENARIO_NAMES)
def test_worlds_depend_only_on_the_seed(scenario_name):
    scenario = SCENARIOS[scenario_name]
    assert scenario.world(3) == scenario.world(3)
    assert scenario.world(3) == scenario.make_world(np.random.default_rng(3))
    assert len({repr(scenario.world(seed)) for seed in range(20)}) == 20


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(world_seed=st.integers(min_value=0, max_value=2**63 - 1), rng_seed=st.integers(0, 2**32))
def test_every_template_builds_on_random_worlds(world_seed, rng_seed):
    for scenario_name in SCENARIO_NAMES:
        scenario = SCENARIOS[scenario_name]
        world = scenario.world(world_seed)
        for template in scenario.templates:
            task = build_task(
                scenario, template, world_seed, np.random.default_rng(rng_seed), world=world
            )
            assert task.world_seed == world_seed
            assert MIN_STEPS <= task.n_steps <= MAX_STEPS


# -- every backend, bad arguments -----------------------------------------------------------


def _accepted_types(schema: dict[str, Any]) -> set[str] | None:
    """JSON types a property accepts; ``None`` when it accepts anything."""
    if "anyOf" in schema:
        branches = [_accepted_types(branch) for branch in schema["anyOf"]]
        if any(branch is None for branch in branches):
            return None
        return set().union(*branches)  # type: ignore[arg-type]
    if "type" not in schema:
        return None
    types = schema["type"]
    return {types} if isinstance(types, str) else set(types)


def _wrong_value(schema: dict[str, Any]) -> Any:
    """A value of a JSON type the property does not accept (``None``: there is none)."""
    accepted = _accepted_types(schema)
    if accepted is None:
        return None
    return [["wrong", "type"]] if "object" in accepted else {"wrong": ["type"]}


def _plausible_value(schema: dict[str, Any]) -> Any:
    """A well-typed value that names nothing in any world."""
    if "anyOf" in schema:
        branches = [branch for branch in schema["anyOf"] if branch.get("type") != "null"]
        return _plausible_value(branches[0]) if branches else None
    kind = schema.get("type")
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return False
    if kind == "array":
        item = _plausible_value(schema.get("items", {"type": "string"}))
        return [item, item]
    if kind == "object":
        return {NOPE: NOPE}
    return NOPE


def _properties(tool: Tool) -> tuple[dict[str, Any], list[str]]:
    parameters = tool.openai_schema()["function"]["parameters"]
    return parameters["properties"], parameters.get("required", [])


def _gold_arguments() -> dict[str, list[dict[str, Any]]]:
    """Arguments of correct calls of each tool, from the templates' tasks on a few worlds."""
    found: dict[str, list[dict[str, Any]]] = {}
    for scenario_name, template in TEMPLATES:
        for seed in range(2):
            for step in build(scenario_name, template, seed).steps:
                calls = found.setdefault(step.tool, [])
                if dict(step.expected_arguments) not in calls:
                    calls.append(dict(step.expected_arguments))
    return found


GOLD_ARGUMENTS = _gold_arguments()


def _unknown_value_calls(tool: Tool) -> list[dict[str, Any]]:
    """Well-typed calls whose string arguments name nothing: all at once, and one by one."""
    properties, _ = _properties(tool)
    bases = [{name: _plausible_value(schema) for name, schema in properties.items()}]
    bases += GOLD_ARGUMENTS.get(tool.name, [])[:3]
    calls = []
    for base in bases:
        strings = [name for name, value in base.items() if isinstance(value, str)]
        calls.append({**base, **dict.fromkeys(strings, NOPE)})
        calls += [{**base, name: NOPE} for name in strings]
        lists = [name for name, value in base.items() if isinstance(value, list) and value]
        calls += [
            {**base, name: [NOPE if isinstance(item, str) else item for item in base[name]]}
            for name in lists
        ]
    return calls


#: Well-typed values at the edges, by JSON type: empty, blank, zero, negative, huge, not finite.
EDGE_VALUES: dict[str, list[Any]] = {
    "string": ["", "   ", "x" * 5000, "${s0.id}"],
    "integer": [0, -1, 10**12],
    "number": [0.0, -1.0, 1e300, float("nan"), float("inf")],
    "boolean": [True],
    "array": [[]],
    "object": [{}],
}


def _edge_value_calls(tool: Tool) -> list[dict[str, Any]]:
    """Calls that differ from a plausible or a correct one in one argument, set to an edge."""
    properties, _ = _properties(tool)
    bases = [{name: _plausible_value(schema) for name, schema in properties.items()}]
    bases += GOLD_ARGUMENTS.get(tool.name, [])[:2]
    calls = []
    for base in bases:
        for name, schema in properties.items():
            for kind in sorted(_accepted_types(schema) or ()):
                calls += [{**base, name: value} for value in EDGE_VALUES.get(kind, [])]
    return calls


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_wrong_typed_arguments_raise_tool_argument_error(name):
    tool = TOOLS[name]
    world = SCENARIOS[tool.scenario].world(0)
    properties, required = _properties(tool)
    plausible = {prop: _plausible_value(schema) for prop, schema in properties.items()}
    wrong = {prop: _wrong_value(schema) for prop, schema in properties.items()}
    wrong = {prop: value for prop, value in wrong.items() if value is not None}
    calls = [
        {**plausible, **wrong},  # every argument wrong at once
        *({**plausible, prop: value} for prop, value in wrong.items()),  # one at a time
        {**plausible, "zzz_unexpected": 1},  # an argument the tool does not have
        *({k: v for k, v in plausible.items() if k != prop} for prop in required),  # missing
    ]
    if required:
        calls.append({})
    for arguments in calls:
        with pytest.raises(ToolArgumentError, match=re.escape(f"{name}: ")):
            tool.execute(world, arguments)
    for arguments in ([], "text", None, 3):
        with pytest.raises(ToolArgumentError):
            tool.execute(world, arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_unknown_and_edge_values_raise_tool_error_or_answer(name):
    tool = TOOLS[name]
    scenario = SCENARIOS[tool.scenario]
    for seed in (0, 1):
        world = scenario.world(seed)
        edges = _edge_value_calls(tool) if seed == 0 else []
        for arguments in [*_unknown_value_calls(tool), *edges]:
            try:
                response = tool.execute(world, arguments)
            except ToolError:
                continue
            except Exception as error:  # pragma: no cover - the failure message
                pytest.fail(f"{name}({arguments}) on world {seed} raised {error!r}")
            assert isinstance(response, dict), (arguments, response)
            assert "error" not in response, (arguments, response)
            assert json_round_trips(response), (arguments, response)


# -- evolution hooks ------------------------------------------------------------------------

EVOLUTION_SEEDS = range(4)
EVOLUTION_RNG_SEEDS = range(3)


def _check_evolved(
    scenario: Scenario, template: str, spec: TaskSpec, evolved: TaskSpec, seed: int, world: Any
) -> Task:
    assert len(evolved.steps) == len(spec.steps) + 1
    try:
        task = build_task_from_spec(scenario, evolved, seed, world=world, template=template)
    except TemplateError as error:  # pragma: no cover - the failure message
        pytest.fail(f"evolved {scenario.name}/{template} (world {seed}) does not build: {error}")
    assert_consistent_task(scenario, template, evolved, task, seed)
    return task


@functools.cache
def _evolve_every_template(scenario_name: str) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """Apply each hook to each template's spec on a few worlds; every evolved spec must build.

    The follow-up and side-step operators are applied with one rule of the scenario at a time,
    so that each rule is exercised. Returns how often a lookup, each follow-up rule and each
    side-step rule applied.
    """
    scenario = SCENARIOS[scenario_name]
    lookups = 0
    follow_ups = [0] * len(scenario.follow_ups)
    side_steps = [0] * len(scenario.side_steps)
    for template, make_spec in sorted(scenario.templates.items()):
        for seed in EVOLUTION_SEEDS:
            world = scenario.world(seed)
            spec = make_spec(world, np.random.default_rng(seed))
            for rng_seed in EVOLUTION_RNG_SEEDS:
                evolved = add_lookup(spec, scenario, world, np.random.default_rng(rng_seed))
                if evolved is not None:
                    lookups += 1
                    task = _check_evolved(scenario, template, spec, evolved, seed, world)
                    assert task.steps[0].depends_on == ()
                    assert any(0 in step.depends_on for step in task.steps[1:])
                for number, rule in enumerate(scenario.follow_ups):
                    only = replace(scenario, follow_ups=(rule,))
                    evolved = add_follow_up(spec, only, world, np.random.default_rng(rng_seed))
                    if evolved is not None:
                        follow_ups[number] += 1
                        task = _check_evolved(scenario, template, spec, evolved, seed, world)
                        followed = task.steps[-1].depends_on
                        assert any(task.steps[i].tool == rule.after_tool for i in followed)
                for number, rule in enumerate(scenario.side_steps):
                    only = replace(scenario, side_steps=(rule,))
                    evolved = add_side_step(spec, only, world, np.random.default_rng(rng_seed))
                    if evolved is not None:
                        side_steps[number] += 1
                        task = _check_evolved(scenario, template, spec, evolved, seed, world)
                        assert task.steps[-1].depends_on == ()
    return lookups, tuple(follow_ups), tuple(side_steps)


@pytest.mark.parametrize("scenario_name", SCENARIO_NAMES)
def test_evolved_templates_build(scenario_name):
    lookups, _, _ = _evolve_every_template(scenario_name)
    assert lookups, f"{scenario_name}: no lookup rule applies to any template"


@pytest.mark.parametrize("scenario_name", SCENARIO_NAMES)
def test_every_follow_up_and_side_step_rule_applies_to_some_template(scenario_name):
    scenario = SCENARIOS[scenario_name]
    _, follow_ups, side_steps = _evolve_every_template(scenario_name)
    never = [
        f"follow-up after {rule.after_tool}"
        for rule, count in zip(scenario.follow_ups, follow_ups, strict=True)
        if not count
    ] + [
        f"side step {rule.name}"
        for rule, count in zip(scenario.side_steps, side_steps, strict=True)
        if not count
    ]
    assert not never, f"{scenario_name}: these rules never apply to a template: {never}"


# -- travel backends ------------------------------------------------------------------------


@pytest.fixture
def travel_world():
    return SCENARIOS["travel"].world(0)


def call(tool_name: str, world: Any, /, **arguments: Any) -> dict[str, Any]:
    return TOOLS[tool_name].execute(world, arguments)


def test_travel_world_shape(travel_world):
    assert len(travel_world.cities) == len(set(travel_world.cities)) == 6
    first, last = travel_world.dates
    assert dt.date.fromisoformat(last) - dt.date.fromisoformat(first) == dt.timedelta(days=27)
    assert travel_world.rates["USD"] == 1.0
    for code, rate in travel_module.BASE_RATES.items():
        assert 0.97 * rate <= travel_world.rates[code] <= 1.03 * rate


def test_search_flights_is_cheapest_first_and_bookable(travel_world):
    origin, destination = travel_world.city_names()[:2]
    first, _ = travel_world.dates
    found = call("search_flights", travel_world, origin=origin, destination=destination, date=first)
    flights = found["flights"]
    assert len(flights) == travel_module.FLIGHTS_PER_ROUTE
    prices = [flight["price"] for flight in flights]
    assert prices == sorted(set(prices))
    for flight in flights:
        booked = call("book_flight", travel_world, flight_id=flight["flight_id"], passenger="Ada")
        assert booked["flight_id"] == flight["flight_id"]
        assert booked["price"] == flight["price"]
        assert re.fullmatch(r"BK-[0-9A-F]{6}", booked["booking_id"])
    # lower case and spaces are tolerated; the same booking again is a second booking (worlds
    # are stateful now: v2 gave both the same id), the first keeping the id it always had
    flight_id = flights[0]["flight_id"]
    once = call("book_flight", travel_world, flight_id=flight_id, passenger="Ada  Lovelace")
    twice = call(
        "book_flight", travel_world, flight_id=f" {flight_id.lower()} ", passenger="Ada Lovelace"
    )
    assert once["booking_id"] == stable_id("BK", travel_world.seed, flight_id, "Ada Lovelace")
    assert twice["booking_id"] != once["booking_id"]
    assert {**twice, "booking_id": once["booking_id"]} == once


def test_search_hotels_totals(travel_world):
    city = travel_world.city_names()[0]
    first, _ = travel_world.dates
    found = call("search_hotels", travel_world, city=city.upper(), check_in=first, nights=3)
    assert found["city"] == city
    assert found["nights"] == 3
    hotels = found["hotels"]
    assert len(hotels) == travel_module.HOTELS_PER_CITY
    assert [hotel["nightly_price"] for hotel in hotels] == sorted(
        {hotel["nightly_price"] for hotel in hotels}
    )
    assert all(hotel["total_price"] == 3 * hotel["nightly_price"] for hotel in hotels)


def test_convert_currency_round_trip(travel_world):
    there = call(
        "convert_currency", travel_world, amount=100, from_currency="usd", to_currency="EUR"
    )
    assert there["amount"] == round(100 * travel_world.rates["EUR"], 2)
    assert there["from_currency"] == "USD"
    same = call(
        "convert_currency", travel_world, amount=12.5, from_currency="JPY", to_currency="JPY"
    )
    assert same["amount"] == 12.5
    assert same["rate"] == 1.0


def _outside_city(world: Any) -> str:
    return next(city.name for city in travel_module.CITIES if city.code not in world.cities)


def _travel_bad_calls(world: Any) -> list[tuple[str, dict[str, Any], str]]:
    first, last = world.dates
    after = (dt.date.fromisoformat(last) + dt.timedelta(days=1)).isoformat()
    a, b = world.city_names()[:2]
    outside = _outside_city(world)
    return [
        ("search_flights", {"origin": outside, "destination": b, "date": first}, "unknown origin"),
        ("search_flights", {"origin": a, "destination": "Atlantis", "date": first}, "unknown dest"),
        ("search_flights", {"origin": a, "destination": a, "date": first}, "must be different"),
        ("search_flights", {"origin": a, "destination": b, "date": "tomorrow"}, "not a date"),
        ("search_flights", {"origin": a, "destination": b, "date": after}, "outside the bookable"),
        ("book_flight", {"flight_id": "flight-1", "passenger": "Ada"}, "malformed flight_id"),
        ("book_flight", {"flight_id": "ZZ999-0101", "passenger": "Ada"}, "outside the window"),
        ("book_flight", {"flight_id": "AZ412-1332", "passenger": "Ada"}, "is not a date"),
        ("search_hotels", {"city": a, "check_in": first, "nights": 0}, "between 1 and 14"),
        ("search_hotels", {"city": a, "check_in": first, "nights": 15}, "between 1 and 14"),
        ("book_hotel", {"hotel_id": "H1", "guest": "A", "check_in": first, "nights": 1}, "malf"),
        (
            "book_hotel",
            {"hotel_id": "HTL-ZZZ0ABC", "guest": "A", "check_in": first, "nights": 1},
            "no hotel",
        ),
        (
            "convert_currency",
            {"amount": 1, "from_currency": "XYZ", "to_currency": "USD"},
            "unknown currency 'XYZ'",
        ),
        (
            "convert_currency",
            {"amount": -1, "from_currency": "EUR", "to_currency": "USD"},
            "finite number >= 0",
        ),
        (
            "convert_currency",
            {"amount": float("inf"), "from_currency": "EUR", "to_currency": "USD"},
            "finite number >= 0",
        ),
        ("get_weather", {"city": outside, "date": first}, "unknown city"),
        ("create_itinerary", {"title": "Trip", "items": []}, "1 to 20 items, got 0"),
        ("create_itinerary", {"title": "Trip", "items": ["x"] * 21}, "1 to 20 items, got 21"),
        ("create_itinerary", {"title": "  ", "items": ["x"]}, "title must not be empty"),
        ("create_itinerary", {"title": "Trip", "items": ["x", " "]}, "must not be empty"),
    ]


@pytest.mark.parametrize("case", range(20))
def test_travel_bad_calls_raise_tool_error(travel_world, case):
    name, arguments, message = _travel_bad_calls(travel_world)[case]
    with pytest.raises(ToolError, match=re.escape(message)) as error:
        TOOLS[name].execute(travel_world, arguments)
    assert not isinstance(error.value, ToolArgumentError)


def test_flight_of_another_world_is_not_bookable():
    source, target = SCENARIOS["travel"].world(0), SCENARIOS["travel"].world(1)
    task = build("travel", "cheapest_flight", 0)
    flight_id = task.steps[1].expected_arguments["flight_id"]
    assert call("book_flight", source, flight_id=flight_id, passenger="Ada")
    with pytest.raises(ToolError, match="flight"):
        call("book_flight", target, flight_id=flight_id, passenger="Ada")


# -- messaging backends ---------------------------------------------------------------------


@pytest.fixture
def messaging_world():
    return SCENARIOS["messaging"].world(0)


def test_messaging_world_shape(messaging_world):
    assert len(set(messaging_world.names)) == messaging_module.N_CONTACTS
    assert len(set(messaging_world.contact_ids)) == messaging_module.N_CONTACTS
    assert all(re.fullmatch(r"CT-[0-9A-F]{6}", cid) for cid in messaging_world.contact_ids)


@pytest.mark.parametrize("variant", ["full", "first", "last", "shouting"])
def test_find_contact_by_any_unique_name(messaging_world, variant):
    full = messaging_world.names[0]
    query = {
        "full": full,
        "first": full.split()[0],
        "last": full.split()[-1],
        "shouting": f"  {full.upper()} ",
    }[variant]
    found = call("find_contact", messaging_world, name=query)
    assert found["name"] == full
    assert found["contact_id"] == messaging_world.contact_ids[0]


def test_list_messages_limit_and_order(messaging_world):
    contact = messaging_world.contact_ids[0]
    everything = call("list_messages", messaging_world, contact_id=contact, limit=20)
    total = everything["total"]
    assert 3 <= total <= 6
    assert len(everything["messages"]) == total
    stamps = [message["sent_at"] for message in everything["messages"]]
    assert stamps == sorted(stamps, reverse=True)
    two = call("list_messages", messaging_world, contact_id=contact.lower(), limit=2)
    assert two["messages"] == everything["messages"][:2]
    default = call("list_messages", messaging_world, contact_id=contact)
    assert default["messages"] == everything["messages"][:5]


def test_group_id_ignores_member_order_and_duplicates(messaging_world):
    a, b, c = messaging_world.contact_ids[:3]
    one = call("create_group", messaging_world, name="Book club", member_ids=[a, b, c])
    fresh = messaging_module.SCENARIO.world(0)
    assert fresh.contact_ids[:3] == (a, b, c)
    # the same group spelt otherwise, on a fresh world, is the same group
    same = call("create_group", fresh, name=" Book  club ", member_ids=[c, a, b, a])
    assert one == same
    assert one["size"] == 3
    assert re.fullmatch(r"GRP-[0-9A-F]{6}", one["group_id"])
    # creating it a second time on the same world makes a second group
    again = call("create_group", messaging_world, name="Book club", member_ids=[a, b, c])
    assert again["group_id"] != one["group_id"]
    posted = call("send_group_message", messaging_world, group_id=one["group_id"], text="Hi")
    assert posted["group_id"] == one["group_id"]


def test_messages_you_send_show_in_the_conversation(messaging_world):
    contact = messaging_world.contact_ids[0]
    before = call("list_messages", messaging_world, contact_id=contact)
    assert "sent_to_them" not in before
    newest = before["messages"][0]["message_id"]
    sent = call("send_message", messaging_world, contact_id=contact, text="Hello")
    reply = call("reply_to_message", messaging_world, message_id=newest, text="Sure")
    after = call("list_messages", messaging_world, contact_id=contact)
    assert after["sent_to_them"] == [sent["message_id"]]
    assert after["messages"][0]["your_reply_id"] == reply["message_id"]
    # a second identical message is a second message, with its own id
    second = call("send_message", messaging_world, contact_id=contact, text="Hello")
    assert second["message_id"] != sent["message_id"]
    assert len(call("list_messages", messaging_world, contact_id=contact)["sent_to_them"]) == 2


def test_a_group_message_needs_a_group_that_was_created(messaging_world):
    a, b = messaging_world.contact_ids[:2]
    made = call("create_group", messaging_world, name="Book club", member_ids=[a, b])
    other = messaging_module.SCENARIO.world(1)
    with pytest.raises(ToolError, match="unknown group_id"):
        call("send_group_message", other, group_id=made["group_id"], text="Hi")


def _messaging_bad_calls(world: Any) -> list[tuple[str, dict[str, Any], str]]:
    a, b = world.contact_ids[:2]
    outsider = next(name for name in messaging_module.CONTACT_NAMES if name not in world.names)
    return [
        ("find_contact", {"name": outsider}, "no contact named"),
        ("find_contact", {"name": "   "}, "name must not be empty"),
        ("find_contact", {"name": "a"}, "matches several contacts"),
        ("list_messages", {"contact_id": "CT-000000"}, "unknown contact_id"),
        ("list_messages", {"contact_id": a, "limit": 0}, "between 1 and 20"),
        ("list_messages", {"contact_id": a, "limit": 21}, "between 1 and 20"),
        ("send_message", {"contact_id": a, "text": "  "}, "text must not be empty"),
        ("send_message", {"contact_id": a, "text": "x" * 1001}, "text is too long"),
        ("send_message", {"contact_id": "Maya", "text": "hi"}, "unknown contact_id"),
        ("reply_to_message", {"message_id": "MSG-00000000", "text": "hi"}, "no message"),
        ("create_group", {"name": "G", "member_ids": [a]}, "at least two different members"),
        ("create_group", {"name": "G", "member_ids": [a, a.lower()]}, "at least two different"),
        ("create_group", {"name": "G", "member_ids": [a, "CT-000000"]}, "unknown contact ids"),
        ("create_group", {"name": " ", "member_ids": [a, b]}, "name must not be empty"),
        ("send_group_message", {"group_id": "group-1", "text": "hi"}, "unknown group_id"),
        ("send_group_message", {"group_id": "GRP-ABC123", "text": "hi"}, "unknown group_id"),
    ]


@pytest.mark.parametrize("case", range(16))
def test_messaging_bad_calls_raise_tool_error(messaging_world, case):
    name, arguments, message = _messaging_bad_calls(messaging_world)[case]
    with pytest.raises(ToolError, match=re.escape(message)) as error:
        TOOLS[name].execute(messaging_world, arguments)
    assert not isinstance(error.value, ToolArgumentError)


def test_reply_goes_to_the_sender(messaging_world):
    contact = messaging_world.contact_ids[3]
    latest = call("list_messages", messaging_world, contact_id=contact)["messages"][0]
    reply = call("reply_to_message", messaging_world, message_id=latest["message_id"], text="ok")
    assert reply["to"] == contact
    assert reply["in_reply_to"] == latest["message_id"]


# -- build_task errors ----------------------------------------------------------------------


def _scenario_with(template: Any) -> Scenario:
    travel = SCENARIOS["travel"]
    return Scenario(
        name="probe",
        category="Probe",
        description="Templates that go wrong.",
        make_world=travel.make_world,
        tools=travel.tools,
        templates={"broken": template},
    )


def _weather(world: Any) -> dict[str, str]:
    return {"city": world.city_names()[0], "date": world.dates[0]}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            lambda w: [
                StepSpec("get_weather", _weather(w)),
                StepSpec("get_weather", {"c": "${s1.x}"}),
            ],
            r"probe/broken step 1 depends on \[1\]: a step may only depend on earlier steps",
        ),
        (
            lambda w: [StepSpec("get_weather", _weather(w), after=(-1,))],
            r"probe/broken step 0 depends on \[-1\]",
        ),
        (
            lambda w: [StepSpec("get_weather", {"city": "Atlantis", "date": w.dates[0]})],
            r"probe/broken \(world 4\) step 0 get_weather: unknown city 'Atlantis'",
        ),
        (
            lambda w: [
                StepSpec("get_weather", _weather(w)),
                StepSpec("get_weather", {"city": "${s0.nowhere}", "date": w.dates[0]}),
            ],
            r"step 1 get_weather: \$\{s0\.nowhere\}: the response has no field 'nowhere'",
        ),
        (
            lambda w: [StepSpec("get_weather", {"city": "Paris"})],
            r"step 0 get_weather: get_weather: missing required argument 'date'",
        ),
        (
            lambda w: [StepSpec("find_contact", {"name": "Ada"})],
            r"step 0 find_contact: .*no tool 'find_contact'",
        ),
    ],
)
def test_broken_templates_raise_template_error(steps, message):
    scenario = _scenario_with(lambda world, rng: TaskSpec("Broken.", steps(world)))
    with pytest.raises(TemplateError, match=message):
        build_task(scenario, "broken", 4, np.random.default_rng(0))


def test_broken_answer_raises_template_error():
    scenario = _scenario_with(
        lambda world, rng: TaskSpec(
            "Broken.", [StepSpec("get_weather", _weather(world))], answer="${s1.condition}"
        )
    )
    with pytest.raises(TemplateError, match=r"probe/broken answer: .*step 1 has not answered"):
        build_task(scenario, "broken", 4, np.random.default_rng(0))


def test_explicit_after_becomes_a_dependency():
    scenario = _scenario_with(
        lambda world, rng: TaskSpec(
            "Two forecasts, in order.",
            [
                StepSpec("get_weather", _weather(world)),
                StepSpec("get_weather", _weather(world), (0,)),
            ],
            answer="${s1.condition}",
        )
    )
    task = build_task(scenario, "broken", 4, np.random.default_rng(0))
    assert [step.depends_on for step in task.steps] == [(), (0,)]
    assert task.expected_answer == task.steps[1].expected_response["condition"]


# -- stable_id ------------------------------------------------------------------------------


def test_stable_id_known_values():
    assert stable_id("BK", "FL123", "Ada Lovelace") == "BK-00FA16"
    assert stable_id("MSG", "FL123", "Ada Lovelace", digits=8) == "MSG-00FA1611"
    assert stable_id("XX", "FL123", "Ada Lovelace").endswith("-00FA16")


@pytest.mark.parametrize("digits", [1, 4, 6, 8, 16])
def test_stable_id_shape(digits):
    assert re.fullmatch(rf"ID-[0-9A-F]{{{digits}}}", stable_id("ID", 1, "a", digits=digits))


def test_stable_id_depends_only_on_the_parts():
    assert stable_id("A", 1, "x") == stable_id("A", 1, "x")
    assert stable_id("A", {"b": 1, "a": 2}) == stable_id("A", {"a": 2, "b": 1})
    assert stable_id("A", ["m", "n"]) == stable_id("A", ("m", "n"))
    distinct = {
        stable_id("A", 1, "x"),
        stable_id("A", "x", 1),
        stable_id("A", "1", "x"),
        stable_id("A", 2, "x"),
        stable_id("A", 1, "y"),
        stable_id("A", 1),
    }
    assert len(distinct) == 6
