from enum import StrEnum

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class VisitResult(StrEnum):  # a copy: migrations import no live code
    CONFIRMED = "CONFIRMED"
    NOT_CONFIRMED = "NOT_CONFIRMED"


class Migration(migrations.Migration):
    dependencies = [('models', '0013_contract_documents')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Device',
            name='available',
            field=fields.BooleanField(null=True, description='last availability message: online / offline'),
        ),
        ops.AddField(
            model_name='Device',
            name='available_at',
            field=fields.DatetimeField(null=True, description='when that availability message was received'),
        ),
        ops.AddField(
            model_name='Device',
            name='heartbeat_at',
            field=fields.DatetimeField(null=True, description='last heartbeat (e.g. Tasmota tele/STATE)'),
        ),
        ops.AddField(
            model_name='WorkOrder',
            name='visit_result',
            field=fields.CharEnumField(null=True, enum_type=VisitResult, max_length=16,
                                       description="an inspection visit's finding (sublet confirmed or not)"),
        ),
        ops.AddField(
            model_name='WorkOrder',
            name='visit_result_at',
            field=fields.DatetimeField(null=True),
        ),
    ]
