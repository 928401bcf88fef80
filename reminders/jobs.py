"""Scheduled reminder jobs, each ``async def name(settings, now) -> dict`` (registered in
reminders.scheduler.JOBS); ``rentwatch reminders`` runs the same service once with ``--as-of``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from config.settings import Settings
from reminders.service import run_lease_reminders


async def lease_reminders(settings: Settings, now: datetime) -> dict[str, Any]:
    """The lease expiry tiers due today (business time zone), each fired once per lease."""
    report = await run_lease_reminders(settings, now)
    return {"reminders": {"as_of": report.as_of.isoformat(), "fired": report.fired,
                          "skipped_locked": report.skipped_locked}}
