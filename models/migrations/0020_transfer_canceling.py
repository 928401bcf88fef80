from tortoise import migrations
from tortoise.migrations import operations as ops
from payments.choices import TransferStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0019_unit_card_indexes')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='WechatPayTransfer',
            name='status',
            field=fields.CharEnumField(description='ACCEPTED: ACCEPTED\nWAIT_USER_CONFIRM: WAIT_USER_CONFIRM\nPROCESSING: PROCESSING\nCANCELING: CANCELING\nSUCCESS: SUCCESS\nFAIL: FAIL\nCANCELLED: CANCELLED', enum_type=TransferStatus, max_length=18),
        ),
    ]
