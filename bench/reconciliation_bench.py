"""Reconciliation benchmark: a 50,000-line statement against 100,000 open receivables (target < 20 s).

Prints reading + matching lines/s at 5k, 20k and 50k lines against the same index, and the ratio of each
size's per-line cost to the 5k baseline measured in this run (≈1.0 means cost grows linearly). Pure: the reader
and the matcher, no database.

``--db`` adds the production path on PostgreSQL (127.0.0.1:5432, database rwbench_reconciliation, created and
dropped): per size, a fresh ledger of the same shape (N/10 tenants, one live lease each with its contract number,
ten open receivables per lease), then ``reconciliation.service.import_statement`` of the statement — read,
deduplicate, store the lines in bulk, build the index from the database, match, store every decision (matches,
payments, allocations, discrepancies) — timed whole, beside the pure read + index + match of the same bytes in the
same run (the ratio says what the database adds). A second import of the same file shows the re-import cost
(every line a duplicate, nothing added).

    python bench/reconciliation_bench.py [--receivables 100000] [--lines 5000,20000,50000]
                                         [--db] [--db-lines 5000,50000]"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leasing.payment_codes import payment_code
from reconciliation.demo import Row, bank_csv
from reconciliation.formats import registry
from reconciliation.matching import BankLine, Index, Matcher, OpenReceivable, Party
from reconciliation.reader import read_statement

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def portfolio(receivables: int, rng: random.Random):
    tenants = receivables // 10
    parties = [Party(t, rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN) + str(t % 97)
                     if t % 3 else f"深圳{t}号科技有限公司", (), ((t, 1),)) for t in range(1, tenants + 1)]
    rows = []
    for rid in range(1, receivables + 1):
        tenant = (rid - 1) % tenants + 1
        due = date(2026, 1, 1) + timedelta(days=rid % 300)
        rows.append(OpenReceivable(rid, tenant, tenant, 1, f"HT{tenant:07d}", due,
                                   rng.choice([300000, 350000, 420000, 450000, 500000]) + tenant % 100 * 100))
    return parties, rows


def statement(n: int, parties, rows, rng: random.Random) -> str:
    name_of = {party.tenant_id: party.name for party in parties}
    lines = []
    at = datetime(2026, 11, 1, 9)
    for i in range(n):
        r = rows[rng.randrange(len(rows))]
        kind = i % 5
        if kind == 0:
            lines.append(Row(at, r.outstanding_fen, "某人", "", f"房租 {payment_code(r.id)}", f"B{i:08d}"))
        elif kind == 1:
            lines.append(Row(at, r.outstanding_fen, "", "", f"合同{r.contract_no}", f"B{i:08d}"))
        elif kind == 2:
            lines.append(Row(at, r.outstanding_fen, name_of[r.tenant_id], "", "房租", f"B{i:08d}"))
        elif kind == 3:
            lines.append(Row(at, r.outstanding_fen // 2, name_of[r.tenant_id] + "x", "", "", f"B{i:08d}"))
        else:
            lines.append(Row(at, rng.randrange(100, 99999), f"陌生人{i}", "", "货款", f"B{i:08d}"))
        at += timedelta(seconds=30)
    return bank_csv(lines)


def pure_seconds(data: bytes, rows, parties) -> float:
    """Read + index + match of the statement's bytes, no database (the --db baseline)."""
    started = time.perf_counter()
    parsed = read_statement(data, formats=registry())
    Matcher(Index.build(rows, parties)).decide_all(
        BankLine(i, line.amount_fen, line.booked_at.date(), line.counterparty_name, line.reference)
        for i, line in enumerate(parsed.lines))
    return time.perf_counter() - started


