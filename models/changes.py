"""The change log read by the per-worker caches. Rows are written by database triggers (core.changes), never
through the ORM, so every writer is covered: other workers, the MQTT consumer process, bulk updates, raw SQL."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class ChangeRecord(Model):
    """One changed row of a table the caches depend on: kind (unit, user, all) and the id it concerns."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=8)
    ref = fields.BigIntField()
    at_us = fields.BigIntField(description="database clock, microseconds since the epoch, set by the trigger")

    class Meta:
        table = "change_log"
        indexes = (Index(fields=("at_us",), name="change_log_at_us"),)
