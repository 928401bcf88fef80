"""Which real database the tests use: in-memory SQLite by default, PostgreSQL when
RW_TEST_DATABASE_URL points at one (``{}`` in the name is replaced by a fresh database per test)."""

from __future__ import annotations

import asyncio
import copy
import os
import queue
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg
from tortoise.backends.base.config_generator import generate_config
from tortoise.context import TortoiseContext, tortoise_test_context

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


# ---- A fresh database per test, copied from one built once per worker ---------------------------------------
# Creating a database and its ~70 tables takes 0.6–1 s per test on PostgreSQL and ~60 ms on SQLite; building the
# test world into it (tests/support/world.py, hundreds of ORM inserts) another 0.1–0.5 s. Both are the same for
# every test of a run, so each worker builds them once: PostgreSQL copies a template database (CREATE DATABASE …
# TEMPLATE, under 0.1 s), SQLite loads a serialized in-memory database (a few ms). Each test still gets a database
# of its own, and the Python handle to the seeded rows (e.g. the World) is a deep copy of the one built with them.

#: A named, deterministic filling of the schema: ``(key, build)``; ``build()`` runs in the new database's context
#: and returns the handle tests use (e.g. the World). The key names what is built (and from which inputs).
Seed = tuple[str, Callable[[], Awaitable[Any]]]

_templates: dict[tuple[str, str], str] = {}  # (url pattern, seed key) → template database
_snapshots: dict[str, bytes] = {}  # seed key → serialized SQLite database
_handles: dict[tuple[str, str], Any] = {}  # (url or pattern, seed key) → what the seed returned


def _server_dsn(url: str) -> str:
    parts = urlsplit(url.replace("asyncpg://", "postgres://", 1))
    return urlunsplit(parts._replace(path="/postgres"))


def _database_url(url_pattern: str, name: str) -> str:
    parts = urlsplit(url_pattern)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _config(url: str, modules: Sequence[str]) -> dict[str, Any]:
    return generate_config(url, app_modules={"models": list(modules)}, testing=True)


def _name_for(url_pattern: str, suffix: str) -> str:
    return unquote(urlsplit(url_pattern).path.lstrip("/")).format(suffix)


async def _install_schema(ctx: TortoiseContext) -> None:
    """The models' tables plus what the migrations add that Tortoise's schema generation does not."""
    from audit.service import install_triggers as install_audit_triggers
    from core.changes import install_change_triggers
    from iot.daily_facts import install_triggers as install_rollup_triggers

    await ctx.generate_schemas(safe=False)
    await install_change_triggers()  # migration 0002: the change log the caches poll
    await install_audit_triggers()  # migration 0015: audit_events refuses UPDATE and DELETE
    await install_rollup_triggers()  # migration 0021: roll-up changes for the daily facts


