import subprocess
import sys

import pytest

from config.settings import Settings, SettingsError

STRONG = {"jwt_secret": "j" * 32, "qr_secret": "q" * 32, "wechat_secret": "w" * 32, "wechat_appid": "wx1234567890",
          "party_id_salt": "p" * 32, "mqtt_password": "m" * 32}


def test_dev_defaults_use_embedded_services(tmp_path):
    settings = Settings(var_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite://{tmp_path.as_posix()}/rentwatch.sqlite3"
    assert settings.uses_embedded_broker and settings.mqtt_host_port == ("127.0.0.1", 11883)
    settings.check_secrets()  # dev mode accepts the development secrets


def test_external_services_from_urls():
    settings = Settings(database_url="postgres://u@db:5432/rw", mqtt_url="mqtt://broker.internal:1884")
    assert settings.resolved_database_url == "postgres://u@db:5432/rw"
    assert not settings.uses_embedded_broker and settings.mqtt_host_port == ("broker.internal", 1884)


@pytest.mark.parametrize("url,host_port,tls,credentials", [
    ("mqtt://broker:1884", ("broker", 1884), False, None),
    ("mqtt://broker", ("broker", 1883), False, None),
    ("mqtts://broker", ("broker", 8883), True, None),
    ("ssl://broker:9883", ("broker", 9883), True, None),
    ("mqtts://rw-consumer:s3cret@broker:8884", ("broker", 8884), True, ("rw-consumer", "s3cret")),
    ("mqtt://user%40site:p%3Aw%2Fd%40x@10.0.0.2", ("10.0.0.2", 1883), False, ("user@site", "p:w/d@x")),
    ("mqtt://only-user@broker", ("broker", 1883), False, ("only-user", "")),
])
def test_mqtt_url_carries_credentials_and_tls(url, host_port, tls, credentials):
    settings = Settings(mqtt_url=url)
    assert (settings.mqtt_host_port, settings.mqtt_tls, settings.mqtt_credentials) == (host_port, tls, credentials)
    if credentials and credentials[1]:
        assert credentials[1] not in settings.mqtt_display_url and "***" in settings.mqtt_display_url


def test_embedded_broker_uses_the_configured_consumer_account():
    settings = Settings(mqtt_username="rw-c", mqtt_password="pw-from-config")
    assert settings.mqtt_credentials == ("rw-c", "pw-from-config") and not settings.mqtt_tls
    assert "pw-from-config" not in settings.mqtt_display_url


@pytest.mark.parametrize("override,needle", [
    ({}, None),
    ({"jwt_secret": "change-me"}, "RW_JWT_SECRET"),
    ({"qr_secret": "short"}, "RW_QR_SECRET"),
    ({"wechat_secret": ""}, "RW_WECHAT_SECRET"),
    ({"wechat_appid": "wx-dev-appid"}, "RW_WECHAT_APPID"),
    ({"dev_login": True}, "RW_DEV_LOGIN"),
    ({"party_id_salt": "change-me"}, "RW_PARTY_ID_SALT"),
    ({"mqtt_password": "dev-mqtt-consumer-not-for-production-0"}, "RW_MQTT_PASSWORD"),
    ({"mqtt_password": "changeme"}, "RW_MQTT_PASSWORD"),
    ({"embedded_mqtt_auth": False}, "RW_EMBEDDED_MQTT_AUTH"),
    ({"mqtt_url": "mqtts://broker.internal"}, "RW_MQTT_URL carries no user and password"),
    ({"mqtt_url": "mqtts://rw:secret@broker.internal"}, "RW_MQTT_URL's password"),
    ({"mqtt_url": "mqtts://rw:Zq8%40x2%3Av9s7Kp3mW4nLt@broker.internal"}, None),
])
def test_production_refuses_placeholder_secrets(override, needle):
    settings = Settings(mode="production", **{**STRONG, **override})
    if needle is None:
        settings.check_secrets()
        return
    with pytest.raises(SettingsError, match=needle):
        settings.check_secrets()


def test_production_with_defaults_refuses_every_secret():
    with pytest.raises(SettingsError) as info:
        Settings(mode="production").check_secrets()
    for name in ("RW_JWT_SECRET", "RW_QR_SECRET", "RW_WECHAT_SECRET"):
        assert name in str(info.value)


def test_cli_refuses_to_start_in_production_with_placeholders(tmp_path):
    env = {"RW_MODE": "production", "RW_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "cli.main", "migrate"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "refusing to start in production mode" in result.stderr
    assert not (tmp_path / "rentwatch.sqlite3").exists()
