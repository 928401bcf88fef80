"""The daily detection reads the portfolio in chunks from one (unit, day) aggregate: it finds the same as the
per-kind aggregate it replaced, and the same whatever the chunk size."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config.settings import Settings
from core import sql
from core.sql import names
from iot.choices import DeviceKind
from iot.daily_facts import read_statement, refresh
from iot.detection import DayFacts, day_facts, day_statement, facts_statement, judge_day, load_run, sql_conn
from iot.occupancy import EVENING_START
from iot.rules import DailyParams, day_number, local_day_end
from models.iot import HourlyRollup
from models.portfolio import Unit
from portfolio.choices import UnitStatus
from tests.test_iot_detection import AS_OF, SH, days_back, devices_for, fill, local_hour, tenanted


async def reference_facts(tz: ZoneInfo, first: date, last: date, settings: Settings
                          ) -> dict[int, dict[int, DayFacts]]:
    """The aggregate detection read before: one row per (unit, kind, local day), kinds merged here. Over the
    hour window the real read takes (its parameters), so only the aggregate itself is the reference's own."""
    _, (start_h, end_h) = day_statement(None, tz, first, last, settings)
    offset_h = day_number(first) * 24 - start_h  # the local day d starts at UTC hour d * 24 - offset
    night_start, night_end = settings.iot_night_hours
    kwh_h, m3_h = settings.iot_vacant_kwh_per_hour, settings.iot_vacant_m3_per_hour
    h = names(HourlyRollup)
    local = f"({h.hour_ts} + {offset_h})"
    water, door = DeviceKind.WATER, DeviceKind.DOOR
    # water above the vacant hourly baseline, or a door opening: what a day's activity span is read from
    active = f"(({h.kind} = '{door}' AND {h.value} > 0) OR ({h.kind} = '{water}' AND {h.value} > {m3_h}))"
    statement = (
        f"SELECT {h.unit_id}, {h.kind}, {local} / 24 AS d, SUM({h.value}) AS total, "
        f"SUM(CASE WHEN {local} % 24 >= {night_start} AND {local} % 24 < {night_end} THEN {h.value} ELSE 0 END) "
        f"AS night, SUM(CASE WHEN {h.messages} > 0 THEN 1 ELSE 0 END) AS hours, "
        f"SUM(CASE WHEN ({h.kind} = '{water}' AND {h.value} > {m3_h}) OR ({h.kind} <> '{water}' "
        f"AND {h.kind} <> '{door}' AND {h.value} > {kwh_h}) THEN 1 ELSE 0 END) AS busy, SUM({h.messages}) AS msgs, "
        f"SUM(CASE WHEN {local} % 24 >= {EVENING_START} AND {h.kind} <> '{water}' AND {h.kind} <> '{door}' "
        f"AND {h.value} > {kwh_h} THEN 1 ELSE 0 END) AS ev_busy, "
        f"SUM(CASE WHEN {local} % 24 >= {EVENING_START} THEN {h.value} ELSE 0 END) AS evening, "
        f"MIN(CASE WHEN {active} THEN {local} % 24 END) AS act_first, "
        f"MAX(CASE WHEN {active} THEN {local} % 24 END) AS act_last "
        f"FROM {h} WHERE {h.hour_ts} >= ? AND {h.hour_ts} < ? AND {h.unit_id} IS NOT NULL "
        f"GROUP BY {h.unit_id}, {h.kind}, d")
    # [elec_kwh, water_m3, door_opens, night_opens, elec_hours, water_hours, door_messages, busy_hours, night_kwh,
    #  evening_busy_hours, evening_opens, active_first, active_last]
    acc: dict[int, dict[int, list]] = defaultdict(dict)
    for row in await sql.execute(sql_conn(), statement, [start_h, end_h]):
        unit_id, kind, d, total, night, hours, busy = row[0], row[1], int(row[2]), row[3], row[4], row[5], row[6]
        a = acc[unit_id].get(d)
        if a is None:
            a = acc[unit_id][d] = [0.0, 0.0, 0, 0, 0, 0, 0, 0, 0.0, 0, 0, -1, -1]
        total = float(total or 0)
        if row[10] is not None:
            first_hour, last_hour = int(row[10]), int(row[11])
            a[11] = first_hour if a[11] < 0 else min(a[11], first_hour)
            a[12] = max(a[12], last_hour)
        if kind == door:
            a[2] += int(total)
            a[3] += int(night or 0)
            a[6] += int(row[7] or 0)
            a[10] += int(row[9] or 0)
        elif kind == water:
            a[1] += total
            a[5] = max(a[5], int(hours))
        else:
            a[0] += total
            a[8] += float(night or 0)
            a[4] = max(a[4], int(hours))
            a[7] += int(busy or 0)
            a[9] += int(row[8] or 0)
    return {unit_id: {d: DayFacts(*a) for d, a in days.items()} for unit_id, days in acc.items()}


