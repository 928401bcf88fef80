"""The deposit refund workflow: apply → inspect → settle → approve → pay → complete, with returns for
correction, cancellation, itemised deductions with evidence, SLA deadlines, and notifications written to the
outbox in the same transaction as each step change."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from accounts.choices import Role
from accounts.permissions import REFUND_RETURN_ANY_STEP
from config.settings import Settings
from core.errors import AppError, BadRequest, Conflict, InvalidTransition, NotFound, PayloadTooLarge, ValidationFailed
from core.pagination import PageQuery, paginate
from leasing.choices import LIVE_LEASE_STATUSES, LeaseStatus
from leasing.ledger import held_deposit, settle_deposit
from models.accounts import User
from models.leasing import Lease
from models.payments import WechatPayRefund, WechatPayTransfer
from models.portfolio import BuildingStaff, Unit
from models.refunds import (
    DepositRefund,
    RefundDeduction,
    RefundDocument,
    RefundEscalation,
    RefundEvent,
    TenantDebt,
)
from notifications.choices import NotificationKind
from notifications.outbox import enqueue_notification
from payments.choices import IN_FLIGHT_TRANSFER_STATUSES, PayoutStatus
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status
from refunds.choices import (
    CANCELLABLE_STEPS,
    DEDUCTION_EDIT_STEPS,
    STAFF_WAIT_STEPS,
    STEP_DUTY,
    STEP_LABEL,
    STEP_ORDER,
    STEP_PHRASE,
    STEP_ROLE,
    STEP_TASK,
    CompletedBy,
    DeductionCategory,
    DocumentKind,
    RefundAction,
    RefundStep,
    next_step,
)
from refunds.documents import MAX_DOCUMENT_BYTES, sniff_content_type
from refunds.progress import issue_progress_token, parse_progress_token, progress_url, verify_progress_token
from refunds.sla import projected_completion, step_deadline

S = RefundStep


@dataclass(frozen=True)
class RefundConfig:
    sla_hours: dict[str, int]
    paid_business_days: int
    auto_complete_days: int
    escalation_hours: int
    tz: ZoneInfo

    @classmethod
    def from_settings(cls, settings: Settings) -> RefundConfig:
        return cls(sla_hours=dict(settings.refund_sla_hours), paid_business_days=settings.refund_paid_business_days,
                   auto_complete_days=settings.refund_auto_complete_days,
                   escalation_hours=settings.refund_escalation_hours, tz=ZoneInfo(settings.business_timezone))

    def deadline(self, step: RefundStep, previous_at: datetime) -> datetime | None:
        return step_deadline(step, previous_at, sla_hours=self.sla_hours,
                             paid_business_days=self.paid_business_days, tz=self.tz)

    def expected_completion(self, refund: DepositRefund, now: datetime) -> date | None:
        if refund.step == S.COMPLETED:
            return refund.completed_at.astimezone(self.tz).date() if refund.completed_at else None
        if refund.step == S.PAID:
            return refund.paid_at.astimezone(self.tz).date() if refund.paid_at else None
        if refund.step == S.CANCELLED:
            return None
        at = projected_completion(refund.step, refund.step_due_at, now, sla_hours=self.sla_hours,
                                  paid_business_days=self.paid_business_days, tz=self.tz)
        # a deadline at local midnight means "by the end of the day before"
        return (at - timedelta(microseconds=1)).astimezone(self.tz).date() if at else None


def missing(step: RefundStep, fields: list[str], message: str | None = None) -> ValidationFailed:
    return ValidationFailed(message or f"the {step} step needs: {', '.join(fields)}", code="DELIVERABLE_MISSING",
                            details={"step": step, "missing": fields})


# --------------------------------------------------------------------------------------------- helpers


async def owner_for(building_id: int, step: RefundStep | None) -> int | None:
    """The building's staff member who takes ``step`` (fewest open refunds waiting on them)."""
    duty = STEP_DUTY.get(step) if step else None
    if duty is None:
        return None
    user_ids = sorted(set(cast(list[int], await BuildingStaff.filter(building_id=building_id, duty=duty,
                                                                     user__is_active=True)
                               .values_list("user_id", flat=True))))
    if not user_ids:
        return None
    loads = {uid: await DepositRefund.filter(assignee_id=uid, step__in=list(STAFF_WAIT_STEPS)).count()
             for uid in user_ids}
    return min(user_ids, key=lambda uid: loads[uid])


async def tenant_user_ids(tenant_id: int) -> list[int]:
    return cast(list[int], await User.filter(tenant_id=tenant_id, role=Role.TENANT, is_active=True)
                .values_list("id", flat=True))


async def _notify_step(refund: DepositRefund, unit: Unit, now: datetime, cfg: RefundConfig, note: str = "") -> None:
    expected = cfg.expected_completion(refund, now)
    payload = {"refund_id": refund.id, "unit_code": unit.code, "unit_name": unit.name, "step": refund.step,
               "step_phrase": STEP_PHRASE[S(refund.step)], "step_label": STEP_LABEL[S(refund.step)],
               "at": now.isoformat(), "expected_completion": expected.isoformat() if expected else "",
               "note": note}
    for user_id in await tenant_user_ids(refund.tenant_id):
        await enqueue_notification(user_id=user_id, kind=NotificationKind.REFUND_STEP,
                                   dedupe_key=f"refund:{refund.id}:v{refund.version}:step:{user_id}",
                                   payload=payload, now=now)
    pending = next_step(refund.step)
    if refund.assignee_id and pending in STEP_TASK:
        await enqueue_notification(
            user_id=refund.assignee_id, kind=NotificationKind.REFUND_ASSIGNED,
            dedupe_key=f"refund:{refund.id}:v{refund.version}:assign:{refund.assignee_id}",
            payload={"refund_id": refund.id, "unit_code": unit.code, "task": STEP_TASK[pending],
                     "step": pending, "due_at": refund.step_due_at.isoformat() if refund.step_due_at else ""},
            now=now)


