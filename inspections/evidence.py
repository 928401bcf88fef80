"""Storing a photo: idempotent per client photo UUID, original bytes untouched (content-addressed by sha256),
a thumbnail, and a stamped evidence copy (unit code, capture time, distance to the unit)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from uuid import UUID

from tortoise.exceptions import IntegrityError

from accounts.scope import Principal
from config.settings import Settings
from core.errors import Conflict, Forbidden, PayloadTooLarge
from inspections import geo
from inspections.photos import LOCAL_TZ, ImageSource, derivatives, inspect_image, source_sha256, source_size
from inspections.service import REPORTERS, Site, photo_arrived
from inspections.storage import PhotoStorage
from models.inspections import Photo, ReportPhoto
from models.portfolio import Building, Unit
from portfolio.service import get_unit_for


def _same_or_conflict(existing: Photo, sha: str) -> Photo:
    if existing.sha256 != sha:
        raise Conflict("this photo id was already used for a different image", code="PHOTO_ID_CONFLICT",
                       details={"photo_id": str(existing.id)})
    return existing


async def store_photo(principal: Principal, photo_id: UUID, data: ImageSource, *, settings: Settings, now: datetime,
                      storage: PhotoStorage, unit_code: str | None = None, lat: float | None = None,
                      lng: float | None = None, coord_system: str = "wgs84", captured_at: datetime | None = None,
                      size: int | None = None, sha256: str | None = None) -> tuple[Photo, bool]:
    """``data``: the bytes, or the file an upload was received into (moved into storage when kept), with the
    ``size`` sent (a file over the limit was not kept whole) and the ``sha256`` taken while receiving it."""
    if principal.role not in REPORTERS:
        raise Forbidden(f"role {principal.role} may not upload evidence")
    size = source_size(data) if size is None else size
    if size > settings.photo_max_bytes:
        raise PayloadTooLarge("photo is larger than allowed",
                              details={"size": size, "max_bytes": settings.photo_max_bytes})
    sha = sha256 or source_sha256(data)
    existing = await Photo.get_or_none(id=photo_id)
    if existing is not None:
        photo = _same_or_conflict(existing, sha)
        # A report linked after the first upload (a race with it) is moved on by the client's retry.
        await photo_arrived(photo_id, settings=settings, now=now)
        return photo, False
    site = None
    if unit_code:
        unit = await get_unit_for(principal, unit_code)
        site = Site(unit=unit, building=await Building.get(id=unit.building_id))
    else:  # a report captured offline may already name this photo: stamp it for that report's unit
        link = await ReportPhoto.filter(photo_id=photo_id, report__author_id=principal.user_id).order_by("id") \
            .first().values("report__unit_id")
        if link:
            unit = await Unit.get(id=link["report__unit_id"])
            if principal.can_see_building(unit.building_id):
                site = Site(unit=unit, building=await Building.get(id=unit.building_id))
    info = await asyncio.to_thread(inspect_image, data, max_bytes=settings.photo_max_bytes,
                                   max_pixels=settings.photo_max_pixels, limits=settings.photo_pixel_limits,
                                   sha256=sha)
    distance = None
    if site is not None:
        point = None
        if lat is not None and lng is not None:
            point = geo.to_wgs84(lat, lng, coord_system)
        elif info.exif_lat is not None and info.exif_lng is not None:
            point = (info.exif_lat, info.exif_lng)
        if point is not None:
            distance = round(geo.distance_m(point, site.centre), 1)
    taken = captured_at or info.exif_taken_at or now
    local = taken.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    code = site.unit.code if site else "-"
    dist_cn = f"{distance:.0f} 米" if distance is not None else "未知"
    dist_en = f"{distance:.0f} m" if distance is not None else "unknown"
    thumb, stamped = await asyncio.to_thread(
        derivatives, data, font_path=settings.label_font_path,
        stamp_lines=[f"单元 {code}", f"拍摄时间 {local}", f"距单元 {dist_cn}"],
        ascii_lines=[f"unit {code}", f"taken {local} (UTC+8)", f"distance to unit {dist_en}"])
    original_key = f"originals/{sha[:2]}/{sha}.{info.ext}"
    thumb_key = f"thumbnails/{sha[:2]}/{sha}.jpg"
    evidence_key = f"evidence/{str(photo_id)[:2]}/{photo_id}.jpg"

    await asyncio.to_thread(_write_files, storage, {original_key: data, thumb_key: thumb}, {evidence_key: stamped})
    try:
        photo = await Photo.create(
            id=photo_id, unit_id=site.unit.id if site else None, uploaded_by_id=principal.user_id, sha256=sha,
            content_type=info.content_type, size_bytes=size, width=info.width, height=info.height,
            original_key=original_key, thumbnail_key=thumb_key, evidence_key=evidence_key,
            exif_taken_at=info.exif_taken_at, exif_lat=info.exif_lat, exif_lng=info.exif_lng,
            exif_flags=list(info.exif_flags), captured_at=captured_at, distance_m=distance)
    except IntegrityError:
        photo = _same_or_conflict(await Photo.get(id=photo_id), sha)
        await photo_arrived(photo_id, settings=settings, now=now)
        return photo, False
    await photo_arrived(photo_id, settings=settings, now=now)
    return photo, True


def _write_files(storage: PhotoStorage, content_addressed: dict[str, ImageSource], own: dict[str, bytes]) -> None:
    """Content-addressed files only when not there yet; an upload's file is moved in, not copied."""
    for key, data in content_addressed.items():
        if storage.exists(key):
            continue
        if isinstance(data, bytes):
            storage.put(key, data)
        else:
            storage.put_file(key, data)
    for key, body in own.items():
        storage.put(key, body)


def serialize_photo(photo: Photo) -> dict:
    return {"id": str(photo.id), "unit_id": photo.unit_id, "uploaded_by": photo.uploaded_by_id,
            "sha256": photo.sha256, "content_type": photo.content_type, "size_bytes": photo.size_bytes,
            "width": photo.width, "height": photo.height,
            "exif_taken_at": photo.exif_taken_at.isoformat() if photo.exif_taken_at else None,
            "exif_gps": ({"lat": photo.exif_lat, "lng": photo.exif_lng} if photo.exif_lat is not None else None),
            "captured_at": photo.captured_at.isoformat() if photo.captured_at else None,
            "distance_m": photo.distance_m, "exif_flags": list(photo.exif_flags or []),
            "created_at": photo.created_at.isoformat() if photo.created_at else None}
