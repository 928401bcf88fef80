"""WeChat Pay: the tenant's JSAPI orders (wx.requestPayment parameters) and the platform's payment
notifications (public: authenticated by the platform's signature, not by a token)."""

from __future__ import annotations

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import empty, json

from accounts.permissions import REFUND_PAYERS, TENANTS, WECHAT_PAYERS
from api import responses as R
from api.access import access, body_of, principal_of
from api.lookups import actor_of, refund_for_staff
from core.errors import NotFound
from models.payments import WechatPayTransfer
from models.refunds import DepositRefund
from payments import payouts, service, transfers
from payments.client import configured
from payments.schemas import OrderIn
from refunds.service import RefundConfig

me_bp = Blueprint("me_payments", url_prefix="/me/payments")
notify_bp = Blueprint("wechatpay_notify", url_prefix="/payments/wechat")
payout_bp = Blueprint("wechatpay_payouts", url_prefix="/refunds")
me_transfer_bp = Blueprint("me_wechatpay_transfers", url_prefix="/me/deposit-refunds")


class NotifyResource(BaseModel):
    algorithm: str
    ciphertext: str
    nonce: str
    associated_data: str = ""
    original_type: str = ""


class NotifyEnvelope(BaseModel):
    """WeChat Pay's notification as it arrives (APIv3): documented here; the signed raw body is what is verified
    and decrypted (payments.service), so the handler reads the bytes, not this model."""

    id: str
    create_time: str
    event_type: str
    resource_type: str
    resource: NotifyResource
    summary: str = ""



@me_bp.post("/orders", name="me_payments_order")
@access(WECHAT_PAYERS, note="only the caller's own open receivables; amounts from the server", body=OrderIn,
        response=R.MePaymentsOrder, status=201, errors=(503,))
async def create_order(request: Request):
    """A WeChat Pay order for some of the tenant's open receivables, and the signed wx.requestPayment params."""
    principal = principal_of(request)
    body = body_of(request, OrderIn)
    await service.tenant_receivables(principal.tenant_id, body.receivable_ids)  # 404 before any WeChat Pay
    cfg, client = configured(request.app.ctx.settings)
    result = await service.create_order(user_id=principal.user_id, tenant_id=principal.tenant_id or 0,
                                        receivable_ids=body.receivable_ids, now=request.app.ctx.clock.now(),
                                        cfg=cfg, client=client)
    return json(result, status=201)


@me_bp.get("/orders/<order_id:int>", name="me_payments_order_detail")
@access(WECHAT_PAYERS, response=R.MePaymentsOrderDetail)
async def order_detail(request: Request, order_id: int):
    """The order's state (the mini program polls it after wx.requestPayment returns)."""
    order = await service.tenant_order(order_id, principal_of(request).tenant_id or 0)
    return json(service.serialize_order(order))


@notify_bp.post("/notify", name="wechatpay_notify")
@access(public=True, note="verified by the WeChat Pay platform signature; forged ones refused and logged",
        body=NotifyEnvelope, status=204, errors=(400, 401, 503))
async def notify(request: Request):
    """支付结果通知: 204 once applied (or already applied); 401 when the signature does not verify."""
    cfg, client = configured(request.app.ctx.settings)
    await service.handle_notification(request.headers, request.body or b"", now=request.app.ctx.clock.now(),
                                      cfg=cfg, client=client, remote_addr=request.remote_addr or request.ip or "")
    return empty(status=204)


@notify_bp.post("/refund-notify", name="wechatpay_refund_notify")
@access(public=True, note="verified by the WeChat Pay platform signature; forged ones refused and logged",
        body=NotifyEnvelope, status=204, errors=(400, 401, 503))
async def refund_notify(request: Request):
    """退款结果通知: a deposit refund paid back through WeChat Pay reached the tenant (or failed)."""
    cfg, client = configured(request.app.ctx.settings)
    await payouts.handle_refund_notification(
        request.headers, request.body or b"", now=request.app.ctx.clock.now(), cfg=cfg, client=client,
        refund_cfg=RefundConfig.from_settings(request.app.ctx.settings),
        remote_addr=request.remote_addr or request.ip or "")
    return empty(status=204)


