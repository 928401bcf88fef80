from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields

from models.base import TimestampedModel

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.leasing import Lease
    from models.workorders import WorkOrder


class LeaseReminder(TimestampedModel):
    """A lease expiry reminder tier that fired. Unique per (lease, tier): each tier fires at most once."""

    id = fields.IntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="reminders", on_delete=fields.CASCADE)
    lease_id: int
    tier_days = fields.IntField()
    action = fields.CharField(max_length=24)
    as_of = fields.DateField(description="the business date the job ran for")
    days_left = fields.IntField()
    work_order: fields.ForeignKeyNullableRelation[WorkOrder]
    work_order = fields.ForeignKeyField("models.WorkOrder", related_name="lease_reminders", null=True,
                                        on_delete=fields.SET_NULL)
    work_order_id: int | None
    fired_at = fields.DatetimeField()

    class Meta:
        table = "lease_reminders"
        unique_together = (("lease", "tier_days"),)
