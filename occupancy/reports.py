"""Reports read the snapshots: a day, a month (its complete days added up) or a trend of months, for the
portfolio or drilled down city → building → unit type / property type → units, always within the caller's
buildings.

A figure is never made from an incomplete day: a day that is not COMPLETE is answered with the last complete day
before it, labelled with that day's date and the reason (``stale``); with no complete day at all the figures are
null with the reason — never 0 %. A month adds its complete days only and lists the others with their reasons.
The SUMs below only add the classification columns the definition wrote (occupancy.definition)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tortoise.connection import get_connection

from core import sql
from core.errors import ValidationFailed
from models.occupancy import DayTally, OccupancySnapshotDay, UnitDaySnapshot
from models.portfolio import Building, City, Unit
from occupancy.choices import DayState, FlagKind
from occupancy.definition import Tally, explain

LEVELS = ("portfolio", "city", "building", "unit_type", "property_type", "unit")
GROUP_COLUMN = {"city": "city_id", "building": "building_id", "unit_type": "unit_type",
                "property_type": "property_type"}
EXCLUSION_COLUMNS = {"excl_trial": FlagKind.TRIAL_STAY, "excl_internal": FlagKind.INTERNAL_USE,
                     "excl_swap": FlagKind.PARTNERSHIP_SWAP, "excl_noncompliant": FlagKind.NON_COMPLIANT}
MAX_TREND_MONTHS = 36


@dataclass(frozen=True)
class Filters:
    """What to look at. ``building_ids`` None: every building (the caller sees all)."""

    building_ids: frozenset[int] | None = None
    city_id: int | None = None
    building_id: int | None = None
    unit_type: str | None = None
    property_type: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.building_ids is not None:
            ids = sorted(self.building_ids) or [-1]
            clauses.append(f"building_id IN ({sql.marks(len(ids))})")
            params.extend(ids)
        for column, value in (("city_id", self.city_id), ("building_id", self.building_id),
                              ("unit_type", self.unit_type), ("property_type", self.property_type)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return "".join(f" AND {c}" for c in clauses), params


TALLY_COLUMNS = ("unit_days", "rentable", "rentable_area", "effective", "effective_area", "signed_unpaid",
                 "short_stay_paid", "sensor_known", "sensor_occupied", "excluded_units", *EXCLUSION_COLUMNS)


def _bool_sum(column: str) -> str:
    return f"SUM(CASE WHEN {column} THEN 1 ELSE 0 END)"


#: How a day's unit rows become its tally rows (occupancy.snapshot writes them with the day).
TALLY_FROM_UNITS = ", ".join([
    "COUNT(*)", _bool_sum("rentable"), "SUM(CASE WHEN rentable THEN area_m2 ELSE 0 END)", _bool_sum("effective"),
    "SUM(CASE WHEN effective THEN area_m2 ELSE 0 END)", _bool_sum("signed_unpaid"), _bool_sum("short_stay_paid"),
    _bool_sum("sensor_known"), _bool_sum("sensor_occupied"), _bool_sum("NOT rentable"),
    *(_bool_sum(column) for column in EXCLUSION_COLUMNS),
])
TALLY_SELECT = ", ".join(f"SUM({column}) AS {column}" for column in TALLY_COLUMNS)


def _area(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _tally(row: dict[str, Any]) -> Tally:
    return Tally(unit_days=int(row["unit_days"] or 0), rentable=int(row["rentable"] or 0),
                 rentable_area=_area(row["rentable_area"]), effective=int(row["effective"] or 0),
                 effective_area=_area(row["effective_area"]), signed_unpaid=int(row["signed_unpaid"] or 0),
                 short_stay_paid=int(row["short_stay_paid"] or 0), sensor_known=int(row["sensor_known"] or 0),
                 sensor_occupied=int(row["sensor_occupied"] or 0), excluded_units=int(row["excluded_units"] or 0),
                 excluded={str(kind): int(row[col] or 0) for col, kind in EXCLUSION_COLUMNS.items() if row[col]})


async def tallies(start: date, end: date, filters: Filters, group: str | None = None) -> dict[Any, Tally]:
    """Unit-day tallies over [start, end], by ``group`` (a GROUP_COLUMN) or in total (key None), from the
    day tallies (one row per day, building, unit type and property type)."""
    t = sql.names(DayTally)
    where, params = filters.where()
    key = GROUP_COLUMN[group] if group else None
    statement = (f"SELECT {key + ' AS k, ' if key else ''}{TALLY_SELECT} FROM {t} "
                 f"WHERE day >= ? AND day <= ?{where}{' GROUP BY ' + key if key else ''}")
    rows = await sql.execute(get_connection("default"), statement, [start, end, *params])
    out: dict[Any, Tally] = {}
    for row in rows:
        row = dict(row)
        if not row["unit_days"]:
            continue
        out[row["k"] if key else None] = _tally(row)
    return out


# ---- which days a report may use ------------------------------------------------------------------------------

async def day_record(day: date) -> OccupancySnapshotDay | None:
    return await OccupancySnapshotDay.get_or_none(day=day)


def _reasons(record: OccupancySnapshotDay | None, day: date) -> list[str]:
    if record is None:
        return [f"{day} has not been snapshotted"]
    return list(record.reasons) or [f"{day} is {record.state}"]


async def resolve_day(day: date) -> dict[str, Any]:
    """The day to show for ``day``: itself when complete, else the last complete day before it, with why."""
    record = await day_record(day)
    if record is not None and record.state == DayState.COMPLETE:
        return {"requested": day, "day": day, "stale": None}
    previous = await OccupancySnapshotDay.filter(state=DayState.COMPLETE, day__lt=day).order_by("-day").first()
    reasons = _reasons(record, day)
    stale = {"requested_day": day.isoformat(), "reasons": reasons,
             "shown_day": previous.day.isoformat() if previous else None,
             "label": (f"数据截至 {previous.day.isoformat()}({day.isoformat()} 数据不完整: {'; '.join(reasons)})"
                       if previous else f"无完整数据({day.isoformat()}: {'; '.join(reasons)})")}
    return {"requested": day, "day": previous.day if previous else None, "stale": stale}


def month_bounds(month: str) -> tuple[date, date]:
    try:
        year, number = (int(part) for part in month.split("-"))
        start = date(year, number, 1)
    except (ValueError, TypeError):
        raise ValidationFailed(f"month must be YYYY-MM, not {month!r}", code="INVALID_MONTH",
                               details={"field": "month", "value": month}) from None
    return start, date(year, number, calendar.monthrange(year, number)[1])


async def month_days(month: str, today: date) -> dict[str, Any]:
    """The complete days of a month (up to yesterday), the missing ones with their reasons."""
    start, end = month_bounds(month)
    last = min(end, today - timedelta(days=1))
    records = {r.day: r for r in await OccupancySnapshotDay.filter(day__gte=start, day__lte=end)}
    complete, missing = [], []
    day = start
    while day <= last:
        record = records.get(day)
        if record is not None and record.state == DayState.COMPLETE:
            complete.append(day)
        else:
            missing.append({"day": day.isoformat(), "reasons": _reasons(record, day)})
        day += timedelta(days=1)
    return {"start": start, "end": end, "complete": complete, "missing": missing}


# ---- labels ---------------------------------------------------------------------------------------------------

async def labels(group: str | None, keys: Iterable[Any]) -> dict[Any, str]:
    keys = list(keys)
    if group == "city":
        return dict(await City.filter(id__in=keys).values_list("id", "name"))
    if group == "building":
        return dict(await Building.filter(id__in=keys).values_list("id", "name"))
    if group == "property_type":
        from portfolio.choices import PROPERTY_TYPE_LABEL, PropertyType

        return {k: PROPERTY_TYPE_LABEL.get(PropertyType(k), k) for k in keys}
    return {k: (k or "(未填)") for k in keys}


async def _grouped(start: date, end: date, filters: Filters, level: str, days: int) -> dict[str, Any]:
    total = (await tallies(start, end, filters)).get(None, Tally())
    out: dict[str, Any] = {"level": level, "total": explain(total, days)}
    if level in GROUP_COLUMN:
        groups = await tallies(start, end, filters, level)
        names = await labels(level, groups)
        out["groups"] = [{"key": key, "label": names.get(key, str(key)), **explain(tally, days)}
                         for key, tally in sorted(groups.items(), key=lambda kv: str(names.get(kv[0], kv[0])))]
    return out


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValidationFailed(f"level must be one of {', '.join(LEVELS)}", code="INVALID_LEVEL",
                               details={"field": "level", "value": level, "accepted": list(LEVELS)})


async def day_report(day: date, filters: Filters, level: str = "portfolio") -> dict[str, Any]:
    _check_level(level)
    chosen = await resolve_day(day)
    out: dict[str, Any] = {"period": {"kind": "day", "requested": day.isoformat(),
                                      "day": chosen["day"].isoformat() if chosen["day"] else None},
                           "complete": chosen["stale"] is None, "stale": chosen["stale"]}
    if chosen["day"] is None:
        return {**out, "level": level, "total": None}
    if level == "unit":
        return {**out, "level": level, "units": await unit_rows(chosen["day"], filters)}
    return {**out, **await _grouped(chosen["day"], chosen["day"], filters, level, 1)}


async def month_report(month: str, filters: Filters, today: date, level: str = "portfolio") -> dict[str, Any]:
    _check_level(level)
    if level == "unit":
        raise ValidationFailed("a month is reported down to unit type; ask a day for the unit list",
                               code="INVALID_LEVEL", details={"field": "level", "value": level})
    days = await month_days(month, today)
    out: dict[str, Any] = {"period": {"kind": "month", "month": month, "complete_days": len(days["complete"]),
                                      "days_missing": days["missing"]}}
    if not days["complete"]:  # nothing complete in the month: the last complete day before it, labelled
        chosen = await resolve_day(min(days["end"], today - timedelta(days=1)))
        out["complete"] = False
        out["stale"] = chosen["stale"]
        if chosen["day"] is None:
            return {**out, "level": level, "total": None}
        return {**out, **await _grouped(chosen["day"], chosen["day"], filters, level, 1)}
    out["complete"] = not days["missing"]
    out["stale"] = None
    return {**out, **await _grouped(days["start"], days["end"], filters, level, len(days["complete"]))}


def _next_month(month: str) -> str:
    start, end = month_bounds(month)
    following = end + timedelta(days=1)
    return f"{following.year:04d}-{following.month:02d}"


async def trend_report(first: str, last: str, filters: Filters, today: date) -> dict[str, Any]:
    months, month = [], first
    month_bounds(last)
    while month <= last:
        months.append(month)
        if len(months) > MAX_TREND_MONTHS:
            raise ValidationFailed(f"a trend covers at most {MAX_TREND_MONTHS} months", code="RANGE_TOO_LONG",
                                   details={"from": first, "to": last})
        month = _next_month(month)
    series = []
    for month in months:
        days = await month_days(month, today)
        entry: dict[str, Any] = {"month": month, "complete_days": len(days["complete"]),
                                 "missing_days": len(days["missing"])}
        if days["complete"]:
            total = (await tallies(days["start"], days["end"], filters)).get(None, Tally())
            entry.update(explain(total, len(days["complete"])))
        else:
            entry["figures"] = None
            entry["reason"] = "no complete day in this month"
        series.append(entry)
    return {"period": {"kind": "trend", "from": first, "to": last}, "months": series}


async def unit_rows(day: date, filters: Filters, limit: int = 5000) -> list[dict[str, Any]]:
    qs = UnitDaySnapshot.filter(day=day)
    if filters.building_ids is not None:
        qs = qs.filter(building_id__in=list(filters.building_ids))
    for field_name in ("city_id", "building_id", "unit_type", "property_type"):
        value = getattr(filters, field_name)
        if value is not None:
            qs = qs.filter(**{field_name: value})
    rows = await qs.order_by("building_id", "unit_id").limit(limit)
    codes = dict(await Unit.filter(id__in=[r.unit_id for r in rows]).values_list("id", "code"))
    return [serialize_unit_day(row, codes.get(row.unit_id, "")) for row in rows]


def serialize_unit_day(row: UnitDaySnapshot, code: str) -> dict[str, Any]:
    return {
        "unit_id": row.unit_id, "unit_code": code, "building_id": row.building_id, "city_id": row.city_id,
        "property_type": str(row.property_type), "unit_type": row.unit_type, "area_m2": str(row.area_m2),
        "status": str(row.status), "compliant": row.compliant, "lease_id": row.lease_id, "lease_state": row.lease_state,
        "first_rent_paid": row.first_rent_paid,
        "first_rent_paid_at": row.first_rent_paid_at.isoformat() if row.first_rent_paid_at else None,
        "short_stay": row.short_stay, "flags": row.flags, "sensor": row.sensor,
        "last_inspection_at": row.last_inspection_at.isoformat() if row.last_inspection_at else None,
        "last_inspection_state": row.last_inspection_state, "last_inspection_status": row.last_inspection_status,
        "counted": {"rentable": row.rentable, "effective": row.effective, "signed_unpaid": row.signed_unpaid,
                    "short_stay_paid": row.short_stay_paid, "sensor_known": row.sensor_known,
                    "sensor_occupied": row.sensor_occupied},
    }
