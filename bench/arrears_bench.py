"""Collections benchmark: the daily overdue job (arrears.jobs.collections_daily) over N overdue receivables
(issue target: 100,000 under 30 s). Prints figures, never fails on speed.

    python bench/arrears_bench.py [--sizes 10000,30000,100000] [--sqlite]

Per size, a fresh database: N/10 leases (one tenant with a phone each, no bound WeChat user: SMS), ten monthly
rents each, due 1 to 300 days before the day, all unpaid — every tier is present. Two passes of the job:

1. the first day: every receivable enters its current tier (tier step, message to the outbox, collections task)
   — the worst day, e.g. the job's first run over an existing ledger;
2. the next day (steady state): the job re-reads everything and only the receivables crossing a tier bound fire.

receivables/s of each pass, and each size's per-receivable cost as a ratio to the smallest size's, measured in
this run (≈1.0: linear). PostgreSQL on 127.0.0.1:5432 by default (creates and drops rwbench_arrears); --sqlite
uses a temp file."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
DB_NAME = "rwbench_arrears"
DAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
PER_LEASE = 10


async def recreate_pg() -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {DB_NAME}")
    await conn.close()
    return f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"


async def drop_pg() -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    await conn.close()


async def seed(n: int) -> None:
    from accounts.choices import Role, StaffDuty
    from models.accounts import User
    from models.leasing import Lease, Receivable, Tenant
    from models.portfolio import Building, BuildingStaff, City, Unit

    leases = n // PER_LEASE
    city = await City.create(code="SZ", name="深圳")
    buildings = [await Building.create(city=city, code=f"B{b:02d}", name=f"楼{b}", lat=22.5, lng=113.9)
                 for b in range(20)]
    for b in buildings:
        for role, duty in ((Role.FINANCE, StaffDuty.FINANCE), (Role.MANAGER, StaffDuty.MANAGER)):
            user = await User.create(name=f"{duty}{b.code}", role=role)
            await BuildingStaff.create(building_id=b.id, user=user, duty=duty)
    await Unit.bulk_create([Unit(building_id=buildings[i % 20].id, code=f"U{i:06d}", property_type="RESIDENTIAL",
                                 area_m2=Decimal("45.00"), status="OCCUPIED") for i in range(leases)],
                           batch_size=2000)
    await Tenant.bulk_create([Tenant(name=f"租户{i}", phone=f"139{i:08d}") for i in range(leases)], batch_size=2000)
    units = dict(await Unit.all().values_list("id", "building_id"))
    unit_ids = sorted(units)
    tenants = sorted(await Tenant.all().values_list("id", flat=True))
    start = DAY - timedelta(days=320)
    await Lease.bulk_create([Lease(unit_id=unit_ids[i], tenant_id=tenants[i], start_date=start,
                                   end_date=start + timedelta(days=729), monthly_rent_fen=300000 + i,
                                   deposit_fen=600000, payment_frequency="MONTHLY", status="ACTIVE", signed_at=NOW)
                             for i in range(leases)], batch_size=2000)
    rows = []
    for lease_id, unit_id, tenant_id in await Lease.all().order_by("id").values_list("id", "unit_id", "tenant_id"):
        for k in range(PER_LEASE):
            due = DAY - timedelta(days=1 + (lease_id * 7 + k * 30) % 300)
            rows.append(Receivable(lease_id=lease_id, tenant_id=tenant_id, building_id=units[unit_id],
                                   charge="RENT", charge_type="RENT", label=f"第{k + 1}期租金", period_start=due,
                                   period_end=due + timedelta(days=29), due_date=due, amount_fen=300000,
                                   status="OPEN", open_key=f"bench:{lease_id}:{k}"))
    await Receivable.bulk_create(rows, batch_size=5000)


async def one_size(n: int, sqlite: bool) -> dict:
    from tortoise import Tortoise

    from arrears.jobs import collections_daily
    from cli.core_commands import migrate
    from config.settings import Settings
    from tortoise_config import tortoise_config

    tmp = tempfile.mkdtemp(prefix="rwbench-arrears-")
    url = f"sqlite://{tmp}/bench.sqlite3" if sqlite else await recreate_pg()
    settings = Settings(database_url=url, var_dir=Path(tmp))
    await migrate(settings)
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    try:
        t0 = time.perf_counter()
        await seed(n)
        seeded = time.perf_counter() - t0
        t0 = time.perf_counter()
        first = (await collections_daily(settings, NOW))["collections"]
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = (await collections_daily(settings, NOW + timedelta(days=1)))["collections"]
        second_s = time.perf_counter() - t0
        return {"n": n, "seed_s": seeded, "first_s": first_s, "first": first, "second_s": second_s,
                "second": second}
    finally:
        await Tortoise.close_connections()
        if not sqlite:
            await drop_pg()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    print(f"database: {'SQLite' if args.sqlite else 'PostgreSQL'}; {PER_LEASE} overdue rents per lease, "
          f"due 1–300 days before {DAY}")
    base: dict[str, float] = {}
    for n in [int(x) for x in args.sizes.split(",")]:
        r = await one_size(n, args.sqlite)
        per_first, per_second = r["first_s"] / n, r["second_s"] / n
        base.setdefault("first", per_first)
        base.setdefault("second", per_second)
        f, s = r["first"], r["second"]
        print(f"{n:>7} receivables (seeded in {r['seed_s']:.1f} s):")
        print(f"  first day : {r['first_s']:7.1f} s = {n / r['first_s']:7.0f} receivables/s; overdue {f['overdue']}, "
              f"fired {f['fired']}, skipped {f['skipped']}, messages {f['messages']}, tasks {f['tasks_opened']}; "
              f"per-receivable cost ×{per_first / base['first']:.2f} of the smallest size")
        print(f"  next day  : {r['second_s']:7.1f} s = {n / r['second_s']:7.0f} receivables/s; fired {s['fired']}, "
              f"messages {s['messages']}; per-receivable cost ×{per_second / base['second']:.2f} of the smallest "
              f"size")


if __name__ == "__main__":
    asyncio.run(main())