async def _move(refund: DepositRefund, target: RefundStep, *, action: RefundAction, now: datetime,
                cfg: RefundConfig, actor: User | None, actor_role: str, reason: str = "",
                changes: dict[str, Any] | None = None, details: dict[str, Any] | None = None,
                notify_note: str = "") -> DepositRefund:
    """Apply one step change atomically (caller holds a transaction): conditional on the version read."""
    pending = next_step(target)
    due = cfg.deadline(pending, now) if pending and target not in (S.PAID,) else None
    if target == S.PAID:
        due = now + timedelta(days=cfg.auto_complete_days)  # the tenant's confirmation window
    assignee = await owner_for(refund.building_id, pending) if pending else None
    values = {"step": target, "version": refund.version + 1, "step_entered_at": now, "step_due_at": due,
              "assignee_id": assignee, **(changes or {})}
    if target in (S.COMPLETED, S.CANCELLED):
        values["open_key"] = None
    won = await DepositRefund.filter(id=refund.id, version=refund.version).update(**values)
    if won != 1:
        raise Conflict("the refund changed concurrently, reload and retry", code="REFUND_CHANGED")
    if target == S.COMPLETED:
        # The deposit is settled: the tenancy is over (the unit moves on through cleaning / inspection).
        await Lease.filter(id=refund.lease_id, status__in=list(LIVE_LEASE_STATUSES)).update(
            status=LeaseStatus.ENDED, ended_at=now)
    on_time = None
    if action == RefundAction.ADVANCE and refund.step_due_at is not None:
        on_time = now <= refund.step_due_at
    await RefundEvent.create(refund_id=refund.id, action=action, from_step=refund.step, to_step=target,
                             version=refund.version + 1, actor_id=actor.id if actor else None, actor_role=actor_role,
                             reason=reason[:500], due_at=refund.step_due_at if action == RefundAction.ADVANCE
                             else None, on_time=on_time, details=details or {}, at=now)
    updated = await DepositRefund.get(id=refund.id)
    unit = await Unit.get(id=updated.unit_id)
    await _notify_step(updated, unit, now, cfg, note=notify_note)
    return updated


def _require_step(refund: DepositRefund, expected: RefundStep, target: RefundStep) -> None:
    if refund.step != expected:
        raise InvalidTransition("deposit refund", refund.step, target,
                                [s for s in [next_step(refund.step)] if s])


async def _locked(refund_id: int) -> DepositRefund:
    refund = await DepositRefund.get_or_none(id=refund_id)
    if refund is None:
        raise NotFound("deposit refund not found")
    return refund


# --------------------------------------------------------------------------------------------- steps


async def apply_refund(*, lease: Lease, applicant: User, now: datetime, cfg: RefundConfig,
                       move_out_date: date | None = None, reason: str = "", payee_name: str = "",
                       payee_bank: str = "", payee_account: str = "", change_unit: bool = True) -> DepositRefund:
    """The tenant applies (APPLIED, at once). The unit goes to MOVE_OUT_PENDING in the same transaction."""
    if lease.status not in LIVE_LEASE_STATUSES:
        raise Conflict(f"a {lease.status} lease has no deposit to refund", code="LEASE_NOT_LIVE")
    if await DepositRefund.filter(open_key=f"lease:{lease.id}").exists():
        raise Conflict("this lease already has a deposit refund in progress", code="REFUND_ALREADY_OPEN")
    unit = await Unit.get(id=lease.unit_id)
    try:
        return await _open_refund(lease=lease, unit=unit, applicant=applicant, now=now, cfg=cfg,
                                  move_out_date=move_out_date, reason=reason, payee_name=payee_name,
                                  payee_bank=payee_bank, payee_account=payee_account, change_unit=change_unit)
    except IntegrityError:  # a concurrent application for the same lease won the unique open_key
        raise Conflict("this lease already has a deposit refund in progress", code="REFUND_ALREADY_OPEN") from None


async def apply_for_tenant(*, tenant_id: int | None, lease_id: int, applicant: User, now: datetime,
                           cfg: RefundConfig, move_out_date: date | None, reason: str, payee_name: str,
                           payee_bank: str, payee_account: str) -> DepositRefund:
    """The tenant's online move-out form: only for their own live lease (anyone else's, or an ended one, is
    "not found"); the account number is stored without the spaces people type into it."""
    lease = await Lease.get_or_none(id=lease_id)
    if lease is None or lease.tenant_id != tenant_id:
        raise NotFound("lease not found")
    if lease.status not in LIVE_LEASE_STATUSES:
        raise NotFound("lease not found", details={"reason": "the lease is not live"})
    return await apply_refund(lease=lease, applicant=applicant, now=now, cfg=cfg, move_out_date=move_out_date,
                              reason=reason, payee_name=payee_name, payee_bank=payee_bank,
                              payee_account=payee_account.replace(" ", ""))


async def _open_refund(*, lease: Lease, unit: Unit, applicant: User, now: datetime, cfg: RefundConfig,
                       move_out_date: date | None, reason: str, payee_name: str, payee_bank: str, payee_account: str,
                       change_unit: bool) -> DepositRefund:
    async with in_transaction():
        pending = S.INSPECTED
        refund = await DepositRefund.create(
            lease_id=lease.id, tenant_id=lease.tenant_id, unit_id=unit.id, building_id=unit.building_id,
            applicant_id=applicant.id, step=S.APPLIED, version=1, open_key=f"lease:{lease.id}",
            step_entered_at=now, step_due_at=cfg.deadline(pending, now),
            assignee_id=await owner_for(unit.building_id, pending), applied_at=now, move_out_date=move_out_date,
            reason=reason[:500], payee_name=payee_name[:64], payee_bank=payee_bank[:64],
            payee_account=payee_account[:40], deposit_fen=await held_deposit(lease),
            progress_nonce=secrets.token_hex(4))
        if change_unit and unit.status != UnitStatus.MOVE_OUT_PENDING:
            await change_unit_status(unit.id, UnitStatus.MOVE_OUT_PENDING, source=StatusSource.REFUND, now=now,
                                     actor_id=applicant.id, reason="deposit refund applied",
                                     reference=f"refund:{refund.id}")
        await RefundEvent.create(refund_id=refund.id, action=RefundAction.APPLY, from_step=None, to_step=S.APPLIED,
                                 version=1, actor_id=applicant.id, actor_role=applicant.role, at=now,
                                 details={"move_out_date": move_out_date.isoformat() if move_out_date else None})
        await _notify_step(refund, unit, now, cfg)
    return refund


