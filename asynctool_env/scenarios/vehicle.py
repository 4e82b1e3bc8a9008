"""Machine Operation: operate connected cars remotely (lock, start, charge, climate, route).

The world
---------
A :class:`VehicleWorld` is a connected-car service in one city (drawn from :data:`CITIES`):
six cars (three that can charge, electric or plug-in hybrid, and three with a combustion
engine, drawn from :data:`MODELS`), each with an owner, a licence plate and a world-specific
``VH-XXXXXX`` id, the city's destinations (airport, station, hospital...), the moment "now"
and a ``seed``. Each car's PIN, colour, year and state (battery or fuel level, lock, plug,
where it is parked, cabin temperature) and the position of every destination are fixed by
the world but not stored: they are a pure function of ``seed`` and the car or place,
derived from a hash (:func:`_state`, :func:`_places`), so a world costs about thirty
microseconds to build.

The tools
---------
========================== ======= ====================================================
``find_vehicle``            1       a car by licence plate or owner name
``authenticate_vehicle``    1       a session token for a car, given the owner's PIN
``get_vehicle_status``      1       battery/fuel, range, lock, plug, location, cabin
``set_vehicle_lock``        1       locks or unlocks the car (needs a session token)
``start_vehicle_engine``    2       remote engine start; returns an engine session id
``start_vehicle_charging``  2       starts charging to a target; returns a session id
``set_vehicle_climate``     1       cabin temperature, given an engine/charging session
``navigate_vehicle``        1       sends a destination; returns route id, distance, ETA
========================== ======= ====================================================

(the middle column is the declared latency in rounds: commands that wake the car's engine
or charger are slow, the others answer in one round.)

State
-----
What the seed says (cars, PINs, levels, where they are parked, places) is derived on demand
and never stored. What the commands change is kept in the world's
:class:`~asynctool_env.core.state.WorldState`, one object per part of a car, under
``("vehicle", VH-id, ...)``:

* ``(..., "lock")``: the doors as the last lock command left them (and its command id);
* ``(..., "engine")``: the engine session a remote start opened (its id, run time, stop
  time) and how many start requests it received;
* ``(..., "charging")``: the charging session (its id, target, estimated end) and how many
  start requests it received;
* ``(..., "climate")``: the cabin setting (target, defrost, the session powering it) and how
  many settings the car received;
* ``(..., "destination", RTE-id)``: each destination sent to the navigation. A car keeps the
  destinations it was sent side by side, like a real car's "sent to car" inbox from which
  the driver picks, so two destinations sent in either order leave the same car.

``get_vehicle_status`` sees them: ``locked`` follows the lock commands, and ``engine``,
``charging``, ``climate`` and ``navigation_destinations`` appear once a command set them
(a car nobody commanded answers as it always did). Time stands still in a world, so a
session started stays running.

What commands do with the car as it is, as a real connected-car API does:

* locking a locked car (or unlocking an unlocked one) completes again: a lock command is
  idempotent for the doors, but it is a new command with a new command id;
* a car runs one engine session and one charging session at a time. Starting the engine
  while it runs (or charging while the car charges) starts nothing new, as a real car
  reports "already running": the response is the running session with
  ``already_running: true``, whatever run time or target the repeat asked for, and the
  session's count of start requests goes up (so a repeated command shows in the state).
  The engine and the charger are independent: a plug-in hybrid may run its engine while it
  charges (as e.g. a plugged-in Chevrolet Volt does on remote start), so neither refuses
  the other;
* ``set_vehicle_climate`` needs the session that is running now (a session id is a signed
  token the tool decodes, but it is only accepted once the state holds it); setting the same
  climate again is a second setting (its count goes up);
* logging in is a read: a session token is a signed credential (the car and a check
  computed from the world's seed, verified by recomputation), nothing is stored, and logging
  in twice gives the same token.

New command and route ids come from the content and the number of identical objects made
before (:meth:`~asynctool_env.core.state.WorldState.new_id`): the first lock command or route
of its kind has the id it always had, a repeat gets a new one. Keys keep tasks apart: two
tasks conflict only when they command the same part of the same car, or when one reads the
status of a car the other commands (the dataset never puts those together). Vehicle ids and
tokens are world-specific, so a later step can only learn them from an earlier response (the
PIN comes from the user, in words).

The templates
-------------
===================== ===== ================================================================
``remote_lock``        3     find_vehicle (plate) -> authenticate_vehicle -> set_vehicle_lock
``warm_up_car``        4     find_vehicle (owner) -> authenticate -> start_vehicle_engine ->
                             set_vehicle_climate (a chain)
``charge_ev``          4     find_vehicle -> authenticate_vehicle -> start_vehicle_charging
                             and set_vehicle_lock in parallel (fan-out)
``trip_ready``         5     find -> authenticate -> engine start or charging session and
                             navigate_vehicle in parallel (fan-out) -> set_vehicle_climate
``status_and_lock``    3     authenticate_vehicle (a vehicle id given in the instruction)
                             and get_vehicle_status of the same id in parallel (it needs no
                             login), then set_vehicle_lock after both (the status shows
                             the lock, so the instruction orders the check first)
``navigate_by_plate``  3     find_vehicle -> authenticate_vehicle -> navigate_vehicle (chain)
===================== ===== ================================================================

Evolution hooks
---------------
A constant ``vehicle_id`` can be revealed by ``find_vehicle`` on the car's plate (lookup).
Follow-ups (both writes): a login to a car that ``find_vehicle`` found can be followed by
sending another destination (it commutes with the template's one: destinations are kept
side by side; a login to a car the instruction names by id is not, since such a task may read
the car's status in parallel), and a climate setting by a second one with the defrost on
(the last setting wins, so the second waits for the first with an explicit order, as its
"Then" says). The side step asks for the range of the world's last car, which templates
never pick: a side step about a template's car would repeat its look-up, or state the id
that its login must wait for.
"""

