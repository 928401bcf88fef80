"""Rent schedule generation: a pure function from contract terms to receivable lines (no database, no clock).

Periods come from the anchor date (the billing anchor, by default the start date): period k runs from
``anchor + k·n months`` to ``anchor + (k+1)·n months − 1 day``, each bound computed from the anchor with
dateutil's relativedelta (31 Jan + 1 month = 28/29 Feb, + 2 months = 31 Mar), never by chaining additions
(which drifts: 31 Jan → 28 Feb → 28 Mar) and never with rrule (which skips months without a 31st).

Amounts, per period of n months with D nominal days (the days of the full period, before clipping to the
lease's start or end):
- base rent = monthly rent × n × (days covered at that rate) / D — a full period is exactly n months' rent; a
  short first or last period (a stub before the anchor, an early end) is prorated by days;
- escalation (递增) = the same with (escalated − base) monthly rent, rates changing on lease-year boundaries
  (start + y years), which may fall inside a period (then the period is split by days);
- free rent (免租期) = − the escalated rate × n × free days / D;
- a rent step (a dated successor line from an amendment) replaces base and escalation from its date.
Other charges have their own frequency and amount per period, prorated the same way; the deposit is one line.
Rounding (leasing.money): exact fractions, each component stream rounded ROUND_HALF_UP on its running total,
so a schedule's periods add up exactly to its total, and each component's to its rounded exact total.
"""

from __future__ import annotations

from bisect import bisect_right
from calendar import isleap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from functools import cached_property
from typing import Any

from dateutil.relativedelta import relativedelta

from core.errors import ValidationFailed
from leasing.choices import (
    FREQUENCY_MONTHS,
    ChargeType,
    DaysPerMonth,
    EscalationKind,
    PaymentFrequency,
    RentBasis,
    TermError,
    TimingKind,
)
from leasing.frequency import AliasTable, resolve_frequency
from leasing.money import exact, round_half_up, running_round
from leasing.terms import DEPOSIT_CHARGE, RENT_CHARGE, LeaseTerms, ScheduleError, charge_key

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Line:
    """One receivable-to-be. Its key (charge, period_start) identifies it across regenerations."""

    charge: str  # RENT, DEPOSIT, CHARGE:<code>
    charge_type: ChargeType
    period_start: date
    period_end: date
    due_date: date
    amount_fen: int
    breakdown: dict[str, Any] = field(default_factory=dict, compare=False)
    label: str = ""

    @property
    def key(self) -> tuple[str, date]:
        return self.charge, self.period_start


@dataclass(frozen=True)
class Schedule:
    lines: tuple[Line, ...]
    frequency: PaymentFrequency
    monthly_rent_fen: int  # the initial base monthly rent, rounded (per-m2 rents are exact inside)
    deposit_fen: int

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.charge] = out.get(line.charge, 0) + line.amount_fen
        return out


# ----------------------------------------------------------------------------------------------- dates


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def month_days(year: int, month: int) -> int:
    """``calendar.monthrange(year, month)[1]`` without computing the month's first weekday."""
    if month == 2 and isleap(year):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(anchor: date, months: int) -> date:
    """``anchor + relativedelta(months=months)``: the same day, clamped to the target month's last day (a test
    holds the two equal over years of dates); spelled out because the schedule calls it for every period."""
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    day = anchor.day
    return date(year, month, day if day <= 28 else min(day, month_days(year, month)))


def period_bounds(anchor: date, months: int, k: int) -> tuple[date, date]:
    """Nominal period k (k may be negative: a stub before the anchor), both bounds from the anchor."""
    return add_months(anchor, k * months), add_months(anchor, (k + 1) * months) - ONE_DAY


def periods(start: date, end: date, anchor: date, months: int) -> Iterator[tuple[date, date, date, date]]:
    """(start, end, nominal start, nominal end) of every period covering [start, end], clipped to it."""
    k = 0
    while add_months(anchor, k * months) > start:
        k -= 1
    nominal_start = add_months(anchor, k * months)
    while nominal_start <= end:  # each bound from the anchor; period k + 1 starts the day after period k ends
        k += 1
        next_start = add_months(anchor, k * months)
        nominal_end = next_start - ONE_DAY
        yield max(nominal_start, start), min(nominal_end, end), nominal_start, nominal_end
        nominal_start = next_start


def due_date(period_start: date, terms: LeaseTerms) -> date:
    if terms.timing == TimingKind.FIXED_DAY:
        day = terms.timing_day or 1
        return period_start.replace(day=min(day, month_days(period_start.year, period_start.month)))
    return period_start - timedelta(days=terms.timing_days)


def lease_year(start: date, day: date) -> int:
    """1 for the first 12 months from the start date, 2 for the next …"""
    years = relativedelta(day, start).years
    return years + 1


def days(a: date, b: date) -> int:
    return (b - a).days + 1


