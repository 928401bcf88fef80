"""Tenant isolation (BOLA), staff building scope, the progress QR and its public page."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from tests.support.refund_helpers import PAYEE, auth_at, new_tenancy, post


@pytest.fixture
def auth(clock):
    return lambda user: auth_at(user, clock.now())


async def test_tenant_a_never_reads_tenant_b_refund(client, world, auth):
    a_tenant, b_refund = world.a.tenant_user, world.b.extra["refund"]
    for method, path in [("get", f"/api/v1/me/deposit-refunds/{b_refund.id}"),
                         ("post", f"/api/v1/me/deposit-refunds/{b_refund.id}/confirm-receipt"),
                         ("get", f"/api/v1/me/deposit-refunds/{b_refund.id}/progress-qr"),
                         ("get", f"/api/v1/me/deposit-refunds/{b_refund.id}/progress-qr?format=json")]:
        _, resp = await getattr(client, method)(path, headers=auth(a_tenant))
        assert resp.status == 404, (path, resp.status)
        assert "租户B" not in resp.text
    # staff routes are not a side door for tenants
    _, resp = await client.get(f"/api/v1/refunds/{b_refund.id}", headers=auth(a_tenant))
    assert resp.status == 403
    _, resp = await client.get("/api/v1/me/deposit-refunds", headers=auth(a_tenant))
    assert [item["id"] for item in resp.json["items"]] == [world.a.extra["refund"].id]
    # nor can A apply against B's lease
    resp = await post(client, "/api/v1/me/deposit-refunds", {"lease_id": world.b.lease.id, **PAYEE}, auth(a_tenant))
    assert resp.status == 404


async def test_tenants_in_the_same_building_are_isolated(client, world, clock, auth):
    lease, neighbour, _ = await new_tenancy(world.a, clock.now())
    own = world.a.extra["refund"]
    _, resp = await client.get(f"/api/v1/me/deposit-refunds/{own.id}", headers=auth(neighbour))
    assert resp.status == 404
    _, resp = await client.get("/api/v1/me/deposit-refunds", headers=auth(neighbour))
    assert resp.json["items"] == []
    _, resp = await client.get(f"/api/v1/me/deposit-refunds/{own.id}", headers=auth(world.a.tenant_user))
    assert resp.status == 200 and resp.json["id"] == own.id
    assert "tenant_id" not in resp.json and "assignee_id" not in resp.json


async def test_staff_are_limited_to_their_buildings(client, world, auth):
    b_refund = world.b.extra["refund"]
    _, resp = await client.get(f"/api/v1/refunds/{b_refund.id}", headers=auth(world.a.finance))
    assert resp.status == 404
    _, resp = await client.get("/api/v1/refunds", headers=auth(world.a.finance))
    assert [item["id"] for item in resp.json["items"]] == [world.a.extra["refund"].id]
    _, resp = await client.get("/api/v1/refunds", headers=auth(world.admin))
    assert resp.json["total"] == 2
    _, resp = await client.get(f"/api/v1/refunds/board?building_id={world.b.building.id}",
                               headers=auth(world.a.manager))
    assert resp.status == 404
    _, resp = await client.get("/api/v1/refunds/board", headers=auth(world.a.manager))
    assert resp.json["counts"]["APPLIED"] == 1


async def progress_url(client, auth, tenant, refund_id) -> str:
    _, resp = await client.get(f"/api/v1/me/deposit-refunds/{refund_id}/progress-qr", headers=auth(tenant))
    assert resp.status == 200 and resp.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(resp.body))
    assert image.format == "PNG" and image.size[0] >= 200
    return resp.headers["x-progress-url"]


async def test_progress_qr_opens_a_public_page_without_personal_data(client, world, clock, auth):
    refund = world.a.extra["refund"]
    url = await progress_url(client, auth, world.a.tenant_user, refund.id)
    assert url.startswith("https://rw.example.cn/rp/")
    token = url.rsplit("/", 1)[1]
    _, resp = await client.get(f"/api/v1/refund-progress/{token}")  # no login
    assert resp.status == 200
    assert set(resp.json) == {"step", "step_label", "steps", "cancelled", "applied_on", "expected_completion"}
    assert resp.json["step"] == "APPLIED" and resp.json["applied_on"] == "2026-11-02"
    assert resp.json["steps"][0] == {"step": "APPLIED", "label": "已申请", "date": "2026-11-02"}
    assert resp.json["steps"][1]["date"] is None
    # expected: inspected Tue 10:00, settled Thu 10:00, approved Fri 10:00, paid by end of Mon Nov 9
    assert resp.json["expected_completion"] == "2026-11-09"
    text = json.dumps(resp.json, ensure_ascii=False)
    for secret in ("租户A", "900000", "6225", "5678", "fen", "photo", world.a.inspector.name, world.a.unit.code):
        assert secret not in text


async def test_progress_links_are_signed_and_expire(client, world, clock, auth):
    refund, other = world.a.extra["refund"], world.b.extra["refund"]
    token = (await progress_url(client, auth, world.a.tenant_user, refund.id)).rsplit("/", 1)[1]
    refund_id, expires, sig = token.split(".")
    forged = [f"{other.id}.{expires}.{sig}", f"{refund_id}.{int(expires) + 86400}.{sig}",
              f"{refund_id}.{expires}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}", "1.2.3", "garbage", f"{token}x"]
    for bad in forged:
        _, resp = await client.get(f"/api/v1/refund-progress/{bad}")
        assert resp.status == 404, bad
        assert resp.json["error"]["code"] == "INVALID_PROGRESS_LINK"
    clock.advance(days=30, seconds=1)
    _, resp = await client.get(f"/api/v1/refund-progress/{token}")
    assert resp.status == 410 and resp.json["error"]["code"] == "PROGRESS_LINK_EXPIRED"


async def test_concurrent_applications_for_one_lease_open_one_refund(client, world, clock, auth):
    import asyncio

    from models.portfolio import UnitStatusChange
    from models.refunds import DepositRefund

    lease, tenant, unit = await new_tenancy(world.a, clock.now())
    body = json.dumps({"lease_id": lease.id, **PAYEE})
    results = await asyncio.gather(*[client.post("/api/v1/me/deposit-refunds", content=body, headers=auth(tenant))
                                     for _ in range(3)])
    statuses = sorted(resp.status for _, resp in results)
    assert statuses[0] == 201 and all(s == 409 for s in statuses[1:]), statuses
    assert await DepositRefund.filter(lease_id=lease.id).count() == 1
    assert await UnitStatusChange.filter(unit_id=unit.id, to_status="MOVE_OUT_PENDING").count() == 1


async def test_documents_download_for_staff_in_scope_and_the_own_tenant_only(client, world, clock, auth):
    """Deduction quotes and the bank receipt are evidence: staff of the building and the refund's own tenant can
    download them (byte for byte); an internal OTHER document, another refund's document and another tenant's
    refund are "not found"."""
    lease, tenant, _ = await new_tenancy(world.a, clock.now())
    resp = await post(client, "/api/v1/me/deposit-refunds", {"lease_id": lease.id, **PAYEE}, auth(tenant))
    assert resp.status == 201, resp.json
    refund_id = resp.json["id"]
    uploaded = {}
    for kind, content, name in (("QUOTE", b"%PDF-1.4 quote for the wall", "维修报价.pdf"),
                                ("OTHER", b"%PDF-1.4 internal note", "note.pdf")):
        _, resp = await client.post(f"/api/v1/refunds/{refund_id}/documents", headers=auth(world.a.finance),
                                    files={"file": (name, content, "application/pdf")}, data={"kind": kind})
        assert resp.status == 201, resp.json
        uploaded[kind] = (resp.json["id"], content)
    quote_id, quote_bytes = uploaded["QUOTE"]
    other_id, other_bytes = uploaded["OTHER"]

    for user in (world.a.manager, world.a.finance, world.a.inspector):
        _, resp = await client.get(f"/api/v1/refunds/{refund_id}/documents/{other_id}", headers=auth(user))
        assert resp.status == 200 and resp.body == other_bytes
    _, resp = await client.get(f"/api/v1/refunds/{refund_id}/documents/{quote_id}", headers=auth(world.a.manager))
    assert resp.headers["content-type"] == "application/pdf"
    assert "UTF-8''%E7%BB%B4%E4%BF%AE" in resp.headers["content-disposition"]
    _, resp = await client.get(f"/api/v1/refunds/{refund_id}/documents/{quote_id}", headers=auth(world.b.manager))
    assert resp.status in (403, 404)

    own = f"/api/v1/me/deposit-refunds/{refund_id}/documents"
    _, resp = await client.get(f"{own}/{quote_id}", headers=auth(tenant))
    assert resp.status == 200 and resp.body == quote_bytes
    _, resp = await client.get(f"{own}/{other_id}", headers=auth(tenant))
    assert resp.status == 404 and resp.json["error"]["code"] == "UNKNOWN_DOCUMENT"
    _, resp = await client.get(f"/api/v1/me/deposit-refunds/{refund_id}", headers=auth(tenant))
    assert [d["id"] for d in resp.json["documents"]] == [quote_id]
    # another refund's document through this refund's path, and this refund through another tenant
    b_document = world.b.extra["refund_document"].id
    _, resp = await client.get(f"/api/v1/refunds/{refund_id}/documents/{b_document}", headers=auth(world.a.manager))
    assert resp.status == 404
    _, resp = await client.get(f"{own}/{quote_id}", headers=auth(world.a.tenant_user))
    assert resp.status == 404 and quote_bytes not in resp.body
