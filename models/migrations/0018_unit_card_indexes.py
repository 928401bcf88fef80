from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0017_contract_draft_version')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Alert',
            index=Index(fields=['unit_id', 'last_seen']),
        ),
        ops.AddIndex(
            model_name='Lease',
            index=Index(fields=['unit_id', 'start_date']),
        ),
        ops.AddIndex(
            model_name='WorkOrder',
            index=Index(fields=['unit_id', 'due_at']),
        ),
    ]
