"""The occupancy API over the test world: scope (frontline staff their buildings, executives everything), bad
input as 422 in the one error shape, flags with history, snapshots by an admin, the audit's scoped export."""

from __future__ import annotations

import io
import json

from openpyxl import load_workbook

from accounts.choices import Role
from models.occupancy import OccupancySnapshotDay, UnitDaySnapshot
from occupancy.choices import DayState

P = "/api/v1/occupancy"


async def _complete_day(world, settings, day="2026-10-31"):
    """Snapshot a day for the world (its IoT inference and ingest are not running: take the devices out)."""
    from datetime import date

    from models.iot import Device
    from occupancy.jobs import run_snapshot

    await Device.all().update(unit_id=None)
    result = await run_snapshot(settings, date.fromisoformat(day), world.now)
    assert result.state == DayState.COMPLETE, result.reasons


async def test_scope_frontline_sees_own_buildings_executive_everything(client, world, settings):
    await _complete_day(world, settings)
    _, mine = await client.get(f"{P}/day?as_of=2026-10-31&level=building", headers=world.auth(world.a.manager))
    assert mine.status == 200
    assert [g["key"] for g in mine.json["groups"]] == [world.a.building.id]
    assert mine.json["total"]["explained"]["units"] == len(world.a.units)
    _, everything = await client.get(f"{P}/day?as_of=2026-10-31&level=building",
                                     headers=world.auth(world.executive))
    assert sorted(g["key"] for g in everything.json["groups"]) == sorted([world.a.building.id, world.b.building.id])
    _, other = await client.get(f"{P}/day?as_of=2026-10-31&building_id={world.b.building.id}",
                                headers=world.auth(world.a.inspector))
    assert other.status == 404
    _, units = await client.get(f"{P}/day?as_of=2026-10-31&level=unit", headers=world.auth(world.a.inspector))
    assert {u["unit_code"] for u in units.json["units"]} == {u.code for u in world.a.units}


async def test_bad_input_is_422_in_the_one_shape(client, world):
    headers = world.auth(world.admin)
    for path in (f"{P}/day?level=floor", f"{P}/day?as_of=2026-13-01", f"{P}/month?month=2026-1",
                 f"{P}/trend?from=2026-10&to=2026-09", f"{P}/trend?from=2023-01&to=2026-10", f"{P}/month?level=unit"):
        _, response = await client.get(path, headers=headers)
        assert response.status == 422, path
        assert set(response.json["error"]) == {"code", "message", "details"}
    _, future = await client.post(f"{P}/snapshots", headers=headers, content=json.dumps({"day": "2026-11-02"}))
    assert future.status == 422 and future.json["error"]["code"] == "DAY_NOT_OVER"


async def test_no_snapshot_is_null_with_reason_not_zero(client, world):
    _, response = await client.get(f"{P}/day?as_of=2026-10-31", headers=world.auth(world.executive))
    assert response.status == 200
    assert response.json["total"] is None and response.json["complete"] is False
    assert "2026-10-31 has not been snapshotted" in response.json["stale"]["label"]


async def test_admin_snapshot_and_days_list(client, world):
    headers = world.auth(world.admin)
    _, response = await client.post(f"{P}/snapshots", headers=headers,
                                    content=json.dumps({"day": "2026-10-30", "to": "2026-10-31"}))
    assert response.status == 200
    # the world's door sensors never reported and no inference ran: incomplete, with the reasons
    assert [d["state"] for d in response.json["days"]] == ["INCOMPLETE", "INCOMPLETE"]
    _, days = await client.get(f"{P}/days?from=2026-10-01&to=2026-10-31", headers=world.auth(world.a.inspector))
    assert [d["day"] for d in days.json["days"]] == ["2026-10-30", "2026-10-31"]
    assert any("IOT_DETECTION" in r for r in days.json["days"][0]["reasons"])
    assert await UnitDaySnapshot.all().count() == 0 and await OccupancySnapshotDay.all().count() == 2


async def test_flags_have_history(client, world, settings):
    headers = world.auth(world.a.manager)
    unit = world.a.units[2]
    body = {"unit_code": unit.code, "kind": "TRIAL_STAY", "valid_from": "2026-10-01", "reason": "试住两周",
            "reference": "TS-1"}
    _, created = await client.post(f"{P}/flags", headers=headers, content=json.dumps(body))
    assert created.status == 201 and created.json["valid_to"] is None
    _, overlap = await client.post(f"{P}/flags", headers=headers, content=json.dumps(body))
    assert overlap.status == 409 and overlap.json["error"]["code"] == "FLAG_OVERLAPS"
    _, bad = await client.post(f"{P}/flags", headers=headers, content=json.dumps({**body, "kind": "试住"}))
    assert bad.status == 422  # a flag is a code, never free text
    _, ended = await client.post(f"{P}/flags/{created.json['id']}/end", headers=headers,
                                 content=json.dumps({"valid_to": "2026-10-14", "reason": "转正式租约"}))
    assert ended.status == 200 and ended.json["valid_to"] == "2026-10-14" and ended.json["ended_by"]
    _, listed = await client.get(f"{P}/flags?unit={unit.code}", headers=world.auth(world.a.inspector))
    assert [(f["kind"], f["valid_to"]) for f in listed.json["flags"]] == [("TRIAL_STAY", "2026-10-14")]
    # the flag counts on the days it covered, not after
    await _complete_day(world, settings, "2026-10-10")
    await _complete_day(world, settings, "2026-10-20")
    covered = await UnitDaySnapshot.get(day="2026-10-10", unit_id=unit.id)
    after = await UnitDaySnapshot.get(day="2026-10-20", unit_id=unit.id)
    assert (covered.excl_trial, covered.rentable) == (True, False)
    assert (after.excl_trial, after.rentable) == (False, True)
    _, other = await client.post(f"{P}/flags", headers=headers,
                                 content=json.dumps({**body, "unit_code": world.b.units[2].code}))
    assert other.status == 404


async def test_audit_export_is_scoped(client, world):
    _, mine = await client.get(f"{P}/audits/2026-10", headers=world.auth(world.a.manager))
    assert [f["unit_code"] for f in mine.json["findings"]] == [world.a.unit.code]
    _, listed = await client.get(f"{P}/audits", headers=world.auth(world.a.finance))
    assert listed.json["audits"][0]["units_with_differences"] == 1
    _, book = await client.get(f"{P}/audits/2026-10/export.xlsx", headers=world.auth(world.a.manager))
    assert book.status == 200
    rows = list(load_workbook(io.BytesIO(book.body))["明细"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [world.a.unit.code]
    _, pdf = await client.get(f"{P}/audits/2026-10/export.pdf", headers=world.auth(world.a.manager))
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")
    _, everything = await client.get(f"{P}/audits/2026-10", headers=world.auth(world.executive))
    assert len(everything.json["findings"]) == 2
    _, missing = await client.get(f"{P}/audits/2026-09", headers=world.auth(world.executive))
    assert missing.status == 404 and missing.json["error"]["code"] == "AUDIT_NOT_FOUND"
    _, refused = await client.get(f"{P}/audits/2026-10", headers=world.auth(world.user_for(Role.INSPECTOR)))
    assert refused.status == 403
