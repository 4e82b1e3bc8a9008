"""Backend tests of the ticketing scenario, with values computed independently.

Events, trains and prices come from a hash of the world's seed, so these tests check the
relations the tools promise and the arithmetic they do: searches are ordered and filtered as
they say, the cheapest option comes first, a train's duration follows from the mileage of
the Northeast Corridor and the service's average speed, a hold's totals are its unit price
and fee times the quantity, an order sums its holds, a refund is 100% or 50% of the ticket
price by the 7-day rule (fees kept), and a store-credit voucher pays up to its amount.

The world is stateful: a hold takes its seats out of sale (the options list shows fewer
free seats), a hold is bought once, an order's status is what the purchase and a refund
made it, a refund happens once and a store-credit voucher pays once; holding the same seats
again is a second hold with other seats and a new id, and a refused call changes nothing.
The expected counts and seats are worked out here from what the reads showed before.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from asynctool_env.core.scenario import build_task, build_task_from_spec
from asynctool_env.core.tools import ToolError
from asynctool_env.dataset.evolution import add_follow_up
from asynctool_env.scenarios import ticketing

SCENARIO = ticketing.SCENARIO
TOOLS = {tool.name: tool for tool in SCENARIO.tools}
SEEDS = range(4)
#: City -> (station, mile along the Northeast Corridor from Boston).
LINE = {
    "Boston": ("South Station", 0),
    "Providence": ("Providence Station", 44),
    "New Haven": ("New Haven Union Station", 157),
    "Stamford": ("Stamford Station", 193),
    "New York": ("Penn Station", 231),
    "Newark": ("Newark Penn Station", 241),
    "Philadelphia": ("30th Street Station", 322),
    "Wilmington": ("Wilmington Station", 348),
    "Baltimore": ("Baltimore Penn Station", 416),
    "Washington": ("Union Station", 457),
}
#: Train service -> (average speed in mph, classes).
SERVICES = {
    "Acela": (82, {"Business", "First Class"}),
    "Northeast Regional": (64, {"Coach", "Business"}),
}
#: Event category -> its sections.
SECTIONS = {
    "concert": {"Floor", "Lower Level", "Upper Level"},
    "theater": {"Orchestra", "Mezzanine", "Balcony"},
    "sports": {"Courtside", "Lower Level", "Upper Level"},
    "comedy": {"Front Tables", "Main Floor", "Balcony"},
}
FEE_RATE = 0.12  # service fee on event tickets
BUYER = {"buyer_name": "  Ada   Lovelace ", "email": "ada@example.org"}


def call(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool the way the chat path does (arguments validated first)."""
    return TOOLS[tool_name].execute(world, arguments)


def sale_days(world: Any) -> list[str]:
    first = dt.date.fromisoformat(world.dates[0])
    return [(first + dt.timedelta(days=offset)).isoformat() for offset in range(28)]


def today(world: Any) -> dt.date:
    return dt.date.fromisoformat(world.dates[0]) - dt.timedelta(days=1)


def money(value: float) -> float:
    return round(value + 1e-9, 2)


