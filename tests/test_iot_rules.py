"""The IoT rules (iot/rules.py) as tables of cases: no database, no broker, no clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from iot.choices import DeviceFormat, DeviceKind, IotAlert, Occupancy
from iot.occupancy import DayFacts, HourActivity, Rhythm, changeovers, day_rhythm, facts_from_hours
from iot.rules import (
    FORMAT_LIVENESS,
    OWN_BASELINE_MIN_DAYS,
    SMALL_COHORT_SIZE,
    UNEXPECTED_BUSY_HOURS,
    Cohort,
    DailyParams,
    DoorOpened,
    HourRow,
    LeaseInfo,
    SubletEpisode,
    UnitDay,
    UnitDevices,
    UnitInfo,
    Visit,
    day_number,
    day_of,
    door_open_conditions,
    episode_of,
    live_leases,
    meter_means,
    moveout_quiet,
    occupancy_series,
    offline_because,
    recently_ended,
    sublet_holds,
    unit_conditions,
    visit_state,
)
from workorders.choices import VisitResult, WorkOrderStatus

SH = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 11, 1)
NOW = datetime(2026, 11, 1, 16, tzinfo=UTC)
P = DailyParams()
LIVED = DayFacts(elec_kwh=5, water_m3=0.1, door_opens=2, elec_hours=24, water_hours=24, door_messages=4)
EMPTY = DayFacts(elec_kwh=0.2, water_m3=0, door_opens=0, elec_hours=24, water_hours=24, door_messages=4)
ALL_KINDS = UnitDevices(frozenset({DeviceKind.DOOR, DeviceKind.ELECTRICITY, DeviceKind.WATER}), NOW)


def unit(status="VACANT", uid=1, unit_type="2b1b") -> UnitInfo:
    return UnitInfo(uid, f"U{uid}", 10, status, unit_type, SH)


@pytest.mark.parametrize("status,busy,alert", [
    ("VACANT", False, True), ("PENDING_DELIVERY", False, True), ("RENOVATION", False, True),
    ("OFF_MARKET", False, True), ("VACANT", True, False), ("OCCUPIED", False, False),
    ("MOVE_OUT_PENDING", False, False),
])
def test_door_open_while_vacant(status, busy, alert):
    at = NOW
    opens = [DoorOpened(7, 1, at - timedelta(minutes=5)), DoorOpened(7, 1, at)]
    found = door_open_conditions(opens, {1: unit(status)}, {1} if busy else set())
    assert [c.alert_type for c in found] == ([IotAlert.DOOR_OPEN_WHILE_VACANT] if alert else [])
    if alert:  # the latest opening, with the count of the batch
        assert found[0].at == at and found[0].evidence["openings_in_batch"] == 2


def test_door_open_of_an_unknown_unit_raises_nothing():
    assert door_open_conditions([DoorOpened(7, 99, NOW)], {}, set()) == []


def hours(kind, values, messages=1):
    return [HourRow(kind, n, v, messages) for n, v in enumerate(values)]


@pytest.mark.parametrize("rows,quiet", [
    (hours(DeviceKind.ELECTRICITY, [0.01] * 24), True),
    (hours(DeviceKind.ELECTRICITY, [0.01] * 11), False),  # data in fewer than half of the hours
    (hours(DeviceKind.ELECTRICITY, [0.01] * 12), True),
    (hours(DeviceKind.ELECTRICITY, [0.01] * 23 + [0.5]), False),  # above the vacant hourly baseline
    (hours(DeviceKind.PLUG, [0.01] * 23 + [0.5]), False),
    (hours(DeviceKind.WATER, [0.0] * 23 + [0.01]), False),
    (hours(DeviceKind.WATER, [0.0] * 24) + hours(DeviceKind.DOOR, [0.0] * 23 + [1.0]), False),  # a door opened
    (hours(DeviceKind.ELECTRICITY, [0.01] * 24, messages=0), False),  # rows without messages are no data
])
def test_moveout_quiet(rows, quiet):
    assert moveout_quiet(rows, hours=24, kwh_per_hour=0.15, m3_per_hour=0.005) is quiet


def lease(status="ACTIVE", start=AS_OF - timedelta(days=100), end=AS_OF + timedelta(days=100), ended_at=None):
    return LeaseInfo(1, status, start, end, ended_at)


@pytest.mark.parametrize("x,live", [
    (lease(), True), (lease("SIGNED"), True), (lease("ENDED"), False), (lease("DRAFT"), False),
    (lease(start=AS_OF + timedelta(days=1)), False), (lease(end=AS_OF - timedelta(days=1)), False),
    (lease(end=AS_OF), True), (lease(ended_at=NOW - timedelta(days=3)), False),
])
def test_live_leases(x, live):
    assert (live_leases([x], AS_OF) == [x]) is live


@pytest.mark.parametrize("x,ended", [
    (lease("ENDED", end=AS_OF - timedelta(days=5)), [AS_OF - timedelta(days=5)]),
    (lease("ENDED", end=AS_OF - timedelta(days=2)), []),  # within the grace period
    (lease("ENDED", end=AS_OF - timedelta(days=91)), []),  # history
    (lease("TERMINATED", end=AS_OF + timedelta(days=30), ended_at=datetime(2026, 10, 20, 2, tzinfo=UTC)),
     [date(2026, 10, 20)]),  # ended early: ended_at wins over end_date
])
def test_recently_ended(x, ended):
    assert recently_ended([x], AS_OF, SH, 2) == ended


def window(days=30):
    d0 = day_number(AS_OF)
    return tuple(range(d0 - days + 1, d0 + 1))


def test_occupancy_series_door_alive_only_on_the_last_day_from_last_seen():
    w = window(3)
    quiet_door = DayFacts(elec_kwh=0.2, elec_hours=24, water_hours=24)  # no door messages on any day
    facts = {d: quiet_door for d in w}
    series = occupancy_series(facts, ALL_KINDS, w, now=NOW, p=P)
    assert [s for s, _ in series] == [Occupancy.VACANT_LIKE] * 3
    assert [e["reporting"] for _, e in series] == [["electricity", "water"]] * 2 + [["electricity", "water", "door"]]
    stale = UnitDevices(ALL_KINDS.kinds, NOW - timedelta(hours=26))  # door silent past the offline timeout
    assert "door" not in occupancy_series(facts, stale, w, now=NOW, p=P)[-1][1]["reporting"]


def test_meter_means_need_enough_baseline_days():
    d0 = day_number(AS_OF)
    recent = {d: LIVED for d in range(d0 - 6, d0 + 1)}
    before = {d: EMPTY for d in range(d0 - 6 - OWN_BASELINE_MIN_DAYS, d0 - 6)}
    r, own = meter_means({**recent, **before}, d0, P)
    assert r == {"electricity": 5, "water": pytest.approx(0.1)} and own == {"electricity": 0.2, "water": 0}
    _, none = meter_means({**recent, **dict(list(before.items())[1:])}, d0, P)
    assert none == {"electricity": None, "water": None}


@pytest.mark.parametrize("size,expect", [
    (3, 2.0),  # small cohort: the unit itself (10.0) is left out → median of 1, 2, 3 without it
    (SMALL_COHORT_SIZE, None),  # large cohort: everyone counts
])
def test_cohort_leaves_the_unit_out_only_when_small(size, expect):
    members = [(unit("OCCUPIED", uid=n), {"electricity": float(n)}, True) for n in range(1, size + 1)]
    me = unit("OCCUPIED", uid=100)
    members.append((me, {"electricity": 10.0}, True))
    members.append((unit("VACANT", uid=200), {"electricity": 0.0}, False))  # vacant units never count
    cohort = Cohort.of(members)
    got = cohort.medians_for(me, {"electricity": 10.0})["electricity"]
    values = sorted([float(n) for n in range(1, size + 1)] + [10.0])
    mid = len(values) // 2
    full_median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    assert got == (expect if expect is not None else full_median)


def day(u, series, *, live=(), ended=(), busy=False, recent=None, own=None, cohort=None, rhythms=()):
    w = window(len(series))
    return UnitDay(u, w, tuple(series), tuple(live), tuple(ended), busy, recent or {}, own or {}, cohort or {},
                   rhythms=tuple(rhythms))


def ev(opens=0, night=0, busy_hours=0, reason="r"):
    return {"electricity_kwh": 1, "water_m3": 0, "door_opens": opens, "night_opens": night,
            "busy_hours": busy_hours, "reason": reason}


OCC, VAC, UNK = Occupancy.OCCUPIED_LIKE, Occupancy.VACANT_LIKE, Occupancy.UNKNOWN


@pytest.mark.parametrize("status,today,live,ended,busy,expect", [
    ("VACANT", (OCC, ev()), (), (), False, [IotAlert.UNEXPECTED_ACTIVITY]),
    ("VACANT", (UNK, ev(night=1)), (), (), False, [IotAlert.UNEXPECTED_ACTIVITY]),
    ("VACANT", (UNK, ev(busy_hours=UNEXPECTED_BUSY_HOURS)), (), (), False, [IotAlert.UNEXPECTED_ACTIVITY]),
    ("VACANT", (UNK, ev(busy_hours=UNEXPECTED_BUSY_HOURS - 1)), (), (), False, []),
    ("VACANT", (OCC, ev()), (), (), True, []),  # on-site work explains it
    ("VACANT", (OCC, ev()), (), (AS_OF - timedelta(days=5),), False, [IotAlert.ACTIVITY_AFTER_LEASE_END]),
    ("OCCUPIED", (OCC, ev()), (), (AS_OF - timedelta(days=5),), False, [IotAlert.ACTIVITY_AFTER_LEASE_END]),
    ("OCCUPIED", (OCC, ev()), (), (), False, []),
    ("MOVE_OUT_PENDING", (OCC, ev()), (), (), False, []),
])
def test_activity_rules(status, today, live, ended, busy, expect):
    found = unit_conditions(day(unit(status), [(VAC, ev())] * 29 + [today], live=live, ended=ended, busy=busy), P)
    assert [c.alert_type for c in found] == expect


def test_no_activity_after_the_configured_days_only():
    occupied, lived = unit("OCCUPIED"), [lease()]
    quiet = [(VAC, ev())] * P.no_activity_days
    assert [c.alert_type for c in unit_conditions(day(occupied, [(OCC, ev())] + quiet, live=lived), P)] == \
        [IotAlert.NO_ACTIVITY]
    assert unit_conditions(day(occupied, [(OCC, ev())] * 2 + quiet[1:], live=lived), P) == []


@pytest.mark.parametrize("recent,own,cohort,series,expect", [
    ({"electricity": 10.0}, {"electricity": 4.0}, {"electricity": 4.0}, [(OCC, ev())] * 30, True),  # strong
    ({"electricity": 7.0}, {"electricity": 4.0}, {"electricity": 4.0}, [(OCC, ev())] * 30, False),  # not 2×
    ({"electricity": 17.0}, {}, {"electricity": 4.0}, [(OCC, ev())] * 30, False),  # supporting alone: 0.25
    ({}, {}, {}, [(OCC, ev())] * 30, True),  # short-let turnover: stays of 2 nights, a cleaning between
])
def test_sublet_suspicion(recent, own, cohort, series, expect):
    rhythms = [Rhythm.STAY, Rhythm.STAY, Rhythm.CLEANING] * 10 if not recent else [Rhythm.STAY] * 30
    found = unit_conditions(day(unit("OCCUPIED"), series, live=[lease()], recent=recent, own=own, cohort=cohort,
                                rhythms=rhythms), P)
    assert (IotAlert.SUSPECTED_SUBLET in [c.alert_type for c in found]) is expect


D0 = day_number(AS_OF)


def episode(visit=Visit.NONE, scores=(), baseline=None):
    """An open episode; ``scores`` are the judged scores of the days just before D0, newest last."""
    return SubletEpisode(1, D0 - 20, baseline or {}, {D0 - len(scores) + i: x for i, x in enumerate(scores)},
                         visit)


@pytest.mark.parametrize("case,score,ep,holds", [
    ("new: below the threshold", 0.55, None, False),
    ("new: at the threshold", 0.6, None, True),
    ("open: wavering just under the threshold holds", 0.55, episode(), True),
    ("open: above the clear level holds", 0.31, episode(scores=(0.1, 0.1)), True),
    ("open: low today and the two days before: clears", 0.1, episode(scores=(0.1, 0.2)), False),
    ("open: low today, one day before high", 0.1, episode(scores=(0.7, 0.1)), True),
    ("open: low today, a day without a judged score breaks the run", 0.1, episode(scores=(0.1,)), True),
    ("open: low, but the visit is pending", 0.0, episode(Visit.PENDING, (0.0, 0.0)), True),
    ("open: low, and the visit confirmed it", 0.0, episode(Visit.CONFIRMED, (0.0, 0.0)), True),
])
def test_sublet_hysteresis(case, score, ep, holds):
    assert (sublet_holds(score, ep, D0, P) is not None) is holds, case


@pytest.mark.parametrize("status,result,visit", [
    (None, None, Visit.NONE),
    (WorkOrderStatus.CANCELLED, None, Visit.NONE),
    (WorkOrderStatus.ASSIGNED, None, Visit.PENDING),
    (WorkOrderStatus.DONE, None, Visit.PENDING),  # done but no result recorded: still waiting
    (WorkOrderStatus.DONE, VisitResult.CONFIRMED, Visit.CONFIRMED),
    (WorkOrderStatus.DONE, VisitResult.NOT_CONFIRMED, Visit.NONE),
])
def test_visit_state(status, result, visit):
    assert visit_state(status, result) is visit


def test_baseline_excludes_days_under_suspicion_and_falls_back_to_the_frozen_one():
    normal = DayFacts(elec_kwh=4, elec_hours=24)
    heavy = DayFacts(elec_kwh=12, elec_hours=24)
    # 10 ordinary days, then 20 heavy ones: the median of the days before the window is heavy by now
    facts = {D0 - 29 + i: (normal if i < 10 else heavy) for i in range(30)}
    assert meter_means(facts, D0, P)[1]["electricity"] == 12
    suspicion = SubletEpisode(1, D0 - 19, {"electricity": 4.0})
    recent, own = meter_means(facts, D0, P, episode=suspicion)
    assert recent["electricity"] == 12 and own["electricity"] == 4  # the 10 ordinary days
    long_ago = SubletEpisode(1, D0 - 40, {"electricity": 3.5})  # its ordinary days are out of the window read
    assert meter_means(facts, D0, P, episode=long_ago)[1]["electricity"] == 3.5
    # a visit found no sublet 5 days ago: the baseline counts from then (too few days yet: none)
    assert meter_means(facts, D0, P, since=D0 - 4)[1]["electricity"] is None


def test_a_sustained_suspicion_keeps_its_baseline_and_its_memory():
    u = unit("OCCUPIED")
    ep = SubletEpisode(7, D0 - 30, {"electricity": 4.0}, {D0 - 1: 0.7}, Visit.NONE)
    found = unit_conditions(UnitDay(u, window(30), tuple([(OCC, ev())] * 30), (lease(),), (), False,
                                    {"electricity": 12.0}, {"electricity": 4.0}, {"electricity": 4.0},
                                    episode=ep), P)
    c = next(c for c in found if c.alert_type == IotAlert.SUSPECTED_SUBLET)
    memory = c.evidence["episode"]
    assert memory["start"] == day_of(D0 - 30).isoformat() and memory["baseline"] == {"electricity": 4.0}
    assert memory["scores"] == {day_of(D0 - 1).isoformat(): 0.7, day_of(D0).isoformat(): 0.7}
    back = episode_of(7, D0 - 5, c.evidence, Visit.PENDING, P.sublet_window_days)
    assert back == SubletEpisode(7, D0 - 30, {"electricity": 4.0}, {D0 - 1: 0.7, D0: 0.7}, Visit.PENDING)
    # an alert from before the memory existed starts at the window that raised it
    assert episode_of(7, D0 - 5, {}, Visit.NONE, 7).start == D0 - 11


T = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
DOOR_TIMEOUT = timedelta(hours=25)
BEAT = timedelta(minutes=15)  # 3 × the Tasmota TelePeriod of 300 s


@pytest.mark.parametrize("case,kind,fmt,seen_h,online,available,beat_min,grace_min,offline", [
    ("Zigbee door quiet for 30 h, availability online: alive", "DOOR", "ZIGBEE2MQTT", 30, True, True, None, 0,
     None),
    ("Zigbee door quiet for 30 h, no availability (disabled in Z2M): silence decides", "DOOR", "ZIGBEE2MQTT", 30,
     True, None, None, 0, "silent since"),
    ("Zigbee door, availability offline", "DOOR", "ZIGBEE2MQTT", 1, False, False, None, 0,
     "reported itself offline"),
    ("offline availability within the grace", "DOOR", "ZIGBEE2MQTT", 1, False, False, None, 10, None),
    ("Tasmota switch quiet for 30 h, heartbeats 5 min ago", "DOOR", "TASMOTA", 30, True, True, 5, 0, None),
    ("Tasmota switch, heartbeats stopped 20 min ago (LWT still online)", "DOOR", "TASMOTA", 30, True, True, 20, 0,
     "heartbeats stopped"),
    ("Tasmota switch, heartbeats not routed, LWT online", "DOOR", "TASMOTA", 30, True, True, None, 0, None),
    ("Tasmota switch, LWT Offline", "DOOR", "TASMOTA", 1, False, False, 2, 0, "reported itself offline"),
    ("Shelly Gen1 door/window: its online says nothing (it sleeps)", "DOOR", "SHELLY_GEN1", 30, True, True, None, 0,
     "silent since"),
    ("generic door with a last will online", "DOOR", "GENERIC", 30, True, True, None, 0, None),
    ("generic door without availability", "DOOR", "GENERIC", 30, True, None, None, 0, "silent since"),
    ("a meter reports periodically: availability does not excuse silence", "ELECTRICITY", "TASMOTA", 2, True, True,
     5, 0, "silent since"),
    ("wM-Bus meter: silence only", "WATER", "WMBUS", 2, None, None, None, 0, None),
])
def test_offline_per_kind_and_format(case, kind, fmt, seen_h, online, available, beat_min, grace_min, offline):
    timeout = DOOR_TIMEOUT if kind == "DOOR" else timedelta(minutes=15 if kind == "ELECTRICITY" else 180)
    reason = offline_because(
        now=T, timeout=timeout, last_seen=T - timedelta(hours=seen_h), online=online, installed_at=None,
        registered_at=T - timedelta(days=60), kind=kind, fmt=fmt, available=available,
        available_at=T - timedelta(minutes=5),
        heartbeat_at=None if beat_min is None else T - timedelta(minutes=beat_min),
        heartbeat_timeout=BEAT if FORMAT_LIVENESS[DeviceFormat(fmt)].heartbeat else None,
        grace=timedelta(minutes=grace_min))
    assert (reason is None) if offline is None else (reason or "").startswith(offline), (case, reason)


KWH_H, M3_H = 0.15, 0.005  # the vacant hourly baselines (settings' defaults)


def day_of_hours(*, evening=True, night_door=False, cleaning=None, checkout_morning=False, lived_day=True):
    """A synthetic day of 24 hours. ``cleaning``: (first hour, hours) of a cleaner's water + door burst."""
    out = []
    for h in range(24):
        kwh, m3, opens = 0.02, 0.0, 0
        if lived_day and (7 <= h < 9):
            kwh, m3 = 0.4, 0.02
        if evening and 18 <= h < 23:
            kwh, m3 = 0.5, 0.01
        if evening and h == 19:
            opens = 1
        if night_door and h == 2:
            opens = 1
        if checkout_morning and 7 <= h < 11:
            kwh, m3, opens = 0.4, 0.02, int(h == 10)
        if cleaning and cleaning[0] <= h < cleaning[0] + cleaning[1]:
            kwh, m3, opens = 0.3, 0.05, int(h == cleaning[0])
        out.append(HourActivity(h, kwh, m3, opens))
    return out


