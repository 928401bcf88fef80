"""Pure console functions, table-tested: money, local times, countdowns, list sorting, chart data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from console.charts import chart_payload, daily_values, occupancy_ranges
from console.formatting import countdown, duration_zh, local_date, local_dt, yuan, yuan_number
from console.lists import Column, order_by
from core.errors import ValidationFailed

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("fen", "text"), [(0, "¥0.00"), (5, "¥0.05"), (123456789, "¥1,234,567.89"),
                                           (-2000050, "-¥20,000.50"), (None, "—"), (100, "¥1.00")])
def test_yuan(fen, text):
    assert yuan(fen) == text


def test_yuan_number_is_exact():
    assert str(yuan_number(123456789)) == "1234567.89" and yuan_number(None) is None


@pytest.mark.parametrize(("value", "tz", "text"), [
    (datetime(2026, 11, 1, 16, 30, tzinfo=UTC), "Asia/Shanghai", "2026-11-02 00:30"),
    (datetime(2026, 11, 1, 16, 30, tzinfo=UTC), "Asia/Urumqi", "2026-11-01 22:30"),
    (None, "Asia/Shanghai", "—"),
])
def test_local_dt_in_the_buildings_zone(value, tz, text):
    assert local_dt(value, tz) == text


def test_local_date():
    assert local_date(datetime(2026, 11, 1, 16, 30, tzinfo=UTC), "Asia/Shanghai") == "2026-11-02"
    assert local_date(date(2026, 1, 2)) == "2026-01-02"


@pytest.mark.parametrize(("delta", "text"), [(timedelta(minutes=8), "8分钟"), (timedelta(hours=5, minutes=12),
                                                                              "5小时12分"),
                                             (timedelta(days=2, hours=3, minutes=59), "2天3小时")])
def test_duration(delta, text):
    assert duration_zh(delta) == text


@pytest.mark.parametrize(("due", "expected"), [
    (NOW + timedelta(hours=5), ("剩余 5小时0分", False)), (NOW - timedelta(days=1, hours=2), ("逾期 1天2小时", True)),
    (None, ("—", False))])
def test_countdown(due, expected):
    assert countdown(due, NOW) == expected


COLUMNS = [Column("code", "编号", sort="code"), Column("status", "状态", sort="status,code"), Column("name", "名称")]


@pytest.mark.parametrize(("sort", "expected"), [
    ("", ["building_id", "code"]), ("code", ["code", "building_id"]), ("-code", ["-code", "building_id"]),
    ("-status", ["-status", "-code", "building_id"])])
def test_order_by_whitelists_sortable_columns(sort, expected):
    assert order_by(COLUMNS, sort, ["building_id", "code"]) == expected


@pytest.mark.parametrize("sort", ["name", "password_hash", "-id"])
def test_order_by_refuses_the_rest(sort):
    with pytest.raises(ValidationFailed):
        order_by(COLUMNS, sort, ["code"])


def test_daily_values_place_local_days_and_leave_gaps():
    days = [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)]
    points = [{"t": "2026-10-29T16:00:00+00:00", "value": 1.5}, {"t": "2026-10-31T16:00:00+00:00", "value": 2.25}]
    assert daily_values(points, days, SH) == [1.5, None, 2.25]


def test_occupancy_ranges_merge_consecutive_days():
    days = [date(2026, 10, d) for d in range(1, 8)]
    rows = [(date(2026, 10, 1), "VACANT_LIKE"), (date(2026, 10, 2), "VACANT_LIKE"),
            (date(2026, 10, 3), "OCCUPIED_LIKE"), (date(2026, 10, 5), "OCCUPIED_LIKE"),
            (date(2026, 9, 30), "VACANT_LIKE")]
    assert occupancy_ranges(rows, days) == [
        {"state": "VACANT_LIKE", "from": "2026-10-01", "to": "2026-10-02"},
        {"state": "OCCUPIED_LIKE", "from": "2026-10-03", "to": "2026-10-03"},
        {"state": "OCCUPIED_LIKE", "from": "2026-10-05", "to": "2026-10-05"}]


def test_chart_payload_marks_alert_onsets_inside_the_window():
    alerts = [{"id": 1, "type": "SUSPECTED_SUBLET", "label": "疑似转租", "severity": "WARNING",
               "first_seen": datetime(2026, 10, 31, 17, 0, tzinfo=UTC)},
              {"id": 2, "type": "NO_ACTIVITY", "label": "x", "severity": "INFO",
               "first_seen": datetime(2026, 9, 1, tzinfo=UTC)}]
    payload = chart_payload({"DOOR": {"points": [{"t": "2026-10-31T16:00:00+00:00", "value": 4}]}}, [], alerts,
                            first=date(2026, 10, 30), last=date(2026, 11, 1), tz=SH)
    assert payload["days"] == ["2026-10-30", "2026-10-31", "2026-11-01"]
    assert [s["key"] for s in payload["series"]] == ["ELECTRICITY", "WATER", "DOOR"]
    assert payload["series"][2]["data"] == [None, None, 4.0] and payload["series"][0]["data"] == [None] * 3
    assert payload["alerts"] == [{"day": "2026-11-01", "type": "SUSPECTED_SUBLET", "label": "疑似转租",
                                  "severity": "WARNING", "id": 1}]
