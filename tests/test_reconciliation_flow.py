"""Reconciliation end to end on a real database: a statement built with every discrepancy kind, imported through
the API; the matching explains itself; each item stays until confirmed, reassigned or dismissed (who, when, why);
a re-import adds nothing; the daily job; the CLI."""

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta

from leasing.choices import PaymentFrequency
from leasing.service import create_lease, sign_lease
from models.leasing import Payment, Receivable, Tenant
from models.reconciliation import Discrepancy, ReconciliationMatch, StatementLine
from reconciliation.demo import Row, bank_csv, demo_bank_export
from reconciliation.jobs import daily_reconciliation

KINDS = {"UNMATCHED_INCOME", "PAID_WITHOUT_BANK_LINE", "AMOUNT_MISMATCH", "DUPLICATE_PAYMENT", "OVERPAYMENT"}


async def more_leases(world, now):
    """Three more live leases in building A (the demo export needs four)."""
    for n, unit in enumerate([world.a.units[0], world.a.units[2], world.a.units[3]]):
        lease = await create_lease(unit=unit, tenant_name=f"租户A{n}", tenant_phone=f"1390000000{n}",
                                   start_date=date(2026, 11, 1), end_date=date(2027, 10, 31),
                                   monthly_rent_fen=300000 + n * 10000, deposit_fen=600000,
                                   payment_frequency=PaymentFrequency.MONTHLY, contract_no=f"HT-A-{n}")
        await sign_lease(lease.id, now=now, actor_id=world.a.manager.id)


async def upload(client, world, user, data, building_id, fmt=None):
    path = f"/api/v1/statements/import?building_id={building_id}" + (f"&format={fmt}" if fmt else "")
    _, response = await client.post(path, headers=world.auth(user),
                                    files={"file": ("export.csv", data, "text/csv")})
    return response


async def post(client, world, user, path, body):
    _, response = await client.post(path, headers=world.auth(user), content=json.dumps(body))
    return response


