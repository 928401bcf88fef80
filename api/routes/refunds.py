"""Deposit refunds: staff steps (role + building scope + deliverable), the board, tenant views, progress QR."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from urllib.parse import quote

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json, raw

from accounts.permissions import (
    REFUND_APPROVERS,
    REFUND_BOARD,
    REFUND_CANCELLERS,
    REFUND_EVIDENCE,
    REFUND_INSPECTORS,
    REFUND_PAYERS,
    REFUND_RETURNERS,
    REFUND_SETTLERS,
    STAFF,
    TENANTS,
)
from api.access import access, principal_of
from core.errors import BadRequest, NotFound, PayloadTooLarge, ValidationFailed
from core.pagination import PageQuery, paginate
from core.validation import parse_body, parse_query
from leasing.choices import LIVE_LEASE_STATUSES
from models.accounts import User
from models.leasing import Lease
from models.refunds import DepositRefund, RefundDeduction, RefundDocument, RefundEvent
from refunds import service
from refunds.choices import DeductionCategory, DocumentKind, RefundStep
from refunds.progress import issue_progress_token, parse_progress_token, progress_url, qr_png, verify_progress_token
from refunds.service import RefundConfig

bp = Blueprint("refunds", url_prefix="/refunds")
me_bp = Blueprint("me_refunds", url_prefix="/me/deposit-refunds")
public_bp = Blueprint("refund_progress", url_prefix="/refund-progress")

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = {b"%PDF": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png"}


def cfg_of(request: Request) -> RefundConfig:
    return RefundConfig.from_settings(request.app.ctx.settings)


def now_of(request: Request):
    return request.app.ctx.clock.now()


async def actor_of(request: Request) -> User:
    return await User.get(id=principal_of(request).user_id)


async def refund_for_staff(request: Request, refund_id: int) -> DepositRefund:
    refund = await DepositRefund.get_or_none(id=refund_id)
    if refund is None:
        raise NotFound("deposit refund not found")
    principal_of(request).require_building(refund.building_id, "deposit refund")
    return refund


async def refund_for_tenant(request: Request, refund_id: int) -> DepositRefund:
    """A tenant reaches only their own refunds; anyone else's answers 404 (existence is not disclosed)."""
    refund = await DepositRefund.get_or_none(id=refund_id)
    principal = principal_of(request)
    if refund is None or principal.tenant_id is None or refund.tenant_id != principal.tenant_id:
        raise NotFound("deposit refund not found")
    return refund


class RefundQuery(PageQuery):
    step: RefundStep | None = None
    building_id: int | None = None
    red_only: bool = False


class InspectIn(BaseModel):
    inspection_report_id: int | None = None
    note: str = Field("", max_length=1000)


class SettleIn(BaseModel):
    deduction_ids: list[int] | None = None
    note: str = Field("", max_length=500)


class ApproveIn(BaseModel):
    approved_amount_fen: int | None = Field(None, ge=0)
    note: str = Field("", max_length=500)


class PayIn(BaseModel):
    bank_receipt_ref: str | None = Field(None, max_length=64)
    receipt_document_id: int | None = None


class ReasonIn(BaseModel):
    reason: str = Field("", max_length=500)
    to_step: RefundStep | None = None


class DeductionIn(BaseModel):
    category: DeductionCategory
    amount_fen: int = Field(gt=0, le=10**11)
    description: str = Field("", max_length=200)
    photo_ids: list[str] = Field(default_factory=list, max_length=30)
    document_id: int | None = None


class ApplyIn(BaseModel):
    lease_id: int
    move_out_date: date | None = None
    reason: str = Field("", max_length=500)
    payee_name: str = Field(min_length=1, max_length=64)
    payee_bank: str = Field(min_length=1, max_length=64)
    payee_account: str = Field(min_length=4, max_length=40, pattern=r"^[0-9 ]+$")


async def staff_view(request: Request, refund: DepositRefund, status: int = 200):
    return json(await service.serialize_refund(refund, now_of(request), cfg_of(request), staff=True, detail=True),
                status=status)


# ------------------------------------------------------------------------------------------------ staff


@bp.get("", name="refunds_list")
@access(STAFF)
async def list_refunds(request: Request):
    principal, cfg, now = principal_of(request), cfg_of(request), now_of(request)
    query = parse_query(RefundQuery, request.args)
    qs = DepositRefund.filter(**principal.building_filter()).order_by("-applied_at")
    if query.step:
        qs = qs.filter(step=query.step)
    if query.building_id:
        qs = qs.filter(building_id=query.building_id)
    if query.red_only:
        ids = [r.id for r in await qs if service.is_red(r, now, cfg)]
        qs = DepositRefund.filter(id__in=ids).order_by("-applied_at")
    page = await paginate(qs, query, lambda r: r)
    page["items"] = [await service.serialize_refund(r, now, cfg, staff=True) for r in page["items"]]
    return json(page)


