"""Leasing and ledger constants in one place: lease and receivable statuses, frequency codes, term kinds,
payment methods, generation job states and error codes."""

from enum import StrEnum


class LeaseStatus(StrEnum):
    DRAFT = "DRAFT"
    SIGNED = "SIGNED"  # 签约: schedule generated, unit awaiting delivery
    ACTIVE = "ACTIVE"  # 交付: keys handed over on site, unit OCCUPIED
    ENDED = "ENDED"
    TERMINATED = "TERMINATED"


class PaymentFrequency(StrEnum):
    MONTHLY = "MONTHLY"  # 月付
    BIMONTHLY = "BIMONTHLY"  # 两月一次
    QUARTERLY = "QUARTERLY"  # 季付
    SEMIANNUAL = "SEMIANNUAL"  # 半年付
    ANNUAL = "ANNUAL"  # 年付
    ONE_OFF = "ONE_OFF"  # 一次性: the whole term in one receivable


#: months per billing period (ONE_OFF: None, the whole term is one period)
FREQUENCY_MONTHS: dict[PaymentFrequency, int | None] = {
    PaymentFrequency.MONTHLY: 1, PaymentFrequency.BIMONTHLY: 2, PaymentFrequency.QUARTERLY: 3,
    PaymentFrequency.SEMIANNUAL: 6, PaymentFrequency.ANNUAL: 12, PaymentFrequency.ONE_OFF: None,
}

LIVE_LEASE_STATUSES = frozenset({LeaseStatus.SIGNED, LeaseStatus.ACTIVE})


class PartyKind(StrEnum):
    PERSON = "PERSON"  # 个人: ID number kept only as a salted hash + last four
    COMPANY = "COMPANY"  # 企业: 统一社会信用代码 (USCC), check digit validated


class RentBasis(StrEnum):
    MONTHLY_AMOUNT = "MONTHLY_AMOUNT"  # 月租金 (residential convention)
    PER_M2_DAY = "PER_M2_DAY"  # 元/㎡/天 × contracted area (shops, offices, warehouses)
    PER_M2_MONTH = "PER_M2_MONTH"  # 元/㎡/月 × contracted area


class DaysPerMonth(StrEnum):
    """How a daily price becomes a monthly rent: a stated contract term, never a hidden constant."""

    DAYS_365_12 = "365/12"  # price × area × 365 / 12 (the common commercial convention)
    DAYS_30 = "30"  # price × area × 30


class TimingKind(StrEnum):
    IN_ADVANCE = "IN_ADVANCE"  # due N days before each period starts (0: on the first day)
    FIXED_DAY = "FIXED_DAY"  # due on day D of the month in which the period starts (clamped to month end)


class EscalationKind(StrEnum):
    PERCENT = "PERCENT"  # +x % per lease year from a given year (compound unless stated simple)
    AMOUNT = "AMOUNT"  # +amount (fen per month) per lease year from a given year
    SCHEDULE = "SCHEDULE"  # explicit monthly amounts per lease year


class ChargeType(StrEnum):
    RENT = "RENT"
    DEPOSIT = "DEPOSIT"
    CHARGE = "CHARGE"  # other recurring charges: 物业费, 网费 …
    ADJUSTMENT = "ADJUSTMENT"  # an amendment raised a kept (paid) period's amount
    LATE_FEE = "LATE_FEE"  # 违约金 / 滞纳金 (collections)


class ReceivableStatus(StrEnum):
    """What is stored. The state a person sees (UPCOMING, DUE, OVERDUE …) also depends on the date: see
    leasing.rules.receivable_state."""

    OPEN = "OPEN"
    PARTIAL = "PARTIAL"
    PAID = "PAID"
    WAIVED = "WAIVED"
    SUPERSEDED = "SUPERSEDED"  # replaced by an amendment before anything was paid on it


OPEN_RECEIVABLE_STATUSES = frozenset({ReceivableStatus.OPEN, ReceivableStatus.PARTIAL})


class ReceivableState(StrEnum):
    UPCOMING = "UPCOMING"
    DUE = "DUE"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    WAIVED = "WAIVED"
    SUPERSEDED = "SUPERSEDED"


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "BANK_TRANSFER"
    WECHAT_PAY = "WECHAT_PAY"
    ALIPAY = "ALIPAY"
    CASH = "CASH"
    CREDIT_NOTE = "CREDIT_NOTE"  # an amendment lowered a paid period: the difference becomes credit


class PaymentSource(StrEnum):
    """Where the payment record came from (a bank statement line, WeChat Pay's notification, a person)."""

    MANUAL = "MANUAL"
    BANK_STATEMENT = "BANK_STATEMENT"
    WECHAT_PAY = "WECHAT_PAY"
    ALIPAY = "ALIPAY"
    IMPORT = "IMPORT"
    AMENDMENT = "AMENDMENT"


class GenerationStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # will be retried at next_attempt_at
    GAVE_UP = "GAVE_UP"  # retries exhausted: stays in the failures list until fixed and retried by hand
    SUPERSEDED = "SUPERSEDED"  # the terms were amended before this version's schedule was generated


class ChangeKind(StrEnum):
    """合同变更: every change of a signed lease's terms is recorded with who, when and why."""

    RENT_CHANGE = "RENT_CHANGE"
    EXTENSION = "EXTENSION"
    EARLY_TERMINATION = "EARLY_TERMINATION"
    TERMS_FIX = "TERMS_FIX"  # a term corrected (e.g. the frequency of a failed generation)


class TermError(StrEnum):
    """Why terms cannot become a schedule (generation job error codes, import row codes)."""

    INVALID_FREQUENCY_CODE = "INVALID_FREQUENCY_CODE"
    MISSING_TERM = "MISSING_TERM"
    INCONSISTENT_DATES = "INCONSISTENT_DATES"
    INVALID_TERM = "INVALID_TERM"
    INTERNAL_ERROR = "INTERNAL_ERROR"


#: alert types raised by the ledger (alerts.service.raise_alert)
ALERT_SCHEDULE_FAILED = "SCHEDULE_GENERATION_FAILED"
ALERT_SCHEDULE_DRY_RUN = "SCHEDULE_DRY_RUN_PROBLEMS"
