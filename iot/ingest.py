"""From parsed readings to stored facts, in batches: device state, door events, meter samples, hourly roll-ups,
dead letters, commissioning entries — written in one transaction per batch — then the instant rules.

Exactly-once storage: every fact has a unique key in the database (door event: device+time+state; sample:
device+time; roll-up: device+hour, only incremented for facts that are new). The per-device running state
(last contact state, last register value) is persisted in the same transaction, so after a restart the
consumer continues exactly where the database is, and QoS 1 re-deliveries are recognised as duplicates.

Two ways to keep that running state right:
- one consumer (the default): the in-memory state is the truth; batch N+1 is computed while N is committed;
- several consumers on one shared subscription (``locking``): one device's messages are split between them,
  so each batch locks its devices' rows (in id order: no deadlocks), reloads their state from those rows and
  computes and writes inside that transaction. Parsing still runs ahead of the commit; the state does not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from config.settings import Settings
from core import sql
from core.sql import is_postgres, names
from iot.acl import topic_matches
from iot.actions import instant_alerts
from iot.adapters import ADAPTER_FORMAT, MAX_EXTERNAL_ID_LENGTH, ParseResult, Reading, TopicRouter, parse_message, zone
from iot.choices import METER_KINDS, DeviceFormat, DeviceKind, SampleFlag
from iot.credentials import device_bindings
from iot.meter import meter_step
from iot.rules import DoorOpened
from models.iot import CommissioningEntry, DeadLetter, Device, DoorEvent, HourlyRollup, MeterSample

log = logging.getLogger("rentwatch.iot.ingest")


@dataclass(slots=True)
class RawMessage:
    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0  # MQTT packet id, acknowledged after the commit (QoS 1)
    qos: int = 0
    generation: int = 0  # which connection delivered it: an ack is only valid on that connection
    dup: bool = False  # MQTT DUP: the broker is re-sending a message it may have delivered before
    retain: bool = False  # the broker replaying a retained message on (re)subscribe, not news from the device


@dataclass(slots=True)
class DeviceState:
    id: int
    kind: DeviceKind
    unit_id: int | None
    tz: ZoneInfo
    invert: bool
    last_open: bool | None
    last_door_at: datetime | None
    last_total: float | None
    last_total_at: datetime | None
    pending: float | None
    last_seen: datetime | None
    online: bool | None
    battery: int | None
    battery_low: bool
    available: bool | None = None  # the last availability message (online / offline), retained ones included
    available_at: datetime | None = None
    heartbeat_at: datetime | None = None
    dirty: bool = False


@dataclass
class BatchOutcome:
    door_opens: list[DoorOpened] = field(default_factory=list)
    #: devices newly reporting a low battery: id → (device id, unit id, battery, when)
    battery_low: dict[int, tuple[int, int | None, int | None, datetime]] = field(default_factory=dict)
    stats: Counter = field(default_factory=Counter)


@dataclass
class Prepared:
    out: BatchOutcome
    dead: list
    commissioning: list
    door_rows: list
    sample_rows: list
    late_doors: list
    late_samples: list
    hourly: dict
    device_rows: list
    bump: Callable


@dataclass
class Parsed:
    """Locking mode: a batch parsed ahead of the commit; the state-dependent rest runs under the device locks."""

    parsed: list


ONE_HOUR = timedelta(hours=1)
#: an identical register value without device time this soon after the previous one is a duplicate
REPEAT_WINDOW = timedelta(seconds=60)

def hour_ts(at: datetime) -> int:
    return int(at.timestamp()) // 3600


def printable_payload(payload: bytes, limit: int) -> str:
    text = payload[:limit].decode("utf-8", errors="backslashreplace")
    return text.replace("\x00", "\\x00") + ("…" if len(payload) > limit else "")


class Ingestor:
    """Turns batches of raw MQTT messages into stored facts. One instance per consumer."""

    CACHE_TTL_SECONDS = 60.0
    #: messages parsed between two yields to the event loop (a few milliseconds of work)
    PARSE_CHUNK = 500

    def __init__(self, settings: Settings, *, on_alerts: bool = True, locking: bool | None = None):
        self.settings = settings
        # several consumers share the devices (MQTT 5 shared subscription): device state from locked rows
        self.locking = bool(settings.mqtt_shared_group) if locking is None else locking
        self.router = TopicRouter(settings.iot_topic_patterns)
        self.cache: dict[tuple[str, str], DeviceState | None] = {}
        self.cache_loaded = time.monotonic()
        #: device id → (its broker account, the topics that account may publish); None: not loaded
        self.bindings: dict[int, tuple[str, tuple[str, ...]]] | None = None
        self.stats: Counter = Counter()
        self.run_instant_rules = on_alerts
        self.committing = False
        #: the newest device time of a reading stored for a known device (``rentwatch consume --clock replay``)
        self.newest_at: datetime | None = None
        self.rates = {DeviceKind.ELECTRICITY: settings.iot_max_kw, DeviceKind.PLUG: settings.iot_max_kw,
                      DeviceKind.WATER: settings.iot_max_m3_per_hour}

    def forget(self) -> None:
        self.cache.clear()
        self.cache_loaded = time.monotonic()
        self.bindings = None

    # ------------------------------------------------------------------------------------------- device cache
    async def load_devices(self, keys: Iterable[tuple[str, str]]) -> None:
        missing = {k for k in keys if k not in self.cache}
        if not missing:
            return
        by_format: dict[str, list[str]] = {}
        for fmt, ext in missing:
            by_format.setdefault(fmt, []).append(ext)
        for fmt, exts in by_format.items():
            for start in range(0, len(exts), 500):
                chunk = exts[start:start + 500]
                rows = await Device.filter(format=fmt, external_id__in=chunk).values(
                    "id", "external_id", "kind", "unit_id", "invert", "last_contact_open", "last_door_at",
                    "last_total", "last_total_at", "pending_total", "last_seen", "online", "battery",
                    "battery_low", "available", "available_at", "heartbeat_at", "building__timezone")
                for row in rows:
                    self.cache[(fmt, row["external_id"])] = DeviceState(
                        id=row["id"], kind=DeviceKind(row["kind"]), unit_id=row["unit_id"],
                        tz=zone(row["building__timezone"], self.settings.iot_timezone), invert=row["invert"],
                        last_open=row["last_contact_open"], last_door_at=row["last_door_at"],
                        last_total=row["last_total"], last_total_at=row["last_total_at"],
                        pending=row["pending_total"], last_seen=row["last_seen"], online=row["online"],
                        battery=row["battery"], battery_low=bool(row["battery_low"]), available=row["available"],
                        available_at=row["available_at"], heartbeat_at=row["heartbeat_at"])
        for key in missing:
            self.cache.setdefault(key, None)

    def tz_for(self, fmt: DeviceFormat, device: str):
        state = self.cache.get((fmt, device))  # a StrEnum member hashes and compares as its value
        return state.tz if state else zone(None, self.settings.iot_timezone)

    # -------------------------------------------------------------------------------------------- the batch
    async def process(self, messages: list[RawMessage]) -> BatchOutcome:
        """Parse, dedupe and persist one batch in one transaction. Raises only for database errors (the
        caller calls ``forget()`` and retries the same batch; nothing was committed)."""
        return await self.commit(await self.prepare(messages))

    async def prepare(self, messages: list[RawMessage]) -> Prepared | Parsed:
        """The CPU half: parse, dedupe against the in-memory device state, build the rows. The consumer
        prepares batch N+1 while batch N is being committed (one commit in flight at most). In locking mode
        only the parsing: the state-dependent half runs in ``commit``, under the device locks."""
        if time.monotonic() - self.cache_loaded > self.CACHE_TTL_SECONDS and not self.committing:
            self.forget()
        keys = set()
        for msg in messages:
            matched = self.router.match(msg.topic)
            if matched and len(matched[1]) <= MAX_EXTERNAL_ID_LENGTH:  # longer: dead-lettered by the adapters
                keys.add((str(ADAPTER_FORMAT[matched[0]]), matched[1]))
        await self.load_devices(keys)
        parsed: list[tuple[RawMessage, ParseResult]] = []
        router, tz_for = self.router, self.tz_for
        for start in range(0, len(messages), self.PARSE_CHUNK):
            if start:
                # Let the loop run between chunks: the batch committing meanwhile sends its next statement as soon
                # as the previous one returns, so the database works while this batch is parsed.
                await asyncio.sleep(0)
            parsed += [(msg, parse_message(msg.topic, msg.payload, msg.received_at, router=router, tz_for=tz_for))
                       for msg in messages[start:start + self.PARSE_CHUNK]]
        await self.load_devices(self._reading_keys(parsed))
        if self.bindings is None and any(r.device != res.device for _, res in parsed for r in res.readings):
            self.bindings = await device_bindings()
        if self.locking:
            return Parsed(parsed)
        return self._build(parsed)

    @staticmethod
    def _reading_keys(parsed: list) -> set[tuple[str, str]]:
        return {(str(r.format), r.device) for _, res in parsed for r in res.readings}

    async def _lock_devices(self, conn, parsed: list) -> None:
        """Lock the batch's device rows in id order (PostgreSQL ``FOR UPDATE``; SQLite transactions are
        serialized anyway) and reload their running state from them: another consumer may have moved it."""
        keys = self._reading_keys(parsed)
        await self.load_devices(keys)  # entries dropped by a cache expiry since ``prepare``
        by_id = {state.id: key for key in keys if (state := self.cache.get(key)) is not None}
        ids = sorted(by_id)
        rows: list[dict] = []
        d = names(Device)
        cols = d.cols("id", "unit_id", "invert", "last_contact_open", "last_door_at", "last_total", "last_total_at",
                      "pending_total", "last_seen", "online", "battery", "battery_low", "available", "available_at",
                      "heartbeat_at")
        if is_postgres(conn):
            if ids:
                found = await sql.execute(
                    conn, f"SELECT {cols} FROM {d} WHERE {d.id} = ANY(?::integer[]) ORDER BY {d.id} FOR UPDATE", [ids])
                rows = [dict(r) for r in found]
        else:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                found = await sql.execute(
                    conn, f"SELECT {cols} FROM {d} WHERE {d.id} IN ({sql.marks(len(chunk))}) ORDER BY {d.id}", chunk)
                rows += [dict(r) for r in found]
        for row in rows:
            key = by_id.pop(row["id"])
            state = self.cache[key]
            assert state is not None  # by_id holds cached devices only
            state.unit_id, state.invert = row["unit_id"], bool(row["invert"])
            state.last_open = None if row["last_contact_open"] is None else bool(row["last_contact_open"])
            state.last_door_at = _dt_or_none(row["last_door_at"])
            state.last_total, state.last_total_at = row["last_total"], _dt_or_none(row["last_total_at"])
            state.pending, state.last_seen = row["pending_total"], _dt_or_none(row["last_seen"])
            state.online = None if row["online"] is None else bool(row["online"])
            state.battery, state.battery_low = row["battery"], bool(row["battery_low"])
            state.available = None if row["available"] is None else bool(row["available"])
            state.available_at, state.heartbeat_at = _dt_or_none(row["available_at"]), _dt_or_none(row["heartbeat_at"])
            state.dirty = False
        for key in by_id.values():  # deleted meanwhile: an unknown device again
            self.cache[key] = None

    def _build(self, parsed: list) -> Prepared:
        out = BatchOutcome()
        stats = out.stats
        dead: list[list] = []
        commissioning: dict[tuple[str, str], list] = {}
        door_rows: list[list] = []
        sample_rows: list[list] = []
        late_samples: list[tuple[DeviceState, float, datetime, datetime]] = []
        late_doors: list[tuple[DeviceState, bool, datetime, datetime]] = []
        hourly: dict[tuple[int, int], list] = {}
        limit = self.settings.iot_dead_letter_max_bytes
        touched: dict[int, DeviceState] = {}

        def bump(state: DeviceState, at: datetime, value: float, messages_: int = 1) -> None:
            key = (state.id, hour_ts(at))
            row = hourly.get(key)
            if row is None:
                hourly[key] = [state.id, state.unit_id, str(state.kind), key[1], value, messages_]
            else:
                row[4] += value
                row[5] += messages_

        for msg, result in parsed:
            stats["messages"] += 1
            if result.error:
                stats["dead_letters"] += 1
                log.warning("bad payload on %s: %s; payload %r", msg.topic[:255], result.error, msg.payload[:120])
                dead.append([msg.topic[:255], printable_payload(msg.payload, limit), len(msg.payload),
                             result.error[:300], msg.received_at])
                continue
            if result.ignored:
                stats["ignored"] += 1
                continue
            for reading in result.readings:
                key = (str(reading.format), reading.device)
                state = self.cache.get(key)
                if state is None:
                    stats["unknown_device"] += 1
                    entry = commissioning.get(key)
                    if entry is None:
                        commissioning[key] = [key[0], key[1][:128], msg.topic[:255],
                                              printable_payload(msg.payload, limit), msg.received_at,
                                              msg.received_at, 1]
                    else:
                        entry[5] = max(entry[5], msg.received_at)
                        entry[6] += 1
                    continue
                refused = None if reading.device == result.device or not self.bindings else \
                    self._foreign(state, reading, msg.topic)
                if refused is not None:
                    stats["foreign_refused"] += 1
                    stats["dead_letters"] += 1
                    log.warning("refused a reading on %s: %s", msg.topic[:255], refused)
                    dead.append([msg.topic[:255], printable_payload(msg.payload, limit), len(msg.payload),
                                 refused[:300], msg.received_at])
                    continue
                touched[state.id] = state
                if reading.device_time and (self.newest_at is None or reading.at > self.newest_at):
                    self.newest_at = reading.at
                self._apply(state, reading, msg, out, door_rows, sample_rows, late_samples, late_doors, bump)

        device_rows = [[s.id, s.last_seen, s.online, s.battery, s.battery_low, s.last_open, s.last_door_at,
                        s.last_total, s.last_total_at, s.pending, s.available, s.available_at, s.heartbeat_at]
                       for s in touched.values() if s.dirty]
        for state in touched.values():
            state.dirty = False
        # in key order: two consumers upserting the same unknown devices must not lock them in opposite orders
        return Prepared(out, dead, sorted(commissioning.values()), door_rows, sample_rows, late_doors, late_samples,
                        hourly, device_rows, bump)

    def _foreign(self, state: DeviceState, reading: Reading, topic: str) -> str | None:
        """Why a reading must be refused: its device is named by the payload (a gateway's message: Tasmota
        ZbReceived, a wM-Bus telegram id, a Shelly channel) and is bound to a broker account that may not publish
        on this topic. Publishes on another device's topic are the broker's to refuse (its ACLs): the consumer
        does not learn who published a message (MQTT 3.1.1 and 5 carry no publisher), only its topic. Called only
        for a reading whose device differs from the topic's (the common case costs one comparison)."""
        assert self.bindings is not None  # the caller checked: a payload-named device, bindings loaded
        bound = self.bindings.get(state.id)
        if bound is None or any(topic_matches(f, topic) for f in bound[1]):
            return None
        return f"device {reading.device} is bound to broker account {bound[0]}, which may not publish on this topic"

    async def commit(self, p: Prepared | Parsed) -> BatchOutcome:
        """The database half: everything of one batch in one transaction, the instant alerts included — so a
        failure raising an alert rolls the readings back too, and the redelivered batch raises it (had the readings
        been committed first, the redelivery would be all duplicates and the alert lost)."""
        self.committing = True
        try:
            async with in_transaction() as conn:
                if isinstance(p, Parsed):
                    await self._lock_devices(conn, p.parsed)
                    p = self._build(p.parsed)
                await self._write(conn, p)
                out = p.out
                if self.run_instant_rules and (out.door_opens or out.battery_low):
                    await instant_alerts(out.door_opens, list(out.battery_low.values()))
        finally:
            self.committing = False
        stats = out.stats
        stats["door_events"] += len(p.door_rows)
        stats["samples"] += len(p.sample_rows)
        self.stats.update(stats)
        return out

    async def dead_letter(self, msg: RawMessage, error: BaseException) -> None:
        """A message that cannot be stored (the batch holding it alone failed): kept in the dead letters with the
        error, so the rest of the stream goes on. Raises if even that cannot be written (the database is down)."""
        reason = f"could not be stored: {type(error).__name__}: {error}"
        log.warning("dead-lettering a message on %s that cannot be stored: %s", msg.topic[:255], reason)
        await DeadLetter.create(topic=msg.topic[:255], payload=printable_payload(
            msg.payload, self.settings.iot_dead_letter_max_bytes), payload_size=len(msg.payload),
            reason=reason[:300], received_at=msg.received_at)
        self.stats["dead_letters"] += 1
        self.stats["unstorable"] += 1

    async def _write(self, conn, p: Prepared) -> None:
        out, stats, bump = p.out, p.out.stats, p.bump
        if p.dead:
            await sql.execute_many(conn, SQL_DEAD_LETTER, p.dead)
        if p.commissioning:
            await sql.execute_many(conn, SQL_COMMISSIONING, p.commissioning)
        # New facts by the running state (a replayed batch's are recognised there, or by the fallback's ON CONFLICT)
        await sql.copy_new(conn, str(_de), DOOR_COLUMNS, SQL_DOOR_EVENTS,
                           ["int", "int", "timestamptz", "bool", "timestamptz"], p.door_rows)
        await sql.copy_new(conn, str(_ms), SAMPLE_COLUMNS, SQL_SAMPLES,
                           ["int", "timestamptz", "float8", "float8", "text", "timestamptz"], p.sample_rows)
        for state, is_open, at, received_at in p.late_doors:
            await self._late_door(conn, state, is_open, at, received_at, out, bump)
        for state, total, at, received_at in p.late_samples:
            await self._late_sample(conn, state, total, at, received_at, stats, bump)
        await sql.bulk(conn, SQL_HOURLY, ["int", "int", "text", "int8", "float8", "int"], list(p.hourly.values()))
        if not p.device_rows:
            return
        if is_postgres(conn):
            await sql.bulk(conn, SQL_DEVICES_PG, ["int", "timestamptz", "bool", "int", "bool", "bool", "timestamptz",
                                                  "float8", "timestamptz", "float8", "bool", "timestamptz",
                                                  "timestamptz"], p.device_rows)
        else:
            await sql.execute_many(conn, SQL_DEVICES, [r[1:] + r[:1] for r in p.device_rows])

    def _apply(self, state: DeviceState, r: Reading, msg: RawMessage, out: BatchOutcome, door_rows, sample_rows,
               late_samples, late_doors, bump) -> None:
        state.dirty = True
        alive = self._liveness(state, r, msg.retain)
        if r.battery is not None or r.battery_low is not None:
            self._battery(state, r, out)
        counted = False
        if state.kind == DeviceKind.DOOR:
            if r.door_open is not None:
                counted = True
                self._door(state, r, out, door_rows, late_doors, bump)
        elif state.kind in METER_KINDS:
            total = r.water_m3 if state.kind == DeviceKind.WATER else r.energy_kwh
            if total is not None:
                counted = True
                self._meter(state, r, total, msg.dup, out.stats, sample_rows, late_samples, bump)
        if not counted and alive:  # a message in the hour's count (occupancy: "the door reported")
            bump(state, r.at if r.at <= r.received_at else r.received_at, 0.0)

    @staticmethod
    def _liveness(state: DeviceState, r: Reading, retained: bool) -> bool:
        """Signs of life: neither an "offline" availability / LWT (often the broker's will, sent for a device that
        is gone) nor a retained message the broker replays on every (re)subscribe says the device is there now."""
        alive = r.online is not False and not retained
        if r.online is not None and (state.available_at is None or r.received_at >= state.available_at):
            # the publisher's current view (Zigbee2MQTT's own check, the broker's last will): kept when retained
            state.available, state.available_at = r.online, r.received_at
        if r.heartbeat and alive:
            beat = min(r.at, r.received_at)
            if state.heartbeat_at is None or beat > state.heartbeat_at:
                state.heartbeat_at = beat
        if r.online is False:
            state.online = False
        elif alive:
            seen_at = min(r.at, r.received_at)
            if state.last_seen is None or seen_at > state.last_seen:
                state.last_seen = seen_at
            if r.online or r.device_time is False or r.received_at - r.at < ONE_HOUR:
                state.online = True
        return alive

    def _battery(self, state: DeviceState, r: Reading, out: BatchOutcome) -> None:
        low = bool(r.battery_low) or (r.battery is not None and r.battery <= self.settings.iot_battery_low_percent)
        if r.battery is not None:
            state.battery = r.battery
        if low and not state.battery_low:
            out.battery_low[state.id] = (state.id, state.unit_id, state.battery, state.last_seen or r.at)
        state.battery_low = low

    @staticmethod
    def _door(state: DeviceState, r: Reading, out: BatchOutcome, door_rows, late_doors, bump) -> None:
        """Only a change of state is an event; an older reading goes to the back-fill path."""
        is_open = r.door_open != state.invert
        if state.last_door_at is None or r.at > state.last_door_at:
            if is_open != state.last_open:
                door_rows.append([state.id, state.unit_id, r.at, is_open, r.received_at])
                bump(state, r.at, 1.0 if is_open else 0.0)
                if is_open and state.unit_id:
                    out.door_opens.append(DoorOpened(state.id, state.unit_id, r.at))
            else:
                out.stats["repeated_state"] += 1
                bump(state, r.at, 0.0)
            state.last_open, state.last_door_at = is_open, r.at
        elif r.at == state.last_door_at and is_open == state.last_open:
            out.stats["duplicates"] += 1
        else:
            late_doors.append((state, is_open, r.at, r.received_at))

    def _meter(self, state: DeviceState, r: Reading, total: float, dup: bool, stats: Counter, sample_rows,
               late_samples, bump) -> None:
        """A register reading: consumption since the previous one (meter_step), duplicates dropped, an older
        reading to the back-fill path."""
        if (not r.device_time and total == state.last_total and state.pending is None
                and state.last_total_at is not None and r.at > state.last_total_at
                and (dup or r.at - state.last_total_at <= REPEAT_WINDOW)):
            # No device time, so a QoS 1 redelivery (DUP) or a repeated telegram would be a new sample at its
            # receive time; the same register value again soon after carries nothing (delta 0).
            stats["duplicates"] += 1
        elif state.last_total_at is None or r.at > state.last_total_at:
            step = meter_step(state.last_total, state.last_total_at, total, r.at, self.rates[state.kind],
                              state.pending)
            sample_rows.append([state.id, r.at, total, step.delta, str(step.flag), r.received_at])
            if step.flag == SampleFlag.SPIKE:
                stats["spikes"] += 1
            elif step.flag in (SampleFlag.RESET, SampleFlag.STEP_BACK):
                stats["resets"] += 1
            bump(state, r.at, step.delta)
            state.last_total, state.pending = step.baseline, step.pending
            state.last_total_at = r.at
        elif r.at == state.last_total_at:
            stats["duplicates"] += 1
        else:
            late_samples.append((state, total, r.at, r.received_at))

    async def _late_door(self, conn, state: DeviceState, is_open: bool, at: datetime, received_at: datetime,
                         out: BatchOutcome, bump) -> None:
        """A door reading older than the newest one: an event only if it differs from the state then. Events
        after it are then fixed up so the stored events still alternate: a next event repeating it is removed
        (it was a change only against the older state); with no next event but a different current state, the
        change back is stored at the newest reading's time (the readings in between were repeats of a state
        that turns out stale and are not kept, so that is the best known bound; a later back-filled reading
        moves it)."""
        rows = await sql.execute(conn, SQL_DOOR_BEFORE, [state.id, at])
        if rows and bool(dict(rows[0])["is_open"]) == is_open:
            out.stats["repeated_state"] += 1
            return
        nxt = await sql.execute(conn, SQL_DOOR_AFTER, [state.id, at])
        # (rowcounts of INSERT are not reported on PostgreSQL by tortoise: the previous event decided already)
        await sql.execute(conn, SQL_DOOR_EVENT, [state.id, state.unit_id, at, is_open, received_at])
        out.stats["backfilled"] += 1
        bump(state, at, 1.0 if is_open else 0.0)
        if nxt:
            n = dict(nxt[0])
            if bool(n["is_open"]) == is_open:
                await sql.execute(conn, SQL_DOOR_DELETE, [n["id"]])
                out.stats["repeated_state"] += 1
                if is_open:
                    bump(state, _dt(n["at"]), -1.0, 0)
        elif (state.last_open is not None and state.last_open != is_open and state.last_door_at is not None
              and state.last_door_at > at):
            await sql.execute(conn, SQL_DOOR_EVENT,
                              [state.id, state.unit_id, state.last_door_at, state.last_open, received_at])
            if state.last_open:
                bump(state, state.last_door_at, 1.0, 0)

    async def _late_sample(self, conn, state: DeviceState, total: float, at: datetime, received_at: datetime,
                           stats: Counter, bump) -> None:
        """A register reading older than the newest one stored (a gateway replaying): insert it between its
        neighbours and move the successor's consumption accordingly, so every hour gets what it used."""
        rows = await sql.execute(conn, SQL_SAMPLE_AT, [state.id, at])
        if rows:
            stats["duplicates"] += 1
            return
        rate = self.rates[state.kind]
        prev = await sql.execute(conn, SQL_SAMPLE_BEFORE, [state.id, at])
        nxt = await sql.execute(conn, SQL_SAMPLE_AFTER, [state.id, at])
        prev_row = dict(prev[0]) if prev else None
        step = meter_step(prev_row["total"] if prev_row else None, _dt(prev_row["at"]) if prev_row else None,
                          total, at, rate)
        flag = SampleFlag.BACKFILL if step.flag == SampleFlag.OK else step.flag
        await sql.execute(conn, SQL_SAMPLE, [state.id, at, total, step.delta, str(flag), received_at])
        stats["backfilled"] += 1
        bump(state, at, step.delta)
        if nxt:
            n = dict(nxt[0])
            n_at = _dt(n["at"])
            redo = meter_step(total if step.flag != SampleFlag.SPIKE else step.baseline, at, n["total"], n_at, rate)
            adjust = redo.delta - n["delta"]
            if adjust:
                await sql.execute(conn, SQL_SAMPLE_DELTA, [redo.delta, n["id"]])
                bump(state, n_at, adjust, 0)


