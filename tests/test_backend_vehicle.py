"""Backend tests of the vehicle scenario, with values computed independently.

Car states come from a hash of the world's seed, so these tests check the arithmetic and
relations the tools promise, using the manufacturers' figures of each model (battery size,
range): the range is the full range scaled by the battery or fuel level, a charge takes the
missing energy over an 11 kW wall box, times are "now" plus a duration, a route's length is
bounded by the car's and the destination's distances from the city centre (a haversine
computed here), and the ETA follows from the distance and the documented speeds.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pytest

from asynctool_env.core.tools import ToolError
from asynctool_env.scenarios import vehicle

SCENARIO = vehicle.SCENARIO
TOOLS = {tool.name: tool for tool in SCENARIO.tools}
SEEDS = range(5)
#: (make, model) -> (powertrain, battery kWh, full range in km).
MODELS = {
    ("Tesla", "Model 3"): ("electric", 75.0, 500),
    ("Hyundai", "Ioniq 5"): ("electric", 77.4, 480),
    ("Volkswagen", "ID.4"): ("electric", 82.0, 450),
    ("Ford", "Mustang Mach-E"): ("electric", 91.0, 470),
    ("Chevrolet", "Bolt EV"): ("electric", 65.0, 400),
    ("Toyota", "Prius Prime"): ("plug-in hybrid", 13.6, 960),
    ("BMW", "X5 xDrive50e"): ("plug-in hybrid", 25.7, 780),
    ("Toyota", "RAV4 Hybrid"): ("hybrid", 0.0, 930),
    ("Honda", "Civic"): ("gasoline", 0.0, 720),
    ("Subaru", "Outback"): ("gasoline", 0.0, 850),
    ("Mazda", "CX-5"): ("gasoline", 0.0, 690),
    ("Ford", "F-150"): ("gasoline", 0.0, 900),
}
KM_PER_KWH = 5.2  # electric range of a plug-in hybrid per kWh of battery
CHARGER_KW = 11.0
#: City centres the service runs in.
CENTRES = {
    "San Francisco": (37.7749, -122.4194),
    "Austin": (30.2672, -97.7431),
    "Seattle": (47.6062, -122.3321),
    "Denver": (39.7392, -104.9903),
    "Boston": (42.3601, -71.0589),
    "Chicago": (41.8781, -87.6298),
    "Portland": (45.5152, -122.6784),
    "San Diego": (32.7157, -117.1611),
}
#: Destination -> (nearest, farthest) km from the city centre.
PLACES = {
    "Airport": (12, 25),
    "Central Station": (1, 3),
    "City Hall": (0, 2),
    "Riverside Mall": (4, 10),
    "General Hospital": (2, 7),
    "Tech Park": (6, 15),
    "University Campus": (3, 9),
    "Lakeside Park": (3, 12),
}
COLORS = {"white", "black", "silver", "blue", "red", "grey", "green"}


def call(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool the way the chat path does (arguments validated first)."""
    return TOOLS[tool_name].execute(world, arguments)


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def later(clock: str, minutes: float) -> str:
    moment = dt.datetime.fromisoformat(clock) + dt.timedelta(minutes=math.ceil(minutes))
    return moment.isoformat(timespec="minutes")


def cars(world: Any) -> list[dict[str, Any]]:
    return [call(world, "find_vehicle", query=plate) for plate in world.plates]


def login(world: Any, vehicle_id: str) -> str:
    """A session token; the PIN is the owner's secret, which the user gives in words."""
    index = world.vehicle_ids.index(vehicle_id)
    pin = vehicle._pin(world, index)
    return call(world, "authenticate_vehicle", vehicle_id=vehicle_id, pin=pin)["session_token"]


