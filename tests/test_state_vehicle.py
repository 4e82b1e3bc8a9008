"""The vehicle world is stateful: the commands change each car's lock, engine, charging,
climate and navigation, and ``get_vehicle_status`` sees them.

Expected values are worked out from the story (what was commanded last, how long a session
runs, the v2 id formula ``stable_id(prefix, *parts)`` of a first command), not copied from a
run.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest

from asynctool_env.core.effects import play_gold, task_conflicts, unordered_conflicts
from asynctool_env.core.scenario import (
    StepSpec,
    TaskSpec,
    build_task,
    build_task_from_spec,
    stable_id,
)
from asynctool_env.core.tools import ToolError
from asynctool_env.dataset.evolution import add_follow_up
from asynctool_env.scenarios import SCENARIOS, TOOLS, vehicle

SCENARIO = SCENARIOS["vehicle"]
#: The fields a status had in dataset v2 (a car nobody commanded still answers them only).
V2_STATUS = {
    "vehicle_id",
    "plate",
    "model",
    "powertrain",
    "locked",
    "location",
    "odometer_km",
    "cabin_temperature_c",
    "doors",
    "range_km",
    "updated_at",
}
#: (world seed, car) of a plugged-in plug-in hybrid: it has an engine and can charge.
HYBRID = (1, 2)


def run(world: Any, tool: str, **arguments: Any) -> dict[str, Any]:
    """Run a tool as an episode does (validated, recorded, rolled back if refused)."""
    response, _ = TOOLS[tool].run(world, TOOLS[tool].validate_arguments(arguments))
    return response


def login(world: Any, index: int) -> str:
    pin = vehicle._pin(world, index)  # the owner's secret, given by the user in words
    vehicle_id = world.vehicle_ids[index]
    return run(world, "authenticate_vehicle", vehicle_id=vehicle_id, pin=pin)["session_token"]


def status(world: Any, index: int) -> dict[str, Any]:
    return run(world, "get_vehicle_status", vehicle_id=world.vehicle_ids[index])


def later(clock: str, minutes: float) -> str:
    moment = dt.datetime.fromisoformat(clock) + dt.timedelta(minutes=math.ceil(minutes))
    return moment.isoformat(timespec="minutes")


def powertrain(world: Any, index: int) -> str:
    return run(world, "find_vehicle", query=world.plates[index])["powertrain"]


def engine_car(world: Any) -> int:
    return next(i for i in range(6) if powertrain(world, i) != "electric")


def test_a_car_nobody_commanded_answers_as_in_v2():
    world = SCENARIO.world(0)
    for index in range(6):
        shown = set(status(world, index)) - {"battery_percent", "plugged_in", "fuel_percent"}
        assert shown == V2_STATUS
    assert len(world.state) == 0


def test_logging_in_is_a_read():
    world = SCENARIO.world(0)
    pin = vehicle._pin(world, 3)
    arguments = {"vehicle_id": world.vehicle_ids[3], "pin": pin}
    first, effects = TOOLS["authenticate_vehicle"].run(world, arguments)
    second, _ = TOOLS["authenticate_vehicle"].run(world, arguments)
    assert first == second and not effects.writes and len(world.state) == 0


@pytest.mark.parametrize("seed", range(4))
def test_the_status_follows_the_lock_commands(seed):
    world = SCENARIO.world(seed)
    token = login(world, 1)
    vehicle_id = world.vehicle_ids[1]
    first = run(world, "set_vehicle_lock", session_token=token, locked=False)
    assert first["command_id"] == stable_id("CMD", world.seed, vehicle_id, "lock", False)
    assert status(world, 1)["locked"] is False
    run(world, "set_vehicle_lock", session_token=token, locked=True)
    assert status(world, 1)["locked"] is True
    # locking a locked car completes again, as a second command with a new id
    again = run(world, "set_vehicle_lock", session_token=token, locked=True)
    assert again["status"] == "completed"
    assert again["command_id"] != stable_id("CMD", world.seed, vehicle_id, "lock", True)
    assert status(world, 1)["locked"] is True
    assert world.state.get(("vehicle", vehicle_id, "lock")) == {
        "locked": True,
        "command_id": again["command_id"],
    }
    assert status(world, 2)["locked"] == vehicle._state(world, 2)["locked"]  # another car


def test_a_running_engine_shows_and_is_not_started_twice():
    world = SCENARIO.world(0)
    car = engine_car(world)
    token = login(world, car)
    now = status(world, car)["updated_at"]
    started = run(world, "start_vehicle_engine", session_token=token, run_minutes=15)
    assert status(world, car)["engine"] == {
        "status": "running",
        "session_id": started["session_id"],
        "stops_at": later(now, 15),
    }
    # a second start (any run time) reports the running engine and starts nothing new
    again = run(world, "start_vehicle_engine", session_token=token, run_minutes=25)
    assert again == {**started, "already_running": True}
    assert status(world, car)["engine"]["stops_at"] == later(now, 15)
    stored = world.state.get(("vehicle", world.vehicle_ids[car], "engine"))
    assert stored["start_requests"] == 2  # the repeat shows in the state


def test_charging_shows_and_a_hybrid_may_charge_with_its_engine_running():
    seed, car = HYBRID
    world = SCENARIO.world(seed)
    assert powertrain(world, car) == "plug-in hybrid"
    token = login(world, car)
    before = status(world, car)
    engine = run(world, "start_vehicle_engine", session_token=token, run_minutes=10)
    charge = run(world, "start_vehicle_charging", session_token=token, target_percent=90)
    shown = status(world, car)
    assert shown["engine"]["session_id"] == engine["session_id"]
    assert shown["charging"] == {
        "status": "charging",
        "session_id": charge["session_id"],
        "target_percent": 90,
        "ready_at": charge["ready_at"],
    }
    # nothing else moved: time stands still in a world
    assert shown["battery_percent"] == before["battery_percent"]
    again = run(world, "start_vehicle_charging", session_token=token, target_percent=100)
    assert again == {**charge, "already_running": True}
    stored = world.state.get(("vehicle", world.vehicle_ids[car], "charging"))
    assert (stored["target_percent"], stored["start_requests"]) == (90, 2)


def test_the_climate_needs_the_session_that_is_running():
    world = SCENARIO.world(0)
    car = engine_car(world)
    session = run(world, "start_vehicle_engine", session_token=login(world, car), run_minutes=10)[
        "session_id"
    ]
    fresh = SCENARIO.world(0)  # a signed session id of this world, but never started here
    with pytest.raises(ToolError, match="no active session"):
        run(fresh, "set_vehicle_climate", session_id=session, temperature_c=21)
    assert len(fresh.state) == 0
    out = run(world, "set_vehicle_climate", session_id=session.lower(), temperature_c=21)
    assert out["powered_by"] == "engine"
    assert status(world, car)["climate"] == {
        "target_temperature_c": 21,
        "defrost": False,
        "powered_by": "engine",
    }


def test_the_last_climate_setting_wins_and_a_repeat_is_a_second_setting():
    world = SCENARIO.world(0)
    car = engine_car(world)
    token = login(world, car)
    session = run(world, "start_vehicle_engine", session_token=token)["session_id"]
    run(world, "set_vehicle_climate", session_id=session, temperature_c=22)
    run(world, "set_vehicle_climate", session_id=session, temperature_c=19.5, defrost=True)
    assert status(world, car)["climate"] == {
        "target_temperature_c": 19.5,
        "defrost": True,
        "powered_by": "engine",
    }
    once = world.state.snapshot()
    run(world, "set_vehicle_climate", session_id=session, temperature_c=19.5, defrost=True)
    assert world.state.snapshot() != once
    climate = world.state.get(("vehicle", world.vehicle_ids[car], "climate"))
    assert climate["settings"] == 3


def test_destinations_sent_are_kept_side_by_side():
    orders = []
    for places in (("Airport", "City Hall"), ("City Hall", "Airport")):
        world = SCENARIO.world(2)
        token = login(world, 0)
        routes = {
            place: run(world, "navigate_vehicle", session_token=token, destination=place)
            for place in places
        }
        orders.append(world.state.snapshot())
        vehicle_id = world.vehicle_ids[0]
        expected = sorted(
            (stable_id("RTE", world.seed, vehicle_id, place), place) for place in places
        )
        assert [route["route_id"] for route in routes.values()] == [
            stable_id("RTE", world.seed, vehicle_id, place) for place in places
        ]
        assert status(world, 0)["navigation_destinations"] == [
            {"route_id": route_id, "destination": place} for route_id, place in expected
        ]
    assert orders[0] == orders[1]  # the order they were sent in does not matter
    again = run(world, "navigate_vehicle", session_token=token, destination="airport")
    assert again["route_id"] != routes["Airport"]["route_id"]
    assert len(status(world, 0)["navigation_destinations"]) == 3


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("set_vehicle_lock", {"session_token": "VTK-123", "locked": True}, "log in"),
        ("start_vehicle_engine", {"run_minutes": 31}, "between 5 and 30"),
        ("start_vehicle_charging", {"target_percent": 101}, "between 50 and 100"),
        ("set_vehicle_climate", {"temperature_c": 21.3}, "steps of 0.5"),
        ("navigate_vehicle", {"destination": "the Moon"}, "unknown destination"),
    ],
)
def test_a_refused_command_changes_nothing(tool, arguments, message):
    seed, car = HYBRID
    world = SCENARIO.world(seed)
    token = login(world, car)
    session = run(world, "start_vehicle_engine", session_token=token)["session_id"]
    run(world, "set_vehicle_lock", session_token=token, locked=False)
    filled = {"session_token": token, "session_id": session, **arguments}
    names = TOOLS[tool].openai_schema()["function"]["parameters"]["properties"]
    arguments = {name: value for name, value in filled.items() if name in names}
    before = world.state.snapshot()
    with pytest.raises(ToolError, match=message):
        run(world, tool, **arguments)
    assert world.state.snapshot() == before


def test_status_and_lock_reads_the_status_before_it_locks():
    for seed in range(10):
        task = build_task(SCENARIO, "status_and_lock", seed, np.random.default_rng(seed))
        assert task.steps[2].depends_on == (0, 1)
        assert "then" in task.instruction
        # the status answers what the car was before the command
        vehicle_id = task.steps[1].expected_arguments["vehicle_id"]
        index = SCENARIO.world(seed).vehicle_ids.index(vehicle_id)
        seed_lock = vehicle._state(SCENARIO.world(seed), index)["locked"]
        assert task.steps[1].expected_response["locked"] == seed_lock
        play = play_gold([task], TOOLS, lambda name, s: SCENARIOS[name].world(s))
        assert not unordered_conflicts(task, play, 0)
        final = play.final[("vehicle", seed)][("vehicle", vehicle_id, "lock")]
        assert final["locked"] == task.steps[2].expected_arguments["locked"]


def _with_follow_up(template: str, seed: int) -> Any:
    world = SCENARIO.world(seed)
    spec = SCENARIO.templates[template](world, np.random.default_rng(seed))
    climate = next(i for i, step in enumerate(spec.steps) if step.tool == "set_vehicle_climate")
    step, sentence = vehicle._defrost_after_climate(
        world, np.random.default_rng(seed), climate, spec.steps[climate]
    )
    evolved = TaskSpec(f"{spec.instruction} {sentence}", [*spec.steps, step], spec.answer)
    return build_task_from_spec(SCENARIO, evolved, seed), climate


@pytest.mark.parametrize("template", ["warm_up_car", "trip_ready"])
def test_the_second_climate_setting_waits_for_the_first(template):
    """Issue 21: the follow-up "Then change the cabin setting" is ordered in the gold."""
    for seed in range(8):
        task, climate = _with_follow_up(template, seed)
        last = task.steps[-1]
        assert climate in last.depends_on and "Then change the cabin" in task.instruction
        play = play_gold([task], TOOLS, lambda name, s: SCENARIOS[name].world(s))
        assert not unordered_conflicts(task, play, 0)
        vehicle_id = task.steps[0].expected_response["vehicle_id"]
        final = play.final[("vehicle", seed)][("vehicle", vehicle_id, "climate")]
        wanted = last.expected_arguments["temperature_c"]
        assert (final["target_temperature_c"], final["defrost"], final["settings"]) == (
            wanted,
            True,
            2,
        )
        # the other order would leave another state: the order matters, hence the edge
        world = SCENARIO.world(seed)
        steps = list(task.steps)
        for step in [*steps[:climate], steps[-1], *steps[climate:-1]]:
            TOOLS[step.tool].run(world, step.expected_arguments)
        swapped = world.state.get(("vehicle", vehicle_id, "climate"))
        assert swapped["defrost"] is False


def test_no_destination_follow_up_for_a_car_named_by_id():
    world = SCENARIO.world(0)
    for seed in range(10):
        spec = SCENARIO.templates["status_and_lock"](world, np.random.default_rng(seed))
        assert add_follow_up(spec, SCENARIO, world, np.random.default_rng(seed)) is None
    spec = SCENARIO.templates["remote_lock"](world, np.random.default_rng(0))
    evolved = add_follow_up(spec, SCENARIO, world, np.random.default_rng(0))
    assert evolved is not None and evolved.steps[-1].tool == "navigate_vehicle"
    task = build_task_from_spec(SCENARIO, evolved, 0)
    play = play_gold([task], TOOLS, lambda name, s: SCENARIOS[name].world(s))
    assert not unordered_conflicts(task, play, 0)


def test_commands_to_different_parts_of_a_car_commute():
    """Keys per part of a car: a lock and a destination do not conflict, two locks do, and a
    status of the car conflicts with any command to it."""
    world = SCENARIO.world(3)
    vehicle_id, pin = world.vehicle_ids[1], vehicle._pin(world, 1)

    def task(*steps: StepSpec) -> Any:
        login_step = StepSpec("authenticate_vehicle", {"vehicle_id": vehicle_id, "pin": pin})
        return build_task_from_spec(SCENARIO, TaskSpec("Do it.", [login_step, *steps]), 3)

    token = "${s0.session_token}"
    lock = task(StepSpec("set_vehicle_lock", {"session_token": token, "locked": True}))
    route = task(StepSpec("navigate_vehicle", {"session_token": token, "destination": "Airport"}))
    unlock = task(StepSpec("set_vehicle_lock", {"session_token": token, "locked": False}))
    look = task(StepSpec("get_vehicle_status", {"vehicle_id": vehicle_id}))

    def conflicts(*tasks: Any) -> list[tuple[int, int]]:
        play = play_gold(list(tasks), TOOLS, lambda name, s: SCENARIOS[name].world(s))
        return [pair[:2] for pair in task_conflicts(list(tasks), play)]

    assert conflicts(lock, route) == []
    assert conflicts(lock, unlock) == [(0, 1)]
    assert conflicts(route, look) == [(0, 1)]
