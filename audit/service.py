"""The audit log of privileged actions: ``record`` is called by the service that performs the action, inside the
same transaction, so the action and its row commit or roll back together. Rows are never updated or deleted:
AppendOnlyModel refuses it in the ORM and database triggers (migration 0015, core.appendonly) below it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit.choices import AUDIT_TABLE, AuditAction
from core.appendonly import install_append_only
from core.pagination import PageQuery, paginate
from core.requestctx import current_request_id
from models.audit import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acted: a user (id, role and name as they were) or the system (``user_id`` None: the CLI, a job)."""

    user_id: int | None
    role: str = ""
    name: str = ""

    @classmethod
    def of(cls, who: Any) -> Actor:
        """From a User (``id``) or a Principal (``user_id``)."""
        user_id = getattr(who, "user_id", None)
        if user_id is None:
            user_id = getattr(who, "id", None)
        return cls(user_id=user_id, role=str(getattr(who, "role", "") or ""), name=str(getattr(who, "name", "") or ""))


SYSTEM = Actor(user_id=None, role="SYSTEM", name="system")


@dataclass(frozen=True)
class Target:
    type: str
    id: int | str
    building_id: int | None = None


async def record(actor: Actor | int | None, action: AuditAction, target: Target, details: dict[str, Any] | None,
                 now: datetime) -> AuditEvent:
    """Append one row. Call inside the action's transaction. ``actor`` may be a user id (role and name are read).
    ``details`` must hold no personal data beyond ids: the log is read by admins and kept for years."""
    if isinstance(actor, int):
        from models.accounts import User

        user = await User.get_or_none(id=actor)
        actor = Actor.of(user) if user else Actor(user_id=actor)
    actor = actor or SYSTEM
    return await AuditEvent.create(
        at=now, actor_id=actor.user_id, actor_role=actor.role[:16], actor_name=actor.name[:64],
        action=AuditAction(action).value, target_type=target.type[:32], target_id=str(target.id)[:64],
        building_id=target.building_id, details=details or {}, request_id=current_request_id()[:64])


def serialize_event(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": event.at.isoformat(), "actor_id": event.actor_id, "actor_role": event.actor_role,
            "actor_name": event.actor_name, "action": event.action,
            "target": {"type": event.target_type, "id": event.target_id}, "building_id": event.building_id,
            "details": event.details, "request_id": event.request_id}


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None  # exact, or a prefix ending in "." ("credential.")
    actor_id: int | None = None
    target_type: str | None = None
    target_id: str | None = None
    building_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_events(flt: AuditFilter, query: PageQuery) -> dict[str, Any]:
    """Newest first, paginated, filtered."""
    rows = AuditEvent.all()
    if flt.action:
        rows = rows.filter(action__startswith=flt.action) if flt.action.endswith(".") else \
            rows.filter(action=flt.action)
    for name in ("actor_id", "target_type", "target_id", "building_id"):
        value = getattr(flt, name)
        if value is not None:
            rows = rows.filter(**{name: value})
    if flt.since:
        rows = rows.filter(at__gte=flt.since)
    if flt.until:
        rows = rows.filter(at__lt=flt.until)
    return await paginate(rows.order_by("-at", "-id"), query, serialize_event)


async def install_triggers(connection=None) -> None:
    """What migration 0015 does; for test set-ups that build the schema directly."""
    await install_append_only(AUDIT_TABLE, connection)


async def record_export(actor: Any, what: str, key: str, fmt: str, now: datetime, *,
                        rows: int | None = None) -> AuditEvent:
    """An export left the system (a file of personal or business data): who took which report, in what form,
    for which buildings (None: all), and how many rows when it is a list. Exports write nothing else, so there
    is no transaction to share. The list's filter values are not kept: a search may be a person's name."""
    buildings = getattr(actor, "building_ids", None)
    details: dict[str, Any] = {"format": fmt, "building_ids": sorted(buildings) if buildings is not None else None}
    if rows is not None:
        details["rows"] = rows
    return await record(Actor.of(actor), AuditAction.EXPORT, Target(what, key), details, now)
