"""Connecting a paho client as the settings say: credentials and TLS from ``RW_MQTT_URL`` (or the embedded
broker's consumer account), the CA from ``RW_MQTT_CA_FILE``. One place, for the consumer and the simulator."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt

from config.settings import Settings


def configure_client(client: mqtt.Client, settings: Settings, credentials: tuple[str, str] | None) -> None:
    """Credentials (None: anonymous) and TLS. A TLS connection always verifies the broker's certificate and host
    name (against ``mqtt_ca_file``, else the system's CAs)."""
    if credentials is not None:
        client.username_pw_set(credentials[0], credentials[1])
    if settings.mqtt_tls:
        client.tls_set(ca_certs=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
                       cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
