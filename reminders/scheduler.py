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

log = logging.getLogger("rentwatch.scheduler")


async def run_refund_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    from refunds.service import RefundConfig, auto_complete_due, escalate_stalled

    cfg = RefundConfig.from_settings(settings)
    return {"escalated": await escalate_stalled(now, cfg), "auto_completed": await auto_complete_due(now, cfg)}


async def run_scheduled_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    from reminders.service import run_lease_reminders

    summary = await run_refund_jobs(settings, now)
    report = await run_lease_reminders(settings, now)
    summary["reminders"] = {"as_of": report.as_of.isoformat(), "fired": report.fired,
                            "skipped_locked": report.skipped_locked}
    summary["ledger"] = await run_ledger_jobs(settings, now)
    return summary


async def run_ledger_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    """The leasing ledger's jobs (until the shared job registry exists): generation retries, weekly dry-run."""
    from leasing.jobs import schedule_retries, weekly_dry_run

    summary: dict[str, Any] = {}
    for name, job in (("schedule_retries", schedule_retries), ("schedule_dry_run", weekly_dry_run)):
        try:
            summary[name] = await job(settings, now)
        except Exception:  # noqa: BLE001 - one failing job never stops the others
            log.exception("ledger job %s failed", name)
            summary[name] = {"error": True}
    return summary


async def run_scheduler(settings: Settings, clock: Clock, stop: asyncio.Event) -> None:
    """Background service: run the jobs now and then every ``scheduler_interval_seconds`` until ``stop``."""
    while not stop.is_set():
        try:
            summary = await run_scheduled_jobs(settings, clock.now())
            if summary["escalated"] or summary["auto_completed"] or summary["reminders"]["fired"]:
                log.info("scheduled jobs: %s", summary)
        except Exception:  # noqa: BLE001 - keep the service alive; the next pass retries
            log.exception("scheduled jobs failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.scheduler_interval_seconds)
        except TimeoutError:
            pass
