"""The IoT rules, pure: typed frozen inputs in, decisions (alert conditions) out. No database, no clock, no I/O —
table-tested in tests/test_iot_rules.py.

- instant: ``door_open_conditions`` (DOOR_OPEN_WHILE_VACANT), ``battery_condition`` (BATTERY_LOW);
- devices: ``offline_timeout`` and ``offline_because`` (DEVICE_OFFLINE), ``moveout_quiet`` (move-out cleaning);
- daily: ``occupancy_series`` (per day, from ``iot.occupancy.infer``), ``meter_means`` and ``cohort_medians``
  (baselines), ``unit_conditions`` (UNEXPECTED_ACTIVITY, NO_ACTIVITY, ACTIVITY_AFTER_LEASE_END,
  SUSPECTED_SUBLET with ``iot.occupancy.sublet_score``).

Every threshold and window is a setting (``DailyParams.from_settings``) or a named constant below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from alerts.choices import AlertSeverity
from config.settings import DEFAULT_TIMEZONE
from iot.choices import VACANT_STATUSES, DeviceFormat, DeviceKind, IotAlert, Occupancy
from iot.occupancy import DayFacts, Rhythm, Thresholds, changeovers, day_rhythm, infer, median, sublet_score
from leasing.choices import LeaseStatus
from portfolio.choices import UnitStatus
from workorders.choices import VisitResult, WorkOrderStatus

EPOCH = date(1970, 1, 1)

#: ACTIVITY_AFTER_LEASE_END considers leases that ended at most this many days ago (older ones are history).
LEASE_END_WINDOW_DAYS = 90
#: the daily run reads at least this many days: the short-let turnover signal counts switches over 30 days.
MIN_LOOKBACK_DAYS = 30
#: a meter's own baseline (median of its days before the sublet window) needs at least this many days of data.
OWN_BASELINE_MIN_DAYS = 7
#: a cohort (same unit type) with fewer occupied members than this leaves the unit itself out of its median, so a
#: heavy unit cannot mask itself in a small building; in a large cohort one unit cannot move the median anyway.
SMALL_COHORT_SIZE = 20
#: UNEXPECTED_ACTIVITY: this many hours above the vacant hourly baseline in a day look like someone living there.
UNEXPECTED_BUSY_HOURS = 4
#: days of daily evidence attached to an alert (its ``series``).
EVIDENCE_DAYS = 14
#: the daily alert types, in the order they are raised and cleared.
DAILY_TYPES = (IotAlert.UNEXPECTED_ACTIVITY, IotAlert.NO_ACTIVITY, IotAlert.ACTIVITY_AFTER_LEASE_END,
               IotAlert.SUSPECTED_SUBLET, IotAlert.DOOR_OPEN_WHILE_VACANT)
#: the two meter signals of the sublet rule: (name, DayFacts value, DayFacts coverage hours)
METER_SIGNALS = (("electricity", "elec_kwh", "elec_hours"), ("water", "water_m3", "water_hours"))


class IotSettings(Protocol):
    """What the rules read from ``config.settings.Settings`` (a Protocol: the rules do not import config)."""

    iot_door_offline_hours: float
    iot_meter_offline_periods: float
    iot_tasmota_teleperiod_seconds: int
    iot_availability_grace_minutes: float
    iot_electricity_period_seconds: int
    iot_water_period_seconds: int
    iot_no_activity_days: int
    iot_sublet_window_days: int
    iot_lease_end_grace_days: int
    iot_sublet_own_ratio: float
    iot_sublet_cohort_ratio: float
    iot_sublet_turnover_changes: int
    iot_sublet_score_threshold: float
    iot_sublet_clear_score: float
    iot_sublet_clear_days: int
    iot_vacant_kwh_per_day: float
    iot_vacant_m3_per_day: float
    iot_vacant_kwh_per_hour: float
    iot_vacant_m3_per_hour: float
    iot_min_coverage_hours: int
    iot_moveout_quiet_hours: int


@dataclass(frozen=True)
class Condition:
    """An alert condition that holds: what to raise, for which unit (and device subject), and why."""

    alert_type: IotAlert
    unit_id: int | None
    explanation: str
    evidence: dict[str, Any]
    severity: AlertSeverity
    subject: str = ""
    at: datetime | None = None  # instant rules: when it happened


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    building_id: int
    status: str
    unit_type: str = ""
    timezone: ZoneInfo = ZoneInfo(DEFAULT_TIMEZONE)


@dataclass(frozen=True)
class LeaseInfo:
    id: int
    status: str
    start_date: date
    end_date: date
    ended_at: datetime | None = None


@dataclass(frozen=True)
class UnitDevices:
    """Which kinds of device a unit has, and when its door last spoke (``None``: never, or no door)."""

    kinds: frozenset[DeviceKind] = frozenset()
    door_seen: datetime | None = None

    @property
    def has_door(self) -> bool:
        return DeviceKind.DOOR in self.kinds


@dataclass(frozen=True)
class DailyParams:
    thresholds: Thresholds = field(default_factory=Thresholds)
    door_offline: timedelta = timedelta(hours=25)
    no_activity_days: int = 14
    sublet_window_days: int = 7
    lease_end_grace_days: int = 2
    own_ratio: float = 2.0
    cohort_ratio: float = 2.0
    turnover_changes: int = 6
    score_threshold: float = 0.6
    clear_score: float = 0.3
    clear_days: int = 3

    @classmethod
    def from_settings(cls, s: IotSettings) -> DailyParams:
        return cls(Thresholds.from_settings(s), timedelta(hours=s.iot_door_offline_hours), s.iot_no_activity_days,
                   s.iot_sublet_window_days, s.iot_lease_end_grace_days, s.iot_sublet_own_ratio,
                   s.iot_sublet_cohort_ratio, s.iot_sublet_turnover_changes, s.iot_sublet_score_threshold,
                   s.iot_sublet_clear_score, s.iot_sublet_clear_days)

    @property
    def lookback(self) -> int:
        """Days the daily run reads: enough for the turnover count, NO_ACTIVITY and the sublet baseline."""
        return max(MIN_LOOKBACK_DAYS, self.no_activity_days, self.sublet_window_days * 2)


DayState = tuple[Occupancy, dict[str, Any]]


# ------------------------------------------------------------------------------------------------ days and leases

def day_number(day: date) -> int:
    return (day - EPOCH).days


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number)


def local_day_end(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)


def lease_end(lease: LeaseInfo, tz: ZoneInfo) -> date:
    """The day the tenancy ended: ``ended_at`` when set (an early termination, a refund that completed), else the
    planned ``end_date``."""
    if lease.ended_at is not None:
        return lease.ended_at.astimezone(tz).date()
    return lease.end_date


def live_leases(unit_leases: Iterable[LeaseInfo], as_of: date) -> list[LeaseInfo]:
    """Leases that cover ``as_of``: signed or active, within their dates, not ended early."""
    return [x for x in unit_leases if x.status in (LeaseStatus.SIGNED, LeaseStatus.ACTIVE)
            and x.start_date <= as_of <= x.end_date and x.ended_at is None]


def recently_ended(unit_leases: Iterable[LeaseInfo], as_of: date, tz: ZoneInfo, grace_days: int) -> list[date]:
    """End days of leases that ended more than the grace period and less than ``LEASE_END_WINDOW_DAYS`` ago."""
    ends = [lease_end(x, tz) for x in unit_leases]
    return [end for end in ends if as_of - timedelta(days=LEASE_END_WINDOW_DAYS) <= end
            < as_of - timedelta(days=grace_days)]


# ------------------------------------------------------------------------------------------------ instant

@dataclass(frozen=True)
class DoorOpened:
    device_id: int
    unit_id: int
    at: datetime


def door_open_conditions(opens: Sequence[DoorOpened], units: Mapping[int, UnitInfo],
                         busy: set[int]) -> list[Condition]:
    """DOOR_OPEN_WHILE_VACANT for each unit whose door opened (latest opening per unit) while it is in a vacant
    status and no on-site work explains it."""
    latest: dict[int, DoorOpened] = {}
    count: dict[int, int] = {}
    for opened in opens:
        count[opened.unit_id] = count.get(opened.unit_id, 0) + 1
        if opened.unit_id not in latest or opened.at > latest[opened.unit_id].at:
            latest[opened.unit_id] = opened
    out = []
    for unit_id, opened in latest.items():
        unit = units.get(unit_id)
        if unit is None or unit.status not in VACANT_STATUSES or unit_id in busy:
            continue
        at = opened.at
        out.append(Condition(
            IotAlert.DOOR_OPEN_WHILE_VACANT, unit_id,
            f"door of {unit.code} opened at {at.isoformat()} while the unit is {unit.status} "
            f"and no work order or viewing is in progress",
            {"device_id": opened.device_id, "opened_at": at.isoformat(), "unit_status": unit.status,
             "openings_in_batch": count[unit_id]}, AlertSeverity.CRITICAL, at=at))
    return out


def device_subject(device_id: int) -> str:
    return f"device:{device_id}"


def battery_condition(device_id: int, unit_id: int | None, battery: int | None, at: datetime) -> Condition:
    """BATTERY_LOW as a device reports it (the ingest decides "low": percent at or below the setting, or a flag)."""
    return Condition(IotAlert.BATTERY_LOW, unit_id, f"device {device_id} reports a low battery ({battery}%)",
                     {"device_id": device_id, "battery": battery}, AlertSeverity.INFO,
                     subject=device_subject(device_id), at=at)


# ------------------------------------------------------------------------------------------------ devices

def offline_timeout(kind: str, report_period_s: int | None, settings: IotSettings) -> timedelta:
    if kind == DeviceKind.DOOR:
        return timedelta(hours=settings.iot_door_offline_hours)
    default = settings.iot_water_period_seconds if kind == DeviceKind.WATER else settings.iot_electricity_period_seconds
    return timedelta(seconds=(report_period_s or default) * settings.iot_meter_offline_periods)


@dataclass(frozen=True)
class FormatLiveness:
    """What a payload format can say about a device being alive, besides its readings."""

    availability: bool  # publishes availability: Zigbee2MQTT's own check, or an MQTT last will (online/offline)
    heartbeat: bool  # publishes a periodic heartbeat whatever changed (Tasmota tele/STATE every TelePeriod)


#: per format (docs/iot.md, "Is a device alive?"). Shelly Gen1 door/window sensors sleep between events and their
#: ``online`` is false while asleep, so their availability says nothing; wM-Bus meters have none.
FORMAT_LIVENESS: dict[DeviceFormat, FormatLiveness] = {
    DeviceFormat.ZIGBEE2MQTT: FormatLiveness(availability=True, heartbeat=False),
    DeviceFormat.TASMOTA: FormatLiveness(availability=True, heartbeat=True),
    DeviceFormat.SHELLY_GEN2: FormatLiveness(availability=True, heartbeat=False),
    DeviceFormat.SHELLY_GEN1: FormatLiveness(availability=False, heartbeat=False),
    DeviceFormat.WMBUS: FormatLiveness(availability=False, heartbeat=False),
    DeviceFormat.GENERIC: FormatLiveness(availability=True, heartbeat=False),
}
NO_LIVENESS = FormatLiveness(availability=False, heartbeat=False)


def heartbeat_timeout(fmt: str, report_period_s: int | None, settings: IotSettings) -> timedelta | None:
    """How long a format's heartbeats may be missing (``None``: the format has none)."""
    if not FORMAT_LIVENESS.get(DeviceFormat(fmt), NO_LIVENESS).heartbeat:
        return None
    period = report_period_s or settings.iot_tasmota_teleperiod_seconds
    return timedelta(seconds=period * settings.iot_meter_offline_periods)


