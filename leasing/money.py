"""Money rules (pure): integer fen everywhere; intermediate amounts exact; one rounding rule.

The rule: amounts are computed exactly (``fractions.Fraction`` built from ``Decimal`` inputs, so 31/61 of a
period is not rounded early) and rounded to the fen ROUND_HALF_UP (half a fen away from zero) only at the end.
A series (a schedule's periods, a split) is rounded on its running total — each part is
``round(total up to and including it) − round(total before it)`` — so the parts add up exactly to the rounded
whole, and no part is more than one fen away from its exact value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from fractions import Fraction

Exact = Fraction


def exact(value: int | str | Decimal | Fraction) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        raise TypeError("floats are not money: pass a Decimal or a string")
    return Fraction(Decimal(value)) if not isinstance(value, int) else Fraction(value)


def round_half_up(value: Fraction | Decimal | int) -> int:
    """To the nearest integer, halves away from zero (ROUND_HALF_UP)."""
    if isinstance(value, int):
        return value
    value = exact(value)
    numerator, denominator = value.numerator, value.denominator  # floor(n/d + 1/2) = (2n + d) // 2d, d > 0
    if numerator < 0:
        return -((denominator - 2 * numerator) // (2 * denominator))
    return (2 * numerator + denominator) // (2 * denominator)


def running_round(parts: Iterable[Fraction | int]) -> list[int]:
    """Round a series on its running total: the results sum to round_half_up(sum(parts)) exactly."""
    parts = list(parts)
    if all(type(part) is int for part in parts):  # whole fen already: each part is its own rounding
        return parts  # type: ignore[return-value]
    out: list[int] = []
    total: Fraction | int = 0
    rounded_before = 0
    for part in parts:
        total += part
        rounded = total if isinstance(total, int) or total.denominator == 1 else round_half_up(total)
        rounded = int(rounded)
        out.append(rounded - rounded_before)
        rounded_before = rounded
    return out


_YUAN = re.compile(r"^[+-]?\d+(\.\d{1,2})?$")


def yuan_to_fen(text: str | int | Decimal) -> int:
    """``"12,345.60"`` / ``"¥1.5"`` / ``Decimal('3')`` yuan → integer fen. More than two decimals is an error."""
    if isinstance(text, int):
        return text * 100
    raw = str(text).strip().replace(",", "").replace(",", "").replace("¥", "").replace("¥", "").replace("元", "")
    if not _YUAN.match(raw):
        raise ValueError(f"not an amount in yuan with at most two decimals: {text!r}")
    try:
        return int(Decimal(raw) * 100)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"
