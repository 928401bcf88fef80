from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from alerts.choices import AlertSeverity, AlertStatus
from models.base import TimestampedModel

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.accounts import User
    from models.portfolio import Building, Unit


class Alert(TimestampedModel):
    """One open alert per (unit, type). open_key is set while open, NULL once closed, and unique."""

    id = fields.IntField(primary_key=True)
    type = fields.CharField(max_length=40)
    unit: fields.ForeignKeyNullableRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="alerts", null=True, on_delete=fields.CASCADE)
    unit_id: int | None
    building: fields.ForeignKeyNullableRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="alerts", null=True,
                                      on_delete=fields.CASCADE)
    building_id: int | None
    subject = fields.CharField(max_length=100, default="", description="what the alert is about when not a unit")
    severity = fields.CharEnumField(AlertSeverity, max_length=10, default=AlertSeverity.WARNING)
    status = fields.CharEnumField(AlertStatus, max_length=14, default=AlertStatus.ACTIVE)
    open_key = fields.CharField(max_length=160, null=True, unique=True)
    explanation = fields.TextField(default="")
    evidence: fields.JSONField[dict[str, Any]]
    evidence = fields.JSONField(default=dict)
    first_seen = fields.DatetimeField()
    last_seen = fields.DatetimeField()
    count = fields.IntField(default=1)
    condition_false_since = fields.DatetimeField(null=True)
    acknowledged_by: fields.ForeignKeyNullableRelation[User]
    acknowledged_by = fields.ForeignKeyField("models.User", related_name="acknowledged_alerts", null=True,
                                             on_delete=fields.SET_NULL)
    acknowledged_by_id: int | None
    acknowledged_at = fields.DatetimeField(null=True)
    resolved_by: fields.ForeignKeyNullableRelation[User]
    resolved_by = fields.ForeignKeyField("models.User", related_name="resolved_alerts", null=True,
                                         on_delete=fields.SET_NULL)
    resolved_by_id: int | None
    resolved_at = fields.DatetimeField(null=True)
    resolution_note = fields.CharField(max_length=500, default="")

    class Meta:
        table = "alerts"
        indexes = (("unit_id", "last_seen"),)  # a unit's card (inspections.card_sql) and its lists
