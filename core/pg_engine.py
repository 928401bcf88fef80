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

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.config_generator import DB_LOOKUP

ENGINE = __name__


class NoResetQueryConnection(asyncpg.Connection):
    """asyncpg always ends an open transaction on release; with an empty reset query it sends nothing else."""

    def get_reset_query(self) -> str:
        return ""


class PooledPostgresClient(AsyncpgDBClient):
    connection_class = NoResetQueryConnection


client_class = PooledPostgresClient


def register() -> None:
    """Make ``postgres://`` (and ``postgresql://``, ``asyncpg://``: one lookup entry) URLs use this engine."""
    DB_LOOKUP["asyncpg"]["engine"] = ENGINE


__all__ = ["NoResetQueryConnection", "PooledPostgresClient", "register"]
