"""A planted portfolio for the occupancy tests: every definition case and every audit difference kind on known
units, built through the real services (leases signed or activated, payments recorded, statuses changed,
flags recorded). Day D = 2026-11-01 (Shanghai); the facts are dated in October."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from leasing.ledger import record_payment
from leasing.service import activate_in_force, create_lease, sign_lease
from models.accounts import User
from models.leasing import Lease
from models.portfolio import Building, City, Unit
from occupancy.choices import FlagKind
from occupancy.service import FlagIn, add_flag
from portfolio.choices import PropertyType, StatusSource, UnitStatus
from portfolio.service import change_unit_status

D = date(2026, 11, 1)
SIGNED_AT = datetime(2026, 9, 20, 2, 0, tzinfo=UTC)
PAID_AT = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)
RENT, DEPOSIT = 300000, 600000


@dataclass
class Planted:
    units: dict[str, Unit] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    buildings: dict[str, Building] = field(default_factory=dict)
    cities: dict[str, City] = field(default_factory=dict)


async def _lease(p: Planted, code: str, *, start=date(2026, 10, 1), end=date(2027, 9, 30), active=True,
                 paid=True) -> Lease:
    unit = p.units[code]
    lease = await create_lease(unit=unit, tenant_name=f"租户{code}", tenant_phone=f"139{len(p.leases):08d}",
                               start_date=start, end_date=end, monthly_rent_fen=RENT, deposit_fen=DEPOSIT)
    if active:  # a tenancy entered as in force on its first day
        started = datetime.combine(start, time(10, 0), ZoneInfo("Asia/Shanghai"))
        lease = await activate_in_force(lease.id, now=started, actor_id=None)
    else:
        lease, _ = await sign_lease(lease.id, now=SIGNED_AT, actor_id=None)
    if paid:
        await record_payment(lease_id=lease.id, amount_fen=RENT + DEPOSIT, paid_at=PAID_AT, method="BANK_TRANSFER",
                             now=PAID_AT, external_ref=f"test:{code}")
    p.leases[code] = await Lease.get(id=lease.id)
    return p.leases[code]


async def build_planted() -> Planted:
    p = Planted()
    sites = {"A": ("SZ", "深圳", "SZ-OC-A", "南山A", 22.53, 113.93),
             "B": ("HZ", "杭州", "HZ-OC-B", "滨江B", 30.2, 120.2)}
    for key, (ccode, cname, bcode, bname, lat, lng) in sites.items():
        p.cities[key] = await City.create(code=ccode, name=cname)
        p.buildings[key] = await Building.create(city=p.cities[key], code=bcode, name=bname, lat=lat, lng=lng)
    specs = {  # code: building, unit type, property type, area
        "A01": ("A", "1b1b", PropertyType.RESIDENTIAL, "40"), "A02": ("A", "3b2b", PropertyType.RESIDENTIAL, "100"),
        "A03": ("A", "1b1b", PropertyType.RESIDENTIAL, "40"), "A04": ("A", "studio", PropertyType.RESIDENTIAL, "25"),
        "A05": ("A", "1b1b", PropertyType.RESIDENTIAL, "40"), "A06": ("A", "1b1b", PropertyType.RESIDENTIAL, "40"),
        "A07": ("A", "shop", PropertyType.SHOP, "80"),
        "B01": ("B", "office", PropertyType.OFFICE, "200"), "B02": ("B", "office", PropertyType.OFFICE, "200"),
        "B03": ("B", "office", PropertyType.OFFICE, "150"), "B04": ("B", "office", PropertyType.OFFICE, "150"),
        "B05": ("B", "office", PropertyType.OFFICE, "150"),
    }
    for code, (b, utype, ptype, area) in specs.items():
        p.units[code] = await Unit.create(building=p.buildings[b], code=f"OC-{code}", property_type=ptype,
                                          unit_type=utype, area_m2=Decimal(area), compliant_rentable=code != "B03")
    await _lease(p, "A01")  # effective
    await _lease(p, "A02")  # effective, large
    await _lease(p, "A03", active=False, paid=False)  # signed, first rent unpaid, PENDING_DELIVERY
    await _lease(p, "A04", start=date(2026, 10, 25), end=date(2026, 11, 7))  # a paid short stay (14 days)
    # A05: vacant
    await change_unit_status(p.units["A06"].id, UnitStatus.TRIAL_STAY, source=StatusSource.ADMIN, now=SIGNED_AT,
                             reason="试住")
    await _lease(p, "A07")  # a partnership swap: flagged on its lease
    await add_flag(p.units["A07"], FlagIn(kind=FlagKind.PARTNERSHIP_SWAP, valid_from=date(2026, 10, 1),
                                          reason="与合作方置换", reference="HZ-2026-07", lease_id=p.leases["A07"].id),
                   actor_id=None)
    await _lease(p, "B01")  # effective
    await change_unit_status(p.units["B02"].id, UnitStatus.INTERNAL_USE, source=StatusSource.ADMIN, now=SIGNED_AT,
                             reason="办公自用")
    # B03: non-compliant; B04, B05: vacant
    for code in p.units:
        p.units[code] = await Unit.get(id=p.units[code].id)
    return p


async def plant_differences(p: Planted) -> None:
    """Four more units in building B, one per audit difference kind (A03, signed 2026-09-20 and still waiting for
    delivery, is the fifth: PENDING_DELIVERY for more than 30 days by 2026-10-31)."""
    import uuid

    from inspections.choices import CoordSystem, ReportCategory, ReportState
    from models.inspections import StatusReport
    from models.iot import OccupancyDay

    b = p.buildings["B"]
    for code in ("B06", "B07", "B08", "B09"):
        p.units[code] = await Unit.create(building=b, code=f"OC-{code}", property_type=PropertyType.OFFICE,
                                          unit_type="office", area_m2=Decimal("100"))
    # B06: OCCUPIED but no lease (the move-out or the lease was never recorded)
    for status in (UnitStatus.PENDING_DELIVERY, UnitStatus.OCCUPIED):
        await change_unit_status(p.units["B06"].id, status, source=StatusSource.ADMIN, now=SIGNED_AT, reason="t")
    # B07: VACANT but its signed lease's first rent is paid (the delivery was never recorded)
    await _lease(p, "B07", active=False, paid=True)
    await change_unit_status(p.units["B07"].id, UnitStatus.VACANT, source=StatusSource.ADMIN, now=SIGNED_AT,
                             reason="t")
    # B08: VACANT but the sensors say lived in on four days
    for day in (28, 29, 30, 31):
        await OccupancyDay.create(unit_id=p.units["B08"].id, day=date(2026, 10, day), state="OCCUPIED_LIKE",
                                  evidence={})
    # B09: VACANT, an inspection says OCCUPIED and nobody confirmed or rejected it
    unit = p.units["B09"]
    inspector = await User.create(name="巡检B", role="INSPECTOR")
    await StatusReport.create(
        client_id=uuid.uuid4(), content_hash="0" * 64, unit_id=unit.id, author_id=inspector.id,
        category=ReportCategory.STATUS_UPDATE, requested_status=UnitStatus.OCCUPIED, observed_status=UnitStatus.VACANT,
        state=ReportState.PENDING_CONFIRMATION, initial_result="PENDING_CONFIRMATION", lat=b.lat, lng=b.lng,
        coord_system=CoordSystem.WGS84, accuracy_m=10, wgs84_lat=b.lat, wgs84_lng=b.lng, distance_m=0,
        captured_at=datetime(2026, 10, 20, 2, 0, tzinfo=UTC), base_status_version=1)
    for code in p.units:
        p.units[code] = await Unit.get(id=p.units[code].id)
