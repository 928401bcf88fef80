"""Leases: create, sign (schedule generated), hand over the keys on site, amend, pay, statement, import."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json

from accounts.choices import BindingPurpose, Role
from accounts.service import issue_binding_code
from api import responses as R
from api.access import MANAGERS, STAFF, access, body_of, principal_of, query_of, raw_body_of
from api.uploads import uploaded_file
from core.errors import NotFound
from core.pagination import PageQuery, paginate
from inspections.schemas import LocationIn
from leasing import ledger
from leasing.choices import LeaseStatus
from leasing.importer import ImportOptions, import_leases
from leasing.roles import HANDOVER_ROLES, LEDGER_READERS, LEDGER_WRITERS
from leasing.schemas import LeaseIn, PaymentIn, StatementQuery, TermsPatch
from leasing.service import (
    LeasingConfig,
    OnSite,
    activate_in_force,
    amend_lease,
    create_lease,
    hand_over_keys,
    lease_in_scope,
    serialize_change,
    serialize_lease,
    sign_lease,
    validate_draft,
)
from models.leasing import Lease, LeaseChange
from models.portfolio import Unit
from portfolio.service import get_unit_for

bp = Blueprint("leases", url_prefix="/leases")
me_bp = Blueprint("me_leases", url_prefix="/me/leases")


class LeaseQuery(PageQuery):
    status: LeaseStatus | None = None
    unit_code: str | None = Field(None, max_length=40)
    contract_no: str | None = Field(None, max_length=40)


class HandoverIn(BaseModel):
    """交付, confirmed on site: the location fix of the person handing over, inside the unit's geofence."""

    location: LocationIn
    note: str = Field("", max_length=500)


class ImportQuery(BaseModel):
    dry_run: bool = False
    import_good_rows: bool = False


def cfg_of(request: Request) -> LeasingConfig:
    return LeasingConfig.from_settings(request.app.ctx.settings)


def lease_body(lease: Lease) -> dict:
    """The one body of a lease, in lists and details alike (``lease.unit`` fetched with select_related)."""
    return serialize_lease(lease, unit_code=lease.unit.code)


async def lease_for(request: Request, lease_id: int) -> Lease:
    """A lease the caller may see: staff within building scope, a tenant only their own."""
    return await lease_in_scope(principal_of(request), lease_id)


@bp.post("", name="leases_create")
@access(MANAGERS, body=LeaseIn, response=R.LeasesCreate, status=201)
async def create(request: Request):
    """Create a DRAFT lease: party (found again by its keys), contract number and terms."""
    draft = validate_draft(raw_body_of(request, LeaseIn))
    unit = await get_unit_for(principal_of(request), draft.unit_code)
    if draft.renewal_of:
        previous = await lease_for(request, draft.renewal_of)
        if previous.unit_id != unit.id:
            raise NotFound("the lease being renewed is for another unit")
    lease = await create_lease(unit=unit, draft=draft, cfg=cfg_of(request))
    return json(serialize_lease(lease, unit_code=unit.code), status=201)


@bp.get("", name="leases_list")
@access(STAFF, query=LeaseQuery, response=R.LeasesList)
async def list_leases(request: Request):
    """Leases in the caller's buildings."""
    principal = principal_of(request)
    query = query_of(request, LeaseQuery)
    qs = Lease.filter(**principal.building_filter("unit__building_id")).order_by("-id")
    if query.status:
        qs = qs.filter(status=query.status)
    if query.unit_code:
        qs = qs.filter(unit__code=query.unit_code)
    if query.contract_no:
        qs = qs.filter(contract_no=query.contract_no)
    return json(await paginate(qs.select_related("unit"), query, lease_body))


@bp.get("/<lease_id:int>", name="leases_detail")
@access(STAFF, response=R.LeasesDetail)
async def detail(request: Request, lease_id: int):
    """One lease."""
    return json(lease_body(await lease_for(request, lease_id)))


@bp.post("/<lease_id:int>/sign", name="leases_sign")
@access(MANAGERS, note="idempotent: signing again returns the signed lease; generates the schedule",
        response=R.LeasesSign)
