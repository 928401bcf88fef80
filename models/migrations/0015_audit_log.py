from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index


#: Append-only: UPDATE, DELETE (and TRUNCATE on PostgreSQL) on audit_events are refused by the database.
#: Written out as core.appendonly generated them when this migration was made (tests/test_audit_log.py compares).
POSTGRES_INSTALL = [
    "CREATE OR REPLACE FUNCTION rw_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege'; END $$",
    'DROP TRIGGER IF EXISTS rw_append_only_audit_events ON audit_events',
    'CREATE TRIGGER rw_append_only_audit_events BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION rw_append_only()',
    'DROP TRIGGER IF EXISTS rw_append_only_audit_events_truncate ON audit_events',
    'CREATE TRIGGER rw_append_only_audit_events_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION rw_append_only()',
]

SQLITE_INSTALL = [
    'DROP TRIGGER IF EXISTS rw_append_only_audit_events_upd',
    "CREATE TRIGGER rw_append_only_audit_events_upd BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'append-only table audit_events: UPDATE refused'); END",
    'DROP TRIGGER IF EXISTS rw_append_only_audit_events_del',
    "CREATE TRIGGER rw_append_only_audit_events_del BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'append-only table audit_events: DELETE refused'); END",
]

POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS rw_append_only_audit_events ON audit_events",
    "DROP TRIGGER IF EXISTS rw_append_only_audit_events_truncate ON audit_events",
]

SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS rw_append_only_audit_events_upd",
    "DROP TRIGGER IF EXISTS rw_append_only_audit_events_del",
]

INSTALL = {"postgres": POSTGRES_INSTALL, "sqlite": SQLITE_INSTALL}


async def install(apps, schema_editor) -> None:
    dialect = schema_editor.client.capabilities.dialect
    if dialect not in INSTALL:
        raise ValueError(f"no append-only triggers for the {dialect} dialect")
    for statement in INSTALL[dialect]:
        await schema_editor.client.execute_script(statement)


async def remove(apps, schema_editor) -> None:
    dialect = schema_editor.client.capabilities.dialect
    for statement in POSTGRES_REMOVE if dialect == "postgres" else SQLITE_REMOVE:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [('models', '0014_device_availability')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('actor_id', fields.IntField(null=True, db_index=True, description='users.id, null for the system or the CLI')),
                ('actor_role', fields.CharField(default='', max_length=16)),
                ('actor_name', fields.CharField(default='', max_length=64)),
                ('action', fields.CharField(db_index=True, description='audit.choices.AuditAction', max_length=40)),
                ('target_type', fields.CharField(max_length=32)),
                ('target_id', fields.CharField(max_length=64)),
                ('building_id', fields.IntField(null=True, db_index=True)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('request_id', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'audit_events', 'app': 'models', 'indexes': [Index(fields=['target_type', 'target_id'])], 'pk_attr': 'id', 'table_description': 'Who did what to which record, when, from which request. The actor is a plain id with a copy of their'},
            bases=['AppendOnlyModel'],
        ),
        ops.RunPython(install, remove),
    ]