async def _build_template(url_pattern: str, admin: asyncpg.Connection, modules: Sequence[str],
                          seed: Seed | None) -> str:
    name = _name_for(url_pattern, f"tpl{os.getpid()}_{uuid.uuid4().hex[:6]}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    ctx = TortoiseContext()
    async with ctx:
        await ctx.init(config=_config(_database_url(url_pattern, name), modules), use_tz=True, timezone="UTC")
        await _install_schema(ctx)
        if seed is not None:
            _handles[(url_pattern, seed[0])] = await seed[1]()
    return name


@asynccontextmanager
async def postgres_test_context(modules: Sequence[str], url_pattern: str,
                                seed: Seed | None = None) -> AsyncIterator[tuple[TortoiseContext, Any]]:
    """A new PostgreSQL database (for a ``{}`` URL) copied from this worker's template for ``seed``, dropped
    afterwards; yields the context and a copy of the seed's handle (None without a seed)."""
    key = (url_pattern, seed[0] if seed else "")
    admin = await asyncpg.connect(_server_dsn(url_pattern))
    try:
        template = _templates.get(key)
        if template is None:
            template = _templates[key] = await _build_template(url_pattern, admin, modules, seed)
        name = _name_for(url_pattern, uuid.uuid4().hex[:12])
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    try:
        ctx = TortoiseContext()
        async with ctx:
            await ctx.init(config=_config(_database_url(url_pattern, name), modules), use_tz=True, timezone="UTC")
            yield ctx, copy.deepcopy(_handles.get(key))
    finally:
        _dropper.drop(_server_dsn(url_pattern), name)


class _Dropper:
    """Drops the tests' databases on a thread of its own: DROP DATABASE waits for the server to unlink the files
    (seconds on a busy disk), which no test needs to wait for. ``drain()`` waits until every drop is done."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def drop(self, server_dsn: str, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="drop-test-databases",
                                            daemon=True)
            self._thread.start()
        self._queue.put((server_dsn, name))

    async def _run(self) -> None:
        admins: dict[str, asyncpg.Connection] = {}
        loop = asyncio.get_running_loop()
        while (item := await loop.run_in_executor(None, self._queue.get)) is not None:
            server_dsn, name = item
            try:
                if server_dsn not in admins:
                    admins[server_dsn] = await asyncpg.connect(server_dsn)
                await admins[server_dsn].execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - reported by drain(); the next drop reconnects
                self.errors.append(f"{name}: {exc!r}")
                admins.pop(server_dsn, None)
            finally:
                self._queue.task_done()
        for admin in admins.values():
            await admin.close()

    def drain(self) -> None:
        if self._thread is not None:
            self._queue.join()
            self._queue.put(None)
            self._thread.join()
            self._thread = None


_dropper = _Dropper()


async def _sqlite_connection(ctx: TortoiseContext) -> Any:
    """The aiosqlite connection behind an in-memory database's only Tortoise client."""
    client = ctx.connections.get("default")
    async with client.acquire_connection() as connection:
        return connection


@asynccontextmanager
async def sqlite_test_context(modules: Sequence[str], url: str,
                              seed: Seed | None = None) -> AsyncIterator[tuple[TortoiseContext, Any]]:
    """A new in-memory SQLite database loaded from this worker's snapshot for ``seed``; yields the context and a
    copy of the seed's handle (None without a seed)."""
    key = seed[0] if seed else ""
    snapshot = _snapshots.get(key)
    if snapshot is None:
        ctx = TortoiseContext()
        async with ctx:
            await ctx.init(config=_config(url, modules), _create_db=True, use_tz=True, timezone="UTC")
            await _install_schema(ctx)
            if seed is not None:
                _handles[(url, key)] = await seed[1]()
            connection = await _sqlite_connection(ctx)
            snapshot = _snapshots[key] = await connection._execute(connection._conn.serialize)
    ctx = TortoiseContext()
    async with ctx:
        await ctx.init(config=_config(url, modules), _create_db=True, use_tz=True, timezone="UTC")
        connection = await _sqlite_connection(ctx)
        await connection._execute(connection._conn.deserialize, snapshot)
        yield ctx, copy.deepcopy(_handles.get((url, key)))


def database_for_test(modules: Sequence[str], url: str, seed: Seed | None = None):
    """The per-test database for ``url``: a PostgreSQL ``{}`` pattern or an in-memory SQLite URL from a copy,
    anything else built from scratch."""
    if on_postgres() and "{}" in url:
        return postgres_test_context(modules, url, seed)
    if url.startswith("sqlite://:memory:"):
        return sqlite_test_context(modules, url, seed)
    return _fresh_test_context(modules, url, seed)


@asynccontextmanager
async def _fresh_test_context(modules: Sequence[str], url: str,
                              seed: Seed | None = None) -> AsyncIterator[tuple[TortoiseContext, Any]]:
    async with tortoise_test_context(list(modules), db_url=url) as ctx:
        await _install_schema(ctx)
        yield ctx, (await seed[1]() if seed else None)


async def drop_templates() -> None:
    """At the end of the run: the databases still being dropped, then the templates this process built."""
    await asyncio.get_running_loop().run_in_executor(None, _dropper.drain)
    for error in _dropper.errors:  # a database left behind costs disk, not a result: said, not failed
        print(f"tests/support/db.py: a test database was not dropped: {error}", file=sys.stderr)
    for key, template in list(_templates.items()):
        admin = await asyncpg.connect(_server_dsn(key[0]))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        finally:
            await admin.close()
        del _templates[key]
