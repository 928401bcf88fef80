"""A photo belongs to its uploader and, once attached, to its unit; evidence of one refund is not another's.

The rules as a table (no database), then each refusal through the API: status reports, the offline sync, refund
deduction lines. Every refused case checks that the photo stayed where it was.
"""

from __future__ import annotations

import json
import uuid

import pytest

from inspections.photo_scope import (
    PHOTO_NOT_YOURS,
    PHOTO_OF_ANOTHER_REFUND,
    PHOTO_OF_ANOTHER_UNIT,
    PHOTO_OUT_OF_SCOPE,
    Citation,
    PhotoFacts,
    first_refusal,
    refund_refusal,
    report_refusal,
)
from models.accounts import User
from models.inspections import Photo, ReportPhoto, StatusReport
from models.portfolio import BuildingStaff
from models.refunds import DepositRefund, RefundDeduction
from tests.support.inspections_helpers import png_bytes, report_body
from tests.support.refund_helpers import PAYEE, auth_at, new_tenancy, post

ME, OTHER = 1, 2
U1, U2, U9 = 11, 12, 91  # U1, U2 in building 100; U9 in building 900
HERE = Citation(by_user_id=ME, unit_id=U1, building_id=100)
REFUND = Citation(by_user_id=ME, unit_id=U1, building_id=100, refund_id=5)


@pytest.mark.parametrize("photo,expected", [
    (PhotoFacts(ME, None, None), None),                       # own, unattached: the report attaches it
    (PhotoFacts(ME, U1, 100), None),                          # own, of this unit
    (PhotoFacts(ME, U2, 100), PHOTO_OF_ANOTHER_UNIT),         # own, attached to a neighbour
    (PhotoFacts(ME, U9, 900), PHOTO_OUT_OF_SCOPE),            # own, of another building
    (PhotoFacts(OTHER, None, None), PHOTO_NOT_YOURS),         # someone else's unattached upload
    (PhotoFacts(OTHER, U1, 100), PHOTO_NOT_YOURS),            # someone else's, even of this unit
    (PhotoFacts(OTHER, U9, 900), PHOTO_OUT_OF_SCOPE),
])
def test_report_citations(photo, expected):
    assert report_refusal(photo, HERE) == expected


@pytest.mark.parametrize("photo,expected", [
    (PhotoFacts(ME, None, None), None),
    (PhotoFacts(OTHER, U1, 100), None),                       # the inspector's photo of the refund's unit
    (PhotoFacts(OTHER, U1, 100, frozenset({5})), None),       # already evidence of this same refund
    (PhotoFacts(OTHER, U1, 100, frozenset({4})), PHOTO_OF_ANOTHER_REFUND),
    (PhotoFacts(OTHER, U1, 100, frozenset({4, 5})), PHOTO_OF_ANOTHER_REFUND),
    (PhotoFacts(OTHER, None, None), PHOTO_NOT_YOURS),
    (PhotoFacts(ME, U2, 100), PHOTO_OF_ANOTHER_UNIT),
    (PhotoFacts(OTHER, U9, 900), PHOTO_OUT_OF_SCOPE),
])
def test_refund_citations(photo, expected):
    assert refund_refusal(photo, REFUND) == expected


@pytest.mark.parametrize("refusals,expected", [
    ({}, None),
    ({"a": None, "b": None}, None),
    ({"a": PHOTO_OF_ANOTHER_UNIT, "b": None}, (PHOTO_OF_ANOTHER_UNIT, ["a"])),
    ({"a": PHOTO_OF_ANOTHER_UNIT, "b": PHOTO_NOT_YOURS, "c": PHOTO_NOT_YOURS}, (PHOTO_NOT_YOURS, ["b", "c"])),
    ({"a": PHOTO_OF_ANOTHER_REFUND, "b": PHOTO_OUT_OF_SCOPE}, (PHOTO_OUT_OF_SCOPE, ["b"])),
])
def test_the_most_serious_refusal_is_reported(refusals, expected):
    assert first_refusal(refusals) == expected


# --------------------------------------------------------------------------------------------- through the API

async def upload(client, headers, *, unit_code: str | None = None) -> str:
    photo_id = str(uuid.uuid4())
    data = {"photo_id": photo_id, **({"unit_code": unit_code} if unit_code else {})}
    _, resp = await client.post("/api/v1/photos", headers=headers,
                                files={"file": ("p.png", png_bytes(), "image/png")}, data=data)
    assert resp.status == 201, resp.json
    return photo_id


def refused(resp, status: int, code: str, photo_id: str) -> None:
    assert resp.status == status, resp.json
    error = resp.json["error"]
    assert error["code"] == code and error["details"]["photo_ids"] == [photo_id] and error["message"]


async def second_inspector(side) -> User:
    user = await User.create(name=f"巡检二{side.label}", role="INSPECTOR", supervisor=side.manager)
    await BuildingStaff.create(building=side.building, user=user, duty="INSPECTOR")
    return user


