"""The deposit refund's 款项发放 step through 商家转账 (merchant transfer to the tenant's WeChat balance) when the
deposit did not come by WeChat Pay, so there is no payment to refund to. wechatpayv3's ``mch_transfer_bills``
(``POST /v3/fund-app/mch-transfer/transfer-bills``, the transfer product WeChat Pay opens to merchants since
2025; the older ``/v3/transfer/batches`` is closed to new ones).

WeChat Pay answers WAIT_USER_CONFIRM with a ``package_info``: the tenant confirms receipt in the mini program
(``wx.requestMerchantTransfer``), then the 商家转账结果通知 (or a query) brings SUCCESS, FAIL or CANCELLED. On SUCCESS
the refund moves to PAID once, with the transfer bill as its payment record instead of a bank receipt. Until the
tenant confirms, finance may cancel it (撤销转账): CANCELING, then CANCELLED by the notification or a query, and the
refund's 款项发放 can be done again (another transfer, or the bank). Nothing is written inside a transaction while
WeChat Pay is asked; each write re-checks the state it changes."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from accounts.choices import Role
from audit import service as audit
from audit.choices import AuditAction
from core.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from models.accounts import User
from models.payments import WechatPayTransfer
from models.portfolio import Unit
from models.refunds import DepositRefund
from payments import payout_rows
from payments.choices import (
    CANCELLABLE_TRANSFER_STATUSES,
    IN_FLIGHT_TRANSFER_STATUSES,
    OPEN_TRANSFER_STATUSES,
    TRANSFER_STATES,
    PaymentsError,
    TransferStatus,
)
from payments.client import PayConfig, call_pay
from payments.service import verify_notification
from refunds.service import RefundConfig

log = logging.getLogger("rentwatch.payments")

#: WeChat Pay: from 2,000 yuan the payee's real name is required (it is checked against the WeChat account)
NAME_REQUIRED_FEN = 200000
REMARK_MAX = 32  # transfer_remark: ≤ 32 characters, shown to the tenant
FAILED = frozenset({TransferStatus.FAIL, TransferStatus.CANCELLED})


TRANSFER = payout_rows.PayoutKind(
    model=WechatPayTransfer, noun="transfer", number=lambda t: t.out_bill_no, number_key="out_bill_no",
    in_flight=IN_FLIGHT_TRANSFER_STATUSES, success=TransferStatus.SUCCESS, record_prefix="wechatpay-transfer",
    wechat_number=lambda t: t.transfer_bill_no, not_paid="transferred")


def transfer_notify_url(cfg: PayConfig) -> str:
    return cfg.notify_url.rsplit("/", 1)[0] + "/transfer-notify"


def out_bill_no(refund_id: int, attempt: int) -> str:
    """商户单号: letters and digits only (no separators), unique per refund and attempt."""
    return f"RWTF{refund_id}A{attempt}"


async def recipient_of(refund: DepositRefund) -> User:
    """The tenant's WeChat-bound account that receives the money: the one who applied for the refund, else the
    tenant's only bound account (a company with several contacts must say who by applying from that account)."""
    bound = await User.filter(tenant_id=refund.tenant_id, role=Role.TENANT, is_active=True,
                              openid__not_isnull=True).exclude(openid="").order_by("id")
    chosen = next((u for u in bound if u.id == refund.applicant_id), None)
    if chosen is None and len(bound) == 1:
        chosen = bound[0]
    if chosen is None or not chosen.openid:
        raise Conflict("no WeChat-bound tenant account to transfer to: the tenant applies from the mini program, "
                       "or finance pays by bank", code=PaymentsError.NO_TRANSFER_RECIPIENT,
                       details={"bound_accounts": len(bound)})
    return chosen