def flip(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def an_event(world: Any, day: int = 20, category: str = "concert") -> dict[str, Any]:
    city = world.city_names()[0]
    return call(
        world, "search_live_events", city=city, date=sale_days(world)[day], category=category
    )["events"][0]


def a_train(world: Any, day: int = 20) -> dict[str, Any]:
    first, last = world.city_names()[0], world.city_names()[-1]
    return call(
        world, "search_train_trips", origin=first, destination=last, date=sale_days(world)[day]
    )["trips"][0]


def hold(world: Any, listing: dict[str, Any], quantity: int = 2, cheapest: bool = True) -> dict:
    options = call(world, "list_ticket_options", listing_id=listing["listing_id"])["options"]
    section = options[0 if cheapest else -1]["section"]
    return call(
        world,
        "hold_tickets",
        listing_id=listing["listing_id"],
        section=section,
        quantity=quantity,
    )


# -- events ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_event_searches(seed):
    world = SCENARIO.world(seed)
    assert len(world.city_names()) == 6
    for city in world.city_names():
        station = LINE[city][0]
        for day in sale_days(world)[::9]:
            for category, alias in (
                ("concert", "Concerts"),
                ("theater", "theatre"),
                ("sports", "sport"),
                ("comedy", " COMEDY "),
            ):
                out = call(
                    world, "search_live_events", city=station.lower(), date=day, category=alias
                )
                assert (out["city"], out["date"], out["category"]) == (city, day, category)
                events = out["events"]
                assert 2 <= len(events) <= 3
                starts = [event["start_time"] for event in events]
                assert starts == sorted(starts) and len(set(starts)) == len(starts)
                assert len({event["name"] for event in events}) == len(events)
                assert len({event["venue"] for event in events}) == len(events)
                for event in events:
                    assert re.fullmatch(r"EVT-[0-9A-Z]{7}", event["listing_id"])
                    assert (event["category"], event["city"], event["date"]) == (
                        category,
                        city,
                        day,
                    )
                    assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", event["start_time"])
                    assert "{city}" not in event["venue"]
                    options = call(world, "list_ticket_options", listing_id=event["listing_id"])
                    assert event["price_from"] == options["options"][0]["price"]
                    shared = [key for key in event if key != "price_from"]
                    assert {key: options[key] for key in shared} == {k: event[k] for k in shared}


@pytest.mark.parametrize("seed", SEEDS)
def test_options_are_cheapest_first_with_the_service_fee(seed):
    world = SCENARIO.world(seed)
    for category, sections in SECTIONS.items():
        for day in range(0, 28, 4):
            for event in call(
                world,
                "search_live_events",
                city=world.city_names()[day % 6],
                date=sale_days(world)[day],
                category=category,
            )["events"]:
                out = call(world, "list_ticket_options", listing_id=event["listing_id"].lower())
                assert out["currency"] == "USD"
                options = out["options"]
                assert {option["section"] for option in options} == sections
                prices = [option["price"] for option in options]
                assert prices == sorted(prices) and len(set(prices)) == len(prices)
                for option in options:
                    assert option["price"] == int(option["price"])  # whole dollars
                    # the fee is 12% of the price shown, rounded to cents
                    assert option["fee"] == money(FEE_RATE * option["price"])
                    assert option["available"] >= 8


def test_the_fee_is_twelve_percent_of_the_price_shown():
    world = SCENARIO.world(0)  # Boston, 2025-07-27, theater: Orchestra and Mezzanine tie at 129
    events = call(world, "search_live_events", city="Boston", date="2025-07-27", category="theater")
    for event in events["events"]:
        for option in call(world, "list_ticket_options", listing_id=event["listing_id"])["options"]:
            assert option["fee"] == money(FEE_RATE * option["price"]), option


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"city": "Chicago", "date": "D0", "category": "concert"}, "we sell tickets in"),
        ({"city": "C0", "date": "tomorrow", "category": "concert"}, "use YYYY-MM-DD"),
        ({"city": "C0", "date": "D-1", "category": "concert"}, "is not on sale; pick a day in"),
        ({"city": "C0", "date": "D28", "category": "concert"}, "is not on sale; pick a day in"),
        ({"city": "C0", "date": "D0", "category": "opera"}, "concert, theater, sports, comedy"),
    ],
)
def test_event_search_bad_calls(arguments, message):
    world = SCENARIO.world(1)
    first = dt.date.fromisoformat(world.dates[0])
    city = arguments["city"].replace("C0", world.city_names()[0])
    date = arguments["date"]
    if date.startswith("D"):
        date = (first + dt.timedelta(days=int(date[1:]))).isoformat()
    with pytest.raises(ToolError, match=message):
        call(world, "search_live_events", city=city, date=date, category=arguments["category"])


# -- trains ---------------------------------------------------------------------------------


def minutes(clock: str) -> int:
    hours, mins = map(int, clock.split(":"))
    return 60 * hours + mins


