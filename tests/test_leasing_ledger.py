"""The ledger on a real database: seed 001's case end to end, generation jobs, payments, amendments, waivers,
statements, the receivables ledger, parties, the dry-run."""

import asyncio
import json
from datetime import date, timedelta

from accounts.choices import Role
from leasing.choices import GenerationStatus
from leasing.config import DEFAULT_CONFIG, LeasingConfig
from leasing.jobs import dry_run, schedule_retries
from leasing.ledger import record_payment, retry_due_generations
from leasing.service import create_lease, sign_lease
from models.accounts import User
from models.alerts import Alert
from models.leasing import DepositLiability, Lease, LeaseChange, Payment, Receivable, ScheduleGeneration, Tenant
from models.notifications import OutboxMessage

SEED = {"contract_no": "202512001", "tenant_name": "深圳某工业厂房", "tenant_phone": "13912345678",
        "start_date": "2026-12-01", "end_date": "2028-11-30", "monthly_rent_fen": 4000000, "deposit_fen": 8000000,
        "payment_frequency": "两月一次"}


async def post(client, path, body, user, world):
    _, response = await client.post(path, headers=world.auth(user), content=json.dumps(body))
    return response


async def rents(lease_id):
    return [(r.period_start.isoformat(), r.period_end.isoformat(), r.amount_fen)
            for r in await Receivable.filter(lease_id=lease_id, charge="RENT", open_key__not_isnull=True)
            .order_by("period_start")]


async def test_seed_case_two_monthly_alias_yields_the_bimonthly_schedule(client, world):
    created = await post(client, "/api/v1/leases", {**SEED, "unit_code": world.a.unit.code}, world.a.manager, world)
    assert created.status == 201, created.json
    assert created.json["payment_frequency"] == "BIMONTHLY" and created.json["contract_no"] == "202512001"
    signed = await post(client, f"/api/v1/leases/{created.json['id']}/sign", {}, world.a.manager, world)
    assert signed.json["schedule"]["status"] == "SUCCEEDED"
    periods = await rents(created.json["id"])
    assert len(periods) == 12  # 24 months / 2
    assert periods[0] == ("2026-12-01", "2027-01-31", 8000000)
    assert periods[1] == ("2027-02-01", "2027-03-31", 8000000)
    assert periods[-1] == ("2028-10-01", "2028-11-30", 8000000)
    assert sum(a for *_, a in periods) == 24 * 4000000


async def test_unknown_frequency_is_refused_at_entry_and_nothing_is_written(client, world):
    leases, tenants = await Lease.all().count(), await Tenant.all().count()
    body = {**SEED, "unit_code": world.a.unit.code, "payment_frequency": "两月一趟"}
    response = await post(client, "/api/v1/leases", body, world.a.manager, world)
    assert response.status == 422
    error = response.json["error"]
    assert error["code"] == "INVALID_FREQUENCY_CODE" and error["details"]["value"] == "两月一趟"
    assert "BIMONTHLY" in error["details"]["accepted_codes"] and "两月一次" in error["details"]["accepted_aliases"]
    assert (await Lease.all().count(), await Tenant.all().count()) == (leases, tenants)


