"""Tortoise configuration from Settings, and the helpers that need to know the backend."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.exceptions import IntegrityError, TransactionManagementError  # noqa: F401 - re-export

from config.settings import Settings
from core import sqlite_engine
from core.sql import dialect, is_postgres  # noqa: F401 - re-export: the dialect is decided in core.sql only
from models import MODEL_MODULES

sqlite_engine.register()  # SQLite row counts exclude rows written by the change-log triggers

MIGRATIONS_MODULE = "models.migrations"


def normalize_db_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgres://" + url[len("postgresql://"):]
    return url


def tortoise_config(settings: Settings | str) -> dict[str, Any]:
    url = settings if isinstance(settings, str) else settings.resolved_database_url
    if url.startswith("sqlite://") and not url.startswith("sqlite://:memory:"):
        from pathlib import Path

        Path(url[len("sqlite://"):]).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": normalize_db_url(url)},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default",
                            "migrations": MIGRATIONS_MODULE}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(settings: Settings) -> None:
    # Global fallback: the server listener and the request tasks run in different contexts.
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()




async def ping() -> bool:
    from tortoise.connection import get_connection

    try:
        await get_connection("default").execute_query("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - health reporting only
        return False
