"""The refund, reminder and outbox jobs, each run once from the CLI: ``reminders``, ``escalate``,
``outbox-send`` (the scheduler runs the same jobs periodically)."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date

from config.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reminders", help="fire due lease expiry reminders once (90/60/30-day tiers)")
    p.add_argument("--as-of", type=date.fromisoformat, default=None,
                   help="business date to run for (YYYY-MM-DD, default: today in RW_BUSINESS_TIMEZONE)")
    p.add_argument("--no-lock", action="store_true", help="skip the PostgreSQL advisory lock (unique keys still hold)")
    p.set_defaults(func=lambda s, a: asyncio.run(reminders(s, a.as_of, not a.no_lock)))

    p = sub.add_parser("escalate", help="flag and escalate refund steps waiting too long; auto-complete payments")
    p.set_defaults(func=lambda s, a: asyncio.run(escalate(s)))

    p = sub.add_parser("outbox-send", help="send the due WeChat notifications once")
    p.set_defaults(func=lambda s, a: asyncio.run(outbox_send(s)))


def _now():
    from core.clock import SystemClock

    return SystemClock().now()


async def reminders(settings: Settings, as_of: date | None, use_lock: bool) -> int:
    from cli.core_commands import with_db
    from reminders.service import run_lease_reminders

    report = await with_db(settings, lambda: run_lease_reminders(settings, _now(), as_of=as_of, use_lock=use_lock))
    if report.skipped_locked:
        print("another instance is running the reminder job; nothing done")
        return 0
    for lease_id, days in report.fired:
        print(f"lease {lease_id}: {days}-day reminder fired")
    print(f"as of {report.as_of.isoformat()}: {len(report.fired)} reminder(s) fired")
    return 0


async def escalate(settings: Settings) -> int:
    from cli.core_commands import with_db
    from refunds.jobs import refund_jobs

    summary = await with_db(settings, lambda: refund_jobs(settings, _now()))
    print(json.dumps(summary))
    return 0


async def outbox_send(settings: Settings) -> int:
    from cli.core_commands import with_db
    from notifications.sender import send_due

    report = await with_db(settings, lambda: send_due(settings, _now()))
    print(f"sent {report.sent}, undeliverable {report.undeliverable}, retrying {report.retrying}, "
          f"failed {report.failed}")
    return 0
