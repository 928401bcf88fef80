"""Per (unit, local day) facts of the hourly roll-ups, kept up to date so the daily rules read 30 rows per unit
instead of aggregating 720+ roll-ups per device on every run.

- Database triggers on ``iot_hourly`` record, for every statement that writes roll-ups (ingest, a replay, a
  correction by hand), which (device, unit, UTC day) changed in ``iot_hourly_changes``.
- ``refresh`` (run by detection before it reads) claims those changes and drops the completeness mark
  (``iot_daily_fact_days``) of every local day they touch; then aggregates again, for all units at once, each
  day of the window that is not marked complete under the run's ``basis`` and marks it. Every unit reports
  daily, so a day is the unit of recomputation: a daily run aggregates the new day and the day a UTC day
  straddles; a gateway replaying into an old day costs that day.
- ``read_statement``: the facts of a window, in the columns of ``day_statement`` (the aggregate they are made of).

A basis is what the aggregate depends on besides the roll-ups: the timezone offset, the night and evening
hours, the vacant thresholds and the building group; a change of settings or of a zone's offset reads under a
new basis, aggregated afresh. Concurrency (PostgreSQL): a writer's trigger locks its change rows until it
commits and the claim deletes them, so a claim waits for writes in flight and the aggregate after it sees them;
changes written after the claim stay for the next run. Two runs at once both write the same facts (upserts).
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from config.settings import Settings
from core import sql
from core.sql import names
from iot.choices import DeviceKind
from iot.occupancy import EVENING_START
from iot.rules import day_number
from models.iot import DailyFact, DailyFactDay, HourlyChange, HourlyRollup
from models.portfolio import Unit

#: facts (and completeness marks) older than this many days before a run's window are deleted by the run
RETAIN_DAYS = 90
#: PostgreSQL's work_mem for the aggregate of the days built (in memory, not spilled to disk: a day of 10,000
#: units is 720,000 roll-ups); for this transaction only
BUILD_WORK_MEM = "32MB"
#: the aggregate's columns, c0…c15 (``day_statement``; iot.detection.day_facts reads them in this order)
FACT_COLUMNS = tuple(f"c{k}" for k in range(16))

# ------------------------------------------------------------------------------------------------ triggers
# Written out here; migration 0021 keeps its own copy (tests/test_iot_daily_facts.py compares the two).

_PG_MARK = ("INSERT INTO iot_hourly_changes (device_id, unit_id, utc_day) SELECT DISTINCT device_id, unit_id, "
            "hour_ts / 24 FROM ({rows}) AS r WHERE unit_id IS NOT NULL ORDER BY 1, 2, 3 "
            "ON CONFLICT (device_id, unit_id, utc_day) DO UPDATE SET utc_day = excluded.utc_day WHERE false")


def _pg_function(name: str, rows: str) -> str:
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            + _PG_MARK.format(rows=rows) + "; RETURN NULL; END $$")


POSTGRES_INSTALL = [
    _pg_function("rw_hourly_changes_ins", "SELECT device_id, unit_id, hour_ts FROM rw_new"),
    _pg_function("rw_hourly_changes_upd", "SELECT device_id, unit_id, hour_ts FROM rw_new UNION ALL "
                                          "SELECT device_id, unit_id, hour_ts FROM rw_old"),
    _pg_function("rw_hourly_changes_del", "SELECT device_id, unit_id, hour_ts FROM rw_old"),
    "CREATE OR REPLACE FUNCTION rw_hourly_changes_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM iot_daily_fact_days; RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS rw_hourly_changes_ins ON iot_hourly",
    "CREATE TRIGGER rw_hourly_changes_ins AFTER INSERT ON iot_hourly REFERENCING NEW TABLE AS rw_new "
    "FOR EACH STATEMENT EXECUTE FUNCTION rw_hourly_changes_ins()",
    "DROP TRIGGER IF EXISTS rw_hourly_changes_upd ON iot_hourly",
    "CREATE TRIGGER rw_hourly_changes_upd AFTER UPDATE ON iot_hourly REFERENCING OLD TABLE AS rw_old "
    "NEW TABLE AS rw_new FOR EACH STATEMENT EXECUTE FUNCTION rw_hourly_changes_upd()",
    "DROP TRIGGER IF EXISTS rw_hourly_changes_del ON iot_hourly",
    "CREATE TRIGGER rw_hourly_changes_del AFTER DELETE ON iot_hourly REFERENCING OLD TABLE AS rw_old "
    "FOR EACH STATEMENT EXECUTE FUNCTION rw_hourly_changes_del()",
    "DROP TRIGGER IF EXISTS rw_hourly_changes_truncate ON iot_hourly",
    "CREATE TRIGGER rw_hourly_changes_truncate AFTER TRUNCATE ON iot_hourly "
    "FOR EACH STATEMENT EXECUTE FUNCTION rw_hourly_changes_truncate()",
]


def _sqlite_mark(row: str) -> str:
    # (not INSERT OR IGNORE: a trigger's conflict policy gives way to the outer statement's)
    return (f"INSERT INTO iot_hourly_changes (device_id, unit_id, utc_day) SELECT {row}.device_id, "
            f"{row}.unit_id, {row}.hour_ts / 24 WHERE {row}.unit_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
            f"iot_hourly_changes c WHERE c.device_id = {row}.device_id AND c.unit_id = {row}.unit_id "
            f"AND c.utc_day = {row}.hour_ts / 24);")


SQLITE_INSTALL = [
    "DROP TRIGGER IF EXISTS rw_hourly_changes_ins",
    f"CREATE TRIGGER rw_hourly_changes_ins AFTER INSERT ON iot_hourly BEGIN {_sqlite_mark('NEW')} END",
    "DROP TRIGGER IF EXISTS rw_hourly_changes_upd",
    f"CREATE TRIGGER rw_hourly_changes_upd AFTER UPDATE ON iot_hourly BEGIN {_sqlite_mark('NEW')} "
    f"{_sqlite_mark('OLD')} END",
    "DROP TRIGGER IF EXISTS rw_hourly_changes_del",
    f"CREATE TRIGGER rw_hourly_changes_del AFTER DELETE ON iot_hourly BEGIN {_sqlite_mark('OLD')} END",
]

POSTGRES_REMOVE = [f"DROP TRIGGER IF EXISTS rw_hourly_changes_{e} ON iot_hourly"
                   for e in ("ins", "upd", "del", "truncate")] + \
    [f"DROP FUNCTION IF EXISTS rw_hourly_changes_{e}()" for e in ("ins", "upd", "del", "truncate")]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS rw_hourly_changes_{e}" for e in ("ins", "upd", "del")]


def trigger_statements(dialect: str) -> list[str]:
    if dialect == "postgres":
        return POSTGRES_INSTALL
    if dialect == "sqlite":
        return SQLITE_INSTALL
    raise ValueError(f"no roll-up change triggers for the {dialect} dialect")


async def install_triggers(connection: Any = None) -> None:
    """Run by test set-ups and benchmarks that build schemas directly (migration 0021 runs its own copy)."""
    if connection is None:
        from tortoise.connection import get_connection

        connection = get_connection("default")
    for statement in trigger_statements(connection.capabilities.dialect):
        await connection.execute_script(statement)


# ------------------------------------------------------------------------------------------------ aggregate

def zone_offset(tz: ZoneInfo, last: date) -> int:
    """The UTC offset (hours) a window ending on ``last`` is read with: the whole window takes that day's."""
    offset = tz.utcoffset(datetime.combine(last, time(12)))
    return int(offset.total_seconds() // 3600) if offset else 0


def day_statement(building_ids: list[int] | None, tz: ZoneInfo, first: date, last: date,
                  settings: Settings, *, offset_h: int | None = None) -> tuple[str, list[int]]:
    """One aggregate over the hourly roll-ups of the local days ``first``…``last``: a row per (unit, local day),
    each kind in columns of its own (iot.detection.day_facts reads the row; read ordered by ``unit_id, d``).
    ``offset_h``: the UTC offset to read with (default: ``last``'s in ``tz``)."""
    if offset_h is None:
        offset_h = zone_offset(tz, last)
    start_h = day_number(first) * 24 - offset_h
    end_h = (day_number(last) + 1) * 24 - offset_h
    night_start, night_end = settings.iot_night_hours
    kwh_h, m3_h = settings.iot_vacant_kwh_per_hour, settings.iot_vacant_m3_per_hour
    h, u = names(HourlyRollup), names(Unit)
    local = f"({h.hour_ts} + {offset_h})"
    hod = f"{local} % 24"
    water, door, elec, plug = DeviceKind.WATER, DeviceKind.DOOR, DeviceKind.ELECTRICITY, DeviceKind.PLUG
    is_w, is_d = f"{h.kind} = '{water}'", f"{h.kind} = '{door}'"
    is_e, is_p = f"{h.kind} = '{elec}'", f"{h.kind} = '{plug}'"
    is_meter_e = f"{h.kind} <> '{water}' AND {h.kind} <> '{door}'"  # electricity and plugs
    night = f"{hod} >= {night_start} AND {hod} < {night_end}"
    # water above the vacant hourly baseline, or a door opening: what a day's activity span is read from
    active = f"(({is_d} AND {h.value} > 0) OR ({is_w} AND {h.value} > {m3_h}))"

    def total(cond: str) -> str:
        return f"SUM(CASE WHEN {cond} THEN {h.value} END)"

    def count(cond: str) -> str:
        return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"

    columns = [  # the order of day_facts
        total(is_e), total(is_p), total(is_w), total(is_d),
        total(f"{is_e} AND {night}"), total(f"{is_p} AND {night}"), total(f"{is_d} AND {night}"),
        count(f"{is_e} AND {h.messages} > 0"), count(f"{is_p} AND {h.messages} > 0"),
        count(f"{is_w} AND {h.messages} > 0"),
        count(f"{is_meter_e} AND {h.value} > {kwh_h}"),
        f"SUM(CASE WHEN {is_d} THEN {h.messages} END)",
        count(f"{hod} >= {EVENING_START} AND {is_meter_e} AND {h.value} > {kwh_h}"),
        total(f"{is_d} AND {hod} >= {EVENING_START}"),
        f"MIN(CASE WHEN {active} THEN {hod} END)", f"MAX(CASE WHEN {active} THEN {hod} END)"]
    statement = (
        f"SELECT {h.unit_id} AS unit_id, {local} / 24 AS d, "
        + ", ".join(f"{c} AS c{k}" for k, c in enumerate(columns)) + " "
        f"FROM {h} WHERE {h.hour_ts} >= ? AND {h.hour_ts} < ? AND {h.unit_id} IS NOT NULL")
    if building_ids is not None:
        statement += (f" AND {h.unit_id} IN (SELECT {u.id} FROM {u} WHERE {u.building} IN ("
                      + ",".join(str(int(b)) for b in building_ids) + "))")
    statement += f" GROUP BY {h.unit_id}, d"
    return statement, [start_h, end_h]


def basis_of(offset_h: int, building_ids: list[int] | None, settings: Settings) -> str:
    """What the facts of a zone group were aggregated under (``DailyFact.basis``)."""
    night_start, night_end = settings.iot_night_hours
    group = "*" if building_ids is None else ",".join(str(int(b)) for b in sorted(building_ids))
    text = (f"{offset_h}|{night_start}-{night_end}|{EVENING_START}|{settings.iot_vacant_kwh_per_hour!r}|"
            f"{settings.iot_vacant_m3_per_hour!r}|{group}")
    return f"{offset_h}:" + hashlib.sha256(text.encode()).hexdigest()[:40]


# ------------------------------------------------------------------------------------------------ refresh

_f, _c, _k = names(DailyFact), names(DailyFactDay), names(HourlyChange)
_FACT_COLS = _f.cols("basis", "unit_id", "day", *FACT_COLUMNS)
_UPSERT = (f"ON CONFLICT ({_f.basis}, {_f.day}, {_f.unit_id}) DO UPDATE SET "
           + ", ".join(f"{getattr(_f, c)} = excluded.{getattr(_f, c)}" for c in FACT_COLUMNS))
_temporary = itertools.count(1)


def _conn() -> Any:
    from tortoise.connection import get_connection

    return get_connection("default")


async def claim_changes() -> int:
    """Claim the recorded roll-up changes: the local days they touch are no longer complete under any basis.
    Returns the number of UTC days claimed."""
    async with in_transaction() as conn:
        if sql.is_postgres(conn):
            rows = await sql.execute(conn, f"WITH claimed AS (DELETE FROM {_k} RETURNING {_k.utc_day}) "
                                           f"SELECT DISTINCT {_k.utc_day} FROM claimed")
        else:  # one writer at a time: read and delete in one transaction
            rows = await sql.execute(conn, f"SELECT DISTINCT {_k.utc_day} FROM {_k}")
            await sql.execute(conn, f"DELETE FROM {_k}")
        utc_days = sorted(int(r[0]) for r in rows)
        for a, b in _runs(utc_days):
            # local day d covers the UTC hours [d·24 − offset, (d+1)·24 − offset): drop it if it overlaps the
            # claimed UTC days a…b, i.e. the hours [a·24, (b+1)·24)
            await sql.execute(conn, f"DELETE FROM {_c} WHERE {_c.day} * 24 - {_c.offset_h} < ? "
                                    f"AND ({_c.day} + 1) * 24 - {_c.offset_h} > ?", [(b + 1) * 24, a * 24])
    return len(utc_days)


def _runs(days: list[int]) -> list[tuple[int, int]]:
    """Consecutive day numbers as (first, last) runs."""
    out: list[tuple[int, int]] = []
    for d in days:
        if out and out[-1][1] == d - 1:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


async def build_days(basis: str, offset_h: int, building_ids: list[int] | None, tz: ZoneInfo, first: int,
                     last: int, settings: Settings, now: datetime) -> None:
    """Aggregate the local days ``first``…``last`` (day numbers) afresh for every unit and mark them complete."""
    from iot.rules import day_of

    statement, params = day_statement(building_ids, tz, day_of(first), day_of(last), settings, offset_h=offset_h)
    select = f"SELECT CAST(? AS VARCHAR(64)), unit_id, d, {', '.join(FACT_COLUMNS)} FROM ({statement}) AS s WHERE true"
    async with in_transaction() as conn:
        await sql.execute(conn, f"DELETE FROM {_f} WHERE {_f.basis} = ? AND {_f.day} >= ? AND {_f.day} <= ?",
                          [basis, first, last])
        if sql.is_postgres(conn):
            # CREATE TABLE AS may use parallel workers, INSERT … SELECT may not; JIT of this wide aggregate costs
            # more than it saves; the default work_mem sends its sort or hash to disk
            await sql.execute(conn, "SELECT set_config('jit', 'off', true), set_config('work_mem', ?, true)",
                              [BUILD_WORK_MEM])
            table = f"rw_daily_facts_{next(_temporary)}"
            await sql.execute(conn, f"CREATE TEMPORARY TABLE {table} ON COMMIT DROP AS {statement}", params)
            await sql.execute(conn, f"INSERT INTO {_f} ({_FACT_COLS}) SELECT CAST(? AS VARCHAR(64)), unit_id, d, "
                                    f"{', '.join(FACT_COLUMNS)} FROM {table} WHERE true {_UPSERT}", [basis])
        else:
            await sql.execute(conn, f"INSERT INTO {_f} ({_FACT_COLS}) {select} {_UPSERT}", [basis, *params])
        await sql.execute_many(
            conn, f"INSERT INTO {_c} ({_c.cols('basis', 'offset_h', 'day', 'computed_at')}) VALUES (?, ?, ?, ?) "
                  f"ON CONFLICT ({_c.basis}, {_c.day}) DO NOTHING",
            [[basis, offset_h, d, now] for d in range(first, last + 1)])


async def refresh(zones: list[tuple[ZoneInfo, list[int] | None]], first: date, last: date,
                  settings: Settings) -> list[str]:
    """Bring the facts of the local days ``first``…``last`` up to date for each zone group (the run's
    ``zones``); returns each group's basis, in the order of ``zones``."""
    await claim_changes()
    now = datetime.now(UTC)
    lo, hi = day_number(first), day_number(last)
    bases = []
    for tz, only in zones:
        offset_h = zone_offset(tz, last)
        basis = basis_of(offset_h, only, settings)
        bases.append(basis)
        done = {int(r[0]) for r in await sql.execute(
            _conn(), f"SELECT {_c.day} FROM {_c} WHERE {_c.basis} = ? AND {_c.day} >= ? AND {_c.day} <= ?",
            [basis, lo, hi])}
        for a, b in _runs([d for d in range(lo, hi + 1) if d not in done]):
            await build_days(basis, offset_h, only, tz, a, b, settings, now)
    async with in_transaction() as conn:  # what no run will read again soon
        for table in (_f, _c):
            await sql.execute(conn, f"DELETE FROM {table} WHERE {table.day} < ?", [lo - RETAIN_DAYS])
    return bases


def read_statement(basis: str, first: date, last: date) -> tuple[str, list[Any]]:
    """The facts of ``first``…``last`` under ``basis``: the columns of ``day_statement`` (unit_id, d, c0…c15)."""
    return (f"SELECT {_f.unit_id} AS unit_id, {_f.day} AS d, " + ", ".join(getattr(_f, c) for c in FACT_COLUMNS)
            + f" FROM {_f} WHERE {_f.basis} = ? AND {_f.day} >= ? AND {_f.day} <= ?",
            [basis, day_number(first), day_number(last)])
