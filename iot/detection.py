"""Detection: instant rules as messages arrive, pattern rules per day (``run_detection(as_of)``), and the
periodic sweep (device offline, battery, move-out cleaning, raw-sample purge).

The daily rules read hourly roll-ups only, aggregated in SQL to one row per (unit, kind, local day), then
evaluated in plain Python over those small rows: 10,000 units × 3 devices × 30 days is 900,000 aggregate
rows, not 21.6 million ORM objects.
"""

from __future__ import annotations

import json
import logging
import time as time_module
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from alerts.choices import OPEN_ALERT_STATUSES, AlertSeverity
from alerts.service import condition_cleared, open_key, raise_alert
from config.settings import Settings
from iot.choices import METER_KINDS, VACANT_STATUSES, DeviceKind, IotAlert, Occupancy
from iot.ingest import q, zone
from iot.occupancy import DayFacts, Thresholds, infer, median, sublet_score
from leasing.choices import LeaseStatus
from models.alerts import Alert
from models.iot import DetectionRun, Device
from models.leasing import Lease
from models.portfolio import Unit
from models.workorders import WorkOrder
from portfolio.choices import UnitStatus
from workorders.choices import ACTIVITY_EXPLAINING_WORK, OPEN_WORK_ORDER_STATUSES, TriggerSource, WorkOrderType

log = logging.getLogger("rentwatch.iot.detection")
EPOCH = date(1970, 1, 1)
LEASE_END_WINDOW_DAYS = 90


def device_subject(device_id: int) -> str:
    return f"device:{device_id}"


async def units_with_active_work(unit_ids: list[int] | None = None) -> set[int]:
    """Units where on-site work (cleaning, repair, renovation, move-in/out, a viewing, an inspection under way)
    explains activity — ``ACTIVITY_EXPLAINING_WORK``; a TASK (a reminder to someone) never does."""
    qs = WorkOrder.filter(type__in=list(ACTIVITY_EXPLAINING_WORK), status__in=list(OPEN_WORK_ORDER_STATUSES),
                          unit_id__isnull=False)
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=unit_ids)
    return {row["unit_id"] for row in await qs.values("unit_id", "type", "status")
            if row["status"] in ACTIVITY_EXPLAINING_WORK[WorkOrderType(row["type"])]}


# ------------------------------------------------------------------------------------------------ instant

async def instant_rules(outcome, settings: Settings) -> None:
    """DOOR_OPEN_WHILE_VACANT for each unit whose door opened while vacant; BATTERY_LOW as it is reported."""
    if outcome.door_opens:
        latest: dict[int, tuple[int, datetime]] = {}
        for device_id, unit_id, at in outcome.door_opens:
            if unit_id not in latest or at > latest[unit_id][1]:
                latest[unit_id] = (device_id, at)
        unit_ids = list(latest)
        units = {u["id"]: u for u in await Unit.filter(id__in=unit_ids).values("id", "building_id", "status", "code")}
        busy = await units_with_active_work(unit_ids)
        for unit_id, (device_id, at) in latest.items():
            unit = units.get(unit_id)
            if unit is None or unit["status"] not in VACANT_STATUSES or unit_id in busy:
                continue
            await raise_alert(
                alert_type=IotAlert.DOOR_OPEN_WHILE_VACANT, now=at, unit_id=unit_id, building_id=unit["building_id"],
                severity=AlertSeverity.CRITICAL,
                explanation=f"door of {unit['code']} opened at {at.isoformat()} while the unit is {unit['status']} "
                            f"and no work order or viewing is in progress",
                evidence={"device_id": device_id, "opened_at": at.isoformat(), "unit_status": unit["status"],
                          "openings_in_batch": sum(1 for _, u, _ in outcome.door_opens if u == unit_id)})
    for state in outcome.battery_low.values():
        building_id = await _building_of(state.unit_id)
        await raise_alert(alert_type=IotAlert.BATTERY_LOW, now=state.last_seen,
                          unit_id=state.unit_id, building_id=building_id, subject=device_subject(state.id),
                          severity=AlertSeverity.INFO,
                          explanation=f"device {state.id} reports a low battery ({state.battery}%)",
                          evidence={"device_id": state.id, "battery": state.battery})