@pytest.mark.parametrize("seed", SEEDS)
def test_train_trips_follow_the_line(seed):
    world = SCENARIO.world(seed)
    cities = world.city_names()
    for origin in cities:
        for destination in cities:
            if origin == destination:
                continue
            day = sale_days(world)[(cities.index(origin) * 5 + cities.index(destination)) % 28]
            out = call(
                world, "search_train_trips", origin=origin, destination=destination, date=day
            )
            assert (out["origin"], out["destination"], out["date"]) == (origin, destination, day)
            trips = out["trips"]
            assert len(trips) == 4
            departures = [minutes(trip["depart"]) for trip in trips]
            assert departures == sorted(departures)
            miles = abs(LINE[origin][1] - LINE[destination][1])
            for trip in trips:
                assert re.fullmatch(r"TRN-[0-9A-Z]{7}", trip["listing_id"])
                assert (trip["from_station"], trip["to_station"]) == (
                    LINE[origin][0],
                    LINE[destination][0],
                )
                service = trip["name"].rsplit(" ", 1)[0]
                mph, classes = SERVICES[service]
                assert trip["duration_min"] == 10 + round(miles / mph * 60)
                arrive = (minutes(trip["depart"]) + trip["duration_min"]) % (24 * 60)
                assert minutes(trip["arrive"]) == arrive
                options = call(world, "list_ticket_options", listing_id=trip["listing_id"])
                assert {option["section"] for option in options["options"]} == classes
                assert all(option["fee"] == 0 for option in options["options"])
                assert trip["fare_from"] == options["options"][0]["price"]


def test_longer_trips_cost_more():
    world = SCENARIO.world(0)
    cities = sorted(world.city_names(), key=lambda city: LINE[city][1])
    # fares vary by +-25% around a distance-based fare: compare trips three times as long
    assert LINE[cities[-1]][1] - LINE[cities[0]][1] > 3 * (LINE[cities[1]][1] - LINE[cities[0]][1])
    for day in sale_days(world)[::5]:
        near = call(world, "search_train_trips", origin=cities[0], destination=cities[1], date=day)
        far = call(world, "search_train_trips", origin=cities[0], destination=cities[-1], date=day)
        assert max(t["fare_from"] for t in near["trips"]) < min(
            t["fare_from"] for t in far["trips"]
        )


def test_train_search_bad_calls():
    world = SCENARIO.world(0)
    day = sale_days(world)[0]
    city = world.city_names()[0]
    with pytest.raises(ToolError, match="must be different cities"):
        call(world, "search_train_trips", origin=city, destination=city.upper(), date=day)
    absent = next(name for name in LINE if name not in world.city_names())
    with pytest.raises(ToolError, match="unknown destination"):
        call(world, "search_train_trips", origin=city, destination=absent, date=day)


# -- holds ----------------------------------------------------------------------------------


def place(seat: str) -> tuple[str, int]:
    """("Row K", 12) for "Row K, Seat 12"."""
    line, number = seat.split(", Seat ")
    return line, int(number)


def adjacent(seats: list[str]) -> bool:
    """One row (or car), consecutive numbers."""
    places = [place(seat) for seat in seats]
    numbers = [number for _, number in places]
    return len({line for line, _ in places}) == 1 and numbers == list(
        range(numbers[0], numbers[0] + len(numbers))
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["event", "train"])
def test_holds_price_their_seats(seed, kind):
    base = SCENARIO.world(seed)
    listing = an_event(base) if kind == "event" else a_train(base)
    options = call(base, "list_ticket_options", listing_id=listing["listing_id"])["options"]
    for option in options:
        for quantity in (1, 3, 8):
            world = SCENARIO.world(seed)  # each on a fresh world: a hold takes seats
            out = call(
                world,
                "hold_tickets",
                listing_id=listing["listing_id"],
                section=f" {option['section'].upper()} ",
                quantity=quantity,
            )
            assert re.fullmatch(r"HLD-[0-9A-Z]{9}", out["hold_id"])
            assert (out["listing_id"], out["name"], out["date"]) == (
                listing["listing_id"],
                listing["name"],
                listing["date"],
            )
            assert out["start"] == listing.get("start_time", listing.get("depart"))
            assert (out["section"], out["quantity"]) == (option["section"], quantity)
            assert (out["unit_price"], out["unit_fee"]) == (option["price"], option["fee"])
            assert out["subtotal"] == money(option["price"] * quantity)
            assert out["fees"] == money(option["fee"] * quantity)
            assert out["total_price"] == money(out["subtotal"] + out["fees"])
            assert out["currency"] == "USD" and "expires_in_minutes" not in out  # no clock
            assert len(out["seats"]) == quantity and adjacent(out["seats"])
            assert re.fullmatch(r"(Row [A-Z]|Car \d), Seat \d+", out["seats"][0])
            # the same seats again: a second hold (was: the same hold id, stateless) of
            # other seats, at the same prices, while enough seats are free
            again = {"listing_id": listing["listing_id"], "section": option["section"]}
            if option["available"] >= 2 * quantity:
                second = call(world, "hold_tickets", quantity=quantity, **again)
                assert second["hold_id"] != out["hold_id"]
                assert not set(second["seats"]) & set(out["seats"])
                assert adjacent(second["seats"])
                same = ("subtotal", "fees", "total_price", "unit_price", "section", "quantity")
                assert {key: second[key] for key in same} == {key: out[key] for key in same}
            else:
                with pytest.raises(ToolError, match="seats left"):
                    call(world, "hold_tickets", quantity=quantity, **again)


