"""Scan, status reports, geofence, mock-location holds, double confirmation, conflicts, expiry, audit."""

import hashlib
import json
import uuid
from datetime import timedelta

import pytest

from inspections.service import expire_overdue
from models.inspections import StatusConfirmation, StatusReport
from models.notifications import OutboxMessage
from models.portfolio import Unit, UnitStatusChange
from tests.support.inspections_helpers import decision_body, png_bytes, report_body, sticker


def at_now(world, clock):
    """Tokens are issued at the test clock's current time (they expire after an hour)."""
    world.now = clock.now()


async def post(client, path, body, headers):
    _, resp = await client.post(path, content=json.dumps(body), headers=headers)
    return resp


async def submit(client, world, user, body):
    return await post(client, "/api/v1/status-reports", body, world.auth(user))


# --------------------------------------------------------------------------- scan

async def test_scan_returns_the_unit_card(client, world):
    a = world.a
    resp = await post(client, "/api/v1/scan", {"qr": sticker(a.occupied_unit)}, world.auth(a.inspector))
    assert resp.status == 200, resp.json
    card = resp.json
    assert card["unit"]["code"] == a.occupied_unit.code
    assert card["unit"]["status"] == "PENDING_DELIVERY" and card["unit"]["status_version"] == 2
    assert card["requestable_statuses"] == ["OCCUPIED", "UNDER_REPAIR", "VACANT"]
    assert card["lease"]["id"] == a.lease.id and "tenant_name" not in card["lease"]
    assert [o["type"] for o in card["open_work_orders"]] == ["CLEANING"]
    assert card["geofence"]["radius_m"] == 150 and card["geofence"]["centre"]["lat"] == a.building.lat
    assert card["can_confirm"] is False and card["last_inspection"] is None and card["pending_reports"] == []
    manager = await post(client, "/api/v1/scan", {"qr": sticker(a.occupied_unit)}, world.auth(a.manager))
    assert manager.json["lease"]["tenant_name"] == "租户A" and manager.json["can_confirm"] is True


async def test_scan_card_last_inspection_survives_newer_pending_reports(client, world, clock):
    a = world.a
    t = clock.now() - timedelta(hours=2)
    accepted = await submit(client, world, a.inspector, report_body(a, t))
    assert accepted.json["result"] == "ACCEPTED"
    for i in range(11):
        resp = await submit(client, world, a.inspector,
                            report_body(a, t + timedelta(minutes=5 + i), requested="OFF_MARKET"))
        assert resp.json["result"] == "PENDING_CONFIRMATION"
    card = (await post(client, "/api/v1/scan", {"qr": sticker(a.unit)}, world.auth(a.inspector))).json
    assert card["last_inspection"]["id"] == accepted.json["report"]["id"]
    assert card["last_inspection"]["state"] == "ACCEPTED" and card["last_inspection"]["no_change"] is True
    assert card["last_inspection"]["captured_at"] == t.isoformat()
    assert len(card["pending_reports"]) == 10
    times = [r["captured_at"] for r in card["pending_reports"]]
    assert times == sorted(times, reverse=True)  # newest first


@pytest.mark.parametrize("qr,status,code", [
    ("not a sticker", 400, "INVALID_QR"),
    ("https://rw.example.cn/u/SZ-NS-A-1201?v=1&s=0123456789abcdef", 400, "INVALID_QR"),
])
async def test_scan_refuses_forged_stickers(client, world, qr, status, code):
    resp = await post(client, "/api/v1/scan", {"qr": qr}, world.auth(world.a.inspector))
    assert (resp.status, resp.json["error"]["code"]) == (status, code)


async def test_scan_other_building_is_404_and_reissued_sticker_is_revoked(client, world):
    a, b = world.a, world.b
    resp = await post(client, "/api/v1/scan", {"qr": sticker(b.unit)}, world.auth(a.inspector))
    assert resp.status == 404
    old = sticker(a.unit)
    _, resp = await client.post(f"/api/v1/units/{a.unit.code}/sticker/reissue", headers=world.auth(a.manager))
    assert resp.status == 200 and resp.json["qr_version"] == 2
    resp = await post(client, "/api/v1/scan", {"qr": old}, world.auth(a.inspector))
    assert (resp.status, resp.json["error"]["code"]) == (410, "REVOKED_QR")
    resp = await post(client, "/api/v1/scan", {"qr": resp_url(resp, a)}, world.auth(a.inspector))
    assert resp.status == 200


