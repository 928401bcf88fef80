"""Statement commands: ``rentwatch statements import FILE [--format NAME@V] [--building CODE] [--now]``,
``rentwatch statements reconcile [--now]`` (the daily run, now) and ``rentwatch statements demo-export OUT``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from cli.leasing_commands import _now
from config.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    statements = sub.add_parser("statements", help="bank statement reconciliation").add_subparsers(
        dest="statements_command", required=True)
    p = statements.add_parser("import", help="import a bank CSV/XLSX export, WeChat Pay or Alipay bill")
    p.add_argument("file", type=Path)
    p.add_argument("--format", default=None, help="name or name@version (default: recognised from the header)")
    p.add_argument("--building", default=None, help="code of the building whose account this is")
    p.add_argument("--now", default=None)
    p.set_defaults(func=lambda s, a: asyncio.run(import_file(s, a)))
    p = statements.add_parser("reconcile", help="decide unmatched lines again and scan for discrepancies")
    p.add_argument("--now", default=None)
    p.set_defaults(func=lambda s, a: asyncio.run(reconcile(s, a)))
    p = statements.add_parser("demo-export", help="write the demo bank export (every discrepancy kind)")
    p.add_argument("out", type=Path)
    p.add_argument("--building", default="SZ-FT-B")
    p.add_argument("--now", default=None)
    p.set_defaults(func=lambda s, a: asyncio.run(demo_export(s, a)))


async def _building_id(code: str | None) -> int | None:
    from models.portfolio import Building

    if not code:
        return None
    building = await Building.get_or_none(code=code)
    if building is None:
        raise SystemExit(f"error: no building {code}")
    return building.id


async def import_file(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from core.errors import AppError
    from reconciliation.service import ReconciliationConfig, import_statement

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    now = _now(args.now)

    async def run():
        return await import_statement(data, filename=args.file.name, now=now,
                                      cfg=ReconciliationConfig.from_settings(settings), wanted=args.format,
                                      building_id=await _building_id(args.building))

    try:
        report = await with_db(settings, run)
    except AppError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        if exc.details:
            print(json.dumps(exc.details, ensure_ascii=False, indent=1)[:4000], file=sys.stderr)
        return 1
    print(f"{report['format']} ({report['encoding']}): {report['lines_read']} lines, {report['lines_new']} new, "
          f"{report['lines_duplicate']} already imported; reconcile {report['reconcile']}")
    return 0


async def reconcile(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from reconciliation.jobs import daily_reconciliation

    result = await with_db(settings, lambda: daily_reconciliation(settings, _now(args.now), force=True))
    print(json.dumps(result, ensure_ascii=False, default=str))
    return 0


async def demo_export(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from reconciliation.demo import demo_bank_export

    async def run():
        return await demo_bank_export(_now(args.now), building_id=await _building_id(args.building))

    try:
        statement = await with_db(settings, run)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.write_bytes(statement.text.encode("gbk"))
    print(f"wrote {args.out} (GBK): " + ", ".join(f"{s['serial'] or 'hand entry'} → {s['expect']}"
                                                  for s in statement.plan))
    return 0