async def sign(request: Request, lease_id: int):
    """Sign a draft: unit PENDING_DELIVERY, pre-delivery cleaning, rent schedule generated."""
    lease = await lease_for(request, lease_id)
    lease, signed_now = await sign_lease(lease.id, now=request.app.ctx.clock.now(),
                                         actor_id=principal_of(request).user_id, cfg=cfg_of(request))
    unit = await Unit.get(id=lease.unit_id)
    generation = await ledger.request_generation(lease, request.app.ctx.clock.now())
    return json({"lease": serialize_lease(lease, unit_code=unit.code), "signed_now": signed_now,
                 "unit_status": unit.status, "schedule": ledger.serialize_generation(generation)})


@bp.post("/<lease_id:int>/in-force", name="leases_in_force")
@access(MANAGERS, note="idempotent: a tenancy already running (migrated from a spreadsheet) becomes ACTIVE at once",
        response=R.LeasesInForce)
async def in_force(request: Request, lease_id: int):
    """Enter a DRAFT lease whose tenant already lives there: signed and ACTIVE at once, schedule generated, unit
    OCCUPIED, and no pre-delivery cleaning order (nobody is moving in). Refused (NOT_IN_FORCE) unless it runs today."""
    lease = await lease_for(request, lease_id)
    lease = await activate_in_force(lease.id, now=request.app.ctx.clock.now(), actor_id=principal_of(request).user_id,
                                    cfg=cfg_of(request))
    unit = await Unit.get(id=lease.unit_id)
    generation = await ledger.request_generation(lease, request.app.ctx.clock.now())
    return json({"lease": serialize_lease(lease, unit_code=unit.code), "unit_status": unit.status,
                 "schedule": ledger.serialize_generation(generation)})


@bp.post("/<lease_id:int>/handover", name="leases_handover")
@access(HANDOVER_ROLES, note="交付 on site, after the pre-delivery cleaning; idempotent", body=HandoverIn,
        response=R.LeasesHandover)
async def handover(request: Request, lease_id: int):
    """Hand over the keys on site: lease ACTIVE, unit OCCUPIED."""
    from inspections.service import confirm_presence, load_site

    lease = await lease_for(request, lease_id)
    body = body_of(request, HandoverIn)
    site = await load_site(lease.unit.code)
    verdict = await confirm_presence(principal_of(request).user_id, body.location, site, request.app.ctx.settings,
                                     now=request.app.ctx.clock.now())
    on_site = OnSite(inside=verdict.geofence.inside, distance_m=verdict.distance_m, radius_m=site.radius_m,
                     accuracy_m=body.location.accuracy_m, captured_at=body.location.captured_at)
    lease, now_done = await hand_over_keys(lease.id, now=request.app.ctx.clock.now(),
                                           actor_id=principal_of(request).user_id, on_site=on_site,
                                           note=body.note)
    unit = await Unit.get(id=lease.unit_id)
    return json({"lease": serialize_lease(lease, unit_code=unit.code), "handed_over_now": now_done,
                 "unit_status": unit.status})


@bp.post("/<lease_id:int>/amendments", name="leases_amend")
@access(MANAGERS, note="合同变更: regenerates the unpaid future, keeps paid periods", body=TermsPatch,
        response=R.LeasesAmend, status=201)
async def amend(request: Request, lease_id: int):
    """Amend a lease (rent change, extension, early termination, a corrected term)."""
    lease = await lease_for(request, lease_id)
    patch = body_of(request, TermsPatch)
    lease, change = await amend_lease(lease.id, patch, now=request.app.ctx.clock.now(),
                                      actor_id=principal_of(request).user_id, cfg=cfg_of(request))
    lease = await Lease.get(id=lease.id).select_related("unit")
    return json({"lease": lease_body(lease), "change": serialize_change(change)}, status=201)


@bp.get("/<lease_id:int>/amendments", name="leases_amendments")
@access(LEDGER_READERS, response=R.LeasesAmendments)
async def amendments(request: Request, lease_id: int):
    """The lease's change history (who, when, why, what it did to the schedule)."""
    lease = await lease_for(request, lease_id)
    changes = await LeaseChange.filter(lease_id=lease.id).order_by("id")
    return json({"items": [serialize_change(c) for c in changes]})


@bp.get("/<lease_id:int>/schedule", name="leases_schedule")
@access(LEDGER_READERS, response=R.LeasesSchedule)
async def schedule(request: Request, lease_id: int):
    """The schedule generation jobs of the lease (state, error code, attempts)."""
    lease = await lease_for(request, lease_id)
    return json(await ledger.generation_view(lease))


