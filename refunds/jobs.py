"""Scheduled refund jobs, each ``async def name(settings, now) -> dict``, idempotent and safe with several
instances (version-conditional updates; an escalation is recorded once per wait, a completion once per refund).
Registered in reminders.scheduler.JOBS; ``rentwatch escalate`` runs ``refund_jobs`` once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from config.settings import Settings
from refunds.service import RefundConfig, auto_complete_due, escalate_stalled


async def escalate(settings: Settings, now: datetime) -> dict[str, Any]:
    """Waits past ``refund_escalation_hours``: the owner, their supervisor and the desk channels hear it once."""
    return {"escalated": await escalate_stalled(now, RefundConfig.from_settings(settings), settings)}


async def auto_complete(settings: Settings, now: datetime) -> dict[str, Any]:
    """PAID refunds the tenant did not confirm within ``refund_auto_complete_days`` become COMPLETED."""
    return {"auto_completed": await auto_complete_due(now, RefundConfig.from_settings(settings))}


async def refund_jobs(settings: Settings, now: datetime) -> dict[str, Any]:
    """Both, escalation first (a refund completed in the same pass has nothing left to escalate)."""
    return {**await escalate(settings, now), **await auto_complete(settings, now)}