@bp.get("/board", name="refunds_board")
@access(REFUND_BOARD, note="by step, red flags, per-step SLA compliance, average cycle time")
async def refund_board(request: Request):
    principal = principal_of(request)
    building_filter = principal.building_filter()
    building_id = request.args.get("building_id")
    if building_id:
        if not building_id.isdigit():
            raise BadRequest("building_id must be a number")
        principal.require_building(int(building_id), "building")
        building_filter = {"building_id": int(building_id)}
    return json(await service.board(now_of(request), cfg_of(request), building_filter))


@bp.get("/<refund_id:int>", name="refunds_detail")
@access(STAFF)
async def refund_detail(request: Request, refund_id: int):
    return await staff_view(request, await refund_for_staff(request, refund_id))


@bp.post("/<refund_id:int>/inspect", name="refunds_inspect")
@access(REFUND_INSPECTORS, note="deliverable: a REFUND_INSPECTION status report of the unit, with photos")
async def refund_inspect(request: Request, refund_id: int):
    refund = await refund_for_staff(request, refund_id)
    body = parse_body(InspectIn, request.body)
    refund = await service.inspect(refund.id, actor=await actor_of(request), now=now_of(request),
                                   cfg=cfg_of(request), inspection_report_id=body.inspection_report_id, note=body.note)
    return await staff_view(request, refund)


@bp.post("/<refund_id:int>/settle", name="refunds_settle")
@access(REFUND_SETTLERS, note="deliverable: the settlement list (deduction_ids, [] for none)")
async def refund_settle(request: Request, refund_id: int):
    refund = await refund_for_staff(request, refund_id)
    body = parse_body(SettleIn, request.body)
    refund = await service.settle(refund.id, actor=await actor_of(request), now=now_of(request), cfg=cfg_of(request),
                                  deduction_ids=body.deduction_ids, note=body.note)
    return await staff_view(request, refund)


@bp.post("/<refund_id:int>/approve", name="refunds_approve")
@access(REFUND_APPROVERS, note="deliverable: the approval record (approved_amount_fen = settled refund)")
async def refund_approve(request: Request, refund_id: int):
    refund = await refund_for_staff(request, refund_id)
    body = parse_body(ApproveIn, request.body)
    refund = await service.approve(refund.id, actor=await actor_of(request), now=now_of(request),
                                   cfg=cfg_of(request), approved_amount_fen=body.approved_amount_fen, note=body.note)
    return await staff_view(request, refund)


@bp.post("/<refund_id:int>/pay", name="refunds_pay")
@access(REFUND_PAYERS, note="deliverable: bank receipt reference and BANK_RECEIPT document")
async def refund_pay(request: Request, refund_id: int):
    refund = await refund_for_staff(request, refund_id)
    body = parse_body(PayIn, request.body)
    refund = await service.pay(refund.id, actor=await actor_of(request), now=now_of(request), cfg=cfg_of(request),
                               bank_receipt_ref=body.bank_receipt_ref, receipt_document_id=body.receipt_document_id)
    return await staff_view(request, refund)


@bp.post("/<refund_id:int>/return", name="refunds_return")
@access(REFUND_RETURNERS, note="return for correction (reason required): the next step's role, managers, admins")
async def refund_return(request: Request, refund_id: int):
    refund = await refund_for_staff(request, refund_id)
    body = parse_body(ReasonIn, request.body)
    refund = await service.return_for_correction(refund.id, actor=await actor_of(request), now=now_of(request),
                                                 cfg=cfg_of(request), reason=body.reason, to_step=body.to_step)
    return await staff_view(request, refund)


@bp.post("/<refund_id:int>/cancel", name="refunds_cancel")
@access(REFUND_CANCELLERS, note="reason required")
async def refund_cancel(request: Request, refund_id: int):
    refund = await refund_for_staff(request, refund_id)
    body = parse_body(ReasonIn, request.body)
    refund = await service.cancel(refund.id, actor=await actor_of(request), now=now_of(request), cfg=cfg_of(request),
                                  reason=body.reason)
    return await staff_view(request, refund)


@bp.post("/<refund_id:int>/deductions", name="refunds_add_deduction")
@access(REFUND_EVIDENCE, note="no deduction without evidence (photo_ids or a QUOTE document)")
async def refund_add_deduction(request: Request, refund_id: int):
    refund = await refund_for_staff(request, refund_id)
    body = parse_body(DeductionIn, request.body)
    line = await service.add_deduction(refund.id, actor=await actor_of(request), category=body.category,
                                       amount_fen=body.amount_fen, description=body.description,
                                       photo_ids=body.photo_ids, document_id=body.document_id)
    return json(service.serialize_deduction(line), status=201)


