"""Daily facts of the hourly roll-ups (iot.daily_facts): the facts, the days complete under a basis, and the
roll-up changes recorded by triggers on iot_hourly. The trigger DDL is written out here as iot.daily_facts
generated it when this migration was made (tests/test_iot_daily_facts.py compares); each statement drops
before it creates, so applying twice is harmless.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


#: PostgreSQL: statement triggers with transition tables (one statement's rows at once)
POSTGRES_INSTALL = [
    'CREATE OR REPLACE FUNCTION rw_hourly_changes_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO iot_hourly_changes (device_id, unit_id, utc_day) SELECT DISTINCT device_id, unit_id, hour_ts / 24 FROM (SELECT device_id, unit_id, hour_ts FROM rw_new) AS r WHERE unit_id IS NOT NULL ORDER BY 1, 2, 3 ON CONFLICT (device_id, unit_id, utc_day) DO UPDATE SET utc_day = excluded.utc_day WHERE false; RETURN NULL; END $$',
    'CREATE OR REPLACE FUNCTION rw_hourly_changes_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO iot_hourly_changes (device_id, unit_id, utc_day) SELECT DISTINCT device_id, unit_id, hour_ts / 24 FROM (SELECT device_id, unit_id, hour_ts FROM rw_new UNION ALL SELECT device_id, unit_id, hour_ts FROM rw_old) AS r WHERE unit_id IS NOT NULL ORDER BY 1, 2, 3 ON CONFLICT (device_id, unit_id, utc_day) DO UPDATE SET utc_day = excluded.utc_day WHERE false; RETURN NULL; END $$',
    'CREATE OR REPLACE FUNCTION rw_hourly_changes_del() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO iot_hourly_changes (device_id, unit_id, utc_day) SELECT DISTINCT device_id, unit_id, hour_ts / 24 FROM (SELECT device_id, unit_id, hour_ts FROM rw_old) AS r WHERE unit_id IS NOT NULL ORDER BY 1, 2, 3 ON CONFLICT (device_id, unit_id, utc_day) DO UPDATE SET utc_day = excluded.utc_day WHERE false; RETURN NULL; END $$',
    'CREATE OR REPLACE FUNCTION rw_hourly_changes_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM iot_daily_fact_days; RETURN NULL; END $$',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_ins ON iot_hourly',
    'CREATE TRIGGER rw_hourly_changes_ins AFTER INSERT ON iot_hourly REFERENCING NEW TABLE AS rw_new FOR EACH STATEMENT EXECUTE FUNCTION rw_hourly_changes_ins()',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_upd ON iot_hourly',
    'CREATE TRIGGER rw_hourly_changes_upd AFTER UPDATE ON iot_hourly REFERENCING OLD TABLE AS rw_old NEW TABLE AS rw_new FOR EACH STATEMENT EXECUTE FUNCTION rw_hourly_changes_upd()',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_del ON iot_hourly',
    'CREATE TRIGGER rw_hourly_changes_del AFTER DELETE ON iot_hourly REFERENCING OLD TABLE AS rw_old FOR EACH STATEMENT EXECUTE FUNCTION rw_hourly_changes_del()',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_truncate ON iot_hourly',
    'CREATE TRIGGER rw_hourly_changes_truncate AFTER TRUNCATE ON iot_hourly FOR EACH STATEMENT EXECUTE FUNCTION rw_hourly_changes_truncate()',
]

#: SQLite: row triggers
SQLITE_INSTALL = [
    'DROP TRIGGER IF EXISTS rw_hourly_changes_ins',
    'CREATE TRIGGER rw_hourly_changes_ins AFTER INSERT ON iot_hourly BEGIN INSERT INTO iot_hourly_changes (device_id, unit_id, utc_day) SELECT NEW.device_id, NEW.unit_id, NEW.hour_ts / 24 WHERE NEW.unit_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM iot_hourly_changes c WHERE c.device_id = NEW.device_id AND c.unit_id = NEW.unit_id AND c.utc_day = NEW.hour_ts / 24); END',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_upd',
    'CREATE TRIGGER rw_hourly_changes_upd AFTER UPDATE ON iot_hourly BEGIN INSERT INTO iot_hourly_changes (device_id, unit_id, utc_day) SELECT NEW.device_id, NEW.unit_id, NEW.hour_ts / 24 WHERE NEW.unit_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM iot_hourly_changes c WHERE c.device_id = NEW.device_id AND c.unit_id = NEW.unit_id AND c.utc_day = NEW.hour_ts / 24); INSERT INTO iot_hourly_changes (device_id, unit_id, utc_day) SELECT OLD.device_id, OLD.unit_id, OLD.hour_ts / 24 WHERE OLD.unit_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM iot_hourly_changes c WHERE c.device_id = OLD.device_id AND c.unit_id = OLD.unit_id AND c.utc_day = OLD.hour_ts / 24); END',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_del',
    'CREATE TRIGGER rw_hourly_changes_del AFTER DELETE ON iot_hourly BEGIN INSERT INTO iot_hourly_changes (device_id, unit_id, utc_day) SELECT OLD.device_id, OLD.unit_id, OLD.hour_ts / 24 WHERE OLD.unit_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM iot_hourly_changes c WHERE c.device_id = OLD.device_id AND c.unit_id = OLD.unit_id AND c.utc_day = OLD.hour_ts / 24); END',
]

POSTGRES_REMOVE = [
    'DROP TRIGGER IF EXISTS rw_hourly_changes_ins ON iot_hourly',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_upd ON iot_hourly',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_del ON iot_hourly',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_truncate ON iot_hourly',
    'DROP FUNCTION IF EXISTS rw_hourly_changes_ins()',
    'DROP FUNCTION IF EXISTS rw_hourly_changes_upd()',
    'DROP FUNCTION IF EXISTS rw_hourly_changes_del()',
    'DROP FUNCTION IF EXISTS rw_hourly_changes_truncate()',
]

SQLITE_REMOVE = [
    'DROP TRIGGER IF EXISTS rw_hourly_changes_ins',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_upd',
    'DROP TRIGGER IF EXISTS rw_hourly_changes_del',
]

INSTALL = {"postgres": POSTGRES_INSTALL, "sqlite": SQLITE_INSTALL}


async def install(apps, schema_editor) -> None:
    dialect = schema_editor.client.capabilities.dialect
    if dialect not in INSTALL:
        raise ValueError(f"no roll-up change triggers for the {dialect} dialect")
    for statement in INSTALL[dialect]:
        await schema_editor.client.execute_script(statement)


async def remove(apps, schema_editor) -> None:
    dialect = schema_editor.client.capabilities.dialect
    for statement in POSTGRES_REMOVE if dialect == "postgres" else SQLITE_REMOVE:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [('models', '0020_transfer_canceling')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DailyFact',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('basis', fields.CharField(max_length=64)),
                ('unit_id', fields.IntField()),
                ('day', fields.IntField(description='local day number (iot.rules.day_number)')),
                ('c0', fields.FloatField(null=True)),
                ('c1', fields.FloatField(null=True)),
                ('c2', fields.FloatField(null=True)),
                ('c3', fields.FloatField(null=True)),
                ('c4', fields.FloatField(null=True)),
                ('c5', fields.FloatField(null=True)),
                ('c6', fields.FloatField(null=True)),
                ('c7', fields.BigIntField(null=True)),
                ('c8', fields.BigIntField(null=True)),
                ('c9', fields.BigIntField(null=True)),
                ('c10', fields.BigIntField(null=True)),
                ('c11', fields.BigIntField(null=True)),
                ('c12', fields.BigIntField(null=True)),
                ('c13', fields.FloatField(null=True)),
                ('c14', fields.BigIntField(null=True)),
                ('c15', fields.BigIntField(null=True)),
            ],
            options={'table': 'iot_daily_facts', 'app': 'models', 'unique_together': (('basis', 'day', 'unit_id'),), 'pk_attr': 'id', 'table_description': "The hourly roll-ups of one unit on one local day, aggregated as iot.daily_facts.day_statement does"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DailyFactDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('basis', fields.CharField(max_length=64)),
                ('offset_h', fields.IntField(description='UTC offset of the basis, hours: which UTC hours the day covers')),
                ('day', fields.IntField()),
                ('computed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'iot_daily_fact_days', 'app': 'models', 'unique_together': (('basis', 'day'),), 'pk_attr': 'id', 'table_description': "A local ``day`` whose facts under ``basis`` are complete (for every unit), dropped when roll-ups of the day"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HourlyChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device_id', fields.IntField()),
                ('unit_id', fields.IntField()),
                ('utc_day', fields.IntField()),
            ],
            options={'table': 'iot_hourly_changes', 'app': 'models', 'unique_together': (('device_id', 'unit_id', 'utc_day'),), 'pk_attr': 'id', 'table_description': "The roll-ups of a device on one UTC day (``utc_day`` = ``hour_ts`` // 24) written since the daily facts last"},
            bases=['Model'],
        ),
        ops.RunPython(install, remove),
    ]
