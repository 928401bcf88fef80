"""Request models of the leasing ledger (bounds on every field). ``LeaseIn`` is the one flat shape a new lease
arrives in — from the API, an import row, or an OCR draft (contracts/) — before it becomes terms and a party."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from core.pagination import PageQuery
from core.validation import RowId
from leasing.choices import (
    DaysPerMonth,
    PartyKind,
    PaymentMethod,
    ReceivableState,
    RentBasis,
    TimingKind,
)
from leasing.terms import MAX_FEN, Escalation, FreePeriod, OtherCharge
from portfolio.choices import PropertyType

CONTRACT_NO = r"^[A-Za-z0-9][A-Za-z0-9\-_/.]{0,39}$"


class ContactIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    phone: str = Field("", max_length=20)
    role: str = Field("", max_length=32)


class PartyIn(BaseModel):
    kind: PartyKind = PartyKind.PERSON
    name: str = Field(min_length=1, max_length=64)
    phone: str = Field("", max_length=20)
    uscc: str | None = Field(None, max_length=24, description="统一社会信用代码 (companies)")
    id_number: str | None = Field(None, max_length=24, description="ID number (people): stored as a salted hash")


class LeaseIn(BaseModel):
    """A new lease: party, contract number and terms. ``payment_frequency`` is a code or an alias (两月一次,
    押一付三 …); ``monthly_rent_fen`` is needed for a MONTHLY_AMOUNT rent, ``unit_price`` for the per-m2 ones."""

    unit_code: str = Field(min_length=1, max_length=40)
    contract_no: str | None = Field(None, pattern=CONTRACT_NO)
    property_type: PropertyType | None = None
    tenant_kind: PartyKind = PartyKind.PERSON
    tenant_name: str = Field(min_length=1, max_length=64)
    tenant_phone: str = Field("", max_length=20)
    tenant_uscc: str | None = Field(None, max_length=24)
    tenant_id_number: str | None = Field(None, max_length=24)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=10)
    start_date: date
    end_date: date
    payment_frequency: str = Field("MONTHLY", min_length=1, max_length=20)
    rent_basis: RentBasis = RentBasis.MONTHLY_AMOUNT
    monthly_rent_fen: int | None = Field(None, gt=0, le=MAX_FEN, strict=True, description="integer fen")
    unit_price: Decimal | None = Field(None, gt=0, le=100000, max_digits=12, decimal_places=4)
    area_m2: Decimal | None = Field(None, gt=0, le=1_000_000, max_digits=11, decimal_places=2)
    days_per_month: DaysPerMonth = DaysPerMonth.DAYS_365_12
    timing: TimingKind = TimingKind.IN_ADVANCE
    timing_days: int = Field(0, ge=0, le=90)
    timing_day: int | None = Field(None, ge=1, le=31)
    deposit_months: Decimal | None = Field(None, ge=0, le=24, max_digits=5, decimal_places=2)
    deposit_fen: int | None = Field(None, ge=0, le=MAX_FEN, strict=True, description="integer fen")
    billing_anchor: date | None = None
    free_periods: list[FreePeriod] = Field(default_factory=list, max_length=40)
    escalations: list[Escalation] = Field(default_factory=list, max_length=10)
    charges: list[OtherCharge] = Field(default_factory=list, max_length=20)
    renewal_of: RowId | None = None

    @property
    def party(self) -> PartyIn:
        return PartyIn(kind=self.tenant_kind, name=self.tenant_name, phone=self.tenant_phone, uscc=self.tenant_uscc,
                       id_number=self.tenant_id_number)


def conditional_required(raw: Any) -> list[dict[str, str]]:
    """Fields required by other fields' values (pydantic's own errors cover the rest): the monthly rent of a
    MONTHLY_AMOUNT rent, the unit price of a per-m2 rent, the deposit unless 押X付Y states it."""
    if not isinstance(raw, dict):
        return []
    errors = []
    basis = str(raw.get("rent_basis") or RentBasis.MONTHLY_AMOUNT)
    if basis == RentBasis.MONTHLY_AMOUNT and raw.get("monthly_rent_fen") is None:
        errors.append({"field": "monthly_rent_fen", "message": "Field required for a MONTHLY_AMOUNT rent",
                       "type": "missing"})
    if basis != RentBasis.MONTHLY_AMOUNT and raw.get("unit_price") is None:
        errors.append({"field": "unit_price", "message": f"Field required for a {basis} rent", "type": "missing"})
    frequency = str(raw.get("payment_frequency") or "")
    if raw.get("deposit_fen") is None and raw.get("deposit_months") is None and not frequency.startswith("押"):
        errors.append({"field": "deposit_fen", "message": "Field required (or deposit_months, or 押X付Y)",
                       "type": "missing"})
    return errors


class TermsPatch(BaseModel):
    """合同变更. RENT_CHANGE: new monthly rent (or unit price) from ``effective_date``; EXTENSION / EARLY_TERMINATION:
    the new end date; TERMS_FIX: corrected terms (any of the term fields)."""

    kind: str = Field(pattern=r"^(RENT_CHANGE|EXTENSION|EARLY_TERMINATION|TERMS_FIX)$")
    reason: str = Field(min_length=2, max_length=500)
    effective_date: date | None = None
    monthly_rent_fen: int | None = Field(None, gt=0, le=MAX_FEN, strict=True)
    unit_price: Decimal | None = Field(None, gt=0, le=100000, max_digits=12, decimal_places=4)
    end_date: date | None = None
    terms: dict[str, Any] | None = Field(None, description="TERMS_FIX: LeaseIn term fields to replace")


class PaymentIn(BaseModel):
    amount_fen: int = Field(gt=0, le=MAX_FEN, strict=True)
    paid_at: AwareDatetime
    method: PaymentMethod
    payer_name: str = Field("", max_length=100)
    reference: str = Field("", max_length=120)
    receivable_id: int | None = Field(None, ge=1, description="pay this receivable first (e.g. the deposit)")
    note: str = Field("", max_length=500)


class WaiveIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500)




class LedgerQuery(PageQuery):
    building_id: int | None = Field(None, ge=1)
    lease_id: int | None = Field(None, ge=1)
    state: ReceivableState | None = None
    due_from: date | None = None
    due_to: date | None = None
    period: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM: receivables due that month")
    as_of: date | None = None


class StatementQuery(BaseModel):
    as_of: date | None = None


class FailuresQuery(PageQuery):
    building_id: int | None = Field(None, ge=1)