async def inspection_report_problem(refund: DepositRefund, report_id: int) -> str | None:
    """Why a StatusReport cannot serve as this refund's on-site inspection, or None when it can."""
    from inspections.choices import ReportCategory, ReportState
    from models.inspections import Photo, StatusReport

    report = await StatusReport.get_or_none(id=report_id)
    if report is None or report.unit_id != refund.unit_id:
        return "no inspection report with that id for this unit"
    if report.category != ReportCategory.REFUND_INSPECTION:
        return f"the report is a {report.category} report, not a {ReportCategory.REFUND_INSPECTION}"
    if report.state in (ReportState.AWAITING_MEDIA, ReportState.REJECTED, ReportState.CONFLICT, ReportState.EXPIRED):
        return f"the report is {report.state}"
    if report.captured_at < refund.applied_at:
        return "the report was made before the refund was applied for"
    photo_ids = [str(p) for p in report.photo_ids or []]
    if not photo_ids:
        return "the report has no photos"
    found = await Photo.filter(id__in=photo_ids).count()
    if found != len(set(photo_ids)):
        return "not every photo of the report has arrived"
    return None


async def inspect(refund_id: int, *, actor: User, now: datetime, cfg: RefundConfig, inspection_report_id: int | None,
                  note: str = "") -> DepositRefund:
    async with in_transaction():
        refund = await _locked(refund_id)
        _require_step(refund, S.APPLIED, S.INSPECTED)
        if not inspection_report_id:
            raise missing(S.INSPECTED, ["inspection_report_id"],
                          "the INSPECTED step needs an on-site inspection report (REFUND_INSPECTION) with photos")
        problem = await inspection_report_problem(refund, inspection_report_id)
        if problem:
            raise ValidationFailed(f"inspection report unusable: {problem}", code="DELIVERABLE_INVALID",
                                   details={"step": S.INSPECTED, "field": "inspection_report_id", "problem": problem})
        return await _move(refund, S.INSPECTED, action=RefundAction.ADVANCE, now=now, cfg=cfg, actor=actor,
                           actor_role=actor.role, changes={"inspection_report_id": inspection_report_id,
                                                           "inspection_note": note[:1000]},
                           details={"inspection_report_id": inspection_report_id})


def totals(deposit_fen: int, amounts: list[int]) -> tuple[int, int, int]:
    """(deductions, refund, debt): refund = deposit − deductions, never negative; the shortfall is debt."""
    total = sum(amounts)
    return total, max(0, deposit_fen - total), max(0, total - deposit_fen)


async def settle(refund_id: int, *, actor: User, now: datetime, cfg: RefundConfig, deduction_ids: list[int] | None,
                 note: str = "") -> DepositRefund:
    """Finance confirms the settlement list: exactly the current deduction lines (may be none)."""
    async with in_transaction():
        refund = await _locked(refund_id)
        _require_step(refund, S.INSPECTED, S.SETTLED)
        if deduction_ids is None:
            raise missing(S.SETTLED, ["deduction_ids"],
                          "the SETTLED step needs the settlement list: deduction_ids (an empty list for none)")
        lines = await RefundDeduction.filter(refund_id=refund.id).order_by("id")
        current = {line.id for line in lines}
        wanted = set(deduction_ids)
        if wanted != current:
            raise ValidationFailed("the settlement list does not match the deduction lines",
                                   code="SETTLEMENT_MISMATCH",
                                   details={"step": S.SETTLED, "missing": sorted(current - wanted),
                                            "unknown": sorted(wanted - current)})
        deductions, refund_fen, debt = totals(refund.deposit_fen, [line.amount_fen for line in lines])
        settlement = {"lines": [serialize_deduction(line) for line in lines], "deposit_fen": refund.deposit_fen,
                      "deductions_fen": deductions, "refund_fen": refund_fen, "debt_fen": debt, "note": note[:500],
                      "settled_by": actor.id, "settled_at": now.isoformat()}
        return await _move(refund, S.SETTLED, action=RefundAction.ADVANCE, now=now, cfg=cfg, actor=actor,
                           actor_role=actor.role,
                           changes={"deductions_fen": deductions, "refund_fen": refund_fen, "debt_fen": debt,
                                    "settlement": settlement},
                           details={"refund_fen": refund_fen, "deductions_fen": deductions, "debt_fen": debt})


async def approve(refund_id: int, *, actor: User, now: datetime, cfg: RefundConfig,
                  approved_amount_fen: int | None, note: str = "") -> DepositRefund:
    """The regional manager's approval record: who, when, which amount (must match the settlement)."""
    async with in_transaction():
        refund = await _locked(refund_id)
        _require_step(refund, S.SETTLED, S.APPROVED)
        if approved_amount_fen is None:
            raise missing(S.APPROVED, ["approved_amount_fen"])
        if approved_amount_fen != refund.refund_fen:
            raise ValidationFailed("the approved amount differs from the settled refund amount",
                                   code="AMOUNT_MISMATCH",
                                   details={"step": S.APPROVED, "settled_fen": refund.refund_fen,
                                            "approved_amount_fen": approved_amount_fen})
        approved = await _move(refund, S.APPROVED, action=RefundAction.ADVANCE, now=now, cfg=cfg, actor=actor,
                               actor_role=actor.role, reason=note,
                               changes={"approved_by_id": actor.id, "approved_at": now,
                                        "approved_amount_fen": approved_amount_fen},
                               details={"approved_by": actor.id, "approved_amount_fen": approved_amount_fen})
        if refund.debt_fen > 0:  # after the version-conditional move: a racing approval got 409 already
            await TenantDebt.create(tenant_id=refund.tenant_id, refund_id=refund.id, amount_fen=refund.debt_fen,
                                    recorded_at=now)
        return approved


