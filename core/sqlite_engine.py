"""Tortoise's SQLite backend with row counts that leave out rows written by triggers.

Tortoise counts an UPDATE/DELETE's affected rows on SQLite as the growth of ``total_changes``, which also counts
what triggers wrote. Our change-log triggers (core.changes) add a row for every tracked row changed, so a
conditional update of one unit would report 2 and every "exactly one row won" check would fail. PostgreSQL
reports only the statement's own rows; this engine makes SQLite do the same (``cursor.rowcount``, i.e.
``sqlite3_changes()``). Registered for ``sqlite://`` URLs by core.db.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.base.config_generator import DB_LOOKUP
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import get_connections

ENGINE = __name__

if TYPE_CHECKING:  # a mixin for SqliteClient and its transaction wrapper: type-checked as one
    _SqliteBase = SqliteClient
else:
    _SqliteBase = object


class DirectRowCount(_SqliteBase):
    @translate_exceptions
    async def execute_query(self, query: str, values: list | None = None):
        query = query.replace("\x00", "'||CHAR(0)||'")
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", query, values)
            start = connection.total_changes
            cursor = await connection.execute(query, values)
            try:
                rows = await cursor.fetchall()
            finally:
                await cursor.close()
            if connection.total_changes == start:
                return len(rows), rows
            return (cursor.rowcount if cursor.rowcount >= 0 else connection.total_changes - start), rows


class CancelSafeTransactionContext(SqliteTransactionContext):
    """Tortoise's context took the connection's one lock and then awaited BEGIN: a task cancelled there (a service
    stopping at shutdown) never reached ``__aexit__``, the lock stayed taken, and every later statement of the
    process waited for it forever (``serve`` hung on stop). Here a failure or cancellation after the lock is taken
    rolls back whatever BEGIN started and gives the lock back."""

    async def __aenter__(self) -> Any:
        await self._trxlock.acquire()
        token = None
        try:
            await self.ensure_connection()
            token = get_connections().set(self.connection_name, self.connection)
            await self.connection.begin()
        except BaseException:
            try:
                # aiosqlite runs statements in order on its thread: this comes after the BEGIN, if it ran.
                with contextlib.suppress(Exception):
                    await self.connection._connection.rollback()
            finally:
                if token is not None:
                    get_connections().reset(token)
                self._trxlock.release()
            raise
        self.token = token
        return self.connection


class DirectCountTransactionWrapper(DirectRowCount, SqliteTransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(DirectCountTransactionWrapper(self))


class DirectCountSqliteClient(DirectRowCount, SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return CancelSafeTransactionContext(DirectCountTransactionWrapper(self), self._lock)


client_class = DirectCountSqliteClient


def get_client_class(db_info: dict):
    return DirectCountSqliteClient


def register() -> None:
    """Make ``sqlite://`` URLs (the app's and tortoise_test_context's) use this engine."""
    DB_LOOKUP["sqlite"]["engine"] = ENGINE


__all__ = ["DirectCountSqliteClient", "register"]
