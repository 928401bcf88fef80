"""core.pg_engine: pooled PostgreSQL connections go back without the reset query, which is safe only while the code
keeps no session state; an open transaction is still rolled back on release."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import asyncpg
import pytest
from tortoise.connection import get_connection

from core.pg_engine import NoResetQueryConnection, PooledPostgresClient
from tests.support.db import on_postgres

ROOT = Path(__file__).resolve().parent.parent
#: SQL that leaves state on a session, which the skipped reset would have undone for the pool's next user
SESSION_STATE = [
    re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),  # session-level: use the _xact_ forms
    re.compile(r"^\s*(UN)?LISTEN\b", re.I),
    re.compile(r"^\s*SET\s+(?!LOCAL\b)(SESSION\s+)?[a-z_.]+\s*(=|TO\b)", re.I),  # SET LOCAL ends with the transaction
    re.compile(r"\bset_config\s*\([^)]*,\s*false\s*\)", re.I),
    re.compile(r"\bWITH\s+HOLD\b", re.I),
]
#: Session state taken knowingly on a connection of its own and given back before the pool gets it again
ALLOWED = {
    # the WeChat Pay jobs' session-level advisory lock (no transaction open while WeChat Pay answers), released
    # by ``pg_advisory_unlock`` in a ``finally``; were that unlock to fail, the session is broken and PostgreSQL
    # drops its locks with it
    ("payments/jobs.py", "SELECT pg_try_advisory_lock($1)"),
}


def _code_strings(tree: ast.AST) -> list[str]:
    """String literals used as values (docstrings left out); an f-string as one text, ``{}`` for its values."""
    skip = set()
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        elif isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                skip.add(id(value))
                parts.append(value.value if isinstance(value, ast.Constant) else "{}")
            texts.append("".join(str(p) for p in parts))
    return texts + [node.value for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip]


def test_the_code_keeps_no_session_state_on_pooled_connections():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests", "node_modules"} or rel.parts[0].startswith("."):
            continue
        for text in _code_strings(ast.parse(path.read_text(encoding="utf-8"))):
            if (rel.as_posix(), text) in ALLOWED:
                continue
            for pattern in SESSION_STATE:
                if pattern.search(text):
                    offenders.append(f"{rel}: {text[:80]!r}")
    assert offenders == []


@pytest.mark.parametrize("sql", ["SELECT pg_try_advisory_lock(1)", "LISTEN changes", "SET statement_timeout = 0",
                                 "SET SESSION search_path TO x", "DECLARE c CURSOR WITH HOLD FOR SELECT 1"])
def test_the_guard_sees_session_state(sql):
    assert any(p.search(sql) for p in SESSION_STATE)


@pytest.mark.parametrize("sql", ["SELECT pg_try_advisory_xact_lock($1) AS locked", "SET LOCAL statement_timeout = 0",
                                 "UPDATE units SET status = $1", "ALTER TABLE iot_hourly SET UNLOGGED"])
def test_the_guard_leaves_transaction_state_alone(sql):
    assert not any(p.search(sql) for p in SESSION_STATE)


async def test_a_released_connection_sends_nothing_and_an_open_transaction_is_rolled_back(db):
    if not on_postgres():
        pytest.skip("PostgreSQL engine")
    client = get_connection("default")
    assert isinstance(client, PooledPostgresClient)
    async with client.acquire_connection() as proxy:
        inner = proxy._con
        assert isinstance(inner, NoResetQueryConnection)
        await proxy.fetchval("SELECT 1")
        sent = inner._protocol.queries_count
    assert inner._protocol.queries_count == sent  # no reset query on release
    async with client.acquire_connection() as proxy:
        inner = proxy._con
        await proxy.execute("BEGIN")
        await proxy.execute("CREATE TEMP TABLE left_open (x int)")
        assert inner.is_in_transaction()
    assert not inner.is_in_transaction()
    async with client.acquire_connection() as proxy:
        assert await proxy.fetchval("SELECT to_regclass('pg_temp.left_open') IS NULL")


async def test_held_connections_serve_more_callers_than_they_hold_and_survive_errors_and_cancellation(db):
    """``fetch_held`` (the hot reads): callers beyond the held connections wait their turn; a database error
    leaves its connection in use; a caller cancelled mid-statement takes its connection with it (never handed on
    half-read) and a new one is opened in its place. Outside a transaction only (core.sql.read)."""
    if not on_postgres():
        pytest.skip("PostgreSQL engine")
    client = get_connection("default")
    assert isinstance(client, PooledPostgresClient)
    rows = await asyncio.gather(*[client.fetch_held("SELECT $1::int AS n, pg_sleep(0.01)", [i]) for i in range(12)])
    assert [r[0]["n"] for r in rows] == list(range(12))
    held = client._held
    assert held is not None and 0 < held._open <= held.size == client.pool_maxsize
    with pytest.raises(asyncpg.DivisionByZeroError):
        await client.fetch_held("SELECT 1 / $1::int", [0])
    opened = held._open
    assert (await client.fetch_held("SELECT 2 AS n", []))[0]["n"] == 2 and held._open == opened
    slow = asyncio.ensure_future(client.fetch_held("SELECT pg_sleep(5)", []))
    await asyncio.sleep(0.2)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert held._open == opened - 1
    rows = await asyncio.gather(*[client.fetch_held("SELECT $1::int AS n", [i]) for i in range(held.size + 3)])
    assert [r[0]["n"] for r in rows] == list(range(held.size + 3))
    assert all(not c.is_closed() for c in held._idle) and held._open <= held.size


async def test_hot_reads_in_a_transaction_stay_in_it(db):
    """core.sql.read inside a transaction reads on the transaction's connection (it sees its own writes)."""
    from tortoise.transactions import in_transaction

    from core import sql
    from models.portfolio import City

    async with in_transaction() as conn:
        await City.create(code="HOT", name="热", using_db=conn)
        rows = await sql.read(get_connection("default"), "SELECT count(*) AS n FROM cities WHERE code = ?", ["HOT"])
        assert rows[0]["n"] == 1