def test_hold_bad_calls():
    world = SCENARIO.world(0)
    event = an_event(world)
    with pytest.raises(ToolError, match="its sections are"):
        call(world, "hold_tickets", listing_id=event["listing_id"], section="VIP", quantity=1)
    section = call(world, "list_ticket_options", listing_id=event["listing_id"])["options"][0]
    for quantity in (0, 9):
        with pytest.raises(ToolError, match="between 1 and 8"):
            call(
                world,
                "hold_tickets",
                listing_id=event["listing_id"],
                section=section["section"],
                quantity=quantity,
            )
    for bad in (flip(event["listing_id"]), "EVT-123", "listing"):
        with pytest.raises(ToolError, match="search_live_events or search_train_trips"):
            call(world, "list_ticket_options", listing_id=bad)


# -- purchases, orders and refunds ----------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_an_order_sums_its_holds(seed):
    world = SCENARIO.world(seed)
    holds = [hold(world, an_event(world), 2), hold(world, a_train(world, 3), 1, cheapest=False)]
    out = call(world, "purchase_tickets", hold_ids=[h["hold_id"] for h in holds], **BUYER)
    assert re.fullmatch(r"ORD-[0-9A-Z]{16}", out["order_id"])
    assert (out["status"], out["buyer_name"], out["email"]) == (
        "confirmed",
        "Ada Lovelace",
        BUYER["email"],
    )
    keys = ("listing_id", "name", "date", "start", "section", "seats", "quantity")
    keys += ("unit_price", "unit_fee", "subtotal", "fees")
    assert out["items"] == [{key: h[key] for key in keys} for h in holds]
    assert out["subtotal"] == money(sum(h["subtotal"] for h in holds))
    assert out["fees"] == money(sum(h["fees"] for h in holds))
    assert out["total"] == money(sum(h["total_price"] for h in holds))
    assert (out["credit_applied"], out["total_charged"], out["remaining_credit"]) == (
        0.0,
        out["total"],
        0.0,
    )
    # a hold is bought once (was: the same order again, stateless), whoever buys it
    before = world.state.snapshot()
    for buyer in (BUYER, {"buyer_name": "Alan Turing", "email": "alan@example.org"}):
        with pytest.raises(ToolError, match=f"already bought \\(order {out['order_id']}\\)"):
            call(world, "purchase_tickets", hold_ids=[h["hold_id"] for h in holds], **buyer)
    assert world.state.snapshot() == before
    status = call(world, "get_ticket_order_status", order_id=out["order_id"].lower())
    assert (status["order_id"], status["status"], status["tickets"]) == (
        out["order_id"],
        "confirmed",
        "issued",
    )
    assert status["items"] == out["items"]
    assert status["total"] == out["total"]


