from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from leasing.choices import (
    ChangeKind,
    ChargeType,
    GenerationStatus,
    LeaseStatus,
    PartyKind,
    PaymentFrequency,
    PaymentMethod,
    PaymentSource,
    ReceivableStatus,
)
from models.base import AppendOnlyModel, TimestampedModel
from portfolio.choices import PropertyType

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.accounts import User
    from models.portfolio import Building, Unit
    from models.refunds import DepositRefund


class Tenant(TimestampedModel):
    """A tenant party, reused across leases: a person or a company, found again by its keys (the USCC of a
    company, the salted hash of a person's ID number, else name + phone). The table keeps its old name so the
    mini program's binding (users.tenant_id, binding_codes.tenant_id) keeps working."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(PartyKind, max_length=8, default=PartyKind.PERSON)
    name = fields.CharField(max_length=64)
    phone = fields.CharField(max_length=20, default="")
    uscc = fields.CharField(max_length=18, null=True, unique=True, description="统一社会信用代码 (companies)")
    id_number_hash = fields.CharField(max_length=64, null=True, unique=True,
                                      description="HMAC-SHA256 of the ID number under RW_PARTY_ID_SALT")
    id_last4 = fields.CharField(max_length=4, default="")
    payer_aliases: fields.JSONField[list[Any]]
    payer_aliases = fields.JSONField(default=list, description="other names this party pays under")

    class Meta:
        table = "tenants"
        indexes = (("phone", "name"),)


class PartyMergeReview(TimestampedModel):
    """Tenants the ledger migration could not merge automatically (same phone, different names …): listed for
    a person to decide."""

    id = fields.IntField(primary_key=True)
    phone = fields.CharField(max_length=20)
    tenant_ids: fields.JSONField[list[Any]]
    tenant_ids = fields.JSONField(default=list)
    reason = fields.CharField(max_length=200)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "party_merge_reviews"


class Lease(TimestampedModel):
    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="leases", on_delete=fields.RESTRICT)
    unit_id: int
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="leases", on_delete=fields.RESTRICT)
    tenant_id: int
    contract_no = fields.CharField(max_length=40, null=True, unique=True, description="合同编号, e.g. 202512001")
    property_type = fields.CharEnumField(PropertyType, max_length=16, null=True)
    start_date = fields.DateField()
    end_date = fields.DateField()
    # summary columns, written only from ``terms`` (leasing.service.summary_columns): for lists and queries
    monthly_rent_fen = fields.BigIntField()  # the initial base monthly rent
    deposit_fen = fields.BigIntField()
    payment_frequency = fields.CharEnumField(PaymentFrequency, max_length=16, default=PaymentFrequency.MONTHLY)
    terms: fields.JSONField[dict[str, Any]]
    terms = fields.JSONField(default=dict, description="leasing.terms.LeaseTerms: what the schedule comes from")
    terms_version = fields.IntField(default=1)
    status = fields.CharEnumField(LeaseStatus, max_length=16, default=LeaseStatus.DRAFT)
    renewal_of: fields.ForeignKeyNullableRelation[Lease]
    renewal_of = fields.ForeignKeyField("models.Lease", related_name="renewals", null=True,
                                        on_delete=fields.SET_NULL)
    renewal_of_id: int | None
    signed_at = fields.DatetimeField(null=True)
    first_rent_paid_at = fields.DatetimeField(null=True)  # a ledger fact: when the first rent was fully paid
    handed_over_at = fields.DatetimeField(null=True, description="交付: keys handed over, confirmed on site")
    handed_over_by: fields.ForeignKeyNullableRelation[User]
    handed_over_by = fields.ForeignKeyField("models.User", related_name="handovers", null=True,
                                            on_delete=fields.SET_NULL)
    handed_over_by_id: int | None
    ended_at = fields.DatetimeField(null=True)
    source = fields.CharField(max_length=16, default="manual", description="manual, import, ocr …")

    class Meta:
        table = "leases"
        indexes = (("unit_id", "start_date"),)  # a unit's card (inspections.card_sql) and its lists


class LeaseContact(TimestampedModel):
    """Optional contacts of a lease besides its party (a company's office manager, an emergency contact)."""

    id = fields.IntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="contacts", on_delete=fields.CASCADE)
    lease_id: int
    name = fields.CharField(max_length=64)
    phone = fields.CharField(max_length=20, default="")
    role = fields.CharField(max_length=32, default="", description="联系人, 紧急联系人, 财务 …")

    class Meta:
        table = "lease_contacts"


