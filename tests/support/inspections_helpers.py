"""Helpers for inspection tests: stickers, on-site locations, report bodies, small images."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import Any

from PIL import Image

from config.settings import DEV_QR_SECRET
from inspections.geo import wgs84_to_gcj02
from inspections.qr import build_sticker_url

QR_BASE = "https://rw.example.cn"


def sticker(unit, secret: str = DEV_QR_SECRET, version: int | None = None) -> str:
    return build_sticker_url(QR_BASE, secret, unit.code, version or unit.qr_version)


def site_of(side) -> tuple[float, float]:
    return side.building.lat, side.building.lng


def location(side, at: datetime, *, system: str = "wgs84", offset_m: float = 0.0, accuracy: float = 15.0,
             point: tuple[float, float] | None = None) -> dict:
    lat, lng = point or site_of(side)
    lat += offset_m / 111_320.0
    if system == "gcj02":
        lat, lng = wgs84_to_gcj02(lat, lng)
    return {"lat": lat, "lng": lng, "accuracy_m": accuracy, "coord_system": system, "captured_at": at.isoformat()}


def report_body(side, at: datetime, *, unit=None, requested: str | None = None, base_version: int | None = None,
                photo_ids: list | None = None, category: str = "ROUTINE", client_id: str | None = None,
                **loc) -> dict[str, Any]:
    unit = unit or side.unit
    body: dict[str, Any] = {"client_id": client_id or str(uuid.uuid4()), "qr": sticker(unit), "category": category,
            "note": "巡检", "photo_ids": [str(p) for p in (photo_ids or [])], "location": location(side, at, **loc)}
    if requested:
        body["requested_status"] = requested
        body["base_status_version"] = base_version if base_version is not None else unit.status_version
    else:
        body["no_change"] = True
    return body


def decision_body(side, at: datetime, *, decision: str = "confirm", reason: str = "", unit=None,
                  client_id: str | None = None, **loc) -> dict:
    return {"client_id": client_id or str(uuid.uuid4()), "qr": sticker(unit or side.unit), "decision": decision,
            "reason": reason, "location": location(side, at, **loc)}


def png_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()
