"""The travel world is stateful: bookings, reservations and itineraries are kept, and the
searches see them.

Expected values are worked out here from the story (which flight was booked, which nights a
stay holds, the v2 id formula ``stable_id(prefix, *parts)`` for a first object), not copied
from a run.
"""

from __future__ import annotations

import datetime as dt
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
from asynctool_env.scenarios import SCENARIOS, TOOLS, travel

SCENARIO = SCENARIOS["travel"]


def run(world: Any, tool: str, **arguments: Any) -> dict[str, Any]:
    """Run a tool as an episode does (validated, recorded, rolled back if refused)."""
    response, _ = TOOLS[tool].run(world, TOOLS[tool].validate_arguments(arguments))
    return response


def day(world: Any, offset: int) -> str:
    return (dt.date.fromisoformat(world.dates[0]) + dt.timedelta(days=offset)).isoformat()


def route(world: Any) -> dict[str, str]:
    origin, destination = world.city_names()[:2]
    return {"origin": origin, "destination": destination, "date": day(world, 3)}


def world_and_flights(seed: int = 0) -> tuple[Any, list[dict[str, Any]]]:
    world = SCENARIO.world(seed)
    return world, run(world, "search_flights", **route(world))["flights"]


def test_a_fresh_search_shows_no_bookings():
    world, flights = world_and_flights()
    assert all("your_bookings" not in flight for flight in flights)
    assert len(world.state) == 0  # a read wrote nothing


def test_a_booking_shows_on_its_flight_only():
    world, flights = world_and_flights()
    booked = run(world, "book_flight", flight_id=flights[1]["flight_id"], passenger="Alan Turing")
    again = run(world, "search_flights", **route(world))["flights"]
    assert [flight.get("your_bookings") for flight in again] == [
        None,
        [booked["booking_id"]],
        None,
    ]
    # everything else about the flights is as before
    assert [{k: v for k, v in f.items() if k != "your_bookings"} for f in again] == flights
    # another day's flights of the same route are other flights
    other = run(world, "search_flights", **{**route(world), "date": day(world, 4)})["flights"]
    assert all("your_bookings" not in flight for flight in other)


def test_booking_the_same_seat_twice_is_two_bookings():
    world, flights = world_and_flights()
    flight_id = flights[0]["flight_id"]
    first = run(world, "book_flight", flight_id=flight_id, passenger=" Ada   Lovelace ")
    second = run(world, "book_flight", flight_id=flight_id.lower(), passenger="Ada Lovelace")
    # the first keeps the id of dataset v2, the second is a new booking
    assert first["booking_id"] == stable_id("BK", world.seed, flight_id, "Ada Lovelace")
    assert second["booking_id"] != first["booking_id"]
    assert first["passenger"] == second["passenger"] == "Ada Lovelace"
    shown = run(world, "search_flights", **route(world))["flights"][0]["your_bookings"]
    assert shown == sorted([first["booking_id"], second["booking_id"]])
    stored = world.state.get(("booking", flight_id, first["booking_id"]))
    assert stored["passenger"] == "Ada Lovelace"
    assert (stored["flight_id"], stored["price"]) == (flight_id, flights[0]["price"])
    assert len(world.state.scan("booking", flight_id)) == 2


def test_spellings_the_tool_calls_equal_leave_equal_states():
    flights = world_and_flights()[1]
    flight_id = flights[0]["flight_id"]
    states = []
    for spelling in (
        {"flight_id": flight_id, "passenger": "Grace Hopper"},
        {"flight_id": f"  {flight_id.lower()}", "passenger": "  Grace \t Hopper  "},
    ):
        world = SCENARIO.world(0)
        run(world, "book_flight", **spelling)
        states.append(world.state.snapshot())
    assert states[0] == states[1]
    hotel_states = []
    for check_in in (day(SCENARIO.world(0), 5), day(SCENARIO.world(0), 5).replace("-", "")):
        world = SCENARIO.world(0)
        city = world.city_names()[0]
        hotel = run(world, "search_hotels", city=city, check_in=world.dates[0], nights=1)
        run(
            world,
            "book_hotel",
            hotel_id=hotel["hotels"][0]["hotel_id"],
            guest="Hedy  Lamarr",
            check_in=check_in,
            nights=2,
        )
        hotel_states.append(world.state.snapshot())
    assert hotel_states[0] == hotel_states[1]