def offline_because(*, now: datetime, timeout: timedelta, last_seen: datetime | None, online: bool | None,
                    installed_at: datetime | None, registered_at: datetime | None, kind: str | None = None,
                    fmt: str | None = None, available: bool | None = None, available_at: datetime | None = None,
                    heartbeat_at: datetime | None = None, heartbeat_timeout: timedelta | None = None,
                    grace: timedelta = timedelta(0)) -> str | None:
    """Why a device counts as offline, or None.

    - A device that said it is offline (Zigbee2MQTT availability, a last will) is offline at once, or once the
      ``grace`` after that message has passed.
    - A door contact publishes only when the door moves, so its silence proves nothing where its format says more:
      with heartbeats seen (Tasmota tele/STATE) it is offline once they stop for ``heartbeat_timeout``; with an
      availability that says online it is alive however quiet. Only a door whose format has neither (or that never
      sent them) is judged by silence.
    - Meters report periodically: silent for longer than their kind's timeout is offline whatever else they say.

    A device never heard from is measured from its registration (or a later installation), not from an
    installation date before it was registered: we could not hear it earlier."""
    if online is False:
        if available_at is not None and now - available_at < grace:
            return None
        return "reported itself offline (availability / last will)" + (
            f", last message {last_seen.isoformat()}" if last_seen else ", never heard from")
    if kind == DeviceKind.DOOR and fmt is not None:
        caps = FORMAT_LIVENESS.get(DeviceFormat(fmt), NO_LIVENESS)
        if caps.heartbeat and heartbeat_at is not None and heartbeat_timeout is not None:
            sign = max(heartbeat_at, last_seen or heartbeat_at)
            if now - sign > heartbeat_timeout:
                return f"heartbeats stopped: last sign of life {sign.isoformat()} (timeout {heartbeat_timeout})"
            return None
        if caps.availability and available is True:
            return None
    reference = last_seen or max(filter(None, [installed_at, registered_at]), default=None)
    if reference is not None and now - reference > timeout:
        return f"silent since {reference.isoformat()} (timeout {timeout})"
    return None


