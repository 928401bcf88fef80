"""The daily snapshot: per unit, the facts at the end of a local day and what the definition makes of them.

Every fact is read as it stood at the day's end from dated records — the status history, the lease's
``signed_at`` / ``handed_over_at`` / ``ended_at`` / ``first_rent_paid_at`` and dates, the flags' validity, the
day's sensor inference, the last field report captured before the end — so a past day can be back-filled and
comes out as a run on that night would have made it (given the facts recorded since).

Writing a day: the sources are checked first (occupancy.sources); if one is stale or failed the day is stored
INCOMPLETE with the reasons and no unit rows (a partial day never reaches a report). Otherwise the day's rows
are replaced in one transaction (bulk inserts) and the day marked COMPLETE. On PostgreSQL the run holds a
transaction-level advisory lock keyed by the day, so two instances never write the same day at once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from config.settings import Settings
from core.db import is_postgres
from iot.choices import Occupancy
from leasing.choices import LeaseStatus
from models.inspections import StatusReport
from models.iot import OccupancyDay
from models.leasing import Lease
from models.occupancy import DayTally, OccupancyFlag, OccupancySnapshotDay, UnitDaySnapshot
from models.portfolio import Building, Unit, UnitStatusChange
from occupancy.choices import DayState, FlagKind
from occupancy.definition import UnitDay, classify
from occupancy.sources import Check, SourceCheck, check_sources
from portfolio.choices import UnitStatus

log = logging.getLogger("rentwatch.occupancy")

#: pg advisory lock class for snapshot runs ("occu"); the second key is the day's ordinal
ADVISORY_LOCK_CLASS = 0x6F636375 & 0x7FFFFFFF
INSERT_BATCH = 5000


def day_bounds(day: date, tz_name: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(tz_name)
    start = datetime.combine(day, time.min, tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tz)


def local_day(now: datetime, tz_name: str) -> date:
    return now.astimezone(ZoneInfo(tz_name)).date()


@dataclass
class LeaseFact:
    id: int
    signed_at: datetime
    start_date: date
    end_date: date
    handed_over_at: datetime | None
    first_rent_paid_at: datetime | None


@dataclass
class UnitFacts:
    """One unit's facts at the end of a day: a UnitDay for the definition, plus what the snapshot also keeps."""

    unit_day: UnitDay
    building_id: int
    city_id: int
    property_type: str
    unit_type: str
    lease: LeaseFact | None
    lease_state: str
    flags: list[str] = field(default_factory=list)
    last_report: tuple[datetime, str, str] | None = None  # captured_at, state, status seen or requested