# ------------------------------------------------------------------------------------------------ statements
# Written with ``?`` placeholders and the models' names (core.sql renders them for the connection's dialect).
_dl, _cm, _de, _ms, _hr, _dv = (names(m) for m in (DeadLetter, CommissioningEntry, DoorEvent, MeterSample,
                                                   HourlyRollup, Device))
SQL_DEAD_LETTER = (f"INSERT INTO {_dl} ({_dl.cols('topic', 'payload', 'payload_size', 'reason', 'received_at')}) "
                   f"VALUES (?, ?, ?, ?, ?)")
_CM_COLS = _cm.cols("format", "external_id", "topic", "sample_payload", "first_seen", "last_seen", "message_count")
SQL_COMMISSIONING = (
    f"INSERT INTO {_cm} ({_CM_COLS}) "
    f"VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ({_cm.format}, {_cm.external_id}) DO UPDATE SET "
    f"{_cm.last_seen} = excluded.{_cm.last_seen}, {_cm.topic} = excluded.{_cm.topic}, "
    f"{_cm.message_count} = {_cm}.{_cm.message_count} + excluded.{_cm.message_count}")
DOOR_COLUMNS = tuple(getattr(_de, f) for f in ("device", "unit_id", "at", "is_open", "received_at"))
_DOOR_COLS = _de.cols("device", "unit_id", "at", "is_open", "received_at")
_DOOR_KEY = _de.cols("device", "at", "is_open")
SQL_DOOR_EVENTS = f"INSERT INTO {_de} ({_DOOR_COLS}) {{rows}} ON CONFLICT ({_DOOR_KEY}) DO NOTHING"
SQL_DOOR_EVENT = f"INSERT INTO {_de} ({_DOOR_COLS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT ({_DOOR_KEY}) DO NOTHING"
SQL_DOOR_BEFORE = (f"SELECT {_de.is_open} FROM {_de} WHERE {_de.device} = ? AND {_de.at} <= ? "
                   f"ORDER BY {_de.at} DESC LIMIT 1")
