from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel
from occupancy.choices import DayState, Difference, FlagKind
from portfolio.choices import PropertyType, UnitStatus

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.accounts import User
    from models.leasing import Lease
    from models.portfolio import Unit


class OccupancyFlag(TimestampedModel):
    """A dated exclusion (试住, 内部占用, 合作置换, 不合规) or short-stay mark on a unit, optionally tied to one of
    its leases (then it applies only while that lease is the one in force). Its history is the rows: a flag is
    ended by giving it a ``valid_to``, never deleted, so any past day can be recomputed."""

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="occupancy_flags", on_delete=fields.RESTRICT)
    unit_id: int
    lease: fields.ForeignKeyNullableRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="occupancy_flags", null=True,
                                   on_delete=fields.RESTRICT)
    lease_id: int | None
    kind = fields.CharEnumField(FlagKind, max_length=20)
    valid_from = fields.DateField()
    valid_to = fields.DateField(null=True, description="inclusive, null: open-ended")
    reason = fields.CharField(max_length=500)
    reference = fields.CharField(max_length=64, default="", description="document, agreement or approval number")
    recorded_by: fields.ForeignKeyNullableRelation[User]
    recorded_by = fields.ForeignKeyField("models.User", related_name="occupancy_flags", null=True,
                                         on_delete=fields.SET_NULL)
    recorded_by_id: int | None
    ended_by: fields.ForeignKeyNullableRelation[User]
    ended_by = fields.ForeignKeyField("models.User", related_name="ended_occupancy_flags", null=True,
                                      on_delete=fields.SET_NULL)
    ended_by_id: int | None
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "occupancy_flags"
        indexes = (("unit_id", "valid_from"),)


class OccupancySnapshotDay(Model):
    """One day of the nightly snapshot: complete, or incomplete with the reasons (then it has no unit rows and
    every report shows the last complete day instead)."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    state = fields.CharEnumField(DayState, max_length=12)
    reasons: fields.JSONField[list[Any]]
    reasons = fields.JSONField(default=list, description="why the day is incomplete, one line per source")
    sources: fields.JSONField[dict[str, Any]]
    sources = fields.JSONField(default=dict, description="each source check: ok, detail, newest fact")
    units = fields.IntField(default=0)
    runs = fields.IntField(default=1)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "occupancy_days"


class UnitDaySnapshot(Model):
    """Per unit per day: the facts (status, lease, first rent paid, flags, sensor, last inspection) and what the
    definition made of them (occupancy.definition.classify), so reports only add columns."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()
    unit_id = fields.IntField()
    building_id = fields.IntField()
    city_id = fields.IntField()
    property_type = fields.CharEnumField(PropertyType, max_length=16)
    unit_type = fields.CharField(max_length=16, default="")
    area_m2 = fields.DecimalField(max_digits=9, decimal_places=2)
    status = fields.CharEnumField(UnitStatus, max_length=20)
    compliant = fields.BooleanField(default=True)
    lease_id = fields.IntField(null=True)
    lease_state = fields.CharField(max_length=12, default="NONE", description="NONE, SIGNED, ACTIVE (handed over)")
    first_rent_paid = fields.BooleanField(default=False)
    first_rent_paid_at = fields.DatetimeField(null=True)
    short_stay = fields.BooleanField(default=False)
    flags: fields.JSONField[list[Any]]
    flags = fields.JSONField(default=list)
    sensor = fields.CharField(max_length=16, null=True, description="OCCUPIED_LIKE, VACANT_LIKE, UNKNOWN, null: none")
    last_inspection_at = fields.DatetimeField(null=True)
    last_inspection_state = fields.CharField(max_length=24, default="")
    last_inspection_status = fields.CharField(max_length=20, default="", description="status seen or requested")
    # the definition's classification (occupancy.definition.Classification)
    rentable = fields.BooleanField()
    effective = fields.BooleanField()
    signed_unpaid = fields.BooleanField()
    short_stay_paid = fields.BooleanField()
    sensor_known = fields.BooleanField()
    sensor_occupied = fields.BooleanField()
    excl_trial = fields.BooleanField(default=False)
    excl_internal = fields.BooleanField(default=False)
    excl_swap = fields.BooleanField(default=False)
    excl_noncompliant = fields.BooleanField(default=False)

    class Meta:
        table = "occupancy_unit_days"
        unique_together = (("day", "unit_id"),)
        indexes = (("day", "building_id"), ("unit_id", "day"))


class DayTally(Model):
    """The day's unit rows added up per building, unit type and property type (written with them): every
    figure above the unit level is a sum of these, so a month of a large portfolio reads thousands of rows,
    not millions."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()
    building_id = fields.IntField()
    city_id = fields.IntField()
    unit_type = fields.CharField(max_length=16, default="")
    property_type = fields.CharEnumField(PropertyType, max_length=16)
    unit_days = fields.IntField(default=0)
    rentable = fields.IntField(default=0)
    rentable_area = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    effective = fields.IntField(default=0)
    effective_area = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    signed_unpaid = fields.IntField(default=0)
    short_stay_paid = fields.IntField(default=0)
    sensor_known = fields.IntField(default=0)
    sensor_occupied = fields.IntField(default=0)
    excluded_units = fields.IntField(default=0)
    excl_trial = fields.IntField(default=0)
    excl_internal = fields.IntField(default=0)
    excl_swap = fields.IntField(default=0)
    excl_noncompliant = fields.IntField(default=0)

    class Meta:
        table = "occupancy_day_tallies"
        unique_together = (("day", "building_id", "unit_type", "property_type"),)
        indexes = (("building_id", "day"),)


class StatusAudit(Model):
    """资产状态一致性审计报告 of one month: counts per difference kind, rates per building and city (``summary``)."""

    id = fields.IntField(primary_key=True)
    month = fields.CharField(max_length=7, unique=True, description="YYYY-MM")
    as_of = fields.DateField(description="the snapshot day the audit compared (the month's last complete day)")
    generated_at = fields.DatetimeField()
    units = fields.IntField(default=0)
    findings_count = fields.IntField(default=0)
    summary: fields.JSONField[dict[str, Any]]
    summary = fields.JSONField(default=dict)

    class Meta:
        table = "occupancy_audits"


class StatusAuditFinding(Model):
    id = fields.BigIntField(primary_key=True)
    audit: fields.ForeignKeyRelation[StatusAudit]
    audit = fields.ForeignKeyField("models.StatusAudit", related_name="findings", on_delete=fields.CASCADE)
    audit_id: int
    kind = fields.CharEnumField(Difference, max_length=32)
    unit_id = fields.IntField()
    building_id = fields.IntField()
    city_id = fields.IntField()
    unit_code = fields.CharField(max_length=40)
    since = fields.DateField(null=True)
    days = fields.IntField(default=0)
    detail: fields.JSONField[dict[str, Any]]
    detail = fields.JSONField(default=dict)

    class Meta:
        table = "occupancy_audit_findings"
        indexes = (("audit_id", "kind"), ("audit_id", "building_id"))