async def test_a_report_in_another_building_cannot_claim_an_unattached_photo(client, world, clock):
    a, b = world.a, world.b
    pid = await upload(client, world.auth(a.inspector))
    body = report_body(b, clock.now(), photo_ids=[pid])
    _, resp = await client.post("/api/v1/status-reports", content=json.dumps(body), headers=world.auth(b.inspector))
    refused(resp, 403, PHOTO_NOT_YOURS, pid)
    assert await StatusReport.filter(client_id=body["client_id"]).count() == 0  # nothing half written
    assert await ReportPhoto.filter(photo_id=pid).count() == 0
    assert (await Photo.get(id=pid)).unit_id is None
    _, mine = await client.get(f"/api/v1/photos/{pid}/thumbnail", headers=world.auth(a.inspector))
    assert mine.status == 200  # still the uploader's


async def test_a_colleague_in_the_same_building_cannot_claim_it_either(client, world, clock):
    a = world.a
    colleague = await second_inspector(a)
    pid = await upload(client, world.auth(a.inspector))
    body = report_body(a, clock.now(), photo_ids=[pid])
    _, resp = await client.post("/api/v1/status-reports", content=json.dumps(body), headers=world.auth(colleague))
    refused(resp, 403, PHOTO_NOT_YOURS, pid)
    assert (await Photo.get(id=pid)).unit_id is None


async def test_an_attached_photo_stays_with_its_unit(client, world, clock):
    a = world.a
    pid = await upload(client, world.auth(a.inspector), unit_code=a.unit.code)
    body = report_body(a, clock.now(), unit=a.units[2], photo_ids=[pid])
    _, resp = await client.post("/api/v1/status-reports", content=json.dumps(body), headers=world.auth(a.inspector))
    refused(resp, 422, PHOTO_OF_ANOTHER_UNIT, pid)
    assert (await Photo.get(id=pid)).unit_id == a.unit.id
    ok = report_body(a, clock.now(), photo_ids=[pid])  # its own unit: accepted
    _, resp = await client.post("/api/v1/status-reports", content=json.dumps(ok), headers=world.auth(a.inspector))
    assert resp.status == 201 and resp.json["result"] == "ACCEPTED", resp.json


async def test_a_photo_arriving_for_someone_elses_report_does_not_complete_it(client, world, clock):
    """A report naming a photo id not yet uploaded waits for it; the photo then uploaded by another user is
    not attached to that report's unit and does not count for it."""
    a, b = world.a, world.b
    pid = str(uuid.uuid4())
    body = report_body(b, clock.now(), requested="UNDER_REPAIR", photo_ids=[pid], category="DAMAGE")
    _, resp = await client.post("/api/v1/status-reports", content=json.dumps(body), headers=world.auth(b.inspector))
    assert resp.status == 201 and resp.json["result"] == "AWAITING_MEDIA"
    _, up = await client.post("/api/v1/photos", headers=world.auth(a.inspector),
                              files={"file": ("p.png", png_bytes(), "image/png")}, data={"photo_id": pid})
    assert up.status == 201, up.json
    assert (await Photo.get(id=pid)).unit_id is None
    report = await StatusReport.get(id=resp.json["report"]["id"])
    assert report.state == "AWAITING_MEDIA"


async def test_a_sync_item_citing_another_users_photo_is_rejected_and_the_rest_applies(client, world, clock):
    a, b = world.a, world.b
    foreign = await upload(client, world.auth(a.inspector))
    own = await upload(client, world.auth(b.inspector))
    bad = {"kind": "status_report", **report_body(b, clock.now(), photo_ids=[foreign])}
    good = {"kind": "status_report", **report_body(b, clock.now(), unit=b.units[2], photo_ids=[own])}
    _, resp = await client.post("/api/v1/sync", content=json.dumps({"items": [bad, good]}),
                                headers=world.auth(b.inspector))
    assert resp.status == 200, resp.json
    first, second = resp.json["results"]
    assert first["result"] == "REJECTED" and first["error"]["code"] == PHOTO_NOT_YOURS
    assert second["result"] == "ACCEPTED"
    assert (await Photo.get(id=foreign)).unit_id is None
    assert (await Photo.get(id=own)).unit_id == b.units[2].id


async def test_a_sync_batch_cannot_move_a_photo_it_attached_to_another_unit(client, world, clock):
    """The first item attaches the photo to its unit; the second item of the same batch, for another unit, is
    refused (checked inside the item's transaction, after the first item committed)."""
    b = world.b
    pid = await upload(client, world.auth(b.inspector))
    items = [{"kind": "status_report", **report_body(b, clock.now(), unit=unit, photo_ids=[pid])}
             for unit in (b.unit, b.units[2])]
    _, resp = await client.post("/api/v1/sync", content=json.dumps({"items": items}), headers=world.auth(b.inspector))
    results = resp.json["results"]
    assert [r["result"] for r in results] == ["ACCEPTED", "REJECTED"], results
    assert results[1]["error"]["code"] == PHOTO_OF_ANOTHER_UNIT
    assert (await Photo.get(id=pid)).unit_id == b.unit.id


