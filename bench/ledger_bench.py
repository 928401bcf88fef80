"""Leasing ledger benchmark (issue 13, Performance). Prints figures, never fails on speed.

    python bench/ledger_bench.py [--leases 10000] [--years 3] [--sqlite]

1. Generate and store the schedules of N leases of 3 years each (monthly and quarterly mixed): leases/s and
   receivables/s, against the same generation in memory only (the baseline: ratio = stored / pure).
2. The weekly dry-run over the same leases (regenerate in memory and compare with what is stored).
3. A lease statement and a building's receivables page (50 rows), median of 50 requests each through the real
   API at N leases, against a one-row primary-key read measured the same way (the baseline).

PostgreSQL on 127.0.0.1:5432 by default (creates and drops database rwbench_ledger); --sqlite uses a temp file.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench_support import migrated_database, seed_portfolio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "rwbench_ledger"
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


async def seed(n: int, years: int) -> Any:
    from accounts.choices import Role, StaffDuty
    from leasing.terms import LeaseTerms
    from models.accounts import User
    from models.leasing import Lease
    from models.portfolio import BuildingStaff

    portfolio = await seed_portfolio(n, tenant_phone="13{:09d}")
    units, tenants = portfolio.unit_ids, portfolio.tenant_ids
    finance = await User.create(name="财务", role=Role.FINANCE)
    await BuildingStaff.create(building_id=portfolio.buildings[0].id, user=finance, duty=StaffDuty.FINANCE)
    leases = []
    for i in range(n):
        start = date(2026, 1 + i % 12, 1 + i % 28)
        frequency = "MONTHLY" if i % 2 else "QUARTERLY"
        terms = LeaseTerms(start_date=start, end_date=start.replace(year=start.year + years),
                           frequency=frequency, monthly_rent_fen=300000 + i, deposit_fen=600000,
                           escalations=[{"kind": "PERCENT", "from_year": 2, "percent": "3"}] if i % 3 == 0 else [])
        end = date(start.year + years, start.month, start.day)
        terms = terms.model_copy(update={"end_date": date.fromordinal(end.toordinal() - 1)})
        leases.append(Lease(unit_id=units[i], tenant_id=tenants[i], start_date=terms.start_date,
                            end_date=terms.end_date, monthly_rent_fen=300000 + i, deposit_fen=600000,
                            payment_frequency=frequency, terms=terms.to_json(), status="SIGNED", signed_at=NOW))
    await Lease.bulk_create(leases, batch_size=2000)
    return finance


async def bench_generation(n: int) -> dict:
    from leasing.config import DEFAULT_CONFIG
    from leasing.ledger import generate_batch
    from leasing.schedule import generate_schedule
    from leasing.terms import lease_terms
    from models.leasing import Lease, Receivable

    leases = await Lease.all().order_by("id")
    t0 = time.perf_counter()
    pure = sum(len(generate_schedule(lease_terms(lease)).lines) for lease in leases)
    pure_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for start in range(0, len(leases), 1000):
        await generate_batch(leases[start:start + 1000], now=NOW, cfg=DEFAULT_CONFIG)
    stored_s = time.perf_counter() - t0
    rows = await Receivable.all().count()
    assert rows == pure, (rows, pure)
    return {"leases": n, "receivables": rows, "pure_s": pure_s, "stored_s": stored_s,
            "bare_s": await bare_insert(leases)}


async def bare_insert(leases) -> float:
    """Baseline: the same receivable rows (built in memory first, not timed) inserted with a plain executemany
    into a copy of the table without indexes or foreign keys, in one transaction; the copy is dropped after."""
    from tortoise.transactions import in_transaction

    from core import sql
    from leasing.ledger import RECEIVABLE_COLUMNS, _insert_rows
    from leasing.schedule import generate_schedule
    from leasing.terms import lease_terms
    from models.portfolio import Unit

    units = dict(await Unit.all().values_list("id", "building_id"))
    rows = [row for lease in leases
            for row in _insert_rows(lease, units[lease.unit_id], generate_schedule(lease_terms(lease)).lines, NOW)]
    statement = (f"INSERT INTO bench_receivables_copy ({', '.join(RECEIVABLE_COLUMNS)}) "
                 f"VALUES ({sql.marks(len(RECEIVABLE_COLUMNS))})")
    async with in_transaction() as conn:
        await conn.execute_script("CREATE TABLE bench_receivables_copy AS SELECT * FROM receivables WHERE 1 = 0")
        t0 = time.perf_counter()
        for start in range(0, len(rows), 5000):
            await sql.execute_many(conn, statement, rows[start:start + 5000])
        seconds = time.perf_counter() - t0
        await conn.execute_script("DROP TABLE bench_receivables_copy")
    return seconds


async def bench_dry_run() -> dict:
    from leasing.config import DEFAULT_CONFIG
    from leasing.jobs import dry_run

    t0 = time.perf_counter()
    report = await dry_run(DEFAULT_CONFIG)
    return {"seconds": time.perf_counter() - t0, "ok": report["ok"], "failed": len(report["failed"]),
            "differs": len(report["differs"])}


async def median_ms(client, path: str, headers: dict, rounds: int = 50) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        _, response = await client.get(path, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status == 200, response.text
    return statistics.median(times)


async def bench_reads(finance) -> dict:
    from sanic import Sanic

    from accounts.tokens import issue_token
    from api.access import ACCESS_TOKEN
    from api.app import create_app
    from config.settings import Settings
    from core.clock import ManualClock
    from models.leasing import Lease, Receivable
    from tests.support.asgi import AppClient

    Sanic.test_mode = True
    secret = "bench-secret-0123456789abcdef0123"
    app = create_app(Settings(jwt_secret=secret, log_level="WARNING"), clock=ManualClock(NOW), manage_db=False)
    client = AppClient(app)
    token = issue_token(secret=secret, subject=str(finance.id), kind=ACCESS_TOKEN, now=NOW, ttl_seconds=3600,
                        extra={"ver": finance.token_version})
    headers = {"Authorization": f"Bearer {token}"}
    building_id = (await finance.duties.all())[0].building_id
    lease = await Lease.filter(unit__building_id=building_id).order_by("id").first()
    assert lease is not None, "the seed made no lease"
    row = await Receivable.filter(lease_id=lease.id).first()
    assert row is not None, "the seed made no receivable"
    building = row.building_id
    await median_ms(client, f"/api/v1/leases/{lease.id}/statement", headers, rounds=5)  # warm up
    return {
        "baseline_ms": await median_ms(client, f"/api/v1/leases/{lease.id}", headers),
        "statement_ms": await median_ms(client, f"/api/v1/leases/{lease.id}/statement?as_of=2027-06-01", headers),
        "page_ms": await median_ms(client, f"/api/v1/receivables?building_id={building}&state=OVERDUE"
                                           f"&as_of=2027-06-01&page=3&page_size=50", headers),
        "page_unfiltered_ms": await median_ms(client, f"/api/v1/receivables?building_id={building}&page=10",
                                              headers),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leases", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    async with migrated_database(DB_NAME, sqlite=args.sqlite):
        t0 = time.perf_counter()
        finance = await seed(args.leases, args.years)
        print(f"database: {'SQLite' if args.sqlite else 'PostgreSQL'}; seeded {args.leases} leases in "
              f"{time.perf_counter() - t0:.1f} s")
        g = await bench_generation(args.leases)
        print(f"generate + store: {g['leases']} leases, {g['receivables']} receivables in {g['stored_s']:.1f} s = "
              f"{g['leases'] / g['stored_s']:.0f} leases/s, {g['receivables'] / g['stored_s']:.0f} receivables/s")
        print(f"  baseline (generation in memory only): {g['pure_s']:.1f} s = {g['leases'] / g['pure_s']:.0f} "
              f"leases/s; stored/pure time ratio {g['stored_s'] / g['pure_s']:.2f}")
        print(f"  baseline (bare executemany of the same rows, no indexes or keys): {g['bare_s']:.1f} s = "
              f"{g['receivables'] / g['bare_s']:.0f} receivables/s; stored/bare time ratio "
              f"{g['stored_s'] / g['bare_s']:.2f}")
        d = await bench_dry_run()
        print(f"weekly dry-run over {args.leases} leases: {d['seconds']:.1f} s = {args.leases / d['seconds']:.0f} "
              f"leases/s (ok {d['ok']}, failed {d['failed']}, differ {d['differs']}); "
              f"ratio to in-memory generation {d['seconds'] / g['pure_s']:.2f}")
        r = await bench_reads(finance)
        print(f"reads at {args.leases} leases (median of 50 through the API): statement {r['statement_ms']:.1f} ms, "
              f"receivables page (50 rows, OVERDUE filter) {r['page_ms']:.1f} ms, unfiltered page "
              f"{r['page_unfiltered_ms']:.1f} ms; baseline lease detail {r['baseline_ms']:.1f} ms "
              f"(ratios {r['statement_ms'] / r['baseline_ms']:.2f}, {r['page_ms'] / r['baseline_ms']:.2f})")


if __name__ == "__main__":
    asyncio.run(main())
