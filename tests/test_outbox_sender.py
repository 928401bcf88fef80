"""The outbox sender against the fake WeChat server: delivery, retries with backoff, 43101, operator alert."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from alerts.choices import AlertStatus
from models.alerts import Alert
from models.notifications import OutboxMessage
from notifications.attempts import backoff_delay
from notifications.choices import OUTBOX_ALERT_TYPE, NotificationKind, OutboxStatus
from notifications.outbox import enqueue_notification
from notifications.sender import run_outbox, send_due

TEMPLATES = {NotificationKind.REFUND_STEP: {"template_id": "TPL-REFUND-STEP"}}


@pytest.fixture
def notify_settings(settings):
    return settings.model_copy(update={"notify_templates": TEMPLATES, "outbox_max_attempts": 3,
                                       "outbox_backoff_base_seconds": 60, "outbox_backoff_max_seconds": 600})


@pytest.fixture
async def tenant(world):
    user = world.a.tenant_user
    user.openid = "openid-tenant-a"
    await user.save()
    return user


async def enqueue(user, clock, key="refund:1:v1:tenant", kind=NotificationKind.REFUND_STEP):
    return await enqueue_notification(
        user_id=user.id, kind=kind, dedupe_key=key,
        payload={"refund_id": 1, "unit_code": "SZ-NS-A-1202", "step_phrase": "已查验", "at": clock.now().isoformat(),
                 "step_label": "现场查验已完成,费用核算中(预计两个工作日)"}, now=clock.now())


@pytest.mark.parametrize(("attempts", "seconds"), [(0, 0), (1, 60), (2, 120), (3, 240), (5, 600), (9, 600)])
def test_backoff_is_exponential_and_capped(attempts, seconds):
    assert backoff_delay(attempts, base_seconds=60, max_seconds=600) == timedelta(seconds=seconds)


async def test_message_is_sent_once_with_fitted_fields(notify_settings, tenant, clock, fake_wechat):
    message = await enqueue(tenant, clock)
    report = await send_due(notify_settings, clock.now())
    assert report.sent == 1
    again = await send_due(notify_settings, clock.now())
    assert again.handled == 0
    assert len(fake_wechat.sent_messages) == 1
    body = fake_wechat.sent_messages[0]
    assert body["touser"] == "openid-tenant-a" and body["template_id"] == "TPL-REFUND-STEP"
    assert body["miniprogram_state"] == notify_settings.wechat_miniprogram_state and body["lang"] == "zh_CN"
    assert body["page"] == "pages/refund/refund?id=1"
    assert body["data"]["phrase2"] == {"value": "已查验"}
    assert body["data"]["time3"] == {"value": "2026-11-02 10:00"}
    assert len(body["data"]["thing5"]["value"]) <= 20
    row = await OutboxMessage.get(id=message.id)
    assert row.status == OutboxStatus.SENT and row.attempts == 1 and row.sent_at == clock.now()


async def test_43101_is_undeliverable_without_retry(notify_settings, tenant, clock, fake_wechat):
    message = await enqueue(tenant, clock)
    fake_wechat.send_results.extend([43101])
    report = await send_due(notify_settings, clock.now())
    assert report.undeliverable == 1
    clock.advance(hours=5)
    assert (await send_due(notify_settings, clock.now())).handled == 0
    row = await OutboxMessage.get(id=message.id)
    assert row.status == OutboxStatus.UNDELIVERABLE and row.last_errcode == 43101 and row.attempts == 1
    sends = [r for r in fake_wechat.requests if r["path"] == "/cgi-bin/message/subscribe/send"]
    assert len(sends) == 1


async def test_errors_retry_with_backoff_then_succeed(notify_settings, tenant, clock, fake_wechat):
    message = await enqueue(tenant, clock)
    fake_wechat.send_results.extend([-1, 47003])
    assert (await send_due(notify_settings, clock.now())).retrying == 1
    row = await OutboxMessage.get(id=message.id)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1 and row.last_errcode == -1
    assert row.next_attempt_at == clock.now() + timedelta(seconds=60)
    clock.advance(seconds=59)
    assert (await send_due(notify_settings, clock.now())).handled == 0  # not due yet
    clock.advance(seconds=1)
    assert (await send_due(notify_settings, clock.now())).retrying == 1
    row = await OutboxMessage.get(id=message.id)
    assert row.attempts == 2 and row.next_attempt_at == clock.now() + timedelta(seconds=120)
    clock.advance(seconds=120)
    assert (await send_due(notify_settings, clock.now())).sent == 1
    row = await OutboxMessage.get(id=message.id)
    assert row.status == OutboxStatus.SENT and row.attempts == 3
    assert len(fake_wechat.sent_messages) == 1
    assert not await Alert.filter(type=OUTBOX_ALERT_TYPE).exists()


async def test_after_n_failures_an_operator_alert_is_raised(notify_settings, tenant, clock, fake_wechat):
    message = await enqueue(tenant, clock)
    fake_wechat.send_results.extend([-1, -1, -1, -1])
    for _ in range(3):
        await send_due(notify_settings, clock.now())
        clock.advance(hours=1)
    row = await OutboxMessage.get(id=message.id)
    assert row.status == OutboxStatus.FAILED and row.attempts == 3
    alert = await Alert.get(type=OUTBOX_ALERT_TYPE)
    assert alert.unit_id is None and alert.subject == f"outbox:{NotificationKind.REFUND_STEP}"
    assert alert.status == AlertStatus.ACTIVE and alert.evidence["message_id"] == message.id
    assert (await send_due(notify_settings, clock.now())).handled == 0  # a failed message is not retried


async def test_token_expiry_is_refreshed_once(notify_settings, tenant, clock, fake_wechat):
    await enqueue(tenant, clock)
    fake_wechat.send_results.extend([40001])
    assert (await send_due(notify_settings, clock.now())).sent == 1
    assert fake_wechat.token_counter == 2


async def test_missing_openid_or_template_is_undeliverable(notify_settings, world, clock, fake_wechat):
    no_openid = await enqueue(world.b.tenant_user, clock, key="k:no-openid")
    world.a.tenant_user.openid = "openid-x"
    await world.a.tenant_user.save()
    no_template = await enqueue(world.a.tenant_user, clock, key="k:no-template", kind=NotificationKind.LEASE_REMINDER)
    report = await send_due(notify_settings, clock.now())
    assert report.undeliverable == 2
    assert "openid" in (await OutboxMessage.get(id=no_openid.id)).last_error
    assert "no template" in (await OutboxMessage.get(id=no_template.id)).last_error
    assert fake_wechat.sent_messages == []


async def test_background_service_sends_and_stops(notify_settings, tenant, clock, fake_wechat):
    message = await enqueue(tenant, clock)
    stop = asyncio.Event()
    task = asyncio.create_task(run_outbox(notify_settings.model_copy(update={"outbox_poll_seconds": 0.05}),
                                          clock, stop))
    for _ in range(200):
        if (await OutboxMessage.get(id=message.id)).status == OutboxStatus.SENT:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert (await OutboxMessage.get(id=message.id)).status == OutboxStatus.SENT
    assert len(fake_wechat.sent_messages) == 1


async def test_every_default_template_renders_its_producers_payload(notify_settings, clock):
    """The payload keys each producer writes match the default field mapping (nothing renders empty)."""
    from zoneinfo import ZoneInfo

    from notifications.fit import render_data
    from notifications.templates import DEFAULT_TEMPLATES, render_page

    now = clock.now().isoformat()
    payloads = {
        NotificationKind.REFUND_STEP: {"refund_id": 1, "unit_code": "SZ-1", "step_phrase": "已申请", "at": now,
                                       "expected_completion": "2026-11-09", "note": "", "step_label": "已提交"},
        NotificationKind.REFUND_ASSIGNED: {"refund_id": 1, "unit_code": "SZ-1", "task": "押金退还:请现场查验",
                                           "due_at": now},
        NotificationKind.REFUND_ESCALATED: {"refund_id": 1, "unit_code": "SZ-1", "task": "超时", "since": now,
                                            "owner_name": "巡检A"},
        NotificationKind.LEASE_REMINDER: {"work_order_id": 3, "unit_code": "SZ-1", "title": "租约30天到期",
                                          "end_date": "2026-12-01", "days_left": 29,
                                          "renewal": "续约建议:需复核(72分)"},
        NotificationKind.INSPECTION_EXPIRED: {"report_id": 7, "unit_code": "SZ-1", "requested_status": "VACANT",
                                              "captured_at": now, "deadline": now},
        NotificationKind.WORK_ORDER_OVERDUE: {"work_order_id": 4, "unit_code": "SZ-1", "title": "保洁", "due_at": now},
        NotificationKind.SCHEDULE_FAILED: {"lease_id": 1, "contract_no": "202512001", "unit_code": "SZ-1",
                                           "error_code": "INVALID_FREQUENCY_CODE", "title": "租金计划生成失败",
                                           "at": now},
        NotificationKind.SCHEDULE_READY: {"lease_id": 1, "contract_no": "202512001", "unit_code": "SZ-1",
                                          "periods": 12, "title": "租金计划已生成 12期", "at": now},
        NotificationKind.RENT_DUE: {"receivable_id": 1, "lease_id": 1, "unit_code": "SZ-1", "amount_fen": 300000,
                                    "due_date": "2026-12-01", "title": "租金账单", "payment_code": "RW00001A",
                                    "remark": "转账附言请填写RW00001A"},
        **{kind: {"receivable_id": 1, "lease_id": 1, "contract_no": "202512001", "unit_code": "SZ-1",
                  "outstanding_fen": 450000, "due_date": "2026-11-03", "days_past_due": 3, "level": 1,
                  "title": "首次提醒", "note": "若有付款已完成,请忽略此消息", "text": "…", "deadline": now}
           for kind in (NotificationKind.COLLECTION_FRIENDLY, NotificationKind.COLLECTION_LEGAL,
                        NotificationKind.COLLECTION_FINAL)},
        NotificationKind.COLLECTION_TASK: {"task_id": 1, "receivable_id": 1, "unit_code": "SZ-1",
                                           "title": "SZ-1 首次提醒:租金逾期3天", "outstanding_fen": 450000,
                                           "due_at": now},
        NotificationKind.GRACE_DECISION: {"grace_id": 1, "lease_id": 1, "contract_no": "202512001",
                                          "unit_code": "SZ-1", "decision": "已批准", "ends_on": "2026-11-10",
                                          "decided_on": "2026-11-03", "note": "宽限期至2026-11-10"},
        NotificationKind.OCCUPANCY_INCOMPLETE: {"day": "2026-11-01", "title": "入住率快照不完整",
                                                "reasons": ["payment feed stale"], "at": now},
        NotificationKind.STATEMENT_REFUSED: {"import_id": 1, "error_code": "UNKNOWN_STATEMENT_FORMAT",
                                             "title": "银行流水导入被拒绝", "filename": "x.csv",
                                             "at": now, "missing": ["交易日期"]},
    }
    assert set(payloads) == set(DEFAULT_TEMPLATES)
    for kind, payload in payloads.items():
        template = DEFAULT_TEMPLATES[kind]
        data = render_data(template["fields"], payload, ZoneInfo("Asia/Shanghai"))
        assert all(v["value"] not in ("", "-") for v in data.values()), (kind, data)
        assert "{" not in render_page(template["page"], payload)
