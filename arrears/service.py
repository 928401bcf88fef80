"""Collections service: owns the transactions. The daily run (``collect``) accrues late fees into the ledger,
fires each overdue receivable's current tier once (message to the tenant through the outbox, a collections task
for the building's finance or area manager), closes the tasks of settled receivables and judges promises to pay.
The rules it applies are pure: arrears.tiers, arrears.latefees, arrears.templates."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from accounts.choices import Role, StaffDuty
from arrears.choices import (
    GraceStatus,
    LateFeeKind,
    MessageChannel,
    MessageTrigger,
    PromiseStatus,
    StepStatus,
    TaskStatus,
)
from arrears.latefees import LateFee, LateFeeClause, late_fee
from arrears.templates import KIND_OF_TIER, MessageTemplates
from arrears.tiers import Tier, TierTable, classify, days_past_due, decide
from audit.choices import AuditAction
from audit.service import Actor, Target, record
from config.settings import Settings
from leasing.choices import OPEN_RECEIVABLE_STATUSES, ChargeType, PaymentMethod, ReceivableStatus
from leasing.ledger import open_key, staff_of
from leasing.money import fen_to_yuan
from leasing.rules import stored_status
from models.accounts import User
from models.arrears import (
    CollectionMessage,
    CollectionStep,
    CollectionTask,
    ContactNote,
    GracePeriod,
    LateFeeAccrual,
    LateFeeClauseRecord,
)
from models.leasing import Lease, Payment, PaymentAllocation, Receivable, Tenant
from models.portfolio import Unit
from notifications.choices import NotificationKind
from notifications.outbox import enqueue_notification
from notifications.sms import enqueue_sms, mask_phone

log = logging.getLogger("rentwatch.arrears")

LATE_FEE_PREFIX = "LATE_FEE"
#: receivables the tiers look at: everything owed but the late fees themselves (no dunning on dunning)
DUNNED_TYPES = (ChargeType.RENT, ChargeType.DEPOSIT, ChargeType.CHARGE, ChargeType.ADJUSTMENT)


@dataclass(frozen=True)
class ArrearsConfig:
    tiers: TierTable
    templates: MessageTemplates
    grace_days: int = 7
    deadline_hours: int = 48
    default_clause: LateFeeClause = LateFeeClause()
    settled_lookback_days: int = 14
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_settings(cls, settings: Settings) -> ArrearsConfig:
        return cls(tiers=TierTable.from_config(settings.arrears_tiers),
                   templates=MessageTemplates.from_config(settings.arrears_templates),
                   grace_days=settings.arrears_grace_days, deadline_hours=settings.arrears_deadline_hours,
                   default_clause=LateFeeClause.model_validate(settings.arrears_default_late_fee or {}),
                   settled_lookback_days=settings.arrears_settled_lookback_days,
                   timezone=settings.business_timezone)

    def local_date(self, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.timezone)).date()


@dataclass
class CollectReport:
    as_of: date
    overdue: int = 0
    fired: list[tuple[int, int]] = field(default_factory=list)  # (receivable id, level)
    skipped: list[tuple[int, int]] = field(default_factory=list)
    suppressed: list[int] = field(default_factory=list)  # receivables in a grace period with a tier due
    messages: int = 0
    tasks_opened: int = 0
    tasks_resolved: int = 0
    late_fee_changes: int = 0
    promises: dict[str, int] = field(default_factory=lambda: {"kept": 0, "broken": 0})

    def summary(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "overdue": self.overdue, "fired": len(self.fired),
                "skipped": len(self.skipped), "suppressed": len(self.suppressed), "messages": self.messages,
                "tasks_opened": self.tasks_opened, "tasks_resolved": self.tasks_resolved,
                "late_fee_changes": self.late_fee_changes, "promises": self.promises}


# --------------------------------------------------------------------------------------------- lookups


def fee_rows_of(lease_id: int, base_id: int) -> QuerySet[Receivable]:
    """The LATE_FEE receivables of receivable ``base_id`` (booked on its lease). The lease and charge type come
    first so the lookup uses the lease's index instead of scanning the ledger for the charge prefix."""
    return Receivable.filter(lease_id=lease_id, charge_type=ChargeType.LATE_FEE,
                             charge__startswith=f"{LATE_FEE_PREFIX}:{base_id}:")


