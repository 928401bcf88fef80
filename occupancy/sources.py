"""Before a day is snapshotted, its sources are checked: the ledger's payment feed and periodic runs, the IoT
ingest and that day's inference, the field reports. A stale or failed source makes the day incomplete with the
reason — a snapshot built on a dead feed would publish a false number (seed 000: 0 % on the headquarters screen
after a payment API changed).

``judge_feed`` is the pure rule; ``check_sources`` gathers the facts (each check isolated: one raising is that
source FAILED, not the job)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from config.settings import Settings
from occupancy.choices import Source

log = logging.getLogger("rentwatch.occupancy.sources")


@dataclass(frozen=True)
class SourceCheck:
    source: Source
    ok: bool
    detail: str
    newest: datetime | None = None
    applies: bool = True  # False: nothing to check (e.g. no devices at all) — counts as ok

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "applies": self.applies, "detail": self.detail,
                "newest": self.newest.isoformat() if self.newest else None}


def judge_feed(source: Source, *, newest: datetime | None, day_end: datetime, max_age: timedelta,
               expected: bool, what: str) -> SourceCheck:
    """A feed is fresh for a day when its newest record is no older than ``max_age`` at the day's end (a record
    after the day's end is fresh too: back-filling a past day). ``expected`` False: the feed is not in use."""
    if not expected:
        return SourceCheck(source, True, f"no {what} expected", newest, applies=False)
    if newest is None:
        return SourceCheck(source, False, f"no {what} ever recorded", None)
    if newest < day_end - max_age:
        hours = (day_end - newest).total_seconds() / 3600
        return SourceCheck(source, False, f"stale: newest {what} recorded {newest.isoformat()}, "
                                          f"{hours:.0f} h before the day's end (limit {max_age})", newest)
    return SourceCheck(source, True, f"newest {what} {newest.isoformat()}", newest)


async def _newest(queryset, field: str) -> datetime | None:
    rows = await queryset.order_by(f"-{field}").limit(1).values_list(field, flat=True)
    return rows[0] if rows else None


async def _payments(settings: Settings, day: date, day_end: datetime) -> SourceCheck:
    from models.leasing import Payment, Receivable

    expected = await Receivable.filter(due_date__lte=day, amount_fen__gt=0).exists()
    newest = await _newest(Payment.all(), "created_at")
    return judge_feed(Source.LEDGER_PAYMENTS, newest=newest, day_end=day_end, expected=expected,
                      max_age=timedelta(hours=settings.occupancy_payment_feed_max_hours), what="payment")


async def _ledger_jobs(settings: Settings, day: date, day_end: datetime) -> SourceCheck:
    from models.leasing import LedgerJobRun

    required = settings.occupancy_ledger_job_max_hours
    if not required:
        return SourceCheck(Source.LEDGER_JOBS, True, "no ledger run required", applies=False)
    problems, newest_all = [], None
    for job, hours in sorted(required.items()):
        newest = await _newest(LedgerJobRun.filter(job=job), "ran_at")
        check = judge_feed(Source.LEDGER_JOBS, newest=newest, day_end=day_end, expected=True,
                           max_age=timedelta(hours=hours), what=f"{job} run")
        if not check.ok:
            problems.append(check.detail)
        newest_all = max(filter(None, (newest_all, newest)), default=None)
    if problems:
        return SourceCheck(Source.LEDGER_JOBS, False, "; ".join(problems), newest_all)
    return SourceCheck(Source.LEDGER_JOBS, True, f"runs of {', '.join(sorted(required))} fresh", newest_all)


async def _iot_ingest(settings: Settings, day: date, day_end: datetime) -> SourceCheck:
    from models.iot import Device

    devices = Device.filter(unit_id__not_isnull=True)
    expected = await devices.exists()
    newest = await _newest(devices.filter(last_seen__not_isnull=True), "last_seen") if expected else None
    return judge_feed(Source.IOT_INGEST, newest=newest, day_end=day_end, expected=expected,
                      max_age=timedelta(hours=settings.occupancy_iot_ingest_max_hours), what="device message")


async def _iot_detection(settings: Settings, day: date, day_end: datetime) -> SourceCheck:
    from models.iot import DetectionRun, Device

    if not await Device.filter(unit_id__not_isnull=True).exists():
        return SourceCheck(Source.IOT_DETECTION, True, "no devices bound to units", applies=False)
    run = await DetectionRun.get_or_none(day=day)
    if run is None:
        return SourceCheck(Source.IOT_DETECTION, False, f"the occupancy inference of {day} has not run")
    if run.finished_at is None:
        return SourceCheck(Source.IOT_DETECTION, False, f"the occupancy inference of {day} started "
                                                        f"{run.started_at.isoformat()} and did not finish")
    return SourceCheck(Source.IOT_DETECTION, True, f"inference of {day} finished {run.finished_at.isoformat()}",
                       run.finished_at)


async def _inspections(settings: Settings, day: date, day_end: datetime) -> SourceCheck:
    from models.inspections import StatusReport

    if not settings.occupancy_inspection_max_days:
        return SourceCheck(Source.INSPECTIONS, True, "not checked", applies=False)
    newest = await _newest(StatusReport.all(), "created_at")
    return judge_feed(Source.INSPECTIONS, newest=newest, day_end=day_end, expected=newest is not None,
                      max_age=timedelta(days=settings.occupancy_inspection_max_days), what="field report")


Check = Callable[[Settings, date, datetime], Awaitable[SourceCheck]]
CHECKS: dict[Source, Check] = {
    Source.LEDGER_PAYMENTS: _payments, Source.LEDGER_JOBS: _ledger_jobs, Source.IOT_INGEST: _iot_ingest,
    Source.IOT_DETECTION: _iot_detection, Source.INSPECTIONS: _inspections,
}


async def check_sources(settings: Settings, day: date, day_end: datetime,
                        checks: dict[Source, Check] | None = None) -> list[SourceCheck]:
    out = []
    for source, check in (checks or CHECKS).items():
        try:
            out.append(await check(settings, day, day_end))
        except Exception as exc:  # noqa: BLE001 - a source that cannot be read is a failed source
            log.exception("occupancy source %s could not be checked", source)
            out.append(SourceCheck(source, False, f"failed: {type(exc).__name__}: {exc}"[:300]))
    return out
