"""Two reviewers on the same draft lease: every save names the version it was made on (body ``version`` or
If-Match), so the later of two saves on one version is refused with 409 STALE_DRAFT_VERSION and the current
version — nobody's correction is silently overwritten."""

from __future__ import annotations

import asyncio
import json

import pytest

from accounts.scope import load_principal
from contracts import service
from contracts.corpus import digital_pdf
from core.errors import Conflict
from models.contracts import ContractDraft
from tests.test_contracts_intake import CONTRACT, draft_of, pdf_file, upload


@pytest.fixture(autouse=True)
def _close_pool(app):
    yield
    app.ctx.ocr_pool.close()


async def _draft(app, client, world) -> dict:
    response = await upload(client, world, world.a.finance, [pdf_file(digital_pdf([CONTRACT]))],
                            world.a.building.id)
    await app.ctx.ocr_pool.drain()
    _, draft = await draft_of(client, world, world.a.finance, response.json["id"])
    return draft


def _value(draft: dict, name: str):
    return next(f["value"] for f in draft["fields"] if f["name"] == name)


async def test_the_second_of_two_saves_on_one_version_is_refused_and_loses_nothing(app, client, world):
    draft = await _draft(app, client, world)
    path = f"/api/v1/contracts/drafts/{draft['id']}"
    _, read_a = await client.get(path, headers=world.auth(world.a.finance))
    _, read_b = await client.get(path, headers=world.auth(world.a.manager))
    assert read_a.headers["etag"] == read_b.headers["etag"] == f'"{draft["version"]}"'

    _, saved_a = await client.post(f"{path}/review", headers={**world.auth(world.a.finance),
                                                              "If-Match": read_a.headers["etag"]},
                                   content=json.dumps({"correct": {"payment_frequency": "两月一次"}}))
    assert saved_a.status == 200, saved_a.json
    assert saved_a.json["version"] == draft["version"] + 1

    _, saved_b = await client.post(f"{path}/review", headers=world.auth(world.a.manager), content=json.dumps(
        {"correct": {"monthly_rent_fen": 490000}, "version": read_b.json["version"]}))
    assert saved_b.status == 409
    assert saved_b.json["error"]["code"] == "STALE_DRAFT_VERSION"
    assert saved_b.json["error"]["details"]["current_version"] == draft["version"] + 1
    assert saved_b.json["error"]["details"]["expected_version"] == draft["version"]

    _, now = await client.get(path, headers=world.auth(world.a.manager))
    assert _value(now.json, "payment_frequency") == "BIMONTHLY"  # A's correction stands
    assert _value(now.json, "monthly_rent_fen") == 480000  # B's was not applied

    _, again_b = await client.post(f"{path}/review", headers={**world.auth(world.a.manager),
                                                              "If-Match": now.headers["etag"]},
                                   content=json.dumps({"correct": {"monthly_rent_fen": 490000}}))
    assert again_b.status == 200, again_b.json
    assert (_value(again_b.json, "payment_frequency"), _value(again_b.json, "monthly_rent_fen")) == (
        "BIMONTHLY", 490000)
    assert again_b.json["version"] == draft["version"] + 2


async def test_two_racing_saves_on_one_version_exactly_one_applies(app, client, world):
    draft = await _draft(app, client, world)
    settings = app.ctx.settings
    finance, manager = await load_principal(world.a.finance), await load_principal(world.a.manager)

    async def save(principal, value):
        return await service.review(principal, draft["id"], version=draft["version"], confirm=[],
                                    correct={"monthly_rent_fen": value}, unit_code=None, settings=settings,
                                    now=app.ctx.clock.now())

    outcomes = await asyncio.gather(save(finance, 470000), save(manager, 490000), return_exceptions=True)
    won = [o for o in outcomes if isinstance(o, ContractDraft)]
    lost = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert lost[0].code == "STALE_DRAFT_VERSION" and lost[0].details["current_version"] == draft["version"] + 1
    stored = await ContractDraft.get(id=draft["id"])
    assert stored.version == draft["version"] + 1
    assert stored.extracted["monthly_rent_fen"]["value"] == won[0].extracted["monthly_rent_fen"]["value"]


async def test_a_save_without_a_version_or_with_a_bad_if_match_is_refused(app, client, world):
    draft = await _draft(app, client, world)
    path = f"/api/v1/contracts/drafts/{draft['id']}/review"
    body = json.dumps({"correct": {"monthly_rent_fen": 490000}})
    _, missing = await client.post(path, headers=world.auth(world.a.finance), content=body)
    assert missing.status == 428 and missing.json["error"]["code"] == "VERSION_REQUIRED"
    assert missing.json["error"]["details"]["current_version"] == draft["version"]
    _, garbled = await client.post(path, headers={**world.auth(world.a.finance), "If-Match": "*"}, content=body)
    assert garbled.status == 400 and garbled.json["error"]["code"] == "INVALID_IF_MATCH"
    _, disagree = await client.post(path, headers={**world.auth(world.a.finance), "If-Match": '"1"'},
                                    content=json.dumps({"correct": {"monthly_rent_fen": 490000}, "version": 2}))
    assert disagree.status == 400 and disagree.json["error"]["code"] == "INVALID_IF_MATCH"
    assert (await ContractDraft.get(id=draft["id"])).version == draft["version"]  # nothing was saved