def rhythm_of(day_hours):
    return day_rhythm(facts_from_hours(day_hours, kwh_per_hour=KWH_H, m3_per_hour=M3_H), P.thresholds)


@pytest.mark.parametrize("case,day_hours,expect", [
    ("a tenant's working day: morning, out, evening at home", day_of_hours(), Rhythm.STAY),
    ("home after midnight: the door at 2 h", day_of_hours(evening=False, night_door=True), Rhythm.STAY),
    ("a changeover: a cleaner 12-14 h, nobody in the evening", day_of_hours(evening=False, lived_day=False,
                                                                     cleaning=(12, 3)), Rhythm.CLEANING),
    ("check-out morning and a cleaner, nobody in the evening", day_of_hours(evening=False, lived_day=False,
                                                                      checkout_morning=True, cleaning=(12, 2)),
     Rhythm.DAYTIME),
    ("a tenant with a weekly cleaner by day: still a stay", day_of_hours(cleaning=(10, 2)), Rhythm.STAY),
    ("nobody", day_of_hours(evening=False, lived_day=False), Rhythm.EMPTY),
    ("too few hours reported", day_of_hours()[:6], Rhythm.UNKNOWN),
])
def test_day_rhythm_from_hourly_series(case, day_hours, expect):
    assert rhythm_of(day_hours) is expect, case


