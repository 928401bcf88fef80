"""The one on-site verification (inspections.onsite), table-tested without a database."""

from __future__ import annotations

import itertools
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings
from core.errors import AppError
from inspections.geo import distance_m, wgs84_to_gcj02
from inspections.onsite import (
    Fix,
    MockReason,
    OnSiteLimits,
    Place,
    PriorFix,
    fix_from,
    neighbours,
    travel_speed_kmh,
    verify_on_site,
)
from inspections.qr import parse_sticker, sticker_token

SECRET = "onsite-test-secret-0123456789abcdef"
SHENZHEN = (22.5329, 113.9305)
HANGZHOU = (30.2084, 120.2120)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LIMITS = OnSiteLimits(max_accuracy_m=100.0, max_speed_kmh=150.0)
PLACE = Place(unit_code="SZ-NS-A-1201", qr_version=2, centre=SHENZHEN, radius_m=150.0)


def fix(point=SHENZHEN, *, accuracy=15.0, at=T0, system="wgs84", mock=False) -> Fix:
    return Fix(lat=point[0], lng=point[1], coord_system=system, accuracy_m=accuracy, captured_at=at, mock_flag=mock)


def sticker(code="SZ-NS-A-1201", version=2, secret=SECRET):
    return parse_sticker(sticker_token(secret, code, version))


def refusal(**kwargs) -> tuple[int, str]:
    with pytest.raises(AppError) as caught:
        verify_on_site(kwargs.pop("fix", fix()), kwargs.pop("place", PLACE), LIMITS, qr_secret=SECRET, **kwargs)
    return caught.value.status, caught.value.code


def test_limits_come_from_settings_once_and_are_frozen():
    limits = OnSiteLimits.from_settings(Settings(inspection_max_accuracy_m=35, inspection_max_speed_kmh=90))
    assert limits.as_dict() == {"max_accuracy_m": 35.0, "max_speed_kmh": 90.0}
    with pytest.raises(FrozenInstanceError):
        limits.max_accuracy_m = 1000
    verdict = verify_on_site(fix(), PLACE, LIMITS)
    with pytest.raises(FrozenInstanceError):
        verdict.mock_reasons = ()


@pytest.mark.parametrize("kwargs,expected", [
    ({"sticker": sticker(secret="another-secret-0123456789abcdef")}, (400, "INVALID_QR")),  # forged
    ({"sticker": sticker(code="SZ-NS-A-1202")}, (422, "QR_UNIT_MISMATCH")),  # genuine, another unit
    ({"sticker": sticker(version=1)}, (410, "REVOKED_QR")),  # replaced by a newer sticker
    ({"sticker": sticker(version=3)}, (400, "INVALID_QR")),  # never issued
    ({"fix": fix(accuracy=None)}, (422, "LOCATION_ACCURACY_REQUIRED")),
    ({"fix": fix(accuracy=-1)}, (422, "VALIDATION_ERROR")),
    ({"fix": fix(accuracy=float("nan"))}, (422, "VALIDATION_ERROR")),
    ({"fix": fix(accuracy=100.5)}, (422, "LOCATION_TOO_INACCURATE")),
    ({"fix": fix((SHENZHEN[0] + 0.002, SHENZHEN[1]))}, (422, "OUTSIDE_GEOFENCE")),  # ~220 m north
    # the on-site numbers of a GCJ-02 fix, labelled WGS-84: ~500 m off
    ({"fix": fix(wgs84_to_gcj02(*SHENZHEN))}, (422, "OUTSIDE_GEOFENCE")),
    # a forged sticker is refused as forged even when the fix is bad too
    ({"sticker": sticker(secret="x" * 32), "fix": fix(accuracy=500)}, (400, "INVALID_QR")),
])
def test_refusals(kwargs, expected):
    assert refusal(**kwargs) == expected


