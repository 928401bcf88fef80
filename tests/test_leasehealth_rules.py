"""Lease health rules as tables (no database): working days on the Chinese calendar, each indicator's period
and threshold, the level, the evidence."""

from datetime import date

import pytest

from leasehealth.choices import HealthLevel, Indicator, PeriodKind
from leasehealth.rules import (
    Assessment,
    Change,
    Due,
    Facts,
    HealthParams,
    Order,
    assess,
    deviation,
    period_bounds,
    period_of,
    working_days_between,
)

P = HealthParams()
D = date


@pytest.mark.parametrize(("start", "end", "expected"), [
    (D(2026, 9, 30), D(2026, 9, 30), 0),
    (D(2026, 9, 30), D(2026, 9, 29), 0),
    # 国庆 2026: 10-01..10-07 off; 10-08 works; Saturday 10-10 is a make-up working day (调休上班)
    (D(2026, 9, 30), D(2026, 10, 7), 0),
    (D(2026, 9, 30), D(2026, 10, 8), 1),
    (D(2026, 9, 30), D(2026, 10, 10), 3),  # 10-08, 10-09, Saturday 10-10
    (D(2026, 9, 30), D(2026, 10, 11), 3),  # Sunday 10-11 is off
    (D(2026, 9, 30), D(2026, 10, 13), 5),
    (D(2026, 9, 30), D(2026, 10, 14), 6),
    # an ordinary week: Friday due, the next Friday paid
    (D(2026, 11, 6), D(2026, 11, 13), 5),
    (D(2026, 11, 6), D(2026, 11, 16), 6),
])
def test_working_days_between(start, end, expected):
    assert working_days_between(start, end) == expected


@pytest.mark.parametrize(("due", "paid", "as_of", "expected"), [
    # due before 国庆: 13 calendar days late is only 5 working days (no deviation) …
    (D(2026, 9, 30), D(2026, 10, 13), D(2026, 12, 31), None),
    # … the next day is the 6th (the make-up Saturday 10-10 counted)
    (D(2026, 9, 30), D(2026, 10, 14), D(2026, 12, 31), 6),
    # paid on time or early
    (D(2026, 11, 6), D(2026, 11, 6), D(2026, 12, 31), None),
    (D(2026, 11, 6), D(2026, 11, 1), D(2026, 12, 31), None),
    # unpaid: a deviation once more than 5 working days have passed
    (D(2026, 11, 6), None, D(2026, 11, 13), None),
    (D(2026, 11, 6), None, D(2026, 11, 16), 6),
    # paid after as_of: judged as unpaid on as_of
    (D(2026, 11, 6), D(2026, 11, 20), D(2026, 11, 13), None),
    # not yet due
    (D(2026, 12, 6), None, D(2026, 11, 30), None),
])
def test_deviation(due, paid, as_of, expected):
    assert deviation(Due(1, "租金", due, 100_000, paid), as_of, P) == expected


@pytest.mark.parametrize(("kind", "day", "period", "bounds"), [
    (PeriodKind.QUARTER, D(2026, 10, 1), "2026Q4", (D(2026, 10, 1), D(2026, 12, 31))),
    (PeriodKind.QUARTER, D(2026, 3, 31), "2026Q1", (D(2026, 1, 1), D(2026, 3, 31))),
    (PeriodKind.QUARTER, D(2026, 8, 15), "2026Q3", (D(2026, 7, 1), D(2026, 9, 30))),
    (PeriodKind.YEAR, D(2026, 6, 1), "2026", (D(2026, 1, 1), D(2026, 12, 31))),
    (PeriodKind.MONTH, D(2026, 12, 5), "2026-12", (D(2026, 12, 1), D(2026, 12, 31))),
    (PeriodKind.MONTH, D(2028, 2, 10), "2028-02", (D(2028, 2, 1), D(2028, 2, 29))),
])
def test_periods(kind, day, period, bounds):
    assert period_of(kind, day) == period
    assert period_bounds(kind, day) == bounds


