"""An unreadable EXIF block (zero denominators, latitude 5000, a date in year 0) is a flag on the photo, never a
refused upload: the photo is evidence, and the report waiting for it moves on (it was a geopy ValueError 500)."""

import io
import json
import uuid
from datetime import timedelta

import pytest
from PIL import Image, TiffImagePlugin

from inspections.photos import EXIF_GPS_UNREADABLE, EXIF_TIME_UNREADABLE, inspect_image
from models.inspections import Photo, StatusReport
from tests.support.inspections_helpers import report_body

R = TiffImagePlugin.IFDRational
GOOD_LNG = (113.0, 55.0, 49.8)


def jpeg(gps: dict | None = None, taken: str | None = None) -> bytes:
    img = Image.new("RGB", (320, 240), (40, 120, 200))
    exif = Image.Exif()
    if gps is not None:
        exif.get_ifd(0x8825).update(gps)
    if taken is not None:
        exif.get_ifd(0x8769)[36867] = taken
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=85)
    return buf.getvalue()


BAD_EXIF = {
    "zero denominator": ({1: "N", 2: (R(22, 0), R(31, 1), R(58, 1)), 3: "E", 4: GOOD_LNG}, None, EXIF_GPS_UNREADABLE),
    "all zero": ({1: "N", 2: (R(0, 0), R(0, 0), R(0, 0)), 3: "E", 4: (R(0, 0), R(0, 0), R(0, 0))}, None,
                 EXIF_GPS_UNREADABLE),
    "latitude 5000": ({1: "N", 2: (5000.0, 0.0, 0.0), 3: "E", 4: GOOD_LNG}, None, EXIF_GPS_UNREADABLE),
    "longitude 900": ({1: "N", 2: (22.0, 31.0, 58.0), 3: "E", 4: (900.0, 0.0, 0.0)}, None, EXIF_GPS_UNREADABLE),
    "latitude only": ({1: "N", 2: (22.0, 31.0, 58.0)}, None, EXIF_GPS_UNREADABLE),
    "year 0001": (None, "0001:01:01 00:00:00", EXIF_TIME_UNREADABLE),
    "not a date": (None, "2026:13:45 99:00:00", EXIF_TIME_UNREADABLE),
}


@pytest.mark.parametrize("case", sorted(BAD_EXIF))
def test_inspect_image_flags_unreadable_exif(case):
    gps, taken, flag = BAD_EXIF[case]
    info = inspect_image(jpeg(gps, taken), max_bytes=10**7, max_pixels=10**7)
    assert info.exif_flags == (flag,)
    if flag == EXIF_GPS_UNREADABLE:
        assert info.exif_lat is None and info.exif_lng is None
    else:
        assert info.exif_taken_at is None


def test_readable_exif_has_no_flag():
    info = inspect_image(jpeg({1: "N", 2: (22.0, 31.0, 58.0), 3: "E", 4: GOOD_LNG}, "2026:11:02 10:00:00"),
                         max_bytes=10**7, max_pixels=10**7)
    assert info.exif_flags == () and info.exif_lat == pytest.approx(22.5328, abs=1e-3)


@pytest.mark.parametrize("case", ["zero denominator", "latitude 5000", "year 0001"])
async def test_upload_with_unreadable_exif_is_stored_with_a_flag(client, world, case):
    a = world.a
    gps, taken, flag = BAD_EXIF[case]
    pid = uuid.uuid4()
    # the report arrives first (offline), waiting for its photo
    body = report_body(a, world.now - timedelta(minutes=10), requested="UNDER_REPAIR", photo_ids=[pid],
                       category="DAMAGE")
    _, resp = await client.post("/api/v1/status-reports", content=json.dumps(body), headers=world.auth(a.inspector))
    assert resp.json["result"] == "AWAITING_MEDIA", resp.json
    _, resp = await client.post("/api/v1/photos", files={"file": ("p.jpg", jpeg(gps, taken), "image/jpeg")},
                                data={"photo_id": str(pid), "unit_code": a.unit.code},
                                headers=world.auth(a.inspector))
    assert resp.status == 201, resp.text
    assert resp.json["exif_flags"] == [flag]
    if flag == EXIF_GPS_UNREADABLE:
        assert resp.json["exif_gps"] is None and resp.json["distance_m"] is None
    photo = await Photo.get(id=pid)
    assert photo.exif_flags == [flag]
    report = await StatusReport.get(client_id=body["client_id"])
    assert report.state == "PENDING_CONFIRMATION"
    assert "PHOTO_EXIF_UNREADABLE" in report.flags
