"""The refund workflow end to end through the API: happy path, missing deliverables, deductions with evidence,
return for correction, cancellation, automatic completion, notifications through the outbox."""

from __future__ import annotations

import pytest

from models.leasing import Lease
from models.notifications import OutboxMessage
from models.portfolio import Unit, UnitStatusChange
from models.refunds import DepositRefund, RefundEvent, TenantDebt
from notifications.choices import NotificationKind
from portfolio.choices import StatusSource, UnitStatus
from refunds.service import RefundConfig, auto_complete_due
from tests.support.inspections_helpers import report_body
from tests.support.refund_helpers import PAYEE, auth_at, new_tenancy, post, refund_inspection_report, upload_photo


async def upload_document(client, auth, user, refund_id, kind, content=b"%PDF-1.4 receipt"):
    _, resp = await client.post(f"/api/v1/refunds/{refund_id}/documents", headers=auth(user),
                                files={"file": ("doc.pdf", content, "application/pdf")}, data={"kind": kind})
    assert resp.status == 201, resp.json
    return resp.json["id"]


@pytest.fixture
def auth(clock):
    return lambda user: auth_at(user, clock.now())


@pytest.fixture
async def tenancy(world, clock):
    return await new_tenancy(world.a, clock.now())


async def apply(client, auth, lease, tenant):
    resp = await post(client, "/api/v1/me/deposit-refunds", {"lease_id": lease.id, "reason": "到期退租",
                                                             "move_out_date": "2026-11-10", **PAYEE},
                      auth(tenant))
    assert resp.status == 201, resp.json
    return resp.json


