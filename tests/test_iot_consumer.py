"""The consumer's own MQTT packet reading (iot.consumer.packet_bounds / fast_publish), checked against paho's
decoder, the JSON fast path of the adapters (iot.adapters.load_json) checked against json.loads, and the bounded
paho-thread → event-loop hand-off (iot.consumer.HandOff) with real threads."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion

from iot.adapters import PayloadError, load_json
from iot.consumer import HandOff, fast_publish, packet_bounds


def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def publish(topic: bytes, payload: bytes, *, qos: int = 1, mid: int = 7, v5: bool = False, props: bytes = b"",
            dup: bool = False, retain: bool = False) -> bytes:
    """A whole PUBLISH packet as a broker sends it (props: the encoded MQTT 5 properties, without their length)."""
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += mid.to_bytes(2, "big")
    if v5:
        body += remaining_length(len(props)) + props
    body += payload
    command = 0x30 | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
    return bytes([command]) + remaining_length(len(body)) + body


@pytest.mark.parametrize("buf,pos,expect", [
    (b"\x40\x02\x00\x07", 0, (0x40, 2, 4)),  # PUBACK
    (b"\xd0\x00", 0, (0xD0, 2, 2)),  # PINGRESP, empty body
    (b"xx\xd0\x00", 2, (0xD0, 4, 4)),  # from an offset
    (b"\x40\x02\x00\x07\xd0\x00", 4, (0xD0, 6, 6)),  # the second of two packets
    (b"\x30\x7f" + b"a" * 127, 0, (0x30, 2, 129)),  # largest one-byte length
    (b"\x30\x80\x01" + b"a" * 128, 0, (0x30, 3, 131)),  # two length bytes
    (b"\x30\xff\x7f" + b"a" * 16383, 0, (0x30, 3, 16386)),
    (b"\x30\x80\x80\x01" + b"a" * 16384, 0, (0x30, 4, 16388)),  # three length bytes
    (b"\x30\x80\x80\x80\x01" + b"a" * 2097152, 0, (0x30, 5, 2097157)),  # four length bytes
    (b"", 0, None),  # nothing yet
    (b"\x30", 0, None),  # command byte only
    (b"\x30\x80", 0, None),  # length continues in the next read
    (b"\x40\x02\x00", 0, None),  # body incomplete
    (b"\x30\x80\x01" + b"a" * 127, 0, None),
])
def test_packet_bounds(buf, pos, expect):
    assert packet_bounds(buf, pos) == expect


def test_packet_bounds_refuses_a_five_byte_remaining_length():
    with pytest.raises(ValueError):
        packet_bounds(b"\x30\x80\x80\x80\x80\x01", 0)


PAYLOAD = b'{"ENERGY":{"Total":1.5}}'


@pytest.mark.parametrize("packet,v5,expect", [
    # the common cases, decoded here: (topic, payload, mid, qos)
    (publish(b"tele/pow1/SENSOR", PAYLOAD), False, ("tele/pow1/SENSOR", PAYLOAD, 7, 1, False, False)),
    (publish(b"tele/pow1/SENSOR", PAYLOAD, v5=True), True, ("tele/pow1/SENSOR", PAYLOAD, 7, 1, False, False)),
    (publish(b"t", PAYLOAD, qos=0), False, ("t", PAYLOAD, 0, 0, False, False)),
    (publish(b"t", PAYLOAD, qos=0, v5=True), True, ("t", PAYLOAD, 0, 0, False, False)),
    (publish(b"t", b"", mid=65535), False, ("t", b"", 65535, 1, False, False)),  # empty payload
    (publish(b"t", b"", mid=1, v5=True), True, ("t", b"", 1, 1, False, False)),
    (publish(b"t", PAYLOAD, dup=True, retain=True), False, ("t", PAYLOAD, 7, 1, True, True)),  # redelivery, retained
    (publish(b"t", PAYLOAD, dup=True, v5=True), True, ("t", PAYLOAD, 7, 1, True, False)),
    (publish(b"t", PAYLOAD, qos=0, retain=True, v5=True), True, ("t", PAYLOAD, 0, 0, False, True)),
    (publish("门磁/1".encode(), PAYLOAD, v5=True), True, ("门磁/1", PAYLOAD, 7, 1, False, False)),
    # binary, multi-byte length
    (publish(b"t", b"\x00\xff" * 300), False, ("t", b"\x00\xff" * 300, 7, 1, False, False)),
    # left to paho's decoder (None): QoS 2, MQTT 5 properties, empty topic / topic alias, invalid UTF-8
    (publish(b"t", PAYLOAD, qos=2), False, None),
    (publish(b"t", PAYLOAD, qos=2, v5=True), True, None),
    (publish(b"t", PAYLOAD, v5=True, props=b"\x01\x01"), True, None),  # payload format indicator
    (publish(b"t", PAYLOAD, v5=True, props=b"\x02\x00\x00\x00\x3c"), True, None),  # message expiry
    (publish(b"", PAYLOAD, v5=True, props=b"\x23\x00\x01"), True, None),  # topic alias
    (publish(b"", PAYLOAD), False, None),  # malformed on 3.1.1: paho reports it
    (publish(b"t\xff", PAYLOAD), False, None),
    (b"\x40\x02\x00\x07", False, None),  # not a PUBLISH (PUBACK)
])
def test_fast_publish_agrees_with_paho(packet, v5, expect):
    command, start, end = packet_bounds(packet, 0)
    assert end == len(packet)
    assert fast_publish(packet, start, end, command, v5) == expect
    if expect is not None:  # paho reads the same packet the same way
        protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
        paho = _packet.decode_publish(command, packet[start:end], protocol)
        assert (paho.topic.decode(), paho.payload, paho.mid, paho.qos, paho.dup, paho.retain) == expect
        if v5:
            assert not paho.properties.json()  # no properties lost on the fast path


def test_fast_publish_reads_packets_inside_a_larger_buffer():
    first, second = publish(b"a/1", b"one", mid=1), publish(b"b/2", b"two", mid=2, qos=0)
    buf = b"\xd0\x00" + first + second + first[:5]  # a PINGRESP before, half a packet after
    seen, pos = [], 0
    while (bounds := packet_bounds(buf, pos)) is not None:
        command, start, end = bounds
        seen.append(fast_publish(buf, start, end, command, False))
        pos = end
    assert seen == [None, ("a/1", b"one", 1, 1, False, False), ("b/2", b"two", 0, 0, False, False)]
    assert buf[pos:] == first[:5]


@pytest.mark.parametrize("truncated", [
    b"\x32\x01\x00",  # topic length cut
    b"\x32\x03\x00\x05t",  # topic longer than the packet
    b"\x32\x04\x00\x01t\x00",  # packet id cut
    b"\x30\x03\x00\x05t",  # QoS 0, topic longer than the packet
])
def test_fast_publish_leaves_truncated_packets_to_paho(truncated):
    command, start, end = packet_bounds(truncated, 0)
    assert fast_publish(truncated, start, end, command, False) is None
    assert fast_publish(truncated, start, end, command, True) is None


@pytest.mark.parametrize("payload", [
    b'{"a":1}',
    b'{"a": [1, 2.5, "x", null, true]}',
    b'{"a":1}  \n',  # trailing whitespace
    b' {"a":1}',  # leading whitespace
    b'{"a":1}{"b":2}',  # extra data
    b'{"a":1} x',
    b'{"a":',  # truncated
    b'{"a":NaN}',
    '{"门":"磁"}'.encode(),
    b'{"a":"\xff"}',  # invalid UTF-8
    b'{"a":"\xed\xa0\x80"}',  # an encoded surrogate (json.loads decodes with surrogatepass)
    b"\xef\xbb\xbf" + b'{"a":1}',  # UTF-8 byte order mark
    '{"a":1}'.encode("utf-16-le"),  # UTF-16 without a byte order mark ('{' then a zero byte)
    '{"a":1}'.encode("utf-16"),
    '{"a":1}'.encode("utf-32-le"),
    b"{",
    b"{}",
    b"[1]",
    b"",
])
def test_load_json_is_json_loads(payload):
    try:
        expected = ("ok", json.loads(payload))
    except ValueError as exc:  # what load_json wraps
        expected = ("error", f"not JSON: {exc}")
    try:
        got = ("ok", load_json(payload))
    except PayloadError as exc:
        got = ("error", str(exc))
    assert repr(got) == repr(expected)  # repr: NaN compares unequal to itself


async def until(predicate, what: str, timeout: float = 10.0) -> None:
    """Bounded polling: an upper bound for "eventually", not a performance threshold."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_handoff_blocks_the_producer_when_full_until_the_loop_releases_slots():
    handoff = HandOff(asyncio.get_running_loop(), size=2)
    returned: list[bool] = []

    def paho_thread():
        for item in ("a", "b", "c"):
            returned.append(handoff.put(item, lambda: False))

    thread = threading.Thread(target=paho_thread, daemon=True)
    thread.start()
    await until(lambda: len(returned) == 2, "two items handed over")
    thread.join(0.2)  # the third put waits for a free slot
    assert thread.is_alive() and len(returned) == 2 and len(handoff) == 2
    assert await handoff.get_batch(10, 5) == ["a", "b"]  # the loop was woken from the other thread
    thread.join(0.1)  # taken but not yet stored: the slots are still in use
    assert thread.is_alive() and len(returned) == 2
    handoff.release(2)  # stored and acknowledged
    await asyncio.to_thread(thread.join, 10)
    assert not thread.is_alive() and returned == [True, True, True]
    assert await handoff.get_batch(10, 5) == ["c"]
    handoff.release(1)
    assert await handoff.get_batch(10, 0.01) == []  # nothing waiting: the timeout, not a hang
    with pytest.raises(ValueError):
        handoff.release(1)


async def test_handoff_gives_up_a_blocked_put_when_the_consumer_closes():
    handoff = HandOff(asyncio.get_running_loop(), size=1)
    closing = threading.Event()
    returned: list[bool] = []

    def paho_thread():
        for item in ("a", "b"):
            returned.append(handoff.put(item, closing.is_set))

    thread = threading.Thread(target=paho_thread, daemon=True)
    thread.start()
    await until(lambda: len(returned) == 1, "the first item handed over")
    closing.set()  # the broker redelivers what was not handed over: the put gives up instead of waiting forever
    await asyncio.to_thread(thread.join, 10)
    assert not thread.is_alive() and returned == [True, False] and handoff.take(10) == ["a"]
