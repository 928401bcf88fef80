"""The daily collections job, ``async def collections_daily(settings, now) -> dict``: once per local day
(ledger_job_runs ``arrears_daily``/YYYY-MM-DD), under a transaction-level advisory lock on PostgreSQL so a second
instance skips instead of racing. The work itself (arrears.service.collect) is idempotent on its own: each tier
step is unique per receivable and level, every message has a dedupe key, so a crashed run simply continues."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from arrears.choices import JOB_NAME
from arrears.service import ArrearsConfig, collect
from config.settings import Settings
from core.db import is_postgres
from models.leasing import LedgerJobRun

log = logging.getLogger("rentwatch.arrears.jobs")

#: pg advisory lock key of the collections job ("rwarrear" as a 63-bit integer)
ADVISORY_LOCK_KEY = 0x7277_6172_7265_6172 & 0x7FFF_FFFF_FFFF_FFFF


async def collections_daily(settings: Settings, now: datetime) -> dict[str, Any]:
    cfg = ArrearsConfig.from_settings(settings)
    day = cfg.local_date(now)
    period = day.isoformat()
    if await LedgerJobRun.filter(job=JOB_NAME, period=period).exists():
        return {"collections": {"ran": False, "reason": f"already ran for {period}"}}
    async with in_transaction() as connection:
        if is_postgres():
            rows = await connection.execute_query_dict("SELECT pg_try_advisory_xact_lock($1) AS locked",
                                                       [ADVISORY_LOCK_KEY])
            if not rows[0]["locked"]:
                return {"collections": {"ran": False, "reason": "another instance holds the lock"}}
        if await LedgerJobRun.filter(job=JOB_NAME, period=period).exists():
            return {"collections": {"ran": False, "reason": f"already ran for {period}"}}
        report = await collect(cfg, now, as_of=day)
        summary = report.summary()
        try:
            async with in_transaction():
                await LedgerJobRun.create(job=JOB_NAME, period=period, ran_at=now, result=summary)
        except IntegrityError:
            pass  # a run without the lock (SQLite) finished first: the work is idempotent anyway
    log.info("collections %s: %s", period, summary)
    return {"collections": {"ran": True, **summary}}
