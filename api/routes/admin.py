from __future__ import annotations

from datetime import timedelta

from pydantic import AwareDatetime, BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json

from accounts.choices import BindingPurpose, Role, StaffDuty
from accounts.permissions import AUDIT_READERS, USER_DEACTIVATORS
from accounts.service import create_staff, deactivate_user, issue_binding_code
from api import responses as R
from api.access import ADMINS, access, body_of, principal_of, query_of
from api.uploads import refuse_if_rejected, uploaded_file
from audit.service import AuditFilter, list_events
from core.errors import BadRequest, NotFound
from core.pagination import PageQuery, paginate
from core.pii import mask_phone
from models.accounts import User
from portfolio.importer import ImportFormatError, import_portfolio, read_rows

bp = Blueprint("admin", url_prefix="/admin")


class DutyIn(BaseModel):
    building_id: int
    duty: StaffDuty


class StaffIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: Role
    phone: str | None = Field(None, max_length=20)
    duties: list[DutyIn] = Field(default_factory=list, max_length=500)
    supervisor_id: int | None = None


class AuditQuery(PageQuery):
    action: str | None = Field(None, max_length=40, description='exact, or a prefix ending in "." (credential.)')
    actor_id: int | None = Field(None, ge=1, le=2**31 - 1)
    target_type: str | None = Field(None, max_length=32)
    target_id: str | None = Field(None, max_length=64)
    building_id: int | None = Field(None, ge=1, le=2**31 - 1)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class ImportQuery(BaseModel):
    format: str | None = Field(None, max_length=16)
    dry_run: bool = False


def serialize_user(user: User) -> dict:
    """The phone masked (PIPL): the admin API lists people; the full number is in the user's own record."""
    return {"id": user.id, "name": user.name, "role": user.role, "phone": mask_phone(user.phone),
            "is_active": user.is_active, "bound": bool(user.openid), "supervisor_id": user.supervisor_id}


@bp.post("/portfolio/import", name="admin_portfolio_import")
@access(ADMINS, note="CSV or JSON body (or multipart field 'file'); all rows or none", query=ImportQuery,
        response=R.AdminPortfolioImport, status=201, files=("file",))
async def portfolio_import(request: Request):
    query = query_of(request, ImportQuery)
    data, name, content_type = uploaded_file(request, what="the file")
    fmt = query.format or ("json" if name.endswith(".json") or "json" in content_type else "csv")
    try:
        rows = read_rows(data, fmt)
    except ImportFormatError as exc:
        raise BadRequest(str(exc), code="UNREADABLE_FILE") from None
    report = await import_portfolio(rows, dry_run=query.dry_run)
    refuse_if_rejected(report.as_dict())
    return json(report.as_dict(), status=200 if query.dry_run else 201)


@bp.get("/users", name="admin_users_list")
@access(ADMINS, query=PageQuery, response=R.AdminUsersList)
async def list_users(request: Request):
    query = query_of(request, PageQuery)
    return json(await paginate(User.all().order_by("id"), query, serialize_user))


@bp.post("/users", name="admin_users_create")
@access(ADMINS, body=StaffIn, response=R.AdminUsersCreate, status=201)
async def create_user(request: Request):
    body = body_of(request, StaffIn)
    user = await create_staff(name=body.name, role=body.role, phone=body.phone, supervisor_id=body.supervisor_id,
                              duties=[(d.building_id, d.duty) for d in body.duties],
                              actor=principal_of(request).user_id, now=request.app.ctx.clock.now())
    return json(serialize_user(user), status=201)


@bp.post("/users/<user_id:int>/binding-code", name="admin_users_binding_code")
@access(ADMINS, note="one-time code that binds a WeChat account to this staff member",
        response=R.AdminUsersBindingCode, status=201)
async def staff_binding_code(request: Request, user_id: int):
    user = await User.get_or_none(id=user_id)
    if user is None or user.role == Role.TENANT:
        raise NotFound("staff user not found")
    settings, now = request.app.ctx.settings, request.app.ctx.clock.now()
    ttl = timedelta(hours=settings.binding_code_ttl_hours)
    code = await issue_binding_code(purpose=BindingPurpose.STAFF, now=now, ttl=ttl, user=user,
                                    issued_by=principal_of(request).user_id)
    return json({"binding_code": code, "expires_at": (now + ttl).isoformat()}, status=201)


@bp.post("/users/<user_id:int>/deactivate", name="admin_users_deactivate")
@access(USER_DEACTIVATORS, note="revokes every API token and console session of the user; idempotent",
        response=R.AdminUsersDeactivate)
async def deactivate(request: Request, user_id: int):
    user = await deactivate_user(user_id, actor_id=principal_of(request).user_id, now=request.app.ctx.clock.now())
    return json(serialize_user(user))


@bp.get("/audit", name="admin_audit_list")
@access(AUDIT_READERS,
        note="newest first; filters: action (or a prefix ending in '.'), actor, target, building, time",
        query=AuditQuery, response=R.AdminAuditList)
async def audit_list(request: Request):
    """The append-only log of privileged actions: role and duty changes, deactivations, status overrides,
    waivers, credentials issued, exports."""
    query = query_of(request, AuditQuery)
    flt = AuditFilter(action=query.action, actor_id=query.actor_id, target_type=query.target_type,
                      target_id=query.target_id, building_id=query.building_id, since=query.since, until=query.until)
    return json(await list_events(flt, PageQuery(page=query.page, page_size=query.page_size)))
