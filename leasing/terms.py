"""A lease's contract terms as data (pure): what the schedule is generated from, stored on the lease as JSON
(``Lease.terms``) and versioned by amendments. Bounds on every field; a draft may leave terms open (an OCR or
imported draft), and generation then fails with MISSING_TERM instead of guessing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.validation import field_errors
from leasing.choices import (
    ChargeType,
    DaysPerMonth,
    EscalationKind,
    PaymentFrequency,
    RentBasis,
    TermError,
    TimingKind,
)

MAX_FEN = 10**11  # ¥1,000,000,000.00
MAX_LEASE_YEARS = 30


class TermsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FreePeriod(TermsModel):
    """免租期: an inclusive date range with no rent (other charges still apply)."""

    start: date
    end: date


class Escalation(TermsModel):
    """递增. PERCENT: +percent per lease year from ``from_year`` (compound unless ``compound`` is false);
    AMOUNT: +amount_fen per month per lease year from ``from_year``; SCHEDULE: explicit monthly rent (fen)
    per lease year (``amounts_fen`` {"2": 480000, …}; a year not named keeps the previous year's amount)."""

    kind: EscalationKind
    from_year: int = Field(2, ge=2, le=MAX_LEASE_YEARS)
    percent: Decimal | None = Field(None, gt=0, le=100, max_digits=7, decimal_places=4)
    amount_fen: int | None = Field(None, gt=0, le=MAX_FEN)
    compound: bool = True
    amounts_fen: dict[int, int] | None = None

    @field_validator("amounts_fen")
    @classmethod
    def _years(cls, value: dict[int, int] | None) -> dict[int, int] | None:
        if value is not None:
            for year, amount in value.items():
                if not 1 <= year <= MAX_LEASE_YEARS or not 0 <= amount <= MAX_FEN:
                    raise ValueError("lease years 1..30 with amounts 0..10^11 fen")
        return value


class RentStep(TermsModel):
    """A dated successor line (合同变更: new rent from a date): from ``from_date`` the monthly rent is this one,
    instead of the base rent and its escalation."""

    from_date: date
    monthly_rent_fen: int | None = Field(None, gt=0, le=MAX_FEN)
    unit_price: Decimal | None = Field(None, gt=0, le=100000, max_digits=12, decimal_places=4)


class OtherCharge(TermsModel):
    """物业费, 网费 …: ``amount_fen`` per billing period of its own frequency (ONE_OFF: once, at the start)."""

    code: str = Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_\-\u4e00-\u9fff]+$")
    name: str = Field(min_length=1, max_length=40)
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    frequency: str = Field(min_length=1, max_length=20)


class LeaseTerms(TermsModel):
    """Everything the schedule needs. ``frequency`` is a code (entry resolves aliases through the one table)."""

    start_date: date
    end_date: date
    frequency: str | None = Field(None, max_length=20)
    rent_basis: RentBasis = RentBasis.MONTHLY_AMOUNT
    monthly_rent_fen: int | None = Field(None, gt=0, le=MAX_FEN)
    unit_price: Decimal | None = Field(None, gt=0, le=100000, max_digits=12, decimal_places=4,
                                       description="yuan per m2 per day or per month, by rent_basis")
    area_m2: Decimal | None = Field(None, gt=0, le=1_000_000, max_digits=11, decimal_places=2)
    days_per_month: DaysPerMonth = DaysPerMonth.DAYS_365_12
    timing: TimingKind = TimingKind.IN_ADVANCE
    timing_days: int = Field(0, ge=0, le=90, description="IN_ADVANCE: days before the period starts")
    timing_day: int | None = Field(None, ge=1, le=31, description="FIXED_DAY: day of the month")
    deposit_months: Decimal | None = Field(None, ge=0, le=24, max_digits=5, decimal_places=2)
    deposit_fen: int | None = Field(None, ge=0, le=MAX_FEN)
    billing_anchor: date | None = None
    free_periods: tuple[FreePeriod, ...] = Field((), max_length=40)
    escalations: tuple[Escalation, ...] = Field((), max_length=10)
    rent_steps: tuple[RentStep, ...] = Field((), max_length=40)
    charges: tuple[OtherCharge, ...] = Field((), max_length=20)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)


class ScheduleError(Exception):
    """Terms that cannot become a schedule: an error code (leasing.choices.TermError), a reason, the field."""

    def __init__(self, code: TermError | str, message: str, *, field: str | None = None,
                 details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.message, self.field = str(code), message, field
        self.details = {**(details or {}), **({"field": field} if field else {})}


def parse_terms(data: dict[str, Any]) -> LeaseTerms:
    """Stored JSON → LeaseTerms, or ScheduleError(INVALID_TERM) naming the fields (legacy or hand-edited rows)."""
    try:
        return LeaseTerms.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        missing = [e for e in errors if e["type"] == "missing"]
        code = TermError.MISSING_TERM if missing and len(missing) == len(errors) else TermError.INVALID_TERM
        raise ScheduleError(code, "stored terms are not valid: " + "; ".join(
            f"{e['field']}: {e['message']}" for e in errors), details={"fields": errors}) from None


RENT_CHARGE = ChargeType.RENT.value
DEPOSIT_CHARGE = ChargeType.DEPOSIT.value


def charge_key(code: str) -> str:
    return f"{ChargeType.CHARGE.value}:{code}"


__all__ = ["LeaseTerms", "FreePeriod", "Escalation", "RentStep", "OtherCharge", "ScheduleError", "parse_terms",
           "PaymentFrequency", "charge_key", "RENT_CHARGE", "DEPOSIT_CHARGE"]


class HasTerms(Protocol):
    terms: Any


def lease_terms(lease: HasTerms) -> LeaseTerms:
    """A lease's stored terms (ScheduleError when they are not usable)."""
    return parse_terms(lease.terms or {})
