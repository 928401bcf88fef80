"""Poison-proof ingest through a real broker: a message the database refuses (a trigger raising on one value — a
real database error, not a mock) among good ones is dead-lettered with its error and every good one is stored;
values the tables cannot hold never reach the database (adapter bounds)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from tortoise.connection import get_connection

from iot.adapters import MAX_EXTERNAL_ID_LENGTH, MAX_TOPIC_LENGTH, parse_message
from iot.choices import DeviceFormat, DeviceKind
from iot.service import DeviceIn, register_device
from models.iot import CommissioningEntry, DeadLetter, Device, MeterSample
from tests.support.db import on_postgres
from tests.test_iot_broker import Publisher, broker_url, forget_session, iot_settings, start_consumer, wait_until

__all__ = ["broker_url"]  # the fixture, shared with tests/test_iot_broker.py

T0 = datetime(2026, 11, 1, tzinfo=UTC)
POISON_TOTAL = 666.666


async def refuse_one_value() -> None:
    conn = get_connection("default")
    if on_postgres():
        await conn.execute_script(f"""
            CREATE FUNCTION rw_test_poison() RETURNS trigger AS $$
            BEGIN
              IF NEW.total = {POISON_TOTAL} THEN RAISE EXCEPTION 'poison value'; END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER rw_test_poison BEFORE INSERT ON iot_meter_samples
              FOR EACH ROW EXECUTE FUNCTION rw_test_poison();""")
    else:
        await conn.execute_script(f"""
            CREATE TRIGGER rw_test_poison BEFORE INSERT ON iot_meter_samples
            WHEN NEW.total = {POISON_TOTAL} BEGIN SELECT RAISE(ABORT, 'poison value'); END;""")


async def test_a_message_the_database_refuses_is_dead_lettered_and_the_rest_stored(db, settings, broker_url):
    url, _ = broker_url
    prefix = uuid.uuid4().hex[:10]
    s = iot_settings(settings, url, prefix, "3.1.1")
    devices = [(await register_device(DeviceIn(external_id=f"m{n}", format=DeviceFormat.GENERIC,
                                               kind=DeviceKind.ELECTRICITY), None))[0] for n in range(3)]
    await refuse_one_value()
    consumer, stop, task = await start_consumer(s)
    publisher = Publisher(url, f"rw-test-pub-{prefix}")
    try:
        expected = 0
        for i in range(1, 61):
            for n in range(3):
                total = POISON_TOTAL if (n, i) == (1, 30) else round(i * 0.5 + n, 3)
                publisher.publish(f"rwtest/{prefix}/m{n}", json.dumps(
                    {"ts": (T0 + timedelta(minutes=i)).isoformat(), "energy_kwh": total}).encode())
                expected += total != POISON_TOTAL

        async def stored() -> bool:
            return await MeterSample.filter(device_id__in=[d.id for d in devices]).count() >= expected

        await wait_until(stored, what="every good reading")
        await wait_until(lambda: DeadLetter.filter(topic=f"rwtest/{prefix}/m1").exists(), what="the dead letter")
        dead = await DeadLetter.filter(topic=f"rwtest/{prefix}/m1")
        assert len(dead) == 1 and "could not be stored" in dead[0].reason and "poison" in dead[0].reason
        assert str(POISON_TOTAL) in dead[0].payload
        assert await MeterSample.filter(device_id__in=[d.id for d in devices]).count() == expected
        assert consumer.ingestor.stats["unstorable"] == 1 and not task.done()
        assert await wait_until(lambda: _all_acked(publisher), what="every message acknowledged")
    finally:
        stop.set()
        await task
        publisher.close()
        forget_session(url, s.mqtt_client_id, "3.1.1")


async def _all_acked(publisher) -> bool:
    return publisher.all_acknowledged()


def test_values_the_tables_cannot_hold_are_refused_by_the_adapters():
    """The columns' limits, checked before the database (one of them used to fail every batch after it)."""
    assert Device._meta.fields_map["external_id"].max_length == MAX_EXTERNAL_ID_LENGTH
    assert CommissioningEntry._meta.fields_map["external_id"].max_length == MAX_EXTERNAL_ID_LENGTH
    assert DeadLetter._meta.fields_map["topic"].max_length == MAX_TOPIC_LENGTH
    now = T0
    cases = {
        "zigbee2mqtt/" + "x" * 5000: (b'{"contact": false}', "topic longer than 255"),
        "zigbee2mqtt/" + "x" * 200: (b'{"contact": false}', "device id longer than 128"),
        "rentwatch/devices/" + "y" * 300: (b'{"door": "open"}', "topic longer than 255"),
        "rentwatch/devices/a": (b'{"battery": 300}', "battery 300 outside"),
        "rentwatch/devices/b": (b'{"energy_kwh": -5}', "energy_kwh -5.0 outside"),
        "rentwatch/devices/c": (b'{"water_m3": 1e12}', "water_m3"),
        "rentwatch/devices/d": (b'{"energy_kwh": 1, "pad": "' + b"z" * 1_100_000 + b'"}', "more than 1048576"),
    }
    for topic, (payload, why) in cases.items():
        result = parse_message(topic, payload, now)
        assert result.error and why in result.error and not result.readings, (topic[:40], result)
    assert parse_message("rentwatch/devices/ok", b'{"energy_kwh": 12.5, "battery": 100}', now).readings


