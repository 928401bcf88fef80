"""Tortoise configuration from Settings, and the helpers that need to know the backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise import Tortoise
from tortoise.exceptions import IntegrityError, TransactionManagementError  # noqa: F401 - re-export

from config.settings import Settings
from core import pg_engine, sqlite_engine
from core.sql import dialect, is_postgres  # noqa: F401 - re-export: the dialect is decided in core.sql only

sqlite_engine.register()  # SQLite row counts exclude rows written by the change-log triggers
pg_engine.register()  # pooled PostgreSQL connections go back without a reset round trip


def normalize_db_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgres://" + url[len("postgresql://"):]
    return url


def build_tortoise_config(settings: Settings | str, *, model_modules: Sequence[str],
                          migrations_module: str | None = None) -> dict[str, Any]:
    """The Tortoise configuration for one app label "models". Which modules hold the models is the caller's
    knowledge (tortoise_config.py): core does not import the models."""
    url = settings if isinstance(settings, str) else settings.resolved_database_url
    if url.startswith("sqlite://") and not url.startswith("sqlite://:memory:"):
        from pathlib import Path

        Path(url[len("sqlite://"):]).parent.mkdir(parents=True, exist_ok=True)
    app: dict[str, Any] = {"models": list(model_modules), "default_connection": "default"}
    if migrations_module:
        app["migrations"] = migrations_module
    return {
        "connections": {"default": normalize_db_url(url)},
        "apps": {"models": app},
        "use_tz": True,
        "timezone": "UTC",
    }


async def connect(config: dict[str, Any]) -> None:
    """Initialise Tortoise and open every connection now. Tortoise opens a connection lazily inside its
    connection lock and does not release the lock when that first opening is cancelled or fails: a load
    balancer's probe that hangs up during a worker's first query (SQLite) left the lock taken, and every later
    query of that worker waited forever. Opened here, at start-up, nothing cancels it, and a database that
    cannot be reached fails the start instead of the first request."""
    from tortoise.connection import get_connection

    # Global fallback: the server listener and the request tasks run in different contexts.
    await Tortoise.init(config=config, _enable_global_fallback=True)
    for alias in config["connections"]:
        await get_connection(alias).execute_query("SELECT 1")


async def close_db() -> None:
    await Tortoise.close_connections()




async def ping() -> bool:
    from tortoise.connection import get_connection

    try:
        await get_connection("default").execute_query("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - health reporting only
        return False
