"""Occupancy figures with drill-down (a day, a month, a trend), the snapshot days, the dated flags, and the
monthly status-consistency audit — always within the caller's buildings."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sanic import Blueprint, Request
from sanic.response import json, raw

from accounts.permissions import (
    OCCUPANCY_AUDIT_READERS,
    OCCUPANCY_FLAG_WRITERS,
    OCCUPANCY_READERS,
    OCCUPANCY_RUNNERS,
)
from accounts.scope import Principal
from api import responses as R
from api.access import File, access, body_of, principal_of, query_of
from audit.service import record_export
from core.errors import NotFound, ServiceUnavailable, ValidationFailed
from inspections.fonts import FontMissing
from models.occupancy import OccupancyFlag, OccupancySnapshotDay
from models.portfolio import Building, Unit
from occupancy import audit, reports
from occupancy.jobs import backfill
from occupancy.service import FlagEndIn, FlagIn, add_flag, end_flag, serialize_flag
from occupancy.snapshot import local_day
from portfolio.choices import PropertyType

bp = Blueprint("occupancy", url_prefix="/occupancy")

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
MAX_BACKFILL_DAYS = 400


class DrillQuery(BaseModel):
    level: Literal["portfolio", "city", "building", "unit_type", "property_type", "unit"] = "portfolio"
    city_id: int | None = Field(None, ge=1)
    building_id: int | None = Field(None, ge=1)
    unit_type: str | None = Field(None, max_length=16)
    property_type: PropertyType | None = None


class DayQuery(DrillQuery):
    as_of: date | None = None


class MonthQuery(DrillQuery):
    month: str | None = Field(None, pattern=MONTH)


class TrendQuery(DrillQuery):
    from_: str = Field(alias="from", pattern=MONTH)
    to: str = Field(pattern=MONTH)

    @model_validator(mode="after")
    def _order(self) -> TrendQuery:
        if self.to < self.from_:
            raise ValueError("to is before from")
        return self


class DaysQuery(BaseModel):
    from_: date | None = Field(None, alias="from")
    to: date | None = None


class SnapshotIn(BaseModel):
    day: date
    to: date | None = None
    force: bool = False

    @model_validator(mode="after")
    def _range(self) -> SnapshotIn:
        last = self.to or self.day
        if last < self.day:
            raise ValueError("to is before day")
        if (last - self.day).days >= MAX_BACKFILL_DAYS:
            raise ValueError(f"at most {MAX_BACKFILL_DAYS} days at once")
        return self


class FlagCreateIn(FlagIn):
    unit_code: str = Field(min_length=1, max_length=40)


class FlagsQuery(BaseModel):
    unit: str = Field(min_length=1, max_length=40)


class AuditIn(BaseModel):
    month: str = Field(pattern=MONTH)


def today_of(request: Request) -> date:
    return local_day(request.app.ctx.clock.now(), request.app.ctx.settings.business_timezone)


async def filters_of(principal: Principal, query: DrillQuery) -> reports.Filters:
    """The caller's scope plus the drill-down filters; a building outside the scope is not found."""
    if query.building_id is not None:
        building = await Building.get_or_none(id=query.building_id)
        if building is None or not principal.can_see_building(building.id):
            raise NotFound("building not found")
    return reports.Filters(building_ids=principal.building_ids, city_id=query.city_id,
                           building_id=query.building_id, unit_type=query.unit_type,
                           property_type=str(query.property_type) if query.property_type else None)


@bp.get("/day", name="occupancy_day")
@access(OCCUPANCY_READERS, note="frontline staff see their buildings, executives and admins the portfolio",
        query=DayQuery, response=R.OccupancyDay)
async def day_figures(request: Request):
    """Every figure of a day (default: yesterday), with numerator and denominator, drilled down by ``level``."""
    query = query_of(request, DayQuery)
    day = query.as_of or today_of(request) - timedelta(days=1)
    return json(await reports.day_report(day, await filters_of(principal_of(request), query), query.level))


@bp.get("/month", name="occupancy_month")
@access(OCCUPANCY_READERS, query=MonthQuery, response=R.OccupancyMonth)
async def month_figures(request: Request):
    """A month's figures: its complete days added up (unit-days), the missing days listed with their reasons."""
    query = query_of(request, MonthQuery)
    today = today_of(request)
    month = query.month or f"{today.year:04d}-{today.month:02d}"
    return json(await reports.month_report(month, await filters_of(principal_of(request), query), today,
                                           query.level))


@bp.get("/trend", name="occupancy_trend")
@access(OCCUPANCY_READERS, query=TrendQuery, response=R.OccupancyTrend)
async def trend(request: Request):
    """Every figure per month over a range of months (at most 36)."""
    query = query_of(request, TrendQuery)
    return json(await reports.trend_report(query.from_, query.to, await filters_of(principal_of(request), query),
                                           today_of(request)))


@bp.get("/days", name="occupancy_days")
@access(OCCUPANCY_READERS, query=DaysQuery, response=R.OccupancyDays)
async def snapshot_days(request: Request):
    """The snapshot's days: complete or incomplete, with the reasons and each source check."""
    query = query_of(request, DaysQuery)
    to = query.to or today_of(request)
    start = query.from_ or to - timedelta(days=31)
    if (to - start).days > MAX_BACKFILL_DAYS:
        raise ValidationFailed(f"at most {MAX_BACKFILL_DAYS} days at once", code="RANGE_TOO_LONG")
    rows = await OccupancySnapshotDay.filter(day__gte=start, day__lte=to).order_by("day")
    return json({"days": [{"day": r.day.isoformat(), "state": str(r.state), "reasons": r.reasons,
                           "sources": r.sources, "units": r.units, "runs": r.runs,
                           "finished_at": r.finished_at.isoformat() if r.finished_at else None} for r in rows]})


