"""IoT commands: ``consume`` (the MQTT consumer alone, for scale-out), ``detect --as-of``, ``simulate``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime

from config.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("consume", help="run the MQTT consumer (+ IoT sweep and daily detection) in this process")
    p.add_argument("--with-broker", action="store_true", help="also start the embedded broker")
    p.add_argument("--no-sweep", action="store_true", help="ingest only; run sweeps/detection elsewhere")
    p.add_argument("--clock", choices=["wall", "replay"], default=None,
                   help="replay: the sweeper and daily job follow the newest device time ingested (back-logs, pilots)")
    p.set_defaults(func=consume)

    p = sub.add_parser("detect", help="run the daily IoT detection for a local date")
    p.add_argument("--as-of", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    p.add_argument("--now", type=datetime.fromisoformat, default=None,
                   help="replay: judge the day as a live run at this time would (ISO 8601; no offset: IOT_TIMEZONE)")
    p.set_defaults(func=lambda s, a: asyncio.run(detect(s, a.as_of, a.now)))

    p = sub.add_parser("simulate", help="publish realistic sensor traffic for the demo portfolio")
    p.add_argument("--days", type=int, default=30, help="days of history to back-fill first (default 30)")
    p.add_argument("--live-minutes", type=float, default=10.0, help="then publish live traffic this long")
    p.add_argument("--no-prepare", action="store_true", help="do not register devices / set up the scenarios")
    p.set_defaults(func=lambda s, a: asyncio.run(simulate(s, a)))


def consume(settings: Settings, args: argparse.Namespace) -> int:
    from cli.background import run_services

    entry = "iot.runner:run_ingest_only" if args.no_sweep else "iot.runner:run_consumer"
    if args.clock:
        settings = settings.model_copy(update={"iot_clock": args.clock})
    asyncio.run(run_services(settings, with_broker=args.with_broker, services=[entry]))
    return 0


async def detect(settings: Settings, as_of: date, now: datetime | None = None) -> int:
    from zoneinfo import ZoneInfo

    from cli.core_commands import with_db
    from core.clock import SystemClock
    from core.errors import AppError
    from iot.jobs import detect_on_demand

    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo(settings.iot_timezone))
    try:
        stats = await with_db(settings, lambda: detect_on_demand(as_of, settings, now or SystemClock().now(),
                                                                 replay=now is not None))
    except AppError as exc:
        print(json.dumps(exc.as_dict(), ensure_ascii=False), file=sys.stderr)
        return 2
    print(json.dumps(stats, ensure_ascii=False, indent=2, default=str))
    return 0


async def simulate(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from iot.simulator import run_simulation

    try:
        await with_db(settings, lambda: run_simulation(settings, days=args.days, live_minutes=args.live_minutes,
                                                       prepare=not args.no_prepare))
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0
