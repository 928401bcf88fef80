"""Occupancy benchmark (issue 15, Performance). Prints figures, never fails on speed.

    python bench/occupancy_bench.py [--units 20000] [--days 90]

1. The nightly snapshot of one day over N units (70 % leased, flags, status history), split into gathering the
   facts and writing the rows; baseline: reading the units table once (ratio = job / that read).
2. History: the day copied to D−1 … D−(days−1) with varied facts (PostgreSQL generate_series), its day tallies
   added up, ANALYZE.
3. A month's portfolio figures with drill-down to buildings (read from the day tallies), and one building's unit
   list for a day (the unit rows): median of 20 calls each through occupancy.reports, against ``SELECT count(*)``
   over the month's unit rows / the building's day (the baseline), and the query plans' index use.

Targets of the issue (100,000 units × 365 days): month with drill-down < 300 ms, a building's unit list < 50 ms,
the nightly job < 60 s. PostgreSQL on 127.0.0.1:5432 (creates and drops database rwbench_occupancy).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
DB_NAME = "rwbench_occupancy"
DAY = date(2026, 11, 1)
NOW = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)  # 04:00 on 11-02 in Shanghai
UNITS_PER_BUILDING = 200


async def admin(sql_text: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(sql_text)
    await conn.close()


async def seed(n: int) -> list[int]:
    from leasing.choices import LeaseStatus
    from models.leasing import Lease, Tenant
    from models.occupancy import OccupancyFlag
    from models.portfolio import Building, City, Unit
    from occupancy.choices import FlagKind
    from portfolio.choices import PropertyType, UnitStatus

    rng = random.Random(15)
    cities = [await City.create(code=f"C{c}", name=f"城市{c}") for c in range(4)]
    await Building.bulk_create([
        Building(city=cities[b % 4], code=f"B{b:04d}", name=f"楼{b}", lat=22.5, lng=113.9)
        for b in range(max(1, n // UNITS_PER_BUILDING))])
    buildings = await Building.all().order_by("id")
    types = [("studio", PropertyType.RESIDENTIAL, "28"), ("1b1b", PropertyType.RESIDENTIAL, "45"),
             ("2b1b", PropertyType.RESIDENTIAL, "68"), ("shop", PropertyType.SHOP, "80"),
             ("office", PropertyType.OFFICE, "120")]
    units = []
    for i in range(n):
        utype, ptype, area = types[i % len(types)]
        leased = rng.random() < 0.7
        units.append(Unit(building_id=buildings[i // UNITS_PER_BUILDING % len(buildings)].id, code=f"U{i:07d}",
                          property_type=ptype, unit_type=utype, area_m2=Decimal(area),
                          compliant_rentable=rng.random() > 0.01,
                          status=UnitStatus.OCCUPIED if leased else UnitStatus.VACANT))
    await Unit.bulk_create(units, batch_size=5000)
    rows = await Unit.all().order_by("id").values_list("id", "status")
    await Tenant.bulk_create([Tenant(name=f"T{i}", phone=f"1{i:010d}") for i in range(n)], batch_size=5000)
    tenants = await Tenant.all().order_by("id").values_list("id", flat=True)
    signed = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    leases = []
    for (unit_id, status), tenant_id in zip(rows, tenants, strict=False):
        if status != UnitStatus.OCCUPIED:
            continue
        leases.append(Lease(unit_id=unit_id, tenant_id=tenant_id, start_date=date(2026, 1, 1),
                            end_date=date(2027, 12, 31), monthly_rent_fen=300000, deposit_fen=600000,
                            status=LeaseStatus.ACTIVE, signed_at=signed, handed_over_at=signed,
                            first_rent_paid_at=signed if rng.random() < 0.9 else None))
    await Lease.bulk_create(leases, batch_size=5000)
    flags = [OccupancyFlag(unit_id=unit_id, kind=rng.choice(list(FlagKind)), valid_from=date(2026, 1, 1),
                           reason="bench") for unit_id, _ in rows if rng.random() < 0.02]
    await OccupancyFlag.bulk_create(flags, batch_size=5000)
    return [b.id for b in buildings]


async def fill_history(days: int) -> None:
    """Copy the benchmark day to the days before it, flipping a few facts per day (on the database)."""
    from tortoise.connection import get_connection

    conn = get_connection("default")
    cols = ("unit_id, building_id, city_id, property_type, unit_type, area_m2, status, compliant, lease_id, "
            "lease_state, first_rent_paid, first_rent_paid_at, short_stay, flags, sensor, last_inspection_at, "
            "last_inspection_state, last_inspection_status, rentable, signed_unpaid, short_stay_paid, "
            "sensor_known, sensor_occupied, excl_trial, excl_internal, excl_swap, excl_noncompliant")
    await conn.execute_query(
        f"INSERT INTO occupancy_unit_days (day, effective, {cols}) "
        f"SELECT $1::date - g, effective AND random() > 0.05, {cols} FROM occupancy_unit_days "
        f"CROSS JOIN generate_series(1, $2 - 1) AS g WHERE day = $1", [DAY, days])
    await conn.execute_query(
        "INSERT INTO occupancy_days (day, state, reasons, sources, units, runs, started_at, finished_at) "
        "SELECT $1::date - g, 'COMPLETE', '[]', '{}', 0, 1, now(), now() FROM generate_series(1, $2 - 1) AS g",
        [DAY, days])
    from occupancy.reports import TALLY_COLUMNS, TALLY_FROM_UNITS

    keys = "building_id, city_id, unit_type, property_type"
    await conn.execute_query(f"INSERT INTO occupancy_day_tallies (day, {keys}, {', '.join(TALLY_COLUMNS)}) "
                             f"SELECT day, {keys}, {TALLY_FROM_UNITS} FROM occupancy_unit_days WHERE day < $1 "
                             f"GROUP BY day, {keys}", [DAY])
    await conn.execute_query("ANALYZE occupancy_day_tallies")
    await conn.execute_query("ANALYZE occupancy_unit_days")


async def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


async def plan(statement: str, params: list) -> str:
    from tortoise.connection import get_connection

    _, rows = await get_connection("default").execute_query("EXPLAIN " + statement, params)
    lines = [r[0] if not isinstance(r, dict) else r["QUERY PLAN"] for r in rows]
    used = [line.strip() for line in lines if "Index" in line]
    return used[0] if used else lines[0].strip()


async def main(args: argparse.Namespace) -> None:
    from tortoise import Tortoise
    from tortoise.connection import get_connection

    from config.settings import Settings
    from core import sql
    from models.portfolio import Unit
    from occupancy import reports
    from occupancy.snapshot import gather, snapshot_day
    from tortoise_config import tortoise_config

    await admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    await admin(f"CREATE DATABASE {DB_NAME}")
    url = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
    try:
        await Tortoise.init(config=tortoise_config(url))
        await Tortoise.generate_schemas()
        from iot.daily_facts import install_triggers

        await install_triggers()  # as migration 0021: roll-up changes recorded for the daily facts
        settings = Settings(database_url=url, occupancy_inspection_max_days=0)
        start = time.perf_counter()
        building_ids = await seed(args.units)
        print(f"seeded {args.units} units in {len(building_ids)} buildings: {time.perf_counter() - start:.1f} s")

        baseline_read = await timed(lambda: Unit.all().values_list("id", "building_id", "status"), 3)
        start = time.perf_counter()
        await gather(DAY, settings)
        gather_s = time.perf_counter() - start
        start = time.perf_counter()
        result = await snapshot_day(settings, DAY, NOW)
        job_s = time.perf_counter() - start
        print(f"nightly snapshot of {result.units} units: {job_s:.2f} s (gathering the facts {gather_s:.2f} s, "
              f"the rest writing); baseline read of the units {baseline_read:.0f} ms → ratio "
              f"{job_s * 1000 / baseline_read:.1f}")

        start = time.perf_counter()
        await fill_history(args.days)
        print(f"history: {args.units * args.days:,} unit-days in {time.perf_counter() - start:.1f} s")

        conn = get_connection("default")
        month = f"{DAY.year:04d}-{(DAY - timedelta(days=1)).month:02d}"
        first, last = reports.month_bounds(month)
        today = DAY + timedelta(days=1)
        month_ms = await timed(lambda: reports.month_report(month, reports.Filters(), today, "building"), 20)
        base_month = await timed(lambda: sql.execute(conn, "SELECT count(*) FROM occupancy_unit_days WHERE "
                                                           "day >= ? AND day <= ?", [first, last]), 20)
        b = building_ids[len(building_ids) // 2]
        units_ms = await timed(lambda: reports.day_report(DAY, reports.Filters(building_id=b), "unit"), 20)
        base_units = await timed(lambda: sql.execute(conn, "SELECT count(*) FROM occupancy_unit_days WHERE "
                                                           "day = ? AND building_id = ?", [DAY, b]), 20)
        print(f"month {month} with drill-down to {len(building_ids)} buildings: median {month_ms:.1f} ms "
              f"(baseline count(*) {base_month:.1f} ms, ratio {month_ms / base_month:.2f})")
        print(f"one building's unit list ({UNITS_PER_BUILDING} units) for a day: median {units_ms:.1f} ms "
              f"(baseline count(*) {base_units:.1f} ms, ratio {units_ms / base_units:.2f})")
        where, params = reports.Filters().where()
        tally = (f"SELECT building_id, {reports.TALLY_SELECT} FROM occupancy_day_tallies WHERE day >= $1 AND "
                 f"day <= $2{where} GROUP BY building_id")
        print("plan, month tally:", await plan(tally, [first, last, *params]))
        print("plan, unit list:  ", await plan("SELECT * FROM occupancy_unit_days WHERE day = $1 AND "
                                               "building_id = $2 ORDER BY building_id, unit_id LIMIT 5000", [DAY, b]))
    finally:
        await Tortoise.close_connections()
        await admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=20000)
    parser.add_argument("--days", type=int, default=90)
    asyncio.run(main(parser.parse_args()))