# ----------------------------------------------------------------------------------------------- rates


def base_monthly(terms: LeaseTerms, unit_price: Any = None, monthly_fen: int | None = None) -> Fraction:
    """Monthly rent in exact fen: the stated amount, or unit price × area (× days per month for a daily price)."""
    if terms.rent_basis == RentBasis.MONTHLY_AMOUNT:
        amount = monthly_fen if monthly_fen is not None else terms.monthly_rent_fen
        if amount is None:
            raise ScheduleError(TermError.MISSING_TERM, "the monthly rent is missing", field="monthly_rent_fen")
        return amount  # type: ignore[return-value]  # whole fen: int arithmetic stays exact and fast
    price = unit_price if unit_price is not None else terms.unit_price
    if price is None:
        raise ScheduleError(TermError.MISSING_TERM, f"a {terms.rent_basis} rent needs its unit price",
                            field="unit_price")
    if terms.area_m2 is None:
        raise ScheduleError(TermError.MISSING_TERM, f"a {terms.rent_basis} rent needs the contracted area",
                            field="area_m2")
    monthly = exact(price) * exact(terms.area_m2) * 100
    if terms.rent_basis == RentBasis.PER_M2_DAY:
        monthly *= Fraction(365, 12) if terms.days_per_month == DaysPerMonth.DAYS_365_12 else 30
    return monthly.numerator if monthly.denominator == 1 else monthly  # type: ignore[return-value]


def escalated(base: Fraction, terms: LeaseTerms, year: int) -> Fraction:
    rate = base
    for rule in terms.escalations:
        steps = year - rule.from_year + 1
        if rule.kind == EscalationKind.SCHEDULE:
            named = [y for y in (rule.amounts_fen or {}) if y <= year]
            if named:
                rate = exact(rule.amounts_fen[max(named)])  # type: ignore[index]
            continue
        if steps <= 0:
            continue
        if rule.kind == EscalationKind.PERCENT:
            factor = 1 + exact(rule.percent) / 100  # type: ignore[arg-type]
            rate = rate * factor**steps if rule.compound else rate * (1 + (factor - 1) * steps)
        elif rule.kind == EscalationKind.AMOUNT:
            rate = rate + exact(rule.amount_fen) * steps  # type: ignore[arg-type]
    return rate


@dataclass(frozen=True)
class Rate:
    base: Fraction  # what the period would cost without escalation
    effective: Fraction  # with escalation (or the rent step in force)

    @cached_property
    def monthly_fen(self) -> str:
        """The effective monthly rate as shown in a period's breakdown (rounded to the fen)."""
        return str(round_half_up(self.effective))


