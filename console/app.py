"""Mount the console on the app: its blueprints under /console, the Jinja2 environment, the vendored static
files, security headers and HTML error pages (console/rendering.py renders; console/views/ serve)."""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from config.settings import Settings
from console.rendering import PREFIX, SECURITY_HEADERS, build_environment, console_error, is_console
from console.views import BLUEPRINTS


def install_console(app: Sanic, settings: Settings) -> None:
    app.config.TEMPLATING_ENABLE_ASYNC = False  # plain render: every value is loaded before rendering
    app.ctx.console_env = build_environment()
    app.ctx.html_errors = (is_console, console_error)
    for bp in BLUEPRINTS:
        app.blueprint(bp)

    @app.on_response
    async def _console_headers(request: Request, response: HTTPResponse) -> None:
        if not is_console(request):
            return
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith(f"{PREFIX}/static/"):
            response.headers.setdefault("cache-control", "no-store")


__all__ = ["install_console"]