async def test_full_happy_path(client, world, clock, auth, tenancy, settings):
    a = world.a
    lease, tenant, unit = tenancy
    applied = await apply(client, auth, lease, tenant)
    refund_id = applied["id"]
    assert applied["step"] == "APPLIED" and applied["payee_account"].endswith("5678")
    assert "6225" not in applied["payee_account"]
    unit = await Unit.get(id=unit.id)
    assert unit.status == UnitStatus.MOVE_OUT_PENDING
    change = await UnitStatusChange.filter(unit_id=unit.id).order_by("-version").first()
    assert change.source == StatusSource.REFUND and change.reference == f"refund:{refund_id}"
    refund = await DepositRefund.get(id=refund_id)
    assert refund.assignee_id == a.inspector.id
    assert refund.step_due_at.isoformat() == "2026-11-03T02:00:00+00:00"  # 24 business hours after Mon 10:00

    # INSPECTED: the deliverable is a REFUND_INSPECTION report of this unit with photos
    clock.advance(hours=3)
    resp = await post(client, f"/api/v1/refunds/{refund_id}/inspect", {}, auth(a.inspector))
    assert resp.status == 422 and resp.json["error"]["code"] == "DELIVERABLE_MISSING"
    assert resp.json["error"]["details"]["missing"] == ["inspection_report_id"]
    photo = await upload_photo(client, auth, a, unit)
    report_id = await refund_inspection_report(client, auth, a, unit, clock.now(), [photo])
    resp = await post(client, f"/api/v1/refunds/{refund_id}/inspect", {"inspection_report_id": report_id,
                                                                       "note": "墙面污损"}, auth(a.inspector))
    assert resp.status == 200, resp.json
    assert resp.json["step"] == "INSPECTED" and resp.json["assignee_id"] == a.finance.id

    # deductions: evidence required; photos or a quote
    resp = await post(client, f"/api/v1/refunds/{refund_id}/deductions",
                      {"category": "DAMAGE", "amount_fen": 30000, "photo_ids": []}, auth(a.inspector))
    assert resp.status == 422 and resp.json["error"]["code"] == "EVIDENCE_REQUIRED"
    resp = await post(client, f"/api/v1/refunds/{refund_id}/deductions",
                      {"category": "DAMAGE", "amount_fen": 30000,
                       "photo_ids": ["0b7c2f06-0000-4000-8000-000000000000"]},
                      auth(a.inspector))
    assert resp.status == 422 and resp.json["error"]["code"] == "UNKNOWN_PHOTO"
    damage = await post(client, f"/api/v1/refunds/{refund_id}/deductions",
                        {"category": "DAMAGE", "amount_fen": 30000, "description": "墙面修补", "photo_ids": [photo]},
                        auth(a.inspector))
    assert damage.status == 201, damage.json
    quote = await upload_document(client, auth, a.finance, refund_id, "QUOTE")
    utilities = await post(client, f"/api/v1/refunds/{refund_id}/deductions",
                           {"category": "UTILITIES", "amount_fen": 12345, "document_id": quote},
                           auth(a.finance))
    assert utilities.status == 201, utilities.json

    # SETTLED: the settlement list must be exactly the current lines
    clock.advance(hours=20)
    resp = await post(client, f"/api/v1/refunds/{refund_id}/settle", {}, auth(a.finance))
    assert resp.status == 422 and resp.json["error"]["details"]["missing"] == ["deduction_ids"]
    resp = await post(client, f"/api/v1/refunds/{refund_id}/settle", {"deduction_ids": [damage.json["id"]]},
                      auth(a.finance))
    assert resp.status == 422 and resp.json["error"]["code"] == "SETTLEMENT_MISMATCH"
    assert resp.json["error"]["details"]["missing"] == [utilities.json["id"]]
    resp = await post(client, f"/api/v1/refunds/{refund_id}/settle",
                      {"deduction_ids": [damage.json["id"], utilities.json["id"]]}, auth(a.finance))
    assert resp.status == 200, resp.json
    assert resp.json["refund_fen"] == 900000 - 42345 and resp.json["deductions_fen"] == 42345
    assert resp.json["debt_fen"] == 0

    # APPROVED: approval record with the amount; a wrong or missing amount is refused
    resp = await post(client, f"/api/v1/refunds/{refund_id}/approve", {}, auth(a.manager))
    assert resp.status == 422 and resp.json["error"]["details"]["missing"] == ["approved_amount_fen"]
    resp = await post(client, f"/api/v1/refunds/{refund_id}/approve", {"approved_amount_fen": 900000},
                      auth(a.manager))
    assert resp.status == 422 and resp.json["error"]["code"] == "AMOUNT_MISMATCH"
    clock.advance(hours=2)
    resp = await post(client, f"/api/v1/refunds/{refund_id}/approve", {"approved_amount_fen": 857655},
                      auth(a.manager))
    assert resp.status == 200, resp.json
    assert resp.json["approved_by"] == a.manager.id and resp.json["approved_at"] == clock.now().isoformat()
    assert resp.json["approved_amount_fen"] == 857655

    # PAID: bank receipt reference and file
    resp = await post(client, f"/api/v1/refunds/{refund_id}/pay", {"bank_receipt_ref": "CMB20261103001"},
                      auth(a.finance))
    assert resp.status == 422 and resp.json["error"]["details"]["missing"] == ["receipt_document_id"]
    receipt = await upload_document(client, auth, a.finance, refund_id, "BANK_RECEIPT")
    resp = await post(client, f"/api/v1/refunds/{refund_id}/pay",
                      {"bank_receipt_ref": "CMB20261103001", "receipt_document_id": receipt}, auth(a.finance))
    assert resp.status == 200, resp.json
    assert resp.json["step"] == "PAID"

    # the tenant sees the deductions with evidence, and confirms receipt
    _, detail = await client.get(f"/api/v1/me/deposit-refunds/{refund_id}", headers=auth(tenant))
    assert detail.status == 200
    lines = {line["category"]: line for line in detail.json["deductions"]}
    assert lines["DAMAGE"]["evidence"][0]["photo_id"] == photo
    assert lines["DAMAGE"]["evidence"][0]["thumbnail"].startswith("data:image/")
    assert lines["UTILITIES"]["has_quote"] is True
    assert [row["step"] for row in detail.json["timeline"]] == ["APPLIED", "INSPECTED", "SETTLED", "APPROVED",
                                                                "PAID"]
    assert all("actor_id" not in row for row in detail.json["timeline"])
    assert [row["role"] for row in detail.json["timeline"]] == ["TENANT", "INSPECTOR", "FINANCE", "MANAGER",
                                                                "FINANCE"]
    resp = await post(client, f"/api/v1/me/deposit-refunds/{refund_id}/confirm-receipt", {}, auth(tenant))
    assert resp.status == 200 and resp.json["step"] == "COMPLETED" and resp.json["completed_by"] == "TENANT"
    refund_row = await DepositRefund.get(id=refund_id)
    lease = await Lease.get(id=refund_row.lease_id)
    assert lease.status == "ENDED" and lease.ended_at is not None

    # every transition recorded who and when; every step on time
    events = await RefundEvent.filter(refund_id=refund_id).order_by("id")
    assert [(e.to_step, e.actor_id) for e in events] == [
        ("APPLIED", tenant.id), ("INSPECTED", a.inspector.id), ("SETTLED", a.finance.id),
        ("APPROVED", a.manager.id), ("PAID", a.finance.id), ("COMPLETED", tenant.id)]
    assert all(e.on_time for e in events[1:5])

    # the tenant got one subscribe message per step change; staff one per assignment
    tenant_msgs = await OutboxMessage.filter(user_id=tenant.id, kind=NotificationKind.REFUND_STEP).order_by("id")
    assert [m.payload["step"] for m in tenant_msgs] == ["APPLIED", "INSPECTED", "SETTLED", "APPROVED", "PAID",
                                                        "COMPLETED"]
    assigned = await OutboxMessage.filter(kind=NotificationKind.REFUND_ASSIGNED).order_by("id")
    assert [m.user_id for m in assigned] == [a.inspector.id, a.finance.id, a.manager.id, a.finance.id]

    # the board counts it: compliance 100 %, cycle time
    _, board = await client.get("/api/v1/refunds/board", headers=auth(a.manager))
    assert board.status == 200
    assert board.json["completed"] == 1 and board.json["sla_compliance"]["SETTLED"]["rate"] == 1.0
    assert board.json["average_cycle_days"] == pytest.approx(25 / 24, abs=0.01)


