"""Database triggers that write change_log rows (core.changes): the per-worker caches read them."""

from tortoise import migrations
from tortoise.migrations import operations as ops


async def install(apps, schema_editor) -> None:
    from core.changes import install_change_triggers

    await install_change_triggers(schema_editor.client)


async def remove(apps, schema_editor) -> None:
    from core.changes import drop_statements

    for statement in drop_statements(schema_editor.client.capabilities.dialect):
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(install, remove)]
