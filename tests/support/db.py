"""Which real database the tests use: in-memory SQLite by default, PostgreSQL when
RW_TEST_DATABASE_URL points at one (``{}`` in the name is replaced by a fresh database per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg
from tortoise.backends.base.config_generator import generate_config
from tortoise.context import TortoiseContext

import core.db  # noqa: F401 - registers the SQLite engine the app uses (core.sqlite_engine)

DEFAULT_TEST_DB = "sqlite://:memory:"
#: Set by scripts/test.sh for the PostgreSQL pass: only tests that touch the database run again there.
DATABASE_PASS_ENV = "RW_TEST_DATABASE_ONLY"


def database_url_for_tests() -> str:
    return os.environ.get("RW_TEST_DATABASE_URL", DEFAULT_TEST_DB)


def on_postgres() -> bool:
    return database_url_for_tests().startswith(("postgres://", "postgresql://", "asyncpg://"))


def uses_test_database(item: Any) -> bool:
    """Whether a collected test reaches the test database: through the ``db`` fixture (directly or via ``app``,
    ``client``, ``world`` …) or, marked ``@pytest.mark.database``, by handing the test URL to a subprocess."""
    return "db" in getattr(item, "fixturenames", ()) or item.get_closest_marker("database") is not None


# ---- PostgreSQL: a fresh database per test, cloned from a template built once per run ------------------------
# Creating a database and its ~70 tables takes 0.6–1 s per test on this machine; CREATE DATABASE … TEMPLATE copies
# the finished schema (tables, indexes, the change-log triggers) in under 0.1 s. Each test still gets a database of
# its own, created before it and dropped after it.

_templates: dict[str, str] = {}


def _server_dsn(url: str) -> str:
    parts = urlsplit(url.replace("asyncpg://", "postgres://", 1))
    return urlunsplit(parts._replace(path="/postgres"))


def _database_url(url_pattern: str, name: str) -> str:
    parts = urlsplit(url_pattern)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _config(url_pattern: str, name: str, modules: Sequence[str]) -> dict[str, Any]:
    return generate_config(_database_url(url_pattern, name), app_modules={"models": list(modules)}, testing=True)


def _name_for(url_pattern: str, suffix: str) -> str:
    return unquote(urlsplit(url_pattern).path.lstrip("/")).format(suffix)


async def _build_template(url_pattern: str, admin: asyncpg.Connection, modules: Sequence[str]) -> str:
    from audit.service import install_triggers as install_audit_triggers
    from core.changes import install_change_triggers
    from iot.daily_facts import install_triggers as install_rollup_triggers

    name = _name_for(url_pattern, f"tpl{os.getpid()}_{uuid.uuid4().hex[:6]}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    ctx = TortoiseContext()
    async with ctx:
        await ctx.init(config=_config(url_pattern, name, modules), use_tz=True, timezone="UTC")
        await ctx.generate_schemas(safe=False)
        await install_change_triggers()
        await install_audit_triggers()
        await install_rollup_triggers()
    return name


@asynccontextmanager
async def postgres_test_context(modules: Sequence[str], url_pattern: str) -> AsyncIterator[TortoiseContext]:
    """What ``tortoise_test_context`` does for a ``{}`` PostgreSQL URL (a new database, the models' schema), with
    the schema copied from this run's template, and the database dropped afterwards."""
    admin = await asyncpg.connect(_server_dsn(url_pattern))
    try:
        template = _templates.get(url_pattern)
        if template is None:
            template = _templates[url_pattern] = await _build_template(url_pattern, admin, modules)
        name = _name_for(url_pattern, uuid.uuid4().hex[:12])
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    try:
        ctx = TortoiseContext()
        async with ctx:
            await ctx.init(config=_config(url_pattern, name, modules), use_tz=True, timezone="UTC")
            yield ctx
    finally:
        admin = await asyncpg.connect(_server_dsn(url_pattern))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def drop_templates() -> None:
    """At the end of the run: the templates this process built."""
    for url_pattern, template in list(_templates.items()):
        admin = await asyncpg.connect(_server_dsn(url_pattern))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        finally:
            await admin.close()
        del _templates[url_pattern]
