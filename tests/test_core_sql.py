"""core.sql: names from the models and the one placeholder rule, then the helpers on the real database."""

from __future__ import annotations

import pytest
from tortoise.connection import get_connection

from core import sql
from core.sql import _render, names
from models.iot import Device, DoorEvent, HourlyRollup
from models.portfolio import Unit


@pytest.mark.parametrize("written,postgres", [
    ("SELECT a FROM t WHERE x = ? AND y = ?", "SELECT a FROM t WHERE x = $1 AND y = $2"),
    ("UPDATE t SET a = ?1 WHERE id = ?2 AND a < ?1", "UPDATE t SET a = $1 WHERE id = $2 AND a < $1"),
    ("SELECT ?2, ?", "SELECT $2, $3"),  # SQLite's rule: a bare ? after ?N is N + 1
    ("SELECT 'a?b', ? WHERE f <> 'it''s ?'", "SELECT 'a?b', $1 WHERE f <> 'it''s ?'"),  # literals untouched
    ("SELECT 1", "SELECT 1"),
])
def test_placeholders(written, postgres):
    assert _render(written, True) == postgres
    assert _render(written, False) == written  # SQLite takes both forms as written


def test_names_come_from_the_models():
    d = names(DoorEvent)
    assert str(d) == "iot_door_events" and f"{d}" == "iot_door_events"
    assert d.device == d.device_id == "device_id" and d.at == "at" and d.cols("device", "is_open") == \
        "device_id, is_open"
    assert names(Device).building == "building_id" and names(Unit).last_inspected_at == "last_inspected_at"
    assert names(Unit) is names(Unit)  # cached
    with pytest.raises(AttributeError, match="no column for field 'devise'"):
        _ = d.devise
    with pytest.raises(AttributeError):
        _ = names(Unit).devices  # a reverse relation has no column here


async def test_execute_and_bulk_on_the_database(db):
    conn = get_connection("default")
    h = names(HourlyRollup)
    rows = [[1, None, "DOOR", 100 + n, float(n), 1] for n in range(5)]
    await sql.bulk(conn, f"INSERT INTO {h} ({h.cols('device_id', 'unit_id', 'kind', 'hour_ts', 'value', 'messages')})"
                         " {rows}", ["int", "int", "text", "int8", "float8", "int"], rows)
    await sql.bulk(conn, "INSERT INTO nothing {rows}", ["int"], [])  # no rows: no statement
    found = await sql.execute(conn, f"SELECT {h.hour_ts}, {h.value} FROM {h} WHERE {h.hour_ts} >= ?1 "
                                    f"AND {h.value} >= ? ORDER BY {h.hour_ts}", [102, 3.0])
    assert [(r[0], r[1]) for r in found] == [(103, 3.0), (104, 4.0)]
    await sql.execute_many(conn, f"UPDATE {h} SET {h.value} = ? WHERE {h.hour_ts} = ?", [[9.0, 100], [8.0, 101]])
    assert sorted(await HourlyRollup.filter(hour_ts__lt=102).values_list("value", flat=True)) == [8.0, 9.0]
    assert sql.is_postgres(conn) == (conn.capabilities.dialect == "postgres")


async def test_copy_new_stores_rows_once_and_the_transaction_goes_on(db):
    """New rows by COPY (PostgreSQL) or the fallback; rows partly stored already go in by the fallback's ON CONFLICT:
    each key once, the earlier value kept, and the transaction that saw the violation commits the rest."""
    from tortoise.transactions import in_transaction

    h = names(HourlyRollup)
    columns = ("device_id", "unit_id", "kind", "hour_ts", "value", "messages")
    fallback = (f"INSERT INTO {h} ({h.cols(*columns)}) {{rows}} ON CONFLICT ({h.device_id}, {h.hour_ts}) DO NOTHING")
    types = ["int", "int", "text", "int8", "float8", "int"]
    async with in_transaction() as conn:
        await sql.copy_new(conn, str(h), columns, fallback, types, [[1, None, "DOOR", n, 1.0, 1] for n in range(3)])
        await sql.copy_new(conn, str(h), columns, fallback, types, [[1, None, "DOOR", n, 2.0, 2] for n in range(5)])
        await sql.copy_new(conn, str(h), columns, fallback, types, [])
        await sql.execute(conn, f"UPDATE {h} SET {h.messages} = {h.messages} + 10 WHERE {h.hour_ts} = ?", [4])
    rows = await HourlyRollup.all().order_by("hour_ts").values_list("hour_ts", "value", "messages")
    assert rows == [(0, 1.0, 1), (1, 1.0, 1), (2, 1.0, 1), (3, 2.0, 2), (4, 2.0, 12)]