def is_late_fee(row: Receivable) -> bool:
    return row.charge_type == ChargeType.LATE_FEE


async def clauses_for(lease_ids: list[int], cfg: ArrearsConfig) -> dict[int, LateFeeClause]:
    """Each lease's clause (its own record, else the portfolio default)."""
    own = {r.lease_id: LateFeeClause.model_validate(r.clause)
           for r in await LateFeeClauseRecord.filter(lease_id__in=lease_ids)}
    return {lease_id: own.get(lease_id, cfg.default_clause) for lease_id in lease_ids}


async def payments_by_receivable(ids: list[int], tz: ZoneInfo) -> dict[int, list[tuple[date, int]]]:
    """(local payment date, fen) of what was allocated to each receivable."""
    out: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for start in range(0, len(ids), 5000):
        rows = await PaymentAllocation.filter(receivable_id__in=ids[start:start + 5000]).values_list(
            "receivable_id", "amount_fen", "payment__paid_at")
        for rid, fen, paid_at in rows:
            out[rid].append((paid_at.astimezone(tz).date(), fen))
    return out


async def active_grace_leases(lease_ids: list[int], today: date) -> set[int]:
    return set(cast(list[int], await GracePeriod.filter(
        lease_id__in=lease_ids, status=GraceStatus.APPROVED, starts_on__lte=today,
        ends_on__gte=today).values_list("lease_id", flat=True)))


def outstanding_of(row: Receivable) -> int:
    return row.amount_fen - row.paid_fen


# --------------------------------------------------------------------------------------------- late fees


def fee_for(row: Receivable, clause: LateFeeClause, payments: list[tuple[date, int]], as_of: date) -> LateFee:
    return late_fee(clause, amount_fen=row.amount_fen, due_date=row.due_date, payments=payments, as_of=as_of)


async def accrue_late_fee(base: Receivable, fee: LateFee, clause: LateFeeClause, *, as_of: date, now: datetime,
                          final: bool) -> bool:
    """Keep the ledger's LATE_FEE receivables of ``base`` equal to ``fee`` (caller's transaction). The open fee
    row is rewritten while nothing is paid on it; what accrues after a payment on it goes into a new row, so a
    row with money allocated is never rewritten. Returns whether anything changed."""
    accrual = await LateFeeAccrual.get_or_none(base_id=base.id)
    if accrual is not None and (accrual.final or accrual.waived_at):
        return False
    if accrual is None and fee.fen == 0:
        return False
    breakdown = {**fee.breakdown(clause), "base_receivable_id": base.id, "as_of": as_of.isoformat()}
    if accrual is None:
        try:
            async with in_transaction():
                accrual = await LateFeeAccrual.create(base_id=base.id, lease_id=base.lease_id,
                                                      building_id=base.building_id, fee_fen=0, days=0, as_of=as_of,
                                                      breakdown={})
        except IntegrityError:
            return False
    rows = await fee_rows_of(base.lease_id, base.id).filter(open_key__not_isnull=True).order_by("id")
    booked = sum(r.amount_fen for r in rows)
    delta = fee.fen - booked
    changed = False
    if delta != 0:
        last = rows[-1] if rows else None
        if last is not None and last.paid_fen == 0 and last.status == ReceivableStatus.OPEN \
                and last.amount_fen + delta > 0:
            won = await Receivable.filter(id=last.id, paid_fen=0, status=ReceivableStatus.OPEN).update(
                amount_fen=last.amount_fen + delta, breakdown=breakdown)
            changed = won == 1
        elif delta > 0:
            seq = len(rows) + 1
            charge = f"{LATE_FEE_PREFIX}:{base.id}:{seq}"
            await Receivable.create(
                lease_id=base.lease_id, tenant_id=base.tenant_id, building_id=base.building_id, charge=charge,
                charge_type=ChargeType.LATE_FEE, label="违约金", period_start=base.period_start,
                period_end=base.period_end, due_date=max(as_of, base.due_date), amount_fen=delta,
                status=stored_status(delta, 0), breakdown=breakdown, schedule_version=base.schedule_version,
                open_key=open_key(base.lease_id, charge, base.period_start))
            changed = True
        else:
            log.info("late fee of receivable %s went down by %s fen on a paid fee row: kept", base.id, -delta)
    if changed or final or accrual.fee_fen != fee.fen:
        await LateFeeAccrual.filter(id=accrual.id).update(fee_fen=fee.fen, days=fee.days, as_of=as_of,
                                                          breakdown=breakdown, final=final)
    return changed


