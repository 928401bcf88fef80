"""WeChat Pay end to end against the fake WeChat Pay server on loopback: the real wechatpayv3 client signs our
requests (the fake verifies them) and verifies the fake's signed answers; notifications are signed with the
platform key generated here and their resource encrypted with the APIv3 key. Real SQLite / PostgreSQL."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from models.accounts import User
from models.alerts import Alert
from models.leasing import Payment, PaymentAllocation, Receivable
from models.payments import WechatPayNotice, WechatPayOrder
from models.reconciliation import Discrepancy
from payments.choices import ALERT_FORGED_NOTIFICATION, NoticeOutcome, OrderStatus, PaySource
from payments.jobs import query_unnotified_orders
from reconciliation.choices import DiscrepancyKind
from tests.support.fake_wechatpay import FakeWeChatPay, new_key

NOTIFY = "/api/v1/payments/wechat/notify"
ORDERS = "/api/v1/me/payments/orders"


@pytest.fixture
def fake_pay():
    fake = FakeWeChatPay().start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(settings, fake_pay):
    return settings.model_copy(update=fake_pay.settings_overrides())


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
    headers, body = fake.notification(resource, timestamp=int(clock.now().timestamp()), **kwargs)
    _, response = await client.post(NOTIFY, headers=headers, content=body)
    return response


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
    _, stale = await client.post(NOTIFY, headers=headers, content=body)  # a genuine but old capture replayed
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
