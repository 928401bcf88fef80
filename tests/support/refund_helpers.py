"""Helpers for refund tests: a fresh occupied tenancy, an on-site refund inspection through the inspections API."""

from __future__ import annotations

import json
import uuid
from datetime import date

from accounts.choices import Role
from accounts.tokens import issue_token
from api.access import ACCESS_TOKEN
from leasing.choices import PaymentFrequency
from leasing.service import create_lease, sign_lease
from models.accounts import User
from models.portfolio import Unit
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status
from tests.support.inspections_helpers import png_bytes, report_body
from tests.support.world import JWT_SECRET


def auth_at(user, now) -> dict[str, str]:
    """Bearer headers valid at ``now`` (tests move the clock past the world's token lifetime)."""
    token = issue_token(secret=JWT_SECRET, subject=str(user.id), kind=ACCESS_TOKEN, now=now, ttl_seconds=3600,
                        extra={"ver": user.token_version})
    return {"Authorization": f"Bearer {token}"}


PAYEE = {"payee_name": "张三", "payee_bank": "招商银行", "payee_account": "6225 8800 1234 5678"}


async def new_tenancy(side, now, *, unit_index: int = 3, deposit_fen: int = 900000,
                      end: date = date(2027, 6, 30)):
    """A signed lease on an otherwise unused unit of ``side``, the unit OCCUPIED, and its tenant user."""
    unit = side.units[unit_index]
    lease = await create_lease(unit=unit, tenant_name=f"退租租户{side.label}{unit_index}", tenant_phone="13900000000",
                               start_date=date(2026, 1, 1), end_date=end, monthly_rent_fen=450000,
                               deposit_fen=deposit_fen, payment_frequency=PaymentFrequency.MONTHLY)
    lease, _ = await sign_lease(lease.id, now=now, actor_id=side.manager.id)
    await pay_deposit(lease, now)
    await change_unit_status(unit.id, UnitStatus.OCCUPIED, source=StatusSource.LEASE, now=now, reason="moved in")
    tenant = await User.create(name=f"退租租户{side.label}{unit_index}", role=Role.TENANT, tenant_id=lease.tenant_id,
                               openid=f"openid-tenant-{side.label}-{unit_index}")
    return lease, tenant, await Unit.get(id=unit.id)


async def pay_deposit(lease, now) -> None:
    """The tenant paid the deposit: the ledger holds it, and the refund settles what it holds."""
    from leasing.ledger import record_payment
    from models.leasing import Receivable

    deposit = await Receivable.get_or_none(lease_id=lease.id, charge="DEPOSIT")
    if deposit is not None:
        await record_payment(lease_id=lease.id, amount_fen=deposit.amount_fen, paid_at=now, method="BANK_TRANSFER",
                             receivable_id=deposit.id, now=now)


async def post(client, path, body, headers):
    _, resp = await client.post(path, content=json.dumps(body), headers=headers)
    return resp


async def upload_photo(client, auth, side, unit, user=None) -> str:
    photo_id = str(uuid.uuid4())
    _, resp = await client.post("/api/v1/photos", headers=auth(user or side.inspector),
                                files={"file": ("p.png", png_bytes(), "image/png")},
                                data={"photo_id": photo_id, "unit_code": unit.code})
    assert resp.status in (200, 201), resp.json
    return photo_id


async def refund_inspection_report(client, auth, side, unit, now, photo_ids) -> int:
    body = report_body(side, now, unit=unit, photo_ids=photo_ids, category="REFUND_INSPECTION")
    resp = await post(client, "/api/v1/status-reports", body, auth(side.inspector))
    assert resp.status in (200, 201), resp.json
    return resp.json["report"]["id"]


async def apply_refund(client, auth, lease, tenant) -> int:
    """The tenant applies for the deposit refund of ``lease`` from the mini program (payee as PAYEE): its id."""
    resp = await post(client, "/api/v1/me/deposit-refunds", {"lease_id": lease.id, "reason": "到期退租",
                                                             "move_out_date": "2026-11-10", **PAYEE}, auth(tenant))
    assert resp.status == 201, resp.json
    return resp.json["id"]


async def approve_refund(client, auth, side, unit, refund_id, now, amount_fen) -> None:
    """The refund inspected on site (a photo, a refund inspection report), settled without deductions and
    approved for ``amount_fen``, each step by its role."""
    photo = await upload_photo(client, auth, side, unit)
    report_id = await refund_inspection_report(client, auth, side, unit, now, [photo])
    for path, body, user in ((f"/api/v1/refunds/{refund_id}/inspect", {"inspection_report_id": report_id},
                              side.inspector),
                             (f"/api/v1/refunds/{refund_id}/settle", {"deduction_ids": []}, side.finance),
                             (f"/api/v1/refunds/{refund_id}/approve", {"approved_amount_fen": amount_fen},
                              side.manager)):
        step = await post(client, path, body, auth(user))
        assert step.status == 200, step.json
