"""Lease health test helpers: a lease in a side's building whose dues were paid a chosen number of days late,
contract changes and work orders on known days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from leasing.ledger import record_payment
from leasing.service import create_lease, sign_lease
from models.leasing import LeaseChange, Receivable
from workorders.choices import TriggerSource, WorkOrderType
from workorders.service import open_work_order


def at(day: date, hour_utc: int = 2) -> datetime:
    """10:00 in Shanghai on ``day``."""
    return datetime(day.year, day.month, day.day, hour_utc, tzinfo=UTC)


async def lease_paying(side, *, start: date, until: date, days_late: int, unit_index: int = 0,
                       name: str = "健康甲", now: datetime | None = None):
    """A monthly lease from ``start``; every due up to ``until`` is paid ``days_late`` calendar days after it."""
    lease = await create_lease(unit=side.units[unit_index], tenant_name=name, tenant_phone="13922223333",
                               start_date=start, end_date=start.replace(year=start.year + 1) - timedelta(days=1),
                               monthly_rent_fen=450000, deposit_fen=900000, payment_frequency="MONTHLY")
    await sign_lease(lease.id, now=now or at(start), actor_id=side.manager.id)
    for row in await Receivable.filter(lease_id=lease.id, due_date__lte=until).order_by("due_date", "id"):
        paid = at(row.due_date + timedelta(days=days_late))
        await record_payment(lease_id=lease.id, amount_fen=row.amount_fen, paid_at=paid, method="BANK_TRANSFER",
                             now=paid, receivable_id=row.id, external_ref=f"test:health:{row.id}", source="MANUAL")
    return lease


async def add_changes(lease, days: list[date], kind: str = "RENT_CHANGE") -> None:
    version = lease.terms_version
    for n, day in enumerate(days):
        await LeaseChange.create(lease_id=lease.id, kind=kind, from_version=version + n, to_version=version + n + 1,
                                 effective_date=day, reason=f"变更{n + 1}", at=at(day))


async def add_orders(side, lease, days: list[date], wo_type: WorkOrderType = WorkOrderType.REPAIR) -> list[int]:
    ids = []
    for n, day in enumerate(days):
        order, _ = await open_work_order(wo_type=wo_type, building_id=side.building.id, unit_id=lease.unit_id,
                                         title=f"报修{n + 1}", trigger_source=TriggerSource.MANUAL,
                                         trigger_ref=f"test:health:{lease.id}:{day}:{n}", now=at(day))
        ids.append(order.id)
    return ids
