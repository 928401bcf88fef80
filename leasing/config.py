"""How the ledger is configured (frequency aliases, party-id salt, notice and retry timings), read once from the
settings; the leasing service and the ledger both take it, so it lives below them both."""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import DEFAULT_TIMEZONE, DEV_PARTY_ID_SALT, Settings
from leasing.frequency import DEFAULT_TABLE, AliasTable, alias_table


@dataclass(frozen=True)
class LeasingConfig:
    aliases: AliasTable
    salt: str
    notice_days: int = 7
    retry_max_attempts: int = 6
    retry_base_seconds: float = 300.0
    retry_max_seconds: float = 6 * 3600.0
    dry_run_weekday: int = 0
    business_timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def from_settings(cls, settings: Settings) -> LeasingConfig:
        return cls(aliases=alias_table(settings), salt=settings.party_id_salt, notice_days=settings.ledger_notice_days,
                   retry_max_attempts=settings.schedule_retry_max_attempts,
                   retry_base_seconds=settings.schedule_retry_base_seconds,
                   retry_max_seconds=settings.schedule_retry_max_seconds,
                   dry_run_weekday=settings.schedule_dry_run_weekday, business_timezone=settings.business_timezone)


DEFAULT_CONFIG = LeasingConfig(aliases=DEFAULT_TABLE, salt=DEV_PARTY_ID_SALT)
