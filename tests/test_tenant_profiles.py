"""Tenant profiles on a real database: the daily job profiles every tenant with a live lease across all their
leases (ledger, promises, deposit deductions, work orders), once a day; the expiry reminder states the stored
recommendation with its reasons (or that there is no profile yet); the API in the caller's buildings."""

from __future__ import annotations

from datetime import date, timedelta

from arrears.choices import ContactKind, PromiseStatus
from leasehealth.choices import Recommendation
from leasehealth.jobs import tenant_profiles_daily
from leasehealth.profiles import run_profiles
from leasehealth.service import HealthConfig
from leasing.choices import LeaseStatus
from models.arrears import ContactNote
from models.leasehealth import TenantProfile
from models.leasing import Lease
from models.notifications import OutboxMessage
from models.workorders import WorkOrder
from notifications.choices import NotificationKind
from reminders.scheduler import JOBS, resolve_job
from reminders.service import run_lease_reminders
from tests.support.leasehealth_helpers import add_orders, at, lease_paying
from workorders.choices import TriggerSource

AS_OF = date(2026, 12, 20)
#: a lease starting on this day ends 90 days after AS_OF: its residential 90-day reminder fires on AS_OF
START_90 = date(2026, 3, 21)


async def broken_promises(lease, count: int) -> None:
    for n in range(count):
        await ContactNote.create(tenant_id=lease.tenant_id, lease_id=lease.id, building_id=lease.unit.building_id,
                                 kind=ContactKind.PROMISE, note=f"承诺{n + 1}", at=at(date(2026, 6, 1 + n)),
                                 promised_date=date(2026, 6, 5 + n), promised_fen=100000,
                                 promise_status=PromiseStatus.BROKEN)


async def tenants(world):
    """Building A: a punctual tenant (ELIGIBLE), one who paid everything 20 days late (NOT_RECOMMENDED), one on
    time but with three broken promises (REVIEW: 70); each lease 90 days from its end on AS_OF."""
    punctual = await lease_paying(world.a, start=START_90, until=AS_OF, days_late=0, name="准时甲")
    late = await lease_paying(world.a, start=START_90, until=AS_OF, days_late=20, unit_index=2, name="迟付乙")
    promiser = await lease_paying(world.b, start=START_90, until=AS_OF, days_late=0, name="承诺丙")
    for lease in (punctual, late, promiser):
        await lease.fetch_related("unit")
    await broken_promises(promiser, 3)
    return punctual, late, promiser


async def test_job_profiles_tenants_once_a_day(world, settings):
    punctual, late, promiser = await tenants(world)
    assert list(JOBS).index("tenant_profiles") < list(JOBS).index("reminders")
    job = resolve_job("tenant_profiles")
    assert job is tenant_profiles_daily
    first = await job(settings, at(AS_OF))
    assert first["tenant_profiles"]["ran"] is True
    assert first["tenant_profiles"]["recommendations"]["NOT_RECOMMENDED"] >= 1
    again = await job(settings, at(AS_OF, 12))
    assert again["tenant_profiles"] == {"ran": False, "reason": "already ran for 2026-12-20"}

    rows = {p.tenant_id: p for p in await TenantProfile.all()}
    good, bad, review = rows[punctual.tenant_id], rows[late.tenant_id], rows[promiser.tenant_id]
    # 10 dues (deposit + rent 03-21, rents 04-21 … 11-21, and 12-21 not yet due … 9 months): all on time
    assert (good.score, good.recommendation) == (100, Recommendation.ELIGIBLE)
    assert good.metrics["on_time_rate"] == "1.0000" and good.metrics["dues_late"] == 0
    # all 20 days late: (95% − 0%) × 100 → −95, average 20 → −10, worst 20 → −5: score 0
    assert (bad.score, bad.recommendation) == (0, Recommendation.NOT_RECOMMENDED)
    assert [r["measure"] for r in bad.reasons] == ["on_time_rate", "avg_days_late", "worst_days_late"]
    assert bad.metrics["worst_days_late"] == 20 and bad.metrics["avg_days_late"] == "20.0"
    assert (review.score, review.recommendation) == (70, Recommendation.REVIEW)
    assert [(r["measure"], r["effect"]) for r in review.reasons] == [("on_time_rate", 0), ("promises_broken", -30)]
    assert review.as_of == AS_OF and all("text" in r for r in review.reasons)
    # the world's own tenants are profiled too (every tenant with a live lease)
    assert world.a.lease.tenant_id in rows and world.b.lease.tenant_id in rows


