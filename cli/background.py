"""Long-running jobs (the embedded broker, the MQTT consumer, schedulers, the outbox sender) run in exactly one
process: the managed process that ``serve`` starts once, whatever the number of HTTP workers — or a separate
``rentwatch worker`` for scale-out. Domains add ``"module:function"`` entries to BACKGROUND_SERVICES; each is
``async def fn(settings, clock, stop: asyncio.Event) -> None`` and returns when ``stop`` is set."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import Awaitable

from config.settings import Settings
from core.clock import SystemClock
from core.db import close_db
from core.pii import install_log_masking
from iot.broker_auth import embedded_broker_for
from tortoise_config import init_db

log = logging.getLogger("rentwatch.background")

#: How long a stop waits for each step (the services, the broker, the database) before it names the step and goes on.
SERVICE_STOP_SECONDS = 10.0

BACKGROUND_SERVICES: list[str] = [
    "notifications.sender:run_outbox",
    "reminders.scheduler:run_scheduler",
    "inspections.service:expiry_service",
    "iot.runner:run_consumer",
    "iot.runner:run_simulator_service",
]


def resolve(entry: str):
    module_name, _, attr = entry.partition(":")
    return getattr(importlib.import_module(module_name), attr)


async def run_services(settings: Settings, *, with_broker: bool, services: list[str] | None = None,
                       stop: asyncio.Event | None = None, stop_seconds: float = SERVICE_STOP_SECONDS) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    await init_db(settings)  # before the broker: its auth plugin reads the credentials table
    broker = embedded_broker_for(settings) if with_broker else None
    if broker:
        try:
            await broker.start()
        except BaseException:
            await close_db()
            raise
    clock = SystemClock()
    tasks = [asyncio.create_task(resolve(entry)(settings, clock, stop), name=entry)
             for entry in (BACKGROUND_SERVICES if services is None else services)]
    try:
        if tasks:
            done, _ = await asyncio.wait([*tasks, asyncio.create_task(stop.wait())],
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task in tasks and task.exception():
                    log.error("background service %s failed", task.get_name(), exc_info=task.exception())
        else:
            await stop.wait()
    finally:
        stop.set()
        await stop_services(tasks, stop_seconds)
        if broker:
            await bounded(broker.stop(), stop_seconds, "the embedded broker")
        await bounded(close_db(), stop_seconds, "closing the database")


async def stop_services(tasks: list[asyncio.Task], stop_seconds: float) -> None:
    """Cancel the services and wait for them, within a bound: a service stuck in its clean-up (an await that never
    completes) is named in the log and cancelled again, so the process stops instead of hanging ``serve``."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, stuck = await asyncio.wait(tasks, timeout=stop_seconds)
    if stuck:
        log.error("background services still running %s s after stop, cancelling them again: %s", stop_seconds,
                  sorted(task.get_name() for task in stuck))
        for task in stuck:
            task.cancel()
        await asyncio.wait(stuck, timeout=stop_seconds)
    await asyncio.gather(*(task for task in tasks if task.done()), return_exceptions=True)


async def bounded(step: Awaitable[object], seconds: float, what: str) -> None:
    try:
        await asyncio.wait_for(step, seconds)
    except TimeoutError:
        log.error("%s did not finish within %s s of stop; going on without it", what, seconds)


def quiet_noisy_loggers() -> None:
    # amqtt logs every connection (and the health probe's bare TCP check) at INFO/ERROR.
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.CRITICAL if name == "amqtt" else logging.WARNING)


def managed_process_main(settings_json: str) -> None:
    """Entry of the managed process started by ``serve`` (runs in its own process and event loop)."""
    settings = Settings.model_validate_json(settings_json)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()
    quiet_noisy_loggers()
    asyncio.run(run_services(settings, with_broker=settings.uses_embedded_broker))
