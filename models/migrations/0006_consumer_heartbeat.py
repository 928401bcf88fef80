from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_leasing_parties_terms')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsumerHeartbeat',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client_id', fields.CharField(unique=True, max_length=128)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('reported_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('stopped_at', fields.DatetimeField(null=True, description='set on a clean shutdown: a stopped consumer is not missed', auto_now=False, auto_now_add=False)),
                ('connected', fields.BooleanField(default=False)),
                ('queue_depth', fields.IntField(default=0, description='messages received but not yet stored')),
                ('stored_total', fields.BigIntField(default=0)),
                ('dead_letters', fields.BigIntField(default=0)),
                ('last_stored_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('stuck_since', fields.DatetimeField(null=True, description='a batch has failed to store since then (retrying)', auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'iot_consumer_heartbeats', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What each MQTT consumer last said about itself, written every few seconds from its own process, so that'},
            bases=['Model'],
        ),
    ]
