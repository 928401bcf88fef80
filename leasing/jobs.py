"""Scheduled ledger jobs, each ``async def job(settings, now) -> dict``, idempotent and safe to run twice:
retrying failed schedule generations (backoff per job), and the weekly dry-run that regenerates every live
lease's schedule in memory and reports — without writing to the ledger — each lease whose schedule cannot be
generated or differs from the stored one."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.exceptions import IntegrityError

from alerts.choices import AlertSeverity
from alerts.service import raise_alert
from config.settings import Settings
from core import sql
from core.sql import names
from leasing.choices import ALERT_SCHEDULE_DRY_RUN, LIVE_LEASE_STATUSES
from leasing.config import LeasingConfig
from leasing.ledger import SCHEDULED_TYPES, local_date, retry_due_generations
from leasing.rules import StoredRow, plan_regeneration
from leasing.schedule import generate_schedule
from leasing.terms import ScheduleError, parse_terms
from models.leasing import Lease, LedgerJobRun, Payment, Receivable

log = logging.getLogger("rentwatch.ledger.jobs")

async def schedule_retries(settings: Settings, now: datetime) -> dict[str, Any]:
    """Retry failed generations whose backoff passed (and generate for live leases that never had one). Several
    instances may run it: each attempt is claimed by a conditional update on the job's attempt count."""
    return {"recovered": await retry_due_generations(now, LeasingConfig.from_settings(settings))}


async def dry_run(cfg: LeasingConfig, *, lease_ids: list[int] | None = None, batch: int = 500) -> dict[str, Any]:
    """Regenerate every live lease's schedule in memory and compare it with what is stored. Writes nothing.

    Per batch of leases: their terms, then every receivable in force in one read (plain values, no ORM
    objects); the next batch is read while this one is compared."""
    qs = Lease.filter(status__in=list(LIVE_LEASE_STATUSES))
    if lease_ids:
        qs = qs.filter(id__in=lease_ids)
    ids = cast(list[int], await qs.order_by("id").values_list("id", flat=True))
    report: dict[str, Any] = {"leases": len(ids), "ok": 0, "failed": [], "differs": []}
    conn = get_connection("default")
    credit_notes = await _credit_notes(conn)
    chunks = [ids[start:start + batch] for start in range(0, len(ids), batch)]
    pending = asyncio.ensure_future(_read_batch(conn, chunks[0])) if chunks else None
    for n in range(len(chunks)):
        leases, stored = await pending  # type: ignore[misc]
        pending = asyncio.ensure_future(_read_batch(conn, chunks[n + 1])) if n + 1 < len(chunks) else None
        for lease_id, contract_no, terms in leases:
            rows = stored.get(lease_id, ())
            if credit_notes:
                rows = [_credited(lease_id, row, credit_notes) for row in rows]
            _compare(lease_id, contract_no, terms, rows, cfg, report)
            await asyncio.sleep(0)  # let the next batch's read come in meanwhile
    return report


async def _read_batch(conn: BaseDBAsyncClient, lease_ids: list[int]) -> tuple[list[tuple[int, str | None, Any]],
                                                                              dict[int, list[StoredRow]]]:
    """The batch's leases (id, contract number, stored terms) and their scheduled receivables in force, with
    what adjustment receivables already settled for each (credit notes are applied by the caller)."""
    lease, r = names(Lease), names(Receivable)
    marks = sql.marks(len(lease_ids))
    leases = [(row[0], row[1], _json(row[2])) for row in await sql.execute(
        conn, f"SELECT {lease.id}, {lease.contract_no}, {lease.terms} FROM {lease} WHERE {lease.id} IN ({marks}) "
              f"ORDER BY {lease.id}", lease_ids)]
    rows = await sql.execute(
        conn, f"SELECT {r.cols('id', 'lease_id', 'charge', 'charge_type', 'period_start', 'period_end', 'due_date')}, "
              f"{r.cols('amount_fen', 'paid_fen', 'status', 'adjusts_id')} FROM {r} "
              f"WHERE {r.lease_id} IN ({marks}) AND {r.open_key} IS NOT NULL", lease_ids)
    adjusted: dict[int, int] = {}
    for row in rows:
        if row[10] is not None:
            adjusted[row[10]] = adjusted.get(row[10], 0) + row[7]
    stored: dict[int, list[StoredRow]] = {}
    scheduled = {str(t) for t in SCHEDULED_TYPES}
    for rid, lease_id, charge, charge_type, start, end, due, amount, paid, status, _ in rows:
        if charge_type in scheduled:
            stored.setdefault(lease_id, []).append(StoredRow(
                id=rid, charge=charge, period_start=_date(start), period_end=_date(end), due_date=_date(due),
                amount_fen=amount, paid_fen=paid, status=status, adjusted_fen=adjusted.get(rid, 0)))
    return leases, stored


async def _credit_notes(conn: BaseDBAsyncClient) -> dict[tuple[int, int], int]:
    """Credit notes raised for kept receivables (an amendment lowered a paid period), by (lease, receivable):
    few rows, read once for the whole run."""
    p = names(Payment)
    out: dict[tuple[int, int], int] = {}
    for lease_id, adjusts_id, amount in await sql.execute(
            conn, f"SELECT {p.cols('lease_id', 'adjusts_id', 'amount_fen')} FROM {p} WHERE {p.adjusts_id} IS NOT NULL"):
        out[lease_id, adjusts_id] = out.get((lease_id, adjusts_id), 0) + amount
    return out


def _credited(lease_id: int, row: StoredRow, credit_notes: dict[tuple[int, int], int]) -> StoredRow:
    credit = credit_notes.get((lease_id, row.id))
    return row if not credit else replace(row, adjusted_fen=row.adjusted_fen - credit)


def _date(value: date | str) -> date:
    """A DATE column: a date from asyncpg, ISO text from SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _json(value: Any) -> Any:
    """A JSON column read raw: text on both databases (no codec is registered)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _compare(lease_id: int, contract_no: str | None, terms: dict[str, Any] | None, stored: Sequence[StoredRow],
             cfg: LeasingConfig, report: dict[str, Any]) -> None:
    try:
        schedule = generate_schedule(parse_terms(terms or {}), cfg.aliases)
    except ScheduleError as exc:
        report["failed"].append({"lease_id": lease_id, "contract_no": contract_no, "error_code": exc.code,
                                 "message": exc.message})
        return
    plan = plan_regeneration(stored, schedule.lines)
    if plan.changes:
        report["differs"].append({"lease_id": lease_id, "contract_no": contract_no, **plan.summary(),
                                  "keys": [f"{r.charge}@{r.period_start}" for r, _ in plan.update][:10]
                                  + [f"{line.charge}@{line.period_start}" for line in plan.create][:10]})
    else:
        report["ok"] += 1


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