async def test_insert_returning_stores_rows_as_save_does(db, world):
    """Many new instances in one statement: the values as ``save()`` writes them (defaults, auto_now, JSON, UUID),
    the returned column matched by a unique one; a constraint violation writes none of the rows."""
    import uuid
    from datetime import UTC, datetime

    from tortoise.exceptions import IntegrityError
    from tortoise.transactions import in_transaction

    from models.inspections import StatusReport

    unit, at = world.a.unit, datetime(2026, 11, 2, 8, 30, tzinfo=UTC)

    def report(n: int, client_id=None) -> StatusReport:
        return StatusReport(client_id=client_id or uuid.uuid4(), content_hash=f"h{n}", unit_id=unit.id,
                            author_id=world.a.inspector.id, category="ROUTINE", no_change=True,
                            observed_status=unit.status, state="ACCEPTED", flags=["F", n], photo_ids=[],
                            lat=22.5, lng=113.9, coord_system="wgs84", accuracy_m=10.0, wgs84_lat=22.5,
                            wgs84_lng=113.9, distance_m=float(n), captured_at=at)

    conn = get_connection("default")
    reports = [report(n) for n in range(3)]
    rows = await sql.insert_returning(conn, reports, returning=("client_id", "id"))
    ids = {str(r["client_id"]): r["id"] for r in rows}
    assert set(ids) == {str(r.client_id) for r in reports}
    for r in reports:
        stored = await StatusReport.get(id=ids[str(r.client_id)])
        assert (stored.client_id, stored.flags, stored.distance_m, stored.captured_at, stored.note) == \
            (r.client_id, r.flags, r.distance_m, at, "")
        assert stored.created_at is not None and stored.created_at == r.created_at  # set on the instance too
    assert await sql.insert_returning(conn, [], returning=("id",)) == []
    clash = [report(7), report(8, client_id=reports[0].client_id)]
    with pytest.raises(IntegrityError):
        async with in_transaction() as tx:
            await sql.insert_returning(tx, clash, returning=("id",))
    assert not await StatusReport.filter(content_hash__in=["h7", "h8"]).exists()


async def test_bulk_returning_answers_the_inserted_rows(db):
    """Plain rows in one INSERT … RETURNING (several statements on SQLite past the parameter limit): every row
    stored and returned, matched by a unique column; a constraint violation writes none of them."""
    from tortoise.exceptions import IntegrityError
    from tortoise.transactions import in_transaction

    conn = get_connection("default")
    h = names(HourlyRollup)
    statement = (f"INSERT INTO {h} ({h.cols('device_id', 'unit_id', 'kind', 'hour_ts', 'value', 'messages')}) "
                 f"{{rows}} RETURNING {h.hour_ts}, {h.id}")
    types = ["int", "int", "text", "int8", "float8", "int"]
    rows = [[1, None, "DOOR", 1000 + n, float(n), 1] for n in range(6000)]  # 36,000 parameters
    returned = await sql.bulk_returning(conn, statement, types, rows)
    assert sorted(r["hour_ts"] for r in returned) == [1000 + n for n in range(6000)]
    stored = dict(await HourlyRollup.filter(hour_ts__gte=1000).values_list("hour_ts", "id"))
    assert {r["hour_ts"]: r["id"] for r in returned} == stored
    assert await sql.bulk_returning(conn, statement, types, []) == []
    with pytest.raises(IntegrityError):
        async with in_transaction() as tx:
            await sql.bulk_returning(tx, statement, types, [[1, None, "DOOR", 1, 1.0, 1], [1, None, None, 2, 1.0, 1]])
    assert not await HourlyRollup.filter(hour_ts__in=[1, 2]).exists()
