"""Collections test helpers: a lease in building A whose rent falls overdue on a known day, and a time helper."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from accounts.choices import Role
from leasing.ledger import record_payment
from leasing.service import create_lease, sign_lease
from models.accounts import User
from models.leasing import Receivable

DUE = date(2026, 11, 3)


def day(n: int, hour_utc: int = 2) -> datetime:
    """``n`` days after the rent's due date, 10:00 in Shanghai by default."""
    return datetime(DUE.year, DUE.month, DUE.day, hour_utc, 0, tzinfo=UTC) + timedelta(days=n)


async def overdue_lease(side, now: datetime, *, bound: bool = True, name: str = "欠租甲", phone: str = "13911112222",
                        unit_index: int = 0):
    """A monthly lease starting on DUE with its deposit paid on time: the first rent is what falls overdue.
    ``bound``: the tenant has a bound WeChat user (with an openid)."""
    lease = await create_lease(unit=side.units[unit_index], tenant_name=name, tenant_phone=phone, start_date=DUE,
                               end_date=date(2027, 11, 2), monthly_rent_fen=450000, deposit_fen=900000,
                               payment_frequency="MONTHLY")
    await sign_lease(lease.id, now=now, actor_id=side.manager.id)
    await record_payment(lease_id=lease.id, amount_fen=900000, paid_at=day(0), method="BANK_TRANSFER", now=day(0),
                         external_ref=f"test:deposit:{lease.id}", source="MANUAL")
    user = None
    if bound:
        user = await User.create(name=name, role=Role.TENANT, tenant_id=lease.tenant_id,
                                 openid=f"openid-{lease.tenant_id}")
    rent = await Receivable.get(lease_id=lease.id, charge="RENT", due_date=DUE)
    return lease, rent, user
