"""Ticket Purchase: find events and trains, hold seats, buy them, check orders, refund.

The world
---------
A :class:`TicketWorld` is a ticket shop for six cities of the US Northeast Corridor (drawn
from :data:`CITIES`, each with its railway station and its position along the line), a
"today" (events and trains are sold for the 28 days after it) and a ``seed``. The events
of a city, day and category (two or three concerts, plays, games or comedy shows), the
four trains of a route and day, their sections, prices and free seats are *not stored*:
they are a pure function of ``seed`` and the request, derived from a hash (:func:`_digest`),
so building a world costs a few microseconds. So is the order the shop sold, before today,
of each section of each event (:func:`_past_order`: its buyer, quantity and seats), which
a refund task refunds. What calls do (holds, orders, refunds, vouchers) is kept in the
world's state (see *State*).

The tools
---------
========================== ======= ===================================================
``search_live_events``      1       events of a category in a city on a day
``search_train_trips``      1       the trains of a route on a day
``list_ticket_options``     1       sections (or classes) of a listing, cheapest first
``hold_tickets``            1       holds the best free seats of a section, returns a hold id
``purchase_tickets``        3       buys one or more holds, each once (payment: slow)
``get_ticket_order_status`` 1       an order's items, total, status and refund
``request_ticket_refund``   2       refunds an order once (money back or store credit)
========================== ======= ===================================================

(the middle column is the declared latency in rounds.)

State
-----
What calls make or change is kept in the world's
:class:`~asynctool_env.core.state.WorldState`, one object per thing:

* ``("hold", listing id, section, HLD-id)``: every hold (its seats, prices, and whether it
  was bought: ``status`` ``held`` or ``purchased`` with the ``order_id``);
* ``("order", ORD-id)``: every order bought, and a past order of the seed once refunded
  (buyer, items, totals, the voucher it used, ``status`` ``confirmed`` (paid) then
  ``refunded`` or ``credited``, ``tickets`` ``issued`` then ``cancelled``, the refund);
* ``("voucher", CR-code)``: every store-credit voucher (amount, ``active`` or ``used`` and
  the order it paid);
* ``("#made", "voucher", cents)`` and the refund-id counters of
  :meth:`~asynctool_env.core.state.WorldState.new_id`: how many identical objects were made.

What each write does. ``hold_tickets`` takes seats out of sale: a section's free seats are
the seed's count less the seats of every hold of that section (bought or not), and it is
refused when fewer are free than asked. The seats are the best adjacent block no other hold
of the section has (the block dataset v2 gave, when free; past orders sat in seats numbered
30 and up, which are not on sale). Holding the same seats again is a second hold with other
seats and a new id. ``purchase_tickets`` buys each of its holds once (a used hold is
refused), makes the order and uses its voucher up (a voucher pays for one purchase; credit
left over comes back as a new voucher, ``remaining_voucher_code``).
``request_ticket_refund`` refunds an order once: the order becomes ``refunded``
(``credited`` for store credit, which issues a voucher) and its tickets ``cancelled``;
refunded seats are not put back on sale. A hold does not lapse within an episode (the world
has no clock, so a hold states no expiry: dataset v2's ``expires_in_minutes`` promised one
the env never applied). What each read sees: ``list_ticket_options`` the free seats left,
``get_ticket_order_status`` the order's current status (and its refund). Searches show
prices only and read no state.

Ids are *signed tokens*: a few base-32 characters that encode what the id stands for,
scrambled and followed by a check computed from the world's seed, so they cannot be guessed
and a later step can only learn them from an earlier response. A listing id encodes the
category, city (or route), day and slot; a hold id its listing, section and quantity, and
for the n-th identical hold n as well; an order id its holds and a hash of the buyer
(unique, since a hold is bought once), a past order's id its section; a voucher its
amount, and for the n-th voucher of an amount n as well. The first object of its content
keeps its dataset v2 id. The check is only a check: a hold, an order or a voucher is
accepted when it exists in the state (a past order: in the seed). Refund ids come from
``new_id`` with the v2 parts.

Keys keep tasks apart: holds are keyed under their listing and section, so listing a
listing's options reads only that listing's holds, and tasks on different listings (and
orders, and vouchers) touch no common object. Two tasks that hold seats of one listing do
share its free seats, as two buyers would.

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
``exchange_for_credit``  4     refund a past order (of the seed) as store credit, in parallel
                               with an event search -> hold; the purchase joins the hold and
                               the voucher
``round_trip_train``     5     outbound and return train searches in parallel, each held,
                               both bought in one order (a diamond, fan-in)
======================= ===== ==============================================================

Evolution hooks
---------------
A constant event listing id can be revealed by ``search_live_events`` of its city, day and
category (lookup). An event search can be followed by the second event's sections, a train
search that is not a task's first step by the second train's fares, each asking how many
seats its cheapest section has left (follow-ups: no template holds seats on those, so the
answer does not depend on when the read is made). Side
steps search events (the earliest one's name) or trains (the first train's name) on the
last days on sale, which templates never use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asynctool_env.core.scenario import (
    FollowUpRule,
    LookupRule,
    Scenario,
    SideStepRule,
    StepSpec,
    TaskSpec,
    world_digest,
)
from asynctool_env.core.state import Key, WorldState
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
FULL_REFUND_DAYS = 7
FEE_RATE = 0.12  # service fee on event tickets (trains have none)
_ROWS = "ABCDEFGHJKLMNPQRST"
_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_B32_INDEX: dict[str, int] = {char: index for index, char in enumerate(_B32)}
_LISTING_ID = re.compile(r"^(EVT|TRN)-([0-9A-Z]{4})([0-9A-Z]{3})$")
#: Signed ids: a body of 5 characters (7, 9... for larger values) and 4 check characters;
#: an order's body is its holds' bodies and a 2-character tag of the buyer, a past order's
#: (of the seed) its section.
_HOLD_ID = re.compile(r"^HLD-((?:[0-9A-Z]{2})*[0-9A-Z]{5})([0-9A-Z]{4})$")
_ORDER_ID = re.compile(r"^ORD-([0-9A-Z]{5,40})([0-9A-Z]{4})$")
_VOUCHER = re.compile(r"^CR-((?:[0-9A-Z]{2})*[0-9A-Z]{5})([0-9A-Z]{4})$")
#: Bits of a hold payload (listing, section, quantity) and of a voucher's amount in cents;
#: the number of an earlier identical hold (voucher) goes above them.
_HOLD_BITS = 21
_VOUCHER_BITS = 25
#: The first seat number of a past order (holds get seats 1 to 29 of a row).
_PAST_SEATS = 30
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
        state: Holds, orders and vouchers that calls made or changed (see *State* in the
            module docstring).
    """

    seed: int
    cities: tuple[int, ...]
    today: int
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)

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


