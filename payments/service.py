"""WeChat Pay orders and payments: the entry points the routes and the job call; they own the transactions.

Money enters the ledger only through ``leasing.ledger.record_payment`` (source WECHAT_PAY), exactly as a bank
statement line does: one payment per receivable of the order, ``external_ref = wechatpay:<transaction_id>:
<receivable_id>``, so a repeated notification, a late one, or a query racing a notification records it once.
What does not add up (amount, an order closed before it was paid, a receivable paid meanwhile) is recorded
and goes to the reconciliation's discrepancy list, never silently."""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from alerts.choices import AlertSeverity
from alerts.service import raise_alert
from core.errors import Conflict, NotFound, ServiceUnavailable, Unauthorized
from leasing.choices import OPEN_RECEIVABLE_STATUSES, PaymentMethod, PaymentSource
from leasing.ledger import record_payment
from models.accounts import User
from models.leasing import Lease, Receivable
from models.payments import WechatPayNotice, WechatPayOrder
from models.portfolio import Unit
from payments import rules
from payments.choices import (
    ALERT_FORGED_NOTIFICATION,
    NoticeOutcome,
    OrderStatus,
    PaymentsError,
    PaySource,
    TradeState,
)
from payments.client import PayConfig, call_pay
from reconciliation.choices import DiscrepancyKind
from reconciliation.matching import Finding
from reconciliation.service import open_discrepancy

log = logging.getLogger("rentwatch.payments")

#: WeChat Pay error codes of a pay call whose order can no longer be paid under this out_trade_no
ORDER_GONE_CODES = frozenset({"ORDER_CLOSED", "ORDERCLOSED", "OUT_TRADE_NO_USED"})
PAID_CODES = frozenset({"ORDERPAID", "ORDER_PAID"})


# --------------------------------------------------------------------------------------------- orders


async def _open_rows(tenant_id: int, ids: list[int]) -> list[rules.OpenRow]:
    rows = await Receivable.filter(id__in=ids, tenant_id=tenant_id)
    return [rules.OpenRow(id=r.id, tenant_id=r.tenant_id, lease_id=r.lease_id, building_id=r.building_id,
                          status=r.status, amount_fen=r.amount_fen, paid_fen=r.paid_fen,
                          in_force=r.open_key is not None, label=r.label) for r in rows]


async def tenant_receivables(tenant_id: int | None, ids: list[int]) -> list[rules.OpenRow]:
    """The caller's own receivables among ``ids`` (404 naming the others), before WeChat Pay is involved."""
    rows = await _open_rows(tenant_id or 0, ids)
    missing = sorted(set(ids) - {r.id for r in rows})
    if missing or tenant_id is None:
        raise NotFound("receivable not found", code=PaymentsError.RECEIVABLE_NOT_FOUND,
                       details={"receivable_ids": missing})
    return rows


async def create_order(*, user_id: int, tenant_id: int, receivable_ids: list[int], now: datetime, cfg: PayConfig,
                       client: Any) -> dict[str, Any]:
    """A JSAPI order for the tenant's receivables and the mini program's ``wx.requestPayment`` parameters.
    Amounts come from the receivables; the same receivables (with the same open amounts) again reuse the order
    while it can still be paid."""
    items = rules.order_items(await _open_rows(tenant_id, receivable_ids), receivable_ids, tenant_id,
                              frozenset(OPEN_RECEIVABLE_STATUSES))
    user = await User.get(id=user_id)
    if not user.openid:
        raise Conflict("this account is not bound to WeChat", code=PaymentsError.WECHAT_NOT_BOUND)
    key = rules.order_key(tenant_id, items)
    order = await _order_for(key, items, user, now=now, cfg=cfg)
    if order.prepay_id is None:
        order = await _place(order, cfg=cfg, client=client, now=now)
    await _close_overlapping(order, now=now, client=client)
    return {"order": serialize_order(order), "payment": request_payment_params(order, cfg=cfg, client=client,
                                                                               now=now)}