async def test_forced_generation_failure_is_retried_alerts_finance_and_a_later_retry_creates_it(
        client, world, clock, settings):
    a = world.a
    lease = await create_lease(unit=a.unit, **{k: v for k, v in SEED.items() if k != "payment_frequency"},
                               payment_frequency="MONTHLY")
    # a legacy contract whose stored frequency text was never mapped (seed 001's "两月一次" before the fix)
    await Lease.filter(id=lease.id).update(terms={**lease.terms, "frequency": "两月一趟"})
    tenant_user = await User.create(name="租户", role=Role.TENANT, tenant_id=lease.tenant_id, openid="o-seed")
    await OutboxMessage.all().delete()
    cfg = LeasingConfig.from_settings(settings)
    _, signed_now = await sign_lease(lease.id, now=clock.now(), actor_id=a.manager.id, cfg=cfg)
    assert signed_now and (await Lease.get(id=lease.id)).status == "SIGNED"  # the signature stands
    job = await ScheduleGeneration.get(lease_id=lease.id)
    assert (job.status, job.attempts, job.error_code) == (GenerationStatus.FAILED, 1, "INVALID_FREQUENCY_CODE")
    assert "两月一趟" in job.error_message and job.next_attempt_at == clock.now() + timedelta(seconds=300)
    assert await Receivable.filter(lease_id=lease.id).count() == 0
    alert = await Alert.get(type="SCHEDULE_GENERATION_FAILED", subject=f"lease:{lease.id}")
    assert "Schedule Generation Failed: Contract 202512001" in alert.explanation
    notified = await OutboxMessage.filter(kind="SCHEDULE_FAILED").values_list("user_id", flat=True)
    assert sorted(notified) == sorted([a.finance.id, a.manager.id])
    _, failures = await client.get("/api/v1/schedule-failures", headers=world.auth(a.finance))
    assert [(f["lease_id"], f["error_code"]) for f in failures.json["items"]] == [(lease.id, "INVALID_FREQUENCY_CODE")]
    _, hidden = await client.get("/api/v1/schedule-failures", headers=world.auth(world.b.finance))
    assert hidden.json["items"] == []

    assert await retry_due_generations(clock.now(), cfg) == []  # backoff not over: not retried yet
    assert (await ScheduleGeneration.get(id=job.id)).attempts == 1
    clock.advance(seconds=301)
    assert (await schedule_retries(settings, clock.now()))["recovered"] == []
    job = await ScheduleGeneration.get(id=job.id)
    assert (job.status, job.attempts) == (GenerationStatus.FAILED, 2)
    assert job.next_attempt_at == clock.now() + timedelta(seconds=600)  # doubled
    assert await OutboxMessage.filter(kind="SCHEDULE_FAILED").count() == 2  # retries do not repeat the message
    assert (await Alert.get(id=alert.id)).count == 2

    settings.frequency_aliases = {"两月一趟": "BIMONTHLY"}  # the operator adds the mapping (数据清洗规则)
    retried = await post(client, f"/api/v1/leases/{lease.id}/schedule/retry", {}, a.finance, world)
    assert retried.status == 200 and retried.json["status"] == "SUCCEEDED", retried.json
    assert len(await rents(lease.id)) == 12
    assert (await Alert.get(id=alert.id)).status == "CLEARED"
    ready = await OutboxMessage.filter(kind="SCHEDULE_READY").values_list("user_id", flat=True)
    assert sorted(ready) == sorted([a.finance.id, a.manager.id])  # 补发提醒通知
    notice = await OutboxMessage.get(kind="RENT_DUE")
    assert notice.user_id == tenant_user.id and notice.payload["amount_fen"] == 8000000
    await assert_notice_names_its_payment_code(notice.payload)
    _, failures = await client.get("/api/v1/schedule-failures", headers=world.auth(a.finance))
    assert failures.json["items"] == []


async def assert_notice_names_its_payment_code(payload: dict) -> None:
    """The payment notice carries the receivable's 缴费码 in its own WeChat field (fitted unchanged) and in the
    remark; the code typed into a transfer's 附言 names that receivable again."""
    from zoneinfo import ZoneInfo

    from leasing.payment_codes import codes_in, payment_code
    from notifications.fit import render_data
    from notifications.templates import DEFAULT_TEMPLATES

    code = payment_code(payload["receivable_id"])
    assert payload["payment_code"] == code and code in payload["remark"]
    data = render_data(DEFAULT_TEMPLATES["RENT_DUE"]["fields"], payload, ZoneInfo("Asia/Shanghai"))
    assert data["character_string5"]["value"] == code and data["thing6"]["value"] == payload["remark"]
    assert codes_in(f"房租 {code.lower()} 12月") == [payload["receivable_id"]]


async def test_signing_twice_or_concurrently_yields_one_schedule(world, clock):
    lease = await create_lease(unit=world.a.unit, **SEED)
    results = await asyncio.gather(*[sign_lease(lease.id, now=clock.now(), actor_id=None) for _ in range(4)])
    assert sorted(signed for _, signed in results) == [False, False, False, True]
    count = await Receivable.filter(lease_id=lease.id).count()
    assert count == 13  # 12 rents + the deposit
    await sign_lease(lease.id, now=clock.now(), actor_id=None)
    await retry_due_generations(clock.now() + timedelta(days=1), DEFAULT_CONFIG)
    assert await Receivable.filter(lease_id=lease.id).count() == count
    assert await ScheduleGeneration.filter(lease_id=lease.id).count() == 1


async def short_lease(world, clock, **extra):
    body = {"contract_no": "S-1", "tenant_name": "短租", "tenant_phone": "13700000001", "start_date": "2026-11-01",
            "end_date": "2027-01-31", "monthly_rent_fen": 300000, "deposit_fen": 600000,
            "payment_frequency": "MONTHLY", **extra}
    lease = await create_lease(unit=world.a.unit, **body)
    await sign_lease(lease.id, now=clock.now(), actor_id=None)
    return lease


