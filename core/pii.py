"""Personal data (China's PIPL): phone numbers, resident ID numbers and bank accounts are masked in list responses
and never reach a log. One set of masks, used by serializers and by the log record factory installed here.

Masks: mobile ``138****5678`` (first 3, last 4); ID number and bank account: all but the last 4 as ``*``.
"""

from __future__ import annotations

import logging
import re
from enum import Enum
from typing import Any

#: Mainland mobile (optionally +86/86), an 18-character resident ID (last may be X), a bank card/account of
#: 12–19 digits (or groups of 4 separated by spaces). Digits glued to letters, digits or dashes (UUIDs, codes) are
#: not matched.
_MOBILE = r"(?:\+?86[- ]?)?1[3-9]\d{9}"
_ID_NUMBER = r"\d{17}[\dXx]"
_ACCOUNT = r"\d{4}(?: \d{4}){2,3}(?: \d{1,3})?|\d{12,19}"
PII_PATTERN = re.compile(rf"(?<![\dA-Za-z-])(?:(?P<id>{_ID_NUMBER})|(?P<mobile>{_MOBILE})|(?P<account>{_ACCOUNT}))"
                         rf"(?![\dA-Za-z-])")


def mask_phone(phone: str | None) -> str | None:
    if phone is None:
        return None
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


def mask_tail(value: str | None, keep: int = 4) -> str | None:
    """An ID number or a bank account: every character but the last ``keep`` as ``*`` (separators dropped)."""
    if value is None:
        return None
    compact = re.sub(r"[\s-]", "", value)
    return "*" * max(0, len(compact) - keep) + compact[-keep:] if compact else ""


def _mask_match(match: re.Match[str]) -> str:
    if match.group("mobile"):
        return mask_phone(re.sub(r"^\+?86[- ]?", "", match.group("mobile"))) or ""
    return mask_tail(match.group(0)) or ""


def mask_text(text: str) -> str:
    """Every phone, ID number and bank account found in free text, masked."""
    return PII_PATTERN.sub(_mask_match, text)


def plain(value: Any) -> Any:
    """Log values, not reprs: an enum as its value, also inside dicts, lists and tuples (a stats dict keyed by
    alert types printed ``<IotAlert.UNEXPECTED_ACTIVITY: ...>``)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(plain(v) for v in value) if not isinstance(value, set | frozenset) else \
            sorted((plain(v) for v in value), key=str)
    return value


_base_factory = logging.getLogRecordFactory()


def _masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Mask the message and its arguments when the record is made, so every handler (files, the console,
    a test's capture) sees the masked text: a filter on one handler would miss the others."""
    record = _base_factory(*args, **kwargs)
    if isinstance(record.args, tuple):
        record.args = tuple(plain(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: plain(v) for k, v in record.args.items()}
    try:
        message = record.getMessage()  # formatted once here: a masked int cannot go back into a %d
    except (TypeError, ValueError):
        return record  # a broken format string: logging reports it as it always does
    record.msg, record.args = mask_text(message), None
    return record


def install_log_masking() -> None:
    """Idempotent: installs the masking record factory once per process."""
    if logging.getLogRecordFactory() is not _masking_factory:
        logging.setLogRecordFactory(_masking_factory)
