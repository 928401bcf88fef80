"""Chinese numerals, amounts and dates (pure).

* ``parse_upper_amount("壹万贰仟元整")`` → 1200000 fen (大写金额: 零壹贰叁肆伍陆柒捌玖, 拾佰仟万亿, 元/圆 角 分 整).
* ``parse_cn_int("三十一")`` → 31; ``parse_cn_int("二〇二五")`` → 2025 (digit by digit when no unit character).
* ``parse_date``: ``"二〇二五年十二月一日"``, ``"2025.12.1"``, ``"2025年12月1日"``, ``"2025-12-01"``, ``"2025/12/1"``.

OCR reads 〇 as O, o or 0 and sometimes drops a unit; the parsers accept the first and refuse (None) what does not
make a whole number, so a garbled amount is flagged instead of guessed.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

DIGITS = {"零": 0, "〇": 0, "○": 0, "O": 0, "o": 0, "0": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2,
          "三": 3, "叁": 3, "參": 3, "参": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6,
          "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
          "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9}
SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
CN_INT_CHARS = "".join(DIGITS) + "".join(SMALL_UNITS) + "".join(BIG_UNITS)


def parse_cn_int(text: str) -> int | None:
    """A Chinese integer (三十一, 一万二千, 壹佰) or a digit string (二〇二五, 2025); None when malformed."""
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    if all(ch in DIGITS for ch in text):  # 二〇二五: positional digits
        return int("".join(str(DIGITS[ch]) for ch in text))
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in DIGITS:
            if digit is not None and DIGITS[ch] != 0:
                return None  # two digits in a row without a unit: 三二十
            digit = DIGITS[ch] if DIGITS[ch] != 0 else None
        elif ch in SMALL_UNITS:
            section += (1 if digit is None else digit) * SMALL_UNITS[ch]
            digit = None
        elif ch in BIG_UNITS:
            section += digit or 0
            if section == 0:
                return None
            total = (total + section) * BIG_UNITS[ch] if BIG_UNITS[ch] > 10_000 else total + section * BIG_UNITS[ch]
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


_ONE = "".join(DIGITS)
_AMOUNT = re.compile(rf"^(?:人民币)?(?P<yuan>[{CN_INT_CHARS}]*?)(?:元|圆)?(?:(?P<jiao>[{_ONE}])角)?"
                     rf"(?:(?P<fen>[{_ONE}])分)?(?:整|正)?$")


def parse_upper_amount(text: str) -> int | None:
    """大写金额 → integer fen: 壹万贰仟元整 → 1200000; 叁仟伍佰元伍角 → 350050; None when it does not parse."""
    cleaned = re.sub(r"[\s:：()()]", "", text or "")
    cleaned = cleaned.replace("圆", "元")
    if not cleaned or not any(ch in cleaned for ch in "元角分"):
        return None
    match = _AMOUNT.match(cleaned)
    if not match:
        return None
    yuan_text = match.group("yuan") or ""
    if len(yuan_text) > 1 and not any(ch in SMALL_UNITS or ch in BIG_UNITS for ch in yuan_text):
        return None  # 大写 always writes its units: 柒捌元 is a misreading, not 78
    yuan = parse_cn_int(yuan_text) if yuan_text else 0
    if yuan is None:
        return None
    jiao = DIGITS[match.group("jiao")] if match.group("jiao") else 0
    fen = DIGITS[match.group("fen")] if match.group("fen") else 0
    total = yuan * 100 + jiao * 10 + fen
    return total if total > 0 else None


def yuan_to_fen(text: str) -> int | None:
    """"12,000.50" → 1200050 (exact: Decimal, at most two decimals); None otherwise."""
    cleaned = (text or "").replace(",", "").replace(" ", "")
    if not re.fullmatch(r"\d{1,12}(?:\.\d{1,2})?", cleaned):
        return None
    return int(Decimal(cleaned) * 100)


_DATE_SEP = re.compile(r"^(?P<y>\d{4})\s*[.\-/]\s*(?P<m>\d{1,2})\s*[.\-/]\s*(?P<d>\d{1,2})$")
_DATE_CN = re.compile(r"^(?P<y>[\dO〇○零一二三四五六七八九o]{4})\s*年\s*(?P<m>[\d一二三四五六七八九十]{1,3})\s*月"
                      r"\s*(?P<d>[\d一二三四五六七八九十]{1,3})\s*[日号]?$")
DATE_PATTERN = (r"(?:[\dO〇○零一二三四五六七八九o]{4}\s*年\s*[\d一二三四五六七八九十]{1,3}\s*月\s*"
                r"[\d一二三四五六七八九十]{1,3}\s*[日号]?|\d{4}\s*[.\-/]\s*\d{1,2}\s*[.\-/]\s*\d{1,2})")


def parse_date(text: str) -> date | None:
    """A contract date in any of the usual forms → date; None when it is not a real date."""
    text = (text or "").strip()
    match = _DATE_SEP.match(text) or _DATE_CN.match(text)
    if not match:
        return None
    year, month, day = (parse_cn_int(match.group(k)) for k in ("y", "m", "d"))
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def to_upper_amount(fen: int) -> str:
    """Integer fen → 大写 (used by the corpus generator; parse_upper_amount is its inverse)."""
    digits = "零壹贰叁肆伍陆柒捌玖"
    units = ["", "拾", "佰", "仟"]

    def four(n: int) -> str:
        out, zero = "", False
        for i in range(3, -1, -1):
            d = n // 10**i % 10
            if d == 0:
                zero = bool(out)
            else:
                if zero:
                    out += "零"
                    zero = False
                out += digits[d] + units[i]
        return out

    yuan, rest = divmod(fen, 100)
    jiao, cent = divmod(rest, 10)
    parts = []
    high, low = divmod(yuan, 10_000)
    if high:
        parts.append(four(high) + "万")
        if low and low < 1000:
            parts.append("零")
    if low:
        parts.append(four(low))
    text = "".join(parts) + "元" if yuan else ""
    if jiao:
        text += digits[jiao] + "角"
    if cent:
        text += digits[cent] + "分"
    return text + ("整" if not cent else "")


def to_cn_date(value: date) -> str:
    """二〇二五年十二月一日 (the generator's fully Chinese form)."""
    digit = "〇一二三四五六七八九"

    def small(n: int) -> str:
        tens, ones = divmod(n, 10)
        return ("" if tens == 0 else ("十" if tens == 1 else digit[tens] + "十")) + (digit[ones] if ones else "")

    return "".join(digit[int(c)] for c in str(value.year)) + f"年{small(value.month)}月{small(value.day)}日"
