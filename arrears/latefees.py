"""违约金 (late fees) from the contract's clause, in integer fen (pure, table-tested).

Clause kinds: a daily rate on the overdue amount, optionally capped (a share of the receivable's amount and/or a
fixed ceiling), or a fixed amount once overdue. ``grace_days`` is the clause's own 宽限期: the fee starts on the
day after due date + grace days.

Day count: day D (due + grace < D ≤ as_of) is a day late when something is still outstanding at its start, i.e.
the amount less the payments dated before D — a payment on D still counts D (paid 3 days after the due date with
no grace = 3 days). The rounding rule: the fee is computed exactly (``Fraction`` from the ``Decimal`` rate) and
rounded once to the fen ROUND_HALF_UP (leasing.money.round_half_up); the cap (itself rounded the same way when it
is a share) applies to the rounded fee.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from arrears.choices import LateFeeKind
from leasing.money import exact, round_half_up


class LateFeeClause(BaseModel):
    """The contract's late-fee clause (违约金条款)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: LateFeeKind = LateFeeKind.NONE
    daily_rate: Decimal | None = Field(None, gt=0, le=Decimal("0.01"), decimal_places=6,
                                       description="per day on the overdue amount, e.g. 0.0005 (万分之五)")
    cap_rate: Decimal | None = Field(None, gt=0, le=1, decimal_places=4,
                                     description="ceiling as a share of the receivable's amount, e.g. 0.2")
    cap_fen: int | None = Field(None, ge=0, le=10**12)
    fixed_fen: int | None = Field(None, ge=0, le=10**12)
    grace_days: int = Field(0, ge=0, le=90)
    clause_ref: str = Field("", max_length=40, description="the clause as cited to the tenant, e.g. 第八条")

    @model_validator(mode="after")
    def _complete(self) -> LateFeeClause:
        if self.kind == LateFeeKind.DAILY_RATE and self.daily_rate is None:
            raise ValueError("a DAILY_RATE clause needs daily_rate")
        if self.kind == LateFeeKind.FIXED and self.fixed_fen is None:
            raise ValueError("a FIXED clause needs fixed_fen")
        return self


@dataclass(frozen=True)
class Segment:
    start: date  # first day late of the segment
    end: date  # last day, inclusive
    base_fen: int  # outstanding on each of these days

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class LateFee:
    fen: int
    days: int  # days late charged (with something outstanding)
    uncapped_fen: int
    capped: bool
    segments: tuple[Segment, ...] = field(default_factory=tuple)

    def breakdown(self, clause: LateFeeClause) -> dict[str, Any]:
        return {"kind": clause.kind, "daily_rate": str(clause.daily_rate) if clause.daily_rate else None,
                "cap_rate": str(clause.cap_rate) if clause.cap_rate else None, "cap_fen": clause.cap_fen,
                "fixed_fen": clause.fixed_fen, "grace_days": clause.grace_days, "clause_ref": clause.clause_ref,
                "days": self.days, "uncapped_fen": self.uncapped_fen, "capped": self.capped,
                "segments": [{"from": s.start.isoformat(), "to": s.end.isoformat(), "days": s.days,
                              "base_fen": s.base_fen} for s in self.segments]}


NO_FEE = LateFee(0, 0, 0, False)


def overdue_segments(amount_fen: int, due_date: date, payments: Iterable[tuple[date, int]], as_of: date,
                     grace_days: int = 0) -> tuple[Segment, ...]:
    """Runs of days late with the same outstanding amount (payments dated after ``as_of`` do not count)."""
    first = due_date + timedelta(days=grace_days + 1)
    if as_of < first:
        return ()
    by_date: dict[date, int] = {}
    for paid_on, fen in payments:
        if paid_on <= as_of:
            by_date[paid_on] = by_date.get(paid_on, 0) + fen
    outstanding = amount_fen - sum(fen for paid_on, fen in by_date.items() if paid_on < first)
    segments: list[Segment] = []
    day = first
    for paid_on in sorted(d for d in by_date if d >= first):
        if outstanding <= 0:
            break
        segments.append(Segment(day, paid_on, outstanding))  # a payment on a day still counts that day
        outstanding -= by_date[paid_on]
        day = paid_on + timedelta(days=1)
    if outstanding > 0 and day <= as_of:
        segments.append(Segment(day, as_of, outstanding))
    return tuple(segments)


def late_fee(clause: LateFeeClause, *, amount_fen: int, due_date: date, payments: Iterable[tuple[date, int]],
             as_of: date) -> LateFee:
    """The fee owed on ``as_of`` for one receivable of ``amount_fen`` due on ``due_date``."""
    if clause.kind == LateFeeKind.NONE or amount_fen <= 0:
        return NO_FEE
    segments = overdue_segments(amount_fen, due_date, payments, as_of, clause.grace_days)
    days = sum(s.days for s in segments)
    if not days:
        return NO_FEE
    if clause.kind == LateFeeKind.FIXED:
        fee = int(clause.fixed_fen or 0)
        return LateFee(fee, days, fee, False, segments)
    rate = exact(clause.daily_rate)  # type: ignore[arg-type]
    total: Fraction = sum((Fraction(s.base_fen * s.days) * rate for s in segments), Fraction(0))
    uncapped = round_half_up(total)
    caps = []
    if clause.cap_rate is not None:
        caps.append(round_half_up(exact(clause.cap_rate) * amount_fen))
    if clause.cap_fen is not None:
        caps.append(clause.cap_fen)
    fee = min([uncapped, *caps])
    return LateFee(fee, days, uncapped, fee < uncapped, segments)
