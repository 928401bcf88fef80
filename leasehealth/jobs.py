"""The daily lease health job, ``async def lease_health_daily(settings, now) -> dict``: once per local day
(ledger_job_runs ``lease_health_daily``/YYYY-MM-DD), under a transaction-level advisory lock on PostgreSQL so a
second instance skips instead of racing. The work is idempotent by itself (a flag is unique per lease, indicator
and period; its work order per trigger), so a crashed run simply continues the next time."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from config.settings import Settings
from core.db import is_postgres
from leasehealth.choices import JOB_NAME, PROFILE_JOB_NAME
from leasehealth.profiles import run_profiles
from leasehealth.service import HealthConfig, run_health
from models.leasing import LedgerJobRun

log = logging.getLogger("rentwatch.leasehealth.jobs")

#: pg advisory lock key of the lease health job ("rwhealth" as a 63-bit integer)
ADVISORY_LOCK_KEY = 0x7277_6865_616C_7468 & 0x7FFF_FFFF_FFFF_FFFF


async def lease_health_daily(settings: Settings, now: datetime) -> dict[str, Any]:
    cfg = HealthConfig.from_settings(settings)
    period = cfg.local_date(now).isoformat()
    if await LedgerJobRun.filter(job=JOB_NAME, period=period).exists():
        return {"lease_health": {"ran": False, "reason": f"already ran for {period}"}}
    async with in_transaction() as connection:
        if is_postgres():
            rows = await connection.execute_query_dict("SELECT pg_try_advisory_xact_lock($1) AS locked",
                                                       [ADVISORY_LOCK_KEY])
            if not rows[0]["locked"]:
                return {"lease_health": {"ran": False, "reason": "another instance holds the lock"}}
        if await LedgerJobRun.filter(job=JOB_NAME, period=period).exists():
            return {"lease_health": {"ran": False, "reason": f"already ran for {period}"}}
        summary = (await run_health(cfg, now)).summary()
        try:
            async with in_transaction():
                await LedgerJobRun.create(job=JOB_NAME, period=period, ran_at=now, result=summary)
        except IntegrityError:
            pass  # a run without the lock (SQLite) finished first: the work is idempotent anyway
    log.info("lease health %s: %s", period, summary)
    return {"lease_health": {"ran": True, **summary}}


#: pg advisory lock key of the tenant profile job ("rwprofil" as a 63-bit integer)
PROFILE_LOCK_KEY = 0x7277_7072_6F66_696C & 0x7FFF_FFFF_FFFF_FFFF


async def tenant_profiles_daily(settings: Settings, now: datetime) -> dict[str, Any]:
    """Every tenant with a live lease gets today's profile (once per local day, ledger_job_runs
    ``tenant_profiles_daily``/YYYY-MM-DD). Storing is an upsert per tenant, so a crashed run simply runs again."""
    cfg = HealthConfig.from_settings(settings)
    period = cfg.local_date(now).isoformat()
    if await LedgerJobRun.filter(job=PROFILE_JOB_NAME, period=period).exists():
        return {"tenant_profiles": {"ran": False, "reason": f"already ran for {period}"}}
    async with in_transaction() as connection:
        if is_postgres():
            rows = await connection.execute_query_dict("SELECT pg_try_advisory_xact_lock($1) AS locked",
                                                       [PROFILE_LOCK_KEY])
            if not rows[0]["locked"]:
                return {"tenant_profiles": {"ran": False, "reason": "another instance holds the lock"}}
        if await LedgerJobRun.filter(job=PROFILE_JOB_NAME, period=period).exists():
            return {"tenant_profiles": {"ran": False, "reason": f"already ran for {period}"}}
        summary = (await run_profiles(cfg, now)).summary()
        try:
            async with in_transaction():
                await LedgerJobRun.create(job=PROFILE_JOB_NAME, period=period, ran_at=now, result=summary)
        except IntegrityError:
            pass  # a run without the lock (SQLite) finished first: the work is idempotent anyway
    log.info("tenant profiles %s: %s", period, summary)
    return {"tenant_profiles": {"ran": True, **summary}}
