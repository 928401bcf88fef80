"""The one place that builds the WeChat Pay API v3 client (``wechatpayv3``). It is synchronous (requests):
``call_pay`` runs it in a worker thread. The gateway comes from settings so tests point it at a fake server on
loopback; the platform's signatures are verified with the 微信支付公钥 (public key mode: no certificate download)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from config.settings import Settings
from core.errors import ServiceUnavailable
from payments.choices import PaymentsError

log = logging.getLogger("rentwatch.payments")


@dataclass(frozen=True)
class PayConfig:
    mchid: str
    appid: str
    cert_serial_no: str
    private_key: str
    apiv3_key: str
    public_key: str
    public_key_id: str
    api_base: str
    notify_url: str
    timeout_seconds: float
    order_expiry_minutes: int
    query_after_minutes: int
    notify_max_skew_seconds: int
    bill_ready_hour: int = 10
    bill_lookback_days: int = 7
    bill_retry_minutes: int = 60
    timezone: str = "Asia/Shanghai"
    transfer_scene_id: str = ""  # 商家转账 off when empty
    transfer_report_infos: tuple[tuple[str, str], ...] = ()
    transfer_perception: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> PayConfig | None:
        """None when WeChat Pay is off (no merchant id)."""
        if not settings.wechatpay_enabled:
            return None
        private_key = settings.wechatpay_private_key
        if not private_key.strip() and settings.wechatpay_private_key_path:
            private_key = settings.wechatpay_private_key_path.read_text(encoding="utf-8")
        return cls(mchid=settings.wechatpay_mchid, appid=settings.wechatpay_appid or settings.wechat_appid,
                   cert_serial_no=settings.wechatpay_cert_serial_no, private_key=private_key,
                   apiv3_key=settings.wechatpay_apiv3_key, public_key=settings.wechatpay_public_key,
                   public_key_id=settings.wechatpay_public_key_id, api_base=settings.wechatpay_api_base.rstrip("/"),
                   notify_url=settings.resolved_wechatpay_notify_url,
                   timeout_seconds=settings.wechatpay_timeout_seconds,
                   order_expiry_minutes=settings.wechatpay_order_expiry_minutes,
                   query_after_minutes=settings.wechatpay_query_after_minutes,
                   notify_max_skew_seconds=settings.wechatpay_notify_max_skew_seconds,
                   bill_ready_hour=settings.wechatpay_bill_ready_hour,
                   bill_lookback_days=settings.wechatpay_bill_lookback_days,
                   bill_retry_minutes=settings.wechatpay_bill_retry_minutes, timezone=settings.business_timezone,
                   transfer_scene_id=settings.wechatpay_transfer_scene_id,
                   transfer_report_infos=tuple((str(i.get("info_type", "")), str(i.get("info_content", "")))
                                               for i in settings.wechatpay_transfer_report_infos),
                   transfer_perception=settings.wechatpay_transfer_perception)


_CLIENTS: dict[PayConfig, WeChatPay] = {}


def pay_client(cfg: PayConfig) -> WeChatPay:
    """One client per configuration and process (loading the keys is the only cost; it makes no request)."""
    client = _CLIENTS.get(cfg)
    if client is None:
        client = WeChatPay(wechatpay_type=WeChatPayType.MINIPROG, mchid=cfg.mchid, private_key=cfg.private_key,
                           cert_serial_no=cfg.cert_serial_no, appid=cfg.appid, apiv3_key=cfg.apiv3_key,
                           notify_url=cfg.notify_url, public_key=cfg.public_key, public_key_id=cfg.public_key_id,
                           timeout=(cfg.timeout_seconds, cfg.timeout_seconds), logger=None)
        client._core._gate_way = cfg.api_base  # the SDK's gateway is a constant; the settings decide it here
        _CLIENTS[cfg] = client
    return client


def configured(settings: Settings) -> tuple[PayConfig, WeChatPay]:
    cfg = PayConfig.from_settings(settings)
    if cfg is None:
        raise ServiceUnavailable("WeChat Pay is not configured", code=PaymentsError.WECHAT_PAY_DISABLED)
    return cfg, pay_client(cfg)


@dataclass(frozen=True)
class PayResponse:
    status: int
    data: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        return str(self.data.get("code") or "")


async def call_pay(fn: Callable[[], tuple[int, Any]]) -> PayResponse:
    """Run one SDK call in a thread. Unreachable, or a 2xx whose signature fails (the SDK raises): 503."""
    try:
        status, body = await asyncio.to_thread(fn)
    except requests.RequestException as exc:
        log.warning("WeChat Pay unreachable: %s", exc)
        raise ServiceUnavailable("WeChat Pay is unreachable, try again", code=PaymentsError.WECHAT_PAY_UNAVAILABLE,
                                 details={"reason": type(exc).__name__}) from exc
    except Exception as exc:  # noqa: BLE001 - the SDK raises bare Exception for a bad response signature
        log.error("WeChat Pay answer refused: %s", exc)
        raise ServiceUnavailable("WeChat Pay's answer could not be verified", code=PaymentsError.WECHAT_PAY_UNAVAILABLE,
                                 details={"reason": str(exc)[:200]}) from exc
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {"raw": str(body)[:500]}
    return PayResponse(int(status), data if isinstance(data, dict) else {"raw": data})