async def accrue_all(rows: list[Receivable], cfg: ArrearsConfig, *, as_of: date, now: datetime) -> int:
    """Late fees of the overdue receivables and of those settled recently (their final amount)."""
    tz = ZoneInfo(cfg.timezone)
    since = now - timedelta(days=cfg.settled_lookback_days)
    settled = await Receivable.filter(status=ReceivableStatus.PAID, paid_at__gte=since, due_date__lt=as_of,
                                      charge_type__in=list(DUNNED_TYPES), open_key__not_isnull=True,
                                      late_fee_accrual__final=False)
    settled += await Receivable.filter(status=ReceivableStatus.PAID, paid_at__gte=since, due_date__lt=as_of,
                                       charge_type__in=list(DUNNED_TYPES), open_key__not_isnull=True,
                                       late_fee_accrual__id__isnull=True)
    candidates = {r.id: r for r in [*rows, *settled]}
    clauses = await clauses_for(sorted({r.lease_id for r in candidates.values()}), cfg)
    with_fee = [r for r in candidates.values() if clauses[r.lease_id].kind != LateFeeKind.NONE]
    payments = await payments_by_receivable([r.id for r in with_fee], tz)
    changes = 0
    for row in with_fee:
        clause = clauses[row.lease_id]
        final = row.status == ReceivableStatus.PAID
        fee = fee_for(row, clause, payments.get(row.id, []), as_of)
        async with in_transaction():
            changes += await accrue_late_fee(row, fee, clause, as_of=as_of, now=now, final=final)
    return changes


async def waive_late_fee(base_id: int, *, reason: str, approver: User, now: datetime) -> LateFeeAccrual:
    """Waive a receivable's late fee (what is accrued and what would accrue): a reason and the approving manager;
    open fee rows become WAIVED in the ledger. What was already paid on a fee row stays paid."""
    from core.errors import InvalidTransition, NotFound, ValidationFailed
    from leasing.ledger import waive_receivable

    if len(reason.strip()) < 2:
        raise ValidationFailed("waiving needs a reason", code="REASON_REQUIRED")
    async with in_transaction():
        accrual = await LateFeeAccrual.select_for_update().get_or_none(base_id=base_id)
        if accrual is None:
            raise NotFound("no late fee on this receivable")
        if accrual.waived_at is not None:
            raise InvalidTransition("late fee", "WAIVED", "WAIVED", [])
        await LateFeeAccrual.filter(id=accrual.id).update(waived_at=now, waived_reason=reason.strip()[:500],
                                                          waived_by_id=approver.id)
        base = await Receivable.get(id=base_id)
        await record(Actor.of(approver), AuditAction.LATE_FEE_WAIVED,
                     Target("receivable", base_id, base.building_id),
                     {"lease_id": base.lease_id, "accrued_fen": accrual.fee_fen, "reason": reason.strip()[:500]}, now)
        for row in await fee_rows_of(base.lease_id, base_id).filter(status__in=list(OPEN_RECEIVABLE_STATUSES)):
            await waive_receivable(row.id, reason=f"违约金减免: {reason.strip()}", approver=approver, now=now)
    return await LateFeeAccrual.get(id=accrual.id)


# --------------------------------------------------------------------------------------------- messages


