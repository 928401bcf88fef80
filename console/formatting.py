"""How the console shows values (pure, table-tested): money as ¥ with thousands separators from integer fen,
times in the building's time zone, SLA countdowns."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from config.settings import DEFAULT_TIMEZONE

DEFAULT_TZ = DEFAULT_TIMEZONE


def yuan(fen: int | None, *, blank: str = "—") -> str:
    """Integer fen → ``¥12,345.67`` (exact: integer arithmetic, no float)."""
    if fen is None:
        return blank
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def yuan_number(fen: int | None) -> Decimal | None:
    """Fen → Decimal yuan for spreadsheets (two places, ROUND_HALF_UP is exact here: fen are integers)."""
    if fen is None:
        return None
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_TZ)


def local_dt(value: datetime | None, tz: str | None = None, *, blank: str = "—") -> str:
    if value is None:
        return blank
    return value.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")


def local_date(value: datetime | date | None, tz: str | None = None, *, blank: str = "—") -> str:
    if value is None:
        return blank
    if isinstance(value, datetime):
        return value.astimezone(zone(tz)).date().isoformat()
    return value.isoformat()


def duration_zh(delta: timedelta) -> str:
    """A duration the way people say it: 2天3小时, 5小时12分, 8分钟."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins}分"
    return f"{mins}分钟"


def countdown(due: datetime | None, now: datetime) -> tuple[str, bool]:
    """(text, overdue) for an SLA deadline: 剩余 5小时12分 / 逾期 2天3小时."""
    if due is None:
        return "—", False
    if now > due:
        return f"逾期 {duration_zh(now - due)}", True
    return f"剩余 {duration_zh(due - now)}", False
