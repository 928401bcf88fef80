"""WeChat Pay's periodic work, each under a PostgreSQL transaction-level advisory lock so a second instance
skips instead of asking WeChat Pay twice: the query-on-timeout pass (orders and deposit payouts with no
notification after ``RW_WECHATPAY_QUERY_AFTER_MINUTES``) and the daily trade bills. Both are idempotent anyway:
applying a transaction is keyed by its transaction id, a bill's lines by their 微信订单号."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from config.settings import Settings
from core.sql import is_postgres
from payments.client import PayConfig, pay_client
from payments.service import query_unnotified

#: pg advisory lock keys ("rwpayq" / "rwpayb" as 63-bit integers)
QUERY_LOCK_KEY = 0x7277_7061_7971_0000 & 0x7FFF_FFFF_FFFF_FFFF
BILL_LOCK_KEY = 0x7277_7061_7962_0000 & 0x7FFF_FFFF_FFFF_FFFF


async def _alone(key: int, run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    async with in_transaction() as connection:
        if is_postgres():
            rows = await connection.execute_query_dict("SELECT pg_try_advisory_xact_lock($1) AS locked", [key])
            if not rows[0]["locked"]:
                return {"ran": False, "reason": "another instance is running it"}
        return await run()


async def query_unnotified_orders(settings: Settings, now: datetime) -> dict[str, Any]:
    """Orders and deposit payouts without their notification after the configured minutes: asked for."""
    from payments.payouts import query_processing_payouts
    from refunds.service import RefundConfig

    cfg = PayConfig.from_settings(settings)
    if cfg is None:
        return {"wechatpay": "disabled"}
    client = pay_client(cfg)

    async def run() -> dict[str, Any]:
        return {"wechatpay_orders": await query_unnotified(now=now, cfg=cfg, client=client),
                "wechatpay_payouts": await query_processing_payouts(
                    now=now, cfg=cfg, client=client, refund_cfg=RefundConfig.from_settings(settings))}

    return await _alone(QUERY_LOCK_KEY, run)


async def fetch_trade_bills(settings: Settings, now: datetime) -> dict[str, Any]:
    """The daily trade bills of the past days, each fetched until imported (retried with backoff, alerted)."""
    from payments.bills import fetch_due_bills
    from reconciliation.service import ReconciliationConfig

    cfg = PayConfig.from_settings(settings)
    if cfg is None:
        return {"wechatpay": "disabled"}

    async def run() -> dict[str, Any]:
        return {"wechatpay_bills": await fetch_due_bills(now=now, cfg=cfg, client=pay_client(cfg),
                                                         rcfg=ReconciliationConfig.from_settings(settings))}

    return await _alone(BILL_LOCK_KEY, run)
