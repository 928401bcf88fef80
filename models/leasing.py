from __future__ import annotations

from tortoise import fields

from leasing.choices import LeaseStatus, PaymentFrequency
from models.base import TimestampedModel


class Tenant(TimestampedModel):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    phone = fields.CharField(max_length=20, default="")

    class Meta:
        table = "tenants"


class Lease(TimestampedModel):
    id = fields.IntField(primary_key=True)
    unit = fields.ForeignKeyField("models.Unit", related_name="leases", on_delete=fields.RESTRICT)
    tenant = fields.ForeignKeyField("models.Tenant", related_name="leases", on_delete=fields.RESTRICT)
    start_date = fields.DateField()
    end_date = fields.DateField()
    monthly_rent_fen = fields.BigIntField()
    deposit_fen = fields.BigIntField()
    payment_frequency = fields.CharEnumField(PaymentFrequency, max_length=16, default=PaymentFrequency.MONTHLY)
    status = fields.CharEnumField(LeaseStatus, max_length=16, default=LeaseStatus.DRAFT)
    renewal_of = fields.ForeignKeyField("models.Lease", related_name="renewals", null=True,
                                        on_delete=fields.SET_NULL)
    signed_at = fields.DatetimeField(null=True)
    first_rent_paid_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "leases"
