"""Detection passes over stored facts, each read as load → compute → decide (iot.rules) → act (iot.actions) →
store:

- ``detect_day(as_of)``: the daily pattern rules for one local day;
- ``device_health(now)``: DEVICE_OFFLINE / BATTERY_LOW clearing;
- ``moveout_cleaning(now)``: a quiet MOVE_OUT_PENDING unit gets its cleaning work order;
- ``backfilled_days``: which past days received data after their run.

The daily rules read hourly roll-ups only, aggregated by the database to one row per (unit, local day) — every
device kind in columns of its own — kept as daily facts by iot.daily_facts (only the days whose roll-ups changed
are aggregated again), and streamed in unit order (a server-side cursor on PostgreSQL) while the
units are judged in chunks of ``DETECTION_CHUNK_UNITS``: memory holds one chunk's facts, series and evidence,
not the portfolio's. The cohorts every unit is compared with come from a first, shorter pass over the recent
window. Scheduling (the sweep, the daily job, back-fill re-runs) is iot.jobs.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import time as time_module
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from alerts.choices import OPEN_ALERT_STATUSES, AlertSeverity
from alerts.service import open_key
from config.settings import Settings
from core import sql
from core.sql import names
from iot import rules
from iot.actions import (
    clear_condition,
    inspection_for_sublet,
    moveout_cleaning_order,
    open_alert_keys,
    raise_condition,
    units_with_active_work,
)
from iot.adapters import zone
from iot.choices import DeviceKind, IotAlert
from iot.daily_facts import day_statement, read_statement, refresh
from iot.occupancy import DayFacts
from iot.rules import (
    Cohort,
    Condition,
    DailyParams,
    DayState,
    HourRow,
    LeaseInfo,
    UnitDay,
    UnitDevices,
    UnitInfo,
    day_number,
    device_subject,
    local_day_end,
)
from leasing.choices import LeaseStatus
from models.alerts import Alert
from models.iot import DetectionRun, Device, DoorEvent, HourlyRollup, MeterSample, OccupancyDay
from models.leasing import Lease
from models.portfolio import Unit
from models.workorders import WorkOrder
from portfolio.choices import UnitStatus
from workorders.choices import TriggerSource, VisitResult, WorkOrderType

log = logging.getLogger("rentwatch.iot.detection")

#: rows per INSERT … ON CONFLICT statement when the day's occupancy is stored
OCCUPANCY_WRITE_CHUNK = 2000
#: units judged at a time by the daily rules: what bounds the run's memory (facts, series and evidence)
DETECTION_CHUNK_UNITS = 2000
#: the lease statuses the daily rules look at (live, and recently ended for ACTIVITY_AFTER_LEASE_END)
LEASE_STATUSES = (LeaseStatus.SIGNED, LeaseStatus.ACTIVE, LeaseStatus.ENDED, LeaseStatus.TERMINATED)

__all__ = ["detect_day", "judge_day", "device_health", "moveout_cleaning", "backfilled_days", "day_statement",
           "local_day_end", "offline_because"]

offline_because = rules.offline_because  # the rule, where the tests and docs have always found it


# ------------------------------------------------------------------------------------------------ devices

async def device_health(now: datetime, settings: Settings) -> dict:
    """DEVICE_OFFLINE after the per-kind inactivity timeout; BATTERY_LOW cleared once the battery is fine."""
    hysteresis = timedelta(hours=settings.iot_alert_clear_hours)
    devices = await Device.all().values("id", "external_id", "kind", "format", "unit_id", "building_id",
                                        "last_seen", "installed_at", "created_at", "report_period_s", "online",
                                        "battery_low", "available", "available_at", "heartbeat_at")
    grace = timedelta(minutes=settings.iot_availability_grace_minutes)
    open_alerts = await open_alert_keys([IotAlert.DEVICE_OFFLINE, IotAlert.BATTERY_LOW])
    raised = cleared = 0
    for d in devices:
        timeout = rules.offline_timeout(d["kind"], d["report_period_s"], settings)
        subject = device_subject(d["id"])
        reason = rules.offline_because(
            now=now, timeout=timeout, last_seen=d["last_seen"], online=d["online"], installed_at=d["installed_at"],
            registered_at=d["created_at"], kind=d["kind"], fmt=d["format"], available=d["available"],
            available_at=d["available_at"], heartbeat_at=d["heartbeat_at"],
            heartbeat_timeout=rules.heartbeat_timeout(d["format"], d["report_period_s"], settings), grace=grace)
        if reason is not None:
            await raise_condition(Condition(
                IotAlert.DEVICE_OFFLINE, d["unit_id"], f"{d['kind']} device {d['external_id']} {reason}",
                {"device_id": d["id"], "external_id": d["external_id"],
                 "last_seen": d["last_seen"].isoformat() if d["last_seen"] else None,
                 "timeout_hours": round(timeout.total_seconds() / 3600, 2), "online_flag": d["online"],
                 "availability": d["available"],
                 "availability_at": d["available_at"].isoformat() if d["available_at"] else None,
                 "heartbeat_at": d["heartbeat_at"].isoformat() if d["heartbeat_at"] else None},
                AlertSeverity.WARNING, subject=subject), now=now, building_id=d["building_id"])
            raised += 1
        elif open_key(IotAlert.DEVICE_OFFLINE, d["unit_id"], subject) in open_alerts:
            cleared += await clear_condition(IotAlert.DEVICE_OFFLINE, d["unit_id"], now=now, hysteresis=hysteresis,
                                             subject=subject)
        if not d["battery_low"] and open_key(IotAlert.BATTERY_LOW, d["unit_id"], subject) in open_alerts:
            cleared += await clear_condition(IotAlert.BATTERY_LOW, d["unit_id"], now=now, hysteresis=hysteresis,
                                             subject=subject)
    return {"offline": raised, "cleared": cleared, "devices": len(devices)}


async def moveout_cleaning(now: datetime, settings: Settings) -> list[int]:
    """MOVE_OUT_PENDING units whose door stayed quiet and consumption at the vacant baseline for the configured
    hours: the tenant has left — open one cleaning work order per move-out (keyed by the status version)."""
    units = await Unit.filter(status=UnitStatus.MOVE_OUT_PENDING).values("id", "code", "building_id",
                                                                         "status_version", "status_changed_at")
    if not units:
        return []
    hours = settings.iot_moveout_quiet_hours
    end_h = int(now.timestamp()) // 3600
    h = names(HourlyRollup)
    rows = await sql.execute(
        sql_conn(),
        f"SELECT {h.cols('unit_id', 'kind', 'hour_ts', 'value', 'messages')} FROM {h} "
        f"WHERE {h.unit_id} IN ({sql.marks(len(units))}) AND {h.hour_ts} >= ? AND {h.hour_ts} < ?",
        [*(u["id"] for u in units), end_h - hours, end_h])
    per_unit: dict[int, list[HourRow]] = defaultdict(list)
    for row in rows:
        per_unit[row["unit_id"]].append(HourRow(row["kind"], row["hour_ts"], row["value"], row["messages"]))
    opened = []
    for u in units:
        changed = u["status_changed_at"]
        if u["id"] not in per_unit or not rules.moveout_quiet(
                per_unit[u["id"]], hours=hours, kwh_per_hour=settings.iot_vacant_kwh_per_hour,
                m3_per_hour=settings.iot_vacant_m3_per_hour):
            continue  # activity, or too little data to say the tenant left
        if changed and now - changed < timedelta(hours=hours):
            continue  # quiet for less time than the status has been MOVE_OUT_PENDING
        order_id = await moveout_cleaning_order(u, quiet_hours=hours, now=now)
        if order_id is not None:
            opened.append(order_id)
    return opened


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for a pure, allocation-heavy step (the facts of a chunk turned into
    objects, a chunk judged): reference counting still frees what the step drops, the collector runs again after
    it — instead of scanning the chunk's young objects over and over while they are made."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def sql_conn() -> Any:
    from tortoise.connection import get_connection

    return get_connection("default")


# ------------------------------------------------------------------------------------------------ daily: load

def day_facts(row: Sequence[Any]) -> DayFacts:
    """A row of ``day_statement`` as the day's facts (electricity = meters and plugs: energy added up, hours the
    better covered of the two)."""
    (_, _, elec, plug, water, door, elec_night, plug_night, door_night, elec_hours, plug_hours, water_hours, busy,
     door_msgs, ev_busy, ev_opens, act_first, act_last) = row
    return DayFacts(  # positional, in DayFacts' field order (a hot loop: one call per unit and day)
        0.0 + float(elec or 0) + float(plug or 0), 0.0 + float(water or 0), int(door or 0), int(door_night or 0),
        max(elec_hours or 0, plug_hours or 0), water_hours or 0, door_msgs or 0, busy or 0,
        0.0 + float(elec_night or 0) + float(plug_night or 0), ev_busy or 0, int(ev_opens or 0),
        -1 if act_first is None else act_first, -1 if act_last is None else act_last)


def facts_statement(basis: str, first: date, last: date, *, postgres: bool) -> tuple[str, list[Any]]:
    """The daily facts of ``first``…``last`` under ``basis`` (``read_statement``) as the database's rows of
    (unit_id, d, then ``DayFacts``' fields in order): what ``day_facts`` makes of a row, done in SQL with the same
    double additions and integer truncations, so a row becomes ``DayFacts(*row[2:])``."""
    inner, params = read_statement(basis, first, last)
    zero = "CAST(0 AS DOUBLE PRECISION)"

    def whole(column: str) -> str:  # int() of a float sum: toward zero
        if postgres:
            return f"CAST(trunc(COALESCE({column}, 0)) AS BIGINT)"
        return f"CAST(COALESCE({column}, 0) AS INTEGER)"

    greatest = "GREATEST" if postgres else "MAX"
    columns = {"elec_kwh": f"{zero} + COALESCE(c0, 0) + COALESCE(c1, 0)", "water_m3": f"{zero} + COALESCE(c2, 0)",
               "door_opens": whole("c3"), "night_opens": whole("c6"),
               "elec_hours": f"{greatest}(COALESCE(c7, 0), COALESCE(c8, 0))", "water_hours": "COALESCE(c9, 0)",
               "door_messages": "COALESCE(c11, 0)", "busy_hours": "COALESCE(c10, 0)",
               "night_kwh": f"{zero} + COALESCE(c4, 0) + COALESCE(c5, 0)", "evening_busy_hours": "COALESCE(c12, 0)",
               "evening_opens": whole("c13"), "active_first": "COALESCE(c14, -1)",
               "active_last": "COALESCE(c15, -1)"}
    return ("SELECT unit_id, d, " + ", ".join(f"{columns[f.name]} AS {f.name}" for f in dataclass_fields(DayFacts))
            + f" FROM ({inner}) AS f", params)


class FactsReader:
    """Rows of ``facts_statement`` in unit order: ``upto(u)`` returns the facts of the units up to id ``u`` not
    yet returned (unit → day number → DayFacts); a unit without roll-ups is absent."""

    def __init__(self, rows: AsyncIterator[list[Any]]):
        self._rows = rows
        self._pending: list[Any] = []
        self._at = 0
        self._done = False

    async def upto(self, last_unit: int) -> dict[int, dict[int, DayFacts]]:
        out: dict[int, dict[int, DayFacts]] = {}
        while True:
            with gc_paused():
                if self._take(out, last_unit):
                    return out
            if self._done:
                return out
            try:
                self._pending, self._at = await anext(self._rows), 0
            except StopAsyncIteration:
                self._done = True
                return out

    def _take(self, out: dict[int, dict[int, DayFacts]], last_unit: int) -> bool:
        """Move the pending rows up to unit ``last_unit`` into ``out``; True when a later unit's row is next."""
        pending, at = self._pending, self._at
        n = len(pending)
        while at < n:  # a hot loop: one pass per unit and day
            row = pending[at]
            uid = row[0]
            if uid > last_unit:
                self._at = at
                return True
            unit_facts = out.get(uid)
            if unit_facts is None:
                unit_facts = out[uid] = {}
            unit_facts[row[1]] = DayFacts(*row[2:])
            at += 1
        self._at = at
        return False

    async def close(self) -> None:
        await self._rows.aclose()  # type: ignore[attr-defined]


@dataclass
class DayInput:
    """What the daily rules read about one chunk of units (``units``, in id order), and the run's own memory."""

    as_of: date
    now: datetime
    units: list[UnitInfo]
    facts: dict[int, dict[int, DayFacts]]
    devices: dict[int, UnitDevices]
    leases: dict[int, list[LeaseInfo]]
    busy: set[int]
    episodes: dict[int, rules.SubletEpisode] = field(default_factory=dict)
    baseline_from: dict[int, int] = field(default_factory=dict)


@dataclass
class DayRun:
    """One run's inputs that are not per unit: the clock, what explains activity, the sublet memory, the
    timezone groups of the buildings that have units (``None``: one group, no building filter)."""

    as_of: date
    now: datetime
    busy: set[int]
    episodes: dict[int, rules.SubletEpisode]
    baseline_from: dict[int, int]
    zones: list[tuple[ZoneInfo, list[int] | None]]


async def load_run(as_of: date, now: datetime, settings: Settings, p: DailyParams) -> DayRun:
    first = as_of - timedelta(days=p.lookback - 1)
    tz_groups: dict[str, set[int]] = defaultdict(set)
    for building_id, tz_name in await Unit.all().distinct().values_list("building_id", "building__timezone"):
        tz_groups[tz_name or settings.iot_timezone].add(building_id)
    zones = [(zone(name, settings.iot_timezone), None if len(tz_groups) == 1 else sorted(ids))
             for name, ids in tz_groups.items()]
    tz = zone(None, settings.iot_timezone)
    episodes, baseline_from = await sublet_memory(local_day_end(first - timedelta(days=1), tz), tz, p)
    return DayRun(as_of, now, await units_with_active_work(), episodes, baseline_from, zones)


async def unit_chunks(run: DayRun, settings: Settings, size: int,
                      readers: list[FactsReader]) -> AsyncIterator[DayInput]:
    """The units in id order, ``size`` at a time, each chunk with its devices, leases and day facts (from
    ``readers``, read alongside; closed at the end)."""
    try:
        after = 0
        while True:
            rows = await Unit.filter(id__gt=after).order_by("id").limit(size).values(
                "id", "code", "building_id", "status", "unit_type", "building__timezone")
            if not rows:
                return
            after = rows[-1]["id"]
            ids = [r["id"] for r in rows]
            units = [UnitInfo(r["id"], r["code"], r["building_id"], r["status"], r["unit_type"],
                              zone(r["building__timezone"], settings.iot_timezone)) for r in rows]
            facts: dict[int, dict[int, DayFacts]] = {}
            for reader in readers:
                facts.update(await reader.upto(after))

            kinds: dict[int, set[DeviceKind]] = defaultdict(set)
            door_seen: dict[int, datetime | None] = {}
            for d in await Device.filter(unit_id__in=ids).values("unit_id", "kind", "last_seen"):
                kind = DeviceKind.ELECTRICITY if d["kind"] == DeviceKind.PLUG else DeviceKind(d["kind"])
                kinds[d["unit_id"]].add(kind)
                if kind == DeviceKind.DOOR:
                    prev = door_seen.get(d["unit_id"])
                    door_seen[d["unit_id"]] = max(filter(None, [prev, d["last_seen"]]), default=None)
            devices = {uid: UnitDevices(frozenset(k), door_seen.get(uid)) for uid, k in kinds.items()}

            leases: dict[int, list[LeaseInfo]] = defaultdict(list)
            for lease in await Lease.filter(status__in=list(LEASE_STATUSES), unit_id__in=ids).order_by("id").values(
                    "id", "unit_id", "status", "start_date", "end_date", "ended_at"):
                leases[lease["unit_id"]].append(LeaseInfo(lease["id"], lease["status"], lease["start_date"],
                                                          lease["end_date"], lease["ended_at"]))
            yield DayInput(run.as_of, run.now, units, facts, devices, leases, run.busy, run.episodes,
                           run.baseline_from)
    finally:
        for reader in readers:
            await reader.close()


async def sublet_memory(since: datetime, tz: ZoneInfo, p: DailyParams
                        ) -> tuple[dict[int, rules.SubletEpisode], dict[int, int]]:
    """The sublet rule's memory: each unit's open SUSPECTED_SUBLET episode with its visit, and the day from which
    a unit's baseline counts again (a visit that found no sublet, within the days read)."""
    alerts = await Alert.filter(type=IotAlert.SUSPECTED_SUBLET, status__in=list(OPEN_ALERT_STATUSES),
                                unit_id__isnull=False).values("id", "unit_id", "first_seen", "evidence")
    orders = {row["trigger_ref"]: row for row in await WorkOrder.filter(
        trigger_source=TriggerSource.ALERT, trigger_ref__in=[f"alert:{a['id']}" for a in alerts]).values(
        "trigger_ref", "status", "visit_result")} if alerts else {}
    episodes = {}
    for a in alerts:
        order = orders.get(f"alert:{a['id']}")
        visit = rules.visit_state(order["status"] if order else None, order["visit_result"] if order else None)
        first_day = day_number(a["first_seen"].astimezone(tz).date())
        episodes[a["unit_id"]] = rules.episode_of(a["id"], first_day, a["evidence"] or {}, visit,
                                                  p.sublet_window_days)
    baseline_from: dict[int, int] = {}
    for row in await WorkOrder.filter(type=WorkOrderType.INSPECTION, visit_result=VisitResult.NOT_CONFIRMED,
                                      visit_result_at__gte=since, unit_id__isnull=False).values(
            "unit_id", "visit_result_at"):
        day = day_number(row["visit_result_at"].astimezone(tz).date())
        baseline_from[row["unit_id"]] = max(day, baseline_from.get(row["unit_id"], day))
    return episodes, baseline_from


# ------------------------------------------------------------------------------------------------ daily: compute

def cohort_members(inp: DayInput, p: DailyParams) -> list[tuple[UnitInfo, rules.MeterValues, bool]]:
    """The cohort's share of one chunk: (unit, recent means, OCCUPIED under a live lease) for the units that
    count (``Cohort.of`` skips the others). ``inp.facts`` need only cover the recent window."""
    day0 = day_number(inp.as_of)
    out = []
    for u in inp.units:
        if u.status != UnitStatus.OCCUPIED or not rules.live_leases(inp.leases.get(u.id, []), inp.as_of):
            continue
        recent, _ = rules.meter_means(inp.facts.get(u.id, {}), day0, p, episode=inp.episodes.get(u.id),
                                      since=inp.baseline_from.get(u.id))
        out.append((u, recent, True))
    return out


@dataclass
class DayComputed:
    window: tuple[int, ...]
    days: dict[int, UnitDay] = field(default_factory=dict)


def compute_day(inp: DayInput, p: DailyParams, grace_days: int, cohort: Cohort | None = None,
                recent_of: Mapping[int, rules.MeterValues] | None = None) -> DayComputed:
    """Occupancy series, baselines and cohort per unit: everything the decisions need, pure. ``cohort``: the
    whole portfolio's, when ``inp`` is one chunk of it (default: the cohort of ``inp``'s units), with the recent
    means it was built from (``recent_of``: a member's own value must be the one in the cohort, to the bit)."""
    day0 = day_number(inp.as_of)
    window = tuple(range(day0 - p.lookback + 1, day0 + 1))
    empty_devices = UnitDevices()
    series: dict[int, tuple[DayState, ...]] = {}
    means: dict[int, tuple[rules.MeterValues, rules.MeterValues]] = {}
    live: dict[int, tuple[LeaseInfo, ...]] = {}
    for u in inp.units:
        unit_facts = inp.facts.get(u.id, {})
        series[u.id] = tuple(rules.occupancy_series(unit_facts, inp.devices.get(u.id, empty_devices), window,
                                                    now=inp.now, p=p))
        means[u.id] = rules.meter_means(unit_facts, day0, p, episode=inp.episodes.get(u.id),
                                        since=inp.baseline_from.get(u.id))
        live[u.id] = tuple(rules.live_leases(inp.leases.get(u.id, []), inp.as_of))
    if cohort is None:
        cohort = Cohort.of((u, means[u.id][0], u.status == UnitStatus.OCCUPIED and bool(live[u.id]))
                           for u in inp.units)
    out = DayComputed(window)
    for u in inp.units:
        recent, own = means[u.id]
        if recent_of is not None:
            recent = recent_of.get(u.id, recent)
        out.days[u.id] = UnitDay(
            unit=u, window=window, series=series[u.id], live=live[u.id],
            ended=tuple(rules.recently_ended(inp.leases.get(u.id, []), inp.as_of, u.timezone, grace_days)),
            busy=u.id in inp.busy, recent=recent, own=own, cohort=cohort.medians_for(u, recent),
            episode=inp.episodes.get(u.id), baseline_from=inp.baseline_from.get(u.id),
            rhythms=rules.rhythm_series(inp.facts.get(u.id, {}), window, p))
    return out


def decide_day(computed: DayComputed, p: DailyParams) -> tuple[dict[str, list[Condition]], dict[str, set[int]]]:
    """(conditions that hold, per alert type) and (units for which each type holds: the others may clear)."""
    conditions: dict[str, list[Condition]] = defaultdict(list)
    for day in computed.days.values():
        for c in rules.unit_conditions(day, p):
            conditions[c.alert_type].append(c)
    holding: dict[str, set[int]] = {t: {c.unit_id for c in conditions.get(t, []) if c.unit_id is not None}
                                    for t in rules.DAILY_TYPES}
    holding[IotAlert.DOOR_OPEN_WHILE_VACANT] = {
        uid for uid, day in computed.days.items() if rules.door_open_while_vacant_holds(day)}
    return conditions, holding


@dataclass
class Judged:
    """One chunk judged: its units' computed days, the conditions that hold and the units each type holds for."""

    computed: DayComputed
    conditions: dict[str, list[Condition]]
    holding: dict[str, set[int]]
    buildings: dict[int, int]


async def judge_day(run: DayRun, settings: Settings, p: DailyParams, *,
                    chunk_units: int = DETECTION_CHUNK_UNITS) -> AsyncIterator[Judged]:
    """The daily rules over the portfolio, ``chunk_units`` units at a time (facts, series and evidence of one
    chunk held at once). The daily facts of the look-back are brought up to date (iot.daily_facts.refresh), then
    read in two passes: the recent window first, for the unit-type cohorts every unit is compared with; then the
    whole look-back, chunk by chunk, judged against them."""
    first = run.as_of - timedelta(days=p.lookback - 1)
    recent_from = day_number(max(first, run.as_of - timedelta(days=p.sublet_window_days - 1)))
    size = 4 * chunk_units  # fact rows per slice read
    bases = await refresh(run.zones, first, run.as_of, settings)
    async with contextlib.AsyncExitStack() as stack:
        # the daily facts of the whole look-back, once per timezone group, read twice
        postgres = sql.is_postgres(sql_conn())
        aggregates = [await stack.enter_async_context(sql.Materialized(
            sql_conn(), *facts_statement(basis, first, run.as_of, postgres=postgres), pg_settings={"jit": "off"}))
            for basis in bases]
        members: list[tuple[UnitInfo, rules.MeterValues, bool]] = []
        recent = [FactsReader(a.read(order_by="unit_id, d", where="d >= ?", params=[recent_from], size=size))
                  for a in aggregates]
        async for inp in unit_chunks(run, settings, chunk_units, recent):
            with gc_paused():
                members += cohort_members(inp, p)
        cohort = Cohort.of(members)
        recent_of = {u.id: means for u, means, _ in members}
        del members
        whole = [FactsReader(a.read(order_by="unit_id, d", size=size)) for a in aggregates]
        async for inp in unit_chunks(run, settings, chunk_units, whole):
            with gc_paused():
                computed = compute_day(inp, p, settings.iot_lease_end_grace_days, cohort, recent_of)
                conditions, holding = decide_day(computed, p)
            yield Judged(computed, conditions, holding, {u.id: u.building_id for u in inp.units})


# ------------------------------------------------------------------------------------------------ daily: act, store

async def act_day(conditions: dict[str, list[Condition]], holding: dict[str, set[int]],
                  buildings: dict[int, int], *, now: datetime, hysteresis: timedelta, raise_only: bool) -> dict:
    """Raise what holds (a suspected sublet opens its inspection); clear what stayed false (not on a re-run)."""
    open_alerts = await Alert.filter(type__in=list(rules.DAILY_TYPES), status__in=list(OPEN_ALERT_STATUSES),
                                     unit_id__isnull=False).values("type", "unit_id")
    stats: dict[str, dict[str, int]] = {}
    for alert_type in rules.DAILY_TYPES:
        raised = cleared = 0
        for c in conditions.get(alert_type, []):
            assert c.unit_id is not None
            alert = await raise_condition(c, now=now, building_id=buildings[c.unit_id])
            raised += 1
            if alert_type == IotAlert.SUSPECTED_SUBLET:
                await inspection_for_sublet(alert, c.unit_id, buildings[c.unit_id], now)
        for row in [] if raise_only else open_alerts:
            if row["type"] == alert_type and row["unit_id"] not in holding[alert_type]:
                cleared += await clear_condition(alert_type, row["unit_id"], now=now, hysteresis=hysteresis)
        stats[alert_type] = {"active": raised, "cleared": cleared}
    return stats


async def store_day(as_of: date, computed: DayComputed, counts: Counter[str]) -> None:
    """The day's occupancy of a chunk of units, with its evidence (an upsert: re-runs refresh); tallied in
    ``counts``."""
    rows = []
    for uid, day in computed.days.items():
        state, evidence = day.series[-1]
        counts[state] += 1
        rows.append([uid, as_of, str(state), json.dumps(evidence, ensure_ascii=False)])
    o = names(OccupancyDay)
    statement = (f"INSERT INTO {o} ({o.cols('unit', 'day', 'state', 'evidence')}) VALUES (?, ?, ?, ?) "
                 f"ON CONFLICT ({o.unit}, {o.day}) DO UPDATE SET {o.state} = excluded.{o.state}, "
                 f"{o.evidence} = excluded.{o.evidence}")
    async with in_transaction() as conn:
        for start in range(0, len(rows), OCCUPANCY_WRITE_CHUNK):
            await sql.execute_many(conn, statement, rows[start:start + OCCUPANCY_WRITE_CHUNK])


async def record_run(as_of: date, ran_at: datetime, stats: dict) -> None:
    run = await DetectionRun.get_or_none(day=as_of)
    if run:
        run.started_at, run.finished_at, run.stats = ran_at, ran_at, stats
        await run.save()
    else:
        await DetectionRun.create(day=as_of, started_at=ran_at, finished_at=ran_at, stats=stats)


async def detect_day(as_of: date, settings: Settings, *, now: datetime | None = None, raise_only: bool = False,
                     then: Callable[[datetime], Awaitable[dict]] | None = None,
                     chunk_units: int = DETECTION_CHUNK_UNITS) -> dict:
    """Daily pattern rules for the local day ``as_of``: occupancy per unit, UNEXPECTED_ACTIVITY, NO_ACTIVITY,
    ACTIVITY_AFTER_LEASE_END, SUSPECTED_SUBLET; clears alerts whose condition stayed false. ``then(now)`` (the
    sweep, from iot.jobs) runs after the rules unless ``raise_only``; its result is stored as ``sweep``.

    ``raise_only``: a re-run of a past day (it received back-filled data, or someone asked for it) — it raises what
    that day shows but clears nothing and skips the sweep (a past day must not undo what a later day's run found).

    The units are judged ``chunk_units`` at a time and each chunk's occupancy stored as it is judged (one
    transaction per chunk; a run that fails half-way is not recorded, so the daily job runs the day again and
    its upserts refresh every row); the alerts are raised and cleared once every chunk is judged."""
    day_end = local_day_end(as_of, zone(None, settings.iot_timezone))
    ran_at = now or datetime.now(UTC)  # when the run happened: back-fill received later makes the day dirty
    now = min(now, day_end) if now else day_end
    started = time_module.perf_counter()
    p = DailyParams.from_settings(settings)

    run = await load_run(as_of, now, settings, p)
    conditions: dict[str, list[Condition]] = defaultdict(list)
    holding: dict[str, set[int]] = defaultdict(set)
    buildings: dict[int, int] = {}
    counts: Counter[str] = Counter()
    units = 0
    async for judged in judge_day(run, settings, p, chunk_units=chunk_units):
        units += len(judged.computed.days)
        for alert_type, found in judged.conditions.items():
            conditions[alert_type] += found
            buildings.update((c.unit_id, judged.buildings[c.unit_id]) for c in found if c.unit_id is not None)
        for alert_type, unit_ids in judged.holding.items():
            holding[alert_type] |= unit_ids
        await store_day(as_of, judged.computed, counts)
    stats: dict[str, Any] = {"units": units, "as_of": as_of.isoformat()}
    stats.update(await act_day(conditions, holding, buildings, now=now,
                               hysteresis=timedelta(hours=settings.iot_alert_clear_hours), raise_only=raise_only))
    stats["occupancy"] = dict(counts)
    if raise_only:
        stats["raise_only"] = True
    elif then is not None:
        stats["sweep"] = await then(now)
    stats["seconds"] = round(time_module.perf_counter() - started, 2)
    await record_run(as_of, ran_at, stats)
    log.info("detection for %s: %s", as_of, stats)
    return stats


async def backfilled_days(days: list[date], settings: Settings) -> list[date]:
    """Of ``days`` (local, already detected on), those that received door events or meter samples after their
    last run — a gateway replaying after an outage. Raw rows carry ``received_at``; roll-ups do not."""
    tz = zone(None, settings.iot_timezone)
    runs = await DetectionRun.filter(day__in=days, finished_at__isnull=False).order_by("day").values(
        "day", "started_at")
    dirty = []
    for run in runs:
        start, end = local_day_end(run["day"] - timedelta(days=1), tz), local_day_end(run["day"], tz)
        for model in (DoorEvent, MeterSample):
            if await model.filter(at__gte=start, at__lt=end, received_at__gt=run["started_at"]).exists():
                dirty.append(run["day"])
                break
    return dirty
