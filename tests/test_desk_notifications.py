"""Desk notifications end to end: events → outbox rows per matching channel → the real senders (urllib for the
robots, wechatpy's work client for WeCom app messages) → a fake server on loopback that checks keys, DingTalk
signatures and access tokens as the real services do. Retries, permanent failures and deduplication included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.choices import Role
from alerts.choices import AlertSeverity, AlertStatus
from alerts.service import raise_alert
from models.alerts import Alert
from models.notifications import OutboxMessage
from models.refunds import DepositRefund
from models.workorders import WorkOrder
from notifications.choices import OUTBOX_ALERT_TYPE, DeskEvent, OutboxStatus
from notifications.desk import DeskChannel, enqueue_desk, matching
from notifications.desk_send import dingtalk_sign
from notifications.jobs import announce_alerts
from notifications.sender import send_due
from reminders.scheduler import run_scheduled_jobs
from tests.support.fake_desk import FakeDesk
from workorders.jobs import notify_overdue


@pytest.fixture
def desk(clock):
    fake = FakeDesk(clock_ms=lambda: int(clock.now().timestamp() * 1000)).start()
    yield fake
    fake.stop()


def channel_configs(desk: FakeDesk, *, robot_key: str | None = None) -> list[dict]:
    base = desk.base_url
    return [
        {"name": "sz-managers-wecom", "type": "WECOM_ROBOT", "buildings": ["SZ-NS-A"], "roles": ["MANAGER"],
         "url": f"{base}cgi-bin/webhook/send?key={robot_key or desk.robot_key}"},
        {"name": "finance-dingtalk", "type": "DINGTALK_ROBOT", "buildings": ["*"], "roles": ["FINANCE"],
         "events": ["REFUND_RED_FLAG"], "url": f"{base}robot/send?access_token={desk.ding_token}",
         "secret": desk.ding_secret},
        {"name": "hz-app", "type": "WECOM_APP", "buildings": ["HZ-BJ-B"], "roles": ["MANAGER", "ADMIN"],
         "corp_id": desk.corp_id, "corp_secret": desk.corp_secret, "agent_id": 1000002, "to_user": "zhangsan|lisi",
         "min_severity": "CRITICAL"},
        {"name": "ops-admins", "type": "DINGTALK_ROBOT", "roles": ["ADMIN"], "events": ["JOB_FAILED"],
         "url": f"{base}robot/send?access_token={desk.ding_token}", "secret": desk.ding_secret},
    ]


@pytest.fixture
def desk_settings(settings, desk):
    return settings.model_copy(update={"desk_channels": channel_configs(desk), "wecom_api_base": desk.base_url,
                                       "outbox_backoff_base_seconds": 30.0})


W, C, INFO = AlertSeverity.WARNING, AlertSeverity.CRITICAL, AlertSeverity.INFO


@pytest.mark.parametrize(("event", "building", "severity", "roles", "expected"), [
    (DeskEvent.ALERT_RAISED, "SZ-NS-A", W, None, ["sz-managers-wecom"]),
    (DeskEvent.ALERT_RAISED, "SZ-NS-A", INFO, None, []),  # below every channel's severity
    (DeskEvent.ALERT_RAISED, "HZ-BJ-B", W, None, []),  # the HZ app channel wants CRITICAL
    (DeskEvent.ALERT_RAISED, "HZ-BJ-B", C, None, ["hz-app"]),
    (DeskEvent.REFUND_RED_FLAG, "HZ-BJ-B", W, None, ["finance-dingtalk"]),  # hz-app: CRITICAL only
    (DeskEvent.REFUND_RED_FLAG, "HZ-BJ-B", C, None, ["finance-dingtalk", "hz-app"]),
    (DeskEvent.REFUND_RED_FLAG, "SZ-NS-A", W, frozenset({Role.FINANCE}), ["finance-dingtalk"]),
    (DeskEvent.JOB_FAILED, None, C, None, ["ops-admins"]),
    (DeskEvent.WORK_ORDER_OVERDUE, None, W, None, []),  # no building: only channels for every building
])
def test_channels_are_chosen_per_building_role_event_and_severity(desk_settings, event, building, severity, roles,
                                                                  expected):
    assert [c.name for c in matching(desk_settings, event, building, severity, roles)] == expected


def test_channel_configuration_is_checked():
    with pytest.raises(ValueError):
        DeskChannel.model_validate({"name": "x", "type": "WECOM_ROBOT", "roles": ["TENANT"], "url": "http://x"})
    assert DeskChannel.model_validate({"name": "d", "type": "DINGTALK_ROBOT", "url": "http://x"}).problems()


def test_dingtalk_signature_matches_the_documented_recipe():
    import base64
    import hashlib
    import hmac
    from urllib.parse import unquote_plus

    secret, ts = "SEC000", 1700000000000
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest())
    assert unquote_plus(dingtalk_sign(secret, ts)) == expected.decode()


async def test_red_flag_reaches_matching_channels_once_with_valid_signatures(desk_settings, desk, world, clock):
    refund = world.a.extra["refund"]
    await DepositRefund.filter(id=refund.id).update(step_entered_at=clock.now() - timedelta(hours=50))
    summary = await run_scheduled_jobs(desk_settings, clock.now())
    assert refund.id in summary["escalated"] and summary["failed"] == []
    rows = await OutboxMessage.filter(channel__not="").order_by("channel")
    assert [(r.channel, r.kind) for r in rows if r.kind == "DESK_REFUND_RED_FLAG"] == [
        ("finance-dingtalk", "DESK_REFUND_RED_FLAG"), ("sz-managers-wecom", "DESK_REFUND_RED_FLAG")]
    await run_scheduled_jobs(desk_settings, clock.now() + timedelta(minutes=5))  # again: nothing new
    assert await OutboxMessage.filter(kind="DESK_REFUND_RED_FLAG").count() == 2
    report = await send_due(desk_settings, clock.now())
    assert report.failed == 0 and not desk.refused
    by_channel = {m["channel"]: m["body"] for m in desk.received}
    assert "押金退还超时" in by_channel["dingtalk"]["markdown"]["title"]
    assert world.a.unit.code in by_channel["wecom_robot"]["markdown"]["content"] or \
        world.a.occupied_unit.code in by_channel["wecom_robot"]["markdown"]["content"]
    assert await OutboxMessage.filter(kind="DESK_REFUND_RED_FLAG", status=OutboxStatus.SENT).count() == 2


async def test_a_wrong_robot_key_fails_at_once_and_alerts_the_operators(settings, desk, world, clock):
    bad = settings.model_copy(update={"desk_channels": channel_configs(desk, robot_key="revoked-key")})
    written = await enqueue_desk(bad, DeskEvent.WORK_ORDER_OVERDUE, dedupe_key="wo:x", now=clock.now(),
                                 building_id=world.a.building.id, payload={"subject": "测试"})
    assert written == 1
    report = await send_due(bad, clock.now())
    assert report.failed == 1 and desk.refused[0]["errcode"] == 93000 and not desk.received
    message = await OutboxMessage.get(dedupe_key__startswith="wo:x")
    assert message.status == OutboxStatus.FAILED and message.attempts == 1 and "93000" in message.last_error
    alert = await Alert.get(type=OUTBOX_ALERT_TYPE)
    assert alert.evidence["channel"] == "sz-managers-wecom"


async def test_transient_errors_are_retried_with_backoff(desk_settings, desk, world, clock):
    await enqueue_desk(desk_settings, DeskEvent.JOB_FAILED, dedupe_key="job:t", now=clock.now(), building_id=None,
                       severity=AlertSeverity.CRITICAL, payload={"subject": "reminders", "detail": "boom"})
    desk.fail_next.extend([-1, -1])
    assert (await send_due(desk_settings, clock.now())).retrying == 1
    message = await OutboxMessage.get(dedupe_key="job:t:desk:ops-admins")
    assert message.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert (await send_due(desk_settings, clock.now())).handled == 0  # not due yet
    clock.advance(seconds=30)
    assert (await send_due(desk_settings, clock.now())).retrying == 1
    clock.advance(seconds=60)
    assert (await send_due(desk_settings, clock.now())).sent == 1
    assert len(desk.received) == 1 and desk.received[0]["channel"] == "dingtalk"


async def test_wecom_app_messages_use_a_token_and_refresh_it_once(desk_settings, desk, world, clock):
    from notifications import desk_send

    desk_send._WORK_CLIENTS.clear()
    alert, _ = await raise_alert(alert_type="SUSPECTED_SUBLET", now=clock.now(), unit_id=world.b.unit.id,
                                 building_id=world.b.building.id, severity=AlertSeverity.CRITICAL,
                                 explanation="用水用电为平时的4倍")
    result = await announce_alerts(desk_settings, clock.now())
    assert result["desk_messages"] == 2  # hz-app hears the CRITICAL one; sz-managers the world's WARNING one in A
    assert (await announce_alerts(desk_settings, clock.now()))["desk_messages"] == 0  # deduplicated
    await OutboxMessage.filter(channel="sz-managers-wecom").delete()
    assert (await send_due(desk_settings, clock.now())).sent == 1
    app_message = desk.received[-1]
    assert app_message["channel"] == "wecom_app" and app_message["body"]["touser"] == "zhangsan|lisi"
    assert app_message["body"]["agentid"] == 1000002 and "疑似转租" in app_message["body"]["markdown"]["content"]
    desk.revoke_tokens()
    await OutboxMessage.filter(id=(await OutboxMessage.get(channel="hz-app")).id).update(
        status=OutboxStatus.PENDING, dedupe_key="again")
    assert (await send_due(desk_settings, clock.now())).sent == 1
    assert desk.token_counter == 2 and desk.refused[-1]["errcode"] == 40014


async def test_overdue_work_orders_notify_the_assignee_and_the_desk_once(desk_settings, desk, world, clock):
    order = world.a.extra["cleaning_order"]
    await WorkOrder.filter(id=order.id).update(due_at=clock.now() - timedelta(hours=2),
                                               assignee_id=world.a.inspector.id)
    first = await notify_overdue(desk_settings, clock.now())
    assert first["overdue"] >= 1 and first["desk_messages"] >= 1
    assert await OutboxMessage.filter(kind="WORK_ORDER_OVERDUE", user_id=world.a.inspector.id).count() == 1
    again = await notify_overdue(desk_settings, clock.now() + timedelta(minutes=5))
    assert again["desk_messages"] == 0
    await send_due(desk_settings, clock.now())
    assert any("工单超时" in m["body"]["markdown"]["content"] for m in desk.received if m["channel"] == "wecom_robot")


async def test_a_failing_job_reaches_the_admins_channel(desk_settings, desk, world, clock):
    broken = desk_settings.model_copy(update={"lease_reminder_rules": {"RESIDENTIAL": [{"days": 0}]}})
    summary = await run_scheduled_jobs(broken, clock.now())
    assert summary["failed"] == ["reminders"] and "escalated" in summary  # the other jobs still ran
    message = await OutboxMessage.get(kind="DESK_JOB_FAILED")
    assert message.channel == "ops-admins" and "reminders" in message.payload["subject"]
    await send_due(broken, clock.now())
    assert any("定时任务失败" in m["body"]["markdown"].get("title", "") for m in desk.received)


async def test_acknowledged_alerts_are_not_announced(desk_settings, world, clock):
    await Alert.filter(id=world.a.extra["alert"].id).update(status=AlertStatus.ACKNOWLEDGED)
    result = await announce_alerts(desk_settings, clock.now())
    assert result["desk_messages"] == 0


async def test_a_wrong_dingtalk_secret_is_refused_by_the_signature_check(settings, desk, world, clock):
    configs = channel_configs(desk)
    configs[3]["secret"] = "SECnot-the-robots-secret"
    bad = settings.model_copy(update={"desk_channels": configs})
    await enqueue_desk(bad, DeskEvent.JOB_FAILED, dedupe_key="job:sig", now=clock.now(), building_id=None,
                       severity=AlertSeverity.CRITICAL, payload={"subject": "refunds"})
    assert (await send_due(bad, clock.now())).failed == 1
    assert desk.refused[-1]["errcode"] == 310000 and not desk.received
