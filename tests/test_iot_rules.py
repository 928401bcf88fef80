"""The IoT rules (iot/rules.py) as tables of cases: no database, no broker, no clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from iot.choices import DeviceKind, IotAlert, Occupancy
from iot.occupancy import DayFacts
from iot.rules import (
    OWN_BASELINE_MIN_DAYS,
    SMALL_COHORT_SIZE,
    UNEXPECTED_BUSY_HOURS,
    Cohort,
    DailyParams,
    DoorOpened,
    HourRow,
    LeaseInfo,
    UnitDay,
    UnitDevices,
    UnitInfo,
    day_number,
    door_open_conditions,
    live_leases,
    meter_means,
    moveout_quiet,
    occupancy_series,
    recently_ended,
    turnover_switches,
    unit_conditions,
)

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


def test_turnover_switches():
    o, v, u = Occupancy.OCCUPIED_LIKE, Occupancy.VACANT_LIKE, Occupancy.UNKNOWN
    assert turnover_switches([(s, {}) for s in [o, v, o, u, v, v, o]]) == 3


def day(u, series, *, live=(), ended=(), busy=False, recent=None, own=None, cohort=None):
    w = window(len(series))
    return UnitDay(u, w, tuple(series), tuple(live), tuple(ended), busy, recent or {}, own or {}, cohort or {})


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
    ({}, {}, {}, [(OCC, ev()), (VAC, ev())] * 15, True),  # short-let turnover
])
def test_sublet_suspicion(recent, own, cohort, series, expect):
    found = unit_conditions(day(unit("OCCUPIED"), series, live=[lease()], recent=recent, own=own, cohort=cohort),
                            P)
    assert (IotAlert.SUSPECTED_SUBLET in [c.alert_type for c in found]) is expect