async def seed_ledger(receivables: int) -> tuple[list[Party], list[OpenReceivable]]:
    """The pure run's portfolio shape in the database: tenants, one live lease each, ten open receivables each."""
    from bench_support import seed_portfolio

    from models.leasing import Lease, Receivable, Tenant

    rng = random.Random(14)
    tenants = receivables // 10
    portfolio = await seed_portfolio(tenants)
    names = {tid: (rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN) + str(k % 97) if k % 3
                   else f"深圳{k}号科技有限公司") for k, tid in enumerate(portfolio.tenant_ids, start=1)}
    await Tenant._meta.db.execute_many("UPDATE tenants SET name = $1 WHERE id = $2",  # one round trip
                                       [[name, tid] for tid, name in names.items()])
    start = date(2026, 1, 1)
    await Lease.bulk_create([Lease(unit_id=portfolio.unit_ids[i], tenant_id=portfolio.tenant_ids[i],
                                   contract_no=f"HT{i + 1:07d}", start_date=start, end_date=date(2027, 12, 31),
                                   monthly_rent_fen=300000, deposit_fen=600000, payment_frequency="MONTHLY",
                                   status="ACTIVE", signed_at=datetime(2025, 12, 20))
                             for i in range(tenants)], batch_size=2000)
    leases = await Lease.all().order_by("id").values_list("id", "unit_id", "tenant_id", "contract_no")
    rows = []
    for lease_id, unit_id, tenant_id, _no in leases:
        for k in range(10):
            due = start + timedelta(days=30 * k + lease_id % 28)
            amount = rng.choice([300000, 350000, 420000, 450000, 500000]) + tenant_id % 100 * 100
            rows.append(Receivable(lease_id=lease_id, tenant_id=tenant_id,
                                   building_id=portfolio.unit_buildings[unit_id], charge="RENT", charge_type="RENT",
                                   label=f"第{k + 1}期租金", period_start=due, period_end=due + timedelta(days=29),
                                   due_date=due, amount_fen=amount, status="OPEN", open_key=f"bench:{lease_id}:{k}"))
    await Receivable.bulk_create(rows, batch_size=5000)
    contract = {lid: no for lid, _u, _t, no in leases}
    building = {lid: portfolio.unit_buildings[uid] for lid, uid, _t, _no in leases}
    open_rows = [OpenReceivable(rid, lid, tid, bid, contract[lid], due, amount)
                 for rid, lid, tid, bid, due, amount in await Receivable.all().order_by("id").values_list(
                     "id", "lease_id", "tenant_id", "building_id", "due_date", "amount_fen")]
    parties = [Party(tid, names[tid], (), ((lid, building[lid]),)) for lid, _u, tid, _no in leases]
    return parties, open_rows


async def db_sizes(receivables: int, sizes: list[int]) -> None:
    from bench_support import migrated_database

    from reconciliation.service import ReconciliationConfig, import_statement

    print(f"database path (PostgreSQL), {receivables} open receivables per run:")
    baseline = None
    for n in sizes:
        async with migrated_database("rwbench_reconciliation", sqlite=False) as settings:
            seeded = time.perf_counter()
            parties, rows = await seed_ledger(receivables)
            seeded = time.perf_counter() - seeded
            data = statement(n, parties, rows, random.Random(n)).encode("gbk")
            pure = pure_seconds(data, rows, parties)
            cfg = ReconciliationConfig.from_settings(settings)
            now = datetime(2026, 11, 2, 9, tzinfo=UTC)
            started = time.perf_counter()
            first = await import_statement(data, filename="bench.csv", now=now, cfg=cfg)
            db_s = time.perf_counter() - started
            started = time.perf_counter()
            again = await import_statement(data, filename="bench.csv", now=now, cfg=cfg)
            again_s = time.perf_counter() - started
        per_line = db_s / n
        baseline = baseline or per_line
        print(f"{n:>6} lines (ledger seeded in {seeded:.0f} s): import + reconcile {db_s:7.2f} s = "
              f"{n / db_s:6.0f} lines/s, ×{db_s / pure:5.1f} the pure path on the same bytes ({pure:.2f} s); "
              f"per-line cost ×{per_line / baseline:4.2f} of the smallest size; {first['reconcile']}; "
              f"re-import {again_s:.2f} s, {again['lines_new']} new of {again['lines_read']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receivables", type=int, default=100_000)
    parser.add_argument("--lines", default="5000,20000,50000")
    parser.add_argument("--db", action="store_true", help="also the production path on PostgreSQL")
    parser.add_argument("--db-lines", default="5000,50000")
    args = parser.parse_args()
    rng = random.Random(14)
    parties, rows = portfolio(args.receivables, rng)
    formats = registry()
    baseline = None
    print(f"{args.receivables} open receivables, {len(parties)} tenants")
    for n in [int(x) for x in args.lines.split(",")]:
        data = statement(n, parties, rows, rng).encode("gbk")
        started = time.perf_counter()
        parsed = read_statement(data, formats=formats)
        read_s = time.perf_counter() - started
        index_started = time.perf_counter()
        index = Index.build(rows, parties)
        index_s = time.perf_counter() - index_started
        match_started = time.perf_counter()
        decisions = Matcher(index).decide_all(BankLine(i, line.amount_fen, line.booked_at.date(),
                                                       line.counterparty_name, line.reference)
                                              for i, line in enumerate(parsed.lines))
        match_s = time.perf_counter() - match_started
        total = read_s + index_s + match_s
        per_line = (read_s + match_s) / n
        baseline = baseline or per_line
        rules: dict[str, int] = {}
        for d in decisions:
            rules[str(d.rule)] = rules.get(str(d.rule), 0) + 1
        print(f"{n:>6} lines: read {read_s:6.2f} s, index {index_s:5.2f} s, match {match_s:6.2f} s, total "
              f"{total:6.2f} s; {n / (read_s + match_s):8.0f} lines/s; per-line cost ×{per_line / baseline:4.2f} of "
              f"the 5k baseline; {rules}")
    if args.db:
        asyncio.run(db_sizes(args.receivables, [int(x) for x in args.db_lines.split(",")]))


if __name__ == "__main__":
    main()
