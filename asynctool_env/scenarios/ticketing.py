"""Ticket Purchase: find events and trains, hold seats, buy them, check orders, refund.

The world
---------
A :class:`TicketWorld` is a ticket shop for six cities of the US Northeast Corridor (drawn
from :data:`CITIES`, each with its railway station and its position along the line), a
"today" (events and trains are sold for the 28 days after it) and a ``seed``. The events
of a city, day and category (two or three concerts, plays, games or comedy shows), the
four trains of a route and day, their sections, prices and free seats are *not stored*:
they are a pure function of ``seed`` and the request, derived from a hash (:func:`_digest`),
so building a world costs a few microseconds.

The tools
---------
========================== ======= ===================================================
``search_live_events``      1       events of a category in a city on a day
``search_train_trips``      1       the trains of a route on a day
``list_ticket_options``     1       sections (or classes) of a listing, cheapest first
``hold_tickets``            1       holds the best seats of a section, returns a hold id
``purchase_tickets``        3       buys one or more held seats (payment: slow)
``get_ticket_order_status`` 1       an order's items, total and ticket status
``request_ticket_refund``   2       refunds an order (money back or store credit)
========================== ======= ===================================================

(the middle column is the declared latency in rounds.)

Why the backends are order-independent
--------------------------------------
Nothing a tool does changes the world: holding seats does not take them from a later
search, buying does not use a hold up, a refund does not cancel anything another call
could see. Every id is a *signed token*: a few base-32 characters that encode what the id
stands for, followed by a check computed from the world's seed. A listing id encodes the
category, city (or route), day and slot; a hold id encodes its listing, section and
quantity (the seats are recomputed from those); an order id encodes its holds and a hash of
the buyer; a store-credit voucher encodes its amount. A tool that receives an id decodes it
and verifies the check by recomputation, so it needs no registry and every response is a
function of the world and the arguments only: holding the same seats twice gives the same
hold id, and an agent that interleaves tasks sees what one that runs them one by one sees.
Because of the check, the ids a later step needs can only be learnt from earlier responses.

The templates
-------------
======================= ===== ==============================================================
``event_tickets``        4     search_live_events -> list_ticket_options -> hold_tickets
                               (cheapest section) -> purchase_tickets (a chain)
``train_ticket``         3     search_train_trips -> hold_tickets -> purchase_tickets (chain)
``hold_known_event``     2     list_ticket_options (a listing id given in the instruction)
                               -> hold_tickets in the cheapest section (a chain)
``night_out``            5     event search and train search in parallel, each held, both
                               holds bought in one order (a diamond, fan-in)
``exchange_for_credit``  4     refund an order as store credit, in parallel with an event
                               search -> hold; the purchase joins the hold and the voucher
``round_trip_train``     5     outbound and return train searches in parallel, each held,
                               both bought in one order (a diamond, fan-in)
======================= ===== ==============================================================

Evolution hooks
---------------
A constant event listing id can be revealed by ``search_live_events`` of its city, day and
category (lookup). An event search can be followed by the second event's sections, a train
search by the first train's fares, each asking how many seats its cheapest section has left
(follow-ups). Side steps search events (the earliest one's name) or trains (the first
train's name) on the last days on sale, which templates never use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from asynctool_env.core.scenario import (
    FollowUpRule,
    LookupRule,
    Scenario,
    SideStepRule,
    StepSpec,
    TaskSpec,
    stable_id,
    world_digest,
)
from asynctool_env.core.tools import ToolError, tool


@dataclass(frozen=True)
class City:
    """A city on the line (static data, the same in every world)."""

    name: str
    station: str
    mile: int  # position along the Northeast Corridor, from Boston


#: Cities a world draws its six from, in order along the line.
CITIES: tuple[City, ...] = (
    City("Boston", "South Station", 0),
    City("Providence", "Providence Station", 44),
    City("New Haven", "New Haven Union Station", 157),
    City("Stamford", "Stamford Station", 193),
    City("New York", "Penn Station", 231),
    City("Newark", "Newark Penn Station", 241),
    City("Philadelphia", "30th Street Station", 322),
    City("Wilmington", "Wilmington Station", 348),
    City("Baltimore", "Baltimore Penn Station", 416),
    City("Washington", "Union Station", 457),
)
N_CITIES = 6


@dataclass(frozen=True)
class Category:
    """A kind of live event (static data)."""

    name: str
    venues: tuple[str, ...]  # patterns; "{city}" is the city's name
    sections: tuple[tuple[str, int], ...]  # section, typical price in USD
    times: tuple[str, ...]  # start times, at least as many as events a day


CATEGORIES: tuple[Category, ...] = (
    Category(
        "concert",
        ("{city} Music Hall", "Riverside Pavilion", "{city} Arena"),
        (("Floor", 165), ("Lower Level", 95), ("Upper Level", 55)),
        ("19:00", "19:30", "20:00", "20:30"),
    ),
    Category(
        "theater",
        ("The {city} Playhouse", "Majestic Theatre", "Lyric Stage"),
        (("Orchestra", 140), ("Mezzanine", 105), ("Balcony", 60)),
        ("14:00", "19:30", "20:00"),
    ),
    Category(
        "sports",
        ("{city} Arena", "Harbor Field", "{city} Stadium"),
        (("Courtside", 310), ("Lower Level", 115), ("Upper Level", 45)),
        ("13:00", "16:00", "19:00", "19:30"),
    ),
    Category(
        "comedy",
        ("The {city} Comedy Cellar", "Laugh Track Club", "The Velvet Room"),
        (("Front Tables", 75), ("Main Floor", 45), ("Balcony", 30)),
        ("19:00", "21:00", "22:30"),
    ),
)
_CATEGORY_INDEX: dict[str, int] = {entry.name: index for index, entry in enumerate(CATEGORIES)}
_CATEGORY_ALIASES: dict[str, str] = {"theatre": "theater", "sport": "sports", "concerts": "concert"}
_TRAIN = len(CATEGORIES)  # the kind of a train listing

_ACTS: dict[str, tuple[str, ...]] = {
    "concert": (
        "The Midnight Owls",
        "Luna Vega",
        "Copper Canyon",
        "Nova Bloom",
        "The Velvet Ropes",
        "Echo Harbor",
        "Aurora String Quartet",
        "Maple & Pine",
        "The Static Hearts",
        "Sam Rivera Trio",
    ),
    "theater": (
        "Hamlet",
        "A Midsummer Night's Dream",
        "The Glass Menagerie",
        "Death of a Salesman",
        "Our Town",
        "The Importance of Being Earnest",
        "Into the Woods",
        "Twelfth Night",
    ),
    "sports": (
        "Harbor Hawks vs. Bay City Comets",
        "Metro Foxes vs. River Valley Titans",
        "Capital Mariners vs. Northside Bulldogs",
        "Bay City Comets vs. Metro Foxes",
        "River Valley Titans vs. Harbor Hawks",
        "Northside Bulldogs vs. Capital Mariners",
    ),
    "comedy": (
        "Rita Calloway: Unfiltered",
        "Benny Okoye Live",
        "Jules Hartman: Overthinking It",
        "Priya Sethi: Small Talk",
        "Tom Alvarez and Friends",
        "Kat Nguyen: No Notes",
    ),
}
#: Train services: (name, average speed in mph, classes with fares per mile and base fare).
SERVICES: tuple[tuple[str, int, tuple[tuple[str, float, int], ...]], ...] = (
    ("Acela", 82, (("Business", 0.42, 25), ("First Class", 0.71, 40))),
    ("Northeast Regional", 64, (("Coach", 0.21, 12), ("Business", 0.34, 20))),
)
TRAINS_PER_DAY = 4
WINDOW_DAYS = 28
MAX_QUANTITY = 8
MAX_HOLDS = 4
HOLD_MINUTES = 15
FULL_REFUND_DAYS = 7
FEE_RATE = 0.12  # service fee on event tickets (trains have none)
_ROWS = "ABCDEFGHJKLMNPQRST"
_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_B32_INDEX: dict[str, int] = {char: index for index, char in enumerate(_B32)}
_LISTING_ID = re.compile(r"^(EVT|TRN)-([0-9A-Z]{4})([0-9A-Z]{3})$")
_HOLD_ID = re.compile(r"^HLD-([0-9A-Z]{5})([0-9A-Z]{4})$")
_ORDER_ID = re.compile(r"^ORD-((?:[0-9A-Z]{5}){1,4})([0-9A-Z]{2})([0-9A-Z]{4})$")
_VOUCHER = re.compile(r"^CR-([0-9A-Z]{5})([0-9A-Z]{4})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_FIRST_TODAY = dt.date(2025, 6, 2).toordinal()


@dataclass(frozen=True)
class TicketWorld:
    """The state the ticketing tools work on (see the module docstring).

    Attributes:
        seed: Seeds every derived detail (events, trains, prices, seats, id checks).
        cities: Indexes in :data:`CITIES` of the six served cities, in order along the line.
        today: Ordinal (:meth:`datetime.date.toordinal`) of today; events and trains run
            on the :data:`WINDOW_DAYS` days after it.
    """

    seed: int
    cities: tuple[int, ...]
    today: int

    @property
    def dates(self) -> tuple[str, str]:
        """First and last day on sale, ISO formatted."""
        first = dt.date.fromordinal(self.today + 1)
        return first.isoformat(), (first + dt.timedelta(days=WINDOW_DAYS - 1)).isoformat()

    def city_names(self) -> list[str]:
        return [CITIES[index].name for index in self.cities]


def make_world(rng: np.random.Generator) -> TicketWorld:
    """A world drawn from ``rng`` only: six cities, today, a seed."""
    draws = rng.random(len(CITIES) + 2).tolist()
    chosen = sorted(sorted(range(len(CITIES)), key=draws.__getitem__)[:N_CITIES])
    return TicketWorld(
        seed=int(draws[-1] * 2**52),
        cities=tuple(chosen),
        today=_FIRST_TODAY + int(draws[-2] * 60),
    )


# -- pure helpers ---------------------------------------------------------------------------


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=32)


def _b32(value: int, width: int) -> str:
    """``value`` in ``width`` base-32 characters (Crockford's alphabet)."""
    return "".join(_B32[value >> 5 * (width - 1 - k) & 31] for k in range(width))


def _unb32(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + _B32_INDEX[char]
    return value


def _encode(world: TicketWorld, kind: str, value: int, width: int) -> str:
    """``value`` as ``width`` characters, scrambled by a mask of the world and the kind."""
    mask = int.from_bytes(_digest(world.seed, "mask", kind)[:8], "big")
    return _b32(value ^ mask & (1 << 5 * width) - 1, width)


def _decode(world: TicketWorld, kind: str, text: str) -> int:
    mask = int.from_bytes(_digest(world.seed, "mask", kind)[:8], "big")
    return _unb32(text) ^ mask & (1 << 5 * len(text)) - 1


def _check(world: TicketWorld, kind: str, body: str, width: int) -> str:
    """The check characters that prove an id of ``kind`` came from this world."""
    return _b32(int.from_bytes(_digest(world.seed, "check", kind, body)[:8], "big"), width)


def _valid(text: str) -> bool:
    return all(char in _B32_INDEX for char in text)


def _money(value: float) -> float:
    return round(value + 1e-9, 2)


def _clock(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def _city(world: TicketWorld, name: str, role: str = "city") -> int:
    """Position of the named city among the world's cities."""
    wanted = " ".join(name.split()).casefold()
    for position, index in enumerate(world.cities):
        if wanted in (CITIES[index].name.casefold(), CITIES[index].station.casefold()):
            return position
    raise ToolError(f"unknown {role} {name!r}; we sell tickets in: {', '.join(world.city_names())}")


def _day(world: TicketWorld, value: str, role: str = "date") -> int:
    """Offset of a day in the sale window (0 is tomorrow)."""
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ToolError(f"{role} {value!r} is not a date; use YYYY-MM-DD") from None
    offset = day.toordinal() - world.today - 1
    if not 0 <= offset < WINDOW_DAYS:
        first, last = world.dates
        raise ToolError(f"{role} {day.isoformat()} is not on sale; pick a day in {first}..{last}")
    return offset


def _pack_listing(kind: int, origin: int, destination: int, day: int, slot: int) -> int:
    return (((kind * 8 + origin) * 8 + destination) * 32 + day) * 4 + slot


def _listing_id(world: TicketWorld, payload: int) -> str:
    prefix = "TRN" if payload >> 13 == _TRAIN else "EVT"
    body = _encode(world, "listing", payload, 4)
    return f"{prefix}-{body}{_check(world, 'listing', body, 3)}"


def _event_bits(world: TicketWorld, kind: int, city: int, day: int) -> bytes:
    """Hash bits shared by the events of a category, city and day (count, acts, times)."""
    return _digest(world.seed, "events", kind, world.cities[city], day)


def _n_events(world: TicketWorld, kind: int, city: int, day: int) -> int:
    return 2 + _event_bits(world, kind, city, day)[0] % 2


def _listing(world: TicketWorld, payload: int) -> dict[str, Any] | None:
    """Everything about one listing (event or train), or ``None`` if there is no such one.

    The sections are the ones on sale, cheapest first, each with its price, service fee and
    free seats. Private keys (starting with ``_``) never reach a response.
    """
    slot, day = payload % 4, payload >> 2 & 31
    destination, origin, kind = payload >> 7 & 7, payload >> 10 & 7, payload >> 13
    n = len(world.cities)
    if kind > _TRAIN or origin >= n or day >= WINDOW_DAYS:
        return None
    date = dt.date.fromordinal(world.today + 1 + day).isoformat()
    place = CITIES[world.cities[origin]]
    bits = _digest(world.seed, "listing", payload)
    sections: list[dict[str, Any]] = []
    if kind == _TRAIN:
        if destination >= n or destination == origin:
            return None
        target = CITIES[world.cities[destination]]
        miles = abs(target.mile - place.mile)
        route = _digest(world.seed, "route", place.name, target.name, day)
        depart = 5 * 60 + 30 + slot * 240 + 5 * (route[slot] % 40)  # 05:30 to 20:45
        service, mph, classes = SERVICES[route[4 + slot] % 2]
        duration = 10 + round(miles / mph * 60)
        first = 2100 if service == "Acela" else 100
        number = first + 20 * slot + 2 * (route[8 + slot] % 10) + (origin > destination)
        for name, per_mile, base in classes:
            price = (base + per_mile * miles) * (0.85 + 0.5 * bits[len(sections)] / 255)
            sections.append({"section": name, "price": _money(price), "fee": 0.0})
        listing = {
            "category": "train",
            "name": f"{service} {number}",
            "origin": place.name,
            "destination": target.name,
            "from_station": place.station,
            "to_station": target.station,
            "date": date,
            "depart": _clock(depart),
            "arrive": _clock(depart + duration),
            "duration_min": duration,
            "_start": depart,
        }
    else:
        shared = _event_bits(world, kind, origin, day)
        if destination != 0 or slot >= 2 + shared[0] % 2:
            return None
        category = CATEGORIES[kind]
        acts = _ACTS[category.name]
        # the events of a day have distinct acts, venues and start times
        start = category.times[(shared[1] + slot) % len(category.times)]
        for position, (name, base) in enumerate(category.sections):
            price = round(base * (0.8 + 0.5 * bits[position] / 255))
            fee = _money(price * FEE_RATE)
            sections.append({"section": name, "price": float(price), "fee": fee})
        listing = {
            "category": category.name,
            "name": acts[(shared[2] + slot) % len(acts)],
            "venue": category.venues[(shared[3] + slot) % len(category.venues)].format(
                city=place.name
            ),
            "city": place.name,
            "date": date,
            "start_time": start,
            "_start": int(start[:2]) * 60 + int(start[3:]),
        }
    sections.sort(key=lambda section: (section["price"], section["section"]))
    for position, section in enumerate(sections):
        if position and section["price"] <= sections[position - 1]["price"]:
            section["price"] = sections[position - 1]["price"] + 1.0  # "cheapest" is unique
            if section["fee"]:  # event tickets: the fee follows the price shown
                section["fee"] = _money(section["price"] * FEE_RATE)
        section["available"] = MAX_QUANTITY + bits[20 + position] % 60
    listing = {"listing_id": _listing_id(world, payload), **listing}
    listing["_payload"] = payload
    listing["_day"] = day
    listing["_sections"] = sections
    return listing


def _public(listing: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in listing.items() if not key.startswith("_")}


def _find_listing(world: TicketWorld, listing_id: str) -> dict[str, Any]:
    hint = "use a listing_id returned by search_live_events or search_train_trips"
    wanted = listing_id.strip().upper()
    match = _LISTING_ID.match(wanted)
    if match is None or not _valid(match.group(2) + match.group(3)):
        raise ToolError(f"malformed listing_id {listing_id!r} (like 'EVT-4K7Q2MA'); {hint}")
    if _check(world, "listing", match.group(2), 3) == match.group(3):
        listing = _listing(world, _decode(world, "listing", match.group(2)))
        if listing is not None and listing["listing_id"] == wanted:
            return listing
    raise ToolError(f"no listing {listing_id!r}; {hint}")


def _section(listing: dict[str, Any], section: str) -> tuple[int, dict[str, Any]]:
    wanted = " ".join(section.split()).casefold()
    for position, candidate in enumerate(listing["_sections"]):
        if candidate["section"].casefold() == wanted:
            return position, candidate
    names = ", ".join(candidate["section"] for candidate in listing["_sections"])
    raise ToolError(f"{listing['name']} has no section {section!r}; its sections are: {names}")


def _hold(world: TicketWorld, payload: int) -> dict[str, Any]:
    """The details of a hold: ``payload`` packs listing, section and quantity."""
    listing = _listing(world, payload >> 5)
    position, quantity = payload >> 3 & 3, (payload & 7) + 1
    if listing is None or position >= len(listing["_sections"]):
        raise ToolError("invalid hold")
    section = listing["_sections"][position]
    bits = _digest(world.seed, "seats", payload)
    if listing["category"] == "train":
        first = 1 + bits[1] % (60 - quantity)
        seats = [f"Car {1 + bits[0] % 8}, Seat {first + k}" for k in range(quantity)]
    else:
        first = 1 + bits[1] % (30 - quantity)
        row = _ROWS[bits[0] % len(_ROWS)]
        seats = [f"Row {row}, Seat {first + k}" for k in range(quantity)]
    return {
        "listing_id": listing["listing_id"],
        "name": listing["name"],
        "date": listing["date"],
        "start": listing.get("start_time", listing.get("depart")),
        "section": section["section"],
        "seats": seats,
        "quantity": quantity,
        "unit_price": section["price"],
        "unit_fee": section["fee"],
        "subtotal": _money(section["price"] * quantity),
        "fees": _money(section["fee"] * quantity),
        "_day": listing["_day"],
    }


def _hold_id(world: TicketWorld, payload: int) -> str:
    body = _encode(world, "hold", payload, 5)
    return f"HLD-{body}{_check(world, 'hold', body, 4)}"


def _find_hold(world: TicketWorld, hold_id: str) -> tuple[str, dict[str, Any]]:
    hint = "use a hold_id returned by hold_tickets"
    wanted = hold_id.strip().upper()
    match = _HOLD_ID.match(wanted)
    if match is None or not _valid(match.group(1) + match.group(2)):
        raise ToolError(f"malformed hold_id {hold_id!r} (like 'HLD-3KQ7A9XZP'); {hint}")
    if _check(world, "hold", match.group(1), 4) != match.group(2):
        raise ToolError(f"no hold {hold_id!r}; {hint}")
    try:
        return match.group(1), _hold(world, _decode(world, "hold", match.group(1)))
    except ToolError:
        raise ToolError(f"no hold {hold_id!r}; {hint}") from None


def _buyer_tag(name: str, email: str) -> str:
    key = f"{name.casefold()}|{email.casefold()}".encode()
    return _b32(int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big"), 2)


def _find_order(world: TicketWorld, order_id: str) -> tuple[str, list[dict[str, Any]]]:
    hint = "use an order_id returned by purchase_tickets"
    wanted = order_id.strip().upper()
    match = _ORDER_ID.match(wanted)
    if match is None or not _valid(wanted[4:]):
        raise ToolError(f"malformed order_id {order_id!r} (like 'ORD-3KQ7A5BX7M2'); {hint}")
    holds, tag, check = match.groups()
    if _check(world, "order", holds + tag, 4) != check:
        raise ToolError(f"no order {order_id!r}; {hint}")
    items = [
        _hold(world, _decode(world, "hold", holds[k : k + 5])) for k in range(0, len(holds), 5)
    ]
    return wanted, items


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {key: value for key, value in item.items() if not key.startswith("_")} for item in items
    ]


def _name(value: str, role: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise ToolError(f"{role} must not be empty")
    return cleaned


# -- tools ----------------------------------------------------------------------------------


@tool(latency=1, canonical={"city": "keyword", "date": "date", "category": "keyword"})
def search_live_events(world: TicketWorld, city: str, date: str, category: str) -> dict[str, Any]:
    """Search live events (concert, theater, sports or comedy) in a city on a day, earliest first.

    Args:
        city: City name, e.g. "Philadelphia".
        date: The day, YYYY-MM-DD.
        category: One of "concert", "theater", "sports", "comedy".
    """
    position = _city(world, city)
    day = _day(world, date)
    wanted = category.strip().casefold()
    wanted = _CATEGORY_ALIASES.get(wanted, wanted)
    if wanted not in _CATEGORY_INDEX:
        raise ToolError(f"unknown category {category!r}; use one of: {', '.join(_CATEGORY_INDEX)}")
    kind = _CATEGORY_INDEX[wanted]
    listings = []
    for slot in range(_n_events(world, kind, position, day)):
        listing = _listing(world, _pack_listing(kind, position, 0, day, slot))
        if listing is not None:
            listings.append(listing)
    listings.sort(key=lambda item: item["_start"])
    events = [
        {**_public(listing), "price_from": listing["_sections"][0]["price"]} for listing in listings
    ]
    return {
        "city": CITIES[world.cities[position]].name,
        "date": dt.date.fromordinal(world.today + 1 + day).isoformat(),
        "category": wanted,
        "events": events,
    }


@tool(latency=1, canonical={"origin": "keyword", "destination": "keyword", "date": "date"})
def search_train_trips(
    world: TicketWorld, origin: str, destination: str, date: str
) -> dict[str, Any]:
    """Search the trains between two cities on a day, in order of departure.

    Args:
        origin: Departure city, e.g. "New York".
        destination: Arrival city, e.g. "Washington".
        date: Day of travel, YYYY-MM-DD.
    """
    source = _city(world, origin, "origin")
    target = _city(world, destination, "destination")
    if source == target:
        raise ToolError("origin and destination must be different cities")
    day = _day(world, date)
    trips = []
    for slot in range(TRAINS_PER_DAY):
        listing = _listing(world, _pack_listing(_TRAIN, source, target, day, slot))
        if listing is None:  # cannot happen: every route runs four trains a day
            continue
        trips.append({**_public(listing), "fare_from": listing["_sections"][0]["price"]})
    return {
        "origin": CITIES[world.cities[source]].name,
        "destination": CITIES[world.cities[target]].name,
        "date": dt.date.fromordinal(world.today + 1 + day).isoformat(),
        "trips": trips,
    }


@tool(latency=1, canonical={"listing_id": "symbol"})
def list_ticket_options(world: TicketWorld, listing_id: str) -> dict[str, Any]:
    """List the sections (or train classes) of an event or train, cheapest first (USD).

    Args:
        listing_id: A listing_id from search_live_events or search_train_trips.
    """
    listing = _find_listing(world, listing_id)
    return {
        **_public(listing),
        "options": [dict(section) for section in listing["_sections"]],
        "currency": "USD",
    }


@tool(latency=1, writes=True, canonical={"listing_id": "symbol", "section": "keyword"})
def hold_tickets(
    world: TicketWorld, listing_id: str, section: str, quantity: int
) -> dict[str, Any]:
    """Hold the best available adjacent seats in a section for 15 minutes; returns a hold id.

    Args:
        listing_id: A listing_id from search_live_events or search_train_trips.
        section: A section (or train class) from list_ticket_options, e.g. "Mezzanine".
        quantity: Number of seats, 1 to 8.
    """
    listing = _find_listing(world, listing_id)
    position, chosen = _section(listing, section)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ToolError(f"quantity must be between 1 and {MAX_QUANTITY}, got {quantity}")
    if quantity > chosen["available"]:
        raise ToolError(f"only {chosen['available']} seats left in {chosen['section']}")
    payload = listing["_payload"] << 5 | position << 3 | quantity - 1
    hold = _hold(world, payload)
    return {
        "hold_id": _hold_id(world, payload),
        **_items([hold])[0],
        "total_price": _money(hold["subtotal"] + hold["fees"]),
        "currency": "USD",
        "expires_in_minutes": HOLD_MINUTES,
    }


@tool(
    latency=3,
    writes=True,
    canonical={
        "hold_ids": "list:symbol",
        "buyer_name": "name",
        "email": "name",
        "voucher_code": "symbol",
    },
)
def purchase_tickets(
    world: TicketWorld,
    hold_ids: list[str],
    buyer_name: str,
    email: str,
    voucher_code: str | None = None,
) -> dict[str, Any]:
    """Buy held seats in one order (tickets are emailed); a store-credit voucher may pay part.

    Args:
        hold_ids: One to four hold_ids returned by hold_tickets.
        buyer_name: Full name of the buyer.
        email: Where to send the tickets.
        voucher_code: Optional store-credit code from request_ticket_refund, e.g. "CR-0A1B2C3D4".
    """
    if not 1 <= len(hold_ids) <= MAX_HOLDS:
        raise ToolError(f"an order takes 1 to {MAX_HOLDS} hold_ids, got {len(hold_ids)}")
    bodies, items = [], []
    for hold_id in hold_ids:
        body, hold = _find_hold(world, hold_id)
        if body in bodies:
            raise ToolError(f"hold {hold_id!r} is listed twice")
        bodies.append(body)
        items.append(hold)
    buyer = _name(buyer_name, "buyer_name")
    address = email.strip()
    if not _EMAIL.match(address):
        raise ToolError(f"invalid email {email!r}; use an address like 'name@example.com'")
    credit = _voucher_amount(world, voucher_code) if voucher_code else 0.0
    holds = "".join(bodies)
    tag = _buyer_tag(buyer, address)
    subtotal = _money(sum(item["subtotal"] for item in items))
    fees = _money(sum(item["fees"] for item in items))
    total = _money(subtotal + fees)
    applied = min(credit, total)
    return {
        "order_id": f"ORD-{holds}{tag}{_check(world, 'order', holds + tag, 4)}",
        "status": "confirmed",
        "buyer_name": buyer,
        "email": address,
        "items": _items(items),
        "subtotal": subtotal,
        "fees": fees,
        "total": total,
        "credit_applied": _money(applied),
        "total_charged": _money(total - applied),
        "remaining_credit": _money(credit - applied),
        "currency": "USD",
        "delivery": "mobile tickets by email",
    }


@tool(latency=1, canonical={"order_id": "symbol"})
def get_ticket_order_status(world: TicketWorld, order_id: str) -> dict[str, Any]:
    """Get the status of a ticket order: its items, total and until when it is fully refundable.

    Args:
        order_id: An order_id returned by purchase_tickets.
    """
    order, items = _find_order(world, order_id)
    first_day = min(item["_day"] for item in items)
    deadline = dt.date.fromordinal(world.today + 1 + first_day - FULL_REFUND_DAYS)
    today = dt.date.fromordinal(world.today)
    return {
        "order_id": order,
        "status": "confirmed",
        "tickets": "issued",
        "items": _items(items),
        "total": _money(sum(item["subtotal"] + item["fees"] for item in items)),
        "currency": "USD",
        "full_refund_until": deadline.isoformat() if deadline >= today else None,
    }


def _voucher_amount(world: TicketWorld, code: str) -> float:
    hint = "use a voucher_code returned by request_ticket_refund"
    wanted = code.strip().upper()
    match = _VOUCHER.match(wanted)
    if match is None or not _valid(match.group(1) + match.group(2)):
        raise ToolError(f"malformed voucher_code {code!r} (like 'CR-0A1B2C3D4'); {hint}")
    if _check(world, "voucher", match.group(1), 4) != match.group(2):
        raise ToolError(f"no voucher {code!r}; {hint}")
    return _decode(world, "voucher", match.group(1)) / 100


@tool(latency=2, writes=True, canonical={"order_id": "symbol"})
def request_ticket_refund(
    world: TicketWorld, order_id: str, as_store_credit: bool = False
) -> dict[str, Any]:
    """Refund an order: the ticket price in full until 7 days before the date, 50% after that.

    Service fees are not refunded. As store credit, the refund comes as a voucher code that
    purchase_tickets accepts.

    Args:
        order_id: An order_id returned by purchase_tickets.
        as_store_credit: True to get a store-credit voucher instead of money back.
    """
    order, items = _find_order(world, order_id)
    lines, amount = [], 0.0
    for item in items:
        days_left = item["_day"] + 1
        percent = 100 if days_left >= FULL_REFUND_DAYS else 50
        refund = _money(item["subtotal"] * percent / 100)
        amount += refund
        lines.append({"listing_id": item["listing_id"], "percent": percent, "amount": refund})
    amount = _money(amount)
    response: dict[str, Any] = {
        "refund_id": stable_id("RFD", world.seed, order, as_store_credit),
        "order_id": order,
        "status": "approved",
        "amount": amount,
        "currency": "USD",
        "items": lines,
        "method": "store credit" if as_store_credit else "original payment method",
    }
    if as_store_credit:
        body = _encode(world, "voucher", round(amount * 100), 5)
        response["voucher_code"] = f"CR-{body}{_check(world, 'voucher', body, 4)}"
    return response


# -- templates ------------------------------------------------------------------------------

_BUYERS: tuple[str, ...] = (
    "Jordan Miles",
    "Alicia Moreno",
    "Ben Okafor",
    "Claire Dubois",
    "Derek Huang",
    "Fatima Zahra",
    "Greg Novak",
    "Hannah Kim",
    "Ivan Petrov",
    "Julia Santos",
    "Kevin O'Neil",
    "Laura Bianchi",
)


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _buyer(rng: np.random.Generator) -> tuple[str, str]:
    name = _choice(rng, _BUYERS)
    first, last = name.replace("'", "").lower().split()
    domain = _choice(rng, ("example.com", "mail.example.org", "inbox.example.net"))
    return name, f"{first}.{last}@{domain}"


#: Templates use the first days on sale, side steps the last ones, so that a side step's
#: search never repeats a template's.
_TEMPLATE_DAYS = 21


def _date(world: TicketWorld, rng: np.random.Generator, room: int = 0) -> str:
    """A day among the templates' days that leaves ``room`` more of them after it."""
    offset = int(rng.integers(_TEMPLATE_DAYS - room))
    return dt.date.fromordinal(world.today + 1 + offset).isoformat()


def _side_date(world: TicketWorld, rng: np.random.Generator) -> str:
    offset = _TEMPLATE_DAYS + int(rng.integers(WINDOW_DAYS - _TEMPLATE_DAYS))
    return dt.date.fromordinal(world.today + 1 + offset).isoformat()


def _two_cities(world: TicketWorld, rng: np.random.Generator) -> tuple[str, str]:
    first, second = rng.permutation(len(world.cities))[:2]
    return CITIES[world.cities[int(first)]].name, CITIES[world.cities[int(second)]].name


def _seats(quantity: int) -> str:
    return f"{quantity} ticket" + ("s" if quantity > 1 else "")


def event_tickets(world: TicketWorld, rng: np.random.Generator) -> TaskSpec:
    """Search, list sections, hold the cheapest, buy (4 steps, a chain)."""
    city = CITIES[_choice(rng, world.cities)].name
    date = _date(world, rng)
    category = _choice(rng, CATEGORIES).name
    quantity = 1 + int(rng.integers(4))
    buyer, email = _buyer(rng)
    return TaskSpec(
        instruction=(
            f"Buy {_seats(quantity)} in the cheapest section for the earliest {category} "
            f"event in {city} on {date}, for {buyer} (email {email}). Tell me the order id "
            "and the total charged."
        ),
        steps=(
            StepSpec("search_live_events", {"city": city, "date": date, "category": category}),
            StepSpec("list_ticket_options", {"listing_id": "${s0.events.0.listing_id}"}),
            StepSpec(
                "hold_tickets",
                {
                    "listing_id": "${s0.events.0.listing_id}",
                    "section": "${s1.options.0.section}",
                    "quantity": quantity,
                },
            ),
            StepSpec(
                "purchase_tickets",
                {"hold_ids": ["${s2.hold_id}"], "buyer_name": buyer, "email": email},
            ),
        ),
        answer="${s3.order_id} (${s3.total_charged} USD)",
    )


def train_ticket(world: TicketWorld, rng: np.random.Generator) -> TaskSpec:
    """Search trains, hold Business seats on the first one after a time, buy (3, chain)."""
    origin, destination = _two_cities(world, rng)
    date = _date(world, rng)
    quantity = 1 + int(rng.integers(3))
    buyer, email = _buyer(rng)
    after = 6 + int(rng.integers(14))  # 06:00 .. 19:00, the last train leaves after 17:30
    trips = search_train_trips.function(world, origin=origin, destination=destination, date=date)[
        "trips"
    ]
    index = next(
        (k for k, trip in enumerate(trips) if trip["depart"] >= f"{after:02d}:00"), len(trips) - 1
    )
    if trips[index]["depart"] < f"{after:02d}:00":
        after = int(trips[index]["depart"][:2])
    return TaskSpec(
        instruction=(
            f"Get {_seats(quantity)} in Business on the first train from {origin} to "
            f"{destination} on {date} that leaves at or after {after:02d}:00, for {buyer} "
            f"(email {email}). Tell me the order id."
        ),
        steps=(
            StepSpec(
                "search_train_trips", {"origin": origin, "destination": destination, "date": date}
            ),
            StepSpec(
                "hold_tickets",
                {
                    "listing_id": f"${{s0.trips.{index}.listing_id}}",
                    "section": "Business",
                    "quantity": quantity,
                },
            ),
            StepSpec(
                "purchase_tickets",
                {"hold_ids": ["${s1.hold_id}"], "buyer_name": buyer, "email": email},
            ),
        ),
        answer="${s2.order_id}",
    )


def _random_event(
    world: TicketWorld, rng: np.random.Generator, earliest: bool = False
) -> dict[str, Any]:
    """An event of a random city, day and category (the day's earliest if ``earliest``)."""
    city = CITIES[_choice(rng, world.cities)].name
    category = _choice(rng, CATEGORIES).name
    events = search_live_events.function(
        world, city=city, date=_date(world, rng), category=category
    )["events"]
    return events[0] if earliest else _choice(rng, events)


def hold_known_event(world: TicketWorld, rng: np.random.Generator) -> TaskSpec:
    """List the sections of a given listing id, hold the cheapest (2 steps, a chain)."""
    # the earliest event of its day: a lookup step then reads events.0, and the follow-up
    # after a search (events.1) never repeats this template's own call
    event = _random_event(world, rng, earliest=True)
    quantity = 1 + int(rng.integers(6))
    return TaskSpec(
        instruction=(
            f"Check the ticket options of {event['listing_id']} and hold {quantity} "
            f"seat{'s' if quantity > 1 else ''} in its cheapest section. Tell me the hold id "
            "and the total price."
        ),
        steps=(
            StepSpec("list_ticket_options", {"listing_id": event["listing_id"]}),
            StepSpec(
                "hold_tickets",
                {
                    "listing_id": "${s0.listing_id}",
                    "section": "${s0.options.0.section}",
                    "quantity": quantity,
                },
            ),
        ),
        answer="${s1.hold_id} (${s1.total_price} USD)",
    )


def night_out(world: TicketWorld, rng: np.random.Generator) -> TaskSpec:
    """Event and train searched in parallel, each held, bought together (5 steps)."""
    home, city = _two_cities(world, rng)
    date = _date(world, rng)
    category = _choice(rng, CATEGORIES)
    section = _choice(rng, category.sections)[0]
    quantity = 1 + int(rng.integers(4))
    buyer, email = _buyer(rng)
    return TaskSpec(
        instruction=(
            f"Plan {buyer}'s night out in {city} on {date}: hold {_seats(quantity)} in "
            f"{section} for the earliest {category.name} event there that day, and hold "
            f"{quantity} Business seat{'s' if quantity > 1 else ''} on the first train from "
            f"{home} to {city} that day. Then buy both holds in a single order for {buyer} "
            f"(email {email}), the event first. Tell me the order id and the total charged."
        ),
        steps=(
            StepSpec("search_live_events", {"city": city, "date": date, "category": category.name}),
            StepSpec("search_train_trips", {"origin": home, "destination": city, "date": date}),
            StepSpec(
                "hold_tickets",
                {
                    "listing_id": "${s0.events.0.listing_id}",
                    "section": section,
                    "quantity": quantity,
                },
            ),
            StepSpec(
                "hold_tickets",
                {
                    "listing_id": "${s1.trips.0.listing_id}",
                    "section": "Business",
                    "quantity": quantity,
                },
            ),
            StepSpec(
                "purchase_tickets",
                {
                    "hold_ids": ["${s2.hold_id}", "${s3.hold_id}"],
                    "buyer_name": buyer,
                    "email": email,
                },
            ),
        ),
        answer="${s4.order_id} (${s4.total_charged} USD)",
    )


def exchange_for_credit(world: TicketWorld, rng: np.random.Generator) -> TaskSpec:
    """Refund as credit while finding new seats; the purchase joins both (4 steps)."""
    buyer, email = _buyer(rng)
    old = _random_event(world, rng)
    options = list_ticket_options.function(world, listing_id=old["listing_id"])["options"]
    hold = hold_tickets.function(
        world,
        listing_id=old["listing_id"],
        section=_choice(rng, options)["section"],
        quantity=1 + int(rng.integers(4)),
    )
    order = purchase_tickets.function(
        world, hold_ids=[hold["hold_id"]], buyer_name=buyer, email=email
    )["order_id"]
    city = CITIES[_choice(rng, world.cities)].name
    date = _date(world, rng)
    category = _choice(rng, CATEGORIES)
    section = _choice(rng, category.sections)[0]
    quantity = 1 + int(rng.integers(4))
    return TaskSpec(
        instruction=(
            f"{buyer} can't make it to {old['name']} on {old['date']}. Refund order {order} "
            f"as store credit, and use the voucher to buy {_seats(quantity)} in {section} for "
            f"the earliest {category.name} event in {city} on {date} instead (buyer {buyer}, email "
            f"{email}). Tell me how much had to be charged on top of the credit."
        ),
        steps=(
            StepSpec("request_ticket_refund", {"order_id": order, "as_store_credit": True}),
            StepSpec("search_live_events", {"city": city, "date": date, "category": category.name}),
            StepSpec(
                "hold_tickets",
                {
                    "listing_id": "${s1.events.0.listing_id}",
                    "section": section,
                    "quantity": quantity,
                },
            ),
            StepSpec(
                "purchase_tickets",
                {
                    "hold_ids": ["${s2.hold_id}"],
                    "buyer_name": buyer,
                    "email": email,
                    "voucher_code": "${s0.voucher_code}",
                },
            ),
        ),
        answer="${s3.total_charged}",
    )


def round_trip_train(world: TicketWorld, rng: np.random.Generator) -> TaskSpec:
    """Outbound and return searches in parallel, each held, bought together (5 steps)."""
    origin, destination = _two_cities(world, rng)
    nights = 1 + int(rng.integers(5))
    out = _date(world, rng, room=nights)
    back = (dt.date.fromisoformat(out) + dt.timedelta(days=nights)).isoformat()
    travel_class = _choice(rng, ("Business", "Business", "First Class", "Coach"))
    buyer, email = _buyer(rng)
    outbound, inbound = (
        search_train_trips.function(world, origin=a, destination=b, date=day)["trips"]
        for a, b, day in ((origin, destination, out), (destination, origin, back))
    )
    # the last train of the day out, the first train back, in a class both of them sell
    for trip in (outbound[-1], inbound[0]):
        options = list_ticket_options.function(world, listing_id=trip["listing_id"])["options"]
        if travel_class not in [option["section"] for option in options]:
            travel_class = "Business"
    return TaskSpec(
        instruction=(
            f"Book {buyer} a {travel_class} seat on the last train from {origin} to "
            f"{destination} on {out} and on the first train back on {back}. Hold both seats "
            f"and buy them in one order (outbound first) for {buyer}, email {email}. Tell me "
            "the order id."
        ),
        steps=(
            StepSpec(
                "search_train_trips", {"origin": origin, "destination": destination, "date": out}
            ),
            StepSpec(
                "search_train_trips", {"origin": destination, "destination": origin, "date": back}
            ),
            StepSpec(
                "hold_tickets",
                {
                    "listing_id": f"${{s0.trips.{TRAINS_PER_DAY - 1}.listing_id}}",
                    "section": travel_class,
                    "quantity": 1,
                },
            ),
            StepSpec(
                "hold_tickets",
                {"listing_id": "${s1.trips.0.listing_id}", "section": travel_class, "quantity": 1},
            ),
            StepSpec(
                "purchase_tickets",
                {
                    "hold_ids": ["${s2.hold_id}", "${s3.hold_id}"],
                    "buyer_name": buyer,
                    "email": email,
                },
            ),
        ),
        answer="${s4.order_id}",
    )


# -- evolution hooks ------------------------------------------------------------------------


def _decoded(world: TicketWorld, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, str):
        return None
    try:
        return _find_listing(world, value)
    except ToolError:
        return None


def _lookup_event(world: TicketWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant event listing id -> search_live_events of its city, day and category."""
    listing = _decoded(world, value)
    if listing is None or listing["category"] == "train":
        return None
    arguments = {"city": listing["city"], "date": listing["date"], "category": listing["category"]}
    events = search_live_events.function(world, **arguments)["events"]
    index = [event["listing_id"] for event in events].index(listing["listing_id"])
    phrase = (
        f"{listing['name']} at {listing['venue']} ({listing['city']}, {listing['date']} "
        f"{listing['start_time']})"
    )
    return arguments, f"events.{index}.listing_id", phrase


# Follow-ups avoid repeating a call a template already makes (the same tool with the same
# arguments twice in one task would be ambiguous to match): no template lists the second
# event's options or a train's fares. Each is a read whose sentence names the search it
# follows (its city or route, day and category, which the search's arguments state) and
# asks for one value the search itself does not show. An order's status is not a
# follow-up: its facts (the total, the refund deadline) follow from the order and the
# refund rule, so a model would not need the call.


def _options_after_search(
    world: TicketWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """After an event search: the second event's sections, asking for free seats."""
    search = followed.arguments
    return (
        StepSpec("list_ticket_options", {"listing_id": f"${{s{index}.events.1.listing_id}}"}),
        f"Then list the ticket options of the second-earliest {search['category']} event in "
        f"{search['city']} on {search['date']} and tell me how many seats are still available "
        "in its cheapest section.",
        "options.0.available",
    )


def _options_after_trains(
    world: TicketWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """After a train search: the first train's fares, asking for free seats."""
    search = followed.arguments
    return (
        StepSpec("list_ticket_options", {"listing_id": f"${{s{index}.trips.0.listing_id}}"}),
        f"Then list the fares of the first train from {search['origin']} to "
        f"{search['destination']} on {search['date']} and tell me how many seats are still "
        "available in its cheapest class.",
        "options.0.available",
    )


def _side_events(world: TicketWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    """An event search on a day templates never use, asking for the earliest event's name."""
    city = CITIES[_choice(rng, world.cities)].name
    date = _side_date(world, rng)
    category = _choice(rng, CATEGORIES).name
    return (
        StepSpec("search_live_events", {"city": city, "date": date, "category": category}),
        f"Also tell me the name of the earliest {category} event in {city} on {date}.",
        "events.0.name",
    )


def _side_trains(world: TicketWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    """A train search on a day templates never use, asking which train leaves first.

    The train's name, not its departure time: a clock time like "10:20" is matched loosely
    (as "1020"), so another train's time could seem to be named inside a price or an id.
    """
    origin, destination = _two_cities(world, rng)
    date = _side_date(world, rng)
    return (
        StepSpec(
            "search_train_trips", {"origin": origin, "destination": destination, "date": date}
        ),
        f"Also tell me which train leaves first from {origin} to {destination} on {date} (its "
        "service and number).",
        "trips.0.name",
    )


SCENARIO = Scenario(
    name="ticketing",
    category="Ticket Purchase",
    description=(
        "Find concerts, shows, games and trains, hold seats, buy tickets, check orders and "
        "request refunds."
    ),
    make_world=make_world,
    tools=(
        search_live_events,
        search_train_trips,
        list_ticket_options,
        hold_tickets,
        purchase_tickets,
        get_ticket_order_status,
        request_ticket_refund,
    ),
    templates={
        "event_tickets": event_tickets,
        "train_ticket": train_ticket,
        "hold_known_event": hold_known_event,
        "night_out": night_out,
        "exchange_for_credit": exchange_for_credit,
        "round_trip_train": round_trip_train,
    },
    # One rule only: the lookup operator picks a rule before asking it, so a second rule
    # for train listings would make it give up on event listings half of the time.
    lookups=(LookupRule("listing_id", "search_live_events", _lookup_event),),
    follow_ups=(
        FollowUpRule("search_live_events", _options_after_search),
        FollowUpRule("search_train_trips", _options_after_trains),
    ),
    side_steps=(
        SideStepRule("search_events", _side_events),
        SideStepRule("search_trains", _side_trains),
    ),
)
