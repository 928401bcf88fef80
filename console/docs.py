"""/docs: Swagger UI over the app's own OpenAPI document (/docs/openapi.json, built by sanic-ext), with Swagger UI's
files vendored from npm at a pinned version (console/static/vendor, scripts/vendor_console.sh) and served by the app
itself: nothing is loaded from a CDN, which is slow or blocked on many networks in China. The page has no inline
code, so it carries the same strict Content-Security-Policy as every other document (api.headers)."""

from __future__ import annotations

from html import escape

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html
from sanic_ext.extensions.openapi.extension import OpenAPIExtension

from console.static_files import versioned

SPEC_URL = "/docs/openapi.json"
ASSETS = ("vendor/swagger-ui-dist/swagger-ui.css", "vendor/swagger-ui-dist/swagger-ui-bundle.js",
          "swagger-init.js")


class OpenAPIDocument(OpenAPIExtension):
    """sanic-ext's OpenAPI extension (it builds /docs/openapi.json) with its own UI pages turned off (api.app): the
    start-up banner names our /docs instead of looking up sanic-ext's missing index route."""

    name = "openapidocs"

    def label(self) -> str:
        return "/docs"


def docs_page(title: str) -> str:
    css, bundle, init = (escape(versioned(name)) for name in ASSETS)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{escape(title)}</title>\n'
            f'<link rel="stylesheet" href="{css}">\n<link rel="icon" href="{escape(versioned("favicon.svg"))}">\n'
            f'</head>\n<body>\n<div id="openapi" data-spec-url="{SPEC_URL}"></div>\n'
            f'<script src="{bundle}"></script>\n<script src="{init}"></script>\n</body>\n</html>\n')


def docs_blueprint(title: str) -> Blueprint:
    bp = Blueprint("api_docs", url_prefix="/docs")
    page = docs_page(title)

    async def swagger(request: Request) -> HTTPResponse:
        """The API's documentation in Swagger UI."""
        return html(page)

    bp.add_route(swagger, "", name="index", methods=["GET"])
    bp.add_route(swagger, "/swagger", name="swagger", methods=["GET"])
    return bp
