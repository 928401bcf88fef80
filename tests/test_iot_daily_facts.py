"""The daily facts (iot.daily_facts) detection reads equal the aggregate recomputed from the roll-ups, whatever
wrote the roll-ups since the facts were built: ingest of late and replayed messages, writes by hand, deletes,
a device moved to another unit, a window that moves on, changed settings. Only the changed days are aggregated
again."""

from __future__ import annotations

import importlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest

from config.settings import Settings
from core import sql
from iot import daily_facts
from iot.choices import DeviceKind
from iot.daily_facts import day_statement, read_statement, refresh
from iot.detection import sql_conn
from iot.ingest import Ingestor, RawMessage
from iot.rules import day_number
from models.iot import DailyFactDay, HourlyRollup
from tests.test_iot_detection import AS_OF, SH, days_back, devices_for, fill, local_hour, tenanted

FIRST = AS_OF - timedelta(days=9)


async def facts(settings: Settings, first: date = FIRST, last: date = AS_OF) -> dict:
    """What detection reads after bringing the facts up to date: (unit, day) → the aggregate's columns."""
    (basis,) = await refresh([(SH, None)], first, last, settings)
    return rows_of(await sql.execute(sql_conn(), *read_statement(basis, first, last)))


async def recomputed(settings: Settings, first: date = FIRST, last: date = AS_OF) -> dict:
    """The aggregate straight from the roll-ups, over the whole window at once."""
    return rows_of(await sql.execute(sql_conn(), *day_statement(None, SH, first, last, settings)))


def rows_of(rows) -> dict:
    return {(row[0], int(row[1])): tuple(round(v, 9) if isinstance(v, float) else v for v in list(row)[2:])
            for row in rows}


def message(device, at: datetime, **values) -> RawMessage:
    payload = json.dumps({"ts": at.isoformat(), **values}).encode()
    return RawMessage(topic=f"rentwatch/devices/{device.external_id}", payload=payload, received_at=at)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SH).astimezone(UTC)


async def late_meter_readings(w, settings):
    """A gateway replays a meter's readings of five days ago, after the facts were built."""
    ing, meter = Ingestor(settings), w["ingest"][DeviceKind.ELECTRICITY]
    day = AS_OF - timedelta(days=5)
    await ing.process([message(meter, at(AS_OF, 20), energy_kwh=50.0)])
    await ing.process([message(meter, at(day, h), energy_kwh=10.0 + h * 0.4) for h in (6, 9, 13, 22)])


async def replayed_messages(w, settings):
    """The same batch delivered twice (QoS 1 after a reconnect), then again by a restarted consumer."""
    meter, door = w["ingest"][DeviceKind.ELECTRICITY], w["ingest"][DeviceKind.DOOR]
    day = AS_OF - timedelta(days=2)
    batch = [message(meter, at(day, h), energy_kwh=20.0 + h * 0.3) for h in range(0, 24, 3)] + \
        [message(door, at(day, h, 5), door="open" if h % 2 else "closed") for h in range(7, 23, 2)]
    ing = Ingestor(settings)
    await ing.process(batch)
    await ing.process(batch)
    await Ingestor(settings).process(batch[::-1])


async def late_door_event(w, settings):
    """A door opening back-filled between readings already stored (the next event becomes redundant)."""
    door = w["ingest"][DeviceKind.DOOR]
    day = AS_OF - timedelta(days=3)
    ing = Ingestor(settings)
    await ing.process([message(door, at(day, 8), door="closed"), message(door, at(day, 19), door="open"),
                       message(door, at(day, 21), door="open")])
    await ing.process([message(door, at(day, 2), door="open")])  # replayed late, across the local midnight


async def rollups_by_hand(w, settings):
    """Roll-ups written around ingest (a correction, an import): an upsert and new rows on old days."""
    devs = w["lived"]
    await HourlyRollup.filter(device_id=devs[DeviceKind.WATER].id,
                              hour_ts=local_hour(AS_OF - timedelta(days=7), 20)).update(value=0.5, messages=3)
    await HourlyRollup.create(device_id=devs[DeviceKind.DOOR].id, unit_id=w["lived_unit"].id, kind=DeviceKind.DOOR,
                              hour_ts=local_hour(AS_OF - timedelta(days=6), 4), value=2.0, messages=2)


