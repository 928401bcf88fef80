"""The work orders board: by status and type, SLA countdown and overdue marks, assign to a building's staff,
close."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint, Request

from accounts.scope import get_in_scope
from console import formatting
from console.access import console_access
from console.labels import label
from console.lists import Column, ListQuery, link, order_by, paginate, xlsx_response
from console.rendering import page
from console.roles import VIEWERS, WORK_ORDER_HANDLERS
from console.views.common import back, building_zones, now_of, parse_form, principal_of, settings_of, visible_buildings
from core.validation import parse_query
from models.accounts import User
from models.portfolio import Unit
from models.workorders import WorkOrder
from workorders.choices import OPEN_WORK_ORDER_STATUSES, WorkOrderStatus, WorkOrderType
from workorders.service import assign_work_order, building_staff, close_work_order, work_orders_for

bp = Blueprint("console_workorders", url_prefix="/console")


class WorkOrderQuery(ListQuery):
    status: WorkOrderStatus | None = None
    open: bool = True
    type: WorkOrderType | None = None
    building_id: int | None = Field(None, ge=1)
    overdue: bool = False


class AssignIn(BaseModel):
    assignee_id: int = Field(ge=1)
    next: str = Field("", max_length=300)


class CloseIn(BaseModel):
    note: str = Field(min_length=1, max_length=500)
    next: str = Field("", max_length=300)


COLUMNS = [
    Column("id", "编号", sort="id", export=lambda r: r["order"].id),
    Column("type", "类型", sort="type,due_at", export=lambda r: label("wo_type", r["order"].type)),
    Column("title", "标题", export=lambda r: r["order"].title),
    Column("unit", "房源", export=lambda r: r["unit_code"]),
    Column("status", "状态", sort="status,due_at", export=lambda r: label("wo_status", r["order"].status)),
    Column("assignee", "处理人", export=lambda r: r["assignee"]),
    Column("due_at", "截止时间", sort="due_at", export=lambda r: formatting.local_dt(r["order"].due_at, r["tz"])),
    Column("sla", "SLA", export=lambda r: r["countdown"]),
    Column("created_at", "创建时间", sort="created_at",
           export=lambda r: formatting.local_dt(r["order"].created_at, r["tz"])),
]


@bp.get("/work-orders", name="workorders")
@console_access(VIEWERS)
async def work_orders(request: Request):
    """Work orders (filter, sort, page, export) with SLA countdowns."""
    principal, settings, now = principal_of(request), settings_of(request), now_of(request)
    query = parse_query(WorkOrderQuery, request.args)
    qs = work_orders_for(principal)
    if query.status:
        qs = qs.filter(status=query.status)
    elif query.open:
        qs = qs.filter(status__in=list(OPEN_WORK_ORDER_STATUSES))
    if query.type:
        qs = qs.filter(type=query.type)
    if query.building_id:
        qs = qs.filter(building_id=query.building_id)
    if query.overdue:
        qs = qs.filter(due_at__lt=now, status__in=list(OPEN_WORK_ORDER_STATUSES))
    qs = qs.order_by(*order_by(COLUMNS, query.sort, ["due_at", "id"]))
    result = await paginate(qs, query, settings.console_page_size, export_max=settings.console_export_max_rows)
    orders: list[WorkOrder] = result.rows
    codes = dict(await Unit.filter(id__in={o.unit_id for o in orders if o.unit_id}).values_list("id", "code"))
    names = dict(await User.filter(id__in={o.assignee_id for o in orders if o.assignee_id}).values_list("id", "name"))
    zones = await building_zones(o.building_id for o in orders)
    rows = []
    for order in orders:
        live = order.status in OPEN_WORK_ORDER_STATUSES
        text, overdue = formatting.countdown(order.due_at, now) if live else ("—", False)
        rows.append({"order": order, "unit_code": codes.get(order.unit_id), "assignee": names.get(order.assignee_id),
                     "tz": zones.get(order.building_id), "countdown": text, "overdue": overdue, "live": live})
    if query.format == "xlsx":
        return await xlsx_response(request, "工单", COLUMNS, rows, "work-orders.xlsx")
    return await page(request, "workorders.html", query=query, result=result, rows=rows, columns=COLUMNS,
                      staff=await building_staff(o.building_id for o in orders),
                      buildings=await visible_buildings(principal), statuses=list(WorkOrderStatus),
                      types=list(WorkOrderType), link=lambda **kw: link("/console/work-orders", query, **kw),
                      can_handle=principal.role in WORK_ORDER_HANDLERS)


async def order_for(request: Request, order_id: int) -> WorkOrder:
    return await get_in_scope(principal_of(request), WorkOrder, order_id, "work order")


@bp.post("/work-orders/<order_id:int>/assign", name="workorder_assign")
@console_access(WORK_ORDER_HANDLERS)
async def work_order_assign(request: Request, order_id: int):
    """Assign a work order to one of its building's staff."""
    order = await order_for(request, order_id)
    body = parse_form(AssignIn, request)
    await assign_work_order(order, body.assignee_id, now=now_of(request), actor_id=principal_of(request).user_id)
    return back(request, "/console/work-orders")


@bp.post("/work-orders/<order_id:int>/close", name="workorder_close")
@console_access(WORK_ORDER_HANDLERS)
async def work_order_close(request: Request, order_id: int):
    """Close a work order with a note."""
    order = await order_for(request, order_id)
    body = parse_form(CloseIn, request)
    await close_work_order(order, now=now_of(request), actor_id=principal_of(request).user_id, note=body.note)
    return back(request, "/console/work-orders")
