"""Portfolio import from CSV or JSON: every row is validated first and the file is applied in one
transaction only if no row was rejected — a bad row never half-imports the file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from tortoise.transactions import in_transaction

from config.settings import DEFAULT_TIMEZONE
from core.validation import field_errors
from models.portfolio import Building, City, Unit
from portfolio.choices import PropertyType, UnitStatus

TRUE_WORDS = {"1", "true", "yes", "y", "是", "合规"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "不合规", ""}


class PortfolioRow(BaseModel):
    city_code: str = Field(min_length=1, max_length=16)
    city_name: str = Field(min_length=1, max_length=64)
    building_code: str = Field(min_length=1, max_length=32)
    building_name: str = Field(min_length=1, max_length=128)
    address: str = Field("", max_length=255)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    geofence_radius_m: int = Field(150, ge=10, le=5000)
    timezone: str = DEFAULT_TIMEZONE
    unit_code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_.]*$")
    unit_name: str = Field("", max_length=64)
    property_type: PropertyType
    unit_type: str = Field("", max_length=16)
    area_m2: Decimal = Field(gt=0, le=1_000_000, max_digits=9, decimal_places=2)
    floor: int | None = Field(None, ge=-10, le=200)
    compliant_rentable: bool = True
    unit_lat: float | None = Field(None, ge=-90, le=90)
    unit_lng: float | None = Field(None, ge=-180, le=180)
    status: UnitStatus = UnitStatus.VACANT

    @field_validator("compliant_rentable", mode="before")
    @classmethod
    def _bool_words(cls, value: Any) -> Any:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
        return value

    @field_validator("floor", "unit_lat", "unit_lng", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("property_type", "status", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception:  # noqa: BLE001
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _unit_point_complete(self) -> PortfolioRow:
        if (self.unit_lat is None) != (self.unit_lng is None):
            raise ValueError("unit_lat and unit_lng go together")
        return self


@dataclass
class ImportReport:
    rows: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=lambda: {"cities": 0, "buildings": 0, "units": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"cities": 0, "buildings": 0, "units": 0})
    applied: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "applied": self.applied, "rejected": self.rejected,
                "created": self.created, "updated": self.updated}


class ImportFormatError(ValueError):
    pass


def read_rows(data: bytes, fmt: str) -> list[dict[str, Any]]:
    """Rows as dicts from CSV (header row, UTF-8 with or without BOM) or JSON (a list, or {"rows": [...]})."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFormatError("file is not UTF-8 text") from None
    if fmt == "json":
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise ImportFormatError(f"not valid JSON: {exc}") from None
        rows = parsed.get("rows") if isinstance(parsed, dict) else parsed
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ImportFormatError("JSON must be a list of row objects or {\"rows\": [...]}")
        return rows
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise ImportFormatError("CSV has no header row")
        missing = {"city_code", "building_code", "unit_code"} - {f.strip() for f in reader.fieldnames}
        if missing:
            raise ImportFormatError(f"CSV header lacks columns: {', '.join(sorted(missing))}")
        # A blank cell means "not given": the column's default applies (or "field required" if it has none).
        return [{(k or "").strip(): v.strip() for k, v in row.items() if isinstance(v, str) and v.strip()}
                for row in reader]
    raise ImportFormatError(f"unknown format {fmt!r}; use csv or json")


def validate_rows(raw_rows: list[dict[str, Any]]) -> tuple[list[tuple[int, PortfolioRow]], list[dict[str, Any]]]:
    """Pure: (valid rows with their row number, rejections). Also rejects rows that contradict each other."""
    valid: list[tuple[int, PortfolioRow]] = []
    rejected: list[dict[str, Any]] = []
    seen_units: dict[str, int] = {}
    buildings: dict[str, PortfolioRow] = {}
    for number, raw in enumerate(raw_rows, start=1):
        try:
            row = PortfolioRow.model_validate(raw)
        except ValidationError as exc:
            rejected.append({"row": number, "unit_code": raw.get("unit_code"), "errors": field_errors(exc)})
            continue
        problems = []
        if row.unit_code in seen_units:
            problems.append({"field": "unit_code", "message": f"duplicate of row {seen_units[row.unit_code]}"})
        first = buildings.get(row.building_code)
        if first and (first.city_code, first.lat, first.lng) != (row.city_code, row.lat, row.lng):
            problems.append({"field": "building_code",
                             "message": "same building with a different city or position than an earlier row"})
        if problems:
            rejected.append({"row": number, "unit_code": row.unit_code, "errors": problems})
            continue
        seen_units[row.unit_code] = number
        buildings.setdefault(row.building_code, row)
        valid.append((number, row))
    return valid, rejected


async def import_portfolio(raw_rows: list[dict[str, Any]], *, dry_run: bool = False,
                           progress: Callable[[int, int], None] | None = None) -> ImportReport:
    report = ImportReport(rows=len(raw_rows))
    valid, report.rejected = validate_rows(raw_rows)
    if report.rejected or dry_run or not valid:
        return report
    async with in_transaction():
        cities: dict[str, City] = {}
        buildings: dict[str, Building] = {}
        for done, (_number, row) in enumerate(valid, start=1):
            city = cities.get(row.city_code)
            if city is None:
                city, created = await City.get_or_create(code=row.city_code, defaults={"name": row.city_name})
                if not created and city.name != row.city_name:
                    city.name = row.city_name
                    await city.save(update_fields=["name", "updated_at"])
                report.created["cities"] += int(created)
                report.updated["cities"] += int(not created)
                cities[row.city_code] = city
            building = buildings.get(row.building_code)
            if building is None:
                values: dict[str, Any] = {
                    "city_id": city.id, "name": row.building_name, "address": row.address, "lat": row.lat,
                    "lng": row.lng, "geofence_radius_m": row.geofence_radius_m, "timezone": row.timezone}
                building, created = await Building.get_or_create(code=row.building_code, defaults=values)
                if not created:
                    await Building.filter(id=building.id).update(**values)
                report.created["buildings"] += int(created)
                report.updated["buildings"] += int(not created)
                buildings[row.building_code] = building
            values = {"building_id": building.id, "name": row.unit_name, "property_type": row.property_type,
                      "unit_type": row.unit_type, "area_m2": row.area_m2, "floor": row.floor,
                      "compliant_rentable": row.compliant_rentable, "lat": row.unit_lat, "lng": row.unit_lng}
            existing = await Unit.get_or_none(code=row.unit_code)
            if existing:
                # Status is never set by an import once the unit exists: it moves only through the status machine.
                await Unit.filter(id=existing.id).update(**values)
                report.updated["units"] += 1
            else:
                await Unit.create(code=row.unit_code, status=row.status, **values)
                report.created["units"] += 1
            if progress:
                progress(done, len(valid))
    report.applied = True
    return report
