"""Data: existing leases get their terms as data (from the old columns), and existing tenants become parties —
tenants with the same phone and the same name are merged into one (the lowest id keeps every reference); tenants
sharing a phone under different names are kept apart and listed in party_merge_reviews for a person to decide.

Self-contained on purpose (plain SQL, its own normalisation): live code may change after this migration ran."""

import json
import re
import unicodedata

from tortoise import migrations
from tortoise.migrations import operations as ops

TENANT_REFERENCES = ("leases", "users", "binding_codes", "deposit_refunds", "tenant_debts")


def _phone(value):
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", value or ""))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix):]
    return digits


def _name(value):
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value or "")).strip()


def _sql(client, statement):
    if client.capabilities.dialect == "postgres":
        n = 0

        def number(_match):
            nonlocal n
            n += 1
            return f"${n}"

        return re.sub(r"\?", number, statement)
    return statement


async def backfill_terms(client) -> None:
    _, rows = await client.execute_query(
        "SELECT id, start_date, end_date, monthly_rent_fen, deposit_fen, payment_frequency, terms FROM leases")
    for row in rows:
        terms = row["terms"]
        if isinstance(terms, str):
            terms = json.loads(terms or "{}")
        if terms:
            continue
        data = {"start_date": str(row["start_date"])[:10], "end_date": str(row["end_date"])[:10],
                "frequency": row["payment_frequency"], "rent_basis": "MONTHLY_AMOUNT",
                "monthly_rent_fen": int(row["monthly_rent_fen"]) or None, "deposit_fen": int(row["deposit_fen"]),
                "timing": "IN_ADVANCE", "timing_days": 0}
        await client.execute_query(_sql(client, "UPDATE leases SET terms = ? WHERE id = ?"),
                                   [json.dumps(data), row["id"]])


async def merge_tenants(client) -> None:
    _, rows = await client.execute_query("SELECT id, name, phone FROM tenants ORDER BY id")
    groups = {}
    for row in rows:
        phone = _phone(row["phone"])
        if phone:
            groups.setdefault(phone, []).append(row)
        if phone != (row["phone"] or ""):
            await client.execute_query(_sql(client, "UPDATE tenants SET phone = ? WHERE id = ?"), [phone, row["id"]])
    for phone, members in groups.items():
        if len(members) < 2:
            continue
        names = {_name(m["name"]) for m in members}
        ids = [m["id"] for m in members]
        if len(names) > 1:
            await client.execute_query(
                _sql(client, "INSERT INTO party_merge_reviews (phone, tenant_ids, reason, created_at, updated_at) "
                             "VALUES (?, ?, ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                [phone, json.dumps(ids), f"same phone, {len(names)} different names: not merged"])
            continue
        keep, others = ids[0], ids[1:]
        for table in TENANT_REFERENCES:
            for other in others:
                await client.execute_query(_sql(client, f"UPDATE {table} SET tenant_id = ? WHERE tenant_id = ?"),
                                           [keep, other])
        for other in others:
            await client.execute_query(_sql(client, "DELETE FROM tenants WHERE id = ?"), [other])


async def forward(apps, schema_editor) -> None:
    await backfill_terms(schema_editor.client)
    await merge_tenants(schema_editor.client)


async def backward(apps, schema_editor) -> None:
    """Merges cannot be undone; the terms stay (the columns they came from are still there)."""


class Migration(migrations.Migration):
    dependencies = [("models", "0004_leasing_ledger")]

    operations = [ops.RunPython(forward, backward)]
