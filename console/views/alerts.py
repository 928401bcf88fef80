"""The alerts queue: filters, explanation and evidence, acknowledge/resolve with a note, the visit work order."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from alerts.choices import AlertSeverity, AlertStatus
from alerts.service import acknowledge, alert_for, alerts_for, resolve
from console import formatting
from console.access import console_access
from console.labels import label
from console.lists import Column, ListQuery, link, order_by, paginate, xlsx_response
from console.rendering import is_htmx, page
from console.roles import ALERT_HANDLERS, VIEWERS
from console.views.common import (
    back,
    building_zones,
    form_data,
    now_of,
    parse_form,
    principal_of,
    settings_of,
    visible_buildings,
)
from core.validation import parse_query
from models.alerts import Alert
from models.portfolio import Unit
from models.workorders import WorkOrder
from workorders.choices import TriggerSource

bp = Blueprint("console_alerts", url_prefix="/console")


class AlertQueueQuery(ListQuery):
    status: AlertStatus | None = AlertStatus.ACTIVE
    type: str | None = Field(None, max_length=40)
    severity: AlertSeverity | None = None
    building_id: int | None = Field(None, ge=1)
    unit: str | None = Field(None, max_length=40)


class NoteIn(BaseModel):
    note: str = Field("", max_length=500)
    next: str = Field("", max_length=300)


class ResolveIn(BaseModel):
    note: str = Field(min_length=1, max_length=500)
    next: str = Field("", max_length=300)


COLUMNS = [
    Column("id", "编号", sort="id", export=lambda r: r["alert"].id),
    Column("type", "类型", sort="type,-last_seen", export=lambda r: label("alert_type", r["alert"].type)),
    Column("severity", "级别", sort="severity,-last_seen", export=lambda r: label("severity", r["alert"].severity)),
    Column("unit", "房源", export=lambda r: r["unit_code"] or r["alert"].subject),
    Column("status", "状态", export=lambda r: label("alert_status", r["alert"].status)),
    Column("explanation", "说明", export=lambda r: r["alert"].explanation),
    Column("first_seen", "首次发现", sort="first_seen",
           export=lambda r: formatting.local_dt(r["alert"].first_seen, r["tz"])),
    Column("last_seen", "最近发现", sort="last_seen",
           export=lambda r: formatting.local_dt(r["alert"].last_seen, r["tz"])),
    Column("count", "次数", sort="count", export=lambda r: r["alert"].count),
    Column("work_order", "核查工单", export=lambda r: r["work_order"].id if r["work_order"] else None),
]


async def alert_rows(alerts: list[Alert]) -> list[dict]:
    unit_ids = {a.unit_id for a in alerts if a.unit_id}
    codes = dict(await Unit.filter(id__in=unit_ids).values_list("id", "code")) if unit_ids else {}
    zones = await building_zones(a.building_id for a in alerts)
    orders = {o.trigger_ref: o for o in await WorkOrder.filter(
        trigger_source=TriggerSource.ALERT, trigger_ref__in=[f"alert:{a.id}" for a in alerts])}
    return [{"alert": a, "unit_code": codes.get(a.unit_id) if a.unit_id else None,
             "tz": zones.get(a.building_id) if a.building_id else None,
             "work_order": orders.get(f"alert:{a.id}")} for a in alerts]


@bp.get("/alerts", name="alerts")
@console_access(VIEWERS)
async def alerts_queue(request: Request):
    """The alerts queue (filter, sort, page, export)."""
    principal, settings = principal_of(request), settings_of(request)
    query = parse_query(AlertQueueQuery, request.args)
    qs = alerts_for(principal)
    for field, value in (("status", query.status), ("type", query.type), ("severity", query.severity),
                         ("building_id", query.building_id), ("unit__code", query.unit)):
        if value:
            qs = qs.filter(**{field: value})
    qs = qs.order_by(*order_by(COLUMNS, query.sort, ["-last_seen", "-id"]))
    result = await paginate(qs, query, settings.console_page_size, export_max=settings.console_export_max_rows)
    rows = await alert_rows(result.rows)
    if query.format == "xlsx":
        return await xlsx_response(request, "告警", COLUMNS, rows, "alerts.xlsx")
    types = sorted(set(await alerts_for(principal).distinct().values_list("type", flat=True)))
    return await page(request, "alerts.html", query=query, result=result, rows=rows, columns=COLUMNS,
                      types=types, buildings=await visible_buildings(principal), statuses=list(AlertStatus),
                      severities=list(AlertSeverity), link=lambda **kw: link("/console/alerts", query, **kw),
                      can_handle=principal.role in ALERT_HANDLERS)


async def _after(request: Request, alert: Alert, queue_status: str | None) -> HTTPResponse:
    """htmx: the row again, or nothing when the alert left the queue being looked at; otherwise back."""
    if not is_htmx(request):
        return back(request, "/console/alerts")
    if queue_status and alert.status != queue_status:
        return HTTPResponse("", status=200)
    rows = await alert_rows([alert])
    return await page(request, "_alert_row.html", row=rows[0], can_handle=True,
                      next=form_data(request).get("next", "/console/alerts"))


@bp.post("/alerts/<alert_id:int>/acknowledge", name="alert_acknowledge")
@console_access(ALERT_HANDLERS)
async def alert_acknowledge(request: Request, alert_id: int):
    """Acknowledge an alert with an optional note."""
    alert = await alert_for(principal_of(request), alert_id)
    body = parse_form(NoteIn, request)
    alert = await acknowledge(alert, actor_id=principal_of(request).user_id, now=now_of(request), note=body.note)
    return await _after(request, alert, form_data(request).get("queue_status"))


@bp.post("/alerts/<alert_id:int>/resolve", name="alert_resolve")
@console_access(ALERT_HANDLERS)
async def alert_resolve(request: Request, alert_id: int):
    """Resolve an alert; a note is required."""
    alert = await alert_for(principal_of(request), alert_id)
    body = parse_form(ResolveIn, request)
    alert = await resolve(alert, actor_id=principal_of(request).user_id, now=now_of(request), note=body.note)
    return await _after(request, alert, form_data(request).get("queue_status"))
