"""``rentwatch simulate``: realistic sensor traffic, in every supported payload format, for the demo portfolio.

Scenarios (picked from the portfolio's units, set up once — idempotent):
ordinary tenants, a sublet (usage ×4 and night-time door traffic for the last week), a silent move-out
(OCCUPIED, quiet for 20 days), a move-out in progress (MOVE_OUT_PENDING, quiet for 2 days → cleaning order),
a squatter (VACANT, lived in for 5 days, door opens live → instant alert), activity after a lease ended, plain
vacant units, a dead device (silent for 3 days), a low battery, an unregistered device (commissioning list),
and a few malformed messages (dead letters).

It back-fills ``days`` of hourly history with device timestamps (a gateway replaying), waits for the consumer
to store it, runs yesterday's detection, then keeps publishing live traffic.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt

from config.settings import Settings
from core.mqtt_client import configure_client
from iot.choices import DeviceFormat, DeviceKind

log = logging.getLogger("rentwatch.iot.simulator")
PREFIX = "sim"


@dataclass
class SimDevice:
    ext: str
    fmt: DeviceFormat
    kind: DeviceKind
    total: float = 0.0
    dead_after: datetime | None = None
    battery: int = 95
    last_open: bool = False


@dataclass
class SimUnit:
    code: str
    role: str  # tenant, sublet, silent, moveout, squatter, after_lease, vacant, dead
    devices: list[SimDevice] = field(default_factory=list)


DOOR_FORMATS = [DeviceFormat.ZIGBEE2MQTT, DeviceFormat.TASMOTA, DeviceFormat.GENERIC]
ELEC_FORMATS = [DeviceFormat.TASMOTA, DeviceFormat.SHELLY_GEN2, DeviceFormat.ZIGBEE2MQTT, DeviceFormat.GENERIC]
WATER_FORMATS = [DeviceFormat.WMBUS, DeviceFormat.GENERIC]


# ------------------------------------------------------------------------------------------------ messages

Encoded = list[tuple[str, bytes]]


def _z2m(dev: SimDevice, at: datetime, tz: ZoneInfo, door: bool | None, total: float | None,
         battery: int | None) -> Encoded:
    body: dict = {"linkquality": 80, "last_seen": at.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    if door is not None:
        body["contact"] = not door  # contact: true = closed
    if total is not None:
        body.update(energy=round(total, 3), power=0, state="ON")
    if battery is not None:
        body.update(battery=battery, battery_low=battery <= 15)
    return [(f"zigbee2mqtt/{dev.ext}", json.dumps(body).encode())]


def _tasmota(dev: SimDevice, at: datetime, tz: ZoneInfo, door: bool | None, total: float | None,
             battery: int | None) -> Encoded:
    body: dict = {"Time": at.astimezone(tz).replace(tzinfo=None).isoformat(timespec="seconds")}
    if door is not None:
        body["Switch1"] = "ON" if door else "OFF"
    if total is not None:
        body["ENERGY"] = {"Total": round(total, 3), "Power": 120}
    if len(body) == 1:
        return []
    return [(f"tele/{dev.ext}/SENSOR", json.dumps(body).encode())]


def _shelly(dev: SimDevice, at: datetime, tz: ZoneInfo, door: bool | None, total: float | None,
            battery: int | None) -> Encoded:
    if total is None:
        return []
    body = {"src": dev.ext, "dst": f"{dev.ext}/events", "method": "NotifyStatus",
            "params": {"ts": round(at.timestamp(), 2), "switch:0": {"id": 0, "aenergy": {
                "by_minute": [0, 0, 0], "minute_ts": int(at.timestamp()), "total": round(total * 1000, 3)}}}}
    return [(f"{dev.ext}/events/rpc", json.dumps(body).encode())]


def _wmbus(dev: SimDevice, at: datetime, tz: ZoneInfo, door: bool | None, total: float | None,
           battery: int | None) -> Encoded:
    if total is None:
        return []
    body = {"_": "telegram", "media": "water", "meter": "iperl", "name": dev.ext, "id": dev.ext,
            "total_m3": round(total, 4), "timestamp": at.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    return [(f"wmbusmeters/{dev.ext}", json.dumps(body).encode())]


def _generic(dev: SimDevice, at: datetime, tz: ZoneInfo, door: bool | None, total: float | None,
             battery: int | None) -> Encoded:
    body: dict = {"ts": int(at.timestamp() * 1000)}
    if door is not None:
        body["door"] = "open" if door else "closed"
    if total is not None:
        body["water_m3" if dev.kind == DeviceKind.WATER else "energy_kwh"] = round(total, 4)
    if battery is not None:
        body["battery"] = battery
    if len(body) == 1:
        return []
    return [(f"rentwatch/devices/{dev.ext}", json.dumps(body).encode())]


ENCODERS = {DeviceFormat.ZIGBEE2MQTT: _z2m, DeviceFormat.TASMOTA: _tasmota, DeviceFormat.SHELLY_GEN2: _shelly,
            DeviceFormat.WMBUS: _wmbus}


def encode(dev: SimDevice, at: datetime, tz: ZoneInfo, *, door: bool | None = None, total: float | None = None,
           battery: int | None = None) -> Encoded:
    """The message(s) a device of this format would publish."""
    return ENCODERS.get(dev.fmt, _generic)(dev, at, tz, door, total, battery)


def hour_profile(role: str, day_ago: int, hour: int) -> tuple[float, float, list[int]]:
    """(kWh, m³, door-opening minutes) for one local hour. ``day_ago`` 0 = today."""
    lived = role in ("tenant", "sublet", "after_lease") or (role == "squatter" and day_ago < 5) or \
        (role == "silent" and day_ago >= 20) or (role == "moveout" and day_ago >= 2)
    if not lived:
        return 0.02, 0.0, []
    scale = 4.0 if role == "sublet" and day_ago < 7 else 1.0
    kwh = (0.3 if 7 <= hour < 23 else 0.05) * scale
    m3 = (0.012 if hour in (7, 8, 19, 20, 21) else 0.0) * scale
    opens = [5] if hour in (8, 19) else []
    if role == "sublet" and day_ago < 7 and hour in (2, 11, 14, 22):
        opens = [20]
    if role == "squatter" and hour == 2:
        opens = [30]
    return kwh, m3, opens


# ------------------------------------------------------------------------------------------------ scenarios

async def prepare_scenarios(now: datetime) -> list[SimUnit]:
    """Pick scenario units, register their devices, set statuses. Idempotent: returns the existing setup."""
    from iot.service import DeviceIn, register_device
    from leasing.choices import LIVE_LEASE_STATUSES, LeaseStatus, PaymentFrequency
    from leasing.service import create_lease
    from models.iot import Device
    from models.leasing import Lease
    from models.portfolio import Unit
    from portfolio.choices import StatusSource, UnitStatus
    from portfolio.service import change_unit_status
    from workorders.choices import TriggerSource, WorkOrderType
    from workorders.service import complete_open_orders

    existing = await Device.filter(external_id__startswith=f"{PREFIX}-").prefetch_related("unit")
    if existing:
        units: dict[str, SimUnit] = {}
        for d in existing:
            if d.unit is None:
                continue
            role = d.external_id.split("-")[1]
            sim = units.setdefault(d.unit.code, SimUnit(d.unit.code, role))
            sim.devices.append(SimDevice(d.external_id, DeviceFormat(d.format), DeviceKind(d.kind),
                                         total=d.last_total or 0.0))
        return _mark_dead(list(units.values()), now)

    leased_ids = set(cast(list[int], await Lease.filter(status__in=list(LIVE_LEASE_STATUSES))
                          .values_list("unit_id", flat=True)))
    leased = [u for u in await Unit.filter(status__in=[UnitStatus.PENDING_DELIVERY, UnitStatus.OCCUPIED])
              .order_by("code") if u.id in leased_ids]
    vacant = [u for u in await Unit.filter(status=UnitStatus.VACANT).order_by("code") if u.id not in leased_ids]
    plan: list[tuple] = []
    for unit, role in zip(leased, ["tenant", "tenant", "tenant", "sublet", "silent", "moveout", "tenant"],
                          strict=False):
        plan.append((unit, role))
    for unit, role in zip(vacant, ["squatter", "after_lease", "vacant", "vacant", "dead"], strict=False):
        plan.append((unit, role))
    if len(plan) < 12:
        log.warning("the portfolio is small: only %d scenario units", len(plan))
    sims = []
    rng = random.Random(7)
    for n, (unit, role) in enumerate(plan):
        if role in ("tenant", "sublet", "silent", "moveout") and unit.status == UnitStatus.PENDING_DELIVERY:
            await change_unit_status(unit.id, UnitStatus.OCCUPIED, source=StatusSource.ADMIN,
                                     now=now - timedelta(days=35), reason="demo scenario: tenant moved in")
        if role in ("tenant", "sublet", "silent", "moveout"):
            # moved in long ago: the pre-delivery cleaning opened at signing was done before that
            await complete_open_orders(unit.id, WorkOrderType.CLEANING, TriggerSource.LEASE_SIGNED,
                                       now=now - timedelta(days=36), note="demo scenario: cleaned before move-in")
        if role == "moveout":
            await change_unit_status(unit.id, UnitStatus.MOVE_OUT_PENDING, source=StatusSource.ADMIN,
                                     now=now - timedelta(days=3), reason="demo scenario: notice given")
        if role == "after_lease":
            lease = await create_lease(unit=unit, tenant_name="演示前租户", tenant_phone="13811112222",
                                       start_date=now.date() - timedelta(days=375),
                                       end_date=now.date() - timedelta(days=10), monthly_rent_fen=300000,
                                       deposit_fen=600000, payment_frequency=PaymentFrequency.MONTHLY)
            await Lease.filter(id=lease.id).update(status=LeaseStatus.ENDED)
        sim = SimUnit(unit.code, role)
        for kind, formats in ((DeviceKind.DOOR, DOOR_FORMATS), (DeviceKind.ELECTRICITY, ELEC_FORMATS),
                              (DeviceKind.WATER, WATER_FORMATS)):
            fmt = formats[n % len(formats)]
            ext = f"{PREFIX}-{role}-{unit.code}-{kind.lower()}"
            await register_device(DeviceIn(external_id=ext, format=fmt, kind=kind, unit_code=unit.code,
                                           installed_at=now - timedelta(days=40), report_period_s=None), None)
            sim.devices.append(SimDevice(ext, fmt, kind, total=round(rng.uniform(100, 5000), 2)))
        sims.append(sim)
    return _mark_dead(sims, now)


def _mark_dead(sims: list[SimUnit], now: datetime) -> list[SimUnit]:
    for sim in sims:
        for dev in sim.devices:
            if sim.role == "dead" and dev.kind == DeviceKind.DOOR:
                dev.dead_after = now - timedelta(days=3)
            if sim.role == "tenant" and dev.kind == DeviceKind.DOOR and sim is sims[0]:
                dev.battery = 9
    return sims


def hour_messages(sims: list[SimUnit], start: datetime, tz: ZoneInfo, now: datetime) -> list[tuple[str, bytes]]:
    """Every message of one hour starting at ``start`` (UTC, on the hour)."""
    local = start.astimezone(tz)
    day_ago = (now.astimezone(tz).date() - local.date()).days
    out: list[tuple[str, bytes]] = []
    for sim in sims:
        kwh, m3, opens = hour_profile(sim.role, day_ago, local.hour)
        for dev in sim.devices:
            at = start + timedelta(minutes=59)
            if dev.dead_after and at > dev.dead_after:
                continue
            if dev.kind == DeviceKind.DOOR:
                for minute in opens:
                    t_open = start + timedelta(minutes=minute)
                    out += encode(dev, t_open, tz, door=True)
                    out += encode(dev, t_open + timedelta(minutes=2), tz, door=False)
                if local.hour % 6 == 0:  # periodic report repeating the cached state
                    out += encode(dev, start + timedelta(minutes=1), tz, door=False, battery=dev.battery)
            else:
                dev.total += m3 if dev.kind == DeviceKind.WATER else kwh
                out += encode(dev, at, tz, total=dev.total)
    return out


def backfill_messages(sims: list[SimUnit], now: datetime, days: int,
                      tz: ZoneInfo) -> Iterator[tuple[datetime, list[tuple[str, bytes]]]]:
    """The history of the last ``days`` up to ``now``, (hour, its messages) oldest first (a gateway replaying
    with device timestamps). A pure function of the scenarios and ``now``."""
    hour = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    while hour + timedelta(hours=1) <= now:
        yield hour, hour_messages(sims, hour, tz, now)
        hour += timedelta(hours=1)


BACKFILL_CHUNK_HOURS = 6


async def publish_backfill(publisher: SimPublisher, sims: list[SimUnit], now: datetime, days: int,
                           tz: ZoneInfo) -> int:
    """Publish the back-fill in chunks of a few hours, never more than two chunks ahead of what the consumer
    has stored: a broker keeps only so many messages for a slow subscriber (Mosquitto: ``max_queued_messages``,
    default 1000) and drops the rest. Returns the number of messages published."""
    sent = 0
    stored_until: datetime | None = None  # wait for this before publishing further
    for hour, batch in backfill_messages(sims, now, days, tz):
        await publisher.send(batch)
        sent += len(batch)
        if hour.hour % BACKFILL_CHUNK_HOURS == BACKFILL_CHUNK_HOURS - 1:
            if stored_until is not None:
                await wait_stored(sims, stored_until)
            stored_until = hour + timedelta(minutes=59)  # the meters' reading time of this hour
    return sent


async def wait_stored(sims: list[SimUnit], until: datetime, timeout_s: float = 120.0) -> bool:
    """Wait (bounded) until the consumer has stored every scenario meter's readings up to ``until``."""
    from tortoise.expressions import Q

    from models.iot import Device

    meters = [d.ext for sim in sims for d in sim.devices if d.kind != DeviceKind.DOOR and not d.dead_after]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while await Device.filter(Q(last_total_at__isnull=True) | Q(last_total_at__lt=until),
                              external_id__in=meters).exists():
        if loop.time() > deadline:
            log.warning("the consumer has not stored the readings up to %s after %.0f s; publishing on",
                        until.isoformat(), timeout_s)
            return False
        await asyncio.sleep(0.05)
    return True


