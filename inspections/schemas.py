"""Request bodies of the inspection endpoints (also the items of an offline sync batch)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from inspections.choices import CoordSystem, Decision, ReportCategory
from portfolio.choices import UnitStatus


class LocationIn(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    accuracy_m: float = Field(ge=0, le=100_000)
    coord_system: CoordSystem
    captured_at: AwareDatetime
    # The phone's own word that the fix came from a mock provider (Android's isFromMockProvider, as the
    # client names it): either holds the report for review (inspections.onsite).
    mock_location: bool = False
    is_mock: bool = False


#: Fields left out of a body's content hash while at their default, so hashes taken before they existed hold.
HASH_OPTIONAL_LOCATION_FIELDS = ("mock_location", "is_mock")


class StatusReportIn(BaseModel):
    kind: Literal["status_report"] = "status_report"
    client_id: UUID
    qr: str = Field(min_length=1, max_length=512)
    requested_status: UnitStatus | None = None
    no_change: bool = False
    category: ReportCategory = ReportCategory.ROUTINE
    note: str = Field("", max_length=2000)
    photo_ids: list[UUID] = Field(default_factory=list, max_length=20)
    location: LocationIn
    base_status_version: int | None = Field(None, ge=1)
    client_created_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_intent(self):
        if self.no_change == (self.requested_status is not None):
            raise ValueError("give either requested_status or no_change=true")
        if self.requested_status is not None and self.base_status_version is None:
            raise ValueError("base_status_version is required with requested_status")
        return self


class DecisionIn(BaseModel):
    kind: Literal["confirmation"] = "confirmation"
    client_id: UUID
    report_id: int | None = None  # sync items name the report by id or by the report's client_id
    report_client_id: UUID | None = None
    qr: str = Field(min_length=1, max_length=512)
    decision: Decision
    reason: str = Field("", max_length=500)
    location: LocationIn


def content_hash(model: BaseModel, exclude: set[str] | None = None) -> str:
    data = model.model_dump(mode="json", exclude=exclude)
    location = data.get("location")
    if isinstance(location, dict):
        for name in HASH_OPTIONAL_LOCATION_FIELDS:
            if location.get(name) is False:
                del location[name]
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class SyncIn(BaseModel):
    """Items are any JSON here: each is validated on its own (a bad one is that item's REJECTED result)."""

    raw_fields: ClassVar[frozenset[str]] = frozenset({"items"})
    items: list[Any] = Field(min_length=1, max_length=200)