async def test_shortfall_becomes_tenant_debt_and_refund_is_zero(client, world, clock, auth, settings):
    a = world.a
    lease, tenant, unit = await new_tenancy(a, clock.now(), deposit_fen=10000)
    refund_id = (await apply(client, auth, lease, tenant))["id"]
    photo = await upload_photo(client, auth, a, unit)
    report_id = await refund_inspection_report(client, auth, a, unit, clock.now(), [photo])
    assert (await post(client, f"/api/v1/refunds/{refund_id}/inspect", {"inspection_report_id": report_id},
                       auth(a.inspector))).status == 200
    line = await post(client, f"/api/v1/refunds/{refund_id}/deductions",
                      {"category": "UNPAID_RENT", "amount_fen": 25000, "photo_ids": [photo]}, auth(a.finance))
    resp = await post(client, f"/api/v1/refunds/{refund_id}/settle", {"deduction_ids": [line.json["id"]]},
                      auth(a.finance))
    assert resp.json["refund_fen"] == 0 and resp.json["debt_fen"] == 15000
    resp = await post(client, f"/api/v1/refunds/{refund_id}/approve", {"approved_amount_fen": 0},
                      auth(a.manager))
    assert resp.status == 200
    debt = await TenantDebt.get(refund_id=refund_id)
    assert debt.amount_fen == 15000 and debt.tenant_id == lease.tenant_id
    # nothing to pay: no bank receipt needed
    resp = await post(client, f"/api/v1/refunds/{refund_id}/pay", {}, auth(a.finance))
    assert resp.status == 200 and resp.json["step"] == "PAID"