def _whole(value: Fraction) -> Fraction:
    """An integral Fraction as an int (same value; int arithmetic is several times faster)."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator  # type: ignore[return-value]
    return value


class RentRates:
    """The monthly rate on any day, and the days on which it can change (lease years, rent steps)."""

    def __init__(self, terms: LeaseTerms):
        self.terms = terms
        self.base = base_monthly(terms)
        self.steps = sorted(terms.rent_steps, key=lambda s: s.from_date)
        self.step_rates = [_whole(base_monthly(terms, s.unit_price, s.monthly_rent_fen)) for s in self.steps]
        self._step_rates = [Rate(rate, rate) for rate in self.step_rates]
        self.step_days = [s.from_date for s in self.steps]
        years = (terms.end_date.year - terms.start_date.year) + 2
        #: lease year y starts on year_starts[y - 1] (start + (y−1) years, 29 Feb clamped like relativedelta)
        self.year_starts = [add_months(terms.start_date, 12 * y) for y in range(years)]
        self.changes = sorted({*self.year_starts[1:], *self.step_days})
        self._by_year: dict[int, Rate] = {}

    def rate(self, day: date) -> Rate:
        if self.step_days:
            step = bisect_right(self.step_days, day)
            if step:
                return self._step_rates[step - 1]
        year = bisect_right(self.year_starts, day)
        rate = self._by_year.get(year)
        if rate is None:
            rate = self._by_year[year] = Rate(self.base, _whole(escalated(self.base, self.terms, year)))
        return rate

    def change_days(self, start: date, end: date) -> list[date]:
        """The days inside ]start, end] on which the rate may change."""
        lo, hi = bisect_right(self.changes, start), bisect_right(self.changes, end)
        return self.changes[lo:hi]


# ----------------------------------------------------------------------------------------------- validation


def check_terms(terms: LeaseTerms, aliases: AliasTable | None = None) -> PaymentFrequency:
    if terms.end_date < terms.start_date:
        raise ScheduleError(TermError.INCONSISTENT_DATES, "the lease ends before it starts", field="end_date")
    if terms.frequency is None:
        raise ScheduleError(TermError.MISSING_TERM, "the payment frequency is missing", field="frequency")
    try:
        frequency = resolve_frequency(terms.frequency, aliases, field="frequency").frequency
    except ValidationFailed as exc:
        raise ScheduleError(TermError.INVALID_FREQUENCY_CODE, exc.message, details=exc.details) from None
    if terms.timing == TimingKind.FIXED_DAY and terms.timing_day is None:
        raise ScheduleError(TermError.MISSING_TERM, "a FIXED_DAY payment timing needs timing_day", field="timing_day")
    anchor = terms.billing_anchor
    if anchor is not None and not terms.start_date <= anchor <= terms.end_date:
        raise ScheduleError(TermError.INCONSISTENT_DATES, "the billing anchor lies outside the lease",
                            field="billing_anchor")
    for n, free in enumerate(terms.free_periods):
        if free.end < free.start or free.start < terms.start_date or free.end > terms.end_date:
            raise ScheduleError(TermError.INCONSISTENT_DATES,
                                f"free period {free.start}..{free.end} is not inside the lease",
                                field=f"free_periods.{n}")
    for n, step in enumerate(terms.rent_steps):
        if not terms.start_date < step.from_date <= terms.end_date:
            raise ScheduleError(TermError.INCONSISTENT_DATES,
                                f"rent step from {step.from_date} is not inside the lease", field=f"rent_steps.{n}")
    for n, rule in enumerate(terms.escalations):
        needed = {EscalationKind.PERCENT: "percent", EscalationKind.AMOUNT: "amount_fen",
                  EscalationKind.SCHEDULE: "amounts_fen"}[rule.kind]
        if getattr(rule, needed) in (None, {}):
            raise ScheduleError(TermError.MISSING_TERM, f"a {rule.kind} escalation needs {needed}",
                                field=f"escalations.{n}.{needed}")
    if terms.deposit_months is None and terms.deposit_fen is None:
        raise ScheduleError(TermError.MISSING_TERM, "the deposit is missing (months or a fixed amount)",
                            field="deposit_fen")
    for n, charge in enumerate(terms.charges):
        try:
            resolve_frequency(charge.frequency, aliases, field=f"charges.{n}.frequency")
        except ValidationFailed as exc:
            raise ScheduleError(TermError.INVALID_FREQUENCY_CODE, exc.message, details=exc.details) from None
    return frequency


# ----------------------------------------------------------------------------------------------- generation


@dataclass
class _Exact:
    start: date
    end: date
    nominal_start: date
    nominal_end: date
    parts: dict[str, Fraction]
    info: dict[str, Any]


def _free_days(terms: LeaseTerms, a: date, b: date) -> int:
    total = 0
    for free in terms.free_periods:
        lo, hi = max(a, free.start), min(b, free.end)
        if lo <= hi:
            total += days(lo, hi)
    return total


def _rent_period(rates: RentRates, terms: LeaseTerms, span: tuple[date, date, date, date], months: int) -> _Exact:
    start, end, nominal_start, nominal_end = span
    nominal = days(nominal_start, nominal_end)
    changes = rates.change_days(start, end)
    if not changes and not terms.free_periods:  # one rate, no free days: the common period, without segments
        rate = rates.rate(start)
        covered = days(start, end)
        share = months if covered == nominal else Fraction(months * covered, nominal)
        escalation = (rate.effective - rate.base) * share if rate.effective != rate.base else 0
        return _Exact(start, end, nominal_start, nominal_end,
                      {"base": rate.base * share, "escalation": escalation, "free": 0},  # type: ignore[dict-item]
                      {"days": covered, "nominal_days": nominal, "months": months,
                       "prorated": (start, end) != (nominal_start, nominal_end), "monthly_fen": rate.monthly_fen})
    parts: dict[str, Fraction] = {"base": 0, "escalation": 0, "free": 0}  # type: ignore[dict-item]
    cuts = [start, *changes, end + ONE_DAY]
    segments = []
    for a, nxt in zip(cuts, cuts[1:], strict=False):
        b = nxt - ONE_DAY
        rate = rates.rate(a)
        covered, free = days(a, b), _free_days(terms, a, b) if terms.free_periods else 0
        share = months if covered == nominal else Fraction(months * covered, nominal)
        parts["base"] += rate.base * share
        if rate.effective != rate.base:
            parts["escalation"] += (rate.effective - rate.base) * share
        if free:
            parts["free"] -= rate.effective * Fraction(months * free, nominal)
        segments.append({"from": a.isoformat(), "to": b.isoformat(), "days": covered, "free_days": free,
                         "monthly_fen": rate.monthly_fen})
    info: dict[str, Any] = {"days": days(start, end), "nominal_days": nominal, "months": months,
                            "prorated": (start, end) != (nominal_start, nominal_end)}
    if len(segments) > 1 or segments[0]["free_days"]:  # a uniform period needs no segments to explain it
        info["segments"] = segments
    else:
        info["monthly_fen"] = segments[0]["monthly_fen"]
    return _Exact(start, end, nominal_start, nominal_end, parts, info)


def _rounded_lines(charge: str, charge_type: ChargeType, exacts: list[_Exact], terms: LeaseTerms,
                   label: str) -> list[Line]:
    streams = sorted({key for e in exacts for key in e.parts})
    names = [f"{key}_fen" for key in streams]
    rounded = [running_round([e.parts.get(key, 0) for e in exacts]) for key in streams]
    lines = []
    for e, amounts in zip(exacts, zip(*rounded, strict=True), strict=True):
        components = dict(zip(names, amounts, strict=True))
        lines.append(Line(charge=charge, charge_type=charge_type, period_start=e.start, period_end=e.end,
                          due_date=due_date(e.start, terms), amount_fen=sum(amounts),
                          breakdown={**components, **e.info}, label=label))
    return lines


def _rent_lines(terms: LeaseTerms, frequency: PaymentFrequency, anchor: date) -> list[Line]:
    rates = RentRates(terms)
    months = FREQUENCY_MONTHS[frequency]
    if months is None:  # ONE_OFF: the whole term, computed month by month, due once
        monthly = [_rent_period(rates, terms, span, 1) for span in periods(terms.start_date, terms.end_date, anchor, 1)]
        parts: dict[str, Fraction] = {}
        for e in monthly:
            for key, value in e.parts.items():
                parts[key] = parts.get(key, Fraction(0)) + value
        whole = _Exact(terms.start_date, terms.end_date, terms.start_date, terms.end_date, parts,
                       {"days": days(terms.start_date, terms.end_date), "months": len(monthly), "prorated": False,
                        "segments": [s for e in monthly for s in e.info.get("segments", [])]})
        return _rounded_lines(RENT_CHARGE, ChargeType.RENT, [whole], terms, "租金")
    exacts = [_rent_period(rates, terms, span, months)
              for span in periods(terms.start_date, terms.end_date, anchor, months)]
    return _rounded_lines(RENT_CHARGE, ChargeType.RENT, exacts, terms, "租金")


def _charge_lines(terms: LeaseTerms, anchor: date, aliases: AliasTable | None) -> list[Line]:
    lines: list[Line] = []
    for charge in terms.charges:
        frequency = resolve_frequency(charge.frequency, aliases).frequency
        months = FREQUENCY_MONTHS[frequency]
        if months is None:
            exacts = [_Exact(terms.start_date, terms.end_date, terms.start_date, terms.end_date,
                             {"base": exact(charge.amount_fen)}, {"one_off": True})]
        else:
            exacts = []
            for start, end, ns, ne in periods(terms.start_date, terms.end_date, anchor, months):
                nominal = days(ns, ne)
                exacts.append(_Exact(start, end, ns, ne,
                                     {"base": exact(charge.amount_fen) * Fraction(days(start, end), nominal)},
                                     {"days": days(start, end), "nominal_days": nominal,
                                      "prorated": (start, end) != (ns, ne)}))
        lines += _rounded_lines(charge_key(charge.code), ChargeType.CHARGE, exacts, terms, charge.name)
    return lines


def deposit_amount(terms: LeaseTerms) -> int:
    if terms.deposit_fen is not None:
        return terms.deposit_fen
    return round_half_up(exact(terms.deposit_months) * base_monthly(terms))  # type: ignore[arg-type]


def generate_schedule(terms: LeaseTerms, aliases: AliasTable | None = None) -> Schedule:
    """Terms → every receivable line of the lease (rent, deposit, other charges), or ScheduleError."""
    frequency = check_terms(terms, aliases)
    anchor = terms.billing_anchor or terms.start_date
    rent = _rent_lines(terms, frequency, anchor)
    deposit = deposit_amount(terms)
    lines = list(rent)
    if deposit > 0:
        lines.append(Line(charge=DEPOSIT_CHARGE, charge_type=ChargeType.DEPOSIT, period_start=terms.start_date,
                          period_end=terms.end_date, due_date=rent[0].due_date if rent else terms.start_date,
                          amount_fen=deposit, breakdown={"deposit_months": str(terms.deposit_months)
                                                         if terms.deposit_months is not None else None},
                          label="押金"))
    lines += _charge_lines(terms, anchor, aliases)
    lines.sort(key=lambda line: (line.due_date, line.period_start, _CHARGE_ORDER.get(line.charge_type, 9),
                                 line.charge))
    return Schedule(lines=tuple(lines), frequency=frequency, monthly_rent_fen=round_half_up(base_monthly(terms)),
                    deposit_fen=deposit)


_CHARGE_ORDER = {ChargeType.DEPOSIT: 0, ChargeType.RENT: 1, ChargeType.CHARGE: 2}
