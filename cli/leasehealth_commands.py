"""``rentwatch lease-health`` — run the daily assessment once (``run``), print and export the monthly
《租约健康度报告》 (``report --month YYYY-MM [--xlsx FILE]``), or recompute the tenant profiles and print each
recommendation with its reasons (``profiles [--tenant ID]``). ``--now`` (ISO time with zone) replays a moment."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from cli.leasing_commands import _now
from config.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lease-health", help="lease health (租约健康度): the daily run, the monthly report")
    commands = p.add_subparsers(dest="lease_health_command", required=True)
    run = commands.add_parser("run", help="assess every live lease now; raise each finding's action once")
    run.add_argument("--now", default=None)
    run.set_defaults(func=lambda s, a: asyncio.run(run_once(s, a)))
    rep = commands.add_parser("report", help="the monthly 《租约健康度报告》 by level, building and city")
    rep.add_argument("--month", required=True, help="YYYY-MM")
    rep.add_argument("--xlsx", type=Path, default=None, help="also write the XLSX export here")
    rep.add_argument("--json", action="store_true", help="print the report as JSON")
    rep.add_argument("--now", default=None)
    rep.set_defaults(func=lambda s, a: asyncio.run(report(s, a)))
    prof = commands.add_parser("profiles", help="recompute tenant profiles (信用行为画像) and print the renewal "
                                                "recommendation with its reasons")
    prof.add_argument("--tenant", type=int, action="append", default=None, help="only this tenant (repeatable)")
    prof.add_argument("--now", default=None)
    prof.set_defaults(func=lambda s, a: asyncio.run(profiles(s, a)))


async def run_once(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from leasehealth.service import HealthConfig, run_health

    result = await with_db(settings, lambda: run_health(HealthConfig.from_settings(settings), _now(args.now)))
    print(json.dumps(result.summary(), ensure_ascii=False))
    return 0


async def report(settings: Settings, args: argparse.Namespace) -> int:
    from audit.service import SYSTEM, record_export
    from cli.core_commands import with_db
    from core.errors import AppError
    from leasehealth.service import HealthConfig, export_report_xlsx, monthly_report

    cfg = HealthConfig.from_settings(settings)
    now = _now(args.now)

    async def work() -> tuple[dict, bytes | None]:
        view = await monthly_report(args.month, cfg, now, None)
        if not args.xlsx:
            return view, None
        content = await export_report_xlsx(args.month, cfg, now, None)
        # audited as the API's export of the same report is; by the system (the CLI acts as no user), all buildings
        await record_export(SYSTEM, "lease_health_report", args.month, "xlsx", now)
        return view, content

    try:
        view, content = await with_db(settings, work)
    except AppError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(view, ensure_ascii=False))
    else:
        print(f"{view['title']} {view['month']} (评估日 {view['as_of']}): {view['leases']} 份租约, "
              + ", ".join(f"{k} {v}" for k, v in view["levels"].items()))
        for row in view["items"]:
            for finding in row["findings"]:
                print(f"  {finding['level']:<6} {row['city']} {row['building']} {row['unit_code']}"
                      f" 租约#{row['lease_id']} {finding['indicator']} {finding['period']}"
                      f" {finding['count']} ({finding['threshold']})"
                      f" → {finding['action']}")
    if content is not None:
        args.xlsx.write_bytes(content)
        print(f"written {args.xlsx}")
    return 0


async def profiles(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from leasehealth.profiles import profile_lines, run_profiles
    from leasehealth.service import HealthConfig

    async def work() -> tuple[dict, list[str]]:
        report = await run_profiles(HealthConfig.from_settings(settings), _now(args.now), tenant_ids=args.tenant)
        return report.summary(), await profile_lines(args.tenant)

    summary, lines = await with_db(settings, work)
    print(json.dumps(summary, ensure_ascii=False))
    for line in lines:
        print(line)
    return 0
