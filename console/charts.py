"""The unit page's reading chart as data (pure, table-tested): one point per local day for electricity, water
and door openings, the detection's occupancy inference as shaded day ranges, and alert onsets as marks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SERIES = (("ELECTRICITY", "用电 kWh"), ("WATER", "用水 m³"), ("DOOR", "开门次数"))


def day_axis(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def daily_values(points: list[dict], days: list[date], tz: ZoneInfo) -> list[float | None]:
    """reading_series points (``t`` = start of the local day) on the day axis; a day without data is None."""
    by_day: dict[date, float] = {}
    for point in points:
        day = datetime.fromisoformat(point["t"]).astimezone(tz).date()
        by_day[day] = round(by_day.get(day, 0.0) + float(point["value"]), 4)
    return [by_day.get(day) for day in days]


def occupancy_ranges(rows: list[tuple[date, str]], days: list[date]) -> list[dict]:
    """Consecutive days with the same inferred state → [{state, from, to}] (inclusive), within the axis."""
    known = {day: state for day, state in rows if days and days[0] <= day <= days[-1]}
    ranges: list[dict] = []
    for day in days:
        state = known.get(day)
        if state is None:
            continue
        last = ranges[-1] if ranges else None
        if last and last["state"] == state and date.fromisoformat(last["to"]) + timedelta(days=1) == day:
            last["to"] = day.isoformat()
        else:
            ranges.append({"state": state, "from": day.isoformat(), "to": day.isoformat()})
    return ranges


def alert_marks(alerts: list[dict], days: list[date], tz: ZoneInfo) -> list[dict]:
    """Alerts whose onset (first_seen) falls on the axis: [{day, type, label, severity}]."""
    marks = []
    for alert in alerts:
        day = alert["first_seen"].astimezone(tz).date()
        if days and days[0] <= day <= days[-1]:
            marks.append({"day": day.isoformat(), "type": alert["type"], "label": alert["label"],
                          "severity": alert["severity"], "id": alert["id"]})
    return sorted(marks, key=lambda m: (m["day"], m["id"]))


def chart_payload(series: dict, occupancy: list[tuple[date, str]], alerts: list[dict], *, first: date, last: date,
                  tz: ZoneInfo) -> dict:
    days = day_axis(first, last)
    return {
        "days": [d.isoformat() for d in days],
        "series": [{"key": key, "name": name, "data": daily_values(series.get(key, {}).get("points", []), days, tz)}
                   for key, name in SERIES],
        "occupancy": occupancy_ranges(occupancy, days),
        "alerts": alert_marks(alerts, days, tz),
    }