async def test_payments_allocate_oldest_first_keep_credit_and_record_first_rent(client, world, clock):
    lease = await short_lease(world, clock)
    url = f"/api/v1/leases/{lease.id}/payments"
    body = {"amount_fen": 700000, "paid_at": clock.now().isoformat(), "method": "BANK_TRANSFER",
            "payer_name": "短租", "reference": "招行 2026110200001"}
    first = await post(client, url, body, world.a.finance, world)
    assert first.status == 201, first.json
    rows = await Receivable.filter(lease_id=lease.id).order_by("due_date", "id")
    assert [(r.charge, r.paid_fen, r.status) for r in rows] == [
        ("DEPOSIT", 600000, "PAID"), ("RENT", 100000, "PARTIAL"), ("RENT", 0, "OPEN"), ("RENT", 0, "OPEN")]
    assert (await Lease.get(id=lease.id)).first_rent_paid_at is None
    assert (await DepositLiability.get(lease_id=lease.id)).held_fen == 600000
    later = clock.now() + timedelta(days=3)
    second = await post(client, url, {**body, "amount_fen": 900000, "paid_at": later.isoformat()}, world.a.finance,
                        world)
    assert [a["amount_fen"] for a in second.json["allocations"]] == [200000, 300000, 300000]
    assert second.json["payment"]["unallocated_fen"] == 100000  # overpayment kept as credit
    assert (await Lease.get(id=lease.id)).first_rent_paid_at == later
    _, statement = await client.get(f"/api/v1/leases/{lease.id}/statement?as_of=2026-12-15",
                                    headers=world.auth(world.a.finance))
    totals = statement.json["totals"]
    assert totals["billed_fen"] == 600000 + 300000 + 300000 and totals["outstanding_fen"] == 0
    assert totals["credit_fen"] == 100000 and totals["received_fen"] == 1600000
    assert totals["deposit_held_fen"] == 600000
    assert [r["state"] for r in statement.json["receivables"]] == ["PAID"] * 4


async def test_a_payment_from_another_source_is_recorded_once(world, clock):
    lease = await short_lease(world, clock)
    kwargs = {"lease_id": lease.id, "amount_fen": 300000, "paid_at": clock.now(), "method": "WECHAT_PAY",
              "source": "WECHAT_PAY", "external_ref": "wechat:RW202611020001", "now": clock.now()}
    first = await record_payment(**kwargs)
    again = await record_payment(**kwargs)
    assert first.created and not again.created and again.payment.id == first.payment.id
    assert await Payment.filter(lease_id=lease.id).count() == 1


async def test_amendments_keep_paid_periods_and_record_who_when_why(client, world, clock):
    lease = await short_lease(world, clock)
    await record_payment(lease_id=lease.id, amount_fen=900000, paid_at=clock.now(), method="CASH", now=clock.now())
    paid_before = [(r.id, r.amount_fen, r.paid_fen) for r in await Receivable.filter(lease_id=lease.id,
                                                                                     status="PAID")]
    change = await post(client, f"/api/v1/leases/{lease.id}/amendments",
                        {"kind": "RENT_CHANGE", "reason": "市场调价", "effective_date": "2026-11-16",
                         "monthly_rent_fen": 600000}, world.a.manager, world)
    assert change.status == 201, change.json
    assert change.json["change"]["schedule"] == {"created": 0, "updated": 2, "superseded": 0, "kept_paid": 2,
                                                 "adjusted": 1}
    for rid, amount, paid in paid_before:  # never rewritten
        row = await Receivable.get(id=rid)
        assert (row.amount_fen, row.paid_fen) == (amount, paid)
    # November: 15 days at 300000 + 15 days at 600000 of 30 = 450000; the kept row owes 150000 more
    adjustment = await Receivable.get(lease_id=lease.id, charge_type="ADJUSTMENT")
    assert adjustment.amount_fen == 150000
    assert [a for *_, a in await rents(lease.id)] == [300000, 600000, 600000]
    record = await LeaseChange.get(lease_id=lease.id)
    assert (record.kind, record.actor_id, record.reason, record.at) == ("RENT_CHANGE", world.a.manager.id, "市场调价",
                                                                         clock.now())
    early = await post(client, f"/api/v1/leases/{lease.id}/amendments",
                       {"kind": "EARLY_TERMINATION", "reason": "提前退租", "end_date": "2026-11-30"},
                       world.a.manager, world)
    assert early.status == 201, early.json
    assert [a for *_, a in await rents(lease.id)] == [300000]  # December and January superseded, unpaid
    _, history = await client.get(f"/api/v1/leases/{lease.id}/amendments", headers=world.auth(world.a.finance))
    assert [c["kind"] for c in history.json["items"]] == ["RENT_CHANGE", "EARLY_TERMINATION"]
    assert await retry_due_generations(clock.now() + timedelta(days=1), DEFAULT_CONFIG) == []