def dues(*rows):
    return tuple(Due(i, "租金", due, 100_000, paid) for i, (due, paid) in enumerate(rows, start=1))


LATE = D(2026, 10, 14)  # 6 working days after 2026-09-30
Q4_LATE = [(D(2026, 10, 9), D(2026, 10, 19)), (D(2026, 11, 6), D(2026, 11, 16)), (D(2026, 12, 4), None)]


@pytest.mark.parametrize(("name", "facts", "as_of", "level", "counts"), [
    ("nothing", Facts(), D(2026, 12, 20), HealthLevel.GREEN, {"PAYMENT_DEVIATIONS": 0}),
    ("two deviations: not yet", Facts(dues=dues(*Q4_LATE[:2])), D(2026, 12, 20), HealthLevel.GREEN,
     {"PAYMENT_DEVIATIONS": 2}),
    ("three deviations in Q4 (one unpaid) → yellow", Facts(dues=dues(*Q4_LATE)), D(2026, 12, 20),
     HealthLevel.YELLOW, {"PAYMENT_DEVIATIONS": 3}),
    ("the unpaid one is not late yet on 12-10", Facts(dues=dues(*Q4_LATE)), D(2026, 12, 10), HealthLevel.GREEN,
     {"PAYMENT_DEVIATIONS": 2}),
    ("13 calendar days over 国庆 is on time", Facts(dues=dues((D(2026, 9, 30), D(2026, 10, 13)),
                                                             (D(2026, 8, 31), LATE), (D(2026, 7, 31), LATE))),
     D(2026, 10, 20), HealthLevel.GREEN, {"PAYMENT_DEVIATIONS": 0}),
    ("two changes a year: not yet", Facts(changes=(Change(1, "RENT_CHANGE", D(2026, 2, 1)),
                                                    Change(2, "EXTENSION", D(2026, 9, 1)))),
     D(2026, 12, 20), HealthLevel.GREEN, {"CONTRACT_CHANGES": 2}),
    ("three changes a year → red", Facts(changes=(Change(1, "RENT_CHANGE", D(2026, 2, 1)),
                                                   Change(2, "EXTENSION", D(2026, 9, 1)),
                                                   Change(3, "RENT_CHANGE", D(2026, 12, 1)))),
     D(2026, 12, 20), HealthLevel.RED, {"CONTRACT_CHANGES": 3}),
    ("data fixes are not the tenant's changes", Facts(changes=(Change(1, "RENT_CHANGE", D(2026, 2, 1)),
                                                               Change(2, "TERMS_FIX", D(2026, 9, 1)),
                                                               Change(3, "EXTENSION", D(2026, 12, 1)))),
     D(2026, 12, 20), HealthLevel.GREEN, {"CONTRACT_CHANGES": 2}),
    ("changes of two years are not added up", Facts(changes=(Change(1, "RENT_CHANGE", D(2025, 2, 1)),
                                                             Change(2, "EXTENSION", D(2025, 9, 1)),
                                                             Change(3, "RENT_CHANGE", D(2026, 1, 3)))),
     D(2026, 1, 20), HealthLevel.GREEN, {"CONTRACT_CHANGES": 1}),
    ("last year's red stands through this year", Facts(changes=tuple(Change(i, "RENT_CHANGE", D(2025, i, 1))
                                                                     for i in range(1, 4))),
     D(2026, 6, 1), HealthLevel.RED, {"CONTRACT_CHANGES": 0}),
    ("two years back: no longer", Facts(changes=tuple(Change(i, "RENT_CHANGE", D(2024, i, 1)) for i in range(1, 4))),
     D(2026, 6, 1), HealthLevel.GREEN, {"CONTRACT_CHANGES": 0}),
    ("five repairs a month: not yet", Facts(orders=tuple(Order(i, "REPAIR", D(2026, 12, i)) for i in range(1, 6))),
     D(2026, 12, 20), HealthLevel.GREEN, {"WORK_ORDERS": 5}),
    ("six repair/cleaning/inspection orders → orange",
     Facts(orders=tuple(Order(i, ("REPAIR", "CLEANING", "INSPECTION")[i % 3], D(2026, 12, i))
                        for i in range(1, 7))), D(2026, 12, 20), HealthLevel.ORANGE, {"WORK_ORDERS": 6}),
    ("to-dos and moves are not counted",
     Facts(orders=(*(Order(i, "REPAIR", D(2026, 12, i)) for i in range(1, 6)), Order(9, "TASK", D(2026, 12, 9)),
                   Order(10, "MOVE_OUT", D(2026, 12, 9)))), D(2026, 12, 20), HealthLevel.GREEN, {"WORK_ORDERS": 5}),
    ("six orders over two months", Facts(orders=tuple(Order(i, "REPAIR", D(2026, 11 + i % 2, 10 + i))
                                                      for i in range(1, 7))),
     D(2026, 12, 20), HealthLevel.GREEN, {"WORK_ORDERS": 3}),
    ("red beats orange beats yellow",
     Facts(dues=dues(*Q4_LATE), changes=tuple(Change(i, "RENT_CHANGE", D(2026, i, 1)) for i in range(1, 4)),
           orders=tuple(Order(i, "REPAIR", D(2026, 12, i)) for i in range(1, 7))),
     D(2026, 12, 20), HealthLevel.RED, {"PAYMENT_DEVIATIONS": 3, "CONTRACT_CHANGES": 3, "WORK_ORDERS": 6}),
])
def test_assess(name, facts, as_of, level, counts):
    result = assess(facts, as_of, P)
    assert isinstance(result, Assessment)
    assert result.level == level, name
    for key, value in counts.items():
        assert result.counts[key] == value, (name, key)


