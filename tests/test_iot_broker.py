"""Reliability against a real broker: consumer restarts (clean and crash) and a broker restart mid-stream store
every QoS 1 message exactly once; 1,000 malformed payloads are all dead-lettered and the consumer keeps going."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import cast

import paho.mqtt.client as mqtt
import pytest

from iot.broker_auth import embedded_broker_for
from iot.choices import DeviceFormat, DeviceKind
from iot.consumer import MqttConsumer
from iot.credentials import export_mosquitto
from iot.service import DeviceIn, register_device
from models.iot import DeadLetter, MeterSample
from tests.support.mqtt import (
    BROKER_ACCOUNTS,
    MOSQUITTO_BIN,
    PrivateMosquitto,
    free_port,
    host_port,
    issue_test_accounts,
    publisher_login,
    shared_mosquitto_url,
    url_credentials,
    with_credentials,
)

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
WAIT = 90  # seconds: an upper bound for "eventually", never a performance threshold


@pytest.fixture
async def broker_url(db, settings):
    """(the consumer's URL, is it Mosquitto). The shared Mosquitto is anonymous; the embedded broker runs with
    authentication and ACLs on: the URL carries the consumer account, ``publisher_login`` the publisher's."""
    url = shared_mosquitto_url()
    if url:
        yield url, True
        return
    port = free_port()
    broker = embedded_broker_for(settings, port=port)
    await broker.start()
    accounts = await issue_test_accounts(settings)
    BROKER_ACCOUNTS[("127.0.0.1", port)] = accounts
    yield with_credentials(f"mqtt://127.0.0.1:{port}", accounts.consumer), False
    BROKER_ACCOUNTS.pop(("127.0.0.1", port), None)
    await broker.stop()


def iot_settings(settings, url: str, prefix: str, protocol: str):
    return settings.model_copy(update={
        "mqtt_url": url, "mqtt_protocol": protocol, "mqtt_client_id": f"rw-test-{prefix}",
        "iot_topic_patterns": [f"generic=rwtest/{prefix}/{{id}}"], "mqtt_session_expiry_seconds": 300,
        "iot_batch_size": 200, "iot_queue_size": 500})


class Publisher:
    """QoS 1 publisher on its own thread with a persistent session, so it survives a broker restart too."""

    def __init__(self, url: str, client_id: str):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        login = publisher_login(url)
        if login:
            self.client.username_pw_set(*login)
        self.client.reconnect_delay_set(0.2, 2)  # type: ignore[arg-type]  # paho takes seconds as a float too
        self.client.max_inflight_messages_set(100)
        host, port = host_port(url)
        self.acked: set[int] = set()
        self.lock = threading.Lock()
        self.client.on_publish = self._on_publish
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()
        self.mids: list[int] = []

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self.lock:
            self.acked.add(mid)

    def publish(self, topic: str, payload: bytes) -> None:
        # while the broker is down paho keeps the message and sends it after reconnecting
        self.mids.append(self.client.publish(topic, payload, qos=1).mid)

    def all_acknowledged(self) -> bool:
        with self.lock:
            return all(mid in self.acked for mid in self.mids)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def meter_payload(i: int) -> bytes:
    return json.dumps({"ts": (T0 + timedelta(seconds=i)).isoformat(), "energy_kwh": round(i * 0.001, 3)}).encode()


def door_payload(i: int) -> bytes:
    return json.dumps({"ts": (T0 + timedelta(seconds=i)).isoformat(),
                       "door": "open" if (i // 3) % 2 == 0 else "closed"}).encode()


async def wait_until(predicate, timeout: float = WAIT, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            ats = sorted(cast(list[datetime], await MeterSample.all().values_list("at", flat=True)))
            have = {int((a - T0).total_seconds()) for a in ats}
            missing = sorted(set(range(max(have) + 1)) - have) if have else []
            raise AssertionError(f"timed out waiting for {what}: {len(ats)} samples, max {max(have, default=None)}, "
                                 f"missing {len(missing)}: {missing[:5]}..{missing[-5:]}")
        await asyncio.sleep(0.1)


def forget_session(url: str, client_id: str, protocol: str) -> None:
    """Remove the persistent session a test left on the broker."""
    host, port = host_port(url)
    if protocol == "5":
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        login = url_credentials(url)
        if login:
            client.username_pw_set(*login)
        client.connect(host, port, clean_start=True)
    else:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        login = url_credentials(url)
        if login:
            client.username_pw_set(*login)
        client.connect(host, port)
    client.loop(1)
    client.disconnect()


async def start_consumer(s):
    stop = asyncio.Event()
    consumer = MqttConsumer(s)
    task = asyncio.create_task(consumer.run(stop))
    await wait_until(lambda: asyncio.sleep(0, consumer.subscribed.is_set()), what="subscription")
    return consumer, stop, task


@pytest.mark.parametrize("protocol,how", [("3.1.1", "clean"), ("3.1.1", "crash"), ("5", "clean"), ("5", "crash")])
async def test_consumer_restart_mid_stream_stores_each_message_once(db, settings, broker_url, protocol, how):
    url, is_mosquitto = broker_url
    if not is_mosquitto:
        pytest.skip("needs Mosquitto: the embedded broker (amqtt, MQTT 3.1.1 only) does not redeliver the "
                    "unacknowledged QoS 1 messages of a persistent session after a reconnect")
    prefix = uuid.uuid4().hex[:10]
    s = iot_settings(settings, url, prefix, protocol)
    device, _ = await register_device(DeviceIn(external_id="m1", format=DeviceFormat.GENERIC,
                                               kind=DeviceKind.ELECTRICITY), None)
    total = 1000  # Mosquitto's default max_queued_messages (1000) bounds what it keeps for an offline client
    consumer, stop, task = await start_consumer(s)
    publisher = Publisher(url, f"rw-test-pub-{prefix}")
    try:
        for i in range(total // 2):
            publisher.publish(f"rwtest/{prefix}/m1", meter_payload(i))
        await wait_until(lambda: _count_at_least(device.id, total // 4), what="first quarter stored")
        if how == "crash":
            consumer.abort()
            task.cancel()
        else:
            stop.set()
        await asyncio.gather(task, return_exceptions=True)
        for i in range(total // 2, total):  # published while no consumer is connected
            publisher.publish(f"rwtest/{prefix}/m1", meter_payload(i))
        await wait_until(lambda: asyncio.sleep(0, publisher.all_acknowledged()), what="broker acks")
        consumer, stop, task = await start_consumer(s)
        await wait_until(lambda: _count_at_least(device.id, total), what="all messages stored")
        await asyncio.sleep(0.5)  # anything redelivered late would show up as an extra row
        stop.set()
        await asyncio.wait_for(task, 120)  # a consumer that does not stop is a failure, not a stalled suite
        stored = await MeterSample.filter(device_id=device.id).values_list("at", flat=True)
        assert len(stored) == total and len(set(stored)) == total
        # consumption is counted once too: 0.001 kWh per message after the first
        from models.iot import HourlyRollup

        consumed = sum(await HourlyRollup.filter(device_id=device.id).values_list("value", flat=True))
        assert consumed == pytest.approx((total - 1) * 0.001, abs=1e-6)
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        publisher.close()
        forget_session(url, s.mqtt_client_id, protocol)


async def _count_at_least(device_id: int, n: int) -> bool:
    return await MeterSample.filter(device_id=device_id).count() >= n


@pytest.mark.skipif(MOSQUITTO_BIN is None, reason="needs the mosquitto binary for a private, restartable broker")
@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_broker_restart_mid_stream_stores_each_message_once(db, settings, tmp_path, protocol):
    accounts = await issue_test_accounts(settings)  # Mosquitto with the exported password_file and acl_file
    await export_mosquitto(tmp_path / "passwd", tmp_path / "acl")
    broker = PrivateMosquitto(tmp_path, password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")
    broker.start()
    BROKER_ACCOUNTS[("127.0.0.1", broker.port)] = accounts
    prefix = uuid.uuid4().hex[:10]
    s = iot_settings(settings, broker.url_for(*accounts.consumer), prefix, protocol)
    device, _ = await register_device(DeviceIn(external_id="m1", format=DeviceFormat.GENERIC,
                                               kind=DeviceKind.ELECTRICITY), None)
    total = 1200
    consumer, stop, task = await start_consumer(s)
    publisher = Publisher(broker.url, f"rw-test-pub-{prefix}")
    try:
        for i in range(total // 3):
            publisher.publish(f"rwtest/{prefix}/m1", meter_payload(i))
        await wait_until(lambda: _count_at_least(device.id, total // 6), what="some messages stored")
        await asyncio.to_thread(broker.stop)
        for i in range(total // 3, 2 * total // 3):  # published while the broker is down: the client queues
            publisher.publish(f"rwtest/{prefix}/m1", meter_payload(i))
        await asyncio.to_thread(broker.start)
        for i in range(2 * total // 3, total):
            publisher.publish(f"rwtest/{prefix}/m1", meter_payload(i))
        await wait_until(lambda: _count_at_least(device.id, total), what="all messages stored")
        await wait_until(lambda: asyncio.sleep(0, publisher.all_acknowledged()), what="broker acks")
        await asyncio.sleep(0.5)
        stored = await MeterSample.filter(device_id=device.id).values_list("at", flat=True)
        assert len(stored) == total and len(set(stored)) == total
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        publisher.close()
        broker.stop()
        BROKER_ACCOUNTS.pop(("127.0.0.1", broker.port), None)


def malformed_payloads(n: int, seed: int = 4) -> list[bytes]:
    rng = random.Random(seed)
    shapes = [
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))),
        lambda: b'{"energy_kwh": ' + str(rng.random()).encode(),  # truncated JSON
        lambda: json.dumps([rng.random() for _ in range(3)]).encode(),
        lambda: json.dumps({"energy_kwh": rng.choice(["abc", None, True, [], {}, "NaN"])}).encode(),
        lambda: json.dumps({"door": rng.choice(["ajar", 7, [1], "maybe"])}).encode(),
        lambda: json.dumps({"ts": rng.choice(["yesterday", -1, True, "2026-13-45T99:00"]), "energy_kwh": 1}).encode(),
        lambda: b"[" * rng.randint(1000, 5000),
        lambda: json.dumps({"unrelated": rng.random()}).encode(),
        lambda: b"\xff\xfe" + "门磁".encode("utf-16-le"),
        lambda: json.dumps(rng.random()).encode(),
    ]
    return [shapes[i % len(shapes)]() for i in range(n)]


async def test_malformed_payloads_are_dead_lettered_and_the_consumer_survives(db, settings, broker_url):
    url, _ = broker_url
    prefix = uuid.uuid4().hex[:10]
    s = iot_settings(settings, url, prefix, "3.1.1")
    device, _ = await register_device(DeviceIn(external_id="ok", format=DeviceFormat.GENERIC,
                                               kind=DeviceKind.ELECTRICITY), None)
    consumer, stop, task = await start_consumer(s)
    publisher = Publisher(url, f"rw-test-pub-{prefix}")
    payloads = malformed_payloads(1000)
    try:
        def blast():
            for i, payload in enumerate(payloads):
                publisher.publish(f"rwtest/{prefix}/dev{i % 7}", payload)

        thread = threading.Thread(target=blast)
        thread.start()
        await asyncio.to_thread(thread.join)
        publisher.publish(f"rwtest/{prefix}/ok", meter_payload(1))
        await wait_until(lambda: _count_at_least(device.id, 1), what="the valid message after the garbage")
        await wait_until(lambda: _dead_at_least(prefix, 1000), what="1000 dead letters")
        assert not task.done()
        assert await DeadLetter.filter(topic__startswith=f"rwtest/{prefix}/").count() == 1000
        assert consumer.ingestor.stats["dead_letters"] == 1000
        sample = await DeadLetter.filter(topic__startswith=f"rwtest/{prefix}/").first()
        assert sample.reason and len(sample.payload) <= 4 * s.iot_dead_letter_max_bytes + 1
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        publisher.close()
        forget_session(url, s.mqtt_client_id, "3.1.1")


async def _dead_at_least(prefix: str, n: int) -> bool:
    return await DeadLetter.filter(topic__startswith=f"rwtest/{prefix}/").count() >= n


async def test_shared_subscription_splits_the_load_without_double_storage(db, settings, broker_url):
    url, is_mosquitto = broker_url
    if not is_mosquitto:
        pytest.skip("MQTT 5 shared subscriptions need Mosquitto (the embedded broker speaks 3.1.1 only)")
    prefix = uuid.uuid4().hex[:10]
    base = iot_settings(settings, url, prefix, "5").model_copy(update={"mqtt_shared_group": f"g{prefix}"})
    meters = [(await register_device(DeviceIn(external_id=f"m{n}", format=DeviceFormat.GENERIC,
                                              kind=DeviceKind.ELECTRICITY), None))[0] for n in range(3)]
    door, _ = await register_device(DeviceIn(external_id="d0", format=DeviceFormat.GENERIC, kind=DeviceKind.DOOR),
                                    None)
    consumers = []
    for n in range(2):
        s = base.model_copy(update={"mqtt_client_id": f"rw-test-{prefix}-{n}"})
        consumers.append((s, *await start_consumer(s)))
    publisher = Publisher(url, f"rw-test-pub-{prefix}")
    total, doors = 600, 300
    try:
        for i in range(total):
            publisher.publish(f"rwtest/{prefix}/m{i % 3}", meter_payload(i))
            if i < doors:  # the door repeats its state (cached state): only every 3rd reading is a change
                publisher.publish(f"rwtest/{prefix}/d0", door_payload(i))
        await wait_until(lambda: _samples_at_least(total), what="all messages stored")
        await wait_until(lambda: asyncio.sleep(0, sum(c.stored for _, c, _, _ in consumers) == total + doors),
                         what="all door messages stored")
        await asyncio.sleep(0.5)
        assert await MeterSample.all().count() == total
        assert all(consumer.stored > 0 for _, consumer, _, _ in consumers)  # both took part
        assert sum(consumer.stored for _, consumer, _, _ in consumers) == total + doors  # no copies of another's
        # each meter's consumption is counted once, although its messages were split between the consumers:
        # readings i, i+3, ... of meter i % 3 rise by 0.003 kWh each
        from models.iot import DoorEvent, HourlyRollup

        for meter in meters:
            consumed = sum(await HourlyRollup.filter(device_id=meter.id).values_list("value", flat=True))
            assert consumed == pytest.approx((total // 3 - 1) * 0.003, abs=1e-6)
        # only changes are door events, once each: open at 0, closed at 3, open at 6, ... (a change met out of
        # order may be stored at a later reading of its run: docs/iot.md)
        events = await DoorEvent.filter(device_id=door.id).order_by("at").values_list("at", "is_open")
        assert [is_open for _, is_open in events] == [k % 2 == 0 for k in range(doors // 3)]
        assert all(3 * k <= (at - T0).total_seconds() < 3 * k + 3 for k, (at, _) in enumerate(events))
        openings = sum(await HourlyRollup.filter(device_id=door.id).values_list("value", flat=True))
        assert openings == len(range(0, doors, 6))
    finally:
        for s, _, stop, task in consumers:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
            forget_session(url, s.mqtt_client_id, "5")
        publisher.close()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_every_kind_of_publish_is_stored(db, settings, broker_url, protocol):
    """The consumer reads the common PUBLISH itself (QoS 1 or 0, no MQTT 5 properties: iot.consumer.fast_publish)
    and leaves the rest to paho: messages with MQTT 5 properties, QoS 0 and QoS 2 publications, and payloads
    larger than one socket read (256 KiB) must all be stored, exactly once."""
    url, is_mosquitto = broker_url
    if protocol == "5" and not is_mosquitto:
        pytest.skip("MQTT 5 needs Mosquitto (the embedded broker speaks 3.1.1 only)")
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    prefix = uuid.uuid4().hex[:10]
    s = iot_settings(settings, url, prefix, protocol)
    device, _ = await register_device(DeviceIn(external_id="m1", format=DeviceFormat.GENERIC,
                                               kind=DeviceKind.ELECTRICITY), None)
    v5 = protocol == "5"
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"rw-test-pub-{prefix}",
                            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
    if publisher_login(url):
        publisher.username_pw_set(*publisher_login(url))
    host, port = host_port(url)
    publisher.connect(host, port)
    publisher.loop_start()
    with_props = Properties(PacketTypes.PUBLISH)
    with_props.UserProperty = ("site", "bench")
    with_props.MessageExpiryInterval = 3600
    with_props.ContentType = "application/json"
    consumer, stop, task = await start_consumer(s)
    total = 60
    try:
        infos = []
        for i in range(total):
            payload = meter_payload(i)
            if i % 10 == 9:  # larger than one read of the consumer's socket buffer
                data = json.loads(payload)
                data["note"] = "x" * (300 * 1024 + i)
                payload = json.dumps(data).encode()
            props = with_props if v5 and i % 3 == 1 else None
            infos.append(publisher.publish(f"rwtest/{prefix}/m1", payload, qos=(1, 1, 0, 2)[i % 4],
                                           properties=props))
        for info in infos:
            await asyncio.to_thread(info.wait_for_publish, WAIT)
        await wait_until(lambda: _count_at_least(device.id, total), what="all messages stored")
        await asyncio.sleep(0.5)
        stored = await MeterSample.filter(device_id=device.id).values_list("at", flat=True)
        assert len(stored) == total and len(set(stored)) == total
        assert consumer.ingestor.stats["dead_letters"] == 0
        assert not task.done()
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        publisher.loop_stop()
        publisher.disconnect()
        forget_session(url, s.mqtt_client_id, protocol)


async def _samples_at_least(n: int) -> bool:
    return await MeterSample.all().count() >= n