@pytest.mark.parametrize("seed", SEEDS)
def test_refunds_follow_the_seven_day_rule(seed):
    world = SCENARIO.world(seed)
    for day in (0, 5, 6, 7, 20, 27):  # the event is day + 1 days after today
        event_day = today(world) + dt.timedelta(days=day + 1)
        percent = 100 if (event_day - today(world)).days >= 7 else 50
        deadline = event_day - dt.timedelta(days=7)
        refunds = []
        # two orders of the same seats (was: one order refunded twice, stateless)
        for as_store_credit in (False, True):
            held = hold(world, an_event(world, day), 3)
            order = call(world, "purchase_tickets", hold_ids=[held["hold_id"]], **BUYER)
            status = call(world, "get_ticket_order_status", order_id=order["order_id"])
            assert status["full_refund_until"] == (
                deadline.isoformat() if deadline >= today(world) else None
            )
            assert (percent == 100) == (status["full_refund_until"] is not None)
            refund = call(
                world,
                "request_ticket_refund",
                order_id=order["order_id"],
                as_store_credit=as_store_credit,
            )
            amount = money(held["subtotal"] * percent / 100)  # the service fee is kept
            assert refund["items"] == [
                {"listing_id": held["listing_id"], "percent": percent, "amount": amount}
            ]
            assert (refund["amount"], refund["status"]) == (amount, "approved")
            assert re.fullmatch(r"RFD-[0-9A-F]{6}", refund["refund_id"])
            refunds.append(refund)
        money_back, credit = refunds
        assert money_back["method"] == "original payment method"
        assert "voucher_code" not in money_back
        assert credit["method"] == "store credit"
        # (longer when an earlier voucher of this world had the same amount)
        assert re.fullmatch(r"CR-[0-9A-Z]{9}(?:[0-9A-Z]{2})*", credit["voucher_code"])
        assert credit["refund_id"] != money_back["refund_id"]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_voucher_pays_up_to_its_amount(seed):
    world = SCENARIO.world(seed)
    small = hold(world, an_event(world, 1, "comedy"), 1)  # refunded at 50%
    order = call(world, "purchase_tickets", hold_ids=[small["hold_id"]], **BUYER)
    credit = call(world, "request_ticket_refund", order_id=order["order_id"], as_store_credit=True)
    voucher = credit["voucher_code"]
    assert credit["amount"] == money(small["subtotal"] / 2)
    # a bigger purchase: the whole voucher is used, the rest is charged
    big = hold(world, an_event(world, 15, "sports"), 4, cheapest=False)
    paid = call(
        world, "purchase_tickets", hold_ids=[big["hold_id"]], voucher_code=voucher.lower(), **BUYER
    )
    assert paid["credit_applied"] == credit["amount"]
    assert paid["total_charged"] == money(paid["total"] - credit["amount"])
    assert paid["remaining_credit"] == 0.0
    # a big voucher (eight dear seats refunded in full) on a small purchase: nothing is
    # charged, and the rest of the credit remains
    dear = hold(world, an_event(world, 20, "sports"), 8, cheapest=False)
    order = call(world, "purchase_tickets", hold_ids=[dear["hold_id"]], **BUYER)
    credit = call(world, "request_ticket_refund", order_id=order["order_id"], as_store_credit=True)
    assert credit["amount"] == dear["subtotal"]
    tiny = hold(world, an_event(world, 2, "comedy"), 1)
    assert tiny["total_price"] < credit["amount"]
    paid = call(
        world,
        "purchase_tickets",
        hold_ids=[tiny["hold_id"]],
        voucher_code=credit["voucher_code"],
        **BUYER,
    )
    assert (paid["credit_applied"], paid["total_charged"]) == (tiny["total_price"], 0.0)
    assert paid["remaining_credit"] == money(credit["amount"] - tiny["total_price"])


def test_purchase_bad_calls():
    world = SCENARIO.world(0)
    held = hold(world, an_event(world))["hold_id"]
    with pytest.raises(ToolError, match="listed twice"):
        call(world, "purchase_tickets", hold_ids=[held, held.lower()], **BUYER)
    with pytest.raises(ToolError, match="1 to 4 hold_ids"):
        call(world, "purchase_tickets", hold_ids=[], **BUYER)
    with pytest.raises(ToolError, match="invalid email"):
        call(world, "purchase_tickets", hold_ids=[held], buyer_name="Ada", email="ada@")
    with pytest.raises(ToolError, match="buyer_name must not be empty"):
        call(world, "purchase_tickets", hold_ids=[held], buyer_name=" ", email="a@b.io")
    with pytest.raises(ToolError, match="no hold"):
        call(world, "purchase_tickets", hold_ids=[flip(held)], **BUYER)
    with pytest.raises(ToolError, match="malformed voucher_code"):
        call(world, "purchase_tickets", hold_ids=[held], voucher_code="CREDIT-10", **BUYER)
    with pytest.raises(ToolError, match="no voucher"):
        call(world, "purchase_tickets", hold_ids=[held], voucher_code="CR-000000000", **BUYER)
    order = call(world, "purchase_tickets", hold_ids=[held], **BUYER)["order_id"]
    for tool_name in ("get_ticket_order_status", "request_ticket_refund"):
        with pytest.raises(ToolError, match="no order"):
            call(world, tool_name, order_id=flip(order))
        with pytest.raises(ToolError, match="malformed order_id"):
            call(world, tool_name, order_id="ORD-1")
    # ids are signed by the world: another world does not know this order
    with pytest.raises(ToolError, match="no order"):
        call(SCENARIO.world(1), "get_ticket_order_status", order_id=order)


