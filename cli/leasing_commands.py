"""Ledger commands: ``rentwatch leases import FILE``, ``rentwatch schedules dry-run``, ``rentwatch schedules retry``.
Each accepts ``--now`` (ISO time) so runs can be replayed at a chosen moment."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path

from config.settings import Settings


def _now(value: str | None) -> datetime:
    from core.clock import SystemClock

    if not value:
        return SystemClock().now()
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise SystemExit("--now needs a time zone, e.g. 2026-12-01T09:00:00+08:00")
    return moment


def register(sub: argparse._SubParsersAction) -> None:
    leases = sub.add_parser("leases", help="lease ledger commands").add_subparsers(dest="leases_command",
                                                                                     required=True)
    p = leases.add_parser("import", help="import historic contracts from .xlsx or .csv (Chinese headers)")
    p.add_argument("file", type=Path)
    p.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    p.add_argument("--import-good-rows", action="store_true", help="import the valid rows even if some are bad")
    p.add_argument("--now", default=None)
    p.set_defaults(func=lambda s, a: asyncio.run(import_file(s, a)))

    schedules = sub.add_parser("schedules", help="rent schedule jobs").add_subparsers(dest="schedules_command",
                                                                                       required=True)
    p = schedules.add_parser("dry-run", help="regenerate every live lease's schedule in memory and report")
    p.add_argument("--lease", type=int, action="append", default=None, help="only these lease ids")
    p.set_defaults(func=lambda s, a: asyncio.run(dry_run(s, a)))
    p = schedules.add_parser("retry", help="retry failed schedule generations that are due")
    p.add_argument("--now", default=None)
    p.set_defaults(func=lambda s, a: asyncio.run(retry(s, a)))


async def import_file(settings: Settings, args: argparse.Namespace) -> int:
    from accounts.choices import Role
    from accounts.scope import Principal
    from cli.core_commands import with_db
    from core.errors import AppError
    from leasing.config import LeasingConfig
    from leasing.importer import ImportOptions, import_leases

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    principal = Principal(user_id=0, role=Role.ADMIN, name="cli", building_ids=None)
    options = ImportOptions(dry_run=args.dry_run, import_good_rows=args.import_good_rows)
    try:
        report = await with_db(settings, lambda: import_leases(
            data, filename=args.file.name, principal=principal, cfg=LeasingConfig.from_settings(settings),
            options=options, now=_now(args.now)))
    except AppError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    for error in report.errors:
        print(f"row {error['row']}: {error['field'] or '-'}: {error['code']}: {error['message']}", file=sys.stderr)
    summary = report.as_dict()
    print(f"{summary['rows']} rows: {summary['valid_rows']} valid, {len(summary['rejected_rows'])} rejected, "
          f"{len(summary['unchanged_rows'])} already imported; imported {summary['imported']}"
          f"{' (dry run)' if args.dry_run else ''}")
    if report.errors and not report.applied:
        print("nothing was imported" + ("" if args.dry_run else " (use --import-good-rows to import the valid ones)"),
              file=sys.stderr)
        return 1
    return 0


async def dry_run(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from leasing.config import LeasingConfig
    from leasing.jobs import dry_run as run

    report = await with_db(settings, lambda: run(LeasingConfig.from_settings(settings), lease_ids=args.lease))
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 1 if report["failed"] or report["differs"] else 0


async def retry(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from leasing.jobs import schedule_retries

    summary = await with_db(settings, lambda: schedule_retries(settings, _now(args.now)))
    print(json.dumps(summary))
    return 0
