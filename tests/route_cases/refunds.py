from accounts.permissions import (
    REFUND_APPROVERS,
    REFUND_INSPECTORS,
    REFUND_PAYERS,
    REFUND_SETTLERS,
)
from accounts.permissions import REFUND_BOARD as BOARD
from accounts.permissions import REFUND_CANCELLERS as CANCELLERS
from accounts.permissions import REFUND_EVIDENCE as EVIDENCE
from accounts.permissions import REFUND_RETURNERS as RETURNERS
from accounts.permissions import TENANTS as TENANT
from tests.route_cases import ALL_STAFF, RouteCase


def rid(s) -> int:
    return s.extra["refund"].id


CASES = {
    "refunds.refunds_list": RouteCase("GET", lambda w, s: "/api/v1/refunds", roles=ALL_STAFF, scoped=False),
    "refunds.refunds_board": RouteCase("GET", lambda w, s: "/api/v1/refunds/board", roles=BOARD, scoped=False),
    "refunds.refunds_detail": RouteCase("GET", lambda w, s: f"/api/v1/refunds/{rid(s)}", roles=ALL_STAFF),
    "refunds.refunds_inspect": RouteCase("POST", lambda w, s: f"/api/v1/refunds/{rid(s)}/inspect",
                                         roles=REFUND_INSPECTORS, body=lambda w, s: {},
                                         notes="own building: 422 DELIVERABLE_MISSING"),
    "refunds.refunds_settle": RouteCase("POST", lambda w, s: f"/api/v1/refunds/{rid(s)}/settle",
                                        roles=REFUND_SETTLERS, body=lambda w, s: {"deduction_ids": []}),
    "refunds.refunds_approve": RouteCase("POST", lambda w, s: f"/api/v1/refunds/{rid(s)}/approve",
                                         roles=REFUND_APPROVERS, body=lambda w, s: {"approved_amount_fen": 0}),
    "refunds.refunds_pay": RouteCase("POST", lambda w, s: f"/api/v1/refunds/{rid(s)}/pay",
                                     roles=REFUND_PAYERS, body=lambda w, s: {"bank_receipt_ref": "X"}),
    "refunds.refunds_return": RouteCase("POST", lambda w, s: f"/api/v1/refunds/{rid(s)}/return", roles=RETURNERS,
                                        body=lambda w, s: {"reason": "scope test"}),
    "refunds.refunds_cancel": RouteCase("POST", lambda w, s: f"/api/v1/refunds/{rid(s)}/cancel", roles=CANCELLERS,
                                        body=lambda w, s: {"reason": "scope test"}),
    "refunds.refunds_add_deduction": RouteCase(
        "POST", lambda w, s: f"/api/v1/refunds/{rid(s)}/deductions", roles=EVIDENCE,
        body=lambda w, s: {"category": "CLEANING", "amount_fen": 100, "photo_ids": []},
        notes="own building: 422 EVIDENCE_REQUIRED"),
    "refunds.refunds_remove_deduction": RouteCase(
        "DELETE", lambda w, s: f"/api/v1/refunds/{rid(s)}/deductions/{s.extra['refund_deduction'].id}",
        roles=EVIDENCE),
    "refunds.refunds_upload_document": RouteCase(
        "POST", lambda w, s: f"/api/v1/refunds/{rid(s)}/documents", roles=EVIDENCE,
        form=lambda w, s: {"files": {"file": ("quote.pdf", b"%PDF-1.4 scope", "application/pdf")},
                           "data": {"kind": "QUOTE"}}),
    "refunds.refunds_document": RouteCase(
        "GET", lambda w, s: f"/api/v1/refunds/{rid(s)}/documents/{s.extra['refund_document'].id}", roles=ALL_STAFF,
        notes="own building: 410 DOCUMENT_FILE_MISSING (the world's quote has no file)"),
    "me_refunds.me_refunds_document": RouteCase(
        "GET", lambda w, s: f"/api/v1/me/deposit-refunds/{rid(s)}/documents/{s.extra['refund_document'].id}",
        roles=TENANT, scoped=False, tenant_own=True, notes="own refund: 410 DOCUMENT_FILE_MISSING"),
    "me_refunds.me_refunds_list": RouteCase("GET", lambda w, s: "/api/v1/me/deposit-refunds", roles=TENANT,
                                            scoped=False),
    "me_refunds.me_refunds_apply": RouteCase(
        "POST", lambda w, s: "/api/v1/me/deposit-refunds", roles=TENANT, scoped=False,
        body=lambda w, s: {"lease_id": s.lease.id, "payee_name": "租户", "payee_bank": "招商银行",
                           "payee_account": "6225880012345678"},
        notes="own lease already has an open refund: 409; another tenant's lease: 404 (tests/test_refunds_api)"),
    "me_refunds.me_refunds_detail": RouteCase("GET", lambda w, s: f"/api/v1/me/deposit-refunds/{rid(s)}",
                                              roles=TENANT, scoped=False, tenant_own=True),
    "me_refunds.me_refunds_confirm": RouteCase(
        "POST", lambda w, s: f"/api/v1/me/deposit-refunds/{rid(s)}/confirm-receipt", roles=TENANT, scoped=False,
        tenant_own=True),
    "me_refunds.me_refunds_cancel": RouteCase(
        "POST", lambda w, s: f"/api/v1/me/deposit-refunds/{rid(s)}/cancel", roles=TENANT, scoped=False,
        tenant_own=True, body=lambda w, s: {"reason": "不退租了"}),
    "me_refunds.me_refunds_progress_qr": RouteCase(
        "GET", lambda w, s: f"/api/v1/me/deposit-refunds/{rid(s)}/progress-qr", roles=TENANT, scoped=False,
        tenant_own=True),
    "refund_progress.refund_progress_public": RouteCase(
        "GET", lambda w, s: f"/api/v1/refund-progress/{s.extra['refund_progress_token']}", public=True,
        scoped=False),
}
