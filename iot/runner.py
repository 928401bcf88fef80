"""The IoT background services (cli.background): the consumer with its sweeper, the consumer alone (scale-out),
and the demo traffic simulator. Each is ``async def fn(settings, clock, stop)`` and returns when ``stop`` is set."""

from __future__ import annotations

import asyncio
from datetime import datetime

from config.settings import Settings
from core.clock import Clock
from iot.consumer import MqttConsumer
from iot.ingest import Ingestor
from iot.jobs import run_sweeper


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
    await asyncio.wait([task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
