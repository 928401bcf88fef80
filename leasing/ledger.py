"""The ledger: schedule generation as a job with a state, receivables, payments and their allocation, the
deposit liability, statements and the portfolio's receivables ledger. Owns the transactions; the rules it
applies are pure (leasing.schedule, leasing.rules, leasing.money).

Entry points for other sources of money (bank reconciliation, WeChat Pay): ``record_payment(..., source=…,
external_ref=…)`` — "a payment arrived from source X" — idempotent by ``external_ref``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count, Sum
from tortoise.transactions import in_transaction

from accounts.choices import Role, StaffDuty
from alerts.choices import AlertSeverity
from alerts.service import raise_alert
from audit.choices import AuditAction
from audit.service import Actor, Target, record
from core import sql
from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from core.sql import names
from leasing.choices import (
    ALERT_SCHEDULE_FAILED,
    LIVE_LEASE_STATUSES,
    OPEN_RECEIVABLE_STATUSES,
    ChargeType,
    GenerationStatus,
    PaymentMethod,
    PaymentSource,
    ReceivableState,
    ReceivableStatus,
    TermError,
)
from leasing.config import DEFAULT_CONFIG, LeasingConfig
from leasing.payment_codes import payment_code
from leasing.rules import OpenItem, StoredRow, allocate, plan_regeneration, receivable_state, stored_status
from leasing.schedule import Line, Schedule, generate_schedule
from leasing.terms import ScheduleError, lease_terms
from models.accounts import User
from models.alerts import Alert
from models.leasing import (
    DepositLiability,
    Lease,
    Payment,
    PaymentAllocation,
    Receivable,
    ScheduleGeneration,
)
from models.portfolio import BuildingStaff, Unit
from notifications.choices import NotificationKind
from notifications.outbox import enqueue_notification

log = logging.getLogger("rentwatch.ledger")

SCHEDULED_TYPES = (ChargeType.RENT, ChargeType.DEPOSIT, ChargeType.CHARGE)
PRIORITY = {ChargeType.DEPOSIT: 0, ChargeType.RENT: 1}


def open_key(lease_id: int, charge: str, period_start: date) -> str:
    return f"{lease_id}:{period_start.isoformat()}:{charge}"


# --------------------------------------------------------------------------------------------- generation job


async def request_generation(lease: Lease, now: datetime) -> ScheduleGeneration:
    """The generation job for the lease's current terms version (one per version, whoever asks)."""
    job = await ScheduleGeneration.get_or_none(lease_id=lease.id, terms_version=lease.terms_version)
    if job is not None:
        return job
    try:
        async with in_transaction():
            return await ScheduleGeneration.create(lease_id=lease.id, terms_version=lease.terms_version,
                                                   status=GenerationStatus.PENDING, next_attempt_at=now)
    except IntegrityError:
        return await ScheduleGeneration.get(lease_id=lease.id, terms_version=lease.terms_version)


def backoff(attempts: int, cfg: LeasingConfig) -> timedelta:
    return timedelta(seconds=min(cfg.retry_max_seconds, cfg.retry_base_seconds * 2 ** max(0, attempts - 1)))


async def attempt_generation(job_id: int, *, now: datetime, cfg: LeasingConfig = DEFAULT_CONFIG,
                             actor_id: int | None = None) -> ScheduleGeneration:
    """Run one attempt: claim the job (conditional on its attempt count), generate, store. A failure records
    its code and reason, schedules a retry with backoff (or gives up) and alerts finance and the area manager."""
    job = await ScheduleGeneration.get(id=job_id)
    if job.status == GenerationStatus.SUCCEEDED:
        return job
    claimed = await ScheduleGeneration.filter(id=job.id, attempts=job.attempts,
                                              status__not=GenerationStatus.SUCCEEDED).update(
        attempts=job.attempts + 1, last_attempt_at=now)
    if claimed != 1:
        return await ScheduleGeneration.get(id=job.id)  # another worker is on it
    attempts = job.attempts + 1
    lease = await Lease.get(id=job.lease_id)
    if lease.terms_version != job.terms_version:
        await ScheduleGeneration.filter(id=job.id).update(status=GenerationStatus.SUPERSEDED, next_attempt_at=None)
        return await ScheduleGeneration.get(id=job.id)
    try:
        schedule = generate_schedule(lease_terms(lease), cfg.aliases)
    except ScheduleError as exc:
        return await _failed(job, lease, attempts, exc.code, exc.message, exc.details, now=now, cfg=cfg)
    except Exception as exc:  # noqa: BLE001 - an unexpected fault is a failure of this job, never lost
        log.exception("schedule generation of lease %s failed", lease.id)
        return await _failed(job, lease, attempts, TermError.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", {},
                             now=now, cfg=cfg)
    async with in_transaction():
        summary = await apply_schedule(lease, schedule, now=now, actor_id=actor_id, cfg=cfg)
        await ScheduleGeneration.filter(id=job.id).update(status=GenerationStatus.SUCCEEDED, succeeded_at=now,
                                                          next_attempt_at=None, summary=summary, error_code="",
                                                          error_message="", error_details={})
        await _succeeded(job, lease, schedule, now)
    return await ScheduleGeneration.get(id=job.id)


