from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from occupancy.choices import DayState, Difference, FlagKind
from portfolio.choices import PropertyType, UnitStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_consumer_heartbeat')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DayTally',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
                ('building_id', fields.IntField()),
                ('city_id', fields.IntField()),
                ('unit_type', fields.CharField(default='', max_length=16)),
                ('property_type', fields.CharEnumField(description='RESIDENTIAL: RESIDENTIAL\nSHOP: SHOP\nWAREHOUSE: WAREHOUSE\nOFFICE: OFFICE', enum_type=PropertyType, max_length=16)),
                ('unit_days', fields.IntField(default=0)),
                ('rentable', fields.IntField(default=0)),
                ('rentable_area', fields.DecimalField(default=0, max_digits=14, decimal_places=2)),
                ('effective', fields.IntField(default=0)),
                ('effective_area', fields.DecimalField(default=0, max_digits=14, decimal_places=2)),
                ('signed_unpaid', fields.IntField(default=0)),
                ('short_stay_paid', fields.IntField(default=0)),
                ('sensor_known', fields.IntField(default=0)),
                ('sensor_occupied', fields.IntField(default=0)),
                ('excluded_units', fields.IntField(default=0)),
                ('excl_trial', fields.IntField(default=0)),
                ('excl_internal', fields.IntField(default=0)),
                ('excl_swap', fields.IntField(default=0)),
                ('excl_noncompliant', fields.IntField(default=0)),
            ],
            options={'table': 'occupancy_day_tallies', 'app': 'models', 'unique_together': (('day', 'building_id', 'unit_type', 'property_type'),), 'indexes': [Index(fields=['building_id', 'day'])], 'pk_attr': 'id', 'table_description': "The day's unit rows added up per building, unit type and property type (written with them): every"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OccupancyFlag',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='occupancy_flags', on_delete=OnDelete.RESTRICT)),
                ('lease', fields.ForeignKeyField('models.Lease', source_field='lease_id', null=True, db_constraint=True, to_field='id', related_name='occupancy_flags', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='TRIAL_STAY: TRIAL_STAY\nINTERNAL_USE: INTERNAL_USE\nPARTNERSHIP_SWAP: PARTNERSHIP_SWAP\nNON_COMPLIANT: NON_COMPLIANT\nSHORT_STAY: SHORT_STAY', enum_type=FlagKind, max_length=20)),
                ('valid_from', fields.DateField()),
                ('valid_to', fields.DateField(null=True, description='inclusive, null: open-ended')),
                ('reason', fields.CharField(max_length=500)),
                ('reference', fields.CharField(default='', description='document, agreement or approval number', max_length=64)),
                ('recorded_by', fields.ForeignKeyField('models.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='occupancy_flags', on_delete=OnDelete.SET_NULL)),
                ('ended_by', fields.ForeignKeyField('models.User', source_field='ended_by_id', null=True, db_constraint=True, to_field='id', related_name='ended_occupancy_flags', on_delete=OnDelete.SET_NULL)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'occupancy_flags', 'app': 'models', 'indexes': [Index(fields=['unit_id', 'valid_from'])], 'pk_attr': 'id', 'table_description': 'A dated exclusion (试住, 内部占用, 合作置换, 不合规) or short-stay mark on a unit, optionally tied to one of'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='OccupancySnapshotDay',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField(unique=True)),
                ('state', fields.CharEnumField(description='COMPLETE: COMPLETE\nINCOMPLETE: INCOMPLETE', enum_type=DayState, max_length=12)),
                ('reasons', fields.JSONField(default=list, description='why the day is incomplete, one line per source', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('sources', fields.JSONField(default=dict, description='each source check: ok, detail, newest fact', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('units', fields.IntField(default=0)),
                ('runs', fields.IntField(default=1)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'occupancy_days', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One day of the nightly snapshot: complete, or incomplete with the reasons (then it has no unit rows and'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusAudit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('month', fields.CharField(unique=True, description='YYYY-MM', max_length=7)),
                ('as_of', fields.DateField(description="the snapshot day the audit compared (the month's last complete day)")),
                ('generated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('units', fields.IntField(default=0)),
                ('findings_count', fields.IntField(default=0)),
                ('summary', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'occupancy_audits', 'app': 'models', 'pk_attr': 'id', 'table_description': '资产状态一致性审计报告 of one month: counts per difference kind, rates per building and city (``summary``).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusAuditFinding',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('audit', fields.ForeignKeyField('models.StatusAudit', source_field='audit_id', db_constraint=True, to_field='id', related_name='findings', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='OCCUPIED_WITHOUT_LEASE: OCCUPIED_WITHOUT_LEASE\nVACANT_BUT_RENT_PAID: VACANT_BUT_RENT_PAID\nVACANT_BUT_OCCUPIED_LIKE: VACANT_BUT_OCCUPIED_LIKE\nINSPECTION_CONTRADICTS: INSPECTION_CONTRADICTS\nPENDING_DELIVERY_TOO_LONG: PENDING_DELIVERY_TOO_LONG', enum_type=Difference, max_length=32)),
                ('unit_id', fields.IntField()),
                ('building_id', fields.IntField()),
                ('city_id', fields.IntField()),
                ('unit_code', fields.CharField(max_length=40)),
                ('since', fields.DateField(null=True)),
                ('days', fields.IntField(default=0)),
                ('detail', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'occupancy_audit_findings', 'app': 'models', 'indexes': [Index(fields=['audit_id', 'kind']), Index(fields=['audit_id', 'building_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UnitDaySnapshot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
                ('unit_id', fields.IntField()),
                ('building_id', fields.IntField()),
                ('city_id', fields.IntField()),
                ('property_type', fields.CharEnumField(description='RESIDENTIAL: RESIDENTIAL\nSHOP: SHOP\nWAREHOUSE: WAREHOUSE\nOFFICE: OFFICE', enum_type=PropertyType, max_length=16)),
                ('unit_type', fields.CharField(default='', max_length=16)),
                ('area_m2', fields.DecimalField(max_digits=9, decimal_places=2)),
                ('status', fields.CharEnumField(description='VACANT: VACANT\nRESERVED: RESERVED\nPENDING_DELIVERY: PENDING_DELIVERY\nOCCUPIED: OCCUPIED\nMOVE_OUT_PENDING: MOVE_OUT_PENDING\nUNDER_REPAIR: UNDER_REPAIR\nRENOVATION: RENOVATION\nINTERNAL_USE: INTERNAL_USE\nTRIAL_STAY: TRIAL_STAY\nOFF_MARKET: OFF_MARKET', enum_type=UnitStatus, max_length=20)),
                ('compliant', fields.BooleanField(default=True)),
                ('lease_id', fields.IntField(null=True)),
                ('lease_state', fields.CharField(default='NONE', description='NONE, SIGNED, ACTIVE (handed over)', max_length=12)),
                ('first_rent_paid', fields.BooleanField(default=False)),
                ('first_rent_paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('short_stay', fields.BooleanField(default=False)),
                ('flags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('sensor', fields.CharField(null=True, description='OCCUPIED_LIKE, VACANT_LIKE, UNKNOWN, null: none', max_length=16)),
                ('last_inspection_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_inspection_state', fields.CharField(default='', max_length=24)),
                ('last_inspection_status', fields.CharField(default='', description='status seen or requested', max_length=20)),
                ('rentable', fields.BooleanField()),
                ('effective', fields.BooleanField()),
                ('signed_unpaid', fields.BooleanField()),
                ('short_stay_paid', fields.BooleanField()),
                ('sensor_known', fields.BooleanField()),
                ('sensor_occupied', fields.BooleanField()),
                ('excl_trial', fields.BooleanField(default=False)),
                ('excl_internal', fields.BooleanField(default=False)),
                ('excl_swap', fields.BooleanField(default=False)),
                ('excl_noncompliant', fields.BooleanField(default=False)),
            ],
            options={'table': 'occupancy_unit_days', 'app': 'models', 'unique_together': (('day', 'unit_id'),), 'indexes': [Index(fields=['day', 'building_id']), Index(fields=['unit_id', 'day'])], 'pk_attr': 'id', 'table_description': 'Per unit per day: the facts (status, lease, first rent paid, flags, sensor, last inspection) and what the'},
            bases=['Model'],
        ),
    ]