SQL_DOOR_AFTER = (f"SELECT {_de.cols('id', 'at', 'is_open')} FROM {_de} WHERE {_de.device} = ? AND {_de.at} > ? "
                  f"ORDER BY {_de.at} ASC LIMIT 1")
SQL_DOOR_DELETE = f"DELETE FROM {_de} WHERE {_de.id} = ?"
SAMPLE_COLUMNS = tuple(getattr(_ms, f) for f in ("device", "at", "total", "delta", "flag", "received_at"))
_SAMPLE_COLS = _ms.cols("device", "at", "total", "delta", "flag", "received_at")
_SAMPLE_KEY = _ms.cols("device", "at")
SQL_SAMPLES = f"INSERT INTO {_ms} ({_SAMPLE_COLS}) {{rows}} ON CONFLICT ({_SAMPLE_KEY}) DO NOTHING"
SQL_SAMPLE = f"INSERT INTO {_ms} ({_SAMPLE_COLS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT ({_SAMPLE_KEY}) DO NOTHING"
SQL_SAMPLE_AT = f"SELECT {_ms.id} FROM {_ms} WHERE {_ms.device} = ? AND {_ms.at} = ?"
_NOT_SPIKE = f"{_ms.flag} <> '{SampleFlag.SPIKE}'"
SQL_SAMPLE_BEFORE = (f"SELECT {_ms.cols('at', 'total')} FROM {_ms} WHERE {_ms.device} = ? AND {_ms.at} < ? "
                     f"AND {_NOT_SPIKE} ORDER BY {_ms.at} DESC LIMIT 1")