@dataclass(frozen=True)
class HourRow:
    """One hourly roll-up row of a unit: ``value`` is door openings (doors) or consumption (meters)."""

    kind: str
    hour_ts: int
    value: float
    messages: int


def moveout_quiet(rows: Iterable[HourRow], *, hours: int, kwh_per_hour: float, m3_per_hour: float) -> bool:
    """A MOVE_OUT_PENDING unit's last ``hours`` of roll-ups say the tenant has left: no door opening, consumption
    at the vacant hourly baseline, and data in at least half of the hours (too little data proves nothing)."""
    heard: set[int] = set()
    for r in rows:
        if r.messages:
            heard.add(r.hour_ts)
        if r.kind == DeviceKind.DOOR and r.value > 0:
            return False
        if r.kind in (DeviceKind.ELECTRICITY, DeviceKind.PLUG) and r.value > kwh_per_hour:
            return False
        if r.kind == DeviceKind.WATER and r.value > m3_per_hour:
            return False
    return len(heard) >= hours // 2


# ------------------------------------------------------------------------------------------------ daily

def occupancy_series(facts: Mapping[int, DayFacts], devices: UnitDevices, window: Sequence[int], *, now: datetime,
                     p: DailyParams) -> list[DayState]:
    """Occupancy of each day of ``window`` (day numbers, oldest first). A door "reports" on a day when it sent
    anything that day or the day before, and on the last day also when it spoke within the offline timeout."""
    kinds = devices.kinds
    has_door = DeviceKind.DOOR in kinds
    has_elec, has_water = DeviceKind.ELECTRICITY in kinds, DeviceKind.WATER in kinds
    seen = devices.door_seen
    door_alive_now = has_door and seen is not None and seen >= now - p.door_offline
    last = window[-1] if window else None
    empty = DayFacts()
    t = p.thresholds
    series = []
    get = facts.get
    for d in window:
        f = get(d) or empty
        alive = f.door_messages > 0 or (get(d - 1) or empty).door_messages > 0 or (d == last and door_alive_now)
        series.append(infer(f, has_door=has_door, has_elec=has_elec, has_water=has_water, door_alive=alive, t=t))
    return series