@pytest.fixture
def auth(clock):
    return lambda user: auth_at(user, clock.now())


async def refund_for(client, side, auth, clock) -> int:
    lease, tenant, _unit = await new_tenancy(side, clock.now())
    resp = await post(client, "/api/v1/me/deposit-refunds", {"lease_id": lease.id, "reason": "到期退租",
                                                             "move_out_date": "2026-11-10", **PAYEE},
                      auth(tenant))
    assert resp.status == 201, resp.json
    return resp.json["id"]


def deduction(photo_id: str) -> dict:
    return {"category": "DAMAGE", "amount_fen": 30000, "description": "墙面修补", "photo_ids": [photo_id]}


async def test_a_deduction_cannot_cite_a_photo_of_another_building(client, world, clock, auth):
    a, b = world.a, world.b
    refund_id = await refund_for(client, b, auth, clock)
    pid = await upload(client, auth(a.inspector), unit_code=a.unit.code)
    resp = await post(client, f"/api/v1/refunds/{refund_id}/deductions", deduction(pid), auth(b.inspector))
    refused(resp, 403, PHOTO_OUT_OF_SCOPE, pid)
    assert await RefundDeduction.filter(refund_id=refund_id).count() == 0


async def test_a_deduction_cannot_cite_another_users_unattached_photo(client, world, clock, auth):
    a, b = world.a, world.b
    refund_id = await refund_for(client, b, auth, clock)
    pid = await upload(client, auth(a.inspector))
    resp = await post(client, f"/api/v1/refunds/{refund_id}/deductions", deduction(pid), auth(b.inspector))
    refused(resp, 403, PHOTO_NOT_YOURS, pid)
    assert (await Photo.get(id=pid)).unit_id is None


async def test_a_deduction_cannot_cite_a_photo_of_another_unit(client, world, clock, auth):
    b = world.b
    refund_id = await refund_for(client, b, auth, clock)
    pid = await upload(client, auth(b.inspector), unit_code=b.unit.code)  # not the refund's unit (units[3])
    resp = await post(client, f"/api/v1/refunds/{refund_id}/deductions", deduction(pid), auth(b.inspector))
    refused(resp, 422, PHOTO_OF_ANOTHER_UNIT, pid)


async def test_own_unattached_photo_becomes_the_refund_units(client, world, clock, auth):
    b = world.b
    refund_id = await refund_for(client, b, auth, clock)
    pid = await upload(client, auth(b.inspector))
    resp = await post(client, f"/api/v1/refunds/{refund_id}/deductions", deduction(pid), auth(b.inspector))
    assert resp.status == 201, resp.json
    refund = await DepositRefund.get(id=refund_id)
    assert (await Photo.get(id=pid)).unit_id == refund.unit_id


@pytest.mark.parametrize("cited_by", ["deduction", "inspection_report"])
async def test_a_deduction_cannot_cite_evidence_of_another_refund(client, world, clock, auth, cited_by):
    """An earlier refund of the same unit (a past tenancy) cited the photo: a later refund cannot reuse it."""
    b = world.b
    refund_id = await refund_for(client, b, auth, clock)
    refund = await DepositRefund.get(id=refund_id)
    pid = await upload(client, auth(b.inspector), unit_code=b.units[3].code)
    earlier = await DepositRefund.create(
        lease_id=refund.lease_id, tenant_id=refund.tenant_id, unit_id=refund.unit_id, building_id=refund.building_id,
        step="COMPLETED", step_entered_at=clock.now(), applied_at=clock.now(), deposit_fen=100)
    if cited_by == "deduction":
        await RefundDeduction.create(refund_id=earlier.id, category="DAMAGE", amount_fen=100, photo_ids=[pid])
    else:
        body = report_body(b, clock.now(), unit=b.units[3], photo_ids=[pid], category="REFUND_INSPECTION")
        report = await post(client, "/api/v1/status-reports", body, auth(b.inspector))
        assert report.status == 201, report.json
        earlier.inspection_report_id = report.json["report"]["id"]
        await earlier.save()
    resp = await post(client, f"/api/v1/refunds/{refund_id}/deductions", deduction(pid), auth(b.inspector))
    refused(resp, 422, PHOTO_OF_ANOTHER_REFUND, pid)
    assert await RefundDeduction.filter(refund_id=refund_id).count() == 0
    fresh = await upload(client, auth(b.inspector), unit_code=b.units[3].code)
    resp = await post(client, f"/api/v1/refunds/{refund_id}/deductions", deduction(fresh), auth(b.inspector))
    assert resp.status == 201, resp.json
