from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json

from accounts.choices import BindingPurpose, Role
from accounts.service import issue_binding_code
from api.access import MANAGERS, STAFF, access, principal_of
from core.errors import NotFound
from core.pagination import PageQuery, paginate
from core.validation import parse_body, parse_query
from leasing.choices import LeaseStatus, PaymentFrequency
from leasing.service import activate_lease, create_lease, serialize_lease, sign_lease
from models.leasing import Lease
from models.portfolio import Unit
from portfolio.service import get_unit_for

bp = Blueprint("leases", url_prefix="/leases")
me_bp = Blueprint("me_leases", url_prefix="/me/leases")


class LeaseIn(BaseModel):
    unit_code: str = Field(min_length=1, max_length=40)
    tenant_name: str = Field(min_length=1, max_length=64)
    tenant_phone: str = Field("", max_length=20)
    start_date: date
    end_date: date
    monthly_rent_fen: int = Field(gt=0, le=10**11, strict=True, description="integer fen")
    deposit_fen: int = Field(ge=0, le=10**11, strict=True, description="integer fen")
    payment_frequency: PaymentFrequency = PaymentFrequency.MONTHLY
    renewal_of: int | None = None


class LeaseQuery(PageQuery):
    status: LeaseStatus | None = None
    unit_code: str | None = None


async def lease_for(request: Request, lease_id: int) -> Lease:
    """A lease the caller may see: staff within building scope, a tenant only their own."""
    principal = principal_of(request)
    lease = await Lease.get_or_none(id=lease_id).select_related("unit")
    if lease is None:
        raise NotFound("lease not found")
    if principal.role == Role.TENANT:
        if lease.tenant_id != principal.tenant_id:
            raise NotFound("lease not found")
    else:
        principal.require_building(lease.unit.building_id, "lease")
    return lease


@bp.post("", name="leases_create")
@access(MANAGERS)
async def create(request: Request):
    body = parse_body(LeaseIn, request.body)
    unit = await get_unit_for(principal_of(request), body.unit_code)
    if body.renewal_of:
        previous = await lease_for(request, body.renewal_of)
        if previous.unit_id != unit.id:
            raise NotFound("the lease being renewed is for another unit")
    lease = await create_lease(unit=unit, tenant_name=body.tenant_name, tenant_phone=body.tenant_phone,
                               start_date=body.start_date, end_date=body.end_date,
                               monthly_rent_fen=body.monthly_rent_fen, deposit_fen=body.deposit_fen,
                               payment_frequency=body.payment_frequency, renewal_of_id=body.renewal_of)
    return json(serialize_lease(lease, unit_code=unit.code), status=201)


@bp.get("", name="leases_list")
@access(STAFF)
async def list_leases(request: Request):
    principal = principal_of(request)
    query = parse_query(LeaseQuery, request.args)
    qs = Lease.filter(**principal.building_filter("unit__building_id")).order_by("-id")
    if query.status:
        qs = qs.filter(status=query.status)
    if query.unit_code:
        qs = qs.filter(unit__code=query.unit_code)
    return json(await paginate(qs, query, serialize_lease))


@bp.get("/<lease_id:int>", name="leases_detail")
@access(STAFF)
async def detail(request: Request, lease_id: int):
    lease = await lease_for(request, lease_id)
    return json(serialize_lease(lease, unit_code=lease.unit.code))


@bp.post("/<lease_id:int>/sign", name="leases_sign")
@access(MANAGERS, note="idempotent: signing again returns the signed lease")
async def sign(request: Request, lease_id: int):
    lease = await lease_for(request, lease_id)
    lease, signed_now = await sign_lease(lease.id, now=request.app.ctx.clock.now(),
                                         actor_id=principal_of(request).user_id)
    unit = await Unit.get(id=lease.unit_id)
    return json({"lease": serialize_lease(lease, unit_code=unit.code), "signed_now": signed_now,
                 "unit_status": unit.status})


class ActivateIn(BaseModel):
    first_rent_paid_at: datetime | None = None


@bp.post("/<lease_id:int>/activate", name="leases_activate")
@access(MANAGERS, note="first rent paid and keys handed over: lease ACTIVE, unit OCCUPIED; idempotent")
async def activate(request: Request, lease_id: int):
    lease = await lease_for(request, lease_id)
    body = parse_body(ActivateIn, request.body or b"{}")
    lease, activated_now = await activate_lease(lease.id, now=request.app.ctx.clock.now(),
                                                actor_id=principal_of(request).user_id,
                                                first_rent_paid_at=body.first_rent_paid_at)
    unit = await Unit.get(id=lease.unit_id)
    return json({"lease": serialize_lease(lease, unit_code=unit.code), "activated_now": activated_now,
                 "unit_status": unit.status})


@bp.post("/<lease_id:int>/tenant-code", name="leases_tenant_code")
@access(MANAGERS, note="one-time code the tenant redeems in the mini program")
async def tenant_code(request: Request, lease_id: int):
    lease = await lease_for(request, lease_id)
    settings, now = request.app.ctx.settings, request.app.ctx.clock.now()
    ttl = timedelta(hours=settings.binding_code_ttl_hours)
    code = await issue_binding_code(purpose=BindingPurpose.TENANT, now=now, ttl=ttl, tenant_id=lease.tenant_id,
                                    lease_id=lease.id, issued_by=principal_of(request).user_id)
    return json({"binding_code": code, "expires_at": (now + ttl).isoformat()}, status=201)


@me_bp.get("", name="me_leases")
@access([Role.TENANT])
async def my_leases(request: Request):
    principal = principal_of(request)
    leases = await Lease.filter(tenant_id=principal.tenant_id).select_related("unit").order_by("-start_date")
    return json({"items": [serialize_lease(lease, unit_code=lease.unit.code) for lease in leases]})
