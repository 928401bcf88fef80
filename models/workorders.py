from __future__ import annotations

from tortoise import fields

from models.base import AppendOnlyModel, TimestampedModel
from workorders.choices import TriggerSource, WorkOrderStatus, WorkOrderType


class WorkOrder(TimestampedModel):
    id = fields.IntField(primary_key=True)
    type = fields.CharEnumField(WorkOrderType, max_length=16)
    unit = fields.ForeignKeyField("models.Unit", related_name="work_orders", null=True,
                                  on_delete=fields.RESTRICT)
    unit_id: int | None  # the column, for type checkers
    building = fields.ForeignKeyField("models.Building", related_name="work_orders", on_delete=fields.RESTRICT)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    trigger_source = fields.CharEnumField(TriggerSource, max_length=24)
    trigger_ref = fields.CharField(max_length=100)
    status = fields.CharEnumField(WorkOrderStatus, max_length=16, default=WorkOrderStatus.OPEN)
    assignee = fields.ForeignKeyField("models.User", related_name="work_orders", null=True,
                                      on_delete=fields.SET_NULL)
    due_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "work_orders"
        unique_together = (("trigger_source", "trigger_ref"),)


class WorkOrderEvent(AppendOnlyModel):
    id = fields.BigIntField(primary_key=True)
    work_order = fields.ForeignKeyField("models.WorkOrder", related_name="events", on_delete=fields.CASCADE)
    from_status = fields.CharEnumField(WorkOrderStatus, max_length=16, null=True)
    to_status = fields.CharEnumField(WorkOrderStatus, max_length=16)
    actor = fields.ForeignKeyField("models.User", related_name="work_order_events", null=True,
                                   on_delete=fields.SET_NULL)
    note = fields.CharField(max_length=500, default="")
    at = fields.DatetimeField()

    class Meta:
        table = "work_order_events"
