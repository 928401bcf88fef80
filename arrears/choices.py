"""Collections (催收) constants in one place: tier codes, step and task states, grace and promise states,
contact kinds, late-fee clause kinds, message channels."""

from enum import StrEnum


class TierCode(StrEnum):
    """The three response tiers of an overdue receivable, in escalation order."""

    FRIENDLY = "FRIENDLY"  # 首次提醒: a friendly reminder
    LEGAL_NOTICE = "LEGAL_NOTICE"  # 二次跟进: adds the legal notice wording, offers a grace period
    LAWYER_LETTER = "LAWYER_LETTER"  # 三次警示: the contract clause, 48 hours, lawyer's letter prepared (律师函预备)


class StepStatus(StrEnum):
    """What became of a tier for one receivable (one row per receivable and tier)."""

    SENT = "SENT"  # the tier's message went to the tenant through the outbox
    SKIPPED = "SKIPPED"  # the receivable was already past this tier when the job saw it (downtime, grace)


class TaskStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"  # closed by the assignee
    RESOLVED = "RESOLVED"  # the receivable was settled (paid or waived): closed by the job
    SUPERSEDED = "SUPERSEDED"  # the next tier's task replaced it


OPEN_TASK_STATUSES = frozenset({TaskStatus.OPEN})


class GraceStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class RequestedVia(StrEnum):
    TENANT = "TENANT"
    STAFF = "STAFF"


class ContactKind(StrEnum):
    CALL = "CALL"  # 电话
    VISIT = "VISIT"  # 上门
    PROMISE = "PROMISE"  # 承诺付款 (with a date; kept/broken decided by the daily job)
    NOTE = "NOTE"  # 其他备注


class PromiseStatus(StrEnum):
    PENDING = "PENDING"
    KEPT = "KEPT"  # the promised amount was paid by the promised date
    BROKEN = "BROKEN"  # the date passed without it


class LateFeeKind(StrEnum):
    NONE = "NONE"  # the contract states no late fee
    DAILY_RATE = "DAILY_RATE"  # 每逾期一日按欠款金额的 x 计, optionally capped
    FIXED = "FIXED"  # a fixed amount once overdue (after the clause's own grace days)


class MessageChannel(StrEnum):
    WECHAT = "WECHAT"  # subscribe message to a bound tenant user
    SMS = "SMS"  # through the configured SMS provider, to the party's phone


class MessageTrigger(StrEnum):
    JOB = "JOB"  # the daily job: the tier was entered
    MANUAL = "MANUAL"  # 一键发送 by staff


#: Ageing buckets of the workbench (days past due, inclusive bounds; None: open-ended).
AGEING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-15", 0, 15), ("16-30", 16, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))

#: Work the job does is recorded once per local day in ledger_job_runs under this name.
JOB_NAME = "arrears_daily"
