"""Collections (催收): the tier steps per overdue receivable, the collections tasks, the messages sent, grace
periods, contact notes and promises, late-fee clauses and their accrual."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from arrears.choices import (
    ContactKind,
    GraceStatus,
    MessageChannel,
    MessageTrigger,
    PromiseStatus,
    RequestedVia,
    StepStatus,
    TaskStatus,
    TierCode,
)
from models.base import AppendOnlyModel, TimestampedModel

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.accounts import User
    from models.leasing import Lease, Receivable, Tenant
    from models.portfolio import Building


class CollectionStep(AppendOnlyModel):
    """A tier handled for one receivable: its message SENT, or SKIPPED (passed while nobody looked). At most one
    row per receivable and level: this is what makes a tier fire once, whatever the job's runs."""

    id = fields.BigIntField(primary_key=True)
    receivable: fields.ForeignKeyRelation[Receivable]
    receivable = fields.ForeignKeyField("models.Receivable", related_name="collection_steps",
                                        on_delete=fields.CASCADE)
    receivable_id: int
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="collection_steps", on_delete=fields.CASCADE)
    lease_id: int
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="collection_steps", on_delete=fields.CASCADE)
    tenant_id: int
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="collection_steps", on_delete=fields.CASCADE)
    building_id: int
    level = fields.SmallIntField()
    tier_code = fields.CharEnumField(TierCode, max_length=16)
    status = fields.CharEnumField(StepStatus, max_length=10)
    days_past_due = fields.IntField()
    outstanding_fen = fields.BigIntField()
    as_of = fields.DateField()
    at = fields.DatetimeField()

    class Meta:
        table = "collection_steps"
        unique_together = (("receivable", "level"),)


class CollectionTask(TimestampedModel):
    """催收任务: the tier's follow-up for the building's finance or area manager (one per receivable and level)."""

    id = fields.BigIntField(primary_key=True)
    receivable: fields.ForeignKeyRelation[Receivable]
    receivable = fields.ForeignKeyField("models.Receivable", related_name="collection_tasks",
                                        on_delete=fields.CASCADE)
    receivable_id: int
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="collection_tasks", on_delete=fields.CASCADE)
    lease_id: int
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="collection_tasks", on_delete=fields.CASCADE)
    tenant_id: int
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="collection_tasks", on_delete=fields.CASCADE)
    building_id: int
    level = fields.SmallIntField()
    tier_code = fields.CharEnumField(TierCode, max_length=16)
    title = fields.CharField(max_length=200)
    assignee: fields.ForeignKeyNullableRelation[User]
    assignee = fields.ForeignKeyField("models.User", related_name="collection_tasks", null=True,
                                      on_delete=fields.SET_NULL)
    assignee_id: int | None
    status = fields.CharEnumField(TaskStatus, max_length=12, default=TaskStatus.OPEN)
    due_at = fields.DatetimeField()
    opened_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    closed_by: fields.ForeignKeyNullableRelation[User]
    closed_by = fields.ForeignKeyField("models.User", related_name="closed_collection_tasks", null=True,
                                       on_delete=fields.SET_NULL)
    closed_by_id: int | None
    note = fields.CharField(max_length=500, default="")

    class Meta:
        table = "collection_tasks"
        unique_together = (("receivable", "level"),)
        indexes = (("building_id", "status"), ("assignee_id", "status"))


class CollectionMessage(AppendOnlyModel):
    """One collections message to a tenant (a WeChat subscribe message or an SMS), by the job or by staff, with
    the text as sent: the tenant's history and what they see of it."""

    id = fields.BigIntField(primary_key=True)
    receivable: fields.ForeignKeyRelation[Receivable]
    receivable = fields.ForeignKeyField("models.Receivable", related_name="collection_messages",
                                        on_delete=fields.CASCADE)
    receivable_id: int
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="collection_messages", on_delete=fields.CASCADE)
    lease_id: int
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="collection_messages", on_delete=fields.CASCADE)
    tenant_id: int
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="collection_messages",
                                      on_delete=fields.CASCADE)
    building_id: int
    level = fields.SmallIntField()
    tier_code = fields.CharEnumField(TierCode, max_length=16)
    channel = fields.CharEnumField(MessageChannel, max_length=8)
    trigger = fields.CharEnumField(MessageTrigger, max_length=8)
    recipient = fields.CharField(max_length=40, description="user:<id> or the phone, masked")
    outbox_message_id = fields.BigIntField(null=True)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    text = fields.TextField()
    sent_by: fields.ForeignKeyNullableRelation[User]
    sent_by = fields.ForeignKeyField("models.User", related_name="sent_collection_messages", null=True,
                                     on_delete=fields.SET_NULL)
    sent_by_id: int | None
    at = fields.DatetimeField()

    class Meta:
        table = "collection_messages"
        indexes = (("tenant_id", "at"),)


