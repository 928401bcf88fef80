import asyncio
import socket

import paho.mqtt.client as mqtt
import pytest

from core.broker import BrokerPortTaken, ensure_port_free
from iot.broker_auth import embedded_broker_for
from tests.conftest import free_port
from tests.support.mqtt import issue_test_accounts


def test_taken_port_is_a_clear_error():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(BrokerPortTaken, match=f"127.0.0.1:{port} is already in use.*RW_EMBEDDED_MQTT_PORT"):
            ensure_port_free("127.0.0.1", port)


async def test_embedded_broker_delivers_a_message(db, settings):
    """With authentication on (the default): the consumer account subscribes, a device account publishes."""
    port = free_port()
    broker = embedded_broker_for(settings, port=port)
    await broker.start()
    accounts = await issue_test_accounts(settings, ("rw/test",))
    received: list[bytes] = []
    got = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-sub")
        sub.username_pw_set(*accounts.consumer)
        sub.on_message = lambda c, u, msg: (received.append(msg.payload), loop.call_soon_threadsafe(got.set))
        subscribed = asyncio.Event()
        sub.on_subscribe = lambda *a: loop.call_soon_threadsafe(subscribed.set)
        sub.on_connect = lambda c, u, f, rc, p: c.subscribe("rw/test", qos=1)
        await asyncio.to_thread(sub.connect, "127.0.0.1", port)
        sub.loop_start()
        await asyncio.wait_for(subscribed.wait(), 10)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-pub")
        pub.username_pw_set(*accounts.publisher)
        await asyncio.to_thread(pub.connect, "127.0.0.1", port)
        pub.loop_start()
        await asyncio.to_thread(pub.publish("rw/test", b"hello", qos=1).wait_for_publish, 10)
        await asyncio.wait_for(got.wait(), 10)
        assert received == [b"hello"]
        pub.loop_stop()
        pub.disconnect()
        sub.loop_stop()
        sub.disconnect()
    finally:
        await broker.stop()


async def test_without_auth_only_when_asked(db, settings):
    """RW_EMBEDDED_MQTT_AUTH=0 (development only; production refuses it) accepts anonymous clients."""
    from core.broker import ANONYMOUS_PLUGINS
    from iot.broker_auth import PLUGIN_PATH, broker_plugins

    assert PLUGIN_PATH in broker_plugins(settings)
    assert broker_plugins(settings.model_copy(update={"embedded_mqtt_auth": False})) == ANONYMOUS_PLUGINS