def template_values(*, tenant: Tenant, lease: Lease, unit_code: str, row: Receivable, days: int, fee_fen: int,
                    clause: LateFeeClause, cfg: ArrearsConfig, now: datetime) -> dict[str, Any]:
    deadline = now.astimezone(ZoneInfo(cfg.timezone)) + timedelta(hours=cfg.deadline_hours)
    outstanding = outstanding_of(row)
    return {"tenant_name": tenant.name, "unit_code": unit_code, "contract_no": lease.contract_no or f"#{lease.id}",
            "label": row.label or "租金", "period": f"{row.period_start.year}年{row.period_start.month}月",
            "amount": fen_to_yuan(outstanding), "due_date": row.due_date.isoformat(), "days": days,
            "late_fee": fen_to_yuan(fee_fen), "total": fen_to_yuan(outstanding + fee_fen),
            "clause_ref": clause.clause_ref or "违约责任条款", "deadline": deadline.strftime("%Y-%m-%d %H:%M"),
            "deadline_hours": cfg.deadline_hours, "grace_days": cfg.grace_days}


async def fee_booked(base: Receivable) -> int:
    rows = await fee_rows_of(base.lease_id, base.id).filter(
        open_key__not_isnull=True, status__in=list(OPEN_RECEIVABLE_STATUSES)).values_list("amount_fen", "paid_fen")
    return sum(amount - paid for amount, paid in rows)


async def send_tier_message(row: Receivable, tier: Tier, *, days: int, cfg: ArrearsConfig, now: datetime,
                            trigger: MessageTrigger, key: str, sent_by: int | None = None) -> list[CollectionMessage]:
    """The tier's message to the tenant (caller's transaction): a WeChat subscribe message to each bound tenant
    user, and an SMS to the party's phone when nobody is bound or the tier always sends one. ``key`` makes each
    message once: ``collections:<receivable>:tier:<level>`` for the job."""
    lease = await Lease.get(id=row.lease_id)
    tenant = await Tenant.get(id=row.tenant_id)
    unit = await Unit.get(id=lease.unit_id)
    clause = (await clauses_for([lease.id], cfg))[lease.id]
    values = template_values(tenant=tenant, lease=lease, unit_code=unit.code, row=row, days=days,
                             fee_fen=await fee_booked(row), clause=clause, cfg=cfg, now=now)
    rendered = cfg.templates.render(tier.code, values)
    kind = KIND_OF_TIER[tier.code]
    deadline = now + timedelta(hours=cfg.deadline_hours)
    payload = {"receivable_id": row.id, "lease_id": lease.id, "contract_no": values["contract_no"],
               "unit_code": unit.code, "outstanding_fen": outstanding_of(row), "due_date": row.due_date.isoformat(),
               "days_past_due": days, "level": tier.level, "tier": tier.code, "title": rendered["title"],
               "note": rendered["note"], "text": rendered["text"], "deadline": deadline.isoformat()}
    common = {"receivable_id": row.id, "lease_id": lease.id, "tenant_id": tenant.id, "building_id": row.building_id,
              "level": tier.level, "tier_code": tier.code, "trigger": trigger, "text": rendered["text"],
              "sent_by_id": sent_by, "at": now}
    messages = []
    users = await User.filter(tenant_id=tenant.id, role=Role.TENANT, is_active=True).order_by("id").values_list(
        "id", flat=True)
    for user_id in cast(list[int], users):
        dedupe = f"{key}:user:{user_id}"
        outbox = await enqueue_notification(user_id=user_id, kind=kind, dedupe_key=dedupe, payload=payload, now=now)
        if outbox is not None:
            messages.append(await CollectionMessage.create(channel=MessageChannel.WECHAT, recipient=f"user:{user_id}",
                                                           outbox_message_id=outbox.id, dedupe_key=dedupe, **common))
    if (not users or tier.sms == "always") and tenant.phone:
        dedupe = f"{key}:sms"
        outbox = await enqueue_sms(phone=tenant.phone, kind=kind, dedupe_key=dedupe, text=rendered["text"], now=now,
                                   payload={"receivable_id": row.id, "level": tier.level})
        if outbox is not None:
            messages.append(await CollectionMessage.create(channel=MessageChannel.SMS,
                                                           recipient=mask_phone(tenant.phone),
                                                           outbox_message_id=outbox.id, dedupe_key=dedupe, **common))
    return messages