def live_messages(sims: list[SimUnit], t: datetime, tz: ZoneInfo, interval_s: float) -> list[tuple[str, bytes]]:
    """One live tick at ``t``: the squatter's door toggles (somebody keeps coming and going), every live meter
    reports what it used during the last ``interval_s`` seconds."""
    live: list[tuple[str, bytes]] = []
    for sim in sims:
        if sim.role != "squatter":
            continue
        for dev in sim.devices:
            if dev.kind == DeviceKind.DOOR:
                dev.last_open = not dev.last_open
                live += encode(dev, t, tz, door=dev.last_open)
    for sim in sims:
        for dev in sim.devices:
            if dev.kind != DeviceKind.DOOR and not dev.dead_after:
                kwh, m3, _ = hour_profile(sim.role, 0, t.astimezone(tz).hour)
                dev.total += (m3 if dev.kind == DeviceKind.WATER else kwh) * interval_s / 3600
                live += encode(dev, t, tz, total=dev.total)
    return live


def extras(now: datetime) -> list[tuple[str, bytes]]:
    """An unregistered device (commissioning list) and malformed messages (dead letters)."""
    stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return [
        ("zigbee2mqtt/unregistered_door_9F", json.dumps({"contact": True, "battery": 88, "last_seen": stamp}).encode()),
        ("tele/unknown_pow/SENSOR", b'{"ENERGY":{"Total":12.5}}'),
        ("rentwatch/devices/sim-broken", b'{"energy_kwh": "lots"'),
        ("wmbusmeters/garbled", b"\x00\x01 not a telegram"),
    ]