async def test_inspection_report_must_be_a_refund_inspection_of_the_unit_with_photos(client, world, clock, auth,
                                                                                      tenancy):
    a = world.a
    lease, tenant, unit = tenancy
    refund_id = (await apply(client, auth, lease, tenant))["id"]
    # a routine report of the right unit is not a refund inspection
    resp = await post(client, "/api/v1/status-reports",
                      report_body(a, clock.now(), unit=unit), auth(a.inspector))
    routine_id = resp.json["report"]["id"]
    resp = await post(client, f"/api/v1/refunds/{refund_id}/inspect", {"inspection_report_id": routine_id},
                      auth(a.inspector))
    assert resp.status == 422 and resp.json["error"]["code"] == "DELIVERABLE_INVALID"
    assert "REFUND_INSPECTION" in resp.json["error"]["details"]["problem"]
    # a refund inspection of another unit does not count either
    other_unit = a.units[0]
    photo = await upload_photo(client, auth, a, other_unit)
    other_report = await refund_inspection_report(client, auth, a, other_unit, clock.now(), [photo])
    resp = await post(client, f"/api/v1/refunds/{refund_id}/inspect", {"inspection_report_id": other_report},
                      auth(a.inspector))
    assert resp.status == 422 and "unit" in resp.json["error"]["details"]["problem"]
    assert (await DepositRefund.get(id=refund_id)).step == "APPLIED"


async def test_wrong_role_cannot_take_a_step(client, world, clock, auth, tenancy):
    lease, tenant, _ = tenancy
    refund_id = (await apply(client, auth, lease, tenant))["id"]
    for user in (world.a.finance, world.a.manager, tenant):
        resp = await post(client, f"/api/v1/refunds/{refund_id}/inspect", {}, auth(user))
        assert resp.status == 403
    # building scope: B's inspector cannot see A's refund
    resp = await post(client, f"/api/v1/refunds/{refund_id}/inspect", {}, auth(world.b.inspector))
    assert resp.status == 404


async def test_return_for_correction_needs_a_reason_and_redoes_the_step(client, world, clock, auth, tenancy):
    a = world.a
    lease, tenant, unit = tenancy
    refund_id = (await apply(client, auth, lease, tenant))["id"]
    photo = await upload_photo(client, auth, a, unit)
    report_id = await refund_inspection_report(client, auth, a, unit, clock.now(), [photo])
    await post(client, f"/api/v1/refunds/{refund_id}/inspect", {"inspection_report_id": report_id},
               auth(a.inspector))
    await post(client, f"/api/v1/refunds/{refund_id}/settle", {"deduction_ids": []}, auth(a.finance))
    resp = await post(client, f"/api/v1/refunds/{refund_id}/return", {"reason": "  "}, auth(a.manager))
    assert resp.status == 422 and resp.json["error"]["details"]["missing"] == ["reason"]
    # finance does not own the approval wait: it cannot return a settled refund
    resp = await post(client, f"/api/v1/refunds/{refund_id}/return", {"reason": "x"}, auth(a.finance))
    assert resp.status == 409 and resp.json["error"]["code"] == "NOT_YOUR_STEP"
    clock.advance(hours=1)
    resp = await post(client, f"/api/v1/refunds/{refund_id}/return", {"reason": "水电未核算"}, auth(a.manager))
    assert resp.status == 200, resp.json
    assert resp.json["step"] == "INSPECTED" and resp.json["refund_fen"] is None
    assert resp.json["assignee_id"] == a.finance.id
    returned = await RefundEvent.get(refund_id=refund_id, action="RETURN")
    assert returned.reason == "水电未核算" and returned.actor_id == a.manager.id and returned.at == clock.now()
    # the tenant sees the return and its reason, and was notified
    _, detail = await client.get(f"/api/v1/me/deposit-refunds/{refund_id}", headers=auth(tenant))
    assert detail.json["timeline"][-1] == {"action": "RETURN", "from_step": "SETTLED", "step": "INSPECTED",
                                           "at": clock.now().isoformat(), "role": "MANAGER", "reason": "水电未核算"}
    note = await OutboxMessage.filter(user_id=tenant.id).order_by("-id").first()
    assert note.payload["note"].endswith("水电未核算")
    # settle again, then the manager may send it back two steps, to the inspection
    await post(client, f"/api/v1/refunds/{refund_id}/settle", {"deduction_ids": []}, auth(a.finance))
    resp = await post(client, f"/api/v1/refunds/{refund_id}/return", {"reason": "需补拍照片", "to_step": "APPLIED"},
                      auth(a.manager))
    assert resp.status == 200 and resp.json["step"] == "APPLIED" and resp.json["inspection_report_id"] is None


