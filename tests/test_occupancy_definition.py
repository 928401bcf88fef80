"""The definition of effective occupancy and each exclusion, as a table; the alternative figures differ from it
exactly as the portfolio below is constructed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from iot.choices import Occupancy
from occupancy.choices import Figure, FlagKind
from occupancy.definition import Tally, UnitDay, classify, explain, figures
from portfolio.choices import UnitStatus

S, F, Occ = UnitStatus, FlagKind, Occupancy
A = Decimal("50")


def day(status=S.OCCUPIED, **kw) -> UnitDay:
    return UnitDay(unit_id=kw.pop("unit_id", 1), area_m2=kw.pop("area_m2", A), status=status, **kw)


PAID = {"has_lease": True, "first_rent_paid": True}
# (case, unit-day, expected: rentable, effective, signed_unpaid, short_stay_paid, exclusions)
CASES = [
    ("signed and first rent paid", day(**PAID), (True, True, False, False, set())),
    ("signed, first rent unpaid", day(S.PENDING_DELIVERY, has_lease=True), (True, False, True, False, set())),
    ("paid but not handed over counts (payment is the fact, not the key)", day(S.PENDING_DELIVERY, **PAID),
     (True, True, False, False, set())),
    ("no lease, vacant", day(S.VACANT), (True, False, False, False, set())),
    ("status OCCUPIED without a lease is not occupancy", day(S.OCCUPIED), (True, False, False, False, set())),
    ("first rent paid without a lease in force (ended)", day(S.VACANT, first_rent_paid=True),
     (True, False, False, False, set())),
    ("trial stay by flag", day(flags=frozenset({F.TRIAL_STAY}), **PAID), (False, False, False, False, {F.TRIAL_STAY})),
    ("trial stay by status", day(S.TRIAL_STAY), (False, False, False, False, {F.TRIAL_STAY})),
    ("internal use by flag", day(S.VACANT, flags=frozenset({F.INTERNAL_USE})),
     (False, False, False, False, {F.INTERNAL_USE})),
    ("internal use by status", day(S.INTERNAL_USE), (False, False, False, False, {F.INTERNAL_USE})),
    ("partnership swap", day(flags=frozenset({F.PARTNERSHIP_SWAP}), **PAID),
     (False, False, False, False, {F.PARTNERSHIP_SWAP})),
    ("non-compliant unit (unit flag column)", day(compliant=False, **PAID),
     (False, False, False, False, {F.NON_COMPLIANT})),
    ("non-compliant by dated flag", day(S.VACANT, flags=frozenset({F.NON_COMPLIANT})),
     (False, False, False, False, {F.NON_COMPLIANT})),
    ("off the market is not rentable", day(S.OFF_MARKET), (False, False, False, False, {F.NON_COMPLIANT})),
    ("two exclusions at once", day(S.TRIAL_STAY, compliant=False), (False, False, False, False,
                                                                   {F.TRIAL_STAY, F.NON_COMPLIANT})),
    ("short stay by term, paid", day(short_stay=True, **PAID), (True, False, False, True, set())),
    ("short stay by flag, paid", day(flags=frozenset({F.SHORT_STAY}), **PAID), (True, False, False, True, set())),
    ("short stay, unpaid: in no numerator", day(has_lease=True, short_stay=True), (True, False, False, False, set())),
    ("renovation with a lease still counts", day(S.RENOVATION, **PAID), (True, True, False, False, set())),
]


@pytest.mark.parametrize(("case", "unit_day", "expected"), CASES, ids=[c[0] for c in CASES])
def test_definition_table(case, unit_day, expected):
    c = classify(unit_day)
    rentable, effective, unpaid, short_paid, exclusions = expected
    assert (c.rentable, c.effective, c.signed_unpaid, c.short_stay_paid) == (rentable, effective, unpaid, short_paid)
    assert set(c.exclusions) == exclusions


SENSOR_CASES = [
    (day(sensor=Occ.OCCUPIED_LIKE), (True, True)),
    (day(sensor=Occ.VACANT_LIKE), (True, False)),
    (day(sensor=Occ.UNKNOWN), (False, False)),
    (day(sensor=None), (False, False)),
    (day(S.TRIAL_STAY, sensor=Occ.OCCUPIED_LIKE), (False, False)),  # an excluded unit is in no figure
]


@pytest.mark.parametrize(("unit_day", "expected"), SENSOR_CASES)
def test_physical_occupancy_cases(unit_day, expected):
    c = classify(unit_day)
    assert (c.sensor_known, c.sensor_occupied) == expected


def portfolio() -> list[UnitDay]:
    """20 units built so every figure differs from the definition by a known number of units."""
    units: list[UnitDay] = []

    def add(n, **kw):
        for _ in range(n):
            units.append(day(unit_id=len(units) + 1, **kw))

    add(10, area_m2=Decimal("40"), sensor=Occ.OCCUPIED_LIKE, **PAID)  # effective, small
    add(2, area_m2=Decimal("100"), sensor=Occ.OCCUPIED_LIKE, **PAID)  # effective, large
    add(2, status=S.PENDING_DELIVERY, has_lease=True, sensor=Occ.VACANT_LIKE)  # signed, first rent unpaid
    add(1, short_stay=True, sensor=Occ.OCCUPIED_LIKE, **PAID)  # a paid short stay
    add(3, status=S.VACANT, area_m2=Decimal("60"), sensor=Occ.UNKNOWN)  # vacant, no inference
    add(1, status=S.TRIAL_STAY, sensor=Occ.OCCUPIED_LIKE)  # excluded
    add(1, status=S.VACANT, compliant=False)  # excluded
    return units


def test_alternative_figures_differ_exactly_as_constructed():
    tally = Tally.of(portfolio())
    got = {code: (value.numerator, value.denominator, value.rate) for code, value in figures(tally).items()}
    rentable_area = Decimal(10 * 40 + 2 * 100 + 2 * 50 + 50 + 3 * 60)
    assert got[Figure.EFFECTIVE] == (12, 18, Decimal("0.6667"))
    assert got[Figure.SIGNED] == (14, 18, Decimal("0.7778"))  # + the 2 signed, unpaid
    assert got[Figure.WITH_SHORT_STAYS] == (13, 18, Decimal("0.7222"))  # + the paid short stay
    assert got[Figure.AREA] == (Decimal(600), rentable_area, (Decimal(600) / rentable_area).quantize(Decimal("0.0001")))
    assert got[Figure.PHYSICAL] == (13, 15, Decimal("0.8667"))  # 3 vacant units have no inference
    assert tally.excluded == {F.TRIAL_STAY: 1, F.NON_COMPLIANT: 1}
    assert tally.unit_days == 20 and tally.excluded_units == 2


def test_nothing_to_divide_by_is_no_rate_not_zero():
    tally = Tally.of([day(S.TRIAL_STAY)])
    report = explain(tally)
    assert all(f["rate"] is None and f["percent"] is None for f in report["figures"])


def test_a_month_is_unit_days_and_daily_averages():
    first = Tally.of(portfolio())
    second = Tally.of([day(unit_id=1, **PAID), day(unit_id=2, status=S.VACANT)])
    month = first.merge(second)
    effective = next(f for f in explain(month, days=2)["figures"] if f["code"] == "EFFECTIVE")
    assert (effective["numerator"], effective["denominator"]) == (13, 20)
    assert (effective["numerator_avg"], effective["denominator_avg"]) == ("6.50", 10)
    assert effective["rate"] == "0.6500" and effective["percent"] == "65.00%"