async def _order_for(key: str, items: list[rules.Item], user: User, *, now: datetime,
                     cfg: PayConfig) -> WechatPayOrder:
    """The reusable order of this key, or a new attempt (the previous one expired, was closed or is paid)."""
    for _ in range(3):
        latest = await WechatPayOrder.filter(order_key=key).order_by("-attempt").first()
        if latest is not None and latest.status == OrderStatus.PAID:
            raise Conflict("these receivables were just paid; the payment is being recorded",
                           code=PaymentsError.ORDER_ALREADY_PAID, details={"order_id": latest.id})
        if latest is not None and rules.reusable(latest.status, latest.expires_at, now):
            return latest
        attempt = latest.attempt + 1 if latest else 1
        unit = await Unit.get(id=(await Lease.get(id=items[0].lease_id)).unit_id)
        try:
            async with in_transaction():
                return await WechatPayOrder.create(
                    out_trade_no=rules.out_trade_no(key, attempt), order_key=key, attempt=attempt,
                    tenant_id=user.tenant_id, user_id=user.id, payer_openid=user.openid,
                    amount_fen=rules.order_total(items), description=rules.description(items, unit.code),
                    items=[_item_json(i) for i in items], status=OrderStatus.CREATED, placed_at=now,
                    expires_at=now + timedelta(minutes=cfg.order_expiry_minutes))
        except IntegrityError:
            continue  # another request made this attempt at the same moment: reuse it
    raise Conflict("the order changed concurrently, retry", code="ORDER_CHANGED")


def _item_json(item: rules.Item) -> dict[str, Any]:
    return {"receivable_id": item.receivable_id, "lease_id": item.lease_id, "building_id": item.building_id,
            "amount_fen": item.amount_fen, "label": item.label}


async def _place(order: WechatPayOrder, *, cfg: PayConfig, client: Any, now: datetime) -> WechatPayOrder:
    """Create the order at WeChat Pay. The same out_trade_no with the same parameters is idempotent there, so
    a crash between WeChat's answer and our write is repaired by calling again."""
    response = await call_pay(lambda: client.pay(
        description=order.description, out_trade_no=order.out_trade_no,
        amount={"total": order.amount_fen, "currency": "CNY"}, payer={"openid": order.payer_openid},
        time_expire=rules.time_expire(order.expires_at), attach=f"order:{order.id}", notify_url=cfg.notify_url))
    if response.ok and response.data.get("prepay_id"):
        await WechatPayOrder.filter(id=order.id).update(prepay_id=str(response.data["prepay_id"])[:64])
        return await WechatPayOrder.get(id=order.id)
    if response.code in PAID_CODES:
        await query_order(order.id, now=now, cfg=cfg, client=client)
        raise Conflict("this order was already paid", code=PaymentsError.ORDER_ALREADY_PAID)
    if response.code in ORDER_GONE_CODES:
        await WechatPayOrder.filter(id=order.id, status=OrderStatus.CREATED).update(
            status=OrderStatus.CLOSED, closed_at=now, last_trade_state=TradeState.CLOSED)
    log.warning("WeChat Pay refused order %s: %s %s", order.out_trade_no, response.status, response.data)
    raise ServiceUnavailable("WeChat Pay refused the order", code=PaymentsError.WECHAT_PAY_REFUSED,
                             details={"status": response.status, "wechat_code": response.code,
                                      "wechat_message": str(response.data.get("message", ""))[:200]})


async def _close_overlapping(order: WechatPayOrder, *, now: datetime, client: Any) -> None:
    """Other open orders of the tenant for any of these receivables are closed at WeChat Pay, so the same
    receivable cannot be paid twice through two orders. One that cannot be closed (paid meanwhile) is left
    to the notification or the query job."""
    ids = {item["receivable_id"] for item in order.items}
    others = await WechatPayOrder.filter(tenant_id=order.tenant_id, status=OrderStatus.CREATED, id__not=order.id)
    for other in others:
        if not ids & {item["receivable_id"] for item in other.items}:
            continue
        await close_order(other, now=now, client=client)


async def close_order(order: WechatPayOrder, *, now: datetime, client: Any) -> bool:
    if order.prepay_id is None:  # never reached WeChat Pay
        await WechatPayOrder.filter(id=order.id, status=OrderStatus.CREATED).update(status=OrderStatus.CLOSED,
                                                                                   closed_at=now)
        return True
    try:
        response = await call_pay(lambda: client.close(out_trade_no=order.out_trade_no))
    except ServiceUnavailable:
        return False
    if response.ok:
        await WechatPayOrder.filter(id=order.id, status=OrderStatus.CREATED).update(
            status=OrderStatus.CLOSED, closed_at=now, last_trade_state=TradeState.CLOSED)
        return True
    log.info("WeChat Pay did not close %s: %s", order.out_trade_no, response.data)
    return False


def request_payment_params(order: WechatPayOrder, *, cfg: PayConfig, client: Any, now: datetime) -> dict[str, str]:
    """What ``wx.requestPayment`` takes: signed here with the merchant key (RSA), never by the client."""
    timestamp = str(int(now.timestamp()))
    nonce = secrets.token_hex(16)
    package = f"prepay_id={order.prepay_id}"
    return {"appId": cfg.appid, "timeStamp": timestamp, "nonceStr": nonce, "package": package, "signType": "RSA",
            "paySign": client.sign(rules.pay_sign_message(cfg.appid, timestamp, nonce, str(order.prepay_id)))}


