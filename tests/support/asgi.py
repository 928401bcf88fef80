"""An in-process ASGI client for the Sanic app that starts the app once, not on every request.

sanic-testing's ASGI client re-runs the router finalisation and start-up listeners for each request, which
makes a route × role walk slow; this one keeps the same call shape: ``_, response = await client.get(...)``
with ``response.status`` and ``response.json``."""

from __future__ import annotations

import httpx
from sanic import Sanic
from sanic_testing.testing import TestingResponse, app_call_with_return

BASE_URL = "http://127.0.0.1:1234"


class AppClient(httpx.AsyncClient):
    def __init__(self, app: Sanic, client_address: tuple[str, int] = ("127.0.0.1", 1234)):
        Sanic.test_mode = True
        app.__class__.__call__ = app_call_with_return  # type: ignore[method-assign]
        app.asgi = True
        self.sanic_app = app
        self._started = False
        super().__init__(transport=httpx.ASGITransport(app=app, client=client_address), base_url=BASE_URL)

    async def _start(self) -> None:
        if not self._started:
            # Touch-up rewrites the request handler from its parsed source, an optimisation for a long-running
            # server that costs ~50 ms on every app a test builds.
            self.sanic_app.config.TOUCHUP = False
            self.sanic_app.router.reset()
            self.sanic_app.signal_router.reset()
            await self.sanic_app._startup()
            await self.sanic_app._server_event("init", "before")
            await self.sanic_app._server_event("init", "after")
            self._started = True

    async def request(self, method, url, *args, **kwargs):
        await self._start()
        response = await super().request(method, url, *args, **kwargs)
        response.__class__ = TestingResponse
        return None, response
