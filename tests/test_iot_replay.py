"""Replay with an explicit clock: `detect_on_demand(..., replay=True)` (the CLI's --now, the admin endpoint's
"now") judges a past day with everything a live run would do, and refuses a now that would undo later judgements."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import Conflict, ValidationFailed
from iot.choices import DeviceFormat, DeviceKind, IotAlert
from iot.jobs import detect_on_demand
from iot.service import DeviceIn, register_device
from models.alerts import Alert
from models.iot import Device

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 10)  # long before the wall clock: by the wall clock this would be a raise-only re-run


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), SH).astimezone(UTC)


async def test_a_replayed_past_day_runs_in_full_with_its_sweep(world, settings):
    door, _ = await register_device(DeviceIn(external_id="rp-door", format=DeviceFormat.GENERIC,
                                             kind=DeviceKind.DOOR, unit_code=world.a.unit.code), None)
    await Device.filter(id=door.id).update(last_seen=local(DAY, 0) - timedelta(hours=30), created_at=local(DAY, 0)
                                           - timedelta(days=5))
    by_wall_clock = await detect_on_demand(DAY, settings, datetime.now(UTC))
    assert by_wall_clock["raise_only"] is True and "sweep" not in by_wall_clock
    stats = await detect_on_demand(DAY, settings, local(DAY + timedelta(days=1), 1), replay=True)
    assert "raise_only" not in stats and stats["sweep"]["offline"] == 1  # judged by the replay's clock
    alert = await Alert.get(type=IotAlert.DEVICE_OFFLINE, subject=f"device:{door.id}")
    assert alert.first_seen <= local(DAY + timedelta(days=1), 0)
    # the same day again at the same time: idempotent, allowed
    await detect_on_demand(DAY, settings, local(DAY + timedelta(days=1), 1), replay=True)
    # the next day in order: allowed
    await detect_on_demand(DAY + timedelta(days=1), settings, local(DAY + timedelta(days=2), 1), replay=True)


async def test_a_replay_refuses_a_now_that_would_undo_later_judgements(world, settings):
    await detect_on_demand(DAY + timedelta(days=3), settings, local(DAY + timedelta(days=4), 1), replay=True)
    with pytest.raises(Conflict) as refused:
        await detect_on_demand(DAY, settings, local(DAY + timedelta(days=1), 1), replay=True)
    assert refused.value.code == "ALREADY_JUDGED" and refused.value.details["latest_judged"] == "2026-03-13"
    with pytest.raises(ValidationFailed):  # the day is not over at that now
        await detect_on_demand(DAY + timedelta(days=5), settings, local(DAY + timedelta(days=5), 12), replay=True)


async def test_the_sweeper_on_a_replay_clock_judges_by_the_newest_device_time(world, settings):
    """`rentwatch consume --clock replay`: a back-log from March is swept as of March, not as of today."""
    import asyncio
    import json

    from iot.ingest import Ingestor, RawMessage
    from iot.jobs import run_sweeper
    from iot.runner import ReplayClock

    s = settings.model_copy(update={"iot_sweep_seconds": 0.05})
    ingestor = Ingestor(s)
    clock = ReplayClock(ingestor)
    assert not clock.ready
    speaking, _ = await register_device(DeviceIn(external_id="rp-a", format=DeviceFormat.GENERIC,
                                                 kind=DeviceKind.DOOR, unit_code=world.a.unit.code), None)
    silent, _ = await register_device(DeviceIn(external_id="rp-b", format=DeviceFormat.GENERIC,
                                               kind=DeviceKind.DOOR, unit_code=world.a.unit.code), None)
    at = local(DAY, 10)
    await Device.filter(id__in=[speaking.id, silent.id]).update(created_at=at - timedelta(days=3))
    await Device.filter(id=silent.id).update(last_seen=at - timedelta(hours=30))
    await ingestor.process([RawMessage("rentwatch/devices/rp-a", json.dumps(
        {"ts": at.isoformat(), "door": "closed"}).encode(), at + timedelta(seconds=1))])
    assert clock.ready and clock.now() == at

    stop = asyncio.Event()
    task = asyncio.create_task(run_sweeper(s, clock, stop))
    for _ in range(200):
        if await Alert.filter(type=IotAlert.DEVICE_OFFLINE).exists():
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    offline = await Alert.filter(type=IotAlert.DEVICE_OFFLINE).values_list("subject", flat=True)
    assert offline == [f"device:{silent.id}"]  # by the wall clock both would be months silent