async def _failed(job: ScheduleGeneration, lease: Lease, attempts: int, code: str, message: str,
                  details: dict[str, Any], *, now: datetime, cfg: LeasingConfig) -> ScheduleGeneration:
    gave_up = attempts >= cfg.retry_max_attempts
    status = GenerationStatus.GAVE_UP if gave_up else GenerationStatus.FAILED
    async with in_transaction():
        await ScheduleGeneration.filter(id=job.id).update(
            status=status, error_code=str(code), error_message=message[:1000], error_details=details,
            next_attempt_at=None if gave_up else now + backoff(attempts, cfg), failed_before=True)
        unit = await Unit.get(id=lease.unit_id)
        label = lease.contract_no or f"#{lease.id}"
        await raise_alert(alert_type=ALERT_SCHEDULE_FAILED, now=now, unit_id=unit.id, building_id=unit.building_id,
                          subject=f"lease:{lease.id}", severity=AlertSeverity.CRITICAL,
                          explanation=f"Schedule Generation Failed: Contract {label}: {code}: {message}"[:2000],
                          evidence={"lease_id": lease.id, "contract_no": lease.contract_no, "job_id": job.id,
                                    "error_code": str(code), "attempts": attempts, "gave_up": gave_up,
                                    "details": details})
        if attempts == 1 or gave_up:  # the first failure and the last one reach people; retries in between don't
            for user_id in await staff_of(unit.building_id, (StaffDuty.FINANCE, StaffDuty.MANAGER)):
                await enqueue_notification(
                    user_id=user_id, kind=NotificationKind.SCHEDULE_FAILED,
                    dedupe_key=f"schedule:{lease.id}:v{job.terms_version}:{'gave-up' if gave_up else 'failed'}:"
                               f"{user_id}",
                    payload={"lease_id": lease.id, "contract_no": label, "unit_code": unit.code,
                             "error_code": str(code), "title": f"租金计划生成失败 {code}"[:20], "at": now.isoformat()},
                    now=now)
    log.warning("schedule generation of lease %s failed (%s, attempt %s): %s", lease.id, code, attempts, message)
    return await ScheduleGeneration.get(id=job.id)


async def _succeeded(job: ScheduleGeneration, lease: Lease, schedule: Schedule, now: datetime) -> None:
    """Clear the failure alert; after a failure, tell finance and the manager (补发提醒通知); the tenant's notice
    of the first amount due goes out either way."""
    unit = await Unit.get(id=lease.unit_id)
    alert = await Alert.get_or_none(open_key=f"{ALERT_SCHEDULE_FAILED}:{unit.id}:lease:{lease.id}")
    if alert is not None:
        await Alert.filter(id=alert.id).update(status="CLEARED", open_key=None, resolved_at=now,
                                               resolution_note="the schedule was generated")
    periods = sum(1 for line in schedule.lines if line.charge_type == ChargeType.RENT)
    if job.failed_before:
        for user_id in await staff_of(unit.building_id, (StaffDuty.FINANCE, StaffDuty.MANAGER)):
            await enqueue_notification(
                user_id=user_id, kind=NotificationKind.SCHEDULE_READY,
                dedupe_key=f"schedule:{lease.id}:v{job.terms_version}:ready:{user_id}",
                payload={"lease_id": lease.id, "contract_no": lease.contract_no or f"#{lease.id}",
                         "unit_code": unit.code, "periods": periods, "title": f"租金计划已生成 {periods}期",
                         "at": now.isoformat()}, now=now)
    first = await Receivable.filter(lease_id=lease.id, status__in=list(OPEN_RECEIVABLE_STATUSES),
                                    amount_fen__gt=0).order_by("due_date", "id").first()
    if first is not None:
        await notify_tenant_due(first, unit.code, now)


async def notify_tenant_due(receivable: Receivable, unit_code: str, now: datetime) -> None:
    """The tenant's payment notice for one receivable (once per receivable and version), with its payment code
    (缴费码) for the transfer's 附言: a bank transfer naming it is matched to this receivable by reconciliation."""
    code = payment_code(receivable.id)
    user_ids = cast(list[int], await User.filter(tenant_id=receivable.tenant_id, role=Role.TENANT,
                                                 is_active=True).values_list("id", flat=True))
    for user_id in user_ids:
        await enqueue_notification(
            user_id=user_id, kind=NotificationKind.RENT_DUE,
            dedupe_key=f"receivable:{receivable.id}:v{receivable.schedule_version}:notice:{user_id}",
            payload={"receivable_id": receivable.id, "lease_id": receivable.lease_id, "unit_code": unit_code,
                     "amount_fen": receivable.amount_fen - receivable.paid_fen,
                     "due_date": receivable.due_date.isoformat(), "title": f"{receivable.label or '租金'}账单",
                     "payment_code": code, "remark": f"转账附言请填写{code}"},
            now=now)


async def staff_of(building_id: int, duties: tuple[StaffDuty, ...]) -> list[int]:
    ids = cast(list[int], await BuildingStaff.filter(building_id=building_id, duty__in=list(duties),
                                                     user__is_active=True).values_list("user_id", flat=True))
    return sorted(set(ids))


