from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import TimestampedModel
from notifications.choices import OutboxStatus

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.accounts import User


class OutboxMessage(TimestampedModel):
    """One message to one user (WeChat) or one desk channel (WeCom, DingTalk), written in the same transaction
    as the event that caused it.

    dedupe_key is unique, so one event yields at most one message. The sender worker claims due rows
    (status PENDING, next_attempt_at reached, lease expired) and records every attempt.
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyNullableRelation[User]
    user = fields.ForeignKeyField("models.User", related_name="outbox_messages", null=True,
                                  on_delete=fields.CASCADE, description="the WeChat recipient, NULL for a desk")
    user_id: int | None
    channel = fields.CharField(max_length=64, default="",
                               description="desk channel name from RW_DESK_CHANNELS, empty for WeChat")
    kind = fields.CharField(max_length=40)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    payload: fields.JSONField[dict[str, Any]]
    payload = fields.JSONField(default=dict)
    status = fields.CharEnumField(OutboxStatus, max_length=14, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    claimed_until = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=40, default="")
    last_errcode = fields.IntField(null=True)
    last_error = fields.CharField(max_length=500, default="")
    sent_at = fields.DatetimeField(null=True)
    enqueued_at = fields.DatetimeField()

    class Meta:
        table = "outbox_messages"
        indexes = (("status", "next_attempt_at"),)