# ------------------------------------------------------------------------------------------------ publishing

#: how long the simulator waits for the broker's answer (CONNACK, the PUBACK of a flow-control window)
PUBACK_WAIT_SECONDS = 30.0
#: how often it looks while it waits
POLL_SECONDS = 0.005


async def until(done: Callable[[], bool], timeout: float) -> bool:
    """Wait on the event loop for paho's network thread to make ``done()`` true (False after ``timeout``). A
    blocking wait in a worker thread (``wait_for_publish``) outlived a cancelled simulator by up to its timeout —
    the broker gone at shutdown never answers — and held ``serve``'s background process from exiting."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
    return True


class SimPublisher:
    def __init__(self, settings: Settings, *, topic_prefix: str = "", credentials: tuple[str, str] | None = None):
        """``credentials``: the simulator's broker account (None: anonymous)."""
        self.topic_prefix = topic_prefix  # e.g. "site1/" when the topic patterns carry one
        self.sent = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"rentwatch-simulator-{random.random()}")
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        configure_client(self.client, settings, credentials)
        self.host, self.port = settings.mqtt_host_port
        self.last: mqtt.MQTTMessageInfo | None = None

    async def connect(self) -> None:
        """Connect and wait for the broker's answer: a refusal (wrong credentials) is an error, not silence."""
        answered = threading.Event()
        refused: list[str] = []

        def on_connect(client, userdata, flags, reason_code, properties):
            if reason_code.is_failure:
                refused.append(str(reason_code))
                client.disconnect()
            answered.set()

        self.client.on_connect = on_connect
        for attempt in range(60):
            try:
                await asyncio.to_thread(self.client.connect, self.host, self.port, 30)
                break
            except OSError:
                if attempt == 0:
                    log.info("waiting for the MQTT broker at %s:%s …", self.host, self.port)
                await asyncio.sleep(1)
        else:
            raise RuntimeError(f"no MQTT broker at {self.host}:{self.port}")
        self.client.loop_start()
        if not await until(answered.is_set, PUBACK_WAIT_SECONDS) or refused:
            self.client.loop_stop()
            raise RuntimeError(f"the MQTT broker at {self.host}:{self.port} refused the simulator: "
                               f"{refused[0] if refused else 'no answer'}")

    async def send(self, messages: list[tuple[str, bytes]]) -> None:
        for n, (topic, payload) in enumerate(messages):
            self.last = self.client.publish(self.topic_prefix + topic, payload, qos=1)
            self.sent += 1
            if n % 200 == 199:
                await until(self.last.is_published, PUBACK_WAIT_SECONDS)
        if self.last is not None:
            await until(self.last.is_published, PUBACK_WAIT_SECONDS)

    def close(self) -> None:
        """DISCONNECT while the network loop still runs (it sends the packet): stopped first, the broker kept a
        half-open session and its own stop waited on it."""
        self.client.disconnect()
        self.client.loop_stop()


