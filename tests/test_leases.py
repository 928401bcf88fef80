import asyncio
import json
from datetime import timedelta

import pytest

from leasing.choices import LeaseStatus
from leasing.service import sign_lease
from models.leasing import Lease
from models.portfolio import Unit, UnitStatusChange
from models.workorders import WorkOrder
from tests.support.db import on_postgres
from workorders.choices import WorkOrderStatus, WorkOrderType

LEASE = {"tenant_name": "王小明", "tenant_phone": "13912345678", "start_date": "2026-12-01",
         "end_date": "2027-11-30", "monthly_rent_fen": 380000, "deposit_fen": 760000,
         "payment_frequency": "QUARTERLY"}


async def create_draft(client, world, unit_code):
    _, response = await client.post("/api/v1/leases", headers=world.auth(world.a.manager),
                                    content=json.dumps({**LEASE, "unit_code": unit_code}))
    assert response.status == 201, response.json
    return response.json["id"]


async def test_sign_moves_unit_to_pending_delivery_and_opens_one_cleaning_order(client, world):
    unit = world.a.unit
    lease_id = await create_draft(client, world, unit.code)
    for attempt in range(2):
        _, response = await client.post(f"/api/v1/leases/{lease_id}/sign", headers=world.auth(world.a.manager))
        assert response.status == 200, response.json
        assert response.json["signed_now"] is (attempt == 0)
        assert response.json["unit_status"] == "PENDING_DELIVERY"
    orders = await WorkOrder.filter(unit_id=unit.id, type=WorkOrderType.CLEANING)
    assert len(orders) == 1
    order = orders[0]
    assert order.assignee_id == world.a.inspector.id and order.status == WorkOrderStatus.ASSIGNED
    assert order.due_at == world.now + timedelta(hours=24)  # the cleaning SLA
    changes = await UnitStatusChange.filter(unit_id=unit.id)
    assert [(c.from_status, c.to_status, c.source) for c in changes] == [("VACANT", "PENDING_DELIVERY", "lease")]


async def test_concurrent_signing_yields_one_transition_and_one_order(world, clock):
    unit = world.a.unit
    from leasing.service import create_lease

    lease = await create_lease(unit=unit, tenant_name="并发", tenant_phone="", start_date=world.a.lease.end_date,
                               end_date=world.a.lease.end_date.replace(year=world.a.lease.end_date.year + 1),
                               monthly_rent_fen=1, deposit_fen=0, payment_frequency="MONTHLY")
    results = await asyncio.gather(*[sign_lease(lease.id, now=clock.now(), actor_id=None) for _ in range(8)])
    assert sorted(signed for _, signed in results) == [False] * 7 + [True]
    assert await UnitStatusChange.filter(unit_id=unit.id).count() == 1
    assert await WorkOrder.filter(unit_id=unit.id, trigger_ref=f"lease:{lease.id}").count() == 1
    assert (await Lease.get(id=lease.id)).status == LeaseStatus.SIGNED
    assert (await Unit.get(id=unit.id)).status == "PENDING_DELIVERY"
    if on_postgres():
        from tortoise.connection import get_connection

        # On PostgreSQL the calls really ran on separate pooled connections.
        assert get_connection("default").capabilities.dialect == "postgres"


async def test_signing_on_unrentable_status_is_refused_and_lease_stays_draft(client, world):
    unit = world.a.unit
    lease_id = await create_draft(client, world, unit.code)
    await client.post(f"/api/v1/units/{unit.code}/status", headers=world.auth(world.a.manager),
                      content=json.dumps({"status": "UNDER_REPAIR", "reason": "漏水"}))
    _, response = await client.post(f"/api/v1/leases/{lease_id}/sign", headers=world.auth(world.a.manager))
    assert response.status == 409 and response.json["error"]["code"] == "INVALID_TRANSITION"
    assert (await Lease.get(id=lease_id)).status == LeaseStatus.DRAFT
    assert await WorkOrder.filter(trigger_ref=f"lease:{lease_id}").count() == 0


@pytest.mark.parametrize("change,field", [
    ({"end_date": "2026-01-01"}, "end_date"),
    ({"monthly_rent_fen": 0}, "monthly_rent_fen"),
    ({"monthly_rent_fen": "3800.00"}, "monthly_rent_fen"),
    ({"payment_frequency": "WEEKLY"}, "payment_frequency"),
])
async def test_bad_lease_input_is_422_with_field(client, world, change, field):
    body = {**LEASE, "unit_code": world.a.unit.code, **change}
    _, response = await client.post("/api/v1/leases", headers=world.auth(world.a.manager), content=json.dumps(body))
    assert response.status == 422
    assert field in json.dumps(response.json["error"]["details"])
    assert await Lease.filter(unit_id=world.a.unit.id).count() == 0


async def test_overlapping_lease_is_refused(client, world):
    body = {**LEASE, "unit_code": world.a.occupied_unit.code}
    _, response = await client.post("/api/v1/leases", headers=world.auth(world.a.manager), content=json.dumps(body))
    assert response.status == 409 and response.json["error"]["code"] == "LEASE_OVERLAP"


async def test_tenant_sees_only_own_leases(client, world):
    _, response = await client.get("/api/v1/me/leases", headers=world.auth(world.a.tenant_user))
    assert [item["id"] for item in response.json["items"]] == [world.a.lease.id]
    _, response = await client.get(f"/api/v1/leases/{world.b.lease.id}", headers=world.auth(world.a.tenant_user))
    assert response.status == 403


