"""WeChat Pay's periodic work, each under a PostgreSQL advisory lock so a second instance skips instead of asking
WeChat Pay twice: the query-on-timeout pass (orders and deposit payouts with no notification after
``RW_WECHATPAY_QUERY_AFTER_MINUTES``) and the daily trade bills. Both are idempotent anyway: applying a
transaction is keyed by its transaction id, a bill's lines by their 微信订单号 / 微信退款单号.

No database transaction is open while WeChat Pay is asked (a slow gateway must not hold row locks, or on SQLite
the one connection, from the notification endpoint): each step reads what to ask, calls without a transaction,
then writes in its own short transaction that re-checks what it changes. The lock is therefore session-level,
held on a connection of its own that runs no transaction, and released when the pass ends (or the session dies)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from tortoise import connections

from config.settings import Settings
from core.sql import is_postgres
from payments.client import PayConfig, pay_client
from payments.service import query_unnotified

#: pg advisory lock keys ("rwpayq" / "rwpayb" as 63-bit integers)
QUERY_LOCK_KEY = 0x7277_7061_7971_0000 & 0x7FFF_FFFF_FFFF_FFFF
BILL_LOCK_KEY = 0x7277_7061_7962_0000 & 0x7FFF_FFFF_FFFF_FFFF


async def _alone(key: int, run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """``run`` unless another instance holds the lock; ``run`` owns its (short) transactions."""
    if not is_postgres():
        return await run()
    async with connections.get("default").acquire_connection() as connection:  # a pool connection, no transaction
        if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", key):
            return {"ran": False, "reason": "another instance is running it"}
        try:
            return await run()
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", key)


async def query_unnotified_orders(settings: Settings, now: datetime) -> dict[str, Any]:
    """Orders, deposit refunds and transfers without their notification after the configured minutes: asked."""
    from payments.payouts import query_processing_payouts
    from payments.transfers import query_transfers
    from refunds.service import RefundConfig

    cfg = PayConfig.from_settings(settings)
    if cfg is None:
        return {"wechatpay": "disabled"}
    client = pay_client(cfg)
    refund_cfg = RefundConfig.from_settings(settings)

    async def run() -> dict[str, Any]:
        return {"wechatpay_orders": await query_unnotified(now=now, cfg=cfg, client=client),
                "wechatpay_payouts": await query_processing_payouts(now=now, cfg=cfg, client=client,
                                                                    refund_cfg=refund_cfg),
                "wechatpay_transfers": await query_transfers(now=now, cfg=cfg, client=client, refund_cfg=refund_cfg)}

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
