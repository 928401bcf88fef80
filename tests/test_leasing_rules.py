"""Pure ledger rules in tables: frequency aliases, money rounding, USCC / ID checks, receivable states,
oldest-first allocation, the regeneration plan."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from core.errors import ValidationFailed
from leasing.choices import PaymentFrequency as F
from leasing.frequency import DEFAULT_TABLE, build_alias_table
from leasing.money import round_half_up, running_round, yuan_to_fen
from leasing.parties import id_last4, id_number_hash, id_number_problem, normalize_phone, uscc_problem
from leasing.rules import OpenItem, StoredRow, allocate, plan_regeneration, receivable_state
from leasing.schedule import Line

D = date.fromisoformat


@pytest.mark.parametrize("text,frequency,deposit", [
    ("月付", F.MONTHLY, None), ("按月", F.MONTHLY, None), ("每月", F.MONTHLY, None), ("一月一付", F.MONTHLY, None),
    ("两月一次", F.BIMONTHLY, None), ("两月一付", F.BIMONTHLY, None), ("双月付", F.BIMONTHLY, None),
    ("季付", F.QUARTERLY, None), ("三月一付", F.QUARTERLY, None), ("按季", F.QUARTERLY, None),
    ("半年付", F.SEMIANNUAL, None), ("半年一付", F.SEMIANNUAL, None), ("年付", F.ANNUAL, None),
    ("一年一付", F.ANNUAL, None), ("一次性", F.ONE_OFF, None),
    ("押一付三", F.QUARTERLY, Decimal(1)), ("押二付一", F.MONTHLY, Decimal(2)), ("押一付一", F.MONTHLY, Decimal(1)),
    ("押二付三", F.QUARTERLY, Decimal(2)), ("押三付六", F.SEMIANNUAL, Decimal(3)),
    ("BIMONTHLY", F.BIMONTHLY, None), ("quarterly", F.QUARTERLY, None), ("one_off", F.ONE_OFF, None),
    (" 两月一次。", F.BIMONTHLY, None), ("季付 ", F.QUARTERLY, None), ("ＭＯＮＴＨＬＹ", F.MONTHLY, None),
])
def test_alias_table(text, frequency, deposit):
    term = DEFAULT_TABLE.resolve(text)
    assert (term.frequency, term.deposit_months) == (frequency, deposit)


@pytest.mark.parametrize("text", ["两月一趟", "WEEKLY", "每周", "", "3", None, "押四付一"])
def test_unknown_frequency_is_refused_naming_value_and_what_is_accepted(text):
    with pytest.raises(ValidationFailed) as caught:
        DEFAULT_TABLE.resolve(text)
    error = caught.value
    assert error.code == "INVALID_FREQUENCY_CODE" and error.status == 422
    assert error.details["value"] == text and error.details["field"] == "payment_frequency"
    assert error.details["accepted_codes"] == ["MONTHLY", "BIMONTHLY", "QUARTERLY", "SEMIANNUAL", "ANNUAL", "ONE_OFF"]
    assert "两月一次" in error.details["accepted_aliases"] and "押一付三" in error.details["accepted_aliases"]


def test_operators_extend_the_one_table_by_configuration():
    table = build_alias_table({"两月一趟": "BIMONTHLY", "押一付二": {"frequency": "BIMONTHLY", "deposit_months": 1}})
    assert table.resolve("两月一趟").frequency == F.BIMONTHLY
    assert table.resolve("押一付二").deposit_months == Decimal(1)
    assert table.resolve("季付").frequency == F.QUARTERLY  # the defaults stay
    with pytest.raises(ValueError, match="unknown code"):
        build_alias_table({"每周": "WEEKLY"})


@pytest.mark.parametrize("value,rounded", [
    (Fraction(5, 2), 3), (Fraction(-5, 2), -3), (Fraction(3, 2), 2), (Fraction(149, 100), 1),
    (Decimal("0.5"), 1), (Decimal("2.4999"), 2), (Fraction(447457625, 1000), 447458), (7, 7),
])
def test_round_half_up(value, rounded):
    assert round_half_up(value) == rounded


def test_running_round_parts_add_up_to_the_rounded_whole():
    parts = [Fraction(1, 3)] * 3 + [Fraction(10, 7)] * 7
    rounded = running_round(parts)
    assert sum(rounded) == round_half_up(sum(parts)) == 11
    assert all(abs(r - p) < 1 for r, p in zip(rounded, parts, strict=True))


@pytest.mark.parametrize("text,fen", [("12,345.60", 1234560), ("¥1.5", 150), ("3000", 300000), ("0.01", 1),
                                      ("1,000元", 100000)])
def test_yuan_to_fen(text, fen):
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["1.234", "abc", "", "1e3"])
def test_yuan_to_fen_refuses(text):
    with pytest.raises(ValueError):
        yuan_to_fen(text)


@pytest.mark.parametrize("code,problem", [
    ("91350100M000100Y43", None), ("91350100m000100y43", None), (" 91350100M000100Y43 ", None),
    ("91350100M000100Y44", "check digit is 4, expected 3"), ("91350100M000100Y4", "must be 18 characters, got 17"),
    ("91350100M000100YI3", "characters not allowed in a credit code: I"),
])
def test_uscc_check_digit(code, problem):
    assert uscc_problem(code) == problem


@pytest.mark.parametrize("number,problem", [
    ("11010519491231002X", None), ("11010519491231002x", None),
    ("110105194912310021", "check digit is 1, expected X"),
    ("110105194913310020", "the birth date inside it is not a date"),
    ("1101051949", "must be 17 digits and a digit or X"),
])
def test_id_number_check(number, problem):
    assert id_number_problem(number) == problem


def test_id_number_is_kept_only_as_salted_hash_and_last_four():
    digest = id_number_hash("11010519491231002x", "salt-a")
    assert digest == id_number_hash("11010519491231002X", "salt-a") != id_number_hash("11010519491231002X", "salt-b")
    assert "1101" not in digest and id_last4("11010519491231002x") == "002X"


@pytest.mark.parametrize("phone,normal", [("+86 139-1234-5678", "13912345678"), ("008613912345678", "13912345678"),
                                          ("0755-86001234", "075586001234")])
def test_phone_normalisation(phone, normal):
    assert normalize_phone(phone) == normal


@pytest.mark.parametrize("status,paid,as_of,state", [
    ("OPEN", 0, "2026-05-01", "UPCOMING"), ("OPEN", 0, "2026-05-24", "UPCOMING"), ("OPEN", 0, "2026-05-25", "DUE"),
    ("OPEN", 0, "2026-06-01", "DUE"), ("OPEN", 0, "2026-06-02", "OVERDUE"), ("PARTIAL", 400, "2026-05-01",
                                                                             "PARTIALLY_PAID"),
    ("PARTIAL", 400, "2026-06-02", "OVERDUE"), ("PAID", 1000, "2026-07-01", "PAID"),
    ("WAIVED", 0, "2026-07-01", "WAIVED"), ("SUPERSEDED", 0, "2026-07-01", "SUPERSEDED"),
])
def test_receivable_state(status, paid, as_of, state):
    assert receivable_state(status=status, amount_fen=1000, paid_fen=paid, due_date=D("2026-06-01"),
                            as_of=D(as_of), notice_days=7) == state


def test_allocation_oldest_first_deposit_before_rent_never_over_allocating():
    items = [OpenItem(3, D("2026-02-01"), 300), OpenItem(1, D("2026-01-01"), 300, priority=1),
             OpenItem(2, D("2026-01-01"), 600, priority=0)]
    assert allocate(1000, items) == ([(2, 600), (1, 300), (3, 100)], 0)
    assert allocate(1500, items) == ([(2, 600), (1, 300), (3, 300)], 300)  # overpayment: 300 credit
    assert allocate(0, items) == ([], 0)
    with pytest.raises(ValueError):
        allocate(-1, items)


def line(charge, start, amount, end="2026-01-31"):
    return Line(charge=charge, charge_type="RENT", period_start=D(start), period_end=D(end), due_date=D(start),
                amount_fen=amount)


def row(id_, start, amount, paid=0, status="OPEN", end="2026-01-31", adjusted=0):
    return StoredRow(id=id_, charge="RENT", period_start=D(start), period_end=D(end), due_date=D(start),
                     amount_fen=amount, paid_fen=paid, status=status, adjusted_fen=adjusted)


def test_regeneration_keeps_paid_rows_and_settles_differences():
    stored = [row(1, "2026-01-01", 1000, paid=1000, status="PAID"), row(2, "2026-02-01", 1000, paid=300,
                                                                        status="PARTIAL"),
              row(3, "2026-03-01", 1000), row(4, "2026-04-01", 1000), row(5, "2026-05-01", 1000, status="WAIVED")]
    lines = [line("RENT", "2026-01-01", 1000), line("RENT", "2026-02-01", 1200), line("RENT", "2026-03-01", 1200),
             line("RENT", "2026-05-01", 1200), line("RENT", "2026-06-01", 1200)]
    plan = plan_regeneration(stored, lines)
    assert [r.id for r in plan.kept] == [1, 2, 5]
    assert [(r.id, delta) for r, delta in plan.adjust] == [(2, 200)]  # paid row 1 unchanged; waived row 5 untouched
    assert [(r.id, ln.amount_fen) for r, ln in plan.update] == [(3, 1200)]
    assert [r.id for r in plan.supersede] == [4]
    assert [ln.period_start.isoformat() for ln in plan.create] == ["2026-06-01"]
    again = plan_regeneration([row(2, "2026-02-01", 1000, paid=300, status="PARTIAL", adjusted=200)],
                              [line("RENT", "2026-02-01", 1200)])
    assert not again.changes  # the adjustment raised before counts: applying twice changes nothing
    lower = plan_regeneration([row(1, "2026-01-01", 1000, paid=1000, status="PAID")], [])
    assert [(r.id, d) for r, d in lower.adjust] == [(1, -1000)]  # early end after a paid period: credit
