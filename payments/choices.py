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
    BILL = "BILL"  # the daily trade bill showed a payment neither a notification nor a query had brought


class PayoutStatus(StrEnum):
    """A deposit refund paid back through WeChat Pay (退款 to the original payment)."""

    PROCESSING = "PROCESSING"  # accepted by WeChat Pay, the money is on its way
    SUCCESS = "SUCCESS"  # the refund reached the tenant: the refund's 款项发放 step is done
    CLOSED = "CLOSED"  # WeChat Pay closed it: finance pays another way
    ABNORMAL = "ABNORMAL"  # the tenant's card or balance refused it: finance pays another way


OPEN_PAYOUT_STATUSES = frozenset({PayoutStatus.PROCESSING, PayoutStatus.SUCCESS})


class TransferStatus(StrEnum):
    """A deposit refund paid to the tenant's WeChat balance (商家转账, ``/v3/fund-app/mch-transfer/transfer-bills``)."""

    ACCEPTED = "ACCEPTED"  # WeChat Pay took the bill
    WAIT_USER_CONFIRM = "WAIT_USER_CONFIRM"  # the tenant confirms receipt in the mini program (requestMerchantTransfer)
    PROCESSING = "PROCESSING"  # TRANSFERING / PROCESSING at WeChat Pay: the outcome is on its way
    CANCELING = "CANCELING"  # finance asked WeChat Pay to cancel it (撤销转账): CANCELLED follows (or SUCCESS, had
    # the tenant confirmed first)
    SUCCESS = "SUCCESS"  # in the tenant's balance: the refund's 款项发放 step is done
    FAIL = "FAIL"  # refused (e.g. the name does not match the account): finance pays another way
    CANCELLED = "CANCELLED"  # cancelled, or not confirmed by the tenant in time: finance pays another way


#: WeChat Pay's transfer bill states → ours
TRANSFER_STATES = {"ACCEPTED": TransferStatus.ACCEPTED, "WAIT_USER_CONFIRM": TransferStatus.WAIT_USER_CONFIRM,
                   "PROCESSING": TransferStatus.PROCESSING, "TRANSFERING": TransferStatus.PROCESSING,
                   "CANCELING": TransferStatus.CANCELING, "SUCCESS": TransferStatus.SUCCESS,
                   "FAIL": TransferStatus.FAIL, "CANCELLED": TransferStatus.CANCELLED}
IN_FLIGHT_TRANSFER_STATUSES = frozenset({TransferStatus.ACCEPTED, TransferStatus.WAIT_USER_CONFIRM,
                                         TransferStatus.PROCESSING, TransferStatus.CANCELING})
#: before the tenant confirms: what 撤销转账 can still stop
CANCELLABLE_TRANSFER_STATUSES = frozenset({TransferStatus.ACCEPTED, TransferStatus.WAIT_USER_CONFIRM})
OPEN_TRANSFER_STATUSES = IN_FLIGHT_TRANSFER_STATUSES | {TransferStatus.SUCCESS}


class BillStatus(StrEnum):
    FAILED = "FAILED"  # not fetched, not verified or refused: retried with backoff, alerted
    IMPORTED = "IMPORTED"  # downloaded, hash verified, fed to the reconciliation
    EMPTY = "EMPTY"  # WeChat Pay has no bill (NO_STATEMENT_EXIST) and we recorded no payment that day


class PaymentsError(StrEnum):
    WECHAT_PAY_DISABLED = "WECHAT_PAY_DISABLED"
    WECHAT_PAY_UNAVAILABLE = "WECHAT_PAY_UNAVAILABLE"
    WECHAT_PAY_REFUSED = "WECHAT_PAY_REFUSED"
    WECHAT_NOT_BOUND = "WECHAT_NOT_BOUND"
    RECEIVABLE_NOT_FOUND = "RECEIVABLE_NOT_FOUND"
    RECEIVABLE_NOT_OPEN = "RECEIVABLE_NOT_OPEN"
    ORDER_ALREADY_PAID = "ORDER_ALREADY_PAID"
    NOTIFICATION_REFUSED = "NOTIFICATION_REFUSED"
    NO_WECHAT_DEPOSIT_PAYMENT = "NO_WECHAT_DEPOSIT_PAYMENT"
    NOTHING_TO_PAY_BACK = "NOTHING_TO_PAY_BACK"
    NO_TRANSFER_RECIPIENT = "NO_TRANSFER_RECIPIENT"
    NO_TRANSFER_WAITING = "NO_TRANSFER_WAITING"
    NO_TRANSFER = "NO_TRANSFER"
    TRANSFER_NOT_CANCELLABLE = "TRANSFER_NOT_CANCELLABLE"


#: alert raised when a notification fails the platform signature (someone is posting forged payments)
ALERT_FORGED_NOTIFICATION = "WECHAT_PAY_FORGED_NOTIFICATION"
#: alert raised while a day's trade bill cannot be fetched, verified or read (cleared once it is imported)
ALERT_BILL_FAILED = "WECHAT_PAY_BILL_FAILED"
#: alert raised when WeChat Pay closes or cannot complete a deposit refund (finance pays it another way)
ALERT_PAYOUT_FAILED = "WECHAT_PAY_REFUND_FAILED"