MeterValues = dict[str, float | None]


class Visit(StrEnum):
    """Where the inspection visit of a sublet episode stands."""

    NONE = "none"  # no order, or it was cancelled: the score alone decides
    PENDING = "pending"  # an order open, or done without its result recorded: the alert holds
    CONFIRMED = "confirmed"  # the visit found a sublet: with the lease manager now, people close it


@dataclass(frozen=True)
class SubletEpisode:
    """An open SUSPECTED_SUBLET alert and its memory: the days under suspicion (from ``start``, a day number: the
    first day of the window that raised it), the unit's own baseline when it began, the scores earlier runs judged
    (day number → score) and where its visit stands."""

    alert_id: int
    start: int
    baseline: Mapping[str, float | None] = field(default_factory=dict)
    scores: Mapping[int, float] = field(default_factory=dict)
    visit: Visit = Visit.NONE


def meter_means(facts: Mapping[int, DayFacts], day0: int, p: DailyParams, *, episode: SubletEpisode | None = None,
                since: int | None = None) -> tuple[MeterValues, MeterValues]:
    """(recent, own baseline) per meter signal: the mean of the last ``sublet_window_days`` covered days, and the
    median of the covered days before them (``None`` with fewer than ``OWN_BASELINE_MIN_DAYS`` of them).

    Memory: days under an open suspicion (``episode``) are no baseline — else a sustained sublet becomes its own
    normal within weeks; when too few days are left, the baseline frozen when the episode began stands. ``since``
    (a visit found no sublet that day) resets the baseline: only days from then on count."""
    # the two signals of METER_SIGNALS in one pass over the days (a hot loop: once per unit and run), each
    # signal's values in the days' order
    cut = day0 - p.sublet_window_days
    min_hours = p.thresholds.min_coverage_hours
    start = None if episode is None else episode.start
    elec_recent: list[float] = []
    elec_before: list[float] = []
    water_recent: list[float] = []
    water_before: list[float] = []
    for d, f in facts.items():
        if since is not None and d < since:
            continue
        if d > cut:
            if f.elec_hours >= min_hours:
                elec_recent.append(f.elec_kwh)
            if f.water_hours >= min_hours:
                water_recent.append(f.water_m3)
        elif start is None or d < start:
            if f.elec_hours >= min_hours:
                elec_before.append(f.elec_kwh)
            if f.water_hours >= min_hours:
                water_before.append(f.water_m3)
    recent: MeterValues = {}
    base: MeterValues = {}
    for kind, recent_vals, before in (("electricity", elec_recent, elec_before),
                                      ("water", water_recent, water_before)):
        recent[kind] = sum(recent_vals) / len(recent_vals) if recent_vals else None
        base[kind] = median(before) if len(before) >= OWN_BASELINE_MIN_DAYS else None
        if base[kind] is None and episode is not None:
            base[kind] = episode.baseline.get(kind)
    return recent, base


