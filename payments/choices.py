"""WeChat Pay constants in one place: our order states, what became of each notification, WeChat's trade
states and the error codes of the payments API."""

from enum import StrEnum


class OrderStatus(StrEnum):
    CREATED = "CREATED"  # a JSAPI order exists at WeChat Pay (prepay_id stored once WeChat answered)
    PAID = "PAID"  # SUCCESS seen (notification or query): the money is in the ledger
    CLOSED = "CLOSED"  # expired or replaced, closed at WeChat Pay: it cannot be paid any more


OPEN_ORDER_STATUSES = frozenset({OrderStatus.CREATED})


class TradeState(StrEnum):
    """WeChat Pay's trade_state (query and notification resource)."""

    SUCCESS = "SUCCESS"
    REFUND = "REFUND"
    NOTPAY = "NOTPAY"
    CLOSED = "CLOSED"
    REVOKED = "REVOKED"
    USERPAYING = "USERPAYING"
    PAYERROR = "PAYERROR"


class NoticeOutcome(StrEnum):
    """What a received notification (or an order query) did."""

    APPLIED = "APPLIED"  # the payment entered the ledger
    DUPLICATE = "DUPLICATE"  # the same transaction again: nothing changed
    DISCREPANCY = "DISCREPANCY"  # applied, and a discrepancy item is open (amount, paid twice, closed order)
    REFUSED_SIGNATURE = "REFUSED_SIGNATURE"  # not signed by the platform key, or not decryptable: forged
    REFUSED_MERCHANT = "REFUSED_MERCHANT"  # genuine, but for another merchant or app
    UNKNOWN_ORDER = "UNKNOWN_ORDER"  # an out_trade_no we never created
    IGNORED = "IGNORED"  # an event or trade state that moves no money (e.g. NOTPAY)


class PaySource(StrEnum):
    NOTIFICATION = "NOTIFICATION"
    QUERY = "QUERY"


class PaymentsError(StrEnum):
    WECHAT_PAY_DISABLED = "WECHAT_PAY_DISABLED"
    WECHAT_PAY_UNAVAILABLE = "WECHAT_PAY_UNAVAILABLE"
    WECHAT_PAY_REFUSED = "WECHAT_PAY_REFUSED"
    WECHAT_NOT_BOUND = "WECHAT_NOT_BOUND"
    RECEIVABLE_NOT_FOUND = "RECEIVABLE_NOT_FOUND"
    RECEIVABLE_NOT_OPEN = "RECEIVABLE_NOT_OPEN"
    ORDER_ALREADY_PAID = "ORDER_ALREADY_PAID"
    NOTIFICATION_REFUSED = "NOTIFICATION_REFUSED"


#: alert raised when a notification fails the platform signature (someone is posting forged payments)
ALERT_FORGED_NOTIFICATION = "WECHAT_PAY_FORGED_NOTIFICATION"
