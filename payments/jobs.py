"""WeChat Pay's periodic work: the query-on-timeout pass (orders with no notification after
``RW_WECHATPAY_QUERY_AFTER_MINUTES``). Idempotent: applying a transaction is keyed by its transaction id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from config.settings import Settings
from payments.client import PayConfig, pay_client
from payments.service import query_unnotified


async def query_unnotified_orders(settings: Settings, now: datetime) -> dict[str, Any]:
    cfg = PayConfig.from_settings(settings)
    if cfg is None:
        return {"wechatpay": "disabled"}
    return {"wechatpay_orders": await query_unnotified(now=now, cfg=cfg, client=pay_client(cfg))}
