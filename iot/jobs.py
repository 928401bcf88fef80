"""IoT jobs: each ``async def name(settings, now) -> dict``, idempotent, safe to run twice.

- ``sweep``: device health (DEVICE_OFFLINE, BATTERY_LOW clearing), move-out cleaning orders, raw-sample purge —
  every ``iot_sweep_seconds`` from the sweeper (``run_sweeper``);
- ``purge_raw``: raw samples and dead letters past ``iot_raw_retention_days`` (hourly roll-ups are kept);
- ``daily_detection``: once a day after ``iot_detect_hour``: back-fill re-runs of the past days that received data
  after their run, then yesterday's detection (``run_detection``) with the sweep.

``run_detection`` / ``detect_on_demand`` run one day (the CLI's ``rentwatch detect`` and the admin endpoint).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date, datetime, timedelta

from config.settings import Settings
from core.clock import Clock
from core.errors import Conflict, ValidationFailed
from iot.adapters import zone
from iot.detection import backfilled_days, detect_day, device_health, moveout_cleaning
from iot.rules import local_day_end
from models.iot import DeadLetter, DetectionRun, MeterSample

log = logging.getLogger("rentwatch.iot.jobs")


async def purge_raw(settings: Settings, now: datetime) -> dict:
    """Raw samples and dead letters past the retention; the hourly roll-ups stay."""
    cutoff = now - timedelta(days=settings.iot_raw_retention_days)
    removed = await MeterSample.filter(at__lt=cutoff).delete()
    removed += await DeadLetter.filter(received_at__lt=cutoff).delete()
    return {"purged": removed}


async def sweep(settings: Settings, now: datetime) -> dict:
    """The periodic sweep: device health, move-out cleaning, purge."""
    health = await device_health(now, settings)
    cleaning = await moveout_cleaning(now, settings)
    purged = await purge_raw(settings, now)
    return {**health, "cleaning_orders": cleaning, **purged}


async def run_detection(as_of: date, settings: Settings, *, now: datetime | None = None,
                        raise_only: bool = False) -> dict:
    """The daily rules for ``as_of`` and, unless ``raise_only`` (a re-run of a past day), the sweep at the day's
    judging time."""

    async def then(at: datetime) -> dict:
        return await sweep(settings, at)

    return await detect_day(as_of, settings, now=now, raise_only=raise_only, then=then)


async def detect_on_demand(as_of: date, settings: Settings, now: datetime, *, replay: bool = False) -> dict:
    """``rentwatch detect --as-of`` and the admin endpoint. By the wall clock: today or yesterday runs in full; an
    older day runs as a re-run (raises what that day shows, clears nothing, no sweep), so a historical run cannot
    clear today's alerts nor judge devices offline by a clock in the past.

    ``replay`` (an explicit ``--now`` / ``"now"``): the day runs in full, everything a live run at ``now`` would do
    (clearing, the sweep) — for pilots and back-logs replayed day by day. Refused when ``now`` is before the end of
    ``as_of`` (the day is not over) or when days from ``now``'s day on were already judged (the replay would undo
    what they found)."""
    tz = zone(None, settings.iot_timezone)
    if not replay:
        today = now.astimezone(tz).date()
        return await run_detection(as_of, settings, now=now, raise_only=as_of < today - timedelta(days=1))
    if now < local_day_end(as_of, tz):
        raise ValidationFailed(f"now {now.isoformat()} is before the end of {as_of.isoformat()}: the day is not "
                               f"over yet", details={"as_of": as_of.isoformat(), "now": now.isoformat()})
    judged = await DetectionRun.filter(day__gte=now.astimezone(tz).date(), finished_at__isnull=False).order_by(
        "-day").values_list("day", flat=True)
    if judged:
        raise Conflict(f"days up to {judged[0]} are already judged; a replay at {now.isoformat()} would undo them",
                       code="ALREADY_JUDGED", details={"latest_judged": str(judged[0]), "now": now.isoformat()})
    return await run_detection(as_of, settings, now=now)


async def backfill_reruns(settings: Settings, now: datetime, before: date) -> list[date]:
    """Re-run (raise only, oldest first) the past ``iot_backfill_days`` days before ``before`` (at most the raw
    retention) that received back-filled data since their run."""
    window = min(settings.iot_backfill_days, settings.iot_raw_retention_days)
    rerun = await backfilled_days([before - timedelta(days=n) for n in range(1, window + 1)], settings)
    for day in rerun:
        await run_detection(day, settings, now=now, raise_only=True)
    return rerun


async def daily_detection(settings: Settings, now: datetime) -> dict:
    """Once a day, after ``iot_detect_hour`` local time: back-fill re-runs, then yesterday's detection. Returns
    ``{}`` when it is not yet time or yesterday already ran."""
    local = now.astimezone(zone(None, settings.iot_timezone))
    if local.hour < settings.iot_detect_hour:
        return {}
    yesterday = local.date() - timedelta(days=1)
    if await DetectionRun.filter(day=yesterday, finished_at__isnull=False).exists():
        return {}
    rerun = await backfill_reruns(settings, now, yesterday)
    stats = await run_detection(yesterday, settings, now=now)
    stats["backfill_reruns"] = [day.isoformat() for day in rerun]
    return stats


class _NotYet(Exception):
    """The clock has no time yet (replay before the first reading): skip this round."""


async def run_sweeper(settings: Settings, clock: Clock, stop: asyncio.Event) -> None:
    """The sweeper loop of the background service: daily detection when due, then the sweep, every
    ``iot_sweep_seconds``; an error is logged and the next round runs."""
    while not stop.is_set():
        try:
            if not getattr(clock, "ready", True):  # a replay clock before the first reading
                raise _NotYet
            now = clock.now()
            await daily_detection(settings, now)
            await sweep(settings, now)
        except _NotYet:
            pass
        except Exception:  # noqa: BLE001 - keep sweeping; the error is logged
            log.exception("IoT sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.iot_sweep_seconds)

