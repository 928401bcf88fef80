"""Tenant parties (pure): the unified social credit code's check digit, Chinese resident ID numbers, and the
salted hash that is all we keep of an ID number (plus its last four characters, for people to recognise it)."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def _clean(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or "")).upper()


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid 统一社会信用代码, or None. Checks length, alphabet and the check digit."""
    code = _clean(code)
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    bad = sorted({c for c in code if c not in USCC_CHARSET})
    if bad:
        return f"characters not allowed in a credit code: {''.join(bad)}"
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    expected = USCC_CHARSET[(31 - total % 31) % 31]
    if code[17] != expected:
        return f"check digit is {code[17]}, expected {expected}"
    return None


def normalize_uscc(code: str) -> str:
    return _clean(code)


def id_number_problem(number: str) -> str | None:
    """Why ``number`` is not a valid 18-digit resident ID (GB 11643: birth date and check digit), or None."""
    number = _clean(number)
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return "must be 17 digits and a digit or X"
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "the birth date inside it is not a date"
    expected = ID_CHECK[sum(int(c) * w for c, w in zip(number[:17], ID_WEIGHTS, strict=True)) % 11]
    if number[17] != expected:
        return f"check digit is {number[17]}, expected {expected}"
    return None


def id_number_hash(number: str, salt: str) -> str:
    """HMAC-SHA256 of the normalised number under the configured salt: the only form it is stored in."""
    return hmac.new(salt.encode(), _clean(number).encode(), hashlib.sha256).hexdigest()


def id_last4(number: str) -> str:
    return _clean(number)[-4:]


def normalize_phone(phone: str) -> str:
    """Digits only, the +86 / 0086 country prefix dropped: ``+86 139-1234-5678`` → ``13912345678``."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone or ""))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix):]
    return digits


def normalize_name(name: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name or "")).strip()