async def test_cancellation_needs_a_reason_and_restores_the_unit(client, world, clock, auth, tenancy):
    lease, tenant, unit = tenancy
    refund_id = (await apply(client, auth, lease, tenant))["id"]
    resp = await post(client, f"/api/v1/refunds/{refund_id}/cancel", {}, auth(world.a.manager))
    assert resp.status == 422 and resp.json["error"]["details"]["missing"] == ["reason"]
    resp = await post(client, f"/api/v1/refunds/{refund_id}/cancel", {"reason": "租户决定续租"},
                      auth(world.a.manager))
    assert resp.status == 200 and resp.json["step"] == "CANCELLED" and resp.json["cancel_reason"] == "租户决定续租"
    assert (await Unit.get(id=unit.id)).status == UnitStatus.OCCUPIED
    resp = await post(client, f"/api/v1/refunds/{refund_id}/cancel", {"reason": "again"}, auth(world.a.manager))
    assert resp.status == 409
    # a cancelled refund frees the lease for a new application
    again = await apply(client, auth, lease, tenant)
    assert again["id"] != refund_id


async def test_one_open_refund_per_lease_and_unit_must_be_occupied(client, world, clock, auth, tenancy):
    lease, tenant, _ = tenancy
    await apply(client, auth, lease, tenant)
    resp = await post(client, "/api/v1/me/deposit-refunds", {"lease_id": lease.id, **PAYEE}, auth(tenant))
    assert resp.status == 409 and resp.json["error"]["code"] == "REFUND_ALREADY_OPEN"


async def test_unconfirmed_payment_completes_automatically(client, world, clock, auth, tenancy, settings):
    a = world.a
    lease, tenant, unit = tenancy
    refund_id = (await apply(client, auth, lease, tenant))["id"]
    photo = await upload_photo(client, auth, a, unit)
    report_id = await refund_inspection_report(client, auth, a, unit, clock.now(), [photo])
    await post(client, f"/api/v1/refunds/{refund_id}/inspect", {"inspection_report_id": report_id},
               auth(a.inspector))
    await post(client, f"/api/v1/refunds/{refund_id}/settle", {"deduction_ids": []}, auth(a.finance))
    await post(client, f"/api/v1/refunds/{refund_id}/approve", {"approved_amount_fen": 900000}, auth(a.manager))
    receipt = await upload_document(client, auth, a.finance, refund_id, "BANK_RECEIPT")
    await post(client, f"/api/v1/refunds/{refund_id}/pay", {"bank_receipt_ref": "R1", "receipt_document_id": receipt},
               auth(a.finance))
    cfg = RefundConfig.from_settings(settings)
    clock.advance(days=6)
    assert await auto_complete_due(clock.now(), cfg) == []
    clock.advance(days=1)
    assert await auto_complete_due(clock.now(), cfg) == [refund_id]
    refund = await DepositRefund.get(id=refund_id)
    assert refund.step == "COMPLETED" and refund.completed_by == "AUTO"
    assert await auto_complete_due(clock.now(), cfg) == []