def resp_url(_resp, side):
    return sticker(side.unit, version=2)


# --------------------------------------------------------------------------- reports and the geofence

async def test_no_change_inspection_is_accepted_and_marks_the_unit(client, world, clock):
    a = world.a
    resp = await submit(client, world, a.inspector, report_body(a, clock.now()))
    assert resp.status == 201, resp.json
    assert resp.json["result"] == "ACCEPTED"
    unit = await Unit.get(id=a.unit.id)
    assert unit.last_inspected_at == clock.now() and unit.status == "VACANT" and unit.status_version == 1


async def test_on_site_gcj02_fix_is_accepted_but_same_numbers_as_wgs84_are_refused(client, world, clock):
    a = world.a
    body = report_body(a, clock.now(), system="gcj02")
    resp = await submit(client, world, a.inspector, body)
    assert resp.status == 201 and resp.json["result"] == "ACCEPTED"
    assert resp.json["report"]["location"]["distance_m"] < 1
    body = {**body, "client_id": "11111111-1111-4111-8111-111111111111",
            "location": {**body["location"], "coord_system": "wgs84"}}
    resp = await submit(client, world, a.inspector, body)
    assert (resp.status, resp.json["error"]["code"]) == (422, "OUTSIDE_GEOFENCE")
    details = resp.json["error"]["details"]
    assert details["distance_m"] > 300 and details["radius_m"] == 150
    assert await StatusReport.filter(client_id="11111111-1111-4111-8111-111111111111").count() == 0


@pytest.mark.parametrize("kwargs,code", [
    ({"offset_m": 400}, "OUTSIDE_GEOFENCE"),
    ({"accuracy": 101}, "LOCATION_TOO_INACCURATE"),
])
async def test_location_refusals(client, world, clock, kwargs, code):
    body = report_body(world.a, clock.now(), **kwargs)
    resp = await submit(client, world, world.a.inspector, body)
    assert (resp.status, resp.json["error"]["code"]) == (422, code)
    assert not await StatusReport.filter(client_id=body["client_id"]).exists()


def travel_seconds(kmh: float, accuracies_m: float = 30.0) -> float:
    """Seconds for building A → building B at ``kmh`` (the two fixes' accuracies are forgiven first)."""
    from inspections.geo import distance_m
    from tests.support.world import SITES

    a, b = SITES["A"], SITES["B"]
    d = distance_m((a["lat"], a["lng"]), (b["lat"], b["lng"])) - accuracies_m
    return d / (kmh / 3.6)


@pytest.mark.parametrize("prior", ["report", "confirmation"])
@pytest.mark.parametrize("kmh,result", [(140, "ACCEPTED"), (160, "HELD_FOR_REVIEW")])
async def test_travel_speed_bound_either_side(client, world, clock, prior, kmh, result):
    """The same user's previous fix — a report or an on-site confirmation — then a report in the other city:
    140 km/h is plausible, 160 km/h (over the 150 km/h bound) is held as a suspected mock location."""
    a, b = world.a, world.b
    second_at = clock.now() - timedelta(minutes=5)
    first_at = second_at - timedelta(seconds=travel_seconds(kmh))
    if prior == "report":
        first = await submit(client, world, world.admin, report_body(a, first_at))
        assert first.json["result"] == "ACCEPTED", first.json
    else:
        pending = await submit(client, world, a.inspector,
                               report_body(a, first_at - timedelta(minutes=1), requested="OFF_MARKET"))
        decided = await decide(client, world, world.admin, pending.json["report"]["id"],
                               decision_body(a, first_at))
        assert decided.json["result"] == "CONFIRMED", decided.json
    second = await submit(client, world, world.admin, report_body(b, second_at))
    assert second.status == 201 and second.json["result"] == result, second.json
    expected_flags = [] if result == "ACCEPTED" else ["SUSPECTED_MOCK_LOCATION"]
    assert second.json["report"]["flags"] == expected_flags


