"""Payload adapters: pure functions from (topic, payload bytes, receive time) to normalized readings.

Nothing here touches the database or raises on bad input: ``parse_message`` returns a ``ParseResult`` with
readings, or ``error`` (malformed: dead-lettered) or ``ignored`` (well-formed but carrying nothing for us,
e.g. a Zigbee2MQTT bridge message or an attribute sub-topic). Stateful rules (only a *change* of a door
contact is an event, counter resets, spikes, duplicates) live in iot.ingest, which knows the device history.

Topic patterns are configuration (``settings.iot_topic_patterns``): ``"<adapter>=<pattern>"`` where the
pattern is an MQTT topic with ``{id}`` (one level) or ``{id+}`` (one or more levels, e.g. Zigbee2MQTT
friendly names containing ``/``) marking the device id. The first matching pattern wins.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo

from config.settings import DEFAULT_TIMEZONE
from iot.choices import DeviceFormat

DEFAULT_TZ = ZoneInfo(DEFAULT_TIMEZONE)

_zones: dict[str, ZoneInfo] = {}


def zone(name: str | None, default: str) -> ZoneInfo:
    """The zone called ``name`` (a building's timezone), else ``default``; unknown names fall back too. Cached."""
    key = name or default
    if key not in _zones:
        try:
            _zones[key] = ZoneInfo(key)
        except (KeyError, ValueError):
            _zones[key] = ZoneInfo(default)
    return _zones[key]

DEFAULT_TOPIC_PATTERNS: tuple[str, ...] = (
    "z2m_availability=zigbee2mqtt/{id+}/availability",
    "z2m=zigbee2mqtt/{id+}",
    "tasmota_sensor=tele/{id}/SENSOR",
    "tasmota_lwt=tele/{id}/LWT",
    "tasmota_state=tele/{id}/STATE",
    "shelly_rpc={id}/events/rpc",
    "shelly_online={id}/online",
    "shelly_gen1_door=shellies/{id}/sensor/state",
    "wmbus=wmbusmeters/{id}",
    "generic_availability=rentwatch/devices/{id}/availability",
    "generic=rentwatch/devices/{id}",
)


class Reading(NamedTuple):
    """One normalized observation of one device. ``None`` means "not in this message". Immutable (a named tuple
    rather than a frozen dataclass: one is built per message, and a frozen dataclass costs about four times as
    much to construct)."""

    format: DeviceFormat
    device: str
    topic: str
    received_at: datetime
    at: datetime  # device time in UTC, or the receive time when the device sent none
    device_time: bool = False  # True when ``at`` came from the payload
    door_open: bool | None = None
    door_invertible: bool = False  # polarity depends on wiring (Tasmota Switch): per-device invert applies
    energy_kwh: float | None = None  # cumulative register
    water_m3: float | None = None  # cumulative register
    power_w: float | None = None
    battery: int | None = None
    battery_low: bool | None = None
    online: bool | None = None  # an availability message: online (True) / offline (False)
    heartbeat: bool = False  # a periodic sign of life with no values (Tasmota tele/STATE)

    @property
    def is_meter(self) -> bool:
        return self.energy_kwh is not None or self.water_m3 is not None


class ParseResult(NamedTuple):
    readings: tuple[Reading, ...] = ()
    error: str | None = None
    ignored: str | None = None
    adapter: str | None = None
    device: str | None = None  # the id from the topic, when a pattern matched


class PayloadError(ValueError):
    pass


TzFor = Callable[[DeviceFormat, str], tzinfo]


# ---------------------------------------------------------------------------------------------- value helpers

def num(value, what: str) -> float:
    """A finite number; numeric strings accepted (old Zigbee2MQTT), booleans refused."""
    kind = type(value)
    if kind is float or kind is int:  # what JSON numbers decode to (bool is neither)
        if not math.isfinite(value):
            raise PayloadError(f"{what} is not a number: {value!r}")
        return float(value)
    if isinstance(value, bool) or value is None:
        raise PayloadError(f"{what} is not a number: {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise PayloadError(f"{what} is not a number: {value!r}") from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise PayloadError(f"{what} is not a number: {value!r}")
    return float(value)


def opt_num(obj: dict, key: str) -> float | None:
    return num(obj[key], key) if obj.get(key) is not None else None


def summed(value, what: str) -> float:
    """Multi-channel Tasmota values arrive as arrays: the device total is the sum."""
    if isinstance(value, list):
        if not value:
            raise PayloadError(f"{what} is an empty array")
        return sum(num(v, what) for v in value)
    return num(value, what)


def truthy(value, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "on", "yes", "open"):
            return True
        if text in ("false", "0", "off", "no", "closed", "close"):
            return False
    raise PayloadError(f"{what} is not a boolean: {value!r}")


_EPOCH_TEXT = re.compile(r"\s*\d+(\.\d+)?\s*")


def parse_time(value, tz: tzinfo) -> datetime:
    """ISO 8601 with or without offset (no offset → ``tz``), 'Z', or epoch seconds / milliseconds."""
    if type(value) is str and len(value) > 10 and value[4] == "-" and value[10] == "T":
        return _iso_time(value, tz)  # the common shape: not epoch text (a "-" at 4), no need for the regex
    if isinstance(value, bool):
        raise PayloadError(f"bad timestamp {value!r}")
    if isinstance(value, str) and _EPOCH_TEXT.fullmatch(value):
        value = float(value)
    if isinstance(value, int | float):
        if not math.isfinite(value) or value <= 0:
            raise PayloadError(f"bad timestamp {value!r}")
        seconds = value / 1000.0 if value > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise PayloadError(f"bad timestamp {value!r}") from None
    if not isinstance(value, str):
        raise PayloadError(f"bad timestamp {value!r}")
    return _iso_time(value, tz)


def _iso_time(value: str, tz: tzinfo) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"bad timestamp {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


_JSON = json.JSONDecoder()  # what json.loads uses


def load_json(payload: bytes):
    try:
        if payload[:1] == b"{" and payload[1:2] != b"\x00":
            # The common case, without json.loads' encoding detection (which can only answer UTF-8 here): the
            # same decoding, the same decoder, the same errors. Anything after the object (whitespace, or the
            # "Extra data" error) is left to json.loads.
            text = payload.decode("utf-8", "surrogatepass")
            data, end = _JSON.raw_decode(text)
            if end == len(text):
                return data
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"not JSON: {exc}") from None


def load_object(payload: bytes) -> dict:
    data = load_json(payload)
    if not isinstance(data, dict):
        raise PayloadError("JSON payload is not an object")
    return data


def text_of(payload: bytes) -> str:
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadError("payload is not UTF-8 text") from None


class Ctx:
    """What every adapter gets: topic, device id from the topic, receive time, timezone lookup."""

    __slots__ = ("topic", "device", "received_at", "tz_for")

    def __init__(self, topic: str, device: str, received_at: datetime, tz_for: TzFor):
        self.topic, self.device, self.received_at, self.tz_for = topic, device, received_at, tz_for

    def reading(self, fmt: DeviceFormat, *, device: str | None = None, at: datetime | None = None,
                **values) -> Reading:
        return Reading(format=fmt, device=device or self.device, topic=self.topic, received_at=self.received_at,
                       at=at or self.received_at, device_time=at is not None, **values)

    def time(self, fmt: DeviceFormat, value, device: str | None = None) -> datetime | None:
        if value is None:
            return None
        return parse_time(value, self.tz_for(fmt, device or self.device))


# -------------------------------------------------------------------------------------------------- adapters

Z2M_SKIP_SUFFIXES = ("/set", "/get")


def z2m(payload: bytes, ctx: Ctx) -> tuple[Reading, ...] | str:
    if ctx.device.startswith("bridge/") or ctx.device == "bridge" or ctx.device.endswith(Z2M_SKIP_SUFFIXES):
        return "zigbee2mqtt bridge or command topic"
    data = load_json(payload) if payload.strip()[:1] in (b"{", b"[") else None
    if not isinstance(data, dict):
        if "/" in ctx.device:
            # `output: attribute_and_json` sub-topics (zigbee2mqtt/<name>/energy) carry bare values.
            return "zigbee2mqtt attribute sub-topic"
        raise PayloadError("Zigbee2MQTT payload is not a JSON object")
    fmt = DeviceFormat.ZIGBEE2MQTT
    values: dict = {}
    if data.get("contact") is not None:
        values["door_open"] = not truthy(data["contact"], "contact")  # contact: true = door CLOSED
    if data.get("energy") is not None:
        values["energy_kwh"] = num(data["energy"], "energy")
    if data.get("power") is not None:
        values["power_w"] = num(data["power"], "power")
    if data.get("battery") is not None:
        values["battery"] = round(num(data["battery"], "battery"))
    if data.get("battery_low") is not None:
        values["battery_low"] = truthy(data["battery_low"], "battery_low")
    return (ctx.reading(fmt, at=ctx.time(fmt, data.get("last_seen")), **values),)


def availability_state(payload: bytes) -> bool:
    """``online`` / ``offline``, plain or as JSON ``{"state": "online"}`` (Zigbee2MQTT ≥ 2.0, Home Assistant
    style availability topics): True for online."""
    text = text_of(payload).strip()
    state = load_object(payload).get("state") if text.startswith("{") else text
    if not isinstance(state, str) or state.strip().lower() not in ("online", "offline"):
        raise PayloadError(f"availability is neither online nor offline: {str(state)[:40]!r}")
    return state.strip().lower() == "online"


def z2m_availability(payload: bytes, ctx: Ctx) -> tuple[Reading, ...]:
    return (ctx.reading(DeviceFormat.ZIGBEE2MQTT, online=availability_state(payload)),)


def generic_availability(payload: bytes, ctx: Ctx) -> tuple[Reading, ...]:
    """Our format's availability topic, meant as the device's MQTT last will (``offline``, retained) and its
    birth message (``online``, retained)."""
    return (ctx.reading(DeviceFormat.GENERIC, online=availability_state(payload)),)


def tasmota_sensor(payload: bytes, ctx: Ctx) -> tuple[Reading, ...] | str:
    fmt = DeviceFormat.TASMOTA
    data = load_object(payload)
    at = ctx.time(fmt, data.get("Time"))
    readings = []
    values: dict = {}
    energy = data.get("ENERGY")
    if energy is not None:
        if not isinstance(energy, dict):
            raise PayloadError("ENERGY is not an object")
        if energy.get("Total") is not None:
            values["energy_kwh"] = summed(energy["Total"], "ENERGY.Total")
        if energy.get("Power") is not None:
            values["power_w"] = summed(energy["Power"], "ENERGY.Power")
    if data.get("Switch1") is not None:
        values["door_open"] = truthy(data["Switch1"], "Switch1")  # ON = open (HA door convention)
        values["door_invertible"] = True
    if values or energy is not None:
        readings.append(ctx.reading(fmt, at=at, **values))
    zb = data.get("ZbReceived")
    if isinstance(zb, dict):  # Tasmota Zigbee bridge: Contact 1 = open
        for short_addr, attrs in zb.items():
            if not isinstance(attrs, dict):
                continue
            dev = str(attrs.get("Name") or short_addr)
            zvalues: dict = {}
            if attrs.get("Contact") is not None:
                zvalues["door_open"] = truthy(attrs["Contact"], "Contact")
            if attrs.get("BatteryPercentage") is not None:
                zvalues["battery"] = round(num(attrs["BatteryPercentage"], "BatteryPercentage"))
            readings.append(ctx.reading(fmt, device=dev, at=at, **zvalues))
    if not readings:
        return "Tasmota SENSOR without energy or switch"
    return tuple(readings)


def tasmota_lwt(payload: bytes, ctx: Ctx) -> tuple[Reading, ...]:
    text = text_of(payload).lower()
    if text not in ("online", "offline"):
        raise PayloadError(f"LWT is neither Online nor Offline: {text[:40]!r}")
    return (ctx.reading(DeviceFormat.TASMOTA, online=text == "online"),)


def tasmota_state(payload: bytes, ctx: Ctx) -> tuple[Reading, ...]:
    """``tele/<topic>/STATE``: sent every TelePeriod (300 s by default) whatever changed — a heartbeat. Its values
    (uptime, Wi-Fi, relay POWER) are not readings we keep."""
    data = load_object(payload)
    return (ctx.reading(DeviceFormat.TASMOTA, at=ctx.time(DeviceFormat.TASMOTA, data.get("Time")), heartbeat=True),)


SHELLY_METER_COMPONENTS = ("switch", "pm1", "em1", "em")


def shelly_rpc(payload: bytes, ctx: Ctx) -> tuple[Reading, ...] | str:
    fmt = DeviceFormat.SHELLY_GEN2
    data = load_object(payload)
    method = data.get("method")
    if not isinstance(method, str):
        raise PayloadError("JSON-RPC notification without a method")
    if method not in ("NotifyStatus", "NotifyFullStatus"):
        return f"Shelly {method[:40]} is not a status"
    params = data.get("params")
    if not isinstance(params, dict):
        raise PayloadError("NotifyStatus without params")
    at = ctx.time(fmt, params.get("ts"))
    readings = []
    for key, comp in params.items():
        name, _, index = key.partition(":")
        if name not in SHELLY_METER_COMPONENTS or not isinstance(comp, dict):
            continue
        device = ctx.device if index in ("", "0") else f"{ctx.device}:{index}"
        values: dict = {}
        aenergy = comp.get("aenergy")
        if isinstance(aenergy, dict) and aenergy.get("total") is not None:
            values["energy_kwh"] = num(aenergy["total"], "aenergy.total") / 1000.0  # Wh → kWh
        if comp.get("apower") is not None:
            values["power_w"] = num(comp["apower"], "apower")
        readings.append(ctx.reading(fmt, device=device, at=at, **values))
    if not readings:
        readings.append(ctx.reading(fmt, at=at))  # still proves the device is alive
    return tuple(readings)


def shelly_online(payload: bytes, ctx: Ctx) -> tuple[Reading, ...]:
    return (ctx.reading(DeviceFormat.SHELLY_GEN2, online=truthy(text_of(payload), "online")),)


def shelly_gen1_door(payload: bytes, ctx: Ctx) -> tuple[Reading, ...]:
    text = text_of(payload).lower()
    if text not in ("open", "close", "closed"):
        raise PayloadError(f"door state is neither open nor close: {text[:40]!r}")
    return (ctx.reading(DeviceFormat.SHELLY_GEN1, door_open=text == "open"),)


def wmbus(payload: bytes, ctx: Ctx) -> tuple[Reading, ...]:
    fmt = DeviceFormat.WMBUS
    data = load_object(payload)
    device = str(data["id"]) if data.get("id") not in (None, "") else ctx.device
    values: dict = {}
    if data.get("total_m3") is not None:
        values["water_m3"] = num(data["total_m3"], "total_m3")
    if data.get("total_energy_consumption_kwh") is not None:
        values["energy_kwh"] = num(data["total_energy_consumption_kwh"], "total_energy_consumption_kwh")
    if not values:
        raise PayloadError("wmbusmeters telegram without total_m3 or total_energy_consumption_kwh")
    return (ctx.reading(fmt, device=device, at=ctx.time(fmt, data.get("timestamp"), device), **values),)


def generic(payload: bytes, ctx: Ctx) -> tuple[Reading, ...]:
    """Our own format, documented in docs/iot.md."""
    fmt = DeviceFormat.GENERIC
    data = load_object(payload)
    values: dict = {}
    if data.get("door") is not None:
        values["door_open"] = truthy(data["door"], "door")
    for key, target in (("energy_kwh", "energy_kwh"), ("water_m3", "water_m3"), ("power_w", "power_w")):
        if data.get(key) is not None:
            values[target] = num(data[key], key)
    if data.get("battery") is not None:
        values["battery"] = round(num(data["battery"], "battery"))
    if data.get("battery_low") is not None:
        values["battery_low"] = truthy(data["battery_low"], "battery_low")
    if data.get("online") is not None:
        values["online"] = truthy(data["online"], "online")
    if not values:
        raise PayloadError("generic message without door, energy_kwh, water_m3, power_w, battery or online")
    return (ctx.reading(fmt, at=ctx.time(fmt, data.get("ts")), **values),)


ADAPTERS: dict[str, Callable[[bytes, Ctx], tuple[Reading, ...] | str]] = {
    "z2m": z2m,
    "z2m_availability": z2m_availability,
    "tasmota_sensor": tasmota_sensor,
    "tasmota_lwt": tasmota_lwt,
    "tasmota_state": tasmota_state,
    "shelly_rpc": shelly_rpc,
    "shelly_online": shelly_online,
    "shelly_gen1_door": shelly_gen1_door,
    "wmbus": wmbus,
    "generic_availability": generic_availability,
    "generic": generic,
}

ADAPTER_FORMAT: dict[str, DeviceFormat] = {
    "z2m": DeviceFormat.ZIGBEE2MQTT, "z2m_availability": DeviceFormat.ZIGBEE2MQTT,
    "tasmota_sensor": DeviceFormat.TASMOTA, "tasmota_lwt": DeviceFormat.TASMOTA,
    "tasmota_state": DeviceFormat.TASMOTA, "generic_availability": DeviceFormat.GENERIC,
    "shelly_rpc": DeviceFormat.SHELLY_GEN2, "shelly_online": DeviceFormat.SHELLY_GEN2,
    "shelly_gen1_door": DeviceFormat.SHELLY_GEN1, "wmbus": DeviceFormat.WMBUS, "generic": DeviceFormat.GENERIC,
}


# ------------------------------------------------------------------------------------------------- routing

@dataclass(frozen=True)
class TopicPattern:
    adapter: str
    pattern: str
    regex: re.Pattern = field(compare=False)
    subscription: str = ""


def compile_pattern(spec: str) -> TopicPattern:
    adapter, sep, pattern = spec.partition("=")
    adapter, pattern = adapter.strip(), pattern.strip()
    if not sep or adapter not in ADAPTERS:
        raise ValueError(f"bad topic pattern {spec!r}: expected '<adapter>=<pattern>' with adapter in "
                         f"{sorted(ADAPTERS)}")
    if pattern.count("{id") != 1:
        raise ValueError(f"bad topic pattern {spec!r}: exactly one {{id}} or {{id+}} placeholder required")
    regex_parts, sub_parts = [], []
    for level in pattern.split("/"):
        if level == "{id}":
            regex_parts.append(r"(?P<id>[^/]+)")
            sub_parts.append("+")
        elif level == "{id+}":
            regex_parts.append(r"(?P<id>.+?)")
            sub_parts.append("#")
        elif "{" in level or "+" in level or "#" in level:
            raise ValueError(f"bad topic pattern {spec!r}: placeholders must fill a whole topic level")
        else:
            regex_parts.append(re.escape(level))
            sub_parts.append(level)
    if "#" in sub_parts:
        sub_parts = sub_parts[:sub_parts.index("#") + 1]
    return TopicPattern(adapter=adapter, pattern=pattern, regex=re.compile("^" + "/".join(regex_parts) + "$"),
                        subscription="/".join(sub_parts))


class TopicRouter:
    CACHE_LIMIT = 200_000

    def __init__(self, specs: tuple[str, ...] | list[str] | None = None):
        """``specs`` None (``settings.iot_topic_patterns`` unset): DEFAULT_TOPIC_PATTERNS."""
        self.patterns = [compile_pattern(spec) for spec in (DEFAULT_TOPIC_PATTERNS if specs is None else specs)]
        self._cache: dict[str, tuple[str, str] | None] = {}

    def match(self, topic: str) -> tuple[str, str] | None:
        """(adapter, device id) for a topic; memoised, since devices repeat their topics."""
        try:
            return self._cache[topic]
        except KeyError:
            pass
        found = None
        for pattern in self.patterns:
            m = pattern.regex.match(topic)
            if m:
                found = (pattern.adapter, m.group("id"))
                break
        if len(self._cache) >= self.CACHE_LIMIT:
            self._cache.clear()
        self._cache[topic] = found
        return found

    def subscriptions(self) -> list[str]:
        subs: list[str] = []
        for pattern in self.patterns:
            if pattern.subscription not in subs:
                subs.append(pattern.subscription)
        # drop filters covered by a broader `prefix/#`
        broad = [s[:-1] for s in subs if s.endswith("/#")]
        return [s for s in subs if not any(s != b + "#" and s.startswith(b) for b in broad)]


# ---------------------------------------------------------------------------------------------- bounds
# Checked here, before the database: a value the tables cannot hold would make the whole batch fail to commit.
#: the longest topic kept (``iot_dead_letters.topic``, ``iot_commissioning.topic``)
MAX_TOPIC_LENGTH = 255
#: the longest device id (``iot_devices.external_id``, ``iot_commissioning.external_id``)
MAX_EXTERNAL_ID_LENGTH = 128
#: the largest payload parsed: real device messages are a few KiB (Shelly NotifyFullStatus ~10 KiB); a gateway
#: batch can be far larger, so the bound is generous (Mosquitto's message_size_limit is often set near it)
MAX_PAYLOAD_BYTES = 1024 * 1024
#: plausible ranges of the values stored (a register is cumulative: never negative)
REGISTER_RANGE = (0.0, 1e10)
POWER_RANGE = (-1e7, 1e7)
BATTERY_RANGE = (0, 100)


def out_of_bounds(r: Reading) -> str | None:
    """Why a reading cannot be stored, or None."""
    if len(r.device) > MAX_EXTERNAL_ID_LENGTH:
        return f"device id longer than {MAX_EXTERNAL_ID_LENGTH} characters"
    for name, value, (low, high) in (("energy_kwh", r.energy_kwh, REGISTER_RANGE),
                                     ("water_m3", r.water_m3, REGISTER_RANGE),
                                     ("power_w", r.power_w, POWER_RANGE), ("battery", r.battery, BATTERY_RANGE)):
        if value is not None and not low <= value <= high:
            return f"{name} {value!r} outside [{low}, {high}]"
    return None


def _default_tz_for(fmt: DeviceFormat, device: str) -> tzinfo:
    return DEFAULT_TZ


def parse_message(topic: str, payload: bytes, received_at: datetime, *, router: TopicRouter | None = None,
                  tz_for: TzFor | None = None) -> ParseResult:
    """Pure: never raises for bad input. Values outside the bounds above are errors (dead-lettered)."""
    if len(topic) > MAX_TOPIC_LENGTH:
        return ParseResult(error=f"topic longer than {MAX_TOPIC_LENGTH} characters")
    if len(payload) > MAX_PAYLOAD_BYTES:
        return ParseResult(error=f"payload of {len(payload)} bytes, more than {MAX_PAYLOAD_BYTES}")
    router = router or DEFAULT_ROUTER
    matched = router.match(topic)
    if matched is None:
        return ParseResult(ignored="topic matches no pattern")
    adapter_name, device = matched
    ctx = Ctx(topic, device, received_at, tz_for or _default_tz_for)
    try:
        result = ADAPTERS[adapter_name](bytes(payload), ctx)
    except PayloadError as exc:
        return ParseResult(error=str(exc), adapter=adapter_name, device=device)
    except (TypeError, KeyError, AttributeError, RecursionError, ValueError, OverflowError) as exc:
        return ParseResult(error=f"{type(exc).__name__}: {exc}"[:300], adapter=adapter_name, device=device)
    if isinstance(result, str):
        return ParseResult(ignored=result, adapter=adapter_name, device=device)
    for reading in result:
        why = out_of_bounds(reading)
        if why is not None:
            return ParseResult(error=why, adapter=adapter_name, device=device[:MAX_EXTERNAL_ID_LENGTH])
    return ParseResult(readings=result, adapter=adapter_name, device=device)


DEFAULT_ROUTER = TopicRouter()
