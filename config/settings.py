"""One typed settings object, read from the environment with the ``RW_`` prefix.

Every component receives this object (``create_app(settings)``, the CLI, the consumer); nothing else
reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev-secret", "placeholder", "test"})
DEV_JWT_SECRET = "dev-secret-not-for-production-0000000000"
DEV_QR_SECRET = "dev-qr-secret-not-for-production-00000000"


class SettingsError(RuntimeError):
    """The configuration cannot be used (e.g. placeholder secrets in production)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RW_", env_file=None, extra="ignore")

    mode: Literal["dev", "production"] = "dev"
    dev_login: bool = Field(False, description="Allow POST /auth/dev-login; only honoured in dev mode.")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    var_dir: Path = Path("var")
    database_url: str = ""  # empty → sqlite file under var_dir
    # MQTT: empty → embedded broker (amqtt) on loopback at embedded_mqtt_port.
    mqtt_url: str = ""
    embedded_mqtt_host: str = "127.0.0.1"
    embedded_mqtt_port: int = 11883
    mqtt_client_id: str = "rentwatch-consumer"
    mqtt_shared_group: str = ""
    mqtt_protocol: Literal["3.1.1", "5"] = "3.1.1"
    run_consumer: bool = True

    jwt_secret: str = DEV_JWT_SECRET
    jwt_ttl_seconds: int = 8 * 3600
    qr_secret: str = DEV_QR_SECRET
    qr_base_url: str = "https://rw.example.cn"
    public_base_url: str = "http://127.0.0.1:8000"

    wechat_appid: str = "wx-dev-appid"
    wechat_secret: str = "dev-wechat-secret"
    wechat_api_base: str = "https://api.weixin.qq.com/"
    wechat_timeout_seconds: float = 5.0
    wechat_miniprogram_state: Literal["developer", "trial", "formal"] = "formal"

    media_dir: Path | None = None  # default var_dir/media
    binding_code_ttl_hours: int = 72
    log_level: str = "INFO"

    @field_validator("wechat_api_base")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    @property
    def dev_login_enabled(self) -> bool:
        return self.dev_login and not self.is_production

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.var_dir / 'rentwatch.sqlite3').as_posix()}"

    @property
    def uses_embedded_broker(self) -> bool:
        return not self.mqtt_url

    @property
    def mqtt_host_port(self) -> tuple[str, int]:
        if self.uses_embedded_broker:
            return self.embedded_mqtt_host, self.embedded_mqtt_port
        parsed = urlparse(self.mqtt_url)
        return parsed.hostname or "127.0.0.1", parsed.port or 1883

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir or (self.var_dir / "media")

    def check_secrets(self) -> None:
        """Refuse to run in production with placeholder or missing secrets."""
        if not self.is_production:
            return
        problems = []
        for name in ("jwt_secret", "qr_secret", "wechat_secret"):
            value = getattr(self, name)
            if value.strip().lower() in PLACEHOLDER_SECRETS or value in (DEV_JWT_SECRET, DEV_QR_SECRET) \
                    or value.startswith("dev-") or len(value) < 16:
                problems.append(f"RW_{name.upper()} is missing, a placeholder or shorter than 16 characters")
        if self.wechat_appid.startswith("wx-dev"):
            problems.append("RW_WECHAT_APPID is the development placeholder")
        if self.dev_login:
            problems.append("RW_DEV_LOGIN must be off in production")
        if problems:
            raise SettingsError("refusing to start in production mode: " + "; ".join(problems))


def load_settings(**overrides) -> Settings:
    settings = Settings(**overrides)
    settings.check_secrets()
    return settings
