"""Travel Planning: search and book flights and hotels, convert prices, check the weather.

The world
---------
A :class:`TravelWorld` is tiny on purpose (a task bank builds hundreds of them): the six
cities it serves (drawn from :data:`CITIES`), a 28-day window of bookable dates, the
exchange rates of the day (units per US dollar) and a ``seed``. Everything else (the three
daily flights of each route, the four hotels of each city, the forecast of each city and
day) is *not stored*: it is a pure function of ``seed`` and the request, derived from a hash
(:func:`_digest`). So building a world costs about ten microseconds, and a response depends
only on the world and the arguments.

The tools
---------
==================== ======= =========================================================
``search_flights``    1       flights of a route on a day, cheapest first (USD)
``book_flight``       2       books a ``flight_id`` returned by ``search_flights``
``search_hotels``     1       hotels of a city for a stay, cheapest first (local money)
``book_hotel``        2       reserves a ``hotel_id`` returned by ``search_hotels``
``convert_currency``  1       converts an amount at the world's rates (2 decimals)
``get_weather``       0       forecast of a city on a day
``create_itinerary``  1       saves a titled list of items (booking ids, notes)
==================== ======= =========================================================

(the middle column is the declared latency in rounds: lookups 1, bookings 2, the forecast
answers on the next turn.)

State
-----
What the seed says (cities, schedules, fares, hotels, rates, forecasts) is derived on demand
and never stored. What *you* do is kept in the world's
:class:`~asynctool_env.core.state.WorldState`, one object per thing:

* ``("booking", flight_id, BK-id)``: every seat you book (passenger, flight, fare), under
  the flight it is on;
* ``("reservation", hotel_id, HR-id)``: every hotel reservation (guest, stay, price), under
  its hotel, and ``("room_night", hotel_id, date, HR-id)`` for each night it holds a room;
* ``("itinerary", IT-id)``: every itinerary you save (title and items).

Reads see them: ``search_flights`` marks each flight you hold seats on with
``your_bookings`` (its booking ids), ``search_hotels`` marks each hotel where a reservation
of yours holds a room on a night of the searched stay with ``your_reservations``. Neither
shows a field when nothing was booked, so a search before any booking answers what it always
answered. A flight or hotel id is *decodable* (``AZ412-0614`` names its flight number, which
encodes the route, and its day; ``HTL-PAR2A9F`` its city, slot and a check code): it names
something of the seed, which a booking validates by recomputing the search.

New ids come from the content and the number of identical objects made before
(:meth:`~asynctool_env.core.state.WorldState.new_id`): the first booking of a flight for a
passenger has the id it always had, and booking the same flight for the same passenger again
is a second booking with a new id (the same for reservations and itineraries). Names and
titles are stored with single spaces, dates as ``YYYY-MM-DD``.

Keys keep independent tasks apart: a flight search reads only the bookings of the three
flights it lists, a hotel search only the room nights of its stay in its city's hotels, and
bookings never read each other, so two tasks conflict only when one books what the other
searches (the same flight, or the same hotel on an overlapping night). Ids that a later step
needs (flight ids, hotel ids, booking ids) carry world-specific parts, so they are only
learnt from the earlier response.

The templates
-------------
==================== ===== ==============================================================
``cheapest_flight``   2     search_flights -> book_flight (a chain)
``hotel_in_currency`` 3     search_hotels -> book_hotel -> convert_currency (a chain)
``trip``              6     three independent lookups (flights, hotels, weather); each
                            search feeds its booking; the itinerary joins both bookings
``round_trip``        5     outbound and return searches in parallel, each booked, then
                            an itinerary joining both bookings (a diamond)
``weather_and_cash``  2     get_weather and convert_currency, independent
``warmer_city``       2     two independent forecasts; the answer is the warmer city
``known_flight``      2     book a flight *given by id* -> an itinerary holding its booking
                            id (a chain; the id is a constant that a lookup can reveal)
==================== ===== ==============================================================

Evolution hooks
---------------
Lookups: a constant ``flight_id`` is revealed by ``search_flights`` of its route and day
(the id decodes to both), a constant ``hotel_id`` by ``search_hotels`` of its city.
Follow-ups: after ``search_flights``, book its cheapest flight for another traveller (the
sentence names the route and day); after ``book_hotel``, convert its total into a currency
that no city of the world prices in (so never the one it is already in) and give the amount.
Side steps: a forecast (its condition) or a currency conversion (its amount) of the world's
cities and rates. Each sentence asks for the value the answer then requires. The booking
follow-up makes a booking of its own (another traveller, keyed apart), so it commutes with
the task's other bookings whichever comes first. There is no follow-up after
``book_flight``: a booking's destination and day are in every instruction that searches
them, so a forecast there would not need to wait for it, and a rule cannot name one of a
round trip's two bookings unambiguously.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asynctool_env.core.canonical import canon
from asynctool_env.core.scenario import (
    FollowUpRule,
    LookupRule,
    Scenario,
    SideStepRule,
    StepSpec,
    TaskSpec,
    world_digest,
)
from asynctool_env.core.state import WorldState
from asynctool_env.core.tools import ToolError, tool


@dataclass(frozen=True)
class City:
    """A city the world may serve (static data, the same in every world)."""

    name: str
    code: str
    currency: str
    lat: float
    lon: float
    high_c: int  # typical daytime high in the booking season
    hotel_usd: int  # typical nightly price of a mid-range hotel, in US dollars


#: Cities a world draws its six from.
CITIES: tuple[City, ...] = (
    City("Paris", "PAR", "EUR", 48.86, 2.35, 25, 170),
    City("Rome", "ROM", "EUR", 41.90, 12.50, 30, 150),
    City("Berlin", "BER", "EUR", 52.52, 13.40, 24, 120),
    City("London", "LON", "GBP", 51.51, -0.13, 23, 190),
    City("Madrid", "MAD", "EUR", 40.42, -3.70, 32, 130),
    City("Zurich", "ZRH", "CHF", 47.37, 8.54, 24, 210),
    City("Tokyo", "TYO", "JPY", 35.68, 139.69, 30, 160),
    City("New York", "NYC", "USD", 40.71, -74.01, 29, 240),
    City("Toronto", "YTO", "CAD", 43.65, -79.38, 26, 170),
    City("Singapore", "SIN", "SGD", 1.35, 103.82, 31, 200),
    City("Sydney", "SYD", "AUD", -33.87, 151.21, 17, 180),
    City("Mexico City", "MEX", "MXN", 19.43, -99.13, 24, 110),
)
_CITY_BY_CODE: dict[str, City] = {city.code: city for city in CITIES}

#: Reference exchange rates, units per US dollar; each world jitters them by up to 3%.
BASE_RATES: dict[str, float] = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "CHF": 0.89,
    "JPY": 151.0,
    "CAD": 1.36,
    "SGD": 1.35,
    "AUD": 1.52,
    "MXN": 17.1,
}
_RATES = tuple(BASE_RATES.items())
#: Rounding unit of prices in each currency (nobody quotes 17,384 yen a night).
_PRICE_UNIT: dict[str, int] = {"JPY": 100, "MXN": 10}

_CARRIERS: tuple[tuple[str, str], ...] = (
    ("AF", "Air France"),
    ("LH", "Lufthansa"),
    ("BA", "British Airways"),
    ("AZ", "ITA Airways"),
    ("IB", "Iberia"),
    ("LX", "Swiss"),
    ("JL", "Japan Airlines"),
    ("AA", "American Airlines"),
    ("AC", "Air Canada"),
    ("SQ", "Singapore Airlines"),
    ("QF", "Qantas"),
    ("AM", "Aeromexico"),
)
_CARRIER_NAMES: dict[str, str] = dict(_CARRIERS)
_HOTEL_NAMES: tuple[str, ...] = (
    "Grand Hotel {city}",
    "Hotel Central",
    "{city} Plaza",
    "Riverside Inn",
    "The Station Hotel",
    "Old Town Suites",
    "Budget Stay {city}",
    "Park View Hotel",
)
_CONDITIONS: tuple[tuple[str, int, int], ...] = (
    # condition, change to the typical high, base chance of precipitation (%)
    ("sunny", 2, 0),
    ("partly cloudy", 0, 10),
    ("cloudy", -1, 20),
    ("light rain", -3, 60),
    ("thunderstorms", -2, 80),
    ("windy", -1, 10),
)

FLIGHTS_PER_ROUTE = 3
HOTELS_PER_CITY = 4
WINDOW_DAYS = 28
MAX_NIGHTS = 14
_FIRST_DAY = dt.date(2025, 6, 2).toordinal()
_FLIGHT_ID = re.compile(r"^([A-Z]{2})(\d{3})-(\d{4})$")
_HOTEL_ID = re.compile(r"^HTL-([A-Z]{3})(\d)([0-9A-F]{3})$")
_DAY = canon("date")


@dataclass(frozen=True)
class TravelWorld:
    """The state the travel tools work on (see the module docstring).

    Attributes:
        seed: Seeds every derived detail (schedules, prices, hotels, forecasts).
        cities: Codes of the six served cities, in the world's order.
        first_day: Ordinal (:meth:`datetime.date.toordinal`) of the first bookable day;
            the window is :data:`WINDOW_DAYS` days long.
        rates: Exchange rates of the day, units per US dollar (read-only by convention; a
            plain dict so that worlds pickle, e.g. into vectorised environments).
        flight_base: Lowest flight number; route ``p`` slot ``k`` flies as
            ``flight_base + 3 * p + k``.
        state: What was booked and saved (see *State* in the module docstring).
    """

    seed: int
    cities: tuple[str, ...]
    first_day: int
    rates: Mapping[str, float]
    flight_base: int
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)

    @property
    def dates(self) -> tuple[str, str]:
        """First and last bookable day, ISO formatted."""
        first = dt.date.fromordinal(self.first_day)
        return first.isoformat(), (first + dt.timedelta(days=WINDOW_DAYS - 1)).isoformat()

    def city_names(self) -> list[str]:
        """Names of the served cities, in the world's order."""
        return [_CITY_BY_CODE[code].name for code in self.cities]