async def start_transfer(refund: DepositRefund, amount_fen: int, *, actor: User, now: datetime, cfg: PayConfig,
                         client: Any, refund_cfg: RefundConfig) -> WechatPayTransfer:
    """Ask WeChat Pay for a transfer of the approved amount (once: asking again returns the same transfer)."""
    current = await WechatPayTransfer.filter(refund_id=refund.id).order_by("-attempt").first()
    if current is not None and current.status in OPEN_TRANSFER_STATUSES:
        return current
    recipient = await recipient_of(refund)
    name = refund.payee_name.strip()
    if amount_fen >= NAME_REQUIRED_FEN and not name:
        raise ValidationFailed("a transfer of 2,000 yuan or more needs the payee's real name on the refund",
                               code="PAYEE_NAME_REQUIRED", details={"fields": [{"field": "payee_name"}]})
    attempt = current.attempt + 1 if current else 1
    transfer = await payout_rows.claim(
        TRANSFER, out_bill_no=out_bill_no(refund.id, attempt), refund_id=refund.id, attempt=attempt,
        recipient_id=recipient.id, openid=recipient.openid or "", amount_fen=amount_fen,
        status=TransferStatus.ACCEPTED, requested_by_id=actor.id, requested_at=now)
    unit = await Unit.get(id=refund.unit_id)
    infos = [{"info_type": kind, "info_content": text} for kind, text in cfg.transfer_report_infos]
    remark = f"{unit.code}押金退还"[:REMARK_MAX]
    response = await call_pay(lambda: client.mch_transfer_bills(
        out_bill_no=transfer.out_bill_no, transfer_scene_id=cfg.transfer_scene_id, openid=transfer.openid,
        transfer_amount=transfer.amount_fen, transfer_remark=remark, user_name=name or None,
        user_recv_perception=cfg.transfer_perception or None, transfer_scene_report_infos=infos,
        notify_url=transfer_notify_url(cfg)))
    if not response.ok:
        if response.status >= 500:  # WeChat Pay may have taken it: the query job finds out (same out_bill_no)
            log.warning("WeChat Pay answered %s to transfer %s: left for the query", response.status,
                        transfer.out_bill_no)
            return await WechatPayTransfer.get(id=transfer.id)
        await _failed(transfer, TransferStatus.FAIL, f"{response.status} {response.code}", now=now)
        raise payout_rows.refused("transfer", response)
    return await settle_transfer(transfer.out_bill_no, str(response.data.get("state", "")), now=now,
                                 refund_cfg=refund_cfg,
                                 transfer_bill_no=str(response.data.get("transfer_bill_no", "")),
                                 package_info=str(response.data.get("package_info", "")))


async def settle_transfer(out_bill_no_: str, state: str, *, now: datetime, refund_cfg: RefundConfig,
                          transfer_bill_no: str = "", package_info: str = "", reason: str = "") -> WechatPayTransfer:
    """A transfer state from WeChat Pay (the answer, the notification or a query), applied once: SUCCESS moves
    the deposit refund to PAID with the transfer bill as its record; FAIL / CANCELLED are alerted and the refund
    stays APPROVED for another attempt or a bank payment; the in-flight states only move forward."""
    transfer = await WechatPayTransfer.get_or_none(out_bill_no=out_bill_no_)
    if transfer is None:
        raise NotFound("transfer not found")
    status = TRANSFER_STATES.get(state)
    known = {"transfer_bill_no": transfer_bill_no[:64]} if transfer_bill_no else {}
    if status is None:
        log.warning("WeChat Pay transfer %s in unknown state %r", out_bill_no_, state[:32])
    elif status == TransferStatus.SUCCESS:
        await payout_rows.succeed(TRANSFER, transfer, now=now, refund_cfg=refund_cfg, **known)
    elif status in FAILED:
        if known:
            await WechatPayTransfer.filter(id=transfer.id).update(**known)
        await _failed(transfer, status, reason or f"WeChat Pay transfer {state}", now=now)
    else:
        # only forward: once a cancel was asked for, a late WAIT_USER_CONFIRM / PROCESSING does not undo it
        movable = IN_FLIGHT_TRANSFER_STATUSES - {TransferStatus.CANCELING} if status != TransferStatus.CANCELING \
            else IN_FLIGHT_TRANSFER_STATUSES
        await WechatPayTransfer.filter(id=transfer.id, status__in=list(movable)).update(
            status=status, **known, **({"package_info": package_info} if package_info else {}))
    return await WechatPayTransfer.get(id=transfer.id)


async def _failed(transfer: WechatPayTransfer, status: TransferStatus, reason: str, *, now: datetime) -> None:
    # the cancel finance asked for went through: no alert, the refund can be paid out again
    if status == TransferStatus.CANCELLED and await WechatPayTransfer.filter(
            id=transfer.id, status=TransferStatus.CANCELING).update(status=status, last_error=reason[:300],
                                                                     package_info=""):
        refund = await DepositRefund.get(id=transfer.refund_id)
        log.info("WeChat Pay transfer %s of refund %s cancelled", transfer.out_bill_no, refund.id)
        await audit.record(audit.SYSTEM, AuditAction.TRANSFER_CANCELLED,
                           audit.Target("deposit_refund", refund.id, refund.building_id),
                           {"out_bill_no": transfer.out_bill_no, "amount_fen": transfer.amount_fen,
                            "refund_step": refund.step}, now)
        return
    await payout_rows.fail(TRANSFER, transfer, status, reason, now=now, package_info="")  # no longer to confirm