def sublet_holds(score: float, episode: SubletEpisode | None, day0: int, p: DailyParams) -> str | None:
    """Hysteresis with memory: why SUSPECTED_SUBLET holds on day ``day0``, or None. A new suspicion is raised at
    ``score_threshold``; an open one holds while its visit is pending or confirmed, and otherwise until the score
    stayed below ``clear_score`` on ``clear_days`` consecutive days (days without a judged score break the run), so
    a score wavering around the threshold is one episode, not several."""
    if episode is None:
        return "score at the threshold" if score >= p.score_threshold else None
    if episode.visit == Visit.PENDING:
        return "inspection visit pending"
    if episode.visit == Visit.CONFIRMED:
        return "sublet confirmed by the visit"
    if score >= p.score_threshold:
        return "score at the threshold"
    if score >= p.clear_score:
        return f"score not yet below the clear level {p.clear_score}"
    earlier = [episode.scores.get(day0 - k) for k in range(1, p.clear_days)]
    if all(s is not None and s < p.clear_score for s in earlier):
        return None
    return f"score below {p.clear_score} for fewer than {p.clear_days} consecutive days"


@dataclass(frozen=True)
class Cohort:
    """Recent daily means of the units of each unit type that are OCCUPIED under a live lease (vacant and
    off-market units would pull the median down and make any tenant look heavy)."""

    values: Mapping[str, Mapping[str, tuple[float, ...]]]
    members: frozenset[int]
    #: (unit type, signal) → the median of all its values (what every unit of a large cohort is compared with)
    _medians: dict[tuple[str, str], float | None] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, units: Iterable[tuple[UnitInfo, MeterValues, bool]]) -> Cohort:
        """From (unit, its recent means, whether it is OCCUPIED under a live lease)."""
        values: dict[str, dict[str, list[float]]] = {}
        members: set[int] = set()
        for unit, recent, occupied in units:
            if not occupied:
                continue
            for kind, value in recent.items():
                if value is not None:
                    values.setdefault(unit.unit_type, {}).setdefault(kind, []).append(value)
                    members.add(unit.id)
        return cls({ut: {k: tuple(v) for k, v in per.items()} for ut, per in values.items()}, frozenset(members))

    def medians_for(self, unit: UnitInfo, recent: MeterValues) -> MeterValues:
        """The unit type's median per signal; in a cohort under ``SMALL_COHORT_SIZE`` without the unit itself."""
        out: MeterValues = {}
        for kind, values in self.values.get(unit.unit_type, {}).items():
            own = recent.get(kind)
            if len(values) < SMALL_COHORT_SIZE and unit.id in self.members and own is not None and own in values:
                others = list(values)
                others.remove(own)
                out[kind] = median(others)
                continue
            key = (unit.unit_type, kind)
            if key not in self._medians:  # computed once per unit type and signal, not once per unit
                self._medians[key] = median(list(values))
            out[kind] = self._medians[key]
        return out


