"""Fit values to WeChat subscribe-message field limits (pure functions, table-tested).

WeChat rejects a whole message (47003) when one value breaks its field type's rules, so every value is
fitted before sending: truncated with an ellipsis, stripped of characters the type does not allow, or
formatted (times, dates, amounts). Limits (wechat.md): thing ≤ 20 chars, number ≤ 32 digits, letter ≤ 32,
symbol ≤ 5, character_string ≤ 32, time "YYYY-MM-DD HH:MM", date "YYYY-MM-DD", amount = one currency sign +
≤ 10 digits, phone_number ≤ 17, name ≤ 10 Chinese chars or 20 letters, phrase ≤ 5 Chinese chars only.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

ELLIPSIS = "…"
FIELD_TYPES = ("thing", "number", "letter", "symbol", "character_string", "time", "date", "amount",
               "phone_number", "name", "phrase")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def field_type_of(key: str) -> str:
    """WeChat keys are the type plus a number: ``thing1``, ``character_string12``, ``phrase3``."""
    base = key.rstrip("0123456789")
    if base not in FIELD_TYPES:
        raise ValueError(f"unknown WeChat field type in key {key!r}")
    return base


def _clean(value: Any) -> str:
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    return _CONTROL.sub(" ", text).strip()


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut value ends with an ellipsis (counted in the limit)."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def fit_thing(value: Any) -> str:
    return truncate(_clean(value), 20) or "-"


def fit_number(value: Any) -> str:
    text = _clean(value)
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    whole, frac = re.sub(r"\D", "", whole), re.sub(r"\D", "", frac)
    digits = len(whole) + len(frac)
    if digits > 32:
        frac = frac[: max(0, 32 - len(whole))]
        whole = whole[:32]
    result = sign + (whole or "0") + ("." + frac if frac else "")
    return result


def fit_letter(value: Any) -> str:
    return re.sub(r"[^A-Za-z]", "", _clean(value))[:32] or "X"


def fit_symbol(value: Any) -> str:
    return re.sub(r"[\sA-Za-z0-9\u0080-\uffff]", "", _clean(value))[:5] or "-"


def fit_character_string(value: Any) -> str:
    return re.sub(r"[^\x21-\x7e]", "", _clean(value))[:32] or "-"


def _as_datetime(value: Any, tz: ZoneInfo) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(tz) if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    raise ValueError(f"not a time: {value!r}")


def fit_time(value: Any, tz: ZoneInfo) -> str:
    return _as_datetime(value, tz).strftime("%Y-%m-%d %H:%M")


def fit_date(value: Any, tz: ZoneInfo) -> str:
    if isinstance(value, str) and len(value) == 10:
        return date.fromisoformat(value).isoformat()
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return _as_datetime(value, tz).date().isoformat()


def fit_amount(fen: Any) -> str:
    """Integer fen → ``¥1234.56``. At most 10 digits: large amounts drop the fen, then cap."""
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    yuan, cents = divmod(fen, 100)
    text = f"{yuan}.{cents:02d}"
    if len(text) - 1 > 10:
        text = str(min(yuan, 10**10 - 1))
    return f"{sign}¥{text}"


def fit_phone_number(value: Any) -> str:
    return re.sub(r"[^0-9+\-]", "", _clean(value))[:17] or "-"


def fit_name(value: Any) -> str:
    text = _clean(value)
    if _CJK.search(text):
        return truncate(text, 10)
    return truncate(re.sub(r"[^A-Za-z ]", "", text).strip(), 20) or "-"


def fit_phrase(value: Any) -> str:
    """Chinese characters only, at most 5 (no ellipsis: it is not a Chinese character)."""
    return "".join(_CJK.findall(_clean(value)))[:5] or "处理中"


def fit_value(field_type: str, value: Any, tz: ZoneInfo) -> str:
    if field_type == "time":
        return fit_time(value, tz)
    if field_type == "date":
        return fit_date(value, tz)
    fitter = {"thing": fit_thing, "number": fit_number, "letter": fit_letter, "symbol": fit_symbol,
              "character_string": fit_character_string, "amount": fit_amount, "phone_number": fit_phone_number,
              "name": fit_name, "phrase": fit_phrase}.get(field_type)
    if fitter is None:
        raise ValueError(f"unknown WeChat field type {field_type!r}")
    return fitter(value)


def render_data(fields: dict[str, str], payload: dict[str, Any], tz: ZoneInfo) -> dict[str, dict[str, str]]:
    """``fields`` maps a WeChat key (``thing1``) to a payload key; the type comes from the WeChat key.

    A payload key may name a fallback with ``a|b`` (first non-empty wins) or a literal with ``=text``.
    """
    data = {}
    for key, source in fields.items():
        value: Any = None
        for option in source.split("|"):
            value = option[1:] if option.startswith("=") else payload.get(option)
            if value not in (None, ""):
                break
        data[key] = {"value": fit_value(field_type_of(key), "" if value is None else value, tz)}
    return data