async def gather(day: date, settings: Settings, *, unit_ids: list[int] | None = None) -> list[UnitFacts]:
    """Every unit's facts at the end of ``day`` (local, in the business timezone)."""
    _, end = day_bounds(day, settings.business_timezone)
    units_qs = Unit.all() if unit_ids is None else Unit.filter(id__in=unit_ids)
    units = await units_qs.order_by("id").values_list("id", "building_id", "property_type", "unit_type", "area_m2",
                                                      "compliant_rentable", "status")
    ids = [row[0] for row in units]
    scope = {} if unit_ids is None else {"unit_id__in": ids}
    city_of = dict(await Building.all().values_list("id", "city_id"))

    # the status at the day's end: the from_status of the first change after it, else the current status
    later: dict[int, str] = {}
    for unit_id, from_status in await UnitStatusChange.filter(changed_at__gte=end, **scope).order_by(
            "unit_id", "version").values_list("unit_id", "from_status"):
        later.setdefault(unit_id, from_status)

    leases: dict[int, LeaseFact] = {}
    rows = await Lease.filter(Q(ended_at__isnull=True) | Q(ended_at__gte=end), signed_at__lt=end,
                              start_date__lte=day, end_date__gte=day, **scope).exclude(
        status=LeaseStatus.DRAFT).values_list("id", "unit_id", "signed_at", "start_date", "end_date",
                                              "handed_over_at", "first_rent_paid_at")
    for lease_id, unit_id, signed_at, start, stop, handed, paid in rows:
        fact = LeaseFact(lease_id, signed_at, start, stop, handed, paid if paid is not None and paid < end else None)
        current = leases.get(unit_id)
        # two leases in force (a renewal overlapping): the one whose first rent is paid, then the latest signed
        if current is None or (fact.first_rent_paid_at is not None, fact.signed_at) > (
                current.first_rent_paid_at is not None, current.signed_at):
            leases[unit_id] = fact

    flags: dict[int, set[str]] = {}
    for unit_id, lease_id, kind in await OccupancyFlag.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=day), valid_from__lte=day, **scope).values_list(
            "unit_id", "lease_id", "kind"):
        lease = leases.get(unit_id)
        if lease_id is None or (lease is not None and lease.id == lease_id):
            flags.setdefault(unit_id, set()).add(str(kind))

    sensor = dict(await OccupancyDay.filter(day=day, **scope).values_list("unit_id", "state"))

    reports: dict[int, tuple[datetime, str, str]] = {}
    for unit_id, captured, state, requested, observed in await StatusReport.filter(
            captured_at__lt=end, **scope).order_by("captured_at", "id").values_list(
            "unit_id", "captured_at", "state", "requested_status", "observed_status"):
        reports[unit_id] = (captured, str(state), str(requested or observed))

    short_days = settings.occupancy_short_stay_max_days
    out = []
    for unit_id, building_id, ptype, utype, area, compliant, status in units:
        lease = leases.get(unit_id)
        unit_flags = flags.get(unit_id, set())
        short = lease is not None and ((lease.end_date - lease.start_date).days + 1 < short_days)
        state = sensor.get(unit_id)
        unit_day = UnitDay(
            unit_id=unit_id, area_m2=Decimal(area), status=UnitStatus(later.get(unit_id, status)),
            compliant=bool(compliant), has_lease=lease is not None,
            first_rent_paid=lease is not None and lease.first_rent_paid_at is not None, short_stay=short,
            flags=frozenset(FlagKind(f) for f in unit_flags), sensor=Occupancy(state) if state else None)
        lease_state = "NONE" if lease is None else (
            "ACTIVE" if lease.handed_over_at is not None and lease.handed_over_at < end else "SIGNED")
        out.append(UnitFacts(unit_day=unit_day, building_id=building_id, city_id=city_of[building_id],
                             property_type=str(ptype), unit_type=utype, lease=lease, lease_state=lease_state,
                             flags=sorted(unit_flags), last_report=reports.get(unit_id)))
    return out


def snapshot_row(day: date, facts: UnitFacts) -> UnitDaySnapshot:
    u = facts.unit_day
    c = classify(u)
    report = facts.last_report
    return UnitDaySnapshot(
        day=day, unit_id=u.unit_id, building_id=facts.building_id, city_id=facts.city_id,
        property_type=facts.property_type, unit_type=facts.unit_type, area_m2=u.area_m2, status=u.status,
        compliant=u.compliant, lease_id=facts.lease.id if facts.lease else None, lease_state=facts.lease_state,
        first_rent_paid=u.first_rent_paid,
        first_rent_paid_at=facts.lease.first_rent_paid_at if facts.lease else None,
        short_stay=u.short_stay or FlagKind.SHORT_STAY in u.flags, flags=facts.flags,
        sensor=str(u.sensor) if u.sensor else None,
        last_inspection_at=report[0] if report else None, last_inspection_state=report[1] if report else "",
        last_inspection_status=report[2] if report else "",
        rentable=c.rentable, effective=c.effective, signed_unpaid=c.signed_unpaid, short_stay_paid=c.short_stay_paid,
        sensor_known=c.sensor_known, sensor_occupied=c.sensor_occupied,
        excl_trial=FlagKind.TRIAL_STAY in c.exclusions, excl_internal=FlagKind.INTERNAL_USE in c.exclusions,
        excl_swap=FlagKind.PARTNERSHIP_SWAP in c.exclusions, excl_noncompliant=FlagKind.NON_COMPLIANT in c.exclusions)


@dataclass
class DayResult:
    day: date
    state: DayState | None  # None: skipped (already complete, or another instance holds the day)
    reasons: list[str] = field(default_factory=list)
    units: int = 0
    skipped: str = ""
    newly_incomplete: bool = False
    completed_after_incomplete: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"day": self.day.isoformat(), "state": str(self.state) if self.state else None,
                               "units": self.units}
        if self.reasons:
            out["reasons"] = self.reasons
        if self.skipped:
            out["skipped"] = self.skipped
        return out


