"""The definition of effective occupancy, in one place, and the other figures people quote — all computed from
the same per-unit-day facts (pure; table-tested in tests/test_occupancy_definition.py).

有效入住率 on a day = units with a lease signed AND its first rent paid, in force at the end of that day
÷ compliant rentable units; units excluded that day (试住, 内部占用, 合作置换, non-compliant or off the market —
explicit dated flags or the dated status history) are in neither; short stays (短租) stay in the denominator but
are not counted as occupied. Each alternative changes exactly one rule (``FIGURE_DIFFERS_BY``), so the gap
between two figures always has one named cause.

A period (a month) adds unit-days: its rate is occupied unit-days ÷ rentable unit-days, which is the
unit-weighted average of its days; numerator and denominator are also given as daily averages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from iot.choices import Occupancy
from occupancy.choices import (
    EXCLUSION_FLAGS,
    FIGURE_DIFFERS_BY,
    FIGURE_LABEL,
    NOT_RENTABLE_STATUSES,
    STATUS_EXCLUSION,
    Figure,
    FlagKind,
)
from portfolio.choices import UnitStatus

#: Rates are ratios rounded ROUND_HALF_UP to this many decimal places (0.7812 = 78.12 %).
RATE_PLACES = Decimal("0.0001")
AVERAGE_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class UnitDay:
    """What is known about one unit at the end of one day (a snapshot row carries exactly these)."""

    unit_id: int
    area_m2: Decimal
    status: UnitStatus  # the recorded status at the end of the day (status history)
    compliant: bool = True  # the unit's compliant_rentable
    has_lease: bool = False  # a signed lease covers the day and had not ended by its end
    first_rent_paid: bool = False  # that lease's first rent was fully paid by the end of the day
    short_stay: bool = False  # that lease is a short stay (flagged, or shorter than the configured term)
    flags: frozenset[FlagKind] = frozenset()  # dated flags in force that day (unit's and the lease's)
    sensor: Occupancy | None = None  # the day's inference; None when the unit has none


@dataclass(frozen=True)
class Classification:
    """What the definition makes of one unit-day (stored beside the facts in the snapshot)."""

    exclusions: frozenset[FlagKind]
    rentable: bool  # in every denominator
    effective: bool  # the definition's numerator
    signed_unpaid: bool  # rentable, signed lease in force (not a short stay), first rent not paid yet
    short_stay_paid: bool  # rentable, a short stay in force with its first rent paid
    sensor_known: bool  # rentable, with an OCCUPIED_LIKE / VACANT_LIKE inference
    sensor_occupied: bool  # rentable, OCCUPIED_LIKE


def exclusions_of(day: UnitDay) -> frozenset[FlagKind]:
    """Why a unit is outside the rentable stock that day (empty: it is rentable)."""
    out = {flag for flag in day.flags if flag in EXCLUSION_FLAGS}
    status = UnitStatus(day.status)
    if status in STATUS_EXCLUSION:
        out.add(STATUS_EXCLUSION[status])
    if not day.compliant or status in NOT_RENTABLE_STATUSES:
        out.add(FlagKind.NON_COMPLIANT)
    return frozenset(out)


def classify(day: UnitDay) -> Classification:
    excluded = exclusions_of(day)
    rentable = not excluded
    short = day.short_stay or FlagKind.SHORT_STAY in day.flags
    leased = rentable and day.has_lease
    known = rentable and day.sensor in (Occupancy.OCCUPIED_LIKE, Occupancy.VACANT_LIKE)
    return Classification(
        exclusions=excluded, rentable=rentable,
        effective=leased and day.first_rent_paid and not short,
        signed_unpaid=leased and not day.first_rent_paid and not short,
        short_stay_paid=leased and short and day.first_rent_paid,
        sensor_known=known, sensor_occupied=known and day.sensor == Occupancy.OCCUPIED_LIKE)


@dataclass
class Tally:
    """Unit-day sums over any set of snapshot rows (a building's day, a city's month …). Every figure is a ratio
    of two of these, so a tally is all a report needs (the snapshot query computes it with SUMs)."""

    unit_days: int = 0  # every unit-day, excluded ones too
    rentable: int = 0
    rentable_area: Decimal = Decimal(0)
    effective: int = 0
    effective_area: Decimal = Decimal(0)
    signed_unpaid: int = 0
    short_stay_paid: int = 0
    sensor_known: int = 0
    sensor_occupied: int = 0
    excluded: dict[str, int] = field(default_factory=dict)  # exclusion kind → unit-days (a unit may have two)
    excluded_units: int = 0  # unit-days with at least one exclusion

    def add(self, day: UnitDay, c: Classification | None = None) -> None:
        c = c or classify(day)
        self.unit_days += 1
        if c.rentable:
            self.rentable += 1
            self.rentable_area += Decimal(day.area_m2)
        else:
            self.excluded_units += 1
            for kind in c.exclusions:
                self.excluded[kind] = self.excluded.get(kind, 0) + 1
        if c.effective:
            self.effective += 1
            self.effective_area += Decimal(day.area_m2)
        self.signed_unpaid += c.signed_unpaid
        self.short_stay_paid += c.short_stay_paid
        self.sensor_known += c.sensor_known
        self.sensor_occupied += c.sensor_occupied

    def merge(self, other: Tally) -> Tally:
        out = Tally()
        for f in fields(Tally):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, dict):
                setattr(out, f.name, {k: a.get(k, 0) + b.get(k, 0) for k in sorted({*a, *b})})
            else:
                setattr(out, f.name, a + b)
        return out

    @classmethod
    def of(cls, days: Iterable[UnitDay]) -> Tally:
        tally = cls()
        for day in days:
            tally.add(day)
        return tally


@dataclass(frozen=True)
class FigureValue:
    code: Figure
    numerator: Decimal  # units (or ㎡); for a period, unit-days (or ㎡-days)
    denominator: Decimal
    measure: str  # "units", "m2"

    @property
    def rate(self) -> Decimal | None:
        """None when there is nothing to divide by — never a 0 % that means "no data"."""
        if not self.denominator:
            return None
        return (Decimal(self.numerator) / Decimal(self.denominator)).quantize(RATE_PLACES, ROUND_HALF_UP)

    def as_dict(self, days: int = 1) -> dict[str, Any]:
        rate = self.rate
        out: dict[str, Any] = {
            "code": str(self.code), "label": FIGURE_LABEL[self.code], "differs_by": FIGURE_DIFFERS_BY[self.code],
            "numerator": _number(self.numerator), "denominator": _number(self.denominator), "measure": self.measure,
            "rate": None if rate is None else str(rate),
            "percent": None if rate is None else f"{(rate * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"}
        if days > 1:  # a period: the sums are unit-days; the daily averages are what people compare with a day
            out["days"] = days
            out["numerator_avg"] = _number((Decimal(self.numerator) / days).quantize(AVERAGE_PLACES, ROUND_HALF_UP))
            out["denominator_avg"] = _number((Decimal(self.denominator) / days).quantize(AVERAGE_PLACES,
                                                                                         ROUND_HALF_UP))
        return out


def _number(value: Decimal | int) -> int | str:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else str(value)


def figures(tally: Tally) -> dict[Figure, FigureValue]:
    """Every figure from one tally: the definition first, then the alternatives."""
    rentable = Decimal(tally.rentable)
    return {
        Figure.EFFECTIVE: FigureValue(Figure.EFFECTIVE, Decimal(tally.effective), rentable, "units"),
        Figure.SIGNED: FigureValue(Figure.SIGNED, Decimal(tally.effective + tally.signed_unpaid), rentable, "units"),
        Figure.AREA: FigureValue(Figure.AREA, Decimal(tally.effective_area), Decimal(tally.rentable_area), "m2"),
        Figure.WITH_SHORT_STAYS: FigureValue(Figure.WITH_SHORT_STAYS, Decimal(tally.effective + tally.short_stay_paid),
                                             rentable, "units"),
        Figure.PHYSICAL: FigureValue(Figure.PHYSICAL, Decimal(tally.sensor_occupied), Decimal(tally.sensor_known),
                                     "units"),
    }


def explain(tally: Tally, days: int = 1) -> dict[str, Any]:
    """The figures with their numerators and denominators, and the counts that explain the gaps between them."""
    return {
        "figures": [value.as_dict(days) for value in figures(tally).values()],
        "explained": {
            "unit_days" if days > 1 else "units": tally.unit_days,
            "rentable": tally.rentable, "excluded": tally.excluded_units, "excluded_by_kind": dict(tally.excluded),
            "signed_first_rent_unpaid": tally.signed_unpaid, "short_stays_paid": tally.short_stay_paid,
            "sensor_coverage": tally.sensor_known,
        },
    }
