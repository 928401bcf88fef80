from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from config.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the API (+ embedded broker and background services unless told not to)")
    p.add_argument("--no-background", action="store_true", help="only the HTTP API; run `worker` elsewhere")
    p.add_argument("--no-migrate", action="store_true", help="do not apply migrations before starting")
    p.set_defaults(func=serve)

    p = sub.add_parser("worker", help="run the background services (consumer, schedulers, outbox) alone")
    p.add_argument("--with-broker", action="store_true", help="also start the embedded broker")
    p.set_defaults(func=worker)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func=lambda s, a: asyncio.run(migrate(s)))

    p = sub.add_parser("makemigrations", help="(development) write a migration for model changes")
    p.add_argument("--name", default=None)
    p.add_argument("--check", action="store_true", help="exit 1 if models and migrations differ")
    p.set_defaults(func=lambda s, a: asyncio.run(makemigrations(s, a.name, a.check)))

    p = sub.add_parser("import-portfolio", help="import cities, buildings and units from CSV or JSON")
    p.add_argument("file", type=Path)
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(func=lambda s, a: asyncio.run(import_portfolio_file(s, a.file, a.dry_run)))

    p = sub.add_parser("create-admin", help="create an ADMIN user with a console password and a WeChat binding code")
    p.add_argument("--name", required=True)
    p.add_argument("--phone", default=None)
    p.add_argument("--login", default="admin", help="console login name (default: admin)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the console password from standard input (default: generate one and print it once)")
    p.set_defaults(func=lambda s, a: asyncio.run(create_admin(s, a.name, a.phone, a.login, a.password_stdin)))

    p = sub.add_parser("demo-seed", help="load the demo portfolio (idempotent)")
    p.set_defaults(func=lambda s, a: asyncio.run(demo_seed(s)))


def serve(settings: Settings, args: argparse.Namespace) -> int:
    from cli.server import run_server
    from core.broker import BrokerPortTaken, ensure_port_free

    if not args.no_background and settings.uses_embedded_broker:
        try:
            ensure_port_free(settings.embedded_mqtt_host, settings.embedded_mqtt_port)
        except BrokerPortTaken as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if not args.no_migrate:
        asyncio.run(migrate(settings))
    run_server(with_background=not args.no_background)
    return 0


def worker(settings: Settings, args: argparse.Namespace) -> int:
    from cli.background import run_services

    asyncio.run(run_services(settings, with_broker=args.with_broker))
    return 0


async def migrate(settings: Settings) -> None:
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate as migrate_api

    from tortoise_config import tortoise_config

    def progress(event: str, app_label: str, name: str) -> None:
        print(f"  {event}: {app_label}.{name}", file=sys.stderr)

    try:
        await migrate_api(config=tortoise_config(settings), progress=progress)
    finally:
        await Tortoise.close_connections()


async def makemigrations(settings: Settings, name: str | None, check: bool) -> int:
    from tortoise import Tortoise
    from tortoise.migrations.autodetector import MigrationAutodetector

    from tortoise_config import tortoise_config

    config = tortoise_config(settings)
    await Tortoise.init(config=config, init_connections=False)
    try:
        writers = await MigrationAutodetector(Tortoise.apps, config["apps"]).changes()
        if check:
            if writers:
                print("models have changes without a migration: run `rentwatch makemigrations`", file=sys.stderr)
                raise SystemExit(1)
            print("migrations are up to date")
            return 0
        for writer in writers:
            if name:
                writer.name = f"{writer.name.split('_', 1)[0]}_{name}"
            print(f"created {writer.write()}")
        if not writers:
            print("no changes")
        return 0
    finally:
        await Tortoise.close_connections()


async def with_db(settings: Settings, coro_fn):
    from core.db import close_db
    from tortoise_config import init_db

    await init_db(settings)
    try:
        return await coro_fn()
    finally:
        await close_db()


async def import_portfolio_file(settings: Settings, path: Path, dry_run: bool) -> int:
    from cli.progress import Progress
    from portfolio.importer import ImportFormatError, import_portfolio, read_rows

    try:
        rows = read_rows(path.read_bytes(), "json" if path.suffix.lower() == ".json" else "csv")
    except (OSError, ImportFormatError) as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    report = await with_db(settings, lambda: import_portfolio(rows, dry_run=dry_run,
                                                             progress=Progress("importing rows")))
    for rejection in report.rejected:
        problems = "; ".join(f"{e['field']}: {e['message']}" for e in rejection["errors"])
        print(f"row {rejection['row']} ({rejection.get('unit_code')}): {problems}", file=sys.stderr)
    if report.rejected:
        print(f"{len(report.rejected)} of {report.rows} rows rejected; nothing was imported", file=sys.stderr)
        raise SystemExit(1)
    print(f"{'checked' if dry_run else 'imported'} {report.rows} rows: created {report.created}, "
          f"updated {report.updated}")
    return 0


async def create_admin(settings: Settings, name: str, phone: str | None, login: str = "admin",
                       password_stdin: bool = False) -> int:
    import secrets
    from datetime import timedelta

    from accounts.choices import BindingPurpose, Role
    from accounts.service import create_staff, issue_binding_code, set_password
    from core.clock import SystemClock
    from core.errors import AppError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(12)

    async def go():
        now = SystemClock().now()
        user = await create_staff(name=name, role=Role.ADMIN, phone=phone, now=now)
        await set_password(user, password, now=now, login=login)
        code = await issue_binding_code(purpose=BindingPurpose.STAFF, now=now,
                                        ttl=timedelta(hours=settings.binding_code_ttl_hours), user=user)
        print(f"created ADMIN user {user.id} ({name}); console login: {login.lower()} at /console/login")
        if not password_stdin:
            print(f"one-time password (shown once, change it after signing in): {password}")
        print(f"WeChat binding code: {code}")

    try:
        await with_db(settings, go)
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


async def demo_seed(settings: Settings) -> int:
    from cli.demo import seed_demo

    await with_db(settings, lambda: seed_demo(dev_passwords=not settings.is_production))
    return 0