@pytest.mark.parametrize("delta,code", [(timedelta(minutes=6), "CAPTURED_AT_IN_FUTURE"),
                                        (-timedelta(days=7, minutes=1), "CAPTURED_AT_TOO_OLD")])
async def test_capture_time_bounds(client, world, clock, delta, code):
    resp = await submit(client, world, world.a.inspector, report_body(world.a, clock.now() + delta))
    assert (resp.status, resp.json["error"]["code"]) == (422, code)


async def test_zero_accuracy_is_held_for_review(client, world, clock):
    resp = await submit(client, world, world.a.inspector, report_body(world.a, clock.now(), accuracy=0))
    assert resp.status == 201
    assert resp.json["result"] == "HELD_FOR_REVIEW"
    assert resp.json["report"]["state_reason"] == "SUSPECTED_MOCK_LOCATION"
    assert (await Unit.get(id=world.a.unit.id)).last_inspected_at is None


async def test_impossible_travel_speed_is_held_for_review(client, world, clock):
    a, b = world.a, world.b
    first = await submit(client, world, world.admin, report_body(a, clock.now() - timedelta(hours=2)))
    assert first.json["result"] == "ACCEPTED", first.json
    # Shenzhen → Hangzhou (~1050 km) in 2 hours: ~525 km/h.
    second = await submit(client, world, world.admin, report_body(b, clock.now()))
    assert second.json["result"] == "HELD_FOR_REVIEW", second.json
    # A plausible pace (a day later) is fine.
    third = await submit(client, world, world.admin, report_body(b, clock.now() - timedelta(hours=20),
                                                                unit=b.units[2]))
    assert third.json["result"] == "ACCEPTED", third.json


@pytest.mark.parametrize("flag", ["mock_location", "is_mock"])
async def test_client_mock_location_flag_is_held_for_review(client, world, clock, flag):
    body = report_body(world.a, clock.now())
    body["location"][flag] = True
    resp = await submit(client, world, world.a.inspector, body)
    assert resp.status == 201
    assert (resp.json["result"], resp.json["report"]["state_reason"]) == ("HELD_FOR_REVIEW", "SUSPECTED_MOCK_LOCATION")
    assert resp.json["report"]["flags"] == ["SUSPECTED_MOCK_LOCATION"]
    assert (await Unit.get(id=world.a.unit.id)).last_inspected_at is None
    again = await submit(client, world, world.a.inspector, body)
    assert (again.json["result"], again.json["original_result"]) == ("DUPLICATE", "HELD_FOR_REVIEW")
    body["location"][flag] = False  # different content under the same client_id
    changed = await submit(client, world, world.a.inspector, body)
    assert (changed.status, changed.json["error"]["code"]) == (409, "CLIENT_ID_REUSED")


def test_content_hash_of_a_body_without_mock_flags_is_unchanged():
    """Replays of items queued before the mock flags existed must stay DUPLICATE: unset flags are not hashed."""
    from datetime import UTC, datetime

    from inspections.schemas import StatusReportIn, content_hash

    class Side:
        building = type("B", (), {"lat": 22.5329, "lng": 113.9305})
        unit = type("U", (), {"code": "SZ-NS-A-1201", "qr_version": 1, "status_version": 1})

    raw = report_body(Side, datetime(2026, 11, 2, 9, 0, tzinfo=UTC), client_id="22222222-2222-4222-8222-222222222222")
    explicit = {**raw, "location": {**raw["location"], "mock_location": False, "is_mock": False}}
    digests = {content_hash(StatusReportIn.model_validate(b)) for b in (raw, explicit)}
    assert len(digests) == 1
    legacy = StatusReportIn.model_validate(raw).model_dump(mode="json")
    for name in ("mock_location", "is_mock"):
        del legacy["location"][name]
    assert digests == {hashlib.sha256(json.dumps(legacy, sort_keys=True, separators=(",", ":")).encode()).hexdigest()}


