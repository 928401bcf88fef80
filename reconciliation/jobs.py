"""The daily reconciliation robot, ``async def daily_reconciliation(settings, now) -> dict``: once per local day
(keyed in ledger_job_runs), under a PostgreSQL advisory lock so a second instance skips: every unmatched income
line is decided again (a payer alias or a receivable added since may now match it), and hand-recorded payments
that no statement line confirms join the discrepancy list. Imports reconcile their own lines at once."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from config.settings import Settings
from core.sql import is_postgres
from models.leasing import LedgerJobRun
from reconciliation.service import ReconciliationConfig, reconcile, scan_paid_without_line

log = logging.getLogger("rentwatch.reconciliation.jobs")

JOB = "reconciliation_daily"
#: pg advisory lock key ("rwrecon" as a 63-bit integer)
ADVISORY_LOCK_KEY = 0x7277_7265_636F_6E00 & 0x7FFF_FFFF_FFFF_FFFF


async def daily_reconciliation(settings: Settings, now: datetime, *, force: bool = False) -> dict[str, Any]:
    cfg = ReconciliationConfig.from_settings(settings)
    period = now.astimezone(ZoneInfo(cfg.timezone)).date().isoformat()
    if not force and await LedgerJobRun.filter(job=JOB, period=period).exists():
        return {"ran": False, "reason": f"already ran for {period}"}
    async with in_transaction() as connection:
        if is_postgres():
            rows = await connection.execute_query_dict("SELECT pg_try_advisory_xact_lock($1) AS locked",
                                                       [ADVISORY_LOCK_KEY])
            if not rows[0]["locked"]:
                return {"ran": False, "reason": "another instance is reconciling"}
        result = await reconcile(now=now, cfg=cfg)
        result["paid_without_bank_line"] = await scan_paid_without_line(now=now, cfg=cfg)
        try:
            async with in_transaction():
                await LedgerJobRun.create(job=JOB, period=period, ran_at=now, result=result)
        except IntegrityError:
            if not force:
                return {"ran": False, "reason": f"another instance ran {period}"}
            await LedgerJobRun.filter(job=JOB, period=period).update(ran_at=now, result=result)
    log.info("daily reconciliation %s: %s", period, result)
    return {"ran": True, "period": period, **result}


async def run_reconciliation_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    """The scheduler's entry (reminders.scheduler.JOBS)."""
    return {"reconciliation": await daily_reconciliation(settings, now)}
