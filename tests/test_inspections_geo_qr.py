"""Pure rules: GCJ-02 ⇄ WGS-84, geodesic geofence, sticker signing/parsing/verification."""

import pytest

from inspections import geo
from inspections.qr import (
    InvalidQr,
    RevokedQr,
    build_sticker_url,
    parse_sticker,
    sign,
    sticker_token,
    verify_sticker,
)

SECRET = "unit-test-qr-secret-0123456789"
SITES = [(22.5329, 113.9305), (30.2084, 120.2120), (39.9087, 116.3975), (45.75, 126.65)]


@pytest.mark.parametrize("lat,lng", SITES)
def test_gcj02_round_trip_is_sub_centimetre(lat, lng):
    glat, glng = geo.wgs84_to_gcj02(lat, lng)
    back = geo.gcj02_to_wgs84(glat, glng)
    assert geo.distance_m(back, (lat, lng)) < 0.01


@pytest.mark.parametrize("lat,lng", SITES)
def test_gcj02_offset_is_hundreds_of_metres_in_china(lat, lng):
    offset = geo.distance_m(geo.wgs84_to_gcj02(lat, lng), (lat, lng))
    assert 100 < offset < 1000


@pytest.mark.parametrize("lat,lng", [(48.8566, 2.3522), (1.29, 103.85), (37.77, -122.42)])
def test_identity_outside_china(lat, lng):
    assert geo.wgs84_to_gcj02(lat, lng) == (lat, lng)
    assert geo.gcj02_to_wgs84(lat, lng) == (lat, lng)


def test_matches_published_reference_value():
    # The example of the widely used coordtransform library: wgs84togcj02(116.404, 39.915).
    glat, glng = geo.wgs84_to_gcj02(39.915, 116.404)
    assert (glat, glng) == (pytest.approx(39.91640428150164, abs=1e-9), pytest.approx(116.41024449916938, abs=1e-9))


def test_geofence_gcj02_fix_inside_but_same_numbers_as_wgs84_outside():
    centre = SITES[0]
    glat, glng = geo.wgs84_to_gcj02(*centre)
    assert geo.check_geofence(glat, glng, "gcj02", centre, 150).inside
    wrong = geo.check_geofence(glat, glng, "wgs84", centre, 150)
    assert not wrong.inside and wrong.distance_m > 300


@pytest.mark.parametrize("offset_m,radius,inside", [(0, 150, True), (140, 150, True), (160, 150, False),
                                                    (1000, 500, False)])
def test_geofence_radius(offset_m, radius, inside):
    lat, lng = SITES[1]
    verdict = geo.check_geofence(lat + offset_m / 111_320, lng, "wgs84", (lat, lng), radius)
    assert verdict.inside is inside
    assert verdict.distance_m == pytest.approx(offset_m, rel=0.02, abs=0.5)


def test_unknown_coord_system():
    with pytest.raises(ValueError):
        geo.to_wgs84(1, 2, "bd09")


@pytest.mark.parametrize("km,seconds,slack,expected", [(10, 3600, 0, 10), (150, 3600, 0, 150), (1, 1, 0, 3600),
                                                       (0.05, 1, 100, 0)])
def test_implied_speed(km, seconds, slack, expected):
    a = (30.0, 120.0)
    b = (30.0 + km * 1000 / 111_195, 120.0)
    assert geo.implied_speed_kmh(a, b, seconds, slack) == pytest.approx(expected, rel=0.01, abs=0.01)


# --------------------------------------------------------------------------- stickers

def test_url_round_trip_and_verify():
    url = build_sticker_url("https://rw.example.cn/", SECRET, "SZ-NS-A-1203", 3)
    assert url.startswith("https://rw.example.cn/u/SZ-NS-A-1203?v=3&s=")
    ref = parse_sticker(url)
    assert (ref.unit_code, ref.version) == ("SZ-NS-A-1203", 3)
    verify_sticker(ref, SECRET, 3)


@pytest.mark.parametrize("form", ["url", "token", "u-token", "encoded"])
def test_accepted_forms(form):
    url = build_sticker_url("https://rw.example.cn", SECRET, "HZ-BJ-B-1201", 1)
    text = {"url": url, "token": sticker_token(SECRET, "HZ-BJ-B-1201", 1),
            "u-token": "u/" + sticker_token(SECRET, "HZ-BJ-B-1201", 1),
            "encoded": url.replace(":", "%3A").replace("/", "%2F").replace("?", "%3F").replace("&", "%26")
            .replace("=", "%3D")}[form]
    ref = parse_sticker(text)
    verify_sticker(ref, SECRET, 1)
    assert ref.unit_code == "HZ-BJ-B-1201"


@pytest.mark.parametrize("text", ["", "hello", "https://evil.example/x/SZ-1?v=1&s=0123456789abcdef",
                                  "https://rw.example.cn/u/SZ-1?v=1", "https://rw.example.cn/u/SZ-1?s=0123456789abcdef",
                                  "https://rw.example.cn/u/SZ-1?v=x&s=0123456789abcdef",
                                  "https://rw.example.cn/u/SZ-1?v=1&s=XYZ", "https://rw.example.cn/u/?v=1&s=0123456789abcdef",
                                  "x" * 600])
def test_garbage_is_invalid(text):
    with pytest.raises(InvalidQr) as exc:
        parse_sticker(text)
    assert exc.value.code == "INVALID_QR"


@pytest.mark.parametrize("tamper", ["code", "version", "sig", "secret"])
def test_forged_or_altered_sticker_is_invalid(tamper):
    code, version = "SZ-NS-A-1203", 2
    sig = sign(SECRET, code, version)
    if tamper == "code":
        code = "SZ-NS-A-1204"
    elif tamper == "version":
        version = 3
    elif tamper == "sig":
        sig = ("0" if sig[0] != "0" else "1") + sig[1:]
    elif tamper == "secret":
        sig = sign("another-secret-entirely-000000", code, version)
    ref = parse_sticker(f"https://rw.example.cn/u/{code}?v={version}&s={sig}")
    with pytest.raises(InvalidQr):
        verify_sticker(ref, SECRET, 3 if tamper == "version" else version)


def test_old_version_is_revoked_and_future_version_invalid():
    ref = parse_sticker(build_sticker_url("https://x", SECRET, "SZ-NS-A-1203", 1))
    with pytest.raises(RevokedQr) as exc:
        verify_sticker(ref, SECRET, 2)
    assert exc.value.code == "REVOKED_QR" and exc.value.details["current_version"] == 2
    ref = parse_sticker(build_sticker_url("https://x", SECRET, "SZ-NS-A-1203", 5))
    with pytest.raises(InvalidQr):
        verify_sticker(ref, SECRET, 2)
