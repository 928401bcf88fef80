"""The scheduler's JOBS table: every entry is a domain job ``async def name(settings, now) -> dict`` living in
``<domain>/jobs.py``, and one pass runs them all into one summary."""

from __future__ import annotations

import inspect
from zoneinfo import ZoneInfo

import pytest

from reminders.scheduler import JOBS, resolve_job, run_scheduled_jobs


@pytest.mark.parametrize("name", sorted(JOBS))
def test_every_job_is_a_domain_job(name):
    module_name = JOBS[name].partition(":")[0]
    assert module_name.endswith(".jobs"), f"{name}: jobs live in <domain>/jobs.py, not {module_name}"
    job = resolve_job(name)
    assert inspect.iscoroutinefunction(job)
    assert list(inspect.signature(job).parameters) == ["settings", "now"]


async def test_one_pass_runs_every_job(world, clock, settings):
    summary = await run_scheduled_jobs(settings, clock.now())
    assert summary["failed"] == []
    for key in ("escalated", "auto_completed", "reminders", "desk_alerts", "overdue_work_orders",
                "console_sessions_purged", "ledger", "occupancy"):
        assert key in summary, key
    assert set(summary["ledger"]) == {"schedule_retries", "schedule_dry_run"}
    assert summary["reminders"]["as_of"] == clock.now().astimezone(ZoneInfo(settings.business_timezone)).date() \
        .isoformat()
