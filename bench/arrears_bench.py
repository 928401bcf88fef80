"""Collections benchmark: the daily overdue job (arrears.jobs.collections_daily) over N overdue receivables
(issue target: 100,000 under 30 s). Prints figures, never fails on speed.

    python bench/arrears_bench.py [--sizes 10000,30000,100000] [--sqlite]

Per size, a fresh database: N/10 leases (one tenant with a phone each, no bound WeChat user: SMS), ten monthly
rents each, due 1 to 300 days before the day, all unpaid — every tier is present. Two passes of the job:

1. the first day: every receivable enters its current tier (tier step, message to the outbox, collections task)
   — the worst day, e.g. the job's first run over an existing ledger;
2. the next day (steady state): the job re-reads everything and only the receivables crossing a tier bound fire.

``--steady`` writes the first day's tier steps in bulk instead and times only the ordinary day.

receivables/s of each pass, and each size's per-receivable cost as a ratio to the smallest size's, measured in
this run (≈1.0: linear). PostgreSQL on 127.0.0.1:5432 by default (creates and drops rwbench_arrears); --sqlite
uses a temp file."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench_support import migrated_database, seed_portfolio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "rwbench_arrears"
DAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
PER_LEASE = 10


async def seed(n: int, steady: bool = False) -> None:
    from accounts.choices import Role, StaffDuty
    from models.accounts import User
    from models.leasing import Lease, Receivable
    from models.portfolio import BuildingStaff

    leases = n // PER_LEASE
    portfolio = await seed_portfolio(leases, tenant_phone="139{:08d}")
    for b in portfolio.buildings:
        for role, duty in ((Role.FINANCE, StaffDuty.FINANCE), (Role.MANAGER, StaffDuty.MANAGER)):
            user = await User.create(name=f"{duty}{b.code}", role=role)
            await BuildingStaff.create(building_id=b.id, user=user, duty=duty)
    units, unit_ids, tenants = portfolio.unit_buildings, portfolio.unit_ids, portfolio.tenant_ids
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
    if steady:
        await handled_before(n)


async def handled_before(n: int) -> None:
    """--steady: the tier steps earlier runs left (each receivable's current tier sent, lower ones skipped),
    written in bulk, so the measured pass is an ordinary day without the first day's cost."""
    from arrears.tiers import TierTable, classify, days_past_due
    from models.arrears import CollectionStep
    from models.leasing import Receivable

    table = TierTable.from_config()
    steps = []
    for rid, lease_id, tenant_id, building_id, due in await Receivable.all().values_list(
            "id", "lease_id", "tenant_id", "building_id", "due_date"):
        days = days_past_due(due, DAY)
        current = classify(days, table)
        if current is None:
            continue
        for tier in table.tiers:
            if tier.level <= current.level:
                steps.append(CollectionStep(
                    receivable_id=rid, lease_id=lease_id, tenant_id=tenant_id, building_id=building_id,
                    level=tier.level, tier_code=tier.code, status="SENT" if tier is current else "SKIPPED",
                    days_past_due=days, outstanding_fen=300000, as_of=DAY, at=NOW))
    await CollectionStep.bulk_create(steps, batch_size=5000)


async def one_size(n: int, sqlite: bool, steady: bool) -> dict:
    from arrears.jobs import collections_daily

    async with migrated_database(DB_NAME, sqlite=sqlite) as settings:
        t0 = time.perf_counter()
        await seed(n, steady)
        seeded = time.perf_counter() - t0
        first, first_s = None, 0.0
        if not steady:
            t0 = time.perf_counter()
            first = (await collections_daily(settings, NOW))["collections"]
            first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = (await collections_daily(settings, NOW + timedelta(days=1)))["collections"]
        second_s = time.perf_counter() - t0
        return {"n": n, "seed_s": seeded, "first_s": first_s, "first": first, "second_s": second_s,
                "second": second}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--steady", action="store_true",
                        help="seed the earlier runs' tier steps in bulk and time only an ordinary day")
    args = parser.parse_args()
    print(f"database: {'SQLite' if args.sqlite else 'PostgreSQL'}; {PER_LEASE} overdue rents per lease, "
          f"due 1–300 days before {DAY}")
    base: dict[str, float] = {}
    for n in [int(x) for x in args.sizes.split(",")]:
        r = await one_size(n, args.sqlite, args.steady)
        per_first, per_second = r["first_s"] / n, r["second_s"] / n
        base.setdefault("first", per_first)
        base.setdefault("second", per_second)
        f, s = r["first"], r["second"]
        print(f"{n:>7} receivables (seeded in {r['seed_s']:.1f} s):", flush=True)
        if f is not None:
            print(f"  first day : {r['first_s']:7.1f} s = {n / r['first_s']:7.0f} receivables/s; overdue "
                  f"{f['overdue']}, fired {f['fired']}, skipped {f['skipped']}, messages {f['messages']}, tasks "
                  f"{f['tasks_opened']}; per-receivable cost ×{per_first / base['first']:.2f} of the smallest size")
        print(f"  next day  : {r['second_s']:7.1f} s = {n / r['second_s']:7.0f} receivables/s; fired {s['fired']}, "
              f"messages {s['messages']}; per-receivable cost ×{per_second / base['second']:.2f} of the smallest "
              f"size", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