from __future__ import annotations

import datetime as dt
import math
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
from asynctool_env.core.state import WorldState
from asynctool_env.core.tools import ToolError, tool


@dataclass(frozen=True)
class Model:
    """A car model (static data)."""

    make: str
    model: str
    powertrain: str  # "electric", "plug-in hybrid", "hybrid" or "gasoline"
    battery_kwh: float  # 0 when it cannot charge
    tank_l: int  # 0 when it has no engine
    range_km: int  # on a full battery and tank

    @property
    def chargeable(self) -> bool:
        return self.battery_kwh > 0

    @property
    def has_engine(self) -> bool:
        return self.tank_l > 0

    @property
    def name(self) -> str:
        return f"{self.make} {self.model}"


#: Car models a world draws its cars from (the first seven can charge).
MODELS: tuple[Model, ...] = (
    Model("Tesla", "Model 3", "electric", 75.0, 0, 500),
    Model("Hyundai", "Ioniq 5", "electric", 77.4, 0, 480),
    Model("Volkswagen", "ID.4", "electric", 82.0, 0, 450),
    Model("Ford", "Mustang Mach-E", "electric", 91.0, 0, 470),
    Model("Chevrolet", "Bolt EV", "electric", 65.0, 0, 400),
    Model("Toyota", "Prius Prime", "plug-in hybrid", 13.6, 43, 960),
    Model("BMW", "X5 xDrive50e", "plug-in hybrid", 25.7, 69, 780),
    Model("Toyota", "RAV4 Hybrid", "hybrid", 0.0, 55, 930),
    Model("Honda", "Civic", "gasoline", 0.0, 47, 720),
    Model("Subaru", "Outback", "gasoline", 0.0, 70, 850),
    Model("Mazda", "CX-5", "gasoline", 0.0, 56, 690),
    Model("Ford", "F-150", "gasoline", 0.0, 98, 900),
)
_CHARGEABLE = tuple(index for index, model in enumerate(MODELS) if model.chargeable)
_COMBUSTION = tuple(index for index, model in enumerate(MODELS) if not model.chargeable)


@dataclass(frozen=True)
class City:
    """A city the service may run in (static data)."""

    name: str
    lat: float
    lon: float
    streets: tuple[str, ...]


CITIES: tuple[City, ...] = (
    City("San Francisco", 37.7749, -122.4194, ("Valencia St", "Hayes St", "Clement St")),
    City("Austin", 30.2672, -97.7431, ("Congress Ave", "Lamar Blvd", "Guadalupe St")),
    City("Seattle", 47.6062, -122.3321, ("Pine St", "Fremont Ave N", "Rainier Ave S")),
    City("Denver", 39.7392, -104.9903, ("Colfax Ave", "Broadway", "Larimer St")),
    City("Boston", 42.3601, -71.0589, ("Beacon St", "Tremont St", "Boylston St")),
    City("Chicago", 41.8781, -87.6298, ("Halsted St", "Clark St", "Milwaukee Ave")),
    City("Portland", 45.5152, -122.6784, ("Hawthorne Blvd", "Alberta St", "Division St")),
    City("San Diego", 32.7157, -117.1611, ("India St", "Adams Ave", "Garnet Ave")),
)
#: Destinations of every city: (name, street pattern, nearest and farthest km from centre).
PLACES: tuple[tuple[str, str, int, int], ...] = (
    ("Airport", "Airport Blvd", 12, 25),
    ("Central Station", "Station Plaza", 1, 3),
    ("City Hall", "Civic Center Dr", 0, 2),
    ("Riverside Mall", "Riverside Dr", 4, 10),
    ("General Hospital", "Medical Center Way", 2, 7),
    ("Tech Park", "Innovation Way", 6, 15),
    ("University Campus", "College Ave", 3, 9),
    ("Lakeside Park", "Lakeshore Dr", 3, 12),
)
#: Templates send cars to the first destinations; follow-ups to the others.
_N_TEMPLATE_PLACES = 6
#: Owners a world draws from (first and last names are all distinct).
OWNERS: tuple[str, ...] = (
    "Alex Morgan",
    "Bianca Russo",
    "Chen Wei",
    "Dmitri Volkov",
    "Erin Walsh",
    "Farid Haddad",
    "Gabriela Souza",
    "Henrik Larsen",
    "Imani Brooks",
    "Jonah Feldman",
    "Keiko Tanaka",
    "Leila Farah",
    "Mason Reed",
    "Nadia Petrov",
    "Oscar Lindgren",
    "Paula Jimenez",
)
_COLORS: tuple[str, ...] = ("white", "black", "silver", "blue", "red", "grey", "green")
N_VEHICLES = 6
CHARGER_KW = 11.0  # home wall box
_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_B32_INDEX: dict[str, int] = {char: index for index, char in enumerate(_B32)}
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_TOKEN = re.compile(r"^VTK-([0-9A-Z]{2})([0-9A-Z]{10})$")
_SESSION = re.compile(r"^(ENG|CHG)-([0-9A-Z]{3})([0-9A-Z]{5})$")
_EPOCH = dt.datetime(2025, 6, 2, 6, 0)


