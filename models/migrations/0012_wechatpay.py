from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from payments.choices import NoticeOutcome, OrderStatus, PaySource
from reconciliation.choices import DiscrepancyKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_mqtt_credentials')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WechatPayOrder',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('out_trade_no', fields.CharField(unique=True, max_length=32)),
                ('order_key', fields.CharField(max_length=27)),
                ('attempt', fields.IntField(default=1)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='wechatpay_orders', on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='wechatpay_orders', on_delete=OnDelete.SET_NULL)),
                ('payer_openid', fields.CharField(max_length=64)),
                ('amount_fen', fields.BigIntField()),
                ('description', fields.CharField(max_length=127)),
                ('items', fields.JSONField(default=list, description='[{receivable_id, lease_id, building_id, amount_fen}]', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=OrderStatus.CREATED, description='CREATED: CREATED\nPAID: PAID\nCLOSED: CLOSED', enum_type=OrderStatus, max_length=8)),
                ('prepay_id', fields.CharField(null=True, max_length=64)),
                ('placed_at', fields.DatetimeField(description="when we made it (the injected clock, not the row's created_at)", auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('transaction_id', fields.CharField(null=True, unique=True, description='微信支付订单号', max_length=32)),
                ('paid_fen', fields.BigIntField(null=True)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('paid_via', fields.CharEnumField(null=True, description='NOTIFICATION: NOTIFICATION\nQUERY: QUERY', enum_type=PaySource, max_length=12)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_queried_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_trade_state', fields.CharField(default='', max_length=16)),
            ],
            options={'table': 'wechatpay_orders', 'app': 'models', 'unique_together': (('order_key', 'attempt'),), 'indexes': [Index(fields=['status', 'placed_at']), Index(fields=['tenant_id', 'status'])], 'pk_attr': 'id', 'table_description': 'One JSAPI order for one or several receivables of a tenant. ``order_key`` is derived from the tenant, the'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='WechatPayNotice',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('via', fields.CharEnumField(description='NOTIFICATION: NOTIFICATION\nQUERY: QUERY', enum_type=PaySource, max_length=12)),
                ('event_id', fields.CharField(default='', max_length=64)),
                ('event_type', fields.CharField(default='', max_length=40)),
                ('out_trade_no', fields.CharField(default='', max_length=32)),
                ('transaction_id', fields.CharField(default='', max_length=32)),
                ('trade_state', fields.CharField(default='', max_length=16)),
                ('amount_fen', fields.BigIntField(null=True)),
                ('outcome', fields.CharEnumField(description='APPLIED: APPLIED\nDUPLICATE: DUPLICATE\nDISCREPANCY: DISCREPANCY\nREFUSED_SIGNATURE: REFUSED_SIGNATURE\nREFUSED_MERCHANT: REFUSED_MERCHANT\nUNKNOWN_ORDER: UNKNOWN_ORDER\nIGNORED: IGNORED', enum_type=NoticeOutcome, max_length=18)),
                ('reason', fields.CharField(default='', max_length=300)),
                ('remote_addr', fields.CharField(default='', max_length=64)),
                ('serial', fields.CharField(default='', max_length=80)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('order', fields.ForeignKeyField('models.WechatPayOrder', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name='notices', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'wechatpay_notices', 'app': 'models', 'indexes': [Index(fields=['out_trade_no']), Index(fields=['outcome', 'received_at'])], 'pk_attr': 'id', 'table_description': 'Every notification received and every order query that found money, with what it did. A forged one is'},
            bases=['TimestampedModel'],
        ),
        ops.AlterField(
            model_name='Discrepancy',
            name='kind',
            field=fields.CharEnumField(description='UNMATCHED_INCOME: UNMATCHED_INCOME\nPAID_WITHOUT_BANK_LINE: PAID_WITHOUT_BANK_LINE\nAMOUNT_MISMATCH: AMOUNT_MISMATCH\nDUPLICATE_PAYMENT: DUPLICATE_PAYMENT\nOVERPAYMENT: OVERPAYMENT\nCLOSED_ORDER_PAID: CLOSED_ORDER_PAID', enum_type=DiscrepancyKind, max_length=24),
        ),
    ]
