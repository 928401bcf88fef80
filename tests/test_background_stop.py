"""cli.background.stop_services: a stop waits for the services within a bound; a service stuck in its clean-up is
named in the log and cancelled again, so ``serve`` stops instead of hanging on its background process."""

from __future__ import annotations

import asyncio
import logging

import pytest

from cli.background import bounded, stop_services

BOUND = 0.2  # the bound under test, kept small: the stuck service waits it out once


async def well_behaved(stop: asyncio.Event) -> None:
    await stop.wait()


async def stuck_in_clean_up(stop: asyncio.Event, cancels: list[int]) -> None:
    """Swallows the first cancellation (as a clean-up waiting on a lock that will never be free did)."""
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancels.append(1)
            if len(cancels) > 1:
                raise


async def test_a_service_stuck_in_its_clean_up_is_named_and_cancelled_again(caplog: pytest.LogCaptureFixture):
    stop, cancels = asyncio.Event(), list[int]()
    tasks = [asyncio.create_task(well_behaved(stop), name="tidy"),
             asyncio.create_task(stuck_in_clean_up(stop, cancels), name="stubborn")]
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="rentwatch.background"):
        await asyncio.wait_for(stop_services(tasks, BOUND), 30)
    assert all(task.done() for task in tasks) and len(cancels) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "['stubborn']" in errors[0] and "tidy" not in errors[0]


async def test_services_that_stop_are_not_reported(caplog: pytest.LogCaptureFixture):
    stop = asyncio.Event()
    tasks = [asyncio.create_task(well_behaved(stop), name=f"s{n}") for n in range(3)]
    with caplog.at_level(logging.ERROR, logger="rentwatch.background"):
        await stop_services(tasks, BOUND)
    assert all(task.cancelled() for task in tasks)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_step_that_never_finishes_is_named_and_left(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.ERROR, logger="rentwatch.background"):
        await bounded(asyncio.Event().wait(), BOUND, "the embedded broker")
        await bounded(asyncio.sleep(0), BOUND, "closing the database")
    assert [r.getMessage() for r in caplog.records] == [
        f"the embedded broker did not finish within {BOUND} s of stop; going on without it"]