async def test_a_held_fix_is_no_reference_for_the_next_one(client, world, clock):
    """Shenzhen, then Hangzhou 30 s later (held), then Shenzhen again 30 s after that: the third visit is judged
    against the trusted Shenzhen fix, so it is accepted — the same decision it gets without the simulated fix
    in between (which, taken as a reference, would have held it too)."""
    a, b = world.a, world.b
    t = clock.now() - timedelta(minutes=10)
    first = await submit(client, world, world.admin, report_body(a, t))
    jump = await submit(client, world, world.admin, report_body(b, t + timedelta(seconds=30)))
    back = await submit(client, world, world.admin, report_body(a, t + timedelta(seconds=60), unit=a.units[2]))
    assert [r.json["result"] for r in (first, jump, back)] == ["ACCEPTED", "HELD_FOR_REVIEW", "ACCEPTED"]
    # Another run of the same case, ten minutes later: the same decisions (the held fix is still no reference).
    later = [t + timedelta(minutes=9), t + timedelta(minutes=9, seconds=30), t + timedelta(minutes=9, seconds=60)]
    again = [await submit(client, world, world.admin, report_body(side, at, unit=unit)) for side, at, unit in
             [(a, later[0], a.units[3]), (b, later[1], b.units[3]), (a, later[2], a.units[0])]]
    assert [r.json["result"] for r in again] == ["ACCEPTED", "HELD_FOR_REVIEW", "ACCEPTED"]


async def test_a_decision_from_a_suspected_mock_location_is_refused(client, world, clock):
    a = world.a
    report = await pending_change(client, world, clock)
    for location_change in ({"mock_location": True}, {"is_mock": True}, {"accuracy_m": 0}):
        body = decision_body(a, clock.now())
        body["location"].update(location_change)
        resp = await decide(client, world, a.manager, report["id"], body)
        assert (resp.status, resp.json["error"]["code"]) == (422, "SUSPECTED_MOCK_LOCATION"), resp.json
    assert await StatusConfirmation.filter(report_id=report["id"]).count() == 0
    assert (await StatusReport.get(id=report["id"])).state == "PENDING_CONFIRMATION"
    resp = await decide(client, world, a.manager, report["id"], decision_body(a, clock.now()))
    assert resp.json["result"] == "CONFIRMED"


@pytest.mark.parametrize("body_change,status,code", [
    ({"requested_status": "PENDING_DELIVERY"}, 422, "STATUS_NOT_REQUESTABLE"),
    ({"requested_status": "OCCUPIED"}, 409, "INVALID_TRANSITION"),
    ({"requested_status": "UNDER_REPAIR"}, 422, "EVIDENCE_REQUIRED"),
    ({"category": "REFUND_INSPECTION"}, 422, "EVIDENCE_REQUIRED"),
    ({"no_change": True, "requested_status": "OFF_MARKET"}, 422, "VALIDATION_ERROR"),
])
async def test_report_refusals_write_nothing(client, world, clock, body_change, status, code):
    body = report_body(world.a, clock.now())
    body.update(body_change)
    if "requested_status" in body_change:
        body["base_status_version"] = 1
        body["no_change"] = body_change.get("no_change", False)
    resp = await submit(client, world, world.a.inspector, body)
    assert (resp.status, resp.json["error"]["code"]) == (status, code), resp.json
    assert not await StatusReport.filter(client_id=body["client_id"]).exists()


async def test_duplicate_and_reused_client_id(client, world, clock):
    body = report_body(world.a, clock.now())
    first = await submit(client, world, world.a.inspector, body)
    again = await submit(client, world, world.a.inspector, body)
    assert first.status == 201 and again.status == 200
    assert again.json["result"] == "DUPLICATE" and again.json["original_result"] == "ACCEPTED"
    assert again.json["report"]["id"] == first.json["report"]["id"]
    changed = await submit(client, world, world.a.inspector, {**body, "note": "different"})
    assert (changed.status, changed.json["error"]["code"]) == (409, "CLIENT_ID_REUSED")
    assert await StatusReport.filter(client_id=body["client_id"]).count() == 1


# --------------------------------------------------------------------------- double confirmation

async def pending_change(client, world, clock, requested="OFF_MARKET"):
    resp = await submit(client, world, world.a.inspector, report_body(world.a, clock.now(), requested=requested))
    assert resp.json["result"] == "PENDING_CONFIRMATION", resp.json
    return resp.json["report"]


async def decide(client, world, user, report_id, body):
    return await post(client, f"/api/v1/status-reports/{report_id}/decision", body, world.auth(user))


