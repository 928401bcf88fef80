"""A fake of the desk channels' HTTP APIs on loopback, checking credentials the way the real services do:

- WeCom group robot: ``POST /cgi-bin/webhook/send?key=KEY`` — an unknown key answers errcode 93000.
- DingTalk robot: ``POST /robot/send?access_token=T&timestamp=MS&sign=S`` — the signature must be
  base64(HMAC-SHA256(secret, "MS\\nsecret")) and the timestamp within one hour of the server's clock, else 310000.
- WeCom application: ``GET /cgi-bin/gettoken?corpid&corpsecret`` then ``POST /cgi-bin/message/send?access_token``;
  a wrong secret answers 40001, an unknown or revoked token 40014.

``fail_next`` scripts transient errcodes (e.g. -1, "system busy") for the next sends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.support.loopback import POLL


class FakeDesk:
    def __init__(self, *, robot_key: str = "robot-key-1", ding_token: str = "ding-token-1",
                 ding_secret: str = "SECdingtalk-secret-0001", corp_id: str = "ww-corp",
                 corp_secret: str = "app-secret", clock_ms=None) -> None:
        self.robot_key, self.ding_token, self.ding_secret = robot_key, ding_token, ding_secret
        self.corp_id, self.corp_secret = corp_id, corp_secret
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.tokens: set[str] = set()
        self.token_counter = 0
        self.fail_next: deque[int] = deque()
        self.received: list[dict] = []  # accepted messages: {"channel": ..., "body": ...}
        self.refused: list[dict] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
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
                self._reply(fake.handle("GET", url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, None))

            def do_POST(self):  # noqa: N802
                url = urlparse(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                self._reply(fake.handle("POST", url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, body))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs=POLL, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def _refuse(self, channel: str, errcode: int, errmsg: str, params: dict) -> dict:
        with self._lock:
            self.refused.append({"channel": channel, "errcode": errcode, "params": params})
        return {"errcode": errcode, "errmsg": errmsg}

    def _accept(self, channel: str, body: dict) -> dict:
        if self.fail_next:
            return {"errcode": self.fail_next.popleft(), "errmsg": "system busy"}
        with self._lock:
            self.received.append({"channel": channel, "body": body})
        return {"errcode": 0, "errmsg": "ok"}

    def ding_signature_ok(self, timestamp: str, sign: str) -> bool:
        if not timestamp.isdigit() or abs(self.clock_ms() - int(timestamp)) > 3600 * 1000:
            return False
        mac = hmac.new(self.ding_secret.encode("utf-8"), f"{timestamp}\n{self.ding_secret}".encode(),
                       hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(mac).decode(), sign)  # parse_qs already URL-decoded it

    def handle(self, method: str, path: str, params: dict, body: dict | None) -> dict:
        if path == "/cgi-bin/webhook/send":
            if params.get("key") != self.robot_key:
                return self._refuse("wecom_robot", 93000, "invalid webhook url", params)
            if not body or body.get("msgtype") != "markdown" or not body["markdown"].get("content"):
                return self._refuse("wecom_robot", 40008, "invalid message type", params)
            return self._accept("wecom_robot", body)
        if path == "/robot/send":
            if params.get("access_token") != self.ding_token:
                return self._refuse("dingtalk", 300001, "token is not exist", params)
            if not self.ding_signature_ok(params.get("timestamp", ""), params.get("sign", "")):
                return self._refuse("dingtalk", 310000, "sign not match", params)
            return self._accept("dingtalk", body or {})
        if path == "/cgi-bin/gettoken":
            if params.get("corpid") != self.corp_id or params.get("corpsecret") != self.corp_secret:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            with self._lock:
                self.token_counter += 1
                token = f"WORK_TOKEN_{self.token_counter}"
                self.tokens.add(token)
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if path == "/cgi-bin/message/send":
            if params.get("access_token") not in self.tokens:
                return self._refuse("wecom_app", 40014, "invalid access_token", params)
            return self._accept("wecom_app", body or {})
        return {"errcode": 404, "errmsg": f"fake has no {path}"}

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def start(self) -> FakeDesk:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
