"""Devices authenticate and publish only their own topics, on a real broker with authentication on: the embedded
amqtt broker (iot.broker_auth) and a private Mosquitto fed the files ``export-mosquitto`` writes. Anonymous and
wrong-password clients are refused, a device publishing another device's topic is dropped (never stored), a
non-consumer subscribing to ``#`` receives nothing, the consumer's client id cannot be taken over, and a TLS
listener works with ``mqtts://`` and a CA file."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest

from iot import credentials
from iot.broker_auth import embedded_broker_for
from iot.choices import DeviceFormat, DeviceKind
from iot.consumer import MqttConsumer
from iot.service import DeviceIn, register_device
from models.iot import DoorEvent, MeterSample
from tests.support.mqtt import MOSQUITTO_BIN, PrivateMosquitto, TestCA, free_port

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
WAIT = 60  # seconds: an upper bound for "eventually", never a performance threshold


class Broker:
    def __init__(self, kind: str, port: int, mosquitto: PrivateMosquitto | None = None):
        self.kind, self.port, self.mosquitto = kind, port, mosquitto

    async def refresh(self) -> None:
        """Mosquitto reads accounts from the exported files; the embedded broker from the table itself."""
        if self.mosquitto is not None:
            await credentials.export_mosquitto(self.mosquitto.workdir / "passwd", self.mosquitto.workdir / "acl")
            self.mosquitto.reload()
            await asyncio.sleep(0.5)  # SIGHUP is handled on mosquitto's next loop


@pytest.fixture(params=["embedded", "mosquitto"])
async def broker(request, db, settings, tmp_path):
    if request.param == "embedded":
        port = free_port()
        embedded = embedded_broker_for(settings, port=port)
        await embedded.start()
        yield Broker("embedded", port)
        await embedded.stop()
        return
    if MOSQUITTO_BIN is None:
        pytest.skip("needs the mosquitto binary")
    await credentials.export_mosquitto(tmp_path / "passwd", tmp_path / "acl")
    mosquitto = PrivateMosquitto(tmp_path, password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")
    mosquitto.start()
    yield Broker("mosquitto", mosquitto.port, mosquitto)
    mosquitto.stop()


def connack_sync(port: int, login: tuple[str, str] | None, client_id: str) -> str:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if login:
        client.username_pw_set(*login)
    answer: list[str] = []
    client.on_connect = lambda c, u, f, rc, p: answer.append(str(rc))
    try:
        client.connect("127.0.0.1", port, 10)
        for _ in range(100):
            client.loop(0.1)
            if answer:
                break
    except OSError as exc:
        return f"closed: {exc}"
    finally:
        client.disconnect()
    return answer[0] if answer else "no answer"


async def connack(port: int, login: tuple[str, str] | None, client_id: str) -> str:
    """The broker's CONNACK as paho names it ("Success", "Not authorized"); in a thread: the embedded broker
    runs on this event loop."""
    return await asyncio.to_thread(connack_sync, port, login, client_id)


REFUSED = "Not authorized"


class Client:
    """A connected paho client on its own thread that records what it receives."""

    def __init__(self, port: int, login: tuple[str, str] | None, client_id: str, *, clean: bool = True):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        if login:
            self.client.username_pw_set(*login)
        self.received: list[tuple[str, bytes | bytearray]] = []
        self.granted: list[int] = []
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: self.connected.set() if not rc.is_failure else None
        self.client.on_message = lambda c, u, msg: self.received.append((msg.topic, bytes(msg.payload)))
        self.client.on_subscribe = self._on_subscribe
        self.client.connect("127.0.0.1", port, 10)
        self.client.loop_start()
        assert self.connected.wait(WAIT), f"{client_id} did not connect"

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.granted = [int(rc.value) for rc in reason_codes]
        self.subscribed.set()

    def subscribe(self, topic_filter: str) -> list[int]:
        self.subscribed.clear()
        self.client.subscribe(topic_filter, qos=1)
        assert self.subscribed.wait(WAIT)
        return self.granted

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(WAIT)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def devices_and_accounts(settings):
    await register_device(DeviceIn(external_id="door_a", format=DeviceFormat.ZIGBEE2MQTT, kind=DeviceKind.DOOR),
                          None)
    await register_device(DeviceIn(external_id="door_b", format=DeviceFormat.ZIGBEE2MQTT, kind=DeviceKind.DOOR),
                          None)
    a = await credentials.issue_for_device(settings, "door_a", now=T0, by="tests")
    b = await credentials.issue_for_device(settings, "door_b", now=T0, by="tests")
    consumer = await credentials.issue_for_consumer("rw-consumer", client_id="rw-consumer", now=T0, by="tests")
    return ("zigbee2mqtt-door_a", a.password), ("zigbee2mqtt-door_b", b.password), ("rw-consumer",
                                                                                       consumer.password)


def door(contact: bool, minute: int) -> bytes:
    return json.dumps({"contact": contact, "battery": 90, "last_seen": f"2026-11-02T02:{minute:02d}:00Z"}).encode()


async def wait_for(predicate, what: str):
    deadline = asyncio.get_running_loop().time() + WAIT
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_anonymous_and_wrong_passwords_are_refused(db, settings, broker):
    a, b, consumer = await devices_and_accounts(settings)
    await broker.refresh()
    assert await connack(broker.port, None, "anon") == REFUSED
    assert await connack(broker.port, (a[0], "wrong"), "door_a") == REFUSED
    assert await connack(broker.port, (a[0], b[1]), "door_a") == REFUSED  # another account's password
    assert await connack(broker.port, ("nobody", "x"), "x") == REFUSED
    assert await connack(broker.port, a, "door_a") == "Success"
    await credentials.revoke(a[0], now=T0, by="tests")
    await broker.refresh()
    assert await connack(broker.port, a, "door_a") == REFUSED


async def test_a_device_publishes_only_its_own_topics_and_only_the_consumer_reads_everything(db, settings, broker):
    a, b, consumer_login = await devices_and_accounts(settings)
    await broker.refresh()
    s = settings.model_copy(update={
        "mqtt_url": f"mqtt://{consumer_login[0]}:{consumer_login[1]}@127.0.0.1:{broker.port}",
        "mqtt_client_id": "rw-consumer", "iot_batch_size": 50})
    consumer = MqttConsumer(s)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    device_a = await asyncio.to_thread(Client, broker.port, a, "door_a")
    snoop = await asyncio.to_thread(Client, broker.port, b, "door_b")
    try:
        await wait_for(lambda: asyncio.sleep(0, consumer.subscribed.is_set()), "the consumer's subscription")
        granted = await asyncio.to_thread(snoop.subscribe, "#")
        await asyncio.to_thread(snoop.subscribe, "zigbee2mqtt/door_a")
        # a spoofed opening of door_b: dropped by the broker; then its own, stored
        await asyncio.to_thread(device_a.publish, "zigbee2mqtt/door_b", door(False, 1))
        await asyncio.to_thread(device_a.publish, "zigbee2mqtt/door_a", door(False, 2))
        await wait_for(lambda: DoorEvent.filter(device__external_id="door_a").exists(), "door_a's own reading")
        await asyncio.sleep(0.5)
        assert not await DoorEvent.filter(device__external_id="door_b").exists()
        assert snoop.received == []  # subscribed to # and to door_a's topic: nothing reaches another device
        assert granted == [128] or broker.kind == "mosquitto"  # Mosquitto grants and then delivers nothing
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        device_a.close()
        snoop.close()


async def test_the_consumers_client_id_cannot_be_taken_over(db, settings, broker):
    a, _, consumer_login = await devices_and_accounts(settings)
    await broker.refresh()
    consumer = await asyncio.to_thread(Client, broker.port, consumer_login, "rw-consumer", clean=False)
    try:
        await asyncio.to_thread(consumer.subscribe, "zigbee2mqtt/#")
        # a device account, a wrong password and nobody at all, each with the consumer's client id
        for login in (a, (consumer_login[0], "wrong"), None):
            for clean in (True, False):
                thief = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rw-consumer", clean_session=clean)
                if login:
                    thief.username_pw_set(*login)
                await asyncio.to_thread(thief.connect, "127.0.0.1", broker.port, 10)
                thief.loop_start()
                await asyncio.sleep(0.3)
                thief.loop_stop()
                thief.disconnect()
        device = await asyncio.to_thread(Client, broker.port, a, "door_a")
        await asyncio.to_thread(device.publish, "zigbee2mqtt/door_a", door(True, 3))
        deadline = asyncio.get_running_loop().time() + WAIT
        while not consumer.received and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        device.close()
        # still connected, still subscribed: the consumer's session was neither taken over nor dropped
        assert consumer.client.is_connected() and consumer.received == [("zigbee2mqtt/door_a", door(True, 3))]
    finally:
        consumer.close()


@pytest.mark.skipif(MOSQUITTO_BIN is None, reason="needs the mosquitto binary")
async def test_tls_listener_with_mqtts_and_a_ca_file(db, settings, tmp_path):
    ca = TestCA(tmp_path)
    await register_device(DeviceIn(external_id="m1", format=DeviceFormat.GENERIC, kind=DeviceKind.ELECTRICITY),
                          None)
    meter = await credentials.issue_for_device(settings, "m1", now=T0, by="tests")
    consumer_login = await credentials.issue_for_consumer("rw-consumer", client_id="rw-consumer", now=T0, by="tests")
    await credentials.export_mosquitto(tmp_path / "passwd", tmp_path / "acl")
    mosquitto = PrivateMosquitto(tmp_path, password_file=tmp_path / "passwd", acl_file=tmp_path / "acl", tls=ca)
    mosquitto.start()
    s = settings.model_copy(update={"mqtt_url": mosquitto.url_for("rw-consumer", consumer_login.password),
                                    "mqtt_ca_file": ca.ca_file, "mqtt_client_id": f"rw-{uuid.uuid4().hex[:6]}"})
    assert s.mqtt_tls and s.mqtt_url.startswith("mqtts://")
    consumer = MqttConsumer(s)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="m1")
    publisher.username_pw_set("generic-m1", meter.password)
    publisher.tls_set(ca_certs=str(ca.ca_file))
    try:
        await wait_for(lambda: asyncio.sleep(0, consumer.subscribed.is_set()), "the consumer's TLS subscription")
        await asyncio.to_thread(publisher.connect, "127.0.0.1", mosquitto.port, 10)
        publisher.loop_start()
        payload = json.dumps({"ts": T0.isoformat(), "energy_kwh": 12.5}).encode()
        await asyncio.to_thread(publisher.publish("rentwatch/devices/m1", payload, qos=1).wait_for_publish, WAIT)
        await wait_for(lambda: MeterSample.filter(device__external_id="m1").exists(), "the reading over TLS")
        # a plain-TCP client cannot talk to the TLS listener; one without the CA refuses the certificate
        assert await connack(mosquitto.port, ("generic-m1", meter.password), "m1") == "no answer"
        (tmp_path / "other").mkdir()
        other_ca = TestCA(tmp_path / "other")
        stranger_client = MqttConsumer(s.model_copy(update={"mqtt_ca_file": other_ca.ca_file})).build_client()
        with pytest.raises(OSError):  # ssl.SSLCertVerificationError
            await asyncio.to_thread(stranger_client.connect, "127.0.0.1", mosquitto.port, 10)
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        publisher.loop_stop()
        publisher.disconnect()
        mosquitto.stop()


async def test_a_refused_consumer_says_why(db, settings, broker):
    """Wrong consumer credentials: the consumer does not connect and its heartbeat's last_error (/health) says
    the broker refused it — never the password."""
    await broker.refresh()
    s = settings.model_copy(update={"mqtt_url": f"mqtt://rw-consumer:not-the-password@127.0.0.1:{broker.port}",
                                    "mqtt_client_id": "rw-consumer"})
    consumer = MqttConsumer(s)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await wait_for(lambda: asyncio.sleep(0, bool(consumer.last_error)), "the refusal")
        assert consumer.last_error == f"MQTT connect refused: {REFUSED}" and not consumer.connected.is_set()
        assert "not-the-password" not in consumer.heartbeat().last_error + s.mqtt_display_url
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
