"""The audit log of privileged actions: each action writes its row in its own transaction, the table refuses
UPDATE and DELETE (ORM and database triggers), admins read it through GET /api/v1/admin/audit."""

from __future__ import annotations

import importlib
import json

import pytest
from tortoise.connection import get_connection

from accounts.choices import Role, StaffDuty
from accounts.service import update_staff
from audit.choices import AUDIT_TABLE, AuditAction
from audit.service import Actor, Target, record
from core.appendonly import append_only_statements
from models.audit import AuditEvent
from tests.support.db import on_postgres


def test_the_migration_carries_the_live_trigger_ddl():
    migration = importlib.import_module("models.migrations.0015_audit_log")
    assert append_only_statements(AUDIT_TABLE, "postgres") == migration.POSTGRES_INSTALL
    assert append_only_statements(AUDIT_TABLE, "sqlite") == migration.SQLITE_INSTALL


async def test_the_database_refuses_update_and_delete(db, clock):
    event = await record(None, AuditAction.EXPORT, Target("report", "x"), {"format": "xlsx"}, clock.now())
    conn = get_connection("default")
    statements = [f"UPDATE audit_events SET action = 'tampered' WHERE id = {event.id}",
                  f"DELETE FROM audit_events WHERE id = {event.id}"]
    if on_postgres():
        statements.append("TRUNCATE audit_events")
    for statement in statements:
        with pytest.raises(Exception, match="append-only"):
            await conn.execute_script(statement)
    with pytest.raises(Exception, match="append-only"):  # the ORM's bulk paths go through the same triggers
        await AuditEvent.filter(id=event.id).update(action="tampered")
    with pytest.raises(RuntimeError, match="immutable"):
        await event.delete()
    stored = await AuditEvent.get(id=event.id)
    assert stored.action == "export" and await AuditEvent.all().count() == 1