def on_site(world, side="a"):
    site = {"a": (22.5329, 113.9305), "b": (30.2084, 120.2120)}[side]
    return {"location": {"lat": site[0], "lng": site[1], "accuracy_m": 10, "coord_system": "wgs84",
                         "captured_at": world.now.isoformat()}}


async def test_handover_delivers_the_unit_once_first_rent_is_a_ledger_fact(client, world, clock):
    """交付 is its own step (after the pre-delivery cleaning, on site); paying the first rent is a ledger fact."""
    from leasing.ledger import record_payment
    from models.leasing import Receivable
    from workorders.choices import TriggerSource
    from workorders.service import complete_open_orders

    lease = world.a.lease
    url = f"/api/v1/leases/{lease.id}/handover"
    _, early = await client.post(url, headers=world.auth(world.a.manager), content=json.dumps(on_site(world)))
    assert early.status == 409 and early.json["error"]["code"] == "CLEANING_NOT_DONE"
    await complete_open_orders(lease.unit_id, WorkOrderType.CLEANING, TriggerSource.LEASE_SIGNED, now=clock.now(),
                               note="cleaned")
    far = on_site(world, "b")
    _, away = await client.post(url, headers=world.auth(world.a.manager), content=json.dumps(far))
    assert away.status == 422 and away.json["error"]["code"] == "OUTSIDE_GEOFENCE"
    _, first = await client.post(url, headers=world.auth(world.a.manager), content=json.dumps(on_site(world)))
    assert first.status == 200, first.json
    assert (first.json["handed_over_now"], first.json["unit_status"]) == (True, "OCCUPIED")
    assert first.json["lease"]["status"] == "ACTIVE" and first.json["lease"]["first_rent_paid_at"] is None
    _, again = await client.post(url, headers=world.auth(world.a.manager), content=json.dumps(on_site(world)))
    assert again.status == 200 and again.json["handed_over_now"] is False
    changes = await UnitStatusChange.filter(unit_id=lease.unit_id).order_by("version")
    assert [(c.from_status, c.to_status) for c in changes] == [("VACANT", "PENDING_DELIVERY"),
                                                               ("PENDING_DELIVERY", "OCCUPIED")]
    first_rent = await Receivable.filter(lease_id=lease.id, charge="RENT").order_by("period_start").first()
    await record_payment(lease_id=lease.id, amount_fen=first_rent.amount_fen + 900000, paid_at=clock.now(),
                         method="BANK_TRANSFER", now=clock.now())
    _, detail = await client.get(f"/api/v1/leases/{lease.id}", headers=world.auth(world.a.manager))
    assert detail.json["first_rent_paid_at"] == clock.now().isoformat()


async def test_draft_lease_cannot_be_handed_over(client, world):
    lease_id = await create_draft(client, world, world.a.unit.code)
    _, response = await client.post(f"/api/v1/leases/{lease_id}/handover", headers=world.auth(world.a.manager),
                                    content=json.dumps(on_site(world)))
    assert response.status == 409 and response.json["error"]["code"] == "INVALID_TRANSITION"
    assert (await Unit.get(id=world.a.unit.id)).status == "VACANT"


async def test_a_tenancy_already_in_force_is_entered_active_without_a_cleaning_order(client, world):
    """Migrating a spreadsheet: the tenant lives there already, so no pre-delivery cleaning (which would also hide
    the unit's vacancy and after-lease-end alerts while open); the schedule is generated from the real start."""
    unit = world.a.unit
    _, response = await client.post("/api/v1/leases", headers=world.auth(world.a.manager), content=json.dumps(
        {**LEASE, "unit_code": unit.code, "start_date": "2026-06-01", "end_date": "2027-05-31"}))
    assert response.status == 201, response.json
    lease_id = response.json["id"]
    for _attempt in range(2):  # idempotent
        _, response = await client.post(f"/api/v1/leases/{lease_id}/in-force", headers=world.auth(world.a.manager))
        assert response.status == 200, response.json
        assert response.json["lease"]["status"] == "ACTIVE" and response.json["unit_status"] == "OCCUPIED"
    assert not await WorkOrder.filter(unit_id=unit.id).exists()
    changes = await UnitStatusChange.filter(unit_id=unit.id).order_by("id")
    assert [(c.from_status, c.to_status, c.source) for c in changes] == [
        ("VACANT", "PENDING_DELIVERY", "lease"), ("PENDING_DELIVERY", "OCCUPIED", "lease")]
    from models.leasing import Receivable

    starts = await Receivable.filter(lease_id=lease_id, charge_type="RENT").order_by("period_start").values_list(
        "period_start", flat=True)
    assert [d.isoformat() for d in starts] == ["2026-06-01", "2026-09-01", "2026-12-01", "2027-03-01"]


async def test_a_lease_not_running_today_cannot_be_entered_as_in_force(client, world):
    lease_id = await create_draft(client, world, world.a.unit.code)  # starts 2026-12-01, a month ahead
    _, response = await client.post(f"/api/v1/leases/{lease_id}/in-force", headers=world.auth(world.a.manager))
    assert response.status == 422
    assert response.json["error"]["code"] == "NOT_IN_FORCE"
    assert (await Lease.get(id=lease_id)).status == LeaseStatus.DRAFT
    assert (await Unit.get(id=world.a.unit.id)).status == "VACANT"
    _, response = await client.post(f"/api/v1/leases/{lease_id}/sign", headers=world.auth(world.a.manager))
    _, response = await client.post(f"/api/v1/leases/{lease_id}/in-force", headers=world.auth(world.a.manager))
    assert response.status == 409 and response.json["error"]["code"] == "INVALID_TRANSITION"
