"""Field inspection endpoints: scan, status reports, on-site decisions, photos, offline sync, labels, audit."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json, raw

from accounts.permissions import MANAGERS, STAFF, STATUS_CONFIRMERS, STATUS_REPORTERS
from api import responses as R
from api.access import File, access, body_of, form_of, principal_of, query_of
from api.multipart import receive_form
from core.errors import ServiceUnavailable, ValidationFailed
from core.pagination import PageQuery, paginate
from core.validation import UnitCode
from inspections import audit
from inspections.choices import CoordSystem, ReportState
from inspections.evidence import serialize_photo, store_photo
from inspections.fonts import FontMissing
from inspections.labels import LabelData, label_png
from inspections.qr import build_sticker_url
from inspections.schemas import DecisionIn, StatusReportIn, SyncIn
from inspections.service import (
    decide,
    photo_bytes,
    reissue_sticker_of,
    report_for,
    scan_unit,
    serialize_report,
    submit_report,
)
from inspections.storage import storage_for
from inspections.sync import apply_batch
from models.inspections import StatusReport
from models.portfolio import Building
from portfolio.service import get_unit_for

bp = Blueprint("inspections")


class ScanIn(BaseModel):
    qr: str = Field(min_length=1, max_length=512)


class ReportQuery(PageQuery):
    state: ReportState | None = None
    unit_code: UnitCode | None = None
    building_id: int | None = None
    mine: bool = False


class BuildingQuery(BaseModel):
    building_id: int | None = None


class PhotoForm(BaseModel):
    photo_id: UUID
    unit_code: str | None = Field(None, max_length=40)
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    coord_system: CoordSystem = CoordSystem.WGS84
    captured_at: AwareDatetime | None = None


def _ctx(request: Request) -> tuple:
    return principal_of(request), request.app.ctx.settings, request.app.ctx.clock.now()


@bp.post("/scan", name="scan")
@access(STAFF, read_only=True, body=ScanIn, response=R.Scan)
async def scan(request: Request):
    principal, settings, _ = _ctx(request)
    body = body_of(request, ScanIn)
    card = await scan_unit(principal, body.qr, settings, request.app.ctx.cards)
    return raw(card, content_type="application/json")


@bp.post("/status-reports", name="status_reports_create")
@access(STATUS_REPORTERS, body=StatusReportIn, response=R.StatusReportsCreate, status=201)
async def create_report(request: Request):
    principal, settings, now = _ctx(request)
    body = body_of(request, StatusReportIn)
    outcome = await submit_report(principal, body, settings=settings, now=now)
    return json(outcome.as_dict(), status=outcome.status)


@bp.get("/status-reports", name="status_reports_list")
@access(STAFF, query=ReportQuery, response=R.StatusReportsList)
async def list_reports(request: Request):
    principal = principal_of(request)
    query = query_of(request, ReportQuery)
    qs = StatusReport.filter(**principal.building_filter("unit__building_id")).order_by("-captured_at")
    if query.state:
        qs = qs.filter(state=query.state)
    if query.unit_code:
        qs = qs.filter(unit__code=query.unit_code)
    if query.building_id:
        qs = qs.filter(unit__building_id=query.building_id)
    if query.mine:
        qs = qs.filter(author_id=principal.user_id)
    return json(await paginate(qs, query, serialize_report))


@bp.get("/status-reports/<report_id:int>", name="status_reports_detail")
@access(STAFF, response=R.StatusReportsDetail)
async def report_detail(request: Request, report_id: int):
    report = await report_for(principal_of(request), report_id)
    return json(serialize_report(report))


@bp.post("/status-reports/<report_id:int>/decision", name="status_reports_decide")
@access(STATUS_CONFIRMERS,
        note="on-site double confirmation: the decider scans the unit's sticker within its geofence",
        body=DecisionIn, response=R.StatusReportsDecide)
async def decide_report(request: Request, report_id: int):
    principal, settings, now = _ctx(request)
    report = await report_for(principal, report_id)
    body = body_of(request, DecisionIn)
    outcome = await decide(principal, report, body, settings=settings, now=now)
    return json(outcome.as_dict())


@bp.post("/sync", name="sync")
@access(STATUS_REPORTERS, note="per-item building scope: out-of-scope items are REJECTED with NOT_FOUND", body=SyncIn,
        response=R.Sync)
async def sync(request: Request):
    principal, settings, now = _ctx(request)
    body = body_of(request, SyncIn)
    return json(await apply_batch(principal, body.items, settings=settings, now=now))


@bp.post("/photos", name="photos_upload", stream=True)
@access(STATUS_REPORTERS, form=PhotoForm, files=("file",), response=R.PhotosUpload, status=(201, 200))
async def upload_photo(request: Request):
    principal, settings, now = _ctx(request)
    storage = storage_for(settings)
    received = await receive_form(request, spool_dir=storage.spool_dir, file_fields={"file"},
                                  max_file_bytes=settings.photo_max_bytes)
    try:
        upload = received.files.get("file")
        data = form_of(request, PhotoForm, fields=received.fields)
        if upload is None:
            raise ValidationFailed("multipart field 'file' is required",
                                   details={"fields": [{"field": "file", "message": "required"}]})
        photo, created = await store_photo(
            principal, data.photo_id, upload.path, settings=settings, now=now, storage=storage,
            unit_code=data.unit_code, lat=data.lat, lng=data.lng, coord_system=data.coord_system,
            captured_at=data.captured_at, size=upload.size, sha256=upload.sha256 if upload.complete else None)
    finally:
        received.discard()
    return json(serialize_photo(photo), status=201 if created else 200)


@bp.get("/photos/<photo_id:uuid>/<variant:str>", name="photos_file")
@access(STAFF, response=File("image/*"), errors=(410,))
async def photo_file(request: Request, photo_id: UUID, variant: str):
    principal, settings, _ = _ctx(request)
    data, content_type = await photo_bytes(principal, photo_id, variant, settings)
    return raw(data, content_type=content_type, headers={"cache-control": "private, max-age=86400"})


@bp.get("/units/<code:str>/label", name="units_label")
@access(MANAGERS, response=File("image/png"))
async def unit_label(request: Request, code: str):
    principal, settings, _ = _ctx(request)
    unit = await get_unit_for(principal, code)
    building = await Building.get(id=unit.building_id)
    url = build_sticker_url(settings.qr_base_url, settings.qr_secret, unit.code, unit.qr_version)
    try:
        png = label_png(LabelData(unit.code, unit.name, building.name, url), settings.label_font_path)
    except FontMissing as exc:
        raise ServiceUnavailable(str(exc), code="LABEL_FONT_MISSING") from None
    return raw(png, content_type="image/png",
               headers={"content-disposition": f'inline; filename="{unit.code}.png"', "x-sticker-url": url})


@bp.get("/units/<code:str>/sticker", name="units_sticker")
@access(MANAGERS, note="the sticker's URL (what its QR code holds) and where its printable label is", read_only=True,
        response=R.UnitsSticker)
async def unit_sticker(request: Request, code: str):
    principal, settings, _ = _ctx(request)
    unit = await get_unit_for(principal, code)
    return json({"unit_code": unit.code, "qr_version": unit.qr_version,
                 "url": build_sticker_url(settings.qr_base_url, settings.qr_secret, unit.code, unit.qr_version),
                 "label_url": request.app.url_for("inspections.units_label", code=unit.code)})


@bp.post("/units/<code:str>/sticker/reissue", name="units_sticker_reissue")
@access(MANAGERS, note="bumps the sticker version: the old sticker answers REVOKED_QR", response=R.UnitsStickerReissue)
async def reissue_sticker(request: Request, code: str):
    principal, settings, _ = _ctx(request)
    unit = await get_unit_for(principal, code)
    unit = await reissue_sticker_of(unit)
    return json({"unit_code": unit.code, "qr_version": unit.qr_version,
                 "url": build_sticker_url(settings.qr_base_url, settings.qr_secret, unit.code, unit.qr_version)})


@bp.get("/units/<code:str>/timeline", name="units_timeline")
@access(STAFF, response=R.UnitsTimeline)
async def unit_timeline(request: Request, code: str):
    unit = await get_unit_for(principal_of(request), code)
    return json({"unit_code": unit.code, "status": unit.status, "status_version": unit.status_version,
                 "events": await audit.timeline(unit)})


@bp.get("/inspections/due", name="inspections_due")
@access(STAFF, query=BuildingQuery, response=R.InspectionsDue)
async def due(request: Request):
    principal, settings, now = _ctx(request)
    query = query_of(request, BuildingQuery)
    items = await audit.units_due(principal, now=now, interval_days=settings.inspection_interval_days,
                                  building_id=query.building_id)
    return json({"interval_days": settings.inspection_interval_days, "items": items})


@bp.get("/inspections/contradictions", name="inspections_contradictions")
@access(STAFF, query=BuildingQuery, response=R.InspectionsContradictions)
async def contradicted(request: Request):
    principal = principal_of(request)
    query = query_of(request, BuildingQuery)
    return json({"items": await audit.contradictions(principal, building_id=query.building_id)})