async def retry_due_generations(now: datetime, cfg: LeasingConfig, *, limit: int = 500) -> list[int]:
    """Retry failed jobs whose backoff has passed, and generate for live leases that have no job at all (signed
    before the ledger existed). Returns the lease ids that now have their schedule."""
    recovered = []
    jobs = await ScheduleGeneration.filter(status__in=[GenerationStatus.FAILED, GenerationStatus.PENDING],
                                           next_attempt_at__lte=now).order_by("next_attempt_at").limit(limit)
    for job in jobs:
        done = await attempt_generation(job.id, now=now, cfg=cfg)
        if done.status == GenerationStatus.SUCCEEDED:
            recovered.append(done.lease_id)
    missing = await Lease.filter(status__in=list(LIVE_LEASE_STATUSES), generations__id__isnull=True).limit(limit)
    recovered += await generate_batch(missing, now=now, cfg=cfg)
    return recovered


async def generate_batch(leases: list[Lease], *, now: datetime, cfg: LeasingConfig) -> list[int]:
    """Generate the schedules of many live leases that have none yet (signed before the ledger existed, bulk
    loads): pure generation, then one bulk insert per batch. A lease whose terms fail goes through the job path
    (attempt_generation), so its failure is recorded and alerted like any other."""
    stored = set(cast(list[int], await Receivable.filter(lease_id__in=[lease.id for lease in leases]).distinct()
                      .values_list("lease_id", flat=True)))
    leases = [lease for lease in leases if lease.id not in stored]
    units = dict(await Unit.filter(id__in=list({lease.unit_id for lease in leases})).values_list("id", "building_id"))
    done: list[int] = []
    rows: list[tuple[Any, ...]] = []
    jobs: list[tuple[Any, ...]] = []
    for lease in leases:
        try:
            schedule = generate_schedule(lease_terms(lease), cfg.aliases)
        except ScheduleError:
            job = await request_generation(lease, now)
            await attempt_generation(job.id, now=now, cfg=cfg)
            continue
        rows += _insert_rows(lease, units[lease.unit_id], schedule.lines, now)
        jobs.append((lease.id, lease.terms_version, str(GenerationStatus.SUCCEEDED), 1, now, now, "", "", "{}",
                     False, _json({"created": len(schedule.lines), "bulk": True})))
        done.append(lease.id)
    async with in_transaction() as connection:
        await insert_receivables(connection, rows)
        await _insert_jobs(connection, jobs)
    return done


#: the columns a bulk-inserted receivable sets (the others are NULL: no adjustment, payment or waiver yet)
RECEIVABLE_COLUMNS = ("lease_id", "tenant_id", "building_id", "charge", "charge_type", "label", "period_start",
                      "period_end", "due_date", "amount_fen", "paid_fen", "status", "breakdown", "schedule_version",
                      "open_key", "waived_reason", "created_at", "updated_at")
RECEIVABLE_TYPES = ("int", "int", "int", "text", "text", "text", "date", "date", "date", "int8", "int8", "text",
                    "jsonb", "int", "text", "text", "timestamptz", "timestamptz")
JOB_COLUMNS = ("lease_id", "terms_version", "status", "attempts", "last_attempt_at", "succeeded_at", "error_code",
               "error_message", "error_details", "failed_before", "summary", "created_at", "updated_at")
JOB_TYPES = ("int", "int", "text", "int", "timestamptz", "timestamptz", "text", "text", "jsonb", "bool", "jsonb",
             "timestamptz", "timestamptz")
BULK_ROWS = 10_000  # rows per statement: one round trip each on PostgreSQL, bounded memory per statement

_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _insert_rows(lease: Lease, building_id: int, lines: Iterable[Line], now: datetime) -> list[tuple[Any, ...]]:
    """A new schedule's receivables as RECEIVABLE_COLUMNS tuples (what ``_row_values`` gives, unpaid)."""
    return [(lease.id, lease.tenant_id, building_id, line.charge, str(line.charge_type), line.label,
             line.period_start, line.period_end, line.due_date, line.amount_fen, 0,
             str(stored_status(line.amount_fen, 0)), _json(line.breakdown), lease.terms_version,
             open_key(lease.id, line.charge, line.period_start), "", now, now) for line in lines]


async def insert_receivables(connection: BaseDBAsyncClient, rows: Sequence[Sequence[Any]]) -> None:
    """Bulk insert of new receivables (RECEIVABLE_COLUMNS tuples): one statement per BULK_ROWS rows on
    PostgreSQL; the ORM's per-object path costs more than the schedule itself at portfolio scale."""
    r = names(Receivable)
    statement = f"INSERT INTO {r} ({r.cols(*RECEIVABLE_COLUMNS)}) {{rows}}"
    for start in range(0, len(rows), BULK_ROWS):
        await sql.bulk(connection, statement, RECEIVABLE_TYPES, rows[start:start + BULK_ROWS])


async def _insert_jobs(connection: BaseDBAsyncClient, rows: list[tuple[Any, ...]]) -> None:
    """The SUCCEEDED generation jobs of a bulk batch; created/updated stamped like the ORM does (wall clock)."""
    g = names(ScheduleGeneration)
    stamp = timezone.now()
    statement = f"INSERT INTO {g} ({g.cols(*JOB_COLUMNS)}) {{rows}}"
    stamped = [(*row, stamp, stamp) for row in rows]
    for start in range(0, len(stamped), BULK_ROWS):
        await sql.bulk(connection, statement, JOB_TYPES, stamped[start:start + BULK_ROWS])


