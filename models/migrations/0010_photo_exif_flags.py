from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_reconciliation')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Photo',
            name='exif_flags',
            field=fields.JSONField(default=list, description='EXIF parts present but unreadable (ignored)', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
