"""The one on-site verification every action taken at a unit goes through, pure functions.

Status reports, on-site confirmations, cleaning completion, key handover (and anything else that says "I am at
the unit") pass the same checks, with the limits of ``OnSiteLimits`` (from settings, sent to the mini program
on the unit card so its pre-check never disagrees with the server):

1. the sticker, when the action names one: signature, then *is it this unit's sticker*, then its version;
2. the fix's accuracy: required, not negative, not coarser than ``max_accuracy_m``;
3. the geofence: geodesic distance from the unit (or its building) within the building's radius;
4. mock location: the client's own flag on the fix (``mock_location`` / ``is_mock``), a zero accuracy (what
   simulators report), or an impossible travel from the same user's neighbouring trusted fixes. These do not
   refuse: the verdict says *suspected*, and the caller holds the action for review (or, for an action without
   a review state, refuses it).

The travel check is a function of its inputs only: the fix and the user's earlier *trusted* fixes (a fix that
was itself suspected is no reference point — otherwise one simulated fix would put every genuine fix next to it
under suspicion, and the same visit would be accepted or held depending on what came before). Among them it
compares with the nearest fix before and the nearest at-or-after the fix's time (all of them when several share
that time), whatever order they are given in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from core.errors import ValidationFailed
from inspections import geo
from inspections.qr import StickerRef, verify_signature, verify_version


class MockReason(StrEnum):
    """Why a fix is suspected of being simulated (all hold the action as SUSPECTED_MOCK_LOCATION)."""

    CLIENT_FLAG = "CLIENT_FLAG"  # the phone itself said the fix came from a mock provider
    ZERO_ACCURACY = "ZERO_ACCURACY"  # real receivers never claim a perfect fix; simulators do
    IMPOSSIBLE_TRAVEL = "IMPOSSIBLE_TRAVEL"  # faster than max_speed_kmh from a neighbouring fix of the same user


SUSPECTED_MOCK_LOCATION = "SUSPECTED_MOCK_LOCATION"  # the report flag and hold reason (inspections.choices.Flag)


@dataclass(frozen=True)
class OnSiteLimits:
    """The limits of the on-site check: configured once (settings), used by the server, sent to the client."""

    max_accuracy_m: float
    max_speed_kmh: float

    @classmethod
    def from_settings(cls, settings: Any) -> OnSiteLimits:
        return cls(max_accuracy_m=float(settings.inspection_max_accuracy_m),
                   max_speed_kmh=float(settings.inspection_max_speed_kmh))

    def as_dict(self) -> dict[str, float]:
        return {"max_accuracy_m": self.max_accuracy_m, "max_speed_kmh": self.max_speed_kmh}


@dataclass(frozen=True)
class Fix:
    """A location fix as the client sent it (``coord_system`` wgs84 or gcj02)."""

    lat: float
    lng: float
    coord_system: str
    accuracy_m: float | None
    captured_at: datetime
    mock_flag: bool = False


class _LocationLike(Protocol):
    lat: float
    lng: float
    coord_system: Any
    accuracy_m: float | None
    captured_at: datetime | None


def fix_from(location: _LocationLike, *, default_time: datetime | None = None) -> Fix:
    """A Fix from a request model's location (any object with lat, lng, coord_system, accuracy_m, captured_at
    and optionally the client's mock flags)."""
    captured_at = location.captured_at or default_time
    if captured_at is None:
        raise ValueError("a fix needs its capture time")
    mock = bool(getattr(location, "mock_location", False) or getattr(location, "is_mock", False))
    return Fix(lat=location.lat, lng=location.lng, coord_system=str(location.coord_system),
               accuracy_m=location.accuracy_m, captured_at=captured_at, mock_flag=mock)


@dataclass(frozen=True)
class PriorFix:
    """One of the same user's earlier trusted fixes (WGS-84), a reference point for the travel check."""

    at: datetime
    point: tuple[float, float]
    accuracy_m: float


@dataclass(frozen=True)
class Place:
    """Where the action must happen: the unit (its code and current sticker version) and its geofence."""

    unit_code: str
    qr_version: int
    centre: tuple[float, float]  # WGS-84
    radius_m: float


@dataclass(frozen=True)
class OnSiteVerdict:
    """The fix is at the place (refusals raise); ``mock_reasons`` non-empty means hold for review."""

    geofence: geo.GeofenceVerdict
    mock_reasons: tuple[MockReason, ...]
    speed_kmh: float  # the highest implied travel speed from a neighbouring trusted fix (0 without any)

    @property
    def suspected_mock(self) -> bool:
        return bool(self.mock_reasons)

    @property
    def flags(self) -> list[str]:
        return [SUSPECTED_MOCK_LOCATION] if self.mock_reasons else []

    @property
    def wgs84(self) -> tuple[float, float]:
        return self.geofence.wgs84

    @property
    def distance_m(self) -> float:
        return self.geofence.distance_m


