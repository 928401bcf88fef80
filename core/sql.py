"""Raw SQL where it pays (bulk upserts, roll-ups, hot single-row updates), behind one helper.

Two things a hand-written statement gets wrong as the schema moves, kept here in one place:

- **Names come from the models.** ``names(Model)`` gives the table (``str(t)``) and its columns as attributes
  (``t.device`` → ``device_id`` for a foreign key), read from ``Model._meta``; a field that does not exist raises
  ``AttributeError`` when the statement is built, not a database error in production.
- **Placeholders are chosen here and nowhere else.** Statements are written with ``?`` (the n-th parameter in
  order, as SQLite numbers them: one more than the
  largest so far) or ``?N`` (parameter N, 1-based, for a value used twice). PostgreSQL (asyncpg) gets ``$N``; SQLite
  takes both forms as written. ``render`` rewrites (cached per statement and dialect); ``execute``,
  ``execute_many`` and ``bulk`` take a connection and do it for you. ``?`` inside a quoted literal is left alone.

``bulk`` writes many rows in one statement: on PostgreSQL one array per column expanded with ``unnest`` (one
round trip, arrays encoded in asyncpg's binary protocol), elsewhere ``executemany`` over ``VALUES``;
``bulk_returning`` the same for an ``INSERT … RETURNING`` (multi-row ``VALUES`` on SQLite).

``Materialized`` computes a large result once and reads it back sorted, a slice at a time: on PostgreSQL a temporary
table and server-side cursors on a pool connection of its own (the client never holds the whole result), elsewhere
the statement run per read and sliced.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.models import Model

from core.pg_engine import PooledPostgresClient

POSTGRES = "postgres"

#: column type names of ``bulk`` → PostgreSQL array element types
SQL_TYPES = {"int": "integer", "int8": "bigint", "float8": "double precision", "text": "text", "bool": "boolean",
             "timestamptz": "timestamptz", "date": "date", "jsonb": "jsonb"}

_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?(\d+)?")


def dialect(conn: BaseDBAsyncClient | None = None) -> str:
    """The SQL dialect of ``conn`` (default: the ``default`` connection, the caller's transaction if any)."""
    if conn is None:
        from tortoise.connection import get_connection

        conn = get_connection("default")
    return conn.capabilities.dialect


def is_postgres(conn: BaseDBAsyncClient | None = None) -> bool:
    return dialect(conn) == POSTGRES


@lru_cache(maxsize=512)
def _render(sql: str, postgres: bool) -> str:
    if not postgres:
        return sql
    counter = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal counter
        text = match.group(0)
        if text.startswith("'"):
            return text
        if match.group(1):  # SQLite's rule: a bare ``?`` after ``?N`` is parameter N + 1
            counter = max(counter, int(match.group(1)))
            return f"${match.group(1)}"
        counter += 1
        return f"${counter}"

    return _PLACEHOLDER.sub(replace, sql)


def render(sql: str, conn: BaseDBAsyncClient | None = None) -> str:
    """``sql`` written with ``?`` / ``?N`` placeholders, in the placeholder style of ``conn``'s dialect."""
    return _render(sql, is_postgres(conn))


def marks(n: int) -> str:
    """``?, ?, …`` for an ``IN (…)`` list of ``n`` values."""
    return ", ".join("?" * n)


async def execute(conn: BaseDBAsyncClient, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """Run one statement; returns its rows (mapping-like on both backends)."""
    _, rows = await conn.execute_query(render(sql, conn), list(params))
    return list(rows)


async def read(conn: BaseDBAsyncClient, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """``execute`` for one read statement on a hot path: outside a transaction on PostgreSQL it runs on one of the
    worker's held connections (core.pg_engine: no pool round per statement); in a transaction and on SQLite as
    ``execute`` does. Rows are mapping-like on both backends."""
    if isinstance(conn, PooledPostgresClient):
        return await conn.fetch_held(_render(sql, True), list(params))
    return await execute(conn, sql, params)


async def execute_many(conn: BaseDBAsyncClient, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    await conn.execute_many(render(sql, conn), [list(r) for r in rows])


class Materialized:
    """A large read-only result (an aggregate) computed once and read back sorted, in slices, as often as needed
    (``async with Materialized(conn, sql, params) as m: async for rows in m.read(order_by=…)``), never held whole.

    On PostgreSQL outside a transaction: on a pool connection of its own, in a transaction with ``pg_settings``
    set for it alone (e.g. ``{"jit": "off"}``), the statement fills a temporary table (``CREATE TABLE AS`` may use
    parallel workers, a cursor may not; dropped at the end) and each read is a server-side cursor over it, so the
    caller may run other statements between slices. Inside a transaction (one connection, held by its lock) and on
    SQLite each read runs the statement and slices its rows."""

    def __init__(self, conn: BaseDBAsyncClient, sql: str, params: Sequence[Any] = (), *,
                 pg_settings: Mapping[str, str] | None = None):
        self._conn, self._sql, self._params = conn, sql, list(params)
        self._pg_settings = dict(pg_settings or {})
        self._table = f"rw_materialized_{next(_materialized)}"
        self._stack: contextlib.AsyncExitStack | None = None
        self._raw: Any = None

    async def __aenter__(self) -> Materialized:
        if is_postgres(self._conn) and not isinstance(self._conn, TransactionalDBClient):
            async with contextlib.AsyncExitStack() as stack:
                raw = await stack.enter_async_context(self._conn.acquire_connection())
                await stack.enter_async_context(raw.transaction())
                for name, value in self._pg_settings.items():
                    await raw.execute("SELECT set_config($1, $2, true)", name, value)
                await raw.execute(f"CREATE TEMPORARY TABLE {self._table} ON COMMIT DROP AS "
                                  f"{render(self._sql, self._conn)}", *self._params)
                self._raw, self._stack = raw, stack.pop_all()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._stack is not None:
            stack, self._stack, self._raw = self._stack, None, None
            await stack.__aexit__(*exc)

    async def read(self, *, order_by: str, where: str = "", params: Sequence[Any] = (),
                   size: int = 5000) -> AsyncIterator[list[Any]]:
        """The rows (tuple-like on both backends) matching ``where`` (written with ``?``, its own ``params``),
        sorted by ``order_by``, at most ``size`` at a time."""
        condition = f" WHERE {where}" if where else ""
        if self._raw is not None:
            cursor = await self._raw.cursor(
                render(f"SELECT * FROM {self._table}{condition} ORDER BY {order_by}", self._conn), *params)
            while rows := await cursor.fetch(size):
                yield rows
            return
        rows = await execute(self._conn, f"SELECT * FROM ({self._sql}) AS m{condition} ORDER BY {order_by}",
                             [*self._params, *params])
        for start in range(0, len(rows), size):
            yield rows[start:start + size]


_materialized = itertools.count(1)


#: Parameters in one statement: both PostgreSQL (32767) and SQLite (32766 since 3.32) take this many.
MAX_PARAMETERS = 32_000


async def insert_returning(conn: BaseDBAsyncClient, instances: Sequence[Model],
                           returning: Sequence[str]) -> list[Any]:
    """Insert new instances of one model with a multi-row ``INSERT … RETURNING`` (one statement per 32,000
    parameters), each value converted by its field as ``save()`` converts it (defaults, ``auto_now``). Returns
    the rows of the ``returning`` fields' columns; their order is the database's, so return a unique column too
    to match them to the instances. All rows or none: a constraint violation fails the statement."""
    if not instances:
        return []
    meta = type(instances[0])._meta
    fields = [name for name in meta.fields_db_projection if not meta.fields_map[name].generated]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in fields)
    back = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in returning)
    row_marks = f"({marks(len(fields))})"
    per_statement = max(1, MAX_PARAMETERS // len(fields))
    out: list[Any] = []
    for start in range(0, len(instances), per_statement):
        part = instances[start:start + per_statement]
        params = [meta.fields_map[name].to_db_value(getattr(obj, name), obj) for obj in part for name in fields]
        statement = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {", ".join([row_marks] * len(part))} ' \
                    f"RETURNING {back}"
        # execute_query_dict: asyncpg's execute_query answers an INSERT with its row count only
        out += await conn.execute_query_dict(render(statement, conn), params)
    return out


async def bulk(conn: BaseDBAsyncClient, sql: str, types: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Many rows in one statement. ``sql`` carries ``{rows}`` where the row source goes (``INSERT … {rows} ON
    CONFLICT …``, or ``UPDATE … FROM ({rows}) AS v(c0, c1, …)``); ``types`` name each column (``SQL_TYPES``)."""
    if not rows:
        return
    if is_postgres(conn):
        arrays = ", ".join(f"${n}::{SQL_TYPES[t]}[]" for n, t in enumerate(types, 1))
        await conn.execute_query(sql.format(rows=f"SELECT * FROM unnest({arrays})"),
                                 [list(column) for column in zip(*rows, strict=True)])
    else:
        await conn.execute_many(sql.format(rows=f"VALUES ({marks(len(types))})"), [list(r) for r in rows])


async def bulk_returning(conn: BaseDBAsyncClient, sql: str, types: Sequence[str],
                         rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """``bulk`` for an ``INSERT … {rows} … RETURNING …``: the returned rows (dicts, in the database's order, so
    return a unique column to match them to the input). On PostgreSQL one statement (``unnest``), elsewhere one
    multi-row ``VALUES`` per 32,000 parameters. All rows or none: a constraint violation fails the statement."""
    if not rows:
        return []
    if is_postgres(conn):
        arrays = ", ".join(f"${n}::{SQL_TYPES[t]}[]" for n, t in enumerate(types, 1))
        return await conn.execute_query_dict(sql.format(rows=f"SELECT * FROM unnest({arrays})"),
                                             [list(column) for column in zip(*rows, strict=True)])
    row_marks = f"({marks(len(types))})"
    per_statement = max(1, MAX_PARAMETERS // len(types))
    out: list[dict[str, Any]] = []
    for start in range(0, len(rows), per_statement):
        part = rows[start:start + per_statement]
        out += await conn.execute_query_dict(sql.format(rows=f"VALUES {', '.join([row_marks] * len(part))}"),
                                             [value for row in part for value in row])
    return out


async def copy_new(conn: BaseDBAsyncClient, table: str, columns: Sequence[str], fallback: str, types: Sequence[str],
                   rows: Sequence[Sequence[Any]]) -> None:
    """Rows expected to be new (none of their unique keys stored yet), inside a transaction: on PostgreSQL one
    ``COPY`` (binary) in a savepoint; should any be stored already (a unique violation: a replayed batch), the
    savepoint is rolled back and all of them go in with ``fallback`` instead (``bulk``'s ``INSERT … {rows} ON
    CONFLICT … DO NOTHING``), so the outcome is the fallback's either way. Elsewhere ``bulk(conn, fallback, …)``."""
    if not rows:
        return
    if is_postgres(conn):
        import asyncpg

        async with conn.acquire_connection() as raw:
            try:
                async with raw.transaction():  # a savepoint: the transaction goes on after a violation
                    await raw.copy_records_to_table(table, records=rows, columns=list(columns))
                return
            except asyncpg.UniqueViolationError:
                pass
    await bulk(conn, fallback, types, rows)


class Names:
    """A model's table and column names for raw SQL: ``str(names)`` is the table, ``names.<field>`` its column
    (the ``_id`` column for a foreign key). Unknown fields raise ``AttributeError``."""

    __slots__ = ("_model", "_table", "_columns")

    def __init__(self, model: type[Model]):
        meta = model._meta
        self._model = model
        self._table: str = meta.db_table
        columns: dict[str, str] = {}
        for name, field in meta.fields_map.items():
            source = getattr(field, "source_field", None)
            if name in columns:
                continue
            if name in meta.fk_fields or name in meta.o2o_fields:
                columns[name] = columns[f"{name}_id"] = source or f"{name}_id"
            elif name in meta.fetch_fields:
                continue  # reverse relations and many-to-many: no column here
            else:
                columns[name] = source or name
        self._columns = columns

    def __getattr__(self, field: str) -> str:
        try:
            return self._columns[field]
        except KeyError:
            raise AttributeError(f"{self._model.__name__} has no column for field {field!r}") from None

    def cols(self, *fields: str) -> str:
        """``a, b, c`` — the columns of ``fields``, in order."""
        return ", ".join(getattr(self, f) for f in fields)

    def __str__(self) -> str:
        return self._table

    def __format__(self, spec: str) -> str:
        return self._table


@cache
def names(model: type[Model]) -> Names:
    """The (cached) ``Names`` of ``model``."""
    return Names(model)
