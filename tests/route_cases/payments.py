from accounts.permissions import WECHAT_PAYERS
from tests.route_cases import RouteCase

CASES = {
    "me_payments.me_payments_order": RouteCase(
        "POST", lambda w, s: "/api/v1/me/payments/orders", roles=WECHAT_PAYERS, scoped=False, tenant_own=True,
        body=lambda w, s: {"receivable_ids": [s.extra["receivable"].id]},
        notes="WeChat Pay is off in the scope test's settings: the own request gets 503, another's receivable 404"),
    "me_payments.me_payments_order_detail": RouteCase(
        "GET", lambda w, s: f"/api/v1/me/payments/orders/{s.extra['wechatpay_order'].id}", roles=WECHAT_PAYERS,
        scoped=False, tenant_own=True),
    "wechatpay_notify.wechatpay_notify": RouteCase(
        "POST", lambda w, s: "/api/v1/payments/wechat/notify", public=True, scoped=False,
        body=lambda w, s: {"id": "x"}, notes="authenticated by the platform signature, not a token"),
}
