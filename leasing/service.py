"""Leases. Signing moves the unit to PENDING_DELIVERY and opens one cleaning work order
(seed 001: 签约完成 → 待交付 + 保洁工单), idempotently."""

from __future__ import annotations

from datetime import date, datetime

from tortoise.transactions import in_transaction

from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from leasing.choices import LIVE_LEASE_STATUSES, LeaseStatus, PaymentFrequency
from models.leasing import Lease, Tenant
from models.portfolio import Unit
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status
from workorders.choices import TriggerSource, WorkOrderType
from workorders.service import open_work_order


async def create_lease(*, unit: Unit, tenant_name: str, tenant_phone: str, start_date: date, end_date: date,
                       monthly_rent_fen: int, deposit_fen: int, payment_frequency: PaymentFrequency,
                       renewal_of_id: int | None = None) -> Lease:
    if end_date <= start_date:
        raise ValidationFailed("end_date must be after start_date",
                               details={"fields": [{"field": "end_date", "message": "must be after start_date"}]})
    overlapping = await Lease.filter(unit_id=unit.id, status__in=list(LIVE_LEASE_STATUSES),
                                     start_date__lte=end_date, end_date__gte=start_date)
    if renewal_of_id:
        overlapping = [lease for lease in overlapping if lease.id != renewal_of_id]
    if overlapping:
        raise Conflict("the unit already has a live lease in that period", code="LEASE_OVERLAP",
                       details={"lease_ids": [lease.id for lease in overlapping]})
    async with in_transaction():
        tenant = await Tenant.create(name=tenant_name, phone=tenant_phone)
        return await Lease.create(unit=unit, tenant=tenant, start_date=start_date, end_date=end_date,
                                  monthly_rent_fen=monthly_rent_fen, deposit_fen=deposit_fen,
                                  payment_frequency=payment_frequency, renewal_of_id=renewal_of_id)


async def sign_lease(lease_id: int, *, now: datetime, actor_id: int | None) -> tuple[Lease, bool]:
    """Sign a DRAFT lease. Returns (lease, signed_now); signing again is a no-op that returns the lease.

    The DRAFT→SIGNED update is conditional, so of two concurrent calls exactly one proceeds; the work
    order is keyed by the lease, so even a retry after a crash cannot open a second one.
    """
    async with in_transaction():
        lease = await Lease.get_or_none(id=lease_id)
        if lease is None:
            raise NotFound(f"lease {lease_id} not found")
        won = await Lease.filter(id=lease_id, status=LeaseStatus.DRAFT).update(status=LeaseStatus.SIGNED,
                                                                                signed_at=now)
        if won != 1:
            lease = await Lease.get(id=lease_id)
            if lease.status in (LeaseStatus.SIGNED, LeaseStatus.ACTIVE):
                return lease, False
            raise InvalidTransition("lease", lease.status, LeaseStatus.SIGNED, [])
        unit = await Unit.get(id=lease.unit_id)
        is_renewal_in_place = lease.renewal_of_id is not None and unit.status == UnitStatus.OCCUPIED
        if not is_renewal_in_place:
            await change_unit_status(unit.id, UnitStatus.PENDING_DELIVERY, source=StatusSource.LEASE, now=now,
                                     actor_id=actor_id, reason="lease signed", reference=f"lease:{lease.id}")
            await open_work_order(wo_type=WorkOrderType.CLEANING, building_id=unit.building_id, unit_id=unit.id,
                                  title=f"交付前保洁 {unit.code}", trigger_source=TriggerSource.LEASE_SIGNED,
                                  trigger_ref=f"lease:{lease.id}", now=now, actor_id=actor_id)
        return await Lease.get(id=lease_id), True


async def activate_lease(lease_id: int, *, now: datetime, actor_id: int | None,
                         first_rent_paid_at: datetime | None = None) -> tuple[Lease, bool]:
    """Hand over the keys: a SIGNED lease becomes ACTIVE once the first rent is paid, and its unit, awaiting
    delivery, becomes OCCUPIED. Returns (lease, activated_now); activating again is a no-op."""
    async with in_transaction():
        lease = await Lease.get_or_none(id=lease_id)
        if lease is None:
            raise NotFound(f"lease {lease_id} not found")
        won = await Lease.filter(id=lease_id, status=LeaseStatus.SIGNED).update(
            status=LeaseStatus.ACTIVE, first_rent_paid_at=first_rent_paid_at or now)
        if won != 1:
            if lease.status == LeaseStatus.ACTIVE:
                return lease, False
            raise InvalidTransition("lease", lease.status, LeaseStatus.ACTIVE, [])
        unit = await Unit.get(id=lease.unit_id)
        if unit.status != UnitStatus.OCCUPIED:
            await change_unit_status(unit.id, UnitStatus.OCCUPIED, source=StatusSource.LEASE, now=now,
                                     actor_id=actor_id, reason="lease activated, keys handed over",
                                     reference=f"lease:{lease.id}")
        return await Lease.get(id=lease_id), True


def serialize_lease(lease: Lease, *, unit_code: str | None = None, include_tenant: bool = True) -> dict:
    data = {
        "id": lease.id, "unit_id": lease.unit_id, "unit_code": unit_code, "status": lease.status,
        "start_date": lease.start_date.isoformat(), "end_date": lease.end_date.isoformat(),
        "monthly_rent_fen": lease.monthly_rent_fen, "deposit_fen": lease.deposit_fen,
        "payment_frequency": lease.payment_frequency,
        "signed_at": lease.signed_at.isoformat() if lease.signed_at else None,
        "first_rent_paid_at": lease.first_rent_paid_at.isoformat() if lease.first_rent_paid_at else None,
        "renewal_of": lease.renewal_of_id,
    }
    if include_tenant:
        data["tenant_id"] = lease.tenant_id
    return data
