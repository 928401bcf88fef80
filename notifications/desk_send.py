"""The HTTP side of desk channels: WeCom group robots, DingTalk signed robots, WeCom application messages
(wechatpy's work client). Synchronous (run in a worker thread by the sender); every base URL comes from
configuration, so tests point them at fake servers on loopback that check keys and signatures as the real ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from notifications.choices import DeskChannelType
from notifications.desk import DeskChannel

#: errcodes that will not get better by retrying (bad key / signature / token config): FAILED at once.
PERMANENT_ERRCODES = frozenset({93000, 310000, 300001, 40013, 40001, 40014, 60020})


@dataclass
class DeskSendError(Exception):
    errcode: int | None
    message: str

    @property
    def permanent(self) -> bool:
        return self.errcode in PERMANENT_ERRCODES


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def _post_json(url: str, body: dict, timeout: float) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(),
                                     headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured https URLs
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise DeskSendError(None, f"HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, ValueError, OSError) as exc:
        raise DeskSendError(None, f"{type(exc).__name__}: {exc}") from None
    if answer.get("errcode", 0) != 0:
        raise DeskSendError(int(answer["errcode"]), str(answer.get("errmsg", "")))
    return answer


def send_wecom_robot(channel: DeskChannel, title: str, text: str, timeout: float) -> dict:
    return _post_json(channel.url, {"msgtype": "markdown", "markdown": {"content": text}}, timeout)


def send_dingtalk_robot(channel: DeskChannel, title: str, text: str, timeout: float,
                        now_ms: int | None = None) -> dict:
    timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
    joiner = "&" if "?" in channel.url else "?"
    url = f"{channel.url}{joiner}timestamp={timestamp}&sign={dingtalk_sign(channel.secret, timestamp)}"
    return _post_json(url, {"msgtype": "markdown", "markdown": {"title": title, "text": text}}, timeout)


def wecom_client(channel: DeskChannel, api_base: str, timeout: float):
    """wechatpy's WeCom (企业微信) client with every endpoint under ``api_base``."""
    from wechatpy.enterprise import WeChatClient

    class ConfiguredWorkClient(WeChatClient):
        API_BASE_URL = api_base + "cgi-bin/"

        def fetch_access_token(self):
            return self._fetch_access_token(url=api_base + "cgi-bin/gettoken",
                                            params={"corpid": self.corp_id, "corpsecret": self.secret})

    return ConfiguredWorkClient(channel.corp_id, channel.corp_secret, timeout=timeout, auto_retry=False)


_WORK_CLIENTS: dict[tuple[str, str, str], Any] = {}  # wechatpy's clients (wechatpy is untyped)


def send_wecom_app(channel: DeskChannel, title: str, text: str, timeout: float, api_base: str) -> dict:
    from wechatpy.exceptions import WeChatClientException

    key = (api_base, channel.corp_id, channel.corp_secret)
    client = _WORK_CLIENTS.get(key) or _WORK_CLIENTS.setdefault(key, wecom_client(channel, api_base, timeout))
    try:
        return client.message.send_markdown(channel.agent_id, channel.to_user, text)
    except WeChatClientException as exc:
        if exc.errcode in (40014, 42001):  # token expired or revoked: fetch once more, then give up
            client.fetch_access_token()
            try:
                return client.message.send_markdown(channel.agent_id, channel.to_user, text)
            except WeChatClientException as again:
                raise DeskSendError(again.errcode, str(again.errmsg)) from None
        raise DeskSendError(exc.errcode, str(exc.errmsg)) from None
    except Exception as exc:  # noqa: BLE001 - transport errors are retried by the outbox
        raise DeskSendError(None, f"{type(exc).__name__}: {exc}") from None


def deliver(channel: DeskChannel, title: str, text: str, *, timeout: float, wecom_api_base: str,
            now_ms: int | None = None) -> dict:
    """Send one message; ``now_ms`` is the sender's clock (DingTalk signs the timestamp, checked within 1 h)."""
    if channel.type == DeskChannelType.WECOM_ROBOT:
        return send_wecom_robot(channel, title, text, timeout)
    if channel.type == DeskChannelType.DINGTALK_ROBOT:
        return send_dingtalk_robot(channel, title, text, timeout, now_ms=now_ms)
    return send_wecom_app(channel, title, text, timeout, wecom_api_base)