async def test_every_discrepancy_kind_from_a_statement_built_for_it(client, world, clock):
    a = world.a
    await more_leases(world, clock.now())
    statement = await demo_bank_export(clock.now(), building_id=a.building.id)
    await Discrepancy.all().delete()  # the world's own items (route scope) are not this statement's
    response = await upload(client, world, a.finance, statement.text.encode("gbk"), a.building.id)
    assert response.status == 201, response.json
    assert (response.json["lines_new"], response.json["format"]) == (7, "cn_bank@1")
    assert response.json["reconcile"]["applied"] == 1

    _, listed = await client.get("/api/v1/discrepancies?page_size=200", headers=world.auth(a.finance))
    items = listed.json["items"]
    assert {i["kind"] for i in items} == KINDS
    by_serial = {i["details"]["line"]["serial"]: i for i in items if i["line_id"]}
    for step in statement.plan:
        if step["serial"] is None or step["expect"] == "MATCHED":
            continue
        assert by_serial[step["serial"]]["kind"] == step["expect"]
        assert by_serial[step["serial"]]["explanation"]

    # 1. matched and applied: one bank payment on the ledger, named by the bank serial
    matched = await StatementLine.get(serial="DEMO0001")
    assert matched.status == "MATCHED" and matched.allocated_fen == matched.amount_fen
    payment = await Payment.get(external_ref="bank:DEMO0001")
    assert (payment.source, payment.method, payment.amount_fen) == ("BANK_STATEMENT", "BANK_TRANSFER",
                                                                    matched.amount_fen)
    assert matched.explanation["rule"] == "PAYMENT_CODE" and matched.explanation["confidence"] == 100
    assert "equals what is open" in matched.explanation["explanation"]
    # 2. duplicate: not applied (proposed as credit), explained
    duplicate = await StatementLine.get(serial="DEMO0002")
    assert duplicate.status == "PROPOSED" and "already paid" in duplicate.explanation["explanation"]
    assert not await Payment.filter(external_ref="bank:DEMO0002").exists()
    # 3. amount mismatch: partial, proposed below the threshold, nothing applied automatically
    short = await StatementLine.get(serial="DEMO0003")
    assert short.status == "PROPOSED" and short.explanation["confidence"] < 90
    mismatch = by_serial["DEMO0003"]
    assert mismatch["expected_fen"] - mismatch["amount_fen"] == 100000
    # 4. overpayment: 500.00 more than everything due
    assert by_serial["DEMO0004"]["amount_fen"] == 50000
    # 5. the hand-entered payment no line confirms
    hand = next(i for i in items if i["kind"] == "PAID_WITHOUT_BANK_LINE")
    assert hand["payment_id"] == statement.hand_payment_id and "no BANK statement line" in hand["explanation"]
    # no line is ever allocated beyond its amount
    for line in await StatementLine.all():
        proposed = sum(await ReconciliationMatch.filter(line_id=line.id, status__in=["PROPOSED", "APPLIED"])
                       .values_list("amount_fen", flat=True))
        assert proposed <= line.amount_fen

    # a re-import of the same (or an overlapping) export adds no line and no item
    again = await upload(client, world, a.finance, statement.text.encode("utf-16"), a.building.id)
    assert again.status == 200 and (again.json["lines_new"], again.json["lines_duplicate"]) == (0, 7)
    assert await StatementLine.all().count() == 7 + 12  # + the world's lines
    assert await Discrepancy.all().count() == len(items)

    # decisions: each with who, when, why; an item stays in the list until decided
    confirm_short = await post(client, world, a.finance, f"/api/v1/statements/lines/{short.id}/confirm", {})
    assert confirm_short.status == 200 and confirm_short.json["status"] == "MATCHED"
    assert await Payment.filter(external_ref="bank:DEMO0003", amount_fen=short.amount_fen).exists()
    decided = await post(client, world, a.finance, f"/api/v1/discrepancies/{mismatch['id']}/confirm",
                         {"reason": "租户确认本月先付一部分"})
    assert decided.status == 200
    assert (decided.json["status"], decided.json["resolved_by"]) == ("CONFIRMED", a.finance.id)
    assert decided.json["resolution_note"] == "租户确认本月先付一部分" and decided.json["resolved_at"]
    unknown = by_serial["DEMO0005"]
    reassigned = await post(client, world, a.manager, f"/api/v1/discrepancies/{unknown['id']}/reassign",
                            {"reason": "电话确认: 租户A1的公司代付", "lease_id": statement.plan[3]["lease_id"]})
    assert reassigned.status == 200 and reassigned.json["status"] == "REASSIGNED"
    assert (await StatementLine.get(serial="DEMO0005")).status == "MATCHED"
    no_reason = await post(client, world, a.finance, f"/api/v1/discrepancies/{hand['id']}/dismiss", {"reason": ""})
    assert no_reason.status == 422
    dismissed = await post(client, world, a.finance, f"/api/v1/discrepancies/{hand['id']}/dismiss",
                           {"reason": "实为现金, 登记方式错误"})
    assert dismissed.json["status"] == "DISMISSED"
    twice = await post(client, world, a.finance, f"/api/v1/discrepancies/{hand['id']}/dismiss", {"reason": "again"})
    assert twice.status == 409
    _, still = await client.get("/api/v1/discrepancies?page_size=200", headers=world.auth(a.finance))
    assert {i["kind"] for i in still.json["items"]} == {"UNMATCHED_INCOME", "DUPLICATE_PAYMENT", "OVERPAYMENT"}

    # building scope: B's finance sees none of it
    _, other = await client.get("/api/v1/discrepancies", headers=world.auth(world.b.finance))
    assert other.json["total"] == 0


