"""Coordinates and geofences, pure functions.

GCJ-02 ("Mars coordinates", what WeChat maps and ``wx.getLocation({type: 'gcj02'})`` return) is a deliberate
offset of WGS-84 inside mainland China. WGS-84 → GCJ-02 is a closed formula (Krasovsky ellipsoid); the inverse
is solved iteratively to well under a centimetre. Outside China's bounding box both are the identity.
Distances are geodesic (geopy, WGS-84 ellipsoid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from geopy.distance import geodesic

A = 6378245.0
EE = 0.00669342162296594323
WGS84 = "wgs84"
GCJ02 = "gcj02"


def out_of_china(lat: float, lng: float) -> bool:
    return not (73.66 < lng < 135.05 and 3.86 < lat < 53.55)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = math.sin(radlat)
    magic = 1 - EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (A / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float, *, tolerance_deg: float = 1e-9, max_iter: int = 30) -> tuple[float, float]:
    """Invert wgs84_to_gcj02 by fixed-point iteration (converges in a handful of steps)."""
    if out_of_china(lat, lng):
        return lat, lng
    wlat, wlng = lat, lng
    for _ in range(max_iter):
        glat, glng = wgs84_to_gcj02(wlat, wlng)
        dlat, dlng = glat - lat, glng - lng
        wlat, wlng = wlat - dlat, wlng - dlng
        if abs(dlat) < tolerance_deg and abs(dlng) < tolerance_deg:
            break
    return wlat, wlng


def to_wgs84(lat: float, lng: float, coord_system: str) -> tuple[float, float]:
    if str(coord_system).lower() == GCJ02:
        return gcj02_to_wgs84(lat, lng)
    if str(coord_system).lower() == WGS84:
        return lat, lng
    raise ValueError(f"unknown coordinate system {coord_system!r}")


_WGS84_GEODESIC = geodesic(ellipsoid="WGS-84")  # one instance: constructing one per call costs half the time


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres between two WGS-84 (lat, lng) points."""
    return _WGS84_GEODESIC.measure(a, b) * 1000.0


@dataclass(frozen=True)
class GeofenceVerdict:
    inside: bool
    distance_m: float
    radius_m: float
    wgs84: tuple[float, float]  # the fix converted to WGS-84

    def as_details(self) -> dict:
        return {"distance_m": round(self.distance_m, 1), "radius_m": self.radius_m}


def check_geofence(lat: float, lng: float, coord_system: str, centre: tuple[float, float],
                   radius_m: float) -> GeofenceVerdict:
    """Is the fix (in ``coord_system``) within ``radius_m`` of ``centre`` (WGS-84)?"""
    point = to_wgs84(lat, lng, coord_system)
    d = distance_m(point, centre)
    return GeofenceVerdict(inside=d <= radius_m, distance_m=d, radius_m=float(radius_m), wgs84=point)


def implied_speed_kmh(a: tuple[float, float], b: tuple[float, float], seconds: float,
                      slack_m: float = 0.0) -> float:
    """Travel speed between two fixes; ``slack_m`` (e.g. the sum of both accuracies) is forgiven first."""
    d = max(0.0, distance_m(a, b) - slack_m)
    return d / max(abs(seconds), 1.0) * 3.6