class LeaseChange(AppendOnlyModel):
    """合同变更: a versioned amendment with who, when and why, and what it did to the schedule."""

    id = fields.IntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="changes", on_delete=fields.CASCADE)
    lease_id: int
    kind = fields.CharEnumField(ChangeKind, max_length=20)
    from_version = fields.IntField()
    to_version = fields.IntField()
    effective_date = fields.DateField(null=True)
    reason = fields.CharField(max_length=500)
    actor: fields.ForeignKeyNullableRelation[User]
    actor = fields.ForeignKeyField("models.User", related_name="lease_changes", null=True, on_delete=fields.SET_NULL)
    actor_id: int | None
    at = fields.DatetimeField()
    before: fields.JSONField[dict[str, Any]]
    before = fields.JSONField(default=dict)
    after: fields.JSONField[dict[str, Any]]
    after = fields.JSONField(default=dict)
    schedule: fields.JSONField[dict[str, Any]]
    schedule = fields.JSONField(default=dict, description="the regeneration's summary: created, updated, kept …")

    class Meta:
        table = "lease_changes"
        unique_together = (("lease", "to_version"),)


class ScheduleGeneration(TimestampedModel):
    """Generating a lease's schedule is a job with a state: one per (lease, terms version)."""

    id = fields.IntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="generations", on_delete=fields.CASCADE)
    lease_id: int
    terms_version = fields.IntField()
    status = fields.CharEnumField(GenerationStatus, max_length=10, default=GenerationStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    error_code = fields.CharField(max_length=40, default="")
    error_message = fields.CharField(max_length=1000, default="")
    error_details: fields.JSONField[dict[str, Any]]
    error_details = fields.JSONField(default=dict)
    succeeded_at = fields.DatetimeField(null=True)
    failed_before = fields.BooleanField(default=False, description="a success after failures re-sends reminders")
    summary: fields.JSONField[dict[str, Any]]
    summary = fields.JSONField(default=dict)

    class Meta:
        table = "schedule_generations"
        unique_together = (("lease", "terms_version"),)
        indexes = (("status", "next_attempt_at"),)


class Receivable(TimestampedModel):
    """One period's amount owed (应收): rent, deposit, another charge, an adjustment or a late fee.

    ``open_key`` ("lease:period_start:charge") is unique while the row is in force; a superseded row gives it up,
    so an amendment can put a new row for the same period without ever rewriting a paid one."""

    id = fields.BigIntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="receivables", on_delete=fields.RESTRICT)
    lease_id: int
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="receivables", on_delete=fields.RESTRICT)
    tenant_id: int
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="receivables", on_delete=fields.RESTRICT)
    building_id: int
    charge = fields.CharField(max_length=40, description="RENT, DEPOSIT, CHARGE:<code>, ADJUSTMENT:…, LATE_FEE:…")
    charge_type = fields.CharEnumField(ChargeType, max_length=12)
    label = fields.CharField(max_length=40, default="")
    period_start = fields.DateField()
    period_end = fields.DateField()
    due_date = fields.DateField()
    amount_fen = fields.BigIntField()
    paid_fen = fields.BigIntField(default=0)
    status = fields.CharEnumField(ReceivableStatus, max_length=10, default=ReceivableStatus.OPEN)
    open_key = fields.CharField(max_length=80, null=True, unique=True)
    breakdown: fields.JSONField[dict[str, Any]]
    breakdown = fields.JSONField(default=dict)
    schedule_version = fields.IntField(default=1, description="the lease terms version that wrote this row")
    adjusts: fields.ForeignKeyNullableRelation[Receivable]
    adjusts = fields.ForeignKeyField("models.Receivable", related_name="adjustments", null=True,
                                     on_delete=fields.RESTRICT)
    adjusts_id: int | None
    paid_at = fields.DatetimeField(null=True, description="when the last fen was allocated")
    waived_reason = fields.CharField(max_length=500, default="")
    waived_by: fields.ForeignKeyNullableRelation[User]
    waived_by = fields.ForeignKeyField("models.User", related_name="waived_receivables", null=True,
                                       on_delete=fields.SET_NULL)
    waived_by_id: int | None
    waive_approved_by: fields.ForeignKeyNullableRelation[User]
    waive_approved_by = fields.ForeignKeyField("models.User", related_name="approved_waivers", null=True,
                                               on_delete=fields.SET_NULL)
    waive_approved_by_id: int | None
    waived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "receivables"
        indexes = (("building_id", "due_date"), ("lease_id", "due_date"), ("status", "due_date"))