@pytest.mark.parametrize("the_fix,reasons", [
    (fix(), ()),
    (fix(accuracy=100.0), ()),  # at the limit is still fine
    (fix(wgs84_to_gcj02(*SHENZHEN), system="gcj02"), ()),
    (fix(accuracy=0), (MockReason.ZERO_ACCURACY,)),
    (fix(mock=True), (MockReason.CLIENT_FLAG,)),
    (fix(accuracy=0, mock=True), (MockReason.CLIENT_FLAG, MockReason.ZERO_ACCURACY)),
])
def test_accepted_fixes_and_mock_reasons(the_fix, reasons):
    verdict = verify_on_site(the_fix, PLACE, LIMITS, sticker=sticker(), qr_secret=SECRET)
    assert verdict.geofence.inside and verdict.distance_m < 1
    assert verdict.mock_reasons == reasons
    assert verdict.suspected_mock is bool(reasons)
    assert verdict.flags == (["SUSPECTED_MOCK_LOCATION"] if reasons else [])


def seconds_at(kmh: float, a=HANGZHOU, b=SHENZHEN, slack_m: float = 30.0) -> float:
    return (distance_m(a, b) - slack_m) / (kmh / 3.6)


@pytest.mark.parametrize("kmh,held", [(149.0, False), (151.0, True), (1.0e5, True)])
@pytest.mark.parametrize("direction", ["earlier", "later"])
def test_travel_bound_either_side(kmh, held, direction):
    """Hangzhou then Shenzhen (or Shenzhen then Hangzhou: the later fix is a neighbour too) at just under and
    just over the bound; accuracies of both fixes are forgiven first."""
    gap = timedelta(seconds=seconds_at(kmh))
    other = PriorFix(at=T0 - gap if direction == "earlier" else T0 + gap, point=HANGZHOU, accuracy_m=15.0)
    verdict = verify_on_site(fix(), PLACE, LIMITS, prior=[other])
    assert verdict.speed_kmh == pytest.approx(kmh, rel=1e-6)
    assert (MockReason.IMPOSSIBLE_TRAVEL in verdict.mock_reasons) is held


def test_thirty_seconds_from_another_city_is_held_every_time():
    prior = [PriorFix(at=T0 - timedelta(seconds=30), point=HANGZHOU, accuracy_m=20.0)]
    verdicts = {verify_on_site(fix(), PLACE, LIMITS, prior=prior).mock_reasons for _ in range(50)}
    assert verdicts == {(MockReason.IMPOSSIBLE_TRAVEL,)}


def test_travel_compares_with_the_nearest_fixes_whatever_their_order():
    """Same inputs, same decision: the neighbours (the latest before, all that share the earliest at-or-after
    time) and so the verdict do not depend on the order the history is given in."""
    near_before = PriorFix(at=T0 - timedelta(hours=1), point=SHENZHEN, accuracy_m=10.0)
    far_before = PriorFix(at=T0 - timedelta(hours=5), point=HANGZHOU, accuracy_m=10.0)  # 5 h: plausible anyway
    same_time_here = PriorFix(at=T0 + timedelta(minutes=2), point=SHENZHEN, accuracy_m=10.0)
    same_time_there = PriorFix(at=T0 + timedelta(minutes=2), point=HANGZHOU, accuracy_m=10.0)
    history = [near_before, far_before, same_time_here, same_time_there]
    decisions = set()
    for order in itertools.permutations(history):
        assert sorted(neighbours(T0, order), key=repr) == sorted([near_before, same_time_here, same_time_there],
                                                                 key=repr)
        decisions.add(verify_on_site(fix(), PLACE, LIMITS, prior=order).mock_reasons)
    assert decisions == {(MockReason.IMPOSSIBLE_TRAVEL,)}  # Hangzhou two minutes later is a neighbour
    assert travel_speed_kmh(T0, SHENZHEN, 15.0, [near_before, far_before]) == 0.0  # same place an hour before
    assert travel_speed_kmh(T0, SHENZHEN, 15.0, []) == 0.0


def test_fix_from_a_request_location_reads_both_client_mock_flags():
    class Location:
        lat, lng, coord_system, accuracy_m, captured_at = SHENZHEN[0], SHENZHEN[1], "wgs84", 12.0, None

    assert fix_from(Location(), default_time=T0) == fix(accuracy=12.0)
    for name in ("mock_location", "is_mock"):
        flagged = Location()
        setattr(flagged, name, True)
        assert fix_from(flagged, default_time=T0).mock_flag is True
    with pytest.raises(ValueError):
        fix_from(Location())  # no capture time and no default
