"""Lease health (租约健康度): live leases by level with their evidence, one lease's findings and the tasks raised,
a tenant's profile and renewal recommendation, the monthly 《租约健康度报告》 as JSON and XLSX. Staff see their
buildings."""

from __future__ import annotations

from datetime import date

from sanic import Blueprint, Request
from sanic.response import json, raw

from accounts.permissions import LEASE_HEALTH_READERS
from api import responses as R
from api.access import File, access, principal_of, query_of
from audit.service import record_export
from core.errors import ValidationFailed
from leasehealth import profiles, service
from leasehealth.schemas import AsOfQuery, HealthQuery

bp = Blueprint("lease_health", url_prefix="/lease-health")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cfg_of(request: Request) -> service.HealthConfig:
    return service.HealthConfig.from_settings(request.app.ctx.settings)


def as_of_of(request: Request, cfg: service.HealthConfig, as_of: date | None) -> date:
    today = cfg.local_date(request.app.ctx.clock.now())
    if as_of is not None and as_of > today:
        raise ValidationFailed("as_of is in the future", details={"as_of": as_of.isoformat(),
                                                                  "today": today.isoformat()})
    return as_of or today


@bp.get("/leases", name="lease_health_list")
@access(LEASE_HEALTH_READERS, query=HealthQuery, response=R.LeaseHealthList)
async def leases(request: Request):
    """Live leases in the caller's buildings with their level on as_of, most severe first."""
    query = query_of(request, HealthQuery)
    cfg = cfg_of(request)
    return json(await service.health_list(cfg, as_of_of(request, cfg, query.as_of), principal_of(request).building_ids,
                                          level=query.level, building_id=query.building_id, city_id=query.city_id,
                                          page=query.page, page_size=query.page_size))


@bp.get("/leases/<lease_id:int>", name="lease_health_detail")
@access(LEASE_HEALTH_READERS, query=AsOfQuery, response=R.LeaseHealthDetail)
async def lease(request: Request, lease_id: int):
    """One lease: level, findings with evidence, and the flags raised for it (with their work orders)."""
    query = query_of(request, AsOfQuery)
    cfg = cfg_of(request)
    return json(await service.lease_health(lease_id, cfg, as_of_of(request, cfg, query.as_of),
                                           principal_of(request).building_ids))


@bp.get("/tenants/<tenant_id:int>/profile", name="lease_health_tenant_profile")
@access(LEASE_HEALTH_READERS, response=R.LeaseHealthTenantProfile)
async def tenant_profile(request: Request, tenant_id: int):
    """A tenant party's stored profile (across all their leases): score, reasons, renewal recommendation."""
    return json(await profiles.tenant_profile(tenant_id, principal_of(request).building_ids))


@bp.get("/reports/<month:str>", name="lease_health_report")
@access(LEASE_HEALTH_READERS, response=R.LeaseHealthReport)
async def report(request: Request, month: str):
    return json(await service.monthly_report(month, cfg_of(request), request.app.ctx.clock.now(),
                                             principal_of(request).building_ids))


@bp.get("/reports/<month:str>/export.xlsx", name="lease_health_report_xlsx")
@access(LEASE_HEALTH_READERS, response=File(XLSX))
async def report_xlsx(request: Request, month: str):
    content = await service.export_report_xlsx(month, cfg_of(request), request.app.ctx.clock.now(),
                                               principal_of(request).building_ids)
    await record_export(principal_of(request), "lease_health_report", month, "xlsx", request.app.ctx.clock.now())
    return raw(content, content_type=XLSX,
               headers={"Content-Disposition": f'attachment; filename="lease-health-{month}.xlsx"'})
