"""The deposit refund's 款项发放 step through WeChat Pay: the approved amount refunded to the deposit's original
WeChat Pay payment (申请退款). WeChat Pay confirms asynchronously (退款结果通知, or at once in the answer);
on SUCCESS the refund moves to PAID with the WeChat Pay refund as its payment record instead of a bank receipt
(``refunds.service.pay(payment_record=…)``), and the deposit liability is settled as for a bank payout. A deposit
that did not come by WeChat Pay is paid by 商家转账 to the tenant's balance when the merchant has a transfer
scene configured (payments.transfers), else refused (finance pays by bank)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from core.errors import Conflict, InvalidTransition, NotFound, ServiceUnavailable, ValidationFailed
from leasing.choices import ChargeType, PaymentSource
from models.accounts import User
from models.leasing import PaymentAllocation
from models.payments import WechatPayOrder, WechatPayRefund, WechatPayTransfer
from models.refunds import DepositRefund
from payments import payout_rows, transfers
from payments.choices import (
    OPEN_PAYOUT_STATUSES,
    OrderStatus,
    PaymentsError,
    PayoutStatus,
)
from payments.client import PayConfig, call_pay
from payments.service import verify_notification
from refunds.choices import RefundStep
from refunds.service import RefundConfig

log = logging.getLogger("rentwatch.payments")


REFUND = payout_rows.PayoutKind(
    model=WechatPayRefund, noun="payout", number=lambda p: p.out_refund_no, number_key="out_refund_no",
    in_flight=frozenset({PayoutStatus.PROCESSING}), success=PayoutStatus.SUCCESS, record_prefix="wechatpay-refund",
    wechat_number=lambda p: p.wechat_refund_id, not_paid="paid back")


def refund_notify_url(cfg: PayConfig) -> str:
    return cfg.notify_url.rsplit("/", 1)[0] + "/refund-notify"


async def deposit_order(lease_id: int, amount_fen: int) -> WechatPayOrder:
    """The paid WeChat Pay order that carried this lease's deposit and can take back ``amount_fen``."""
    refs = await PaymentAllocation.filter(
        receivable__lease_id=lease_id, receivable__charge_type=ChargeType.DEPOSIT,
        payment__source=PaymentSource.WECHAT_PAY).values_list("payment__reference", flat=True)
    orders = await WechatPayOrder.filter(out_trade_no__in=list({str(r) for r in refs}), status=OrderStatus.PAID,
                                         transaction_id__not_isnull=True).order_by("-paid_fen")
    for order in orders:
        if (order.paid_fen or 0) >= amount_fen:
            return order
    raise Conflict("the deposit did not come by WeChat Pay (or not in one payment that covers the refund): pay it "
                   "by bank with a receipt", code=PaymentsError.NO_WECHAT_DEPOSIT_PAYMENT)


async def start_payout(refund_id: int, *, actor: User, now: datetime, cfg: PayConfig, client: Any,
                       refund_cfg: RefundConfig) -> WechatPayRefund | WechatPayTransfer:
    """Ask WeChat Pay to refund the approved amount to the deposit's payment, or, when the deposit came another
    way, to transfer it to the tenant's balance (once: asking again returns the same payout)."""
    refund = await DepositRefund.get_or_none(id=refund_id)
    if refund is None:
        raise NotFound("refund not found")
    if refund.step != RefundStep.APPROVED:
        raise InvalidTransition("refund", refund.step, RefundStep.PAID, [RefundStep.APPROVED])
    amount = refund.approved_amount_fen or 0
    if amount <= 0:
        raise ValidationFailed("nothing to pay back: record the zero payout with the pay step",
                               code=PaymentsError.NOTHING_TO_PAY_BACK)
    current = await WechatPayRefund.filter(refund_id=refund.id).order_by("-attempt").first()
    if current is not None and current.status in OPEN_PAYOUT_STATUSES:
        return current
    try:
        order = await deposit_order(refund.lease_id, amount)
    except Conflict as exc:
        if exc.code != PaymentsError.NO_WECHAT_DEPOSIT_PAYMENT or not cfg.transfer_scene_id:
            raise
        return await transfers.start_transfer(refund, amount, actor=actor, now=now, cfg=cfg, client=client,
                                              refund_cfg=refund_cfg)
    attempt = current.attempt + 1 if current else 1
    payout = await payout_rows.claim(
        REFUND, out_refund_no=f"RWRF{refund.id}-{attempt}", refund_id=refund.id, attempt=attempt, order_id=order.id,
        transaction_id=order.transaction_id, amount_fen=amount, total_fen=order.paid_fen or 0,
        status=PayoutStatus.PROCESSING, requested_by_id=actor.id, requested_at=now)
    response = await call_pay(lambda: client.refund(
        out_refund_no=payout.out_refund_no, transaction_id=payout.transaction_id, reason="押金退还",
        amount={"refund": payout.amount_fen, "total": payout.total_fen, "currency": "CNY"},
        notify_url=refund_notify_url(cfg)))
    if not response.ok:
        await payout_rows.fail(REFUND, payout, PayoutStatus.CLOSED, f"{response.status} {response.code}", now=now)
        raise payout_rows.refused("refund", response)
    await WechatPayRefund.filter(id=payout.id).update(wechat_refund_id=str(response.data.get("refund_id", ""))[:64])
    return await settle_payout(payout.out_refund_no, str(response.data.get("status", "")), now=now,
                               refund_cfg=refund_cfg, wechat_refund_id=str(response.data.get("refund_id", "")))


