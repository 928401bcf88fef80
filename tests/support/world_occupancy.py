"""Occupancy objects for both buildings: a dated flag on the vacant unit, and (once both sides exist) a stored
audit of 2026-10 with one finding per building, for the scope test."""

from datetime import date

from models.occupancy import OccupancyFlag, StatusAudit, StatusAuditFinding
from occupancy.choices import Difference, FlagKind


async def extend_world(world, side, now) -> None:
    side.extra["occupancy_flag"] = await OccupancyFlag.create(
        unit_id=side.unit.id, kind=FlagKind.INTERNAL_USE, valid_from=date(2026, 10, 1), reason="world")
    if side.label != "B":
        return
    sides = (world.a, world.b)
    audit = await StatusAudit.create(
        month="2026-10", as_of=date(2026, 10, 31), generated_at=now, units=8, findings_count=2,
        summary={"as_of": "2026-10-31", "month_end": "2026-10-31", "as_of_note": "",
                 "units_by_building": {str(s.building.id): len(s.units) for s in sides},
                 "city_of_building": {str(s.building.id): s.city.id for s in sides}})
    for s in sides:
        s.extra["audit_finding"] = await StatusAuditFinding.create(
            audit=audit, kind=Difference.OCCUPIED_WITHOUT_LEASE, unit_id=s.unit.id, building_id=s.building.id,
            city_id=s.city.id, unit_code=s.unit.code, days=3, detail={"status": "OCCUPIED"})
