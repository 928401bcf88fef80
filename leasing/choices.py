from enum import StrEnum


class LeaseStatus(StrEnum):
    DRAFT = "DRAFT"
    SIGNED = "SIGNED"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"
    TERMINATED = "TERMINATED"


class PaymentFrequency(StrEnum):
    MONTHLY = "MONTHLY"  # 月付
    BIMONTHLY = "BIMONTHLY"  # 两月一次
    QUARTERLY = "QUARTERLY"  # 季付
    SEMIANNUAL = "SEMIANNUAL"  # 半年付
    ANNUAL = "ANNUAL"  # 年付


LIVE_LEASE_STATUSES = frozenset({LeaseStatus.SIGNED, LeaseStatus.ACTIVE})