async def assignee_for(building_id: int, tier: Tier) -> int | None:
    for duty in tier.task_duties:
        ids = await staff_of(building_id, (StaffDuty(duty),))
        if ids:
            return ids[0]
    return None


async def open_task(row: Receivable, tier: Tier, *, days: int, now: datetime) -> CollectionTask | None:
    """The tier's collections task for the building's finance or area manager (once per receivable and tier);
    lower tiers' open tasks of the receivable are superseded by it."""
    unit_code = (await Unit.filter(leases__id=row.lease_id).values_list("code", flat=True))[0]
    assignee = await assignee_for(row.building_id, tier)
    try:
        async with in_transaction():
            task = await CollectionTask.create(
                receivable_id=row.id, lease_id=row.lease_id, tenant_id=row.tenant_id, building_id=row.building_id,
                level=tier.level, tier_code=tier.code, assignee_id=assignee, opened_at=now,
                due_at=now + timedelta(days=tier.task_sla_days),
                title=f"{unit_code} {tier.title}:{row.label or '租金'}逾期{days}天 ¥{fen_to_yuan(outstanding_of(row))}")
    except IntegrityError:
        return None
    await CollectionTask.filter(receivable_id=row.id, level__lt=tier.level, status=TaskStatus.OPEN).update(
        status=TaskStatus.SUPERSEDED, closed_at=now, note=f"superseded by {tier.code}")
    if assignee:
        await enqueue_notification(
            user_id=assignee, kind=NotificationKind.COLLECTION_TASK,
            dedupe_key=f"collections:{row.id}:tier:{tier.level}:task:{assignee}",
            payload={"task_id": task.id, "receivable_id": row.id, "unit_code": unit_code, "title": task.title,
                     "outstanding_fen": outstanding_of(row), "due_at": task.due_at.isoformat()}, now=now)
    return task


async def fire_tier(row: Receivable, decision, *, days: int, cfg: ArrearsConfig, as_of: date,
                    now: datetime, report: CollectReport) -> bool:
    """Record the skipped levels and the current one, send its message, open its task — all or nothing, and
    only by the run that wrote the step rows (a concurrent run loses on the unique (receivable, level))."""
    tier = decision.send
    try:
        async with in_transaction():
            for skipped in decision.skip:
                await CollectionStep.create(receivable_id=row.id, lease_id=row.lease_id, tenant_id=row.tenant_id,
                                            building_id=row.building_id, level=skipped.level,
                                            tier_code=skipped.code, status=StepStatus.SKIPPED, days_past_due=days,
                                            outstanding_fen=outstanding_of(row), as_of=as_of, at=now)
            await CollectionStep.create(receivable_id=row.id, lease_id=row.lease_id, tenant_id=row.tenant_id,
                                        building_id=row.building_id, level=tier.level, tier_code=tier.code,
                                        status=StepStatus.SENT, days_past_due=days,
                                        outstanding_fen=outstanding_of(row), as_of=as_of, at=now)
            messages = await send_tier_message(row, tier, days=days, cfg=cfg, now=now, trigger=MessageTrigger.JOB,
                                               key=f"collections:{row.id}:tier:{tier.level}")
            task = await open_task(row, tier, days=days, now=now)
    except IntegrityError:
        return False
    report.fired.append((row.id, tier.level))
    report.skipped += [(row.id, t.level) for t in decision.skip]
    report.messages += len(messages)
    report.tasks_opened += task is not None
    return True


# --------------------------------------------------------------------------------------------- the daily run


async def overdue_receivables(as_of: date, *, building_ids: list[int] | None = None) -> list[Receivable]:
    qs = Receivable.filter(status__in=list(OPEN_RECEIVABLE_STATUSES), open_key__not_isnull=True,
                           due_date__lt=as_of, charge_type__in=list(DUNNED_TYPES), amount_fen__gt=0)
    if building_ids is not None:
        qs = qs.filter(building_id__in=building_ids)
    return await qs.order_by("due_date", "id")


