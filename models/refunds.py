from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import AppendOnlyModel, TimestampedModel
from refunds.choices import CompletedBy, DeductionCategory, DocumentKind, RefundAction, RefundStep

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.accounts import User
    from models.leasing import Lease, Tenant
    from models.portfolio import Building, Unit


class DepositRefund(TimestampedModel):
    """A tenant's deposit refund moving through the six steps. open_key makes one open refund per lease."""

    id = fields.IntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="deposit_refunds", on_delete=fields.RESTRICT)
    lease_id: int
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="deposit_refunds", on_delete=fields.RESTRICT)
    tenant_id: int
    unit: fields.ForeignKeyRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="deposit_refunds", on_delete=fields.RESTRICT)
    unit_id: int
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="deposit_refunds", on_delete=fields.RESTRICT)
    building_id: int
    applicant: fields.ForeignKeyNullableRelation[User]
    applicant = fields.ForeignKeyField("models.User", related_name="refund_applications", null=True,
                                       on_delete=fields.SET_NULL)
    applicant_id: int | None
    step = fields.CharEnumField(RefundStep, max_length=12, default=RefundStep.APPLIED)
    version = fields.IntField(default=1, description="incremented on every step change")
    open_key = fields.CharField(max_length=40, null=True, unique=True)
    step_entered_at = fields.DatetimeField()
    step_due_at = fields.DatetimeField(null=True, description="deadline of the step pending now")
    assignee: fields.ForeignKeyNullableRelation[User]
    assignee = fields.ForeignKeyField("models.User", related_name="assigned_refunds", null=True,
                                      on_delete=fields.SET_NULL)
    assignee_id: int | None
    escalated_version = fields.IntField(null=True, description="version at which the current wait was escalated")
    applied_at = fields.DatetimeField()
    move_out_date = fields.DateField(null=True)
    reason = fields.CharField(max_length=500, default="")
    payee_name = fields.CharField(max_length=64, default="")
    payee_bank = fields.CharField(max_length=64, default="")
    payee_account = fields.CharField(max_length=40, default="")
    deposit_fen = fields.BigIntField()
    deductions_fen = fields.BigIntField(default=0)
    refund_fen = fields.BigIntField(null=True)
    debt_fen = fields.BigIntField(default=0)
    inspection_report_id = fields.IntField(null=True)
    inspection_note = fields.CharField(max_length=1000, default="")
    settlement: fields.JSONField[dict[str, Any]]
    settlement = fields.JSONField(default=dict)
    approved_by: fields.ForeignKeyNullableRelation[User]
    approved_by = fields.ForeignKeyField("models.User", related_name="approved_refunds", null=True,
                                         on_delete=fields.SET_NULL)
    approved_by_id: int | None
    approved_at = fields.DatetimeField(null=True)
    approved_amount_fen = fields.BigIntField(null=True)
    paid_at = fields.DatetimeField(null=True)
    bank_receipt_ref = fields.CharField(max_length=64, default="")
    receipt_document_id = fields.IntField(null=True, description="RefundDocument id of the bank receipt")
    completed_at = fields.DatetimeField(null=True)
    completed_by = fields.CharEnumField(CompletedBy, max_length=8, null=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancel_reason = fields.CharField(max_length=500, default="")
    progress_nonce = fields.CharField(max_length=16, default="", description="rotating it revokes progress links")

    class Meta:
        table = "deposit_refunds"
        indexes = (("step", "step_entered_at"), ("tenant_id", "applied_at"))


class RefundEvent(AppendOnlyModel):
    """The timeline: every transition, return, cancellation and escalation, with who and when."""

    id = fields.BigIntField(primary_key=True)
    refund: fields.ForeignKeyRelation[DepositRefund]
    refund = fields.ForeignKeyField("models.DepositRefund", related_name="events", on_delete=fields.CASCADE)
    refund_id: int
    action = fields.CharEnumField(RefundAction, max_length=14)
    from_step = fields.CharEnumField(RefundStep, max_length=12, null=True)
    to_step = fields.CharEnumField(RefundStep, max_length=12)
    version = fields.IntField(description="refund version after the event")
    actor: fields.ForeignKeyNullableRelation[User]
    actor = fields.ForeignKeyField("models.User", related_name="refund_events", null=True, on_delete=fields.SET_NULL)
    actor_id: int | None
    actor_role = fields.CharField(max_length=16, default="SYSTEM")
    reason = fields.CharField(max_length=500, default="")
    due_at = fields.DatetimeField(null=True, description="the deadline this step had")
    on_time = fields.BooleanField(null=True)
    details: fields.JSONField[dict[str, Any]]
    details = fields.JSONField(default=dict)
    at = fields.DatetimeField()

    class Meta:
        table = "deposit_refund_events"


class RefundDocument(TimestampedModel):
    """An uploaded file: a quote backing a deduction, or the bank receipt of the payment."""

    id = fields.IntField(primary_key=True)
    refund: fields.ForeignKeyRelation[DepositRefund]
    refund = fields.ForeignKeyField("models.DepositRefund", related_name="documents", on_delete=fields.CASCADE)
    refund_id: int
    kind = fields.CharEnumField(DocumentKind, max_length=14)
    filename = fields.CharField(max_length=200, default="")
    content_type = fields.CharField(max_length=64)
    size_bytes = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    storage_key = fields.CharField(max_length=200)
    uploaded_by: fields.ForeignKeyNullableRelation[User]
    uploaded_by = fields.ForeignKeyField("models.User", related_name="refund_documents", null=True,
                                         on_delete=fields.SET_NULL)
    uploaded_by_id: int | None

    class Meta:
        table = "deposit_refund_documents"


class RefundDeduction(TimestampedModel):
    """One itemised deduction line, in fen, with its evidence (photo ids and/or a quote document)."""

    id = fields.IntField(primary_key=True)
    refund: fields.ForeignKeyRelation[DepositRefund]
    refund = fields.ForeignKeyField("models.DepositRefund", related_name="deductions", on_delete=fields.CASCADE)
    refund_id: int
    category = fields.CharEnumField(DeductionCategory, max_length=12)
    amount_fen = fields.BigIntField()
    description = fields.CharField(max_length=200, default="")
    photo_ids: fields.JSONField[list[Any]]
    photo_ids = fields.JSONField(default=list)
    document: fields.ForeignKeyNullableRelation[RefundDocument]
    document = fields.ForeignKeyField("models.RefundDocument", related_name="deductions", null=True,
                                      on_delete=fields.RESTRICT)
    document_id: int | None
    created_by: fields.ForeignKeyNullableRelation[User]
    created_by = fields.ForeignKeyField("models.User", related_name="refund_deductions", null=True,
                                        on_delete=fields.SET_NULL)
    created_by_id: int | None

    class Meta:
        table = "deposit_refund_deductions"


class TenantDebt(TimestampedModel):
    """A shortfall (deductions above the deposit) recorded as the tenant's debt when the refund is approved."""

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="debts", on_delete=fields.RESTRICT)
    tenant_id: int
    refund: fields.OneToOneRelation[DepositRefund]
    refund = fields.OneToOneField("models.DepositRefund", related_name="debt", on_delete=fields.CASCADE)
    refund_id: int
    amount_fen = fields.BigIntField()
    recorded_at = fields.DatetimeField()
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "tenant_debts"


class RefundEscalation(TimestampedModel):
    """A wait escalated (red flag, owner and supervisor notified). Unique per wait: at most once."""

    id = fields.IntField(primary_key=True)
    refund: fields.ForeignKeyRelation[DepositRefund]
    refund = fields.ForeignKeyField("models.DepositRefund", related_name="escalations", on_delete=fields.CASCADE)
    refund_id: int
    step = fields.CharEnumField(RefundStep, max_length=12)
    version = fields.IntField()
    waiting_since = fields.DatetimeField()
    escalated_at = fields.DatetimeField()
    notified_user_ids: fields.JSONField[list[Any]]
    notified_user_ids = fields.JSONField(default=list)

    class Meta:
        table = "deposit_refund_escalations"
        unique_together = (("refund", "version"),)