async def get_audit(client, world, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    _, resp = await client.get(f"/api/v1/admin/audit?{query}", headers=world.auth(world.admin))
    assert resp.status == 200, resp.json
    return resp.json


async def test_deactivation_is_audited_with_the_request_id(client, world):
    user = world.b.manager
    _, resp = await client.post(f"/api/v1/admin/users/{user.id}/deactivate",
                                headers={**world.auth(world.admin), "X-Request-Id": "req-deact-1"})
    assert resp.status == 200, resp.json
    page = await get_audit(client, world, action="user.deactivated")
    assert page["total"] == 1
    item = page["items"][0]
    assert item["actor_id"] == world.admin.id and item["actor_role"] == "ADMIN"
    assert item["target"] == {"type": "user", "id": str(user.id)}
    assert item["request_id"] == resp.headers["x-request-id"] == "req-deact-1"
    assert item["details"]["was_active"] is True


async def test_a_refused_action_writes_no_row(client, world):
    _, resp = await client.post(f"/api/v1/admin/users/{world.admin.id}/deactivate", headers=world.auth(world.admin))
    assert resp.status == 422
    assert await AuditEvent.filter(action=AuditAction.USER_DEACTIVATED).count() == 0


async def test_manual_status_override_is_audited_and_other_sources_are_not(client, world):
    a = world.a
    body = {"status": "UNDER_REPAIR", "reason": "漏水", "base_status_version": a.unit.status_version}
    _, resp = await client.post(f"/api/v1/units/{a.unit.code}/status", content=json.dumps(body),
                                headers=world.auth(a.manager))
    assert resp.status == 200, resp.json
    events = await AuditEvent.filter(action=AuditAction.UNIT_STATUS_OVERRIDDEN)
    assert [(e.target_id, e.building_id, e.actor_id) for e in events] == [(a.unit.code, a.building.id, a.manager.id)]
    assert events[0].details == {"from": "VACANT", "to": "UNDER_REPAIR", "version": a.unit.status_version + 1,
                                 "reason": "漏水"}
    # the world's leases moved units to OCCUPIED through the lease source: no audit rows for those
    assert await AuditEvent.filter(action=AuditAction.UNIT_STATUS_OVERRIDDEN).count() == 1
    stale = {**body, "status": "VACANT"}  # refused (stale version): nothing recorded
    _, resp = await client.post(f"/api/v1/units/{a.unit.code}/status", content=json.dumps(stale),
                                headers=world.auth(a.manager))
    assert resp.status == 409
    assert await AuditEvent.filter(action=AuditAction.UNIT_STATUS_OVERRIDDEN).count() == 1


async def test_waivers_are_audited(client, world):
    a = world.a
    receivable = a.extra["receivable"]
    _, resp = await client.post(f"/api/v1/collections/receivables/{receivable.id}/late-fee/waive",
                                content=json.dumps({"reason": "疫情减免"}), headers=world.auth(a.manager))
    assert resp.status == 200, resp.json
    fee = await AuditEvent.get(action=AuditAction.LATE_FEE_WAIVED)
    assert (fee.target_type, fee.target_id, fee.building_id, fee.actor_id) == \
        ("receivable", str(receivable.id), a.building.id, a.manager.id)
    assert fee.details["reason"] == "疫情减免"
    _, resp = await client.post(f"/api/v1/receivables/{receivable.id}/waive",
                                content=json.dumps({"reason": "协商减免"}), headers=world.auth(a.manager))
    assert resp.status == 200, resp.json
    waived = await AuditEvent.filter(action=AuditAction.RECEIVABLE_WAIVED, target_id=str(receivable.id))
    assert len(waived) == 1 and waived[0].details["reason"] == "协商减免"


async def test_credentials_issued_are_audited(client, world):
    _, resp = await client.post(f"/api/v1/admin/users/{world.a.inspector.id}/binding-code",
                                headers=world.auth(world.admin))
    assert resp.status == 201, resp.json
    _, resp = await client.post(f"/api/v1/leases/{world.a.lease.id}/tenant-code", headers=world.auth(world.a.manager))
    assert resp.status == 201, resp.json
    page = await get_audit(client, world, action="credential.")
    targets = sorted((i["target"]["type"], i["actor_id"]) for i in page["items"])
    assert targets == sorted([("user", world.admin.id), ("tenant", world.a.manager.id)])
    assert all(resp.json["binding_code"] not in json.dumps(i) for i in page["items"])  # the code itself is not kept


async def test_role_and_duty_changes_are_audited(world, clock):
    a, b = world.a, world.b
    await update_staff(a.inspector.id, role=Role.MANAGER, supervisor_id=None, actor=world.admin.id, now=clock.now(),
                       duties=[(a.building.id, StaffDuty.INSPECTOR), (b.building.id, StaffDuty.MANAGER)])
    events = {e.action: e for e in await AuditEvent.filter(target_id=str(a.inspector.id))}
    assert events[AuditAction.STAFF_ROLE_CHANGED].details == {"from": "INSPECTOR", "to": "MANAGER"}
    assert events[AuditAction.STAFF_DUTIES_CHANGED].details == {
        "added": [{"building_id": b.building.id, "duty": "MANAGER"}], "removed": []}
    assert events[AuditAction.STAFF_ROLE_CHANGED].actor_name == world.admin.name
    before = await AuditEvent.all().count()
    await update_staff(a.inspector.id, role=Role.MANAGER, supervisor_id=None, actor=world.admin.id, now=clock.now(),
                       duties=[(a.building.id, StaffDuty.INSPECTOR), (b.building.id, StaffDuty.MANAGER)])
    assert await AuditEvent.all().count() == before  # no change, no row


async def test_exports_are_audited(client, world):
    _, resp = await client.get("/api/v1/occupancy/audits/2026-10/export.xlsx", headers=world.auth(world.a.manager))
    assert resp.status == 200
    event = await AuditEvent.get(action=AuditAction.EXPORT)
    assert (event.target_type, event.target_id, event.actor_id) == ("occupancy_audit", "2026-10", world.a.manager.id)
    assert event.details == {"format": "xlsx", "building_ids": [world.a.building.id]}


async def test_the_read_api_filters_and_pages(client, world, clock):
    for n in range(5):
        clock.advance(minutes=1)
        await record(Actor.of(world.admin), AuditAction.EXPORT, Target("report", f"r{n}", world.a.building.id),
                     {"n": n}, clock.now())
    await record(world.a.manager.id, AuditAction.PASSWORD_SET, Target("user", world.a.finance.id), {}, clock.now())
    page = await get_audit(client, world, action="export", page_size=2)
    assert page["total"] == 5 and [i["target"]["id"] for i in page["items"]] == ["r4", "r3"]  # newest first
    second = await get_audit(client, world, action="export", page_size=2, page=3)
    assert [i["target"]["id"] for i in second["items"]] == ["r0"]
    assert (await get_audit(client, world, actor_id=world.a.manager.id))["total"] == 1
    assert (await get_audit(client, world, target_type="report", target_id="r2"))["total"] == 1
    assert (await get_audit(client, world, building_id=world.a.building.id))["total"] == 5
    _, bad = await client.get("/api/v1/admin/audit?since=yesterday", headers=world.auth(world.admin))
    assert bad.status == 422 and bad.json["error"]["code"]
    _, refused = await client.get("/api/v1/admin/audit", headers=world.auth(world.a.manager))
    assert refused.status == 403 and refused.json["error"]["code"]