async def settle_payout(out_refund_no: str, status: str, *, now: datetime, refund_cfg: RefundConfig,
                        wechat_refund_id: str = "") -> WechatPayRefund:
    """A refund state from WeChat Pay (the answer, the notification or a query): SUCCESS moves the deposit
    refund to PAID once; CLOSED / ABNORMAL are alerted for finance to pay another way."""
    payout = await WechatPayRefund.get_or_none(out_refund_no=out_refund_no)
    if payout is None:
        raise NotFound("payout not found")
    if status == PayoutStatus.SUCCESS:
        await payout_rows.succeed(REFUND, payout, now=now, refund_cfg=refund_cfg,
                                  **({"wechat_refund_id": wechat_refund_id[:64]} if wechat_refund_id else {}))
    elif status in (PayoutStatus.CLOSED, PayoutStatus.ABNORMAL):
        await payout_rows.fail(REFUND, payout, PayoutStatus(status), f"WeChat Pay refund {status}", now=now)
    return await WechatPayRefund.get(id=payout.id)


async def handle_refund_notification(headers: Any, body: bytes, *, now: datetime, cfg: PayConfig, client: Any,
                                     refund_cfg: RefundConfig, remote_addr: str = "") -> str:
    """退款结果通知: verified as a payment notification is; a repeated one changes nothing."""
    data, _ = await verify_notification(headers, body, now=now, cfg=cfg, client=client, remote_addr=remote_addr)
    resource = data["resource"]
    if str(resource.get("mchid")) != cfg.mchid:
        raise ValidationFailed("not our merchant", code=PaymentsError.NOTIFICATION_REFUSED)
    out_refund_no = str(resource.get("out_refund_no") or "")
    if not await WechatPayRefund.filter(out_refund_no=out_refund_no).exists():
        log.warning("WeChat Pay refund notification for unknown out_refund_no %r", out_refund_no[:64])
        return "UNKNOWN"
    payout = await settle_payout(out_refund_no, str(resource.get("refund_status") or ""), now=now,
                                 refund_cfg=refund_cfg, wechat_refund_id=str(resource.get("refund_id") or ""))
    return payout.status


async def query_processing_payouts(*, now: datetime, cfg: PayConfig, client: Any, refund_cfg: RefundConfig,
                                   limit: int = 100) -> dict[str, int]:
    """Payouts still PROCESSING this long after they were asked for (no refund notification came): ask WeChat
    Pay (查询单笔退款) and settle what it says."""
    cutoff = now - timedelta(minutes=cfg.query_after_minutes)
    counts = {"queried": 0, "succeeded": 0, "failed": 0, "unanswered": 0}
    for payout in await WechatPayRefund.filter(status=PayoutStatus.PROCESSING, requested_at__lte=cutoff) \
            .order_by("requested_at").limit(limit):
        out_refund_no = payout.out_refund_no
        try:
            response = await call_pay(lambda: client.query_refund(out_refund_no=out_refund_no))  # noqa: B023
        except ServiceUnavailable:
            counts["unanswered"] += 1
            continue
        if not response.ok:
            counts["unanswered"] += 1
            continue
        counts["queried"] += 1
        after = await settle_payout(payout.out_refund_no, str(response.data.get("status", "")), now=now,
                                    refund_cfg=refund_cfg, wechat_refund_id=str(response.data.get("refund_id", "")))
        counts["succeeded"] += int(after.status == PayoutStatus.SUCCESS)
        counts["failed"] += int(after.status in (PayoutStatus.CLOSED, PayoutStatus.ABNORMAL))
    return counts


def serialize_payout(payout: WechatPayRefund) -> dict[str, Any]:
    return {"id": payout.id, "method": "REFUND", "refund_id": payout.refund_id, "out_refund_no": payout.out_refund_no,
            "status": payout.status, "amount_fen": payout.amount_fen, "transaction_id": payout.transaction_id,
            "wechat_refund_id": payout.wechat_refund_id, "requested_at": payout.requested_at.isoformat(),
            "succeeded_at": payout.succeeded_at.isoformat() if payout.succeeded_at else None,
            "last_error": payout.last_error}
