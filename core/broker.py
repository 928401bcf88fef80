"""The embedded MQTT broker (amqtt) for the single-machine default. It listens on loopback only, on its
own port (default 11883) because a real Mosquitto often holds 1883; a taken port is a clear error.

Which clients it accepts is the caller's choice of amqtt plugins (``plugins``): iot.broker_auth gives the
credential and ACL plugins (the default of ``rentwatch serve``); ``ANONYMOUS_PLUGINS`` accepts everyone.
amqtt 0.12.1 looks up, deletes (clean session) or takes over an existing session of the CONNECT's client id
*before* it asks the auth plugins; ``AuthFirstBroker`` asks them first, so a refused client cannot drop or
take over the consumer's persistent session."""

from __future__ import annotations

import logging
import socket
from typing import Any

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


SYS_PLUGIN = {"amqtt.plugins.sys.broker.BrokerSysPlugin": {"sys_interval": 0}}
ANONYMOUS_PLUGINS: dict[str, dict] = {
    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}, **SYS_PLUGIN}
#: ``AuthFirstBroker`` repeats part of amqtt's ``Broker._initialize_client_session`` of exactly this version
AMQTT_VERSION = "0.12.1"


def broker_config(host: str, port: int, plugins: dict[str, dict]) -> dict:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "timeout_disconnect_delay": 0,
        "plugins": plugins,
    }


def auth_first_broker_class() -> type:
    """amqtt's Broker, authenticating a CONNECT before it touches the sessions (see the module docstring)."""
    import amqtt
    from amqtt.broker import Broker
    from amqtt.errors import AMQTTError, MQTTError, NoDataError
    from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
    from amqtt.utils import gen_client_id

    if amqtt.__version__ != AMQTT_VERSION:
        raise RuntimeError(f"amqtt {amqtt.__version__} is not {AMQTT_VERSION}, which core.broker.AuthFirstBroker "
                           f"was written for: pin amqtt=={AMQTT_VERSION}")

    class AuthFirstBroker(Broker):
        async def _initialize_client_session(self, reader, writer, remote_address, remote_port):
            try:
                handler, session = await BrokerProtocolHandler.init_from_connect(reader, writer,
                                                                                 self.plugins_manager)
            except (AMQTTError, NoDataError) as exc:
                raise AMQTTError(exc) from exc
            except MQTTError:
                await writer.close()
                raise
            if not session.client_id:
                session.client_id = gen_client_id()  # before the plugins see it: they key grants by it
            if not await super()._authenticate(session, None):
                session.parent = 0
                handler.attach(session, reader, writer)
                await handler.mqtt_connack_authorize(False)
                await writer.close()
                raise MQTTError(f"client {session.client_id!r} refused before its session was looked up")
            # from here on: amqtt 0.12.1's own code
            if session.clean_session:
                if session.client_id:
                    await self._delete_session(session.client_id)
                else:
                    session.client_id = gen_client_id()
                session.parent = 0
            elif session.client_id in self._sessions:
                existing, _ = self._sessions[session.client_id]
                for name in ("will_flag", "will_message", "will_topic", "will_qos", "keep_alive", "username",
                             "password"):
                    setattr(existing, name, getattr(session, name))
                session = existing
                session.parent = 1
            else:
                session.parent = 0
            delay = self.config.get("timeout-disconnect-delay", 0)
            if session.keep_alive > 0 and isinstance(delay, int):
                session.keep_alive += delay
            session.rw_authenticated = True  # read once by _authenticate below, which amqtt calls next
            return handler, session

        async def _authenticate(self, session, listener):
            """amqtt asks again in ``_handle_client_session``: this CONNECT was authenticated just before."""
            if getattr(session, "rw_authenticated", False):
                session.rw_authenticated = False
                return True
            return await super()._authenticate(session, listener)

    return AuthFirstBroker


class EmbeddedBroker:
    def __init__(self, host: str, port: int, plugins: dict[str, dict]):
        """``plugins``: amqtt plugin path → its config (iot.broker_auth.broker_plugins, or ANONYMOUS_PLUGINS)."""
        self.host, self.port, self.plugins = host, port, plugins
        self._broker: Any = None  # amqtt.broker.Broker (amqtt is untyped)

    async def start(self) -> None:
        ensure_port_free(self.host, self.port)
        self._broker = auth_first_broker_class()(broker_config(self.host, self.port, self.plugins))
        await self._broker.start()
        log.info("embedded MQTT broker listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
