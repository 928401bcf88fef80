"""Who is asking, and which buildings' data they may see (一线员工仅见负责楼宇数据)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, TypeVar, cast

from accounts.choices import PORTFOLIO_WIDE_ROLES, STAFF_ROLES, Role
from core.errors import Forbidden, NotFound

if TYPE_CHECKING:
    from tortoise.models import Model

_ScopedModel = TypeVar("_ScopedModel", bound="Model")


@dataclass(frozen=True)
class Principal:
    user_id: int
    role: Role
    name: str
    building_ids: frozenset[int] | None  # None: every building
    tenant_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_tenant(self) -> bool:
        return self.role == Role.TENANT

    @property
    def sees_all_buildings(self) -> bool:
        return self.building_ids is None

    def can_see_building(self, building_id: int | None) -> bool:
        if not self.is_staff:
            return False
        return self.building_ids is None or building_id in self.building_ids

    def require_building(self, building_id: int | None, what: str = "resource") -> None:
        """Out-of-scope objects answer 404, so their existence is not disclosed."""
        if not self.can_see_building(building_id):
            raise NotFound(f"{what} not found")

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this", details={"allowed_roles": sorted(roles)})

    def building_filter(self, field: str = "building_id") -> dict:
        """Keyword filter restricting a queryset to this principal's buildings (staff only)."""
        if self.building_ids is None:
            return {}
        return {f"{field}__in": list(self.building_ids)}


async def load_principal(user) -> Principal:
    from models.portfolio import BuildingStaff

    role = Role(user.role)
    if role in PORTFOLIO_WIDE_ROLES:
        buildings: frozenset[int] | None = None
    elif role in STAFF_ROLES:
        ids = cast(list[int], await BuildingStaff.filter(user_id=user.id).values_list("building_id", flat=True))
        buildings = frozenset(ids)
    else:
        buildings = frozenset()
    return Principal(user_id=user.id, role=role, name=user.name, building_ids=buildings,
                     tenant_id=user.tenant_id)


@dataclass(frozen=True)
class Account:
    """A user's principal with what a token is checked against (``api.access.authenticate``)."""

    principal: Principal
    is_active: bool
    token_version: int


@cache
def _account_statement(postgres: bool) -> str:
    from core import sql
    from models.accounts import User
    from models.portfolio import BuildingStaff

    u, s = sql.names(User), sql.names(BuildingStaff)
    buildings = "json_agg" if postgres else "json_group_array"
    return (f"SELECT u.{u.role} AS role, u.{u.name} AS name, u.{u.tenant_id} AS tenant_id, "
            f"u.{u.is_active} AS is_active, u.{u.token_version} AS token_version, "
            f"(SELECT {buildings}(s.{s.building_id}) FROM {s} AS s WHERE s.{s.user_id} = "
            f"u.{u.id}) AS building_ids FROM {u} AS u WHERE u.{u.id} = ?")


async def load_account(user_id: int) -> Account | None:
    """``load_principal`` of user ``user_id`` read in one statement (the user and their building duties), no model
    instances: an uncached request's authentication costs one round trip. None: no such user."""
    from tortoise.connection import get_connection

    from core import sql

    conn = get_connection("default")
    rows = await sql.read(conn, _account_statement(sql.is_postgres(conn)), [user_id])
    if not rows:
        return None
    row = rows[0]
    role = Role(row["role"])
    if role in PORTFOLIO_WIDE_ROLES:
        scope: frozenset[int] | None = None
    elif role in STAFF_ROLES:
        scope = frozenset(json.loads(row["building_ids"]) if row["building_ids"] else ())
    else:
        scope = frozenset()
    principal = Principal(user_id=user_id, role=role, name=row["name"], building_ids=scope,
                          tenant_id=row["tenant_id"])
    return Account(principal=principal, is_active=bool(row["is_active"]), token_version=row["token_version"])


async def get_in_scope(principal: Principal, model: type[_ScopedModel], pk: int, what: str) -> _ScopedModel:
    """A row of a building-scoped model (one with ``building_id``) by its id: 404 when there is none, 403 when its
    building is outside the caller's scope. API routes and console views look their objects up through this."""
    row = await model.get_or_none(id=pk)
    if row is None:
        raise NotFound(f"{what} not found")
    principal.require_building(row.building_id, what)  # type: ignore[attr-defined]
    return row
