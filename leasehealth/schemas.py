"""Request models of the lease health API, bounded."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from core.pagination import PageQuery
from leasehealth.choices import HealthLevel


class HealthQuery(PageQuery):
    level: HealthLevel | None = None
    building_id: int | None = Field(None, ge=1)
    city_id: int | None = Field(None, ge=1)
    as_of: date | None = None


class AsOfQuery(BaseModel):
    as_of: date | None = None
