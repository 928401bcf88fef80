"""Demo lease health: the residential tenants the ledger demo left unpaid are YELLOW already (their rents are more
than five working days late); one live lease gets six repair orders this month (ORANGE) and one three extensions
this year (RED), made through the work-order and amendment services. The scheduler's first pass raises the
actions."""

from __future__ import annotations

from datetime import datetime, timedelta

from leasing.choices import LIVE_LEASE_STATUSES
from leasing.schemas import TermsPatch
from leasing.service import amend_lease
from models.leasing import Lease
from models.portfolio import Unit
from workorders.choices import TriggerSource, WorkOrderType
from workorders.service import open_work_order

REPAIRS = ["空调不制冷", "卫生间漏水", "门锁故障", "热水器报修", "电路跳闸", "窗户密封条脱落"]


async def seed(now: datetime) -> None:
    leases = await Lease.filter(status__in=list(LIVE_LEASE_STATUSES), contract_no__isnull=True).order_by("-id") \
        .limit(2)
    if len(leases) < 2:
        return
    orange, red = leases
    unit = await Unit.get(id=orange.unit_id)
    for n, title in enumerate(REPAIRS):
        await open_work_order(wo_type=WorkOrderType.REPAIR, building_id=unit.building_id, unit_id=unit.id,
                              title=f"{unit.code} {title}", trigger_source=TriggerSource.MANUAL,
                              trigger_ref=f"demo:health:{orange.id}:{n}", now=now)
    end = red.end_date
    for n in range(3):
        end += timedelta(days=30)
        await amend_lease(red.id, TermsPatch(kind="EXTENSION", reason=f"租户申请延期(第{n + 1}次)", end_date=end),
                          now=now, actor_id=None)
    print(f"lease health: lease {orange.id} with {len(REPAIRS)} repairs this month, lease {red.id} extended 3 times")