async def collect(cfg: ArrearsConfig, now: datetime, *, as_of: date | None = None) -> CollectReport:
    """One pass over every overdue receivable (idempotent: a second pass the same day changes nothing)."""
    as_of = as_of or cfg.local_date(now)
    report = CollectReport(as_of=as_of)
    rows = await overdue_receivables(as_of)
    report.overdue = len(rows)
    report.late_fee_changes = await accrue_all(rows, cfg, as_of=as_of, now=now)
    handled: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(rows), 5000):
        for rid, level in await CollectionStep.filter(
                receivable_id__in=[r.id for r in rows[start:start + 5000]]).values_list("receivable_id", "level"):
            handled[rid].add(level)
    graced = await active_grace_leases(sorted({r.lease_id for r in rows}), as_of)
    for row in rows:
        days = days_past_due(row.due_date, as_of)
        decision = decide(days, cfg.tiers, handled[row.id], suppressed=row.lease_id in graced)
        if decision.send is None:
            if decision.reason == "grace period":
                report.suppressed.append(row.id)
            continue
        await fire_tier(row, decision, days=days, cfg=cfg, as_of=as_of, now=now, report=report)
    report.tasks_resolved = await resolve_settled_tasks(now)
    report.promises = await judge_promises(as_of, now, cfg)
    return report


async def resolve_settled_tasks(now: datetime) -> int:
    """Open tasks whose receivable is paid or waived are closed (RESOLVED)."""
    ids = await CollectionTask.filter(status=TaskStatus.OPEN).exclude(
        receivable__status__in=list(OPEN_RECEIVABLE_STATUSES)).values_list("id", flat=True)
    if not ids:
        return 0
    return await CollectionTask.filter(id__in=list(ids), status=TaskStatus.OPEN).update(
        status=TaskStatus.RESOLVED, closed_at=now, note="the receivable was settled")


async def received_total(lease_id: int, *, until: datetime | None = None) -> int:
    qs = Payment.filter(lease_id=lease_id, reversed_at__isnull=True).exclude(method=PaymentMethod.CREDIT_NOTE)
    if until is not None:
        qs = qs.filter(paid_at__lte=until)
    return sum(cast(list[int], await qs.values_list("amount_fen", flat=True)))


async def judge_promises(as_of: date, now: datetime, cfg: ArrearsConfig) -> dict[str, int]:
    """A promise to pay is KEPT when the lease received the promised amount (or, without an amount, when the
    promised receivable — else everything overdue at the promise — is settled) by the end of the promised day;
    BROKEN once that day has passed without it. Judged once (a conditional update)."""
    tz = ZoneInfo(cfg.timezone)
    out = {"kept": 0, "broken": 0}
    for note in await ContactNote.filter(promise_status=PromiseStatus.PENDING):
        if note.promised_date is None:  # a pending promise always carries its date; nothing to judge otherwise
            continue
        end_of_day = datetime.combine(note.promised_date + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        paid = await received_total(note.lease_id, until=min(end_of_day, now)) - (note.promise_baseline_fen or 0)
        if note.promised_fen:
            kept = paid >= note.promised_fen
        elif note.receivable_id:
            kept = await Receivable.filter(id=note.receivable_id).exclude(
                status__in=list(OPEN_RECEIVABLE_STATUSES)).exists()
        else:
            kept = not await Receivable.filter(lease_id=note.lease_id, status__in=list(OPEN_RECEIVABLE_STATUSES),
                                               due_date__lt=note.at.astimezone(tz).date(),
                                               charge_type__in=list(DUNNED_TYPES)).exists()
        if kept:
            status = PromiseStatus.KEPT
        elif as_of > note.promised_date:
            status = PromiseStatus.BROKEN
        else:
            continue
        won = await ContactNote.filter(id=note.id, promise_status=PromiseStatus.PENDING).update(
            promise_status=status, evaluated_at=now)
        out["kept" if status == PromiseStatus.KEPT else "broken"] += won
    return out


def current_tier(row: Receivable, cfg: ArrearsConfig, as_of: date) -> Tier | None:
    return classify(days_past_due(row.due_date, as_of), cfg.tiers)
