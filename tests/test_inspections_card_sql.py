"""The scan's one-statement card (inspections.card_sql) gives the same JSON as the ORM reading (``card_facts``),
byte for byte, for every role that can scan, over units with and without leases, work orders, alerts and reports
(lists over their limits, ties, times with and without microseconds and in other offsets, text that needs
escaping). Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from accounts.permissions import STAFF
from alerts.choices import OPEN_ALERT_STATUSES, AlertSeverity, AlertStatus
from api.app import create_app
from core.changes import InvalidatingCache
from inspections.card_sql import ALERT_LIMIT, PENDING_LIMIT, WORK_ORDER_LIMIT, read_card
from inspections.choices import CoordSystem, ReportCategory, ReportState
from inspections.onsite import OnSiteLimits
from inspections.service import CachedCard, card_facts, facts_of, load_site
from leasing.choices import LeaseStatus
from models.alerts import Alert
from models.inspections import StatusReport
from models.leasing import Lease, Tenant
from models.portfolio import Unit
from models.workorders import WorkOrder
from portfolio.choices import PropertyType, UnitStatus
from tests.support.asgi import AppClient
from tests.support.inspections_helpers import sticker
from workorders.choices import TriggerSource, WorkOrderStatus, WorkOrderType

CST = timezone(timedelta(hours=8))
ODD = 'quote " backslash \\ tab \t 中文 🏠 </script>'
_serial = iter(range(1, 10_000))


async def _lease(unit: Unit, status: LeaseStatus, start: date, tenant_name: str = "租户") -> Lease:
    tenant = await Tenant.create(name=tenant_name)
    return await Lease.create(unit=unit, tenant=tenant, start_date=start, end_date=start + timedelta(days=364),
                              monthly_rent_fen=300000, deposit_fen=600000, status=status)


async def _order(unit: Unit, status: WorkOrderStatus, due: datetime, title: str = "保洁") -> WorkOrder:
    return await WorkOrder.create(type=WorkOrderType.CLEANING, unit=unit, building_id=unit.building_id, title=title,
                                  trigger_source=TriggerSource.MANUAL, trigger_ref=f"card-{next(_serial)}",
                                  status=status, due_at=due)


async def _alert(unit: Unit, status: AlertStatus, first: datetime, last: datetime,
                 kind: str = "DOOR_ACTIVITY") -> Alert:
    n = next(_serial)
    severity = AlertSeverity.CRITICAL if n % 2 else AlertSeverity.WARNING
    return await Alert.create(type=f"{kind}_{n}", unit=unit, building_id=unit.building_id, status=status,
                              severity=severity, first_seen=first, last_seen=last,
                              open_key=f"card-{n}" if status in OPEN_ALERT_STATUSES else None)


async def _report(unit: Unit, author_id: int, state: ReportState, at: datetime, *, deadline: datetime | None = None,
                  requested: UnitStatus | None = None) -> StatusReport:
    return await StatusReport.create(
        client_id=uuid.uuid4(), content_hash="0" * 64, unit_id=unit.id, author_id=author_id,
        category=ReportCategory.ROUTINE if requested is None else ReportCategory.STATUS_UPDATE,
        requested_status=requested, no_change=requested is None, observed_status=unit.status, state=state,
        lat=22.5, lng=113.9, coord_system=CoordSystem.WGS84, accuracy_m=10, wgs84_lat=22.5, wgs84_lng=113.9,
        distance_m=0, captured_at=at, confirm_deadline=deadline)


async def varied_units(world) -> list[Unit]:
    """Units of building A that exercise every part of the card, besides the world's own."""
    a, now = world.a, world.now
    author = a.inspector.id

    def unit(code: str, **kw) -> Unit:
        return Unit(building=a.building, code=f"{a.building.code}-{code}", property_type=PropertyType.RESIDENTIAL,
                    area_m2=Decimal("30"), **kw)

    bare = unit("BARE", name=ODD, unit_type="", floor=None, lat=22.5301, lng=113.9311)
    busy = unit("BUSY", name="忙", unit_type="2b1b", floor=-1, status=UnitStatus.OCCUPIED, status_version=7,
                last_inspected_at=now.replace(microsecond=999999).astimezone(CST))
    ties = unit("TIES", name="并列", floor=3, last_inspected_at=now.replace(microsecond=0))
    for u in (bare, busy, ties):
        await u.save()

    # busy: a live lease among others, more open work orders and alerts than the card shows, reports of every state
    await _lease(busy, LeaseStatus.ENDED, date(2026, 6, 1))
    await _lease(busy, LeaseStatus.DRAFT, date(2027, 6, 1))
    await _lease(busy, LeaseStatus.ACTIVE, date(2025, 6, 1), tenant_name=ODD)
    await _lease(busy, LeaseStatus.SIGNED, date(2026, 1, 1), tenant_name="签约租户")
    for i in range(WORK_ORDER_LIMIT + 3):
        status = (WorkOrderStatus.OPEN, WorkOrderStatus.ASSIGNED, WorkOrderStatus.IN_PROGRESS)[i % 3]
        due = (now + timedelta(hours=i // 2, microseconds=i * 137)).astimezone(CST if i % 2 else UTC)
        await _order(busy, status, due.replace(microsecond=0) if i % 4 == 0 else due, title=f"{ODD} {i}")
    for status in (WorkOrderStatus.DONE, WorkOrderStatus.VERIFIED, WorkOrderStatus.CANCELLED):
        await _order(busy, status, now - timedelta(days=1))
    for i in range(ALERT_LIMIT + 2):
        first, last = now - timedelta(days=3, minutes=i), now - timedelta(minutes=(i // 3) * 7, microseconds=i)
        await _alert(busy, (AlertStatus.ACTIVE, AlertStatus.ACKNOWLEDGED)[i % 2], first, last)
    for closed in (AlertStatus.RESOLVED, AlertStatus.CLEARED):
        await _alert(busy, closed, now - timedelta(days=5), now)
    for i, state in enumerate([ReportState.ACCEPTED, ReportState.CONFIRMED, ReportState.REJECTED, ReportState.EXPIRED,
                               ReportState.CONFLICT, ReportState.AWAITING_MEDIA]):
        await _report(busy, author, state, (now - timedelta(hours=10 + i, microseconds=i)).astimezone(CST),
                      requested=UnitStatus.OFF_MARKET if i % 2 else None)
    for i in range(PENDING_LIMIT + 2):
        state = ReportState.PENDING_CONFIRMATION if i % 3 else ReportState.HELD_FOR_REVIEW
        at = now - timedelta(minutes=i * 11, microseconds=0 if i % 2 else 500)
        await _report(busy, author, state, at, deadline=(at + timedelta(hours=72)) if i % 4 else None,
                      requested=UnitStatus.UNDER_REPAIR if i % 2 else None)

    # ties: two live leases starting the same day, work orders, alerts and reports at the same instant
    await _lease(ties, LeaseStatus.SIGNED, date(2026, 3, 1), tenant_name="甲")
    await _lease(ties, LeaseStatus.SIGNED, date(2026, 3, 1), tenant_name="乙")
    for _ in range(3):
        await _order(ties, WorkOrderStatus.OPEN, now + timedelta(days=1))
        await _alert(ties, AlertStatus.ACTIVE, now - timedelta(days=1), now)
        await _report(ties, author, ReportState.CONFIRMED, now - timedelta(hours=1), requested=UnitStatus.VACANT)
        await _report(ties, author, ReportState.PENDING_CONFIRMATION, now - timedelta(minutes=5),
                      deadline=now + timedelta(days=3))
    return [bare, busy, ties]


def scanners(world, side: str) -> list:
    """A user of every role that can scan, in scope of ``side``'s building."""
    return [world.user_for(role, side) for role in sorted(STAFF)]


async def reference_body(code: str, role, settings) -> bytes:
    """Today's card: read through the ORM (``card_facts``) and composed for ``role``."""
    site = await load_site(code)
    facts = await card_facts(site, OnSiteLimits.from_settings(settings))
    return CachedCard(building_id=site.unit.building_id, qr_version=site.unit.qr_version,
                      facts=facts).body_for(role)


@pytest.fixture
async def cards_world(world):
    extra = await varied_units(world)
    units = [*world.a.units, *extra, *world.b.units]
    return world, [(u, "b" if u.building_id == world.b.building.id else "a") for u in units]


async def test_the_statement_reads_the_same_facts_as_the_orm(cards_world, settings):
    world, units = cards_world
    limits = OnSiteLimits.from_settings(settings)
    for unit, _ in units:
        row = await read_card(unit.code)
        assert row is not None
        assert (row.unit_id, row.building_id, row.qr_version) == (unit.id, unit.building_id, unit.qr_version)
        assert facts_of(row, limits) == await card_facts(await load_site(unit.code), limits), unit.code
    assert await read_card("NO-SUCH-UNIT") is None


async def test_the_busy_unit_shows_full_lists_and_the_newest_live_lease(cards_world, settings):
    """The world does reach the limits and the orderings the equality test relies on."""
    world, _ = cards_world
    row = await read_card(f"{world.a.building.code}-BUSY")
    assert row is not None
    facts = row.facts
    assert facts["lease"]["status"] == "SIGNED" and facts["lease"]["tenant_name"] == "签约租户"
    assert len(facts["open_work_orders"]) == WORK_ORDER_LIMIT and len(facts["active_alerts"]) == ALERT_LIMIT
    assert len(facts["pending_reports"]) == PENDING_LIMIT
    assert facts["last_inspection"]["state"] == "ACCEPTED" and facts["last_inspection"]["no_change"] is True
    assert facts["unit"]["last_inspected_at"].endswith(".999999+00:00")
    assert any(r["confirm_deadline"] is None for r in facts["pending_reports"])
    bare = await read_card(f"{world.a.building.code}-BARE")
    assert bare is not None and bare.facts["unit"]["name"] == ODD and bare.centre == (22.5301, 113.9311)
    assert (bare.facts["lease"], bare.facts["open_work_orders"], bare.facts["last_inspection"]) == (None, [], None)


@pytest.mark.parametrize(("card_ttl", "caches"), [(0, True), (60, True), (60, False)],
                         ids=["card-cache-off", "card-cache-on", "all-caches-off"])
async def test_scan_bodies_equal_the_orm_card_for_every_role(cards_world, settings, clock, card_ttl, caches):
    """POST /scan with the card cache off (every scan reads the statement), on (the first scan of a unit reads
    it, the others are served from the cache) and with every cache off (the caller's account read on each scan
    too): byte for byte the ORM reading's body, for every staff role."""
    world, units = cards_world
    app = create_app(settings.model_copy(update={"cache_card_ttl_seconds": card_ttl, "cache_enabled": caches}),
                     clock=clock, manage_db=False)
    client = AppClient(app)
    assert isinstance(app.ctx.cards, InvalidatingCache) and app.ctx.cards.enabled == (card_ttl > 0 and caches)
    assert app.ctx.principals.enabled == caches
    compared = 0
    for unit, side in units:
        for user in scanners(world, side):
            _, resp = await client.post("/api/v1/scan", content=json.dumps({"qr": sticker(unit)}),
                                        headers=world.auth(user))
            assert resp.status == 200, resp.json
            assert resp.content == await reference_body(unit.code, user.role, settings), (unit.code, user.role)
            compared += 1
    assert compared == len(units) * len(STAFF)
    if card_ttl and caches:
        assert app.ctx.cards.hits > 0
