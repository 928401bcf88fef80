"""Collections objects per building for the scope test: a requested grace period, a late-fee accrual and an open
collections task on the side's first (overdue) rent receivable. No messages are written."""

from __future__ import annotations

from arrears.choices import GraceStatus, RequestedVia, TaskStatus, TierCode
from models.arrears import CollectionTask, GracePeriod, LateFeeAccrual


async def extend_world(world, side, now) -> None:
    receivable = side.extra["receivable"]
    side.extra["grace"] = await GracePeriod.create(
        lease_id=side.lease.id, tenant_id=side.lease.tenant_id, building_id=side.building.id,
        status=GraceStatus.REQUESTED, requested_via=RequestedVia.TENANT, requested_by_id=side.tenant_user.id,
        requested_at=now, days=7, reason="scope test")
    await LateFeeAccrual.create(base_id=receivable.id, lease_id=side.lease.id, building_id=side.building.id,
                                fee_fen=100, days=1, as_of=now.date(), breakdown={})
    side.extra["collection_task"] = await CollectionTask.create(
        receivable_id=receivable.id, lease_id=side.lease.id, tenant_id=side.lease.tenant_id,
        building_id=side.building.id, level=3, tier_code=TierCode.LAWYER_LETTER, title="scope test",
        assignee_id=side.finance.id, status=TaskStatus.OPEN, due_at=now, opened_at=now)
