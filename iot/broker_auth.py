"""The embedded broker's access control (amqtt plugins), from the credentials table (iot.credentials):

- CONNECT: a username and its password are required (anonymous and wrong passwords are refused); a client id
  reserved for a consumer account (RW_MQTT_CLIENT_ID, ``issue --consumer --client-id``) is refused to every
  other account, so nobody can take over the consumer's persistent session; a will message on a topic the
  account may not publish is refused too (it would be a publish at disconnect time).
- PUBLISH: only on the account's own topics (iot.acl.device_topics); other publishes are dropped by the broker.
- SUBSCRIBE: the consumer anything (``#``); others only within their own topics.

amqtt calls the plugins on its event loop: password checks (argon2) run in a thread."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

from config.settings import Settings
from core.broker import ANONYMOUS_PLUGINS, SYS_PLUGIN, EmbeddedBroker
from iot.acl import Grant
from iot.credentials import authenticate, reserved_client_ids

log = logging.getLogger("rentwatch.iot.broker_auth")

PLUGIN_PATH = "iot.broker_auth.CredentialPlugin"


class CredentialPlugin(BaseAuthPlugin, BaseTopicPlugin):
    @dataclass
    class Config:
        settings: Any = None  # config.settings.Settings (dacite checks the plugin config's types)

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.settings: Settings = context.config.settings
        self.grants: dict[str, Grant] = {}  # client id → what its connection may do

    async def authenticate(self, *, session: Any) -> bool:
        try:
            grant = await self._grant(session)
        except Exception:  # noqa: BLE001 - e.g. the database is not reachable: refuse, the client retries
            log.exception("checking MQTT credentials failed; refusing the client")
            return False
        if grant is None:
            return False
        if session.client_id:
            self.grants[session.client_id] = grant
        return True

    async def _grant(self, session: Any) -> Grant | None:
        username, password, client_id = session.username, session.password, session.client_id or ""
        if not username or password is None:
            log.info("MQTT client %r refused: no credentials", client_id)
            return None
        password = password.decode() if isinstance(password, bytes) else password
        grant = await authenticate(self.settings, username, password)
        if grant is None:
            log.info("MQTT client %r refused: wrong username or password for %r", client_id, username)
            return None
        owner = (await reserved_client_ids(self.settings)).get(client_id)
        if owner is not None and owner != username:
            log.warning("MQTT client id %r is reserved for %r: refused to %r", client_id, owner, username)
            return None
        if session.will_flag and session.will_topic and not grant.may_publish(session.will_topic):
            log.info("MQTT client %r refused: its will topic %r is not its own", client_id, session.will_topic)
            return None
        return grant

    async def topic_filtering(self, *, session: Any = None, topic: str | None = None,
                              action: Any = None) -> bool:
        grant = self.grants.get(session.client_id) if session is not None else None
        if grant is None or not topic:
            return False
        if action == Action.PUBLISH:
            allowed = grant.may_publish(topic)
            if not allowed:
                log.info("MQTT %r (%s) may not publish on %r: dropped", session.client_id, grant.username, topic)
            return allowed
        if action == Action.SUBSCRIBE:
            return grant.may_subscribe(topic)
        return True  # RECEIVE: the subscription was checked when it was made


def broker_plugins(settings: Settings) -> dict[str, dict]:
    """The embedded broker's plugins: credentials and ACLs unless RW_EMBEDDED_MQTT_AUTH=0 (development only:
    production refuses it, config.settings)."""
    if not settings.embedded_mqtt_auth:
        return ANONYMOUS_PLUGINS
    return {PLUGIN_PATH: {"settings": settings}, **SYS_PLUGIN}


def embedded_broker_for(settings: Settings, *, port: int | None = None) -> EmbeddedBroker | None:
    if not settings.uses_embedded_broker and port is None:
        return None
    return EmbeddedBroker(settings.embedded_mqtt_host, port or settings.embedded_mqtt_port, broker_plugins(settings))
