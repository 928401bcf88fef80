"""WeChat Pay: our JSAPI orders and the log of every notification received (genuine or not)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import TimestampedModel
from payments.choices import BillStatus, NoticeOutcome, OrderStatus, PayoutStatus, PaySource, TransferStatus

if TYPE_CHECKING:
    from models.accounts import User
    from models.leasing import Tenant
    from models.reconciliation import StatementImport
    from models.refunds import DepositRefund


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


class WechatPayBill(TimestampedModel):
    """One day's trade bill (交易账单): fetched once, hash verified, imported as a statement. A day that fails is
    retried (``next_attempt_at``) and alerted, never taken as a day without payments."""

    id = fields.IntField(primary_key=True)
    bill_date = fields.DateField(unique=True)
    status = fields.CharEnumField(BillStatus, max_length=8)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=300, default="")
    hash_type = fields.CharField(max_length=10, default="")
    hash_value = fields.CharField(max_length=64, default="")
    statement_import: fields.ForeignKeyNullableRelation[StatementImport]
    statement_import = fields.ForeignKeyField("models.StatementImport", related_name="wechatpay_bills", null=True,
                                              on_delete=fields.SET_NULL)
    statement_import_id: int | None
    summary: fields.JSONField[dict[str, Any]]
    summary = fields.JSONField(default=dict)

    class Meta:
        table = "wechatpay_bills"


class WechatPayRefund(TimestampedModel):
    """A deposit refund paid back to the tenant's original WeChat Pay payment (申请退款). ``out_refund_no`` is
    derived from the refund and the attempt, so asking twice makes one WeChat Pay refund."""

    id = fields.IntField(primary_key=True)
    out_refund_no = fields.CharField(max_length=64, unique=True)
    refund: fields.ForeignKeyRelation[DepositRefund]
    refund = fields.ForeignKeyField("models.DepositRefund", related_name="wechatpay_payouts",
                                    on_delete=fields.RESTRICT)
    refund_id: int
    attempt = fields.IntField(default=1)
    order: fields.ForeignKeyRelation[WechatPayOrder]
    order = fields.ForeignKeyField("models.WechatPayOrder", related_name="payouts", on_delete=fields.RESTRICT)
    order_id: int
    transaction_id = fields.CharField(max_length=32)
    amount_fen = fields.BigIntField()
    total_fen = fields.BigIntField(description="the original transaction's amount")
    status = fields.CharEnumField(PayoutStatus, max_length=10)
    wechat_refund_id = fields.CharField(max_length=64, default="")
    requested_by: fields.ForeignKeyNullableRelation[User]
    requested_by = fields.ForeignKeyField("models.User", related_name="wechatpay_payouts", null=True,
                                          on_delete=fields.SET_NULL)
    requested_by_id: int | None
    requested_at = fields.DatetimeField()
    succeeded_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=300, default="")

    class Meta:
        table = "wechatpay_refunds"
        unique_together = (("refund", "attempt"),)


class WechatPayTransfer(TimestampedModel):
    """A deposit refund paid to the tenant's WeChat balance (商家转账) when the deposit did not come by WeChat Pay.
    ``out_bill_no`` is derived from the refund and the attempt, so asking twice makes one transfer bill; the
    tenant confirms receipt in the mini program with ``package_info`` (wx.requestMerchantTransfer)."""

    id = fields.IntField(primary_key=True)
    out_bill_no = fields.CharField(max_length=32, unique=True)
    refund: fields.ForeignKeyRelation[DepositRefund]
    refund = fields.ForeignKeyField("models.DepositRefund", related_name="wechatpay_transfers",
                                    on_delete=fields.RESTRICT)
    refund_id: int
    attempt = fields.IntField(default=1)
    recipient: fields.ForeignKeyNullableRelation[User]
    recipient = fields.ForeignKeyField("models.User", related_name="wechatpay_transfers_received", null=True,
                                       on_delete=fields.SET_NULL)
    recipient_id: int | None
    openid = fields.CharField(max_length=64)
    amount_fen = fields.BigIntField()
    status = fields.CharEnumField(TransferStatus, max_length=18)
    transfer_bill_no = fields.CharField(max_length=64, default="", description="微信转账单号")
    package_info = fields.TextField(default="", description="what wx.requestMerchantTransfer takes")
    requested_by: fields.ForeignKeyNullableRelation[User]
    requested_by = fields.ForeignKeyField("models.User", related_name="wechatpay_transfers", null=True,
                                          on_delete=fields.SET_NULL)
    requested_by_id: int | None
    requested_at = fields.DatetimeField()
    succeeded_at = fields.DatetimeField(null=True)
    last_queried_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=300, default="")

    class Meta:
        table = "wechatpay_transfers"
        unique_together = (("refund", "attempt"),)
