"""Demo data for deposit refunds: two move-outs, one fresh and one stalled for three days (red on the board)."""

from __future__ import annotations

from datetime import datetime, timedelta

from accounts.choices import Role
from config.settings import Settings
from leasing.choices import LIVE_LEASE_STATUSES
from models.accounts import User
from models.leasing import Lease
from models.portfolio import Unit
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status
from refunds.service import RefundConfig, apply_refund


async def seed(now: datetime) -> None:
    cfg = RefundConfig.from_settings(Settings())
    leases = await Lease.filter(status__in=list(LIVE_LEASE_STATUSES)).order_by("id").limit(2)
    for lease, age in zip(leases, (timedelta(0), timedelta(days=3)), strict=False):
        tenant = await User.filter(tenant_id=lease.tenant_id, role=Role.TENANT).first()
        unit = await Unit.get(id=lease.unit_id)
        if tenant is None:
            continue
        applied_at = now - age
        if unit.status == UnitStatus.PENDING_DELIVERY:
            await change_unit_status(unit.id, UnitStatus.OCCUPIED, source=StatusSource.LEASE, now=applied_at,
                                     reason="demo: moved in")
        await apply_refund(lease=lease, applicant=tenant, now=applied_at, cfg=cfg, reason="演示:到期退租",
                           payee_name=tenant.name, payee_bank="招商银行", payee_account="6225880012345678")
    print(f"deposit refunds: {len(leases)} demo application(s)")