def serialize_order(order: WechatPayOrder) -> dict[str, Any]:
    return {"id": order.id, "out_trade_no": order.out_trade_no, "status": order.status,
            "amount_fen": order.amount_fen, "description": order.description,
            "receivables": [{"receivable_id": i["receivable_id"], "lease_id": i["lease_id"],
                             "amount_fen": i["amount_fen"], "label": i.get("label", "")} for i in order.items],
            "expires_at": order.expires_at.isoformat(), "placed_at": order.placed_at.isoformat(),
            "paid_at": order.paid_at.isoformat() if order.paid_at else None, "paid_fen": order.paid_fen,
            "closed_at": order.closed_at.isoformat() if order.closed_at else None}


async def tenant_order(order_id: int, tenant_id: int) -> WechatPayOrder:
    order = await WechatPayOrder.get_or_none(id=order_id, tenant_id=tenant_id)
    if order is None:
        raise NotFound("order not found")
    return order


# --------------------------------------------------------------------------------------------- notifications


def _header(headers: Any, name: str) -> str:
    return str(headers.get(name) or headers.get(name.lower()) or "")


async def handle_notification(headers: Any, body: bytes, *, now: datetime, cfg: PayConfig, client: Any,
                              remote_addr: str = "") -> NoticeOutcome:
    """A payment notification: the platform's signature verified (and its timestamp near our clock), the
    resource decrypted with the APIv3 key, then applied once. Refused (and logged, kept, alerted) when forged."""
    text = body.decode("utf-8", errors="replace")
    serial = _header(headers, "Wechatpay-Serial")
    reason = _refusal(headers, serial, now=now, cfg=cfg)
    data: dict[str, Any] | None = None
    if not reason:
        sdk_headers = {name: _header(headers, name) for name in (
            "Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial",
            "Wechatpay-Signature-Type")}
        try:
            data = client.callback(sdk_headers, text)
        except Exception as exc:  # noqa: BLE001 - the SDK raises bare Exception for unknown algorithms
            reason = f"not verifiable: {exc}"[:300]
        if not reason and not data:
            reason = "the platform signature or the resource's AES-GCM tag does not verify"
    if reason or data is None:
        await _forged(text, serial, reason or "refused", now=now, remote_addr=remote_addr)
        raise Unauthorized("notification refused", code=PaymentsError.NOTIFICATION_REFUSED)
    raw = data.get("resource")
    resource: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return await apply_transaction(resource, via=PaySource.NOTIFICATION, now=now, cfg=cfg,
                                   event_id=str(data.get("id", ""))[:64],
                                   event_type=str(data.get("event_type", ""))[:40], remote_addr=remote_addr,
                                   serial=serial)


def _refusal(headers: Any, serial: str, *, now: datetime, cfg: PayConfig) -> str:
    """Checks before any cryptography: our platform key's serial (an unknown one would make the SDK download
    certificates for every forged request) and the timestamp's distance to our clock (a stale replay)."""
    if serial != cfg.public_key_id:
        return f"unknown Wechatpay-Serial {serial[:40]!r}"
    stamp = _header(headers, "Wechatpay-Timestamp")
    if not stamp.isdigit():
        return "no Wechatpay-Timestamp"
    if abs(int(stamp) - now.timestamp()) > cfg.notify_max_skew_seconds:
        return f"Wechatpay-Timestamp {stamp} is more than {cfg.notify_max_skew_seconds}s from our clock"
    return ""


async def _forged(text: str, serial: str, reason: str, *, now: datetime, remote_addr: str) -> None:
    log.warning("WeChat Pay notification refused from %s: %s", remote_addr or "?", reason)
    out_trade_no = ""
    try:
        parsed = json.loads(text)
        out_trade_no = str((parsed.get("resource") or {}).get("out_trade_no") or "")[:32]
    except (ValueError, AttributeError):
        pass
    await WechatPayNotice.create(via=PaySource.NOTIFICATION, outcome=NoticeOutcome.REFUSED_SIGNATURE,
                                 reason=reason[:300], remote_addr=remote_addr[:64], serial=serial[:80],
                                 received_at=now, out_trade_no=out_trade_no)
    await raise_alert(alert_type=ALERT_FORGED_NOTIFICATION, now=now, subject="wechatpay",
                      severity=AlertSeverity.CRITICAL,
                      explanation=f"Forged WeChat Pay notification refused: {reason}"[:2000],
                      evidence={"remote_addr": remote_addr, "serial": serial[:80], "reason": reason[:300]})


