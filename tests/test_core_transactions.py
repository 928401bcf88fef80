"""A transaction cancelled while it is still starting gives back what it took (core.sqlite_engine, core.pg_engine).

Tortoise's contexts took SQLite's one connection lock (or a pooled PostgreSQL connection) and then awaited BEGIN;
a task cancelled at that await never reached ``__aexit__``. On SQLite every later statement of the process then
waited for the lock forever: ``serve`` hung on stop when a background service was cancelled mid-BEGIN. Each test
steps the event loop until the task is inside ``begin`` (no sleeps, no timing), cancels it there, and checks that
the database is usable, nothing is left open and nothing was written."""

from __future__ import annotations

import asyncio
from types import CoroutineType
from typing import Any

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from models.portfolio import City
from tests.support.db import on_postgres

#: A bound on a hang (the test would otherwise wait forever), not a measure of speed.
HANG_SECONDS = 20


def awaiting(task: asyncio.Task) -> list[str]:
    """The names of the coroutines the task is suspended in, outermost first."""
    names: list[str] = []
    coro: Any = task.get_coro()
    while isinstance(coro, CoroutineType):
        names.append(coro.cr_code.co_name)
        coro = coro.cr_await
    return names


async def step_until_inside(task: asyncio.Task, name: str) -> None:
    for _ in range(100_000):
        if name in awaiting(task):
            return
        assert not task.done(), "the transaction started before it could be cancelled"
        await asyncio.sleep(0)
    raise AssertionError(f"the task never awaited {name}: {awaiting(task)}")


async def write_in_transaction(code: str) -> None:
    async with in_transaction():
        await City.create(code=code, name=code)


def free_connections() -> tuple[int, int]:
    """PostgreSQL: (idle, open) connections of the pool."""
    pool = get_connection("default")._pool
    return pool.get_idle_size(), pool.get_size()


async def test_a_transaction_cancelled_while_it_begins_gives_back_its_connection(db):
    await City.all().count()  # the pool opens on first use
    before = free_connections() if on_postgres() else None
    task = asyncio.create_task(write_in_transaction("CANCELLED"))
    await step_until_inside(task, "begin")
    task.cancel()
    (outcome,) = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError)

    # The next transaction and a plain statement run (before the fix: both waited for the lock forever).
    await asyncio.wait_for(write_in_transaction("AFTER"), HANG_SECONDS)
    codes = await asyncio.wait_for(City.filter(code__in=["CANCELLED", "AFTER"])
                                   .values_list("code", flat=True), HANG_SECONDS)
    assert codes == ["AFTER"]
    if on_postgres():
        assert free_connections() == before  # every connection back in the pool, idle
    else:
        assert not get_connection("default")._connection.in_transaction  # no BEGIN left open


async def test_a_cancelled_transaction_does_not_block_a_waiting_one(db):
    """Two tasks: the first is cancelled while it begins, the second was already queued behind it for the lock."""
    first = asyncio.create_task(write_in_transaction("FIRST"))
    await step_until_inside(first, "begin")
    second = asyncio.create_task(write_in_transaction("SECOND"))
    await asyncio.sleep(0)
    first.cancel()
    results = await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), HANG_SECONDS)
    assert isinstance(results[0], asyncio.CancelledError) and results[1] is None
    assert await City.filter(code__in=["FIRST", "SECOND"]).values_list("code", flat=True) == ["SECOND"]
