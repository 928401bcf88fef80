"""Device commissioning (devices seen on MQTT but not registered) with bind-to-unit, and dead-lettered messages."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint, Request

from console import formatting
from console.access import console_access
from console.lists import Column, ListQuery, link, order_by, paginate, xlsx_response
from console.rendering import page
from console.roles import DEVICE_ADMINS
from console.views.common import back, parse_form, principal_of, settings_of
from core.validation import parse_query
from iot.choices import DeviceFormat, DeviceKind
from iot.service import DeviceIn, register_device
from models.iot import CommissioningEntry, DeadLetter

bp = Blueprint("console_devices", url_prefix="/console")


class BindIn(BaseModel):
    format: DeviceFormat
    external_id: str = Field(min_length=1, max_length=128)
    kind: DeviceKind
    unit_code: str = Field(min_length=1, max_length=40)
    next: str = Field("", max_length=300)


COMMISSIONING = [
    Column("format", "格式", sort="format,external_id"), Column("external_id", "设备编号", sort="external_id"),
    Column("topic", "主题"), Column("message_count", "消息数", sort="message_count"),
    Column("first_seen", "首次", sort="first_seen", export=lambda r: formatting.local_dt(r["first_seen"])),
    Column("last_seen", "最近", sort="last_seen", export=lambda r: formatting.local_dt(r["last_seen"])),
    Column("sample_payload", "样例"),
]
DEAD_LETTERS = [
    Column("id", "编号", sort="id"), Column("topic", "主题", sort="topic,-id"), Column("reason", "原因"),
    Column("payload_size", "字节", sort="payload_size"),
    Column("received_at", "接收时间", sort="received_at", export=lambda r: formatting.local_dt(r["received_at"])),
    Column("payload", "内容"),
]


class DeviceListQuery(ListQuery):
    q: str | None = Field(None, max_length=64)


@bp.get("/devices/commissioning", name="commissioning")
@console_access(DEVICE_ADMINS)
async def commissioning(request: Request):
    """Unknown devices that sent messages: bind them to a unit to start ingesting."""
    settings = settings_of(request)
    query = parse_query(DeviceListQuery, request.args)
    qs = CommissioningEntry.all()
    if query.q:
        qs = qs.filter(external_id__icontains=query.q)
    qs = qs.order_by(*order_by(COMMISSIONING, query.sort, ["-last_seen", "id"]))
    result = await paginate(qs, query, settings.console_page_size, export_max=settings.console_export_max_rows)
    rows = [{"id": c.id, "format": c.format, "external_id": c.external_id, "topic": c.topic,
             "message_count": c.message_count, "first_seen": c.first_seen, "last_seen": c.last_seen,
             "sample_payload": c.sample_payload} for c in result.rows]
    if query.format == "xlsx":
        return await xlsx_response(request, "待接入设备", COMMISSIONING, rows, "commissioning.xlsx")
    return await page(request, "commissioning.html", query=query, result=result, rows=rows, columns=COMMISSIONING,
                      kinds=list(DeviceKind), link=lambda **kw: link("/console/devices/commissioning", query, **kw))


@bp.post("/devices/commissioning/bind", name="commissioning_bind")
@console_access(DEVICE_ADMINS, note="registers the device (format + external id) and binds it to a unit")
async def commissioning_bind(request: Request):
    """Register a device seen on MQTT and bind it to a unit (it leaves the commissioning list)."""
    body = parse_form(BindIn, request)
    await register_device(DeviceIn(external_id=body.external_id, format=body.format, kind=body.kind,
                                   unit_code=body.unit_code), principal_of(request))
    return back(request, "/console/devices/commissioning")


@bp.get("/devices/dead-letters", name="dead_letters")
@console_access(DEVICE_ADMINS)
async def dead_letters(request: Request):
    """Dead-lettered MQTT messages (malformed or unusable payloads)."""
    settings = settings_of(request)
    query = parse_query(DeviceListQuery, request.args)
    qs = DeadLetter.all()
    if query.q:
        qs = qs.filter(topic__icontains=query.q)
    qs = qs.order_by(*order_by(DEAD_LETTERS, query.sort, ["-id"]))
    result = await paginate(qs, query, settings.console_page_size, export_max=settings.console_export_max_rows)
    rows = [{"id": d.id, "topic": d.topic, "reason": d.reason, "payload_size": d.payload_size,
             "received_at": d.received_at, "payload": d.payload} for d in result.rows]
    if query.format == "xlsx":
        return await xlsx_response(request, "死信消息", DEAD_LETTERS, rows, "dead-letters.xlsx")
    return await page(request, "dead_letters.html", query=query, result=result, rows=rows, columns=DEAD_LETTERS,
                      link=lambda **kw: link("/console/devices/dead-letters", query, **kw))
