"""``rentwatch devices credentials issue|list|revoke|export-mosquitto``: broker accounts (iot.credentials)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from config.settings import Settings


def _when(value: str | None, settings: Settings) -> datetime:
    from core.clock import SystemClock

    if value is None:
        return SystemClock().now()
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(settings.business_timezone))


def register(sub: argparse._SubParsersAction) -> None:
    devices = sub.add_parser("devices", help="device administration").add_subparsers(dest="devices_command",
                                                                                     required=True)
    creds = devices.add_parser("credentials", help="MQTT broker accounts of devices, gateways and the consumer")
    cmd = creds.add_subparsers(dest="credentials_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--now", default=None, help="the time to record (ISO 8601; default: now)")
    common.add_argument("--by", default=None, help="who does this, for the record (default: the OS user)")

    p = cmd.add_parser("issue", parents=[common], help="issue an account; prints its password once")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--device", metavar="EXT_ID", help="one registered device")
    who.add_argument("--gateway", metavar="NAME", help="a gateway publishing for --gateway-device devices/--topic")
    who.add_argument("--consumer", metavar="NAME", help="a consumer account (subscribes to everything)")
    p.add_argument("--format", default=None, help="the device's format, when its id is registered in several")
    p.add_argument("--username", default=None, help="--device: the account name (default <format>-<id>)")
    p.add_argument("--gateway-device", action="append", default=[], metavar="EXT_ID",
                   help="--gateway: a device it publishes for (repeat)")
    p.add_argument("--topic", action="append", default=[], help="--gateway: an extra topic filter (repeat)")
    p.add_argument("--client-id", default=None, help="--consumer: the client id only it may use "
                                                     "(default RW_MQTT_CLIENT_ID)")
    p.set_defaults(func=lambda s, a: asyncio.run(issue(s, a)))

    p = cmd.add_parser("list", help="accounts (active; --all: with revoked ones), never passwords")
    p.add_argument("--all", action="store_true")
    p.set_defaults(func=lambda s, a: asyncio.run(list_accounts(s, a)))

    p = cmd.add_parser("revoke", parents=[common], help="revoke an account (the broker refuses it from then on)")
    p.add_argument("username")
    p.set_defaults(func=lambda s, a: asyncio.run(revoke(s, a)))

    p = cmd.add_parser("export-mosquitto", help="write Mosquitto's password_file and acl_file (then SIGHUP it)")
    p.add_argument("--password-file", required=True, type=Path)
    p.add_argument("--acl-file", required=True, type=Path)
    p.set_defaults(func=lambda s, a: asyncio.run(export(s, a)))


async def issue(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from core.errors import AppError
    from iot import credentials
    from iot.choices import DeviceFormat

    now, by = _when(args.now, settings), args.by or getpass.getuser()
    fmt = DeviceFormat(args.format.upper()) if args.format else None

    async def run():
        if args.device:
            return await credentials.issue_for_device(settings, args.device, now=now, by=by, fmt=fmt,
                                                      username=args.username)
        if args.gateway:
            return await credentials.issue_for_gateway(settings, args.gateway, now=now, by=by,
                                                       devices=[(ext, fmt) for ext in args.gateway_device],
                                                       topics=args.topic)
        return await credentials.issue_for_consumer(args.consumer, client_id=args.client_id or
                                                    settings.mqtt_client_id, now=now, by=by)

    try:
        issued = await with_db(settings, run)
    except AppError as exc:
        print(json.dumps(exc.as_dict(), ensure_ascii=False), file=sys.stderr)
        return 2
    print(json.dumps({**credentials.serialize(issued.credential), "password": issued.password},
                     ensure_ascii=False, indent=2))
    print("the password is shown only now: store it in the device (or RW_MQTT_URL); export-mosquitto for Mosquitto",
          file=sys.stderr)
    return 0


async def list_accounts(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from iot.credentials import list_credentials

    rows = await with_db(settings, lambda: list_credentials(include_revoked=args.all))
    print(json.dumps(rows, ensure_ascii=False, indent=2))
    return 0


async def revoke(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from iot.credentials import revoke as revoke_account

    count = await with_db(settings, lambda: revoke_account(args.username, now=_when(args.now, settings),
                                                           by=args.by or getpass.getuser()))
    print(json.dumps({"username": args.username, "revoked": count}))
    return 0 if count else 1


async def export(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from iot.credentials import export_mosquitto

    print(json.dumps(await with_db(settings, lambda: export_mosquitto(args.password_file, args.acl_file))))
    return 0
