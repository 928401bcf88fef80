"""Readings, occupancy inference and alerts for a unit, so its page has charts to draw (browser tests, bench)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from iot.choices import DeviceFormat, DeviceKind, Occupancy
from models.iot import Device, HourlyRollup, OccupancyDay

SH = ZoneInfo("Asia/Shanghai")


def daily_kwh(n: int) -> float:
    """Day n (0 = today): a tenant's pattern, heavier at weekends-ish, exact to 0.25 kWh."""
    return 4.0 + (n % 7) * 0.5


async def seed_readings(unit, now: datetime, days: int) -> dict[str, list[float]]:
    """``days`` of hourly roll-ups (electricity, water, door) ending today; returns the expected daily values,
    oldest first, as the chart should show them."""
    devices = {}
    for kind in (DeviceKind.ELECTRICITY, DeviceKind.WATER, DeviceKind.DOOR):
        devices[kind], _ = await Device.get_or_create(format=DeviceFormat.GENERIC, external_id=f"{unit.code}-{kind}",
                                                      defaults={"kind": kind, "unit_id": unit.id,
                                                                "building_id": unit.building_id})
    today = now.astimezone(SH).date()
    rows: list[Any] = []
    expected: dict[str, list[Any]] = {"ELECTRICITY": [], "WATER": [], "DOOR": []}
    for n in range(days - 1, -1, -1):
        day = today - timedelta(days=n)
        start = int(datetime.combine(day, time(0), tzinfo=SH).timestamp()) // 3600
        hours = 24 if n else max(1, now.astimezone(SH).hour)
        kwh, water, doors = daily_kwh(n), 0.2, (n % 4) + 1
        for h in range(hours):
            rows.append(HourlyRollup(device_id=devices[DeviceKind.ELECTRICITY].id, unit_id=unit.id,
                                     kind=DeviceKind.ELECTRICITY, hour_ts=start + h, value=kwh / hours, messages=12))
            rows.append(HourlyRollup(device_id=devices[DeviceKind.WATER].id, unit_id=unit.id, kind=DeviceKind.WATER,
                                     hour_ts=start + h, value=water / hours, messages=1))
        for h in range(doors):
            rows.append(HourlyRollup(device_id=devices[DeviceKind.DOOR].id, unit_id=unit.id, kind=DeviceKind.DOOR,
                                     hour_ts=start + 8 + h, value=1, messages=2))
        expected["ELECTRICITY"].append(round(kwh, 4))
        expected["WATER"].append(round(water, 4))
        expected["DOOR"].append(float(doors))
    await HourlyRollup.bulk_create(rows, batch_size=2000)
    return expected


async def seed_occupancy(unit, today: date, days: int) -> None:
    rows = [OccupancyDay(unit_id=unit.id, day=today - timedelta(days=n),
                         state=Occupancy.VACANT_LIKE if n > days // 2 else Occupancy.OCCUPIED_LIKE, evidence={})
            for n in range(1, days)]
    await OccupancyDay.bulk_create(rows)