async def pay(refund_id: int, *, actor: User, now: datetime, cfg: RefundConfig, bank_receipt_ref: str | None,
              receipt_document_id: int | None, payment_record: str | None = None) -> DepositRefund:
    """款项发放. ``payment_record`` (e.g. "wechatpay-refund:<id>", set by payments/ once WeChat Pay confirmed the
    refund) replaces the bank receipt and its document as the deliverable."""
    if payment_record:
        bank_receipt_ref = payment_record
    async with in_transaction():
        refund = await _locked(refund_id)
        _require_step(refund, S.APPROVED, S.PAID)
        if not payment_record:
            await _no_wechat_payout_in_flight(refund.id)
        if (refund.approved_amount_fen or 0) > 0 and not payment_record:
            absent = [name for name, value in (("bank_receipt_ref", bank_receipt_ref),
                                                ("receipt_document_id", receipt_document_id)) if not value]
            if absent:
                raise missing(S.PAID, absent)
        if receipt_document_id:
            document = await RefundDocument.get_or_none(id=receipt_document_id, refund_id=refund.id)
            if document is None or document.kind != DocumentKind.BANK_RECEIPT:
                raise ValidationFailed("receipt_document_id must be a BANK_RECEIPT uploaded for this refund",
                                       code="DELIVERABLE_INVALID",
                                       details={"step": S.PAID, "field": "receipt_document_id"})
        # the deposit held in the ledger is settled: the deductions kept, the approved amount refunded
        await settle_deposit(refund.lease_id, refund_id=refund.id, deducted_fen=refund.deductions_fen,
                             refunded_fen=refund.approved_amount_fen or 0, now=now)
        return await _move(refund, S.PAID, action=RefundAction.ADVANCE, now=now, cfg=cfg, actor=actor,
                           actor_role=actor.role,
                           changes={"paid_at": now, "bank_receipt_ref": (bank_receipt_ref or "")[:64],
                                    "receipt_document_id": receipt_document_id},
                           details={"bank_receipt_ref": bank_receipt_ref, "amount_fen": refund.approved_amount_fen})


async def _no_wechat_payout_in_flight(refund_id: int) -> None:
    """Paying by bank while WeChat Pay may still pay the same refund would pay it twice: finance waits for the
    WeChat Pay outcome, or cancels the transfer (撤销转账) first."""
    if await WechatPayTransfer.filter(refund_id=refund_id, status__in=list(IN_FLIGHT_TRANSFER_STATUSES)).exists() \
            or await WechatPayRefund.filter(refund_id=refund_id, status=PayoutStatus.PROCESSING).exists():
        raise Conflict("a WeChat Pay payout of this refund is in flight: wait for it, or cancel the transfer",
                       code="PAYOUT_IN_FLIGHT")


async def confirm_receipt(refund_id: int, *, tenant_user: User, now: datetime, cfg: RefundConfig) -> DepositRefund:
    async with in_transaction():
        refund = await _locked(refund_id)
        if refund.step == S.COMPLETED:
            return refund  # confirming twice is harmless
        _require_step(refund, S.PAID, S.COMPLETED)
        return await _move(refund, S.COMPLETED, action=RefundAction.ADVANCE, now=now, cfg=cfg, actor=tenant_user,
                           actor_role=Role.TENANT, changes={"completed_at": now, "completed_by": CompletedBy.TENANT})


async def auto_complete_due(now: datetime, cfg: RefundConfig) -> list[int]:
    """PAID refunds the tenant did not confirm within the configured days become COMPLETED."""
    cutoff = now - timedelta(days=cfg.auto_complete_days)
    done: list[int] = []
    due = cast(list[int], await DepositRefund.filter(step=S.PAID, paid_at__lte=cutoff).values_list("id", flat=True))
    for refund_id in due:
        try:
            async with in_transaction():
                refund = await _locked(refund_id)
                if refund.step != S.PAID:
                    continue
                await _move(refund, S.COMPLETED, action=RefundAction.AUTO_COMPLETE, now=now, cfg=cfg, actor=None,
                            actor_role="SYSTEM", reason=f"no confirmation within {cfg.auto_complete_days} days",
                            changes={"completed_at": now, "completed_by": CompletedBy.AUTO})
            done.append(refund_id)
        except Conflict:
            continue  # another scheduler instance completed it
    return done


#: What each step's deliverable wrote, cleared when the refund is returned to before that step.
_CLEAR: dict[RefundStep, dict[str, Any]] = {
    S.INSPECTED: {"inspection_report_id": None, "inspection_note": ""},
    S.SETTLED: {"settlement": {}, "refund_fen": None, "debt_fen": 0, "deductions_fen": 0},
    S.APPROVED: {"approved_by_id": None, "approved_at": None, "approved_amount_fen": None},
}
RETURN_ROLES = REFUND_RETURN_ANY_STEP  # the name this module has always used; the set lives in accounts.permissions


def may_return(role: Role | str, pending: RefundStep | None) -> bool:
    """Return for correction: managers/admins at any step, else only the role that takes the pending step."""
    return role in REFUND_RETURN_ANY_STEP or (pending is not None and STEP_ROLE.get(pending) == role)


async def return_for_correction(refund_id: int, *, actor: User, now: datetime, cfg: RefundConfig, reason: str,
                                to_step: RefundStep | None = None) -> DepositRefund:
    """Send the refund back to an earlier step (default: the previous one) to redo its deliverable.

    Allowed for the role that takes the next step (it found the deliverable wrong) and for managers/admins.
    """
    if not reason or not reason.strip():
        raise missing(S.APPLIED, ["reason"], "returning for correction needs a reason")
    async with in_transaction():
        refund = await _locked(refund_id)
        current = S(refund.step)
        if current not in (S.INSPECTED, S.SETTLED, S.APPROVED):
            raise InvalidTransition("deposit refund", current, "RETURN", [])
        pending = next_step(current)
        assert pending is not None  # INSPECTED, SETTLED and APPROVED each have a next step
        if not may_return(actor.role, pending):
            raise Conflict(f"a {actor.role} cannot return a refund waiting for {pending}", code="NOT_YOUR_STEP",
                           details={"allowed_roles": sorted({STEP_ROLE[pending], *RETURN_ROLES})})
        earlier = STEP_ORDER[:STEP_ORDER.index(current)]
        target = S(to_step) if to_step else earlier[-1]
        if target not in earlier:
            raise InvalidTransition("deposit refund", current, target, list(earlier))
        changes: dict[str, Any] = {}
        for step in STEP_ORDER[STEP_ORDER.index(target) + 1: STEP_ORDER.index(current) + 1]:
            changes.update(_CLEAR.get(step, {}))
        if "approved_by_id" in changes:
            await TenantDebt.filter(refund_id=refund.id, settled_at__isnull=True).delete()
        return await _move(refund, target, action=RefundAction.RETURN, now=now, cfg=cfg, actor=actor,
                           actor_role=actor.role, reason=reason.strip(), changes=changes,
                           details={"returned_from": current}, notify_note=f"退回修正:{reason.strip()}")