@bp.delete("/<refund_id:int>/deductions/<deduction_id:int>", name="refunds_remove_deduction")
@access(REFUND_EVIDENCE)
async def refund_remove_deduction(request: Request, refund_id: int, deduction_id: int):
    refund = await refund_for_staff(request, refund_id)
    existed = await service.remove_deduction(refund.id, deduction_id)
    return json({"deleted": deduction_id, "existed": existed})


@bp.post("/<refund_id:int>/documents", name="refunds_upload_document")
@access(REFUND_EVIDENCE, note="multipart: file (PDF/JPEG/PNG ≤ 10 MB), kind QUOTE or BANK_RECEIPT")
async def refund_upload_document(request: Request, refund_id: int):
    refund = await refund_for_staff(request, refund_id)
    upload = request.files.get("file") if request.files else None
    if upload is None:
        raise ValidationFailed("multipart field 'file' is required", details={"fields": [{"field": "file"}]})
    try:
        kind = DocumentKind((request.form.get("kind") if request.form else None) or "")
    except ValueError:
        raise ValidationFailed("kind must be one of QUOTE, BANK_RECEIPT, OTHER",
                               details={"fields": [{"field": "kind"}]}) from None
    if len(upload.body) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge("documents are limited to 10 MB")
    content_type = next((ct for magic, ct in DOCUMENT_TYPES.items() if upload.body.startswith(magic)), None)
    if content_type is None:
        raise BadRequest("documents must be PDF, JPEG or PNG", code="UNSUPPORTED_DOCUMENT")
    document = await service.store_document(refund, kind=kind, data=upload.body, filename=upload.name or "",
                                            content_type=content_type, uploader=await actor_of(request),
                                            storage=service.document_storage(request.app.ctx.settings))
    return json({"id": document.id, "kind": document.kind, "sha256": document.sha256,
                 "size_bytes": document.size_bytes, "content_type": document.content_type}, status=201)