async def apply_transaction(resource: dict[str, Any], *, via: PaySource, now: datetime, cfg: PayConfig,
                            event_id: str = "", event_type: str = "", remote_addr: str = "",
                            serial: str = "") -> NoticeOutcome:
    """A verified transaction (notification resource or order query): checked against our order, applied to
    the ledger once. Merchant or app not ours → refused."""
    out_trade_no = str(resource.get("out_trade_no") or "")[:32]
    transaction_id = str(resource.get("transaction_id") or "")[:32]
    trade_state = str(resource.get("trade_state") or "")
    total = (resource.get("amount") or {}).get("total")
    notice: dict[str, Any] = {"via": via, "event_id": event_id, "event_type": event_type, "out_trade_no": out_trade_no,
              "transaction_id": transaction_id, "trade_state": trade_state[:16],
              "amount_fen": total if isinstance(total, int) else None, "remote_addr": remote_addr[:64],
              "serial": serial[:80], "received_at": now}
    async with in_transaction():
        order = await WechatPayOrder.select_for_update().get_or_none(out_trade_no=out_trade_no)
        outcome, reason = await _apply(order, resource, trade_state, transaction_id, via=via, now=now, cfg=cfg)
        await WechatPayNotice.create(**notice, outcome=outcome, reason=reason[:300],
                                     order_id=order.id if order else None)
    if outcome == NoticeOutcome.REFUSED_MERCHANT:
        log.warning("WeChat Pay transaction %s is not for merchant %s / app %s", transaction_id, cfg.mchid,
                    cfg.appid)
        raise Unauthorized("notification refused", code=PaymentsError.NOTIFICATION_REFUSED)
    return outcome


async def _apply(order: WechatPayOrder | None, resource: dict[str, Any], trade_state: str, transaction_id: str, *,
                 via: PaySource, now: datetime, cfg: PayConfig) -> tuple[NoticeOutcome, str]:
    if order is None:
        return NoticeOutcome.UNKNOWN_ORDER, "no order with this out_trade_no"
    check = rules.check_paid(resource, mchid=cfg.mchid, appid=cfg.appid, expected_fen=order.amount_fen)
    if not check.ours:
        return NoticeOutcome.REFUSED_MERCHANT, f"mchid {resource.get('mchid')} / appid {resource.get('appid')}"
    if trade_state != TradeState.SUCCESS or not transaction_id:
        if order.status == OrderStatus.CREATED and trade_state in (TradeState.CLOSED, TradeState.REVOKED):
            await WechatPayOrder.filter(id=order.id).update(status=OrderStatus.CLOSED, closed_at=now,
                                                            last_trade_state=trade_state)
        return NoticeOutcome.IGNORED, f"trade_state {trade_state}"
    if order.transaction_id == transaction_id:
        return NoticeOutcome.DUPLICATE, "this transaction was already applied"
    paid_at = rules.parse_success_time(resource.get("success_time"), now)
    findings: list[tuple[DiscrepancyKind, str]] = []
    if order.status == OrderStatus.PAID:
        findings.append((DiscrepancyKind.DUPLICATE_PAYMENT,
                         f"order {order.out_trade_no} paid again (transaction {transaction_id}, first "
                         f"{order.transaction_id})"))
    elif order.status == OrderStatus.CLOSED:
        findings.append((DiscrepancyKind.CLOSED_ORDER_PAID,
                         f"order {order.out_trade_no} was closed at {order.closed_at} and then paid"))
    if not check.amount_ok:
        findings.append((DiscrepancyKind.AMOUNT_MISMATCH,
                         f"order {order.out_trade_no} expected {check.expected_fen} fen, WeChat Pay reports "
                         f"{check.received_fen}"))
    if order.status != OrderStatus.PAID:
        await WechatPayOrder.filter(id=order.id).update(
            status=OrderStatus.PAID, transaction_id=transaction_id, paid_fen=check.received_fen, paid_at=paid_at,
            paid_via=via, last_trade_state=trade_state)
    payments = await _record(order, transaction_id, check, paid_at=paid_at, now=now, exact=check.amount_ok)
    findings += [(DiscrepancyKind.DUPLICATE_PAYMENT, f"receivable {rid} was no longer open when WeChat Pay "
                  f"transaction {transaction_id} paid it") for rid, _, head_open in payments if not head_open]
    for kind, text in findings:
        first = payments[0] if payments else None
        item = order.items[0]
        await open_discrepancy(Finding(kind, check.received_fen, check.expected_fen, text,
                                       receivable_id=first[0] if first else None, lease_id=item["lease_id"],
                                       building_id=item["building_id"]),
                               line=None, now=now, payment_id=first[1] if first else None,
                               key=f"{kind}:wechatpay:{transaction_id}")
    if findings:
        return NoticeOutcome.DISCREPANCY, "; ".join(text for _, text in findings)[:300]
    return NoticeOutcome.APPLIED, ""


