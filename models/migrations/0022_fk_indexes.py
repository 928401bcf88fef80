from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0021_daily_facts')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='PaymentAllocation',
            index=Index(fields=['payment_id']),
        ),
        ops.AddIndex(
            model_name='PaymentAllocation',
            index=Index(fields=['receivable_id']),
        ),
        ops.AddIndex(
            model_name='ReconciliationMatch',
            index=Index(fields=['line_id', 'status']),
        ),
    ]
