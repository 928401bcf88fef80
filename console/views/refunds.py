"""The deposit refunds board: the six nodes as columns; each card shows its owner, time in node, the 48 h red
flag and who was copied, the deliverables and the itemised deductions with their evidence. Cards move through
the refunds service's own steps (settle, approve, pay, return), each by the role that owns it."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from pydantic import BaseModel, Field
from sanic import Blueprint, Request

from accounts.choices import Role
from accounts.scope import get_in_scope
from console import formatting
from console.access import console_access
from console.labels import label
from console.lists import Column, xlsx_response
from console.rendering import page
from console.roles import REFUND_APPROVERS, REFUND_BOARD, REFUND_MOVERS, REFUND_PAYERS, REFUND_SETTLERS
from console.views.common import actor_of, back, now_of, parse_form, principal_of, settings_of, visible_buildings
from core.errors import ValidationFailed
from core.validation import parse_query
from models.accounts import User
from models.leasing import Tenant
from models.portfolio import Building, Unit
from models.refunds import DepositRefund, RefundDeduction, RefundDocument, RefundEscalation
from refunds import service
from refunds.choices import STAFF_WAIT_STEPS, STEP_ORDER, DocumentKind, RefundStep, next_step
from refunds.documents import MAX_DOCUMENT_BYTES, sniff_content_type
from refunds.service import RefundConfig

bp = Blueprint("console_refunds", url_prefix="/console")


class BoardQuery(BaseModel):
    building_id: int | None = Field(None, ge=1)
    red_only: bool = False
    completed_days: int = Field(14, ge=1, le=365)
    format: str = Field("html", pattern="^(html|xlsx)$")


class NoteIn(BaseModel):
    note: str = Field("", max_length=500)
    next: str = Field("", max_length=300)


class PayIn(BaseModel):
    bank_receipt_ref: str = Field("", max_length=64)
    next: str = Field("", max_length=300)


class ReturnIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    next: str = Field("", max_length=300)


COLUMNS = [
    Column("id", "编号", export=lambda r: r["refund"].id), Column("unit_code", "房源"), Column("tenant", "租户"),
    Column("step", "节点", export=lambda r: label("refund_step", r["refund"].step)),
    Column("owner", "负责人"), Column("hours", "停留(小时)"),
    Column("red", "超48小时", export=lambda r: "是" if r["red"] else ""),
    Column("copied", "已抄送", export=lambda r: "、".join(r["copied"])),
    Column("deposit", "押金", export=lambda r: formatting.yuan_number(r["refund"].deposit_fen)),
    Column("deductions", "扣款", export=lambda r: formatting.yuan_number(r["refund"].deductions_fen)),
    Column("refund_fen", "应退", export=lambda r: formatting.yuan_number(r["refund"].refund_fen)),
]


def actions_for(role: Role, refund: DepositRefund) -> list[str]:
    """What this role can do to this card from the desk (the refunds service checks again)."""
    step = RefundStep(refund.step)
    actions = []
    if step == RefundStep.INSPECTED and role in REFUND_SETTLERS:
        actions.append("settle")
    if step == RefundStep.SETTLED and role in REFUND_APPROVERS:
        actions.append("approve")
    if step == RefundStep.APPROVED and role in REFUND_PAYERS:
        actions.append("pay")
    pending = next_step(step)
    if step in (RefundStep.INSPECTED, RefundStep.SETTLED, RefundStep.APPROVED) and (
            service.may_return(role, pending)):
        actions.append("return")
    return actions


async def card_rows(refunds: list[DepositRefund], now, cfg: RefundConfig, role: Role) -> list[dict]:
    ids = [r.id for r in refunds]
    units = {u.id: u for u in await Unit.filter(id__in={r.unit_id for r in refunds})}
    tenants = dict(await Tenant.filter(id__in={r.tenant_id for r in refunds}).values_list("id", "name"))
    zones = dict(await Building.filter(id__in={r.building_id for r in refunds}).values_list("id", "timezone"))
    deductions: dict[int, list[RefundDeduction]] = {}
    for line in await RefundDeduction.filter(refund_id__in=ids).order_by("id"):
        deductions.setdefault(line.refund_id, []).append(line)
    documents: dict[int, list[RefundDocument]] = {}
    for doc in await RefundDocument.filter(refund_id__in=ids).order_by("id"):
        documents.setdefault(doc.refund_id, []).append(doc)
    escalations = {(e.refund_id, e.version): e for e in await RefundEscalation.filter(refund_id__in=ids)}
    people = {r.assignee_id for r in refunds if r.assignee_id}
    people |= {uid for e in escalations.values() for uid in e.notified_user_ids or []}
    names = dict(await User.filter(id__in=people).values_list("id", "name")) if people else {}
    rows = []
    for refund in refunds:
        escalation = escalations.get((refund.id, refund.version))
        copied = [names.get(uid, f"#{uid}") for uid in (escalation.notified_user_ids if escalation else [])
                  if uid != refund.assignee_id]
        rows.append({
            "refund": refund, "unit_code": units[refund.unit_id].code, "tenant": tenants.get(refund.tenant_id),
            "tz": zones.get(refund.building_id), "owner": names.get(refund.assignee_id, "未分配"),
            "hours": round((now - refund.step_entered_at).total_seconds() / 3600, 1),
            "in_node": formatting.duration_zh(now - refund.step_entered_at),
            "red": service.is_red(refund, now, cfg), "escalation": escalation, "copied": copied,
            "overdue": bool(refund.step_due_at and refund.step in STAFF_WAIT_STEPS and now > refund.step_due_at),
            "deductions": deductions.get(refund.id, []), "documents": documents.get(refund.id, []),
            "actions": actions_for(role, refund)})
    return rows


@bp.get("/refunds", name="refunds")
@console_access(REFUND_BOARD)
async def refunds_board(request: Request):
    """The deposit refunds board (six nodes as columns)."""
    principal, now = principal_of(request), now_of(request)
    cfg = RefundConfig.from_settings(settings_of(request))
    query = parse_query(BoardQuery, request.args)
    qs = DepositRefund.filter(**principal.building_filter(), step__in=[s for s in STEP_ORDER
                                                                       if s != RefundStep.COMPLETED])
    done = DepositRefund.filter(**principal.building_filter(), step=RefundStep.COMPLETED,
                                completed_at__gte=now - timedelta(days=query.completed_days))
    if query.building_id:
        qs, done = qs.filter(building_id=query.building_id), done.filter(building_id=query.building_id)
    refunds = list(await qs.order_by("step_entered_at").limit(2000)) + list(await done.order_by("-completed_at")
                                                                             .limit(200))
    rows = await card_rows(refunds, now, cfg, principal.role)
    if query.red_only:
        rows = [r for r in rows if r["red"]]
    if query.format == "xlsx":
        return await xlsx_response(request, "押金退还看板", COLUMNS, rows, "refunds.xlsx")
    columns = {step: [r for r in rows if r["refund"].step == step] for step in STEP_ORDER}
    return await page(request, "refunds.html", query=query, columns=columns, steps=list(STEP_ORDER),
                      red_count=sum(1 for r in rows if r["red"]), buildings=await visible_buildings(principal),
                      escalation_hours=cfg.escalation_hours)


async def refund_for(request: Request, refund_id: int) -> DepositRefund:
    return await get_in_scope(principal_of(request), DepositRefund, refund_id, "deposit refund")


def _cfg(request: Request) -> RefundConfig:
    return RefundConfig.from_settings(settings_of(request))


@bp.post("/refunds/<refund_id:int>/settle", name="refund_settle")
@console_access(REFUND_SETTLERS)
async def refund_settle(request: Request, refund_id: int):
    """Finance confirms the settlement: exactly the current deduction lines."""
    refund = await refund_for(request, refund_id)
    body = parse_form(NoteIn, request)
    lines = cast(list[int], await RefundDeduction.filter(refund_id=refund.id).values_list("id", flat=True))
    await service.settle(refund.id, actor=await actor_of(request), now=now_of(request), cfg=_cfg(request),
                         deduction_ids=list(lines), note=body.note)
    return back(request, "/console/refunds")


@bp.post("/refunds/<refund_id:int>/approve", name="refund_approve")
@console_access(REFUND_APPROVERS)
async def refund_approve(request: Request, refund_id: int):
    """The regional manager approves the settled amount."""
    refund = await refund_for(request, refund_id)
    body = parse_form(NoteIn, request)
    await service.approve(refund.id, actor=await actor_of(request), now=now_of(request), cfg=_cfg(request),
                          approved_amount_fen=refund.refund_fen, note=body.note)
    return back(request, "/console/refunds")


@bp.post("/refunds/<refund_id:int>/pay", name="refund_pay")
@console_access(REFUND_PAYERS, note="multipart: the bank receipt file and its reference")
async def refund_pay(request: Request, refund_id: int):
    """Finance records the payment with the bank receipt."""
    refund = await refund_for(request, refund_id)
    body = parse_form(PayIn, request)
    upload = request.files.get("receipt") if request.files else None
    document_id = None
    if upload is not None and upload.body:
        if len(upload.body) > MAX_DOCUMENT_BYTES:
            raise ValidationFailed("回单文件不能超过 10 MB", code="FILE_TOO_LARGE")
        kind = sniff_content_type(upload.body)
        if kind is None:
            raise ValidationFailed("回单须为 PDF、JPEG 或 PNG", code="UNSUPPORTED_FILE")
        document = await service.store_document(refund, kind=DocumentKind.BANK_RECEIPT, data=upload.body,
                                                filename=upload.name or "receipt", content_type=kind,
                                                uploader=await actor_of(request),
                                                storage=service.document_storage(settings_of(request)))
        document_id = document.id
    await service.pay(refund.id, actor=await actor_of(request), now=now_of(request), cfg=_cfg(request),
                      bank_receipt_ref=body.bank_receipt_ref or None, receipt_document_id=document_id)
    return back(request, "/console/refunds")


@bp.post("/refunds/<refund_id:int>/return", name="refund_return")
@console_access(REFUND_MOVERS)
async def refund_return(request: Request, refund_id: int):
    """Return the refund to the previous step for correction, with a reason."""
    refund = await refund_for(request, refund_id)
    body = parse_form(ReturnIn, request)
    await service.return_for_correction(refund.id, actor=await actor_of(request), now=now_of(request),
                                        cfg=_cfg(request), reason=body.reason)
    return back(request, "/console/refunds")


@bp.get("/refunds/<refund_id:int>/documents/<document_id:int>", name="refund_document")
@console_access(REFUND_BOARD)
async def refund_document(request: Request, refund_id: int, document_id: int):
    """A quote or bank receipt of a refund."""
    from sanic.response import raw

    refund = await refund_for(request, refund_id)
    document, data = await service.document_file(refund, document_id,
                                                 service.document_storage(settings_of(request)))
    return raw(data, content_type=document.content_type,
               headers={"content-disposition": f"inline; filename=\"document-{document.id}\""})
