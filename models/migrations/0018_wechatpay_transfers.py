from tortoise import migrations
from tortoise.migrations import operations as ops
from payments.choices import TransferStatus
from reconciliation.choices import MatchStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0017_contract_draft_version')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WechatPayTransfer',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('out_bill_no', fields.CharField(unique=True, max_length=32)),
                ('refund', fields.ForeignKeyField('models.DepositRefund', source_field='refund_id', db_constraint=True, to_field='id', related_name='wechatpay_transfers', on_delete=OnDelete.RESTRICT)),
                ('attempt', fields.IntField(default=1)),
                ('recipient', fields.ForeignKeyField('models.User', source_field='recipient_id', null=True, db_constraint=True, to_field='id', related_name='wechatpay_transfers_received', on_delete=OnDelete.SET_NULL)),
                ('openid', fields.CharField(max_length=64)),
                ('amount_fen', fields.BigIntField()),
                ('status', fields.CharEnumField(description='ACCEPTED: ACCEPTED\nWAIT_USER_CONFIRM: WAIT_USER_CONFIRM\nPROCESSING: PROCESSING\nSUCCESS: SUCCESS\nFAIL: FAIL\nCANCELLED: CANCELLED', enum_type=TransferStatus, max_length=18)),
                ('transfer_bill_no', fields.CharField(default='', description='微信转账单号', max_length=64)),
                ('package_info', fields.TextField(default='', description='what wx.requestMerchantTransfer takes', unique=False)),
                ('requested_by', fields.ForeignKeyField('models.User', source_field='requested_by_id', null=True, db_constraint=True, to_field='id', related_name='wechatpay_transfers', on_delete=OnDelete.SET_NULL)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('succeeded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_queried_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'wechatpay_transfers', 'app': 'models', 'unique_together': (('refund', 'attempt'),), 'pk_attr': 'id', 'table_description': "A deposit refund paid to the tenant's WeChat balance (商家转账) when the deposit did not come by WeChat Pay."},
            bases=['TimestampedModel'],
        ),
        ops.AddField(
            model_name='Payment',
            name='reversed_at',
            field=fields.DatetimeField(null=True, description='its allocations undone (a wrong statement match)', auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='ReconciliationMatch',
            name='status',
            field=fields.CharEnumField(description='PROPOSED: PROPOSED\nAPPLIED: APPLIED\nREJECTED: REJECTED\nREVERSED: REVERSED', enum_type=MatchStatus, max_length=10),
        ),
    ]