async def test_profile_spans_all_the_partys_leases(world, settings):
    cfg = HealthConfig.from_settings(settings)
    # the same party (name and phone) had an earlier lease in building B, paid 20 days late, now ended
    earlier = await lease_paying(world.b, start=date(2025, 1, 1), until=date(2025, 12, 31), days_late=20,
                                 name="跨楼丁", now=at(date(2025, 1, 1)))
    await Lease.filter(id=earlier.id).update(status=LeaseStatus.ENDED, ended_at=at(date(2025, 12, 31)))
    current = await lease_paying(world.a, start=date(2026, 1, 1), until=AS_OF, days_late=0, name="跨楼丁")
    assert current.tenant_id == earlier.tenant_id
    await add_orders(world.a, current, [date(2026, 2, 1), date(2026, 3, 1)])
    report = await run_profiles(cfg, at(AS_OF))
    assert report.tenants >= 3
    row = await TenantProfile.get(tenant_id=current.tenant_id)
    # 2025: 13 dues 20 days late (deposit and 12 rents); 2026: 13 on time (deposit + 12 rents)
    assert (row.metrics["dues_judged"], row.metrics["dues_late"]) == (26, 13)
    assert row.metrics["work_orders"] == 2 and row.metrics["complaints"] == 0
    # (95% − 50%) × 100 → −45, average 20 → −10, worst 20 → −5
    assert (row.score, row.recommendation) == (40, Recommendation.NOT_RECOMMENDED)
    # recomputed the next day: one row per tenant, rewritten
    await run_profiles(cfg, at(AS_OF + timedelta(days=1)))
    assert await TenantProfile.filter(tenant_id=current.tenant_id).count() == 1
    assert (await TenantProfile.get(tenant_id=current.tenant_id)).as_of == AS_OF + timedelta(days=1)


async def test_expiry_reminder_states_the_recommendation(world, settings):
    punctual, late, promiser = await tenants(world)
    await run_profiles(HealthConfig.from_settings(settings), at(AS_OF))
    # a tenant signed after today's profiles: the reminder says there is no profile instead of guessing
    fresh = await lease_paying(world.b, start=START_90, until=START_90 - timedelta(days=1), days_late=0,
                               unit_index=2, name="新租戊")
    assert not await TenantProfile.filter(tenant_id=fresh.tenant_id).exists()
    report = await run_lease_reminders(settings, at(AS_OF))
    assert {(lease_id, days) for lease_id, days in report.fired} >= {
        (punctual.id, 90), (late.id, 90), (promiser.id, 90), (fresh.id, 90)}

    async def reminder(lease):
        order = await WorkOrder.get(trigger_source=TriggerSource.LEASE_REMINDER,
                                    trigger_ref=f"lease:{lease.id}:tier:90")
        message = await OutboxMessage.get(kind=NotificationKind.LEASE_REMINDER,
                                          dedupe_key__startswith=f"lease:{lease.id}:tier:90:")
        return order.description, message.payload

    text, payload = await reminder(punctual)
    assert "续约建议:建议续约(评分100,画像日期2026-12-20)" in text and "按时付款率100%" in text
    assert payload["recommendation"] == "ELIGIBLE" and payload["renewal"] == "续约建议:建议续约(100分)"
    text, payload = await reminder(late)
    assert "续约建议:不建议续约(评分0" in text and "平均逾期天数20.0天(超过15天):-10分" in text
    assert payload["recommendation"] == "NOT_RECOMMENDED" and payload["profile_score"] == 0
    assert len(payload["profile_reasons"]) == 3
    text, payload = await reminder(promiser)
    assert "需复核" in text and "违约付款承诺3次(每次-10分):-30分" in text
    text, payload = await reminder(fresh)
    assert "尚无画像" in text
    assert payload["recommendation"] is None and payload["renewal"] == "续约建议:尚无画像"


async def test_api_in_scope(world, client, clock, settings):
    punctual, late, _ = await tenants(world)
    clock.set(at(AS_OF))
    world.now = clock.now()
    path = f"/api/v1/lease-health/tenants/{late.tenant_id}/profile"
    _, before = await client.get(path, headers=world.auth(world.a.finance))
    assert before.status == 200, before.text
    assert before.json["profile"] is None and before.json["lease_ids"] == [late.id]
    await run_profiles(HealthConfig.from_settings(settings), at(AS_OF))
    _, body = await client.get(path, headers=world.auth(world.a.manager))
    assert body.status == 200
    profile = body.json["profile"]
    assert profile["recommendation"] == "NOT_RECOMMENDED" and profile["recommendation_label"] == "不建议续约"
    assert profile["score"] == 0 and profile["reasons"][0]["measure"] == "on_time_rate"
    _, other = await client.get(path, headers=world.auth(world.b.finance))
    assert other.status == 404 and other.json["error"]["code"] == "NOT_FOUND"
    _, tenant = await client.get(path, headers=world.auth(world.a.tenant_user))
    assert tenant.status == 403
    _, missing = await client.get("/api/v1/lease-health/tenants/999999/profile", headers=world.auth(world.admin))
    assert missing.status == 404