async def cancel_transfer(refund: DepositRefund, *, actor: User, now: datetime, cfg: PayConfig, client: Any,
                          refund_cfg: RefundConfig) -> WechatPayTransfer:
    """撤销转账 (``POST …/transfer-bills/out-bill-no/{no}/cancel``) of the refund's transfer the tenant has not
    confirmed yet (ACCEPTED / WAIT_USER_CONFIRM). Asking again while it is being cancelled, or once it is, returns
    the same transfer. WeChat Pay answers CANCELING (or CANCELLED); the notification or a query brings CANCELLED,
    and then the refund's 款项发放 is open again. Refused by WeChat Pay (e.g. the tenant confirmed a moment ago) or
    unanswered: the transfer is put back as it was, for the notification or query to settle."""
    transfer = await WechatPayTransfer.filter(refund_id=refund.id).order_by("-attempt").first()
    if transfer is None:
        raise NotFound("no WeChat Pay transfer of this refund", code=PaymentsError.NO_TRANSFER)
    if transfer.status in (TransferStatus.CANCELING, TransferStatus.CANCELLED):
        return transfer
    if transfer.status not in CANCELLABLE_TRANSFER_STATUSES:
        raise Conflict("only a transfer the tenant has not confirmed can be cancelled",
                       code=PaymentsError.TRANSFER_NOT_CANCELLABLE, details={"status": transfer.status})
    before = TransferStatus(transfer.status)
    async with in_transaction():
        won = await WechatPayTransfer.filter(id=transfer.id, status=before).update(status=TransferStatus.CANCELING)
        if not won:
            raise Conflict("the transfer changed, reload and retry", code="PAYOUT_CHANGED")
        await audit.record(audit.Actor.of(actor), AuditAction.TRANSFER_CANCEL_REQUESTED,
                           audit.Target("deposit_refund", refund.id, refund.building_id),
                           {"out_bill_no": transfer.out_bill_no, "amount_fen": transfer.amount_fen,
                            "status": before}, now)
    number = transfer.out_bill_no
    try:
        response = await call_pay(lambda: client.mch_transfer_bills_cancel(out_bill_no=number))
    except ServiceUnavailable:
        await _uncancel(transfer, before)
        raise
    if not response.ok:
        await _uncancel(transfer, before)
        log.warning("WeChat Pay refused to cancel transfer %s: %s %s", number, response.status, response.code)
        details = {"wechat_code": response.code, "wechat_message": str(response.data.get("message", ""))[:200]}
        if response.status >= 500:
            raise ServiceUnavailable("WeChat Pay did not cancel the transfer, try again",
                                     code=PaymentsError.WECHAT_PAY_UNAVAILABLE, details=details)
        raise Conflict("WeChat Pay refused to cancel the transfer", code=PaymentsError.TRANSFER_NOT_CANCELLABLE,
                       details={"status": before, **details})
    return await settle_transfer(number, str(response.data.get("state", "")), now=now, refund_cfg=refund_cfg,
                                 transfer_bill_no=str(response.data.get("transfer_bill_no", "")),
                                 reason="cancelled by finance")


async def _uncancel(transfer: WechatPayTransfer, before: TransferStatus) -> None:
    await WechatPayTransfer.filter(id=transfer.id, status=TransferStatus.CANCELING).update(status=before)


