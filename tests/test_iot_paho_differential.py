"""Differential test of the consumer's own MQTT reading (iot.consumer.ConsumerClient: buffered reads,
``packet_bounds``, ``fast_publish``) against stock paho on the same byte stream.

A fuzzed corpus (hypothesis): PUBLISH packets of QoS 0/1/2 with retain and dup flags, MQTT 5 properties and topic
aliases (empty topic), property strings paho refuses (a NUL: both drop the connection), PUBREL for the QoS 2 ones,
PUBACK/PINGRESP in between, sometimes a payload larger than one socket read; the stream is cut at arbitrary points
and several packets arrive per read. Both clients read it from a real socket pair; what reaches the application
(topic bytes, payload, mid, qos, dup, retain, properties), whether the connection is dropped, and what the client
writes back (PUBREC/PUBCOMP) must be identical. Small example budget: this runs in `make test`.
"""

from __future__ import annotations

import logging
import socket

import paho.mqtt as paho_mqtt
import paho.mqtt.client as mqtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from iot.consumer import PAHO_FAST_PATH_VERSION, BufferedSocket, ConsumerClient, client_class


def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def packet(command: int, body: bytes) -> bytes:
    return bytes([command]) + remaining_length(len(body)) + body


@st.composite
def properties(draw) -> bytes:
    """Encoded MQTT 5 PUBLISH properties (with their length), possibly none."""
    props = Properties(PacketTypes.PUBLISH)
    if draw(st.booleans()):
        props.PayloadFormatIndicator = draw(st.integers(0, 1))
    if draw(st.booleans()):
        props.MessageExpiryInterval = draw(st.integers(0, 2**32 - 1))
    if draw(st.booleans()):
        props.TopicAlias = draw(st.integers(1, 20))
    if draw(st.booleans()):
        props.ResponseTopic = draw(st.text(max_size=12))
    if draw(st.booleans()):
        props.CorrelationData = draw(st.binary(max_size=12))
    if draw(st.booleans()):
        props.UserProperty = draw(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), min_size=1,
                                           max_size=3))
    if draw(st.booleans()):
        props.ContentType = draw(st.text(max_size=10))
    return props.pack()


TOPICS = st.one_of(st.text(min_size=1, max_size=40).map(str.encode),
                   st.sampled_from([b"tele/pow1/SENSOR", "门磁/1".encode(), b"zigbee2mqtt/a/b/c"]))


@st.composite
def publish(draw, v5: bool) -> list[bytes]:
    """One PUBLISH (and the PUBREL a broker sends after our PUBREC, for QoS 2)."""
    qos = draw(st.integers(0, 2))
    mid = draw(st.integers(1, 65535))
    alias = v5 and draw(st.integers(0, 4)) == 0
    topic = b"" if alias else draw(TOPICS)
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += mid.to_bytes(2, "big")
    if v5:
        props = draw(properties())
        if alias and b"\x23" not in props[:1]:
            alias_prop = Properties(PacketTypes.PUBLISH)
            alias_prop.TopicAlias = draw(st.integers(1, 20))
            props = alias_prop.pack()
        body += props
    big = draw(st.integers(0, 15)) == 0  # larger than one 256 KiB socket read
    body += bytes(range(256)) * 1200 if big else draw(st.binary(max_size=200))
    command = 0x30 | (qos << 1) | (0x08 if draw(st.booleans()) else 0) | (0x01 if draw(st.booleans()) else 0)
    out = [packet(command, body)]
    if qos == 2:
        out.append(packet(0x62, mid.to_bytes(2, "big") + (b"\x00" if v5 else b"")))
    return out


@st.composite
def stream(draw) -> tuple[bool, bytes, list[int]]:
    v5 = draw(st.booleans())
    parts: list[bytes] = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            parts.append(b"\xd0\x00")  # PINGRESP
        elif kind == 1:
            parts.append(packet(0x40, draw(st.integers(1, 65535)).to_bytes(2, "big")))  # PUBACK, unknown mid
        else:
            parts += draw(publish(v5))
    data = b"".join(parts)
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=8))))
    return v5, data, cuts


class Recorder:
    """A client reading from one end of a socket pair; records what reaches the application."""

    def __init__(self, cls: type[mqtt.Client], v5: bool):
        self.seen: list[tuple] = []
        self.client = cls(mqtt.CallbackAPIVersion.VERSION2, client_id="diff",
                          protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, manual_ack=True)
        self.client.on_message = self.on_message
        if isinstance(self.client, ConsumerClient):
            self.client.on_raw_message = self.on_raw
        self.ours, self.theirs = socket.socketpair()
        self.ours.setblocking(False)
        self.theirs.setblocking(False)
        self.client._sock = BufferedSocket(self.ours) if isinstance(self.client, ConsumerClient) else self.ours
        self.v5 = v5

    def on_message(self, client, userdata, msg):
        props = msg.properties.json() if self.v5 else None
        self.seen.append((msg._topic, msg.payload, msg.mid, msg.qos, bool(msg.dup), bool(msg.retain), props))

    def on_raw(self, topic, payload, mid, qos, dup, retain):
        self.seen.append((topic.encode(), payload, mid, qos, dup, retain, {} if self.v5 else None))

    @property
    def closed(self) -> bool:
        """The client dropped the connection (a malformed packet: paho closes the socket)."""
        return self.client._sock is None

    def feed(self, chunk: bytes, reads: int) -> None:
        if self.closed:
            return
        self.theirs.sendall(chunk)
        for _ in range(reads):
            self.client.loop_read()

    def written(self) -> bytes:
        out = b""
        while True:
            try:
                data = self.theirs.recv(65536)
            except (BlockingIOError, ConnectionResetError):
                return out
            if not data:
                return out
            out += data

    def close(self) -> None:
        self.client._sock = None
        self.ours.close()
        self.theirs.close()


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(stream())
def test_consumer_client_reads_every_stream_exactly_as_paho(case):
    v5, data, cuts = case
    ours, stock = Recorder(ConsumerClient, v5), Recorder(mqtt.Client, v5)
    try:
        bounds = [0, *cuts, len(data)]
        reads = 30  # loop_read calls per chunk: stock paho handles one packet per call, a stream has at most 20
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            chunk = data[start:end]
            while chunk:  # a socket pair holds a few hundred KiB: feed large chunks in slices
                piece, chunk = chunk[:100_000], chunk[100_000:]
                ours.feed(piece, reads)
                stock.feed(piece, reads)
        assert ours.seen == stock.seen
        assert ours.closed == stock.closed
        assert ours.written() == stock.written()
        assert sorted(ours.client._in_messages) == sorted(stock.client._in_messages)
    finally:
        ours.close()
        stock.close()


def test_the_fast_path_is_used_only_on_the_paho_version_it_was_written_for(caplog):
    assert paho_mqtt.__version__ == PAHO_FAST_PATH_VERSION  # pyproject pins it; the differential test covers it
    assert client_class(PAHO_FAST_PATH_VERSION) is ConsumerClient
    with caplog.at_level(logging.WARNING, logger="rentwatch.iot.consumer"):
        assert client_class("2.3.0") is mqtt.Client
    assert "using stock paho" in caplog.text
