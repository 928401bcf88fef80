"""The embedded MQTT broker (amqtt) for the single-machine default. It listens on loopback only, on its
own port (default 11883) because a real Mosquitto often holds 1883; a taken port is a clear error."""

from __future__ import annotations

import logging
import socket
from typing import Any

from config.settings import Settings

log = logging.getLogger("rentwatch.broker")


class BrokerPortTaken(RuntimeError):
    pass


def ensure_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise BrokerPortTaken(
                f"cannot start the embedded MQTT broker: {host}:{port} is already in use ({exc.strerror}). "
                f"Set RW_EMBEDDED_MQTT_PORT to a free port, or RW_MQTT_URL=mqtt://host:port to use an "
                f"existing broker.") from None


def broker_config(host: str, port: int) -> dict:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "timeout_disconnect_delay": 0,
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            "amqtt.plugins.sys.broker.BrokerSysPlugin": {"sys_interval": 0},
        },
    }


class EmbeddedBroker:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._broker: Any = None  # amqtt.broker.Broker (amqtt is untyped)

    async def start(self) -> None:
        from amqtt.broker import Broker

        ensure_port_free(self.host, self.port)
        self._broker = Broker(broker_config(self.host, self.port))
        await self._broker.start()
        log.info("embedded MQTT broker listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None


def embedded_broker_for(settings: Settings) -> EmbeddedBroker | None:
    if not settings.uses_embedded_broker:
        return None
    return EmbeddedBroker(settings.embedded_mqtt_host, settings.embedded_mqtt_port)
