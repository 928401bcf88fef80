import json

import pytest

from core.errors import Conflict, InvalidTransition
from models.portfolio import Unit, UnitStatusChange
from portfolio.choices import UNIT_TRANSITIONS, StatusSource, UnitStatus, is_allowed_unit_transition
from portfolio.service import change_unit_status

S = UnitStatus


@pytest.mark.parametrize("current,target,allowed", [
    (S.VACANT, S.RESERVED, True),
    (S.VACANT, S.PENDING_DELIVERY, True),
    (S.VACANT, S.OCCUPIED, False),  # nobody moves in without a signed lease and delivery
    (S.RESERVED, S.PENDING_DELIVERY, True),
    (S.PENDING_DELIVERY, S.OCCUPIED, True),
    (S.OCCUPIED, S.MOVE_OUT_PENDING, True),
    (S.OCCUPIED, S.VACANT, False),  # a move-out is always recorded
    (S.MOVE_OUT_PENDING, S.VACANT, True),
    (S.UNDER_REPAIR, S.RESERVED, False),  # under repair is never bookable
    (S.UNDER_REPAIR, S.PENDING_DELIVERY, False),
    (S.RENOVATION, S.OCCUPIED, False),
    (S.TRIAL_STAY, S.OCCUPIED, True),
    (S.INTERNAL_USE, S.OCCUPIED, False),
    (S.OFF_MARKET, S.VACANT, True),
])
def test_transition_table(current, target, allowed):
    assert is_allowed_unit_transition(current, target) is allowed


def test_every_status_has_an_entry_and_no_self_loops():
    assert set(UNIT_TRANSITIONS) == set(UnitStatus)
    for status, targets in UNIT_TRANSITIONS.items():
        assert status not in targets
        assert targets, f"{status} is a dead end"


async def test_change_appends_history_and_bumps_version(world, clock):
    unit = world.a.unit
    change = await change_unit_status(unit.id, S.UNDER_REPAIR, source=StatusSource.ADMIN, now=clock.now(),
                                      actor_id=world.admin.id, reason="漏水")
    unit = await Unit.get(id=unit.id)
    assert (unit.status, unit.status_version) == (S.UNDER_REPAIR, 2)
    assert (change.from_status, change.to_status, change.version) == (S.VACANT, S.UNDER_REPAIR, 2)
    assert change.reason == "漏水"
    with pytest.raises(RuntimeError, match="immutable"):
        change.reason = "edited"
        await change.save()


async def test_invalid_transition_names_allowed_targets_and_writes_nothing(world, clock):
    unit = world.a.unit
    with pytest.raises(InvalidTransition) as info:
        await change_unit_status(unit.id, S.OCCUPIED, source=StatusSource.ADMIN, now=clock.now())
    assert info.value.details["allowed"] == sorted(s.value for s in UNIT_TRANSITIONS[S.VACANT])
    assert (await Unit.get(id=unit.id)).status_version == 1
    assert await UnitStatusChange.filter(unit_id=unit.id).count() == 0


async def test_stale_version_is_refused(world, clock):
    unit = world.a.unit
    await change_unit_status(unit.id, S.OFF_MARKET, source=StatusSource.ADMIN, now=clock.now())
    with pytest.raises(Conflict) as info:
        await change_unit_status(unit.id, S.RENOVATION, source=StatusSource.ADMIN, now=clock.now(),
                                 expected_version=1)
    assert info.value.code == "STALE_STATUS_VERSION"
    assert (await Unit.get(id=unit.id)).status == S.OFF_MARKET


async def test_api_invalid_transition_is_409_and_nothing_written(client, world):
    unit = world.a.unit
    _, response = await client.post(f"/api/v1/units/{unit.code}/status", headers=world.auth(world.a.manager),
                                    content=json.dumps({"status": "OCCUPIED", "reason": "test"}))
    assert response.status == 409
    error = response.json["error"]
    assert error["code"] == "INVALID_TRANSITION"
    assert "RESERVED" in error["details"]["allowed"] and error["details"]["current"] == "VACANT"
    assert await UnitStatusChange.filter(unit_id=unit.id).count() == 0


async def test_api_change_and_detail_history(client, world):
    unit = world.a.unit
    _, response = await client.post(f"/api/v1/units/{unit.code}/status", headers=world.auth(world.a.manager),
                                    content=json.dumps({"status": "RESERVED", "reason": "意向金",
                                                        "base_status_version": 1}))
    assert response.status == 200, response.json
    assert response.json["unit"]["status_version"] == 2
    _, detail = await client.get(f"/api/v1/units/{unit.code}", headers=world.auth(world.a.inspector))
    history = detail.json["status_history"]
    assert [(h["from"], h["to"], h["source"], h["actor_id"]) for h in history] == [
        ("VACANT", "RESERVED", "admin", world.a.manager.id)]