async def test_waiver_needs_a_manager_and_a_reason(client, world, clock):
    lease = await short_lease(world, clock)
    row = await Receivable.filter(lease_id=lease.id, charge="RENT").order_by("period_start").first()
    url = f"/api/v1/receivables/{row.id}/waive"
    assert (await post(client, url, {"reason": "x"}, world.a.manager, world)).status == 422
    assert (await post(client, url, {"reason": "疫情减免"}, world.a.finance, world)).status == 403
    waived = await post(client, url, {"reason": "疫情减免"}, world.a.manager, world)
    assert waived.status == 200 and waived.json["state"] == "WAIVED"
    assert waived.json["waived"]["approved_by"] == world.a.manager.id
    _, statement = await client.get(f"/api/v1/leases/{lease.id}/statement?as_of=2026-11-20",
                                    headers=world.auth(world.a.finance))
    t = statement.json["totals"]
    assert t["billed_fen"] == t["paid_fen"] + t["waived_fen"] + t["outstanding_fen"] == 900000
    assert (t["waived_fen"], t["outstanding_fen"]) == (300000, 600000)


async def test_receivables_ledger_by_building_period_and_state_in_scope(client, world, clock):
    lease = await short_lease(world, clock)
    await record_payment(lease_id=lease.id, amount_fen=600000, paid_at=clock.now(), method="CASH", now=clock.now())
    headers = world.auth(world.a.finance)
    _, overdue = await client.get(f"/api/v1/receivables?lease_id={lease.id}&state=OVERDUE&as_of=2026-12-05",
                                  headers=headers)
    assert [(r["charge"], r["due_date"]) for r in overdue.json["items"]] == [("RENT", "2026-11-01"),
                                                                          ("RENT", "2026-12-01")]
    _, upcoming = await client.get(f"/api/v1/receivables?lease_id={lease.id}&state=UPCOMING&as_of=2026-12-05",
                                   headers=headers)
    assert [r["due_date"] for r in upcoming.json["items"]] == ["2027-01-01"]
    _, month = await client.get(f"/api/v1/receivables?building_id={world.a.building.id}&period=2026-12",
                                headers=headers)
    assert month.json["items"] and all(r["due_date"].startswith("2026-12") for r in month.json["items"])
    assert month.json["totals"]["amount_fen"] == sum(r["amount_fen"] for r in month.json["items"])
    _, other = await client.get(f"/api/v1/receivables?building_id={world.b.building.id}", headers=headers)
    assert other.json["items"] == [] and other.json["total"] == 0
    _, admin = await client.get(f"/api/v1/receivables?building_id={world.b.building.id}",
                                headers=world.auth(world.admin))
    assert admin.json["total"] > 0


async def test_tenant_sees_only_their_own_statement(client, world):
    _, own = await client.get(f"/api/v1/me/leases/{world.a.lease.id}/statement",
                              headers=world.auth(world.a.tenant_user))
    assert own.status == 200 and own.json["lease_id"] == world.a.lease.id
    # every receivable carries its payment code (缴费码) for the transfer's 附言, decoding to its id
    from leasing.payment_codes import decode_code

    rows = [row for key, value in own.json.items() if isinstance(value, list) for row in value
            if isinstance(row, dict) and "payment_code" in row]
    assert rows and all(decode_code(row["payment_code"]) == row["id"] for row in rows)
    _, other = await client.get(f"/api/v1/me/leases/{world.b.lease.id}/statement",
                                headers=world.auth(world.a.tenant_user))
    assert other.status == 404


