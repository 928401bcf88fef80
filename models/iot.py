from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from iot.choices import CredentialKind, DeviceFormat, DeviceKind, Occupancy
from models.base import TimestampedModel

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.portfolio import Building, Unit


class Device(TimestampedModel):
    """A registered sensor or meter, identified by its external id as it appears in topics or payloads."""

    id = fields.IntField(primary_key=True)
    external_id = fields.CharField(max_length=128)
    format = fields.CharEnumField(DeviceFormat, max_length=16)
    kind = fields.CharEnumField(DeviceKind, max_length=12)
    unit: fields.ForeignKeyNullableRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="devices", null=True, on_delete=fields.SET_NULL)
    unit_id: int | None  # the column, for type checkers
    building: fields.ForeignKeyNullableRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="devices", null=True,
                                      on_delete=fields.SET_NULL)
    building_id: int | None
    installed_at = fields.DatetimeField(null=True)
    last_seen = fields.DatetimeField(null=True)
    online = fields.BooleanField(null=True)
    available = fields.BooleanField(null=True, description="last availability message: online / offline")
    available_at = fields.DatetimeField(null=True, description="when that availability message was received")
    heartbeat_at = fields.DatetimeField(null=True, description="last heartbeat (e.g. Tasmota tele/STATE)")
    battery = fields.IntField(null=True)
    battery_low = fields.BooleanField(default=False)
    invert = fields.BooleanField(default=False, description="door polarity inverted (wiring)")
    report_period_s = fields.IntField(null=True, description="expected reporting period, meters")
    last_contact_open = fields.BooleanField(null=True)
    last_door_at = fields.DatetimeField(null=True)
    last_total = fields.FloatField(null=True)
    last_total_at = fields.DatetimeField(null=True)
    pending_total = fields.FloatField(null=True, description="a spike value waiting for confirmation")

    class Meta:
        table = "iot_devices"
        unique_together = (("format", "external_id"),)


class CommissioningEntry(Model):
    """A device that sent messages but is not registered: never silently dropped."""

    id = fields.IntField(primary_key=True)
    format = fields.CharEnumField(DeviceFormat, max_length=16)
    external_id = fields.CharField(max_length=128)
    topic = fields.CharField(max_length=255)
    sample_payload = fields.TextField()
    first_seen = fields.DatetimeField()
    last_seen = fields.DatetimeField()
    message_count = fields.IntField(default=1)

    class Meta:
        table = "iot_commissioning"
        unique_together = (("format", "external_id"),)


class DoorEvent(Model):
    id = fields.BigIntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device]
    device = fields.ForeignKeyField("models.Device", related_name="door_events", on_delete=fields.CASCADE)
    device_id: int
    unit_id = fields.IntField(null=True)
    at = fields.DatetimeField()
    is_open = fields.BooleanField()
    received_at = fields.DatetimeField()

    class Meta:
        table = "iot_door_events"
        unique_together = (("device", "at", "is_open"),)
        indexes = (("unit_id", "at"),)


class MeterSample(Model):
    """A raw cumulative register reading (kept for iot_raw_retention_days)."""

    id = fields.BigIntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device]
    device = fields.ForeignKeyField("models.Device", related_name="samples", on_delete=fields.CASCADE)
    device_id: int
    at = fields.DatetimeField()
    total = fields.FloatField()
    delta = fields.FloatField(default=0.0)
    flag = fields.CharField(max_length=10, default="")
    received_at = fields.DatetimeField()

    class Meta:
        table = "iot_meter_samples"
        unique_together = (("device", "at"),)
        indexes = (("at",),)


class HourlyRollup(Model):
    """Per device and UTC hour (``hour_ts`` = epoch seconds // 3600): consumption (meters) or door openings
    (doors) in ``value``, and the number of messages in ``messages``. Detection reads only this table."""

    id = fields.BigIntField(primary_key=True)
    device_id = fields.IntField()
    unit_id = fields.IntField(null=True)
    kind = fields.CharEnumField(DeviceKind, max_length=12)
    hour_ts = fields.BigIntField()
    value = fields.FloatField(default=0.0)
    messages = fields.IntField(default=0)

    class Meta:
        table = "iot_hourly"
        unique_together = (("device_id", "hour_ts"),)
        indexes = (("hour_ts", "unit_id"),)


class HourlyChange(Model):
    """The roll-ups of a device on one UTC day (``utc_day`` = ``hour_ts`` // 24) written since the daily facts last
    read them: recorded by database triggers on ``iot_hourly`` (whoever writes it), claimed by iot.daily_facts."""

    id = fields.BigIntField(primary_key=True)
    device_id = fields.IntField()
    unit_id = fields.IntField()
    utc_day = fields.IntField()

    class Meta:
        table = "iot_hourly_changes"
        unique_together = (("device_id", "unit_id", "utc_day"),)