async def handle_transfer_notification(headers: Any, body: bytes, *, now: datetime, cfg: PayConfig, client: Any,
                                       refund_cfg: RefundConfig, remote_addr: str = "") -> str:
    """商家转账结果通知: verified as a payment notification is; a repeated one changes nothing; an amount that is
    not ours is refused (kept in the log, alerted), never settled."""
    data, _ = await verify_notification(headers, body, now=now, cfg=cfg, client=client, remote_addr=remote_addr)
    resource = data["resource"]
    if str(resource.get("mch_id") or resource.get("mchid") or "") != cfg.mchid:
        raise ValidationFailed("not our merchant", code=PaymentsError.NOTIFICATION_REFUSED)
    number = str(resource.get("out_bill_no") or "")
    transfer = await WechatPayTransfer.get_or_none(out_bill_no=number)
    if transfer is None:
        log.warning("WeChat Pay transfer notification for unknown out_bill_no %r", number[:64])
        return "UNKNOWN"
    amount = resource.get("transfer_amount")
    if amount is not None and amount != transfer.amount_fen:
        log.error("WeChat Pay transfer %s reports %r fen, we asked for %s", number, amount, transfer.amount_fen)
        raise ValidationFailed("the transfer amount is not the one we asked for",
                               code=PaymentsError.NOTIFICATION_REFUSED)
    after = await settle_transfer(number, str(resource.get("state") or ""), now=now, refund_cfg=refund_cfg,
                                  transfer_bill_no=str(resource.get("transfer_bill_no") or ""),
                                  reason=str(resource.get("fail_reason") or ""))
    return after.status


async def query_transfers(*, now: datetime, cfg: PayConfig, client: Any, refund_cfg: RefundConfig,
                          limit: int = 100) -> dict[str, int]:
    """Transfers still in flight this long after they were asked for (or last asked about): ask WeChat Pay
    (查询转账单) and settle what it says. A bill WeChat Pay does not know was never made: FAIL (a new attempt may
    be asked for)."""
    cutoff = now - timedelta(minutes=cfg.query_after_minutes)
    counts = {"queried": 0, "succeeded": 0, "failed": 0, "unanswered": 0}
    rows = await WechatPayTransfer.filter(status__in=list(IN_FLIGHT_TRANSFER_STATUSES), requested_at__lte=cutoff) \
        .order_by("requested_at").limit(limit)
    for transfer in rows:
        if transfer.last_queried_at is not None and transfer.last_queried_at > cutoff:
            continue
        number = transfer.out_bill_no
        try:
            response = await call_pay(lambda: client.mch_transfer_bills_query(out_bill_no=number))  # noqa: B023
        except ServiceUnavailable:
            counts["unanswered"] += 1
            continue
        await WechatPayTransfer.filter(id=transfer.id).update(last_queried_at=now)
        if response.status == 404 or response.code == "NOT_FOUND":
            counts["queried"] += 1
            await _failed(transfer, TransferStatus.FAIL, "WeChat Pay has no such transfer bill", now=now)
            counts["failed"] += 1
            continue
        if not response.ok:
            counts["unanswered"] += 1
            continue
        counts["queried"] += 1
        after = await settle_transfer(number, str(response.data.get("state", "")), now=now, refund_cfg=refund_cfg,
                                      transfer_bill_no=str(response.data.get("transfer_bill_no", "")),
                                      reason=str(response.data.get("fail_reason", "")))
        counts["succeeded"] += int(after.status == TransferStatus.SUCCESS)
        counts["failed"] += int(after.status in FAILED)
    return counts


async def tenant_confirmation(refund_id: int, *, user_id: int, tenant_id: int | None, cfg: PayConfig
                              ) -> dict[str, Any]:
    """What the mini program hands to ``wx.requestMerchantTransfer`` for the caller's own refund: only the
    account the money goes to, only while WeChat Pay waits for it."""
    transfer = await WechatPayTransfer.filter(refund_id=refund_id, refund__tenant_id=tenant_id or 0,
                                              recipient_id=user_id).order_by("-attempt").first()
    if transfer is None or transfer.status != TransferStatus.WAIT_USER_CONFIRM or not transfer.package_info:
        raise NotFound("no transfer waits for your confirmation", code=PaymentsError.NO_TRANSFER_WAITING)
    return {"transfer": serialize_transfer(transfer),
            "confirm": {"mchId": cfg.mchid, "appId": cfg.appid, "package": transfer.package_info}}


def serialize_transfer(transfer: WechatPayTransfer) -> dict[str, Any]:
    return {"id": transfer.id, "method": "TRANSFER", "refund_id": transfer.refund_id,
            "out_bill_no": transfer.out_bill_no, "status": transfer.status, "amount_fen": transfer.amount_fen,
            "transfer_bill_no": transfer.transfer_bill_no, "recipient_id": transfer.recipient_id,
            "requested_at": transfer.requested_at.isoformat(),
            "succeeded_at": transfer.succeeded_at.isoformat() if transfer.succeeded_at else None,
            "last_error": transfer.last_error}
