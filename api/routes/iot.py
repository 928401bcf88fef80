"""IoT HTTP API: alerts (list/filter, acknowledge, resolve), devices (registry, CSV import, commissioning list),
a unit's reading series and occupancy, dead letters, detection for a date, cleaning confirmation on site."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json

from accounts.permissions import ADMINS, ALERT_WRITERS, DEVICE_MANAGERS, STAFF
from alerts.choices import AlertStatus
from alerts.service import acknowledge, resolve, serialize_alert
from alerts.service import alert_for as alert_for_principal
from api import responses as R
from api.access import access, body_of, principal_of, query_of
from api.uploads import refuse_if_rejected, uploaded_file
from core.errors import NotFound
from core.pagination import PageQuery, paginate
from iot.choices import DeviceFormat, DeviceKind, IotAlert
from iot.service import (
    DeviceIn,
    confirm_cleaning,
    device_for,
    import_devices_csv,
    reading_series,
    register_device,
    serialize_commissioning,
    serialize_device,
)
from models.alerts import Alert
from models.iot import CommissioningEntry, DeadLetter, Device, OccupancyDay
from models.portfolio import Unit
from models.workorders import WorkOrder
from portfolio.service import get_unit_for

alerts_bp = Blueprint("alerts", url_prefix="/alerts")
bp = Blueprint("iot")


class AlertQuery(PageQuery):
    type: str | None = Field(None, max_length=40)
    status: AlertStatus | None = None
    open: bool | None = None
    unit: str | None = Field(None, max_length=40, description="unit code")
    building_id: int | None = None


class NoteIn(BaseModel):
    note: str = Field("", max_length=500)


class ResolveIn(BaseModel):
    note: str = Field(min_length=1, max_length=500)


async def alert_for(request: Request, alert_id: int) -> Alert:
    return await alert_for_principal(principal_of(request), alert_id)


async def _with_codes(alerts: list[Alert]) -> list[dict]:
    ids = {a.unit_id for a in alerts if a.unit_id}
    codes = dict(await Unit.filter(id__in=list(ids)).values_list("id", "code")) if ids else {}
    return [serialize_alert(a, codes.get(a.unit_id)) for a in alerts]


@alerts_bp.get("", name="alerts_list")
@access(STAFF, query=AlertQuery, response=R.AlertsList)
async def list_alerts(request: Request):
    principal = principal_of(request)
    query = query_of(request, AlertQuery)
    qs = Alert.filter(**principal.building_filter()).order_by("-last_seen", "-id")
    if query.type:
        qs = qs.filter(type=query.type)
    if query.status:
        qs = qs.filter(status=query.status)
    if query.open is not None:
        qs = qs.filter(open_key__isnull=not query.open)
    if query.unit:
        qs = qs.filter(unit__code=query.unit)
    if query.building_id:
        qs = qs.filter(building_id=query.building_id)
    total = await qs.count()
    rows = await qs.offset(query.offset).limit(query.page_size)
    return json({"items": await _with_codes(rows), "total": total, "page": query.page,
                 "page_size": query.page_size, "types": [t.value for t in IotAlert]})


@alerts_bp.get("/<alert_id:int>", name="alerts_detail")
@access(STAFF, response=R.AlertsDetail)
async def alert_detail(request: Request, alert_id: int):
    alert = await alert_for(request, alert_id)
    return json((await _with_codes([alert]))[0])


@alerts_bp.post("/<alert_id:int>/acknowledge", name="alerts_acknowledge")
@access(ALERT_WRITERS, body=NoteIn, body_required=False, response=R.AlertsAcknowledge)
async def alert_acknowledge(request: Request, alert_id: int):
    alert = await alert_for(request, alert_id)
    body = body_of(request, NoteIn)
    alert = await acknowledge(alert, actor_id=principal_of(request).user_id, now=request.app.ctx.clock.now(),
                              note=body.note)
    return json((await _with_codes([alert]))[0])


@alerts_bp.post("/<alert_id:int>/resolve", name="alerts_resolve")
@access(ALERT_WRITERS, note="closes the alert with a note", body=ResolveIn, response=R.AlertsResolve)
async def alert_resolve(request: Request, alert_id: int):
    alert = await alert_for(request, alert_id)
    body = body_of(request, ResolveIn)
    alert = await resolve(alert, actor_id=principal_of(request).user_id, now=request.app.ctx.clock.now(),
                          note=body.note)
    return json((await _with_codes([alert]))[0])


# ------------------------------------------------------------------------------------------------ devices

def device_body(device: Device) -> dict:
    """The one body of a device, in lists and details alike (``device.unit`` fetched with select_related)."""
    unit = device.unit if isinstance(device.unit, Unit) else None
    return serialize_device(device, unit.code if unit else None)


class DeviceQuery(PageQuery):
    unit: str | None = Field(None, max_length=40)
    kind: DeviceKind | None = None
    format: DeviceFormat | None = None
    online: bool | None = None
    unbound: bool = False


@bp.get("/devices", name="devices_list")
@access(STAFF, query=DeviceQuery, response=R.DevicesList)
async def list_devices(request: Request):
    principal = principal_of(request)
    query = query_of(request, DeviceQuery)
    qs = Device.filter(**principal.building_filter()).order_by("id")
    if query.unit:
        qs = qs.filter(unit__code=query.unit)
    if query.kind:
        qs = qs.filter(kind=query.kind)
    if query.format:
        qs = qs.filter(format=query.format)
    if query.online is not None:
        qs = qs.filter(online=query.online)
    if query.unbound:
        qs = qs.filter(unit_id__isnull=True)
    return json(await paginate(qs.select_related("unit"), query, device_body))


@bp.post("/devices", name="devices_register")
@access(DEVICE_MANAGERS, note="register a device or re-bind it (same format + external id) to a unit", body=DeviceIn,
        response=R.DevicesRegister, status=(200, 201))
async def create_device(request: Request):
    body = body_of(request, DeviceIn)
    device, created = await register_device(body, principal_of(request))
    return json(serialize_device(device, body.unit_code), status=201 if created else 200)


@bp.get("/devices/<device_id:int>", name="devices_detail")
@access(STAFF, response=R.DevicesDetail)
async def device_detail(request: Request, device_id: int):
    device = await device_for(principal_of(request), device_id)
    await device.fetch_related("unit")
    return json(device_body(device))


class ImportQuery(BaseModel):
    dry_run: bool = False


@bp.post("/devices/import", name="devices_import")
@access(DEVICE_MANAGERS, note="CSV body or multipart field 'file'; all rows or none", query=ImportQuery,
        response=R.DevicesImport, files=("file",))
async def import_devices(request: Request):
    query = query_of(request, ImportQuery)
    data, _, _ = uploaded_file(request, what="the CSV")
    report = await import_devices_csv(data, principal_of(request), dry_run=query.dry_run)
    refuse_if_rejected(report)
    return json(report, status=200 if query.dry_run else 201)


@bp.get("/devices/commissioning", name="devices_commissioning")
@access(ADMINS, note="unknown devices that sent messages: register them to start ingesting", query=PageQuery,
        response=R.DevicesCommissioning)
async def commissioning(request: Request):
    query = query_of(request, PageQuery)
    return json(await paginate(CommissioningEntry.all().order_by("-last_seen"), query, serialize_commissioning))


@bp.get("/iot/dead-letters", name="iot_dead_letters")
@access(ADMINS, query=PageQuery, response=R.IotDeadLetters)
async def dead_letters(request: Request):
    query = query_of(request, PageQuery)
    return json(await paginate(DeadLetter.all().order_by("-id"), query, lambda d: {
        "id": d.id, "topic": d.topic, "payload": d.payload, "payload_size": d.payload_size, "reason": d.reason,
        "received_at": d.received_at.isoformat()}))


# ------------------------------------------------------------------------------------------ readings, occupancy

class SeriesQuery(BaseModel):
    start: datetime | None = None
    end: datetime | None = None
    bucket: Literal["hour", "day"] = "hour"


@bp.get("/units/<code:str>/readings", name="units_readings")
@access(STAFF, note="hourly or daily consumption and door openings, for charts", query=SeriesQuery,
        response=R.UnitsReadings)
async def unit_readings(request: Request, code: str):
    unit = await get_unit_for(principal_of(request), code)
    query = query_of(request, SeriesQuery)
    end = query.end or request.app.ctx.clock.now()
    start = query.start or end - timedelta(days=7)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    return json(await reading_series(unit, start, end, query.bucket))


class OccupancyQuery(BaseModel):
    days: int = Field(30, ge=1, le=366)


@bp.get("/units/<code:str>/occupancy", name="units_occupancy")
@access(STAFF, query=OccupancyQuery, response=R.UnitsOccupancy)
async def unit_occupancy(request: Request, code: str):
    unit = await get_unit_for(principal_of(request), code)
    query = query_of(request, OccupancyQuery)
    rows = await OccupancyDay.filter(unit_id=unit.id).order_by("-day").limit(query.days)
    return json({"unit_code": unit.code, "days": [{"day": r.day.isoformat(), "state": r.state,
                                                   "evidence": r.evidence} for r in rows]})


class DetectIn(BaseModel):
    as_of: date
    now: AwareDatetime | None = None  # replay: judge the day as a live run at this time would


@bp.post("/admin/iot/detect", name="iot_detect")
@access(ADMINS, note="run the daily detection for a given local date", body=DetectIn,
        response=R.IotDetect)
async def run_detect(request: Request):
    from iot.jobs import detect_on_demand

    body = body_of(request, DetectIn)
    stats = await detect_on_demand(body.as_of, request.app.ctx.settings, body.now or request.app.ctx.clock.now(),
                                   replay=body.now is not None)
    return json(stats)


class LocationIn(BaseModel):
    """The fix of the person on site (the on-site check's input: inspections.onsite)."""

    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    coord_system: Literal["wgs84", "gcj02"] = "wgs84"
    accuracy_m: float = Field(ge=0, le=100_000)
    captured_at: AwareDatetime | None = None  # an online action: absent means now
    mock_location: bool = False
    is_mock: bool = False


class CleaningConfirmIn(BaseModel):
    qr: str = Field(min_length=1, max_length=512)
    location: LocationIn
    note: str = Field("", max_length=400)


@bp.post("/iot/cleaning/<order_id:int>/confirm", name="iot_cleaning_confirm")
@access(ALERT_WRITERS,
        note="scan the unit's sticker on site: the cleaning order is done and the unit moves on",
        body=CleaningConfirmIn, response=R.IotCleaningConfirm)
async def cleaning_confirm(request: Request, order_id: int):
    principal = principal_of(request)
    order = await WorkOrder.get_or_none(id=order_id)
    if order is None:
        raise NotFound("work order not found")
    principal.require_building(order.building_id, "work order")
    body = body_of(request, CleaningConfirmIn)
    result = await confirm_cleaning(order, qr=body.qr, location=body.location, principal=principal,
                                    now=request.app.ctx.clock.now(), settings=request.app.ctx.settings,
                                    note=body.note)
    return json(result)