async def retry_generation(lease_id: int, *, now: datetime, cfg: LeasingConfig,
                           actor_id: int | None = None) -> ScheduleGeneration:
    """Retry by hand (after fixing a term or the alias table): the current version's job, attempted now."""
    lease = await Lease.get_or_none(id=lease_id)
    if lease is None:
        raise NotFound("lease not found")
    if lease.status not in LIVE_LEASE_STATUSES:
        raise InvalidTransition("lease", lease.status, "SCHEDULE", [])
    job = await request_generation(lease, now)
    return await attempt_generation(job.id, now=now, cfg=cfg, actor_id=actor_id)


async def record_amended_generation(lease_id: int, version: int, summary: dict[str, Any], now: datetime) -> None:
    """An amendment regenerated the schedule in its own transaction: the new version's job is done, older
    unfinished ones are superseded (they leave the failures list; their alert is cleared)."""
    await ScheduleGeneration.filter(lease_id=lease_id, terms_version__lt=version,
                                    status__not=GenerationStatus.SUCCEEDED).update(
        status=GenerationStatus.SUPERSEDED, next_attempt_at=None)
    await ScheduleGeneration.create(lease_id=lease_id, terms_version=version, status=GenerationStatus.SUCCEEDED,
                                    attempts=1, last_attempt_at=now, succeeded_at=now, summary=summary)
    unit_id = (await Lease.get(id=lease_id)).unit_id
    await Alert.filter(open_key=f"{ALERT_SCHEDULE_FAILED}:{unit_id}:lease:{lease_id}").update(
        status="CLEARED", open_key=None, resolved_at=now, resolution_note="the terms were amended and regenerated")


# --------------------------------------------------------------------------------------------- storing a schedule


async def stored_rows(lease_id: int) -> list[StoredRow]:
    rows = await Receivable.filter(lease_id=lease_id, open_key__not_isnull=True,
                                   charge_type__in=list(SCHEDULED_TYPES))
    adjustments = await _adjusted(lease_id)
    return [StoredRow(id=r.id, charge=r.charge, period_start=r.period_start, period_end=r.period_end,
                      due_date=r.due_date, amount_fen=r.amount_fen, paid_fen=r.paid_fen, status=r.status,
                      adjusted_fen=adjustments.get(r.id, 0)) for r in rows]


async def _adjusted(lease_id: int) -> dict[int, int]:
    out: dict[int, int] = {}
    for adjusts_id, amount in await Receivable.filter(lease_id=lease_id, adjusts_id__not_isnull=True,
                                                      open_key__not_isnull=True).values_list("adjusts_id",
                                                                                             "amount_fen"):
        out[adjusts_id] = out.get(adjusts_id, 0) + amount
    for adjusts_id, amount in await Payment.filter(lease_id=lease_id, adjusts_id__not_isnull=True).values_list(
            "adjusts_id", "amount_fen"):
        out[adjusts_id] = out.get(adjusts_id, 0) - amount
    return out


def _row_values(lease: Lease, building_id: int, line: Line) -> dict[str, Any]:
    status = stored_status(line.amount_fen, 0)
    return {"lease_id": lease.id, "tenant_id": lease.tenant_id, "building_id": building_id, "charge": line.charge,
            "charge_type": line.charge_type, "label": line.label, "period_start": line.period_start,
            "period_end": line.period_end, "due_date": line.due_date, "amount_fen": line.amount_fen,
            "status": status, "breakdown": line.breakdown, "schedule_version": lease.terms_version,
            "open_key": open_key(lease.id, line.charge, line.period_start)}


async def apply_schedule(lease: Lease, schedule: Schedule, *, now: datetime, actor_id: int | None,
                         cfg: LeasingConfig) -> dict[str, int]:
    """Make the stored receivables match ``schedule`` (caller's transaction): create what is missing, rewrite or
    supersede unpaid rows, keep paid ones and settle their differences (ADJUSTMENT receivable or credit note).
    Idempotent: applying the same schedule again changes nothing."""
    unit = await Unit.get(id=lease.unit_id)
    plan = plan_regeneration(await stored_rows(lease.id), schedule.lines)
    if plan.create:
        await Receivable.bulk_create([Receivable(**_row_values(lease, unit.building_id, line))
                                      for line in plan.create])
    for row, line in plan.update:
        values = _row_values(lease, unit.building_id, line)
        await Receivable.filter(id=row.id, paid_fen=0).update(
            amount_fen=line.amount_fen, due_date=line.due_date, period_end=line.period_end, status=values["status"],
            breakdown=line.breakdown, schedule_version=lease.terms_version, label=line.label)
    for row in plan.supersede:
        await Receivable.filter(id=row.id, paid_fen=0).update(status=ReceivableStatus.SUPERSEDED, open_key=None)
    for row, delta in plan.adjust:
        await _adjust(lease, unit.building_id, row, delta, now=now, actor_id=actor_id)
    if plan.changes:
        await apply_credit(lease.id, now=now)
    return plan.summary()


