from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields

from models.base import AppendOnlyModel, TimestampedModel
from workorders.choices import TriggerSource, VisitResult, WorkOrderStatus, WorkOrderType

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.accounts import User
    from models.portfolio import Building, Unit


class WorkOrder(TimestampedModel):
    id = fields.IntField(primary_key=True)
    type = fields.CharEnumField(WorkOrderType, max_length=16)
    unit: fields.ForeignKeyNullableRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="work_orders", null=True,
                                  on_delete=fields.RESTRICT)
    unit_id: int | None  # the column, for type checkers
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="work_orders", on_delete=fields.RESTRICT)
    building_id: int
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    trigger_source = fields.CharEnumField(TriggerSource, max_length=24)
    trigger_ref = fields.CharField(max_length=100)
    status = fields.CharEnumField(WorkOrderStatus, max_length=16, default=WorkOrderStatus.OPEN)
    assignee: fields.ForeignKeyNullableRelation[User]
    assignee = fields.ForeignKeyField("models.User", related_name="work_orders", null=True,
                                      on_delete=fields.SET_NULL)
    assignee_id: int | None
    due_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)
    visit_result = fields.CharEnumField(VisitResult, max_length=16, null=True,
                                        description="an inspection visit's finding (sublet confirmed or not)")
    visit_result_at = fields.DatetimeField(null=True)

    class Meta:
        table = "work_orders"
        indexes = (("unit_id", "due_at"),)  # a unit's card (inspections.card_sql) and its lists
        unique_together = (("trigger_source", "trigger_ref"),)


class WorkOrderEvent(AppendOnlyModel):
    id = fields.BigIntField(primary_key=True)
    work_order: fields.ForeignKeyRelation[WorkOrder]
    work_order = fields.ForeignKeyField("models.WorkOrder", related_name="events", on_delete=fields.CASCADE)
    work_order_id: int
    from_status = fields.CharEnumField(WorkOrderStatus, max_length=16, null=True)
    to_status = fields.CharEnumField(WorkOrderStatus, max_length=16)
    actor: fields.ForeignKeyNullableRelation[User]
    actor = fields.ForeignKeyField("models.User", related_name="work_order_events", null=True,
                                   on_delete=fields.SET_NULL)
    actor_id: int | None
    note = fields.CharField(max_length=500, default="")
    at = fields.DatetimeField()

    class Meta:
        table = "work_order_events"
