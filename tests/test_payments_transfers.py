"""商家转账 (merchant transfer to the tenant's WeChat balance) for deposit refunds whose deposit came by bank, end to
end against the fake WeChat Pay on loopback: the real wechatpayv3 client signs the transfer request (the fake
verifies it), encrypts the payee's name with the platform public key (the fake decrypts it with the platform
key generated here) and verifies the fake's signed answers; the result notification is AES-GCM encrypted and
signed. Real SQLite / PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.choices import Role
from api.responses import RefundWechatTransferCancel
from audit.choices import AuditAction
from leasing.choices import PaymentFrequency, PaymentMethod
from leasing.ledger import record_payment
from leasing.service import create_lease, sign_lease
from models.accounts import User
from models.alerts import Alert
from models.audit import AuditEvent
from models.leasing import DepositLiability, Receivable
from models.payments import WechatPayTransfer
from models.refunds import DepositRefund
from payments.choices import ALERT_PAYOUT_FAILED
from payments.jobs import query_unnotified_orders
from payments.transfers import settle_transfer
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status
from refunds.service import RefundConfig
from tests.support.fake_wechatpay import new_key
from tests.support.refund_helpers import PAYEE, apply_refund, approve_refund, post
from tests.support.wechatpay_fixtures import (
    TRANSFER_NOTIFY,
    deliver_notification,
    fake_pay_fixture,  # noqa: F401  (the fake_pay fixture)
    pay_settings,
)

SCENE = {"wechatpay_transfer_scene_id": "1005",
         "wechatpay_transfer_report_infos": [{"info_type": "岗位类型", "info_content": "租户"},
                                             {"info_type": "报酬说明", "info_content": "押金退还"}]}


@pytest.fixture
def settings(settings, fake_pay):
    return pay_settings(settings, fake_pay, **SCENE)


async def approved_bank_deposit_refund(client, world, clock, amount_fen=900000):  # the deposit, refunded whole
    """A lease whose deposit was paid by bank transfer, its tenant's refund applied from the mini program and
    approved: (the tenant's user, the refund id)."""
    a = world.a
    unit = a.units[3]
    lease = await create_lease(unit=unit, tenant_name="银行押金租户", tenant_phone="13900000002",
                               start_date=date(2026, 1, 1), end_date=date(2027, 6, 30), monthly_rent_fen=450000,
                               deposit_fen=amount_fen, payment_frequency=PaymentFrequency.MONTHLY)
    lease, _ = await sign_lease(lease.id, now=clock.now(), actor_id=a.manager.id)
    await change_unit_status(unit.id, UnitStatus.OCCUPIED, source=StatusSource.LEASE, now=clock.now(), reason="in")
    deposit = await Receivable.get(lease_id=lease.id, charge="DEPOSIT")
    await record_payment(lease_id=lease.id, amount_fen=amount_fen, paid_at=clock.now(), now=clock.now(),
                         method=PaymentMethod.BANK_TRANSFER, receivable_id=deposit.id, reference="bank deposit")
    tenant = await User.create(name="银行押金租户", role=Role.TENANT, tenant_id=lease.tenant_id, openid="o-bank-dep")

    refund_id = await apply_refund(client, world.auth, lease, tenant)
    await approve_refund(client, world.auth, a, unit, refund_id, clock.now(), amount_fen)
    return tenant, refund_id


async def deliver(client, fake, clock, resource, **kwargs):
    return await deliver_notification(client, fake, clock, TRANSFER_NOTIFY, resource,
                                      event_type="MCHTRANSFER.BILL.FINISHED", **kwargs)


@pytest.fixture(params=["notification", "query"])
def confirmed_by(request):
    return request.param


async def test_a_bank_paid_deposit_is_transferred_to_the_tenants_balance(client, world, fake_pay, clock, settings,
                                                                         confirmed_by):
    tenant, refund_id = await approved_bank_deposit_refund(client, world, clock)
    finance = world.auth(world.a.finance)
    payout_path = f"/api/v1/refunds/{refund_id}/wechat-payout"
    started = await post(client, payout_path, {}, finance)
    assert started.status == 202, started.json
    assert (started.json["method"], started.json["status"]) == ("TRANSFER", "WAIT_USER_CONFIRM")
    again = await post(client, payout_path, {}, finance)  # asking twice makes one transfer bill
    assert again.json["id"] == started.json["id"] and len(fake_pay.transfers) == 1
    (bill,) = fake_pay.transfers.values()
    assert (bill["openid"], bill["transfer_amount"], bill["user_name"]) == ("o-bank-dep", 900000, PAYEE["payee_name"])
    assert bill["notify_url"].endswith("/api/v1/payments/wechat/transfer-notify")
    assert (await DepositRefund.get(id=refund_id)).step == "APPROVED"  # until the money arrives

    # the tenant confirms receipt in the mini program with what our server hands out
    other = await User.create(name="别人", role=Role.TENANT, tenant_id=world.a.lease.tenant_id, openid="o-other")
    path = f"/api/v1/me/deposit-refunds/{refund_id}/wechat-transfer"
    _, refused = await client.get(path, headers=world.auth(other))
    assert refused.status == 404  # another tenant's refund
    _, mine = await client.get(path, headers=world.auth(tenant))
    assert mine.status == 200, mine.json
    resource = fake_pay.confirm_transfer(mine.json["confirm"], openid="o-bank-dep")

    if confirmed_by == "query":  # the result notification never comes: the job asks WeChat Pay
        assert (await query_unnotified_orders(settings, clock.now()))["wechatpay_transfers"]["queried"] == 0
        clock.advance(minutes=settings.wechatpay_query_after_minutes + 1)
        result = await query_unnotified_orders(settings, clock.now())
        assert result["wechatpay_transfers"]["succeeded"] == 1
    for _ in range(2):  # repeated: nothing more happens
        notified = await deliver(client, fake_pay, clock, resource)
        assert notified.status == 204, notified.text
    refund = await DepositRefund.get(id=refund_id)
    assert refund.step == "PAID" and refund.bank_receipt_ref == f"wechatpay-transfer:{bill['transfer_bill_no']}"
    assert refund.receipt_document_id is None  # the transfer bill replaces the bank receipt
    liability = await DepositLiability.get(lease_id=refund.lease_id)
    assert liability.settled_at is not None and liability.refunded_fen == 900000
    assert (await WechatPayTransfer.get(id=started.json["id"])).status == "SUCCESS"
    assert (await deliver(client, fake_pay, clock, resource, key=new_key())).status == 401  # forged
    _, gone = await client.get(path, headers=world.auth(tenant))
    assert gone.status == 404 and gone.json["error"]["code"] == "NO_TRANSFER_WAITING"

    done = await post(client, f"/api/v1/me/deposit-refunds/{refund_id}/confirm-receipt", {}, world.auth(tenant))
    assert done.status == 200, done.json
    assert (await DepositRefund.get(id=refund_id)).step == "COMPLETED"


async def test_a_failed_transfer_is_alerted_and_can_be_asked_again(client, world, fake_pay, clock, settings):
    tenant, refund_id = await approved_bank_deposit_refund(client, world, clock, amount_fen=150000)
    finance = world.auth(world.a.finance)
    payout_path = f"/api/v1/refunds/{refund_id}/wechat-payout"
    first = await post(client, payout_path, {}, finance)
    assert first.status == 202 and first.json["out_bill_no"] == f"RWTF{refund_id}A1"
    _, mine = await client.get(f"/api/v1/me/deposit-refunds/{refund_id}/wechat-transfer", headers=world.auth(tenant))
    resource = fake_pay.confirm_transfer(mine.json["confirm"], openid="o-bank-dep", state="FAIL",
                                         fail_reason="REAL_NAME_CHECK_FAIL")
    assert (await deliver(client, fake_pay, clock, resource)).status == 204
    failed = await WechatPayTransfer.get(id=first.json["id"])
    assert failed.status == "FAIL" and "REAL_NAME_CHECK_FAIL" in failed.last_error
    assert await Alert.filter(type=ALERT_PAYOUT_FAILED, status="ACTIVE").exists()
    assert (await DepositRefund.get(id=refund_id)).step == "APPROVED"  # finance may pay by bank or ask again

    fake_pay.transfer_failures = 1  # WeChat Pay errs: maybe it made the bill, maybe not; the query decides
    second = await post(client, payout_path, {}, finance)
    assert second.status == 202 and (second.json["out_bill_no"], second.json["status"]) == (
        f"RWTF{refund_id}A2", "ACCEPTED")
    assert (await post(client, payout_path, {}, finance)).json["id"] == second.json["id"]  # in flight: the same
    clock.advance(minutes=settings.wechatpay_query_after_minutes + 1)
    result = (await query_unnotified_orders(settings, clock.now()))["wechatpay_transfers"]
    assert result["failed"] == 1  # WeChat Pay has no such bill: it was never made
    third = await post(client, payout_path, {}, finance)
    assert third.json["out_bill_no"] == f"RWTF{refund_id}A3" and third.json["status"] == "WAIT_USER_CONFIRM"
    assert len(fake_pay.transfers) == 2 and fake_pay.transfers[f"RWTF{refund_id}A3"]["user_name"] == "张三"


async def test_without_a_transfer_scene_a_bank_paid_deposit_is_refused(client, world, fake_pay, clock, settings):
    app_settings = client.sanic_app.ctx.settings
    client.sanic_app.ctx.settings = app_settings.model_copy(update={"wechatpay_transfer_scene_id": ""})
    try:
        _, refund_id = await approved_bank_deposit_refund(client, world, clock)
        refused = await post(client, f"/api/v1/refunds/{refund_id}/wechat-payout", {}, world.auth(world.a.finance))
    finally:
        client.sanic_app.ctx.settings = app_settings
    assert refused.status == 409 and refused.json["error"]["code"] == "NO_WECHAT_DEPOSIT_PAYMENT"
    assert not fake_pay.transfers


CANCEL = "/api/v1/refunds/{}/wechat-transfer/cancel"


def cancel_requests(fake):
    return [r for r in fake.requests if r["path"].endswith("/cancel")]


@pytest.fixture(params=["notification", "query"])
def cancelled_by(request):
    return request.param


async def test_an_unconfirmed_transfer_is_cancelled_and_the_refund_can_be_paid_again(client, world, fake_pay, clock,
                                                                                      settings, cancelled_by):
    tenant, refund_id = await approved_bank_deposit_refund(client, world, clock)
    finance = world.auth(world.a.finance)
    payout_path = f"/api/v1/refunds/{refund_id}/wechat-payout"
    started = await post(client, payout_path, {}, finance)
    assert started.json["status"] == "WAIT_USER_CONFIRM"
    confirm_path = f"/api/v1/me/deposit-refunds/{refund_id}/wechat-transfer"
    _, mine = await client.get(confirm_path, headers=world.auth(tenant))
    assert mine.status == 200

    cancelled = await post(client, CANCEL.format(refund_id), {}, finance)
    assert cancelled.status == 202, cancelled.json
    assert (cancelled.json["id"], cancelled.json["status"]) == (started.json["id"], "CANCELING")
    RefundWechatTransferCancel.model_validate(cancelled.json)  # the declared response model (api/responses.py)
    no = started.json["out_bill_no"]
    assert fake_pay.transfers[no]["state"] == "CANCELING"
    again = await post(client, CANCEL.format(refund_id), {}, finance)  # idempotent: WeChat Pay is not asked again
    assert (again.status, again.json["status"]) == (202, "CANCELING") and len(cancel_requests(fake_pay)) == 1
    _, waiting = await client.get(confirm_path, headers=world.auth(tenant))
    assert waiting.status == 404 and waiting.json["error"]["code"] == "NO_TRANSFER_WAITING"
    with pytest.raises(ValueError):  # the tenant's old confirmation page: WeChat refuses it now
        fake_pay.confirm_transfer(mine.json["confirm"], openid="o-bank-dep")
    requested = await AuditEvent.filter(action=AuditAction.TRANSFER_CANCEL_REQUESTED, target_id=str(refund_id))
    assert len(requested) == 1 and requested[0].actor_id == world.a.finance.id
    assert requested[0].details["out_bill_no"] == no
    # while it is being cancelled the payout is still taken: asking for it returns the same transfer
    assert (await post(client, payout_path, {}, finance)).json["id"] == started.json["id"]
    # a late, stale state (a query answered before the cancel) does not bring it back to waiting
    await settle_transfer(no, "WAIT_USER_CONFIRM", now=clock.now(), refund_cfg=RefundConfig.from_settings(settings))
    assert (await WechatPayTransfer.get(id=started.json["id"])).status == "CANCELING"

    resource = fake_pay.finish_cancel(no)
    if cancelled_by == "query":
        clock.advance(minutes=settings.wechatpay_query_after_minutes + 1)
        result = (await query_unnotified_orders(settings, clock.now()))["wechatpay_transfers"]
        assert result["failed"] == 1
    for _ in range(2):  # repeated: nothing more happens
        assert (await deliver(client, fake_pay, clock, resource)).status == 204
    transfer = await WechatPayTransfer.get(id=started.json["id"])
    assert transfer.status == "CANCELLED" and transfer.package_info == ""
    assert not await Alert.filter(type=ALERT_PAYOUT_FAILED).exists()  # asked for: not a failure
    assert await AuditEvent.filter(action=AuditAction.TRANSFER_CANCELLED, target_id=str(refund_id)).count() == 1
    assert (await DepositRefund.get(id=refund_id)).step == "APPROVED"
    done = await post(client, CANCEL.format(refund_id), {}, finance)
    assert (done.status, done.json["status"]) == (200, "CANCELLED") and len(cancel_requests(fake_pay)) == 1
    RefundWechatTransferCancel.model_validate(done.json)

    # payable again: a new transfer (attempt 2), which the tenant confirms; a cancel after that is refused
    second = await post(client, payout_path, {}, finance)
    assert (second.json["out_bill_no"], second.json["status"]) == (f"RWTF{refund_id}A2", "WAIT_USER_CONFIRM")
    _, mine = await client.get(confirm_path, headers=world.auth(tenant))
    resource = fake_pay.confirm_transfer(mine.json["confirm"], openid="o-bank-dep")
    late = await post(client, CANCEL.format(refund_id), {}, finance)  # before the notification: WeChat Pay refuses
    assert late.status == 409 and late.json["error"]["code"] == "TRANSFER_NOT_CANCELLABLE"
    assert late.json["error"]["details"]["wechat_code"] == "INVALID_REQUEST"
    assert (await WechatPayTransfer.get(id=second.json["id"])).status == "WAIT_USER_CONFIRM"  # put back as it was
    assert (await deliver(client, fake_pay, clock, resource)).status == 204
    assert (await DepositRefund.get(id=refund_id)).step == "PAID"
    refused = await post(client, CANCEL.format(refund_id), {}, finance)
    assert refused.status == 409 and refused.json["error"]["details"]["status"] == "SUCCESS"
    assert len(cancel_requests(fake_pay)) == 2


async def test_a_cancel_wechat_pay_does_not_answer_leaves_the_transfer_waiting(client, world, fake_pay, clock,
                                                                               settings):
    tenant, refund_id = await approved_bank_deposit_refund(client, world, clock, amount_fen=150000)
    finance = world.auth(world.a.finance)
    none_yet = await post(client, CANCEL.format(refund_id), {}, finance)
    assert none_yet.status == 404 and none_yet.json["error"]["code"] == "NO_TRANSFER"
    started = await post(client, f"/api/v1/refunds/{refund_id}/wechat-payout", {}, finance)
    fake_pay.cancel_failures = 1
    failed = await post(client, CANCEL.format(refund_id), {}, finance)
    assert failed.status == 503 and failed.json["error"]["code"] == "WECHAT_PAY_UNAVAILABLE"
    assert (await WechatPayTransfer.get(id=started.json["id"])).status == "WAIT_USER_CONFIRM"
    _, mine = await client.get(f"/api/v1/me/deposit-refunds/{refund_id}/wechat-transfer", headers=world.auth(tenant))
    assert mine.status == 200  # the tenant can still confirm it
    # the tenant confirms while finance cancels: WeChat Pay decides, the transfer succeeds
    retried = await post(client, CANCEL.format(refund_id), {}, finance)
    assert retried.json["status"] == "CANCELING"
    fake_pay.transfers[started.json["out_bill_no"]]["state"] = "WAIT_USER_CONFIRM"  # the tenant was first
    resource = fake_pay.confirm_transfer(mine.json["confirm"], openid="o-bank-dep")
    assert (await deliver(client, fake_pay, clock, resource)).status == 204
    assert (await WechatPayTransfer.get(id=started.json["id"])).status == "SUCCESS"
    assert (await DepositRefund.get(id=refund_id)).step == "PAID"


async def test_no_bank_payout_while_a_transfer_is_in_flight_until_it_is_cancelled(client, world, fake_pay, clock,
                                                                                   settings):
    _, refund_id = await approved_bank_deposit_refund(client, world, clock, amount_fen=150000)
    finance = world.auth(world.a.finance)
    started = await post(client, f"/api/v1/refunds/{refund_id}/wechat-payout", {}, finance)
    _, doc = await client.post(f"/api/v1/refunds/{refund_id}/documents", headers=finance,
                               files={"file": ("receipt.pdf", b"%PDF-1.4 receipt", "application/pdf")},
                               data={"kind": "BANK_RECEIPT"})
    assert doc.status == 201, doc.json
    bank = {"bank_receipt_ref": "CMB20261203001", "receipt_document_id": doc.json["id"]}
    twice = await post(client, f"/api/v1/refunds/{refund_id}/pay", bank, finance)
    assert twice.status == 409 and twice.json["error"]["code"] == "PAYOUT_IN_FLIGHT"  # it would be paid twice
    assert (await post(client, CANCEL.format(refund_id), {}, finance)).json["status"] == "CANCELING"
    assert (await post(client, f"/api/v1/refunds/{refund_id}/pay", bank, finance)).status == 409
    resource = fake_pay.finish_cancel(started.json["out_bill_no"])
    assert (await deliver(client, fake_pay, clock, resource)).status == 204
    paid = await post(client, f"/api/v1/refunds/{refund_id}/pay", bank, finance)  # payable again, by bank
    assert paid.status == 200, paid.json
    assert (await DepositRefund.get(id=refund_id)).bank_receipt_ref == "CMB20261203001"