SQL_SAMPLE_AFTER = (f"SELECT {_ms.cols('id', 'at', 'total', 'delta')} FROM {_ms} WHERE {_ms.device} = ? "
                    f"AND {_ms.at} > ? AND {_NOT_SPIKE} ORDER BY {_ms.at} ASC LIMIT 1")
SQL_SAMPLE_DELTA = f"UPDATE {_ms} SET {_ms.delta} = ? WHERE {_ms.id} = ?"
_HR_COLS = _hr.cols("device_id", "unit_id", "kind", "hour_ts", "value", "messages")
SQL_HOURLY = (f"INSERT INTO {_hr} ({_HR_COLS}) {{rows}} "
              f"ON CONFLICT ({_hr.device_id}, {_hr.hour_ts}) DO UPDATE SET "
              f"{_hr.value} = {_hr}.{_hr.value} + excluded.{_hr.value}, "
              f"{_hr.messages} = {_hr}.{_hr.messages} + excluded.{_hr.messages}")
#: the running state written back per batch, in the order of ``Ingestor._build``'s device rows (id first)
DEVICE_STATE = ("last_seen", "online", "battery", "battery_low", "last_contact_open", "last_door_at", "last_total",
                "last_total_at", "pending_total", "available", "available_at", "heartbeat_at")
SQL_DEVICES = (f"UPDATE {_dv} SET " + ", ".join(f"{getattr(_dv, f)} = ?" for f in DEVICE_STATE)
               + f" WHERE {_dv.id} = ?")
SQL_DEVICES_PG = (f"UPDATE {_dv} AS d SET " + ", ".join(f"{getattr(_dv, f)} = v.c{n}" for n, f in
                                                       enumerate(DEVICE_STATE, 1))
                  + " FROM ({rows}) AS v(" + ", ".join(f"c{n}" for n in range(len(DEVICE_STATE) + 1))
                  + f") WHERE d.{_dv.id} = v.c0")


def _dt_or_none(value) -> datetime | None:
    return None if value is None else _dt(value)


def _dt(value) -> datetime:
    if isinstance(value, datetime):
        return value
    from datetime import UTC

    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