async def cancel(refund_id: int, *, actor: User, now: datetime, cfg: RefundConfig, reason: str) -> DepositRefund:
    """Cancel with a reason. A unit this refund put into MOVE_OUT_PENDING goes back to OCCUPIED."""
    if not reason or not reason.strip():
        raise missing(S.CANCELLED, ["reason"], "cancelling needs a reason")
    async with in_transaction():
        refund = await _locked(refund_id)
        if refund.step not in CANCELLABLE_STEPS:
            raise InvalidTransition("deposit refund", refund.step, S.CANCELLED, [])
        if actor.role == Role.TENANT and refund.step != S.APPLIED:
            raise Conflict("the application can be withdrawn only before the on-site inspection; "
                           "ask the building manager", code="TOO_LATE_TO_WITHDRAW")
        unit = await Unit.get(id=refund.unit_id)
        if unit.status == UnitStatus.MOVE_OUT_PENDING:
            await change_unit_status(unit.id, UnitStatus.OCCUPIED, source=StatusSource.REFUND, now=now,
                                     actor_id=actor.id, reason=f"deposit refund cancelled: {reason}"[:500],
                                     reference=f"refund:{refund.id}")
        await TenantDebt.filter(refund_id=refund.id, settled_at__isnull=True).delete()
        return await _move(refund, S.CANCELLED, action=RefundAction.CANCEL, now=now, cfg=cfg, actor=actor,
                           actor_role=actor.role, reason=reason.strip(),
                           changes={"cancelled_at": now, "cancel_reason": reason.strip()[:500]},
                           notify_note=reason.strip())


# --------------------------------------------------------------------------------------------- deductions


async def add_deduction(refund_id: int, *, actor: User, category: DeductionCategory, amount_fen: int,
                        description: str, photo_ids: list[str], document_id: int | None) -> RefundDeduction:
    """No deduction without evidence: photos (already uploaded) and/or a QUOTE document of this refund."""
    from models.inspections import Photo

    refund = await _locked(refund_id)
    if refund.step not in DEDUCTION_EDIT_STEPS:
        raise InvalidTransition("deposit refund", refund.step, "ADD_DEDUCTION", [])
    if amount_fen <= 0:
        raise ValidationFailed("amount_fen must be positive", details={"fields": [{"field": "amount_fen"}]})
    if not photo_ids and not document_id:
        raise ValidationFailed("a deduction needs evidence: photo_ids or a quote document_id",
                               code="EVIDENCE_REQUIRED", details={"missing": ["photo_ids", "document_id"]})
    normalized = []
    for raw in photo_ids:
        try:
            normalized.append(str(uuid.UUID(str(raw))))
        except ValueError:
            raise ValidationFailed(f"{raw!r} is not a photo id", code="UNKNOWN_PHOTO",
                                   details={"photo_ids": [raw]}) from None
    if normalized:
        await _check_evidence_photos(refund, actor, normalized)
    if document_id:
        document = await RefundDocument.get_or_none(id=document_id, refund_id=refund.id)
        if document is None or document.kind != DocumentKind.QUOTE:
            raise ValidationFailed("document_id must be a QUOTE uploaded for this refund", code="UNKNOWN_DOCUMENT",
                                   details={"document_id": document_id})
    async with in_transaction():
        if normalized:  # the actor's own unattached upload is now evidence of this unit
            await Photo.filter(id__in=normalized, unit_id__isnull=True, uploaded_by_id=actor.id) \
                .update(unit_id=refund.unit_id)
        line = await RefundDeduction.create(refund_id=refund.id, category=category, amount_fen=amount_fen,
                                            description=description[:200], photo_ids=normalized,
                                            document_id=document_id, created_by_id=actor.id)
        await _recount(refund.id)
    return line


async def _check_evidence_photos(refund: DepositRefund, actor: User, photo_ids: list[str]) -> None:
    """Every photo is stored, of this refund's unit (or the actor's own unattached upload) and evidence of no
    other refund (inspections.photo_scope)."""
    from dataclasses import replace

    from inspections.photo_scope import Citation, refund_refusal
    from inspections.service import photo_facts, refuse_citations
    from models.inspections import StatusReport

    facts = await photo_facts(photo_ids)
    absent = [p for p in photo_ids if p not in facts]
    if absent:
        raise ValidationFailed("evidence photos not found (upload them first)", code="UNKNOWN_PHOTO",
                               details={"photo_ids": absent})
    others = DepositRefund.filter(unit_id=refund.unit_id).exclude(id=refund.id)
    cited: dict[str, set[int]] = {}
    for other_id, ids in await RefundDeduction.filter(refund__unit_id=refund.unit_id) \
            .exclude(refund_id=refund.id).values_list("refund_id", "photo_ids"):
        for pid in ids or []:
            cited.setdefault(str(pid), set()).add(other_id)
    reports = dict(cast(list[tuple[int, int]], await others.filter(inspection_report_id__isnull=False)
                        .values_list("inspection_report_id", "id")))
    for report_id, ids in await StatusReport.filter(id__in=list(reports)).values_list("id", "photo_ids"):
        for pid in ids or []:
            cited.setdefault(str(pid), set()).add(reports[report_id])
    unit = await Unit.get(id=refund.unit_id)
    citation = Citation(by_user_id=actor.id, unit_id=refund.unit_id, building_id=unit.building_id,
                        refund_id=refund.id)
    refuse_citations({pid: refund_refusal(replace(f, refund_ids=frozenset(cited.get(pid, ()))), citation)
                      for pid, f in facts.items()})