@bp.post("/<lease_id:int>/schedule/retry", name="leases_schedule_retry")
@access(LEDGER_WRITERS, note="after fixing a term or the alias table", response=R.LeasesScheduleRetry)
async def schedule_retry(request: Request, lease_id: int):
    """Retry the lease's schedule generation now."""
    lease = await lease_for(request, lease_id)
    job = await ledger.retry_generation(lease.id, now=request.app.ctx.clock.now(), cfg=cfg_of(request),
                                        actor_id=principal_of(request).user_id)
    return json(ledger.serialize_generation(job))


@bp.post("/<lease_id:int>/payments", name="leases_payment")
@access(LEDGER_WRITERS, body=PaymentIn, response=R.LeasesPayment, status=201)
async def payment(request: Request, lease_id: int):
    """Record a payment; it is allocated to the oldest open receivables, the rest kept as credit."""
    lease = await lease_for(request, lease_id)
    body = body_of(request, PaymentIn)
    result = await ledger.record_payment(
        lease_id=lease.id, amount_fen=body.amount_fen, paid_at=body.paid_at, method=body.method,
        payer_name=body.payer_name, reference=body.reference, receivable_id=body.receivable_id,
        actor_id=principal_of(request).user_id, note=body.note, now=request.app.ctx.clock.now())
    return json({"payment": ledger.serialize_payment(result.payment),
                 "allocations": [{"receivable_id": r, "amount_fen": a} for r, a in result.allocations]}, status=201)


@bp.get("/<lease_id:int>/statement", name="leases_statement")
@access(LEDGER_READERS, query=StatementQuery, response=R.LeasesStatement)
async def statement(request: Request, lease_id: int):
    """The lease's statement: 应收 / 实收 / 欠款, every receivable with its state, payments, credit, deposit."""
    lease = await lease_for(request, lease_id)
    return json(await _statement(request, lease))


async def _statement(request: Request, lease: Lease) -> dict:
    cfg = cfg_of(request)
    query = query_of(request, StatementQuery)
    as_of = query.as_of or ledger.local_date(request.app.ctx.clock.now(), cfg)
    return await ledger.lease_statement(lease, as_of, cfg)


@bp.post("/import", name="leases_import")
@access(LEDGER_WRITERS, note="xlsx or csv with Chinese headers; dry_run reports per row; all or nothing unless "
                             "import_good_rows", query=ImportQuery, response=R.LeasesImport, files=("file",))
async def import_file(request: Request):
    """Import historic contracts from Excel or CSV."""
    query = query_of(request, ImportQuery)
    data, name, _ = uploaded_file(request, what="the xlsx or csv file")
    report = await import_leases(data, filename=name, principal=principal_of(request), cfg=cfg_of(request),
                                 options=ImportOptions(dry_run=query.dry_run, import_good_rows=query.import_good_rows),
                                 now=request.app.ctx.clock.now())
    return json(report.as_dict(), status=200 if query.dry_run or not report.imported else 201)


@bp.post("/<lease_id:int>/tenant-code", name="leases_tenant_code")
@access(MANAGERS, note="one-time code the tenant redeems in the mini program", response=R.LeasesTenantCode, status=201)
async def tenant_code(request: Request, lease_id: int):
    """A one-time binding code for the lease's tenant."""
    lease = await lease_for(request, lease_id)
    settings, now = request.app.ctx.settings, request.app.ctx.clock.now()
    ttl = timedelta(hours=settings.binding_code_ttl_hours)
    code = await issue_binding_code(purpose=BindingPurpose.TENANT, now=now, ttl=ttl, tenant_id=lease.tenant_id,
                                    lease_id=lease.id, issued_by=principal_of(request).user_id)
    return json({"binding_code": code, "expires_at": (now + ttl).isoformat()}, status=201)


@me_bp.get("", name="me_leases")
@access([Role.TENANT], response=R.MeLeases)
async def my_leases(request: Request):
    """The tenant's own leases."""
    principal = principal_of(request)
    leases = await Lease.filter(tenant_id=principal.tenant_id).select_related("unit").order_by("-start_date")
    return json({"items": [lease_body(lease) for lease in leases]})


@me_bp.get("/<lease_id:int>/statement", name="me_lease_statement")
@access([Role.TENANT], query=StatementQuery, response=R.MeLeaseStatement)
async def my_statement(request: Request, lease_id: int):
    """The tenant's statement of their own lease."""
    lease = await lease_for(request, lease_id)
    return json(await _statement(request, lease))
