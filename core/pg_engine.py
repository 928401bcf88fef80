"""Tortoise's asyncpg backend whose pooled connections are handed back without a reset round trip.

asyncpg resets a connection each time it goes back to the pool: an open transaction is rolled back (kept here),
then ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` is sent and awaited. Tortoise takes
a pooled connection for every statement outside a transaction, so every such statement cost a second round trip
to the server; on the scan's one-statement card read that was a third of the time (bench/inspections_bench.py).

That reset undoes session state, and this code keeps none on pooled connections: advisory locks are
transaction-level (``pg_try_advisory_xact_lock``; the WeChat Pay jobs' session lock is released in a ``finally``
on the connection that took it), nothing LISTENs, settings are ``SET LOCAL`` or connection parameters, cursors
live in transactions. tests/test_core_pg_engine.py keeps it so (a new session-level lock, LISTEN or plain SET in
the code fails it) and checks that a connection given back inside a transaction is still rolled back.
Registered for ``postgres://`` URLs by core.db (as core.sqlite_engine is for SQLite).
"""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionContext, TransactionContextPooled
from tortoise.backends.base.config_generator import DB_LOOKUP
from tortoise.connection import get_connections

ENGINE = __name__


class NoResetQueryConnection(asyncpg.Connection):
    """asyncpg always ends an open transaction on release; with an empty reset query it sends nothing else."""

    def get_reset_query(self) -> str:
        return ""


class CancelSafeTransactionContext(TransactionContextPooled):
    """Tortoise's context took a pooled connection and then awaited BEGIN: a task cancelled there (a service
    stopping at shutdown, a request whose client went away) never reached ``__aexit__`` and the connection never
    went back to the pool — one fewer for the rest of the process's life. Here a failure or cancellation after the
    connection is taken gives it back (asyncpg rolls back a transaction left open on release)."""

    async def __aenter__(self) -> Any:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        token = None
        try:
            token = get_connections().set(self.connection_name, self.client)
            await self.client.begin()
        except BaseException:
            try:
                with contextlib.suppress(Exception):
                    await pool.release(self.client._connection)
            finally:
                if token is not None:
                    get_connections().reset(token)
            raise
        self.token = token
        return self.client


class PooledPostgresClient(AsyncpgDBClient):
    connection_class = NoResetQueryConnection

    def _in_transaction(self) -> TransactionContext:
        return CancelSafeTransactionContext(TransactionWrapper(self), self._pool_init_lock)


client_class = PooledPostgresClient


def register() -> None:
    """Make ``postgres://`` (and ``postgresql://``, ``asyncpg://``: one lookup entry) URLs use this engine."""
    DB_LOOKUP["asyncpg"]["engine"] = ENGINE


__all__ = ["CancelSafeTransactionContext", "NoResetQueryConnection", "PooledPostgresClient", "register"]