async def remove_deduction(refund_id: int, deduction_id: int) -> bool:
    """Remove a line before settlement. Idempotent: returns whether it existed."""
    refund = await _locked(refund_id)
    if refund.step not in DEDUCTION_EDIT_STEPS:
        raise InvalidTransition("deposit refund", refund.step, "REMOVE_DEDUCTION", [])
    async with in_transaction():
        deleted = await RefundDeduction.filter(id=deduction_id, refund_id=refund.id).delete()
        await _recount(refund.id)
    return bool(deleted)


async def _recount(refund_id: int) -> None:
    amounts = await RefundDeduction.filter(refund_id=refund_id).values_list("amount_fen", flat=True)
    await DepositRefund.filter(id=refund_id).update(deductions_fen=sum(amounts))


#: what a tenant may download of their own refund: the quotes behind deductions and the bank receipt
TENANT_DOCUMENT_KINDS = frozenset({DocumentKind.QUOTE, DocumentKind.BANK_RECEIPT})


def document_storage(settings):
    from inspections.storage import LocalPhotoStorage

    return LocalPhotoStorage(settings.resolved_media_dir / "refund-documents")


async def document_file(refund: DepositRefund, document_id: int, storage, *,
                        kinds: frozenset[DocumentKind] | None = None) -> tuple[RefundDocument, bytes]:
    """One document of this refund with its bytes; another refund's document is "not found", as is a kind the
    caller may not see. A record whose file is gone answers 410 rather than an empty download."""
    document = await RefundDocument.get_or_none(id=document_id, refund_id=refund.id)
    if document is None or (kinds is not None and document.kind not in kinds):
        raise NotFound("document not found", code="UNKNOWN_DOCUMENT", details={"document_id": document_id})
    data = storage.get(document.storage_key)
    if data is None:
        raise AppError("the document's file is missing from storage", code="DOCUMENT_FILE_MISSING", status=410)
    return document, data