class DailyFact(Model):
    """The hourly roll-ups of one unit on one local day, aggregated as iot.daily_facts.day_statement does
    (``c0``…``c15`` are its columns, in its order) under ``basis`` (the timezone offset, the night hours, the vacant
    thresholds and the building group it was computed with). Kept by iot.daily_facts; detection reads only these."""

    id = fields.BigIntField(primary_key=True)
    basis = fields.CharField(max_length=64)
    unit_id = fields.IntField()
    day = fields.IntField(description="local day number (iot.rules.day_number)")
    c0 = fields.FloatField(null=True)
    c1 = fields.FloatField(null=True)
    c2 = fields.FloatField(null=True)
    c3 = fields.FloatField(null=True)
    c4 = fields.FloatField(null=True)
    c5 = fields.FloatField(null=True)
    c6 = fields.FloatField(null=True)
    c7 = fields.BigIntField(null=True)
    c8 = fields.BigIntField(null=True)
    c9 = fields.BigIntField(null=True)
    c10 = fields.BigIntField(null=True)
    c11 = fields.BigIntField(null=True)
    c12 = fields.BigIntField(null=True)
    c13 = fields.FloatField(null=True)
    c14 = fields.BigIntField(null=True)
    c15 = fields.BigIntField(null=True)

    class Meta:
        table = "iot_daily_facts"
        unique_together = (("basis", "day", "unit_id"),)


class DailyFactDay(Model):
    """A local ``day`` whose facts under ``basis`` are complete (for every unit), dropped when roll-ups of the day
    change (iot.daily_facts), so the day is aggregated again."""

    id = fields.BigIntField(primary_key=True)
    basis = fields.CharField(max_length=64)
    offset_h = fields.IntField(description="UTC offset of the basis, hours: which UTC hours the day covers")
    day = fields.IntField()
    computed_at = fields.DatetimeField()

    class Meta:
        table = "iot_daily_fact_days"
        unique_together = (("basis", "day"),)


class DeadLetter(Model):
    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=255)
    payload = fields.TextField(description="truncated, undecodable bytes escaped")
    payload_size = fields.IntField()
    reason = fields.CharField(max_length=300)
    received_at = fields.DatetimeField()

    class Meta:
        table = "iot_dead_letters"


class OccupancyDay(Model):
    id = fields.BigIntField(primary_key=True)
    unit: fields.ForeignKeyRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="occupancy_days", on_delete=fields.CASCADE)
    unit_id: int
    day = fields.DateField()
    state = fields.CharEnumField(Occupancy, max_length=16)
    evidence: fields.JSONField[dict[str, Any]]
    evidence = fields.JSONField(default=dict)

    class Meta:
        table = "iot_occupancy_days"
        unique_together = (("unit", "day"),)


class DetectionRun(Model):
    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    stats: fields.JSONField[dict[str, Any]]
    stats = fields.JSONField(default=dict)

    class Meta:
        table = "iot_detection_runs"


class ConsumerHeartbeat(Model):
    """What each MQTT consumer last said about itself, written every few seconds from its own process, so that
    ``/health`` (served by other processes) can tell a stuck or silent consumer from a quiet one."""

    id = fields.IntField(primary_key=True)
    client_id = fields.CharField(max_length=128, unique=True)
    started_at = fields.DatetimeField()
    reported_at = fields.DatetimeField()
    stopped_at = fields.DatetimeField(null=True,
                                      description="set on a clean shutdown: a stopped consumer is not missed")
    connected = fields.BooleanField(default=False)
    queue_depth = fields.IntField(default=0, description="messages received but not yet stored")
    stored_total = fields.BigIntField(default=0)
    dead_letters = fields.BigIntField(default=0)
    last_stored_at = fields.DatetimeField(null=True)
    stuck_since = fields.DatetimeField(null=True, description="a batch has failed to store since then (retrying)")
    last_error = fields.CharField(max_length=300, default="")

    class Meta:
        table = "iot_consumer_heartbeats"


class MqttCredential(Model):
    """One issued broker account (iot.credentials). Rows are never deleted: a re-issue or a revoke sets
    ``revoked_at``/``revoked_by`` and a re-issue adds a row, so who was allowed to publish what, and when, stays on
    record. The password is never stored: an argon2 hash (checked by the embedded broker) and a PBKDF2-SHA512 hash
    in mosquitto_passwd's ``$7$`` format (exported for Mosquitto) — both of one random 192-bit password."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=128, db_index=True)
    kind = fields.CharEnumField(CredentialKind, max_length=10)
    device_ids: fields.JSONField[list[int]]
    device_ids = fields.JSONField(default=list, description="devices bound to this account")
    topics: fields.JSONField[list[str]]
    topics = fields.JSONField(default=list, description="topics it may publish (MQTT filters)")
    client_id = fields.CharField(max_length=128, null=True, description="a client id only this account may use")
    password_hash = fields.CharField(max_length=200)
    mosquitto_hash = fields.CharField(max_length=200)
    issued_at = fields.DatetimeField()
    issued_by = fields.CharField(max_length=128)
    revoked_at = fields.DatetimeField(null=True)
    revoked_by = fields.CharField(max_length=128, null=True)
    note = fields.CharField(max_length=200, default="")

    class Meta:
        table = "iot_mqtt_credentials"