async def _adjust(lease: Lease, building_id: int, row: StoredRow, delta: int, *, now: datetime,
                  actor_id: int | None) -> None:
    if delta > 0:
        charge = f"ADJUSTMENT:{row.id}:v{lease.terms_version}"
        await Receivable.create(lease_id=lease.id, tenant_id=lease.tenant_id, building_id=building_id, charge=charge,
                                charge_type=ChargeType.ADJUSTMENT, label="合同变更补差", period_start=row.period_start,
                                period_end=row.period_end, due_date=max(row.due_date, now.date()), amount_fen=delta,
                                adjusts_id=row.id, schedule_version=lease.terms_version,
                                open_key=open_key(lease.id, charge, row.period_start),
                                breakdown={"adjusts": row.id, "reason": "amendment raised a kept period"})
    else:
        await Payment.create(lease_id=lease.id, tenant_id=lease.tenant_id, building_id=building_id,
                             amount_fen=-delta, unallocated_fen=-delta, paid_at=now, method=PaymentMethod.CREDIT_NOTE,
                             source=PaymentSource.AMENDMENT, adjusts_id=row.id, recorded_by_id=actor_id,
                             external_ref=f"amendment:{lease.id}:v{lease.terms_version}:{row.id}",
                             note="amendment lowered a kept period: the difference is credit")


# --------------------------------------------------------------------------------------------- payments


@dataclass
class PaymentResult:
    payment: Payment
    created: bool
    allocations: list[tuple[int, int]] = field(default_factory=list)


async def record_payment(*, lease_id: int, amount_fen: int, paid_at: datetime, method: PaymentMethod | str,
                         now: datetime, payer_name: str = "", reference: str = "",
                         source: PaymentSource | str = PaymentSource.MANUAL, external_ref: str | None = None,
                         receivable_id: int | None = None, actor_id: int | None = None,
                         note: str = "") -> PaymentResult:
    """A payment arrived (from a person, a bank statement, WeChat Pay …): record it once and allocate it to the
    lease's open receivables oldest first (``receivable_id`` first, if given); the rest is credit."""
    if amount_fen <= 0:
        raise ValidationFailed("a payment amount must be positive", details={"fields": [{"field": "amount_fen"}]})
    if external_ref:
        existing = await Payment.get_or_none(external_ref=external_ref)
        if existing is not None:
            return PaymentResult(existing, False)
    async with in_transaction():
        lease = await Lease.select_for_update().get_or_none(id=lease_id)
        if lease is None:
            raise NotFound("lease not found")
        if lease.status == "DRAFT":
            raise InvalidTransition("lease", lease.status, "PAYMENT", [])
        unit = await Unit.get(id=lease.unit_id)
        try:
            async with in_transaction():
                payment = await Payment.create(
                    lease_id=lease.id, tenant_id=lease.tenant_id, building_id=unit.building_id, amount_fen=amount_fen,
                    unallocated_fen=amount_fen, paid_at=paid_at, method=method, source=source,
                    external_ref=external_ref, payer_name=payer_name[:100], reference=reference[:120],
                    recorded_by_id=actor_id, note=note[:500])
        except IntegrityError:
            if external_ref:
                return PaymentResult(await Payment.get(external_ref=external_ref), False)
            raise
        allocations = await _allocate_payment(payment, lease, now=now, first=receivable_id)
    return PaymentResult(await Payment.get(id=payment.id), True, allocations)


async def _open_items(lease_id: int) -> tuple[list[OpenItem], dict[int, Receivable]]:
    rows = await Receivable.filter(lease_id=lease_id, status__in=list(OPEN_RECEIVABLE_STATUSES),
                                   open_key__not_isnull=True)
    items = [OpenItem(id=r.id, due_date=r.due_date, outstanding_fen=r.amount_fen - r.paid_fen,
                      priority=PRIORITY.get(ChargeType(r.charge_type), 2)) for r in rows]
    return items, {r.id: r for r in rows}


async def _allocate_payment(payment: Payment, lease: Lease, *, now: datetime,
                            first: int | None = None) -> list[tuple[int, int]]:
    items, by_id = await _open_items(lease.id)
    if first is not None and first not in by_id:
        raise ValidationFailed("that receivable is not open on this lease", code="RECEIVABLE_NOT_OPEN",
                               details={"receivable_id": first})
    head = [i for i in items if i.id == first]
    allocations, left = allocate(payment.unallocated_fen, head)
    more, left = allocate(left, [i for i in items if i.id != first])
    allocations += more
    for receivable_id, amount in allocations:
        row = by_id[receivable_id]
        paid = row.paid_fen + amount
        won = await Receivable.filter(id=row.id, paid_fen=row.paid_fen).update(
            paid_fen=paid, status=stored_status(row.amount_fen, paid),
            paid_at=payment.paid_at if paid >= row.amount_fen else None)
        if won != 1:
            raise Conflict("the receivable changed concurrently, retry", code="RECEIVABLE_CHANGED")
        await PaymentAllocation.create(payment_id=payment.id, receivable_id=row.id, amount_fen=amount, at=now)
        if row.charge_type == ChargeType.DEPOSIT:
            await hold_deposit(lease.id, row.id, paid)
    if allocations:
        await Payment.filter(id=payment.id).update(unallocated_fen=left)
        await _first_rent_fact(lease, payment.paid_at)
    return allocations


