"""What the deposit refund's two WeChat Pay payouts share: payments.payouts (申请退款, back to the deposit's own
payment, a ``WechatPayRefund``) and payments.transfers (商家转账 to the tenant's balance, a ``WechatPayTransfer``).

One rule for both: a payout row is claimed by creating it (one per refund and attempt; a second writer gets
PAYOUT_CHANGED), and it is moved on only by a conditional UPDATE from a state still in flight, so that of the
answer, the notification and the query only the writer whose UPDATE changed the row acts on it: SUCCESS pays
the deposit refund (PAID, with the WeChat Pay record as its payment record), a failure is logged and alerted;
a repeated or late state changes nothing. Nothing here is written inside a transaction while WeChat Pay is
asked."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from alerts.choices import AlertSeverity
from alerts.service import raise_alert
from core.errors import Conflict, ServiceUnavailable
from models.accounts import User
from models.payments import WechatPayRefund, WechatPayTransfer
from models.refunds import DepositRefund
from payments.choices import ALERT_PAYOUT_FAILED, PaymentsError
from payments.client import PayResponse
from refunds import service as refunds
from refunds.service import RefundConfig

log = logging.getLogger("rentwatch.payments")

Row = TypeVar("Row", WechatPayRefund, WechatPayTransfer)


@dataclass(frozen=True)
class PayoutKind(Generic[Row]):
    """How one payout method names its row, its numbers and its states."""

    model: type[Row]
    noun: str  # in messages: "payout", "transfer"
    number: Callable[[Row], str]  # our number (out_refund_no, out_bill_no)
    number_key: str  # its name in an alert's evidence
    in_flight: Collection[str]  # the states a row is moved on from
    success: str
    record_prefix: str  # the refund's payment record: "<prefix>:<WeChat Pay's number or ours>"
    wechat_number: Callable[[Row], str]  # WeChat Pay's number, once it is known
    not_paid: str  # the alert's explanation: "Deposit refund N not <not_paid> through WeChat Pay: ..."


async def claim(kind: PayoutKind[Row], **fields: Any) -> Row:
    """The row of a new attempt; another writer asking at the same time for the same attempt: PAYOUT_CHANGED."""
    try:
        async with in_transaction():
            return await kind.model.create(**fields)
    except IntegrityError:
        raise Conflict(f"a {kind.noun} of this refund is being requested", code="PAYOUT_CHANGED") from None


async def succeed(kind: PayoutKind[Row], row: Row, *, now: datetime, refund_cfg: RefundConfig,
                  **known: Any) -> None:
    """SUCCESS from WeChat Pay: the row and the deposit refund's step change together, once (``known``: what
    WeChat Pay told us on the way, stored with it)."""
    async with in_transaction():
        won = await kind.model.filter(id=row.id, status__in=list(kind.in_flight)).update(
            status=kind.success, succeeded_at=now, **known)
        if not won:
            return
        row = await kind.model.get(id=row.id)
        actor = await User.get_or_none(id=row.requested_by_id or 0)
        if actor is None:
            raise Conflict(f"the {kind.noun} has no requesting finance user", code="PAYOUT_WITHOUT_ACTOR")
        await refunds.pay(row.refund_id, actor=actor, now=now, cfg=refund_cfg, bank_receipt_ref=None,
                          receipt_document_id=None,
                          payment_record=f"{kind.record_prefix}:{kind.wechat_number(row) or kind.number(row)}")


async def fail(kind: PayoutKind[Row], row: Row, status: str, reason: str, *, now: datetime, **also: Any) -> bool:
    """A failed state: the row leaves flight once, and that once is logged and alerted for finance to pay
    another way (or ask again). False when the row had already left flight."""
    if not await leave_flight(kind, row, status, reason, **also):
        return False
    await alert_failure(kind, row, reason, now=now)
    return True


async def leave_flight(kind: PayoutKind[Row], row: Row, status: str, reason: str, **also: Any) -> bool:
    """The conditional UPDATE of ``fail``: True for the one writer that moved the row out of flight."""
    return bool(await kind.model.filter(id=row.id, status__in=list(kind.in_flight)).update(
        status=status, last_error=reason[:300], **also))


async def alert_failure(kind: PayoutKind[Row], row: Row, reason: str, *, now: datetime) -> None:
    """The log line and ALERT_PAYOUT_FAILED of a payout that failed (for the writer ``leave_flight`` chose)."""
    refund = await DepositRefund.get(id=row.refund_id)
    number = kind.number(row)
    log.warning("WeChat Pay %s %s of refund %s failed: %s", kind.noun, number, refund.id, reason)
    await raise_alert(alert_type=ALERT_PAYOUT_FAILED, now=now, unit_id=refund.unit_id,
                      building_id=refund.building_id, subject=f"refund:{refund.id}", severity=AlertSeverity.WARNING,
                      explanation=f"Deposit refund {refund.id} not {kind.not_paid} through WeChat Pay: {reason}",
                      evidence={"refund_id": refund.id, kind.number_key: number, "reason": reason})


def refused(what: str, response: PayResponse) -> ServiceUnavailable:
    """The error for WeChat Pay refusing to make the payout (the row has been failed)."""
    return ServiceUnavailable(f"WeChat Pay refused the {what}", code=PaymentsError.WECHAT_PAY_REFUSED,
                              details={"wechat_code": response.code,
                                       "wechat_message": str(response.data.get("message", ""))[:200]})
