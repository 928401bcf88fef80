"""Which existing unit a contract is for — proposed, never assumed (pure).

The address a contract states rarely equals the portfolio's wording ("深圳市南山区科技园南路18号A栋1203室" against
building "南山A栋", unit "1203室"), so candidates are ranked by a fuzzy score (rapidfuzz) on the building's name and
address within the contract's address, the room number, and the contracted area. The person picks one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz

MAX_CANDIDATES = 5
MIN_SCORE = 40.0
WEIGHTS = {"building": 0.45, "room": 0.45, "area": 0.10}
ROOM = re.compile(r"(\d{1,5})\s*(?:室|号房|房|号铺|号商铺|铺)|(\d{1,2})层\s*(\d{1,4})号?$")


@dataclass(frozen=True)
class UnitRef:
    unit_id: int
    code: str
    name: str
    building_id: int
    building_name: str
    building_address: str
    area_m2: str


def room_number(address: str) -> str | None:
    """The room (室) or shop number a contract's address ends with: ...A栋1203室 → 1203, ...2层118号 → 118."""
    matches = list(ROOM.finditer(address))
    if not matches:
        digits = re.findall(r"\d{3,5}", address)
        return digits[-1] if digits else None
    last = matches[-1]
    return last.group(1) or last.group(3)


def _unit_rooms(unit: UnitRef) -> list[str]:
    return re.findall(r"\d{2,5}", f"{unit.name} {unit.code.rsplit('-', 1)[-1]}")


def _area_score(area: str | None, unit_area: str) -> float:
    try:
        a, b = Decimal(str(area)), Decimal(unit_area)
    except (InvalidOperation, ValueError, TypeError):
        return 0.0
    if a <= 0 or b <= 0:
        return 0.0
    return float(max(Decimal(0), 1 - abs(a - b) / max(a, b)) * 100)


def score(address: str, area: str | None, unit: UnitRef) -> tuple[float, dict[str, float]]:
    building = max(fuzz.partial_ratio(unit.building_name, address),
                   fuzz.partial_ratio(unit.building_address, address) if unit.building_address else 0.0)
    room = room_number(address)
    rooms = _unit_rooms(unit)
    room_score = 0.0
    if room and rooms:
        room_score = 100.0 if room in rooms else max(fuzz.ratio(room, r) for r in rooms) * 0.6
    area_score = _area_score(area, unit.area_m2)
    parts = {"building": round(building, 1), "room": round(room_score, 1), "area": round(area_score, 1)}
    return round(sum(WEIGHTS[k] * v for k, v in parts.items()), 1), parts


def propose(address: str | None, area: str | None, units: list[UnitRef]) -> list[dict[str, Any]]:
    """The likeliest units, best first, each with its score and the parts of it."""
    if not address:
        return []
    ranked: list[dict[str, Any]] = []
    for unit in units:
        total, parts = score(address, area, unit)
        if total >= MIN_SCORE:
            ranked.append({"unit_id": unit.unit_id, "unit_code": unit.code, "unit_name": unit.name,
                           "building_id": unit.building_id, "building_name": unit.building_name, "score": total,
                           "parts": parts})
    ranked.sort(key=lambda c: (-float(c["score"]), str(c["unit_code"])))
    return ranked[:MAX_CANDIDATES]
