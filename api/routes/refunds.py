"""Deposit refunds: staff steps (role + building scope + deliverable), the board, tenant views, progress QR."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import json, raw

from accounts.permissions import REFUND_BOARD, REFUND_EVIDENCE, STAFF, TENANTS
from api import responses as R
from api.access import File, access, body_of, form_of, principal_of, query_of
from api.lookups import actor_of, refund_for_staff
from core.errors import NotFound, ValidationFailed
from models.refunds import DepositRefund
from refunds import service
from refunds.choices import DocumentKind
from refunds.progress import qr_png
from refunds.schemas import ApplyIn, BoardQuery, DeductionIn, ReasonIn, RefundQuery
from refunds.service import RefundConfig
from refunds.steps import STAFF_STEPS, StaffStep

bp = Blueprint("refunds", url_prefix="/refunds")
me_bp = Blueprint("me_refunds", url_prefix="/me/deposit-refunds")
public_bp = Blueprint("refund_progress", url_prefix="/refund-progress")


class DocumentForm(BaseModel):
    kind: DocumentKind



def cfg_of(request: Request) -> RefundConfig:
    return RefundConfig.from_settings(request.app.ctx.settings)


def now_of(request: Request):
    return request.app.ctx.clock.now()


async def refund_for_tenant(request: Request, refund_id: int) -> DepositRefund:
    """A tenant reaches only their own refunds; anyone else's answers 404 (existence is not disclosed)."""
    refund = await DepositRefund.get_or_none(id=refund_id)
    principal = principal_of(request)
    if refund is None or principal.tenant_id is None or refund.tenant_id != principal.tenant_id:
        raise NotFound("deposit refund not found")
    return refund


async def staff_view(request: Request, refund: DepositRefund, status: int = 200):
    return json(await service.serialize_refund(refund, now_of(request), cfg_of(request), staff=True, detail=True),
                status=status)


# ------------------------------------------------------------------------------------------------ staff


@bp.get("", name="refunds_list")
@access(STAFF, query=RefundQuery, response=R.RefundsList)
async def list_refunds(request: Request):
    query = query_of(request, RefundQuery)
    return json(await service.staff_list(principal_of(request).building_filter(), query, now_of(request),
                                         cfg_of(request), step=query.step, building_id=query.building_id,
                                         red_only=query.red_only))


@bp.get("/board", name="refunds_board")
@access(REFUND_BOARD, note="by step, red flags, per-step SLA compliance, average cycle time", query=BoardQuery,
        response=R.RefundsBoard)
async def refund_board(request: Request):
    principal = principal_of(request)
    query = query_of(request, BoardQuery)
    building_filter = principal.building_filter()
    if query.building_id is not None:
        principal.require_building(query.building_id, "building")
        building_filter = {"building_id": query.building_id}
    return json(await service.board(now_of(request), cfg_of(request), building_filter))


@bp.get("/<refund_id:int>", name="refunds_detail")
@access(STAFF, response=R.RefundsDetail)
async def refund_detail(request: Request, refund_id: int):
    return await staff_view(request, await refund_for_staff(request, refund_id))


def step_handler(step: StaffStep):
    """The endpoint of one row of refunds.steps.STAFF_STEPS: the refund in scope, the body, the service call."""

    async def handler(request: Request, refund_id: int):
        refund = await refund_for_staff(request, refund_id)
        body = body_of(request, step.body)
        refund = await step.run(refund.id, actor=await actor_of(request), now=now_of(request), cfg=cfg_of(request),
                                **step.arguments(body))
        return await staff_view(request, refund)

    handler.__name__ = handler.__qualname__ = f"refund_{step.action}"
    return access(step.roles, note=step.deliverable, body=step.body, response=R.RefundsDetail)(handler)


for _step in STAFF_STEPS:
    bp.add_route(step_handler(_step), f"/<refund_id:int>/{_step.action}", methods=["POST"],
                 name=f"refunds_{_step.action}")


@bp.post("/<refund_id:int>/deductions", name="refunds_add_deduction")
@access(REFUND_EVIDENCE, note="no deduction without evidence (photo_ids or a QUOTE document)", body=DeductionIn,
        response=R.RefundsAddDeduction, status=201)
async def refund_add_deduction(request: Request, refund_id: int):
    refund = await refund_for_staff(request, refund_id)
    body = body_of(request, DeductionIn)
    line = await service.add_deduction(refund.id, actor=await actor_of(request), category=body.category,
                                       amount_fen=body.amount_fen, description=body.description,
                                       photo_ids=body.photo_ids, document_id=body.document_id)
    return json(service.serialize_deduction(line), status=201)


@bp.delete("/<refund_id:int>/deductions/<deduction_id:int>", name="refunds_remove_deduction")
@access(REFUND_EVIDENCE, response=R.RefundsRemoveDeduction)
async def refund_remove_deduction(request: Request, refund_id: int, deduction_id: int):
    refund = await refund_for_staff(request, refund_id)
    existed = await service.remove_deduction(refund.id, deduction_id)
    return json({"deleted": deduction_id, "existed": existed})


@bp.post("/<refund_id:int>/documents", name="refunds_upload_document")
@access(REFUND_EVIDENCE, note="multipart: file (PDF/JPEG/PNG ≤ 10 MB), kind QUOTE or BANK_RECEIPT", form=DocumentForm,
        files=("file",), response=R.RefundsUploadDocument, status=201)
