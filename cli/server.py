"""``rentwatch serve``: Sanic workers are separate processes, so the app is built by a picklable factory in
each of them (Sanic's AppLoader). The background process (embedded broker, consumer, schedulers) is
registered once, on the main process, as a Sanic managed process — never once per worker."""

from __future__ import annotations

import asyncio
import logging
import signal
from functools import partial
from multiprocessing.managers import SyncManager

import sanic.mixins.startup as sanic_startup
from sanic import Sanic
from sanic.worker.loader import AppLoader
from sanic.worker.manager import WorkerManager
from sanic.worker.process import WorkerProcess

from config.settings import load_settings

APP_NAME = "rentwatch"


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
STARTUP_ACK_SECONDS = 120


def stop_once_on_signals(app: Sanic) -> None:
    """A worker stops on its first stop signal and ignores the rest. A SIGTERM to the process group reaches a
    worker twice (the group's SIGTERM, then the main process's SIGINT as it stops its workers): Sanic's handler
    stopped the loop again while the worker was draining its connections ("Event loop stopped before Future
    completed", a traceback). Once stopping, the main process alone decides (it kills a worker that hangs)."""
    @app.after_server_start
    async def _stop_once(app_: Sanic) -> None:
        loop = asyncio.get_running_loop()
        stopping: list[bool] = []

        def stop() -> None:
            if not stopping:
                stopping.append(True)
                app_.stop(terminate=False)

        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop)

    @app.before_server_stop
    async def _ignore_late_stop_signals(app_: Sanic) -> None:
        for sig in STOP_SIGNALS:  # Sanic removed the loop's handlers: a late signal must not kill the cleanup
            signal.signal(sig, signal.SIG_IGN)


def build_served_app(with_background: bool) -> Sanic:
    from api.app import create_app
    from cli.background import managed_process_main

    settings = load_settings()
    # A worker is its own process: it logs with the same one format as the main process (cli.main).
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings, name=APP_NAME)
    stop_once_on_signals(app)
    if with_background:
        @app.main_process_ready
        async def start_background(app_: Sanic, _loop) -> None:
            app_.manager.manage("RentwatchBackground", managed_process_main,
                                {"settings_json": settings.model_dump_json()})
    return app


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_state_manager() -> SyncManager:
    """The process that holds Sanic's shared worker states, deaf to SIGTERM/SIGINT. A stop signal to the process
    group (systemd, Docker, Ctrl-C) otherwise kills it at once, and the main process, still reading the worker
    states while it stops its workers, dies of a BrokenPipeError with a traceback and exit code 1. Sanic shuts
    this manager down itself once the workers are gone."""
    manager = SyncManager()
    manager.start(_ignore_stop_signals)
    return manager


def run_server(with_background: bool) -> None:
    settings = load_settings()
    loader = AppLoader(factory=partial(build_served_app, with_background))
    app = loader.load()
    # Sanic's banner says "mode: production" unless debug is on (which also turns on reload-style behaviour and
    # verbose errors): ours names the configured mode instead. One access line per request is ours
    # (rentwatch.requests), so Sanic's own access log stays off.
    app.prepare(host=settings.host, port=settings.port, workers=settings.workers, access_log=False, motd=False)
    logging.getLogger("rentwatch").info(
        "rentwatch serving http://%s:%s mode: %s, %s worker(s), database %s", settings.host, settings.port,
        settings.mode, settings.workers, settings.resolved_database_url.split("://")[0])
    assert sanic_startup.Manager is not None  # Sanic builds its worker-state manager by this name (pinned Sanic)
    sanic_startup.Manager = worker_state_manager
    # Sanic kills every worker that has not acknowledged its start within 30 s (a class constant, tenths of a
    # second). A worker imports and builds the whole app while the background process runs its start-up jobs:
    # on a small, busy machine that took longer, and `serve` shut itself down. Two minutes.
    WorkerManager.THRESHOLD = WorkerProcess.THRESHOLD = STARTUP_ACK_SECONDS * 10
    Sanic.serve(primary=app, app_loader=loader)
