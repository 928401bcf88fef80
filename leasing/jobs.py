"""Scheduled ledger jobs, each ``async def job(settings, now) -> dict``, idempotent and safe to run twice:
retrying failed schedule generations (backoff per job), and the weekly dry-run that regenerates every live
lease's schedule in memory and reports — without writing to the ledger — each lease whose schedule cannot be
generated or differs from the stored one."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from tortoise.exceptions import IntegrityError

from alerts.choices import AlertSeverity
from alerts.service import raise_alert
from config.settings import Settings
from leasing.choices import ALERT_SCHEDULE_DRY_RUN, LIVE_LEASE_STATUSES
from leasing.ledger import SCHEDULED_TYPES, local_date, retry_due_generations
from leasing.rules import StoredRow, plan_regeneration
from leasing.schedule import generate_schedule
from leasing.service import LeasingConfig, lease_terms
from leasing.terms import ScheduleError
from models.leasing import Lease, LedgerJobRun, Payment, Receivable

log = logging.getLogger("rentwatch.ledger.jobs")

async def schedule_retries(settings: Settings, now: datetime) -> dict[str, Any]:
    """Retry failed generations whose backoff passed (and generate for live leases that never had one). Several
    instances may run it: each attempt is claimed by a conditional update on the job's attempt count."""
    return {"recovered": await retry_due_generations(now, LeasingConfig.from_settings(settings))}


async def dry_run(cfg: LeasingConfig, *, lease_ids: list[int] | None = None, batch: int = 500) -> dict[str, Any]:
    """Regenerate every live lease's schedule in memory and compare it with what is stored. Writes nothing."""
    qs = Lease.filter(status__in=list(LIVE_LEASE_STATUSES))
    if lease_ids:
        qs = qs.filter(id__in=lease_ids)
    ids = cast(list[int], await qs.order_by("id").values_list("id", flat=True))
    report: dict[str, Any] = {"leases": len(ids), "ok": 0, "failed": [], "differs": []}
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        leases = await Lease.filter(id__in=chunk)
        rows = await Receivable.filter(lease_id__in=chunk, open_key__not_isnull=True,
                                       charge_type__in=list(SCHEDULED_TYPES)).values_list(
            "id", "lease_id", "charge", "period_start", "period_end", "due_date", "amount_fen", "paid_fen", "status")
        adjustments = await _adjustments(chunk)
        stored: dict[int, list[StoredRow]] = {}
        for rid, lease_id, charge, start_, end, due, amount, paid, status in rows:
            stored.setdefault(lease_id, []).append(StoredRow(
                id=rid, charge=charge, period_start=start_, period_end=end, due_date=due, amount_fen=amount,
                paid_fen=paid, status=status, adjusted_fen=adjustments.get(rid, 0)))
        for lease in leases:
            _compare(lease, stored.get(lease.id, []), cfg, report)
    return report


def _compare(lease: Lease, stored: list[StoredRow], cfg: LeasingConfig, report: dict[str, Any]) -> None:
    try:
        schedule = generate_schedule(lease_terms(lease), cfg.aliases)
    except ScheduleError as exc:
        report["failed"].append({"lease_id": lease.id, "contract_no": lease.contract_no, "error_code": exc.code,
                                 "message": exc.message})
        return
    plan = plan_regeneration(stored, schedule.lines)
    if plan.changes:
        report["differs"].append({"lease_id": lease.id, "contract_no": lease.contract_no, **plan.summary(),
                                  "keys": [f"{r.charge}@{r.period_start}" for r, _ in plan.update][:10]
                                  + [f"{line.charge}@{line.period_start}" for line in plan.create][:10]})
    else:
        report["ok"] += 1


async def _adjustments(lease_ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for adjusts_id, amount in await Receivable.filter(lease_id__in=lease_ids, adjusts_id__not_isnull=True,
                                                      open_key__not_isnull=True).values_list("adjusts_id",
                                                                                             "amount_fen"):
        out[adjusts_id] = out.get(adjusts_id, 0) + amount
    for adjusts_id, amount in await Payment.filter(lease_id__in=lease_ids, adjusts_id__not_isnull=True).values_list(
            "adjusts_id", "amount_fen"):
        out[adjusts_id] = out.get(adjusts_id, 0) - amount
    return out


async def weekly_dry_run(settings: Settings, now: datetime) -> dict[str, Any]:
    """On the configured weekday, once per ISO week: the dry-run, and one staff alert when it found problems."""
    cfg = LeasingConfig.from_settings(settings)
    today = local_date(now, cfg)
    if today.weekday() != cfg.dry_run_weekday:
        return {"ran": False, "reason": "not the dry-run weekday"}
    year, week, _ = today.isocalendar()
    period = f"{year}-W{week:02d}"
    if await LedgerJobRun.filter(job="schedule_dry_run", period=period).exists():
        return {"ran": False, "reason": f"already ran for {period}"}
    report = await dry_run(cfg)
    try:
        await LedgerJobRun.create(job="schedule_dry_run", period=period, ran_at=now,
                                  result={k: (len(v) if isinstance(v, list) else v) for k, v in report.items()})
    except IntegrityError:
        return {"ran": False, "reason": f"another instance ran {period}"}
    if report["failed"] or report["differs"]:
        await raise_alert(alert_type=ALERT_SCHEDULE_DRY_RUN, now=now, subject=period, severity=AlertSeverity.WARNING,
                          explanation=f"weekly schedule dry-run {period}: {len(report['failed'])} lease(s) cannot be "
                                      f"generated, {len(report['differs'])} differ from the stored schedule",
                          evidence={"failed": report["failed"][:50], "differs": report["differs"][:50]})
    log.info("schedule dry-run %s: %s ok, %s failed, %s differ", period, report["ok"], len(report["failed"]),
             len(report["differs"]))
    return {"ran": True, "period": period, **report}


async def ledger_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    """Scheduled (reminders.scheduler.JOBS): the generation retries, then the weekly dry-run."""
    return {"ledger": {"schedule_retries": await schedule_retries(settings, now),
                       "schedule_dry_run": await weekly_dry_run(settings, now)}}