class Payment(TimestampedModel):
    """Money received (实收) for a lease. ``external_ref`` is unique per source, so a payment reported twice
    (a retried notification, a re-imported statement) is recorded once. ``unallocated_fen`` is credit."""

    id = fields.BigIntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="payments", on_delete=fields.RESTRICT)
    lease_id: int
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="payments", on_delete=fields.RESTRICT)
    tenant_id: int
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="payments", on_delete=fields.RESTRICT)
    building_id: int
    amount_fen = fields.BigIntField()
    unallocated_fen = fields.BigIntField(default=0)
    paid_at = fields.DatetimeField()
    method = fields.CharEnumField(PaymentMethod, max_length=14)
    source = fields.CharEnumField(PaymentSource, max_length=16, default=PaymentSource.MANUAL)
    external_ref = fields.CharField(max_length=120, null=True, unique=True, description="<source>:<reference>")
    payer_name = fields.CharField(max_length=100, default="")
    reference = fields.CharField(max_length=120, default="", description="bank serial, 附言, out_trade_no …")
    adjusts: fields.ForeignKeyNullableRelation[Receivable]
    adjusts = fields.ForeignKeyField("models.Receivable", related_name="credit_notes", null=True,
                                     on_delete=fields.RESTRICT)
    adjusts_id: int | None
    recorded_by: fields.ForeignKeyNullableRelation[User]
    recorded_by = fields.ForeignKeyField("models.User", related_name="recorded_payments", null=True,
                                         on_delete=fields.SET_NULL)
    recorded_by_id: int | None
    note = fields.CharField(max_length=500, default="")
    reversed_at = fields.DatetimeField(null=True, description="its allocations undone (a wrong statement match)")

    class Meta:
        table = "payments"
        indexes = (("lease_id", "paid_at"),)


class PaymentAllocation(AppendOnlyModel):
    id = fields.BigIntField(primary_key=True)
    payment: fields.ForeignKeyRelation[Payment]
    payment = fields.ForeignKeyField("models.Payment", related_name="allocations", on_delete=fields.RESTRICT)
    payment_id: int
    receivable: fields.ForeignKeyRelation[Receivable]
    receivable = fields.ForeignKeyField("models.Receivable", related_name="allocations", on_delete=fields.RESTRICT)
    receivable_id: int
    amount_fen = fields.BigIntField()
    at = fields.DatetimeField()

    class Meta:
        table = "payment_allocations"
        # Tortoise does not index foreign keys: a payment's and a receivable's allocations are read by them
        indexes = (("payment_id",), ("receivable_id",))


class DepositLiability(TimestampedModel):
    """A paid deposit is held for the tenant (a liability) until the deposit refund settles it: deductions kept,
    the rest refunded."""

    id = fields.IntField(primary_key=True)
    lease: fields.OneToOneRelation[Lease]
    lease = fields.OneToOneField("models.Lease", related_name="deposit_liability", on_delete=fields.RESTRICT)
    lease_id: int
    receivable: fields.OneToOneRelation[Receivable]
    receivable = fields.OneToOneField("models.Receivable", related_name="liability", on_delete=fields.RESTRICT)
    receivable_id: int
    held_fen = fields.BigIntField(default=0)
    deducted_fen = fields.BigIntField(default=0)
    refunded_fen = fields.BigIntField(default=0)
    settled_at = fields.DatetimeField(null=True)
    refund: fields.ForeignKeyNullableRelation[DepositRefund]
    refund = fields.ForeignKeyField("models.DepositRefund", related_name="liabilities", null=True,
                                    on_delete=fields.SET_NULL)
    refund_id: int | None

    class Meta:
        table = "deposit_liabilities"


class LedgerJobRun(TimestampedModel):
    """A periodic ledger job that ran for a period (e.g. the weekly dry-run for an ISO week): at most once."""

    id = fields.IntField(primary_key=True)
    job = fields.CharField(max_length=40)
    period = fields.CharField(max_length=20)
    result: fields.JSONField[dict[str, Any]]
    result = fields.JSONField(default=dict)
    ran_at = fields.DatetimeField()

    class Meta:
        table = "ledger_job_runs"
        unique_together = (("job", "period"),)