def series_evidence(window: Sequence[int], series: Sequence[DayState], days: int = EVIDENCE_DAYS) -> list[dict]:
    return [{"day": day_of(d).isoformat(), "state": state, "electricity_kwh": ev["electricity_kwh"],
             "water_m3": ev["water_m3"], "door_opens": ev["door_opens"], "night_opens": ev["night_opens"]}
            for d, (state, ev) in zip(window[-days:], series[-days:], strict=True)]


def rhythm_series(facts: Mapping[int, DayFacts], window: Sequence[int], p: DailyParams) -> tuple[Rhythm, ...]:
    """Each day's rhythm (stay, cleaning, daytime only, empty), oldest first: the short-let turnover signal."""
    empty = DayFacts()
    return tuple(day_rhythm(facts.get(d) or empty, p.thresholds) for d in window)


@dataclass(frozen=True)
class UnitDay:
    """Everything the daily rules know about one unit on the day judged."""

    unit: UnitInfo
    window: tuple[int, ...]
    series: tuple[DayState, ...]
    live: tuple[LeaseInfo, ...]
    ended: tuple[date, ...]
    busy: bool  # on-site work explains activity
    recent: MeterValues
    own: MeterValues
    cohort: MeterValues
    episode: SubletEpisode | None = None  # an open SUSPECTED_SUBLET alert
    baseline_from: int | None = None  # a visit found no sublet that day: baselines and turnover count from it
    rhythms: tuple[Rhythm, ...] = ()  # per day of ``window``: guests' stays, changeover cleanings, empty days


def activity_condition(u: UnitDay) -> Condition | None:
    """ACTIVITY_AFTER_LEASE_END (takes precedence) or UNEXPECTED_ACTIVITY for a unit nobody should live in."""
    state, ev = u.series[-1]
    active_today = state == Occupancy.OCCUPIED_LIKE
    if u.busy:
        return None
    if not u.live and u.ended and active_today:
        last_end = max(u.ended)
        return Condition(
            IotAlert.ACTIVITY_AFTER_LEASE_END, u.unit.id,
            f"{u.unit.code}: the lease ended on {last_end.isoformat()} and the unit still looks lived in "
            f"({ev['reason']})", {"lease_end": last_end.isoformat(), "today": ev,
                                  "series": series_evidence(u.window, u.series)}, AlertSeverity.CRITICAL)
    suspicious = active_today or ev["night_opens"] > 0 or ev["busy_hours"] >= UNEXPECTED_BUSY_HOURS
    if u.unit.status in VACANT_STATUSES and suspicious:
        return Condition(
            IotAlert.UNEXPECTED_ACTIVITY, u.unit.id,
            f"{u.unit.code} is {u.unit.status} without an active work order, yet looks occupied: {ev['reason']}, "
            f"{ev['night_opens']} night-time door openings, {ev['busy_hours']} h above the vacant baseline",
            {"unit_status": u.unit.status, "today": ev, "series": series_evidence(u.window, u.series)},
            AlertSeverity.CRITICAL)
    return None


def no_activity_condition(u: UnitDay, p: DailyParams) -> Condition | None:
    """NO_ACTIVITY: OCCUPIED under a live lease but VACANT_LIKE for the last ``no_activity_days`` days."""
    n = p.no_activity_days
    last_n = u.series[-n:]
    if len(last_n) < n or not all(s == Occupancy.VACANT_LIKE for s, _ in last_n):
        return None
    lease = u.live[0]
    return Condition(
        IotAlert.NO_ACTIVITY, u.unit.id,
        f"{u.unit.code} is OCCUPIED under lease {lease.id} but looked vacant for {n} days "
        f"(silent move-out or wrong status)",
        {"lease_id": lease.id, "days": n, "series": series_evidence(u.window, u.series, n)}, AlertSeverity.WARNING)


