"""Scheduled occupancy jobs, each ``async def job(settings, now) -> dict``, idempotent and keyed by day / month:
the nightly snapshot (yesterday, plus incomplete days of the last ``occupancy_retry_days`` retried), and the
monthly status-consistency audit on the 1st for the month before. A day that turns out incomplete raises one
staff alert (OCCUPANCY_SNAPSHOT_INCOMPLETE, on the desk channels too) and an outbox message to the admins and
executives; completing it later clears the alert."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from accounts.choices import Role
from alerts.choices import AlertSeverity, AlertStatus
from alerts.service import open_key, raise_alert
from config.settings import Settings
from models.accounts import User
from models.alerts import Alert
from models.occupancy import OccupancySnapshotDay, StatusAudit
from notifications.choices import NotificationKind
from notifications.outbox import enqueue_notification
from occupancy.audit import generate_audit
from occupancy.choices import DayState
from occupancy.snapshot import DayResult, local_day, snapshot_day

log = logging.getLogger("rentwatch.occupancy.jobs")

ALERT_SNAPSHOT_INCOMPLETE = "OCCUPANCY_SNAPSHOT_INCOMPLETE"
#: who hears that the portfolio figures are held at an older day
ALERTED_ROLES = (Role.ADMIN, Role.EXECUTIVE)


async def run_snapshot(settings: Settings, day: date, now: datetime, *, force: bool = False, checks=None) -> DayResult:
    """One day, with its alert: raised when the day is (newly) incomplete, cleared when it completes."""
    result = await snapshot_day(settings, day, now, force=force, checks=checks)
    if result.state == DayState.INCOMPLETE:
        await _alert_incomplete(result, now)
    elif result.state == DayState.COMPLETE and not result.skipped:
        await Alert.filter(open_key=open_key(ALERT_SNAPSHOT_INCOMPLETE, None, f"day:{day}")).update(
            status=AlertStatus.CLEARED, open_key=None, resolved_at=now,
            resolution_note="the day's sources recovered and the snapshot completed")
    return result


async def _alert_incomplete(result: DayResult, now: datetime) -> None:
    day = result.day.isoformat()
    text = f"入住率快照 {day} 不完整: " + " | ".join(result.reasons)
    await raise_alert(alert_type=ALERT_SNAPSHOT_INCOMPLETE, now=now, subject=f"day:{day}",
                      severity=AlertSeverity.CRITICAL, explanation=text[:2000],
                      evidence={"day": day, "reasons": result.reasons})
    if not result.newly_incomplete:
        return
    staff = await User.filter(role__in=list(ALERTED_ROLES), is_active=True).values_list("id", flat=True)
    for user_id in cast(list[int], staff):
        await enqueue_notification(user_id=user_id, kind=NotificationKind.OCCUPANCY_INCOMPLETE,
                                   dedupe_key=f"occupancy:{day}:incomplete:{user_id}",
                                   payload={"day": day, "title": "入住率快照不完整", "reasons": result.reasons,
                                            "at": now.isoformat()}, now=now)


async def nightly_snapshot(settings: Settings, now: datetime) -> dict[str, Any]:
    """After ``occupancy_snapshot_hour`` (local): yesterday, and the incomplete days of the retry window."""
    tz = settings.business_timezone
    today = local_day(now, tz)
    if now.astimezone(ZoneInfo(tz)).hour < settings.occupancy_snapshot_hour:
        return {"ran": False, "reason": "before the snapshot hour"}
    yesterday = today - timedelta(days=1)
    since = yesterday - timedelta(days=settings.occupancy_retry_days)
    retry = await OccupancySnapshotDay.filter(state=DayState.INCOMPLETE, day__gte=since,
                                              day__lt=yesterday).order_by("day").values_list("day", flat=True)
    days = [*cast(list[date], retry), yesterday]
    results = [await run_snapshot(settings, day, now) for day in days]
    return {"ran": True, "days": [r.as_dict() for r in results]}


async def backfill(settings: Settings, start: date, end: date, now: datetime, *, force: bool = False,
                   checks=None) -> list[DayResult]:
    """Past days, oldest first (the CLI's ``--from``/``--to``)."""
    out, day = [], start
    while day <= end:
        out.append(await run_snapshot(settings, day, now, force=force, checks=checks))
        day += timedelta(days=1)
    return out


#: The audit waits for the month's last day to be complete until this day of the next month, then uses the
#: month's last complete day (saying so in the report).
AUDIT_WAIT_UNTIL_DAY = 4


async def monthly_audit(settings: Settings, now: datetime) -> dict[str, Any]:
    """From the 1st (after the snapshot hour): the past month's audit, once."""
    tz = settings.business_timezone
    today = local_day(now, tz)
    if today.day > 10 or now.astimezone(ZoneInfo(tz)).hour < settings.occupancy_snapshot_hour:
        return {"ran": False, "reason": "not the start of a month"}
    last_day = today.replace(day=1) - timedelta(days=1)
    month = f"{last_day.year:04d}-{last_day.month:02d}"
    if await StatusAudit.filter(month=month).exists():
        return {"ran": False, "reason": f"{month} already audited"}
    record = await OccupancySnapshotDay.get_or_none(day=last_day)
    if (record is None or record.state != DayState.COMPLETE) and today.day < AUDIT_WAIT_UNTIL_DAY:
        return {"ran": False, "reason": f"waiting for the snapshot of {last_day}"}
    if not await OccupancySnapshotDay.filter(state=DayState.COMPLETE, day__gte=last_day.replace(day=1),
                                             day__lte=last_day).exists():
        return {"ran": False, "reason": f"no complete snapshot day in {month}"}
    report = await generate_audit(settings, month, now)
    log.info("status audit %s: %s findings over %s units", month, report.findings_count, report.units)
    return {"ran": True, "month": month, "as_of": report.as_of.isoformat(), "findings": report.findings_count}


async def occupancy_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    """Scheduled (reminders.scheduler.JOBS): the nightly snapshot, then the monthly status-consistency audit."""
    return {"occupancy": {"snapshot": await nightly_snapshot(settings, now),
                          "audit": await monthly_audit(settings, now)}}