S, C, D, E, U = Rhythm.STAY, Rhythm.CLEANING, Rhythm.DAYTIME, Rhythm.EMPTY, Rhythm.UNKNOWN


@pytest.mark.parametrize("case,rhythms,expect", [
    ("an ordinary tenant", [S] * 30, (0, 0)),
    ("short lets: 2-3 nights, a cleaning day between", ([S, S, C] + [S, S, S, C]) * 4, (7, 7)),
    ("short lets with same-evening arrivals after a check-out day", [S, S, D, S, S, S, D, S, S, D, S], (3, 0)),
    ("a weekend away now and then", [S] * 12 + [E, E] + [S] * 12, (1, 0)),
    ("a business trip of a week is no changeover", [S] * 5 + [E] * 7 + [S] * 5, (0, 0)),
    ("a day without data breaks the pattern", [S, C, S, U, S, E, U, S], (1, 1)),
    ("gaps before the first stay do not count", [C, E, S, S, C, S], (1, 1)),
])
def test_changeovers(case, rhythms, expect):
    assert changeovers(rhythms) == expect, case


def test_short_lets_with_cleanings_score_as_turnover_from_their_hours():
    stay, changeover = day_of_hours(), day_of_hours(evening=False, lived_day=False, cleaning=(11, 3))
    pattern = ([stay, stay, changeover] * 10)[:30]
    rhythms = [rhythm_of(d) for d in pattern]
    # every day has activity: whole-day occupancy calls the changeover days occupied too (no "empty" day)
    facts = [facts_from_hours(d, kwh_per_hour=KWH_H, m3_per_hour=M3_H) for d in pattern]
    assert all(f.door_opens > 0 and f.water_m3 > P.thresholds.vacant_m3_per_day for f in facts)
    found = unit_conditions(day(unit("OCCUPIED"), [(OCC, ev())] * 30, live=[lease()], rhythms=rhythms), P)
    sublet = [c for c in found if c.alert_type == IotAlert.SUSPECTED_SUBLET]
    assert sublet and "guest changes" in sublet[0].evidence["reasons"][0]
    ordinary = unit_conditions(day(unit("OCCUPIED"), [(OCC, ev())] * 30, live=[lease()],
                                   rhythms=[rhythm_of(stay)] * 30), P)
    assert not [c for c in ordinary if c.alert_type == IotAlert.SUSPECTED_SUBLET]
