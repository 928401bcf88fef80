import asyncio
import json
from datetime import timedelta

import pytest

from core.errors import InvalidTransition
from models.workorders import WorkOrder, WorkOrderEvent
from workorders.choices import WORK_ORDER_SLA, TriggerSource, WorkOrderStatus, WorkOrderType
from workorders.service import open_work_order, transition_work_order

W = WorkOrderStatus


@pytest.mark.parametrize("path,ok", [
    ([W.IN_PROGRESS, W.DONE, W.VERIFIED], True),
    ([W.IN_PROGRESS, W.DONE, W.IN_PROGRESS, W.DONE], True),  # reopened after a failed check
    ([W.DONE], False),
    ([W.IN_PROGRESS, W.VERIFIED], False),
    ([W.CANCELLED, W.IN_PROGRESS], False),
])
async def test_transition_paths(world, clock, path, ok):
    order = world.a.extra["cleaning_order"]
    try:
        for target in path:
            order = await transition_work_order(order, target, now=clock.now(), actor_id=world.a.inspector.id)
    except InvalidTransition:
        assert not ok
        return
    assert ok and order.status == path[-1]
    events = await WorkOrderEvent.filter(work_order_id=order.id).order_by("id")
    assert [e.to_status for e in events][1:] == path


async def test_one_trigger_opens_one_order_even_concurrently(world, clock):
    async def open_once():
        return await open_work_order(wo_type=WorkOrderType.REPAIR, building_id=world.a.building.id,
                                     unit_id=world.a.unit.id, title="门锁坏", trigger_source=TriggerSource.ALERT,
                                     trigger_ref="alert:42", now=clock.now())

    results = await asyncio.gather(*[open_once() for _ in range(5)])
    assert sum(created for _, created in results) == 1
    assert len({order.id for order, _ in results}) == 1
    order = results[0][0]
    assert order.due_at == clock.now() + WORK_ORDER_SLA[WorkOrderType.REPAIR]
    assert await WorkOrder.filter(trigger_ref="alert:42").count() == 1


async def test_assignee_is_least_loaded_responsible_staff(world, clock):
    from accounts.choices import Role, StaffDuty
    from accounts.service import create_staff

    second = await create_staff(name="巡检A2", role=Role.INSPECTOR, duties=[(world.a.building.id, StaffDuty.INSPECTOR)])
    order, _ = await open_work_order(wo_type=WorkOrderType.CLEANING, building_id=world.a.building.id,
                                     unit_id=world.a.unit.id, title="保洁", trigger_source=TriggerSource.MANUAL,
                                     trigger_ref="m:1", now=clock.now())
    assert order.assignee_id == second.id  # the first inspector already has the lease's cleaning order
    task, _ = await open_work_order(wo_type=WorkOrderType.TASK, building_id=world.a.building.id, unit_id=None,
                                    title="续约评估", trigger_source=TriggerSource.MANUAL, trigger_ref="m:2",
                                    now=clock.now())
    assert task.assignee_id == world.a.manager.id and task.due_at == clock.now() + timedelta(days=7)


async def test_api_inspector_works_own_order_manager_verifies(client, world):
    order = world.a.extra["cleaning_order"]
    url = f"/api/v1/work-orders/{order.id}/transition"
    inspector, manager = world.auth(world.a.inspector), world.auth(world.a.manager)
    for status in ("IN_PROGRESS", "DONE"):
        _, response = await client.post(url, headers=inspector, content=json.dumps({"status": status}))
        assert response.status == 200 and response.json["status"] == status
    _, response = await client.post(url, headers=inspector, content=json.dumps({"status": "VERIFIED"}))
    assert response.status == 403
    _, response = await client.post(url, headers=manager, content=json.dumps({"status": "VERIFIED", "note": "ok"}))
    assert response.status == 200 and response.json["completed_at"]
    _, response = await client.post(url, headers=manager, content=json.dumps({"status": "CANCELLED"}))
    assert response.status == 409 and response.json["error"]["details"]["allowed"] == []
    _, detail = await client.get(f"/api/v1/work-orders/{order.id}", headers=manager)
    assert [h["to"] for h in detail.json["history"]] == ["ASSIGNED", "IN_PROGRESS", "DONE", "VERIFIED"]


async def test_api_list_filters_mine(client, world):
    _, response = await client.get("/api/v1/work-orders?mine=true", headers=world.auth(world.a.inspector))
    assert [o["id"] for o in response.json["items"]] == [world.a.extra["cleaning_order"].id]
    assert response.json["items"][0]["unit_code"] == world.a.occupied_unit.code
    _, response = await client.get("/api/v1/work-orders?type=REPAIR", headers=world.auth(world.admin))
    assert response.json["total"] == 0


async def test_api_manual_create_is_idempotent_per_client_ref(client, world):
    body = json.dumps({"type": "REPAIR", "unit_code": world.a.unit.code, "title": "水龙头漏水", "client_ref": "r-1"})
    _, first = await client.post("/api/v1/work-orders", headers=world.auth(world.a.inspector), content=body)
    _, second = await client.post("/api/v1/work-orders", headers=world.auth(world.a.inspector), content=body)
    assert (first.status, second.status) == (201, 200) and first.json["id"] == second.json["id"]
