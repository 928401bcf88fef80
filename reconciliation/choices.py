"""Reconciliation constants in one place: statement sources, line and match states, discrepancy kinds, the
error codes of the statement reader and the alert type of a refused import."""

from enum import StrEnum


class StatementSource(StrEnum):
    BANK = "BANK"  # a bank account's export (CSV/XLSX)
    WECHAT_PAY = "WECHAT_PAY"  # 微信支付商户交易账单
    ALIPAY = "ALIPAY"  # 支付宝账务明细


class ImportStatus(StrEnum):
    APPLIED = "APPLIED"  # read whole; its new lines stored and matched
    REFUSED = "REFUSED"  # unknown layout or a bad line: nothing stored


class Direction(StrEnum):
    IN = "IN"  # income (收入/贷方)
    OUT = "OUT"  # expense (支出/借方): stored for continuity, never matched


class LineStatus(StrEnum):
    UNMATCHED = "UNMATCHED"  # income with no candidate (a discrepancy until decided)
    PROPOSED = "PROPOSED"  # candidates below the confidence threshold wait for a person
    MATCHED = "MATCHED"  # applied to the ledger (automatically or confirmed)
    EXPENSE = "EXPENSE"  # money out: not a tenant payment
    DISMISSED = "DISMISSED"  # a person decided it is not a tenant payment


class MatchStatus(StrEnum):
    PROPOSED = "PROPOSED"
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"
    REVERSED = "REVERSED"  # applied, then undone by a person (the ledger payment reversed, the line open again)


class MatchRule(StrEnum):
    """Why a line was tied to a receivable (ranked: reference, then party, then amount)."""

    PAYMENT_CODE = "PAYMENT_CODE"  # 附言 carries the receivable's payment code
    CONTRACT_NO = "CONTRACT_NO"  # 附言 names the lease's contract number
    EXISTING_PAYMENT = "EXISTING_PAYMENT"  # the payment was already recorded by hand: the line confirms it
    PAYER_AMOUNT = "PAYER_AMOUNT"  # payer is the tenant (or an alias) and the amount equals one receivable
    PAYER_SUM = "PAYER_SUM"  # payer is the tenant and the amount equals the sum of their open receivables
    PAYER_PARTIAL = "PAYER_PARTIAL"  # payer is the tenant, the amount matches nothing exactly: oldest first
    AMOUNT_ONLY = "AMOUNT_ONLY"  # only the amount matches one open receivable (never applied automatically)
    MANUAL = "MANUAL"  # a person assigned the line


class DiscrepancyKind(StrEnum):
    UNMATCHED_INCOME = "UNMATCHED_INCOME"  # bank income matched to nothing
    PAID_WITHOUT_BANK_LINE = "PAID_WITHOUT_BANK_LINE"  # 系统里有记录,财务却没收到
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"  # the line names a receivable but pays another amount
    DUPLICATE_PAYMENT = "DUPLICATE_PAYMENT"  # the line pays a receivable that was already paid
    OVERPAYMENT = "OVERPAYMENT"  # more than what was open: the rest is the tenant's credit
    CLOSED_ORDER_PAID = "CLOSED_ORDER_PAID"  # WeChat Pay reports a payment of an order we had closed


class DiscrepancyStatus(StrEnum):
    OPEN = "OPEN"
    CONFIRMED = "CONFIRMED"  # a person agrees with the finding (e.g. the credit is kept)
    REASSIGNED = "REASSIGNED"  # the line was applied to another lease or receivable
    DISMISSED = "DISMISSED"  # not a problem, with the reason


OPEN_DISCREPANCY = DiscrepancyStatus.OPEN


class StatementError(StrEnum):
    UNKNOWN_STATEMENT_FORMAT = "UNKNOWN_STATEMENT_FORMAT"
    INVALID_STATEMENT_LINE = "INVALID_STATEMENT_LINE"
    UNREADABLE_STATEMENT = "UNREADABLE_STATEMENT"


#: alert raised (and sent to staff through the outbox) when a statement is refused
ALERT_STATEMENT_REFUSED = "STATEMENT_IMPORT_REFUSED"