async def write_tallies(connection, day: date) -> None:
    """The day's tally rows, added up from its unit rows in the database."""
    from core import sql
    from occupancy.reports import TALLY_COLUMNS, TALLY_FROM_UNITS

    t, u = sql.names(DayTally), sql.names(UnitDaySnapshot)
    await DayTally.filter(day=day).delete()
    keys = "building_id, city_id, unit_type, property_type"
    await sql.execute(connection, f"INSERT INTO {t} (day, {keys}, {', '.join(TALLY_COLUMNS)}) "
                                  f"SELECT day, {keys}, {TALLY_FROM_UNITS} FROM {u} WHERE day = ? "
                                  f"GROUP BY day, {keys}", [day])


async def _try_lock(connection, day: date) -> bool:
    rows = await connection.execute_query_dict("SELECT pg_try_advisory_xact_lock($1, $2) AS locked",
                                               [ADVISORY_LOCK_CLASS, day.toordinal()])
    return bool(rows[0]["locked"])


async def snapshot_day(settings: Settings, day: date, now: datetime, *, force: bool = False,
                       checks: dict[Any, Check] | None = None) -> DayResult:
    """Snapshot one day (yesterday, or a past day: back-fill). A COMPLETE day is kept unless ``force``; an
    incomplete or missing one is (re)tried. Idempotent: the same facts give the same rows."""
    existing = await OccupancySnapshotDay.get_or_none(day=day)
    if existing is not None and existing.state == DayState.COMPLETE and not force:
        return DayResult(day, None, units=existing.units, skipped="already complete")
    _, end = day_bounds(day, settings.business_timezone)
    checked: list[SourceCheck] = await check_sources(settings, day, end, checks)
    sources = {str(c.source): c.as_dict() for c in checked}
    reasons = [f"{c.source}: {c.detail}" for c in checked if not c.ok]
    async with in_transaction() as connection:
        if is_postgres() and not await _try_lock(connection, day):
            return DayResult(day, None, skipped="another instance is writing this day")
        existing = await OccupancySnapshotDay.select_for_update().get_or_none(day=day) if is_postgres() else \
            await OccupancySnapshotDay.get_or_none(day=day)
        if existing is not None and existing.state == DayState.COMPLETE and not force:
            return DayResult(day, None, units=existing.units, skipped="already complete")  # another run won
        was_incomplete = existing is not None and existing.state == DayState.INCOMPLETE
        if reasons:
            if existing is not None and existing.state == DayState.COMPLETE:
                # a forced re-run on a source gone stale since: the complete day stays as it was
                return DayResult(day, DayState.COMPLETE, reasons=reasons, units=existing.units,
                                 skipped="sources stale now; the complete snapshot is kept")
            if existing is None:
                await OccupancySnapshotDay.create(day=day, state=DayState.INCOMPLETE, reasons=reasons,
                                                  sources=sources, units=0, started_at=now, finished_at=now)
            else:
                await OccupancySnapshotDay.filter(id=existing.id).update(
                    state=DayState.INCOMPLETE, reasons=reasons, sources=sources, runs=existing.runs + 1,
                    started_at=now, finished_at=now)
            return DayResult(day, DayState.INCOMPLETE, reasons=reasons, newly_incomplete=not was_incomplete)
        facts = await gather(day, settings)
        await UnitDaySnapshot.filter(day=day).delete()
        rows = [snapshot_row(day, f) for f in facts]
        for start in range(0, len(rows), INSERT_BATCH):
            await UnitDaySnapshot.bulk_create(rows[start:start + INSERT_BATCH])
        await write_tallies(connection, day)
        if existing is None:
            await OccupancySnapshotDay.create(day=day, state=DayState.COMPLETE, reasons=[], sources=sources,
                                              units=len(rows), started_at=now, finished_at=now)
        else:
            await OccupancySnapshotDay.filter(id=existing.id).update(
                state=DayState.COMPLETE, reasons=[], sources=sources, units=len(rows), runs=existing.runs + 1,
                started_at=now, finished_at=now)
    return DayResult(day, DayState.COMPLETE, units=len(rows), completed_after_incomplete=was_incomplete)
