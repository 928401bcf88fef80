"""Lease expiry reminders: tiers per property type, late-signed leases, exactly once (also concurrently on
PostgreSQL, where the job takes an advisory lock)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from leasing.choices import LeaseStatus, PaymentFrequency
from leasing.service import create_lease, sign_lease
from models.leasing import Lease
from models.notifications import OutboxMessage
from models.reminders import LeaseReminder
from models.workorders import WorkOrder
from notifications.choices import NotificationKind
from reminders.rules import DEFAULT_RULES, Tier, current_tier, due_reminder, rules_from_config
from reminders.service import run_lease_reminders
from tests.support.db import on_postgres
from workorders.choices import TriggerSource, WorkOrderType

RES = DEFAULT_RULES["RESIDENTIAL"]
SHOP = DEFAULT_RULES["SHOP"]
END = date(2027, 3, 1)


@pytest.mark.parametrize(("tiers", "days_left", "expected"), [
    (RES, 120, None), (RES, 91, None), (RES, 90, 90), (RES, 61, 90), (RES, 60, 60), (RES, 40, 60),
    (RES, 30, 30), (RES, 1, 30), (RES, 0, 30), (RES, -1, None),
    (SHOP, 120, 120), (SHOP, 100, 120), (SHOP, 90, 90), (SHOP, 46, 90), (SHOP, 45, 45),
])
def test_current_tier(tiers, days_left, expected):
    tier = current_tier(tiers, days_left)
    assert (tier.days if tier else None) == expected


@pytest.mark.parametrize(("as_of", "fired", "expected"), [
    (END - timedelta(days=95), set(), None),
    (END - timedelta(days=90), set(), 90),
    (END - timedelta(days=89), {90}, None),  # already fired today's tier
    (END - timedelta(days=45), {90}, 60),
    (END - timedelta(days=45), set(), 60),  # signed late: the current tier only, not the missed 90
    (END - timedelta(days=10), {90, 60}, 30),
    (END - timedelta(days=10), {30}, None),
    (END + timedelta(days=1), set(), None),  # ended
])
def test_due_reminder(as_of, fired, expected):
    tier = due_reminder(RES, END, as_of, fired)
    assert (tier.days if tier else None) == expected


def test_rules_can_be_overridden_per_property_type():
    rules = rules_from_config({"WAREHOUSE": [{"days": 30, "action": "TASK"}, {"days": 75, "title": "仓库评估"}]})
    assert rules["WAREHOUSE"] == (Tier(75, "TASK", "仓库评估"), Tier(30, "TASK", "租约30天到期提醒"))
    assert rules["RESIDENTIAL"] == RES
    with pytest.raises(ValueError):
        rules_from_config({"CASTLE": [{"days": 30}]})
    with pytest.raises(ValueError):
        rules_from_config({"SHOP": [{"days": 30}, {"days": 30}]})


async def lease_on(side, unit_index: int, end: date, now) -> Lease:
    lease = await create_lease(unit=side.units[unit_index], tenant_name="到期租户", tenant_phone="",
                               start_date=date(2026, 1, 1), end_date=end, monthly_rent_fen=100000, deposit_fen=200000,
                               payment_frequency=PaymentFrequency.MONTHLY)
    lease, _ = await sign_lease(lease.id, now=now, actor_id=side.manager.id)
    return lease


async def reminder_orders(lease_id: int) -> list[WorkOrder]:
    return await WorkOrder.filter(trigger_source=TriggerSource.LEASE_REMINDER,
                                  trigger_ref__startswith=f"lease:{lease_id}:").order_by("id")


async def test_each_tier_fires_once_as_time_passes(world, clock, settings):
    a = world.a
    lease = await lease_on(a, 0, END, clock.now())  # residential
    fired_days = []
    day = END - timedelta(days=100)
    while day <= END + timedelta(days=2):
        for _ in range(2):  # a restart on the same day changes nothing
            report = await run_lease_reminders(settings, clock.now(), as_of=day)
            fired_days += [(lease_id, days, (END - day).days) for lease_id, days in report.fired]
        day += timedelta(days=1)
    assert fired_days == [(lease.id, 90, 90), (lease.id, 60, 60), (lease.id, 30, 30)]
    orders = await reminder_orders(lease.id)
    assert [o.trigger_ref for o in orders] == [f"lease:{lease.id}:tier:{d}" for d in (90, 60, 30)]
    assert all(o.type == WorkOrderType.TASK and o.assignee_id == a.manager.id for o in orders)
    assert all(o.unit_id == a.units[0].id and o.building_id == a.building.id for o in orders)
    notes = await OutboxMessage.filter(kind=NotificationKind.LEASE_REMINDER).order_by("id")
    assert [(n.user_id, n.payload["tier_days"]) for n in notes] == [(a.manager.id, 90), (a.manager.id, 60),
                                                                     (a.manager.id, 30)]
    assert notes[0].payload["work_order_id"] == orders[0].id


async def test_late_signed_lease_gets_only_the_current_tier(world, clock, settings):
    today = date(2026, 11, 2)
    lease = await lease_on(world.a, 0, today + timedelta(days=40), clock.now())
    report = await run_lease_reminders(settings, clock.now())  # as_of = today in Shanghai
    assert report.as_of == today and report.fired == [(lease.id, 60)]
    assert [o.trigger_ref for o in await reminder_orders(lease.id)] == [f"lease:{lease.id}:tier:60"]
    report = await run_lease_reminders(settings, clock.now(), as_of=today + timedelta(days=10))
    assert report.fired == [(lease.id, 30)]
    assert await LeaseReminder.filter(lease_id=lease.id, tier_days=90).count() == 0


async def test_property_types_have_their_own_offsets(world, clock, settings):
    today = date(2026, 11, 2)
    end = today + timedelta(days=100)
    shop = await lease_on(world.a, 2, end, clock.now())
    office = await lease_on(world.a, 3, end, clock.now())
    home = await lease_on(world.a, 0, end, clock.now())
    report = await run_lease_reminders(settings, clock.now())
    assert sorted(report.fired) == sorted([(shop.id, 120), (office.id, 120)])
    assert not await reminder_orders(home.id)
    titles = {o.unit_id: o.title for o in await WorkOrder.filter(trigger_source=TriggerSource.LEASE_REMINDER)}
    assert "商铺" in titles[world.a.units[2].id] and "写字楼" in titles[world.a.units[3].id]
    custom = settings.model_copy(update={"lease_reminder_rules": {"RESIDENTIAL": [{"days": 100, "action": "TASK"}]}})
    assert (await run_lease_reminders(custom, clock.now())).fired == [(home.id, 100)]


async def test_leases_that_are_not_live_get_no_reminder(world, clock, settings):
    lease = await lease_on(world.a, 0, date(2026, 11, 30), clock.now())
    await Lease.filter(id=lease.id).update(status=LeaseStatus.TERMINATED)
    draft = await create_lease(unit=world.a.units[2], tenant_name="草稿", tenant_phone="", start_date=date(2026, 1, 1),
                               end_date=date(2026, 11, 30), monthly_rent_fen=1, deposit_fen=1,
                               payment_frequency=PaymentFrequency.MONTHLY)
    report = await run_lease_reminders(settings, clock.now())
    assert report.fired == [] and draft.status == LeaseStatus.DRAFT


@pytest.mark.parametrize("use_lock", [True, False])
async def test_each_tier_fires_exactly_once_under_concurrency(world, clock, settings, use_lock):
    """Several instances run the job at the same moment. On PostgreSQL they really run in parallel (one
    connection each): with the advisory lock the others skip; without it, the unique keys still decide."""
    today = date(2026, 11, 2)
    leases = [await lease_on(world.a, 0, today + timedelta(days=90), clock.now()),
              await lease_on(world.a, 2, today + timedelta(days=45), clock.now()),
              await lease_on(world.b, 0, today + timedelta(days=20), clock.now()),
              await lease_on(world.b, 3, today + timedelta(days=61), clock.now())]
    runs = await asyncio.gather(*[run_lease_reminders(settings, clock.now(), use_lock=use_lock) for _ in range(6)])
    fired = sorted(pair for run in runs for pair in run.fired)
    expected = sorted([(leases[0].id, 90), (leases[1].id, 45), (leases[2].id, 30), (leases[3].id, 90)])
    assert fired == expected
    assert sorted(await LeaseReminder.all().values_list("lease_id", "tier_days")) == expected
    assert await WorkOrder.filter(trigger_source=TriggerSource.LEASE_REMINDER).count() == 4
    assert await OutboxMessage.filter(kind=NotificationKind.LEASE_REMINDER).count() == 4
    if on_postgres() and use_lock:
        assert any(run.skipped_locked for run in runs) or sum(bool(run.fired) for run in runs) == 1
    # a restart (a later run the same day) fires nothing
    assert (await run_lease_reminders(settings, clock.now())).fired == []
