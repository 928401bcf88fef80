"""``rentwatch serve``: Sanic workers are separate processes, so the app is built by a picklable factory in
each of them (Sanic's AppLoader). The background process (embedded broker, consumer, schedulers) is
registered once, on the main process, as a Sanic managed process — never once per worker."""

from __future__ import annotations

from functools import partial

from sanic import Sanic
from sanic.worker.loader import AppLoader

from config.settings import load_settings

APP_NAME = "rentwatch"


def build_served_app(with_background: bool) -> Sanic:
    from api.app import create_app
    from cli.background import managed_process_main

    settings = load_settings()
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
    app.prepare(host=settings.host, port=settings.port, workers=settings.workers, access_log=False, motd=True)
    Sanic.serve(primary=app, app_loader=loader)
