"""Unit status changes go through here and only here: the transition table, the version bump and
the immutable history row are written together or not at all."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from accounts.scope import Principal
from audit.choices import AuditAction
from audit.service import Target, record
from core.errors import Conflict, InvalidTransition, NotFound
from models.portfolio import Unit, UnitStatusChange
from portfolio.choices import StatusSource, UnitStatus, allowed_unit_targets


async def get_unit_for(principal: Principal, code: str) -> Unit:
    unit = await Unit.get_or_none(code=code)
    if unit is None:
        raise NotFound(f"unit {code} not found", code="UNKNOWN_UNIT", details={"unit_code": code})
    principal.require_building(unit.building_id, f"unit {code}")
    return unit


def check_transition(current: UnitStatus | str, target: UnitStatus | str) -> None:
    allowed = allowed_unit_targets(current)
    if UnitStatus(target) not in allowed:
        raise InvalidTransition("unit", str(current), str(target), [s.value for s in allowed])


async def change_unit_status(unit_id: int, target: UnitStatus, *, source: StatusSource, now: datetime,
                             actor_id: int | None = None, reason: str = "", reference: str = "",
                             expected_version: int | None = None) -> UnitStatusChange:
    """Move a unit to ``target``. Must be called inside a transaction or opens its own.

    ``expected_version`` makes the change conditional (optimistic lock): a newer status is never
    overwritten. The UPDATE is conditional on the version read, so two racing changes cannot both apply.
    """
    async with in_transaction():
        unit = await Unit.get_or_none(id=unit_id)
        if unit is None:
            raise NotFound(f"unit {unit_id} not found", code="UNKNOWN_UNIT")
        if expected_version is not None and unit.status_version != expected_version:
            raise Conflict("the unit's status changed since it was read", code="STALE_STATUS_VERSION",
                           details={"expected_version": expected_version, "current_version": unit.status_version,
                                    "current_status": unit.status})
        check_transition(unit.status, target)
        updated = await Unit.filter(id=unit.id, status_version=unit.status_version).update(
            status=target, status_version=unit.status_version + 1, status_changed_at=now)
        if updated != 1:
            raise Conflict("the unit's status changed concurrently", code="STALE_STATUS_VERSION",
                           details={"expected_version": unit.status_version})
        change = await UnitStatusChange.create(
            unit_id=unit.id, from_status=unit.status, to_status=target, version=unit.status_version + 1,
            source=source, reason=reason[:500], reference=reference[:64], actor_id=actor_id, changed_at=now)
        if source == StatusSource.ADMIN:  # a person overrode what inspections, leases and sensors decide
            await record(actor_id, AuditAction.UNIT_STATUS_OVERRIDDEN, Target("unit", unit.code, unit.building_id),
                         {"from": str(unit.status), "to": str(target), "version": change.version,
                          "reason": reason[:500]}, now)
        return change


def serialize_status_change(change: UnitStatusChange) -> dict:
    return {"from": change.from_status, "to": change.to_status, "version": change.version,
            "source": change.source, "reason": change.reason, "reference": change.reference,
            "actor_id": change.actor_id, "at": change.changed_at.isoformat()}


def serialize_unit(unit: Unit, building=None) -> dict:
    data = {
        "code": unit.code, "name": unit.name, "building_id": unit.building_id,
        "property_type": unit.property_type, "unit_type": unit.unit_type, "area_m2": str(unit.area_m2),
        "floor": unit.floor, "compliant_rentable": unit.compliant_rentable, "lat": unit.lat, "lng": unit.lng,
        "status": unit.status, "status_version": unit.status_version,
        "status_changed_at": unit.status_changed_at.isoformat() if unit.status_changed_at else None,
        "last_inspected_at": unit.last_inspected_at.isoformat() if unit.last_inspected_at else None,
    }
    if building is not None:
        data["building"] = {"id": building.id, "code": building.code, "name": building.name}
    return data


def units_for(principal: Principal, *, city: str | None = None, building: str | None = None,
              building_id: int | None = None, status: UnitStatus | str | None = None,
              property_type: str | None = None, unit_type: str | None = None,
              stale_before: datetime | None = None):
    """The units the caller may see, filtered (a queryset: callers order and paginate). API list and console
    status board share it, so both apply the same scope."""
    from tortoise.expressions import Q

    qs = Unit.filter(**principal.building_filter())
    if city:
        qs = qs.filter(building__city__code=city)
    if building:
        qs = qs.filter(building__code=building)
    if building_id:
        qs = qs.filter(building_id=building_id)
    if status:
        qs = qs.filter(status=status)
    if property_type:
        qs = qs.filter(property_type=property_type)
    if unit_type:
        qs = qs.filter(unit_type=unit_type)
    if stale_before is not None:
        qs = qs.filter(Q(last_inspected_at__isnull=True) | Q(last_inspected_at__lt=stale_before))
    return qs


async def status_counts(queryset) -> dict[str, int]:
    """Units per status for a units queryset (one GROUP BY)."""
    from tortoise.functions import Count

    rows = await queryset.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    return {str(status): n for status, n in rows}
