"""WeChat Pay's periodic work: the query-on-timeout pass (orders with no notification after
``RW_WECHATPAY_QUERY_AFTER_MINUTES``). Idempotent: applying a transaction is keyed by its transaction id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from config.settings import Settings
from payments.client import PayConfig, pay_client
from payments.service import query_unnotified


async def query_unnotified_orders(settings: Settings, now: datetime) -> dict[str, Any]:
    """Orders and deposit payouts without their notification after the configured minutes: asked for."""
    from payments.payouts import query_processing_payouts
    from refunds.service import RefundConfig

    cfg = PayConfig.from_settings(settings)
    if cfg is None:
        return {"wechatpay": "disabled"}
    client = pay_client(cfg)
    return {"wechatpay_orders": await query_unnotified(now=now, cfg=cfg, client=client),
            "wechatpay_payouts": await query_processing_payouts(now=now, cfg=cfg, client=client,
                                                                refund_cfg=RefundConfig.from_settings(settings))}


async def fetch_trade_bills(settings: Settings, now: datetime) -> dict[str, Any]:
    """The daily trade bills of the past days, each fetched until imported (retried with backoff, alerted)."""
    from payments.bills import fetch_due_bills
    from reconciliation.service import ReconciliationConfig

    cfg = PayConfig.from_settings(settings)
    if cfg is None:
        return {"wechatpay": "disabled"}
    return {"wechatpay_bills": await fetch_due_bills(now=now, cfg=cfg, client=pay_client(cfg),
                                                     rcfg=ReconciliationConfig.from_settings(settings))}
