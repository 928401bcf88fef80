"""Flags with history: recording an exclusion or short-stay flag on a unit (optionally one of its leases) and
ending it. A flag is never edited or deleted — ending sets ``valid_to`` — so a past day is always recomputable."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from core.errors import Conflict, NotFound, ValidationFailed
from models.leasing import Lease
from models.occupancy import OccupancyFlag
from models.portfolio import Unit
from occupancy.choices import FLAG_LABEL, FlagKind


class FlagIn(BaseModel):
    kind: FlagKind
    valid_from: date
    valid_to: date | None = None
    reason: str = Field(min_length=1, max_length=500)
    reference: str = Field("", max_length=64)
    lease_id: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _dates(self) -> FlagIn:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class FlagEndIn(BaseModel):
    valid_to: date
    reason: str = Field("", max_length=500)


async def add_flag(unit: Unit, body: FlagIn, *, actor_id: int | None) -> OccupancyFlag:
    if body.lease_id is not None:
        lease = await Lease.get_or_none(id=body.lease_id)
        if lease is None or lease.unit_id != unit.id:
            raise ValidationFailed("the lease is not a lease of this unit", code="LEASE_NOT_OF_UNIT",
                                   details={"field": "lease_id", "value": body.lease_id})
    overlapping = OccupancyFlag.filter(unit_id=unit.id, kind=body.kind, lease_id=body.lease_id)
    for other in await overlapping:
        if (other.valid_to is None or other.valid_to >= body.valid_from) and (
                body.valid_to is None or body.valid_to >= other.valid_from):
            raise Conflict("an overlapping flag of this kind exists: end it first", code="FLAG_OVERLAPS",
                           details={"flag_id": other.id})
    return await OccupancyFlag.create(unit_id=unit.id, lease_id=body.lease_id, kind=body.kind,
                                      valid_from=body.valid_from, valid_to=body.valid_to, reason=body.reason,
                                      reference=body.reference, recorded_by_id=actor_id)


async def end_flag(flag_id: int, body: FlagEndIn, *, actor_id: int | None, now: datetime,
                   building_ids: frozenset[int] | None) -> OccupancyFlag:
    flag = await OccupancyFlag.get_or_none(id=flag_id).select_related("unit")
    if flag is None or (building_ids is not None and flag.unit.building_id not in building_ids):
        raise NotFound("flag not found")
    if flag.valid_to is not None:
        raise Conflict("the flag has ended already", code="FLAG_ENDED", details={"valid_to": str(flag.valid_to)})
    if body.valid_to < flag.valid_from:
        raise ValidationFailed("valid_to is before the flag's valid_from", code="INCONSISTENT_DATES",
                               details={"field": "valid_to", "valid_from": str(flag.valid_from)})
    await OccupancyFlag.filter(id=flag.id, valid_to__isnull=True).update(
        valid_to=body.valid_to, ended_by_id=actor_id, ended_at=now,
        reason=(flag.reason + (f" | 结束: {body.reason}" if body.reason else ""))[:500])
    return await OccupancyFlag.get(id=flag.id)


def serialize_flag(flag: OccupancyFlag) -> dict[str, Any]:
    return {"id": flag.id, "unit_id": flag.unit_id, "lease_id": flag.lease_id, "kind": str(flag.kind),
            "label": FLAG_LABEL[flag.kind], "valid_from": flag.valid_from.isoformat(),
            "valid_to": flag.valid_to.isoformat() if flag.valid_to else None, "reason": flag.reason,
            "reference": flag.reference, "recorded_by": flag.recorded_by_id, "ended_by": flag.ended_by_id,
            "ended_at": flag.ended_at.isoformat() if flag.ended_at else None,
            "recorded_at": flag.created_at.isoformat() if flag.created_at else None}
