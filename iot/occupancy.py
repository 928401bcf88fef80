"""Occupancy inference per unit per day, pure: from one day's aggregates to OCCUPIED_LIKE / VACANT_LIKE / UNKNOWN
with the evidence that decided it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
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
    evening_busy_hours: int = 0  # of those, hours in the evening (``EVENING_START`` to midnight)
    evening_opens: int = 0  # door openings in the evening
    active_first: int = -1  # first and last local hour with water above the vacant hourly baseline or a door
    active_last: int = -1  # opening (-1: none) — how long the day's activity lasted


_OCCUPIED, _VACANT, _UNKNOWN = Occupancy.OCCUPIED_LIKE, Occupancy.VACANT_LIKE, Occupancy.UNKNOWN


def infer(facts: DayFacts, *, has_door: bool, has_elec: bool, has_water: bool, door_alive: bool,
          t: Thresholds) -> tuple[Occupancy, dict[str, Any]]:
    # a hot loop (once per unit and day of the look-back): plain branches, no sets
    reporting: list[str] = []
    active: list[str] = []
    meter_reports = False
    if has_elec and facts.elec_hours >= t.min_coverage_hours:
        reporting.append("electricity")
        meter_reports = True
        if facts.elec_kwh > t.vacant_kwh_per_day:
            active.append("electricity")
    if has_water and facts.water_hours >= t.min_coverage_hours:
        reporting.append("water")
        meter_reports = True
        if facts.water_m3 > t.vacant_m3_per_day:
            active.append("water")
    if has_door and (door_alive or facts.door_messages > 0):
        reporting.append("door")
        if facts.door_opens > 0:
            active.append("door")
    evidence: dict[str, Any] = {"electricity_kwh": round(facts.elec_kwh, 3), "water_m3": round(facts.water_m3, 4),
                                "door_opens": facts.door_opens, "night_opens": facts.night_opens,
                                "busy_hours": facts.busy_hours, "reporting": reporting, "active": active}
    if not reporting:
        evidence["reason"] = "no device reported enough data"
        return _UNKNOWN, evidence
    if (has_elec or has_water) and not meter_reports and not active:
        evidence["reason"] = "meters silent: a quiet door alone does not prove the unit is empty"
        return _UNKNOWN, evidence
    if len(active) >= min(2, len(reporting)):
        evidence["reason"] = "activity on " + ", ".join(active)
        return _OCCUPIED, evidence
    if not active:
        evidence["reason"] = "door quiet and consumption at the vacant baseline"
        return _VACANT, evidence
    evidence["reason"] = "mixed evidence"
    return _UNKNOWN, evidence


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
                 turnover_changes: int, cleanings: int = 0) -> tuple[float, list[str]]:
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
        strong.append(f"short-let turnover pattern: {switches // 2} guest changes ({switches} switches between stays "
                      f"and days nobody stayed; {cleanings} with a cleaning between stays)")
    if night_opens_per_day >= SUBLET_NIGHT_OPENS_PER_DAY:
        support.append((SUBLET_NIGHT, f"{night_opens_per_day:.1f} night-time door openings per day"))
    score = (SUBLET_STRONG + SUBLET_EXTRA_STRONG * (len(strong) - 1) if strong else 0.0) + sum(w for w, _ in support)
    return min(1.0, round(score, 2)), strong + [reason for _, reason in support]


# ------------------------------------------------------------------------------------------------ rhythm

#: local hour from which presence counts as "evening" (guests come back; a cleaner has left)
EVENING_START = 18
#: evening hours with electricity above the vacant hourly baseline that show someone is staying
EVENING_PRESENCE_HOURS = 2
#: a changeover cleaning: water and door activity within at most this many consecutive hours
CLEANING_MAX_HOURS = 4
#: a gap of at most this many days without presence between two stays is a guest change (a longer one is a trip)
CHANGEOVER_MAX_GAP_DAYS = 3


class Rhythm(StrEnum):
    """What a day looked like from its hours."""

    STAY = "STAY"  # evening or overnight presence: someone sleeps there
    CLEANING = "CLEANING"  # a short daytime burst of water and door activity, nobody in the evening or night
    DAYTIME = "DAYTIME"  # longer daytime activity, nobody in the evening or night (a check-out morning)
    EMPTY = "EMPTY"  # consumption at the vacant baseline, no door opening
    UNKNOWN = "UNKNOWN"  # too little data to say


@dataclass(frozen=True, slots=True)
class HourActivity:
    """One local hour of a unit: electricity kWh, water m³, door openings (synthetic series, the tests; the daily
    aggregate in iot.detection computes the same ``DayFacts`` fields in SQL)."""

    hour: int
    kwh: float = 0.0
    m3: float = 0.0
    opens: int = 0


def facts_from_hours(hours: Iterable[HourActivity], *, kwh_per_hour: float, m3_per_hour: float,
                     night: tuple[int, int] = (0, 6)) -> DayFacts:
    """A day's ``DayFacts`` from its hours, every hour reported — the definitions the daily SQL aggregate uses."""
    rows = list(hours)
    active = [h.hour for h in rows if h.opens > 0 or h.m3 > m3_per_hour]
    busy = [h for h in rows if h.kwh > kwh_per_hour]
    return DayFacts(
        elec_kwh=sum(h.kwh for h in rows), water_m3=sum(h.m3 for h in rows), door_opens=sum(h.opens for h in rows),
        night_opens=sum(h.opens for h in rows if night[0] <= h.hour < night[1]), elec_hours=len(rows),
        water_hours=len(rows), door_messages=len(rows), busy_hours=len(busy),
        night_kwh=sum(h.kwh for h in rows if night[0] <= h.hour < night[1]),
        evening_busy_hours=sum(1 for h in busy if h.hour >= EVENING_START),
        evening_opens=sum(h.opens for h in rows if h.hour >= EVENING_START),
        active_first=min(active, default=-1), active_last=max(active, default=-1))