async def test_parties_are_found_again_by_their_keys(client, world):
    company = {**SEED, "unit_code": world.a.unit.code, "contract_no": "C-1", "tenant_kind": "COMPANY",
               "tenant_name": "深圳市南山咖啡有限公司", "tenant_uscc": "91350100M000100Y43"}
    first = await post(client, "/api/v1/leases", company, world.a.manager, world)
    again = {**company, "unit_code": world.a.units[2].code, "contract_no": "C-2", "tenant_uscc": "91350100m000100y43",
             "tenant_name": "南山咖啡"}
    second = await post(client, "/api/v1/leases", again, world.a.manager, world)
    assert first.status == second.status == 201
    assert first.json["tenant_id"] == second.json["tenant_id"]
    bad = await post(client, "/api/v1/leases", {**again, "contract_no": "C-3", "tenant_uscc": "91350100M000100Y44"},
                     world.a.manager, world)
    assert bad.status == 422 and bad.json["error"]["code"] == "INVALID_USCC"
    person = {**SEED, "unit_code": world.a.units[3].code, "contract_no": "P-1", "tenant_name": "张三",
              "tenant_id_number": "11010519491231002X", "tenant_phone": ""}
    p1 = await post(client, "/api/v1/leases", person, world.a.manager, world)
    assert p1.status == 201, p1.json
    tenant = await Tenant.get(id=p1.json["tenant_id"])
    assert tenant.id_last4 == "002X" and "11010519491231002X" not in json.dumps(
        {k: str(v) for k, v in tenant.__dict__.items()})
    await Lease.filter(id=p1.json["id"]).update(status="ENDED")
    p2 = await post(client, "/api/v1/leases", {**person, "contract_no": "P-2", "tenant_name": "张 三",
                                               "tenant_id_number": "11010519491231002x"}, world.a.manager, world)
    assert p2.json["tenant_id"] == tenant.id
    phone = {**SEED, "unit_code": world.b.unit.code, "contract_no": "R-1", "tenant_name": "租户B",
             "tenant_phone": "+86 138 0000 0000"}
    renewal = await post(client, "/api/v1/leases", phone, world.b.manager, world)
    assert renewal.json["tenant_id"] == world.b.lease.tenant_id  # same phone and name: the renewing tenant


async def test_dry_run_reports_failures_and_differences_without_writing(world, clock):
    cfg = DEFAULT_CONFIG
    clean = await dry_run(cfg)
    assert clean["failed"] == [] and clean["differs"] == [] and clean["ok"] == clean["leases"] == 2
    row = await Receivable.filter(lease_id=world.a.lease.id, charge="RENT").order_by("period_start").first()
    await Receivable.filter(id=row.id).update(amount_fen=1)
    await Lease.filter(id=world.b.lease.id).update(terms={**world.b.lease.terms, "frequency": "每周"})
    before = await Receivable.all().count()
    report = await dry_run(cfg)
    assert [d["lease_id"] for d in report["differs"]] == [world.a.lease.id]
    assert [(f["lease_id"], f["error_code"]) for f in report["failed"]] == [(world.b.lease.id,
                                                                            "INVALID_FREQUENCY_CODE")]
    assert await Receivable.all().count() == before and (await Receivable.get(id=row.id)).amount_fen == 1


async def test_refund_takes_the_deposit_the_ledger_holds(world, clock):
    from refunds.service import apply_refund
    from tests.support.world_refunds import CFG

    lease = await short_lease(world, clock)
    tenant = await User.create(name="短租", role=Role.TENANT, tenant_id=lease.tenant_id)
    await record_payment(lease_id=lease.id, amount_fen=400000, paid_at=clock.now(), method="CASH", now=clock.now())
    refund = await apply_refund(lease=await Lease.get(id=lease.id), applicant=tenant, now=clock.now(), cfg=CFG,
                                change_unit=False)
    assert refund.deposit_fen == 400000  # paid into the deposit receivable so far, not the contract's 600000
    assert date(2026, 11, 1) == (await Receivable.get(lease_id=lease.id, charge="DEPOSIT")).due_date


async def test_live_leases_signed_before_the_ledger_get_their_schedule_in_bulk(world, clock, settings):
    """A lease signed before the ledger existed has no generation job: the retry job generates it (bulk path),
    with exactly the lines the pure function computes; a second run adds nothing."""
    from leasing.schedule import generate_schedule
    from leasing.terms import lease_terms

    lease = await create_lease(unit=world.a.unit, **SEED)
    await Lease.filter(id=lease.id).update(status="ACTIVE", signed_at=clock.now())
    summary = await schedule_retries(settings, clock.now())
    assert summary["recovered"] == [lease.id]
    expected = generate_schedule(lease_terms(await Lease.get(id=lease.id)))
    stored = await Receivable.filter(lease_id=lease.id).order_by("due_date", "id")
    assert sorted((r.charge, r.period_start, r.due_date, r.amount_fen) for r in stored) == sorted(
        (ln.charge, ln.period_start, ln.due_date, ln.amount_fen) for ln in expected.lines)
    assert stored[0].breakdown and stored[0].created_at is not None
    assert (await schedule_retries(settings, clock.now()))["recovered"] == []
    assert await Receivable.filter(lease_id=lease.id).count() == len(expected.lines)
    assert (await dry_run(DEFAULT_CONFIG, lease_ids=[lease.id]))["ok"] == 1
