from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields

from accounts.choices import StaffDuty
from config.settings import DEFAULT_TIMEZONE
from models.base import AppendOnlyModel, TimestampedModel
from portfolio.choices import PropertyType, StatusSource, UnitStatus

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.accounts import User


class City(TimestampedModel):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)
    name = fields.CharField(max_length=64)

    class Meta:
        table = "cities"


class Building(TimestampedModel):
    id = fields.IntField(primary_key=True)
    city: fields.ForeignKeyRelation[City]
    city = fields.ForeignKeyField("models.City", related_name="buildings", on_delete=fields.RESTRICT)
    city_id: int
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=128)
    address = fields.CharField(max_length=255, default="")
    lat = fields.FloatField(description="WGS-84 latitude")
    lng = fields.FloatField(description="WGS-84 longitude")
    geofence_radius_m = fields.IntField(default=150)
    timezone = fields.CharField(max_length=64, default=DEFAULT_TIMEZONE)

    class Meta:
        table = "buildings"


class BuildingStaff(TimestampedModel):
    """A staff member's duty in a building. These rows are also the staff member's data scope."""

    id = fields.IntField(primary_key=True)
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="staff", on_delete=fields.CASCADE)
    building_id: int
    user: fields.ForeignKeyRelation[User]
    user = fields.ForeignKeyField("models.User", related_name="duties", on_delete=fields.CASCADE)
    user_id: int
    duty = fields.CharEnumField(StaffDuty, max_length=16)

    class Meta:
        table = "building_staff"
        unique_together = (("building", "user", "duty"),)


class Unit(TimestampedModel):
    id = fields.IntField(primary_key=True)
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="units", on_delete=fields.RESTRICT)
    building_id: int  # the column, for type checkers
    code = fields.CharField(max_length=40, unique=True, description="human code, e.g. SZ-NS-A-1203")
    name = fields.CharField(max_length=64, default="")
    property_type = fields.CharEnumField(PropertyType, max_length=16)
    unit_type = fields.CharField(max_length=16, default="", description="户型, e.g. studio, 1b1b, 2b1b")
    area_m2 = fields.DecimalField(max_digits=9, decimal_places=2)
    floor = fields.IntField(null=True)
    compliant_rentable = fields.BooleanField(default=True)
    lat = fields.FloatField(null=True, description="WGS-84, falls back to the building")
    lng = fields.FloatField(null=True)
    status = fields.CharEnumField(UnitStatus, max_length=20, default=UnitStatus.VACANT)
    status_version = fields.IntField(default=1)
    status_changed_at = fields.DatetimeField(null=True)
    last_inspected_at = fields.DatetimeField(null=True)
    qr_version = fields.IntField(default=1)

    class Meta:
        table = "units"


class UnitStatusChange(AppendOnlyModel):
    id = fields.BigIntField(primary_key=True)
    unit: fields.ForeignKeyRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="status_history", on_delete=fields.RESTRICT)
    unit_id: int
    from_status = fields.CharEnumField(UnitStatus, max_length=20)
    to_status = fields.CharEnumField(UnitStatus, max_length=20)
    version = fields.IntField(description="the unit's status_version after this change")
    source = fields.CharEnumField(StatusSource, max_length=16)
    reason = fields.CharField(max_length=500, default="")
    reference = fields.CharField(max_length=64, default="")
    actor: fields.ForeignKeyNullableRelation[User]
    actor = fields.ForeignKeyField("models.User", related_name="status_changes", null=True,
                                   on_delete=fields.RESTRICT)
    actor_id: int | None
    changed_at = fields.DatetimeField()

    class Meta:
        table = "unit_status_changes"
        unique_together = (("unit", "version"),)
