from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json

from accounts.permissions import ALERT_WRITERS, STAFF, WORK_ORDER_WRITERS
from accounts.scope import get_in_scope
from api import responses as R
from api.access import access, body_of, principal_of, query_of
from core.pagination import PageQuery, paginate
from core.validation import UnitCode
from iot.actions import record_visit_result
from models.workorders import WorkOrder, WorkOrderEvent
from portfolio.service import get_unit_for
from workorders.choices import TriggerSource, WorkOrderStatus, WorkOrderType
from workorders.service import open_work_order, serialize_work_order, transition_as

bp = Blueprint("workorders", url_prefix="/work-orders")


class WorkOrderQuery(PageQuery):
    status: WorkOrderStatus | None = None
    type: WorkOrderType | None = None
    unit_code: UnitCode | None = None
    building_id: int | None = None
    mine: bool = False


class WorkOrderIn(BaseModel):
    type: WorkOrderType
    unit_code: UnitCode
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    client_ref: str = Field(min_length=1, max_length=64, description="idempotency key chosen by the caller")


class VisitResultIn(BaseModel):
    confirmed: bool = Field(description="the visit found a sublet")
    note: str = Field(min_length=1, max_length=500, description="what the visit found")


class TransitionIn(BaseModel):
    status: WorkOrderStatus
    note: str = Field("", max_length=500)
    assignee_id: int | None = None


async def work_order_for(request: Request, order_id: int) -> WorkOrder:
    return await get_in_scope(principal_of(request), WorkOrder, order_id, "work order")


@bp.get("", name="workorders_list")
@access(STAFF, query=WorkOrderQuery, response=R.WorkordersList)
async def list_orders(request: Request):
    principal = principal_of(request)
    query = query_of(request, WorkOrderQuery)
    qs = WorkOrder.filter(**principal.building_filter()).order_by("due_at")
    if query.status:
        qs = qs.filter(status=query.status)
    if query.type:
        qs = qs.filter(type=query.type)
    if query.unit_code:
        qs = qs.filter(unit__code=query.unit_code)
    if query.building_id:
        qs = qs.filter(building_id=query.building_id)
    if query.mine:
        qs = qs.filter(assignee_id=principal.user_id)
    return json(await paginate(qs.select_related("unit"), query,
                               lambda order: serialize_work_order(order, order.unit.code if order.unit else None)))


@bp.post("", name="workorders_create")
@access(WORK_ORDER_WRITERS, body=WorkOrderIn, response=R.WorkordersCreate, status=(200, 201))
async def create(request: Request):
    body = body_of(request, WorkOrderIn)
    principal = principal_of(request)
    unit = await get_unit_for(principal, body.unit_code)
    order, created = await open_work_order(
        wo_type=body.type, building_id=unit.building_id, unit_id=unit.id, title=body.title,
        description=body.description, trigger_source=TriggerSource.MANUAL,
        trigger_ref=f"{principal.user_id}:{body.client_ref}", now=request.app.ctx.clock.now(),
        actor_id=principal.user_id)
    return json(serialize_work_order(order, unit.code), status=201 if created else 200)


@bp.get("/<order_id:int>", name="workorders_detail")
@access(STAFF, response=R.WorkordersDetail)
async def detail(request: Request, order_id: int):
    order = await work_order_for(request, order_id)
    events = await WorkOrderEvent.filter(work_order_id=order.id).order_by("id")
    await order.fetch_related("unit")
    data = serialize_work_order(order, order.unit.code if order.unit else None)
    data["history"] = [{"from": e.from_status, "to": e.to_status, "actor_id": e.actor_id, "note": e.note,
                        "at": e.at.isoformat()} for e in events]
    return json(data)


@bp.post("/<order_id:int>/transition", name="workorders_transition")
@access(WORK_ORDER_WRITERS, note="VERIFIED/CANCELLED: managers only; an inspector only their own order",
        body=TransitionIn, response=R.WorkordersTransition)
async def transition(request: Request, order_id: int):
    principal = principal_of(request)
    order = await work_order_for(request, order_id)
    body = body_of(request, TransitionIn)
    order = await transition_as(order, body.status, role=principal.role, user_id=principal.user_id,
                                now=request.app.ctx.clock.now(), note=body.note, assignee_id=body.assignee_id)
    return json(serialize_work_order(order))


@bp.post("/<order_id:int>/visit-result", name="workorders_visit_result")
@access(ALERT_WRITERS, body=VisitResultIn, response=R.WorkordersDetail)
async def visit_result(request: Request, order_id: int):
    """A sublet inspection's result: confirmed → the lease manager's task; not → the alert resolved."""
    principal = principal_of(request)
    order = await work_order_for(request, order_id)
    body = body_of(request, VisitResultIn)
    return json(await record_visit_result(order, confirmed=body.confirmed, note=body.note,
                                          actor_id=principal.user_id, now=request.app.ctx.clock.now()))