def _reserve(world: Any, check_in: str, nights: int) -> tuple[str, str]:
    city = world.city_names()[2]
    hotels = run(world, "search_hotels", city=city, check_in=check_in, nights=nights)["hotels"]
    hotel_id = hotels[0]["hotel_id"]
    booked = run(
        world,
        "book_hotel",
        hotel_id=hotel_id,
        guest="Barbara Liskov",
        check_in=check_in,
        nights=nights,
    )
    return hotel_id, booked["reservation_id"]


@pytest.mark.parametrize(
    ("start", "nights", "sees"),
    [
        (10, 3, True),  # the same stay
        (12, 1, True),  # its last night
        (13, 2, False),  # from its check-out day: the room is free again
        (8, 2, False),  # the two nights before it
        (8, 3, True),  # ... and its first night
        (0, 14, True),  # a long stay around it
    ],
)
def test_a_hotel_search_sees_the_reservations_of_its_nights(start, nights, sees):
    world = SCENARIO.world(1)
    hotel_id, reservation_id = _reserve(world, day(world, 10), 3)  # nights 10, 11, 12
    city = world.city_names()[2]
    found = run(world, "search_hotels", city=city, check_in=day(world, start), nights=nights)
    marked = {h["hotel_id"]: h.get("your_reservations") for h in found["hotels"]}
    assert marked.pop(hotel_id) == ([reservation_id] if sees else None)
    assert set(marked.values()) == {None}  # the city's other hotels


def test_a_reservation_holds_its_nights():
    world = SCENARIO.world(1)
    hotel_id, reservation_id = _reserve(world, day(world, 10), 3)
    nights = [day(world, 10), day(world, 11), day(world, 12)]
    held = [key for key in sorted(world.state.snapshot()) if key[0] == "room_night"]
    assert held == [("room_night", hotel_id, night, reservation_id) for night in nights]
    stored = world.state.get(("reservation", hotel_id, reservation_id))
    assert (stored["guest"], stored["check_in"], stored["check_out"]) == (
        "Barbara Liskov",
        day(world, 10),
        day(world, 13),
    )
    assert stored["total_price"] == 3 * stored["nightly_price"]
    assert reservation_id == stable_id(
        "HR", world.seed, hotel_id, "Barbara Liskov", day(world, 10), 3
    )
    _, again = _reserve(world, day(world, 10), 3)
    assert again != reservation_id
    found = run(
        world, "search_hotels", city=world.city_names()[2], check_in=day(world, 11), nights=1
    )
    assert found["hotels"][0]["your_reservations"] == sorted([reservation_id, again])


def test_itineraries_are_kept_and_a_duplicate_is_a_second_one():
    world = SCENARIO.world(2)
    items = ["Flight  BK-123456", "Hotel HR-654321"]
    first = run(world, "create_itinerary", title=" Rome   trip", items=items)
    second = run(world, "create_itinerary", title="Rome trip", items=items)
    lines = ["Flight BK-123456", "Hotel HR-654321"]
    assert first["itinerary_id"] == stable_id("IT", world.seed, "Rome trip", lines)
    assert second["itinerary_id"] != first["itinerary_id"]
    assert world.state.get(("itinerary", first["itinerary_id"])) == {
        "itinerary_id": first["itinerary_id"],
        "title": "Rome trip",
        "items": lines,
    }
    assert len(world.state.scan("itinerary")) == 2


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("book_flight", {"flight_id": "ZZ999-0101", "passenger": "Ada"}),
        ("book_flight", {"flight_id": None, "passenger": "  "}),
        ("book_hotel", {"hotel_id": None, "guest": "Ada", "check_in": "soon", "nights": 2}),
        ("book_hotel", {"hotel_id": None, "guest": "Ada", "check_in": None, "nights": 15}),
        ("create_itinerary", {"title": "Trip", "items": ["Flight", " "]}),
    ],
)
def test_a_refused_booking_changes_nothing(tool, arguments):
    world, flights = world_and_flights()
    run(world, "book_flight", flight_id=flights[0]["flight_id"], passenger="Ada Lovelace")
    hotel = run(
        world, "search_hotels", city=world.city_names()[0], check_in=day(world, 1), nights=1
    )
    filled = {
        "flight_id": flights[0]["flight_id"],
        "hotel_id": hotel["hotels"][0]["hotel_id"],
        "check_in": day(world, 1),
    }
    arguments = {k: filled[k] if v is None else v for k, v in arguments.items()}
    before = world.state.snapshot()
    with pytest.raises(ToolError):
        run(world, tool, **arguments)
    assert world.state.snapshot() == before


