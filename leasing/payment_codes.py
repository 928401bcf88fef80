"""The short payment code of a receivable (缴费码), printed on its payment notice and the tenant's statement for
the transfer's 附言: ``RW`` + the receivable id in Crockford base-32 (no I, L, O, U) + one check character.

It is derived, not stored: decoding it gives the receivable id back, and the check character keeps a mistyped
code (or any other word in the 附言) from naming some other receivable."""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "RW"
BODY_MIN = 5
#: what tenants type: lower case, O for 0, I/L for 1, spaces or dashes inside
CODE_PATTERN = re.compile(r"R\s*W[\s-]*([0-9A-Z][0-9A-Z\s-]{4,14})", re.IGNORECASE)
_READ_AS = {"O": "0", "I": "1", "L": "1"}


def _check(body: str) -> str:
    return ALPHABET[sum((i + 1) * ALPHABET.index(ch) for i, ch in enumerate(body)) % 31]


def payment_code(receivable_id: int) -> str:
    if receivable_id <= 0:
        raise ValueError("a receivable id is positive")
    digits = []
    value = receivable_id
    while value:
        value, rest = divmod(value, 32)
        digits.append(ALPHABET[rest])
    body = "".join(reversed(digits)).rjust(BODY_MIN, "0")
    return f"{PREFIX}{body}{_check(body)}"


def decode_code(text: str) -> int | None:
    """The receivable id of a code (any case, O/I/L read as 0/1), or None when it is not a valid code."""
    raw = "".join(_READ_AS.get(ch, ch) for ch in re.sub(r"[\s-]", "", text.upper()))
    if raw.startswith(PREFIX):
        raw = raw[len(PREFIX):]
    if len(raw) < BODY_MIN + 1 or any(ch not in ALPHABET for ch in raw):
        return None
    body, check = raw[:-1], raw[-1]
    if _check(body) != check:
        return None
    value = 0
    for ch in body:
        value = value * 32 + ALPHABET.index(ch)
    return value or None


def codes_in(text: str) -> list[int]:
    """Receivable ids named by valid payment codes in free text (a 附言), in order, once each."""
    found: list[int] = []
    for match in CODE_PATTERN.finditer(text or ""):
        candidate = re.sub(r"[\s-]", "", match.group(1))
        # the longest valid code at this position (a code may be followed by other letters or digits)
        for end in range(len(candidate), BODY_MIN, -1):
            rid = decode_code(candidate[:end])
            if rid is not None:
                if rid not in found:
                    found.append(rid)
                break
    return found
