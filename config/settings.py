"""One typed settings object, read from the environment with the ``RW_`` prefix.

Every component receives this object (``create_app(settings)``, the CLI, the consumer); nothing else
reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev-secret", "placeholder", "test"})
DEV_JWT_SECRET = "dev-secret-not-for-production-0000000000"
DEV_QR_SECRET = "dev-qr-secret-not-for-production-00000000"
DEV_PARTY_ID_SALT = "dev-party-id-salt-not-for-production-0"
DEV_MQTT_PASSWORD = "dev-mqtt-consumer-not-for-production-0"
MQTT_TLS_SCHEMES = frozenset({"mqtts", "ssl", "tls"})
#: The time zone of the portfolio's business days, and of building and device times given without an offset.
DEFAULT_TIMEZONE = "Asia/Shanghai"


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
    # MQTT: empty → embedded broker (amqtt) on loopback at embedded_mqtt_port. Otherwise
    # mqtt://[user:password@]host[:1883] or mqtts://[user:password@]host[:8883] (TLS, verified against
    # mqtt_ca_file, else the system's CAs). Percent-encode ':' '@' '/' in the user or password.
    mqtt_url: str = ""
    mqtt_ca_file: Path | None = None
    # The consumer's own account on the embedded broker (an external broker's comes in mqtt_url).
    mqtt_username: str = "rentwatch-consumer"
    mqtt_password: str = DEV_MQTT_PASSWORD
    embedded_mqtt_auth: bool = True  # the embedded broker requires credentials and enforces the ACLs
    embedded_mqtt_host: str = "127.0.0.1"
    embedded_mqtt_port: int = 11883
    mqtt_client_id: str = "rentwatch-consumer"
    mqtt_shared_group: str = ""
    mqtt_protocol: Literal["3.1.1", "5"] = "3.1.1"
    run_consumer: bool = True

    # Per-worker caches (core.changes): who is calling, scanned unit cards. Changes made by other workers or
    # processes show within cache_poll_seconds; a worker's own writes show at once. 0 TTL turns a cache off.
    cache_enabled: bool = True
    cache_poll_seconds: float = 1.0
    cache_principal_ttl_seconds: float = 300.0
    cache_card_ttl_seconds: float = 60.0
    cache_max_entries: int = 20000

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

    # --- field inspection (inspections/, docs/inspections.md) ---
    inspection_max_accuracy_m: float = 100.0  # a fix less accurate than this is refused
    inspection_max_speed_kmh: float = 150.0  # faster travel between a user's consecutive fixes is suspicious
    inspection_confirm_window_hours: int = 72  # double confirmation must happen within this window
    inspection_interval_days: int = 30  # a unit is due for inspection after this long
    inspection_sync_horizon_days: int = 7  # offline items captured longer ago are refused
    photo_max_bytes: int = 10 * 1024 * 1024
    photo_max_pixels: int = 40_000_000  # decided from the image header, before decoding (baseline JPEG: draft mode)
    # Formats decoded at full size get lower caps, keeping an upload's peak memory under ~150 MB (docs/inspections.md)
    photo_max_pixels_png: int = 12_000_000
    photo_max_pixels_webp: int = 8_000_000
    photo_max_pixels_progressive_jpeg: int = 20_000_000
    photo_exif_max_skew_minutes: int = 30  # photo EXIF time vs report time
    photo_exif_max_distance_m: float = 500.0  # photo EXIF GPS vs report location
    label_font_path: Path | None = None  # CJK font for labels; default: search the system (fonts-wqy-microhei)
    log_level: str = "INFO"

    # --- deposit refunds, notifications (outbox), lease reminders (docs/refunds.md, notifications.md) ---
    refund_sla_hours: dict[str, int] = Field(default_factory=lambda: {"INSPECTED": 24, "SETTLED": 48,
                                                                      "APPROVED": 24})
    refund_paid_business_days: int = 1  # PAID is due by the end of the T+n-th working day after approval
    refund_auto_complete_days: int = 7  # PAID → COMPLETED when the tenant has not confirmed within n days
    refund_escalation_hours: int = 48  # a node older than this is flagged red and escalated once
    refund_progress_token_days: int = 30
    business_timezone: str = DEFAULT_TIMEZONE
    notify_templates: dict[str, dict] = Field(default_factory=dict)  # kind → {template_id, page, fields}
    notify_lang: str = "zh_CN"
    outbox_max_attempts: int = 6
    outbox_backoff_base_seconds: float = 30.0
    outbox_backoff_max_seconds: float = 3600.0
    outbox_batch_size: int = 50
    outbox_poll_seconds: float = 2.0
    outbox_claim_seconds: int = 120
    scheduler_interval_seconds: float = 300.0
    lease_reminder_rules: dict[str, list[dict]] = Field(default_factory=dict)  # property type → tiers; {} → default

    # --- IoT ingest and detection (iot/, docs/iot.md) ---
    mqtt_keepalive_seconds: int = 30
    mqtt_session_expiry_seconds: int = 7 * 86400  # MQTT 5: how long the broker keeps our session offline
    # "<adapter>=<pattern>" lines; None: the adapters' own (iot.adapters.DEFAULT_TOPIC_PATTERNS, which know them)
    iot_topic_patterns: list[str] | None = None
    iot_timezone: str = DEFAULT_TIMEZONE  # device times without offset, for devices not bound to a building
    iot_queue_size: int = 20000  # paho → asyncio hand-off; when full the paho thread blocks (back-pressure)
    iot_batch_size: int = 4000  # per transaction: amortizes commit + instant-rule queries (bench: 1000 → 4000 = +50%)
    iot_flush_ms: int = 100
    iot_raw_retention_days: int = 30
    iot_dead_letter_max_bytes: int = 2048  # payload kept in the dead-letter table, truncated
    iot_door_offline_hours: float = 25.0
    iot_meter_offline_periods: float = 3.0  # meters: offline after 3 × their reporting period
    iot_tasmota_teleperiod_seconds: int = 300  # Tasmota TelePeriod: tele/STATE heartbeats (a device's own
    # report_period_s overrides it); missing for iot_meter_offline_periods × that → offline
    iot_availability_grace_minutes: float = 0.0  # an "offline" availability counts after this long (0: at once)
    iot_electricity_period_seconds: int = 300  # Tasmota TelePeriod default
    iot_water_period_seconds: int = 3600
    iot_battery_low_percent: int = 15
    iot_vacant_kwh_per_day: float = 1.5  # at or below: the unit's electricity looks vacant
    iot_vacant_m3_per_day: float = 0.03
    iot_vacant_kwh_per_hour: float = 0.15
    iot_vacant_m3_per_hour: float = 0.005
    iot_night_hours: tuple[int, int] = (0, 6)  # local [start, end) counted as night-time
    iot_min_coverage_hours: int = 12  # a meter with fewer hours of data in a day does not count
    iot_no_activity_days: int = 14
    iot_lease_end_grace_days: int = 2
    iot_sublet_window_days: int = 7
    iot_sublet_own_ratio: float = 2.0
    iot_sublet_cohort_ratio: float = 2.0
    iot_sublet_turnover_changes: int = 6  # vacant↔occupied switches in 30 days: short-let pattern
    iot_sublet_score_threshold: float = 0.6  # ≤ 0.7 (iot.occupancy.SUBLET_STRONG): one strong reason suffices
    iot_sublet_clear_score: float = 0.3  # an open suspicion clears only below this score ...
    iot_sublet_clear_days: int = 3  # ... on this many consecutive days (and with no visit pending)
    iot_alert_clear_hours: float = 24.0  # hysteresis before an alert whose condition went false is cleared
    iot_moveout_quiet_hours: int = 24  # MOVE_OUT_PENDING: quiet this long → cleaning work order
    iot_max_kw: float = 25.0  # electricity faster than this is an implausible spike
    iot_max_m3_per_hour: float = 3.0
    iot_sweep_seconds: float = 300.0  # offline/battery/move-out sweep and daily detection check
    iot_detect_hour: int = 1  # local hour after which yesterday's daily detection runs
    iot_backfill_days: int = 7  # the daily job re-runs past days (≤ raw retention) that got back-filled data
    iot_simulate: bool = False  # run the traffic simulator as a background service (demo)
    iot_clock: Literal["wall", "replay"] = "wall"  # replay: the sweeper follows the newest device time ingested
    iot_heartbeat_seconds: float = 10.0  # how often a consumer writes its heartbeat row (read by /health)
    iot_stuck_after_seconds: float = 60.0  # a batch failing to store for longer than this degrades /health
    iot_max_lag_messages: int = 10000  # received but unstored messages beyond this degrade /health
    iot_startup_grace_seconds: float = 120.0  # no heartbeat yet within this long of the app's start is "starting"

    # --- operations console (console/, docs/console.md) ---
    console_session_hours: float = 12.0  # a console session ends this long after its last request
    console_cookie_secure: bool = True  # browsers treat http://127.0.0.1 / localhost as secure, so dev works too
    console_lockout_max_failures: int = 5
    console_lockout_minutes: int = 15
    console_page_size: int = 50
    console_board_page_size: int = 600  # status board cells per page (a 500-unit building fits on one page)
    console_export_max_rows: int = 50000

    # --- desk notifications (WeCom / DingTalk robots, WeCom application messages; docs/console.md) ---
    desk_channels: list[dict] = Field(default_factory=list)  # [{name, type, url|corp_id…, buildings, roles, events}]
    wecom_api_base: str = "https://qyapi.weixin.qq.com/"
    desk_timeout_seconds: float = 5.0
    workorder_overdue_check: bool = True

    # --- leasing ledger (leasing/, docs/leasing.md) ---
    party_id_salt: str = DEV_PARTY_ID_SALT  # HMAC key of stored ID-number hashes; never change it once in use
    frequency_aliases: dict[str, Any] = Field(default_factory=dict)  # alias → code or {frequency, deposit_months}
    ledger_notice_days: int = Field(7, ge=0, le=60)  # a receivable is DUE this many days before its due date
    schedule_retry_max_attempts: int = Field(6, ge=1, le=50)
    schedule_retry_base_seconds: float = 300.0  # backoff base·2^(attempts−1), capped below
    schedule_retry_max_seconds: float = 6 * 3600.0
    schedule_dry_run_weekday: int = Field(0, ge=0, le=6)  # the weekly dry-run runs on this local weekday (0 = Mon)

    # --- collections (arrears/, docs/collections.md) ---
    arrears_tiers: list[dict] = Field(default_factory=list)  # per tier code: min_days, max_days, sms, task_sla_days
    arrears_templates: dict[str, dict] = Field(default_factory=dict)  # tier code → {"text": …, "note": …}
    arrears_grace_days: int = Field(7, ge=1, le=60)  # default length of a grace period (宽限期)
    arrears_deadline_hours: int = Field(48, ge=1, le=720)  # the 三次警示's payment deadline
    arrears_default_late_fee: dict[str, Any] = Field(default_factory=dict)  # LateFeeClause for leases without one
    arrears_settled_lookback_days: int = Field(14, ge=1, le=90)  # late fees finalised for bases paid this recently
    # lease health (docs/collections.md): the seed's thresholds
    lease_health_late_working_days: int = Field(5, ge=0, le=60)  # paid more than n working days late: a deviation
    lease_health_deviations_per_quarter: int = Field(3, ge=1, le=100)  # ≥ n deviations a quarter → YELLOW
    lease_health_changes_per_year: int = Field(2, ge=0, le=100)  # > n contract changes a year → RED
    lease_health_work_orders_per_month: int = Field(5, ge=0, le=1000)  # > n linked work orders a month → ORANGE
    sms_endpoint: str = ""  # the SMS provider's HTTP endpoint (POST JSON); empty: SMS undeliverable
    sms_api_key: str = ""
    sms_sign_name: str = "租务管家"  # 短信签名
    sms_timeout_seconds: float = 5.0

    # --- occupancy truth (occupancy/, docs/occupancy.md) ---
    occupancy_short_stay_max_days: int = Field(30, ge=0, le=366)  # a lease shorter than this is a short stay (短租)
    occupancy_payment_feed_max_hours: float = Field(72.0, gt=0)  # newest recorded payment older → feed stale
    occupancy_iot_ingest_max_hours: float = Field(6.0, gt=0)  # newest device message older → ingest stale
    occupancy_inspection_max_days: float = Field(14.0, ge=0)  # newest field report older → stale (0: not checked)
    occupancy_ledger_job_max_hours: dict[str, float] = Field(default_factory=dict)  # ledger_job_runs job → max age
    occupancy_snapshot_hour: int = Field(2, ge=0, le=23)  # local hour after which yesterday is snapshotted
    occupancy_retry_days: int = Field(7, ge=0, le=62)  # incomplete days this far back are retried each night
    occupancy_pending_delivery_max_days: int = Field(30, ge=1)  # audit: PENDING_DELIVERY longer than this
    occupancy_vacant_occupied_like_days: int = Field(3, ge=1)  # audit: VACANT but OCCUPIED_LIKE this many days

    # --- contract intake (contracts/, docs/contracts.md) ---
    contracts_ocr_workers: int = Field(1, ge=1, le=32)  # OCR worker processes (each one ONNX thread: one core)
    contracts_ocr_page_timeout_seconds: float = Field(120.0, gt=0, le=3600)  # a page longer than this is skipped
    contracts_max_bytes: int = Field(40 * 1024 * 1024, ge=1024)  # one uploaded PDF, or all the photos together
    contracts_max_pages: int = Field(60, ge=1, le=500)
    contracts_render_dpi: int = Field(150, ge=72, le=300)  # scanned PDF pages are rendered at this resolution
    contracts_max_page_pixels: int = Field(40_000_000, ge=1_000_000)  # a photo larger than this is refused

    # --- bank reconciliation (reconciliation/, docs/reconciliation.md) ---
    statement_formats: list[dict[str, Any]] = Field(default_factory=list)  # extra layouts, as in reconciliation.formats
    reconcile_auto_apply_confidence: int = Field(90, ge=50, le=100)  # decisions below this wait for a person
    reconcile_name_min_score: int = Field(85, ge=50, le=100)  # rapidfuzz ratio for a payer to count as the tenant
    reconcile_paid_check_days: int = Field(3, ge=0, le=60)  # a bank payment recorded by hand this many days inside
    # the imported statements' period with no line for it is a discrepancy (系统里有记录,财务却没收到)

    # --- WeChat Pay API v3 (payments/, docs/payments.md): empty mchid → payments off ---
    wechatpay_mchid: str = ""  # 直连商户号
    wechatpay_appid: str = ""  # the mini program's appid bound to the merchant; empty → wechat_appid
    wechatpay_cert_serial_no: str = ""  # 商户API证书序列号
    wechatpay_private_key: str = ""  # 商户API私钥 (PEM text), or …
    wechatpay_private_key_path: Path | None = None  # … the PEM file (apiclient_key.pem)
    wechatpay_apiv3_key: str = ""  # APIv3密钥: 32 characters, decrypts notifications (AES-256-GCM)
    wechatpay_public_key: str = ""  # 微信支付公钥 (PEM text) that verifies the platform's signatures
    wechatpay_public_key_id: str = ""  # PUB_KEY_ID_…: the Wechatpay-Serial of the platform's signatures
    wechatpay_api_base: str = "https://api.mch.weixin.qq.com"
    wechatpay_notify_url: str = ""  # empty → public_base_url + /api/v1/payments/wechat/notify
    wechatpay_timeout_seconds: float = Field(10.0, gt=0, le=60)
    wechatpay_order_expiry_minutes: int = Field(30, ge=5, le=120)  # time_expire of a JSAPI order (prepay_id: 2 h)
    wechatpay_query_after_minutes: int = Field(10, ge=1, le=1440)  # no notification this long → ask WeChat Pay
    wechatpay_notify_max_skew_seconds: int = Field(300, ge=30, le=3600)  # Wechatpay-Timestamp vs our clock
    wechatpay_bill_ready_hour: int = Field(10, ge=0, le=23)  # a day's trade bill exists from this local hour next day
    wechatpay_bill_lookback_days: int = Field(7, ge=1, le=90)  # days checked for a missing bill (WeChat keeps 3 months)
    wechatpay_bill_retry_minutes: int = Field(60, ge=1, le=1440)  # backoff base of a failed day (doubling, ≤ 24 h)
    #: 商家转账 (to the tenant's WeChat balance) for deposits that came by bank: the 转账场景ID the merchant platform
    #: granted (empty: off, such refunds are paid by bank) and that scene's 报备信息 (JSON list of info_type/content)
    wechatpay_transfer_scene_id: str = ""
    wechatpay_transfer_report_infos: list[dict[str, str]] = Field(default_factory=list)
    wechatpay_transfer_perception: str = ""  # 用户收款感知 (empty: the scene's default)

    # --- rate limits (core.ratelimit, api.throttle): (limit, window seconds) per key, limit 0 turns one off ---
    # Kept in each worker's memory: with RW_WORKERS=n a client gets up to n × limit (docs/architecture.md).
    rate_limit_enabled: bool = True
    rate_login_per_account: tuple[int, float] = (10, 300.0)  # WeChat openid or console login name
    rate_login_per_address: tuple[int, float] = (60, 300.0)  # an office behind one NAT logs in at 9:00
    rate_bind_per_token: tuple[int, float] = (5, 900.0)  # binding codes tried by one pending login (15 min)
    rate_bind_per_address: tuple[int, float] = (30, 900.0)
    rate_dev_login_per_account: tuple[int, float] = (30, 60.0)
    rate_dev_login_per_address: tuple[int, float] = (120, 60.0)
    rate_limit_max_keys: int = Field(50000, ge=100)  # keys kept per worker; expired ones are dropped first

    @field_validator("rate_login_per_account", "rate_login_per_address", "rate_bind_per_token",
                     "rate_bind_per_address", "rate_dev_login_per_account", "rate_dev_login_per_address")
    @classmethod
    def _rate_rule(cls, value: tuple[int, float]) -> tuple[int, float]:
        if value[0] < 0 or value[1] <= 0:
            raise ValueError("a rate limit is (limit >= 0, window seconds > 0)")
        return value

    @field_validator("wechat_api_base", "wecom_api_base")
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
        return parsed.hostname or "127.0.0.1", parsed.port or (8883 if self.mqtt_tls else 1883)

    @property
    def mqtt_tls(self) -> bool:
        return not self.uses_embedded_broker and urlparse(self.mqtt_url).scheme.lower() in MQTT_TLS_SCHEMES

    @property
    def mqtt_credentials(self) -> tuple[str, str] | None:
        """(username, password) the consumer connects with: for an external broker the URL's (none: anonymous),
        for the embedded broker the configured consumer account."""
        if not self.uses_embedded_broker:
            parsed = urlparse(self.mqtt_url)
            return (unquote(parsed.username), unquote(parsed.password or "")) if parsed.username else None
        return self.mqtt_username, self.mqtt_password

    @property
    def mqtt_display_url(self) -> str:
        """The broker address for logs and /health: never the password."""
        if self.uses_embedded_broker:
            return f"mqtt://{self.embedded_mqtt_host}:{self.embedded_mqtt_port} (embedded)"
        host, port = self.mqtt_host_port
        creds = self.mqtt_credentials
        user = f"{creds[0]}:***@" if creds else ""
        return f"{'mqtts' if self.mqtt_tls else 'mqtt'}://{user}{host}:{port}"

    @property
    def photo_pixel_limits(self) -> dict[str, int]:
        """Per decode kind (inspections.photos.decode_kind) pixel caps below ``photo_max_pixels``."""
        return {"PNG": self.photo_max_pixels_png, "WEBP": self.photo_max_pixels_webp,
                "JPEG_PROGRESSIVE": self.photo_max_pixels_progressive_jpeg}

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir or (self.var_dir / "media")

    def check_secrets(self) -> None:
        """Refuse to run in production with placeholder or missing secrets."""
        if not self.is_production:
            return
        problems = []
        for name in ("jwt_secret", "qr_secret", "wechat_secret", "party_id_salt"):
            value = getattr(self, name)
            if value.strip().lower() in PLACEHOLDER_SECRETS or value in (DEV_JWT_SECRET, DEV_QR_SECRET) \
                    or value.startswith("dev-") or len(value) < 16:
                problems.append(f"RW_{name.upper()} is missing, a placeholder or shorter than 16 characters")
        if self.wechat_appid.startswith("wx-dev"):
            problems.append("RW_WECHAT_APPID is the development placeholder")
        if self.dev_login:
            problems.append("RW_DEV_LOGIN must be off in production")
        problems += self._mqtt_problems()
        problems += self._wechatpay_problems()
        if problems:
            raise SettingsError("refusing to start in production mode: " + "; ".join(problems))

    def _wechatpay_problems(self) -> list[str]:
        """WeChat Pay is off without a merchant id; once on, every key must be real."""
        if not self.wechatpay_mchid:
            return []
        problems = []
        if not self.wechatpay_mchid.isdigit():
            problems.append("RW_WECHATPAY_MCHID must be the merchant's number")
        key = self.wechatpay_apiv3_key
        if len(key) != 32 or key.lower() in PLACEHOLDER_SECRETS or key.startswith("dev-") or len(set(key)) < 8:
            problems.append("RW_WECHATPAY_APIV3_KEY is missing, a placeholder or not 32 characters")
        serial = self.wechatpay_cert_serial_no
        if len(serial) < 16 or serial.lower() in PLACEHOLDER_SECRETS or serial.startswith("dev-"):
            problems.append("RW_WECHATPAY_CERT_SERIAL_NO is missing or a placeholder")
        if not (self.wechatpay_private_key.strip() or self.wechatpay_private_key_path):
            problems.append("RW_WECHATPAY_PRIVATE_KEY (or _PATH) is missing")
        if not self.wechatpay_public_key.strip() or not self.wechatpay_public_key_id.startswith("PUB_KEY_ID_"):
            problems.append("RW_WECHATPAY_PUBLIC_KEY and RW_WECHATPAY_PUBLIC_KEY_ID (PUB_KEY_ID_…) are required")
        if not self.wechatpay_api_base.startswith("https://"):
            problems.append("RW_WECHATPAY_API_BASE must be https in production")
        return problems

    @property
    def wechatpay_enabled(self) -> bool:
        return bool(self.wechatpay_mchid)

    @property
    def resolved_wechatpay_notify_url(self) -> str:
        return self.wechatpay_notify_url or self.public_base_url.rstrip("/") + "/api/v1/payments/wechat/notify"


    def _mqtt_problems(self) -> list[str]:
        creds = self.mqtt_credentials
        if creds is None:
            return ["RW_MQTT_URL carries no user and password: devices and the consumer must authenticate"]
        password = creds[1]
        if password.strip().lower() in PLACEHOLDER_SECRETS or password == DEV_MQTT_PASSWORD \
                or password.startswith("dev-") or len(password) < 16:
            where = "RW_MQTT_URL's password" if not self.uses_embedded_broker and \
                urlparse(self.mqtt_url).username else "RW_MQTT_PASSWORD"
            return [f"{where} is missing, a placeholder or shorter than 16 characters"]
        if self.uses_embedded_broker and not self.embedded_mqtt_auth:
            return ["RW_EMBEDDED_MQTT_AUTH must be on in production"]
        return []


def load_settings(**overrides) -> Settings:
    settings = Settings(**overrides)
    settings.check_secrets()
    return settings
