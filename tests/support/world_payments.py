"""Each side's tenant has one WeChat Pay order (for the order-detail scope case)."""

from datetime import timedelta

from models.payments import WechatPayOrder


async def extend_world(world, side, now) -> None:
    receivable = side.extra["receivable"]
    side.extra["wechatpay_order"] = await WechatPayOrder.create(
        out_trade_no=f"RWSCOPE{side.label}-1", order_key=f"RWSCOPE{side.label}", attempt=1,
        tenant_id=side.lease.tenant_id, user_id=side.tenant_user.id, payer_openid=f"o-scope-{side.label}",
        amount_fen=receivable.amount_fen, description="scope", placed_at=now, expires_at=now + timedelta(minutes=30),
        items=[{"receivable_id": receivable.id, "lease_id": side.lease.id, "building_id": side.building.id,
                "amount_fen": receivable.amount_fen, "label": receivable.label}])
