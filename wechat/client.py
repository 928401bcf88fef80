"""The one place that builds wechatpy clients. wechatpy is synchronous: call it through ``call_wechat``
(a worker thread) from async code. Base URLs come from settings so tests point it at a fake server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from config.settings import Settings
from core.errors import AppError, Forbidden, ServiceUnavailable, TooManyRequests, Unauthorized

T = TypeVar("T")
TOKEN_ERRORS = frozenset({40001, 40014, 42001})


class ConfiguredWeChatClient(WeChatClient):
    """WeChatClient whose endpoints (token, cgi-bin and wxa) all live under ``api_base``.

    auto_retry is off: wechatpy's own retry on 40001 has no cap. ``call_with_token_retry`` refreshes once.
    """

    def __init__(self, appid: str, secret: str, api_base: str, timeout: float):
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.api_base = api_base
        self.API_BASE_URL = api_base + "cgi-bin/"
        self.wxa.API_BASE_URL = api_base

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self.api_base + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret})

    def call_with_token_retry(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            self.fetch_access_token()
            return fn()


def build_client(settings: Settings) -> ConfiguredWeChatClient:
    return ConfiguredWeChatClient(settings.wechat_appid, settings.wechat_secret, settings.wechat_api_base,
                                  settings.wechat_timeout_seconds)


async def call_wechat(client: ConfiguredWeChatClient, fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(client.call_with_token_retry, fn)


#: code2Session error codes and what the API answers.
LOGIN_ERRORS: dict[int, tuple[type[AppError], str, str]] = {
    40029: (Unauthorized, "WECHAT_CODE_INVALID", "the WeChat login code is invalid"),
    40163: (Unauthorized, "WECHAT_CODE_USED", "the WeChat login code was already used"),
    45011: (TooManyRequests, "WECHAT_RATE_LIMITED", "too many login attempts, try again in a minute"),
    40226: (Forbidden, "WECHAT_USER_BLOCKED", "WeChat flagged this account as high-risk"),
    -1: (ServiceUnavailable, "WECHAT_BUSY", "WeChat is busy, try again shortly"),
}


def login_error(exc: Exception) -> AppError:
    if isinstance(exc, WeChatClientException):
        cls, code, message = LOGIN_ERRORS.get(
            exc.errcode, (ServiceUnavailable, "WECHAT_ERROR", f"WeChat answered {exc.errcode}"))
        return cls(message, code=code, details={"errcode": exc.errcode})
    return ServiceUnavailable(f"WeChat could not be reached: {type(exc).__name__}", code="WECHAT_UNREACHABLE")


async def code_to_session(client: ConfiguredWeChatClient, js_code: str) -> dict[str, Any]:
    try:
        return await call_wechat(client, lambda: client.wxa.code_to_session(js_code))
    except Exception as exc:  # noqa: BLE001 - every failure maps to a clear API error
        raise login_error(exc) from None


def send_subscribe_message(client: ConfiguredWeChatClient, *, openid: str, template_id: str,
                           data: dict[str, dict[str, str]], page: str | None, miniprogram_state: str,
                           lang: str) -> dict[str, Any]:
    """POST cgi-bin/message/subscribe/send (synchronous: run through ``call_wechat``).

    wechatpy's ``send_subscribe_message`` cannot pass ``miniprogram_state``/``lang``, hence ``_post``.
    A non-zero errcode raises ``WeChatClientException`` (43101: the user has not subscribed).
    """
    body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data,
                            "miniprogram_state": miniprogram_state, "lang": lang}
    if page:
        body["page"] = page
    return client.wxa._post("cgi-bin/message/subscribe/send", data=body)