async def rollups_deleted(w, settings):
    await HourlyRollup.filter(unit_id=w["empty_unit"].id, hour_ts__lt=local_hour(AS_OF - timedelta(days=4), 12),
                              hour_ts__gte=local_hour(AS_OF - timedelta(days=6), 0)).delete()


async def device_moved(w, settings):
    """A meter's roll-ups re-assigned to another unit (it was registered to the wrong one)."""
    meter = w["lived"][DeviceKind.ELECTRICITY]
    await HourlyRollup.filter(device_id=meter.id).update(unit_id=w["empty_unit"].id)


#: (name, the change, how many local days it may touch at most: each UTC day written overlaps two local ones)
CASES: list[tuple[str, Callable[..., Awaitable[None]], int]] = [
    ("late meter readings", late_meter_readings, 5),
    ("replayed messages", replayed_messages, 3),
    ("late door event", late_door_event, 3),
    ("roll-ups by hand", rollups_by_hand, 4),
    ("roll-ups deleted", rollups_deleted, 5),
    ("device moved", device_moved, 10),
]


async def small_world(world) -> dict:
    lived_unit = await tenanted(world.a.building, "DF-1")
    empty_unit = await tenanted(world.a.building, "DF-2")
    ingest_unit = await tenanted(world.a.building, "DF-3")
    lived = await devices_for(lived_unit, "df1")
    empty = await devices_for(empty_unit, "df2")
    ingest = await devices_for(ingest_unit, "df3", (DeviceKind.DOOR, DeviceKind.ELECTRICITY))
    await fill(lived_unit, lived, days_back(12), "night")
    await fill(empty_unit, empty, days_back(12), "empty")
    return {"lived_unit": lived_unit, "empty_unit": empty_unit, "lived": lived, "ingest": ingest}


@pytest.mark.parametrize(("change", "touched"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_facts_equal_the_aggregate_after(change, touched, world, settings):
    w = await small_world(world)
    before = await facts(settings)
    assert before == await recomputed(settings)
    assert len({unit for unit, _ in before}) == 2
    marks = {r.day: r.id for r in await DailyFactDay.all()}
    await change(w, settings)
    after = await facts(settings)
    assert after == await recomputed(settings)
    assert after != before  # the case changed something the facts show
    # only the days the change touched were aggregated again: the others kept their completeness marks
    kept = {r.day: r.id for r in await DailyFactDay.all()}
    assert len(kept) == len(marks)
    assert 0 < sum(kept[d] != marks[d] for d in marks) <= touched


async def test_facts_follow_a_moving_window_and_changed_settings(world, settings):
    w = await small_world(world)
    assert await facts(settings) == await recomputed(settings)
    # a late reading into the day after the window, then the window moves on to it
    later = AS_OF + timedelta(days=1)
    await HourlyRollup.create(device_id=w["lived"][DeviceKind.WATER].id, unit_id=w["lived_unit"].id,
                              kind=DeviceKind.WATER, hour_ts=local_hour(later, 9), value=0.2, messages=1)
    moved = (FIRST + timedelta(days=1), later)
    assert await facts(settings, *moved) == await recomputed(settings, *moved)
    # other night hours and thresholds: another basis, aggregated afresh
    changed = settings.model_copy(update={"iot_night_hours": (1, 5), "iot_vacant_kwh_per_hour": 0.2})
    assert await facts(changed) == await recomputed(changed)
    assert await facts(changed) != await facts(settings)
    # the facts of other days are kept within the retention only
    far = AS_OF + timedelta(days=daily_facts.RETAIN_DAYS + 40)
    await facts(settings, far - timedelta(days=1), far)
    assert min(await DailyFactDay.all().values_list("day", flat=True)) >= day_number(far) - 1 - daily_facts.RETAIN_DAYS


def test_the_migration_installs_the_triggers_written_here():
    migration = importlib.import_module("models.migrations.0021_daily_facts")
    assert migration.POSTGRES_INSTALL == daily_facts.POSTGRES_INSTALL
    assert migration.SQLITE_INSTALL == daily_facts.SQLITE_INSTALL
    assert migration.POSTGRES_REMOVE == daily_facts.POSTGRES_REMOVE
    assert migration.SQLITE_REMOVE == daily_facts.SQLITE_REMOVE
