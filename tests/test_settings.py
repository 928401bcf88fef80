import subprocess
import sys

import pytest

from config.settings import Settings, SettingsError

STRONG = {"jwt_secret": "j" * 32, "qr_secret": "q" * 32, "wechat_secret": "w" * 32, "wechat_appid": "wx1234567890",
          "party_id_salt": "p" * 32}


def test_dev_defaults_use_embedded_services(tmp_path):
    settings = Settings(var_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite://{tmp_path.as_posix()}/rentwatch.sqlite3"
    assert settings.uses_embedded_broker and settings.mqtt_host_port == ("127.0.0.1", 11883)
    settings.check_secrets()  # dev mode accepts the development secrets


def test_external_services_from_urls():
    settings = Settings(database_url="postgres://u@db:5432/rw", mqtt_url="mqtt://broker.internal:1884")
    assert settings.resolved_database_url == "postgres://u@db:5432/rw"
    assert not settings.uses_embedded_broker and settings.mqtt_host_port == ("broker.internal", 1884)


@pytest.mark.parametrize("override,needle", [
    ({}, None),
    ({"jwt_secret": "change-me"}, "RW_JWT_SECRET"),
    ({"qr_secret": "short"}, "RW_QR_SECRET"),
    ({"wechat_secret": ""}, "RW_WECHAT_SECRET"),
    ({"wechat_appid": "wx-dev-appid"}, "RW_WECHAT_APPID"),
    ({"dev_login": True}, "RW_DEV_LOGIN"),
    ({"party_id_salt": "change-me"}, "RW_PARTY_ID_SALT"),
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
