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

Hot reads (``fetch_held``: the scan's card and the caller's account) run on a few connections the client holds
for them, outside the pool: taking and giving back a pooled connection (Tortoise's wrapper, asyncpg's acquire
with its timeout, shield and queue, its release) cost more of the worker's time than the statement's own round
trip. Those connections only ever run single read statements outside a transaction; one that fails other than
by a database error (cancelled, broken) is closed, not handed on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
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


class HeldConnections:
    """Up to ``size`` connections opened on first need and kept; a caller finding none free waits for the next
    one given back (first come, first served)."""

    def __init__(self, connect, size: int):
        self._connect = connect
        self.size = size
        self._idle: list[asyncpg.Connection] = []
        self._open = 0
        self._waiters: deque[asyncio.Future] = deque()

    async def fetch(self, query: str, args: list[Any]) -> list[asyncpg.Record]:
        conn = self._idle.pop() if self._idle else await self._take()
        try:
            rows = await conn.fetch(query, *args)
        except asyncpg.PostgresError:  # the server answered: the connection is fine
            self._give_back(conn)
            raise
        except BaseException:  # cancelled mid-statement, or the connection broke: never handed on
            self._discard(conn)
            raise
        self._give_back(conn)
        return rows

    async def _take(self) -> asyncpg.Connection:
        if self._open < self.size:
            self._open += 1
            try:
                return await self._connect()
            except BaseException:
                self._open -= 1
                self._wake_one()  # a waiter may open one in its place
                raise
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            conn = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed over just as the caller went away: pass it on
                handed = waiter.result()
                if handed is None:
                    self._wake_one()
                else:
                    self._give_back(handed)
            raise
        return conn if conn is not None else await self._take()

    def _give_back(self, conn: asyncpg.Connection) -> None:
        if conn.is_closed():
            self._discard(conn)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _discard(self, conn: asyncpg.Connection) -> None:
        self._open -= 1
        conn.terminate()
        self._wake_one()

    def _wake_one(self) -> None:
        """A slot is free: the first waiter opens a connection (``None`` tells it to)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        for conn in idle:
            await conn.close()


class PooledPostgresClient(AsyncpgDBClient):
    connection_class = NoResetQueryConnection
    _held: HeldConnections | None = None

    async def fetch_held(self, query: str, args: list[Any]) -> list[asyncpg.Record]:
        """Run one read statement (``$N`` placeholders) outside any transaction on a held connection."""
        if self._held is None:
            self._held = HeldConnections(self._connect_held, self.pool_maxsize)
        return await self._held.fetch(query, args)

    async def _connect_held(self) -> asyncpg.Connection:
        await self._ensure_pool()  # the pool's parameters (and the server's settings) are decided there
        params = {k: v for k, v in self._template.items() if k not in ("min_size", "max_size", "loop")}
        return await asyncpg.connect(password=self.password, **params)

    async def _ensure_pool(self) -> None:
        if not self._pool:
            async with self._pool_init_lock:
                if not self._pool:
                    await self.create_connection(with_db=True)

    async def _close(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            await held.close()
        await super()._close()

    def _in_transaction(self) -> TransactionContext:
        return CancelSafeTransactionContext(TransactionWrapper(self), self._pool_init_lock)


client_class = PooledPostgresClient


def register() -> None:
    """Make ``postgres://`` (and ``postgresql://``, ``asyncpg://``: one lookup entry) URLs use this engine."""
    DB_LOOKUP["asyncpg"]["engine"] = ENGINE


__all__ = ["CancelSafeTransactionContext", "HeldConnections", "NoResetQueryConnection", "PooledPostgresClient",
           "register"]
