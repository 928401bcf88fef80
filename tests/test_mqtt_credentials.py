"""Broker accounts: the pure access rules (topics per format, filter matching, mosquitto_passwd hashes) as tables,
issuing/re-issuing/revoking against the database, the CLI, and the exported files read by the real Mosquitto."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest

from core.errors import Conflict
from iot import credentials
from iot.acl import (
    AclError,
    Grant,
    check_filter,
    default_username,
    device_topics,
    filter_covers,
    mosquitto_hash,
    mosquitto_verify,
    topic_matches,
)
from iot.choices import CredentialKind, DeviceFormat, DeviceKind
from iot.service import DeviceIn, register_device
from models.iot import MqttCredential
from tests.support.mqtt import MOSQUITTO_BIN, PrivateMosquitto

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("fmt,ext,topics", [
    (DeviceFormat.ZIGBEE2MQTT, "door_101", ["zigbee2mqtt/door_101/availability", "zigbee2mqtt/door_101"]),
    (DeviceFormat.ZIGBEE2MQTT, "floor3/door_7", ["zigbee2mqtt/floor3/door_7/availability",
                                                 "zigbee2mqtt/floor3/door_7"]),
    (DeviceFormat.TASMOTA, "pow_12", ["tele/pow_12/SENSOR", "tele/pow_12/LWT", "tele/pow_12/STATE"]),
    (DeviceFormat.SHELLY_GEN2, "shellypro1pm-a1", ["shellypro1pm-a1/events/rpc", "shellypro1pm-a1/online"]),
    (DeviceFormat.SHELLY_GEN2, "shellypro3em-b2:1", ["shellypro3em-b2/events/rpc", "shellypro3em-b2/online"]),
    (DeviceFormat.SHELLY_GEN1, "shellydw2-C1", ["shellies/shellydw2-C1/sensor/state"]),
    (DeviceFormat.WMBUS, "12345678", ["wmbusmeters/12345678"]),
    (DeviceFormat.GENERIC, "m-9", ["rentwatch/devices/m-9/availability", "rentwatch/devices/m-9"]),
])
def test_device_topics_follow_the_routing_patterns(fmt, ext, topics):
    assert device_topics(fmt, ext) == topics


def test_device_topics_follow_configured_patterns_and_refuse_wildcards():
    assert device_topics(DeviceFormat.GENERIC, "m1", ["generic=site1/{id}/up"]) == ["site1/m1/up"]
    for bad in ("a/#", "+", "$SYS", ""):
        with pytest.raises(AclError):
            device_topics(DeviceFormat.GENERIC, bad)
    with pytest.raises(AclError, match="no topic pattern"):
        device_topics(DeviceFormat.WMBUS, "m1", ["generic=site1/{id}/up"])


@pytest.mark.parametrize("topic_filter,topic,matches", [
    ("a/b", "a/b", True), ("a/b", "a/c", False), ("a/+", "a/b", True), ("a/+", "a/b/c", False),
    ("a/#", "a", True), ("a/#", "a/b/c", True), ("#", "a/b", True), ("#", "$SYS/x", False),
    ("+/b", "a/b", True), ("a/b", "a/b/c", False), ("a/b/c", "a/b", False),
])
def test_topic_matches(topic_filter, topic, matches):
    assert topic_matches(topic_filter, topic) is matches


@pytest.mark.parametrize("granted,requested,covered", [
    ("a/b", "a/b", True), ("a/b", "#", False), ("a/b", "a/+", False), ("a/#", "a/b/#", True),
    ("a/+", "a/b", True), ("a/+", "a/+", True), ("a/b", "a/b/#", False), ("#", "x/#", True),
])
def test_filter_covers(granted, requested, covered):
    assert filter_covers(granted, requested) is covered


def test_grants():
    device = Grant("d", CredentialKind.DEVICE, ("zigbee2mqtt/door_1",))
    assert device.may_publish("zigbee2mqtt/door_1") and not device.may_publish("zigbee2mqtt/door_2")
    assert not device.may_subscribe("#") and not device.may_subscribe("zigbee2mqtt/+")
    consumer = Grant("c", CredentialKind.CONSUMER)
    assert consumer.may_subscribe("#") and not consumer.may_publish("zigbee2mqtt/door_1")


@pytest.mark.parametrize("bad", ["", "a/#/b", "a/b#", "a+/b", "$SYS/#"])
def test_bad_filters_are_refused(bad):
    with pytest.raises(AclError):
        check_filter(bad)


def test_usernames_fit_a_password_file():
    assert default_username(DeviceFormat.SHELLY_GEN2, "shellypro3em-b2:1") == "shelly_gen2-shellypro3em-b2_1"
    assert default_username(DeviceFormat.ZIGBEE2MQTT, "门磁 3/a") == "zigbee2mqtt-___3_a"


@pytest.mark.skipif(not os.path.exists("/usr/bin/mosquitto_passwd"), reason="needs mosquitto_passwd")
def test_mosquitto_hash_is_what_mosquitto_passwd_writes(tmp_path):
    subprocess.run(["/usr/bin/mosquitto_passwd", "-c", "-b", str(tmp_path / "pw"), "alice", "s3cret-pw"],
                   check=True, capture_output=True)
    theirs = (tmp_path / "pw").read_text().strip().split(":", 1)[1]
    assert mosquitto_verify("s3cret-pw", theirs) and not mosquitto_verify("wrong", theirs)
    ours = mosquitto_hash("s3cret-pw", b"0123456789ab")
    assert ours.startswith("$7$1000$") and mosquitto_verify("s3cret-pw", ours)


# ---------------------------------------------------------------------------------------------- database

async def _device(ext: str, fmt=DeviceFormat.ZIGBEE2MQTT, kind=DeviceKind.DOOR):
    device, _ = await register_device(DeviceIn(external_id=ext, format=fmt, kind=kind), None)
    return device


async def test_issue_reissue_revoke_keep_the_record(db, settings):
    await _device("door_1")
    first = await credentials.issue_for_device(settings, "door_1", now=T0, by="ops-li")
    assert first.credential.topics == ["zigbee2mqtt/door_1/availability", "zigbee2mqtt/door_1"]
    assert first.password not in first.credential.password_hash + first.credential.mosquitto_hash
    assert mosquitto_verify(first.password, first.credential.mosquitto_hash)
    grant = await credentials.authenticate(settings, "zigbee2mqtt-door_1", first.password)
    assert grant is not None and grant.may_publish("zigbee2mqtt/door_1")
    assert await credentials.authenticate(settings, "zigbee2mqtt-door_1", "wrong") is None
    assert await credentials.authenticate(settings, None, None) is None

    second = await credentials.issue_for_device(settings, "door_1", now=T0, by="ops-wang")
    assert await credentials.authenticate(settings, "zigbee2mqtt-door_1", first.password) is None
    assert await credentials.authenticate(settings, "zigbee2mqtt-door_1", second.password) is not None
    rows = await credentials.list_credentials(include_revoked=True)
    assert [(r["issued_by"], r["revoked_by"]) for r in rows] == [("ops-li", "ops-wang (re-issued)"),
                                                                 ("ops-wang", None)]
    assert "password" not in json.dumps(rows)

    assert await credentials.revoke("zigbee2mqtt-door_1", now=T0, by="ops-zhao") == 1
    assert await credentials.authenticate(settings, "zigbee2mqtt-door_1", second.password) is None
    assert await credentials.list_credentials() == []
    assert await MqttCredential.all().count() == 2


async def test_a_device_is_bound_to_one_account(db, settings):
    await _device("door_2")
    await _device("gw-meter", DeviceFormat.WMBUS, DeviceKind.WATER)
    gateway = await credentials.issue_for_gateway(settings, "z2m-gw-1", now=T0, by="ops",
                                                  devices=[("door_2", None)], topics=["zigbee2mqtt/bridge/#"])
    assert gateway.credential.topics == ["zigbee2mqtt/door_2/availability", "zigbee2mqtt/door_2",
                                         "zigbee2mqtt/bridge/#"]
    with pytest.raises(Conflict, match="already bound"):
        await credentials.issue_for_device(settings, "door_2", now=T0, by="ops")
    consumer = await credentials.issue_for_consumer("rw-consumer-2", client_id="rentwatch-consumer-2", now=T0,
                                                    by="ops")
    grant = await credentials.authenticate(settings, "rw-consumer-2", consumer.password)
    assert grant is not None and grant.subscribes_everything
    reserved = await credentials.reserved_client_ids(settings)
    assert reserved == {settings.mqtt_client_id: settings.mqtt_username, "rentwatch-consumer-2": "rw-consumer-2"}


async def test_the_configured_consumer_account_needs_its_password(db, settings):
    assert (await credentials.authenticate(settings, settings.mqtt_username, settings.mqtt_password)).kind \
        == CredentialKind.CONSUMER
    assert await credentials.authenticate(settings, settings.mqtt_username, "guess") is None


# -------------------------------------------------------------------------------------------------- CLI

def rentwatch(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RW_VAR_DIR": str(tmp_path), "RW_LOG_LEVEL": "WARNING"}
    env.pop("RW_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def connect_result(port: int, username: str | None, password: str | None, client_id: str) -> str:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if username is not None:
        client.username_pw_set(username, password)
    answer: list[str] = []
    client.on_connect = lambda c, u, f, rc, p: answer.append(str(rc))
    try:
        client.connect("127.0.0.1", port, 10)
        for _ in range(100):
            client.loop(0.1)
            if answer:
                break
    finally:
        client.disconnect()
    return answer[0] if answer else "no answer"


@pytest.mark.skipif(MOSQUITTO_BIN is None, reason="needs the mosquitto binary")
def test_cli_issues_lists_revokes_and_exports_what_mosquitto_accepts(tmp_path, premigrated):
    premigrated(tmp_path)
    with sqlite3.connect(tmp_path / "rentwatch.sqlite3") as conn:
        conn.execute("INSERT INTO iot_devices (created_at, updated_at, external_id, format, kind, battery_low, "
                     "invert) VALUES ('2026-11-01', '2026-11-01', 'door_9', 'ZIGBEE2MQTT', 'DOOR', 0, 0)")
    issued = rentwatch(tmp_path, "devices", "credentials", "issue", "--device", "door_9", "--by", "ops-li",
                       "--now", "2026-11-02T10:00")
    assert issued.returncode == 0, issued.stderr
    account = json.loads(issued.stdout)
    assert account["issued_by"] == "ops-li" and datetime.fromisoformat(account["issued_at"]) == T0
    consumer = json.loads(rentwatch(tmp_path, "devices", "credentials", "issue", "--consumer", "rw-consumer").stdout)
    listed = rentwatch(tmp_path, "devices", "credentials", "list")
    assert [a["username"] for a in json.loads(listed.stdout)] == ["rw-consumer", "zigbee2mqtt-door_9"]
    assert account["password"] not in listed.stdout
    refused = rentwatch(tmp_path, "devices", "credentials", "issue", "--device", "nope")
    assert refused.returncode == 2 and json.loads(refused.stderr.splitlines()[0])["error"]["code"]

    pw_file, acl_file = tmp_path / "mosquitto" / "passwd", tmp_path / "mosquitto" / "acl"
    exported = rentwatch(tmp_path, "devices", "credentials", "export-mosquitto", "--password-file", str(pw_file),
                         "--acl-file", str(acl_file))
    assert exported.returncode == 0 and json.loads(exported.stdout)["accounts"] == 2
    assert oct(pw_file.stat().st_mode & 0o777) == "0o600"
    assert "topic read #" in acl_file.read_text()
    broker = PrivateMosquitto(tmp_path, password_file=pw_file, acl_file=acl_file)
    broker.start()
    try:
        assert connect_result(broker.port, "zigbee2mqtt-door_9", account["password"], "d9") == "Success"
        assert connect_result(broker.port, "rw-consumer", consumer["password"], "c") == "Success"
        assert connect_result(broker.port, "zigbee2mqtt-door_9", "wrong", "d9") != "Success"
        assert connect_result(broker.port, None, None, "anon") != "Success"
        revoked = rentwatch(tmp_path, "devices", "credentials", "revoke", "zigbee2mqtt-door_9", "--by", "ops-wang")
        assert json.loads(revoked.stdout)["revoked"] == 1
        rentwatch(tmp_path, "devices", "credentials", "export-mosquitto", "--password-file", str(pw_file),
                  "--acl-file", str(acl_file))
        broker.reload()
        import time

        for _ in range(50):  # SIGHUP is asynchronous: mosquitto rereads the files on its next loop
            if connect_result(broker.port, "zigbee2mqtt-door_9", account["password"], "d9") != "Success":
                break
            time.sleep(0.1)
        assert connect_result(broker.port, "zigbee2mqtt-door_9", account["password"], "d9") != "Success"
    finally:
        broker.stop()


# ------------------------------------------------------------------------------------------------ ingest

def zb_message(gateway: str, name: str, minute: int):
    from iot.ingest import RawMessage

    payload = json.dumps({"Time": f"2026-11-02T10:{minute:02d}:00",
                          "ZbReceived": {"0x1A2B": {"Name": name, "Contact": 1, "BatteryPercentage": 80}}}).encode()
    return RawMessage(f"tele/{gateway}/SENSOR", payload, T0, 0, 0)


async def test_a_reading_for_a_device_bound_to_another_account_is_refused_and_counted(db, settings):
    """A gateway's payload names the device (Tasmota ZbReceived): the broker checked only the topic, so the
    consumer checks that the named device's account may publish there."""
    from iot.ingest import Ingestor
    from models.iot import DeadLetter, DoorEvent

    await _device("zb_door", DeviceFormat.TASMOTA, DeviceKind.DOOR)
    await _device("zb_free", DeviceFormat.TASMOTA, DeviceKind.DOOR)
    await credentials.issue_for_gateway(settings, "gw-a", now=T0, by="ops", devices=[("zb_door", None)],
                                        topics=["tele/gw_a/#"])
    ingestor = Ingestor(settings, on_alerts=False)
    await ingestor.process([zb_message("gw_b", "zb_door", 1), zb_message("gw_a", "zb_door", 2),
                            zb_message("gw_b", "zb_free", 3)])
    assert ingestor.stats["foreign_refused"] == 1
    stored = await DoorEvent.all().values_list("device__external_id", "at")
    assert sorted(ext for ext, _ in stored) == ["zb_door", "zb_free"]  # gw_a's reading, and an unbound device
    dead = await DeadLetter.all().values_list("topic", "reason")
    assert dead == [("tele/gw_b/SENSOR", "device zb_door is bound to broker account gw-a, which may not publish on "
                                         "this topic")]
