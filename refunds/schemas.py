"""Request models of the deposit refund endpoints (bounds on every field). The staff step bodies name their
fields exactly as the service functions' keywords, so the step table (refunds.steps) hands them on as they are."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, field_validator

from core.pagination import PageQuery
from refunds.choices import DeductionCategory, RefundStep


class RefundQuery(PageQuery):
    step: RefundStep | None = None
    building_id: int | None = None
    red_only: bool = False


#: Ids are 32-bit integers in both databases: a larger number is bad input (422), not a database error.
MAX_ID = 2**31 - 1


class BoardQuery(BaseModel):
    building_id: int | None = Field(None, ge=0, le=MAX_ID)

    @field_validator("building_id", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: object) -> object:
        return None if value == "" else value


class InspectIn(BaseModel):
    inspection_report_id: int | None = None
    note: str = Field("", max_length=1000)


class SettleIn(BaseModel):
    deduction_ids: list[int] | None = None
    note: str = Field("", max_length=500)


class ApproveIn(BaseModel):
    approved_amount_fen: int | None = Field(None, ge=0)
    note: str = Field("", max_length=500)


class PayIn(BaseModel):
    bank_receipt_ref: str | None = Field(None, max_length=64)
    receipt_document_id: int | None = None


class ReasonIn(BaseModel):
    reason: str = Field("", max_length=500)
    to_step: RefundStep | None = None


class DeductionIn(BaseModel):
    category: DeductionCategory
    amount_fen: int = Field(gt=0, le=10**11)
    description: str = Field("", max_length=200)
    photo_ids: list[str] = Field(default_factory=list, max_length=30)
    document_id: int | None = None


class ApplyIn(BaseModel):
    lease_id: int
    move_out_date: date | None = None
    reason: str = Field("", max_length=500)
    payee_name: str = Field(min_length=1, max_length=64)
    payee_bank: str = Field(min_length=1, max_length=64)
    payee_account: str = Field(min_length=4, max_length=40, pattern=r"^[0-9 ]+$")