async def _record(order: WechatPayOrder, transaction_id: str, check: rules.PaidCheck, *, paid_at: datetime,
                  now: datetime, exact: bool) -> list[tuple[int, int, bool]]:
    """The ledger payments of one transaction: per receivable when the amount is the order's (each allocated
    to its receivable first), else one payment of what arrived (first receivable first, then oldest first).
    Returns (receivable id, payment id, the receivable was still open)."""
    if exact:
        parts = [(item, int(item["amount_fen"])) for item in order.items]
    else:
        parts = [(order.items[0], check.received_fen)] if check.received_fen > 0 else []
    done = []
    for item, amount in parts:
        rid = int(item["receivable_id"])
        head_open = await Receivable.filter(id=rid, status__in=list(OPEN_RECEIVABLE_STATUSES),
                                            open_key__not_isnull=True).exists()
        result = await record_payment(
            lease_id=int(item["lease_id"]), amount_fen=amount, paid_at=paid_at, method=PaymentMethod.WECHAT_PAY,
            now=now, reference=order.out_trade_no, source=PaymentSource.WECHAT_PAY,
            external_ref=f"wechatpay:{transaction_id}:{rid}", receivable_id=rid if head_open else None,
            note=f"WeChat Pay {transaction_id}, order {order.out_trade_no}")
        done.append((rid, result.payment.id, head_open))
    return done


# --------------------------------------------------------------------------------------------- query on timeout


async def query_order(order_id: int, *, now: datetime, cfg: PayConfig, client: Any) -> str:
    """Ask WeChat Pay for an order's state (no notification came): SUCCESS is applied as a notification would
    be; an expired unpaid order is closed. Returns the trade state seen."""
    order = await WechatPayOrder.get(id=order_id)
    response = await call_pay(lambda: client.query(out_trade_no=order.out_trade_no))
    if response.status == 404 or response.code == "ORDER_NOT_EXIST":
        state = "ORDER_NOT_EXIST"
    elif not response.ok:
        raise ServiceUnavailable("WeChat Pay did not answer the query", code=PaymentsError.WECHAT_PAY_UNAVAILABLE,
                                 details={"status": response.status, "wechat_code": response.code})
    else:
        state = str(response.data.get("trade_state") or "")
    await WechatPayOrder.filter(id=order.id).update(last_queried_at=now, last_trade_state=state[:16])
    if state == TradeState.SUCCESS:
        await apply_transaction(response.data, via=PaySource.QUERY, now=now, cfg=cfg)
    elif state in (TradeState.CLOSED, TradeState.REVOKED):
        await WechatPayOrder.filter(id=order.id, status=OrderStatus.CREATED).update(status=OrderStatus.CLOSED,
                                                                                   closed_at=now)
    elif state in (TradeState.NOTPAY, "ORDER_NOT_EXIST") and order.expires_at <= now:
        await close_order(order, now=now, client=client)
    return state


async def query_unnotified(*, now: datetime, cfg: PayConfig, client: Any, limit: int = 200) -> dict[str, int]:
    """Orders still open this long after creation with no notification: query each (oldest first); those past
    expiry and unpaid are closed. An order queried recently is left for the next pass."""
    cutoff = now - timedelta(minutes=cfg.query_after_minutes)
    orders = await WechatPayOrder.filter(status=OrderStatus.CREATED, placed_at__lte=cutoff,
                                         prepay_id__not_isnull=True).order_by("placed_at").limit(limit)
    counts: dict[str, int] = {"queried": 0, "paid": 0, "closed": 0, "failed": 0}
    for order in orders:
        if order.last_queried_at is not None and order.last_queried_at > cutoff and order.expires_at > now:
            continue
        try:
            state = await query_order(order.id, now=now, cfg=cfg, client=client)
        except ServiceUnavailable:
            counts["failed"] += 1
            continue
        counts["queried"] += 1
        after = await WechatPayOrder.get(id=order.id)
        counts["paid"] += int(after.status == OrderStatus.PAID and state == TradeState.SUCCESS)
        counts["closed"] += int(after.status == OrderStatus.CLOSED)
    return counts
