from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json

from api import responses as R
from api.access import MANAGERS, STAFF, access, body_of, principal_of, query_of
from core.pagination import PageQuery, paginate
from models.portfolio import Building, Unit, UnitStatusChange
from portfolio.choices import PropertyType, StatusSource, UnitStatus
from portfolio.service import (
    change_unit_status,
    get_unit_for,
    serialize_status_change,
    serialize_unit,
    units_for,
)

bp = Blueprint("units", url_prefix="/units")


class UnitQuery(PageQuery):
    city: str | None = Field(None, max_length=16, description="city code")
    building: str | None = Field(None, max_length=32, description="building code")
    status: UnitStatus | None = None
    property_type: PropertyType | None = None
    unit_type: str | None = Field(None, max_length=16)


class StatusChangeIn(BaseModel):
    status: UnitStatus
    reason: str = Field(min_length=1, max_length=500)
    base_status_version: int | None = None


@bp.get("", name="units_list")
@access(STAFF, query=UnitQuery, response=R.UnitsList)
async def list_units(request: Request):
    principal = principal_of(request)
    query = query_of(request, UnitQuery)
    qs = units_for(principal, city=query.city, building=query.building, status=query.status,
                   property_type=query.property_type, unit_type=query.unit_type).order_by("code")
    return json(await paginate(qs.select_related("building"), query, lambda unit: serialize_unit(unit, unit.building)))


@bp.get("/<code:str>", name="units_detail")
@access(STAFF, response=R.UnitsDetail)
async def unit_detail(request: Request, code: str):
    unit = await get_unit_for(principal_of(request), code)
    building = await Building.get(id=unit.building_id)
    history = await UnitStatusChange.filter(unit_id=unit.id).order_by("-version").limit(100)
    data = serialize_unit(unit, building)
    data["status_history"] = [serialize_status_change(change) for change in history]
    return json(data)


@bp.post("/<code:str>/status", name="units_change_status")
@access(MANAGERS, note="direct administrative change; inspectors go through status reports", body=StatusChangeIn,
        response=R.UnitsChangeStatus)
async def change_status(request: Request, code: str):
    principal = principal_of(request)
    unit = await get_unit_for(principal, code)
    body = body_of(request, StatusChangeIn)
    change = await change_unit_status(unit.id, body.status, source=StatusSource.ADMIN,
                                      now=request.app.ctx.clock.now(), actor_id=principal.user_id,
                                      reason=body.reason, expected_version=body.base_status_version)
    unit = await Unit.get(id=unit.id)
    return json({"unit": serialize_unit(unit), "change": serialize_status_change(change)})
