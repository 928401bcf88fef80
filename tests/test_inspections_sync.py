"""Offline sync: per-item results, capture order per unit, replay, per-item atomicity, racing batches."""

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from tortoise.connection import get_connection

from accounts.scope import load_principal
from inspections.sync import apply_batch
from models.inspections import ReportPhoto, StatusConfirmation, StatusReport
from models.portfolio import Unit
from tests.support.db import on_postgres
from tests.support.inspections_helpers import decision_body, report_body


async def sync(client, world, user, items):
    _, resp = await client.post("/api/v1/sync", content=json.dumps({"items": items}), headers=world.auth(user))
    return resp


async def snapshot():
    units = await Unit.all().order_by("id").values_list("id", "status", "status_version", "last_inspected_at")
    return (units, await StatusReport.all().count(), await ReportPhoto.all().count(),
            await StatusConfirmation.all().count())


def mixed_batch(world, now):
    a, b = world.a, world.b
    t = now - timedelta(hours=6)
    reused = report_body(a, t, unit=a.units[3])
    items = [
        report_body(a, t, unit=a.units[2]),                                             # ACCEPTED
        report_body(a, t + timedelta(minutes=5), requested="OFF_MARKET"),               # PENDING_CONFIRMATION
        report_body(a, t + timedelta(minutes=9), unit=a.units[3], requested="UNDER_REPAIR",
                    photo_ids=[uuid.uuid4()], category="DAMAGE"),                       # AWAITING_MEDIA
        report_body(a, t, unit=a.occupied_unit, requested="UNDER_REPAIR", base_version=1,
                    photo_ids=[uuid.uuid4()]),                                          # CONFLICT (stale)
        report_body(a, t, unit=a.units[2], offset_m=900),                               # REJECTED geofence
        {"client_id": "not-a-uuid", "qr": "x"},                                          # REJECTED validation
        report_body(b, t),                                                              # REJECTED scope
        report_body(a, now + timedelta(minutes=10)),                                    # REJECTED future
        report_body(a, now - timedelta(days=8)),                                        # REJECTED too old
        reused,                                                                         # ACCEPTED
        {**reused, "note": "changed"},                                                  # CONFLICT (client_id)
        {"kind": "teleport"},                                                           # REJECTED kind
    ]
    expected = [("ACCEPTED", None), ("PENDING_CONFIRMATION", None), ("AWAITING_MEDIA", None), ("CONFLICT", None),
                ("REJECTED", "OUTSIDE_GEOFENCE"), ("REJECTED", "VALIDATION_ERROR"), ("REJECTED", "NOT_FOUND"),
                ("REJECTED", "CAPTURED_AT_IN_FUTURE"), ("REJECTED", "CAPTURED_AT_TOO_OLD"), ("ACCEPTED", None),
                ("CONFLICT", "CLIENT_ID_REUSED"), ("REJECTED", "VALIDATION_ERROR")]
    return items, expected


def outcome(result):
    return result["result"], (result.get("error") or {}).get("code")