async def reverse_payment(payment_id: int, *, now: datetime, note: str) -> list[tuple[int, int]]:
    """Undo a payment recorded in error (e.g. a statement line matched to the wrong lease): every receivable it
    paid gets back what it took (negative allocation rows: the history stays), its credit is gone, it is marked
    reversed and its external reference freed, so the same money can be recorded again where it belongs. A
    receivable never goes below zero paid; reversing twice changes nothing. Returns (receivable id, fen undone)."""
    first = await Payment.get_or_none(id=payment_id)
    if first is None:
        raise NotFound("payment not found")
    async with in_transaction():
        await Lease.select_for_update().get(id=first.lease_id)  # the lock order of record_payment: lease first
        payment = await Payment.select_for_update().get(id=payment_id)
        if payment.reversed_at is not None:
            return []
        net: dict[int, int] = {}
        for allocation in await PaymentAllocation.filter(payment_id=payment.id).order_by("id"):
            net[allocation.receivable_id] = net.get(allocation.receivable_id, 0) + allocation.amount_fen
        undone = []
        for receivable_id, amount in net.items():
            row = await Receivable.select_for_update().get(id=receivable_id)
            take = min(amount, row.paid_fen)
            if take <= 0:
                continue
            if row.charge_type == ChargeType.DEPOSIT and await DepositLiability.filter(
                    lease_id=row.lease_id, settled_at__not_isnull=True).exists():
                raise Conflict("the deposit this payment paid was already settled by its refund",
                               code="DEPOSIT_ALREADY_SETTLED", details={"receivable_id": row.id})
            paid = row.paid_fen - take
            await Receivable.filter(id=row.id).update(paid_fen=paid, status=stored_status(row.amount_fen, paid),
                                                     paid_at=row.paid_at if paid >= row.amount_fen else None)
            await PaymentAllocation.create(payment_id=payment.id, receivable_id=row.id, amount_fen=-take, at=now)
            if row.charge_type == ChargeType.DEPOSIT:
                await DepositLiability.filter(lease_id=row.lease_id, settled_at__isnull=True).update(held_fen=paid)
            undone.append((row.id, take))
        ref = f"{payment.external_ref}~reversed{payment.id}"[-120:] if payment.external_ref else None
        await Payment.filter(id=payment.id).update(reversed_at=now, unallocated_fen=0, external_ref=ref,
                                                   note=f"{payment.note} | reversed: {note}"[:500])
    return undone


async def apply_credit(lease_id: int, *, now: datetime) -> int:
    """Allocate the lease's credit (unallocated payment amounts, oldest payment first) to its open receivables."""
    lease = await Lease.get(id=lease_id)
    used = 0
    for payment in await Payment.filter(lease_id=lease_id, unallocated_fen__gt=0).order_by("paid_at", "id"):
        allocations = await _allocate_payment(payment, lease, now=now)
        used += sum(amount for _, amount in allocations)
        if not allocations:
            break
    return used


async def _first_rent_fact(lease: Lease, paid_at: datetime) -> None:
    """first_rent_paid_at: when the lease's first (non-zero) rent receivable became fully paid. Set once."""
    if lease.first_rent_paid_at is not None:
        return
    first = await Receivable.filter(lease_id=lease.id, charge_type=ChargeType.RENT, open_key__not_isnull=True,
                                    amount_fen__gt=0).order_by("period_start").first()
    if first is not None and first.status == ReceivableStatus.PAID:
        await Lease.filter(id=lease.id, first_rent_paid_at__isnull=True).update(first_rent_paid_at=paid_at)


async def hold_deposit(lease_id: int, receivable_id: int, paid_fen: int) -> None:
    updated = await DepositLiability.filter(lease_id=lease_id, settled_at__isnull=True).update(held_fen=paid_fen)
    if not updated and not await DepositLiability.filter(lease_id=lease_id).exists():
        await DepositLiability.create(lease_id=lease_id, receivable_id=receivable_id, held_fen=paid_fen)


# --------------------------------------------------------------------------------------------- deposit


async def held_deposit(lease: Lease) -> int:
    """The deposit held for the tenant: what was paid into the deposit receivable. A lease whose deposit predates
    the ledger (no deposit receivable at all) holds its contract deposit."""
    liability = await DepositLiability.get_or_none(lease_id=lease.id)
    if liability is not None:
        return liability.held_fen
    if await Receivable.filter(lease_id=lease.id, charge_type=ChargeType.DEPOSIT).exists():
        return 0
    return lease.deposit_fen


async def settle_deposit(lease_id: int, *, refund_id: int, deducted_fen: int, refunded_fen: int,
                         now: datetime) -> None:
    """The deposit refund paid out: the liability is settled (deductions kept, the rest refunded)."""
    liability = await DepositLiability.get_or_none(lease_id=lease_id)
    if liability is None:
        return
    await DepositLiability.filter(id=liability.id, settled_at__isnull=True).update(
        deducted_fen=min(deducted_fen, liability.held_fen), refunded_fen=refunded_fen, settled_at=now,
        refund_id=refund_id)


