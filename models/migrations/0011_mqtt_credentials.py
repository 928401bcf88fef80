from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from iot.choices import CredentialKind
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_photo_exif_flags')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MqttCredential',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(db_index=True, max_length=128)),
                ('kind', fields.CharEnumField(description='DEVICE: DEVICE\nGATEWAY: GATEWAY\nCONSUMER: CONSUMER', enum_type=CredentialKind, max_length=10)),
                ('device_ids', fields.JSONField(default=list, description='devices bound to this account', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('topics', fields.JSONField(default=list, description='topics it may publish (MQTT filters)', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('client_id', fields.CharField(null=True, description='a client id only this account may use', max_length=128)),
                ('password_hash', fields.CharField(max_length=200)),
                ('mosquitto_hash', fields.CharField(max_length=200)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('issued_by', fields.CharField(max_length=128)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_by', fields.CharField(null=True, max_length=128)),
                ('note', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'iot_mqtt_credentials', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One issued broker account (iot.credentials). Rows are never deleted: a re-issue or a revoke sets'},
            bases=['Model'],
        ),
    ]
