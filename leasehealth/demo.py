"""Demo lease health: the residential tenants the ledger demo left unpaid are YELLOW already (their rents are more
than five working days late); one live lease gets six repair orders this month (ORANGE) and one three extensions
this year (RED), made through the work-order and amendment services. The scheduler's first pass raises the
actions. Tenant profiles are computed at the end (the daily job recomputes them): two tenants who always paid on
the due date, one of them with three broken promises to pay (建议续约, 需复核), and the demo tenants who paid late or
not at all (不建议续约)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import cast

from arrears.choices import ContactKind, PromiseStatus
from leasehealth.profiles import run_profiles
from leasehealth.service import HealthConfig
from leasing.choices import LIVE_LEASE_STATUSES
from leasing.demo import DEMO_BUILDING
from leasing.ledger import record_payment
from leasing.schemas import TermsPatch
from leasing.service import amend_lease, create_lease, sign_lease
from models.arrears import ContactNote
from models.leasing import Lease, Receivable
from models.portfolio import Unit
from portfolio.choices import PropertyType
from workorders.choices import TriggerSource, WorkOrderType
from workorders.service import open_work_order

REPAIRS = ["空调不制冷", "卫生间漏水", "门锁故障", "热水器报修", "电路跳闸", "窗户密封条脱落"]


async def seed(now: datetime) -> None:
    leases = await Lease.filter(status__in=list(LIVE_LEASE_STATUSES), contract_no__isnull=True).order_by("-id") \
        .limit(2)
    if len(leases) < 2:
        await seed_profiles(now)
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
    await seed_profiles(now)


async def _paying_lease(unit: Unit, name: str, phone: str, now: datetime) -> Lease:
    """A residential lease that began ten months ago, every due paid on its due date."""
    start = (now - timedelta(days=300)).date()
    lease = await create_lease(unit=unit, tenant_name=name, tenant_phone=phone, start_date=start,
                               end_date=start.replace(year=start.year + 1) - timedelta(days=1),
                               monthly_rent_fen=380000, deposit_fen=760000, payment_frequency="MONTHLY")
    await sign_lease(lease.id, now=datetime.combine(start, time(10), tzinfo=now.tzinfo), actor_id=None)
    for row in await Receivable.filter(lease_id=lease.id, due_date__lt=now.date()).order_by("due_date", "id"):
        paid = datetime.combine(row.due_date, time(9), tzinfo=now.tzinfo)
        await record_payment(lease_id=lease.id, amount_fen=row.amount_fen, paid_at=paid, method="BANK_TRANSFER",
                             now=paid, receivable_id=row.id, payer_name=name, external_ref=f"demo:profile:{row.id}",
                             source="IMPORT")
    return lease


async def seed_profiles(now: datetime) -> None:
    """Two punctual tenants on free residential units, one of them with three broken promises to pay (需复核);
    then every live tenant's profile (the overdue demo tenants come out 不建议续约)."""
    cfg = HealthConfig()
    busy = set(cast(list[int], await Lease.filter(status__in=list(LIVE_LEASE_STATUSES)).values_list(
        "unit_id", flat=True)))
    # the ledger demo's building (福田 B), top floor first: units the IoT simulator's scenarios do not pick
    free = [u for u in await Unit.filter(building__code=DEMO_BUILDING, property_type=PropertyType.RESIDENTIAL)
            .order_by("-floor", "-code") if u.id not in busy]
    if len(free) >= 2:
        await _paying_lease(free[0], "准时租户", "13700000001", now)
        promiser = await _paying_lease(free[1], "失约租户", "13700000002", now)
        today = cfg.local_date(now)
        for n in range(3):
            promised = today - timedelta(days=100 - 30 * n)
            await ContactNote.create(tenant_id=promiser.tenant_id, lease_id=promiser.id,
                                     building_id=free[1].building_id, kind=ContactKind.PROMISE,
                                     note=f"电话沟通,承诺{promised.isoformat()}前付清(未兑现)",
                                     at=now - timedelta(days=103 - 30 * n), promised_date=promised,
                                     promise_status=PromiseStatus.BROKEN, evaluated_at=now)
    report = await run_profiles(cfg, now)
    print(f"tenant profiles: {report.tenants} tenants, {report.recommendations}")