def test_findings_carry_evidence_period_and_action():
    result = assess(Facts(dues=dues(*Q4_LATE)), D(2026, 12, 20), P)
    (finding,) = result.findings
    assert finding.as_dict() == {
        "indicator": "PAYMENT_DEVIATIONS", "period": "2026Q4", "level": "YELLOW", "count": 3, "threshold": "≥ 3",
        "action": "安排专人回访,核实支付障碍",
        "evidence": [
            {"receivable_id": 1, "label": "租金", "due_date": "2026-10-09", "amount_fen": 100_000,
             "paid_on": "2026-10-19", "working_days_late": 7},  # make-up Saturday 10-10 counts
            {"receivable_id": 2, "label": "租金", "due_date": "2026-11-06", "amount_fen": 100_000,
             "paid_on": "2026-11-16", "working_days_late": 6},
            {"receivable_id": 3, "label": "租金", "due_date": "2026-12-04", "amount_fen": 100_000,
             "paid_on": None, "working_days_late": 10},
        ]}


def test_previous_period_is_judged_after_it_ends():
    """Q3's last rent (due 09-30, before 国庆) becomes a deviation only in October; the Q3 warning then stands
    through Q4."""
    facts = Facts(dues=dues((D(2026, 7, 3), D(2026, 7, 20)), (D(2026, 8, 3), D(2026, 8, 20)),
                            (D(2026, 9, 30), LATE)))
    assert assess(facts, D(2026, 10, 12), P).findings == ()  # on 10-12 the 09-30 rent is 4 working days late
    later = assess(facts, D(2026, 10, 20), P)
    assert later.level == HealthLevel.YELLOW
    assert [(f.indicator, f.period, f.count) for f in later.findings] == [(Indicator.PAYMENT_DEVIATIONS, "2026Q3", 3)]
    assert later.counts["PAYMENT_DEVIATIONS"] == 0  # Q4 itself: nothing yet
    assert assess(facts, D(2027, 1, 4), P).level == HealthLevel.GREEN  # two quarters on: no longer


def test_thresholds_are_parameters():
    facts = Facts(dues=dues(*Q4_LATE[:2]))
    assert assess(facts, D(2026, 12, 20), HealthParams(deviations_per_quarter=2)).level == HealthLevel.YELLOW
    assert assess(facts, D(2026, 12, 20), HealthParams(late_working_days=10)).counts["PAYMENT_DEVIATIONS"] == 0