async def _building_of(unit_id: int | None) -> int | None:
    if unit_id is None:
        return None
    return (await Unit.filter(id=unit_id).values_list("building_id", flat=True) or [None])[0]


# ------------------------------------------------------------------------------------------------ sweep

def offline_timeout(kind: str, report_period_s: int | None, settings: Settings) -> timedelta:
    if kind == DeviceKind.DOOR:
        return timedelta(hours=settings.iot_door_offline_hours)
    default = settings.iot_water_period_seconds if kind == DeviceKind.WATER else settings.iot_electricity_period_seconds
    return timedelta(seconds=(report_period_s or default) * settings.iot_meter_offline_periods)


def offline_because(*, now: datetime, timeout: timedelta, last_seen: datetime | None, online: bool | None,
                    installed_at: datetime | None, registered_at: datetime | None) -> str | None:
    """Why a device counts as offline, or None. Availability and last-seen together: a device that said it is
    offline (Zigbee2MQTT availability, Tasmota/Shelly last will) is offline at once; otherwise it is offline once
    silent for longer than its kind's timeout. A device never heard from is measured from its registration (or a
    later installation), not from an installation date before it was registered: we could not hear it earlier."""
    if online is False:
        return "reported itself offline (availability / last will)" + (
            f", last message {last_seen.isoformat()}" if last_seen else ", never heard from")
    reference = last_seen or max(filter(None, [installed_at, registered_at]), default=None)
    if reference is not None and now - reference > timeout:
        return f"silent since {reference.isoformat()} (timeout {timeout})"
    return None


async def device_health(now: datetime, settings: Settings) -> dict:
    """DEVICE_OFFLINE after the per-kind inactivity timeout; BATTERY_LOW cleared once the battery is fine."""
    hysteresis = timedelta(hours=settings.iot_alert_clear_hours)
    devices = await Device.all().values("id", "external_id", "kind", "unit_id", "building_id", "last_seen",
                                        "installed_at", "created_at", "report_period_s", "online", "battery_low")
    open_alerts = await _open_alert_keys([IotAlert.DEVICE_OFFLINE, IotAlert.BATTERY_LOW])
    raised = cleared = 0
    for d in devices:
        timeout = offline_timeout(d["kind"], d["report_period_s"], settings)
        subject = device_subject(d["id"])
        reason = offline_because(now=now, timeout=timeout, last_seen=d["last_seen"], online=d["online"],
                                 installed_at=d["installed_at"], registered_at=d["created_at"])
        if reason is not None:
            await raise_alert(
                alert_type=IotAlert.DEVICE_OFFLINE, now=now, unit_id=d["unit_id"], building_id=d["building_id"],
                subject=subject, severity=AlertSeverity.WARNING,
                explanation=f"{d['kind']} device {d['external_id']} {reason}",
                evidence={"device_id": d["id"], "external_id": d["external_id"], "last_seen":
                          d["last_seen"].isoformat() if d["last_seen"] else None,
                          "timeout_hours": round(timeout.total_seconds() / 3600, 2), "online_flag": d["online"]})
            raised += 1
        elif open_key(IotAlert.DEVICE_OFFLINE, d["unit_id"], subject) in open_alerts:
            cleared += bool(await condition_cleared(alert_type=IotAlert.DEVICE_OFFLINE, unit_id=d["unit_id"],
                                                    now=now, hysteresis=hysteresis, subject=subject))
        if not d["battery_low"] and open_key(IotAlert.BATTERY_LOW, d["unit_id"], subject) in open_alerts:
            cleared += bool(await condition_cleared(alert_type=IotAlert.BATTERY_LOW, unit_id=d["unit_id"], now=now,
                                                    hysteresis=hysteresis, subject=subject))
    return {"offline": raised, "cleared": cleared, "devices": len(devices)}


