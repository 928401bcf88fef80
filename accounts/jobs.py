"""Scheduled account jobs, each ``async def name(settings, now) -> dict`` (registered in
reminders.scheduler.JOBS)."""

from __future__ import annotations

from datetime import datetime, timedelta

from config.settings import Settings
from models.accounts import ConsoleSession


async def purge_console_sessions(settings: Settings, now: datetime) -> dict:
    """Delete console sessions that expired more than a day ago (they are refused anyway)."""
    deleted = await ConsoleSession.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return {"console_sessions_purged": deleted}
