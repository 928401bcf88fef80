"""Building status board: units as a grid coloured by status, filters, counts per status, stale marks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import Field
from sanic import Blueprint, Request

from console import formatting
from console.access import console_access
from console.labels import label
from console.lists import Column, ListQuery, link, order_by, paginate, xlsx_response
from console.rendering import page
from console.roles import VIEWERS
from console.views.common import now_of, principal_of, settings_of, visible_buildings, visible_cities
from core.validation import parse_query
from models.portfolio import Building
from portfolio.choices import PROPERTY_TYPE_LABEL, UNIT_STATUS_LABEL, PropertyType, UnitStatus
from portfolio.service import status_counts, units_for


class BoardQuery(ListQuery):
    city: str | None = Field(None, max_length=16)
    building: str | None = Field(None, max_length=32)
    status: UnitStatus | None = None
    property_type: PropertyType | None = None
    stale: bool = False


COLUMNS = [
    Column("code", "房源编号", sort="code"),
    Column("name", "名称"),
    Column("building", "楼宇", sort="building_id,code"),
    Column("property_type", "业态", sort="property_type,code",
           export=lambda r: label("property_type", r["property_type"])),
    Column("status", "状态", sort="status,code", export=lambda r: label("unit_status", r["status"])),
    Column("status_changed_at", "状态变更时间", sort="status_changed_at",
           export=lambda r: formatting.local_dt(r["status_changed_at"], r["tz"], blank="")),
    Column("last_inspected_at", "最近巡检", sort="last_inspected_at",
           export=lambda r: formatting.local_dt(r["last_inspected_at"], r["tz"], blank="")),
    Column("stale", "巡检超期", export=lambda r: "是" if r["stale"] else ""),
]


bp = Blueprint("console_board", url_prefix="/console")
FIELDS = ("code", "name", "building_id", "property_type", "status", "floor", "status_changed_at", "last_inspected_at")


@dataclass(frozen=True, slots=True)
class Cell:
    """One unit on the board, with its display strings worked out once (the template only prints them)."""

    code: str
    short: str
    status: str
    label: str
    css: str
    title: str
    stale: bool


def board_row(unit: dict, building, stale_before) -> dict:
    status, ptype = unit["status"], unit["property_type"]
    stale = unit["last_inspected_at"] is None or unit["last_inspected_at"] < stale_before
    label = UNIT_STATUS_LABEL[UnitStatus(status)]
    title = f"{unit['code']} · {label} · {PROPERTY_TYPE_LABEL[PropertyType(ptype)]}" + (" · 巡检超期" if stale else "")
    cell = Cell(code=unit["code"], short=unit["code"].rsplit("-", 1)[-1], status=status, label=label,
                css=f"st-{status.lower()}" + (" stale" if stale else ""), title=title, stale=stale)
    return {**unit, "building": building.name, "building_code": building.code, "tz": building.timezone,
            "stale": stale, "cell": cell}


@bp.get("/board", name="board")
@console_access(VIEWERS)
async def board(request: Request):
    """Status board: units coloured by status (filter, sort, page, export)."""
    principal, settings, now = principal_of(request), settings_of(request), now_of(request)
    query = parse_query(BoardQuery, request.args)
    stale_before = now - timedelta(days=settings.inspection_interval_days)
    filters: dict[str, Any] = {"city": query.city, "building": query.building, "property_type": query.property_type}
    scoped = units_for(principal, **filters)
    counts = await status_counts(scoped)
    stale_count = await units_for(principal, **filters, stale_before=stale_before).count()
    qs = units_for(principal, **filters, status=query.status,
                   stale_before=stale_before if query.stale else None)
    qs = qs.order_by(*order_by(COLUMNS, query.sort, ["building_id", "floor", "code"]))
    result = await paginate(qs, query, settings.console_board_page_size, export_max=settings.console_export_max_rows,
                            fields=FIELDS)
    buildings = {b.id: b for b in await Building.filter(id__in={u["building_id"] for u in result.rows})}
    rows = [board_row(u, buildings[u["building_id"]], stale_before) for u in result.rows]
    if query.format == "xlsx":
        return await xlsx_response(request, "房源状态看板", COLUMNS, rows, "status-board.xlsx")
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["building"], []).append(row["cell"])
    return await page(request, "board.html", query=query, result=result, groups=groups, counts=counts,
                      total=sum(counts.values()), stale_count=stale_count, statuses=list(UNIT_STATUS_LABEL),
                      property_types=list(PropertyType), cities=await visible_cities(principal),
                      buildings=await visible_buildings(principal), columns=COLUMNS,
                      link=lambda **kw: link("/console/board", query, **kw),
                      stale_days=settings.inspection_interval_days)

