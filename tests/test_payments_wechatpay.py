"""WeChat Pay end to end against the fake WeChat Pay server on loopback: the real wechatpayv3 client signs our
requests (the fake verifies them) and verifies the fake's signed answers; notifications are signed with the
platform key generated here and their resource encrypted with the APIv3 key. Real SQLite / PostgreSQL."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from accounts.choices import Role
from models.accounts import User
from models.alerts import Alert
from models.leasing import Payment, PaymentAllocation, Receivable
from models.payments import WechatPayNotice, WechatPayOrder
from models.reconciliation import Discrepancy
from payments.choices import ALERT_FORGED_NOTIFICATION, NoticeOutcome, OrderStatus, PaySource
from payments.jobs import query_unnotified_orders
from reconciliation.choices import DiscrepancyKind
from tests.support.fake_wechatpay import new_key
from tests.support.wechatpay_fixtures import (
    PAY_NOTIFY,
    deliver_notification,
    fake_pay_fixture,  # noqa: F401  (the fake_pay fixture)
    pay_settings,
)

ORDERS = "/api/v1/me/payments/orders"


@pytest.fixture
def settings(settings, fake_pay):
    return pay_settings(settings, fake_pay)


async def tenant_a(world):
    await User.filter(id=world.a.tenant_user.id).update(openid="o-tenant-a")
    return await User.get(id=world.a.tenant_user.id)


async def first_rents(world, n=2):
    return await Receivable.filter(lease_id=world.a.lease.id, charge="RENT").order_by("period_start").limit(n)


async def order(client, world, user, ids, **extra):
    _, response = await client.post(ORDERS, headers=world.auth(user),
                                    content=json.dumps({"receivable_ids": ids, **extra}))
    return response


async def deliver(client, fake, clock, resource, **kwargs):
    return await deliver_notification(client, fake, clock, PAY_NOTIFY, resource, **kwargs)


async def ledger_counts(world):
    return (await Payment.filter(lease_id=world.a.lease.id).count(),
            await PaymentAllocation.filter(payment__lease_id=world.a.lease.id).count())


async def test_tenant_pays_two_receivables_in_one_order(client, world, fake_pay, clock):
    user = await tenant_a(world)
    r1, r2 = await first_rents(world)
    response = await order(client, world, user, [r2.id, r1.id])
    assert response.status == 201, response.json
    body = response.json
    total = r1.amount_fen + r2.amount_fen
    assert body["order"]["amount_fen"] == total
    no = body["order"]["out_trade_no"]
    assert fake_pay.orders[no].amount == total and fake_pay.orders[no].openid == "o-tenant-a"
    params = body["payment"]
    assert params["package"] == f"prepay_id={fake_pay.orders[no].prepay_id}"
    assert fake_pay.verify_pay_sign(params)  # what WeChat checks in wx.requestPayment

    again = await order(client, world, user, [r1.id, r2.id])  # a retry reuses the order
    assert again.status == 201 and again.json["order"]["out_trade_no"] == no
    assert again.json["payment"]["package"] == params["package"] and len(fake_pay.orders) == 1

    resource = fake_pay.pay(no, at=clock.now())
    delivered = await deliver(client, fake_pay, clock, resource)
    assert delivered.status == 204, delivered.text
    for row in (r1, r2):
        paid = await Receivable.get(id=row.id)
        assert paid.status == "PAID" and paid.paid_fen == row.amount_fen
    payments = await Payment.filter(lease_id=world.a.lease.id, source="WECHAT_PAY").order_by("id")
    assert [p.amount_fen for p in payments] == [r1.amount_fen, r2.amount_fen]
    assert all(p.method == "WECHAT_PAY" and p.reference == no and p.unallocated_fen == 0 for p in payments)
    stored = await WechatPayOrder.get(out_trade_no=no)
    assert stored.status == OrderStatus.PAID and stored.transaction_id == resource["transaction_id"]

    _, detail = await client.get(f"{ORDERS}/{stored.id}", headers=world.auth(user))
    assert detail.status == 200 and detail.json["status"] == "PAID" and detail.json["paid_fen"] == total
    _, other = await client.get(f"{ORDERS}/{stored.id}", headers=world.auth(world.b.tenant_user))
    assert other.status == 404
    paid_again = await order(client, world, user, [r1.id])
    assert paid_again.status == 422 and paid_again.json["error"]["code"] == "RECEIVABLE_NOT_OPEN"


async def test_replayed_notification_changes_nothing(client, world, fake_pay, clock):
    user = await tenant_a(world)
    (r1,) = await first_rents(world, 1)
    no = (await order(client, world, user, [r1.id])).json["order"]["out_trade_no"]
    resource = fake_pay.pay(no, at=clock.now())
    assert (await deliver(client, fake_pay, clock, resource)).status == 204
    before = await ledger_counts(world)
    clock.advance(minutes=3)  # WeChat Pay repeats until answered; a late repeat as well
    for _ in range(2):
        assert (await deliver(client, fake_pay, clock, resource)).status == 204
    assert await ledger_counts(world) == before
    assert (await Receivable.get(id=r1.id)).paid_fen == r1.amount_fen
    outcomes = await WechatPayNotice.filter(out_trade_no=no).order_by("id").values_list("outcome", flat=True)
    assert list(outcomes) == [NoticeOutcome.APPLIED, NoticeOutcome.DUPLICATE, NoticeOutcome.DUPLICATE]


async def test_forged_notification_is_refused_and_logged(client, world, fake_pay, clock, caplog):
    user = await tenant_a(world)
    (r1,) = await first_rents(world, 1)
    no = (await order(client, world, user, [r1.id])).json["order"]["out_trade_no"]
    resource = fake_pay.pay(no, at=clock.now())
    before = await ledger_counts(world)
    with caplog.at_level(logging.WARNING, logger="rentwatch.payments"):
        forged = await deliver(client, fake_pay, clock, resource, key=new_key())  # signed by someone else
        wrong_key = await deliver(client, fake_pay, clock, resource, apiv3_key="0" * 32)  # tag fails
        unknown_serial = await deliver(client, fake_pay, clock, resource, serial="PUB_KEY_ID_SOMEONE")
    for response in (forged, wrong_key, unknown_serial):
        assert response.status == 401 and response.json["error"]["code"] == "NOTIFICATION_REFUSED"
    assert "notification refused" in caplog.text
    headers, body = fake_pay.notification(resource, timestamp=int((clock.now() - timedelta(hours=1)).timestamp()))
    _, stale = await client.post(PAY_NOTIFY, headers=headers, content=body)  # a genuine but old capture replayed
    assert stale.status == 401
    assert await ledger_counts(world) == before
    assert (await Receivable.get(id=r1.id)).paid_fen == 0
    refused = await WechatPayNotice.filter(outcome=NoticeOutcome.REFUSED_SIGNATURE).count()
    assert refused == 4
    assert await Alert.filter(type=ALERT_FORGED_NOTIFICATION).exists()
    assert (await WechatPayOrder.get(out_trade_no=no)).status == OrderStatus.CREATED


async def test_amount_mismatch_goes_to_the_discrepancy_list(client, world, fake_pay, clock):
    user = await tenant_a(world)
    r1, r2 = await first_rents(world)
    no = (await order(client, world, user, [r1.id, r2.id])).json["order"]["out_trade_no"]
    expected = r1.amount_fen + r2.amount_fen
    resource = fake_pay.pay(no, amount=expected - 100, at=clock.now())
    assert (await deliver(client, fake_pay, clock, resource)).status == 204
    item = await Discrepancy.get(kind=DiscrepancyKind.AMOUNT_MISMATCH)
    assert item.status == "OPEN" and item.amount_fen == expected - 100 and item.expected_fen == expected
    assert item.lease_id == world.a.lease.id and item.building_id == world.a.building.id
    payments = await Payment.filter(lease_id=world.a.lease.id, source="WECHAT_PAY")
    assert [p.amount_fen for p in payments] == [expected - 100]  # the money that came is in the ledger
    assert (await WechatPayNotice.get(out_trade_no=no)).outcome == NoticeOutcome.DISCREPANCY


async def test_closed_order_paid_goes_to_the_discrepancy_list(client, world, fake_pay, clock):
    user = await tenant_a(world)
    (r1,) = await first_rents(world, 1)
    no = (await order(client, world, user, [r1.id])).json["order"]["out_trade_no"]
    # we closed it (expired) while the tenant was paying it in WeChat
    await WechatPayOrder.filter(out_trade_no=no).update(status=OrderStatus.CLOSED, closed_at=clock.now())
    resource = fake_pay.pay(no, at=clock.now())
    assert (await deliver(client, fake_pay, clock, resource)).status == 204
    assert await Discrepancy.filter(kind=DiscrepancyKind.CLOSED_ORDER_PAID, status="OPEN").exists()
    assert (await Receivable.get(id=r1.id)).status == "PAID"


async def test_timeout_is_resolved_by_the_order_query(client, world, fake_pay, clock, settings):
    user = await tenant_a(world)
    r1, r2 = await first_rents(world)
    paid_no = (await order(client, world, user, [r1.id])).json["order"]["out_trade_no"]
    unpaid_no = (await order(client, world, user, [r2.id])).json["order"]["out_trade_no"]
    resource = fake_pay.pay(paid_no, at=clock.now())  # paid, but the notification never arrives

    early = await query_unnotified_orders(settings, clock.now())
    assert early["wechatpay_orders"]["queried"] == 0  # not yet overdue for a query
    clock.advance(minutes=settings.wechatpay_query_after_minutes + 1)
    result = await query_unnotified_orders(settings, clock.now())
    assert result["wechatpay_orders"]["paid"] == 1
    assert (await Receivable.get(id=r1.id)).status == "PAID"
    paid = await WechatPayOrder.get(out_trade_no=paid_no)
    assert paid.status == OrderStatus.PAID and paid.paid_via == PaySource.QUERY
    assert (await WechatPayOrder.get(out_trade_no=unpaid_no)).status == OrderStatus.CREATED

    before = await ledger_counts(world)
    assert (await deliver(client, fake_pay, clock, resource)).status == 204  # the late notification
    assert await ledger_counts(world) == before

    clock.advance(minutes=settings.wechatpay_order_expiry_minutes)  # the unpaid one expired: closed at WeChat Pay
    closed = await query_unnotified_orders(settings, clock.now())
    assert closed["wechatpay_orders"]["closed"] == 1
    assert (await WechatPayOrder.get(out_trade_no=unpaid_no)).status == OrderStatus.CLOSED
    assert fake_pay.orders[unpaid_no].state == "CLOSED"
    retry = await order(client, world, user, [r2.id])  # paying it now makes a new order (attempt 2)
    assert retry.status == 201 and retry.json["order"]["out_trade_no"] == unpaid_no[:-1] + "2"


def open_transactions_probe():
    """A function the fake calls from its own thread while our side waits for its answer: how many connections
    of the test database sit in an open transaction (PostgreSQL: pg_stat_activity, through a connection of its
    own; SQLite: the one connection's transaction flag)."""
    import asyncio

    import asyncpg
    from tortoise import connections

    from tests.support.db import on_postgres

    db = connections.get("default")
    if not on_postgres():
        return lambda: int(db._connection.in_transaction)

    async def count():
        conn = await asyncpg.connect(host=db.host, port=db.port, user=db.user, password=db.password,
                                     database=db.database)
        try:
            return await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'")
        finally:
            await conn.close()

    return lambda: asyncio.run(count())


async def test_the_jobs_hold_no_transaction_while_wechat_pay_answers(client, world, fake_pay, clock, settings):
    from payments.jobs import fetch_trade_bills

    user = await tenant_a(world)
    r1, r2 = await first_rents(world)
    paid_no = (await order(client, world, user, [r1.id])).json["order"]["out_trade_no"]
    (await order(client, world, user, [r2.id])).json["order"]["out_trade_no"]
    fake_pay.pay(paid_no, at=clock.now())
    probe, seen = open_transactions_probe(), []
    fake_pay.on_request = lambda method, path: seen.append((method, path.split("?")[0], probe()))
    clock.advance(minutes=settings.wechatpay_order_expiry_minutes + 1)  # one paid, one expired and unpaid
    result = await query_unnotified_orders(settings, clock.now())
    assert result["wechatpay_orders"] == {"queried": 2, "paid": 1, "closed": 1, "failed": 0}
    clock.advance(NEXT_DAY)
    assert (await fetch_trade_bills(settings, clock.now()))["wechatpay_bills"]["imported"] == 1
    paths = {(method, path.rsplit("/", 1)[0] if "out-trade-no" in path else path) for method, path, _ in seen}
    assert {("GET", "/v3/pay/transactions/out-trade-no"), ("POST", "/v3/pay/transactions/out-trade-no/" +
            next(no for no in fake_pay.orders if no != paid_no)), ("GET", "/v3/bill/tradebill"),
            ("GET", "/v3/billdownload/file")} <= paths
    assert [open_count for *_, open_count in seen] == [0] * len(seen), seen
    assert (await Receivable.get(id=r1.id)).status == "PAID"


@pytest.mark.skipif("not __import__('tests.support.db', fromlist=['x']).on_postgres()",
                    reason="the advisory lock is PostgreSQL's")
async def test_a_second_instance_skips_while_the_lock_is_held(client, world, fake_pay, clock, settings):
    import asyncpg
    from tortoise import connections

    from payments.jobs import QUERY_LOCK_KEY

    db = connections.get("default")
    other = await asyncpg.connect(host=db.host, port=db.port, user=db.user, password=db.password,
                                  database=db.database)
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", QUERY_LOCK_KEY)
        skipped = await query_unnotified_orders(settings, clock.now())
        assert skipped == {"ran": False, "reason": "another instance is running it"} and not fake_pay.requests
        await other.execute("SELECT pg_advisory_unlock($1)", QUERY_LOCK_KEY)
        ran = await query_unnotified_orders(settings, clock.now())
        assert "wechatpay_orders" in ran
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", QUERY_LOCK_KEY)  # released after the pass
    finally:
        await other.close()


async def test_orders_take_no_amount_and_only_own_receivables(client, world, fake_pay):
    user = await tenant_a(world)
    (r1,) = await first_rents(world, 1)
    with_amount = await order(client, world, user, [r1.id], amount_fen=1)
    assert with_amount.status == 422
    b_receivable = world.b.extra["receivable"]
    other = await order(client, world, user, [r1.id, b_receivable.id])
    assert other.status == 404 and other.json["error"]["details"]["receivable_ids"] == [b_receivable.id]
    assert not fake_pay.orders
    unbound = await order(client, world, world.b.tenant_user, [b_receivable.id])
    assert unbound.status == 409 and unbound.json["error"]["code"] == "WECHAT_NOT_BOUND"


async def test_a_new_order_closes_the_overlapping_open_one(client, world, fake_pay):
    user = await tenant_a(world)
    r1, r2 = await first_rents(world)
    first = (await order(client, world, user, [r1.id])).json["order"]["out_trade_no"]
    second = (await order(client, world, user, [r1.id, r2.id])).json["order"]["out_trade_no"]
    assert first != second
    assert fake_pay.orders[first].state == "CLOSED"
    assert (await WechatPayOrder.get(out_trade_no=first)).status == OrderStatus.CLOSED
    assert not fake_pay.refused  # every request carried a valid merchant signature


# --------------------------------------------------------------------------------------------- the daily bill

NEXT_DAY = timedelta(days=1, minutes=30)  # START is 10:00 in Shanghai: the next day's 10:30, the bill exists


async def pay_without_notice(client, world, fake, clock, user, ids):
    no = (await order(client, world, user, ids)).json["order"]["out_trade_no"]
    return no, fake.pay(no, at=clock.now())


async def test_the_bill_import_matches_the_days_payments(client, world, fake_pay, clock, settings):
    from models.payments import WechatPayBill
    from models.reconciliation import StatementLine
    from payments.jobs import fetch_trade_bills

    user = await tenant_a(world)
    r1, r2 = await first_rents(world)
    notified, resource = await pay_without_notice(client, world, fake_pay, clock, user, [r1.id])
    assert (await deliver(client, fake_pay, clock, resource)).status == 204
    silent, _ = await pay_without_notice(client, world, fake_pay, clock, user, [r2.id])  # no notification, no query
    clock.advance(NEXT_DAY)
    result = (await fetch_trade_bills(settings, clock.now()))["wechatpay_bills"]
    assert result["imported"] == 1 and result["failed"] == 0  # the other days of the window: no bill, no payment
    bill = await WechatPayBill.get(bill_date=(clock.now() - timedelta(days=1)).date())
    assert bill.status == "IMPORTED" and bill.hash_type == "SHA1" and bill.summary["applied_from_bill"] == 1
    lines = await StatementLine.filter(statement_import_id=bill.statement_import_id).order_by("id")
    assert [line.status for line in lines] == ["MATCHED", "MATCHED"]  # both confirm the ledger's payments
    assert all(line.explanation["rule"] == "EXISTING_PAYMENT" for line in lines)
    assert (await Receivable.get(id=r2.id)).status == "PAID"  # the bill brought the payment nothing reported
    assert (await WechatPayOrder.get(out_trade_no=silent)).paid_via == PaySource.BILL
    payments = await Payment.filter(lease_id=world.a.lease.id, source="WECHAT_PAY")
    assert sorted(p.amount_fen for p in payments) == sorted([r1.amount_fen, r2.amount_fen])  # none twice
    assert not await Discrepancy.filter(status="OPEN", detected_at__gt=world.now).exists()  # the world has its own
    again = (await fetch_trade_bills(settings, clock.now()))["wechatpay_bills"]
    assert again == {"imported": 0, "empty": 0, "failed": 0, "waiting": 0}
    assert notified != silent


async def test_a_day_that_cannot_be_fetched_is_retried_and_alerted(client, world, fake_pay, clock, settings):
    from models.payments import WechatPayBill
    from payments.choices import ALERT_BILL_FAILED
    from payments.jobs import fetch_trade_bills

    user = await tenant_a(world)
    (r1,) = await first_rents(world, 1)
    _, resource = await pay_without_notice(client, world, fake_pay, clock, user, [r1.id])
    assert (await deliver(client, fake_pay, clock, resource)).status == 204
    day = clock.now().date()
    fake_pay.bill_failures[day.isoformat()] = 1
    clock.advance(NEXT_DAY)
    first = (await fetch_trade_bills(settings, clock.now()))["wechatpay_bills"]
    assert first["failed"] == 1
    bill = await WechatPayBill.get(bill_date=day)
    assert bill.status == "FAILED" and "SYSTEM_ERROR" in bill.last_error
    assert await Alert.filter(type=ALERT_BILL_FAILED, status="ACTIVE").exists()
    assert (await fetch_trade_bills(settings, clock.now()))["wechatpay_bills"]["waiting"] == 1  # backoff
    fake_pay.tamper_bills = True
    clock.advance(minutes=settings.wechatpay_bill_retry_minutes + 1)
    tampered = (await fetch_trade_bills(settings, clock.now()))["wechatpay_bills"]
    assert tampered["failed"] == 1 and "does not match" in (await WechatPayBill.get(bill_date=day)).last_error
    fake_pay.tamper_bills = False
    clock.advance(minutes=2 * settings.wechatpay_bill_retry_minutes + 1)
    assert (await fetch_trade_bills(settings, clock.now()))["wechatpay_bills"]["imported"] == 1
    assert not await Alert.filter(type=ALERT_BILL_FAILED, status="ACTIVE").exists()
    assert (await WechatPayBill.get(bill_date=day)).attempts == 3


async def test_a_bill_missing_our_payment_is_never_read_as_empty(client, world, fake_pay, clock, settings):
    from models.payments import WechatPayBill
    from payments.jobs import fetch_trade_bills

    user = await tenant_a(world)
    r1, r2 = await first_rents(world)
    kept, first = await pay_without_notice(client, world, fake_pay, clock, user, [r1.id])
    dropped, second = await pay_without_notice(client, world, fake_pay, clock, user, [r2.id])
    for resource in (first, second):
        assert (await deliver(client, fake_pay, clock, resource)).status == 204
    day = clock.now().date()
    fake_pay.bill_rows_dropped = {kept, dropped}  # WeChat Pay's bill has nothing for the day
    clock.advance(NEXT_DAY)
    await fetch_trade_bills(settings, clock.now())
    bill = await WechatPayBill.get(bill_date=day)
    assert bill.status == "FAILED" and "we recorded 2 payment(s)" in bill.last_error
    fake_pay.bill_rows_dropped = {dropped}  # the bill comes, without one of them
    clock.advance(hours=2)
    await fetch_trade_bills(settings, clock.now())
    assert (await WechatPayBill.get(bill_date=day)).status == "IMPORTED"
    item = await Discrepancy.get(kind=DiscrepancyKind.PAID_WITHOUT_BANK_LINE)
    assert second["transaction_id"] in item.explanation and item.status == "OPEN"


# --------------------------------------------------------------------------------------------- deposit and refund


@pytest.fixture(params=["notification", "query"])
def confirmed_by(request):
    return request.param


async def test_deposit_paid_by_wechat_pay_and_refunded_through_it(client, world, fake_pay, clock, settings,
                                                                   confirmed_by):
    from datetime import date

    from leasing.choices import PaymentFrequency
    from leasing.service import create_lease, sign_lease
    from models.leasing import DepositLiability
    from models.payments import WechatPayRefund
    from models.refunds import DepositRefund
    from portfolio.choices import StatusSource, UnitStatus
    from portfolio.service import change_unit_status
    from tests.support.refund_helpers import PAYEE, post, refund_inspection_report, upload_photo

    a = world.a
    unit = a.units[3]
    lease = await create_lease(unit=unit, tenant_name="微信押金租户", tenant_phone="13900000001",
                               start_date=date(2026, 1, 1), end_date=date(2027, 6, 30), monthly_rent_fen=450000,
                               deposit_fen=900000, payment_frequency=PaymentFrequency.MONTHLY)
    lease, _ = await sign_lease(lease.id, now=clock.now(), actor_id=a.manager.id)
    await change_unit_status(unit.id, UnitStatus.OCCUPIED, source=StatusSource.LEASE, now=clock.now(), reason="in")
    tenant = await User.create(name="微信押金租户", role=Role.TENANT, tenant_id=lease.tenant_id, openid="o-deposit")
    deposit = await Receivable.get(lease_id=lease.id, charge="DEPOSIT")

    # the deposit is paid the same way as rent
    no = (await order(client, world, tenant, [deposit.id])).json["order"]["out_trade_no"]
    assert fake_pay.orders[no].amount == 900000
    assert (await deliver(client, fake_pay, clock, fake_pay.pay(no, at=clock.now()))).status == 204
    assert (await DepositLiability.get(lease_id=lease.id)).held_fen == 900000

    def auth(user):
        return world.auth(user)

    resp = await post(client, "/api/v1/me/deposit-refunds", {"lease_id": lease.id, "reason": "到期退租",
                                                             "move_out_date": "2026-11-10", **PAYEE}, auth(tenant))
    assert resp.status == 201, resp.json
    refund_id = resp.json["id"]
    payout_path = f"/api/v1/refunds/{refund_id}/wechat-payout"
    assert (await post(client, payout_path, {}, auth(a.finance))).status == 409  # not approved yet
    photo = await upload_photo(client, auth, a, unit)
    report_id = await refund_inspection_report(client, auth, a, unit, clock.now(), [photo])
    for path, body, user in ((f"/api/v1/refunds/{refund_id}/inspect", {"inspection_report_id": report_id},
                              a.inspector),
                             (f"/api/v1/refunds/{refund_id}/settle", {"deduction_ids": []}, a.finance),
                             (f"/api/v1/refunds/{refund_id}/approve", {"approved_amount_fen": 900000}, a.manager)):
        step = await post(client, path, body, auth(user))
        assert step.status == 200, step.json

    started = await post(client, payout_path, {}, auth(a.finance))
    assert started.status == 202 and started.json["status"] == "PROCESSING", started.json
    again = await post(client, payout_path, {}, auth(a.finance))  # asking twice makes one WeChat Pay refund
    assert again.json["id"] == started.json["id"] and len(fake_pay.refunds) == 1
    (wechat_refund,) = fake_pay.refunds.values()
    assert wechat_refund["transaction_id"] == (await WechatPayOrder.get(out_trade_no=no)).transaction_id
    assert wechat_refund["amount"]["refund"] == 900000
    assert (await DepositRefund.get(id=refund_id)).step == "APPROVED"  # until WeChat Pay confirms

    resource = fake_pay.finish_refund(started.json["out_refund_no"], at=clock.now())
    if confirmed_by == "query":  # the refund notification never comes: the job asks WeChat Pay
        assert (await query_unnotified_orders(settings, clock.now()))["wechatpay_payouts"]["queried"] == 0
        clock.advance(minutes=settings.wechatpay_query_after_minutes + 1)
        probe, seen = open_transactions_probe(), []
        fake_pay.on_request = lambda method, path: seen.append((path, probe()))
        result = await query_unnotified_orders(settings, clock.now())
        fake_pay.on_request = None
        assert result["wechatpay_payouts"]["succeeded"] == 1
        assert any("/v3/refund/domestic/refunds/" in path for path, _ in seen)
        assert [open_count for _, open_count in seen] == [0] * len(seen), seen  # no transaction while asking
    headers, body = fake_pay.notification(resource, timestamp=int(clock.now().timestamp()),
                                          event_type="REFUND.SUCCESS")
    for _ in range(2):  # repeated: nothing more happens
        _, notified = await client.post("/api/v1/payments/wechat/refund-notify", headers=headers, content=body)
        assert notified.status == 204, notified.text
    refund = await DepositRefund.get(id=refund_id)
    assert refund.step == "PAID" and refund.bank_receipt_ref == f"wechatpay-refund:{wechat_refund['refund_id']}"
    assert refund.receipt_document_id is None  # the payment record replaces the bank receipt
    liability = await DepositLiability.get(lease_id=lease.id)
    assert liability.settled_at is not None and liability.refunded_fen == 900000
    assert (await WechatPayRefund.get(id=started.json["id"])).status == "SUCCESS"
    forged_headers, forged_body = fake_pay.notification(resource, timestamp=int(clock.now().timestamp()),
                                                        event_type="REFUND.SUCCESS", key=new_key())
    _, forged = await client.post("/api/v1/payments/wechat/refund-notify", headers=forged_headers,
                                  content=forged_body)
    assert forged.status == 401

    done = await post(client, f"/api/v1/me/deposit-refunds/{refund_id}/confirm-receipt", {}, auth(tenant))
    assert done.status == 200, done.json
    assert (await DepositRefund.get(id=refund_id)).step == "COMPLETED"

    # the day's trade bill lists the deposit and its refund under one 微信订单号: both lines are kept, once
    from models.payments import WechatPayBill
    from models.reconciliation import StatementLine
    from payments.jobs import fetch_trade_bills

    day = clock.now().date()
    clock.advance(NEXT_DAY)
    assert (await fetch_trade_bills(settings, clock.now()))["wechatpay_bills"]["imported"] == 1
    bill = await WechatPayBill.get(bill_date=day)
    lines = await StatementLine.filter(statement_import_id=bill.statement_import_id).order_by("direction")
    assert [(line.direction, line.amount_fen, line.status) for line in lines] == [
        ("IN", 900000, "MATCHED"), ("OUT", 900000, "EXPENSE")]
    assert lines[1].dedupe_key == f"wechat:refund:{wechat_refund['refund_id']}"
    from reconciliation.service import ReconciliationConfig, import_statement

    again = await import_statement(fake_pay.bill_text(day.isoformat()).encode(), filename="again.csv",
                                   now=clock.now(), cfg=ReconciliationConfig.from_settings(settings))
    assert (again["lines_read"], again["lines_new"]) == (2, 0)


async def test_a_bank_paid_deposit_is_not_refunded_through_wechat_pay(client, world, fake_pay, clock):
    refund = world.a.extra["refund"]
    from models.refunds import DepositRefund

    await DepositRefund.filter(id=refund.id).update(step="APPROVED", approved_amount_fen=100)
    _, resp = await client.post(f"/api/v1/refunds/{refund.id}/wechat-payout", headers=world.auth(world.a.finance))
    assert resp.status == 409 and resp.json["error"]["code"] == "NO_WECHAT_DEPOSIT_PAYMENT"
    assert not fake_pay.refunds


async def test_two_contacts_of_a_company_tenant_get_their_own_orders(client, world, fake_pay):
    first = await tenant_a(world)
    second = await User.create(name="财务联系人", role=Role.TENANT, tenant_id=first.tenant_id, openid="o-contact-2")
    (r1,) = await first_rents(world, 1)
    mine = (await order(client, world, first, [r1.id])).json["order"]["out_trade_no"]
    theirs = (await order(client, world, second, [r1.id])).json["order"]["out_trade_no"]
    assert mine != theirs and fake_pay.orders[theirs].openid == "o-contact-2"  # WeChat binds the payer
    assert fake_pay.orders[mine].state == "CLOSED"  # one receivable, one payable order at a time
