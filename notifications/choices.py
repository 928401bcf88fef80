from __future__ import annotations

from enum import StrEnum


class OutboxStatus(StrEnum):
    PENDING = "PENDING"  # waiting for (another) send attempt at next_attempt_at
    SENT = "SENT"
    UNDELIVERABLE = "UNDELIVERABLE"  # 43101 (user not subscribed), no openid, no template: never retried
    FAILED = "FAILED"  # gave up after the configured number of attempts, operator alerted


FINAL_OUTBOX_STATUSES = frozenset({OutboxStatus.SENT, OutboxStatus.UNDELIVERABLE, OutboxStatus.FAILED})


class NotificationKind(StrEnum):
    """What a message is about. Each kind maps to a template and field mapping in settings."""

    REFUND_STEP = "REFUND_STEP"  # to the tenant, on every refund step change
    REFUND_ASSIGNED = "REFUND_ASSIGNED"  # to staff, a refund step waits for them
    REFUND_ESCALATED = "REFUND_ESCALATED"  # to the step owner and their supervisor, node over 48 h
    LEASE_REMINDER = "LEASE_REMINDER"  # to the building manager (and tenant), 90/60/30 days before the end
    INSPECTION_EXPIRED = "INSPECTION_EXPIRED"  # to the author of an expired status-change confirmation request
    WORK_ORDER_OVERDUE = "WORK_ORDER_OVERDUE"  # to the assignee, the order passed its SLA
    SCHEDULE_FAILED = "SCHEDULE_FAILED"  # to the building's finance and area manager: a rent schedule failed
    SCHEDULE_READY = "SCHEDULE_READY"  # to the same people: a failed schedule was generated after all (补发)
    RENT_DUE = "RENT_DUE"  # to the tenant: an amount falls due (payment notice)
    COLLECTION_FRIENDLY = "COLLECTION_FRIENDLY"  # to the tenant: 首次提醒 (overdue tier 1)
    COLLECTION_LEGAL = "COLLECTION_LEGAL"  # to the tenant: 二次跟进 (tier 2, legal wording, grace offered)
    COLLECTION_FINAL = "COLLECTION_FINAL"  # to the tenant: 三次警示 (tier 3, contract clause, 48 hours)
    COLLECTION_TASK = "COLLECTION_TASK"  # to finance / the area manager: a collections task was opened
    GRACE_DECISION = "GRACE_DECISION"  # to the tenant: their grace request was approved or rejected
    OCCUPANCY_INCOMPLETE = "OCCUPANCY_INCOMPLETE"  # to admins and executives: a day's snapshot is incomplete
    STATEMENT_REFUSED = "STATEMENT_REFUSED"  # to finance and managers: a bank statement import was refused


#: the alert type raised when a message keeps failing
OUTBOX_ALERT_TYPE = "NOTIFICATION_FAILING"


class DeskEvent(StrEnum):
    """Staff alerts that also reach desk channels (WeCom / DingTalk groups), chosen per building and role."""

    ALERT_RAISED = "ALERT_RAISED"  # a new alert (sensor, outbox, …) at or above a channel's severity
    REFUND_RED_FLAG = "REFUND_RED_FLAG"  # a refund step waited more than 48 h
    WORK_ORDER_OVERDUE = "WORK_ORDER_OVERDUE"  # a work order passed its SLA
    JOB_FAILED = "JOB_FAILED"  # a scheduled job raised


class DeskChannelType(StrEnum):
    WECOM_ROBOT = "WECOM_ROBOT"  # 企业微信群机器人 webhook (key in the URL)
    WECOM_APP = "WECOM_APP"  # 企业微信应用消息 (corp id + app secret + agent id, wechatpy's work client)
    DINGTALK_ROBOT = "DINGTALK_ROBOT"  # 钉钉群机器人 webhook, signed (加签)


#: Outbox kinds of desk messages: ``DESK_<event>``.
DESK_KIND_PREFIX = "DESK_"


#: Outbox rows sent by SMS carry ``channel = SMS_CHANNEL_PREFIX + phone`` (a colon: never a desk channel name).
SMS_CHANNEL_PREFIX = "sms:"