# -- the state: writes seen by reads, repeats, refusals, v2 ids -------------------------------

#: World 1250468467 of dataset v2: event_tickets and night_out gold calls and their ids.
V2_WORLD = 1250468467
V2_EVENT = ("EVT-CCV89NC", "Upper Level", 2, "HLD-RJM4KP4D1", ["Row M, Seat 18", "Row M, Seat 19"])
V2_BUYER = {"buyer_name": "Fatima Zahra", "email": "fatima.zahra@inbox.example.net"}


def test_first_holds_and_orders_keep_their_v2_ids():
    world = SCENARIO.world(V2_WORLD)
    listing_id, section, quantity, hold_id, seats = V2_EVENT
    held = call(world, "hold_tickets", listing_id=listing_id, section=section, quantity=quantity)
    assert (held["hold_id"], held["seats"]) == (hold_id, seats)
    order = call(world, "purchase_tickets", hold_ids=[hold_id], **V2_BUYER)
    assert (order["order_id"], order["total"]) == ("ORD-RJM4KFZF5C8", 123.2)
    # the same seats again: a second hold, of the next free block of the same row
    again = call(world, "hold_tickets", listing_id=listing_id, section=section, quantity=quantity)
    assert again["hold_id"] != hold_id
    assert again["seats"] == ["Row M, Seat 20", "Row M, Seat 21"]
    second = call(world, "purchase_tickets", hold_ids=[again["hold_id"]], **V2_BUYER)
    assert second["order_id"] != order["order_id"]
    # night_out: an event hold and a train hold bought in one order
    night = SCENARIO.world(V2_WORLD)
    event = call(night, "hold_tickets", listing_id="EVT-CAV4EXJ", section="Lower Level", quantity=2)
    train = call(night, "hold_tickets", listing_id="TRN-D8K41WV", section="Business", quantity=2)
    assert (event["hold_id"], train["hold_id"]) == ("HLD-RMM8VTRYW", "HLD-SPW8VF5PX")
    assert train["seats"] == ["Car 8, Seat 25", "Car 8, Seat 26"]
    both = call(
        night,
        "purchase_tickets",
        hold_ids=[event["hold_id"], train["hold_id"]],
        buyer_name="Hannah Kim",
        email="hannah.kim@inbox.example.net",
    )
    assert both["order_id"] == "ORD-RMM8VSPW8VR0WZF1"


