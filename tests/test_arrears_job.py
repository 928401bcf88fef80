"""The daily collections job on a real database: each tier fires once, only the current one after downtime,
a second run changes nothing, late fees accrue into the ledger and show on the statement, tasks for finance and
the area manager, SMS and WeChat through the outbox to fakes on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.choices import AlertStatus
from arrears.choices import LateFeeKind, MessageChannel, StepStatus, TaskStatus
from arrears.jobs import collections_daily
from arrears.service import ArrearsConfig, collect, waive_late_fee
from leasing.config import DEFAULT_CONFIG
from leasing.ledger import lease_statement, record_payment
from models.alerts import Alert
from models.arrears import CollectionMessage, CollectionStep, CollectionTask, LateFeeAccrual, LateFeeClauseRecord
from models.leasing import LedgerJobRun, Receivable
from models.notifications import OutboxMessage
from notifications.choices import NotificationKind, OutboxStatus
from notifications.sender import send_due
from reminders.scheduler import resolve_job
from tests.support.arrears_helpers import DUE, day, overdue_lease
from tests.support.fake_sms import FakeSms

K = NotificationKind


@pytest.fixture
def cfg(settings):
    return ArrearsConfig.from_settings(settings)


@pytest.fixture
def fake_sms():
    fake = FakeSms().start()
    yield fake
    fake.stop()


async def steps_of(rent):
    return [(s.level, s.status, s.days_past_due) for s in await CollectionStep.filter(receivable_id=rent.id)
            .order_by("level")]


async def test_each_tier_fires_once(world, cfg):
    lease, rent, user = await overdue_lease(world.a, world.now)
    for n in range(0, 45):
        await collect(cfg, day(n))
        await collect(cfg, day(n, hour_utc=14))  # twice a day: changes nothing
    assert await steps_of(rent) == [(1, StepStatus.SENT, 1), (2, StepStatus.SENT, 16), (3, StepStatus.SENT, 31)]
    messages = await CollectionMessage.filter(receivable_id=rent.id).order_by("id")
    assert [(m.level, m.channel) for m in messages] == [
        (1, MessageChannel.WECHAT),  # bound tenant: WeChat only for the friendly reminder
        (2, MessageChannel.WECHAT), (2, MessageChannel.SMS), (3, MessageChannel.WECHAT), (3, MessageChannel.SMS)]
    outbox = await OutboxMessage.filter(dedupe_key__startswith=f"collections:{rent.id}:tier:").order_by("id")
    assert [(o.kind, o.user_id, o.channel) for o in outbox if o.kind != K.COLLECTION_TASK] == [
        (K.COLLECTION_FRIENDLY, user.id, ""), (K.COLLECTION_LEGAL, user.id, ""),
        (K.COLLECTION_LEGAL, None, "sms:13911112222"), (K.COLLECTION_FINAL, user.id, ""),
        (K.COLLECTION_FINAL, None, "sms:13911112222")]
    first = outbox[0].payload
    assert first["days_past_due"] == 1 and first["outstanding_fen"] == 450000 and first["due_date"] == "2026-11-03"
    assert "若有付款已完成,请忽略此消息" in first["text"] and first["note"] == "若有付款已完成,请忽略此消息"
    final = next(o for o in outbox if o.kind == K.COLLECTION_FINAL).payload
    assert "48小时" in final["text"] and "律师函" in final["text"]
    tasks = await CollectionTask.filter(receivable_id=rent.id).order_by("level")
    assert [(t.level, t.status, t.assignee_id) for t in tasks] == [
        (1, TaskStatus.SUPERSEDED, world.a.finance.id), (2, TaskStatus.SUPERSEDED, world.a.finance.id),
        (3, TaskStatus.OPEN, world.a.manager.id)]  # the lawyer's-letter tier goes to the area manager
    assert await OutboxMessage.filter(kind=K.COLLECTION_TASK, user_id=world.a.manager.id,
                                      dedupe_key=f"collections:{rent.id}:tier:3:task:{world.a.manager.id}").exists()


async def test_after_downtime_only_the_current_tier_fires(world, cfg):
    lease, rent, _ = await overdue_lease(world.a, world.now)
    await collect(cfg, day(3))
    await collect(cfg, day(40))  # the job was down for five weeks
    assert await steps_of(rent) == [(1, StepStatus.SENT, 3), (2, StepStatus.SKIPPED, 40), (3, StepStatus.SENT, 40)]
    kinds = await OutboxMessage.filter(dedupe_key__startswith=f"collections:{rent.id}:tier:").exclude(
        kind=K.COLLECTION_TASK).values_list("kind", flat=True)
    assert sorted(kinds) == sorted([K.COLLECTION_FRIENDLY, K.COLLECTION_FINAL, K.COLLECTION_FINAL])
    assert not await CollectionTask.filter(receivable_id=rent.id, level=2).exists()


async def test_first_run_long_after_due_sends_only_the_current_tier(world, cfg):
    lease, rent, _ = await overdue_lease(world.a, world.now, bound=False)
    await collect(cfg, day(20))
    assert await steps_of(rent) == [(1, StepStatus.SKIPPED, 20), (2, StepStatus.SENT, 20)]
    messages = await CollectionMessage.filter(receivable_id=rent.id)
    assert [(m.level, m.channel, m.recipient) for m in messages] == [(2, MessageChannel.SMS, "139****2222")]


async def snapshot():
    return {
        "steps": await CollectionStep.all().order_by("id").values_list("id", "receivable_id", "level", "status"),
        "messages": await CollectionMessage.all().order_by("id").values_list("id", "dedupe_key"),
        "tasks": await CollectionTask.all().order_by("id").values_list("id", "status", "assignee_id"),
        "outbox": await OutboxMessage.all().order_by("id").values_list("id", "dedupe_key", "status"),
        "receivables": await Receivable.all().order_by("id").values_list("id", "amount_fen", "paid_fen", "status"),
        "fees": await LateFeeAccrual.all().order_by("id").values_list("id", "fee_fen", "days", "final"),
    }


async def test_running_twice_changes_nothing(world, cfg, settings):
    lease, rent, _ = await overdue_lease(world.a, world.now)
    await LateFeeClauseRecord.create(lease_id=lease.id, clause={"kind": "DAILY_RATE", "daily_rate": "0.0005"})
    first = await collections_daily(settings, day(20))
    assert first["collections"]["ran"] and first["collections"]["fired"] > 0
    before = await snapshot()
    again = await collections_daily(settings, day(20, hour_utc=9))
    assert again["collections"] == {"ran": False, "reason": "already ran for 2026-11-23"}
    await collect(cfg, day(20, hour_utc=9))  # the unkeyed work itself is idempotent too
    assert await snapshot() == before
    assert await LedgerJobRun.filter(job="arrears_daily", period="2026-11-23").count() == 1
    summary = await resolve_job("collections")(settings, day(21))  # as the scheduler runs it
    assert summary["collections"]["ran"]


async def test_late_fee_accrues_into_the_ledger_and_the_statement(world, cfg):
    lease, rent, _ = await overdue_lease(world.a, world.now)
    await LateFeeClauseRecord.create(lease_id=lease.id, clause={"kind": "DAILY_RATE", "daily_rate": "0.0005",
                                                                "cap_rate": "0.2", "clause_ref": "第八条"})
    await collect(cfg, day(10))
    fees = await Receivable.filter(lease_id=lease.id, charge_type="LATE_FEE")
    assert [(f.charge, f.amount_fen, f.label) for f in fees] == [(f"LATE_FEE:{rent.id}:1", 2250, "违约金")]  # 10 × 225
    await collect(cfg, day(12))
    fee = await Receivable.get(lease_id=lease.id, charge_type="LATE_FEE")
    assert fee.amount_fen == 2700 and fee.breakdown["days"] == 12 and fee.breakdown["clause_ref"] == "第八条"
    statement = await lease_statement(lease, DUE + timedelta(days=12), DEFAULT_CONFIG)
    lines = {r["charge"]: r for r in statement["receivables"]}
    assert lines[f"LATE_FEE:{rent.id}:1"]["outstanding_fen"] == 2700
    assert statement["totals"]["billed_fen"] == 900000 + 450000 + 2700
    # the rent is paid on day 14 (day 14 counts): the fee is final at 14 × 225 = 3150
    await record_payment(lease_id=lease.id, amount_fen=450000, paid_at=day(14), method="BANK_TRANSFER",
                         now=day(14), external_ref="test:rent", source="MANUAL")
    assert (await Receivable.get(id=rent.id)).status == "PAID"  # the rent is older than the fee: paid first
    await collect(cfg, day(15))
    await collect(cfg, day(16))
    fee = await Receivable.get(lease_id=lease.id, charge_type="LATE_FEE")
    assert fee.amount_fen == 3150
    accrual = await LateFeeAccrual.get(base_id=rent.id)
    assert accrual.final and accrual.fee_fen == 3150 and accrual.days == 14
    assert await CollectionTask.filter(receivable_id=rent.id, status=TaskStatus.RESOLVED).count() == 1


async def test_a_paid_fee_row_is_never_rewritten(world, cfg):
    lease, rent, _ = await overdue_lease(world.a, world.now)
    await LateFeeClauseRecord.create(lease_id=lease.id, clause={"kind": "DAILY_RATE", "daily_rate": "0.0005"})
    await collect(cfg, day(10))
    fee = await Receivable.get(lease_id=lease.id, charge_type="LATE_FEE")
    await record_payment(lease_id=lease.id, amount_fen=1000, paid_at=day(10), method="CASH", now=day(10),
                         receivable_id=fee.id, external_ref="test:fee", source="MANUAL")
    await collect(cfg, day(12))
    rows = await Receivable.filter(lease_id=lease.id, charge_type="LATE_FEE").order_by("id")
    assert [(r.amount_fen, r.paid_fen) for r in rows] == [(2250, 1000), (450, 0)]  # 2 more days in a new row
    assert sum(r.amount_fen for r in rows) == 12 * 225


async def test_waiving_a_late_fee(world, cfg):
    lease, rent, _ = await overdue_lease(world.a, world.now)
    await LateFeeClauseRecord.create(lease_id=lease.id, clause={"kind": "FIXED", "fixed_fen": 20000})
    await collect(cfg, day(2))
    accrual = await waive_late_fee(rent.id, reason="首次逾期,予以减免", approver=world.a.manager, now=day(3))
    assert accrual.waived_by_id == world.a.manager.id and accrual.waived_reason == "首次逾期,予以减免"
    fee = await Receivable.get(lease_id=lease.id, charge_type="LATE_FEE")
    assert fee.status == "WAIVED" and fee.waive_approved_by_id == world.a.manager.id
    await collect(cfg, day(20))
    assert await Receivable.filter(lease_id=lease.id, charge_type="LATE_FEE").count() == 1


async def test_default_clause_from_settings(world, settings):
    cfg = ArrearsConfig.from_settings(settings.model_copy(update={"arrears_default_late_fee": {
        "kind": "DAILY_RATE", "daily_rate": "0.001"}}))
    assert cfg.default_clause.kind == LateFeeKind.DAILY_RATE
    lease, rent, _ = await overdue_lease(world.a, world.now)
    await collect(cfg, day(5))
    assert (await Receivable.get(lease_id=lease.id, charge_type="LATE_FEE")).amount_fen == 5 * 450


async def test_tier_messages_reach_wechat_and_sms(world, cfg, settings, fake_wechat, fake_sms):
    lease, rent, user = await overdue_lease(world.a, world.now)
    _, rent_b, _ = await overdue_lease(world.a, world.now, bound=False, name="欠租乙", phone="13922223333",
                                       unit_index=2)
    await collect(cfg, day(1))
    send = settings.model_copy(update={
        "notify_templates": {K.COLLECTION_FRIENDLY: {"template_id": "TPL-COLLECT-1"}},
        "sms_endpoint": fake_sms.endpoint, "sms_api_key": "sms-key-1"})
    await send_due(send, day(1), limit=500)
    wechat = [m for m in fake_wechat.sent_messages if m["template_id"] == "TPL-COLLECT-1"]
    ours = [m for m in wechat if m["touser"] == user.openid]
    assert len(ours) == 1
    assert ours[0]["data"]["thing5"] == {"value": "若有付款已完成,请忽略此消息"}
    assert ours[0]["data"]["amount2"] == {"value": "¥4500.00"} and ours[0]["data"]["number4"] == {"value": "1"}
    sms = [m for m in fake_sms.received if m["phone"] == "13922223333"]
    assert len(sms) == 1 and "首次提醒" in sms[0]["text"] and sms[0]["client_ref"].startswith(
        f"collections:{rent_b.id}:tier:1")
    row = await OutboxMessage.get(dedupe_key=f"collections:{rent_b.id}:tier:1:sms")
    assert row.status == OutboxStatus.SENT


async def test_sms_failures_retry_or_fail(world, cfg, settings, fake_sms):
    from notifications.sms import enqueue_sms

    send = settings.model_copy(update={"sms_endpoint": fake_sms.endpoint, "sms_api_key": "sms-key-1",
                                       "outbox_max_attempts": 3})
    row = await enqueue_sms(phone="+86 139-1111-2222", kind=K.COLLECTION_FRIENDLY, dedupe_key="t:1", text="测试",
                            now=day(0))
    assert row.channel == "sms:13911112222"
    fake_sms.fail_next.append(503)
    report = await send_due(send, day(0))
    assert report.retrying == 1
    assert (await OutboxMessage.get(id=row.id)).status == OutboxStatus.PENDING
    report = await send_due(send, day(0) + timedelta(minutes=5))
    assert report.sent == 1 and len(fake_sms.received) == 1
    bad = await enqueue_sms(phone="12345", kind=K.COLLECTION_FRIENDLY, dedupe_key="t:2", text="测试", now=day(0))
    await send_due(send, day(0) + timedelta(minutes=6))
    bad = await OutboxMessage.get(id=bad.id)
    assert bad.status == OutboxStatus.FAILED and "INVALID_PHONE" in bad.last_error
    assert await Alert.filter(type="NOTIFICATION_FAILING", status=AlertStatus.ACTIVE).exists()
    none = await enqueue_sms(phone="13911112222", kind=K.COLLECTION_FRIENDLY, dedupe_key="t:3", text="x", now=day(0))
    await send_due(settings, day(0) + timedelta(minutes=7))  # no provider configured
    assert (await OutboxMessage.get(id=none.id)).status == OutboxStatus.UNDELIVERABLE
    assert await enqueue_sms(phone="not a phone", kind="X", dedupe_key="t:4", text="x", now=day(0)) is None


async def test_grace_suppresses_tier_messages(world, cfg):
    from arrears.choices import RequestedVia
    from arrears.grace import decide_grace, request_grace

    lease, rent, user = await overdue_lease(world.a, world.now)
    await collect(cfg, day(3))  # tier 1 sent
    grace = await request_grace(lease, via=RequestedVia.TENANT, requested_by=user.id, cfg=cfg, now=day(14),
                                reason="资金周转,下周到账")
    assert grace.days == 7 and grace.status == "REQUESTED"
    await collect(cfg, day(14))
    grace = await decide_grace(grace.id, approve=True, decider=world.a.manager, cfg=cfg, now=day(14))
    assert (grace.starts_on.isoformat(), grace.ends_on.isoformat()) == ("2026-11-17", "2026-11-23")  # days 14..20
    assert await OutboxMessage.filter(kind=K.GRACE_DECISION, user_id=user.id).exists()
    for n in range(15, 21):
        report = await collect(cfg, day(n))
        if n >= 16:
            assert rent.id in report.suppressed  # tier 2 is due but the grace holds it
    assert await steps_of(rent) == [(1, StepStatus.SENT, 3)]
    assert not await OutboxMessage.filter(kind=K.COLLECTION_LEGAL, dedupe_key__startswith=f"collections:{rent.id}:")\
        .exists()
    await collect(cfg, day(21))  # the grace ended, still in tier 2: it fires now
    assert await steps_of(rent) == [(1, StepStatus.SENT, 3), (2, StepStatus.SENT, 21)]


async def test_grace_requests_are_checked(world, cfg):
    from arrears.choices import RequestedVia
    from arrears.grace import decide_grace, request_grace
    from core.errors import Conflict, InvalidTransition, ValidationFailed

    lease, rent, user = await overdue_lease(world.a, world.now)
    with pytest.raises(ValidationFailed):  # nothing is overdue yet on the due date
        await request_grace(lease, via=RequestedVia.TENANT, requested_by=user.id, cfg=cfg, now=day(0))
    with pytest.raises(ValidationFailed):
        await request_grace(lease, via=RequestedVia.STAFF, requested_by=world.a.finance.id, cfg=cfg, now=day(5),
                            days=45)
    grace = await request_grace(lease, via=RequestedVia.STAFF, requested_by=world.a.finance.id, cfg=cfg, now=day(5),
                                days=3)
    with pytest.raises(Conflict):
        await request_grace(lease, via=RequestedVia.TENANT, requested_by=user.id, cfg=cfg, now=day(5))
    rejected = await decide_grace(grace.id, approve=False, decider=world.a.manager, cfg=cfg, now=day(6),
                                  note="已多次逾期")
    assert rejected.status == "REJECTED" and rejected.ends_on is None
    with pytest.raises(InvalidTransition):
        await decide_grace(grace.id, approve=True, decider=world.a.manager, cfg=cfg, now=day(6))
    again = await request_grace(lease, via=RequestedVia.TENANT, requested_by=user.id, cfg=cfg, now=day(7))
    assert again.status == "REQUESTED"


async def test_a_taken_message_key_loses_only_its_receivable(world, cfg):
    """Receivables fire set-wise; when one's message key is already taken (as by a concurrent run), that one
    alone is left untouched — the others in its batch fire as usual."""
    from arrears.choices import MessageTrigger, TierCode

    lease, rent, user = await overdue_lease(world.a, world.now)
    _, rent_b, user_b = await overdue_lease(world.a, world.now, name="欠租乙", phone="13922223333", unit_index=2)
    await CollectionMessage.create(receivable_id=rent.id, lease_id=lease.id, tenant_id=lease.tenant_id,
                                   building_id=rent.building_id, level=1, tier_code=TierCode.FRIENDLY,
                                   channel=MessageChannel.WECHAT, trigger=MessageTrigger.JOB, recipient="x",
                                   dedupe_key=f"collections:{rent.id}:tier:1:user:{user.id}", text="x", at=day(0))
    report = await collect(cfg, day(2))
    ours = {rent.id, rent_b.id}
    assert [f for f in report.fired if f[0] in ours] == [(rent_b.id, 1)] and len(report.fired) > 1
    assert await steps_of(rent) == [] and await steps_of(rent_b) == [(1, StepStatus.SENT, 2)]
    assert not await OutboxMessage.filter(dedupe_key__startswith=f"collections:{rent.id}:").exists()
    assert await OutboxMessage.filter(dedupe_key=f"collections:{rent_b.id}:tier:1:user:{user_b.id}").exists()
    assert await CollectionTask.filter(receivable_id=rent_b.id, level=1).exists()
    assert not await CollectionTask.filter(receivable_id=rent.id).exists()
