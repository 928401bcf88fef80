"""Demo collections: the residential tenants the ledger demo left unpaid are overdue in every tier (their rents
fell due 1 to 200 days ago). Their leases get a 违约金 clause (万分之五 a day, capped at 20 %), one tenant asks for
a grace period and one promises to pay. The scheduler's first pass (``make run``) fires each receivable's current
tier (left to it, so the demo's outbox stays within one sender batch)."""

from __future__ import annotations

from datetime import datetime, timedelta

from arrears.choices import ContactKind, PromiseStatus, RequestedVia
from arrears.grace import request_grace
from arrears.service import ArrearsConfig, current_tier, overdue_receivables, received_total
from arrears.templates import MessageTemplates
from arrears.tiers import TierTable
from models.arrears import ContactNote, LateFeeClauseRecord
from models.leasing import Lease
from models.portfolio import Unit

CLAUSE = {"kind": "DAILY_RATE", "daily_rate": "0.0005", "cap_rate": "0.2", "clause_ref": "第八条"}


async def seed(now: datetime) -> None:
    cfg = ArrearsConfig(tiers=TierTable.from_config(), templates=MessageTemplates.from_config())
    today = cfg.local_date(now)
    rows = await overdue_receivables(today)
    lease_ids = sorted({r.lease_id for r in rows})
    for lease_id in lease_ids:
        if not await LateFeeClauseRecord.filter(lease_id=lease_id).exists():
            await LateFeeClauseRecord.create(lease_id=lease_id, clause=CLAUSE)
    if len(lease_ids) >= 2:
        first = await Lease.get(id=lease_ids[0])
        await request_grace(first, via=RequestedVia.TENANT, requested_by=None, cfg=cfg, now=now,
                            reason="资金周转,申请延期一周")
        second = await Lease.get(id=lease_ids[1])
        unit = await Unit.get(id=second.unit_id)
        await ContactNote.create(tenant_id=second.tenant_id, lease_id=second.id, building_id=unit.building_id,
                                 kind=ContactKind.PROMISE, note="电话沟通,承诺三日内付清", at=now,
                                 promised_date=today + timedelta(days=3), promise_status=PromiseStatus.PENDING,
                                 promise_baseline_fen=await received_total(second.id))
    tiers = sorted({tier.code for r in rows if (tier := current_tier(r, cfg, today))})
    print(f"collections: {len(rows)} overdue receivables on {len(lease_ids)} leases, tiers {', '.join(tiers)}")