@pytest.mark.parametrize("seed", SEEDS)
def test_held_seats_are_no_longer_free(seed):
    world = SCENARIO.world(seed)
    listing = an_event(world, 9, "theater")
    before = call(world, "list_ticket_options", listing_id=listing["listing_id"])["options"]
    cheapest = before[0]
    held = hold(world, listing, 3)
    after = call(world, "list_ticket_options", listing_id=listing["listing_id"])["options"]
    assert after[0]["available"] == cheapest["available"] - 3
    assert [option["available"] for option in after[1:]] == [o["available"] for o in before[1:]]
    order = call(world, "purchase_tickets", hold_ids=[held["hold_id"]], **BUYER)
    bought = call(world, "list_ticket_options", listing_id=listing["listing_id"])["options"]
    assert bought[0]["available"] == cheapest["available"] - 3  # sold seats stay taken
    call(world, "request_ticket_refund", order_id=order["order_id"])
    refunded = call(world, "list_ticket_options", listing_id=listing["listing_id"])["options"]
    assert refunded[0]["available"] == cheapest["available"] - 3  # not put back on sale
    # hold the rest, eight at a time; then one more seat is refused and changes nothing
    left = cheapest["available"] - 3
    while left:
        hold(world, listing, min(8, left))
        left -= min(8, left)
    assert (
        call(world, "list_ticket_options", listing_id=listing["listing_id"])["options"][0][
            "available"
        ]
        == 0
    )
    snapshot = world.state.snapshot()
    with pytest.raises(ToolError, match=f"only 0 seats left in {cheapest['section']}"):
        hold(world, listing, 1)
    assert world.state.snapshot() == snapshot
    # no two holds of the section share a seat
    seats = [
        seat
        for key, value in snapshot.items()
        if key[:3] == ("hold", listing["listing_id"], cheapest["section"])
        for seat in value["seats"]
    ]
    assert len(seats) == len(set(seats)) == cheapest["available"]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_order_status_follows_the_refund(seed):
    world = SCENARIO.world(seed)
    held = hold(world, an_event(world, 12), 2)
    order = call(world, "purchase_tickets", hold_ids=[held["hold_id"]], **BUYER)
    status = call(world, "get_ticket_order_status", order_id=order["order_id"])
    assert (status["status"], status["tickets"]) == ("confirmed", "issued")
    assert "refund" not in status
    refund = call(world, "request_ticket_refund", order_id=order["order_id"].lower())
    status = call(world, "get_ticket_order_status", order_id=order["order_id"])
    assert (status["status"], status["tickets"]) == ("refunded", "cancelled")
    assert status["refund"] == {
        "refund_id": refund["refund_id"],
        "amount": held["subtotal"],  # 13 days ahead: in full, the fee kept
        "method": "original payment method",
    }
    snapshot = world.state.snapshot()
    for as_store_credit in (False, True):
        with pytest.raises(ToolError, match=f"already refunded \\({refund['refund_id']}\\)"):
            call(
                world,
                "request_ticket_refund",
                order_id=order["order_id"],
                as_store_credit=as_store_credit,
            )
    assert world.state.snapshot() == snapshot
    # store credit: the order is credited and the voucher is an object of the state
    other = hold(world, an_event(world, 13), 1)
    bought = call(world, "purchase_tickets", hold_ids=[other["hold_id"]], **BUYER)
    credit = call(world, "request_ticket_refund", order_id=bought["order_id"], as_store_credit=True)
    status = call(world, "get_ticket_order_status", order_id=bought["order_id"])
    assert (status["status"], status["refund"]["voucher_code"]) == (
        "credited",
        credit["voucher_code"],
    )
    assert world.state.get(("voucher", credit["voucher_code"]))["amount"] == other["subtotal"]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_voucher_pays_once_and_its_rest_comes_back_as_a_voucher(seed):
    world = SCENARIO.world(seed)
    dear = hold(world, an_event(world, 20, "sports"), 6, cheapest=False)
    order = call(world, "purchase_tickets", hold_ids=[dear["hold_id"]], **BUYER)
    voucher = call(
        world, "request_ticket_refund", order_id=order["order_id"], as_store_credit=True
    )["voucher_code"]
    tiny = hold(world, an_event(world, 2, "comedy"), 1)
    paid = call(
        world, "purchase_tickets", hold_ids=[tiny["hold_id"]], voucher_code=voucher, **BUYER
    )
    rest = money(dear["subtotal"] - tiny["total_price"])
    assert (paid["total_charged"], paid["remaining_credit"]) == (0.0, rest)
    remainder = paid["remaining_voucher_code"]
    assert remainder != voucher
    # the voucher is used up: a second purchase with it is refused and changes nothing
    other = hold(world, an_event(world, 3, "comedy"), 2)
    snapshot = world.state.snapshot()
    with pytest.raises(ToolError, match=f"already used \\(order {paid['order_id']}\\)"):
        call(world, "purchase_tickets", hold_ids=[other["hold_id"]], voucher_code=voucher, **BUYER)
    assert world.state.snapshot() == snapshot
    # the rest pays (once) for the next purchase
    again = call(
        world, "purchase_tickets", hold_ids=[other["hold_id"]], voucher_code=remainder, **BUYER
    )
    assert again["credit_applied"] == min(rest, again["total"])
    assert again["total_charged"] == money(again["total"] - again["credit_applied"])
    assert world.state.get(("voucher", remainder))["status"] == "used"


def test_equal_refunds_give_two_vouchers():
    world = SCENARIO.world(1)
    listing = an_event(world, 15)
    codes = []
    for _ in range(2):  # the same seats count twice: equal orders, equal refunds
        held = hold(world, listing, 2)
        order = call(world, "purchase_tickets", hold_ids=[held["hold_id"]], **BUYER)
        refund = call(
            world, "request_ticket_refund", order_id=order["order_id"], as_store_credit=True
        )
        codes.append((refund["voucher_code"], refund["amount"]))
    (first, amount), (second, same) = codes
    assert amount == same and first != second
    assert re.fullmatch(r"CR-[0-9A-Z]{9}", first) and re.fullmatch(r"CR-[0-9A-Z]{11}", second)
    for code in (first, second):  # each pays once
        held = hold(world, an_event(world, 16), 1)
        paid = call(
            world, "purchase_tickets", hold_ids=[held["hold_id"]], voucher_code=code, **BUYER
        )
        assert paid["credit_applied"] == min(amount, paid["total"])