async def upload_document(refund: DepositRefund, *, kind: DocumentKind, data: bytes, filename: str, uploader: User,
                          settings: Settings) -> RefundDocument:
    """An uploaded file becomes a document of this refund if it is a PDF, JPEG or PNG within the size limit
    (judged by its first bytes, not by the type the client declared)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge("documents are limited to 10 MB")
    content_type = sniff_content_type(data)
    if content_type is None:
        raise BadRequest("documents must be PDF, JPEG or PNG", code="UNSUPPORTED_DOCUMENT")
    return await store_document(refund, kind=kind, data=data, filename=filename, content_type=content_type,
                                uploader=uploader, storage=document_storage(settings))


async def store_document(refund: DepositRefund, *, kind: DocumentKind, data: bytes, filename: str,
                         content_type: str, uploader: User, storage) -> RefundDocument:
    digest = hashlib.sha256(data).hexdigest()
    key = f"{refund.id}/{digest}"
    storage.put(key, data)
    return await RefundDocument.create(refund_id=refund.id, kind=kind, filename=filename[:200],
                                       content_type=content_type[:64], size_bytes=len(data), sha256=digest,
                                       storage_key=key, uploaded_by_id=uploader.id)


# --------------------------------------------------------------------------------------------- escalation


def is_red(refund: DepositRefund, now: datetime, cfg: RefundConfig) -> bool:
    return refund.step in STAFF_WAIT_STEPS and now - refund.step_entered_at > timedelta(hours=cfg.escalation_hours)


def red_filter(now: datetime, cfg: RefundConfig) -> dict[str, Any]:
    """``is_red`` as query filters: a staff wait that started before the escalation threshold."""
    return {"step__in": list(STAFF_WAIT_STEPS), "step_entered_at__lt": now - timedelta(hours=cfg.escalation_hours)}


async def escalate_stalled(now: datetime, cfg: RefundConfig, settings: Settings | None = None) -> list[int]:
    """Flag waits older than the escalation threshold: notify the owner and their supervisor, once per wait
    (and, with ``settings``, the desk channels of the building that hear red flags)."""
    candidates = await DepositRefund.filter(**red_filter(now, cfg)).order_by("id")
    escalated = []
    for refund in candidates:
        if refund.escalated_version == refund.version:
            continue
        async with in_transaction():
            won = await (DepositRefund.filter(id=refund.id, version=refund.version)
                         .filter(Q(escalated_version__isnull=True) | Q(escalated_version__lt=refund.version))
                         .update(escalated_version=refund.version))
            if won != 1:
                continue
            recipients = await escalation_recipients(refund)
            await RefundEscalation.create(refund_id=refund.id, step=refund.step, version=refund.version,
                                          waiting_since=refund.step_entered_at, escalated_at=now,
                                          notified_user_ids=recipients)
            await RefundEvent.create(refund_id=refund.id, action=RefundAction.ESCALATE, from_step=refund.step,
                                     to_step=refund.step, version=refund.version, actor_id=None,
                                     actor_role="SYSTEM", at=now,
                                     reason=f"waiting more than {cfg.escalation_hours} h",
                                     details={"notified_user_ids": recipients, "assignee_id": refund.assignee_id})
            unit = await Unit.get(id=refund.unit_id)
            owner = await User.get_or_none(id=refund.assignee_id) if refund.assignee_id else None
            pending = next_step(refund.step)
            assert pending is not None  # only a refund waiting for a step is red (red_filter)
            for user_id in recipients:
                await enqueue_notification(
                    user_id=user_id, kind=NotificationKind.REFUND_ESCALATED,
                    dedupe_key=f"refund:{refund.id}:v{refund.version}:escalate:{user_id}",
                    payload={"refund_id": refund.id, "unit_code": unit.code, "task": f"超时:{STEP_TASK[pending]}",
                             "since": refund.step_entered_at.isoformat(), "step": pending,
                             "owner_name": owner.name if owner else "未分配"}, now=now)
            if settings is not None:
                await _desk_red_flag(settings, refund, unit, owner, now, cfg)
        escalated.append(refund.id)
    return escalated


async def _desk_red_flag(settings: Settings, refund: DepositRefund, unit: Unit, owner: User | None, now: datetime,
                         cfg: RefundConfig) -> None:
    from notifications.choices import DeskEvent
    from notifications.desk import enqueue_desk

    pending = next_step(refund.step)
    await enqueue_desk(settings, DeskEvent.REFUND_RED_FLAG, dedupe_key=f"refund:{refund.id}:v{refund.version}:red",
                       now=now, building_id=refund.building_id, payload={
                           "subject": f"{unit.code} {STEP_TASK.get(pending, '') if pending else ''}", "unit": unit.code,
                           "owner": owner.name if owner else "未分配",
                           "since": refund.step_entered_at.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M"),
                           "detail": f"已超过 {cfg.escalation_hours} 小时,已通知负责人及其主管",
                           "link": f"{settings.public_base_url}/console/refunds#refund-{refund.id}"})


async def escalation_recipients(refund: DepositRefund) -> list[int]:
    """The step's owner and their supervisor; with no supervisor on record, the building's managers."""
    recipients: list[int] = []
    if refund.assignee_id:
        recipients.append(refund.assignee_id)
        owner = await User.get_or_none(id=refund.assignee_id)
        if owner and owner.supervisor_id:
            recipients.append(owner.supervisor_id)
    if len(recipients) < 2:
        from accounts.choices import StaffDuty

        managers = cast(list[int], await BuildingStaff.filter(building_id=refund.building_id, duty=StaffDuty.MANAGER,
                                                              user__is_active=True).values_list("user_id", flat=True))
        recipients.extend(sorted(set(managers)))
    return list(dict.fromkeys(recipients))


# --------------------------------------------------------------------------------------------- views


def serialize_deduction(line: RefundDeduction) -> dict:
    return {"id": line.id, "category": line.category, "amount_fen": line.amount_fen,
            "description": line.description, "photo_ids": list(line.photo_ids or []),
            "document_id": line.document_id}


def mask_account(account: str) -> str:
    from core.pii import mask_tail

    return mask_tail(account) or ""


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


async def timeline(refund: DepositRefund, *, with_people: bool) -> list[dict]:
    events = await RefundEvent.filter(refund_id=refund.id).order_by("at", "id")
    rows = []
    for event in events:
        row: dict[str, Any] = {"action": event.action, "from_step": event.from_step, "step": event.to_step,
                               "at": event.at.isoformat(), "role": event.actor_role}
        if event.action in (RefundAction.RETURN, RefundAction.CANCEL):
            row["reason"] = event.reason
        if with_people:
            row.update({"actor_id": event.actor_id, "reason": event.reason, "due_at": _iso(event.due_at),
                        "on_time": event.on_time, "details": event.details})
        rows.append(row)
    return rows


async def serialize_refund(refund: DepositRefund, now: datetime, cfg: RefundConfig, *, staff: bool,
                           detail: bool = False) -> dict:
    unit = await Unit.get(id=refund.unit_id)
    expected = cfg.expected_completion(refund, now)
    data = {
        "id": refund.id, "lease_id": refund.lease_id, "unit_code": unit.code, "unit_name": unit.name,
        "step": refund.step, "step_label": STEP_LABEL[S(refund.step)], "pending_step": next_step(refund.step),
        "step_entered_at": refund.step_entered_at.isoformat(), "step_due_at": _iso(refund.step_due_at),
        "applied_at": refund.applied_at.isoformat(), "expected_completion": _iso(expected),
        "deposit_fen": refund.deposit_fen, "deductions_fen": refund.deductions_fen, "refund_fen": refund.refund_fen,
        "debt_fen": refund.debt_fen, "move_out_date": _iso(refund.move_out_date),
        "paid_at": _iso(refund.paid_at), "completed_at": _iso(refund.completed_at),
        "completed_by": refund.completed_by, "cancelled_at": _iso(refund.cancelled_at),
        "cancel_reason": refund.cancel_reason, "payee_account": mask_account(refund.payee_account),
        "overdue": bool(refund.step_due_at and refund.step in STAFF_WAIT_STEPS and now > refund.step_due_at),
        "red_flag": is_red(refund, now, cfg),
    }
    if staff:
        data.update({"building_id": refund.building_id, "tenant_id": refund.tenant_id,
                     "assignee_id": refund.assignee_id, "version": refund.version,
                     "inspection_report_id": refund.inspection_report_id, "inspection_note": refund.inspection_note,
                     "approved_by": refund.approved_by_id, "approved_at": _iso(refund.approved_at),
                     "approved_amount_fen": refund.approved_amount_fen, "bank_receipt_ref": refund.bank_receipt_ref,
                     "receipt_document_id": refund.receipt_document_id, "payee_name": refund.payee_name,
                     "payee_bank": refund.payee_bank, "escalated": refund.escalated_version == refund.version})
    if detail:
        lines = await RefundDeduction.filter(refund_id=refund.id).order_by("id")
        data["deductions"] = [serialize_deduction(line) for line in lines]
        data["timeline"] = await timeline(refund, with_people=staff)
        if staff:
            data["documents"] = [{"id": d.id, "kind": d.kind, "filename": d.filename, "size_bytes": d.size_bytes,
                                  "sha256": d.sha256} for d in await RefundDocument.filter(refund_id=refund.id)]
    return data


async def staff_list(building_filter: dict[str, Any], page: PageQuery, now: datetime, cfg: RefundConfig, *,
                     step: RefundStep | None = None, building_id: int | None = None,
                     red_only: bool = False) -> dict[str, Any]:
    """One page of the refunds in the caller's buildings, newest application first."""
    qs = DepositRefund.filter(**building_filter).order_by("-applied_at")
    if step:
        qs = qs.filter(step=step)
    if building_id:
        qs = qs.filter(building_id=building_id)
    if red_only:
        qs = qs.filter(**red_filter(now, cfg))
    result = await paginate(qs, page, lambda r: r)
    result["items"] = [await serialize_refund(r, now, cfg, staff=True) for r in result["items"]]
    return result


