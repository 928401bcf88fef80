"""A small fake of WeChat's HTTP API on loopback, for the real wechatpy client to talk to.

Scripted per test: ``fake.codes[js_code] = {"openid": ...}`` or ``{"errcode": 40029, ...}``;
``fake.send_results`` is a queue of errcodes for subscribe sends (0 = ok). Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.support.loopback import POLL


class FakeWeChat:
    def __init__(self) -> None:
        self.codes: dict[str, dict] = {}
        self.send_results: deque[int] = deque()
        self.token_errors: deque[int] = deque()
        self.requests: list[dict] = []
        self.sent_messages: list[dict] = []
        self.token_counter = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake._record("GET", url.path, params, None)
                self._reply(fake.handle(url.path, params, None))

            def do_POST(self):  # noqa: N802
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode(errors="replace")}
                fake._record("POST", url.path, params, body)
                self._reply(fake.handle(url.path, params, body))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs=POLL, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def _record(self, method: str, path: str, params: dict, body: dict | None) -> None:
        with self._lock:
            self.requests.append({"method": method, "path": path, "params": params, "body": body})

    def handle(self, path: str, params: dict, body: dict | None) -> dict:
        if path == "/cgi-bin/token":
            if self.token_errors:
                return {"errcode": self.token_errors.popleft(), "errmsg": "scripted token error"}
            with self._lock:
                self.token_counter += 1
                return {"access_token": f"FAKE_TOKEN_{self.token_counter}", "expires_in": 7200}
        if path == "/sns/jscode2session":
            result = self.codes.get(params.get("js_code", ""))
            if result is None:
                return {"errcode": 40029, "errmsg": "invalid code"}
            return result
        if path == "/cgi-bin/message/subscribe/send":
            errcode = self.send_results.popleft() if self.send_results else 0
            if errcode == 0:
                with self._lock:
                    self.sent_messages.append(body or {})
                return {"errcode": 0, "errmsg": "ok"}
            return {"errcode": errcode, "errmsg": "scripted send error"}
        return {"errcode": 404, "errmsg": f"fake has no {path}"}

    def start(self) -> FakeWeChat:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