def document_response(document, data: bytes):
    """The file as uploaded, with a download name (RFC 5987 so Chinese file names survive)."""
    name = document.filename or f"{document.kind.lower()}-{document.id}"
    return raw(data, content_type=document.content_type, headers={
        "content-disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "cache-control": "private, max-age=3600", "x-content-sha256": document.sha256})


@bp.get("/<refund_id:int>/documents/<document_id:int>", name="refunds_document")
@access(STAFF, note="a quote, bank receipt or other document of a refund in the caller's buildings")
async def refund_document(request: Request, refund_id: int, document_id: int):
    refund = await refund_for_staff(request, refund_id)
    document, data = await service.document_file(refund, document_id,
                                                 service.document_storage(request.app.ctx.settings))
    return document_response(document, data)


# ------------------------------------------------------------------------------------------------ tenant


async def tenant_view(request: Request, refund: DepositRefund) -> dict:
    from inspections.storage import storage_for
    from models.inspections import Photo

    data = await service.serialize_refund(refund, now_of(request), cfg_of(request), staff=False, detail=True)
    storage = storage_for(request.app.ctx.settings)
    lines = await RefundDeduction.filter(refund_id=refund.id).order_by("id")
    photos = {str(p.id): p for p in await Photo.filter(id__in=[pid for line in lines for pid in line.photo_ids])}
    for item in data["deductions"]:
        evidence = []
        for photo_id in item.pop("photo_ids"):
            photo = photos.get(photo_id)
            thumb = storage.get(photo.thumbnail_key) if photo and photo.thumbnail_key else None
            evidence.append({"photo_id": photo_id, "thumbnail": (
                "data:image/jpeg;base64," + base64.b64encode(thumb).decode()) if thumb else None})
        item["evidence"] = evidence
        item["quote_document_id"] = item.pop("document_id")
        item["has_quote"] = item["quote_document_id"] is not None
    data["documents"] = [{"id": d.id, "kind": d.kind, "filename": d.filename, "size_bytes": d.size_bytes}
                         for d in await RefundDocument.filter(refund_id=refund.id,
                                                              kind__in=list(service.TENANT_DOCUMENT_KINDS))
                         .order_by("id")]
    return data


@me_bp.get("", name="me_refunds_list")
@access(TENANTS)
async def my_refunds(request: Request):
    principal, cfg, now = principal_of(request), cfg_of(request), now_of(request)
    refunds = await DepositRefund.filter(tenant_id=principal.tenant_id).order_by("-applied_at")
    return json({"items": [await service.serialize_refund(r, now, cfg, staff=False) for r in refunds]})


@me_bp.post("", name="me_refunds_apply")
@access(TENANTS, note="the online move-out form; the unit goes to MOVE_OUT_PENDING")
async def my_refund_apply(request: Request):
    principal = principal_of(request)
    body = parse_body(ApplyIn, request.body)
    lease = await Lease.get_or_none(id=body.lease_id)
    if lease is None or lease.tenant_id != principal.tenant_id:
        raise NotFound("lease not found")
    if lease.status not in LIVE_LEASE_STATUSES:
        raise NotFound("lease not found", details={"reason": "the lease is not live"})
    refund = await service.apply_refund(lease=lease, applicant=await actor_of(request), now=now_of(request),
                                        cfg=cfg_of(request), move_out_date=body.move_out_date, reason=body.reason,
                                        payee_name=body.payee_name, payee_bank=body.payee_bank,
                                        payee_account=body.payee_account.replace(" ", ""))
    return json(await tenant_view(request, refund), status=201)


@me_bp.get("/<refund_id:int>", name="me_refunds_detail")
@access(TENANTS)
async def my_refund_detail(request: Request, refund_id: int):
    return json(await tenant_view(request, await refund_for_tenant(request, refund_id)))


@me_bp.get("/<refund_id:int>/documents/<document_id:int>", name="me_refunds_document")
@access(TENANTS, note="own refund only: the quotes behind deductions and the bank receipt")
async def my_refund_document(request: Request, refund_id: int, document_id: int):
    refund = await refund_for_tenant(request, refund_id)
    document, data = await service.document_file(refund, document_id,
                                                 service.document_storage(request.app.ctx.settings),
                                                 kinds=service.TENANT_DOCUMENT_KINDS)
    return document_response(document, data)


@me_bp.post("/<refund_id:int>/confirm-receipt", name="me_refunds_confirm")
@access(TENANTS, note="PAID → COMPLETED; confirming again is harmless")
async def my_refund_confirm(request: Request, refund_id: int):
    refund = await refund_for_tenant(request, refund_id)
    refund = await service.confirm_receipt(refund.id, tenant_user=await actor_of(request), now=now_of(request),
                                           cfg=cfg_of(request))
    return json(await tenant_view(request, refund))


@me_bp.post("/<refund_id:int>/cancel", name="me_refunds_cancel")
@access(TENANTS, note="withdraw the application (reason required), only while APPLIED")
async def my_refund_cancel(request: Request, refund_id: int):
    refund = await refund_for_tenant(request, refund_id)
    body = parse_body(ReasonIn, request.body)
    refund = await service.cancel(refund.id, actor=await actor_of(request), now=now_of(request), cfg=cfg_of(request),
                                  reason=body.reason)
    return json(await tenant_view(request, refund))


@me_bp.get("/<refund_id:int>/progress-qr", name="me_refunds_progress_qr")
@access(TENANTS, note="PNG; the link is in X-Progress-Url, its expiry in X-Progress-Expires")
async def my_refund_progress_qr(request: Request, refund_id: int):
    refund = await refund_for_tenant(request, refund_id)
    settings = request.app.ctx.settings
    token, expires_at = issue_progress_token(secret=settings.qr_secret, refund_id=refund.id,
                                             nonce=refund.progress_nonce, now=now_of(request),
                                             ttl=timedelta(days=settings.refund_progress_token_days))
    url = progress_url(settings.qr_base_url, token)
    if request.args.get("format") == "json":
        return json({"url": url, "token": token, "expires_at": expires_at.isoformat()})
    return raw(qr_png(url), content_type="image/png",
               headers={"X-Progress-Url": url, "X-Progress-Expires": expires_at.isoformat(),
                        "Cache-Control": "no-store"})


# ------------------------------------------------------------------------------------------------ public


@public_bp.get("/<token:str>", name="refund_progress_public")
@access(public=True, note="signed expiring link: step, dates, expected completion only")
async def refund_progress(request: Request, token: str):
    refund_id, expires, sig = parse_progress_token(token)
    refund = await DepositRefund.get_or_none(id=refund_id)
    if refund is None:
        raise NotFound("progress link not found", code="INVALID_PROGRESS_LINK")
    verify_progress_token(secret=request.app.ctx.settings.qr_secret, refund_id=refund.id, expires=expires, sig=sig,
                          nonce=refund.progress_nonce, now=now_of(request))
    events = await RefundEvent.filter(refund_id=refund.id).order_by("at", "id")
    return json(service.public_progress(refund, now_of(request), cfg_of(request), events),
                headers={"Cache-Control": "no-store"})
