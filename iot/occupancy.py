"""Occupancy inference per unit per day, pure: from one day's aggregates to OCCUPIED_LIKE / VACANT_LIKE / UNKNOWN
with the evidence that decided it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from iot.choices import Occupancy


class ThresholdSettings(Protocol):
    iot_vacant_kwh_per_day: float
    iot_vacant_m3_per_day: float
    iot_min_coverage_hours: int


@dataclass(frozen=True)
class Thresholds:
    vacant_kwh_per_day: float = 1.5
    vacant_m3_per_day: float = 0.03
    min_coverage_hours: int = 12

    @classmethod
    def from_settings(cls, settings: ThresholdSettings) -> Thresholds:
        return cls(settings.iot_vacant_kwh_per_day, settings.iot_vacant_m3_per_day, settings.iot_min_coverage_hours)


@dataclass(frozen=True, slots=True)
class DayFacts:
    """One unit, one local day. ``*_hours`` = hours with at least one message from that kind of device."""

    elec_kwh: float = 0.0
    water_m3: float = 0.0
    door_opens: int = 0
    night_opens: int = 0
    elec_hours: int = 0
    water_hours: int = 0
    door_messages: int = 0
    busy_hours: int = 0  # hours with electricity above the vacant hourly baseline
    night_kwh: float = 0.0


def infer(facts: DayFacts, *, has_door: bool, has_elec: bool, has_water: bool, door_alive: bool,
          t: Thresholds) -> tuple[Occupancy, dict[str, Any]]:
    reporting: list[str] = []
    active: list[str] = []
    if has_elec and facts.elec_hours >= t.min_coverage_hours:
        reporting.append("electricity")
        if facts.elec_kwh > t.vacant_kwh_per_day:
            active.append("electricity")
    if has_water and facts.water_hours >= t.min_coverage_hours:
        reporting.append("water")
        if facts.water_m3 > t.vacant_m3_per_day:
            active.append("water")
    if has_door and (door_alive or facts.door_messages > 0):
        reporting.append("door")
        if facts.door_opens > 0:
            active.append("door")
    evidence: dict[str, Any] = {"electricity_kwh": round(facts.elec_kwh, 3), "water_m3": round(facts.water_m3, 4),
                "door_opens": facts.door_opens, "night_opens": facts.night_opens, "busy_hours": facts.busy_hours,
                "reporting": reporting, "active": active}
    if not reporting:
        evidence["reason"] = "no device reported enough data"
        return Occupancy.UNKNOWN, evidence
    if (has_elec or has_water) and not ({"electricity", "water"} & set(reporting)) and not active:
        evidence["reason"] = "meters silent: a quiet door alone does not prove the unit is empty"
        return Occupancy.UNKNOWN, evidence
    if len(active) >= min(2, len(reporting)):
        evidence["reason"] = "activity on " + ", ".join(active)
        return Occupancy.OCCUPIED_LIKE, evidence
    if not active:
        evidence["reason"] = "door quiet and consumption at the vacant baseline"
        return Occupancy.VACANT_LIKE, evidence
    evidence["reason"] = "mixed evidence"
    return Occupancy.UNKNOWN, evidence


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


#: Sublet suspicion weights. A *strong* reason is sufficient on its own (the issue: usage far above both the unit's
#: own baseline and its cohort, OR a short-let turnover pattern), so its weight is at or above the default threshold
#: (0.6); further strong reasons and *supporting* ones (usage far above the cohort without an own baseline yet,
#: night-time door traffic) add to it, and supporting reasons alone need to stack up to reach the threshold.
SUBLET_STRONG = 0.7
SUBLET_EXTRA_STRONG = 0.15
SUBLET_COHORT_ONLY = 0.25
SUBLET_NIGHT = 0.15
SUBLET_NIGHT_OPENS_PER_DAY = 3.0


def sublet_score(*, recent: dict[str, float | None], own: dict[str, float | None], cohort: dict[str, float | None],
                 switches: int, night_opens_per_day: float, own_ratio: float, cohort_ratio: float,
                 turnover_changes: int) -> tuple[float, list[str]]:
    """A suspicion score in [0, 1] with its reasons — never an accusation, only a reason to visit.

    The first strong reason scores ``SUBLET_STRONG`` (≥ the default threshold: either one alone suffices), each
    further strong reason ``SUBLET_EXTRA_STRONG``; supporting reasons add their own weight."""
    strong: list[str] = []
    support: list[tuple[float, str]] = []
    for kind, unit in (("electricity", "kWh/day"), ("water", "m³/day")):
        r, o, c = recent.get(kind), own.get(kind), cohort.get(kind)
        if r is None or not c:
            continue
        vs_cohort = r / c
        if o:
            vs_own = r / o
            if vs_own >= own_ratio and vs_cohort >= cohort_ratio:
                strong.append(f"{kind} {r:.2f} {unit}: {vs_own:.1f}× its own baseline, {vs_cohort:.1f}× its cohort")
        elif vs_cohort >= 2 * cohort_ratio:
            support.append((SUBLET_COHORT_ONLY,
                            f"{kind} {r:.2f} {unit}: {vs_cohort:.1f}× its cohort (no own baseline yet)"))
    if switches >= turnover_changes:
        strong.append(f"short-let turnover pattern: {switches} switches between occupied and empty days")
    if night_opens_per_day >= SUBLET_NIGHT_OPENS_PER_DAY:
        support.append((SUBLET_NIGHT, f"{night_opens_per_day:.1f} night-time door openings per day"))
    score = (SUBLET_STRONG + SUBLET_EXTRA_STRONG * (len(strong) - 1) if strong else 0.0) + sum(w for w, _ in support)
    return min(1.0, round(score, 2)), strong + [reason for _, reason in support]