@pytest.mark.parametrize("seed", range(6))
def test_exchange_for_credit_refunds_an_order_of_the_seed(seed):
    task = build_task(
        SCENARIO,
        "exchange_for_credit",
        seed,
        np.random.default_rng(seed),
        world=SCENARIO.world(seed),
    )
    order_id = task.steps[0].expected_arguments["order_id"]
    assert order_id in task.instruction
    world = SCENARIO.world(seed)  # a fresh world knows the order: it is the seed's
    status = call(world, "get_ticket_order_status", order_id=order_id)
    assert (status["status"], status["tickets"]) == ("confirmed", "issued")
    (item,) = status["items"]
    assert f"{item['name']} on {item['date']}" in task.instruction
    assert all(place(seat)[1] >= 30 for seat in item["seats"])  # seats no hold is given
    purchase = task.steps[3].expected_arguments
    assert purchase["buyer_name"] in task.instruction and purchase["email"] in task.instruction
    refund, bought = task.steps[0].expected_response, task.steps[3].expected_response
    assert refund["amount"] == money(sum(line["amount"] for line in refund["items"]))
    assert bought["credit_applied"] == min(refund["amount"], bought["total"])
    assert task.expected_answer == money(bought["total"] - bought["credit_applied"])
    assert ("remaining_voucher_code" in bought) == (refund["amount"] > bought["total"])
    # played: the order is credited
    for step in task.steps:
        TOOLS[step.tool].run(world, step.expected_arguments)
    assert call(world, "get_ticket_order_status", order_id=order_id)["status"] == "credited"


def test_orders_exist_only_where_they_were_made():
    world = SCENARIO.world(0)
    held = hold(world, an_event(world), 2)
    order = call(world, "purchase_tickets", hold_ids=[held["hold_id"]], **BUYER)["order_id"]
    fresh = SCENARIO.world(0)  # same seed, nothing bought: the signed id names nothing
    for tool_name in ("get_ticket_order_status", "request_ticket_refund"):
        with pytest.raises(ToolError, match="no order"):
            call(fresh, tool_name, order_id=order)
    with pytest.raises(ToolError, match="no hold"):
        call(fresh, "purchase_tickets", hold_ids=[held["hold_id"]], **BUYER)
    assert len(fresh.state) == 0


def test_reads_change_nothing_and_holds_are_keyed_by_listing_and_section():
    world = SCENARIO.world(2)
    event, train = an_event(world), a_train(world)
    for listing in (event, train):
        call(world, "list_ticket_options", listing_id=listing["listing_id"])
    assert len(world.state) == 0
    holds = [hold(world, event, 1), hold(world, train, 2, cheapest=False)]
    keys = world.state.keys()
    keys = [key for key in keys if key[0] == "hold"]
    assert sorted(keys) == sorted(
        ("hold", h["listing_id"], h["section"], h["hold_id"]) for h in holds
    )


def test_the_train_follow_up_reads_a_train_no_template_holds():
    scenario = replace(SCENARIO, follow_ups=(SCENARIO.follow_ups[1],))
    for seed in range(4):
        world = SCENARIO.world(seed)
        spec = SCENARIO.templates["train_ticket"](world, np.random.default_rng(seed))
        # train_ticket's search is its first step: the hold may be on any train of it
        assert add_follow_up(spec, scenario, world, np.random.default_rng(seed)) is None
        spec = SCENARIO.templates["night_out"](world, np.random.default_rng(seed))
        evolved = add_follow_up(spec, scenario, world, np.random.default_rng(seed))
        assert evolved.steps[-1].arguments == {"listing_id": "${s1.trips.1.listing_id}"}
        task = build_task_from_spec(SCENARIO, evolved, seed, world=world)
        held = {step.expected_arguments["listing_id"] for step in task.steps[2:4]}
        assert task.steps[-1].expected_arguments["listing_id"] not in held
