"""Database triggers that refuse UPDATE and DELETE on a table: an append-only log stays append-only even for code
(or a person with a SQL prompt) that goes around the ORM. PostgreSQL: one shared plpgsql function raising, a
row trigger per table (and TRUNCATE refused too); SQLite: BEFORE UPDATE/DELETE triggers that RAISE(ABORT).

A migration that installs these keeps its own copy of the statements (migrations are self-contained); a test
compares the two.
"""

from __future__ import annotations

POSTGRES_FUNCTION = ("CREATE OR REPLACE FUNCTION rw_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP "
                     "USING ERRCODE = 'insufficient_privilege'; END $$")


def append_only_statements(table: str, dialect: str) -> list[str]:
    """The DDL for ``table`` on ``dialect`` ("postgres" or "sqlite"); each statement drops before it creates."""
    if dialect == "postgres":
        return [POSTGRES_FUNCTION,
                f"DROP TRIGGER IF EXISTS rw_append_only_{table} ON {table}",
                f"CREATE TRIGGER rw_append_only_{table} BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION rw_append_only()",
                f"DROP TRIGGER IF EXISTS rw_append_only_{table}_truncate ON {table}",
                f"CREATE TRIGGER rw_append_only_{table}_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION rw_append_only()"]
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS rw_append_only_{table}_upd",
                f"CREATE TRIGGER rw_append_only_{table}_upd BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: UPDATE refused'); END",
                f"DROP TRIGGER IF EXISTS rw_append_only_{table}_del",
                f"CREATE TRIGGER rw_append_only_{table}_del BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: DELETE refused'); END"]
    raise ValueError(f"no append-only triggers for the {dialect} dialect")


async def install_append_only(table: str, connection=None) -> None:
    """Run by test set-ups that build schemas directly (the migration runs its own copy)."""
    if connection is None:
        from tortoise.connection import get_connection

        connection = get_connection("default")
    for statement in append_only_statements(table, connection.capabilities.dialect):
        await connection.execute_script(statement)
