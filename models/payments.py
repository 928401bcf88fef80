"""WeChat Pay: our JSAPI orders and the log of every notification received (genuine or not)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import TimestampedModel
from payments.choices import NoticeOutcome, OrderStatus, PaySource

if TYPE_CHECKING:
    from models.accounts import User
    from models.leasing import Tenant


class WechatPayOrder(TimestampedModel):
    """One JSAPI order for one or several receivables of a tenant. ``order_key`` is derived from the tenant, the
    receivables and their open amounts; ``attempt`` grows only when an earlier order of the key expired or was
    closed, so a retry of the same payment reuses the order. ``items`` keep what each receivable needed then."""

    id = fields.BigIntField(primary_key=True)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    order_key = fields.CharField(max_length=27)
    attempt = fields.IntField(default=1)
    tenant: fields.ForeignKeyRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="wechatpay_orders", on_delete=fields.RESTRICT)
    tenant_id: int
    user: fields.ForeignKeyNullableRelation[User]
    user = fields.ForeignKeyField("models.User", related_name="wechatpay_orders", null=True,
                                  on_delete=fields.SET_NULL)
    user_id: int | None
    payer_openid = fields.CharField(max_length=64)
    amount_fen = fields.BigIntField()
    description = fields.CharField(max_length=127)
    items: fields.JSONField[list[Any]]
    items = fields.JSONField(default=list, description="[{receivable_id, lease_id, building_id, amount_fen}]")
    status = fields.CharEnumField(OrderStatus, max_length=8, default=OrderStatus.CREATED)
    prepay_id = fields.CharField(max_length=64, null=True)
    placed_at = fields.DatetimeField(description="when we made it (the injected clock, not the row's created_at)")
    expires_at = fields.DatetimeField()
    transaction_id = fields.CharField(max_length=32, null=True, unique=True, description="微信支付订单号")
    paid_fen = fields.BigIntField(null=True)
    paid_at = fields.DatetimeField(null=True)
    paid_via = fields.CharEnumField(PaySource, max_length=12, null=True)
    closed_at = fields.DatetimeField(null=True)
    last_queried_at = fields.DatetimeField(null=True)
    last_trade_state = fields.CharField(max_length=16, default="")

    class Meta:
        table = "wechatpay_orders"
        unique_together = (("order_key", "attempt"),)
        indexes = (("status", "placed_at"), ("tenant_id", "status"))


class WechatPayNotice(TimestampedModel):
    """Every notification received and every order query that found money, with what it did. A forged one is
    kept too (outcome REFUSED_SIGNATURE, the sender's address), so an attack is visible."""

    id = fields.BigIntField(primary_key=True)
    via = fields.CharEnumField(PaySource, max_length=12)
    event_id = fields.CharField(max_length=64, default="")
    event_type = fields.CharField(max_length=40, default="")
    out_trade_no = fields.CharField(max_length=32, default="")
    transaction_id = fields.CharField(max_length=32, default="")
    trade_state = fields.CharField(max_length=16, default="")
    amount_fen = fields.BigIntField(null=True)
    outcome = fields.CharEnumField(NoticeOutcome, max_length=18)
    reason = fields.CharField(max_length=300, default="")
    remote_addr = fields.CharField(max_length=64, default="")
    serial = fields.CharField(max_length=80, default="")
    received_at = fields.DatetimeField()
    order: fields.ForeignKeyNullableRelation[WechatPayOrder]
    order = fields.ForeignKeyField("models.WechatPayOrder", related_name="notices", null=True,
                                   on_delete=fields.SET_NULL)
    order_id: int | None

    class Meta:
        table = "wechatpay_notices"
        indexes = (("out_trade_no",), ("outcome", "received_at"))