@notify_bp.post("/transfer-notify", name="wechatpay_transfer_notify")
@access(public=True, note="verified by the WeChat Pay platform signature; forged ones refused and logged",
        body=NotifyEnvelope, status=204, errors=(400, 401, 503))
async def transfer_notify(request: Request):
    """商家转账结果通知: a deposit refund transferred to the tenant's balance arrived (or failed, or was cancelled)."""
    cfg, client = configured(request.app.ctx.settings)
    await transfers.handle_transfer_notification(
        request.headers, request.body or b"", now=request.app.ctx.clock.now(), cfg=cfg, client=client,
        refund_cfg=RefundConfig.from_settings(request.app.ctx.settings),
        remote_addr=request.remote_addr or request.ip or "")
    return empty(status=204)


@me_transfer_bp.get("/<refund_id:int>/wechat-transfer", name="me_refund_wechat_transfer")
@access(TENANTS, note="only the caller's own refund, only the account the transfer goes to",
        response=R.MeRefundWechatTransfer, errors=(503,))
async def my_transfer(request: Request, refund_id: int):
    """The wx.requestMerchantTransfer parameters of the transfer waiting for the tenant's confirmation."""
    principal = principal_of(request)
    if not await DepositRefund.filter(id=refund_id, tenant_id=principal.tenant_id or 0).exists():
        raise NotFound("deposit refund not found")
    cfg, _ = configured(request.app.ctx.settings)
    return json(await transfers.tenant_confirmation(refund_id, user_id=principal.user_id,
                                                    tenant_id=principal.tenant_id, cfg=cfg))


@payout_bp.post("/<refund_id:int>/wechat-payout", name="refund_wechat_payout")
@access(REFUND_PAYERS, note="款项发放 through WeChat Pay: refund to the deposit's original payment, or 商家转账 to the "
                            "tenant's balance when it came by bank; the refund moves to PAID when WeChat Pay "
                            "confirms, with that record instead of a bank receipt",
        response=R.RefundWechatPayout, status=(200, 202), errors=(409, 503))
async def wechat_payout(request: Request, refund_id: int):
    """Pay an approved deposit refund back through WeChat Pay (202 while WeChat Pay processes it)."""
    refund = await refund_for_staff(request, refund_id)
    cfg, client = configured(request.app.ctx.settings)
    payout = await payouts.start_payout(refund.id, actor=await actor_of(request),
                                        now=request.app.ctx.clock.now(), cfg=cfg, client=client,
                                        refund_cfg=RefundConfig.from_settings(request.app.ctx.settings))
    body = transfers.serialize_transfer(payout) if isinstance(payout, WechatPayTransfer) else \
        payouts.serialize_payout(payout)
    return json(body, status=200 if payout.status == "SUCCESS" else 202)


@payout_bp.post("/<refund_id:int>/wechat-transfer/cancel", name="refund_wechat_transfer_cancel")
@access(REFUND_PAYERS, note="撤销转账 of a 商家转账 the tenant has not confirmed (ACCEPTED / WAIT_USER_CONFIRM); "
                            "asking again returns the same transfer; once WeChat Pay reports it CANCELLED the "
                            "refund's 款项发放 can be done again (another transfer, or the bank)",
        response=R.RefundWechatTransferCancel, status=(200, 202), errors=(409, 503))
async def wechat_transfer_cancel(request: Request, refund_id: int):
    """Cancel the refund's WeChat Pay transfer before the tenant confirms it (202 while WeChat Pay cancels it)."""
    refund = await refund_for_staff(request, refund_id)
    cfg, client = configured(request.app.ctx.settings)
    transfer = await transfers.cancel_transfer(refund, actor=await actor_of(request),
                                               now=request.app.ctx.clock.now(), cfg=cfg, client=client,
                                               refund_cfg=RefundConfig.from_settings(request.app.ctx.settings))
    return json(transfers.serialize_transfer(transfer), status=200 if transfer.status == "CANCELLED" else 202)