async def tenant_list(tenant_id: int | None, now: datetime, cfg: RefundConfig) -> list[dict]:
    refunds = await DepositRefund.filter(tenant_id=tenant_id).order_by("-applied_at")
    return [await serialize_refund(r, now, cfg, staff=False) for r in refunds]


async def tenant_detail(refund: DepositRefund, now: datetime, cfg: RefundConfig, settings: Settings) -> dict:
    """What the tenant sees of their refund: each deduction with its evidence photos as inline thumbnails and
    whether a quote backs it, and the documents they may download (TENANT_DOCUMENT_KINDS)."""
    from inspections.storage import storage_for
    from models.inspections import Photo

    data = await serialize_refund(refund, now, cfg, staff=False, detail=True)
    storage = storage_for(settings)
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
                                                              kind__in=list(TENANT_DOCUMENT_KINDS))
                         .order_by("id")]
    return data


def progress_link(refund: DepositRefund, settings: Settings, now: datetime) -> tuple[str, str, datetime]:
    """(url, token, expiry) of a fresh progress link for this refund."""
    token, expires_at = issue_progress_token(secret=settings.qr_secret, refund_id=refund.id,
                                             nonce=refund.progress_nonce, now=now,
                                             ttl=timedelta(days=settings.refund_progress_token_days))
    return progress_url(settings.qr_base_url, token), token, expires_at


async def progress_for_token(token: str, *, secret: str, now: datetime, cfg: RefundConfig) -> dict:
    """The public progress page behind a signed link; an unknown, forged, expired or revoked link is 404."""
    refund_id, expires, sig = parse_progress_token(token)
    refund = await DepositRefund.get_or_none(id=refund_id)
    if refund is None:
        raise NotFound("progress link not found", code="INVALID_PROGRESS_LINK")
    verify_progress_token(secret=secret, refund_id=refund.id, expires=expires, sig=sig, nonce=refund.progress_nonce,
                          now=now)
    events = await RefundEvent.filter(refund_id=refund.id).order_by("at", "id")
    return public_progress(refund, now, cfg, events)


def public_progress(refund: DepositRefund, now: datetime, cfg: RefundConfig, events: list[RefundEvent]) -> dict:
    """What the progress QR shows without login: steps, dates, expected completion. No names, amounts, photos."""
    reached: dict[str, str] = {}
    for event in events:
        if event.action in (RefundAction.APPLY, RefundAction.ADVANCE, RefundAction.AUTO_COMPLETE,
                            RefundAction.CANCEL):
            reached[event.to_step] = event.at.astimezone(cfg.tz).date().isoformat()
        elif event.action == RefundAction.RETURN:
            for step in STEP_ORDER[STEP_ORDER.index(S(event.to_step)) + 1:]:
                reached.pop(step, None)
    expected = cfg.expected_completion(refund, now)
    return {"step": refund.step, "step_label": STEP_LABEL[S(refund.step)],
            "steps": [{"step": step, "label": STEP_PHRASE[step], "date": reached.get(step)} for step in STEP_ORDER],
            "cancelled": refund.step == S.CANCELLED,
            "applied_on": refund.applied_at.astimezone(cfg.tz).date().isoformat(),
            "expected_completion": _iso(expected)}


async def board(now: datetime, cfg: RefundConfig, building_filter: dict) -> dict:
    """Refunds by step with red flags, per-step SLA compliance and the average cycle time."""
    open_refunds = await DepositRefund.filter(step__in=[s for s in STEP_ORDER if s != S.COMPLETED],
                                              **building_filter).order_by("step_entered_at")
    units = {u.id: u.code for u in await Unit.filter(id__in=[r.unit_id for r in open_refunds])}
    by_step: dict[str, list[dict]] = {step: [] for step in STEP_ORDER if step != S.COMPLETED}
    for refund in open_refunds:
        by_step[refund.step].append({
            "id": refund.id, "unit_code": units.get(refund.unit_id), "entered_at": refund.step_entered_at.isoformat(),
            "due_at": _iso(refund.step_due_at), "assignee_id": refund.assignee_id,
            "hours_in_step": round((now - refund.step_entered_at).total_seconds() / 3600, 1),
            "overdue": bool(refund.step_due_at and refund.step in STAFF_WAIT_STEPS and now > refund.step_due_at),
            "red_flag": is_red(refund, now, cfg), "escalated": refund.escalated_version == refund.version})
    events = await RefundEvent.filter(action=RefundAction.ADVANCE, on_time__not_isnull=True,
                                      **{f"refund__{key}": value for key, value in building_filter.items()})
    compliance: dict[str, dict] = {}
    for step in (S.INSPECTED, S.SETTLED, S.APPROVED, S.PAID):
        rows = [e for e in events if e.to_step == step]
        on_time = sum(1 for e in rows if e.on_time)
        compliance[step] = {"taken": len(rows), "on_time": on_time,
                            "rate": round(on_time / len(rows), 3) if rows else None,
                            "overdue_now": sum(1 for item in by_step.get(previous_for(step), []) if item["overdue"])}
    completed = await DepositRefund.filter(step=S.COMPLETED, **building_filter)
    cycle_days = [(r.completed_at - r.applied_at).total_seconds() / 86400 for r in completed if r.completed_at]
    paid_days = [(r.paid_at - r.applied_at).total_seconds() / 86400 for r in completed if r.paid_at]
    return {
        "as_of": now.isoformat(),
        "counts": {step: len(items) for step, items in by_step.items()},
        "red_flags": sum(1 for items in by_step.values() for item in items if item["red_flag"]),
        "by_step": by_step,
        "sla_compliance": compliance,
        "completed": len(completed),
        "average_cycle_days": round(sum(cycle_days) / len(cycle_days), 2) if cycle_days else None,
        "average_days_to_payment": round(sum(paid_days) / len(paid_days), 2) if paid_days else None,
    }


def previous_for(step: RefundStep) -> RefundStep:
    return STEP_ORDER[STEP_ORDER.index(step) - 1]