async def varied_world(world) -> None:
    """Tenants of three unit types (lived in, empty, night traffic, short-let changeovers, heavy users), vacant
    units with and without activity, a metering plug beside a meter, units without water or any device, gaps."""
    rng = random.Random(19)
    patterns = ["lived", "lived", "empty", "night", "changeover", "lived"]
    for n in range(14):
        building = (world.a, world.b)[n % 2].building
        unit = await tenanted(building, f"CH-{n}", unit_type=("studio", "1b1b", "2b1b")[n % 3])
        kinds = (DeviceKind.DOOR, DeviceKind.ELECTRICITY) if n % 5 == 4 else \
            (DeviceKind.DOOR, DeviceKind.ELECTRICITY, DeviceKind.WATER)
        devs = await devices_for(unit, f"ch{n}", kinds)
        days = [d for d in days_back(30) if rng.random() > 0.1]  # a few days without data
        await fill(unit, devs, days, patterns[n % len(patterns)], scale=(1.0, 3.0, 0.5)[n % 3])
        if n % 4 == 1:
            plug = await devices_for(unit, f"plug{n}", (DeviceKind.PLUG,))
            await HourlyRollup.bulk_create([
                HourlyRollup(device_id=plug[DeviceKind.PLUG].id, unit_id=unit.id, kind=DeviceKind.PLUG,
                             hour_ts=local_hour(day, h), value=0.2 + 0.01 * h, messages=3)
                for day in days_back(10) for h in range(0, 24, 2)])
    for n, unit in enumerate(world.a.units[2:6]):
        await Unit.filter(id=unit.id).update(status=UnitStatus.VACANT)
        devs = await devices_for(unit, f"vac{n}")
        await fill(unit, devs, days_back(30), "lived" if n % 2 else "empty")


def findings(judged) -> tuple[dict, dict]:
    conditions: defaultdict[str, list] = defaultdict(list)
    occupancy = {}
    for j in judged:
        for alert_type, found in j.conditions.items():
            conditions[alert_type] += [(c.unit_id, c.explanation, c.evidence) for c in found]
        for uid, day in j.computed.days.items():
            occupancy[uid] = day.series[-1]
    return {t: sorted(v, key=lambda c: c[0]) for t, v in conditions.items()}, occupancy


async def test_the_day_aggregate_reads_the_same_facts_as_the_per_kind_one(world, settings):
    await varied_world(world)
    tz, first = ZoneInfo("Asia/Shanghai"), AS_OF - timedelta(days=29)
    expected = await reference_facts(tz, first, AS_OF, settings)
    (basis,) = await refresh([(tz, None)], first, AS_OF, settings)  # the daily facts detection reads
    statement, params = read_statement(basis, first, AS_OF)
    got: dict[int, dict[int, DayFacts]] = defaultdict(dict)
    async with sql.Materialized(sql_conn(), statement, params) as aggregate:
        async for rows in aggregate.read(order_by="unit_id, d", size=7):
            for row in rows:
                got[row[0]][int(row[1])] = day_facts(row)
    assert len(expected) >= 15
    assert dict(got) == expected


async def test_the_facts_detection_reads_are_what_day_facts_makes_of_the_stored_rows(world, settings):
    await varied_world(world)
    tz, first = ZoneInfo("Asia/Shanghai"), AS_OF - timedelta(days=29)
    (basis,) = await refresh([(tz, None)], first, AS_OF, settings)
    stored = await sql.execute(sql_conn(), *read_statement(basis, first, AS_OF))
    expected = {(row[0], int(row[1])): day_facts(row) for row in stored}
    rows = await sql.execute(sql_conn(), *facts_statement(basis, first, AS_OF, postgres=sql.is_postgres(sql_conn())))
    got = {(row[0], row[1]): DayFacts(*list(row)[2:]) for row in rows}
    assert len(expected) >= 15
    assert got == expected
    def types(facts: DayFacts) -> list[type]:
        return [type(getattr(facts, name)) for name in DayFacts.__match_args__]

    for key, facts in got.items():  # the same types too: the evidence shows 3, not 3.0
        assert types(facts) == types(expected[key])


async def test_findings_do_not_depend_on_the_chunk_size(world, settings):
    await varied_world(world)
    now = datetime.combine(AS_OF + timedelta(days=1), time(1), SH).astimezone(UTC)
    p = DailyParams.from_settings(settings)
    run = await load_run(AS_OF, min(now, local_day_end(AS_OF, SH)), settings, p)
    results = [findings([j async for j in judge_day(run, settings, p, chunk_units=size)])
               for size in (1, 3, 7, 2000)]
    conditions, occupancy = results[0]
    assert len(occupancy) == await Unit.all().count()
    assert sum(len(v) for v in conditions.values()) >= 2  # the world raises something to compare
    for other in results[1:]:
        assert other == results[0]