async def _open_alert_keys(types: list[str]) -> set[str]:
    return set(await Alert.filter(type__in=types, status__in=list(OPEN_ALERT_STATUSES))
               .values_list("open_key", flat=True))


async def moveout_cleaning(now: datetime, settings: Settings) -> list[int]:
    """MOVE_OUT_PENDING units whose door stayed quiet and consumption at the vacant baseline for the configured
    hours: the tenant has left — open one cleaning work order per move-out (keyed by the status version)."""
    from workorders.service import open_work_order

    units = await Unit.filter(status=UnitStatus.MOVE_OUT_PENDING).values("id", "code", "building_id",
                                                                         "status_version", "status_changed_at")
    if not units:
        return []
    hours = settings.iot_moveout_quiet_hours
    end_h = int(now.timestamp()) // 3600
    start_h = end_h - hours
    unit_ids = [u["id"] for u in units]
    from tortoise.connection import get_connection

    conn = get_connection("default")
    marks = ",".join("?" * len(unit_ids))
    _, rows = await conn.execute_query(q(
        f"SELECT unit_id, kind, hour_ts, value, messages FROM iot_hourly WHERE unit_id IN ({marks}) "
        f"AND hour_ts >= ? AND hour_ts < ?"), [*unit_ids, start_h, end_h])
    per_unit: dict[int, dict] = defaultdict(lambda: {"hours": set(), "busy": False})
    for row in rows:
        r = dict(row)
        info = per_unit[r["unit_id"]]
        if r["messages"]:
            info["hours"].add(r["hour_ts"])
        kind = r["kind"]
        if kind == DeviceKind.DOOR and r["value"] > 0:
            info["busy"] = True
        elif kind in (DeviceKind.ELECTRICITY, DeviceKind.PLUG) and r["value"] > settings.iot_vacant_kwh_per_hour:
            info["busy"] = True
        elif kind == DeviceKind.WATER and r["value"] > settings.iot_vacant_m3_per_hour:
            info["busy"] = True
    opened = []
    for u in units:
        info = per_unit.get(u["id"])
        changed = u["status_changed_at"]
        if info is None or info["busy"] or len(info["hours"]) < hours // 2:
            continue  # activity, or too little data to say the tenant left
        if changed and now - changed < timedelta(hours=hours):
            continue  # quiet for less time than the status has been MOVE_OUT_PENDING
        order, created = await open_work_order(
            wo_type=WorkOrderType.CLEANING, building_id=u["building_id"], unit_id=u["id"],
            title=f"退租保洁 {u['code']}", trigger_source=TriggerSource.SENSOR,
            trigger_ref=f"moveout:{u['id']}:v{u['status_version']}", now=now,
            description=f"sensors: door quiet and consumption at the vacant baseline for {hours} h")
        if created:
            opened.append(order.id)
    return opened


async def purge_raw(now: datetime, settings: Settings) -> int:
    from models.iot import DeadLetter, MeterSample

    cutoff = now - timedelta(days=settings.iot_raw_retention_days)
    removed = await MeterSample.filter(at__lt=cutoff).delete()
    removed += await DeadLetter.filter(received_at__lt=cutoff).delete()
    return removed


async def sweep(now: datetime, settings: Settings) -> dict:
    health = await device_health(now, settings)
    cleaning = await moveout_cleaning(now, settings)
    purged = await purge_raw(now, settings)
    return {**health, "cleaning_orders": cleaning, "purged": purged}


# ------------------------------------------------------------------------------------------------ daily