def _hold_parts(base: int) -> tuple[int, int, int]:
    """What a hold payload packs: (listing payload, section position, quantity)."""
    return base >> 5, base >> 3 & 3, (base & 7) + 1


def _v2_seats(world: TicketWorld, base: int) -> tuple[str, int, int]:
    """The block of seats dataset v2 gave the hold payload ``base``: (row or car, first
    seat, seats in a row or car); a first hold of that block still gets it when it is free."""
    listing_payload, _, quantity = _hold_parts(base)
    bits = _digest(world.seed, "seats", base)
    if listing_payload >> 13 == _TRAIN:
        return f"Car {1 + bits[0] % 8}", 1 + bits[1] % (60 - quantity), 60
    return f"Row {_ROWS[bits[0] % len(_ROWS)]}", 1 + bits[1] % (30 - quantity), 30


def _allocate(world: TicketWorld, base: int, taken: set[str]) -> list[str]:
    """The best adjacent seats for the hold payload ``base`` that no hold or order of the
    section has: v2's block when it is free, else the next free block of the same row (or
    car), then of the following rows (or cars), in order."""
    place, first, width = _v2_seats(world, base)
    quantity = _hold_parts(base)[2]
    kind, start = place.split()
    lines = [str(number) for number in range(1, 9)] if kind == "Car" else list(_ROWS)
    offset = lines.index(start)
    starts = range(1, width - quantity + 1)
    for line in lines[offset:] + lines[:offset]:
        for shift in range(len(starts)):
            seat = starts[(first - 1 + shift) % len(starts)] if line == start else starts[shift]
            block = [f"{kind} {line}, Seat {seat + k}" for k in range(quantity)]
            if not taken.intersection(block):
                return block
    raise ToolError("no adjacent seats left in this section; try fewer seats")  # pragma: no cover


