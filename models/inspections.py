from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from inspections.choices import CoordSystem, Decision, ReportCategory, ReportState
from models.base import TimestampedModel
from portfolio.choices import UnitStatus

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.accounts import User
    from models.portfolio import Unit


class Photo(TimestampedModel):
    """Photo evidence. The primary key is the photo UUID chosen by the client, so a re-upload is idempotent."""

    id = fields.UUIDField(primary_key=True)
    unit: fields.ForeignKeyNullableRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="photos", null=True, on_delete=fields.RESTRICT)
    unit_id: int | None
    uploaded_by: fields.ForeignKeyRelation[User]
    uploaded_by = fields.ForeignKeyField("models.User", related_name="photos", on_delete=fields.RESTRICT)
    uploaded_by_id: int
    sha256 = fields.CharField(max_length=64, db_index=True)
    content_type = fields.CharField(max_length=32)
    size_bytes = fields.IntField()
    width = fields.IntField()
    height = fields.IntField()
    original_key = fields.CharField(max_length=200)
    thumbnail_key = fields.CharField(max_length=200)
    evidence_key = fields.CharField(max_length=200)
    exif_taken_at = fields.DatetimeField(null=True, description="EXIF DateTimeOriginal read as local time")
    exif_lat = fields.FloatField(null=True)
    exif_lng = fields.FloatField(null=True)
    captured_at = fields.DatetimeField(null=True, description="capture time the client sent with the upload")
    distance_m = fields.FloatField(null=True, description="distance to the unit stamped on the evidence copy")
    exif_flags: fields.JSONField[list[str]]
    exif_flags = fields.JSONField(default=list, description="EXIF parts present but unreadable (ignored)")

    class Meta:
        table = "photos"


class OnSiteFix(TimestampedModel):
    """Where and when an action was taken: the fix as captured (and its system), in WGS-84, and its distance."""

    lat = fields.FloatField()
    lng = fields.FloatField()
    coord_system = fields.CharEnumField(CoordSystem, max_length=8)
    accuracy_m = fields.FloatField()
    wgs84_lat = fields.FloatField()
    wgs84_lng = fields.FloatField()
    distance_m = fields.FloatField()
    captured_at = fields.DatetimeField()

    class Meta:
        abstract = True


class StatusReport(OnSiteFix):
    """One field inspection of a unit: a requested status change or a no_change visit, with evidence."""

    id = fields.IntField(primary_key=True)
    client_id = fields.UUIDField(unique=True, description="idempotency key made by the client")
    content_hash = fields.CharField(max_length=64, description="hash of the submitted content")
    unit: fields.ForeignKeyRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="status_reports", on_delete=fields.RESTRICT)
    unit_id: int
    author: fields.ForeignKeyRelation[User]
    author = fields.ForeignKeyField("models.User", related_name="status_reports", on_delete=fields.RESTRICT)
    author_id: int
    category = fields.CharEnumField(ReportCategory, max_length=24)
    requested_status = fields.CharEnumField(UnitStatus, max_length=20, null=True)
    no_change = fields.BooleanField(default=False)
    observed_status = fields.CharEnumField(UnitStatus, max_length=20, description="unit status when submitted")
    state = fields.CharEnumField(ReportState, max_length=24)
    state_reason = fields.CharField(max_length=64, default="")
    initial_result = fields.CharField(max_length=24, default="", description="the state given at submission")
    flags: fields.JSONField[list[Any]]
    flags = fields.JSONField(default=list)
    note = fields.TextField(default="")
    photo_ids: fields.JSONField[list[Any]]
    photo_ids = fields.JSONField(default=list)
    client_created_at = fields.DatetimeField(null=True)
    base_status_version = fields.IntField(null=True)
    via_sync = fields.BooleanField(default=False)
    confirm_deadline = fields.DatetimeField(null=True)
    applied_version = fields.IntField(null=True, description="unit status_version the confirmed change produced")
    decided_at = fields.DatetimeField(null=True)
    expired_at = fields.DatetimeField(null=True)
    expiry_notified = fields.BooleanField(default=False)

    class Meta:
        table = "status_reports"
        indexes = (("unit_id", "captured_at"), ("author_id", "captured_at"), ("state", "confirm_deadline"))


class ReportPhoto(TimestampedModel):
    """Which photos a report references (photos may arrive after the report)."""

    id = fields.IntField(primary_key=True)
    report: fields.ForeignKeyRelation[StatusReport]
    report = fields.ForeignKeyField("models.StatusReport", related_name="photo_links", on_delete=fields.CASCADE)
    report_id: int
    photo_id = fields.UUIDField(db_index=True)

    class Meta:
        table = "status_report_photos"
        unique_together = (("report", "photo_id"),)


class StatusConfirmation(OnSiteFix):
    """The second person's on-site decision on a report. One decision per report, enforced by the database."""

    id = fields.IntField(primary_key=True)
    client_id = fields.UUIDField(unique=True)
    content_hash = fields.CharField(max_length=64)
    report: fields.OneToOneRelation[StatusReport]
    report = fields.OneToOneField("models.StatusReport", related_name="confirmation", on_delete=fields.CASCADE)
    report_id: int
    actor: fields.ForeignKeyRelation[User]
    actor = fields.ForeignKeyField("models.User", related_name="status_confirmations", on_delete=fields.RESTRICT)
    actor_id: int
    decision = fields.CharEnumField(Decision, max_length=8)
    reason = fields.CharField(max_length=500, default="")
    outcome = fields.CharEnumField(ReportState, max_length=24, description="report state this decision produced")

    class Meta:
        table = "status_confirmations"
