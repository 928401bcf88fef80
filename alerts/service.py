"""Alert lifecycle: one open alert per (unit, type); a repeat updates last_seen/count; clears after hysteresis."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from alerts.choices import OPEN_ALERT_STATUSES, AlertSeverity, AlertStatus
from core.errors import InvalidTransition, ValidationFailed
from models.alerts import Alert


def open_key(alert_type: str, unit_id: int | None, subject: str = "") -> str:
    return f"{alert_type}:{unit_id or '-'}:{subject}"


async def raise_alert(*, alert_type: str, now: datetime, unit_id: int | None = None, building_id: int | None = None,
                      subject: str = "", severity: AlertSeverity = AlertSeverity.WARNING, explanation: str = "",
                      evidence: dict[str, Any] | None = None) -> tuple[Alert, bool]:
    """Open an alert, or refresh the open one for the same key. Returns (alert, created)."""
    key = open_key(alert_type, unit_id, subject)
    for _ in range(2):
        existing = await Alert.get_or_none(open_key=key)
        if existing:
            existing.last_seen = max(existing.last_seen, now)
            existing.count += 1
            existing.condition_false_since = None
            if explanation:
                existing.explanation = explanation
            if evidence is not None:
                existing.evidence = evidence
            await existing.save(update_fields=["last_seen", "count", "condition_false_since", "explanation",
                                               "evidence", "updated_at"])
            return existing, False
        try:
            async with in_transaction():
                alert = await Alert.create(type=alert_type, unit_id=unit_id, building_id=building_id, subject=subject,
                                           severity=severity, open_key=key, explanation=explanation,
                                           evidence=evidence or {}, first_seen=now, last_seen=now)
            return alert, True
        except IntegrityError:
            continue  # raced with another writer; refresh theirs
    raise RuntimeError("could not raise alert")  # pragma: no cover


async def condition_cleared(*, alert_type: str, unit_id: int | None, now: datetime, hysteresis: timedelta,
                            subject: str = "") -> Alert | None:
    """The condition is false now. Clear the open alert once it has stayed false for ``hysteresis``."""
    alert = await Alert.get_or_none(open_key=open_key(alert_type, unit_id, subject))
    if alert is None:
        return None
    if alert.condition_false_since is None:
        alert.condition_false_since = now
        await alert.save(update_fields=["condition_false_since", "updated_at"])
        return None
    if now - alert.condition_false_since >= hysteresis:
        await Alert.filter(id=alert.id).update(status=AlertStatus.CLEARED, open_key=None, resolved_at=now)
        return await Alert.get(id=alert.id)
    return None


async def acknowledge(alert: Alert, *, actor_id: int, now: datetime, note: str = "") -> Alert:
    if alert.status != AlertStatus.ACTIVE:
        raise InvalidTransition("alert", alert.status, AlertStatus.ACKNOWLEDGED, [])
    await Alert.filter(id=alert.id, status=AlertStatus.ACTIVE).update(
        status=AlertStatus.ACKNOWLEDGED, acknowledged_by_id=actor_id, acknowledged_at=now,
        resolution_note=note[:500] or alert.resolution_note)
    return await Alert.get(id=alert.id)


async def resolve(alert: Alert, *, actor_id: int, now: datetime, note: str) -> Alert:
    if not note.strip():
        raise ValidationFailed("resolving an alert needs a note", code="NOTE_REQUIRED")
    if alert.status not in OPEN_ALERT_STATUSES:
        raise InvalidTransition("alert", alert.status, AlertStatus.RESOLVED, [])
    await Alert.filter(id=alert.id).update(status=AlertStatus.RESOLVED, open_key=None, resolved_by_id=actor_id,
                                           resolved_at=now, resolution_note=note[:500])
    return await Alert.get(id=alert.id)


def serialize_alert(alert: Alert, unit_code: str | None = None) -> dict:
    return {
        "id": alert.id, "type": alert.type, "unit_id": alert.unit_id, "unit_code": unit_code,
        "building_id": alert.building_id, "subject": alert.subject, "severity": alert.severity,
        "status": alert.status, "explanation": alert.explanation, "evidence": alert.evidence,
        "first_seen": alert.first_seen.isoformat(), "last_seen": alert.last_seen.isoformat(), "count": alert.count,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "resolution_note": alert.resolution_note,
    }


def alerts_for(principal):
    """The alerts the caller may see: their buildings' (portfolio-wide roles also see alerts with no building)."""
    if principal.sees_all_buildings:
        return Alert.all()
    return Alert.filter(**principal.building_filter())


async def alert_for(principal, alert_id: int) -> Alert:
    """One alert in the caller's scope; anything else is "not found" (existence is not disclosed)."""
    from core.errors import NotFound

    alert = await Alert.get_or_none(id=alert_id)
    if alert is None:
        raise NotFound("alert not found")
    if alert.building_id is None:
        if not principal.sees_all_buildings:
            raise NotFound("alert not found")
    else:
        principal.require_building(alert.building_id, "alert")
    return alert