def make_world(rng: np.random.Generator) -> TravelWorld:
    """A world drawn from ``rng`` only: six cities, a date window, rates, seeds."""
    draws = rng.random(len(CITIES) + len(_RATES) + 3).tolist()
    order = sorted(range(len(CITIES)), key=draws.__getitem__)[:6]
    jitter = draws[len(CITIES) : len(CITIES) + len(_RATES)]
    rates = {
        code: rate * (0.97 + 0.06 * draw) for (code, rate), draw in zip(_RATES, jitter, strict=True)
    }
    rates["USD"] = 1.0  # the reference currency
    return TravelWorld(
        seed=int(draws[-1] * 2**52),
        cities=tuple([CITIES[i].code for i in order]),
        first_day=_FIRST_DAY + int(draws[-2] * 60),
        rates=rates,
        flight_base=100 + int(draws[-3] * 800),
    )


# -- pure helpers ---------------------------------------------------------------------------


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=32)


def _city(world: TravelWorld, name: str, role: str = "city") -> City:
    wanted = " ".join(name.split()).casefold()
    for code in world.cities:
        city = _CITY_BY_CODE[code]
        if wanted in (city.name.casefold(), code.casefold()):
            return city
    raise ToolError(
        f"unknown {role} {name!r}; this service covers: {', '.join(world.city_names())}"
    )


