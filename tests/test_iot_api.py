"""IoT HTTP API: alerts lifecycle, device registry and CSV import, reading series, detection, cleaning confirmation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from config.settings import DEV_QR_SECRET
from inspections.geo import wgs84_to_gcj02
from inspections.qr import build_sticker_url
from iot.choices import IotAlert
from iot.ingest import Ingestor, RawMessage
from models.iot import Device
from models.portfolio import Unit, UnitStatusChange
from models.workorders import WorkOrder
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status
from workorders.choices import TriggerSource, WorkOrderType
from workorders.service import open_work_order


async def post(client, path, headers, body=None, raw=None):
    _, resp = await client.post(path, headers=headers, content=raw if raw is not None else json.dumps(body or {}))
    return resp


async def test_alert_list_acknowledge_resolve(client, world):
    admin, inspector_b = world.auth(world.admin), world.auth(world.b.inspector)
    alert = world.a.extra["alert"]
    _, resp = await client.get(f"/api/v1/alerts?type={IotAlert.DOOR_OPEN_WHILE_VACANT}&open=true", headers=admin)
    assert resp.status == 200 and resp.json["total"] == 2
    assert {item["unit_code"] for item in resp.json["items"]} == {world.a.unit.code, world.b.unit.code}
    _, resp = await client.get(f"/api/v1/alerts?unit={world.a.unit.code}", headers=world.auth(world.a.manager))
    assert [i["id"] for i in resp.json["items"]] == [alert.id]
    _, resp = await client.get("/api/v1/alerts", headers=inspector_b)  # scope: B's inspector sees only B
    assert {i["building_id"] for i in resp.json["items"]} == {world.b.building.id}
    resp = await post(client, f"/api/v1/alerts/{alert.id}/acknowledge", world.auth(world.a.inspector),
                      {"note": "on it"})
    assert resp.status == 200 and resp.json["status"] == "ACKNOWLEDGED"
    resp = await post(client, f"/api/v1/alerts/{alert.id}/acknowledge", admin, {})
    assert resp.status == 409 and resp.json["error"]["code"] == "INVALID_TRANSITION"
    resp = await post(client, f"/api/v1/alerts/{alert.id}/resolve", admin, {"note": ""})
    assert resp.status == 422
    resp = await post(client, f"/api/v1/alerts/{alert.id}/resolve", admin, {"note": "viewing with an agent"})
    assert resp.status == 200 and resp.json["status"] == "RESOLVED"
    assert resp.json["resolution_note"] == "viewing with an agent"
    _, resp = await client.get("/api/v1/alerts?open=true", headers=admin)
    assert alert.id not in [i["id"] for i in resp.json["items"]]


async def test_device_register_rebind_and_csv_import(client, world):
    manager = world.auth(world.a.manager)
    body = {"external_id": "pow7", "format": "TASMOTA", "kind": "ELECTRICITY", "unit_code": world.a.unit.code}
    resp = await post(client, "/api/v1/devices", manager, body)
    assert resp.status == 201 and resp.json["unit_code"] == world.a.unit.code
    resp = await post(client, "/api/v1/devices", manager, {**body, "unit_code": world.a.occupied_unit.code})
    assert resp.status == 200 and resp.json["unit_id"] == world.a.occupied_unit.id  # re-bound, not duplicated
    resp = await post(client, "/api/v1/devices", manager, {**body, "external_id": "x", "unit_code": world.b.unit.code})
    assert resp.status == 404  # B's unit is out of A's manager's scope
    resp = await post(client, "/api/v1/devices", manager, {**body, "kind": "FRIDGE"})
    assert resp.status == 422
    csv_ok = ("external_id,format,kind,unit_code,invert\n"
              f"33225544,wmbus,water,{world.a.unit.code},\nsw9,TASMOTA,DOOR,{world.a.unit.code},true\n").encode()
    csv_bad = csv_ok + b"zz,NOPE,DOOR,,\nyy,GENERIC,DOOR,NO-SUCH-UNIT,\n"
    _, resp = await client.post("/api/v1/devices/import", headers=manager, content=csv_bad)
    assert resp.status == 422 and [r["row"] for r in resp.json["error"]["details"]["rejected"]] == [4, 5]
    assert not await Device.filter(external_id="33225544").exists()  # nothing half-imported
    _, resp = await client.post("/api/v1/devices/import", headers=manager, content=csv_ok)
    assert resp.status == 201 and resp.json["created"] == 2
    assert (await Device.get(external_id="sw9")).invert is True
    _, resp = await client.get(f"/api/v1/devices?unit={world.a.unit.code}", headers=world.auth(world.a.inspector))
    assert {d["external_id"] for d in resp.json["items"]} == {"door-A", "33225544", "sw9"}


async def test_commissioning_list_and_dead_letters(client, world, settings):
    now = world.now
    await Ingestor(settings).process([
        RawMessage("zigbee2mqtt/hall_door", b'{"contact":true}', now),
        RawMessage("tele/pow3/SENSOR", b'{"ENERGY":{"Total":"x"}}', now)])
    _, resp = await client.get("/api/v1/devices/commissioning", headers=world.auth(world.admin))
    assert [(i["format"], i["external_id"]) for i in resp.json["items"]] == [("ZIGBEE2MQTT", "hall_door")]
    _, resp = await client.get("/api/v1/iot/dead-letters", headers=world.auth(world.admin))
    assert resp.json["items"][0]["topic"] == "tele/pow3/SENSOR" and "ENERGY.Total" in resp.json["items"][0]["reason"]


async def test_reading_series_and_detection_endpoint(client, world, settings):
    await post(client, "/api/v1/devices", world.auth(world.admin),
               {"external_id": "em", "format": "GENERIC", "kind": "ELECTRICITY", "unit_code": world.a.unit.code})
    t0 = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    msgs = [RawMessage("rentwatch/devices/em", json.dumps({"ts": (t0 + timedelta(minutes=30 * i)).isoformat(),
                                                            "energy_kwh": 10 + i * 0.25}).encode(), t0)
            for i in range(8)]
    await Ingestor(settings).process(msgs)
    _, resp = await client.get(f"/api/v1/units/{world.a.unit.code}/readings?start=2026-11-01T00:00:00Z"
                               f"&end=2026-11-01T04:00:00Z", headers=world.auth(world.a.inspector))
    assert resp.status == 200
    points = resp.json["series"]["ELECTRICITY"]["points"]
    assert [p["value"] for p in points] == [0.25, 0.5, 0.5, 0.5] and resp.json["series"]["ELECTRICITY"]["unit"] == "kWh"
    _, resp = await client.get(f"/api/v1/units/{world.b.unit.code}/readings", headers=world.auth(world.a.inspector))
    assert resp.status == 404
    resp = await post(client, "/api/v1/admin/iot/detect", world.auth(world.admin), {"as_of": "2026-11-01"})
    assert resp.status == 200 and resp.json["units"] == 8
    _, resp = await client.get(f"/api/v1/units/{world.a.unit.code}/occupancy", headers=world.auth(world.admin))
    assert resp.json["days"][0]["day"] == "2026-11-01"
    resp = await post(client, "/api/v1/admin/iot/detect", world.auth(world.admin), {"as_of": "yesterday"})
    assert resp.status == 422


async def test_cleaning_confirmed_by_sticker_scan_moves_the_unit_on(client, world, clock):
    unit = world.a.occupied_unit
    await change_unit_status(unit.id, UnitStatus.OCCUPIED, source=StatusSource.ADMIN, now=clock.now())
    await change_unit_status(unit.id, UnitStatus.MOVE_OUT_PENDING, source=StatusSource.ADMIN, now=clock.now())
    order, _ = await open_work_order(wo_type=WorkOrderType.CLEANING, building_id=unit.building_id, unit_id=unit.id,
                                     title="退租保洁", trigger_source=TriggerSource.SENSOR,
                                     trigger_ref=f"moveout:{unit.id}:v9", now=clock.now())
    unit = await Unit.get(id=unit.id)
    sticker = build_sticker_url("https://rw.example.cn", DEV_QR_SECRET, unit.code, unit.qr_version)
    other = build_sticker_url("https://rw.example.cn", DEV_QR_SECRET, world.a.unit.code, 1)
    b = world.a.building
    gcj = wgs84_to_gcj02(b.lat, b.lng)
    headers = world.auth(world.a.inspector)
    path = f"/api/v1/iot/cleaning/{order.id}/confirm"
    here = {"lat": b.lat, "lng": b.lng, "accuracy_m": 12}
    resp = await post(client, path, headers, {"qr": other, "location": here})
    assert resp.status == 409 and resp.json["error"]["code"] == "WRONG_UNIT"
    resp = await post(client, path, headers, {"qr": sticker[:-2] + "00", "location": here})
    assert resp.json["error"]["code"] == "INVALID_QR"
    resp = await post(client, path, headers, {"qr": sticker, "location": {**here, "lat": b.lat + 0.01}})
    assert resp.status == 422 and resp.json["error"]["code"] == "OUTSIDE_GEOFENCE"
    assert (await WorkOrder.get(id=order.id)).status == order.status  # untouched
    resp = await post(client, path, headers, {"qr": sticker, "location": {"lat": gcj[0], "lng": gcj[1],
                                                                          "coord_system": "gcj02", "accuracy_m": 8}})
    assert resp.status == 200, resp.json
    # the world's unit has a live signed lease → it goes to delivery, not VACANT
    assert resp.json["unit_status"] == "PENDING_DELIVERY" and resp.json["work_order_status"] == "DONE"
    assert (await WorkOrder.get(id=order.id)).status == "DONE"
    assert (await Unit.get(id=unit.id)).status == UnitStatus.PENDING_DELIVERY
    change = await UnitStatusChange.filter(unit_id=unit.id).order_by("-id").first()
    # a person's on-site scan, recorded as such (not as a sensor's doing)
    assert (change.to_status, change.source, change.actor_id) == (UnitStatus.PENDING_DELIVERY,
                                                                  StatusSource.INSPECTION, world.a.inspector.id)
    resp = await post(client, path, headers, {"qr": sticker, "location": here})
    assert resp.status == 409 and resp.json["error"]["code"] == "ALREADY_DONE"


async def cleaning_order_on_moved_out_unit(world, clock):
    unit = world.a.occupied_unit
    await change_unit_status(unit.id, UnitStatus.OCCUPIED, source=StatusSource.ADMIN, now=clock.now())
    await change_unit_status(unit.id, UnitStatus.MOVE_OUT_PENDING, source=StatusSource.ADMIN, now=clock.now())
    order, _ = await open_work_order(wo_type=WorkOrderType.CLEANING, building_id=unit.building_id, unit_id=unit.id,
                                     title="退租保洁", trigger_source=TriggerSource.SENSOR,
                                     trigger_ref=f"moveout:{unit.id}:v9", now=clock.now())
    unit = await Unit.get(id=unit.id)
    return order, unit, build_sticker_url("https://rw.example.cn", DEV_QR_SECRET, unit.code, unit.qr_version)


@pytest.mark.parametrize("location,code", [
    ({}, "VALIDATION_ERROR"),  # no accuracy: the on-site check needs it
    ({"accuracy_m": None}, "VALIDATION_ERROR"),
    ({"accuracy_m": -1}, "VALIDATION_ERROR"),
    ({"accuracy_m": 101}, "LOCATION_TOO_INACCURATE"),
    ({"accuracy_m": 0}, "SUSPECTED_MOCK_LOCATION"),
    ({"accuracy_m": 10, "mock_location": True}, "SUSPECTED_MOCK_LOCATION"),
    ({"accuracy_m": 10, "is_mock": True}, "SUSPECTED_MOCK_LOCATION"),
])
async def test_cleaning_completion_refuses_a_fix_it_cannot_trust(client, world, clock, location, code):
    """Cleaning completion has no review state: a fix without accuracy, too coarse, or looking simulated is
    refused, and the order and the unit stay as they were."""
    order, unit, sticker = await cleaning_order_on_moved_out_unit(world, clock)
    b = world.a.building
    resp = await post(client, f"/api/v1/iot/cleaning/{order.id}/confirm", world.auth(world.a.inspector),
                      {"qr": sticker, "location": {"lat": b.lat, "lng": b.lng, **location}})
    assert (resp.status, resp.json["error"]["code"]) == (422, code), resp.json
    assert (await WorkOrder.get(id=order.id)).status == order.status  # untouched
    assert (await Unit.get(id=unit.id)).status == UnitStatus.MOVE_OUT_PENDING


async def test_alert_filters_status_and_building(client, world):
    admin = world.auth(world.admin)
    alert = world.a.extra["alert"]
    resp = await post(client, f"/api/v1/alerts/{alert.id}/acknowledge", admin, {"note": "seen"})
    assert resp.status == 200
    _, resp = await client.get("/api/v1/alerts?status=ACKNOWLEDGED", headers=admin)
    assert [i["id"] for i in resp.json["items"]] == [alert.id]
    _, resp = await client.get("/api/v1/alerts?status=ACTIVE", headers=admin)
    assert resp.json["total"] >= 1 and alert.id not in [i["id"] for i in resp.json["items"]]
    assert {i["status"] for i in resp.json["items"]} == {"ACTIVE"}
    _, resp = await client.get(f"/api/v1/alerts?building_id={world.b.building.id}", headers=admin)
    assert resp.json["total"] >= 1 and {i["building_id"] for i in resp.json["items"]} == {world.b.building.id}
    _, resp = await client.get(f"/api/v1/alerts?building_id={world.a.building.id}&status=ACTIVE", headers=admin)
    assert {(i["building_id"], i["status"]) for i in resp.json["items"]} <= {(world.a.building.id, "ACTIVE")}
    assert alert.id not in [i["id"] for i in resp.json["items"]]
    _, resp = await client.get("/api/v1/alerts?status=SLEEPING", headers=admin)
    assert resp.status == 422 and resp.json["error"]["code"]


async def test_detection_for_an_older_day_raises_only(client, world, clock):
    """A run for a day before yesterday must not clear today's alerts nor sweep by a clock in the past; yesterday's
    run does both."""
    from alerts.service import raise_alert
    from models.alerts import Alert

    unit = world.a.unit
    alert, _ = await raise_alert(alert_type=IotAlert.UNEXPECTED_ACTIVITY, now=clock.now() - timedelta(days=3),
                                 unit_id=unit.id, building_id=unit.building_id, explanation="seen three days ago")
    resp = await post(client, "/api/v1/admin/iot/detect", world.auth(world.admin), {"as_of": "2026-10-25"})
    assert resp.status == 200 and resp.json["raise_only"] is True and "sweep" not in resp.json
    kept = await Alert.get(id=alert.id)
    assert kept.status == alert.status and kept.condition_false_since is None  # not even the hysteresis started
    resp = await post(client, "/api/v1/admin/iot/detect", world.auth(world.admin), {"as_of": "2026-11-01"})
    assert resp.status == 200 and "sweep" in resp.json and "raise_only" not in resp.json
    assert (await Alert.get(id=alert.id)).condition_false_since is not None  # the clearing has begun
