"""Schedule generation against hand-computed tables (every amount in fen worked out by hand in the comments)."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from leasing.schedule import generate_schedule, period_bounds
from leasing.terms import LeaseTerms, ScheduleError

D = date.fromisoformat


def terms(**kw):
    base = {"start_date": "2026-01-01", "end_date": "2026-12-31", "frequency": "MONTHLY", "monthly_rent_fen": 300000,
            "deposit_fen": 0}
    return LeaseTerms.model_validate({**base, **kw})


def rent(schedule):
    return [(ln.period_start.isoformat(), ln.period_end.isoformat(), ln.due_date.isoformat(), ln.amount_fen)
            for ln in schedule.lines if ln.charge == "RENT"]


def test_month_end_start_is_computed_from_the_anchor_never_chained():
    # 31 Jan + k months, clamped: Feb 28, Mar 31, Apr 30 … each period ends the day before the next anchor date
    s = generate_schedule(terms(start_date="2026-01-31", end_date="2026-07-30"))
    assert rent(s) == [("2026-01-31", "2026-02-27", "2026-01-31", 300000),
                       ("2026-02-28", "2026-03-30", "2026-02-28", 300000),
                       ("2026-03-31", "2026-04-29", "2026-03-31", 300000),
                       ("2026-04-30", "2026-05-30", "2026-04-30", 300000),
                       ("2026-05-31", "2026-06-29", "2026-05-31", 300000),
                       ("2026-06-30", "2026-07-30", "2026-06-30", 300000)]
    assert s.total_fen == 1800000


@pytest.mark.parametrize("anchor,months,k,expected", [
    ("2028-01-31", 1, 0, ("2028-01-31", "2028-02-28")),  # leap year: the next anchor date is 29 Feb
    ("2028-01-31", 1, 1, ("2028-02-29", "2028-03-30")),
    ("2028-02-29", 12, 0, ("2028-02-29", "2029-02-27")),  # 29 Feb + 12 months = 28 Feb 2029
    ("2028-02-29", 12, 1, ("2029-02-28", "2030-02-27")),
    ("2028-02-29", 12, 4, ("2032-02-29", "2033-02-27")),  # back to a leap year: 29 Feb again, not drifted
    ("2026-08-31", 2, 1, ("2026-10-31", "2026-12-30")),
    ("2026-04-01", 3, -1, ("2026-01-01", "2026-03-31")),  # the stub before an anchor
])
def test_period_bounds(anchor, months, k, expected):
    assert tuple(d.isoformat() for d in period_bounds(D(anchor), months, k)) == expected


def test_leap_year_annual_periods_are_full_years():
    s = generate_schedule(terms(start_date="2028-02-29", end_date="2030-02-27", frequency="年付"))
    assert rent(s) == [("2028-02-29", "2029-02-27", "2028-02-29", 3600000),
                       ("2029-02-28", "2030-02-27", "2029-02-28", 3600000)]


def test_free_period_spanning_two_billing_periods_bimonthly():
    # Periods: 31 Jan–30 Mar (59 days), 31 Mar–30 May (61), 31 May–15 Jun (16 of a 61-day nominal period).
    # Free 15 Feb–10 Apr: 44 days in period 1, 11 in period 2.
    # free: 600000×44/59 = 447457.63 → 447458; running 447457.63+108196.72 = 555654.35 → 555654 → 108196
    # short last period: 600000×16/61 = 157377.05 → base running 1357377.05 → 1357377 → 157377
    s = generate_schedule(terms(start_date="2026-01-31", end_date="2026-06-15", frequency="两月一次",
                                free_periods=[{"start": "2026-02-15", "end": "2026-04-10"}]))
    assert rent(s) == [("2026-01-31", "2026-03-30", "2026-01-31", 152542),
                       ("2026-03-31", "2026-05-30", "2026-03-31", 491804),
                       ("2026-05-31", "2026-06-15", "2026-05-31", 157377)]
    lines = [ln for ln in s.lines if ln.charge == "RENT"]
    assert [ln.breakdown["free_fen"] for ln in lines] == [-447458, -108196, 0]
    assert [ln.breakdown["base_fen"] for ln in lines] == [600000, 600000, 157377]
    assert lines[2].breakdown["prorated"] is True and lines[2].breakdown["nominal_days"] == 61


def test_escalation_mid_period_with_a_calendar_anchor():
    # Start 15 Mar 2026, quarters from 1 Apr; +5 % compound from lease year 2 (from 15 Mar 2027).
    # stub 15–31 Mar: 17 of 90 days → 100000×3×17/90 = 56666.67 → 56667
    # Q1 2027 (90 days): 73 days at 100000, 17 days at 105000 → base 300000, escalation 5000×3×17/90 = 2833.33
    # Q2 2027: base 300000, escalation 15000 (running: 17833.33 → 17833 − 2833)
    s = generate_schedule(terms(start_date="2026-03-15", end_date="2027-06-30", frequency="QUARTERLY",
                                monthly_rent_fen=100000, billing_anchor="2026-04-01",
                                escalations=[{"kind": "PERCENT", "from_year": 2, "percent": "5"}]))
    assert rent(s) == [("2026-03-15", "2026-03-31", "2026-03-15", 56667),
                       ("2026-04-01", "2026-06-30", "2026-04-01", 300000),
                       ("2026-07-01", "2026-09-30", "2026-07-01", 300000),
                       ("2026-10-01", "2026-12-31", "2026-10-01", 300000),
                       ("2027-01-01", "2027-03-31", "2027-01-01", 302833),
                       ("2027-04-01", "2027-06-30", "2027-04-01", 315000)]
    assert s.total_fen == 1574500 == 1556667 + 17833


def test_escalation_compound_simple_amount_and_explicit_years():
    def yearly(**esc):
        s = generate_schedule(terms(start_date="2026-01-01", end_date="2028-12-31", frequency="ANNUAL",
                                    monthly_rent_fen=100000, escalations=[esc]))
        return [a for *_, a in rent(s)]

    assert yearly(kind="PERCENT", from_year=2, percent="10") == [1200000, 1320000, 1452000]
    assert yearly(kind="PERCENT", from_year=2, percent="10", compound=False) == [1200000, 1320000, 1440000]
    assert yearly(kind="AMOUNT", from_year=3, amount_fen=5000) == [1200000, 1200000, 1260000]
    assert yearly(kind="SCHEDULE", amounts_fen={2: 110000, 3: 125000}) == [1200000, 1320000, 1500000]


def test_early_termination_prorates_the_last_period_by_days():
    s = generate_schedule(terms(end_date="2026-03-10", monthly_rent_fen=310000))
    assert rent(s) == [("2026-01-01", "2026-01-31", "2026-01-01", 310000),
                       ("2026-02-01", "2026-02-28", "2026-02-01", 310000),
                       ("2026-03-01", "2026-03-10", "2026-03-01", 100000)]  # 310000 × 10/31


@pytest.mark.parametrize("convention,monthly,february_half", [
    ("365/12", 1368750, 684375),  # 4.50 元 × 100 ㎡ × 365/12 = 13687.50 元; 14 of 28 days
    ("30", 1350000, 675000),
])
def test_price_per_m2_per_day_with_the_stated_days_convention(convention, monthly, february_half):
    s = generate_schedule(terms(end_date="2026-02-14", monthly_rent_fen=None, rent_basis="PER_M2_DAY",
                                unit_price="4.50", area_m2="100", days_per_month=convention))
    assert [a for *_, a in rent(s)] == [monthly, february_half]
    assert s.monthly_rent_fen == monthly


def test_price_per_m2_per_month_rounds_on_the_running_total():
    # 3.33 元 × 33.33 ㎡ = 110.9889 元/月 = 11098.89 fen: twelve periods sum to round(133186.68) = 133187
    s = generate_schedule(terms(monthly_rent_fen=None, rent_basis="PER_M2_MONTH", unit_price="3.33",
                                area_m2="33.33"))
    amounts = [a for *_, a in rent(s)]
    exact = Fraction(Decimal("11098.89"))
    assert sum(amounts) == 133187 == s.total_fen
    running = 0
    for n, amount in enumerate(amounts, start=1):
        running += amount
        assert abs(running - exact * n) <= Fraction(1, 2)
        assert amount in (11098, 11099)


def test_other_charges_have_their_own_frequency_and_prorate():
    s = generate_schedule(terms(end_date="2026-03-31", frequency="季付", monthly_rent_fen=200000, charges=[
        {"code": "MGMT", "name": "物业费", "amount_fen": 50000, "frequency": "月付"},
        {"code": "NET", "name": "网费", "amount_fen": 120000, "frequency": "年付"},
        {"code": "KEY", "name": "门禁卡", "amount_fen": 2000, "frequency": "一次性"}]))
    by_charge = {}
    for line in s.lines:
        by_charge.setdefault(line.charge, []).append(line.amount_fen)
    assert by_charge == {"RENT": [600000], "CHARGE:MGMT": [50000, 50000, 50000],
                         "CHARGE:NET": [29589],  # 120000 × 90/365 = 29589.04
                         "CHARGE:KEY": [2000]}
    assert s.total_fen == 600000 + 150000 + 29589 + 2000


def test_deposit_from_ya_fu_alias_and_timing_rules():
    s = generate_schedule(terms(frequency="QUARTERLY", deposit_fen=None, deposit_months="2", timing="FIXED_DAY",
                                timing_day=31, start_date="2026-02-01", end_date="2026-07-31"))
    deposit = [ln for ln in s.lines if ln.charge == "DEPOSIT"]
    assert deposit[0].amount_fen == 600000 and deposit[0].due_date == D("2026-02-28")
    assert [d for _, _, d, _ in rent(s)] == ["2026-02-28", "2026-05-31"]  # day 31 clamped to month end
    advance = generate_schedule(terms(timing_days=5, end_date="2026-02-28"))
    assert [d for _, _, d, _ in rent(advance)] == ["2025-12-27", "2026-01-27"]


def test_one_off_is_the_whole_term_once():
    s = generate_schedule(terms(frequency="一次性", end_date="2026-06-30",
                                free_periods=[{"start": "2026-01-01", "end": "2026-01-31"}]))
    assert rent(s) == [("2026-01-01", "2026-06-30", "2026-01-01", 1500000)]


@pytest.mark.parametrize("change,code,field", [
    ({"frequency": None}, "MISSING_TERM", "frequency"),
    ({"frequency": "每周"}, "INVALID_FREQUENCY_CODE", "frequency"),
    ({"monthly_rent_fen": None}, "MISSING_TERM", "monthly_rent_fen"),
    ({"rent_basis": "PER_M2_DAY", "unit_price": "3"}, "MISSING_TERM", "area_m2"),
    ({"end_date": "2025-12-01"}, "INCONSISTENT_DATES", "end_date"),
    ({"free_periods": [{"start": "2026-12-01", "end": "2027-01-31"}]}, "INCONSISTENT_DATES", "free_periods.0"),
    ({"billing_anchor": "2027-02-01"}, "INCONSISTENT_DATES", "billing_anchor"),
    ({"escalations": [{"kind": "PERCENT", "from_year": 2}]}, "MISSING_TERM", "escalations.0.percent"),
    ({"deposit_fen": None}, "MISSING_TERM", "deposit_fen"),
    ({"timing": "FIXED_DAY"}, "MISSING_TERM", "timing_day"),
])
def test_unusable_terms_name_their_error_code_and_field(change, code, field):
    with pytest.raises(ScheduleError) as caught:
        generate_schedule(terms(**change))
    assert caught.value.code == code
    assert caught.value.details.get("field") == field


def test_rent_step_replaces_base_and_escalation_from_its_date():
    s = generate_schedule(terms(end_date="2026-04-30", rent_steps=[{"from_date": "2026-03-16",
                                                                     "monthly_rent_fen": 620000}]))
    # March: 15 days at 300000 and 16 at 620000, of 31 → 145161.29 + 320000 = 465161.29 → running 1065161
    assert [a for *_, a in rent(s)] == [300000, 300000, 465161, 620000]


def test_month_arithmetic_equals_relativedelta_over_four_years_of_days():
    from datetime import timedelta

    from dateutil.relativedelta import relativedelta

    from leasing.schedule import add_months

    day = D("2027-01-01")
    for _ in range(4 * 366):
        for months in (-13, -1, 1, 2, 3, 6, 12, 24, 25):
            assert add_months(day, months) == day + relativedelta(months=months), (day, months)
        day += timedelta(days=1)