async def test_a_long_device_id_no_longer_stops_the_batch(db, settings):
    """The anonymous 5,000-character Zigbee2MQTT topic among good messages: dead-lettered, the rest stored."""
    from iot.ingest import Ingestor, RawMessage

    device, _ = await register_device(DeviceIn(external_id="door1", format=DeviceFormat.ZIGBEE2MQTT,
                                               kind=DeviceKind.DOOR), None)
    batch = [RawMessage("zigbee2mqtt/" + "x" * 5000, b'{"contact": false}', T0),
             RawMessage("zigbee2mqtt/" + "x" * 200, b'{"contact": false}', T0),
             RawMessage("zigbee2mqtt/door1", b'{"contact": false}', T0 + timedelta(seconds=1))]
    await Ingestor(settings).process(batch)
    assert await DeadLetter.filter(reason__contains="device id longer than").count() == 1
    assert await DeadLetter.filter(reason__contains="topic longer than").count() == 1
    assert (await Device.get(id=device.id)).last_contact_open is True


async def refuse_alerts(on: bool) -> None:
    conn = get_connection("default")
    if not on:
        await conn.execute_script("DROP TRIGGER rw_test_no_alerts ON alerts; DROP FUNCTION rw_test_no_alerts();"
                                  if on_postgres() else "DROP TRIGGER rw_test_no_alerts;")
    elif on_postgres():
        await conn.execute_script("""
            CREATE FUNCTION rw_test_no_alerts() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'alerts unavailable'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER rw_test_no_alerts BEFORE INSERT ON alerts
              FOR EACH ROW EXECUTE FUNCTION rw_test_no_alerts();""")
    else:
        await conn.execute_script("CREATE TRIGGER rw_test_no_alerts BEFORE INSERT ON alerts "
                                  "BEGIN SELECT RAISE(ABORT, 'alerts unavailable'); END;")


async def test_a_failure_raising_an_instant_alert_loses_no_alert(world, settings):
    """The readings and their instant alert are one transaction: the failed batch stores nothing, its redelivery
    raises the alert."""
    import pytest

    from iot.choices import IotAlert
    from iot.ingest import Ingestor, RawMessage
    from models.alerts import Alert
    from models.iot import DoorEvent

    vacant = world.a.units[2]
    door, _ = await register_device(DeviceIn(external_id="dv", format=DeviceFormat.GENERIC, kind=DeviceKind.DOOR,
                                             unit_code=vacant.code), None)
    batch = [RawMessage("rentwatch/devices/dv", json.dumps({"ts": T0.isoformat(), "door": "open"}).encode(), T0,
                        mid=1, qos=1)]
    await refuse_alerts(True)
    ingestor = Ingestor(settings)
    with pytest.raises(Exception, match="alerts unavailable|could not raise alert"):  # SQLite: an IntegrityError
        await ingestor.process(batch)
    ingestor.forget()  # what the consumer does after a failed batch
    assert not await DoorEvent.filter(device_id=door.id).exists()  # rolled back with the alert
    await refuse_alerts(False)
    await ingestor.process(batch)  # the broker redelivers the unacknowledged message
    assert await DoorEvent.filter(device_id=door.id).count() == 1
    alert = await Alert.get(type=IotAlert.DOOR_OPEN_WHILE_VACANT, unit_id=vacant.id)
    assert alert.evidence["device_id"] == door.id
