"""Every error leaves the API in one shape: {"error": {"code", "message", "details"}}. ``details.request_id``
is always there: the id of the access log line and of the ``X-Request-Id`` header, so a user's report of an
error finds its log lines. It sits inside ``details`` so the shape keeps its three keys."""

from __future__ import annotations

import logging

from sanic import Request, Sanic
from sanic import exceptions as sanic_exc
from sanic.response import json

from core.errors import AppError
from core.requestctx import request_id_of

log = logging.getLogger("rentwatch.api")

SANIC_CODES = {
    404: "ROUTE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    400: "BAD_REQUEST",
    408: "REQUEST_TIMEOUT",
    416: "RANGE_NOT_SATISFIABLE",
}


def error_response(status: int, code: str, message: str, details: dict | None = None):
    return json({"error": {"code": code, "message": message, "details": details or {}}}, status=status)


async def respond(request: Request, status: int, code: str, message: str, details: dict | None = None):
    """The JSON error shape, or the HTML page of a front end that registered one for its paths (the console:
    ``app.ctx.html_errors = (handles(request), render(request, status, code, message))``)."""
    details = {**(details or {}), "request_id": request_id_of(request)}
    html = getattr(request.app.ctx, "html_errors", None)
    if html is not None and html[0](request):
        try:
            return await html[1](request, status, code, message, details)
        except Exception:  # noqa: BLE001 - an error page must never fail: fall back to the JSON shape
            log.exception("error page failed on %s %s", request.method, request.path)
    return error_response(status, code, message, details)


def register_error_handlers(app: Sanic) -> None:
    @app.exception(AppError)
    async def app_error(request: Request, exc: AppError):
        response = await respond(request, exc.status, exc.code, exc.message, exc.details)
        if exc.status == 429 and "retry_after_seconds" in exc.details:
            response.headers["retry-after"] = str(exc.details["retry_after_seconds"])
        return response

    @app.exception(sanic_exc.SanicException)
    async def sanic_error(request: Request, exc: sanic_exc.SanicException):
        status = getattr(exc, "status_code", 500) or 500
        if status >= 500:
            log.exception("server error on %s %s", request.method, request.path)
            return await respond(request, status, "INTERNAL_ERROR", "internal server error")
        message = str(exc) or "request refused"
        code = SANIC_CODES.get(status, "BAD_REQUEST")
        if status == 400 and "JSON" in message.upper():
            code = "MALFORMED_JSON"
        return await respond(request, status, code, message)

    @app.exception(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return await respond(request, 500, "INTERNAL_ERROR", "internal server error", {"type": type(exc).__name__})