def lease_end(lease: dict, tz: ZoneInfo) -> date:
    """The day the tenancy ended: ``ended_at`` when set (an early termination, a refund that completed), else the
    planned ``end_date``."""
    if lease["ended_at"] is not None:
        return lease["ended_at"].astimezone(tz).date()
    return lease["end_date"]


def live_leases(unit_leases: list[dict], as_of: date) -> list[dict]:
    """Leases that cover ``as_of``: signed or active, within their dates, not ended early."""
    return [x for x in unit_leases if x["status"] in (LeaseStatus.SIGNED, LeaseStatus.ACTIVE)
            and x["start_date"] <= as_of <= x["end_date"] and x["ended_at"] is None]


def local_day_end(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)


async def aggregate_days(unit_filter_ids: list[int] | None, tz: ZoneInfo, first: date, last: date,
                         settings: Settings) -> dict[int, dict[int, DayFacts]]:
    """One SQL aggregate: (unit, kind, local day) → sums. Returns unit → day number → DayFacts."""
    from tortoise.connection import get_connection

    offset_h = int(tz.utcoffset(datetime.combine(last, time(12))).total_seconds() // 3600)
    start_h = ((first - EPOCH).days * 24) - offset_h
    end_h = ((last - EPOCH).days + 1) * 24 - offset_h
    night_start, night_end = settings.iot_night_hours
    kwh_h, m3_h = settings.iot_vacant_kwh_per_hour, settings.iot_vacant_m3_per_hour
    local = f"(hour_ts + {offset_h})"
    sql = (f"SELECT unit_id, kind, {local} / 24 AS d, SUM(value) AS total, "
           f"SUM(CASE WHEN {local} % 24 >= {night_start} AND {local} % 24 < {night_end} THEN value ELSE 0 END) "
           f"AS night, SUM(CASE WHEN messages > 0 THEN 1 ELSE 0 END) AS hours, "
           f"SUM(CASE WHEN (kind = 'WATER' AND value > {m3_h}) OR (kind <> 'WATER' AND kind <> 'DOOR' "
           f"AND value > {kwh_h}) THEN 1 ELSE 0 END) AS busy, SUM(messages) AS msgs "
           f"FROM iot_hourly WHERE hour_ts >= ? AND hour_ts < ? AND unit_id IS NOT NULL")
    params: list = [start_h, end_h]
    if unit_filter_ids is not None:
        sql += " AND unit_id IN (SELECT id FROM units WHERE building_id IN (" + \
               ",".join(str(int(b)) for b in unit_filter_ids) + "))"
    sql += " GROUP BY unit_id, kind, d"
    _, rows = await get_connection("default").execute_query(q(sql), params)
    out: dict[int, dict[int, DayFacts]] = defaultdict(dict)
    for row in rows:
        unit_id, kind, d, total, night, hours, busy = row[0], row[1], int(row[2]), row[3], row[4], row[5], row[6]
        facts = out[unit_id].get(d)
        if facts is None:
            facts = out[unit_id][d] = DayFacts()
        total = float(total or 0)
        if kind == "DOOR":
            facts.door_opens += int(total)
            facts.night_opens += int(night or 0)
            facts.door_messages += int(row[7] or 0)
        elif kind == "WATER":
            facts.water_m3 += total
            facts.water_hours = max(facts.water_hours, int(hours))
        else:
            facts.elec_kwh += total
            facts.night_kwh += float(night or 0)
            facts.elec_hours = max(facts.elec_hours, int(hours))
            facts.busy_hours += int(busy or 0)
    return out


async def run_detection(as_of: date, settings: Settings, *, now: datetime | None = None,
                        raise_only: bool = False) -> dict:
    """Daily pattern rules for the local day ``as_of``: occupancy per unit, UNEXPECTED_ACTIVITY, NO_ACTIVITY,
    ACTIVITY_AFTER_LEASE_END, SUSPECTED_SUBLET; clears alerts whose condition stayed false; then the sweep.

    ``raise_only``: a re-run of a past day (it received back-filled data, or someone asked for it) — it raises what
    that day shows but clears nothing and skips the sweep (a past day must not undo what a later day's run found)."""
    default_tz = zone(None, settings.iot_timezone)
    day_end = local_day_end(as_of, default_tz)
    ran_at = now or datetime.now(UTC)  # when the run happened: back-fill received later makes the day dirty
    now = min(now, day_end) if now else day_end
    started = time_module.perf_counter()
    lookback = max(30, settings.iot_no_activity_days, settings.iot_sublet_window_days * 2)
    first = as_of - timedelta(days=lookback - 1)
    t = Thresholds.from_settings(settings)

    units = await Unit.all().values("id", "code", "building_id", "status", "unit_type", "building__timezone")
    tz_groups: dict[str, list[int]] = defaultdict(list)
    for u in units:
        tz_groups[u["building__timezone"] or settings.iot_timezone].append(u["building_id"])
    facts: dict[int, dict[int, DayFacts]] = {}
    for tz_name, building_ids in tz_groups.items():
        only = None if len(tz_groups) == 1 else sorted(set(building_ids))
        facts.update(await aggregate_days(only, zone(tz_name, settings.iot_timezone), first, as_of, settings))

    kinds: dict[int, set[str]] = defaultdict(set)
    door_seen: dict[int, datetime | None] = {}
    for d in await Device.filter(unit_id__isnull=False).values("unit_id", "kind", "last_seen"):
        kind = DeviceKind.ELECTRICITY if d["kind"] == DeviceKind.PLUG else DeviceKind(d["kind"])
        kinds[d["unit_id"]].add(kind)
        if kind == DeviceKind.DOOR:
            prev = door_seen.get(d["unit_id"])
            door_seen[d["unit_id"]] = max(filter(None, [prev, d["last_seen"]]), default=None)

    leases: dict[int, list[dict]] = defaultdict(list)
    for lease in await Lease.filter(status__in=[LeaseStatus.SIGNED, LeaseStatus.ACTIVE, LeaseStatus.ENDED,
                                                LeaseStatus.TERMINATED]).values(
            "id", "unit_id", "status", "start_date", "end_date", "ended_at"):
        leases[lease["unit_id"]].append(lease)
    busy_units = await units_with_active_work()

    day0 = (as_of - EPOCH).days
    window = list(range(day0 - lookback + 1, day0 + 1))
    states: dict[int, list[tuple[Occupancy, dict]]] = {}
    for u in units:
        unit_facts = facts.get(u["id"], {})
        has = kinds.get(u["id"], set())
        seen = door_seen.get(u["id"])
        door_alive = seen is not None and seen >= now - timedelta(hours=settings.iot_door_offline_hours) \
            if DeviceKind.DOOR in has else False
        series = []
        for d in window:
            f = unit_facts.get(d) or DayFacts()
            prev_msgs = (unit_facts.get(d - 1) or DayFacts()).door_messages
            alive = f.door_messages > 0 or prev_msgs > 0 or (d == day0 and door_alive)
            series.append(infer(f, has_door=DeviceKind.DOOR in has, has_elec=DeviceKind.ELECTRICITY in has,
                                has_water=DeviceKind.WATER in has, door_alive=alive, t=t))
        states[u["id"]] = series

    live_by_unit = {u["id"]: live_leases(leases.get(u["id"], []), as_of) for u in units}
    # cohort (same unit type across the portfolio, occupied under a live lease): median of recent daily means —
    # vacant or off-market units would pull the median down and make any tenant look heavy
    w = settings.iot_sublet_window_days
    cohort_members: set[int] = set()
    recent_means: dict[int, dict[str, float | None]] = {}
    own_base: dict[int, dict[str, float | None]] = {}
    cohort_values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for u in units:
        unit_facts = facts.get(u["id"], {})
        rec: dict[str, float | None] = {}
        base: dict[str, float | None] = {}
        for kind, attr, hours_attr in (("electricity", "elec_kwh", "elec_hours"), ("water", "water_m3", "water_hours")):
            vals = [(d, getattr(f, attr)) for d, f in unit_facts.items()
                    if getattr(f, hours_attr) >= t.min_coverage_hours]
            recent_vals = [v for d, v in vals if d > day0 - w]
            before = [v for d, v in vals if d <= day0 - w]
            rec[kind] = sum(recent_vals) / len(recent_vals) if recent_vals else None
            base[kind] = median(before) if len(before) >= 7 else None
            if rec[kind] is not None and u["status"] == UnitStatus.OCCUPIED and live_by_unit[u["id"]]:
                cohort_values[u["unit_type"]][kind].append(rec[kind])
                cohort_members.add(u["id"])
        recent_means[u["id"]], own_base[u["id"]] = rec, base
    cohort = {ut: {k: median(v) for k, v in per.items()} for ut, per in cohort_values.items()}

    def cohort_for(unit: dict) -> dict[str, float | None]:
        """The unit type's median; in a small cohort the unit itself is left out so it cannot mask itself."""
        per = cohort_values.get(unit["unit_type"], {})
        out: dict[str, float | None] = {}
        for kind, values in per.items():
            if len(values) >= 20:
                out[kind] = cohort[unit["unit_type"]][kind]
                continue
            own = recent_means[unit["id"]].get(kind)
            others = list(values)
            if unit["id"] in cohort_members and own is not None and own in others:
                others.remove(own)
            out[kind] = median(others)
        return out

    def series_evidence(unit_id: int, days: int = 14) -> list[dict]:
        out = []
        for d, (state, ev) in zip(window[-days:], states[unit_id][-days:], strict=True):
            out.append({"day": (EPOCH + timedelta(days=d)).isoformat(), "state": state,
                        "electricity_kwh": ev["electricity_kwh"], "water_m3": ev["water_m3"],
                        "door_opens": ev["door_opens"], "night_opens": ev["night_opens"]})
        return out

    conditions: dict[str, dict[int, tuple[str, dict, AlertSeverity]]] = defaultdict(dict)
    for u in units:
        uid, status = u["id"], u["status"]
        today_state, today_ev = states[uid][-1]
        unit_leases = leases.get(uid, [])
        live = live_by_unit[uid]
        ends = [lease_end(x, zone(u["building__timezone"], settings.iot_timezone)) for x in unit_leases]
        ended = [end for end in ends if as_of - timedelta(days=LEASE_END_WINDOW_DAYS) <= end
                 < as_of - timedelta(days=settings.iot_lease_end_grace_days)]
        active_today = today_state == Occupancy.OCCUPIED_LIKE
        suspicious_today = active_today or today_ev["night_opens"] > 0 or today_ev["busy_hours"] >= 4
        if not live and ended and active_today and uid not in busy_units:
            last_end = max(ended)
            conditions[IotAlert.ACTIVITY_AFTER_LEASE_END][uid] = (
                f"{u['code']}: the lease ended on {last_end.isoformat()} and the unit still looks lived in "
                f"({today_ev['reason']})", {"lease_end": last_end.isoformat(), "today": today_ev,
                                            "series": series_evidence(uid)}, AlertSeverity.CRITICAL)
        elif status in VACANT_STATUSES and uid not in busy_units and suspicious_today:
            conditions[IotAlert.UNEXPECTED_ACTIVITY][uid] = (
                f"{u['code']} is {status} without an active work order, yet looks occupied: {today_ev['reason']}, "
                f"{today_ev['night_opens']} night-time door openings, {today_ev['busy_hours']} h above the vacant "
                f"baseline", {"unit_status": status, "today": today_ev, "series": series_evidence(uid)},
                AlertSeverity.CRITICAL)
        if status == UnitStatus.OCCUPIED and live:
            n = settings.iot_no_activity_days
            last_n = states[uid][-n:]
            if len(last_n) == n and all(s == Occupancy.VACANT_LIKE for s, _ in last_n):
                conditions[IotAlert.NO_ACTIVITY][uid] = (
                    f"{u['code']} is OCCUPIED under lease {live[0]['id']} but looked vacant for {n} days "
                    f"(silent move-out or wrong status)", {"lease_id": live[0]["id"], "days": n,
                                                           "series": series_evidence(uid, n)}, AlertSeverity.WARNING)
            switches = sum(1 for a, b in zip(states[uid][:-1], states[uid][1:], strict=True)
                           if {a[0], b[0]} == {Occupancy.OCCUPIED_LIKE, Occupancy.VACANT_LIKE})
            recent_days = states[uid][-w:]
            night = sum(ev["night_opens"] for _, ev in recent_days) / max(1, len(recent_days))
            score, reasons = sublet_score(
                recent=recent_means[uid], own=own_base[uid], cohort=cohort_for(u),
                switches=switches, night_opens_per_day=night, own_ratio=settings.iot_sublet_own_ratio,
                cohort_ratio=settings.iot_sublet_cohort_ratio, turnover_changes=settings.iot_sublet_turnover_changes)
            if score >= settings.iot_sublet_score_threshold:
                conditions[IotAlert.SUSPECTED_SUBLET][uid] = (
                    f"{u['code']}: usage pattern suggests a possible sublet (score {score}); an inspection visit is "
                    f"suggested — this is a suspicion, not a finding",
                    {"score": score, "reasons": reasons, "recent_daily": recent_means[uid],
                     "own_baseline": own_base[uid], "cohort_median": cohort_for(u),
                     "lease_id": live[0]["id"], "series": series_evidence(uid)}, AlertSeverity.WARNING)

    # DOOR_OPEN_WHILE_VACANT is raised instantly; here it is only kept open while the condition holds
    door_vacant_today = {u["id"] for u in units if u["status"] in VACANT_STATUSES and u["id"] not in busy_units
                         and states[u["id"]][-1][1]["door_opens"] > 0}

    unit_building = {u["id"]: u["building_id"] for u in units}
    hysteresis = timedelta(hours=settings.iot_alert_clear_hours)
    stats: dict = {"units": len(units), "as_of": as_of.isoformat()}
    daily_types = [IotAlert.UNEXPECTED_ACTIVITY, IotAlert.NO_ACTIVITY, IotAlert.ACTIVITY_AFTER_LEASE_END,
                   IotAlert.SUSPECTED_SUBLET, IotAlert.DOOR_OPEN_WHILE_VACANT]
    open_alerts = await Alert.filter(type__in=daily_types, status__in=list(OPEN_ALERT_STATUSES),
                                     unit_id__isnull=False).values("type", "unit_id")
    for alert_type in daily_types:
        raised = 0
        for uid, (explanation, evidence, severity) in conditions.get(alert_type, {}).items():
            alert, _ = await raise_alert(alert_type=alert_type, now=now, unit_id=uid,
                                         building_id=unit_building[uid], severity=severity,
                                         explanation=explanation, evidence=evidence)
            raised += 1
            if alert_type == IotAlert.SUSPECTED_SUBLET:
                await _inspection_for_sublet(alert, uid, unit_building[uid], now)
        holding = door_vacant_today if alert_type == IotAlert.DOOR_OPEN_WHILE_VACANT else \
            set(conditions.get(alert_type, {}))
        cleared = 0
        for row in open_alerts if not raise_only else []:
            if row["type"] == alert_type and row["unit_id"] not in holding:
                cleared += bool(await condition_cleared(alert_type=alert_type, unit_id=row["unit_id"], now=now,
                                                        hysteresis=hysteresis))
        stats[alert_type] = {"active": raised, "cleared": cleared}

    counts = defaultdict(int)
    occupancy_rows = []
    for u in units:
        state, evidence = states[u["id"]][-1]
        counts[state] += 1
        occupancy_rows.append([u["id"], as_of, str(state), json.dumps(evidence, ensure_ascii=False)])
    async with in_transaction() as conn:
        for start in range(0, len(occupancy_rows), 2000):
            await conn.execute_many(q(
                "INSERT INTO iot_occupancy_days (unit_id, day, state, evidence) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (unit_id, day) DO UPDATE SET state = excluded.state, evidence = excluded.evidence"),
                occupancy_rows[start:start + 2000])
    stats["occupancy"] = dict(counts)
    if raise_only:
        stats["raise_only"] = True
    else:
        stats["sweep"] = await sweep(now, settings)
    stats["seconds"] = round(time_module.perf_counter() - started, 2)
    run = await DetectionRun.get_or_none(day=as_of)
    if run:
        run.started_at, run.finished_at, run.stats = ran_at, ran_at, stats
        await run.save()
    else:
        await DetectionRun.create(day=as_of, started_at=ran_at, finished_at=ran_at, stats=stats)
    log.info("detection for %s: %s", as_of, stats)
    return stats


async def _inspection_for_sublet(alert: Alert, unit_id: int, building_id: int, now: datetime) -> None:
    from workorders.service import open_work_order

    code = (await Unit.filter(id=unit_id).values_list("code", flat=True))[0]
    await open_work_order(wo_type=WorkOrderType.INSPECTION, building_id=building_id, unit_id=unit_id,
                          title=f"疑似转租上门核查 {code}", trigger_source=TriggerSource.ALERT,
                          trigger_ref=f"alert:{alert.id}", now=now,
                          description="sensor usage pattern suggests a possible sublet; visit and verify. "
                                      + "; ".join(alert.evidence.get("reasons", [])))


async def backfilled_days(days: list[date], settings: Settings) -> list[date]:
    """Of ``days`` (local, already detected on), those that received door events or meter samples after their
    last run — a gateway replaying after an outage. Raw rows carry ``received_at``; roll-ups do not."""
    from models.iot import DoorEvent, MeterSample

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


async def detect_on_demand(as_of: date, settings: Settings, now: datetime) -> dict:
    """``rentwatch detect --as-of`` and the admin endpoint. Today or yesterday runs in full; an older day runs as a
    re-run (raises what that day shows, clears nothing, no sweep), so a historical run cannot clear today's alerts
    nor judge devices offline by a clock in the past."""
    today = now.astimezone(zone(None, settings.iot_timezone)).date()
    return await run_detection(as_of, settings, now=now, raise_only=as_of < today - timedelta(days=1))


async def maybe_run_daily(now: datetime, settings: Settings) -> dict | None:
    """Once a day, after ``iot_detect_hour`` local time: re-run the past ``iot_backfill_days`` days that received
    back-filled data since their run (oldest first, raising only), then run yesterday's detection."""
    tz = zone(None, settings.iot_timezone)
    local = now.astimezone(tz)
    if local.hour < settings.iot_detect_hour:
        return None
    yesterday = local.date() - timedelta(days=1)
    if await DetectionRun.filter(day=yesterday, finished_at__isnull=False).exists():
        return None
    window = min(settings.iot_backfill_days, settings.iot_raw_retention_days)
    rerun = await backfilled_days([yesterday - timedelta(days=n) for n in range(1, window + 1)], settings)
    for day in rerun:
        await run_detection(day, settings, now=now, raise_only=True)
    stats = await run_detection(yesterday, settings, now=now)
    stats["backfill_reruns"] = [day.isoformat() for day in rerun]
    return stats


__all__ = ["run_detection", "sweep", "instant_rules", "maybe_run_daily", "moveout_cleaning", "device_health",
           "METER_KINDS"]
