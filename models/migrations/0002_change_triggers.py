"""Database triggers that write change_log rows: the per-worker caches (core.changes) read them.

Self-contained: the DDL is written out here as it was when this migration was made, so the migration does not
change when core.changes does (a change to the tracked tables or columns needs a new migration). Each trigger
records (kind, ref, at_us) into change_log; PostgreSQL uses one plpgsql function per table, SQLite plain
triggers. Every statement drops before it creates, so applying twice is harmless.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


#: PostgreSQL: a function per tracked table and its triggers.
POSTGRES_INSTALL = [
    "CREATE OR REPLACE FUNCTION rw_change_units() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' AND NEW.id IS NOT NULL THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('unit', NEW.id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; IF TG_OP <> 'INSERT' AND OLD.id IS NOT NULL AND (TG_OP = 'DELETE' OR OLD.id IS DISTINCT FROM NEW.id) THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('unit', OLD.id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; RETURN NULL; END $$",
    'DROP TRIGGER IF EXISTS rw_change_units ON units',
    'DROP TRIGGER IF EXISTS rw_change_units_upd ON units',
    'CREATE TRIGGER rw_change_units AFTER INSERT OR DELETE OR UPDATE ON units FOR EACH ROW EXECUTE FUNCTION rw_change_units()',
    "CREATE OR REPLACE FUNCTION rw_change_leases() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' AND NEW.unit_id IS NOT NULL THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('unit', NEW.unit_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; IF TG_OP <> 'INSERT' AND OLD.unit_id IS NOT NULL AND (TG_OP = 'DELETE' OR OLD.unit_id IS DISTINCT FROM NEW.unit_id) THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('unit', OLD.unit_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; RETURN NULL; END $$",
    'DROP TRIGGER IF EXISTS rw_change_leases ON leases',
    'DROP TRIGGER IF EXISTS rw_change_leases_upd ON leases',
    'CREATE TRIGGER rw_change_leases AFTER INSERT OR DELETE OR UPDATE ON leases FOR EACH ROW EXECUTE FUNCTION rw_change_leases()',
    "CREATE OR REPLACE FUNCTION rw_change_work_orders() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' AND NEW.unit_id IS NOT NULL THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('unit', NEW.unit_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; IF TG_OP <> 'INSERT' AND OLD.unit_id IS NOT NULL AND (TG_OP = 'DELETE' OR OLD.unit_id IS DISTINCT FROM NEW.unit_id) THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('unit', OLD.unit_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; RETURN NULL; END $$",
    'DROP TRIGGER IF EXISTS rw_change_work_orders ON work_orders',
    'DROP TRIGGER IF EXISTS rw_change_work_orders_upd ON work_orders',
    'CREATE TRIGGER rw_change_work_orders AFTER INSERT OR DELETE OR UPDATE ON work_orders FOR EACH ROW EXECUTE FUNCTION rw_change_work_orders()',
    "CREATE OR REPLACE FUNCTION rw_change_alerts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' AND NEW.unit_id IS NOT NULL THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('unit', NEW.unit_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; IF TG_OP <> 'INSERT' AND OLD.unit_id IS NOT NULL AND (TG_OP = 'DELETE' OR OLD.unit_id IS DISTINCT FROM NEW.unit_id) THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('unit', OLD.unit_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; RETURN NULL; END $$",
    'DROP TRIGGER IF EXISTS rw_change_alerts ON alerts',
    'DROP TRIGGER IF EXISTS rw_change_alerts_upd ON alerts',
    'CREATE TRIGGER rw_change_alerts AFTER INSERT OR DELETE ON alerts FOR EACH ROW EXECUTE FUNCTION rw_change_alerts()',
    'CREATE TRIGGER rw_change_alerts_upd AFTER UPDATE ON alerts FOR EACH ROW WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id OR OLD.type IS DISTINCT FROM NEW.type OR OLD.severity IS DISTINCT FROM NEW.severity OR OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION rw_change_alerts()',
    "CREATE OR REPLACE FUNCTION rw_change_status_reports() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' AND NEW.unit_id IS NOT NULL THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('unit', NEW.unit_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; IF TG_OP <> 'INSERT' AND OLD.unit_id IS NOT NULL AND (TG_OP = 'DELETE' OR OLD.unit_id IS DISTINCT FROM NEW.unit_id) THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('unit', OLD.unit_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; RETURN NULL; END $$",
    'DROP TRIGGER IF EXISTS rw_change_status_reports ON status_reports',
    'DROP TRIGGER IF EXISTS rw_change_status_reports_upd ON status_reports',
    'CREATE TRIGGER rw_change_status_reports AFTER INSERT OR DELETE OR UPDATE ON status_reports FOR EACH ROW EXECUTE FUNCTION rw_change_status_reports()',
    "CREATE OR REPLACE FUNCTION rw_change_buildings() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO change_log (kind, ref, at_us) VALUES ('all', 0, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); RETURN NULL; END $$",
    'DROP TRIGGER IF EXISTS rw_change_buildings ON buildings',
    'DROP TRIGGER IF EXISTS rw_change_buildings_upd ON buildings',
    'CREATE TRIGGER rw_change_buildings AFTER DELETE OR UPDATE ON buildings FOR EACH ROW EXECUTE FUNCTION rw_change_buildings()',
    "CREATE OR REPLACE FUNCTION rw_change_tenants() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO change_log (kind, ref, at_us) VALUES ('all', 0, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); RETURN NULL; END $$",
    'DROP TRIGGER IF EXISTS rw_change_tenants ON tenants',
    'DROP TRIGGER IF EXISTS rw_change_tenants_upd ON tenants',
    'CREATE TRIGGER rw_change_tenants_upd AFTER UPDATE ON tenants FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION rw_change_tenants()',
    "CREATE OR REPLACE FUNCTION rw_change_users() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' AND NEW.id IS NOT NULL THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('user', NEW.id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; IF TG_OP <> 'INSERT' AND OLD.id IS NOT NULL AND (TG_OP = 'DELETE' OR OLD.id IS DISTINCT FROM NEW.id) THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('user', OLD.id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; RETURN NULL; END $$",
    'DROP TRIGGER IF EXISTS rw_change_users ON users',
    'DROP TRIGGER IF EXISTS rw_change_users_upd ON users',
    'CREATE TRIGGER rw_change_users AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION rw_change_users()',
    'CREATE TRIGGER rw_change_users_upd AFTER UPDATE ON users FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.token_version IS DISTINCT FROM NEW.token_version OR OLD.name IS DISTINCT FROM NEW.name OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id) EXECUTE FUNCTION rw_change_users()',
    "CREATE OR REPLACE FUNCTION rw_change_building_staff() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' AND NEW.user_id IS NOT NULL THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('user', NEW.user_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; IF TG_OP <> 'INSERT' AND OLD.user_id IS NOT NULL AND (TG_OP = 'DELETE' OR OLD.user_id IS DISTINCT FROM NEW.user_id) THEN INSERT INTO change_log (kind, ref, at_us) VALUES ('user', OLD.user_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint); END IF; RETURN NULL; END $$",
    'DROP TRIGGER IF EXISTS rw_change_building_staff ON building_staff',
    'DROP TRIGGER IF EXISTS rw_change_building_staff_upd ON building_staff',
    'CREATE TRIGGER rw_change_building_staff AFTER INSERT OR DELETE OR UPDATE ON building_staff FOR EACH ROW EXECUTE FUNCTION rw_change_building_staff()',
]

#: SQLite: insert/update/delete triggers per tracked table.
SQLITE_INSTALL = [
    'DROP TRIGGER IF EXISTS rw_change_units_ins',
    'DROP TRIGGER IF EXISTS rw_change_units_upd',
    'DROP TRIGGER IF EXISTS rw_change_units_del',
    "CREATE TRIGGER rw_change_units_ins AFTER INSERT ON units BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', NEW.id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_units_del AFTER DELETE ON units BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', OLD.id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_units_upd AFTER UPDATE ON units BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', NEW.id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.id IS NOT NULL; INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', OLD.id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.id IS NOT NULL AND OLD.id IS NOT NEW.id; END",
    'DROP TRIGGER IF EXISTS rw_change_leases_ins',
    'DROP TRIGGER IF EXISTS rw_change_leases_upd',
    'DROP TRIGGER IF EXISTS rw_change_leases_del',
    "CREATE TRIGGER rw_change_leases_ins AFTER INSERT ON leases BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', NEW.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.unit_id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_leases_del AFTER DELETE ON leases BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', OLD.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.unit_id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_leases_upd AFTER UPDATE ON leases BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', NEW.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.unit_id IS NOT NULL; INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', OLD.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.unit_id IS NOT NULL AND OLD.unit_id IS NOT NEW.unit_id; END",
    'DROP TRIGGER IF EXISTS rw_change_work_orders_ins',
    'DROP TRIGGER IF EXISTS rw_change_work_orders_upd',
    'DROP TRIGGER IF EXISTS rw_change_work_orders_del',
    "CREATE TRIGGER rw_change_work_orders_ins AFTER INSERT ON work_orders BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', NEW.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.unit_id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_work_orders_del AFTER DELETE ON work_orders BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', OLD.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.unit_id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_work_orders_upd AFTER UPDATE ON work_orders BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', NEW.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.unit_id IS NOT NULL; INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', OLD.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.unit_id IS NOT NULL AND OLD.unit_id IS NOT NEW.unit_id; END",
    'DROP TRIGGER IF EXISTS rw_change_alerts_ins',
    'DROP TRIGGER IF EXISTS rw_change_alerts_upd',
    'DROP TRIGGER IF EXISTS rw_change_alerts_del',
    "CREATE TRIGGER rw_change_alerts_ins AFTER INSERT ON alerts BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', NEW.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.unit_id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_alerts_del AFTER DELETE ON alerts BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', OLD.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.unit_id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_alerts_upd AFTER UPDATE ON alerts WHEN OLD.unit_id IS NOT NEW.unit_id OR OLD.type IS NOT NEW.type OR OLD.severity IS NOT NEW.severity OR OLD.status IS NOT NEW.status BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', NEW.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.unit_id IS NOT NULL; INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', OLD.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.unit_id IS NOT NULL AND OLD.unit_id IS NOT NEW.unit_id; END",
    'DROP TRIGGER IF EXISTS rw_change_status_reports_ins',
    'DROP TRIGGER IF EXISTS rw_change_status_reports_upd',
    'DROP TRIGGER IF EXISTS rw_change_status_reports_del',
    "CREATE TRIGGER rw_change_status_reports_ins AFTER INSERT ON status_reports BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', NEW.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.unit_id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_status_reports_del AFTER DELETE ON status_reports BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', OLD.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.unit_id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_status_reports_upd AFTER UPDATE ON status_reports BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', NEW.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.unit_id IS NOT NULL; INSERT INTO change_log (kind, ref, at_us) SELECT 'unit', OLD.unit_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.unit_id IS NOT NULL AND OLD.unit_id IS NOT NEW.unit_id; END",
    'DROP TRIGGER IF EXISTS rw_change_buildings_ins',
    'DROP TRIGGER IF EXISTS rw_change_buildings_upd',
    'DROP TRIGGER IF EXISTS rw_change_buildings_del',
    "CREATE TRIGGER rw_change_buildings_del AFTER DELETE ON buildings BEGIN INSERT INTO change_log (kind, ref, at_us) VALUES ('all', 0, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER)); END",
    "CREATE TRIGGER rw_change_buildings_upd AFTER UPDATE ON buildings BEGIN INSERT INTO change_log (kind, ref, at_us) VALUES ('all', 0, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER)); END",
    'DROP TRIGGER IF EXISTS rw_change_tenants_ins',
    'DROP TRIGGER IF EXISTS rw_change_tenants_upd',
    'DROP TRIGGER IF EXISTS rw_change_tenants_del',
    "CREATE TRIGGER rw_change_tenants_upd AFTER UPDATE ON tenants WHEN OLD.name IS NOT NEW.name BEGIN INSERT INTO change_log (kind, ref, at_us) VALUES ('all', 0, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER)); END",
    'DROP TRIGGER IF EXISTS rw_change_users_ins',
    'DROP TRIGGER IF EXISTS rw_change_users_upd',
    'DROP TRIGGER IF EXISTS rw_change_users_del',
    "CREATE TRIGGER rw_change_users_del AFTER DELETE ON users BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'user', OLD.id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_users_upd AFTER UPDATE ON users WHEN OLD.role IS NOT NEW.role OR OLD.is_active IS NOT NEW.is_active OR OLD.token_version IS NOT NEW.token_version OR OLD.name IS NOT NEW.name OR OLD.tenant_id IS NOT NEW.tenant_id BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'user', NEW.id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.id IS NOT NULL; INSERT INTO change_log (kind, ref, at_us) SELECT 'user', OLD.id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.id IS NOT NULL AND OLD.id IS NOT NEW.id; END",
    'DROP TRIGGER IF EXISTS rw_change_building_staff_ins',
    'DROP TRIGGER IF EXISTS rw_change_building_staff_upd',
    'DROP TRIGGER IF EXISTS rw_change_building_staff_del',
    "CREATE TRIGGER rw_change_building_staff_ins AFTER INSERT ON building_staff BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'user', NEW.user_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.user_id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_building_staff_del AFTER DELETE ON building_staff BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'user', OLD.user_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.user_id IS NOT NULL; END",
    "CREATE TRIGGER rw_change_building_staff_upd AFTER UPDATE ON building_staff BEGIN INSERT INTO change_log (kind, ref, at_us) SELECT 'user', NEW.user_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE NEW.user_id IS NOT NULL; INSERT INTO change_log (kind, ref, at_us) SELECT 'user', OLD.user_id, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER) WHERE OLD.user_id IS NOT NULL AND OLD.user_id IS NOT NEW.user_id; END",
]

#: The reverse on PostgreSQL: triggers, then their functions.
POSTGRES_REMOVE = [
    'DROP TRIGGER IF EXISTS rw_change_units ON units',
    'DROP TRIGGER IF EXISTS rw_change_units_upd ON units',
    'DROP TRIGGER IF EXISTS rw_change_leases ON leases',
    'DROP TRIGGER IF EXISTS rw_change_leases_upd ON leases',
    'DROP TRIGGER IF EXISTS rw_change_work_orders ON work_orders',
    'DROP TRIGGER IF EXISTS rw_change_work_orders_upd ON work_orders',
    'DROP TRIGGER IF EXISTS rw_change_alerts ON alerts',
    'DROP TRIGGER IF EXISTS rw_change_alerts_upd ON alerts',
    'DROP TRIGGER IF EXISTS rw_change_status_reports ON status_reports',
    'DROP TRIGGER IF EXISTS rw_change_status_reports_upd ON status_reports',
    'DROP TRIGGER IF EXISTS rw_change_buildings ON buildings',
    'DROP TRIGGER IF EXISTS rw_change_buildings_upd ON buildings',
    'DROP TRIGGER IF EXISTS rw_change_tenants ON tenants',
    'DROP TRIGGER IF EXISTS rw_change_tenants_upd ON tenants',
    'DROP TRIGGER IF EXISTS rw_change_users ON users',
    'DROP TRIGGER IF EXISTS rw_change_users_upd ON users',
    'DROP TRIGGER IF EXISTS rw_change_building_staff ON building_staff',
    'DROP TRIGGER IF EXISTS rw_change_building_staff_upd ON building_staff',
    'DROP FUNCTION IF EXISTS rw_change_units()',
    'DROP FUNCTION IF EXISTS rw_change_leases()',
    'DROP FUNCTION IF EXISTS rw_change_work_orders()',
    'DROP FUNCTION IF EXISTS rw_change_alerts()',
    'DROP FUNCTION IF EXISTS rw_change_status_reports()',
    'DROP FUNCTION IF EXISTS rw_change_buildings()',
    'DROP FUNCTION IF EXISTS rw_change_tenants()',
    'DROP FUNCTION IF EXISTS rw_change_users()',
    'DROP FUNCTION IF EXISTS rw_change_building_staff()',
]

#: The reverse on SQLite.
SQLITE_REMOVE = [
    'DROP TRIGGER IF EXISTS rw_change_units_ins',
    'DROP TRIGGER IF EXISTS rw_change_units_upd',
    'DROP TRIGGER IF EXISTS rw_change_units_del',
    'DROP TRIGGER IF EXISTS rw_change_leases_ins',
    'DROP TRIGGER IF EXISTS rw_change_leases_upd',
    'DROP TRIGGER IF EXISTS rw_change_leases_del',
    'DROP TRIGGER IF EXISTS rw_change_work_orders_ins',
    'DROP TRIGGER IF EXISTS rw_change_work_orders_upd',
    'DROP TRIGGER IF EXISTS rw_change_work_orders_del',
    'DROP TRIGGER IF EXISTS rw_change_alerts_ins',
    'DROP TRIGGER IF EXISTS rw_change_alerts_upd',
    'DROP TRIGGER IF EXISTS rw_change_alerts_del',
    'DROP TRIGGER IF EXISTS rw_change_status_reports_ins',
    'DROP TRIGGER IF EXISTS rw_change_status_reports_upd',
    'DROP TRIGGER IF EXISTS rw_change_status_reports_del',
    'DROP TRIGGER IF EXISTS rw_change_buildings_ins',
    'DROP TRIGGER IF EXISTS rw_change_buildings_upd',
    'DROP TRIGGER IF EXISTS rw_change_buildings_del',
    'DROP TRIGGER IF EXISTS rw_change_tenants_ins',
    'DROP TRIGGER IF EXISTS rw_change_tenants_upd',
    'DROP TRIGGER IF EXISTS rw_change_tenants_del',
    'DROP TRIGGER IF EXISTS rw_change_users_ins',
    'DROP TRIGGER IF EXISTS rw_change_users_upd',
    'DROP TRIGGER IF EXISTS rw_change_users_del',
    'DROP TRIGGER IF EXISTS rw_change_building_staff_ins',
    'DROP TRIGGER IF EXISTS rw_change_building_staff_upd',
    'DROP TRIGGER IF EXISTS rw_change_building_staff_del',
]

INSTALL = {"postgres": POSTGRES_INSTALL, "sqlite": SQLITE_INSTALL}


async def install(apps, schema_editor) -> None:
    dialect = schema_editor.client.capabilities.dialect
    if dialect not in INSTALL:
        raise ValueError(f"no change triggers for the {dialect} dialect")
    for statement in INSTALL[dialect]:
        await schema_editor.client.execute_script(statement)


async def remove(apps, schema_editor) -> None:
    dialect = schema_editor.client.capabilities.dialect
    for statement in POSTGRES_REMOVE if dialect == "postgres" else SQLITE_REMOVE:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(install, remove)]
