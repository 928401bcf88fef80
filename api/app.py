"""The Sanic app factory: ``create_app(settings)``. Resources live on ``app.ctx``; the MQTT consumer and
schedulers are NOT started here (see cli.serve), so adding workers never duplicates them."""

from __future__ import annotations

import asyncio
import functools
import gc
import json as jsonlib
import logging
import time
from itertools import count

from sanic import Request, Sanic

from api.access import route_access_rule
from api.errors import register_error_handlers
from config.settings import Settings
from core.clock import Clock, SystemClock

log = logging.getLogger("rentwatch.requests")
_app_numbers = count(1)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class UndeclaredRouteError(RuntimeError):
    pass


def check_route_access(app: Sanic) -> None:
    """Refuse to run with an /api or /console route that does not declare who may call it."""
    missing = [route.name for route in app.router.routes
               if route.path.startswith(("api/", "console")) and route_access_rule(route.handler) is None]
    if missing:
        raise UndeclaredRouteError(f"routes without an @access declaration: {sorted(missing)}")


async def probe_broker(settings: Settings, timeout: float = 0.5) -> dict:
    host, port = settings.mqtt_host_port
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.close()
        reachable = True
    except (OSError, TimeoutError):
        reachable = False
    return {"reachable": reachable, "host": host, "port": port, "embedded": settings.uses_embedded_broker}


#: Multipart boundaries, part headers and the form fields sent with a file.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024


def request_max_size(settings: Settings) -> int:
    """Sanic's body limit: the largest file an endpoint accepts plus multipart overhead. Derived, so raising
    ``RW_PHOTO_MAX_BYTES`` takes effect; the endpoint itself refuses a file over its own limit (413 as well)."""
    from refunds.documents import MAX_DOCUMENT_BYTES

    return max(settings.photo_max_bytes, MAX_DOCUMENT_BYTES) + MULTIPART_OVERHEAD_BYTES


def install_caches(app: Sanic, settings: Settings) -> None:
    """Per-worker caches on app.ctx, kept correct by the database change log (core.changes)."""
    from core.changes import ChangeFeed, InvalidatingCache

    feed = ChangeFeed(app.ctx.clock, settings.cache_poll_seconds, enabled=settings.cache_enabled)
    app.ctx.changes = feed
    app.ctx.principals = InvalidatingCache(feed, app.ctx.clock, ttl_seconds=settings.cache_principal_ttl_seconds,
                                           max_entries=settings.cache_max_entries)
    app.ctx.cards = InvalidatingCache(feed, app.ctx.clock, ttl_seconds=settings.cache_card_ttl_seconds,
                                      max_entries=settings.cache_max_entries)


async def _freeze_start_up_objects(app: Sanic) -> None:
    """What start-up built (modules, models, routes, the API document) lives as long as the worker: frozen
    (``gc.freeze``), the collector's full passes no longer walk it (each walked some 200,000 objects of it).
    Not in tests (many apps in one process)."""
    if not Sanic.test_mode:
        gc.freeze()