async def test_confirmation_applies_the_change_through_the_status_machine(client, world, clock):
    a = world.a
    report = await pending_change(client, world, clock)
    assert report["confirm_deadline"] == (clock.now() + timedelta(hours=72)).isoformat()
    assert (await Unit.get(id=a.unit.id)).status == "VACANT"  # nothing changes before confirmation
    clock.advance(hours=3)
    at_now(world, clock)
    resp = await decide(client, world, a.manager, report["id"], decision_body(a, clock.now(), system="gcj02"))
    assert resp.status == 200, resp.json
    assert resp.json["result"] == "CONFIRMED"
    unit = await Unit.get(id=a.unit.id)
    assert (unit.status, unit.status_version) == ("OFF_MARKET", 2)
    change = await UnitStatusChange.get(unit_id=unit.id, version=2)
    assert change.source == "inspection" and change.actor_id == a.manager.id
    assert change.reference == f"status_report:{report['id']}"
    assert resp.json["report"]["applied_version"] == 2
    again = await decide(client, world, world.admin, report["id"], decision_body(a, clock.now()))
    assert (again.status, again.json["error"]["code"]) == (409, "REPORT_NOT_PENDING")


async def test_confirmation_refusals(client, world, clock):
    a = world.a
    report = await pending_change(client, world, clock)
    rid = report["id"]
    cases = [
        (world.a.inspector, decision_body(a, clock.now()), 403, "FORBIDDEN"),
        (world.b.manager, decision_body(a, clock.now()), 404, "NOT_FOUND"),
        (world.admin, decision_body(a, clock.now(), unit=a.units[2]), 422, "QR_UNIT_MISMATCH"),
        (world.admin, decision_body(a, clock.now(), offset_m=500), 422, "OUTSIDE_GEOFENCE"),
        (world.admin, decision_body(a, clock.now(), decision="reject"), 422, "REASON_REQUIRED"),
    ]
    for user, body, status, code in cases:
        resp = await decide(client, world, user, rid, body)
        assert (resp.status, resp.json["error"]["code"]) == (status, code), (code, resp.json)
    # The admin authored nothing here; a manager reporting and then confirming is self-confirmation.
    own = await submit(client, world, a.manager, report_body(a, clock.now(), unit=a.units[3], requested="OFF_MARKET"))
    resp = await decide(client, world, a.manager, own.json["report"]["id"],
                        decision_body(a, clock.now(), unit=a.units[3]))
    assert (resp.status, resp.json["error"]["code"]) == (403, "SELF_CONFIRMATION")
    assert await StatusConfirmation.all().count() == 0
    assert (await StatusReport.get(id=rid)).state == "PENDING_CONFIRMATION"


async def test_decision_client_id_reused_for_another_report_is_a_conflict(client, world, clock):
    """Same client_id and the very same content, but another report: not a duplicate of the first decision."""
    a = world.a
    first, second = await pending_change(client, world, clock), await pending_change(client, world, clock)
    body = decision_body(a, clock.now(), decision="reject", reason="现场仍在出租")
    assert (await decide(client, world, a.manager, first["id"], body)).json["result"] == "REJECTED"
    resp = await decide(client, world, a.manager, second["id"], body)
    assert (resp.status, resp.json["error"]["code"]) == (409, "CLIENT_ID_REUSED"), resp.json
    assert (await StatusReport.get(id=second["id"])).state == "PENDING_CONFIRMATION"
    again = await decide(client, world, a.manager, first["id"], body)
    assert (again.status, again.json["result"], again.json["report"]["id"]) == (200, "DUPLICATE", first["id"])


async def test_rejection_with_reason_leaves_the_unit_alone(client, world, clock):
    a = world.a
    report = await pending_change(client, world, clock)
    resp = await decide(client, world, a.manager, report["id"],
                        decision_body(a, clock.now(), decision="reject", reason="现场仍在出租"))
    assert resp.json["result"] == "REJECTED" and resp.json["confirmation"]["reason"] == "现场仍在出租"
    unit = await Unit.get(id=a.unit.id)
    assert (unit.status, unit.status_version) == ("VACANT", 1)


