"""Ingest on a real database: dedupe, door state changes, resets, spikes, back-fill, dead letters, commissioning."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from iot.choices import DeviceFormat, DeviceKind, IotAlert
from iot.ingest import Ingestor, RawMessage
from iot.service import DeviceIn, register_device
from models.alerts import Alert
from models.iot import CommissioningEntry, DeadLetter, Device, DoorEvent, HourlyRollup, MeterSample

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def msg(topic, payload, at=T0):
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return RawMessage(topic=topic, payload=payload, received_at=at)


async def device(settings, ext, kind, unit=None, fmt=DeviceFormat.GENERIC, **kw):
    d, _ = await register_device(DeviceIn(external_id=ext, format=fmt, kind=kind,
                                          unit_code=unit.code if unit else None, **kw), None)
    return d


async def hourly(device_id):
    return {r.hour_ts: r.value for r in await HourlyRollup.filter(device_id=device_id)}


async def test_meter_consumption_dedupe_reset_spike(world, settings):
    d = await device(settings, "em-1", DeviceKind.ELECTRICITY, world.a.occupied_unit)
    ing = Ingestor(settings)
    ts = [T0 + timedelta(minutes=15 * i) for i in range(8)]
    totals = [100.0, 100.5, 101.0, 101.0, 0.2, 9999.0, 0.6, 0.9]  # reset to ~0 at 4, spike at 5
    batch = [msg("rentwatch/devices/em-1", {"ts": t.isoformat(), "energy_kwh": v}, t)
             for t, v in zip(ts, totals, strict=True)]
    await ing.process(batch[:5])
    await ing.process(batch[3:])  # overlaps: QoS 1 duplicates
    samples = await MeterSample.filter(device_id=d.id).order_by("at")
    assert len(samples) == 8
    assert [s.flag for s in samples] == ["", "", "", "", "RESET", "SPIKE", "", ""]
    assert all(s.delta >= 0 for s in samples)
    # 0.5 + 0.5 + 0 + 0.2 (since reset) + 0 (spike excluded) + 0.4 + 0.3
    assert sum((await hourly(d.id)).values()) == __import__("pytest").approx(1.9)
    # a restarted consumer (fresh state from the database) sees the same messages again: nothing changes
    await Ingestor(settings).process(batch)
    assert await MeterSample.filter(device_id=d.id).count() == 8
    assert sum((await hourly(d.id)).values()) == __import__("pytest").approx(1.9)


async def test_backfill_lands_in_the_right_hour(world, settings):
    d = await device(settings, "wm-1", DeviceKind.WATER, world.a.occupied_unit, fmt=DeviceFormat.WMBUS)
    ing = Ingestor(settings)

    def tele(hours, total):
        t = T0 + timedelta(hours=hours)
        return msg("wmbusmeters/tap", {"id": "wm-1", "total_m3": total, "timestamp": t.isoformat()},
                   T0 + timedelta(hours=10))

    await ing.process([tele(0, 10.0), tele(6, 10.6)])
    await ing.process([tele(3, 10.1)])  # a gateway replaying an older telegram
    h0 = int(T0.timestamp()) // 3600
    rolled = await hourly(d.id)
    assert rolled[h0 + 3] == __import__("pytest").approx(0.1)
    assert rolled[h0 + 6] == __import__("pytest").approx(0.5)
    await ing.process([tele(3, 10.1)])  # repeated telegram
    assert await MeterSample.filter(device_id=d.id).count() == 3


async def test_door_only_changes_are_events_and_polarity(world, settings):
    d = await device(settings, "door_1", DeviceKind.DOOR, world.a.occupied_unit, fmt=DeviceFormat.ZIGBEE2MQTT)
    ing = Ingestor(settings)
    seq = [(0, b'{"contact":true}'), (1, b'{"contact":false}'), (2, b'{"contact":false,"battery":90}'),
           (3, b'{"contact":true}'), (4, b'{"contact":true,"battery":89}')]
    await ing.process([msg("zigbee2mqtt/door_1", p, T0 + timedelta(minutes=m)) for m, p in seq])
    events = await DoorEvent.filter(device_id=d.id).order_by("at")
    assert [e.is_open for e in events] == [False, True, False]
    assert sum((await hourly(d.id)).values()) == 1  # one opening
    d = await Device.get(id=d.id)
    assert d.battery == 89 and d.online is True and d.last_contact_open is False


async def test_tasmota_switch_invert(world, settings):
    d = await device(settings, "sw1", DeviceKind.DOOR, world.a.occupied_unit, fmt=DeviceFormat.TASMOTA, invert=True)
    await Ingestor(settings).process([msg("tele/sw1/SENSOR", '{"Switch1":"OFF"}')])
    assert [e.is_open for e in await DoorEvent.filter(device_id=d.id)] == [True]


async def test_bad_payloads_dead_lettered_unknown_devices_commissioned(world, settings):
    ing = Ingestor(settings)
    await ing.process([msg("rentwatch/devices/x", b"\x00\xffgarbage" * 500),
                       msg("zigbee2mqtt/new_sensor", {"contact": True}),
                       msg("zigbee2mqtt/new_sensor", {"contact": False}),
                       msg("zigbee2mqtt/bridge/state", "online")])
    dead = await DeadLetter.all()
    assert len(dead) == 1 and dead[0].topic == "rentwatch/devices/x"
    assert dead[0].payload_size == 4500 and len(dead[0].payload) < 4500
    entry = await CommissioningEntry.get(external_id="new_sensor")
    assert entry.message_count == 2 and entry.format == DeviceFormat.ZIGBEE2MQTT
    assert ing.stats["dead_letters"] == 1 and ing.stats["ignored"] == 1
    # registering the device removes it from the commissioning list
    await device(settings, "new_sensor", DeviceKind.DOOR, fmt=DeviceFormat.ZIGBEE2MQTT)
    assert not await CommissioningEntry.filter(external_id="new_sensor").exists()


async def test_door_open_while_vacant_is_instant_unless_work_in_progress(world, settings):
    vacant = world.a.units[2]  # VACANT in the world
    await device(settings, "door_v", DeviceKind.DOOR, vacant)
    ing = Ingestor(settings)
    await ing.process([msg("rentwatch/devices/door_v", {"ts": T0.isoformat(), "door": "open"})])
    await ing.process([msg("rentwatch/devices/door_v", {"ts": (T0 + timedelta(minutes=1)).isoformat(),
                                                       "door": "closed"}),
                       msg("rentwatch/devices/door_v", {"ts": (T0 + timedelta(minutes=5)).isoformat(),
                                                       "door": "open"})])
    alerts = await Alert.filter(type=IotAlert.DOOR_OPEN_WHILE_VACANT, unit_id=vacant.id)
    assert len(alerts) == 1 and alerts[0].count == 2 and alerts[0].status == "ACTIVE"
    # the occupied unit's door (PENDING_DELIVERY with an open cleaning order) does not alert
    await device(settings, "door_o", DeviceKind.DOOR, world.a.occupied_unit)
    await ing.process([msg("rentwatch/devices/door_o", {"door": "open"})])
    assert not await Alert.filter(type=IotAlert.DOOR_OPEN_WHILE_VACANT, unit_id=world.a.occupied_unit.id).exists()


async def test_battery_low_alert(world, settings):
    await device(settings, "door_b", DeviceKind.DOOR, world.a.unit)
    await Ingestor(settings).process([msg("rentwatch/devices/door_b", {"battery": 7})])
    alert = await Alert.get(type=IotAlert.BATTERY_LOW)
    assert alert.unit_id == world.a.unit.id and alert.evidence["battery"] == 7


async def test_two_consumers_sharing_devices_count_each_reading_once(world, settings):
    """Shared subscription: one device's messages are split between consumers. In locking mode each batch reads
    the device state from the (locked) device row, not from the consumer's own cache."""
    meter = await device(settings, "em-s", DeviceKind.ELECTRICITY, world.a.occupied_unit)
    door = await device(settings, "door-s", DeviceKind.DOOR, world.a.occupied_unit)
    a, b = Ingestor(settings, locking=True), Ingestor(settings, locking=True)

    def reading(i):
        at = (T0 + timedelta(minutes=i)).isoformat()
        return [msg("rentwatch/devices/em-s", {"ts": at, "energy_kwh": 10 + i * 0.1}),
                msg("rentwatch/devices/door-s", {"ts": at, "door": "open" if (i // 2) % 2 == 0 else "closed"})]

    # both caches are warm before the other one writes; b also gets readings older than a's newest (late)
    for ingestor, minutes in [(a, [0, 1]), (b, [2, 3]), (a, [6, 7]), (b, [4, 5]), (a, [8]), (b, [9])]:
        await ingestor.process([m for i in minutes for m in reading(i)])
    assert sum((await hourly(meter.id)).values()) == pytest.approx(0.9)
    assert await MeterSample.filter(device_id=meter.id).count() == 10
    # every change once, states alternating; b's late "open at 4" met a's "closed at 6, 7", which were repeats
    # against the state a had read (closed at 3) and are not kept: the change back is stored at 7, the newest
    # reading known to be closed (docs/iot.md, out-of-order door readings)
    events = await DoorEvent.filter(device_id=door.id).order_by("at").values_list("at", "is_open")
    assert events == [(T0 + timedelta(minutes=i), i in (0, 4, 8)) for i in (0, 2, 4, 7, 8)]
    assert sum((await hourly(door.id)).values()) == 3  # openings at 0, 4 and 8
    assert (await Device.get(id=meter.id)).last_total == pytest.approx(10.9)


async def test_backfilled_door_change_removes_the_event_it_makes_redundant(world, settings):
    d = await device(settings, "door_bf", DeviceKind.DOOR, world.a.occupied_unit)
    ing = Ingestor(settings)

    def door(minutes, state):
        return msg("rentwatch/devices/door_bf", {"ts": (T0 + timedelta(minutes=minutes)).isoformat(), "door": state})

    await ing.process([door(0, "closed"), door(5, "open"), door(9, "open")])
    await ing.process([door(3, "open")])  # replayed late: the door opened at 3, so 5 was no change
    events = await DoorEvent.filter(device_id=d.id).order_by("at").values_list("at", "is_open")
    assert events == [(T0, False), (T0 + timedelta(minutes=3), True)]
    assert sum((await hourly(d.id)).values()) == 1


# ---------------------------------------------------------------- availability and LWT (docs/iot.md, signs of life)
SILENT = T0 - timedelta(hours=30)  # the device's last real message


async def silent_device(settings, world, ext, kind, fmt, payload, topic):
    d = await device(settings, ext, kind, world.a.unit, fmt=fmt)
    await Ingestor(settings).process([msg(topic, payload, SILENT)])
    return d


def hour_messages(rollups, at):
    return {r.hour_ts: r.messages for r in rollups}.get(int(at.timestamp()) // 3600, 0)


@pytest.mark.parametrize("fmt,kind,ext,first_topic,first,topic,payload", [
    # verbatim from ../shared/reference/device-payloads.md
    (DeviceFormat.ZIGBEE2MQTT, DeviceKind.DOOR, "door_1", "zigbee2mqtt/door_1",
     '{"battery_low":false,"contact":false,"linkquality":21,"tamper":false}',
     "zigbee2mqtt/door_1/availability", '{"state":"offline"}'),
    (DeviceFormat.ZIGBEE2MQTT, DeviceKind.DOOR, "door_1", "zigbee2mqtt/door_1",
     '{"battery_low":false,"contact":false,"linkquality":21,"tamper":false}',
     "zigbee2mqtt/door_1/availability", "offline"),  # before Zigbee2MQTT 2.0
    (DeviceFormat.TASMOTA, DeviceKind.ELECTRICITY, "pow1", "tele/pow1/SENSOR",
     '{"Time":"2018-02-15T17:37:10","ENERGY":{"TotalStartTime":"2018-11-14T18:39:40","Total":6.294,"Yesterday":5.340,"Today":0.954,"Period":217,'
     '"Power":2635,"ApparentPower":2650,"ReactivePower":282,"Factor":0.99,"Voltage":227,"Current":11.661}}',
     "tele/pow1/LWT", "Offline"),
    (DeviceFormat.SHELLY_GEN2, DeviceKind.ELECTRICITY, "shellyplus1pm-a8032ab12345",
     "shellyplus1pm-a8032ab12345/events/rpc",
     '{"src":"shellyplus1pm-a8032ab12345","dst":"shellyplus1pm-a8032ab12345/events","method":"NotifyStatus",'
     '"params":{"ts":1661517419.12,"switch:0":{"id":0,"aenergy":{"by_minute":[0.000,0.000,0.000],'
     '"minute_ts":1661517419,"total":1520.337}}}}',
     "shellyplus1pm-a8032ab12345/online", "false"),
])
async def test_offline_availability_is_no_sign_of_life(world, settings, fmt, kind, ext, first_topic, first, topic,
                                                       payload):
    from iot.detection import device_health

    d = await silent_device(settings, world, ext, kind, fmt, first, first_topic)
    before = await Device.get(id=d.id)
    assert before.last_seen <= SILENT
    await Ingestor(settings).process([msg(topic, payload, T0)])
    stored = await Device.get(id=d.id)
    assert stored.online is False and stored.last_seen == before.last_seen  # offline at once, silent since
    assert hour_messages(await HourlyRollup.filter(device_id=d.id), T0) == 0  # not "reported" this hour
    await device_health(T0, settings)
    assert await Alert.filter(type=IotAlert.DEVICE_OFFLINE, unit_id=world.a.unit.id).exists()


async def test_retained_online_replayed_on_resubscribe_is_no_sign_of_life(world, settings):
    d = await silent_device(settings, world, "door_1", DeviceKind.DOOR, DeviceFormat.ZIGBEE2MQTT,
                            '{"contact":true,"linkquality":144}', "zigbee2mqtt/door_1")
    await Ingestor(settings).process([msg("zigbee2mqtt/door_1/availability", '{"state":"offline"}', SILENT)])
    replay = msg("zigbee2mqtt/door_1/availability", '{"state":"online"}', T0)
    replay.retain = True  # the broker replays the retained availability on every (re)subscribe
    await Ingestor(settings).process([replay])
    stored = await Device.get(id=d.id)
    assert stored.last_seen == SILENT and stored.online is False
    assert hour_messages(await HourlyRollup.filter(device_id=d.id), T0) == 0
    # published live (not a replay), "online" is news from the bridge
    await Ingestor(settings).process([msg("zigbee2mqtt/door_1/availability", '{"state":"online"}', T0)])
    stored = await Device.get(id=d.id)
    assert stored.last_seen == T0 and stored.online is True


# ------------------------------------------------------------------------ QoS 1 duplicates without device time
@pytest.mark.parametrize("gap_s,dup,total,stored", [
    (300, True, 5.0, False),  # redelivered (DUP): the same value again is the same message
    (30, False, 5.0, False),  # a repeat within a minute: a repeated telegram / publisher-side duplicate
    (300, False, 5.0, True),  # the next report of an idle meter, five minutes later: a sample
    (30, False, 5.1, True),  # a new value is always a sample
    (30, True, 5.1, True),
])
async def test_same_register_value_without_device_time_is_a_duplicate(world, settings, gap_s, dup, total, stored):
    d = await device(settings, "em-nt", DeviceKind.ELECTRICITY, world.a.occupied_unit)
    ing = Ingestor(settings)
    await ing.process([msg("rentwatch/devices/em-nt", {"energy_kwh": 5.0}, T0)])
    again = msg("rentwatch/devices/em-nt", {"energy_kwh": total}, T0 + timedelta(seconds=gap_s))
    again.dup = dup
    await ing.process([again])
    assert await MeterSample.filter(device_id=d.id).count() == (2 if stored else 1)
    assert ing.stats["duplicates"] == (0 if stored else 1)
    assert sum((await hourly(d.id)).values()) == pytest.approx(total - 5.0)


# --------------------------------------------------------------------------------- building timezone of devices
async def test_device_time_without_offset_is_read_in_the_devices_building_timezone(world, settings):
    world.a.building.timezone = "Asia/Urumqi"  # UTC+6, not the default Asia/Shanghai (UTC+8)
    await world.a.building.save(update_fields=["timezone"])
    here = await device(settings, "pow_u", DeviceKind.ELECTRICITY, world.a.occupied_unit, fmt=DeviceFormat.TASMOTA)
    elsewhere = await device(settings, "pow_s", DeviceKind.ELECTRICITY, world.b.occupied_unit,
                             fmt=DeviceFormat.TASMOTA)
    payload = '{"Time":"2018-02-15T17:37:10","ENERGY":{"Total":6.294,"Power":2635}}'
    await Ingestor(settings).process([msg("tele/pow_u/SENSOR", payload), msg("tele/pow_s/SENSOR", payload)])
    assert (await MeterSample.get(device_id=here.id)).at == datetime(2018, 2, 15, 11, 37, 10, tzinfo=UTC)
    b_zone = world.b.building.timezone or "Asia/Shanghai"
    from zoneinfo import ZoneInfo

    expected = datetime(2018, 2, 15, 17, 37, 10, tzinfo=ZoneInfo(b_zone))
    assert (await MeterSample.get(device_id=elsewhere.id)).at == expected