def day_rhythm(f: DayFacts, t: Thresholds) -> Rhythm:
    """STAY / CLEANING / EMPTY / UNKNOWN. Presence is read from the evening and the night (electricity in use,
    the door opening), not from the day's totals: a changeover day has water and door traffic — a cleaner — but
    nobody stays, and that is what a short-let's rhythm shows between guests."""
    if f.elec_hours < t.min_coverage_hours and f.water_hours < t.min_coverage_hours:
        return Rhythm.UNKNOWN
    if f.evening_busy_hours >= EVENING_PRESENCE_HOURS or f.evening_opens > 0 or f.night_opens > 0:
        return Rhythm.STAY
    if f.door_opens == 0 and f.water_m3 <= t.vacant_m3_per_day and f.elec_kwh <= t.vacant_kwh_per_day:
        return Rhythm.EMPTY
    if f.active_first >= 0 and f.active_last - f.active_first < CLEANING_MAX_HOURS:
        return Rhythm.CLEANING
    return Rhythm.DAYTIME


def changeovers(rhythms: Sequence[Rhythm]) -> tuple[int, int]:
    """(guest changes, of which with a cleaning): gaps of 1 to ``CHANGEOVER_MAX_GAP_DAYS`` days without evening or
    overnight presence between two stays — cleaning, daytime-only or empty days (a day without data breaks the
    pattern; a longer gap is a trip, not a changeover)."""
    changes = cleaned = 0
    gap: list[Rhythm] = []
    seen_stay = False
    for r in rhythms:
        if r == Rhythm.STAY:
            if seen_stay and gap and len(gap) <= CHANGEOVER_MAX_GAP_DAYS and Rhythm.UNKNOWN not in gap:
                changes += 1
                cleaned += Rhythm.CLEANING in gap
            seen_stay, gap = True, []
        else:
            gap.append(r)
    return changes, cleaned