def flip(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


# -- finding cars and their status ----------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_cars_are_found_by_plate_and_owner(seed):
    world = SCENARIO.world(seed)
    found = cars(world)
    powertrains = [MODELS[(car["make"], car["model"])][0] for car in found]
    # three cars that can charge and three with a combustion engine only
    assert sum(p in ("electric", "plug-in hybrid") for p in powertrains) == 3
    assert len({car["vehicle_id"] for car in found}) == len({car["owner"] for car in found}) == 6
    for car, plate, owner in zip(found, world.plates, world.owners, strict=True):
        assert (car["plate"], car["owner"]) == (plate, owner)
        assert re.fullmatch(r"VH-[0-9A-F]{6}", car["vehicle_id"])
        assert car["powertrain"] == MODELS[(car["make"], car["model"])][0]
        assert 2018 <= car["year"] <= 2025
        assert car["color"] in COLORS
        spaced = f" {plate[:3].lower()}-{plate[3:]} "
        first, last = owner.split()
        for query in (spaced, owner.upper(), first, last.lower()):
            assert call(world, "find_vehicle", query=query) == car


def test_find_bad_calls():
    world = SCENARIO.world(0)
    absent = next(owner for owner in vehicle.OWNERS if owner not in world.owners)
    with pytest.raises(ToolError, match="search by a licence plate"):
        call(world, "find_vehicle", query=absent)
    with pytest.raises(ToolError, match="must not be empty"):
        call(world, "find_vehicle", query="   ")


@pytest.mark.parametrize("seed", SEEDS)
def test_status_range_and_location(seed):
    world = SCENARIO.world(seed)
    statuses = [
        call(world, "get_vehicle_status", vehicle_id=car["vehicle_id"]) for car in cars(world)
    ]
    location = statuses[0]["location"]
    city = min(
        CENTRES, key=lambda name: haversine_km(CENTRES[name], (location["lat"], location["lon"]))
    )
    assert len({status["updated_at"] for status in statuses}) == 1  # one "now" for the world
    for car, status in zip(cars(world), statuses, strict=True):
        powertrain, battery_kwh, full_range = MODELS[(car["make"], car["model"])]
        assert (status["vehicle_id"], status["plate"]) == (car["vehicle_id"], car["plate"])
        assert status["model"] == f"{car['make']} {car['model']}"
        assert status["powertrain"] == powertrain
        assert status["doors"] == "closed" and isinstance(status["locked"], bool)
        battery = status.get("battery_percent", 0)
        fuel = status.get("fuel_percent", 0)
        assert ("battery_percent" in status) == (battery_kwh > 0) == ("plugged_in" in status)
        assert ("fuel_percent" in status) == (powertrain != "electric")
        assert 0 <= battery <= 100 and 0 <= fuel <= 100
        if powertrain == "plug-in hybrid":  # the battery's range first, then the tank's
            electric = battery_kwh * KM_PER_KWH
            expected = electric * battery / 100 + (full_range - electric) * fuel / 100
        else:
            expected = full_range * max(battery, fuel) / 100
        assert status["range_km"] == round(expected)
        # parked in the city, at most 8 km from its centre
        where = (status["location"]["lat"], status["location"]["lon"])
        assert 0.4 <= haversine_km(CENTRES[city], where) <= 8.1
        assert re.fullmatch(r"\d+ \S.*", status["location"]["address"])
        assert status["odometer_km"] >= 3000


def test_status_of_an_unknown_car():
    with pytest.raises(ToolError, match="find_vehicle"):
        call(SCENARIO.world(0), "get_vehicle_status", vehicle_id="VH-000000")


# -- sessions -------------------------------------------------------------------------------


def test_only_the_owners_pin_opens_the_car():
    world = SCENARIO.world(0)
    vehicle_id = world.vehicle_ids[2]
    accepted = []
    for number in range(10_000):
        pin = f"{number:04d}"
        try:
            TOOLS["authenticate_vehicle"].function(world, vehicle_id=vehicle_id, pin=pin)
        except ToolError as error:
            assert "incorrect PIN" in str(error)
        else:
            accepted.append(pin)
    assert accepted == [vehicle._pin(world, 2)]


@pytest.mark.parametrize("seed", SEEDS)
def test_login_and_lock(seed):
    world = SCENARIO.world(seed)
    tokens = set()
    for index, vehicle_id in enumerate(world.vehicle_ids):
        pin = vehicle._pin(world, index)
        out = call(world, "authenticate_vehicle", vehicle_id=vehicle_id.lower(), pin=f" {pin} ")
        assert re.fullmatch(r"VTK-[0-9A-Z]{12}", out["session_token"])
        assert out["vehicle_id"] == vehicle_id and "expires_in_minutes" not in out  # no clock
        assert set(out["scopes"]) == {"lock", "engine", "charging", "climate", "navigation"}
        tokens.add(out["session_token"])
        wrong = f"{(int(pin) + 1) % 10_000:04d}"
        with pytest.raises(ToolError, match="incorrect PIN"):
            call(world, "authenticate_vehicle", vehicle_id=vehicle_id, pin=wrong)
        commands = set()
        for locked in (True, False):
            lock = call(
                world, "set_vehicle_lock", session_token=out["session_token"], locked=locked
            )
            assert lock["vehicle_id"] == vehicle_id  # the token opens its own car only
            assert (lock["command"], lock["locked"], lock["status"]) == (
                "lock" if locked else "unlock",
                locked,
                "completed",
            )
            assert re.fullmatch(r"CMD-[0-9A-F]{6}", lock["command_id"])
            commands.add(lock["command_id"])
            # the same command again completes again, as a second command (stateful worlds:
            # v2 gave it the same id)
            again = call(
                world, "set_vehicle_lock", session_token=out["session_token"], locked=locked
            )
            assert {**again, "command_id": lock["command_id"]} == lock
            commands.add(again["command_id"])
        assert len(commands) == 4
    assert len(tokens) == 6


def test_session_bad_calls():
    world = SCENARIO.world(0)
    with pytest.raises(ToolError, match="a PIN is 4 digits"):
        call(world, "authenticate_vehicle", vehicle_id=world.vehicle_ids[0], pin="12a4")
    with pytest.raises(ToolError, match="unknown vehicle_id"):
        call(world, "authenticate_vehicle", vehicle_id="VH-000000", pin="1234")
    token = login(world, world.vehicle_ids[0])
    for bad in (flip(token), "VTK-123", "token"):
        with pytest.raises(ToolError, match="log in with authenticate_vehicle"):
            call(world, "set_vehicle_lock", session_token=bad, locked=True)
    with pytest.raises(ToolError, match="log in with authenticate_vehicle"):  # another world's
        call(SCENARIO.world(1), "set_vehicle_lock", session_token=token, locked=True)


# -- engine, charging, climate --------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_engine_starts(seed):
    world = SCENARIO.world(seed)
    for car in cars(world):
        status = call(world, "get_vehicle_status", vehicle_id=car["vehicle_id"])
        token = login(world, car["vehicle_id"])
        if car["powertrain"] == "electric":
            with pytest.raises(ToolError, match="has no engine"):
                call(world, "start_vehicle_engine", session_token=token)
            continue
        for run_minutes in (5, 10, 30):
            world = SCENARIO.world(seed)  # a running engine is not started again (stateful)
            out = call(world, "start_vehicle_engine", session_token=token, run_minutes=run_minutes)
            assert re.fullmatch(r"ENG-[0-9A-Z]{8}", out["session_id"])
            assert (out["session_type"], out["status"]) == ("engine", "running")
            assert (out["vehicle_id"], out["run_minutes"]) == (car["vehicle_id"], run_minutes)
            assert out["stops_at"] == later(status["updated_at"], run_minutes)
            assert out["fuel_percent"] == status["fuel_percent"]
        world = SCENARIO.world(seed)
        assert call(world, "start_vehicle_engine", session_token=token)["run_minutes"] == 10
        for run_minutes in (4, 31):
            with pytest.raises(ToolError, match="between 5 and 30"):
                call(world, "start_vehicle_engine", session_token=token, run_minutes=run_minutes)


@pytest.mark.parametrize("seed", SEEDS)
def test_charging_time_is_the_missing_energy_over_the_charger(seed):
    world = SCENARIO.world(seed)
    for car in cars(world):
        _, battery_kwh, _ = MODELS[(car["make"], car["model"])]
        status = call(world, "get_vehicle_status", vehicle_id=car["vehicle_id"])
        token = login(world, car["vehicle_id"])
        if battery_kwh == 0:
            with pytest.raises(ToolError, match="cannot be plugged in"):
                call(world, "start_vehicle_charging", session_token=token)
            continue
        if not status["plugged_in"]:
            with pytest.raises(ToolError, match="not plugged in"):
                call(world, "start_vehicle_charging", session_token=token)
            continue
        battery = status["battery_percent"]
        for target in range(max(50, battery + 1), 101, 7):
            world = SCENARIO.world(seed)  # a charging car is not started again (stateful)
            out = call(world, "start_vehicle_charging", session_token=token, target_percent=target)
            energy = (target - battery) / 100 * battery_kwh  # kWh
            minutes = math.ceil(energy / CHARGER_KW * 60)
            assert re.fullmatch(r"CHG-[0-9A-Z]{8}", out["session_id"])
            assert (out["session_type"], out["status"]) == ("charging", "charging")
            assert (out["battery_percent"], out["target_percent"]) == (battery, target)
            assert out["charger_kw"] == CHARGER_KW
            assert out["estimated_minutes"] == minutes
            assert out["ready_at"] == later(status["updated_at"], minutes)
        if battery >= 50:
            with pytest.raises(ToolError, match="already at"):
                call(world, "start_vehicle_charging", session_token=token, target_percent=battery)
        for target in (49, 101):
            with pytest.raises(ToolError, match="between 50 and 100"):
                call(world, "start_vehicle_charging", session_token=token, target_percent=target)


def sessions(world: Any) -> list[tuple[dict[str, Any], str, str]]:
    """(car, session id, "engine" or "charging") for every car that can start one."""
    found = []
    for car in cars(world):
        token = login(world, car["vehicle_id"])
        if car["powertrain"] != "electric":
            session = call(world, "start_vehicle_engine", session_token=token)
            found.append((car, session["session_id"], "engine"))
        status = call(world, "get_vehicle_status", vehicle_id=car["vehicle_id"])
        if status.get("plugged_in") and status["battery_percent"] < 100:
            session = call(world, "start_vehicle_charging", session_token=token, target_percent=100)
            found.append((car, session["session_id"], "charging"))
    return found


@pytest.mark.parametrize("seed", SEEDS)
def test_climate_needs_a_session_and_reports_the_time_to_target(seed):
    world = SCENARIO.world(seed)
    kinds = set()
    for car, session_id, kind in sessions(world):
        kinds.add(kind)
        cabin = call(world, "get_vehicle_status", vehicle_id=car["vehicle_id"])[
            "cabin_temperature_c"
        ]
        for target in (16, 19.5, 22, 28):
            out = call(
                world,
                "set_vehicle_climate",
                session_id=session_id.lower(),
                temperature_c=target,
                defrost=target < 18,
            )
            assert (out["vehicle_id"], out["status"], out["powered_by"]) == (
                car["vehicle_id"],
                "running",
                kind,
            )
            assert (out["target_temperature_c"], out["cabin_temperature_c"]) == (target, cabin)
            assert out["defrost"] == (target < 18)
            assert out["minutes_to_target"] == 1 + math.ceil(abs(target - cabin) * 0.8)
        for bad in (15.5, 21.3, 28.5):
            with pytest.raises(ToolError, match=r"16 to 28 in steps of 0\.5"):
                call(world, "set_vehicle_climate", session_id=session_id, temperature_c=bad)
        with pytest.raises(ToolError, match="no active session"):
            call(world, "set_vehicle_climate", session_id=flip(session_id), temperature_c=21)
    assert kinds == {"engine", "charging"}  # car 0 can charge and is always plugged in
    token = login(world, world.vehicle_ids[0])
    with pytest.raises(ToolError, match="start_vehicle_engine or start_vehicle_charging"):
        call(world, "set_vehicle_climate", session_id=token, temperature_c=21)


# -- navigation -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_routes_are_as_long_as_the_geometry_allows(seed):
    world = SCENARIO.world(seed)
    addresses = {}
    for car in cars(world):
        status = call(world, "get_vehicle_status", vehicle_id=car["vehicle_id"])
        where = (status["location"]["lat"], status["location"]["lon"])
        centre = min(CENTRES.values(), key=lambda point: haversine_km(point, where))
        from_centre = haversine_km(centre, where)
        token = login(world, car["vehicle_id"])
        for place, (near, far) in PLACES.items():
            out = call(world, "navigate_vehicle", session_token=token, destination=place.upper())
            assert (out["vehicle_id"], out["destination"]) == (car["vehicle_id"], place)
            assert addresses.setdefault(place, out["address"]) == out["address"]  # one place
            # roads are 1.3 times the straight line, plus half a kilometre
            km = out["distance_km"]
            shortest = 1.3 * max(0.0, near - from_centre) + 0.5
            longest = 1.3 * (far + from_centre) + 0.5
            assert shortest * 0.98 - 0.1 <= km <= longest * 1.02 + 0.1, (place, km)
            speed = min(70.0, 24.0 + 2.0 * km)  # km/h: longer trips use faster roads
            eta = max(2, math.ceil(km / speed * 60))
            assert out["eta_minutes"] == eta
            assert out["arrival_time"] == later(status["updated_at"], eta)
            assert out["range_after_km"] == round(status["range_km"] - km, 1)
            assert re.fullmatch(r"RTE-[0-9A-F]{6}", out["route_id"])
            # the same place by its address: the same route, sent a second time (a new id
            # since worlds are stateful; v2 repeated the id)
            by_address = call(
                world, "navigate_vehicle", session_token=token, destination=out["address"]
            )
            assert by_address["route_id"] != out["route_id"]
            assert {**by_address, "route_id": out["route_id"]} == out


def test_navigation_bad_calls():
    world = SCENARIO.world(0)
    token = login(world, world.vehicle_ids[1])
    with pytest.raises(ToolError, match="known places: Airport"):
        call(world, "navigate_vehicle", session_token=token, destination="the Moon")
    with pytest.raises(ToolError, match="log in"):
        call(world, "navigate_vehicle", session_token=flip(token), destination="Airport")