async def test_stale_base_version_is_a_conflict_at_submission(client, world, clock):
    a = world.a
    body = report_body(a, clock.now(), requested="OFF_MARKET", base_version=1)
    await post(client, f"/api/v1/units/{a.unit.code}/status", {"status": "RENOVATION", "reason": "x"},
               world.auth(a.manager))
    resp = await submit(client, world, a.inspector, body)
    assert resp.status == 201 and resp.json["result"] == "CONFLICT"
    assert resp.json["report"]["state_reason"] == "STALE_STATUS_VERSION"
    assert (await Unit.get(id=a.unit.id)).status == "RENOVATION"


async def test_change_between_report_and_confirmation_is_a_conflict_never_an_overwrite(client, world, clock):
    a = world.a
    report = await pending_change(client, world, clock)
    await post(client, f"/api/v1/units/{a.unit.code}/status", {"status": "RENOVATION", "reason": "装修"},
               world.auth(world.admin))
    resp = await decide(client, world, a.manager, report["id"], decision_body(a, clock.now()))
    assert resp.status == 200 and resp.json["result"] == "CONFLICT"
    unit = await Unit.get(id=a.unit.id)
    assert (unit.status, unit.status_version) == ("RENOVATION", 2)


async def test_expired_request_notifies_its_author(client, world, clock):
    a = world.a
    report = await pending_change(client, world, clock)
    clock.advance(hours=72, seconds=1)
    at_now(world, clock)
    expired = await expire_overdue(clock.now())
    assert expired == 3  # ours plus the world's two fixture reports
    row = await StatusReport.get(id=report["id"])
    assert row.state == "EXPIRED" and row.expired_at == clock.now()
    message = await OutboxMessage.get(dedupe_key=f"status_report_expired:{report['id']}")
    assert message.user_id == a.inspector.id and message.kind == "INSPECTION_EXPIRED"
    assert message.payload["unit_code"] == a.unit.code
    assert await expire_overdue(clock.now()) == 0
    resp = await decide(client, world, a.manager, report["id"], decision_body(a, clock.now()))
    assert (resp.status, resp.json["error"]["code"]) == (409, "REPORT_NOT_PENDING")


async def test_late_confirmation_expires_the_request(client, world, clock):
    a = world.a
    report = await pending_change(client, world, clock)
    clock.advance(hours=73)
    at_now(world, clock)
    resp = await decide(client, world, a.manager, report["id"], decision_body(a, clock.now()))
    assert (resp.status, resp.json["error"]["code"]) == (409, "CONFIRMATION_EXPIRED")
    assert (await StatusReport.get(id=report["id"])).state == "EXPIRED"
    assert await OutboxMessage.filter(dedupe_key=f"status_report_expired:{report['id']}").count() == 1


async def test_held_report_released_by_an_on_site_manager(client, world, clock):
    a = world.a
    resp = await submit(client, world, a.inspector, report_body(a, clock.now(), accuracy=0))
    rid = resp.json["report"]["id"]
    resp = await decide(client, world, a.manager, rid, decision_body(a, clock.now()))
    assert resp.json["result"] == "ACCEPTED"
    assert (await Unit.get(id=a.unit.id)).last_inspected_at == clock.now()


# --------------------------------------------------------------------------- rounds and audit

async def test_due_contradictions_and_timeline(client, world, clock, settings):
    a = world.a
    settings.inspection_interval_days = 1
    h = world.auth(a.manager)
    _, due = await client.get("/api/v1/inspections/due", headers=h)
    assert {u["code"] for u in due.json["items"]} == {u.code for u in a.units}
    await submit(client, world, a.inspector, report_body(a, clock.now(), unit=a.units[2]))
    _, due = await client.get(f"/api/v1/inspections/due?building_id={a.building.id}", headers=h)
    assert a.units[2].code not in {u["code"] for u in due.json["items"]}
    clock.advance(hours=25)
    at_now(world, clock)
    h = world.auth(a.manager)
    _, due = await client.get("/api/v1/inspections/due", headers=h)
    assert due.status == 200, due.json
    assert a.units[2].code in {u["code"] for u in due.json["items"]}

    _, contra = await client.get("/api/v1/inspections/contradictions", headers=h)
    items = contra.json["items"]
    assert [(i["unit_code"], i["recorded_status"], i["observed_status"]) for i in items] == \
        [(a.unit.code, "VACANT", "OFF_MARKET")]

    clock.set(clock.now() - timedelta(hours=25))
    at_now(world, clock)
    h = world.auth(a.manager)
    report = await pending_change(client, world, clock, requested="RENOVATION")
    await decide(client, world, a.manager, report["id"], decision_body(a, clock.now()))
    _, tl = await client.get(f"/api/v1/units/{a.unit.code}/timeline", headers=h)
    kinds = [e["kind"] for e in tl.json["events"]]
    assert {"status_change", "status_report", "confirmation"} <= set(kinds)
    assert tl.json["status"] == "RENOVATION"


