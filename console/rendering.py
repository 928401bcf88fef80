"""How a console page is rendered: the Jinja2 environment (through sanic-ext's templating), static file URLs,
the security headers and the HTML error pages. Views import from here; console.app mounts it all."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Request
from sanic.response import HTTPResponse, redirect
from sanic_ext.extensions.templating.render import render

from console import formatting
from console.labels import LABELS
from console.static_files import versioned

log = logging.getLogger("rentwatch.console")
HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/console"

#: No inline scripts or styles anywhere: scripts and styles come from /console/static only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


def build_environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(yuan=formatting.yuan, local_dt=formatting.local_dt, local_date=formatting.local_date,
                       tojson_attr=lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    env.globals.update(labels=LABELS, static=static_url)
    return env


def static_url(name: str) -> str:
    return versioned(name)


async def page(request: Request, template: str, status: int = 200, **context) -> HTTPResponse:
    """Render a console template with the caller, CSRF token and clock in the context."""
    identity = getattr(request.ctx, "console", None)
    context.update(me=identity.principal if identity else None, csrf=identity.csrf_token if identity else "",
                   now=request.app.ctx.clock.now(), path=request.path, htmx=is_htmx(request))
    return await render(template, status=status, app=request.app, environment=request.app.ctx.console_env,
                        context=context)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def is_console(request: Request) -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


async def console_error(request: Request, status: int, code: str, message: str,
                        details: dict | None = None) -> HTTPResponse:
    """HTML for console errors: sign-in redirect for 401, an error page (or fragment for htmx) otherwise."""
    if status == 401:
        target = f"{PREFIX}/login?next={quote(request.path)}"
        if is_htmx(request):
            return HTTPResponse(status=401, headers={"HX-Redirect": target})
        if request.method == "GET":
            return redirect(target, status=303)
    if not hasattr(request.ctx, "console"):
        request.ctx.console = None
    template = "_error_fragment.html" if is_htmx(request) else "error.html"
    fields = [f"{f.get('field')}: {f.get('message')}" for f in (details or {}).get("fields", [])]
    return await page(request, template, status=status, code=code, message=message, error_status=status,
                      fields=fields, request_id=(details or {}).get("request_id", ""))
