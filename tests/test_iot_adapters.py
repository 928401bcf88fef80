"""Adapters on the verbatim public examples (docs/briefs device-payloads.md) and the awkward cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from iot.adapters import DEFAULT_TOPIC_PATTERNS, TopicRouter, compile_pattern, parse_message, parse_time
from iot.choices import DeviceFormat

RECEIVED = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
SH = timezone(timedelta(hours=8))

Z2M_1 = b'{"battery_low":false,"contact":false,"linkquality":21,"tamper":false}'
Z2M_2 = (b'{"battery":100,"battery_low":false,"contact":true,"last_seen":"2024-10-08T12:54:51+02:00",'
         b'"linkquality":43,"tamper":false,"voltage":3100}')
Z2M_3 = b'{"contact":true,"last_seen":"2024-04-08T21:21:36.794Z","linkquality":144}'
Z2M_PLUG = (b'{"child_lock":"UNLOCK","current":0,"energy":12.05,"last_seen":"2026-07-27T09:41:41+02:00",'
            b'"linkquality":43,"power":0,"state":"OFF","voltage":243}')
TASMOTA_POW = (b'{"Time":"2018-02-15T17:37:10","ENERGY":{"TotalStartTime":"2018-11-14T18:39:40","Total":6.294,'
               b'"Yesterday":5.340,"Today":0.954,"Period":217,"Power":2635,"ApparentPower":2650,'
               b'"ReactivePower":282,"Factor":0.99,"Voltage":227,"Current":11.661}}')
TASMOTA_SWITCH = b'{"Time":"2021-01-01T00:00:00","Switch1":"OFF"}'
SHELLY_SWITCH = (b'{"src":"shelly1minig3-54320464f17c","dst":"shelly1minig3-54320464f17c/events",'
                 b'"method":"NotifyStatus","params":{"ts":1745708765.60,"switch:0":{"id":0,"output":false,'
                 b'"source":"MQTT"}}}')
SHELLY_ENERGY = (b'{"src":"shellyplus1pm-a8032ab12345","dst":"shellyplus1pm-a8032ab12345/events",'
                 b'"method":"NotifyStatus","params":{"ts":1661517419.12,"switch:0":{"id":0,"aenergy":'
                 b'{"by_minute":[0.000,0.000,0.000],"minute_ts":1661517419,"total":1520.337}}}}')
WMBUS = (b'{"_":"telegram","media":"water","meter":"iperl","name":"MyTapWater","id":"33225544","max_flow_m3h":0,'
         b'"total_m3":123.529,"timestamp":"2024-03-03T18:37:00Z"}')


def one(topic, payload, **kw):
    result = parse_message(topic, payload, RECEIVED, **kw)
    assert result.error is None, result.error
    assert result.ignored is None, result.ignored
    assert len(result.readings) == 1
    return result.readings[0]


@pytest.mark.parametrize("topic,payload,expect", [
    # Zigbee2MQTT contact: true = CLOSED
    ("zigbee2mqtt/door_1203", Z2M_1, {"door_open": True, "battery_low": False, "at": RECEIVED, "device_time": False}),
    ("zigbee2mqtt/door_1203", Z2M_2, {"door_open": False, "battery": 100,
                                      "at": datetime(2024, 10, 8, 10, 54, 51, tzinfo=UTC)}),
    ("zigbee2mqtt/floor12/door_1203", Z2M_3, {"door_open": False, "device": "floor12/door_1203",
                                              "at": datetime(2024, 4, 8, 21, 21, 36, 794000, tzinfo=UTC)}),
    ("zigbee2mqtt/plug_1", Z2M_PLUG, {"energy_kwh": 12.05, "power_w": 0.0, "door_open": None,
                                      "at": datetime(2026, 7, 27, 7, 41, 41, tzinfo=UTC)}),
    # Tasmota: Time is local without offset → the site's timezone (Asia/Shanghai)
    ("tele/pow1/SENSOR", TASMOTA_POW, {"device": "pow1", "energy_kwh": 6.294, "power_w": 2635.0,
                                       "at": datetime(2018, 2, 15, 9, 37, 10, tzinfo=UTC)}),
    ("tele/tasmota/SENSOR", TASMOTA_SWITCH, {"door_open": False, "door_invertible": True,
                                             "at": datetime(2020, 12, 31, 16, 0, tzinfo=UTC)}),
    ("tele/pow1/LWT", b"Online", {"online": True}),
    ("tele/pow1/LWT", b"Offline", {"online": False}),
    # Shelly Gen2: ts epoch seconds UTC; aenergy.total Wh
    ("shelly1minig3-54320464f17c/events/rpc", SHELLY_SWITCH,
     {"energy_kwh": None, "at": datetime.fromtimestamp(1745708765.60, UTC)}),
    ("shellyplus1pm-a8032ab12345/events/rpc", SHELLY_ENERGY,
     {"energy_kwh": pytest.approx(1.520337), "device": "shellyplus1pm-a8032ab12345"}),
    ("shellyplus1pm-a8032ab12345/online", b"true", {"online": True}),
    ("shellyplus1pm-a8032ab12345/online", b"false", {"online": False}),
    ("shellies/shellydw2-AB12/sensor/state", b"open", {"door_open": True, "format": DeviceFormat.SHELLY_GEN1}),
    ("shellies/shellydw2-AB12/sensor/state", b"close", {"door_open": False}),
    # wmbusmeters: id from the payload (string, leading zeros kept), timestamp UTC
    ("wmbusmeters/MyTapWater", WMBUS, {"device": "33225544", "water_m3": 123.529,
                                       "at": datetime(2024, 3, 3, 18, 37, tzinfo=UTC)}),
    ("wmbusmeters/x", b'{"id":"00012345","total_m3":"7.5"}', {"device": "00012345", "water_m3": 7.5}),
    # availability, old and new style
    ("zigbee2mqtt/door_1203/availability", b'{"state":"offline"}', {"online": False, "device": "door_1203"}),
    ("zigbee2mqtt/door_1203/availability", b"online", {"online": True}),
    # numbers as strings, epoch milliseconds
    ("zigbee2mqtt/old", b'{"contact":"false","battery":"87","last_seen":1712611296794}',
     {"door_open": True, "battery": 87, "at": datetime(2024, 4, 8, 21, 21, 36, 794000, tzinfo=UTC)}),
    # our generic format
    ("rentwatch/devices/em-1", b'{"ts":"2026-11-02T10:00:00","energy_kwh":"100.5"}',
     {"energy_kwh": 100.5, "at": datetime(2026, 11, 2, 2, 0, tzinfo=UTC), "format": DeviceFormat.GENERIC}),
    ("rentwatch/devices/door-1", b'{"ts":1793584800,"door":"open","battery":12}',
     {"door_open": True, "battery": 12, "at": datetime.fromtimestamp(1793584800, UTC)}),
])
def test_public_examples(topic, payload, expect):
    reading = one(topic, payload)
    for key, value in expect.items():
        assert getattr(reading, key) == value, (key, getattr(reading, key))


@pytest.mark.parametrize("topic,payload", [
    ("zigbee2mqtt/door", b"not json"),
    ("zigbee2mqtt/door", b'{"contact":"maybe"}'),
    ("zigbee2mqtt/door", b'{"contact":true,"last_seen":"yesterday"}'),
    ("zigbee2mqtt/door", b"[1,2]"),
    ("tele/pow1/SENSOR", b'{"ENERGY":{"Total":"abc"}}'),
    ("tele/pow1/SENSOR", b'{"ENERGY":{"Total":NaN}}'),
    ("tele/pow1/SENSOR", b'{"ENERGY":[]}'),
    ("tele/pow1/LWT", b"\xff\xfe"),
    ("x/events/rpc", b'{"params":{}}'),
    ("shellies/dw/sensor/state", b"ajar"),
    ("wmbusmeters/m", b'{"id":"1"}'),
    ("wmbusmeters/m", b'{"total_m3":true}'),
    ("rentwatch/devices/d", b"{}"),
    ("rentwatch/devices/d", b'{"energy_kwh":1e400}'),
    ("rentwatch/devices/d", b'{"energy_kwh":1,"ts":-5}'),
])
def test_malformed_is_an_error_not_an_exception(topic, payload):
    result = parse_message(topic, payload, RECEIVED)
    assert result.error and not result.readings


@pytest.mark.parametrize("topic,payload", [
    ("zigbee2mqtt/bridge/state", b'{"state":"online"}'),
    ("zigbee2mqtt/plug_1/energy", b"12.05"),  # attribute_and_json sub-topic: not a device name
    ("zigbee2mqtt/plug_1/set", b'{"state":"ON"}'),
    ("x/events/rpc", b'{"method":"NotifyEvent","params":{"events":[]}}'),
    ("some/other/topic", b"{}"),
])
def test_ignored(topic, payload):
    result = parse_message(topic, payload, RECEIVED)
    assert result.ignored and not result.error and not result.readings


def test_tasmota_multichannel_and_zigbee_bridge():
    r = one("tele/pow2/SENSOR", b'{"ENERGY":{"Total":[1.5,2.25],"Power":[10,20]}}')
    assert r.energy_kwh == 3.75 and r.power_w == 30.0
    result = parse_message("tele/zb/SENSOR", b'{"ZbReceived":{"0x8F20":{"Name":"door9","Contact":1}}}', RECEIVED)
    assert [(x.device, x.door_open) for x in result.readings] == [("door9", True)]


def test_shelly_second_channel_is_its_own_device():
    payload = b'{"method":"NotifyStatus","params":{"ts":1661517419,"switch:1":{"aenergy":{"total":500}}}}'
    r = one("shellypro2pm-1/events/rpc", payload)
    assert r.device == "shellypro2pm-1:1" and r.energy_kwh == 0.5


@pytest.mark.parametrize("value,expected", [
    ("2024-10-08T12:54:51+02:00", datetime(2024, 10, 8, 10, 54, 51, tzinfo=UTC)),
    ("2024-10-08T12:54:51Z", datetime(2024, 10, 8, 12, 54, 51, tzinfo=UTC)),
    ("2024-10-08T12:54:51", datetime(2024, 10, 8, 4, 54, 51, tzinfo=UTC)),  # no offset → Shanghai
    (1728384891, datetime(2024, 10, 8, 10, 54, 51, tzinfo=UTC)),
    (1728384891000, datetime(2024, 10, 8, 10, 54, 51, tzinfo=UTC)),
    ("1728384891", datetime(2024, 10, 8, 10, 54, 51, tzinfo=UTC)),
])
def test_parse_time(value, expected):
    assert parse_time(value, SH) == expected


def test_building_timezone_is_used_for_naive_times():
    from zoneinfo import ZoneInfo

    r = one("tele/pow1/SENSOR", b'{"Time":"2026-01-01T08:00:00","ENERGY":{"Total":1}}',
            tz_for=lambda fmt, dev: ZoneInfo("Asia/Urumqi"))
    assert r.at == datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


def test_topic_patterns_are_configuration():
    router = TopicRouter(["tasmota_sensor=site7/{id}/tele/SENSOR", "z2m=home/zb/{id+}"])
    assert router.match("site7/pow9/tele/SENSOR") == ("tasmota_sensor", "pow9")
    assert router.match("home/zb/a/b") == ("z2m", "a/b")
    assert router.subscriptions() == ["site7/+/tele/SENSOR", "home/zb/#"]
    r = parse_message("site7/pow9/tele/SENSOR", b'{"ENERGY":{"Total":2}}', RECEIVED, router=router)
    assert r.readings[0].energy_kwh == 2.0
    with pytest.raises(ValueError):
        compile_pattern("nosuchadapter=a/{id}")
    with pytest.raises(ValueError):
        compile_pattern("z2m=a/b")


def test_default_subscriptions():
    subs = TopicRouter(DEFAULT_TOPIC_PATTERNS).subscriptions()
    assert "zigbee2mqtt/#" in subs and "tele/+/SENSOR" in subs and "+/events/rpc" in subs
    assert not any(s.startswith("zigbee2mqtt/") and s != "zigbee2mqtt/#" for s in subs)


TASMOTA_STATE = (b'{"Time":"2021-01-01T00:05:12","Uptime":"0T00:05:12","UptimeSec":312,"Heap":26,'
                 b'"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":1,"POWER":"OFF",'
                 b'"Wifi":{"AP":1,"SSId":"x","RSSI":60,"Signal":-70}}')


@pytest.mark.parametrize("topic,payload,fmt,device,online,heartbeat", [
    ("zigbee2mqtt/door_1/availability", b'{"state":"online"}', DeviceFormat.ZIGBEE2MQTT, "door_1", True, False),
    ("zigbee2mqtt/door_1/availability", b'{"state":"offline"}', DeviceFormat.ZIGBEE2MQTT, "door_1", False, False),
    ("zigbee2mqtt/floor 2/door/availability", b"online", DeviceFormat.ZIGBEE2MQTT, "floor 2/door", True, False),
    ("zigbee2mqtt/door_1/availability", b"offline", DeviceFormat.ZIGBEE2MQTT, "door_1", False, False),
    ("tele/sw1/LWT", b"Online", DeviceFormat.TASMOTA, "sw1", True, False),
    ("tele/sw1/LWT", b"Offline", DeviceFormat.TASMOTA, "sw1", False, False),
    ("tele/sw1/STATE", TASMOTA_STATE, DeviceFormat.TASMOTA, "sw1", None, True),
    ("tele/sw1/STATE", b"{}", DeviceFormat.TASMOTA, "sw1", None, True),  # a heartbeat however bare
    ("shellyplus1pm-a8032ab12345/online", b"true", DeviceFormat.SHELLY_GEN2, "shellyplus1pm-a8032ab12345",
     True, False),
    ("rentwatch/devices/d7/availability", b"offline", DeviceFormat.GENERIC, "d7", False, False),
    ("rentwatch/devices/d7/availability", b'{"state": "online"}', DeviceFormat.GENERIC, "d7", True, False),
])
def test_availability_and_heartbeats_are_typed(topic, payload, fmt, device, online, heartbeat):
    r = one(topic, payload)
    assert (r.format, r.device, r.online, r.heartbeat) == (fmt, device, online, heartbeat)
    assert r.door_open is None and r.energy_kwh is None  # no reading besides liveness


@pytest.mark.parametrize("topic,payload", [
    ("zigbee2mqtt/door_1/availability", b'{"state":"sleeping"}'),
    ("rentwatch/devices/d7/availability", b"maybe"),
    ("tele/sw1/STATE", b"[1,2]"),
    ("tele/sw1/STATE", b"\xff\xfe"),
])
def test_bad_availability_and_heartbeats_are_errors(topic, payload):
    result = parse_message(topic, payload, RECEIVED)
    assert result.error and not result.readings