class GracePeriod(TimestampedModel):
    """宽限期: requested by the tenant or staff, approved by the area manager. While approved and running no tier
    message is sent for the lease's receivables."""

    id = fields.IntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="grace_periods", on_delete=fields.CASCADE)
    lease_id: int
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="grace_periods", on_delete=fields.CASCADE)
    tenant_id: int
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="grace_periods", on_delete=fields.CASCADE)
    building_id: int
    receivable: fields.ForeignKeyNullableRelation[Receivable]
    receivable = fields.ForeignKeyField("models.Receivable", related_name="grace_periods", null=True,
                                        on_delete=fields.SET_NULL)
    receivable_id: int | None
    status = fields.CharEnumField(GraceStatus, max_length=10, default=GraceStatus.REQUESTED)
    requested_via = fields.CharEnumField(RequestedVia, max_length=8)
    requested_by: fields.ForeignKeyNullableRelation[User]
    requested_by = fields.ForeignKeyField("models.User", related_name="grace_requests", null=True,
                                          on_delete=fields.SET_NULL)
    requested_by_id: int | None
    requested_at = fields.DatetimeField()
    days = fields.SmallIntField()
    reason = fields.CharField(max_length=500, default="")
    starts_on = fields.DateField(null=True, description="set on approval")
    ends_on = fields.DateField(null=True, description="inclusive")
    decided_by: fields.ForeignKeyNullableRelation[User]
    decided_by = fields.ForeignKeyField("models.User", related_name="grace_decisions", null=True,
                                        on_delete=fields.SET_NULL)
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.CharField(max_length=500, default="")

    class Meta:
        table = "grace_periods"
        indexes = (("lease_id", "status"),)


class ContactNote(AppendOnlyModel):
    """A contact with the tenant about arrears: a call, a visit, a promise to pay (with a date), a note. A
    promise's outcome is the only thing written later (by the daily job, through a conditional update)."""

    id = fields.BigIntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="contact_notes", on_delete=fields.CASCADE)
    tenant_id: int
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="contact_notes", on_delete=fields.CASCADE)
    lease_id: int
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="contact_notes", on_delete=fields.CASCADE)
    building_id: int
    receivable: fields.ForeignKeyNullableRelation[Receivable]
    receivable = fields.ForeignKeyField("models.Receivable", related_name="contact_notes", null=True,
                                        on_delete=fields.SET_NULL)
    receivable_id: int | None
    kind = fields.CharEnumField(ContactKind, max_length=8)
    note = fields.CharField(max_length=1000, default="")
    actor: fields.ForeignKeyNullableRelation[User]
    actor = fields.ForeignKeyField("models.User", related_name="contact_notes", null=True,
                                   on_delete=fields.SET_NULL)
    actor_id: int | None
    at = fields.DatetimeField()
    promised_date = fields.DateField(null=True)
    promised_fen = fields.BigIntField(null=True)
    promise_status = fields.CharEnumField(PromiseStatus, max_length=8, null=True)
    promise_baseline_fen = fields.BigIntField(null=True, description="the lease's received total when promised")
    evaluated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "contact_notes"
        indexes = (("tenant_id", "at"), ("promise_status", "promised_date"))


class LateFeeClauseRecord(TimestampedModel):
    """The lease's 违约金 clause (arrears.latefees.LateFeeClause as JSON). Leases without one use the portfolio
    default (RW_ARREARS_DEFAULT_LATE_FEE)."""

    id = fields.IntField(primary_key=True)
    lease: fields.OneToOneRelation[Lease]
    lease = fields.OneToOneField("models.Lease", related_name="late_fee_clause", on_delete=fields.CASCADE)
    lease_id: int
    clause: fields.JSONField[dict[str, Any]]
    clause = fields.JSONField(default=dict)
    set_by: fields.ForeignKeyNullableRelation[User]
    set_by = fields.ForeignKeyField("models.User", related_name="late_fee_clauses", null=True,
                                    on_delete=fields.SET_NULL)
    set_by_id: int | None

    class Meta:
        table = "late_fee_clauses"


class LateFeeAccrual(TimestampedModel):
    """The late fee accrued on one overdue receivable, kept in LATE_FEE receivables of the ledger (one row
    rewritten while nothing is paid on it, a new row for what accrues after a payment). Final once the base
    receivable is settled. Waived with a reason and the approving manager."""

    id = fields.BigIntField(primary_key=True)
    base: fields.OneToOneRelation[Receivable]
    base = fields.OneToOneField("models.Receivable", related_name="late_fee_accrual", on_delete=fields.CASCADE)
    base_id: int
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="late_fee_accruals", on_delete=fields.CASCADE)
    lease_id: int
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="late_fee_accruals",
                                      on_delete=fields.CASCADE)
    building_id: int
    fee_fen = fields.BigIntField(default=0)
    days = fields.IntField(default=0)
    as_of = fields.DateField()
    breakdown: fields.JSONField[dict[str, Any]]
    breakdown = fields.JSONField(default=dict)
    final = fields.BooleanField(default=False)
    waived_at = fields.DatetimeField(null=True)
    waived_reason = fields.CharField(max_length=500, default="")
    waived_by: fields.ForeignKeyNullableRelation[User]
    waived_by = fields.ForeignKeyField("models.User", related_name="late_fee_waivers", null=True,
                                       on_delete=fields.SET_NULL)
    waived_by_id: int | None

    class Meta:
        table = "late_fee_accruals"
