from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0016_lease_health')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ContractDraft',
            name='version',
            field=fields.IntField(default=1, description='optimistic lock: every saved review (and the lease) bumps it'),
        ),
    ]
