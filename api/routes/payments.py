"""WeChat Pay: the tenant's JSAPI orders (wx.requestPayment parameters) and the platform's payment
notifications (public: authenticated by the platform's signature, not by a token)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import empty, json

from accounts.permissions import WECHAT_PAYERS
from api.access import access, principal_of
from core.validation import parse_body
from payments import service
from payments.client import configured
from payments.schemas import OrderIn

me_bp = Blueprint("me_payments", url_prefix="/me/payments")
notify_bp = Blueprint("wechatpay_notify", url_prefix="/payments/wechat")


@me_bp.post("/orders", name="me_payments_order")
@access(WECHAT_PAYERS, note="only the caller's own open receivables; amounts from the server")
async def create_order(request: Request):
    """A WeChat Pay order for some of the tenant's open receivables, and the signed wx.requestPayment params."""
    principal = principal_of(request)
    body = parse_body(OrderIn, request.body)
    await service.tenant_receivables(principal.tenant_id, body.receivable_ids)  # 404 before any WeChat Pay
    cfg, client = configured(request.app.ctx.settings)
    result = await service.create_order(user_id=principal.user_id, tenant_id=principal.tenant_id or 0,
                                        receivable_ids=body.receivable_ids, now=request.app.ctx.clock.now(),
                                        cfg=cfg, client=client)
    return json(result, status=201)


@me_bp.get("/orders/<order_id:int>", name="me_payments_order_detail")
@access(WECHAT_PAYERS)
async def order_detail(request: Request, order_id: int):
    """The order's state (the mini program polls it after wx.requestPayment returns)."""
    order = await service.tenant_order(order_id, principal_of(request).tenant_id or 0)
    return json(service.serialize_order(order))


@notify_bp.post("/notify", name="wechatpay_notify")
@access(public=True, note="verified by the WeChat Pay platform signature; forged ones refused and logged")
async def notify(request: Request):
    """支付结果通知: 204 once applied (or already applied); 401 when the signature does not verify."""
    cfg, client = configured(request.app.ctx.settings)
    await service.handle_notification(request.headers, request.body or b"", now=request.app.ctx.clock.now(),
                                      cfg=cfg, client=client, remote_addr=request.remote_addr or request.ip or "")
    return empty(status=204)
