"""The periodic jobs of issue 5, as one background service: refund escalation (48 h red flags), automatic
completion of unconfirmed payments, and the lease expiry reminders. Every job is idempotent and safe with
several instances (conditional updates, unique keys, an advisory lock on PostgreSQL), so the interval only
decides how soon things happen. Each job is also runnable once from the CLI (cli/notify_commands.py)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from config.settings import Settings
from core.clock import Clock
from reconciliation.jobs import run_reconciliation_jobs

log = logging.getLogger("rentwatch.scheduler")


async def run_refund_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    from refunds.service import RefundConfig, auto_complete_due, escalate_stalled

    cfg = RefundConfig.from_settings(settings)
    return {"escalated": await escalate_stalled(now, cfg, settings),
            "auto_completed": await auto_complete_due(now, cfg)}


async def run_reminder_job(settings: Settings, now: datetime) -> dict[str, Any]:
    from reminders.service import run_lease_reminders

    report = await run_lease_reminders(settings, now)
    return {"reminders": {"as_of": report.as_of.isoformat(), "fired": report.fired,
                          "skipped_locked": report.skipped_locked}}


async def run_desk_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    from notifications.jobs import announce_alerts
    from workorders.jobs import notify_overdue

    summary: dict[str, Any] = {"desk_alerts": await announce_alerts(settings, now)}
    if settings.workorder_overdue_check:
        summary["overdue_work_orders"] = await notify_overdue(settings, now)
    return summary


#: The scheduler's jobs, each run on its own: one failing does not stop the others, and its failure reaches the
#: admins' desk channels (notifications.jobs.announce_job_failure).
async def run_session_purge(settings: Settings, now: datetime) -> dict[str, Any]:
    from accounts.service import purge_console_sessions

    return await purge_console_sessions(settings, now)


async def run_ledger_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    """The leasing ledger's jobs: generation retries and the weekly dry-run."""
    from leasing.jobs import schedule_retries, weekly_dry_run

    return {"ledger": {"schedule_retries": await schedule_retries(settings, now),
                       "schedule_dry_run": await weekly_dry_run(settings, now)}}


JOBS = {"refunds": run_refund_jobs, "reminders": run_reminder_job, "desk": run_desk_jobs,
        "console_sessions": run_session_purge, "ledger": run_ledger_jobs,
        "reconciliation": run_reconciliation_jobs}


async def run_scheduled_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    from notifications.jobs import announce_job_failure

    summary: dict[str, Any] = {"escalated": [], "auto_completed": [], "reminders": {"fired": []}, "failed": []}
    for name, job in JOBS.items():
        try:
            summary.update(await job(settings, now))
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
            log.exception("scheduled job %s failed", name)
            summary["failed"].append(name)
            try:
                await announce_job_failure(settings, name, f"{type(exc).__name__}: {exc}", now)
            except Exception:  # noqa: BLE001 - the database itself may be the problem
                log.exception("could not announce the failure of %s", name)
    return summary


async def run_scheduler(settings: Settings, clock: Clock, stop: asyncio.Event) -> None:
    """Background service: run the jobs now and then every ``scheduler_interval_seconds`` until ``stop``."""
    while not stop.is_set():
        try:
            summary = await run_scheduled_jobs(settings, clock.now())
            if summary["escalated"] or summary["auto_completed"] or summary["reminders"]["fired"] or summary["failed"]:
                log.info("scheduled jobs: %s", summary)
        except Exception:  # noqa: BLE001 - keep the service alive; the next pass retries
            log.exception("scheduled jobs failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.scheduler_interval_seconds)
        except TimeoutError:
            pass