class StickerMismatch(ValidationFailed):
    """A genuine sticker of another unit. (The cleaning endpoint answers it as its historical 409 WRONG_UNIT.)"""

    code = "QR_UNIT_MISMATCH"


class SuspectedMockLocation(ValidationFailed):
    """For actions that have no review state: a suspected fix is refused rather than held."""

    code = SUSPECTED_MOCK_LOCATION


def check_sticker(sticker: StickerRef, place: Place, qr_secret: str) -> None:
    """Signature first (a forged sticker is INVALID_QR whatever it names), then the unit, then the version."""
    verify_signature(sticker, qr_secret)
    if sticker.unit_code != place.unit_code:
        raise StickerMismatch("this sticker belongs to another unit",
                              details={"scanned_unit": sticker.unit_code, "expected_unit": place.unit_code})
    verify_version(sticker, place.qr_version)


def check_accuracy(accuracy_m: float | None, limits: OnSiteLimits) -> None:
    if accuracy_m is None:
        raise ValidationFailed("the location fix must carry its accuracy", code="LOCATION_ACCURACY_REQUIRED",
                               details={"fields": [{"field": "location.accuracy_m", "message": "required"}],
                                        "max_accuracy_m": limits.max_accuracy_m})
    if not accuracy_m >= 0:  # also NaN
        raise ValidationFailed("the location fix's accuracy cannot be negative", code="VALIDATION_ERROR",
                               details={"fields": [{"field": "location.accuracy_m",
                                                    "message": "must be 0 or more"}]})
    if accuracy_m > limits.max_accuracy_m:
        raise ValidationFailed("location fix is too inaccurate", code="LOCATION_TOO_INACCURATE",
                               details={"accuracy_m": accuracy_m, "max_accuracy_m": limits.max_accuracy_m})


def check_place(fix: Fix, place: Place) -> geo.GeofenceVerdict:
    verdict = geo.check_geofence(fix.lat, fix.lng, fix.coord_system, place.centre, place.radius_m)
    if not verdict.inside:
        raise ValidationFailed("you are not at the unit", code="OUTSIDE_GEOFENCE",
                               details={**verdict.as_details(), "coord_system": fix.coord_system})
    return verdict


def neighbours(at: datetime, prior: Iterable[PriorFix]) -> list[PriorFix]:
    """The fixes the travel check compares with: all at the latest time before ``at`` and all at the earliest
    time at or after it. Independent of the order ``prior`` comes in."""
    before = [p for p in prior if p.at < at]
    after = [p for p in prior if p.at >= at]
    picked: list[PriorFix] = []
    if before:
        latest = max(p.at for p in before)
        picked += [p for p in before if p.at == latest]
    if after:
        earliest = min(p.at for p in after)
        picked += [p for p in after if p.at == earliest]
    return picked


def travel_speed_kmh(at: datetime, point: tuple[float, float], accuracy_m: float,
                     prior: Iterable[PriorFix]) -> float:
    """The highest implied speed between the fix and its neighbouring trusted fixes (both accuracies forgiven
    first, at least one second apart); 0 when there is none."""
    return max((geo.implied_speed_kmh(point, p.point, (at - p.at).total_seconds(), slack_m=accuracy_m + p.accuracy_m)
                for p in neighbours(at, prior)), default=0.0)


def mock_reasons(fix: Fix, point: tuple[float, float], prior: Iterable[PriorFix],
                 limits: OnSiteLimits) -> tuple[tuple[MockReason, ...], float]:
    """Why the fix looks simulated (empty when it does not), and the travel speed that was measured."""
    reasons = []
    if fix.mock_flag:
        reasons.append(MockReason.CLIENT_FLAG)
    if fix.accuracy_m == 0:
        reasons.append(MockReason.ZERO_ACCURACY)
    speed = travel_speed_kmh(fix.captured_at, point, fix.accuracy_m or 0.0, prior)
    if speed > limits.max_speed_kmh:
        reasons.append(MockReason.IMPOSSIBLE_TRAVEL)
    return tuple(reasons), speed


def verify_on_site(fix: Fix, place: Place, limits: OnSiteLimits, *, sticker: StickerRef | None = None,
                   qr_secret: str = "", prior: Iterable[PriorFix] = ()) -> OnSiteVerdict:
    """The on-site check. Raises (422 unless said) for a refusal — INVALID_QR 400 / QR_UNIT_MISMATCH /
    REVOKED_QR 410 for the sticker, LOCATION_ACCURACY_REQUIRED / LOCATION_TOO_INACCURATE for the accuracy,
    OUTSIDE_GEOFENCE — and returns the verdict otherwise (``suspected_mock`` → hold for review)."""
    if sticker is not None:
        check_sticker(sticker, place, qr_secret)
    check_accuracy(fix.accuracy_m, limits)
    verdict = check_place(fix, place)
    reasons, speed = mock_reasons(fix, verdict.wgs84, prior, limits)
    return OnSiteVerdict(geofence=verdict, mock_reasons=reasons, speed_kmh=speed)