async def test_timeline_includes_photos_newest_first(client, world, clock):
    a = world.a
    unit = a.units[2]
    t = clock.now() - timedelta(hours=1)
    p1, p2 = uuid.uuid4(), uuid.uuid4()
    for pid, at in ((p1, t), (p2, t + timedelta(minutes=40))):
        _, resp = await client.post("/api/v1/photos", files={"file": ("p.png", png_bytes(), "image/png")},
                                    data={"photo_id": str(pid), "unit_code": unit.code, "captured_at": at.isoformat()},
                                    headers=world.auth(a.inspector))
        assert resp.status == 201, resp.json
    report = await submit(client, world, a.inspector,
                          report_body(a, t + timedelta(minutes=20), unit=unit, photo_ids=[p1]))
    assert report.json["result"] == "ACCEPTED"
    _, tl = await client.get(f"/api/v1/units/{unit.code}/timeline", headers=world.auth(a.manager))
    events = tl.json["events"]
    times = [e["at"] for e in events]
    assert times == sorted(times, reverse=True)
    assert [(e["kind"], e.get("photo_id") or e.get("report_id")) for e in events[:3]] == [
        ("photo", str(p2)), ("status_report", report.json["report"]["id"]), ("photo", str(p1))]
    assert events[0]["at"] == (t + timedelta(minutes=40)).isoformat()
    assert events[0]["uploaded_by"] == a.inspector.id


async def test_signed_sticker_of_an_unknown_unit(client, world, clock):
    from config.settings import DEV_QR_SECRET
    from inspections.qr import build_sticker_url

    qr = build_sticker_url("https://rw.example.cn", DEV_QR_SECRET, "SZ-NS-A-9999", 1)
    resp = await post(client, "/api/v1/scan", {"qr": qr}, world.auth(world.a.inspector))
    assert (resp.status, resp.json["error"]["code"]) == (404, "UNKNOWN_UNIT")
    assert resp.json["error"]["details"] == {"unit_code": "SZ-NS-A-9999", "request_id": resp.headers["x-request-id"]}
    body = {**report_body(world.a, clock.now()), "qr": qr}
    resp = await submit(client, world, world.a.inspector, body)
    assert (resp.status, resp.json["error"]["code"]) == (404, "UNKNOWN_UNIT")
    assert not await StatusReport.filter(client_id=body["client_id"]).exists()


async def test_report_list_is_scoped(client, world, clock):
    _, resp = await client.get("/api/v1/status-reports", headers=world.auth(world.a.inspector))
    assert {r["unit_id"] for r in resp.json["items"]} == {world.a.unit.id}
    _, resp = await client.get("/api/v1/status-reports?state=PENDING_CONFIRMATION", headers=world.auth(world.admin))
    assert resp.json["total"] == 2


async def test_racing_decisions_apply_once(client, world, clock, settings):
    import asyncio

    from accounts.scope import load_principal
    from core.errors import AppError
    from inspections.schemas import DecisionIn
    from inspections.service import decide as decide_report
    from inspections.service import report_for

    a = world.a
    report = await pending_change(client, world, clock)
    deciders = [await load_principal(a.manager), await load_principal(world.admin)]

    async def one(principal):
        row = await report_for(principal, report["id"])
        body = DecisionIn.model_validate(decision_body(a, clock.now()))
        try:
            return (await decide_report(principal, row, body, settings=settings, now=clock.now())).result
        except AppError as exc:
            return exc.code

    results = await asyncio.gather(*[one(p) for p in deciders])
    assert sorted(results) == ["CONFIRMED", "REPORT_NOT_PENDING"]
    assert await StatusConfirmation.filter(report_id=report["id"]).count() == 1
    assert await UnitStatusChange.filter(unit_id=a.unit.id).count() == 1
