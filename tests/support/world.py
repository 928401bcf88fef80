"""A small portfolio for tests: two buildings (A, B) in two cities, staff of every role, units, a signed
lease with its tenant user per building. Domains add their own objects through WORLD_EXTENSIONS so the
route × role scope test can reach every resource of both buildings."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from accounts.choices import Role, StaffDuty
from accounts.tokens import issue_token
from api.access import ACCESS_TOKEN
from leasing.choices import PaymentFrequency
from leasing.service import create_lease, sign_lease
from models.accounts import User
from models.portfolio import Building, BuildingStaff, City, Unit
from portfolio.choices import PropertyType

JWT_SECRET = "test-jwt-secret-0123456789abcdef"

#: Modules (under tests.support) exposing ``async def extend_world(world, side, now)``.
WORLD_EXTENSIONS: list[str] = ["world_core", "world_inspections", "world_refunds", "world_iot", "world_console",
                               "world_ledger", "world_occupancy", "world_reconciliation", "world_arrears",
                               "world_payments"]

# Shenzhen Nanshan (A) and Hangzhou Binjiang (B), WGS-84.
SITES: dict[str, dict[str, Any]] = {
    "A": {"city": ("SZ", "深圳"), "code": "SZ-NS-A", "name": "南山A栋", "lat": 22.5329, "lng": 113.9305},
    "B": {"city": ("HZ", "杭州"), "code": "HZ-BJ-B", "name": "滨江B座", "lat": 30.2084, "lng": 120.2120},
}


@dataclass
class Side:
    label: str
    city: City
    building: Building
    units: list[Unit]
    manager: User
    inspector: User
    finance: User
    tenant_user: User
    lease: Any
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def unit(self) -> Unit:
        return self.units[0]

    @property
    def occupied_unit(self) -> Unit:
        return self.units[1]

    def staff(self, role: Role) -> User:
        return {Role.MANAGER: self.manager, Role.INSPECTOR: self.inspector, Role.FINANCE: self.finance,
                Role.TENANT: self.tenant_user}[role]


@dataclass
class World:
    a: Side
    b: Side
    admin: User
    executive: User
    now: datetime
    console: dict[int, tuple[str, str]] = field(default_factory=dict)  # user id → (session cookie, CSRF token)

    def token(self, user: User, *, secret: str = JWT_SECRET) -> str:
        return issue_token(secret=secret, subject=str(user.id), kind=ACCESS_TOKEN, now=self.now,
                           ttl_seconds=3600, extra={"ver": user.token_version})

    def auth(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def console_auth(self, user: User) -> dict[str, str]:
        from tests.support.world_console import console_headers

        return console_headers(self, user)

    def user_for(self, role: Role, side: str = "a") -> User:
        if role == Role.ADMIN:
            return self.admin
        if role == Role.EXECUTIVE:
            return self.executive
        return getattr(self, side).staff(role)


async def build_side(label: str, now: datetime) -> Side:
    site = SITES[label]
    city = await City.create(code=site["city"][0], name=site["city"][1])
    building = await Building.create(city=city, code=site["code"], name=site["name"], address=f"{site['name']}地址",
                                     lat=site["lat"], lng=site["lng"], geofence_radius_m=150)
    units = []
    for n, (ptype, utype) in enumerate([(PropertyType.RESIDENTIAL, "1b1b"), (PropertyType.RESIDENTIAL, "2b1b"),
                                        (PropertyType.SHOP, "shop"), (PropertyType.OFFICE, "office")], start=1):
        units.append(await Unit.create(building=building, code=f"{site['code']}-{1200 + n}",
                                       name=f"{1200 + n}室", property_type=ptype, unit_type=utype,
                                       area_m2=Decimal("45.50"), floor=12))
    manager = await User.create(name=f"经理{label}", role=Role.MANAGER)
    inspector = await User.create(name=f"巡检{label}", role=Role.INSPECTOR, supervisor=manager)
    finance = await User.create(name=f"财务{label}", role=Role.FINANCE, supervisor=manager)
    for user, duty in ((manager, StaffDuty.MANAGER), (inspector, StaffDuty.INSPECTOR), (finance, StaffDuty.FINANCE)):
        await BuildingStaff.create(building=building, user=user, duty=duty)
    lease = await create_lease(unit=units[1], tenant_name=f"租户{label}", tenant_phone="13800000000",
                               start_date=date(2026, 1, 1), end_date=date(2027, 12, 31), monthly_rent_fen=450000,
                               deposit_fen=900000, payment_frequency=PaymentFrequency.MONTHLY)
    await sign_lease(lease.id, now=now, actor_id=manager.id)
    tenant_user = await User.create(name=f"租户{label}", role=Role.TENANT, tenant_id=lease.tenant_id)
    units = [await Unit.get(id=u.id) for u in units]
    return Side(label=label, city=city, building=building, units=units, manager=manager, inspector=inspector,
                finance=finance, tenant_user=tenant_user, lease=lease)


ExtendFn = Callable[[World, Side, datetime], Awaitable[None]]


async def build_world(now: datetime) -> World:
    a = await build_side("A", now)
    b = await build_side("B", now)
    admin = await User.create(name="管理员", role=Role.ADMIN)
    executive = await User.create(name="总经理", role=Role.EXECUTIVE)
    world = World(a=a, b=b, admin=admin, executive=executive, now=now)
    for module_name in WORLD_EXTENSIONS:
        module = importlib.import_module(f"tests.support.{module_name}")
        for side in (a, b):
            await module.extend_world(world, side, now)
    return world
