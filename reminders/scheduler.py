"""The scheduler: one background service that runs every registered job now and then every
``scheduler_interval_seconds``. The jobs live with their domains (``<domain>/jobs.py``); JOBS below is the one
place they are registered. Every job is idempotent and safe with several instances (conditional updates,
unique keys, an advisory lock on PostgreSQL), so the interval only decides how soon things happen. Most jobs
are also runnable once from the CLI (cli/notify_commands.py, cli/leasing_commands.py)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from config.settings import Settings
from core.clock import Clock

log = logging.getLogger("rentwatch.scheduler")

Job = Callable[[Settings, datetime], Awaitable[dict[str, Any]]]

#: name → ``"module:function"``, one line per job, run in this order. Each is ``async def fn(settings, now) ->
#: dict``; the dict is merged into the pass's summary. Named by module path (imported when run, as
#: cli.background.BACKGROUND_SERVICES) so the scheduler does not import every domain. Each job runs on its own:
#: one failing does not stop the others, and its failure reaches the admins' desk channels
#: (notifications.jobs.announce_job_failure) under its name here.
JOBS: dict[str, str] = {
    "refunds": "refunds.jobs:refund_jobs",
    "tenant_profiles": "leasehealth.jobs:tenant_profiles_daily",  # before the expiry reminders that quote them
    "reminders": "reminders.jobs:lease_reminders",
    "desk": "notifications.jobs:desk_alerts",
    "overdue_work_orders": "workorders.jobs:overdue_work_orders",
    "console_sessions": "accounts.jobs:purge_console_sessions",
    "ledger": "leasing.jobs:ledger_jobs",
    "collections": "arrears.jobs:collections_daily",
    "occupancy": "occupancy.jobs:occupancy_jobs",
    "reconciliation": "reconciliation.jobs:run_reconciliation_jobs",
    "wechatpay_query": "payments.jobs:query_unnotified_orders",
    "wechatpay_bills": "payments.jobs:fetch_trade_bills",
    "contracts": "contracts.jobs:resume_contract_reading",
    "lease_health": "leasehealth.jobs:lease_health_daily",
}


def resolve_job(name: str) -> Job:
    module_name, _, attr = JOBS[name].partition(":")
    return getattr(importlib.import_module(module_name), attr)


async def run_scheduled_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    from notifications.jobs import announce_job_failure

    summary: dict[str, Any] = {"escalated": [], "auto_completed": [], "reminders": {"fired": []}, "failed": []}
    for name in JOBS:
        try:
            summary.update(await resolve_job(name)(settings, now))
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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.scheduler_interval_seconds)
