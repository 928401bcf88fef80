"""The staff step table (refunds.steps) agrees with the workflow and the service, and the board's building
filter is parsed as input: a bad number is a 422 in the error shape, never a 500."""

from __future__ import annotations

import inspect

import pytest

from refunds.choices import STEP_ROLE
from refunds.steps import STAFF_STEPS
from tests.support.refund_helpers import auth_at


@pytest.mark.parametrize("step", STAFF_STEPS, ids=lambda s: s.action)
def test_each_step_row_matches_its_service_function(step):
    params = inspect.signature(step.run).parameters
    assert {"actor", "now", "cfg"} <= set(params)
    for name in step.fields:
        assert name in step.body.model_fields, f"{step.action}: {name} is not a field of {step.body.__name__}"
        assert params[name].kind == inspect.Parameter.KEYWORD_ONLY, f"{step.action}: {name} is not a keyword"
    required = {n for n, p in params.items() if p.kind == inspect.Parameter.KEYWORD_ONLY and p.default is p.empty}
    assert required - {"actor", "now", "cfg"} <= set(step.fields), f"{step.action}: a required argument is unfed"
    if step.target in STEP_ROLE:
        assert STEP_ROLE[step.target] in step.roles, f"{step.action}: the step's own role cannot take it"


def test_step_actions_are_unique():
    actions = [s.action for s in STAFF_STEPS]
    assert len(actions) == len(set(actions))


@pytest.mark.parametrize("value", ["abc", "²", "-1", "1.5", str(2**31), "9" * 30])
async def test_board_building_id_is_validated(client, world, clock, value):
    _, resp = await client.get("/api/v1/refunds/board", params={"building_id": value},
                               headers=auth_at(world.admin, clock.now()))
    assert resp.status == 422, resp.text
    assert resp.json["error"]["code"] == "VALIDATION_ERROR"
    assert resp.json["error"]["details"]["fields"][0]["field"] == "building_id"


async def test_board_building_id_empty_or_own(client, world, clock):
    headers = auth_at(world.admin, clock.now())
    _, everything = await client.get("/api/v1/refunds/board", headers=headers)
    _, empty = await client.get("/api/v1/refunds/board", params={"building_id": ""}, headers=headers)
    assert empty.status == 200 and empty.json["counts"] == everything.json["counts"]
    _, own = await client.get("/api/v1/refunds/board", params={"building_id": str(world.a.building.id)},
                              headers=headers)
    assert own.status == 200 and own.json["counts"]["APPLIED"] == 1
