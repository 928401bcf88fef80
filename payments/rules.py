"""Pure rules of WeChat Pay orders: which receivables may be paid, the order's amount and its out_trade_no,
the mini program's wx.requestPayment parameters, and the checks of a paid transaction against our order.
No database, no clock, no network (table-tested in tests/test_payments_rules.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.errors import NotFound, ValidationFailed
from payments.choices import PaymentsError

#: receivables one order may carry (WeChat Pay's description is short; a statement rarely has more due)
MAX_ITEMS = 24
#: an order reused for a retry must still be payable for this long, or a new one is made
REUSE_MARGIN = timedelta(minutes=2)
DESCRIPTION_MAX = 127  # WeChat Pay: description ≤ 127 characters


@dataclass(frozen=True)
class Item:
    """One receivable in an order, with what it still needed when the order was made."""

    receivable_id: int
    lease_id: int
    building_id: int
    amount_fen: int
    label: str = ""


@dataclass(frozen=True)
class OpenRow:
    """What the rules need to know of a receivable (from models.leasing.Receivable)."""

    id: int
    tenant_id: int
    lease_id: int
    building_id: int
    status: str
    amount_fen: int
    paid_fen: int
    in_force: bool  # open_key set: not superseded
    label: str = ""


def order_items(rows: Sequence[OpenRow], wanted: Sequence[int], tenant_id: int, open_statuses: frozenset[str]
                ) -> list[Item]:
    """The receivables of an order, amounts from the server's rows only (the client names ids, never amounts).
    Unknown ids and other tenants' receivables are not found; paid, waived or superseded ones are not open."""
    ids = sorted(set(wanted))
    if not ids or len(ids) > MAX_ITEMS:
        raise ValidationFailed(f"name 1 to {MAX_ITEMS} receivables", details={"fields": [{"field": "receivable_ids"}]})
    by_id = {row.id: row for row in rows if row.tenant_id == tenant_id}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise NotFound("receivable not found", code=PaymentsError.RECEIVABLE_NOT_FOUND,
                       details={"receivable_ids": missing})
    closed = [i for i in ids if not by_id[i].in_force or by_id[i].status not in open_statuses
              or by_id[i].amount_fen - by_id[i].paid_fen <= 0]
    if closed:
        raise ValidationFailed("those receivables are not open", code=PaymentsError.RECEIVABLE_NOT_OPEN,
                               details={"receivable_ids": closed})
    return [Item(receivable_id=r.id, lease_id=r.lease_id, building_id=r.building_id,
                 amount_fen=r.amount_fen - r.paid_fen, label=r.label) for r in (by_id[i] for i in ids)]


def order_key(tenant_id: int, items: Sequence[Item]) -> str:
    """Derived from the tenant, the receivables and what each still needs: the same request again gives the
    same key (a retry reuses the order); a changed amount (a partial payment came meanwhile) gives another."""
    text = f"{tenant_id}|" + ",".join(f"{i.receivable_id}:{i.amount_fen}" for i in sorted(
        items, key=lambda i: i.receivable_id))
    return "RW" + hashlib.sha256(text.encode()).hexdigest()[:25]


def out_trade_no(key: str, attempt: int) -> str:
    """WeChat Pay's out_trade_no (6–32 of [0-9A-Za-z_-|*]): the key and the attempt (a new attempt only after
    the previous order expired or was closed: WeChat Pay refuses a closed out_trade_no)."""
    if not 1 <= attempt <= 999:
        raise ValueError("attempt out of range")
    return f"{key}-{attempt}"


def order_total(items: Sequence[Item]) -> int:
    return sum(i.amount_fen for i in items)


def description(items: Sequence[Item], unit_code: str) -> str:
    labels = "、".join(dict.fromkeys(i.label or "租金" for i in items))
    return f"{unit_code} {labels} 共{len(items)}笔"[:DESCRIPTION_MAX]


def reusable(status: str, expires_at: datetime, now: datetime) -> bool:
    return status == "CREATED" and expires_at - now > REUSE_MARGIN


def time_expire(expires_at: datetime) -> str:
    """RFC 3339 with offset, as WeChat Pay wants it (no fractional seconds)."""
    return expires_at.replace(microsecond=0).isoformat()


def pay_sign_message(appid: str, timestamp: str, nonce: str, prepay_id: str) -> list[str]:
    """The lines wx.requestPayment's paySign signs (RSA-SHA256 with the merchant key)."""
    return [appid, timestamp, nonce, f"prepay_id={prepay_id}"]


@dataclass(frozen=True)
class PaidCheck:
    """The findings of a SUCCESS transaction against our order."""

    ours: bool  # merchant and app are ours
    amount_ok: bool
    received_fen: int
    expected_fen: int


def check_paid(resource: dict[str, Any], *, mchid: str, appid: str, expected_fen: int) -> PaidCheck:
    amount = resource.get("amount") or {}
    total = amount.get("total")
    received = int(total) if isinstance(total, int) and not isinstance(total, bool) else -1
    currency_ok = amount.get("currency", "CNY") == "CNY"
    return PaidCheck(ours=str(resource.get("mchid")) == mchid and str(resource.get("appid")) == appid,
                     amount_ok=currency_ok and received == expected_fen, received_fen=max(received, 0),
                     expected_fen=expected_fen)


def parse_success_time(value: Any, fallback: datetime) -> datetime:
    """success_time is RFC 3339 with offset (e.g. 2026-11-02T10:00:05+08:00); anything else: when we saw it."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        if parsed.tzinfo is not None:
            return parsed
    return fallback