def create_app(settings: Settings, *, clock: Clock | None = None, manage_db: bool = True,
               name: str | None = None) -> Sanic:
    from api.routes import BLUEPRINTS

    settings.check_secrets()
    dumps = functools.partial(jsonlib.dumps, ensure_ascii=False, separators=(",", ":"))
    app = Sanic(name or f"rentwatch{next(_app_numbers)}", configure_logging=False, dumps=dumps)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.REQUEST_MAX_SIZE = request_max_size(settings)
    # /docs is served by console.docs from vendored files; sanic-ext's own pages (and its oauth2-redirect, fetched
    # from a CDN at run time) are off. sanic-ext still builds and serves /docs/openapi.json.
    app.config.OAS_UI_DEFAULT = None
    app.config.OAS_UI_SWAGGER = False
    app.config.OAS_UI_REDOC = False
    # sanic-ext's automatic HEAD/OPTIONS routes re-finalise the router once per route (quadratic start-up).
    app.config.HTTP_AUTO_HEAD = False
    app.config.HTTP_AUTO_OPTIONS = False
    app.config.CORS = False  # the mini program is not a browser; no CORS preflight
    app.config.CORS_AUTOMATIC_OPTIONS = False
    app.config.API_TITLE = "rentwatch"
    app.config.API_VERSION = "1"
    # Sanic Extensions without dependency injection (unused here): its per-request signal costs every request.
    from sanic_ext.extensions.http.extension import HTTPExtension

    from console.docs import OpenAPIDocument

    app.extend(extensions=[OpenAPIDocument, HTTPExtension], built_in_extensions=False)
    app.ctx.settings = settings
    app.ctx.clock = clock or SystemClock()
    app.ctx.started_at = app.ctx.clock.now()  # /health: a consumer not reporting yet is "starting" for a while
    install_caches(app, settings)
    from api.throttle import new_limiter

    app.ctx.rate_limiter = new_limiter(settings)  # sign-in rate limits (api.throttle), per worker
    _wechat: dict = {}

    def wechat_client():
        if "client" not in _wechat:
            from wechat.client import build_client

            _wechat["client"] = build_client(settings)
        return _wechat["client"]

    app.ctx.wechat_client = wechat_client

    async def broker_status() -> dict:
        probe = getattr(app.ctx, "broker_probe", None)
        return await (probe() if probe else probe_broker(settings))

    app.ctx.broker_status = broker_status
    from contracts.pool import OcrPool

    app.ctx.ocr_pool = OcrPool.from_settings(settings)  # contract OCR workers, started on the first scanned page

    @app.before_server_stop
    async def _stop_ocr(app_: Sanic) -> None:
        app_.ctx.ocr_pool.close()

    from sanic import Blueprint

    app.blueprint(Blueprint.group(*BLUEPRINTS, url_prefix="/api/v1"))
    from console.docs import docs_blueprint

    app.blueprint(docs_blueprint(app.config.API_TITLE))
    from console.app import install_console

    install_console(app, settings)
    register_error_handlers(app)
    check_route_access(app)
    from api.openapi import document_api

    document_api(app)

    if manage_db:
        from core.db import close_db
        from tortoise_config import init_db

        @app.before_server_start
        async def _open_db(app_: Sanic) -> None:
            await init_db(settings)

        @app.after_server_stop
        async def _close_db(app_: Sanic) -> None:
            await close_db()

    app.after_server_start(_freeze_start_up_objects)
    from api.headers import apply_security_headers
    from core.pii import install_log_masking
    from core.requestctx import request_id_of

    install_log_masking()  # also when an ASGI server or a test builds the app
    from core.validation import check_path_params
    from models.portfolio import Unit

    path_text_limits = {"code": int(getattr(Unit._meta.fields_map["code"], "max_length"))}  # noqa: B009

    @app.on_request
    async def _start_timer(request: Request) -> None:
        request.ctx.started = time.perf_counter()
        request_id_of(request)
        if request.match_info:
            check_path_params(request.match_info, path_text_limits)

    @app.on_response
    async def _log_request(request: Request, response) -> None:
        if request.method not in SAFE_METHODS:
            rule = route_access_rule(request.route.handler) if request.route else None
            if rule is None or not rule.read_only:
                app.ctx.changes.mark_dirty()  # this worker may have written: its next cached read polls first
        elapsed_ms = (time.perf_counter() - getattr(request.ctx, "started", time.perf_counter())) * 1000
        principal = getattr(request.ctx, "principal", None)
        apply_security_headers(request.path, response)
        request_id = request_id_of(request)
        response.headers["x-request-id"] = request_id
        response.headers["server-timing"] = f"app;dur={elapsed_ms:.1f}"  # read by the browser's timing API
        if log.isEnabledFor(logging.INFO):
            log.info(jsonlib.dumps({
                "method": request.method, "path": request.path, "status": response.status,
                "ms": round(elapsed_ms, 1), "user": principal.user_id if principal else None,
                "request_id": request_id}))

    return app