async def test_deadlines_follow_the_chinese_working_calendar(client, world, clock, auth):
    """Applied on Wed Sep 30 2026, the eve of National Day: the inspection is due Thu Oct 8 (seven days off),
    the settlement (48 h) Sat Oct 10 — an adjusted working Saturday — and payment by the end of Mon Oct 12."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    sh = ZoneInfo("Asia/Shanghai")
    clock.set(datetime(2026, 9, 30, 10, 0, tzinfo=sh))
    a = world.a
    lease, tenant, unit = await new_tenancy(a, clock.now())
    applied = await apply(client, auth, lease, tenant)
    refund = await DepositRefund.get(id=applied["id"])
    assert refund.step_due_at.astimezone(sh) == datetime(2026, 10, 8, 10, 0, tzinfo=sh)
    # inspected Oct 8 10:00 → settled by Oct 10 10:00 → approved by Oct 12 10:00 → paid by end of Oct 13
    assert applied["expected_completion"] == "2026-10-13"
    clock.set(datetime(2026, 10, 8, 9, 0, tzinfo=sh))
    photo = await upload_photo(client, auth, a, unit)
    report_id = await refund_inspection_report(client, auth, a, unit, clock.now(), [photo])
    resp = await post(client, f"/api/v1/refunds/{refund.id}/inspect", {"inspection_report_id": report_id},
                      auth(a.inspector))
    assert resp.status == 200
    assert datetime.fromisoformat(resp.json["step_due_at"]) == datetime(2026, 10, 10, 9, 0, tzinfo=sh)
    event = await RefundEvent.get(refund_id=refund.id, to_step="INSPECTED")
    assert event.on_time is True  # eight calendar days, but within one working day


async def test_racing_approvals_apply_once(client, world, clock, auth):
    import asyncio
    import json as jsonlib

    a = world.a
    lease, tenant, unit = await new_tenancy(a, clock.now(), deposit_fen=10000)
    refund_id = (await apply(client, auth, lease, tenant))["id"]
    photo = await upload_photo(client, auth, a, unit)
    report_id = await refund_inspection_report(client, auth, a, unit, clock.now(), [photo])
    await post(client, f"/api/v1/refunds/{refund_id}/inspect", {"inspection_report_id": report_id}, auth(a.inspector))
    line = await post(client, f"/api/v1/refunds/{refund_id}/deductions",
                      {"category": "KEYS", "amount_fen": 30000, "photo_ids": [photo]}, auth(a.finance))
    await post(client, f"/api/v1/refunds/{refund_id}/settle", {"deduction_ids": [line.json["id"]]}, auth(a.finance))
    body = jsonlib.dumps({"approved_amount_fen": 0})
    results = await asyncio.gather(*[client.post(f"/api/v1/refunds/{refund_id}/approve", content=body,
                                                 headers=auth(a.manager)) for _ in range(3)])
    statuses = sorted(resp.status for _, resp in results)
    assert statuses == [200, 409, 409], statuses
    assert await RefundEvent.filter(refund_id=refund_id, to_step="APPROVED").count() == 1
    assert (await TenantDebt.get(refund_id=refund_id)).amount_fen == 20000


async def test_tenant_may_withdraw_only_before_inspection(client, world, clock, auth, tenancy):
    lease, tenant, unit = tenancy
    refund_id = (await apply(client, auth, lease, tenant))["id"]
    resp = await post(client, f"/api/v1/me/deposit-refunds/{refund_id}/cancel", {}, auth(tenant))
    assert resp.status == 422
    resp = await post(client, f"/api/v1/me/deposit-refunds/{refund_id}/cancel", {"reason": "决定续租"}, auth(tenant))
    assert resp.status == 200 and resp.json["step"] == "CANCELLED"
    assert resp.json["timeline"][-1]["role"] == "TENANT" and resp.json["timeline"][-1]["reason"] == "决定续租"
    assert (await Unit.get(id=unit.id)).status == UnitStatus.OCCUPIED
    # after the inspection only staff can cancel
    again = (await apply(client, auth, lease, tenant))["id"]
    photo = await upload_photo(client, auth, world.a, unit)
    report_id = await refund_inspection_report(client, auth, world.a, unit, clock.now(), [photo])
    await post(client, f"/api/v1/refunds/{again}/inspect", {"inspection_report_id": report_id},
               auth(world.a.inspector))
    resp = await post(client, f"/api/v1/me/deposit-refunds/{again}/cancel", {"reason": "x"}, auth(tenant))
    assert resp.status == 409 and resp.json["error"]["code"] == "TOO_LATE_TO_WITHDRAW"
