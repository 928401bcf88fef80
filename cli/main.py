"""``rentwatch`` — the one command-line entry point."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from config.settings import SettingsError, load_settings
from core.pii import install_log_masking

#: Modules exposing ``register(subparsers)``; each domain adds its own commands in its own module.
COMMAND_MODULES = ["cli.core_commands", "cli.iot_commands", "cli.notify_commands", "cli.inspection_commands",
                   "cli.leasing_commands", "cli.occupancy_commands", "cli.reconciliation_commands",
                   "cli.credential_commands",
                   "cli.contracts_commands",
                   "cli.leasehealth_commands"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rentwatch", description="rental portfolio operations backend")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()  # phones, ID numbers, bank accounts never reach a log (core.pii)
    result = args.func(settings, args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
