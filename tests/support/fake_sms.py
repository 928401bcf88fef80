"""A fake SMS provider on loopback speaking notifications/sms.py's protocol: ``POST /sms/send`` with a bearer
key; answers ``{"code": "OK", "message_id"}``, ``{"code": "UNAUTHORIZED"}`` for a wrong key, ``INVALID_PHONE`` for
a number that is not 11 digits starting with 1. ``fail_next`` scripts answers (an HTTP status int, or a code)."""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.loopback import POLL


class FakeSms:
    def __init__(self, api_key: str = "sms-key-1") -> None:
        self.api_key = api_key
        self.received: list[dict] = []
        self.fail_next: deque[int | str] = deque()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = fake.handle(self.path, self.headers.get("Authorization", ""), raw)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs=POLL, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/sms/send"

    def handle(self, path: str, authorization: str, raw: bytes) -> tuple[int, dict]:
        with self._lock:
            if path != "/sms/send":
                return 404, {"code": "NOT_FOUND"}
            if authorization != f"Bearer {self.api_key}":
                return 200, {"code": "UNAUTHORIZED", "message": "bad api key"}
            if self.fail_next:
                scripted = self.fail_next.popleft()
                if isinstance(scripted, int):
                    return scripted, {"code": "ERROR"}
                return 200, {"code": scripted, "message": "scripted"}
            body = json.loads(raw)
            if not re.fullmatch(r"1\d{10}", str(body.get("phone", ""))):
                return 200, {"code": "INVALID_PHONE", "message": "not a mainland mobile number"}
            self.received.append(body)
            return 200, {"code": "OK", "message_id": f"sms-{len(self.received)}"}

    def start(self) -> FakeSms:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
