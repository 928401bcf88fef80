"""Inspection objects in both buildings: a pending status report and a photo row, for the scope test."""

from __future__ import annotations

import uuid
from datetime import timedelta

from inspections.choices import CoordSystem, ReportCategory, ReportState
from models.inspections import Photo, StatusReport
from portfolio.choices import UnitStatus


async def extend_world(world, side, now) -> None:
    unit = side.unit
    side.extra["pending_report"] = await StatusReport.create(
        client_id=uuid.uuid4(), content_hash="0" * 64, unit_id=unit.id, author_id=side.inspector.id,
        category=ReportCategory.STATUS_UPDATE, requested_status=UnitStatus.OFF_MARKET,
        observed_status=unit.status, state=ReportState.PENDING_CONFIRMATION, initial_result="PENDING_CONFIRMATION",
        lat=side.building.lat, lng=side.building.lng, coord_system=CoordSystem.WGS84, accuracy_m=10,
        wgs84_lat=side.building.lat, wgs84_lng=side.building.lng, distance_m=0, captured_at=now,
        base_status_version=unit.status_version, confirm_deadline=now + timedelta(hours=72))
    side.extra["photo"] = await Photo.create(
        id=uuid.uuid4(), unit_id=unit.id, uploaded_by_id=side.inspector.id, sha256="f" * 64,
        content_type="image/png", size_bytes=1, width=1, height=1, original_key="originals/none.png",
        thumbnail_key="thumbnails/none.jpg", evidence_key="evidence/none.jpg")