SIMULATOR_ACCOUNT = "rentwatch-simulator"


async def issue_simulator_credentials(settings: Settings, sims: list[SimUnit], now: datetime, *,
                                      topic_prefix: str = "") -> tuple[str, str]:
    """The simulator is a gateway: an account (re-issued each run, the previous one revoked) that may publish its
    devices' topics and the extras' (unregistered devices and malformed messages, on their own topics)."""
    from iot.credentials import issue_for_gateway

    devices: list[tuple[str, DeviceFormat | None]] = [(d.ext, d.fmt) for sim in sims for d in sim.devices]
    issued = await issue_for_gateway(settings, SIMULATOR_ACCOUNT, now=now, by="simulator", devices=devices,
                                     topics=[topic_prefix + topic for topic, _ in extras(now)])
    return SIMULATOR_ACCOUNT, issued.password


async def simulator_credentials(settings: Settings, sims: list[SimUnit], now: datetime) -> tuple[str, str] | None:
    """The embedded broker: an account issued for the simulator. An external broker: the account in RW_MQTT_URL
    (give it the simulated devices' topics)."""
    if settings.uses_embedded_broker:
        return await issue_simulator_credentials(settings, sims, now) if settings.embedded_mqtt_auth else None
    return settings.mqtt_credentials


async def run_simulation(settings: Settings, *, days: int = 30, live_minutes: float = 10.0, prepare: bool = True,
                         live_interval_s: float = 10.0) -> dict:
    from iot.jobs import run_detection
    from models.iot import HourlyRollup

    tz = ZoneInfo(settings.iot_timezone)
    now = datetime.now(UTC)
    sims = await prepare_scenarios(now) if prepare else []
    if not sims:
        log.warning("no scenario units: run `rentwatch demo-seed` first (or drop --no-prepare)")
        return {}
    roles = sorted({s.role for s in sims})
    log.info("simulating %d units (%s) with %d devices", len(sims), ", ".join(roles),
             sum(len(s.devices) for s in sims))
    publisher = SimPublisher(settings, credentials=await simulator_credentials(settings, sims, now))
    await publisher.connect()
    try:
        sent = await publish_backfill(publisher, sims, now, days, tz)
        await publisher.send(extras(now))
        log.info("back-filled %d days: %d messages", days, sent)
        before = -1
        for _ in range(120):  # wait until the consumer has stored the back-fill
            count = await HourlyRollup.all().count()
            if count == before:
                break
            before = count
            await asyncio.sleep(2)
        yesterday = now.astimezone(tz).date() - timedelta(days=1)
        stats = await run_detection(yesterday, settings, now=now)
        log.info("detection for %s: %s", yesterday, json.dumps({k: v for k, v in stats.items() if k != "sweep"},
                                                             default=str, ensure_ascii=False))
        deadline = asyncio.get_running_loop().time() + live_minutes * 60
        while asyncio.get_running_loop().time() < deadline:
            await publisher.send(live_messages(sims, datetime.now(UTC), tz, live_interval_s))
            await asyncio.sleep(live_interval_s)
        return stats
    finally:
        publisher.close()


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)
