"""The audit log of privileged actions (audit/service.py writes it; nothing updates or deletes a row)."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from models.base import AppendOnlyModel


class AuditEvent(AppendOnlyModel):
    """Who did what to which record, when, from which request. The actor is a plain id with a copy of their
    role and name at the time: a foreign key's SET NULL would be an UPDATE, which the table refuses."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    actor_id = fields.IntField(null=True, db_index=True, description="users.id, null for the system or the CLI")
    actor_role = fields.CharField(max_length=16, default="")
    actor_name = fields.CharField(max_length=64, default="")
    action = fields.CharField(max_length=40, db_index=True, description="audit.choices.AuditAction")
    target_type = fields.CharField(max_length=32)
    target_id = fields.CharField(max_length=64)
    building_id = fields.IntField(null=True, db_index=True)
    details: fields.JSONField[dict[str, Any]]
    details = fields.JSONField(default=dict)
    request_id = fields.CharField(max_length=64, default="")

    class Meta:
        table = "audit_events"
        indexes = (("target_type", "target_id"),)