# --------------------------------------------------------------------------------------------- waive


async def waive_receivable(receivable_id: int, *, reason: str, approver: User, now: datetime) -> Receivable:
    """WAIVED with a reason and the approving manager; what was already paid stays paid."""
    if len(reason.strip()) < 2:
        raise ValidationFailed("waiving needs a reason", code="REASON_REQUIRED")
    async with in_transaction():
        row = await Receivable.get_or_none(id=receivable_id)
        if row is None:
            raise NotFound("receivable not found")
        won = await Receivable.filter(id=row.id, status__in=list(OPEN_RECEIVABLE_STATUSES)).update(
            status=ReceivableStatus.WAIVED, waived_reason=reason.strip()[:500], waived_by_id=approver.id,
            waive_approved_by_id=approver.id, waived_at=now)
        if won != 1:
            raise InvalidTransition("receivable", row.status, ReceivableStatus.WAIVED,
                                    [s.value for s in OPEN_RECEIVABLE_STATUSES])
        await record(Actor.of(approver), AuditAction.RECEIVABLE_WAIVED, Target("receivable", row.id, row.building_id),
                     {"lease_id": row.lease_id, "charge": row.charge, "waived_fen": row.amount_fen - row.paid_fen,
                      "reason": reason.strip()[:500]}, now)
    return await Receivable.get(id=receivable_id)


# --------------------------------------------------------------------------------------------- views


def local_date(now: datetime, cfg: LeasingConfig) -> date:
    return now.astimezone(ZoneInfo(cfg.business_timezone)).date()


def state_of(row: Receivable, as_of: date, cfg: LeasingConfig) -> ReceivableState:
    return receivable_state(status=row.status, amount_fen=row.amount_fen, paid_fen=row.paid_fen,
                            due_date=row.due_date, as_of=as_of, notice_days=cfg.notice_days)


def outstanding(row: Receivable) -> int:
    return 0 if row.status in (ReceivableStatus.WAIVED, ReceivableStatus.SUPERSEDED) else row.amount_fen - row.paid_fen


def serialize_receivable(row: Receivable, as_of: date, cfg: LeasingConfig) -> dict[str, Any]:
    return {"id": row.id, "lease_id": row.lease_id, "tenant_id": row.tenant_id, "building_id": row.building_id,
            "charge": row.charge, "charge_type": row.charge_type, "label": row.label,
            "period_start": row.period_start.isoformat(), "period_end": row.period_end.isoformat(),
            "due_date": row.due_date.isoformat(), "amount_fen": row.amount_fen, "paid_fen": row.paid_fen,
            "outstanding_fen": outstanding(row), "state": state_of(row, as_of, cfg), "status": row.status,
            "breakdown": row.breakdown, "schedule_version": row.schedule_version,
            "paid_at": row.paid_at.isoformat() if row.paid_at else None, "payment_code": payment_code(row.id),
            "waived": {"reason": row.waived_reason, "approved_by": row.waive_approved_by_id,
                       "at": row.waived_at.isoformat()} if row.waived_at else None}


def serialize_payment(payment: Payment) -> dict[str, Any]:
    return {"id": payment.id, "lease_id": payment.lease_id, "amount_fen": payment.amount_fen,
            "unallocated_fen": payment.unallocated_fen, "paid_at": payment.paid_at.isoformat(),
            "method": payment.method, "source": payment.source, "payer_name": payment.payer_name,
            "reference": payment.reference, "note": payment.note,
            "reversed_at": payment.reversed_at.isoformat() if payment.reversed_at else None}


def state_filter(state: ReceivableState, as_of: date, cfg: LeasingConfig) -> Q:
    """The stored-column condition for a displayed state on ``as_of`` (the inverse of receivable_state)."""
    open_ = Q(status__in=list(OPEN_RECEIVABLE_STATUSES))
    notice = as_of + timedelta(days=cfg.notice_days)
    return {
        ReceivableState.PAID: Q(status=ReceivableStatus.PAID),
        ReceivableState.WAIVED: Q(status=ReceivableStatus.WAIVED),
        ReceivableState.SUPERSEDED: Q(status=ReceivableStatus.SUPERSEDED),
        ReceivableState.OVERDUE: open_ & Q(due_date__lt=as_of),
        ReceivableState.PARTIALLY_PAID: Q(status=ReceivableStatus.PARTIAL, due_date__gte=as_of),
        ReceivableState.DUE: Q(status=ReceivableStatus.OPEN, due_date__gte=as_of, due_date__lte=notice),
        ReceivableState.UPCOMING: Q(status=ReceivableStatus.OPEN, due_date__gt=notice),
    }[state]


