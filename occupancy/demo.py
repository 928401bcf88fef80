"""Demo occupancy: a portfolio in which the figures differ visibly (a trial stay, internal use, a partnership
swap, a non-compliant unit, a paid short stay, signed leases whose first rent is unpaid, sensor inference on the
let units), the last 35 days snapshotted and last month's status-consistency audit generated.

The demo's leases are entered at seed time but stand for tenancies that began on their start dates: their
signature (start − 7 days), their handover (the start) and the unit status changes the seed made for them are
dated back accordingly, so the back-filled days show them as they would have been recorded."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config.settings import Settings
from iot.choices import Occupancy
from leasing.choices import LIVE_LEASE_STATUSES
from leasing.ledger import record_payment
from leasing.service import activate_in_force, create_lease
from models.iot import OccupancyDay
from models.leasing import Lease
from models.occupancy import OccupancyFlag
from models.portfolio import Unit, UnitStatusChange
from occupancy.choices import DayState, FlagKind
from occupancy.jobs import backfill
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status

HISTORY_DAYS = 35


def _at(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(10, 0), tz)


async def _date_tenancies_back(now: datetime, tz: ZoneInfo) -> None:
    seeded_since = now - timedelta(days=4)
    for lease in await Lease.filter(status__in=list(LIVE_LEASE_STATUSES), signed_at__gte=seeded_since):
        start = lease.start_date
        if start >= now.astimezone(tz).date():
            continue
        signed_at, handed_at = _at(start - timedelta(days=7), tz), _at(start, tz)
        await Lease.filter(id=lease.id).update(
            signed_at=signed_at, handed_over_at=handed_at if lease.handed_over_at else None)
        changes = UnitStatusChange.filter(unit_id=lease.unit_id, source=StatusSource.LEASE,
                                          changed_at__gte=seeded_since)
        await changes.filter(to_status=UnitStatus.PENDING_DELIVERY).update(changed_at=signed_at)
        await changes.filter(to_status=UnitStatus.OCCUPIED).update(changed_at=handed_at)


async def seed(now: datetime) -> None:
    settings = Settings()
    tz = ZoneInfo(settings.business_timezone)
    today = now.astimezone(tz).date()
    await _date_tenancies_back(now, tz)
    since = today - timedelta(days=HISTORY_DAYS + 30)
    vacant = Unit.filter(status=UnitStatus.VACANT, building__code="SZ-NS-A").order_by("code")
    homes = await vacant.filter(property_type="RESIDENTIAL")
    office = await vacant.filter(property_type="OFFICE").first()
    warehouse = await vacant.filter(property_type="WAREHOUSE").first()
    if len(homes) >= 2 and office is not None:
        trial, short, internal = homes[0], homes[1], office
        await change_unit_status(trial.id, UnitStatus.TRIAL_STAY, source=StatusSource.ADMIN,
                                 now=_at(since, tz), reason="demo: 员工试住体验")
        await OccupancyFlag.create(unit_id=trial.id, kind=FlagKind.TRIAL_STAY, valid_from=since,
                                   reason="试住体验", reference="DEMO-TS-1")
        await change_unit_status(internal.id, UnitStatus.INTERNAL_USE, source=StatusSource.ADMIN,
                                 now=_at(since, tz), reason="demo: 管家办公室")
        await OccupancyFlag.create(unit_id=internal.id, kind=FlagKind.INTERNAL_USE, valid_from=since,
                                   reason="管家办公室", reference="DEMO-IU-1")
        # a short stay (短租) of 20 days covering the last days, paid up front
        stay = await create_lease(unit=short, tenant_name="短租客", tenant_phone="13800009999",
                                  start_date=today - timedelta(days=12), end_date=today + timedelta(days=7),
                                  monthly_rent_fen=600000, deposit_fen=100000)
        await activate_in_force(stay.id, now=_at(today - timedelta(days=12), tz), actor_id=None)
        await record_payment(lease_id=stay.id, amount_fen=500000, paid_at=_at(today - timedelta(days=12), tz),
                             method="WECHAT_PAY", now=now, source="IMPORT", external_ref=f"demo-short:{stay.id}")
    if warehouse is not None:
        await OccupancyFlag.create(unit_id=warehouse.id, kind=FlagKind.NON_COMPLIANT, valid_from=since,
                                   reason="消防验收未通过", reference="DEMO-FIRE-1")
    swap = await Lease.filter(status__in=list(LIVE_LEASE_STATUSES), unit__building__code="HZ-BJ-C",
                              start_date__lte=since).order_by("id").first()
    if swap is not None:
        await OccupancyFlag.create(unit_id=swap.unit_id, lease_id=swap.id, kind=FlagKind.PARTNERSHIP_SWAP,
                                   valid_from=since, reason="与合作方办公空间置换", reference="DEMO-SW-1")
    await _sensor_days(today, tz)
    results = await backfill(settings, today - timedelta(days=HISTORY_DAYS), today - timedelta(days=1), now)
    complete = sum(1 for r in results if r.state == DayState.COMPLETE)
    print(f"occupancy: {complete} of {len(results)} past days snapshotted")
    await _last_month_audit(settings, today, now)


async def _sensor_days(today: date, tz: ZoneInfo) -> None:
    """What the IoT inference would have stored: let units mostly lived in, a few quiet, one vacant unit busy
    (the audit's VACANT but occupied-like)."""
    first = today - timedelta(days=HISTORY_DAYS)
    let = await Lease.filter(status__in=list(LIVE_LEASE_STATUSES), start_date__lte=first,
                             unit__status=UnitStatus.OCCUPIED).order_by("unit_id").values_list("unit_id", flat=True)
    busy_vacant = await Unit.filter(status=UnitStatus.VACANT, building__code="HZ-BJ-C").order_by("code").first()
    rows = []
    for n in range((today - first).days):
        day = first + timedelta(days=n)
        for i, unit_id in enumerate(let):
            rows.append(OccupancyDay(unit_id=unit_id, day=day, evidence={"demo": True},
                                     state=Occupancy.VACANT_LIKE if i % 4 == 3 else Occupancy.OCCUPIED_LIKE))
        if busy_vacant is not None and n >= HISTORY_DAYS - 6:
            rows.append(OccupancyDay(unit_id=busy_vacant.id, day=day, state=Occupancy.OCCUPIED_LIKE,
                                     evidence={"demo": True}))
    await OccupancyDay.bulk_create(rows, batch_size=1000)


async def _last_month_audit(settings: Settings, today: date, now: datetime) -> None:
    from core.errors import AppError
    from occupancy.audit import generate_audit

    last = today.replace(day=1) - timedelta(days=1)
    try:
        report = await generate_audit(settings, f"{last.year:04d}-{last.month:02d}", now)
        print(f"status audit {report.month}: {report.findings_count} differences over {report.units} units")
    except AppError as exc:
        print(f"status audit: {exc.message}")