async def test_hand_recorded_payment_confirmed_by_its_line_and_alias_matched_by_the_daily_job(
        client, world, clock, settings):
    a = world.a
    rent = await Receivable.filter(lease_id=a.lease.id, charge="RENT").order_by("period_start").first()
    # finance typed in October's transfer by hand; the statement then shows it: the line confirms it, no double
    typed = await post(client, world, a.finance, f"/api/v1/leases/{a.lease.id}/payments", {
        "amount_fen": rent.amount_fen, "paid_at": (clock.now() - timedelta(days=3)).isoformat(),
         "method": "BANK_TRANSFER", "payer_name": "租户A"})
    assert typed.status == 201, typed.json
    day = (clock.now() - timedelta(days=2)).replace(tzinfo=None)
    rows = [Row(day, rent.amount_fen, "租户A", "6222", "房租", "H1"),
            Row(day + timedelta(hours=1), 777700, "A公司财务部", "6223", "代付房租", "H2")]
    response = await upload(client, world, a.finance, bank_csv(rows).encode(), a.building.id)
    assert response.status == 201
    h1 = await StatementLine.get(serial="H1")
    assert h1.status == "MATCHED" and h1.explanation["rule"] == "EXISTING_PAYMENT"
    assert not await Payment.filter(lease_id=a.lease.id, source="BANK_STATEMENT").exists()  # no second payment
    assert (await ReconciliationMatch.get(line_id=h1.id)).payment_id == typed.json["payment"]["id"]
    h2 = await StatementLine.get(serial="H2")
    assert h2.status == "UNMATCHED"
    # the payer is registered as an alias; the next daily run matches the line (an open amount of theirs)
    await Receivable.filter(id=rent.id + 1).update(amount_fen=777700)
    await Tenant.filter(id=a.lease.tenant_id).update(payer_aliases=["A公司财务部"])
    first = await daily_reconciliation(settings, clock.now())
    assert first["ran"] is True and first["decided"] >= 1
    h2 = await StatementLine.get(serial="H2")
    assert h2.explanation["rule"] == "PAYER_AMOUNT" and "registered alias" in h2.explanation["explanation"]
    assert h2.status == "MATCHED"
    second = await daily_reconciliation(settings, clock.now())
    assert second["ran"] is False  # once per local day


async def test_unknown_layout_through_the_api_is_a_422_naming_the_columns(client, world):
    text = "交易日期,收入金额,支出金额,对方户名,交易对手行号\n2026-11-01,1.00,,某人,102\n"
    response = await upload(client, world, world.a.finance, text.encode("gbk"), world.a.building.id)
    assert response.status == 422
    error = response.json["error"]
    assert error["code"] == "UNKNOWN_STATEMENT_FORMAT"
    assert error["details"]["missing_columns"] == ["余额"]
    assert error["details"]["unexpected_columns"] == ["交易对手行号"]
    assert error["details"]["closest_format"] == "cn_bank@1"
    _, feed = await client.get(f"/api/v1/statements/feed?building_id={world.a.building.id}",
                               headers=world.auth(world.a.finance))
    assert feed.json["stale"] is True and feed.json["last_error_code"] == "UNKNOWN_STATEMENT_FORMAT"


def test_cli_imports_with_a_named_format_and_now(tmp_path, premigrated):
    premigrated(tmp_path)
    env = {**os.environ, "RW_VAR_DIR": str(tmp_path)}
    env.pop("RW_DATABASE_URL", None)  # its own SQLite file in the var dir

    def run(*args):
        return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                              timeout=300)

    assert run("migrate").returncode == 0
    path = tmp_path / "bank.csv"
    path.write_bytes(bank_csv([Row(datetime(2026, 11, 2, 9), 10000, "某人", "", "杂项", "C1")]).encode("gbk"))
    first = run("statements", "import", str(path), "--format", "cn_bank@1", "--now", "2026-11-02T10:00:00+08:00")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "1 new" in first.stdout
    again = run("statements", "import", str(path), "--now", "2026-11-02T11:00:00+08:00")
    assert "0 new, 1 already imported" in again.stdout
    wrong = run("statements", "import", str(path), "--format", "alipay_account_bill@1")
    assert wrong.returncode == 1 and "UNKNOWN_STATEMENT_FORMAT" in wrong.stderr and "closest" in wrong.stderr


