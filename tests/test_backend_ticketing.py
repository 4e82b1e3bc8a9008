"""Backend tests of the ticketing scenario, with values computed independently.

Events, trains and prices come from a hash of the world's seed, so these tests check the
relations the tools promise and the arithmetic they do: searches are ordered and filtered as
they say, the cheapest option comes first, a train's duration follows from the mileage of
the Northeast Corridor and the service's average speed, a hold's totals are its unit price
and fee times the quantity, an order sums its holds, a refund is 100% or 50% of the ticket
price by the 7-day rule (fees kept), and a store-credit voucher pays up to its amount.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from asynctool_env.core.tools import ToolError
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


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["event", "train"])
def test_holds_price_their_seats(seed, kind):
    world = SCENARIO.world(seed)
    listing = an_event(world) if kind == "event" else a_train(world)
    options = call(world, "list_ticket_options", listing_id=listing["listing_id"])["options"]
    for option in options:
        for quantity in (1, 3, 8):
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
            assert (out["currency"], out["expires_in_minutes"]) == ("USD", 15)
            # adjacent seats: one row (or car), consecutive numbers
            assert len(out["seats"]) == quantity
            places = [re.fullmatch(r"(Row [A-Z]|Car \d), Seat (\d+)", s) for s in out["seats"]]
            assert len({place.group(1) for place in places}) == 1
            numbers = [int(place.group(2)) for place in places]
            assert numbers == list(range(numbers[0], numbers[0] + quantity))
            again = call(
                world,
                "hold_tickets",
                listing_id=listing["listing_id"],
                section=option["section"],
                quantity=quantity,
            )
            assert again == out


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
    # the order id encodes the holds and the buyer
    again = call(world, "purchase_tickets", hold_ids=[h["hold_id"] for h in holds], **BUYER)
    assert again == out
    other = call(
        world,
        "purchase_tickets",
        hold_ids=[h["hold_id"] for h in holds],
        buyer_name="Alan Turing",
        email="alan@example.org",
    )
    assert other["order_id"] != out["order_id"]
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
        held = hold(world, an_event(world, day), 3)
        order = call(world, "purchase_tickets", hold_ids=[held["hold_id"]], **BUYER)
        status = call(world, "get_ticket_order_status", order_id=order["order_id"])
        deadline = event_day - dt.timedelta(days=7)
        assert status["full_refund_until"] == (
            deadline.isoformat() if deadline >= today(world) else None
        )
        refund = call(world, "request_ticket_refund", order_id=order["order_id"])
        percent = 100 if (event_day - today(world)).days >= 7 else 50
        amount = money(held["subtotal"] * percent / 100)  # the service fee is not refunded
        assert refund["items"] == [
            {"listing_id": held["listing_id"], "percent": percent, "amount": amount}
        ]
        assert (refund["amount"], refund["status"], refund["method"]) == (
            amount,
            "approved",
            "original payment method",
        )
        assert (percent == 100) == (status["full_refund_until"] is not None)
        assert "voucher_code" not in refund
        assert re.fullmatch(r"RFD-[0-9A-F]{6}", refund["refund_id"])
        credit = call(
            world, "request_ticket_refund", order_id=order["order_id"], as_store_credit=True
        )
        assert credit["amount"] == amount and credit["method"] == "store credit"
        assert credit["refund_id"] != refund["refund_id"]
        assert re.fullmatch(r"CR-[0-9A-Z]{9}", credit["voucher_code"])


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
