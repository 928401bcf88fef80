"""``rentwatch serve``: Sanic workers are separate processes, so the app is built by a picklable factory in
each of them (Sanic's AppLoader). The background process (embedded broker, consumer, schedulers) is
registered once, on the main process, as a Sanic managed process — never once per worker."""

from __future__ import annotations

import logging
from functools import partial

from sanic import Sanic
from sanic.worker.loader import AppLoader

from config.settings import load_settings

APP_NAME = "rentwatch"


def build_served_app(with_background: bool) -> Sanic:
    from api.app import create_app
    from cli.background import managed_process_main

    settings = load_settings()
    # A worker is its own process: it logs with the same one format as the main process (cli.main).
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings, name=APP_NAME)
    if with_background:
        @app.main_process_ready
        async def start_background(app_: Sanic, _loop) -> None:
            app_.manager.manage("RentwatchBackground", managed_process_main,
                                {"settings_json": settings.model_dump_json()})
    return app


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
    Sanic.serve(primary=app, app_loader=loader)
