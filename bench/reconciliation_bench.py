"""Reconciliation benchmark: a 50,000-line statement against 100,000 open receivables (target < 20 s).

Prints reading + matching lines/s at 5k, 20k and 50k lines against the same index, and the ratio of each
size's per-line cost to the 5k baseline measured in this run (≈1.0 means cost grows linearly). Pure: the reader
and the matcher, no database (the database path is one bulk insert plus one payment per applied line).

    python bench/reconciliation_bench.py [--receivables 100000] [--lines 5000,20000,50000]"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, datetime, timedelta

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
            lines.append(Row(at, r.outstanding_fen, parties[r.tenant_id - 1].name, "", "房租", f"B{i:08d}"))
        elif kind == 3:
            lines.append(Row(at, r.outstanding_fen // 2, parties[r.tenant_id - 1].name + "x", "", "", f"B{i:08d}"))
        else:
            lines.append(Row(at, rng.randrange(100, 99999), f"陌生人{i}", "", "货款", f"B{i:08d}"))
        at += timedelta(seconds=30)
    return bank_csv(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receivables", type=int, default=100_000)
    parser.add_argument("--lines", default="5000,20000,50000")
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


if __name__ == "__main__":
    main()
