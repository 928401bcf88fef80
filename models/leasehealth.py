"""Lease health (租约健康度): a finding raised once per lease, indicator and period (with its evidence and the
task that acts on it), and each tenant party's behaviour profile (score, reasons, renewal recommendation)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from leasehealth.choices import HealthLevel, Indicator, Recommendation
from models.base import TimestampedModel

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.leasing import Lease, Tenant
    from models.portfolio import Building
    from models.workorders import WorkOrder


class LeaseHealthFlag(TimestampedModel):
    """An indicator over its threshold for one lease in one period (quarter, year or month). Unique per (lease,
    indicator, period): the seed's action is raised as a work order once, whatever the job's runs; the count and
    evidence follow what the job sees later in the period."""

    id = fields.BigIntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="health_flags", on_delete=fields.CASCADE)
    lease_id: int
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="health_flags", on_delete=fields.CASCADE)
    building_id: int
    indicator = fields.CharEnumField(Indicator, max_length=20)
    period = fields.CharField(max_length=10, description="2026Q4, 2026, 2026-10")
    level = fields.CharEnumField(HealthLevel, max_length=8)
    count = fields.IntField()
    threshold = fields.CharField(max_length=10)
    action = fields.CharField(max_length=60)
    evidence: fields.JSONField[list[Any]]
    evidence = fields.JSONField(default=list)
    work_order: fields.ForeignKeyNullableRelation[WorkOrder]
    work_order = fields.ForeignKeyField("models.WorkOrder", related_name="health_flags", null=True,
                                        on_delete=fields.SET_NULL)
    work_order_id: int | None
    raised_at = fields.DatetimeField()
    as_of = fields.DateField(description="the day the job last saw it")

    class Meta:
        table = "lease_health_flags"
        unique_together = (("lease", "indicator", "period"),)
        indexes = (("building_id", "period"),)


class TenantProfile(TimestampedModel):
    """信用行为画像 of a tenant party across all their leases, recomputed daily: the measures, a score with the
    reasons that moved it, and the renewal recommendation the expiry reminder states."""

    id = fields.IntField(primary_key=True)
    tenant: fields.OneToOneRelation[Tenant]
    tenant = fields.OneToOneField("models.Tenant", related_name="profile", on_delete=fields.CASCADE)
    tenant_id: int
    score = fields.SmallIntField()
    recommendation = fields.CharEnumField(Recommendation, max_length=16)
    reasons: fields.JSONField[list[Any]]
    reasons = fields.JSONField(default=list)
    metrics: fields.JSONField[dict[str, Any]]
    metrics = fields.JSONField(default=dict)
    as_of = fields.DateField()
    computed_at = fields.DatetimeField()

    class Meta:
        table = "tenant_profiles"
