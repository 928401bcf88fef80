"""Grace periods (宽限期): requested by the tenant or by staff (default RW_ARREARS_GRACE_DAYS), decided by the area
manager; while one is approved and running, no tier message goes out for the lease (arrears.service.collect).
Approval starts it on the day of the decision; a tier that fell due meanwhile fires when it ends, if still
current (levels passed during the grace are recorded as skipped)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.transactions import in_transaction

from accounts.choices import Role
from arrears.choices import GraceStatus, RequestedVia
from arrears.service import DUNNED_TYPES, ArrearsConfig
from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from leasing.choices import OPEN_RECEIVABLE_STATUSES
from models.accounts import User
from models.arrears import GracePeriod
from models.leasing import Lease, Receivable
from models.portfolio import Unit
from notifications.choices import NotificationKind
from notifications.outbox import enqueue_notification

MAX_GRACE_DAYS = 30


async def request_grace(lease: Lease, *, via: RequestedVia, requested_by: int | None, cfg: ArrearsConfig,
                        now: datetime, days: int | None = None, reason: str = "",
                        receivable_id: int | None = None) -> GracePeriod:
    """A grace request for a lease with something overdue; one pending or running request per lease."""
    days = days or cfg.grace_days
    if not 1 <= days <= MAX_GRACE_DAYS:
        raise ValidationFailed(f"a grace period is 1 to {MAX_GRACE_DAYS} days", code="INVALID_GRACE_DAYS",
                               details={"field": "days", "value": days})
    today = cfg.local_date(now)
    overdue = Receivable.filter(lease_id=lease.id, status__in=list(OPEN_RECEIVABLE_STATUSES), due_date__lt=today,
                                charge_type__in=list(DUNNED_TYPES), open_key__not_isnull=True)
    if receivable_id is not None:
        overdue = overdue.filter(id=receivable_id)
    if not await overdue.exists():
        raise ValidationFailed("nothing is overdue on this lease", code="NOTHING_OVERDUE",
                               details={"lease_id": lease.id, "receivable_id": receivable_id})
    unit = await Unit.get(id=lease.unit_id)
    async with in_transaction():
        await Lease.select_for_update().get(id=lease.id)  # one request at a time per lease
        if await GracePeriod.filter(lease_id=lease.id, status=GraceStatus.REQUESTED).exists() or \
                await GracePeriod.filter(lease_id=lease.id, status=GraceStatus.APPROVED, ends_on__gte=today).exists():
            raise Conflict("this lease already has a grace period requested or running", code="GRACE_EXISTS")
        return await GracePeriod.create(lease_id=lease.id, tenant_id=lease.tenant_id, building_id=unit.building_id,
                                        receivable_id=receivable_id, requested_via=via, requested_by_id=requested_by,
                                        requested_at=now, days=days, reason=reason.strip()[:500])


async def decide_grace(grace_id: int, *, approve: bool, decider: User, cfg: ArrearsConfig, now: datetime,
                       note: str = "") -> GracePeriod:
    """The area manager's decision: APPROVED (runs from today for its days) or REJECTED; the tenant is told."""
    today = cfg.local_date(now)
    target = GraceStatus.APPROVED if approve else GraceStatus.REJECTED
    async with in_transaction():
        grace = await GracePeriod.get_or_none(id=grace_id)
        if grace is None:
            raise NotFound("grace period not found")
        changes: dict[str, Any] = {"status": target, "decided_by_id": decider.id, "decided_at": now,
                                   "decision_note": note.strip()[:500]}
        if approve:
            changes.update(starts_on=today, ends_on=today + timedelta(days=grace.days - 1))
        won = await GracePeriod.filter(id=grace.id, status=GraceStatus.REQUESTED).update(**changes)
        if won != 1:
            raise InvalidTransition("grace period", grace.status, target, [GraceStatus.REQUESTED.value])
        grace = await GracePeriod.get(id=grace.id)
        lease = await Lease.get(id=grace.lease_id)
        unit = await Unit.get(id=lease.unit_id)
        tenants = await User.filter(tenant_id=grace.tenant_id, role=Role.TENANT, is_active=True).values_list(
            "id", flat=True)
        for user_id in cast(list[int], tenants):
            await enqueue_notification(
                user_id=user_id, kind=NotificationKind.GRACE_DECISION,
                dedupe_key=f"grace:{grace.id}:{target.value.lower()}:{user_id}",
                payload={"grace_id": grace.id, "lease_id": lease.id, "contract_no": lease.contract_no or "",
                         "unit_code": unit.code, "decision": "已批准" if approve else "未批准",
                         "ends_on": grace.ends_on.isoformat() if grace.ends_on else "",
                         "decided_on": today.isoformat(),
                         "note": (f"宽限期至{grace.ends_on.isoformat()}" if approve and grace.ends_on
                                  else (note or "宽限申请未获批准"))},
                now=now)
    return grace


def serialize_grace(grace: GracePeriod) -> dict[str, Any]:
    return {"id": grace.id, "lease_id": grace.lease_id, "tenant_id": grace.tenant_id,
            "building_id": grace.building_id, "receivable_id": grace.receivable_id, "status": grace.status,
            "requested_via": grace.requested_via, "requested_by": grace.requested_by_id,
            "requested_at": grace.requested_at.isoformat(), "days": grace.days, "reason": grace.reason,
            "starts_on": grace.starts_on.isoformat() if grace.starts_on else None,
            "ends_on": grace.ends_on.isoformat() if grace.ends_on else None, "decided_by": grace.decided_by_id,
            "decided_at": grace.decided_at.isoformat() if grace.decided_at else None,
            "decision_note": grace.decision_note}