def _item(
    world: TicketWorld, listing: dict[str, Any], position: int, quantity: int, seats: list[str]
) -> dict[str, Any]:
    """One line of a hold or an order: the seats of a section of a listing, priced."""
    section = listing["_sections"][position]
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
    }


def _token(world: TicketWorld, kind: str, value: int) -> str:
    """``value`` as a signed token: 5 scrambled base-32 characters (2 more for each 10 bits
    a larger value needs) and 4 check characters."""
    width = 5
    while value >> 5 * width:
        width += 2
    body = _encode(world, kind, value, width)
    return body + _check(world, kind, body, 4)


def _order_id(world: TicketWorld, hold_ids: list[str], buyer: str, email: str) -> str:
    """An order id encodes its holds (their bodies) and a hash of the buyer, signed."""
    body = "".join(hold_id[4:-4] for hold_id in hold_ids) + _buyer_tag(buyer, email)
    return f"ORD-{body}{_check(world, 'order', body, 4)}"


def _buyer_tag(name: str, email: str) -> str:
    key = f"{name.casefold()}|{email.casefold()}".encode()
    return _b32(int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big"), 2)


def _order_record(
    order_id: str,
    buyer: str,
    email: str,
    hold_ids: list[str],
    items: list[dict[str, Any]],
    voucher: str | None = None,
    credit: float = 0.0,
) -> dict[str, Any]:
    """An order as the state keeps it (status ``confirmed``: paid, tickets issued)."""
    subtotal = _money(sum(item["subtotal"] for item in items))
    fees = _money(sum(item["fees"] for item in items))
    total = _money(subtotal + fees)
    applied = _money(min(credit, total))
    return {
        "order_id": order_id,
        "status": "confirmed",
        "tickets": "issued",
        "buyer_name": buyer,
        "email": email,
        "hold_ids": hold_ids,
        "items": items,
        "subtotal": subtotal,
        "fees": fees,
        "total": total,
        "voucher_code": voucher,
        "credit_applied": applied,
        "total_charged": _money(total - applied),
        "refund": None,
    }


def _past_order(world: TicketWorld, listing: dict[str, Any], position: int) -> dict[str, Any]:
    """The order the seed says the shop sold, before today, of a section of an event.

    Every section of every event has one: its buyer, quantity and seats are derived from
    the seed. Its seats are numbered after the ones on sale (30 and up), so no hold ever
    gets them, and its id is a signed token of its section (of another kind than the ids
    of orders bought in the episode), so a refund can find it without a registry.
    """
    section = listing["_payload"] << 2 | position
    bits = _digest(world.seed, "past order", section)
    quantity = 1 + bits[0] % 4
    row = _ROWS[bits[1] % len(_ROWS)]
    seats = [f"Row {row}, Seat {_PAST_SEATS + k}" for k in range(quantity)]
    buyer = _BUYERS[bits[2] % len(_BUYERS)]
    given, family = buyer.replace("'", "").lower().split()
    email = f"{given}.{family}@{_DOMAINS[bits[3] % len(_DOMAINS)]}"
    order_id = f"ORD-{_token(world, 'past order', section)}"
    items = [_item(world, listing, position, quantity, seats)]
    return _order_record(order_id, buyer, email, [], items)


#: Fields of a hold object that are not a line of the order that buys it.
_HOLD_ONLY = ("hold_id", "status", "order_id")


def _find_hold(world: TicketWorld, hold_id: str) -> tuple[Key, dict[str, Any]]:
    """The key and the object of a hold that :func:`hold_tickets` made."""
    hint = "use a hold_id returned by hold_tickets"
    wanted = hold_id.strip().upper()
    match = _HOLD_ID.match(wanted)
    if match is None or not _valid(match.group(1) + match.group(2)):
        raise ToolError(f"malformed hold_id {hold_id!r} (like 'HLD-3KQ7A9XZP'); {hint}")
    if _check(world, "hold", match.group(1), 4) == match.group(2):
        base = _decode(world, "hold", match.group(1)) & (1 << _HOLD_BITS) - 1
        listing_payload, position, _ = _hold_parts(base)
        listing = _listing(world, listing_payload)
        if listing is not None and position < len(listing["_sections"]):
            section = listing["_sections"][position]["section"]
            key = ("hold", listing["listing_id"], section, wanted)
            hold = world.state.get(key)
            if hold is not None:
                return key, hold
    raise ToolError(f"no hold {hold_id!r}; {hint}")


def _find_order(world: TicketWorld, order_id: str) -> dict[str, Any]:
    """An order: one a purchase made (or a refund changed), else one of the seed's."""
    hint = "use an order_id returned by purchase_tickets"
    wanted = order_id.strip().upper()
    match = _ORDER_ID.match(wanted)
    if match is None or not _valid(wanted[4:]):
        raise ToolError(f"malformed order_id {order_id!r} (like 'ORD-3KQ7A5BX7M2'); {hint}")
    body, check = match.groups()
    kind = "past order" if len(body) == 5 else "order"  # bought ones: holds and a tag
    if _check(world, kind, body, 4) == check:
        order = world.state.get(("order", wanted))  # bought, or refunded, in the episode
        if order is not None:
            return order
        if kind == "past order":
            value = _decode(world, kind, body)
            listing = _listing(world, value >> 2)
            position = value & 3
            if (
                listing is not None
                and listing["category"] != "train"
                and position < len(listing["_sections"])
            ):
                past = _past_order(world, listing, position)
                if past["order_id"] == wanted:
                    return past
    raise ToolError(f"no order {order_id!r}; {hint}")


def _find_voucher(world: TicketWorld, code: str) -> dict[str, Any]:
    """A store-credit voucher that a refund (or a purchase's remainder) issued."""
    hint = "use a voucher_code returned by request_ticket_refund"
    wanted = code.strip().upper()
    match = _VOUCHER.match(wanted)
    if match is None or not _valid(match.group(1) + match.group(2)):
        raise ToolError(f"malformed voucher_code {code!r} (like 'CR-0A1B2C3D4'); {hint}")
    voucher = None
    if _check(world, "voucher", match.group(1), 4) == match.group(2):
        voucher = world.state.get(("voucher", wanted))
    if voucher is None:
        raise ToolError(f"no voucher {code!r}; {hint}")
    if voucher["status"] != "active":
        raise ToolError(
            f"voucher {wanted} was already used (order {voucher['used_in']}); a voucher pays "
            "for one purchase"
        )
    return voucher


def _issue_voucher(world: TicketWorld, amount: float, issued_for: str) -> str:
    """A new store-credit voucher of ``amount``: the first of an amount has its v2 code (the
    amount, signed); the n-th has n encoded above the amount."""
    cents = round(amount * 100)
    counter = ("#made", "voucher", str(cents))
    made = world.state.get(counter, 0)
    world.state.put(counter, made + 1)
    code = f"CR-{_token(world, 'voucher', made << _VOUCHER_BITS | cents)}"
    world.state.put(
        ("voucher", code),
        {
            "voucher_code": code,
            "amount": _money(amount),
            "status": "active",
            "issued_for": issued_for,
            "used_in": None,
        },
    )
    return code


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
    taken: dict[str, int] = {}
    for key, hold in world.state.scan("hold", listing["listing_id"]):
        taken[key[2]] = taken.get(key[2], 0) + hold["quantity"]
    options = [
        {**section, "available": section["available"] - taken.get(section["section"], 0)}
        for section in listing["_sections"]
    ]
    return {**_public(listing), "options": options, "currency": "USD"}


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
    holds = [hold for _, hold in world.state.scan("hold", listing["listing_id"], chosen["section"])]
    free = chosen["available"] - sum(hold["quantity"] for hold in holds)
    if quantity > free:
        raise ToolError(f"only {free} seats left in {chosen['section']}")
    base = listing["_payload"] << 5 | position << 3 | quantity - 1
    taken = {seat for hold in holds for seat in hold["seats"]}
    repeat = sum(hold["quantity"] == quantity for hold in holds)
    hold_id = f"HLD-{_token(world, 'hold', repeat << _HOLD_BITS | base)}"
    item = _item(world, listing, position, quantity, _allocate(world, base, taken))
    world.state.put(
        ("hold", listing["listing_id"], chosen["section"], hold_id),
        {"hold_id": hold_id, **item, "status": "held", "order_id": None},
    )
    return {
        "hold_id": hold_id,
        **item,
        "total_price": _money(item["subtotal"] + item["fees"]),
        "currency": "USD",
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

    A hold can be bought once; a voucher pays for one purchase (credit it leaves comes back
    as a new voucher).

    Args:
        hold_ids: One to four hold_ids returned by hold_tickets.
        buyer_name: Full name of the buyer.
        email: Where to send the tickets.
        voucher_code: Optional store-credit code from request_ticket_refund, e.g. "CR-0A1B2C3D4".
    """
    if not 1 <= len(hold_ids) <= MAX_HOLDS:
        raise ToolError(f"an order takes 1 to {MAX_HOLDS} hold_ids, got {len(hold_ids)}")
    found: dict[str, tuple[Key, dict[str, Any]]] = {}
    for hold_id in hold_ids:
        key, hold = _find_hold(world, hold_id)
        if hold["hold_id"] in found:
            raise ToolError(f"hold {hold_id!r} is listed twice")
        if hold["status"] != "held":
            raise ToolError(
                f"hold {hold['hold_id']} was already bought (order {hold['order_id']}); hold "
                "the seats again to buy more"
            )
        found[hold["hold_id"]] = (key, hold)
    buyer = _name(buyer_name, "buyer_name")
    address = email.strip()
    if not _EMAIL.match(address):
        raise ToolError(f"invalid email {email!r}; use an address like 'name@example.com'")
    voucher = _find_voucher(world, voucher_code) if voucher_code else None
    # every check passed: the order is paid, its holds and its voucher are used up
    ids = list(found)
    items = [
        {name: value for name, value in hold.items() if name not in _HOLD_ONLY}
        for _, hold in found.values()
    ]
    order_id = _order_id(world, ids, buyer, address)
    credit = voucher["amount"] if voucher else 0.0
    order = _order_record(
        order_id, buyer, address, ids, items, voucher and voucher["voucher_code"], credit
    )
    for key, hold in found.values():
        world.state.put(key, {**hold, "status": "purchased", "order_id": order_id})
    response: dict[str, Any] = {
        "order_id": order_id,
        "status": "confirmed",
        "buyer_name": buyer,
        "email": address,
        "items": items,
        "subtotal": order["subtotal"],
        "fees": order["fees"],
        "total": order["total"],
        "credit_applied": order["credit_applied"],
        "total_charged": order["total_charged"],
        "remaining_credit": _money(credit - order["credit_applied"]),
        "currency": "USD",
        "delivery": "mobile tickets by email",
    }
    if voucher:
        code = voucher["voucher_code"]
        world.state.put(("voucher", code), {**voucher, "status": "used", "used_in": order_id})
        if response["remaining_credit"] > 0:
            response["remaining_voucher_code"] = _issue_voucher(
                world, response["remaining_credit"], order_id
            )
    world.state.put(("order", order_id), order)
    return response


@tool(latency=1, canonical={"order_id": "symbol"})
def get_ticket_order_status(world: TicketWorld, order_id: str) -> dict[str, Any]:
    """Get the status of a ticket order: its items, total and until when it is fully refundable.

    Args:
        order_id: An order_id returned by purchase_tickets.
    """
    order = _find_order(world, order_id)
    first_day = min(_offset(world, item["date"]) for item in order["items"])
    deadline = dt.date.fromordinal(world.today + 1 + first_day - FULL_REFUND_DAYS)
    today = dt.date.fromordinal(world.today)
    response: dict[str, Any] = {
        "order_id": order["order_id"],
        "status": order["status"],
        "tickets": order["tickets"],
        "items": order["items"],
        "total": order["total"],
        "currency": "USD",
        "full_refund_until": deadline.isoformat() if deadline >= today else None,
    }
    if order["refund"] is not None:
        response["refund"] = order["refund"]
    return response


def _offset(world: TicketWorld, date: str) -> int:
    """Offset of a day in the sale window (0 is tomorrow)."""
    return dt.date.fromisoformat(date).toordinal() - world.today - 1


@tool(latency=2, writes=True, canonical={"order_id": "symbol"})
def request_ticket_refund(
    world: TicketWorld, order_id: str, as_store_credit: bool = False
) -> dict[str, Any]:
    """Refund an order: the ticket price in full until 7 days before the date, 50% after that.

    Service fees are not refunded. As store credit, the refund comes as a voucher code that
    purchase_tickets accepts. An order is refunded once (its tickets are cancelled).

    Args:
        order_id: An order_id returned by purchase_tickets.
        as_store_credit: True to get a store-credit voucher instead of money back.
    """
    order = _find_order(world, order_id)
    if order["refund"] is not None:
        raise ToolError(
            f"order {order['order_id']} was already refunded ({order['refund']['refund_id']}); "
            "an order is refunded once"
        )
    lines, amount = [], 0.0
    for item in order["items"]:
        days_left = _offset(world, item["date"]) + 1
        percent = 100 if days_left >= FULL_REFUND_DAYS else 50
        refund = _money(item["subtotal"] * percent / 100)
        amount += refund
        lines.append({"listing_id": item["listing_id"], "percent": percent, "amount": refund})
    amount = _money(amount)
    # every check passed: the order is refunded
    response: dict[str, Any] = {
        "refund_id": world.state.new_id("RFD", world.seed, order["order_id"], as_store_credit),
        "order_id": order["order_id"],
        "status": "approved",
        "amount": amount,
        "currency": "USD",
        "items": lines,
        "method": "store credit" if as_store_credit else "original payment method",
    }
    if as_store_credit:
        response["voucher_code"] = _issue_voucher(world, amount, order["order_id"])
    order["refund"] = {
        key: response[key]
        for key in ("refund_id", "amount", "method", "voucher_code")
        if key in response
    }
    order["status"] = "credited" if as_store_credit else "refunded"
    order["tickets"] = "cancelled"
    world.state.put(("order", order["order_id"]), order)
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
_DOMAINS: tuple[str, ...] = ("example.com", "mail.example.org", "inbox.example.net")


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _buyer(rng: np.random.Generator) -> tuple[str, str]:
    name = _choice(rng, _BUYERS)
    first, last = name.replace("'", "").lower().split()
    domain = _choice(rng, _DOMAINS)
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
    """Refund as credit while finding new seats; the purchase joins both (4 steps).

    The refunded order is one the seed says was sold before today (a call can only refund
    an order that exists): the one of a random section of a random event. The new tickets
    are for its buyer.
    """
    old = _random_event(world, rng)
    listing = _find_listing(world, old["listing_id"])
    past = _past_order(world, listing, int(rng.integers(len(listing["_sections"]))))
    buyer, email, order = past["buyer_name"], past["email"], past["order_id"]
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
) -> tuple[StepSpec, str, str] | None:
    """After a train search: the second train's fares, asking for free seats.

    A hold takes seats out of sale, so this read must be of a train the task holds no seats
    on (else the answer would depend on whether it comes before or after the hold, which
    no dependency orders). The second train (``trips.1``) is one: night_out and the return
    search of round_trip_train (the train searches that are not a task's first step) hold
    seats on the first train. A task's first step may be train_ticket's search, which holds
    seats on any train of the day, so it is not followed.
    """
    if index == 0:
        return None
    search = followed.arguments
    return (
        StepSpec("list_ticket_options", {"listing_id": f"${{s{index}.trips.1.listing_id}}"}),
        f"Then list the fares of the second train from {search['origin']} to "
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
