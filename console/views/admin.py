"""Staff administration: invite staff (login + a one-time initial password), set roles and building duties,
reset a password."""

from __future__ import annotations

import secrets

from pydantic import BaseModel, Field
from sanic import Blueprint, Request

from accounts.choices import STAFF_ROLES, Role, StaffDuty
from accounts.service import create_staff, set_password, update_staff
from console.access import console_access
from console.lists import Column, ListQuery, link, order_by, paginate, xlsx_response
from console.rendering import page
from console.roles import STAFF_ADMINS
from console.views.common import form_data, now_of, principal_of, settings_of
from core.errors import NotFound
from core.validation import parse_query, validate
from models.accounts import User
from models.portfolio import Building, BuildingStaff

bp = Blueprint("console_admin", url_prefix="/console/admin")
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


def temporary_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(14))


class StaffQuery(ListQuery):
    role: Role | None = None
    q: str | None = Field(None, max_length=64)


class StaffIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    login: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    role: Role
    phone: str | None = Field(None, max_length=20)
    supervisor_id: int | None = Field(None, ge=1)
    duty: list[str] = Field(default_factory=list, max_length=2000)  # "building_id:DUTY"


class StaffEditIn(BaseModel):
    role: Role
    supervisor_id: int | None = Field(None, ge=1)
    duty: list[str] = Field(default_factory=list, max_length=2000)


COLUMNS = [Column("id", "编号", sort="id"), Column("name", "姓名", sort="name"),
           Column("login", "登录名", sort="login"),
           Column("role", "角色", sort="role,name"), Column("buildings", "负责楼宇"),
           Column("is_active", "启用", export=lambda r: "是" if r["is_active"] else "否")]


def parse_duties(values: list[str]) -> list[tuple[int, StaffDuty]]:
    duties = []
    for value in values:
        building, _, duty = value.partition(":")
        if building.isdigit() and duty in StaffDuty.__members__:
            duties.append((int(building), StaffDuty(duty)))
    return duties


def _form(request: Request) -> dict:
    data = form_data(request)
    data["duty"] = list(request.form.getlist("duty")) if request.form else []
    if not data.get("supervisor_id"):
        data["supervisor_id"] = None
    return data


async def _page(request: Request, *, created: dict | None = None, status: int = 200):
    query = parse_query(StaffQuery, request.args)
    qs = User.filter(role__in=list(STAFF_ROLES))
    if query.role:
        qs = qs.filter(role=query.role)
    if query.q:
        qs = qs.filter(name__icontains=query.q)
    qs = qs.order_by(*order_by(COLUMNS, query.sort, ["id"]))
    settings = settings_of(request)
    result = await paginate(qs, query, settings.console_page_size, export_max=settings.console_export_max_rows)
    buildings = {b.id: b for b in await Building.all().order_by("code")}
    duties: dict[int, list[tuple[int, str]]] = {}
    for row in await BuildingStaff.filter(user_id__in=[u.id for u in result.rows]).values_list(
            "user_id", "building_id", "duty"):
        duties.setdefault(row[0], []).append((row[1], str(row[2])))
    rows = [{"user": u, "id": u.id, "name": u.name, "login": u.login, "role": u.role, "is_active": u.is_active,
             "duties": duties.get(u.id, []),
             "buildings": "、".join(f"{buildings[b].name}({d})" for b, d in duties.get(u.id, []) if b in buildings)}
            for u in result.rows]
    if query.format == "xlsx":
        return await xlsx_response(request, "员工", COLUMNS, rows, "staff.xlsx")
    managers = await User.filter(role__in=[Role.MANAGER, Role.EXECUTIVE, Role.ADMIN]).order_by("name")
    return await page(request, "admin_staff.html", status=status, query=query, result=result, rows=rows,
                      columns=COLUMNS, buildings=list(buildings.values()), roles=sorted(STAFF_ROLES),
                      duties=list(StaffDuty), managers=managers, created=created,
                      link=lambda **kw: link("/console/admin/staff", query, **kw))


@bp.get("/staff", name="staff")
@console_access(STAFF_ADMINS)
async def staff(request: Request):
    """Staff list with roles and building duties."""
    return await _page(request)


@bp.post("/staff", name="staff_invite")
@console_access(STAFF_ADMINS)
async def staff_invite(request: Request):
    """Invite a staff member: a login and a one-time initial password shown once."""
    body = validate(StaffIn, _form(request))
    user = await create_staff(name=body.name, role=body.role, phone=body.phone, supervisor_id=body.supervisor_id,
                              duties=parse_duties(body.duty), actor=principal_of(request).user_id,
                              now=now_of(request))
    password = temporary_password()
    await set_password(user, password, now=now_of(request), login=body.login, actor=principal_of(request).user_id)
    return await _page(request, created={"name": user.name, "login": body.login.lower(), "password": password},
                       status=201)


@bp.post("/staff/<user_id:int>", name="staff_update")
@console_access(STAFF_ADMINS)
async def staff_update(request: Request, user_id: int):
    """Change a staff member's role, supervisor and building duties."""
    body = validate(StaffEditIn, _form(request))
    await update_staff(user_id, role=body.role, duties=parse_duties(body.duty), supervisor_id=body.supervisor_id,
                       actor=principal_of(request).user_id, now=now_of(request))
    return await _page(request)


@bp.post("/staff/<user_id:int>/password", name="staff_password")
@console_access(STAFF_ADMINS)
async def staff_password(request: Request, user_id: int):
    """Reset a staff member's password to a new one-time password shown once (unlocks the account)."""
    user = await User.get_or_none(id=user_id)
    if user is None or user.role not in STAFF_ROLES:
        raise NotFound("staff user not found")
    password = temporary_password()
    user = await set_password(user, password, now=now_of(request), login=user.login or f"user{user.id}",
                              actor=principal_of(request).user_id)
    return await _page(request, created={"name": user.name, "login": user.login, "password": password})