async def test_reversing_an_applied_match_reopens_the_receivable_and_the_line(client, world, clock):
    """A line matched (and applied) to the wrong receivable: a person reverses it with a reason. The receivable
    is back to partially paid (what another payment brought stays), the line is unmatched income on the
    discrepancy list, who/when/why are recorded; reversing again changes nothing; the daily job does not
    re-apply it by itself; reassigning it records the money where it belongs, never more than the line."""
    from audit.choices import AuditAction
    from leasing.choices import PaymentMethod
    from leasing.ledger import record_payment
    from leasing.payment_codes import payment_code
    from models.audit import AuditEvent
    from models.leasing import PaymentAllocation
    from reconciliation.service import DEFAULT_CONFIG, reconcile

    a = world.a
    wrong, right = await Receivable.filter(lease_id=a.lease.id, charge="RENT", status="OPEN").order_by(
        "period_start").limit(2)
    await record_payment(lease_id=a.lease.id, amount_fen=1000, paid_at=clock.now(), now=clock.now(),
                         method=PaymentMethod.CASH, receivable_id=wrong.id)
    due = wrong.amount_fen - 1000
    text = bank_csv([Row(clock.now().replace(tzinfo=None), due, "某某", "", f"房租 {payment_code(wrong.id)}",
                         "REV0001")])
    response = await upload(client, world, a.finance, text.encode("gbk"), a.building.id)
    assert response.json["reconcile"]["applied"] == 1, response.json
    line = await StatementLine.get(serial="REV0001")
    assert (await Receivable.get(id=wrong.id)).status == "PAID"
    payment = await Payment.get(external_ref="bank:REV0001")

    path = f"/api/v1/statements/lines/{line.id}/reverse"
    assert (await post(client, world, a.finance, path, {})).status == 422  # a reason is required
    reversed_ = await post(client, world, a.finance, path, {"reason": "附言写错了缴费码"})
    assert reversed_.status == 200, reversed_.json
    assert (reversed_.json["status"], reversed_.json["allocated_fen"]) == ("UNMATCHED", 0)
    (entry,) = reversed_.json["explanation"]["reversed"]
    assert (entry["by"], entry["why"], entry["at"]) == (a.finance.id, "附言写错了缴费码", clock.now().isoformat())
    receivable = await Receivable.get(id=wrong.id)
    assert (receivable.status, receivable.paid_fen, receivable.paid_at) == ("PARTIAL", 1000, None)
    payment = await Payment.get(id=payment.id)
    assert payment.reversed_at is not None and payment.unallocated_fen == 0 and payment.external_ref != "bank:REV0001"
    assert sorted(await PaymentAllocation.filter(payment_id=payment.id).values_list("amount_fen", flat=True)) == [
        -due, due]
    match = await ReconciliationMatch.get(line_id=line.id)
    assert match.status == "REVERSED" and match.details["reversed"]["by"] == a.finance.id
    item = await Discrepancy.get(line_id=line.id, kind="UNMATCHED_INCOME", status="OPEN")
    assert "reversed" in item.explanation
    assert await AuditEvent.filter(action=AuditAction.STATEMENT_MATCH_REVERSED, target_id=str(line.id)).count() == 1

    again = await post(client, world, a.finance, path, {"reason": "再点一次"})
    assert again.status == 200 and len(again.json["explanation"]["reversed"]) == 1
    assert await PaymentAllocation.filter(payment_id=payment.id).count() == 2
    assert (await Receivable.get(id=wrong.id)).paid_fen == 1000

    await reconcile(now=clock.now(), cfg=DEFAULT_CONFIG)  # the daily pass proposes at most: a person decided
    assert (await StatementLine.get(id=line.id)).status in ("UNMATCHED", "PROPOSED")
    assert (await Receivable.get(id=wrong.id)).paid_fen == 1000

    reassigned = await post(client, world, a.finance, f"/api/v1/discrepancies/{item.id}/reassign",
                            {"reason": "是下个月的房租", "receivable_id": right.id})
    assert reassigned.status == 200, reassigned.json
    line = await StatementLine.get(id=line.id)
    assert line.status == "MATCHED" and line.allocated_fen == line.amount_fen == due
    fresh = await Payment.get(external_ref="bank:REV0001")
    assert fresh.id != payment.id and fresh.reversed_at is None
    assert (await Receivable.get(id=right.id)).paid_fen == min(due, right.amount_fen)
    assert (await Receivable.get(id=wrong.id)).paid_fen == 1000
    applied = await ReconciliationMatch.filter(line_id=line.id, status="APPLIED").values_list("amount_fen", flat=True)
    assert sum(applied) <= line.amount_fen