@dataclass(frozen=True)
class VehicleWorld:
    """The state the vehicle tools work on (see the module docstring).

    Attributes:
        seed: Seeds every derived detail (PINs, car states, places, token checks).
        city: Index in :data:`CITIES` of the service's city.
        models: Index in :data:`MODELS` of each car's model.
        owners: Owner of each car (all distinct).
        plates: Licence plate of each car, like ``8KRT452``.
        vehicle_ids: ``VH-XXXXXX`` id of each car.
        now: Minutes after :data:`_EPOCH` at which the world stands.
        state: What the commands changed, per car (see *State* in the module docstring).
    """

    seed: int
    city: int
    models: tuple[int, ...]
    owners: tuple[str, ...]
    plates: tuple[str, ...]
    vehicle_ids: tuple[str, ...]
    now: int
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)


def make_world(rng: np.random.Generator) -> VehicleWorld:
    """A world drawn from ``rng`` only: a city, six cars with owners, plates and ids."""
    draws = rng.random(len(MODELS) + len(OWNERS) + 2 * N_VEHICLES + 3).tolist()
    by_draw = sorted(range(len(MODELS)), key=draws.__getitem__)
    chargeable = [i for i in by_draw if i in _CHARGEABLE][:3]
    combustion = [i for i in by_draw if i in _COMBUSTION][:3]
    base = len(MODELS)
    owners = sorted(range(len(OWNERS)), key=lambda i: draws[base + i])[:N_VEHICLES]
    base += len(OWNERS)
    codes = [int(value * 0xFFFFFF) for value in draws[base : base + N_VEHICLES]]
    while len(set(codes)) < len(codes):  # practically never
        codes = [(code + index) % 0xFFFFFF for index, code in enumerate(codes)]
    plates = []
    for position, value in enumerate(draws[base + N_VEHICLES : base + 2 * N_VEHICLES]):
        number = int(value * 10**9)
        letters = "".join(_LETTERS[number // 23**k % 23] for k in range(3))
        plates.append(f"{1 + position + number % 3}{letters}{number // 1000 % 1000:03d}")
    return VehicleWorld(
        seed=int(draws[-1] * 2**52),
        city=int(draws[-2] * len(CITIES)),
        models=(*chargeable, *combustion),
        owners=tuple(OWNERS[i] for i in owners),
        plates=tuple(plates),
        vehicle_ids=tuple(f"VH-{code:06X}" for code in codes),
        now=int(draws[-3] * 60 * 24 * 20),
    )


# -- pure helpers ---------------------------------------------------------------------------


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=32)


def _b32(value: int, width: int) -> str:
    return "".join(_B32[value >> 5 * (width - 1 - k) & 31] for k in range(width))


def _token(world: VehicleWorld, kind: str, value: int, width: int, check: int) -> str:
    """``KIND-<value, scrambled><check>``: the check proves the token came from this world."""
    mask = int.from_bytes(_digest(world.seed, "mask", kind)[:8], "big")
    body = _b32(value ^ mask & (1 << 5 * width) - 1, width)
    code = int.from_bytes(_digest(world.seed, "check", kind, body)[:8], "big")
    return f"{kind}-{body}{_b32(code, check)}"


def _untoken(world: VehicleWorld, kind: str, body: str) -> int | None:
    """The value a token body encodes, or ``None`` if it is not base-32."""
    if not all(char in _B32_INDEX for char in body):
        return None
    value = 0
    for char in body:
        value = value * 32 + _B32_INDEX[char]
    mask = int.from_bytes(_digest(world.seed, "mask", kind)[:8], "big")
    return value ^ mask & (1 << 5 * len(body)) - 1


def _model(world: VehicleWorld, index: int) -> Model:
    return MODELS[world.models[index]]


def _clock(world: VehicleWorld, minutes: float = 0) -> str:
    moment = _EPOCH + dt.timedelta(minutes=world.now + math.ceil(minutes))
    return moment.isoformat(timespec="minutes")


def _offset(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    """The point ``km`` from (lat, lon) towards ``bearing`` (radians), flat-earth accurate."""
    dlat = km * math.cos(bearing) / 111.2
    dlon = km * math.sin(bearing) / (111.2 * math.cos(math.radians(lat)))
    return round(lat + dlat, 5), round(lon + dlon, 5)


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    dlat, dlon = lat2 - lat1, math.radians(b[1] - a[1])
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(h))


def _places(world: VehicleWorld) -> list[dict[str, Any]]:
    """The city's destinations with addresses and coordinates (a pure function)."""
    city = CITIES[world.city]
    bits = _digest(world.seed, "places")
    places = []
    for n, (name, street, near, far) in enumerate(PLACES):
        km = near + (far - near) * bits[n] / 255
        lat, lon = _offset(city.lat, city.lon, km, 2 * math.pi * bits[8 + n] / 256)
        places.append(
            {"name": name, "address": f"{10 + bits[16 + n] * 7} {street}", "lat": lat, "lon": lon}
        )
    return places


def _state(world: VehicleWorld, index: int) -> dict[str, Any]:
    """A car's current state (a pure function of the world)."""
    model = _model(world, index)
    city = CITIES[world.city]
    bits = _digest(world.seed, "state", world.vehicle_ids[index])
    km = 0.5 + 7.5 * bits[0] / 255
    lat, lon = _offset(city.lat, city.lon, km, 2 * math.pi * bits[1] / 256)
    street = city.streets[bits[2] % len(city.streets)]
    state: dict[str, Any] = {
        "locked": bits[3] % 4 != 0,
        "location": {"address": f"{100 + bits[4] * 9} {street}", "lat": lat, "lon": lon},
        "odometer_km": 3000 + int.from_bytes(bits[5:7], "big") * 2,
        "cabin_temperature_c": 12 + bits[7] % 20,
        "doors": "closed",
    }
    battery = 15 + bits[8] % 61 if model.chargeable else 0  # 15% to 75%
    fuel = 10 + bits[9] % 86 if model.has_engine else 0  # 10% to 95%
    if model.chargeable:
        state["battery_percent"] = battery
        state["plugged_in"] = bits[10] % 3 != 0 or index == 0  # car 0 is always plugged in
    if model.has_engine:
        state["fuel_percent"] = fuel
    if model.chargeable and model.has_engine:  # electric range first, then the tank
        electric = model.battery_kwh * 5.2
        state["range_km"] = round(
            electric * battery / 100 + (model.range_km - electric) * fuel / 100
        )
    else:
        state["range_km"] = round(model.range_km * max(battery, fuel) / 100)
    return state


def _vehicle(world: VehicleWorld, vehicle_id: str) -> int:
    wanted = vehicle_id.strip().upper()
    if wanted in world.vehicle_ids:
        return world.vehicle_ids.index(wanted)
    raise ToolError(f"unknown vehicle_id {vehicle_id!r}; use a vehicle_id from find_vehicle")


def _pin(world: VehicleWorld, index: int) -> str:
    bits = _digest(world.seed, "pin", world.vehicle_ids[index])
    return f"{int.from_bytes(bits[:4], 'big') % 10000:04d}"


def _session_token(world: VehicleWorld, index: int) -> str:
    return _token(world, "VTK", index, 2, 10)


def _authorised(world: VehicleWorld, session_token: str) -> int:
    """The car a session token opens (the token is verified by recomputation)."""
    hint = "log in with authenticate_vehicle and pass its session_token"
    wanted = session_token.strip().upper()
    match = _TOKEN.match(wanted)
    index = None if match is None else _untoken(world, "VTK", match.group(1))
    if index is None or index >= len(world.vehicle_ids) or _session_token(world, index) != wanted:
        raise ToolError(f"invalid or expired session_token {session_token!r}; {hint}")
    return index


def _session(world: VehicleWorld, session_id: str) -> tuple[int, str]:
    """``(car, "engine" or "charging")`` of an engine or charging session id."""
    hint = "use the session_id returned by start_vehicle_engine or start_vehicle_charging"
    wanted = session_id.strip().upper()
    match = _SESSION.match(wanted)
    value = None if match is None else _untoken(world, match.group(1), match.group(2))
    if match is not None and value is not None:
        kind = match.group(1)
        index = value >> 7
        if index < len(world.vehicle_ids) and _token(world, kind, value, 3, 5) == wanted:
            part = "engine" if kind == "ENG" else "charging"
            active = _car_state(world, index, part)
            if active is not None and active["session_id"] == wanted:
                return index, part
    raise ToolError(f"no active session {session_id!r}; {hint}")


def _car_state(world: VehicleWorld, index: int, part: str) -> dict[str, Any] | None:
    """What the commands made of one part of a car ("lock", "engine", "charging",
    "climate"), or ``None`` while that part is as the seed says."""
    return world.state.get(("vehicle", world.vehicle_ids[index], part))


def _put_car_state(world: VehicleWorld, index: int, part: str, value: dict[str, Any]) -> None:
    world.state.put(("vehicle", world.vehicle_ids[index], part), value)


def _start_session(
    world: VehicleWorld, index: int, part: str, session: dict[str, Any]
) -> dict[str, Any]:
    """Open an engine or charging session, or report the one already running.

    A car runs one session of each kind: a second start changes nothing but the count of
    start requests (so a repeated command still shows), and its response is the running
    session with ``already_running: true``.
    """
    running = _car_state(world, index, part)
    if running is None:
        _put_car_state(world, index, part, {**session, "start_requests": 1})
        return session
    running["start_requests"] += 1
    _put_car_state(world, index, part, running)
    shown = {key: value for key, value in running.items() if key != "start_requests"}
    return {**shown, "already_running": True}


def _find_place(world: VehicleWorld, destination: str) -> dict[str, Any]:
    wanted = " ".join(destination.split()).casefold()
    places = _places(world)
    for place in places:
        if wanted in (place["name"].casefold(), place["address"].casefold()):
            return place
    names = ", ".join(place["name"] for place in places)
    raise ToolError(f"unknown destination {destination!r}; known places: {names}")


# -- tools ----------------------------------------------------------------------------------


@tool(latency=1, canonical={"query": "keyword"})
def find_vehicle(world: VehicleWorld, query: str) -> dict[str, Any]:
    """Find a car by licence plate or by its owner's name.

    Args:
        query: A licence plate such as "8KRT452", or an owner name such as "Alex Morgan".
    """
    cleaned = " ".join(query.split())
    if not cleaned:
        raise ToolError("query must not be empty")
    plate = re.sub(r"[\s-]", "", cleaned).upper()
    matches = [i for i, own in enumerate(world.plates) if own == plate]
    if not matches:
        wanted = cleaned.casefold()
        matches = [i for i, name in enumerate(world.owners) if name.casefold() == wanted]
        if not matches:
            matches = [
                i for i, name in enumerate(world.owners) if wanted in name.casefold().split()
            ]
    if len(matches) > 1:
        raise ToolError(f"{query!r} matches several owners; use a full name or the plate")
    if not matches:
        raise ToolError(
            f"no car with plate or owner {query!r} is registered to this service; search by a "
            f"licence plate such as {world.plates[0]!r} or by the owner's full name"
        )
    index = matches[0]
    model = _model(world, index)
    bits = _digest(world.seed, "car", world.vehicle_ids[index])
    return {
        "vehicle_id": world.vehicle_ids[index],
        "plate": world.plates[index],
        "owner": world.owners[index],
        "make": model.make,
        "model": model.model,
        "year": 2018 + bits[0] % 8,
        "color": _COLORS[bits[1] % len(_COLORS)],
        "powertrain": model.powertrain,
    }


@tool(latency=1, canonical={"vehicle_id": "symbol"})
def authenticate_vehicle(world: VehicleWorld, vehicle_id: str, pin: str) -> dict[str, Any]:
    """Log in to a car with the owner's 4-digit PIN; returns a session token for commands.

    Args:
        vehicle_id: A vehicle_id from find_vehicle.
        pin: The owner's 4-digit PIN, e.g. "0427".
    """
    index = _vehicle(world, vehicle_id)
    if not re.fullmatch(r"\d{4}", pin.strip()):
        raise ToolError(f"a PIN is 4 digits, got {pin!r}")
    if pin.strip() != _pin(world, index):
        raise ToolError(f"incorrect PIN for {world.vehicle_ids[index]}")
    return {
        "session_token": _session_token(world, index),
        "vehicle_id": world.vehicle_ids[index],
        "scopes": ["lock", "engine", "charging", "climate", "navigation"],
    }


@tool(latency=1, canonical={"vehicle_id": "symbol"})
def get_vehicle_status(world: VehicleWorld, vehicle_id: str) -> dict[str, Any]:
    """Get a car's status: battery or fuel level, range, lock, plug, location, cabin temperature.

    Args:
        vehicle_id: A vehicle_id from find_vehicle.
    """
    index = _vehicle(world, vehicle_id)
    model = _model(world, index)
    status: dict[str, Any] = {
        "vehicle_id": world.vehicle_ids[index],
        "plate": world.plates[index],
        "model": model.name,
        "powertrain": model.powertrain,
        **_state(world, index),
    }
    lock = _car_state(world, index, "lock")
    if lock is not None:
        status["locked"] = lock["locked"]
    engine = _car_state(world, index, "engine")
    if engine is not None:
        status["engine"] = {key: engine[key] for key in ("status", "session_id", "stops_at")}
    charging = _car_state(world, index, "charging")
    if charging is not None:
        status["charging"] = {
            key: charging[key] for key in ("status", "session_id", "target_percent", "ready_at")
        }
    climate = _car_state(world, index, "climate")
    if climate is not None:
        status["climate"] = {
            key: climate[key] for key in ("target_temperature_c", "defrost", "powered_by")
        }
    sent = world.state.scan("vehicle", world.vehicle_ids[index], "destination")
    if sent:
        status["navigation_destinations"] = [
            {"route_id": route["route_id"], "destination": route["destination"]}
            for _, route in sent
        ]
    status["updated_at"] = _clock(world)
    return status


@tool(latency=1, writes=True, canonical={"session_token": "symbol"})
def set_vehicle_lock(world: VehicleWorld, session_token: str, locked: bool) -> dict[str, Any]:
    """Lock or unlock a car's doors remotely.

    Args:
        session_token: A session_token from authenticate_vehicle.
        locked: True to lock the doors, False to unlock them.
    """
    index = _authorised(world, session_token)
    command_id = world.state.new_id("CMD", world.seed, world.vehicle_ids[index], "lock", locked)
    _put_car_state(world, index, "lock", {"locked": locked, "command_id": command_id})
    return {
        "command_id": command_id,
        "vehicle_id": world.vehicle_ids[index],
        "command": "lock" if locked else "unlock",
        "locked": locked,
        "status": "completed",
    }


@tool(latency=2, writes=True, canonical={"session_token": "symbol"})
def start_vehicle_engine(
    world: VehicleWorld, session_token: str, run_minutes: int = 10
) -> dict[str, Any]:
    """Start a car's engine remotely (doors stay locked); it stops by itself after run_minutes.

    Args:
        session_token: A session_token from authenticate_vehicle.
        run_minutes: How long the engine may run, 5 to 30 minutes.
    """
    index = _authorised(world, session_token)
    model = _model(world, index)
    if not model.has_engine:
        raise ToolError(
            f"the {model.name} is electric and has no engine; start a charging session with "
            "start_vehicle_charging to run the climate on grid power"
        )
    if not 5 <= run_minutes <= 30:
        raise ToolError(f"run_minutes must be between 5 and 30, got {run_minutes}")
    fuel = _state(world, index)["fuel_percent"]
    if fuel < 5:
        raise ToolError(f"fuel is too low ({fuel}%) for a remote start")
    session = {
        "session_id": _token(world, "ENG", index << 7 | run_minutes, 3, 5),
        "session_type": "engine",
        "vehicle_id": world.vehicle_ids[index],
        "status": "running",
        "run_minutes": run_minutes,
        "stops_at": _clock(world, run_minutes),
        "fuel_percent": fuel,
    }
    return _start_session(world, index, "engine", session)


@tool(latency=2, writes=True, canonical={"session_token": "symbol"})
def start_vehicle_charging(
    world: VehicleWorld, session_token: str, target_percent: int = 80
) -> dict[str, Any]:
    """Start charging a plugged-in car up to a target battery level; returns a session id.

    Args:
        session_token: A session_token from authenticate_vehicle.
        target_percent: Battery level to stop at, 50 to 100.
    """
    index = _authorised(world, session_token)
    model = _model(world, index)
    if not model.chargeable:
        raise ToolError(f"the {model.name} ({model.powertrain}) cannot be plugged in to charge")
    state = _state(world, index)
    if not state["plugged_in"]:
        raise ToolError(f"the {model.name} is not plugged in; plug it in first")
    if not 50 <= target_percent <= 100:
        raise ToolError(f"target_percent must be between 50 and 100, got {target_percent}")
    battery = state["battery_percent"]
    if target_percent <= battery:
        raise ToolError(f"the battery is already at {battery}%, at or above {target_percent}%")
    minutes = math.ceil((target_percent - battery) / 100 * model.battery_kwh / CHARGER_KW * 60)
    session = {
        "session_id": _token(world, "CHG", index << 7 | target_percent, 3, 5),
        "session_type": "charging",
        "vehicle_id": world.vehicle_ids[index],
        "status": "charging",
        "battery_percent": battery,
        "target_percent": target_percent,
        "charger_kw": CHARGER_KW,
        "estimated_minutes": minutes,
        "ready_at": _clock(world, minutes),
    }
    return _start_session(world, index, "charging", session)


@tool(latency=1, writes=True, canonical={"session_id": "symbol"})
def set_vehicle_climate(
    world: VehicleWorld, session_id: str, temperature_c: float, defrost: bool = False
) -> dict[str, Any]:
    """Set the cabin temperature; needs a running engine or charging session.

    Args:
        session_id: A session_id from start_vehicle_engine or start_vehicle_charging.
        temperature_c: Target cabin temperature in °C, 16 to 28 in steps of 0.5.
        defrost: True to also defrost the windows.
    """
    index, kind = _session(world, session_id)
    if not 16 <= temperature_c <= 28 or temperature_c * 2 != int(temperature_c * 2):
        raise ToolError(f"temperature_c must be 16 to 28 in steps of 0.5, got {temperature_c}")
    cabin = _state(world, index)["cabin_temperature_c"]
    before = _car_state(world, index, "climate")
    _put_car_state(
        world,
        index,
        "climate",
        {
            "session_id": session_id.strip().upper(),
            "powered_by": kind,
            "target_temperature_c": temperature_c,
            "defrost": defrost,
            "settings": 1 + (before["settings"] if before else 0),
        },
    )
    return {
        "vehicle_id": world.vehicle_ids[index],
        "status": "running",
        "powered_by": kind,
        "target_temperature_c": temperature_c,
        "cabin_temperature_c": cabin,
        "defrost": defrost,
        "minutes_to_target": 1 + math.ceil(abs(temperature_c - cabin) * 0.8),
    }


@tool(latency=1, writes=True, canonical={"session_token": "symbol", "destination": "keyword"})
def navigate_vehicle(world: VehicleWorld, session_token: str, destination: str) -> dict[str, Any]:
    """Send a destination to a car's navigation; returns the route id, distance and ETA.

    Args:
        session_token: A session_token from authenticate_vehicle.
        destination: A place in the city, e.g. "Airport", "Central Station", "City Hall".
    """
    index = _authorised(world, session_token)
    place = _find_place(world, destination)
    state = _state(world, index)
    start = (state["location"]["lat"], state["location"]["lon"])
    km = round(1.3 * _distance_km(start, (place["lat"], place["lon"])) + 0.5, 1)
    speed = min(70.0, 24.0 + 2.0 * km)  # longer trips use faster roads
    eta = max(2, math.ceil(km / speed * 60))
    route_id = world.state.new_id("RTE", world.seed, world.vehicle_ids[index], place["name"])
    world.state.put(
        ("vehicle", world.vehicle_ids[index], "destination", route_id),
        {
            "route_id": route_id,
            "destination": place["name"],
            "address": place["address"],
            "distance_km": km,
            "eta_minutes": eta,
        },
    )
    return {
        "route_id": route_id,
        "vehicle_id": world.vehicle_ids[index],
        "destination": place["name"],
        "address": place["address"],
        "distance_km": km,
        "eta_minutes": eta,
        "arrival_time": _clock(world, eta),
        "range_after_km": round(state["range_km"] - km, 1),
    }


# -- templates ------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


#: The car the side step asks about; templates never pick it, so that a side step never
#: repeats a template's look-up nor states the id of a car a template must look up first.
_SIDE_CAR = N_VEHICLES - 1


def _car(world: VehicleWorld, rng: np.random.Generator, need: str = "") -> int:
    """A template's car index; ``need`` is "engine", "charge" (plugged in, can charge) or ""."""
    cars = [i for i in range(N_VEHICLES) if i != _SIDE_CAR]
    if need == "engine":
        candidates = [i for i in cars if _model(world, i).has_engine]
    elif need == "charge":
        candidates = [
            i for i in cars if _model(world, i).chargeable and _state(world, i)["plugged_in"]
        ]
    else:
        candidates = cars
    return _choice(rng, candidates)


def _temperature(rng: np.random.Generator) -> float:
    return 18 + 0.5 * int(rng.integers(13))  # 18 to 24 °C


def _place(rng: np.random.Generator) -> str:
    return _choice(rng, PLACES[:_N_TEMPLATE_PLACES])[0]


def remote_lock(world: VehicleWorld, rng: np.random.Generator) -> TaskSpec:
    """Find a car by plate, log in, lock or unlock it (3 steps, a chain)."""
    car = _car(world, rng)
    locked = bool(rng.integers(2))
    verb = "Lock" if locked else "Unlock"
    return TaskSpec(
        instruction=(
            f"{verb} the car with licence plate {world.plates[car]} (the owner's PIN is "
            f"{_pin(world, car)}) and tell me the command id."
        ),
        steps=(
            StepSpec("find_vehicle", {"query": world.plates[car]}),
            StepSpec(
                "authenticate_vehicle", {"vehicle_id": "${s0.vehicle_id}", "pin": _pin(world, car)}
            ),
            StepSpec(
                "set_vehicle_lock", {"session_token": "${s1.session_token}", "locked": locked}
            ),
        ),
        answer="${s2.command_id}",
    )


def warm_up_car(world: VehicleWorld, rng: np.random.Generator) -> TaskSpec:
    """Find by owner, log in, start the engine, set the climate (4 steps, a chain)."""
    car = _car(world, rng, "engine")
    owner = world.owners[car]
    minutes = 5 * (1 + int(rng.integers(6)))
    temperature = _temperature(rng)
    return TaskSpec(
        instruction=(
            f"Warm up {owner}'s car: log in with PIN {_pin(world, car)}, start the engine "
            f"remotely for {minutes} minutes, and set the cabin to {temperature:g} °C. How "
            "many minutes until the cabin reaches that temperature?"
        ),
        steps=(
            StepSpec("find_vehicle", {"query": owner}),
            StepSpec(
                "authenticate_vehicle", {"vehicle_id": "${s0.vehicle_id}", "pin": _pin(world, car)}
            ),
            StepSpec(
                "start_vehicle_engine",
                {"session_token": "${s1.session_token}", "run_minutes": minutes},
            ),
            StepSpec(
                "set_vehicle_climate",
                {"session_id": "${s2.session_id}", "temperature_c": temperature},
            ),
        ),
        answer="${s3.minutes_to_target}",
    )


def charge_ev(world: VehicleWorld, rng: np.random.Generator) -> TaskSpec:
    """Find a car, log in, then start charging and lock it in parallel (4, fan-out)."""
    car = _car(world, rng, "charge")
    target = 80 + 5 * int(rng.integers(5))
    return TaskSpec(
        instruction=(
            f"Start charging the car with plate {world.plates[car]} to {target}% and make "
            f"sure it is locked (the owner's PIN is {_pin(world, car)}). Tell me its battery "
            "level now and how many minutes the charge will take."
        ),
        steps=(
            StepSpec("find_vehicle", {"query": world.plates[car]}),
            StepSpec(
                "authenticate_vehicle", {"vehicle_id": "${s0.vehicle_id}", "pin": _pin(world, car)}
            ),
            StepSpec(
                "start_vehicle_charging",
                {"session_token": "${s1.session_token}", "target_percent": target},
            ),
            StepSpec("set_vehicle_lock", {"session_token": "${s1.session_token}", "locked": True}),
        ),
        answer="${s2.battery_percent}% now, ${s2.estimated_minutes} minutes to charge",
    )


def trip_ready(world: VehicleWorld, rng: np.random.Generator) -> TaskSpec:
    """Log in, then power (engine or charger) and route in parallel, then climate (5)."""
    car = _car(world, rng, _choice(rng, ("engine", "charge")))
    owner = world.owners[car]
    place = _place(rng)
    temperature = _temperature(rng)
    if _model(world, car).has_engine:
        minutes = 5 * (2 + int(rng.integers(5)))
        power = StepSpec(
            "start_vehicle_engine", {"session_token": "${s1.session_token}", "run_minutes": minutes}
        )
        how = f"start the engine for {minutes} minutes"
    else:
        target = 80 + 5 * int(rng.integers(5))
        power = StepSpec(
            "start_vehicle_charging",
            {"session_token": "${s1.session_token}", "target_percent": target},
        )
        how = f"start charging it to {target}%"
    return TaskSpec(
        instruction=(
            f"Get {owner}'s car ready for a trip to the {place}: log in with PIN "
            f"{_pin(world, car)}, {how}, set the cabin to {temperature:g} °C once it is "
            f"running, and send the {place} to the car's navigation. Tell me the ETA in "
            "minutes."
        ),
        steps=(
            StepSpec("find_vehicle", {"query": owner}),
            StepSpec(
                "authenticate_vehicle", {"vehicle_id": "${s0.vehicle_id}", "pin": _pin(world, car)}
            ),
            power,
            StepSpec(
                "navigate_vehicle", {"session_token": "${s1.session_token}", "destination": place}
            ),
            StepSpec(
                "set_vehicle_climate",
                {"session_id": "${s2.session_id}", "temperature_c": temperature},
            ),
        ),
        answer="${s3.eta_minutes}",
    )


def status_and_lock(world: VehicleWorld, rng: np.random.Generator) -> TaskSpec:
    """Log in to a given vehicle id and check its status in parallel, then (un)lock it
    (3 steps).

    The status shows the lock, so the lock command waits for it (an explicit order the
    instruction states: "then"); otherwise the status would answer differently depending on
    which came first.
    """
    car = _car(world, rng)
    locked = bool(rng.integers(2))
    return TaskSpec(
        instruction=(
            f"Log in to {world.vehicle_ids[car]} with PIN {_pin(world, car)} and check where "
            f"it is parked, then {'lock' if locked else 'unlock'} it remotely. Tell me the "
            "address where it is parked."
        ),
        steps=(
            StepSpec(
                "authenticate_vehicle",
                {"vehicle_id": world.vehicle_ids[car], "pin": _pin(world, car)},
            ),
            # the id is in the instruction: the status need not wait for the login
            StepSpec("get_vehicle_status", {"vehicle_id": world.vehicle_ids[car]}),
            StepSpec(
                "set_vehicle_lock",
                {"session_token": "${s0.session_token}", "locked": locked},
                after=(1,),
            ),
        ),
        answer="${s1.location.address}",
    )


def navigate_by_plate(world: VehicleWorld, rng: np.random.Generator) -> TaskSpec:
    """Find a car by plate, log in, send it a destination (3 steps, a chain)."""
    car = _car(world, rng)
    place = _place(rng)
    return TaskSpec(
        instruction=(
            f"Send the {place} as the destination to the car with plate {world.plates[car]} "
            f"(PIN {_pin(world, car)}). How far is it and how long will the drive take?"
        ),
        steps=(
            StepSpec("find_vehicle", {"query": world.plates[car]}),
            StepSpec(
                "authenticate_vehicle", {"vehicle_id": "${s0.vehicle_id}", "pin": _pin(world, car)}
            ),
            StepSpec(
                "navigate_vehicle", {"session_token": "${s1.session_token}", "destination": place}
            ),
        ),
        answer="${s2.distance_km} km, ${s2.eta_minutes} minutes",
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_vehicle(world: VehicleWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant vehicle id -> find_vehicle by the car's plate."""
    if not isinstance(value, str) or value.strip().upper() not in world.vehicle_ids:
        return None
    plate = world.plates[world.vehicle_ids.index(value.strip().upper())]
    return {"query": plate}, "vehicle_id", f"the car with plate {plate}"


# Follow-ups and the side step avoid repeating a call a template already makes (the same
# tool with the same arguments twice in one task would be ambiguous to match): templates
# never navigate to the last destinations or switch the defrost on. Every template logs in
# to one car and sets its climate at most once, so "the car you logged in to" and "the cabin
# setting" name their referent.


def _route_after_login(
    world: VehicleWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str] | None:
    """After a login: send another destination to the car (a write).

    Destinations sent to a car are kept side by side (its navigation's inbox), so this one
    and a destination the template sends commute: "Then also" needs no order. The rule does
    not apply to a login to a car whose id the instruction states: such a task may read the
    car's status without waiting for anything (``status_and_lock`` does), and the status
    lists the destinations, so it would see this one or not depending on the order.
    """
    if "${" not in str(followed.arguments["vehicle_id"]):
        return None
    place = _choice(rng, PLACES[_N_TEMPLATE_PLACES:])[0]
    return (
        StepSpec(
            "navigate_vehicle",
            {"session_token": f"${{s{index}.session_token}}", "destination": place},
        ),
        f"Then also send the {place} to the navigation of the car you logged in to.",
    )


def _defrost_after_climate(
    world: VehicleWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """After the climate is set: change it, with the defrost on (a write, ordered after it).

    Both settings go to the car's one climate, and the last one wins, so the new step waits
    for the one it changes (``after``), as the sentence's "Then" says. It runs on the same
    engine or charging session, taken from the same earlier response.
    """
    temperature = _temperature(rng)
    return (
        StepSpec(
            "set_vehicle_climate",
            {
                "session_id": followed.arguments["session_id"],
                "temperature_c": temperature,
                "defrost": True,
            },
            after=(index,),
        ),
        f"Then change the cabin setting to {temperature:g} °C with the windscreen defrost "
        "switched on.",
    )


def _side_range(world: VehicleWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    """The side car's status by id (a read; asks for its range)."""
    vehicle_id = world.vehicle_ids[_SIDE_CAR]
    return (
        StepSpec("get_vehicle_status", {"vehicle_id": vehicle_id}),
        f"Also tell me how many km of range {vehicle_id} has left.",
        "range_km",
    )


SCENARIO = Scenario(
    name="vehicle",
    category="Machine Operation",
    description=(
        "Operate connected cars remotely: find a car, log in with the owner's PIN, read its "
        "status, lock or unlock it, start the engine or charging, set the climate and send "
        "destinations to its navigation."
    ),
    make_world=make_world,
    tools=(
        find_vehicle,
        authenticate_vehicle,
        get_vehicle_status,
        set_vehicle_lock,
        start_vehicle_engine,
        start_vehicle_charging,
        set_vehicle_climate,
        navigate_vehicle,
    ),
    templates={
        "remote_lock": remote_lock,
        "warm_up_car": warm_up_car,
        "charge_ev": charge_ev,
        "trip_ready": trip_ready,
        "status_and_lock": status_and_lock,
        "navigate_by_plate": navigate_by_plate,
    },
    lookups=(LookupRule("vehicle_id", "find_vehicle", _lookup_vehicle),),
    follow_ups=(
        FollowUpRule("authenticate_vehicle", _route_after_login),
        FollowUpRule("set_vehicle_climate", _defrost_after_climate),
    ),
    side_steps=(SideStepRule("range_check", _side_range),),
)
