"""Who is asking, and which buildings' data they may see (一线员工仅见负责楼宇数据)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from accounts.choices import PORTFOLIO_WIDE_ROLES, STAFF_ROLES, Role
from core.errors import Forbidden, NotFound


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
