from accounts.permissions import REFUND_PAYERS, TENANTS, WECHAT_PAYERS
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
    "wechatpay_notify.wechatpay_refund_notify": RouteCase(
        "POST", lambda w, s: "/api/v1/payments/wechat/refund-notify", public=True, scoped=False,
        body=lambda w, s: {"id": "x"}, notes="authenticated by the platform signature, not a token"),
    "wechatpay_notify.wechatpay_transfer_notify": RouteCase(
        "POST", lambda w, s: "/api/v1/payments/wechat/transfer-notify", public=True, scoped=False,
        body=lambda w, s: {"id": "x"}, notes="authenticated by the platform signature, not a token"),
    "me_wechatpay_transfers.me_refund_wechat_transfer": RouteCase(
        "GET", lambda w, s: f"/api/v1/me/deposit-refunds/{s.extra['refund'].id}/wechat-transfer", roles=TENANTS,
        scoped=False, tenant_own=True, notes="WeChat Pay is off in the scope test's settings: own refund 503"),
    "wechatpay_payouts.refund_wechat_payout": RouteCase(
        "POST", lambda w, s: f"/api/v1/refunds/{s.extra['refund'].id}/wechat-payout", roles=REFUND_PAYERS,
        notes="WeChat Pay is off in the scope test's settings: own building 503, the other 404"),
    "wechatpay_payouts.refund_wechat_transfer_cancel": RouteCase(
        "POST", lambda w, s: f"/api/v1/refunds/{s.extra['refund'].id}/wechat-transfer/cancel", roles=REFUND_PAYERS,
        notes="WeChat Pay is off in the scope test's settings: own building 503, the other 404"),
}
