"""Demo ledger: commercial leases that show the terms (元/㎡/天 with a free period and an escalation, 元/㎡/月 with
other charges, a yearly warehouse), and payments on the residential leases (some paid, some partly, some not).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from leasing.choices import LeaseStatus, ReceivableStatus
from leasing.ledger import record_payment
from leasing.service import create_lease, sign_lease
from models.leasing import Lease, Receivable
from models.portfolio import Unit

DEMO_BUILDING = "SZ-FT-B"


async def seed(now: datetime) -> None:
    today = now.date()
    start = today.replace(day=1) - timedelta(days=200)
    # units the IoT simulator's scenarios and the mini program's tests do not use: 福田 B, floor 12
    pool = Unit.filter(building__code=DEMO_BUILDING, status="VACANT", floor=12).order_by("-code")
    commercial: dict[str, Unit] = {}
    for unit in await pool.filter(property_type__in=["SHOP", "WAREHOUSE"]):
        commercial.setdefault(unit.property_type, unit)
    offices = await pool.filter(property_type="OFFICE").limit(1)
    made = []
    if "SHOP" in commercial:
        made.append(await create_lease(
            unit=commercial["SHOP"], contract_no="202512001", tenant_kind="COMPANY",
            tenant_name="深圳市南山咖啡有限公司",
            tenant_uscc="91350100M000100Y43", tenant_phone="075586001234", start_date=start,
            end_date=start.replace(year=start.year + 3) - timedelta(days=1), payment_frequency="两月一次",
            rent_basis="PER_M2_DAY", unit_price="4.50", days_per_month="365/12", deposit_months="3",
            free_periods=[{"start": start.isoformat(), "end": (start + timedelta(days=59)).isoformat()}],
            escalations=[{"kind": "PERCENT", "from_year": 2, "percent": "5"}],
            charges=[{"code": "MGMT", "name": "物业费", "amount_fen": 120000, "frequency": "月付"}]))
    if offices:
        made.append(await create_lease(
            unit=offices[0], contract_no="202512002", tenant_kind="COMPANY", tenant_name="杭州滨江数据科技有限公司",
            tenant_uscc=_valid_uscc("91330108MA2KD0AB1"), tenant_phone="057186001234",
            start_date=start, end_date=start.replace(year=start.year + 2) - timedelta(days=1),
            payment_frequency="季付", rent_basis="PER_M2_MONTH", unit_price="95", deposit_fen=3000000,
            timing="FIXED_DAY", timing_day=5,
            charges=[{"code": "NET", "name": "网费", "amount_fen": 120000, "frequency": "年付"}]))
    if "WAREHOUSE" in commercial:
        made.append(await create_lease(
            unit=commercial["WAREHOUSE"], contract_no="202512003", tenant_name="王仓储", tenant_phone="13700001111",
            start_date=start, end_date=start.replace(year=start.year + 1) - timedelta(days=1),
            payment_frequency="年付", monthly_rent_fen=1500000, deposit_fen=1500000, timing_days=15))
    for lease in made:
        await sign_lease(lease.id, now=now, actor_id=None)
    await _payments(now)
    print(f"ledger: {len(made)} commercial leases, {await Receivable.all().count()} receivables")


def _valid_uscc(first17: str) -> str:
    from leasing.parties import USCC_CHARSET, USCC_WEIGHTS

    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return first17 + USCC_CHARSET[(31 - total % 31) % 31]


async def _payments(now: datetime) -> None:
    """Residential tenants paid their deposit and what fell due, except a few: one pays half, one nothing."""
    leases = await Lease.filter(status__in=[LeaseStatus.SIGNED, LeaseStatus.ACTIVE], contract_no__isnull=True)\
        .order_by("id")
    for n, lease in enumerate(leases):
        due = await Receivable.filter(lease_id=lease.id, due_date__lte=now.date(),
                                      status=ReceivableStatus.OPEN).order_by("due_date")
        total = sum(r.amount_fen for r in due)
        if not total or n % 5 == 4:
            continue  # never paid: overdue in the collections demo
        amount = total // 2 if n % 5 == 3 else total
        await record_payment(lease_id=lease.id, amount_fen=amount, paid_at=now - timedelta(days=1),
                             method="BANK_TRANSFER", payer_name="演示租户", reference=f"DEMO-{lease.id}", now=now,
                             source="IMPORT", external_ref=f"demo:{lease.id}")