async def test_mixed_batch_gets_one_result_per_item(client, world, clock):
    items, expected = mixed_batch(world, clock.now())
    resp = await sync(client, world, world.a.inspector, items)
    assert resp.status == 200, resp.json
    results = resp.json["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    got = [outcome(r) for r in results]
    assert got == expected, got
    assert resp.json["summary"] == {"ACCEPTED": 2, "PENDING_CONFIRMATION": 1, "AWAITING_MEDIA": 1, "CONFLICT": 2,
                                    "REJECTED": 6}
    assert all(r["report"]["via_sync"] for r in results if "report" in r)


async def test_replay_changes_nothing_and_returns_the_original_results(client, world, clock):
    items, expected = mixed_batch(world, clock.now())
    first = await sync(client, world, world.a.inspector, items)
    before = await snapshot()
    again = await sync(client, world, world.a.inspector, items)
    assert await snapshot() == before
    for one, two in zip(first.json["results"], again.json["results"], strict=True):
        if one["result"] == "REJECTED" or outcome(one) == ("CONFLICT", "CLIENT_ID_REUSED"):
            assert outcome(two) == outcome(one)
        else:
            assert two["result"] == "DUPLICATE" and two["original_result"] == one["result"]
            assert two["report"]["id"] == one["report"]["id"]


async def test_items_are_applied_per_unit_in_capture_order(client, world, clock):
    a = world.a
    base = clock.now() - timedelta(hours=3)
    items = [report_body(a, base + timedelta(minutes=m), unit=a.units[(m // 10) % 2 * 2])
             for m in (50, 10, 40, 20, 30, 0)]
    resp = await sync(client, world, a.inspector, items)
    assert {r["result"] for r in resp.json["results"]} == {"ACCEPTED"}
    for unit in (a.units[0], a.units[2]):
        rows = await StatusReport.filter(unit_id=unit.id, via_sync=True).order_by("id").values_list("captured_at",
                                                                                                   flat=True)
        assert rows == sorted(rows) and len(rows) == 3
        assert (await Unit.get(id=unit.id)).last_inspected_at == rows[-1]


async def test_confirmation_items_name_the_report_by_client_id(client, world, clock):
    a = world.a
    t = clock.now() - timedelta(hours=2)
    report = report_body(a, t, requested="OFF_MARKET")
    assert (await sync(client, world, a.inspector, [report])).json["results"][0]["result"] == "PENDING_CONFIRMATION"
    decision = {**decision_body(a, t + timedelta(hours=1)), "kind": "confirmation",
                "report_client_id": report["client_id"]}
    resp = await sync(client, world, a.manager, [decision])
    assert outcome(resp.json["results"][0]) == ("CONFIRMED", None)
    assert (await Unit.get(id=a.unit.id)).status == "OFF_MARKET"
    resp = await sync(client, world, a.manager, [decision])
    assert resp.json["results"][0]["result"] == "DUPLICATE"
    assert resp.json["results"][0]["original_result"] == "CONFIRMED"
    mine = {**decision_body(a, t), "kind": "confirmation", "report_client_id": report["client_id"]}
    resp = await sync(client, world, a.inspector, [mine])
    assert outcome(resp.json["results"][0]) == ("REJECTED", "FORBIDDEN")


async def test_confirmation_client_id_reused_for_another_report_is_a_conflict(client, world, clock):
    a = world.a
    t = clock.now() - timedelta(hours=2)
    reports = [report_body(a, t + timedelta(minutes=i), requested="OFF_MARKET") for i in range(2)]
    resp = await sync(client, world, a.inspector, reports)
    assert [r["result"] for r in resp.json["results"]] == ["PENDING_CONFIRMATION"] * 2
    decision = {**decision_body(a, t + timedelta(hours=1)), "kind": "confirmation"}
    items = [{**decision, "report_client_id": reports[0]["client_id"]},
             {**decision, "report_client_id": reports[1]["client_id"]}]
    resp = await sync(client, world, a.manager, items)
    assert [outcome(r) for r in resp.json["results"]] == [("CONFIRMED", None), ("CONFLICT", "CLIENT_ID_REUSED")]
    assert (await StatusReport.get(client_id=reports[1]["client_id"])).state == "PENDING_CONFIRMATION"
    assert await StatusConfirmation.all().count() == 1


async def test_held_for_review_and_unknown_unit_as_item_results(client, world, clock):
    from config.settings import DEV_QR_SECRET
    from inspections.qr import build_sticker_url

    a = world.a
    t = clock.now() - timedelta(hours=1)
    held = report_body(a, t, accuracy=0)
    unknown = {**report_body(a, t), "qr": build_sticker_url("https://rw.example.cn", DEV_QR_SECRET, "SZ-NS-A-9999", 1)}
    resp = await sync(client, world, a.inspector, [held, unknown])
    assert [outcome(r) for r in resp.json["results"]] == [("HELD_FOR_REVIEW", None), ("REJECTED", "UNKNOWN_UNIT")]
    assert resp.json["results"][0]["report"]["state_reason"] == "SUSPECTED_MOCK_LOCATION"
    assert resp.json["results"][1]["error"]["status"] == 404
    assert (await StatusReport.get(client_id=held["client_id"])).state == "HELD_FOR_REVIEW"
    assert resp.json["summary"] == {"HELD_FOR_REVIEW": 1, "REJECTED": 1}


async def test_batch_limits(client, world, clock):
    resp = await sync(client, world, world.a.inspector, [report_body(world.a, clock.now()) for _ in range(201)])
    assert (resp.status, resp.json["error"]["code"]) == (422, "VALIDATION_ERROR")
    resp = await sync(client, world, world.a.inspector, [])
    assert resp.status == 422


async def install_failing_trigger(photo_id: str) -> None:
    conn = get_connection("default")
    if on_postgres():
        await conn.execute_script(f"""
            CREATE OR REPLACE FUNCTION rw_test_fail() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'simulated database failure'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER rw_test_fail BEFORE INSERT ON status_report_photos FOR EACH ROW
            WHEN (NEW.photo_id = '{photo_id}'::uuid) EXECUTE FUNCTION rw_test_fail();""")
    else:
        await conn.execute_script(f"""
            CREATE TRIGGER rw_test_fail BEFORE INSERT ON status_report_photos
            WHEN NEW.photo_id = '{photo_id}' BEGIN SELECT RAISE(ABORT, 'simulated database failure'); END;""")


async def test_a_database_error_mid_item_rolls_back_that_item_only(client, world, clock):
    a = world.a
    poison = str(uuid.uuid4())
    await install_failing_trigger(poison)
    t = clock.now() - timedelta(hours=1)
    items = [report_body(a, t, unit=a.units[2]),
             report_body(a, t + timedelta(minutes=1), unit=a.units[3], photo_ids=[uuid.uuid4(), poison]),
             report_body(a, t + timedelta(minutes=2), unit=a.units[3])]
    resp = await sync(client, world, a.inspector, items)
    got = [outcome(r) for r in resp.json["results"]]
    assert got == [("ACCEPTED", None), ("REJECTED", "DATABASE_ERROR"), ("ACCEPTED", None)]
    assert not await StatusReport.filter(client_id=items[1]["client_id"]).exists()  # no half-written report
    assert await ReportPhoto.filter(report__client_id=items[1]["client_id"]).count() == 0
    assert await StatusReport.filter(client_id__in=[items[0]["client_id"], items[2]["client_id"]]).count() == 2


@pytest.mark.parametrize("copies", [2, 4])
async def test_identical_batches_racing_apply_once(world, clock, settings, copies):
    a = world.a
    principal = await load_principal(a.inspector)
    t = clock.now() - timedelta(hours=1)
    items = [report_body(a, t + timedelta(minutes=i), unit=a.units[i % 4],
                         requested="OFF_MARKET" if i % 4 == 0 else None) for i in range(40)]
    batches = await asyncio.gather(*[apply_batch(principal, items, settings=settings, now=clock.now())
                                     for _ in range(copies)])
    assert await StatusReport.filter(via_sync=True).count() == 40
    for i in range(len(items)):
        results = [batch["results"][i] for batch in batches]
        originals = [r for r in results if r["result"] != "DUPLICATE"]
        assert len(originals) == 1, results  # exactly one batch wrote it, the others saw a duplicate
        assert {r["report"]["id"] for r in results} == {originals[0]["report"]["id"]}
        assert {r.get("original_result", r["result"]) for r in results} == {originals[0]["result"]}


async def test_a_later_item_sees_what_an_earlier_item_of_its_unit_changed(client, world, clock):
    """The batch loads its units at once, but only the first item of a unit uses that copy: here the
    confirmation moves the unit to OFF_MARKET, and the next report (VACANT, only allowed from OFF_MARKET) sees it."""
    a = world.a
    t = clock.now() - timedelta(hours=3)
    report = report_body(a, t, requested="OFF_MARKET")
    assert (await sync(client, world, a.inspector, [report])).json["results"][0]["result"] == "PENDING_CONFIRMATION"
    version = (await Unit.get(id=a.unit.id)).status_version
    decision = {**decision_body(a, t + timedelta(hours=1)), "kind": "confirmation",
                "report_client_id": report["client_id"]}
    back = report_body(a, t + timedelta(hours=2), requested="VACANT", base_version=version + 1)
    resp = await sync(client, world, a.manager, [back, decision])
    assert [outcome(r)[0] for r in resp.json["results"]] == ["PENDING_CONFIRMATION", "CONFIRMED"], resp.json
    assert (await Unit.get(id=a.unit.id)).status == "OFF_MARKET"


async def test_last_inspected_only_moves_forward_and_rolls_back_with_its_item(world, clock):
    from tortoise.transactions import in_transaction

    from inspections.service import mark_inspected

    unit, t = world.a.units[2], clock.now() - timedelta(hours=2)
    for at, expected in ((t, t), (t - timedelta(hours=1), t), (t + timedelta(minutes=30), t + timedelta(minutes=30))):
        await mark_inspected(unit.id, at)
        assert (await Unit.get(id=unit.id)).last_inspected_at == expected
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await mark_inspected(unit.id, t + timedelta(hours=1))
            raise RuntimeError("the item failed after marking")
    assert (await Unit.get(id=unit.id)).last_inspected_at == t + timedelta(minutes=30)


@pytest.mark.parametrize("first", ["A", "B"])
async def test_batch_travel_check_decides_as_item_by_item(client, world, clock, first):
    """One batch with a report in Shenzhen and one in Hangzhou 30 s apart: whatever the unit codes sort as, the
    later fix is the one held — as when the two are sent one by one in capture order."""
    sides = {"A": world.a, "B": world.b}
    earlier, later = sides[first], sides["B" if first == "A" else "A"]
    t = clock.now() - timedelta(minutes=30)
    items = [report_body(later, t + timedelta(seconds=30)), report_body(earlier, t)]
    resp = await sync(client, world, world.admin, items)
    assert [outcome(r) for r in resp.json["results"]] == [("HELD_FOR_REVIEW", None), ("ACCEPTED", None)]
    assert resp.json["results"][0]["report"]["flags"] == ["SUSPECTED_MOCK_LOCATION"]


async def test_batch_mock_flag_and_confirmation_fix_count_in_the_travel_check(client, world, clock):
    """A client-flagged fix is held; a confirmation earlier in the same batch is a reference point for the
    next report, as it would be if sent alone."""
    a, b = world.a, world.b
    t = clock.now() - timedelta(minutes=30)
    pending = report_body(a, t - timedelta(minutes=5), requested="OFF_MARKET")
    resp = await sync(client, world, a.inspector, [pending])
    assert outcome(resp.json["results"][0]) == ("PENDING_CONFIRMATION", None)
    flagged = report_body(a, t + timedelta(minutes=1), unit=a.units[2])
    flagged["location"]["mock_location"] = True
    confirmation = {**decision_body(a, t), "kind": "confirmation", "report_client_id": pending["client_id"]}
    far = report_body(b, t + timedelta(seconds=40))
    resp = await sync(client, world, world.admin, [far, flagged, confirmation])
    assert [outcome(r) for r in resp.json["results"]] == [("HELD_FOR_REVIEW", None), ("HELD_FOR_REVIEW", None),
                                                          ("CONFIRMED", None)]


async def install_failing_report_trigger(client_id: str) -> None:
    conn = get_connection("default")
    if on_postgres():
        await conn.execute_script(f"""
            CREATE OR REPLACE FUNCTION rw_test_fail_report() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'simulated database failure'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER rw_test_fail_report BEFORE INSERT ON status_reports FOR EACH ROW
            WHEN (NEW.client_id = '{client_id}'::uuid) EXECUTE FUNCTION rw_test_fail_report();""")
    else:
        await conn.execute_script(f"""
            CREATE TRIGGER rw_test_fail_report BEFORE INSERT ON status_reports
            WHEN NEW.client_id = '{client_id}' BEGIN SELECT RAISE(ABORT, 'simulated database failure'); END;""")


async def test_a_database_error_in_a_report_without_photos_rolls_back_that_item_only(client, world, clock):
    """Reports without photos are stored together: when that fails, each is applied again on its own, so only
    the failing one is REJECTED, and the travel check of the others is as if the failed one had not been sent
    (its Hangzhou fix would make the Shenzhen report 30 s later an impossible journey)."""
    a, b = world.a, world.b
    t = clock.now() - timedelta(hours=1)
    poison = report_body(b, t)
    items = [report_body(a, t + timedelta(seconds=30), unit=a.units[2]), poison,
             report_body(a, t + timedelta(minutes=5), unit=a.units[3])]
    await install_failing_report_trigger(poison["client_id"])
    resp = await sync(client, world, world.admin, items)
    got = [outcome(r) for r in resp.json["results"]]
    assert got == [("ACCEPTED", None), ("REJECTED", "DATABASE_ERROR"), ("ACCEPTED", None)], got
    assert not await StatusReport.filter(client_id=poison["client_id"]).exists()
    assert await StatusReport.filter(client_id__in=[items[0]["client_id"], items[2]["client_id"]]).count() == 2
    assert (await Unit.get(id=a.units[2].id)).last_inspected_at == t + timedelta(seconds=30)
