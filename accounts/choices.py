from enum import StrEnum


class Role(StrEnum):
    INSPECTOR = "INSPECTOR"  # 运营专员 / 巡检员
    MANAGER = "MANAGER"  # 区域经理
    FINANCE = "FINANCE"  # 财务
    ADMIN = "ADMIN"
    EXECUTIVE = "EXECUTIVE"
    TENANT = "TENANT"


STAFF_ROLES = frozenset({Role.INSPECTOR, Role.MANAGER, Role.FINANCE, Role.ADMIN, Role.EXECUTIVE})
#: Roles that see every building; everyone else is scoped to the buildings they are assigned to.
PORTFOLIO_WIDE_ROLES = frozenset({Role.ADMIN, Role.EXECUTIVE})


class BindingPurpose(StrEnum):
    STAFF = "STAFF"
    TENANT = "TENANT"


class StaffDuty(StrEnum):
    """What a staff member is responsible for in a building (also defines their scope)."""

    MANAGER = "MANAGER"
    INSPECTOR = "INSPECTOR"
    FINANCE = "FINANCE"
