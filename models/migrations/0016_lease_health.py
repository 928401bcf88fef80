from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from leasehealth.choices import HealthLevel, Indicator, Recommendation
from tortoise.fields.base import OnDelete
from workorders.choices import TriggerSource
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0015_audit_log')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LeaseHealthFlag',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('lease', fields.ForeignKeyField('models.Lease', source_field='lease_id', db_constraint=True, to_field='id', related_name='health_flags', on_delete=OnDelete.CASCADE)),
                ('building', fields.ForeignKeyField('models.Building', source_field='building_id', db_constraint=True, to_field='id', related_name='health_flags', on_delete=OnDelete.CASCADE)),
                ('indicator', fields.CharEnumField(description='PAYMENT_DEVIATIONS: PAYMENT_DEVIATIONS\nCONTRACT_CHANGES: CONTRACT_CHANGES\nWORK_ORDERS: WORK_ORDERS', enum_type=Indicator, max_length=20)),
                ('period', fields.CharField(description='2026Q4, 2026, 2026-10', max_length=10)),
                ('level', fields.CharEnumField(description='GREEN: GREEN\nYELLOW: YELLOW\nORANGE: ORANGE\nRED: RED', enum_type=HealthLevel, max_length=8)),
                ('count', fields.IntField()),
                ('threshold', fields.CharField(max_length=10)),
                ('action', fields.CharField(max_length=60)),
                ('evidence', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('work_order', fields.ForeignKeyField('models.WorkOrder', source_field='work_order_id', null=True, db_constraint=True, to_field='id', related_name='health_flags', on_delete=OnDelete.SET_NULL)),
                ('raised_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('as_of', fields.DateField(description='the day the job last saw it')),
            ],
            options={'table': 'lease_health_flags', 'app': 'models', 'unique_together': (('lease', 'indicator', 'period'),), 'indexes': [Index(fields=['building_id', 'period'])], 'pk_attr': 'id', 'table_description': 'An indicator over its threshold for one lease in one period (quarter, year or month). Unique per (lease,'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='TenantProfile',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.OneToOneField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='profile', on_delete=OnDelete.CASCADE)),
                ('score', fields.SmallIntField()),
                ('recommendation', fields.CharEnumField(description='ELIGIBLE: ELIGIBLE\nREVIEW: REVIEW\nNOT_RECOMMENDED: NOT_RECOMMENDED', enum_type=Recommendation, max_length=16)),
                ('reasons', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('metrics', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('as_of', fields.DateField()),
                ('computed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'tenant_profiles', 'app': 'models', 'pk_attr': 'id', 'table_description': '信用行为画像 of a tenant party across all their leases, recomputed daily: the measures, a score with the'},
            bases=['TimestampedModel'],
        ),
        ops.AlterField(
            model_name='WorkOrder',
            name='trigger_source',
            field=fields.CharEnumField(description='LEASE_SIGNED: lease_signed\nMANUAL: manual\nSENSOR: sensor\nALERT: alert\nINSPECTION: inspection\nREFUND: refund\nLEASE_REMINDER: lease_reminder\nLEASE_HEALTH: lease_health', enum_type=TriggerSource, max_length=24),
        ),
    ]