@bp.post("/snapshots", name="occupancy_snapshot")
@access(OCCUPANCY_RUNNERS, note="back-fill: snapshot past days again (a complete day only with force)",
        body=SnapshotIn, response=R.OccupancySnapshot)
async def snapshot(request: Request):
    body = body_of(request, SnapshotIn)
    if body.day >= today_of(request):
        raise ValidationFailed("only days that have ended can be snapshotted", code="DAY_NOT_OVER",
                               details={"field": "day", "value": body.day.isoformat()})
    last = min(body.to or body.day, today_of(request) - timedelta(days=1))
    results = await backfill(request.app.ctx.settings, body.day, last, request.app.ctx.clock.now(),
                             force=body.force)
    return json({"days": [r.as_dict() for r in results]})


async def _unit_in_scope(principal: Principal, code: str) -> Unit:
    unit = await Unit.get_or_none(code=code)
    if unit is None or not principal.can_see_building(unit.building_id):
        raise NotFound("unit not found")
    return unit


@bp.get("/flags", name="occupancy_flags")
@access(OCCUPANCY_READERS, query=FlagsQuery, response=R.OccupancyFlags)
async def flags(request: Request):
    """A unit's flags, ended ones included: their history."""
    query = query_of(request, FlagsQuery)
    unit = await _unit_in_scope(principal_of(request), query.unit)
    rows = await OccupancyFlag.filter(unit_id=unit.id).order_by("valid_from", "id")
    return json({"unit_code": unit.code, "flags": [serialize_flag(f) for f in rows]})


@bp.post("/flags", name="occupancy_flag_add")
@access(OCCUPANCY_FLAG_WRITERS, body=FlagCreateIn, response=R.OccupancyFlagAdd, status=201)
async def flag_add(request: Request):
    body = body_of(request, FlagCreateIn)
    principal = principal_of(request)
    unit = await _unit_in_scope(principal, body.unit_code)
    flag = await add_flag(unit, body, actor_id=principal.user_id)
    return json(serialize_flag(flag), status=201)


@bp.post("/flags/<flag_id:int>/end", name="occupancy_flag_end")
@access(OCCUPANCY_FLAG_WRITERS, body=FlagEndIn, response=R.OccupancyFlagEnd)
async def flag_end(request: Request, flag_id: int):
    body = body_of(request, FlagEndIn)
    principal = principal_of(request)
    flag = await end_flag(flag_id, body, actor_id=principal.user_id, now=request.app.ctx.clock.now(),
                          building_ids=principal.building_ids)
    return json(serialize_flag(flag))


@bp.get("/audits", name="occupancy_audits")
@access(OCCUPANCY_AUDIT_READERS, response=R.OccupancyAudits)
async def audits(request: Request):
    """The stored monthly audits, month to month, counted within the caller's buildings."""
    return json(await audit.list_audits(principal_of(request).building_ids))


@bp.post("/audits", name="occupancy_audit_run")
@access(OCCUPANCY_RUNNERS,
        note="generates (or regenerates) a month's audit; the 1st of a month does it by itself", body=AuditIn,
        response=R.OccupancyAudit, status=201)
async def audit_run(request: Request):
    body = body_of(request, AuditIn)
    report = await audit.generate_audit(request.app.ctx.settings, body.month, request.app.ctx.clock.now())
    return json(await audit.audit_view(report.month, None), status=201)


@bp.get("/audits/<month:str>", name="occupancy_audit")
@access(OCCUPANCY_AUDIT_READERS, response=R.OccupancyAudit)
async def audit_detail(request: Request, month: str):
    """One month's audit: counts per kind, rates per building and city, the units with their actions."""
    return json(await audit.audit_view(month, principal_of(request).building_ids))


@bp.get("/audits/<month:str>/export.xlsx", name="occupancy_audit_xlsx")
@access(OCCUPANCY_AUDIT_READERS, response=File("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
async def audit_xlsx(request: Request, month: str):
    content = await audit.export_xlsx(month, principal_of(request).building_ids)
    await record_export(principal_of(request), "occupancy_audit", month, "xlsx", request.app.ctx.clock.now())
    return raw(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               headers={"Content-Disposition": f'attachment; filename="status-audit-{month}.xlsx"'})


@bp.get("/audits/<month:str>/export.pdf", name="occupancy_audit_pdf")
@access(OCCUPANCY_AUDIT_READERS, response=File("application/pdf"), errors=(503,))
async def audit_pdf(request: Request, month: str):
    """The printable report (A4, Chinese text)."""
    try:
        content = await audit.export_pdf(month, principal_of(request).building_ids,
                                         request.app.ctx.settings.label_font_path)
    except FontMissing as exc:
        raise ServiceUnavailable(str(exc), code="REPORT_FONT_MISSING") from None
    await record_export(principal_of(request), "occupancy_audit", month, "pdf", request.app.ctx.clock.now())
    return raw(content, content_type="application/pdf",
               headers={"Content-Disposition": f'inline; filename="status-audit-{month}.pdf"'})