def test_the_gold_of_a_trip_leaves_its_bookings():
    task = build_task(SCENARIO, "trip", 3, np.random.default_rng(3))
    play = play_gold([task], TOOLS, lambda name, seed: SCENARIOS[name].world(seed))
    final = play.final[("travel", 3)]
    flight, hotel, itinerary = (task.steps[i].expected_response for i in (3, 4, 5))
    nights = hotel["nights"]
    assert ("booking", flight["flight_id"], flight["booking_id"]) in final
    assert ("reservation", hotel["hotel_id"], hotel["reservation_id"]) in final
    assert ("itinerary", itinerary["itinerary_id"]) in final
    held = [key for key in final if key[0] == "room_night"]
    assert len(held) == nights
    stored = final[("itinerary", itinerary["itinerary_id"])]
    assert stored["items"] == [
        f"Flight {flight['booking_id']}",
        f"Hotel {hotel['reservation_id']}",
    ]
    # the searches ran before the bookings, so they answered as in v2 (nothing marked)
    assert all("your_bookings" not in f for f in task.steps[0].expected_response["flights"])
    assert not unordered_conflicts(task, play, 0)


def test_two_travellers_on_one_flight_commute_but_a_search_of_it_does_not():
    world = SCENARIO.world(0)
    flight_id = run(world, "search_flights", **route(world))["flights"][0]["flight_id"]
    spec = TaskSpec

    def booking(passenger: str) -> Any:
        steps = [StepSpec("book_flight", {"flight_id": flight_id, "passenger": passenger})]
        return build_task_from_spec(SCENARIO, spec(f"Book {passenger}.", steps), 0)

    search = build_task_from_spec(
        SCENARIO, spec("Search.", [StepSpec("search_flights", route(world))]), 0
    )
    other_day = build_task_from_spec(
        SCENARIO,
        spec(
            "Search.",
            [StepSpec("search_flights", {**route(world), "date": day(world, 4)})],
        ),
        0,
    )
    tasks = [booking("Ada Lovelace"), booking("Alan Turing"), other_day]
    play = play_gold(tasks, TOOLS, lambda name, seed: SCENARIOS[name].world(seed))
    assert task_conflicts(tasks, play) == []
    tasks = [booking("Ada Lovelace"), search]
    play = play_gold(tasks, TOOLS, lambda name, seed: SCENARIOS[name].world(seed))
    assert [pair[:2] for pair in task_conflicts(tasks, play)] == [(0, 1)]


@pytest.mark.parametrize("seed", range(40))
def test_no_follow_up_converts_a_total_into_its_own_currency(seed):
    """Issue 21: the conversion follow-up never asks for the currency the total is in."""
    world = SCENARIO.world(seed)
    for template, booking in (("hotel_in_currency", 1), ("trip", 4)):
        spec = SCENARIO.templates[template](world, np.random.default_rng(seed))
        for draw in range(5):
            rng = np.random.default_rng(100 * seed + draw)
            step, _, _ = travel._follow_hotel_total(world, rng, booking, spec.steps[booking])
            evolved = TaskSpec(spec.instruction, [*spec.steps, step], spec.answer)
            task = build_task_from_spec(SCENARIO, evolved, seed)
            arguments = task.steps[-1].expected_arguments
            assert arguments["from_currency"] != arguments["to_currency"]
            assert arguments["from_currency"] == task.steps[booking].expected_response["currency"]


def test_every_template_converts_between_two_currencies():
    for seed in range(30):
        for template in SCENARIO.templates:
            task = build_task(SCENARIO, template, seed, np.random.default_rng(seed))
            for step in task.steps:
                if step.tool == "convert_currency":
                    arguments = step.expected_arguments
                    assert arguments["from_currency"] != arguments["to_currency"]
