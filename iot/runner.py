"""The IoT background services (cli.background): the consumer with its sweeper, the consumer alone (scale-out),
and the demo traffic simulator. Each is ``async def fn(settings, clock, stop)`` and returns when ``stop`` is set."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from config.settings import Settings
from core.clock import Clock
from iot.consumer import MqttConsumer
from iot.ingest import Ingestor
from iot.jobs import run_sweeper

log = logging.getLogger("rentwatch.iot.simulator")


class ReplayClock:
    """The newest device time the consumer has ingested: with a back-log or a pilot's replayed traffic the sweeper
    and the daily job judge by the devices' time, not the wall clock. Not ``ready`` before the first reading."""

    def __init__(self, ingestor: Ingestor):
        self.ingestor = ingestor

    @property
    def ready(self) -> bool:
        return self.ingestor.newest_at is not None

    def now(self) -> datetime:
        if self.ingestor.newest_at is None:
            raise RuntimeError("no device time ingested yet")
        return self.ingestor.newest_at


async def run_consumer(settings: Settings, clock: Clock, stop: asyncio.Event) -> None:
    """The consumer plus the periodic sweep and daily detection (``rentwatch serve`` / ``consume``). With
    ``iot_clock = "replay"`` (``rentwatch consume --clock replay``) the sweeper follows the newest device time."""
    if not settings.run_consumer:
        await stop.wait()
        return
    consumer = MqttConsumer(settings)
    if settings.iot_clock == "replay":
        clock = ReplayClock(consumer.ingestor)
    sweeper = asyncio.create_task(run_sweeper(settings, clock, stop))
    try:
        await consumer.run(stop)
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)


async def run_ingest_only(settings: Settings, clock: Clock, stop: asyncio.Event) -> None:
    """``rentwatch consume --no-sweep``: only the consumer (e.g. several of them on a shared subscription)."""
    await MqttConsumer(settings).run(stop)


async def run_simulator_service(settings: Settings, clock: Clock, stop: asyncio.Event) -> None:
    """Background service for the demo: runs the simulator when RW_IOT_SIMULATE=1, otherwise waits for stop."""
    if not settings.iot_simulate:
        await stop.wait()
        return
    from iot.simulator import run_simulation

    task = asyncio.create_task(run_simulation(settings, days=30, live_minutes=24 * 60, prepare=True))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    if task.done() and not stop.is_set():
        # Nothing (more) to simulate, or the simulation failed: the demo goes on without it. Returning would end
        # the background process's other services with it (its services run until stop).
        if not task.cancelled() and task.exception() is not None:
            log.error("the IoT simulator failed", exc_info=task.exception())
        await stopping
    task.cancel()
    stopping.cancel()
    await asyncio.gather(task, stopping, return_exceptions=True)