async def lease_statement(lease: Lease, as_of: date, cfg: LeasingConfig) -> dict[str, Any]:
    """应收 / 实收 / 欠款 of one lease on ``as_of``: every receivable in force with its state, the payments, the credit
    and the deposit held. Totals add up: billed = paid + waived + outstanding."""
    rows = await Receivable.filter(lease_id=lease.id, open_key__not_isnull=True).order_by("due_date", "id")
    payments = await Payment.filter(lease_id=lease.id).order_by("paid_at", "id")
    due_rows = [r for r in rows if r.due_date <= as_of]
    billed = sum(r.amount_fen for r in due_rows)
    paid = sum(r.paid_fen for r in due_rows)
    waived = sum(r.amount_fen - r.paid_fen for r in due_rows if r.status == ReceivableStatus.WAIVED)
    overdue = sum(outstanding(r) for r in rows if r.due_date < as_of)
    return {
        "lease_id": lease.id, "contract_no": lease.contract_no, "as_of": as_of.isoformat(),
        "totals": {"billed_fen": billed, "paid_fen": paid, "waived_fen": waived,
                   "outstanding_fen": billed - paid - waived, "overdue_fen": overdue,
                   "scheduled_fen": sum(r.amount_fen for r in rows),
                   "future_fen": sum(outstanding(r) for r in rows if r.due_date > as_of),
                   "received_fen": sum(p.amount_fen for p in payments if p.method != PaymentMethod.CREDIT_NOTE),
                   "credit_fen": sum(p.unallocated_fen for p in payments),
                   "deposit_held_fen": await held_deposit(lease)},
        "receivables": [serialize_receivable(r, as_of, cfg) for r in rows],
        "payments": [serialize_payment(p) for p in payments],
    }


async def ledger_page(*, building_filter: dict[str, Any], query, as_of: date, cfg: LeasingConfig) -> dict[str, Any]:
    """The portfolio's receivables ledger: filters by building, lease, due window or month, and state; 50 a page
    by default, with the page's and the whole selection's totals."""
    qs = Receivable.filter(open_key__not_isnull=True, **building_filter)
    if query.building_id:
        qs = qs.filter(building_id=query.building_id)
    if query.lease_id:
        qs = qs.filter(lease_id=query.lease_id)
    if query.period:
        year, month = map(int, query.period.split("-"))
        first = date(year, month, 1)
        qs = qs.filter(due_date__gte=first, due_date__lt=(first + timedelta(days=32)).replace(day=1))
    if query.due_from:
        qs = qs.filter(due_date__gte=query.due_from)
    if query.due_to:
        qs = qs.filter(due_date__lte=query.due_to)
    if query.state:
        qs = qs.filter(state_filter(query.state, as_of, cfg))
    sums = await qs.annotate(rows=Count("id"), amount=Sum("amount_fen"), paid=Sum("paid_fen")).first().values(
        "rows", "amount", "paid")  # the count and both totals in one pass over the selection
    total = int((sums or {}).get("rows") or 0)
    rows = await qs.order_by("due_date", "id").offset(query.offset).limit(query.page_size)
    return {"items": [serialize_receivable(r, as_of, cfg) for r in rows], "total": total, "page": query.page,
            "page_size": query.page_size, "as_of": as_of.isoformat(),
            "totals": {"amount_fen": int((sums or {}).get("amount") or 0),
                       "paid_fen": int((sums or {}).get("paid") or 0)}}


__all__ = ["record_payment", "attempt_generation", "request_generation", "apply_schedule", "lease_statement",
           "ledger_page", "waive_receivable", "held_deposit", "settle_deposit", "retry_due_generations",
           "retry_generation"]


# --------------------------------------------------------------------------------------------- job views


def serialize_generation(job: ScheduleGeneration) -> dict[str, Any]:
    return {"id": job.id, "lease_id": job.lease_id, "terms_version": job.terms_version, "status": job.status,
            "attempts": job.attempts, "error_code": job.error_code or None, "error_message": job.error_message,
            "error_details": job.error_details,
            "next_attempt_at": job.next_attempt_at.isoformat() if job.next_attempt_at else None,
            "last_attempt_at": job.last_attempt_at.isoformat() if job.last_attempt_at else None,
            "succeeded_at": job.succeeded_at.isoformat() if job.succeeded_at else None, "summary": job.summary}


async def generation_view(lease: Lease) -> dict[str, Any]:
    jobs = await ScheduleGeneration.filter(lease_id=lease.id).order_by("-terms_version")
    current = next((j for j in jobs if j.terms_version == lease.terms_version), None)
    return {"lease_id": lease.id, "terms_version": lease.terms_version,
            "current": serialize_generation(current) if current else None,
            "jobs": [serialize_generation(j) for j in jobs]}


FAILED_STATUSES = (GenerationStatus.FAILED, GenerationStatus.GAVE_UP)


async def failures_page(*, building_filter: dict[str, Any], query) -> dict[str, Any]:
    """The failures list: leases whose current schedule generation failed (retrying or given up)."""
    qs = ScheduleGeneration.filter(status__in=list(FAILED_STATUSES),
                                   **{f"lease__unit__{k}": v for k, v in building_filter.items()})
    if query.building_id:
        qs = qs.filter(lease__unit__building_id=query.building_id)
    total = await qs.count()
    jobs = await qs.order_by("-last_attempt_at", "id").offset(query.offset).limit(query.page_size) \
        .select_related("lease")
    items = []
    for job in jobs:
        row = serialize_generation(job)
        row.update({"contract_no": job.lease.contract_no, "unit_id": job.lease.unit_id})
        items.append(row)
    return {"items": items, "total": total, "page": query.page, "page_size": query.page_size}
