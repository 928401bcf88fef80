import asyncio
import socket

import paho.mqtt.client as mqtt
import pytest

from core.broker import BrokerPortTaken, EmbeddedBroker, ensure_port_free
from tests.conftest import free_port


def test_taken_port_is_a_clear_error():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(BrokerPortTaken, match=f"127.0.0.1:{port} is already in use.*RW_EMBEDDED_MQTT_PORT"):
            ensure_port_free("127.0.0.1", port)


async def test_embedded_broker_delivers_a_message():
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port)
    await broker.start()
    received: list[bytes] = []
    got = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-sub")
        sub.on_message = lambda c, u, msg: (received.append(msg.payload), loop.call_soon_threadsafe(got.set))
        subscribed = asyncio.Event()
        sub.on_subscribe = lambda *a: loop.call_soon_threadsafe(subscribed.set)
        sub.on_connect = lambda c, u, f, rc, p: c.subscribe("rw/test", qos=1)
        await asyncio.to_thread(sub.connect, "127.0.0.1", port)
        sub.loop_start()
        await asyncio.wait_for(subscribed.wait(), 10)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-pub")
        await asyncio.to_thread(pub.connect, "127.0.0.1", port)
        pub.loop_start()
        pub.publish("rw/test", b"hello", qos=1).wait_for_publish(10)
        await asyncio.wait_for(got.wait(), 10)
        assert received == [b"hello"]
        pub.loop_stop()
        pub.disconnect()
        sub.loop_stop()
        sub.disconnect()
    finally:
        await broker.stop()