def _date(world: TravelWorld, value: str, role: str = "date") -> dt.date:
    try:  # any spelling the tools' "date" declaration calls equal (20250614, ...T00:00)
        day = dt.date.fromisoformat(_DAY.apply(value))
    except ValueError:
        raise ToolError(f"{role} {value!r} is not a date; use YYYY-MM-DD") from None
    if not 0 <= day.toordinal() - world.first_day < WINDOW_DAYS:
        first, last = world.dates
        raise ToolError(f"{role} {day.isoformat()} is outside the bookable window {first}..{last}")
    return day


def _nights(nights: int) -> int:
    if not 1 <= nights <= MAX_NIGHTS:
        raise ToolError(f"nights must be between 1 and {MAX_NIGHTS}, got {nights}")
    return nights


def _name(value: str, role: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise ToolError(f"{role} must not be empty")
    return cleaned


def _stay_nights(day: dt.date, nights: int) -> list[str]:
    """The nights of a stay, by their date (check-out day excluded)."""
    return [(day + dt.timedelta(days=n)).isoformat() for n in range(nights)]


def _distance_km(a: City, b: City) -> float:
    """Great-circle distance (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(h))


def _clock(minutes: int) -> str:
    days, minutes = divmod(minutes, 24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}" + (f"+{days}" if days else "")


def _flights(world: TravelWorld, origin: City, destination: City, day: dt.date) -> list[dict]:
    """The route's flights of ``day``, cheapest first (prices distinct)."""
    i, j = world.cities.index(origin.code), world.cities.index(destination.code)
    route = i * (len(world.cities) - 1) + (j if j < i else j - 1)
    schedule = _digest(world.seed, "route", origin.code, destination.code)
    fares = _digest(world.seed, "fare", origin.code, destination.code, day.toordinal())
    km = _distance_km(origin, destination)
    duration = 5 * round((40 + km / 800 * 60) / 5)
    flights = []
    for slot in range(FLIGHTS_PER_ROUTE):
        carrier = _CARRIERS[schedule[slot] % len(_CARRIERS)][0]
        depart = 6 * 60 + 15 * ((schedule[3 + slot] % 64 + 20 * slot) % 64)  # 06:00..21:45
        price = round((40 + 0.09 * km) * (0.75 + 0.85 * fares[slot] / 255))
        flights.append(
            {
                "flight_id": f"{carrier}{world.flight_base + 3 * route + slot}-"
                f"{day.month:02d}{day.day:02d}",
                "airline": _CARRIER_NAMES[carrier],
                "origin": origin.name,
                "destination": destination.name,
                "date": day.isoformat(),
                "depart": _clock(depart),
                "arrive": _clock(depart + duration),
                "duration_min": duration,
                "price": price,
                "currency": "USD",
            }
        )
    flights.sort(key=lambda flight: (flight["price"], flight["flight_id"]))
    for before, after in itertools.pairwise(flights):
        if after["price"] <= before["price"]:  # keep "the cheapest" unambiguous
            after["price"] = before["price"] + 1
    return flights


def _hotels(world: TravelWorld, city: City) -> list[dict]:
    """The city's hotels with nightly prices (local currency), cheapest first."""
    bits = _digest(world.seed, "hotels", city.code)
    unit = _PRICE_UNIT.get(city.currency, 1)
    rate = world.rates[city.currency]
    hotels = []
    for slot in range(HOTELS_PER_CITY):
        stars = 2 + bits[slot] % 4
        usd = city.hotel_usd * (0.55 + 0.25 * stars) * (0.85 + 0.35 * bits[4 + slot] / 255)
        check = f"{bits[8 + slot] * 16 + bits[12 + slot] % 16:03X}"
        hotels.append(
            {
                "hotel_id": f"HTL-{city.code}{slot}{check}",
                "name": _HOTEL_NAMES[(bits[16] + 3 * slot) % len(_HOTEL_NAMES)].format(
                    city=city.name
                ),
                "stars": stars,
                "nightly_price": max(unit, unit * round(usd * rate / unit)),
                "currency": city.currency,
            }
        )
    hotels.sort(key=lambda hotel: (hotel["nightly_price"], hotel["hotel_id"]))
    for before, after in itertools.pairwise(hotels):
        if after["nightly_price"] <= before["nightly_price"]:
            after["nightly_price"] = before["nightly_price"] + unit
    return hotels


def _find_flight(world: TravelWorld, flight_id: str) -> dict:
    hint = "use a flight_id returned by search_flights"
    match = _FLIGHT_ID.match(flight_id.strip().upper())
    if match is None:
        raise ToolError(f"malformed flight_id {flight_id!r} (like 'AZ412-0614'); {hint}")
    carrier, number, mmdd = match.groups()
    n = len(world.cities)
    route = (int(number) - world.flight_base) // FLIGHTS_PER_ROUTE
    try:  # every window lies within one year (June to August)
        day = dt.date(dt.date.fromordinal(world.first_day).year, int(mmdd[:2]), int(mmdd[2:]))
    except ValueError:
        raise ToolError(f"no flight {flight_id!r}: {mmdd} is not a date; {hint}") from None
    if not 0 <= day.toordinal() - world.first_day < WINDOW_DAYS:
        raise ToolError(f"no flight {flight_id!r}: its date is outside the window; {hint}")
    if carrier not in _CARRIER_NAMES or not 0 <= route < n * (n - 1):
        raise ToolError(f"no flight {flight_id!r}; {hint}")
    i, j = divmod(route, n - 1)
    j += j >= i
    origin, destination = _CITY_BY_CODE[world.cities[i]], _CITY_BY_CODE[world.cities[j]]
    for flight in _flights(world, origin, destination, day):
        if flight["flight_id"] == match.group(0):
            return flight
    raise ToolError(f"no flight {flight_id!r}; {hint}")


def _find_hotel(world: TravelWorld, hotel_id: str) -> tuple[City, dict]:
    hint = "use a hotel_id returned by search_hotels"
    match = _HOTEL_ID.match(hotel_id.strip().upper())
    if match is None:
        raise ToolError(f"malformed hotel_id {hotel_id!r} (like 'HTL-PAR2A9F'); {hint}")
    if match.group(1) in world.cities:
        city = _CITY_BY_CODE[match.group(1)]
        for hotel in _hotels(world, city):
            if hotel["hotel_id"] == match.group(0):
                return city, hotel
    raise ToolError(f"no hotel {hotel_id!r}; {hint}")


# -- tools ----------------------------------------------------------------------------------


@tool(latency=1, canonical={"origin": "keyword", "destination": "keyword", "date": "date"})
def search_flights(world: TravelWorld, origin: str, destination: str, date: str) -> dict[str, Any]:
    """Search the flights of a route on a given day, cheapest first (prices in USD).

    Args:
        origin: Departure city name, e.g. "Paris".
        destination: Arrival city name, e.g. "Rome".
        date: Day of departure, YYYY-MM-DD.
    """
    source = _city(world, origin, "origin")
    target = _city(world, destination, "destination")
    if source == target:
        raise ToolError("origin and destination must be different cities")
    day = _date(world, date)
    flights = _flights(world, source, target, day)
    for flight in flights:  # the seats you hold on each flight
        booked = [key[-1] for key, _ in world.state.scan("booking", flight["flight_id"])]
        if booked:
            flight["your_bookings"] = booked
    return {
        "origin": source.name,
        "destination": target.name,
        "date": day.isoformat(),
        "flights": flights,
    }


@tool(latency=2, writes=True, canonical={"flight_id": "symbol", "passenger": "name"})
def book_flight(world: TravelWorld, flight_id: str, passenger: str) -> dict[str, Any]:
    """Book one seat on a flight found by search_flights.

    Args:
        flight_id: A flight_id returned by search_flights, e.g. "AZ412-0614".
        passenger: Full name of the traveller.
    """
    flight = _find_flight(world, flight_id)
    traveller = _name(passenger, "passenger")
    booking_id = world.state.new_id("BK", world.seed, flight["flight_id"], traveller)
    booking = {
        "booking_id": booking_id,
        "status": "confirmed",
        "passenger": traveller,
        **{key: flight[key] for key in ("flight_id", "origin", "destination", "date")},
        **{key: flight[key] for key in ("depart", "arrive", "price", "currency")},
    }
    world.state.put(("booking", flight["flight_id"], booking_id), booking)
    return booking


@tool(latency=1, canonical={"city": "keyword", "check_in": "date"})
def search_hotels(world: TravelWorld, city: str, check_in: str, nights: int) -> dict[str, Any]:
    """Search the hotels of a city for a stay, cheapest first (prices in local currency).

    Args:
        city: City name, e.g. "Tokyo".
        check_in: Day of arrival, YYYY-MM-DD.
        nights: Number of nights, 1 to 14.
    """
    place = _city(world, city)
    day = _date(world, check_in, "check_in")
    stay = _nights(nights)
    hotels = [
        {**hotel, "total_price": hotel["nightly_price"] * stay} for hotel in _hotels(world, place)
    ]
    for hotel in hotels:  # your reservations holding a room on a night of this stay
        held = {
            key[-1]
            for night in _stay_nights(day, stay)
            for key, _ in world.state.scan("room_night", hotel["hotel_id"], night)
        }
        if held:
            hotel["your_reservations"] = sorted(held)
    return {
        "city": place.name,
        "check_in": day.isoformat(),
        "check_out": (day + dt.timedelta(days=stay)).isoformat(),
        "nights": stay,
        "hotels": hotels,
    }


@tool(latency=2, writes=True, canonical={"hotel_id": "symbol", "guest": "name", "check_in": "date"})
def book_hotel(
    world: TravelWorld, hotel_id: str, guest: str, check_in: str, nights: int
) -> dict[str, Any]:
    """Reserve a room in a hotel found by search_hotels.

    Args:
        hotel_id: A hotel_id returned by search_hotels, e.g. "HTL-PAR2A9F".
        guest: Full name of the guest.
        check_in: Day of arrival, YYYY-MM-DD.
        nights: Number of nights, 1 to 14.
    """
    city, hotel = _find_hotel(world, hotel_id)
    name = _name(guest, "guest")
    day = _date(world, check_in, "check_in")
    stay = _nights(nights)
    reservation_id = world.state.new_id(
        "HR", world.seed, hotel["hotel_id"], name, day.isoformat(), stay
    )
    reservation = {
        "reservation_id": reservation_id,
        "status": "confirmed",
        "hotel_id": hotel["hotel_id"],
        "hotel_name": hotel["name"],
        "city": city.name,
        "guest": name,
        "check_in": day.isoformat(),
        "check_out": (day + dt.timedelta(days=stay)).isoformat(),
        "nights": stay,
        "nightly_price": hotel["nightly_price"],
        "total_price": hotel["nightly_price"] * stay,
        "currency": hotel["currency"],
    }
    world.state.put(("reservation", hotel["hotel_id"], reservation_id), reservation)
    for night in _stay_nights(day, stay):
        world.state.put(("room_night", hotel["hotel_id"], night, reservation_id), {"guest": name})
    return reservation


@tool(latency=1, canonical={"from_currency": "symbol", "to_currency": "symbol"})
def convert_currency(
    world: TravelWorld, amount: float, from_currency: str, to_currency: str
) -> dict[str, Any]:
    """Convert an amount of money at today's exchange rate, rounded to 2 decimals.

    Args:
        amount: The amount to convert (not negative).
        from_currency: ISO code of the amount's currency, e.g. "EUR".
        to_currency: ISO code of the wanted currency, e.g. "USD".
    """
    codes = []
    for code in (from_currency, to_currency):
        code = code.strip().upper()
        if code not in world.rates:
            raise ToolError(
                f"unknown currency {code!r}; supported: {', '.join(sorted(world.rates))}"
            )
        codes.append(code)
    if not math.isfinite(amount) or amount < 0:
        raise ToolError(f"amount must be a finite number >= 0, got {amount}")
    rate = world.rates[codes[1]] / world.rates[codes[0]]
    return {
        "amount": round(amount * rate, 2),
        "to_currency": codes[1],
        "from_amount": amount,
        "from_currency": codes[0],
        "rate": round(rate, 6),
    }


@tool(latency=0, canonical={"city": "keyword", "date": "date"})
def get_weather(world: TravelWorld, city: str, date: str) -> dict[str, Any]:
    """Get the weather forecast of a city for one day (temperatures in °C).

    Args:
        city: City name, e.g. "London".
        date: The day, YYYY-MM-DD.
    """
    place = _city(world, city)
    day = _date(world, date)
    bits = _digest(world.seed, "weather", place.code, day.toordinal())
    condition, delta, rain = _CONDITIONS[bits[0] % len(_CONDITIONS)]
    high = place.high_c + delta + bits[1] % 7 - 3
    return {
        "city": place.name,
        "date": day.isoformat(),
        "condition": condition,
        "high_c": high,
        "low_c": high - 5 - bits[2] % 6,
        "precipitation_chance": min(100, rain + bits[3] % 4 * 5),
    }


@tool(latency=1, writes=True, canonical={"title": "name", "items": "list:name"})
def create_itinerary(world: TravelWorld, title: str, items: list[str]) -> dict[str, Any]:
    """Save an itinerary: a title and an ordered list of items (bookings, notes).

    Args:
        title: Title of the itinerary, e.g. "Rome trip".
        items: One line per item, e.g. ["Flight BK-1A2B3C", "Hotel HR-4D5E6F"] (1 to 20).
    """
    name = _name(title, "title")
    lines = [" ".join(item.split()) for item in items]
    if not 1 <= len(lines) <= 20:
        raise ToolError(f"an itinerary needs 1 to 20 items, got {len(lines)}")
    if not all(lines):
        raise ToolError("itinerary items must not be empty")
    itinerary_id = world.state.new_id("IT", world.seed, name, lines)
    itinerary = {"itinerary_id": itinerary_id, "title": name, "items": lines}
    world.state.put(("itinerary", itinerary_id), itinerary)
    return {**itinerary, "n_items": len(lines)}


# -- templates ------------------------------------------------------------------------------

_TRAVELLERS: tuple[str, ...] = (
    "Ada Lovelace",
    "Alan Turing",
    "Grace Hopper",
    "Katherine Johnson",
    "Tim Berners-Lee",
    "Margaret Hamilton",
    "Claude Shannon",
    "Hedy Lamarr",
    "John von Neumann",
    "Barbara Liskov",
    "Edsger Dijkstra",
    "Radia Perlman",
)


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _two_cities(world: TravelWorld, rng: np.random.Generator) -> tuple[City, City]:
    n = len(world.cities)
    i = int(rng.integers(n))
    j = (i + 1 + int(rng.integers(n - 1))) % n
    return _CITY_BY_CODE[world.cities[i]], _CITY_BY_CODE[world.cities[j]]


def _day(world: TravelWorld, rng: np.random.Generator, room: int = 0) -> dt.date:
    """A bookable day that leaves ``room`` more bookable days after it."""
    return dt.date.fromordinal(world.first_day + int(rng.integers(WINDOW_DAYS - room)))


def _nights_word(nights: int) -> str:
    return f"{nights} night" + ("s" if nights > 1 else "")


def cheapest_flight(world: TravelWorld, rng: np.random.Generator) -> TaskSpec:
    """Search a route, book its cheapest flight (2 steps, a chain)."""
    origin, destination = _two_cities(world, rng)
    day = _day(world, rng).isoformat()
    passenger = _choice(rng, _TRAVELLERS)
    return TaskSpec(
        instruction=(
            f"Book the cheapest flight from {origin.name} to {destination.name} on {day} "
            f"for {passenger}, and tell me the booking id."
        ),
        steps=(
            StepSpec(
                "search_flights",
                {"origin": origin.name, "destination": destination.name, "date": day},
            ),
            StepSpec(
                "book_flight",
                {"flight_id": "${s0.flights.0.flight_id}", "passenger": passenger},
            ),
        ),
        answer="${s1.booking_id}",
    )


def hotel_in_currency(world: TravelWorld, rng: np.random.Generator) -> TaskSpec:
    """Book the cheapest hotel, then convert its total into another currency (3, chain)."""
    city = _CITY_BY_CODE[_choice(rng, world.cities)]
    nights = 1 + int(rng.integers(5))
    day = _day(world, rng).isoformat()
    guest = _choice(rng, _TRAVELLERS)
    target = _choice(rng, [code for code in world.rates if code != city.currency])
    return TaskSpec(
        instruction=(
            f"Reserve the cheapest hotel in {city.name} for {guest}, {_nights_word(nights)} "
            f"from {day}. Then convert the reservation's total price into {target} and tell "
            "me that amount."
        ),
        steps=(
            StepSpec("search_hotels", {"city": city.name, "check_in": day, "nights": nights}),
            StepSpec(
                "book_hotel",
                {
                    "hotel_id": "${s0.hotels.0.hotel_id}",
                    "guest": guest,
                    "check_in": day,
                    "nights": nights,
                },
            ),
            StepSpec(
                "convert_currency",
                {
                    "amount": "${s1.total_price}",
                    "from_currency": "${s1.currency}",
                    "to_currency": target,
                },
            ),
        ),
        answer="${s2.amount} ${s2.to_currency}",
    )


def trip(world: TravelWorld, rng: np.random.Generator) -> TaskSpec:
    """Fan-out / fan-in: three lookups, two bookings, one itinerary (6 steps).

    DAG: 0 -> 3, 1 -> 4, {3, 4} -> 5; step 2 (weather) only feeds the answer.
    """
    origin, destination = _two_cities(world, rng)
    nights = 2 + int(rng.integers(5))
    day = _day(world, rng).isoformat()
    traveller = _choice(rng, _TRAVELLERS)
    title = f"{traveller.split()[0]} in {destination.name}"
    return TaskSpec(
        instruction=(
            f"Plan {traveller}'s trip from {origin.name} to {destination.name} on {day}: "
            f"book the cheapest flight that day, book the cheapest hotel in "
            f"{destination.name} for {_nights_word(nights)} from {day}, and check the "
            f"weather in {destination.name} on {day}. Then create an itinerary titled "
            f'"{title}" with two items, "Flight <booking id>" and "Hotel <reservation id>". '
            "Tell me the itinerary id and the forecast condition."
        ),
        steps=(
            StepSpec(
                "search_flights",
                {"origin": origin.name, "destination": destination.name, "date": day},
            ),
            StepSpec(
                "search_hotels", {"city": destination.name, "check_in": day, "nights": nights}
            ),
            StepSpec("get_weather", {"city": destination.name, "date": day}),
            StepSpec(
                "book_flight",
                {"flight_id": "${s0.flights.0.flight_id}", "passenger": traveller},
            ),
            StepSpec(
                "book_hotel",
                {
                    "hotel_id": "${s1.hotels.0.hotel_id}",
                    "guest": traveller,
                    "check_in": day,
                    "nights": nights,
                },
            ),
            StepSpec(
                "create_itinerary",
                {
                    "title": title,
                    "items": ["Flight ${s3.booking_id}", "Hotel ${s4.reservation_id}"],
                },
            ),
        ),
        answer="${s5.itinerary_id} (${s2.condition})",
    )


def round_trip(world: TravelWorld, rng: np.random.Generator) -> TaskSpec:
    """Two searches in parallel, each booked, joined by an itinerary (5 steps, a diamond)."""
    origin, destination = _two_cities(world, rng)
    nights = 2 + int(rng.integers(6))
    out = _day(world, rng, room=nights)
    back = out + dt.timedelta(days=nights)
    passenger = _choice(rng, _TRAVELLERS)
    title = f"{origin.name} - {destination.name} round trip"
    return TaskSpec(
        instruction=(
            f"Book {passenger} the cheapest flight from {origin.name} to {destination.name} "
            f"on {out.isoformat()} and the cheapest flight back on {back.isoformat()}. Then "
            f'create an itinerary titled "{title}" with the items "Outbound <booking id>" '
            'and "Return <booking id>", and tell me its id.'
        ),
        steps=(
            StepSpec(
                "search_flights",
                {"origin": origin.name, "destination": destination.name, "date": out.isoformat()},
            ),
            StepSpec(
                "search_flights",
                {"origin": destination.name, "destination": origin.name, "date": back.isoformat()},
            ),
            StepSpec(
                "book_flight",
                {"flight_id": "${s0.flights.0.flight_id}", "passenger": passenger},
            ),
            StepSpec(
                "book_flight",
                {"flight_id": "${s1.flights.0.flight_id}", "passenger": passenger},
            ),
            StepSpec(
                "create_itinerary",
                {
                    "title": title,
                    "items": ["Outbound ${s2.booking_id}", "Return ${s3.booking_id}"],
                },
            ),
        ),
        answer="${s4.itinerary_id}",
    )


def weather_and_cash(world: TravelWorld, rng: np.random.Generator) -> TaskSpec:
    """A forecast and a conversion, independent of each other (2 steps)."""
    city = _CITY_BY_CODE[_choice(rng, world.cities)]
    day = _day(world, rng).isoformat()
    source = "EUR" if city.currency == "USD" else "USD"
    amount = 50 * (1 + int(rng.integers(10)))
    return TaskSpec(
        instruction=(
            f"I'll be in {city.name} on {day}. What weather condition is forecast there that "
            f"day, and how much is {amount} {source} in {city.currency}?"
        ),
        steps=(
            StepSpec("get_weather", {"city": city.name, "date": day}),
            StepSpec(
                "convert_currency",
                {"amount": amount, "from_currency": source, "to_currency": city.currency},
            ),
        ),
        answer="${s0.condition}, ${s1.amount} ${s1.to_currency}",
    )


def warmer_city(world: TravelWorld, rng: np.random.Generator) -> TaskSpec:
    """Two independent forecasts; the answer names the warmer city (2 steps)."""
    first, second = _two_cities(world, rng)
    day = _day(world, rng).isoformat()
    highs = [
        get_weather.function(world, city=city.name, date=day)["high_c"] for city in (first, second)
    ]
    answer = "same" if highs[0] == highs[1] else (first, second)[highs[1] > highs[0]].name
    return TaskSpec(
        instruction=(
            f"Which city will have the higher daytime temperature on {day}: {first.name} or "
            f"{second.name}? Check both forecasts and answer with the city's name (or "
            '"same" if the highs are equal).'
        ),
        steps=(
            StepSpec("get_weather", {"city": first.name, "date": day}),
            StepSpec("get_weather", {"city": second.name, "date": day}),
        ),
        answer=answer,
        options=(first.name, second.name, "same"),
    )


def known_flight(world: TravelWorld, rng: np.random.Generator) -> TaskSpec:
    """Book a flight given by id, then save an itinerary with its booking (2 steps, a chain).

    The itinerary takes the booking id, which only the booking's response holds, so the
    chain stays justified when a lookup replaces the flight id by a description of the flight
    (its route and day): a step that took the destination from the booking would not.
    """
    origin, destination = _two_cities(world, rng)
    day = _day(world, rng)
    flight = _choice(rng, _flights(world, origin, destination, day))
    passenger = _choice(rng, _TRAVELLERS)
    title = f"{passenger.split()[0]}'s flight"
    return TaskSpec(
        instruction=(
            f"Book {flight['flight_id']} for {passenger}, then create an itinerary titled "
            f'"{title}" with the single item "Flight <booking id>". Tell me the itinerary id.'
        ),
        steps=(
            StepSpec("book_flight", {"flight_id": flight["flight_id"], "passenger": passenger}),
            StepSpec("create_itinerary", {"title": title, "items": ["Flight ${s0.booking_id}"]}),
        ),
        answer="${s1.itinerary_id}",
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_flight(world: TravelWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant flight id -> search_flights of its route and day."""
    if not isinstance(value, str):
        return None
    try:
        flight = _find_flight(world, value)
    except ToolError:
        return None
    arguments = {key: flight[key] for key in ("origin", "destination", "date")}
    found = search_flights.function(world, **arguments)["flights"]
    index = [item["flight_id"] for item in found].index(flight["flight_id"])
    phrase = (
        f"the {flight['depart']} {flight['airline']} flight from {flight['origin']} to "
        f"{flight['destination']} on {flight['date']} (the one at {flight['price']} USD)"
    )
    return arguments, f"flights.{index}.flight_id", phrase


def _lookup_hotel(world: TravelWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant hotel id -> search_hotels of its city (any stay lists the same hotels)."""
    if not isinstance(value, str):
        return None
    try:
        city, hotel = _find_hotel(world, value)
    except ToolError:
        return None
    arguments = {"city": city.name, "check_in": world.dates[0], "nights": 1}
    found = search_hotels.function(world, **arguments)["hotels"]
    index = [item["hotel_id"] for item in found].index(hotel["hotel_id"])
    return arguments, f"hotels.{index}.hotel_id", f"the {hotel['name']} in {city.name}"


def _follow_book_cheapest(
    world: TravelWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """After a flight search: book its cheapest flight for another traveller (a write)."""
    passenger = _choice(rng, _TRAVELLERS)
    route = followed.arguments
    step = StepSpec(
        "book_flight",
        {"flight_id": f"${{s{index}.flights.0.flight_id}}", "passenger": passenger},
    )
    return step, (
        f"Then also book the cheapest flight from {route['origin']} to {route['destination']} "
        f"on {route['date']} for {passenger}."
    )


def _follow_hotel_total(
    world: TravelWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """After a hotel booking: its total in another currency (a read; asks for the amount).

    The hotel may be a reference this rule cannot see, so the target is a currency none of
    the world's cities prices in (there are always some: nine currencies, six cities): never
    the one the total is already in.
    """
    target = _choice(rng, sorted(world.rates))
    local = {_CITY_BY_CODE[code].currency for code in world.cities}
    if target in local:  # the same draw, moved onto a currency no hotel of the world uses
        foreign = sorted(set(world.rates) - local)
        target = foreign[sorted(world.rates).index(target) % len(foreign)]
    stay = followed.arguments
    step = StepSpec(
        "convert_currency",
        {
            "amount": f"${{s{index}.total_price}}",
            "from_currency": f"${{s{index}.currency}}",
            "to_currency": target,
        },
    )
    return (
        step,
        f"Then convert the total price of {stay['guest']}'s hotel reservation "
        f"({_nights_word(int(stay['nights']))} from {stay['check_in']}) into {target} and "
        "tell me the amount.",
        "amount",
    )


def _side_weather(world: TravelWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    city = _CITY_BY_CODE[_choice(rng, world.cities)]
    day = _day(world, rng).isoformat()
    step = StepSpec("get_weather", {"city": city.name, "date": day})
    return (
        step,
        f"Also check the weather forecast in {city.name} on {day} and tell me the condition.",
        "condition",
    )


def _side_currency(world: TravelWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    source, target = (str(code) for code in rng.permutation(sorted(world.rates))[:2])
    amount = 25 * (1 + int(rng.integers(40)))
    step = StepSpec(
        "convert_currency", {"amount": amount, "from_currency": source, "to_currency": target}
    )
    return step, f"Also convert {amount} {source} into {target} and tell me the amount.", "amount"


SCENARIO = Scenario(
    name="travel",
    category="Travel Planning",
    description=(
        "Search and book flights and hotels, convert prices between currencies, check "
        "forecasts and save itineraries."
    ),
    make_world=make_world,
    tools=(
        search_flights,
        book_flight,
        search_hotels,
        book_hotel,
        convert_currency,
        get_weather,
        create_itinerary,
    ),
    templates={
        "cheapest_flight": cheapest_flight,
        "hotel_in_currency": hotel_in_currency,
        "trip": trip,
        "round_trip": round_trip,
        "weather_and_cash": weather_and_cash,
        "warmer_city": warmer_city,
        "known_flight": known_flight,
    },
    lookups=(
        LookupRule("flight_id", "search_flights", _lookup_flight),
        LookupRule("hotel_id", "search_hotels", _lookup_hotel),
    ),
    follow_ups=(
        FollowUpRule("search_flights", _follow_book_cheapest),
        FollowUpRule("book_hotel", _follow_hotel_total),
    ),
    side_steps=(
        SideStepRule("weather", _side_weather),
        SideStepRule("currency", _side_currency),
    ),
)
