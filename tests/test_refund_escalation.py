"""48-hour escalation: red flag, owner and supervisor notified once per wait, recorded; delivered via WeChat."""

from __future__ import annotations

import asyncio

import pytest

from models.notifications import OutboxMessage
from models.refunds import DepositRefund, RefundEscalation, RefundEvent
from notifications.choices import NotificationKind
from notifications.sender import send_due
from refunds.service import RefundConfig, escalate_stalled
from tests.support.refund_helpers import auth_at, new_tenancy, post, refund_inspection_report, upload_photo


@pytest.fixture
def auth(clock):
    return lambda user: auth_at(user, clock.now())


@pytest.fixture
def cfg(settings):
    return RefundConfig.from_settings(settings)


async def test_a_node_older_than_48h_is_flagged_and_escalated_once(client, world, clock, auth, cfg):
    a = world.a
    refund = world.a.extra["refund"]  # APPLIED at START, waiting for the inspector
    clock.advance(hours=47, minutes=59)
    assert await escalate_stalled(clock.now(), cfg) == []
    _, board = await client.get("/api/v1/refunds/board", headers=auth(a.manager))
    assert board.json["red_flags"] == 0
    clock.advance(minutes=2)
    assert await escalate_stalled(clock.now(), cfg) == [refund.id, world.b.extra["refund"].id]
    assert await escalate_stalled(clock.now(), cfg) == []  # once
    clock.advance(hours=30)
    assert await escalate_stalled(clock.now(), cfg) == []  # still once for this wait

    escalation = await RefundEscalation.get(refund_id=refund.id)
    assert escalation.step == "APPLIED" and escalation.notified_user_ids == [a.inspector.id, a.manager.id]
    event = await RefundEvent.get(refund_id=refund.id, action="ESCALATE")
    assert event.actor_id is None and event.actor_role == "SYSTEM"
    messages = await OutboxMessage.filter(kind=NotificationKind.REFUND_ESCALATED,
                                          dedupe_key__startswith=f"refund:{refund.id}:")
    assert sorted(m.user_id for m in messages) == sorted([a.inspector.id, a.manager.id])

    _, board = await client.get("/api/v1/refunds/board", headers=auth(a.manager))
    item = board.json["by_step"]["APPLIED"][0]
    assert item["red_flag"] is True and item["overdue"] is True and item["escalated"] is True
    assert board.json["red_flags"] == 1 and board.json["sla_compliance"]["INSPECTED"]["overdue_now"] == 1
    _, listing = await client.get("/api/v1/refunds?red_only=true", headers=auth(a.manager))
    assert [r["id"] for r in listing.json["items"]] == [refund.id]


async def test_a_new_wait_can_be_escalated_again_and_late_steps_count_against_compliance(client, world, clock, auth,
                                                                                        cfg):
    a = world.a
    lease, tenant, unit = await new_tenancy(a, clock.now())
    _, resp = await client.post("/api/v1/me/deposit-refunds", headers=auth(tenant), content=__import__("json").dumps(
        {"lease_id": lease.id, "payee_name": "张三", "payee_bank": "工商银行", "payee_account": "62220000"}))
    refund_id = resp.json["id"]
    clock.advance(hours=49)
    assert refund_id in await escalate_stalled(clock.now(), cfg)
    photo = await upload_photo(client, auth, a, unit)
    report_id = await refund_inspection_report(client, auth, a, unit, clock.now(), [photo])
    resp = await post(client, f"/api/v1/refunds/{refund_id}/inspect", {"inspection_report_id": report_id},
                      auth(a.inspector))
    assert resp.status == 200 and resp.json["red_flag"] is False
    clock.advance(hours=49)
    assert refund_id in await escalate_stalled(clock.now(), cfg)  # the finance wait, a new escalation
    assert await RefundEscalation.filter(refund_id=refund_id).count() == 2
    finance_wait = await RefundEscalation.get(refund_id=refund_id, step="INSPECTED")
    assert finance_wait.notified_user_ids == [a.finance.id, a.manager.id]
    _, board = await client.get("/api/v1/refunds/board", headers=auth(a.manager))
    assert board.json["sla_compliance"]["INSPECTED"] == {"taken": 1, "on_time": 0, "rate": 0.0, "overdue_now": 1}


async def test_concurrent_scans_escalate_once(world, clock, cfg):
    clock.advance(hours=50)
    results = await asyncio.gather(*[escalate_stalled(clock.now(), cfg) for _ in range(4)])
    escalated = [refund_id for result in results for refund_id in result]
    assert sorted(escalated) == sorted([world.a.extra["refund"].id, world.b.extra["refund"].id])
    assert await RefundEscalation.all().count() == 2
    assert await OutboxMessage.filter(kind=NotificationKind.REFUND_ESCALATED).count() == 4


async def test_escalation_messages_reach_wechat(world, clock, cfg, settings, fake_wechat):
    for user, openid in ((world.a.inspector, "openid-inspector-a"), (world.a.manager, "openid-manager-a")):
        user.openid = openid
        await user.save()
    clock.advance(hours=49)
    await escalate_stalled(clock.now(), cfg)
    notify = settings.model_copy(update={"notify_templates": {"REFUND_ESCALATED": {"template_id": "TPL-ESC"}}})
    report = await send_due(notify, clock.now())
    assert report.sent == 2  # B's staff have no openid: undeliverable, not retried
    sent = {m["touser"]: m for m in fake_wechat.sent_messages}
    assert set(sent) == {"openid-inspector-a", "openid-manager-a"}
    data = sent["openid-manager-a"]["data"]
    assert data["character_string1"]["value"] == world.a.units[1].code
    assert data["thing2"]["value"].startswith("超时") and len(data["thing2"]["value"]) <= 20
    assert data["thing4"]["value"] == world.a.inspector.name
    assert (await DepositRefund.get(id=world.a.extra["refund"].id)).escalated_version == 1


async def test_scheduler_service_escalates_and_stops(world, clock, settings):
    from reminders.scheduler import run_scheduler

    clock.advance(hours=49)
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(settings.model_copy(update={"scheduler_interval_seconds": 0.05}),
                                             clock, stop))
    for _ in range(200):
        if await RefundEscalation.all().count() == 2:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert await RefundEscalation.all().count() == 2
