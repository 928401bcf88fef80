"""Occupancy commands: ``rentwatch occupancy --as-of DAY`` (the figures of a day, snapshotting it first when it
has no complete snapshot yet), ``rentwatch occupancy snapshot --from --to`` (back-fill) and ``rentwatch audit
--month YYYY-MM [--xlsx FILE] [--pdf FILE]``. ``--now`` (ISO time with zone) replays a run at a chosen moment."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, timedelta
from pathlib import Path

from cli.leasing_commands import _now
from config.settings import Settings


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("occupancy", help="occupancy figures of a day (every definition side by side)")
    p.add_argument("--as-of", type=_day, default=None, help="the day (default: yesterday)")
    p.add_argument("--level", default="portfolio",
                   choices=["portfolio", "city", "building", "unit_type", "property_type", "unit"])
    p.add_argument("--no-snapshot", action="store_true", help="only read; do not snapshot a missing day")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--now", default=None)
    p.set_defaults(func=lambda s, a: asyncio.run(occupancy(s, a)))
    snap = p.add_subparsers(dest="occupancy_command").add_parser("snapshot", help="snapshot (back-fill) days")
    snap.add_argument("--from", dest="first", type=_day, required=True)
    snap.add_argument("--to", dest="last", type=_day, default=None)
    snap.add_argument("--force", action="store_true", help="recompute complete days too")
    snap.add_argument("--now", default=None)
    snap.set_defaults(func=lambda s, a: asyncio.run(snapshot(s, a)))

    p = sub.add_parser("audit", help="the monthly status-consistency audit (资产状态一致性审计报告)")
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.add_argument("--xlsx", type=Path, default=None, help="also write the XLSX export here")
    p.add_argument("--pdf", type=Path, default=None, help="also write the printable PDF here")
    p.add_argument("--now", default=None)
    p.set_defaults(func=lambda s, a: asyncio.run(audit(s, a)))


def _print_report(report: dict) -> None:
    period = report["period"]
    if report.get("stale"):
        print(f"! {report['stale']['label']}")
    if report.get("total") is None and report["level"] != "unit":
        print(f"no figures for {period['requested']}")
        return
    print(f"day {period['day']} (requested {period['requested']})")
    if report["level"] == "unit":
        for row in report["units"]:
            print(f"  {row['unit_code']:<18} {row['status']:<17} lease={row['lease_state']:<6} "
                  f"paid={'Y' if row['first_rent_paid'] else 'N'} flags={','.join(row['flags']) or '-'} "
                  f"sensor={row['sensor'] or '-'} effective={'Y' if row['counted']['effective'] else 'N'}")
        return
    groups = [("全部", report["total"]), *((g["label"], g) for g in report.get("groups", []))]
    for label, part in groups:
        print(f"{label}:")
        for figure in part["figures"]:
            print(f"  {figure['label']:<22} {figure['percent'] or '—':>8}  "
                  f"{figure['numerator']} / {figure['denominator']} {figure['measure']}")
        explained = part["explained"]
        print(f"  (excluded {explained['excluded']} {explained['excluded_by_kind']}, signed unpaid "
              f"{explained['signed_first_rent_unpaid']}, short stays {explained['short_stays_paid']}, "
              f"sensor coverage {explained['sensor_coverage']})")


async def occupancy(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from models.occupancy import OccupancySnapshotDay
    from occupancy.choices import DayState
    from occupancy.jobs import run_snapshot
    from occupancy.reports import Filters, day_report
    from occupancy.snapshot import local_day

    now = _now(args.now)
    day = args.as_of or local_day(now, settings.business_timezone) - timedelta(days=1)
    if day >= local_day(now, settings.business_timezone):
        print(f"error: {day} has not ended yet (now {now.isoformat()})", file=sys.stderr)
        return 2

    async def run() -> dict:
        record = await OccupancySnapshotDay.get_or_none(day=day)
        if not args.no_snapshot and (record is None or record.state != DayState.COMPLETE):
            result = await run_snapshot(settings, day, now)
            if result.reasons:
                print(f"snapshot of {day} incomplete: {'; '.join(result.reasons)}", file=sys.stderr)
        return await day_report(day, Filters(), args.level)

    report = await with_db(settings, run)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        _print_report(report)
    return 0 if report["complete"] else 1


async def snapshot(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from occupancy.jobs import backfill

    results = await with_db(settings, lambda: backfill(settings, args.first, args.last or args.first,
                                                       _now(args.now), force=args.force))
    for result in results:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    return 0 if all(r.state == "COMPLETE" for r in results) else 1


async def audit(settings: Settings, args: argparse.Namespace) -> int:
    from audit.service import SYSTEM, record_export
    from cli.core_commands import with_db
    from core.errors import AppError
    from inspections.fonts import FontMissing
    from occupancy.audit import audit_view, export_pdf, export_xlsx, generate_audit

    async def run() -> tuple[dict, bytes | None, bytes | None]:
        now = _now(args.now)
        await generate_audit(settings, args.month, now)
        view = await audit_view(args.month, None)
        content = await export_xlsx(args.month, None) if args.xlsx else None
        pdf = await export_pdf(args.month, None, settings.label_font_path) if args.pdf else None
        # audited as the API's exports of the audit are; by the system (the CLI acts as no user), all buildings
        for fmt, data in (("xlsx", content), ("pdf", pdf)):
            if data is not None:
                await record_export(SYSTEM, "occupancy_audit", args.month, fmt, now)
        return view, content, pdf

    try:
        view, content, pdf = await with_db(settings, run)
    except AppError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except FontMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    note = f"; {view['as_of_note']}" if view["as_of_note"] else ""
    print(f"资产状态一致性审计报告 {view['month']} (as of {view['as_of']}{note})")
    print(f"units {view['units']}, with differences {view['units_with_differences']} (rate {view['rate']})")
    for code, kind in view["kinds"].items():
        print(f"  {kind['label']:<16} {code:<28} {kind['count']:>4}  → {kind['process_step']}")
    for building in view["buildings"]:
        print(f"  {building['name']}: {building['units_with_differences']}/{building['units']} ({building['rate']})")
    for path, data in ((args.xlsx, content), (args.pdf, pdf)):
        if data is not None:
            path.write_bytes(data)
            print(f"written {path}")
    return 0