#: scores kept in an episode's evidence (its memory for the clearing hysteresis), newest last
EPISODE_SCORE_DAYS = 30


def sublet_condition(u: UnitDay, p: DailyParams) -> Condition | None:
    """SUSPECTED_SUBLET while ``sublet_holds``; worded as a suspicion, never a finding. The evidence carries the
    episode's memory (start, frozen baseline, daily scores) for the next run."""
    first = 0 if u.baseline_from is None else next(
        (i for i, d in enumerate(u.window) if d >= u.baseline_from), len(u.window))
    series = u.series[first:]
    recent_days = series[-p.sublet_window_days:]
    night = sum(ev["night_opens"] for _, ev in recent_days) / max(1, len(recent_days))
    changes, cleaned = changeovers(u.rhythms[first:])
    score, reasons = sublet_score(
        recent=u.recent, own=u.own, cohort=u.cohort, switches=2 * changes,
        night_opens_per_day=night, own_ratio=p.own_ratio, cohort_ratio=p.cohort_ratio,
        turnover_changes=p.turnover_changes, cleanings=cleaned)
    day0 = u.window[-1]
    why = sublet_holds(score, u.episode, day0, p)
    if why is None:
        return None
    ep = u.episode
    start = ep.start if ep else day0 - p.sublet_window_days + 1
    scores = {**(ep.scores if ep else {}), day0: score}
    kept = sorted(scores)[-EPISODE_SCORE_DAYS:]
    return Condition(
        IotAlert.SUSPECTED_SUBLET, u.unit.id,
        f"{u.unit.code}: usage pattern suggests a possible sublet (score {score}; {why}); an inspection visit is "
        f"suggested — this is a suspicion, not a finding",
        {"score": score, "holds_because": why, "reasons": reasons, "recent_daily": u.recent, "own_baseline": u.own,
         "cohort_median": u.cohort, "lease_id": u.live[0].id, "series": series_evidence(u.window, u.series),
         "episode": {"start": day_of(start).isoformat(), "baseline": dict(ep.baseline) if ep else u.own,
                     "scores": {day_of(d).isoformat(): scores[d] for d in kept}}},
        AlertSeverity.WARNING)


def episode_of(alert_id: int, first_seen_day: int, evidence: Mapping[str, Any], visit: Visit,
               window_days: int) -> SubletEpisode:
    """An open SUSPECTED_SUBLET alert's memory, read back from the evidence ``sublet_condition`` wrote (an alert
    from before that evidence existed starts its episode at the window that raised it)."""
    memory = evidence.get("episode") or {}
    try:
        start = day_number(date.fromisoformat(memory["start"]))
    except (KeyError, TypeError, ValueError):
        start = first_seen_day - window_days + 1
    scores: dict[int, float] = {}
    for day, score in (memory.get("scores") or {}).items():
        try:
            scores[day_number(date.fromisoformat(day))] = float(score)
        except (TypeError, ValueError):
            continue
    baseline = {k: (float(v) if v is not None else None) for k, v in (memory.get("baseline") or {}).items()
                if isinstance(v, (int, float)) or v is None}
    return SubletEpisode(alert_id, start, baseline, scores, visit)


def visit_state(order_status: str | None, result: str | None) -> Visit:
    """The visit of an episode from its inspection order: none (no order, or cancelled), confirmed, or pending
    (open, or done without a result: the alert waits for the result)."""
    if order_status is None or order_status == WorkOrderStatus.CANCELLED:
        return Visit.NONE
    if result == VisitResult.CONFIRMED:
        return Visit.CONFIRMED
    if result == VisitResult.NOT_CONFIRMED:
        return Visit.NONE
    return Visit.PENDING


def unit_conditions(u: UnitDay, p: DailyParams) -> list[Condition]:
    """The daily conditions that hold for one unit."""
    found = [activity_condition(u)]
    if u.unit.status == UnitStatus.OCCUPIED and u.live:
        found += [no_activity_condition(u, p), sublet_condition(u, p)]
    return [c for c in found if c is not None]


def door_open_while_vacant_holds(u: UnitDay) -> bool:
    """DOOR_OPEN_WHILE_VACANT is raised instantly; the daily run only keeps it open while its door still opens."""
    return u.unit.status in VACANT_STATUSES and not u.busy and u.series[-1][1]["door_opens"] > 0
