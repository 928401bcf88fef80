"""The demo portfolio for ``make run``: two cities, three buildings, 36 units, staff of every role, leases.
Idempotent: a second run changes nothing. Domains may add their demo data via DEMO_EXTENSIONS."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from typing import Any

from accounts.choices import Role, StaffDuty
from accounts.service import create_staff
from core.clock import SystemClock
from leasing.service import OnSite, create_lease, hand_over_keys, sign_lease
from models.accounts import User
from models.portfolio import Unit
from portfolio.importer import import_portfolio
from workorders.choices import TriggerSource, WorkOrderType
from workorders.service import complete_open_orders

#: Modules exposing ``async def seed(now) -> None``, run after the base portfolio exists.
DEMO_EXTENSIONS: list[str] = ["leasing.demo", "arrears.demo", "refunds.demo", "occupancy.demo", "reconciliation.demo",
                              "leasehealth.demo"]
#: the residential leases cycle through the ways Chinese contracts state payment (the alias table resolves them)
DEMO_FREQUENCIES = ["月付", "季付", "两月一次", "押一付三", "半年付", "年付"]

BUILDINGS = [
    # city, city name, building code, name, address, lat, lng (WGS-84)
    ("SZ", "深圳", "SZ-NS-A", "南山科技园A栋", "深圳市南山区科技园科苑路15号", 22.5329, 113.9305),
    ("SZ", "深圳", "SZ-FT-B", "福田中心B座", "深圳市福田区福华三路88号", 22.5367, 114.0579),
    ("HZ", "杭州", "HZ-BJ-C", "滨江星光C幢", "杭州市滨江区江南大道1000号", 30.2084, 120.2120),
]
LAYOUT = [("RESIDENTIAL", "studio", "28.5"), ("RESIDENTIAL", "1b1b", "45.0"), ("RESIDENTIAL", "2b1b", "68.0"),
          ("SHOP", "shop", "80.0"), ("OFFICE", "office", "120.0"), ("WAREHOUSE", "warehouse", "300.0")]


def demo_rows() -> list[dict]:
    rows = []
    for city, city_name, code, name, address, lat, lng in BUILDINGS:
        for floor in (11, 12):
            for n, (ptype, utype, area) in enumerate(LAYOUT, start=1):
                rows.append({"city_code": city, "city_name": city_name, "building_code": code,
                             "building_name": name, "address": address, "lat": lat, "lng": lng,
                             "geofence_radius_m": 150, "unit_code": f"{code}-{floor}{n:02d}",
                             "unit_name": f"{floor}{n:02d}室", "property_type": ptype, "unit_type": utype,
                             "area_m2": area, "floor": floor})
    return rows


#: Console logins of the demo staff (dev mode only: production never gets a known password).
DEMO_PASSWORD = "rentwatch-demo"
DEMO_LOGINS = {"演示管理员": "admin", "演示总经理": "ceo", "深圳区域经理": "sz-manager",
               "深圳巡检员": "sz-inspector", "深圳财务": "sz-finance", "杭州区域经理": "hz-manager",
               "杭州巡检员": "hz-inspector", "杭州财务": "hz-finance"}


async def demo_console_logins(now: datetime) -> None:
    """Give the demo staff their console logins (idempotent; only users without a password yet)."""
    from accounts.service import set_password

    for name, login in DEMO_LOGINS.items():
        user = await User.filter(name=name, login__isnull=True).first()
        if user is not None and not await User.filter(login=login).exists():
            await set_password(user, DEMO_PASSWORD, now=now, login=login)


async def seed_demo(now: datetime | None = None, *, dev_passwords: bool = False) -> None:
    """``now``: the clock reading to seed at (tests inject one); the system clock by default. ``dev_passwords``:
    give the demo staff console passwords (``rentwatch demo-seed`` does in dev mode only)."""
    if await User.filter(role=Role.ADMIN, name="演示管理员").exists():
        print("demo data already present")
        if dev_passwords:
            await demo_console_logins(now or SystemClock().now())
        await print_logins(dev_passwords)
        return
    now = now or SystemClock().now()
    report = await import_portfolio(demo_rows())
    print(f"portfolio: {report.created}")
    from models.portfolio import Building

    buildings = {b.code: b for b in await Building.all()}
    await create_staff(name="演示管理员", role=Role.ADMIN, phone="13900000000")
    await create_staff(name="演示总经理", role=Role.EXECUTIVE)
    sz = [buildings["SZ-NS-A"].id, buildings["SZ-FT-B"].id]
    hz = [buildings["HZ-BJ-C"].id]
    managers = {}
    for region, ids in (("深圳", sz), ("杭州", hz)):
        managers[region] = await create_staff(name=f"{region}区域经理", role=Role.MANAGER,
                                              duties=[(i, StaffDuty.MANAGER) for i in ids])
        await create_staff(name=f"{region}巡检员", role=Role.INSPECTOR, supervisor_id=managers[region].id,
                           duties=[(i, StaffDuty.INSPECTOR) for i in ids])
        await create_staff(name=f"{region}财务", role=Role.FINANCE, supervisor_id=managers[region].id,
                           duties=[(i, StaffDuty.FINANCE) for i in ids])
    # Lease every second residential/office unit; the ones ending soon exercise the expiry reminders.
    today = now.date()
    units = await Unit.filter(property_type__in=["RESIDENTIAL", "OFFICE"]).order_by("code")
    for i, unit in enumerate(units[::2]):
        end = today + timedelta(days=[25, 55, 85, 200, 365][i % 5])
        frequency = DEMO_FREQUENCIES[i % len(DEMO_FREQUENCIES)]
        deposit: dict[str, Any] = {} if frequency.startswith("押") else {"deposit_fen": 700000}
        lease = await create_lease(unit=unit, tenant_name=f"演示租户{i + 1}", tenant_phone=f"1380000{i:04d}",
                                   start_date=end - timedelta(days=364), end_date=end,
                                   monthly_rent_fen=350000 + i * 10000, payment_frequency=frequency, **deposit)
        manager = managers["深圳" if unit.building_id in sz else "杭州"]
        await sign_lease(lease.id, now=now, actor_id=manager.id)
        if i % 6 != 5:  # most tenants have moved in; a few units still await delivery (and their cleaning)
            # they moved in, so the pre-delivery cleaning opened at signing was done, and the keys handed over
            await complete_open_orders(unit.id, WorkOrderType.CLEANING, TriggerSource.LEASE_SIGNED, now=now,
                                       note="demo: cleaned before the tenant moved in", actor_id=manager.id)
            await hand_over_keys(lease.id, now=now, actor_id=manager.id,
                                 on_site=OnSite(inside=True, distance_m=12.0, radius_m=150, accuracy_m=10,
                                                captured_at=now), note="demo")
        await User.create(name=f"演示租户{i + 1}", role=Role.TENANT, tenant_id=lease.tenant_id)
    for module_name in DEMO_EXTENSIONS:
        await importlib.import_module(module_name).seed(now)
    if dev_passwords:
        await demo_console_logins(now)
    await print_logins(dev_passwords)


async def print_logins(dev_passwords: bool = False) -> None:
    print("demo users (POST /api/v1/auth/dev-login {\"user_id\": N} with RW_DEV_LOGIN=1):")
    for user in await User.all().order_by("id").limit(20):
        print(f"  {user.id:>3}  {user.role:<10} {user.name}" + (f"  console login: {user.login}" if user.login else ""))
    if dev_passwords:
        print(f"console: http://127.0.0.1:8000/console/login — demo staff password (dev mode only): {DEMO_PASSWORD}")


