"""The collections workbench API: overdue by tier and amount, ageing and the 30-day collection rate, 一键发送 once
a day, contact notes and promises judged by the job, a tenant sees only their own messages."""

from __future__ import annotations

import json

from arrears.service import ArrearsConfig, collect
from tests.support.arrears_helpers import day, overdue_lease


async def test_workbench(world, client, clock, settings):
    lease, rent, user = await overdue_lease(world.a, world.now)
    clock.advance(day(20) - clock.now())  # the rent is 20 days overdue
    world.now = clock.now()  # tokens issued now
    finance = world.auth(world.a.finance)
    _, r = await client.get("/api/v1/collections/receivables?tier=LEGAL_NOTICE", headers=finance)
    assert r.status == 200
    items = {i["receivable_id"]: i for i in r.json["items"]}
    assert rent.id in items and {i["tier"] for i in items.values()} == {"LEGAL_NOTICE"}
    assert items[rent.id]["days_past_due"] == 20 and items[rent.id]["outstanding_fen"] == 450000
    _, r = await client.get("/api/v1/collections/receivables?tier=FRIENDLY&min_outstanding_fen=1", headers=finance)
    assert rent.id not in [i["receivable_id"] for i in r.json["items"]]
    _, r = await client.get("/api/v1/collections/receivables?tier=BOGUS", headers=finance)
    assert r.status == 422
    _, r = await client.get("/api/v1/collections/summary", headers=finance)
    assert r.status == 200
    building = next(b for b in r.json["buildings"] if b["id"] == world.a.building.id)
    assert building["buckets"]["16-30"]["outstanding_fen"] >= 450000
    assert {b["id"] for b in r.json["buildings"]} == {world.a.building.id}  # finance A sees building A only
    assert r.json["total"]["collection_rate_30d"] is not None
    # one click: the current tier (2) to the tenant, once a day
    _, r = await client.post(f"/api/v1/collections/receivables/{rent.id}/send", headers=finance)
    assert r.status == 201 and r.json["tier"] == "LEGAL_NOTICE" and r.json["sent"]
    _, again = await client.post(f"/api/v1/collections/receivables/{rent.id}/send", headers=finance)
    assert again.status == 200 and not again.json["sent"] and again.json["messages"]
    # a promise to pay in two days, kept by a payment
    body = {"lease_id": lease.id, "kind": "PROMISE", "promised_date": "2026-11-25", "promised_fen": 450000}
    _, r = await client.post(f"/api/v1/collections/tenants/{lease.tenant_id}/notes", headers=finance,
                             content=json.dumps(body))
    assert r.status == 201 and r.json["promise"]["status"] == "PENDING"
    _, bad = await client.post(f"/api/v1/collections/tenants/{lease.tenant_id}/notes", headers=finance,
                               content=json.dumps({**body, "promised_date": "2026-11-01"}))
    assert bad.status == 422 and bad.json["error"]["code"] == "PROMISE_IN_PAST"
    from leasing.ledger import record_payment

    await record_payment(lease_id=lease.id, amount_fen=450000, paid_at=day(21), method="BANK_TRANSFER", now=day(21),
                         external_ref="test:promise", source="MANUAL")
    report = await collect(ArrearsConfig.from_settings(settings), day(21))
    assert report.promises == {"kept": 1, "broken": 0}
    _, r = await client.get(f"/api/v1/collections/tenants/{lease.tenant_id}", headers=finance)
    assert r.json["notes"][0]["promise"]["status"] == "KEPT"
    assert [m["tier"] for m in r.json["messages"]] == ["LEGAL_NOTICE"] * len(r.json["messages"])
    # the tenant sees their own messages, not another tenant's
    _, mine = await client.get("/api/v1/me/collections/messages", headers=world.auth(user))
    assert mine.status == 200 and mine.json["items"] and all(m["lease_id"] == lease.id for m in mine.json["items"])
    assert "recipient" not in mine.json["items"][0]
    _, other = await client.get("/api/v1/me/collections/messages", headers=world.auth(world.a.tenant_user))
    assert all(m["lease_id"] != lease.id for m in other.json["items"])
    # finance of B cannot see A's tenant
    _, r = await client.get(f"/api/v1/collections/tenants/{lease.tenant_id}", headers=world.auth(world.b.finance))
    assert r.status == 404