async def refund_upload_document(request: Request, refund_id: int):
    refund = await refund_for_staff(request, refund_id)
    upload = request.files.get("file") if request.files else None
    if upload is None:
        raise ValidationFailed("multipart field 'file' is required", details={"fields": [{"field": "file"}]})
    kind = form_of(request, DocumentForm).kind
    document = await service.upload_document(refund, kind=kind, data=upload.body, filename=upload.name or "",
                                             uploader=await actor_of(request), settings=request.app.ctx.settings)
    return json({"id": document.id, "kind": document.kind, "sha256": document.sha256,
                 "size_bytes": document.size_bytes, "content_type": document.content_type}, status=201)


def document_response(document, data: bytes):
    """The file as uploaded, with a download name (RFC 5987 so Chinese file names survive)."""
    name = document.filename or f"{document.kind.lower()}-{document.id}"
    return raw(data, content_type=document.content_type, headers={
        "content-disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "cache-control": "private, max-age=3600", "x-content-sha256": document.sha256})


@bp.get("/<refund_id:int>/documents/<document_id:int>", name="refunds_document")
@access(STAFF, note="a quote, bank receipt or other document of a refund in the caller's buildings",
        response=File("*/*"), errors=(410,))
async def refund_document(request: Request, refund_id: int, document_id: int):
    refund = await refund_for_staff(request, refund_id)
    document, data = await service.document_file(refund, document_id,
                                                 service.document_storage(request.app.ctx.settings))
    return document_response(document, data)


# ------------------------------------------------------------------------------------------------ tenant


async def tenant_view(request: Request, refund: DepositRefund) -> dict:
    return await service.tenant_detail(refund, now_of(request), cfg_of(request), request.app.ctx.settings)


@me_bp.get("", name="me_refunds_list")
@access(TENANTS, response=R.MeRefundsList)
async def my_refunds(request: Request):
    return json({"items": await service.tenant_list(principal_of(request).tenant_id, now_of(request),
                                                    cfg_of(request))})


@me_bp.post("", name="me_refunds_apply")
@access(TENANTS, note="the online move-out form; the unit goes to MOVE_OUT_PENDING", body=ApplyIn,
        response=R.MeRefundsDetail, status=201)
async def my_refund_apply(request: Request):
    body = body_of(request, ApplyIn)
    refund = await service.apply_for_tenant(tenant_id=principal_of(request).tenant_id, lease_id=body.lease_id,
                                            applicant=await actor_of(request), now=now_of(request),
                                            cfg=cfg_of(request), move_out_date=body.move_out_date,
                                            reason=body.reason, payee_name=body.payee_name,
                                            payee_bank=body.payee_bank, payee_account=body.payee_account)
    return json(await tenant_view(request, refund), status=201)


@me_bp.get("/<refund_id:int>", name="me_refunds_detail")
@access(TENANTS, response=R.MeRefundsDetail)
async def my_refund_detail(request: Request, refund_id: int):
    return json(await tenant_view(request, await refund_for_tenant(request, refund_id)))


@me_bp.get("/<refund_id:int>/documents/<document_id:int>", name="me_refunds_document")
@access(TENANTS, note="own refund only: the quotes behind deductions and the bank receipt", response=File("*/*"),
        errors=(410,))
async def my_refund_document(request: Request, refund_id: int, document_id: int):
    refund = await refund_for_tenant(request, refund_id)
    document, data = await service.document_file(refund, document_id,
                                                 service.document_storage(request.app.ctx.settings),
                                                 kinds=service.TENANT_DOCUMENT_KINDS)
    return document_response(document, data)


@me_bp.post("/<refund_id:int>/confirm-receipt", name="me_refunds_confirm")
@access(TENANTS, note="PAID → COMPLETED; confirming again is harmless", response=R.MeRefundsDetail)
async def my_refund_confirm(request: Request, refund_id: int):
    refund = await refund_for_tenant(request, refund_id)
    refund = await service.confirm_receipt(refund.id, tenant_user=await actor_of(request), now=now_of(request),
                                           cfg=cfg_of(request))
    return json(await tenant_view(request, refund))


@me_bp.post("/<refund_id:int>/cancel", name="me_refunds_cancel")
@access(TENANTS, note="withdraw the application (reason required), only while APPLIED", body=ReasonIn,
        response=R.MeRefundsCancel)
async def my_refund_cancel(request: Request, refund_id: int):
    refund = await refund_for_tenant(request, refund_id)
    body = body_of(request, ReasonIn)
    refund = await service.cancel(refund.id, actor=await actor_of(request), now=now_of(request), cfg=cfg_of(request),
                                  reason=body.reason)
    return json(await tenant_view(request, refund))


@me_bp.get("/<refund_id:int>/progress-qr", name="me_refunds_progress_qr")
@access(TENANTS, note="PNG; the link is in X-Progress-Url, its expiry in X-Progress-Expires",
        response=File("image/png"))
async def my_refund_progress_qr(request: Request, refund_id: int):
    refund = await refund_for_tenant(request, refund_id)
    url, token, expires_at = service.progress_link(refund, request.app.ctx.settings, now_of(request))
    if request.args.get("format") == "json":
        return json({"url": url, "token": token, "expires_at": expires_at.isoformat()})
    return raw(qr_png(url), content_type="image/png",
               headers={"X-Progress-Url": url, "X-Progress-Expires": expires_at.isoformat(),
                        "Cache-Control": "no-store"})


# ------------------------------------------------------------------------------------------------ public


@public_bp.get("/<token:str>", name="refund_progress_public")
@access(public=True, note="signed expiring link: step, dates, expected completion only",
        response=R.RefundProgressPublic)
async def refund_progress(request: Request, token: str):
    return json(await service.progress_for_token(token, secret=request.app.ctx.settings.qr_secret,
                                                 now=now_of(request), cfg=cfg_of(request)),
                headers={"Cache-Control": "no-store"})
