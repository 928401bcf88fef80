"""The unit page: status history, inspections with photos and EXIF flags, open work orders, active alerts,
lease and refund, and the reading charts (30/90 days) with occupancy shading and alert onsets."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import raw

from alerts.choices import OPEN_ALERT_STATUSES
from console.access import console_access
from console.charts import chart_payload
from console.labels import ALERT_TYPE_LABEL
from console.rendering import page
from console.roles import VIEWERS
from console.views.common import now_of, principal_of, settings_of
from core.validation import parse_query
from inspections.service import photo_bytes
from iot.service import reading_series
from leasing.choices import LIVE_LEASE_STATUSES
from models.accounts import User
from models.alerts import Alert
from models.inspections import Photo, ReportPhoto, StatusReport
from models.iot import OccupancyDay
from models.leasing import Lease, Tenant
from models.portfolio import Building, UnitStatusChange
from models.refunds import DepositRefund
from models.workorders import WorkOrder
from portfolio.service import get_unit_for
from workorders.choices import OPEN_WORK_ORDER_STATUSES

bp = Blueprint("console_units", url_prefix="/console")


class ChartQuery(BaseModel):
    days: int = Field(30, ge=7, le=93, description="the chart window (the page offers 30 and 90)")


async def unit_chart(unit, building: Building, now: datetime, days: int) -> dict:
    tz = ZoneInfo(building.timezone)
    last = now.astimezone(tz).date()
    first = last - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), tzinfo=tz)
    series = await reading_series(unit, start, now, "day")
    occupancy = await OccupancyDay.filter(unit_id=unit.id, day__gte=first, day__lte=last).values_list("day", "state")
    alerts = [{"id": a.id, "type": a.type, "label": ALERT_TYPE_LABEL.get(a.type, a.type), "severity": a.severity,
               "first_seen": a.first_seen}
              for a in await Alert.filter(unit_id=unit.id, first_seen__gte=start).order_by("first_seen")]
    return chart_payload(series["series"], [(d, str(s)) for d, s in occupancy], alerts, first=first, last=last,
                         tz=tz)


async def _inspections(unit_id: int) -> list[dict]:
    reports = await StatusReport.filter(unit_id=unit_id).order_by("-captured_at").limit(20)
    links = await ReportPhoto.filter(report_id__in=[r.id for r in reports]).values_list("report_id", "photo_id")
    photos = {p.id: p for p in await Photo.filter(id__in=[pid for _, pid in links])}
    by_report: dict[int, list[Photo]] = {}
    for report_id, photo_id in links:
        if photo_id in photos:
            by_report.setdefault(report_id, []).append(photos[photo_id])
    authors = dict(await User.filter(id__in={r.author_id for r in reports}).values_list("id", "name"))
    return [{"report": r, "author": authors.get(r.author_id, "—"), "photos": by_report.get(r.id, []),
             "flags": list(r.flags or [])} for r in reports]


@bp.get("/units/<code:str>", name="unit")
@console_access(VIEWERS)
async def unit_page(request: Request, code: str):
    """One unit: history, inspections, work, alerts, lease, refund, reading charts."""
    principal, now = principal_of(request), now_of(request)
    unit = await get_unit_for(principal, code)
    building = await Building.get(id=unit.building_id)
    query = parse_query(ChartQuery, request.args)
    history = await UnitStatusChange.filter(unit_id=unit.id).order_by("-version").limit(50)
    actors = dict(await User.filter(id__in={h.actor_id for h in history if h.actor_id}).values_list("id", "name"))
    orders = await WorkOrder.filter(unit_id=unit.id, status__in=list(OPEN_WORK_ORDER_STATUSES)).order_by("due_at")
    alerts = await Alert.filter(unit_id=unit.id, status__in=list(OPEN_ALERT_STATUSES)).order_by("-last_seen")
    lease = await Lease.filter(unit_id=unit.id, status__in=list(LIVE_LEASE_STATUSES)).order_by("-start_date").first()
    lease = lease or await Lease.filter(unit_id=unit.id).order_by("-end_date").first()
    tenant = await Tenant.get_or_none(id=lease.tenant_id) if lease else None
    refund = await DepositRefund.filter(unit_id=unit.id).order_by("-applied_at").first()
    return await page(request, "unit.html", unit=unit, building=building, tz=building.timezone, history=history,
                      actors=actors, inspections=await _inspections(unit.id), orders=orders, alerts=alerts,
                      lease=lease, tenant=tenant, refund=refund, days=query.days,
                      chart=await unit_chart(unit, building, now, query.days))


@bp.get("/units/<code:str>/chart", name="unit_chart")
@console_access(VIEWERS, note="htmx partial: the reading chart for 30 or 90 days")
async def unit_chart_partial(request: Request, code: str):
    """The reading chart panel (htmx partial)."""
    unit = await get_unit_for(principal_of(request), code)
    building = await Building.get(id=unit.building_id)
    query = parse_query(ChartQuery, request.args)
    return await page(request, "_unit_chart.html", unit=unit, days=query.days,
                      chart=await unit_chart(unit, building, now_of(request), query.days))


@bp.get("/photos/<photo_id:uuid>/<variant:str>", name="photo")
@console_access(VIEWERS, note="inspection photo thumbnails and evidence copies, scoped like the API's")
async def photo(request: Request, photo_id: UUID, variant: str):
    """An inspection photo (thumbnail, evidence or original)."""
    data, content_type = await photo_bytes(principal_of(request), photo_id, variant, settings_of(request))
    return raw(data, content_type=content_type, headers={"cache-control": "private, max-age=86400"})
