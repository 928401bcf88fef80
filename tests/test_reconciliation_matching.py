"""Matching rules (pure, table-tested): reference, then party, then amount; partial and over payments allocated
many-to-many and never beyond a line; every decision explained; nothing below the threshold applied."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasing.payment_codes import payment_code
from reconciliation.choices import DiscrepancyKind as K
from reconciliation.choices import MatchRule as M
from reconciliation.matching import (
    BankLine,
    Index,
    Matcher,
    OpenReceivable,
    PaidReceivable,
    Party,
    RecordedPayment,
    name_key,
)

THRESHOLD = 90
NOV = date(2026, 11, 6)


def receivable(rid, lease, tenant, due, fen, contract="", priority=1, label="租金"):
    return OpenReceivable(id=rid, lease_id=lease, tenant_id=tenant, building_id=1, contract_no=contract,
                          due_date=due, outstanding_fen=fen, label=label, priority=priority)


RECEIVABLES = [
    receivable(101, 11, 1, date(2026, 11, 1), 800000, "202512001"),
    receivable(102, 11, 1, date(2026, 11, 1), 50000, "202512001", priority=2, label="物业费"),
    receivable(103, 11, 1, date(2027, 1, 1), 800000, "202512001"),
    receivable(121, 12, 1, date(2026, 11, 1), 100000, "202512002"),
    receivable(201, 21, 2, date(2026, 11, 5), 450000, "HT-2026-021"),
    receivable(301, 31, 3, date(2026, 11, 5), 300000, "HT-2026-031"),
    receivable(401, 41, 4, date(2026, 11, 5), 300000, "HT-2026-041"),
]
PARTIES = [Party(1, "深圳某某科技有限公司", ("某某科技深圳分部",), ((12, 1), (11, 1))),
           Party(2, "张三", (), ((21, 1),)), Party(3, "张伟", (), ((31, 1),)), Party(4, "张伟", (), ((41, 1),)),
           Party(5, "王五", (), ((51, 1),))]
PAID = [PaidReceivable(90, 21, 2, 1, 450000, "10月租金")]
RECORDED = [RecordedPayment(7, 31, 3, 1, 123400, date(2026, 11, 4))]


def matcher():
    return Matcher(Index.build(RECEIVABLES, PARTIES, PAID, RECORDED), min_name_score=85)


def line(fen, name="", ref="", lid=1, day=NOV):
    return BankLine(id=lid, amount_fen=fen, booked_on=day, counterparty_name=name, reference=ref)


def allocations(decision):
    return [(a.lease_id, a.receivable_id, a.amount_fen) for a in decision.allocations]


CASES = [
    # id, line, rule, confidence, allocations, findings (kind, amount, expected), applied automatically
    ("code, equal amount", line(450000, "某人", f"房租 {payment_code(201)}"), M.PAYMENT_CODE, 100,
     [(21, 201, 450000)], [], True),
    ("code, partial", line(400000, "张三", payment_code(201)), M.PAYMENT_CODE, 80,
     [(21, 201, 400000)], [(K.AMOUNT_MISMATCH, 400000, 450000)], False),
    ("code, over: receivable then credit", line(500000, "", payment_code(201)), M.PAYMENT_CODE, 80,
     [(21, 201, 450000), (21, None, 50000)], [(K.OVERPAYMENT, 50000, 450000)], False),
    ("code of a paid receivable: duplicate", line(450000, "张三", payment_code(90)), M.PAYMENT_CODE, 60,
     [(21, None, 450000)], [(K.DUPLICATE_PAYMENT, 450000, 450000)], False),
    ("contract, equal to one receivable", line(800000, "", "合同号202512001 11月"), M.CONTRACT_NO, 95,
     [(11, 101, 800000)], [], True),
    ("contract, the sum due (deposit-rent-charge order)", line(850000, "", "HT 202512001"), M.CONTRACT_NO, 95,
     [(11, 101, 800000), (11, 102, 50000)], [], True),
    ("contract with dashes", line(450000, "", "ht-2026-021 rent"), M.CONTRACT_NO, 95, [(21, 201, 450000)], [], True),
    ("contract, mismatch oldest first", line(900000, "", "202512001"), M.CONTRACT_NO, 75,
     [(11, 101, 800000), (11, 102, 50000), (11, 103, 50000)], [(K.OVERPAYMENT, 50000, 850000)], False),
    ("payer = tenant, one receivable", line(800000, "深圳某某科技有限公司"), M.PAYER_AMOUNT, 92,
     [(11, 101, 800000)], [], True),
    ("payer = alias, sum over two leases", line(950000, "某某科技深圳分部"), M.PAYER_SUM, 90,
     [(11, 101, 800000), (12, 121, 100000), (11, 102, 50000)], [], True),
    ("payer fuzzy (深圳市…)", line(800000, "深圳市某某科技有限公司"), M.PAYER_AMOUNT, 85,
     [(11, 101, 800000)], [], False),
    ("payer with spaces and full-width", line(450000, " 张　三 "), M.PAYER_AMOUNT, 92, [(21, 201, 450000)], [], True),
    ("two tenants of the same name", line(300000, "张伟"), M.PAYER_AMOUNT, 55, [(31, 301, 300000)], [], False),
    ("payer, partial oldest first", line(100000, "张三"), M.PAYER_PARTIAL, 60, [(21, 201, 100000)],
     [(K.AMOUNT_MISMATCH, 100000, 450000)], False),
    ("payer with nothing open: credit, overpayment", line(20000, "王五"), M.PAYER_PARTIAL, 60, [(51, None, 20000)],
     [(K.OVERPAYMENT, 20000, 0)], False),
    ("hand-recorded payment confirmed", line(123400, "张伟"), M.EXISTING_PAYMENT, 95, [], [], True),
    ("amount only, unique", line(50000, "李雷"), M.AMOUNT_ONLY, 40, [(11, 102, 50000)], [], False),
    ("amount only but not unique: unmatched", line(300000, "李雷"), None, 0, [],
     [(K.UNMATCHED_INCOME, 300000, None)], False),
    ("nothing at all", line(12345, "李雷", "货款"), None, 0, [], [(K.UNMATCHED_INCOME, 12345, None)], False),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matching_table(case):
    _, bank_line, rule, confidence, expected_allocations, findings, applied = case
    decision = matcher().decide(bank_line)
    assert decision.rule == rule, decision.explanation
    assert decision.confidence == confidence, decision.explanation
    assert allocations(decision) == expected_allocations
    assert [(f.kind, f.amount_fen, f.expected_fen) for f in decision.findings] == findings
    assert decision.applies(THRESHOLD) is applied
    assert decision.allocated_fen <= bank_line.amount_fen
    assert decision.explanation  # every decision says why


def test_explanations_name_the_evidence():
    m = matcher()
    by_code = m.decide(line(450000, "某人", payment_code(201)))
    assert payment_code(201) in by_code.explanation and "equals what is open" in by_code.explanation
    fuzzy = m.decide(line(800000, "深圳市某某科技有限公司", lid=2))
    assert "similarity" in fuzzy.explanation and "深圳某某科技有限公司" in fuzzy.explanation
    ambiguous = matcher().decide(line(300000, "张伟"))
    assert "other tenant" in ambiguous.explanation
    assert {c["tenant_id"] for c in ambiguous.candidates} == {3, 4}
    nothing = matcher().decide(line(12345, "李雷", "货款"))
    assert "货款" in nothing.explanation and "李雷" in nothing.explanation


def test_lines_see_what_earlier_lines_took_many_lines_to_one_receivable():
    m = matcher()
    first, second, third = m.decide_all([line(200000, "", payment_code(201), lid=1),
                                         line(250000, "", payment_code(201), lid=2, day=date(2026, 11, 7)),
                                         line(250000, "", payment_code(201), lid=3, day=date(2026, 11, 8))])
    assert allocations(first) == [(21, 201, 200000)] and first.confidence == 80
    assert allocations(second) == [(21, 201, 250000)] and second.confidence == 100  # the rest, exactly
    assert [f.kind for f in third.findings] == [K.DUPLICATE_PAYMENT] and allocations(third) == [(21, None, 250000)]


def test_a_recorded_payment_is_confirmed_once():
    m = matcher()
    first = m.decide(line(123400, "张伟", lid=1))
    second = m.decide(line(123400, "张伟", lid=2))
    assert first.recorded_payment_id == 7 and second.recorded_payment_id is None


@pytest.mark.parametrize("raw,key", [("深圳某某科技有限公司", "深圳某某科技"), ("某某(中国)股份有限公司", "某某"),
                                     (" 张　三 ", "张三"), ("ABC Co., Ltd.", "ABCCOLTD"), ("公司", "公司")])
def test_name_keys(raw, key):
    assert name_key(raw) == key


NAMES = ["", "张三", "深圳某某科技有限公司", "张伟", "李雷"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2_000_000), st.sampled_from(NAMES),
                          st.sampled_from(["", payment_code(201), payment_code(101), "202512001", payment_code(90)])),
                min_size=1, max_size=25))
def test_never_more_than_a_line_nor_than_a_receivable_has_open(lines):
    m = matcher()
    decisions = m.decide_all([line(fen, name, ref, lid=i) for i, (fen, name, ref) in enumerate(lines)])
    taken: dict[int, int] = {}
    for (fen, _, _), decision in zip(lines, decisions, strict=True):
        assert decision.allocated_fen <= fen
        assert all(a.amount_fen > 0 for a in decision.allocations)
        for a in decision.allocations:
            if a.receivable_id is not None:
                taken[a.receivable_id] = taken.get(a.receivable_id, 0) + a.amount_fen
    open_ = {r.id: r.outstanding_fen for r in RECEIVABLES}
    assert all(amount <= open_[rid] for rid, amount in taken.items())
