"""The review of a draft lease, field by field (pure: stored field dicts in, decisions out).

A field as stored on the draft is the extraction's (value, source span, page, box, confidence, flags) plus its
review: ``AUTO`` (confident and unflagged: nothing to do), ``PENDING`` (below the threshold or flagged: a person
must act), ``CONFIRMED`` (a person read the source and agrees) or ``CORRECTED`` (a person typed the value).

A flagged field cannot simply be confirmed: an unknown payment method (INVALID_FREQUENCY_CODE), a 大写 amount that
disagrees with the digits (AMOUNT_MISMATCH), unreadable or inconsistent dates need the value set by the person
(which may be the value read — a choice made, not a guess taken). Until then the lease cannot be created, so an
unresolved frequency never reaches schedule generation.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts.choices import BLOCKING_FLAGS
from contracts.extract import FIELDS, MESSAGES, REQUIRED, Extraction, Flag
from core.errors import ValidationFailed
from leasing.frequency import AliasTable
from leasing.terms import MAX_FEN

AUTO, PENDING, CONFIRMED, CORRECTED = "AUTO", "PENDING", "CONFIRMED", "CORRECTED"
DONE = frozenset({AUTO, CONFIRMED, CORRECTED})

NEEDS_CONFIRMATION = "NEEDS_CONFIRMATION"
FIELD_NEEDS_CORRECTION = "FIELD_NEEDS_CORRECTION"
UNKNOWN_FIELD = "UNKNOWN_FIELD"
INVALID_FIELD_VALUE = "INVALID_FIELD_VALUE"
CONTRACT_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/.]{0,39}$")


def initial_fields(extraction: Extraction) -> dict[str, dict[str, Any]]:
    """The draft's fields from an extraction: every field found, each with its review state."""
    out = {}
    for name, found in extraction.fields.items():
        data = found.to_json()
        data["review"] = {"state": PENDING if found.needs_review else AUTO}
        out[name] = data
    return out


def _blocking(field: dict[str, Any]) -> list[str]:
    return [code for code in field.get("flags", []) if code in BLOCKING_FLAGS]


def blockers(fields: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """What stops the lease being created, one entry a field (empty: ready)."""
    out: list[dict[str, Any]] = []
    for name in FIELDS:
        field = fields.get(name)
        if field is None:
            continue
        state = field["review"]["state"]
        if state == CORRECTED:
            continue
        codes = _blocking(field)
        if codes:
            out.extend({"field": name, "code": code, "message": MESSAGES[code]} for code in codes)
        elif state not in DONE:
            noted = [MESSAGES[code] for code in field.get("flags", []) if code in MESSAGES]  # non-blocking flags
            out.append({"field": name, "code": NEEDS_CONFIRMATION,
                        "message": "; ".join(noted) if noted else
                        f"confidence {field['confidence']:.2f} is below the review threshold: confirm or "
                        "correct it"})
    rent = any(fields.get(n, {}).get("value") is not None for n in ("monthly_rent_fen", "unit_price"))
    for name in [*REQUIRED, *([] if rent else ["monthly_rent_fen"])]:
        if fields.get(name, {}).get("value") is None and not _blocking(fields.get(name, {})):
            out.append({"field": name, "code": Flag.MISSING_FIELD, "message": MESSAGES[Flag.MISSING_FIELD]})
    return out


def confirm(fields: dict[str, dict[str, Any]], name: str, *, by: int, at: datetime) -> dict[str, dict[str, Any]]:
    field = _known(fields, name)
    if field is None or field.get("value") is None:
        raise ValidationFailed(f"{name} has no value to confirm: correct it", code=FIELD_NEEDS_CORRECTION,
                               details={"field": name})
    codes = _blocking(field)
    if codes and field["review"]["state"] != CORRECTED:
        raise ValidationFailed(f"{name} is flagged {', '.join(codes)}: set its value, confirming is not enough",
                               code=FIELD_NEEDS_CORRECTION, details={"field": name, "flags": codes})
    if field["review"]["state"] == CORRECTED:
        return fields  # a typed value is already the person's
    new = {**field, "review": {"state": CONFIRMED, "by": by, "at": at.isoformat()}}
    return {**fields, name: new}


def correct(fields: dict[str, dict[str, Any]], name: str, value: Any, *, by: int, at: datetime,
            aliases: AliasTable) -> dict[str, dict[str, Any]]:
    """Set a field's value (a field the contract did not yield may be added)."""
    _known(fields, name)
    normalised = normalise_value(name, value, aliases)
    field = fields.get(name) or {"name": name, "value": None, "source": "", "page": None, "box": None,
                                 "confidence": 0.0, "flags": [], "detail": {}, "needs_review": True}
    review = {"state": CORRECTED, "by": by, "at": at.isoformat(), "read_value": field.get("value")}
    return {**fields, name: {**field, "value": normalised, "review": review}}


def _known(fields: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    if name not in FIELDS:
        raise ValidationFailed(f"unknown field {name!r}", code=UNKNOWN_FIELD, details={"fields": list(FIELDS)})
    return fields.get(name)


def _bad(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{name}: {message}", code=INVALID_FIELD_VALUE, details={"field": name,
                                                                                     "message": message})


def _iso_date(name: str, value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise _bad(name, "a date YYYY-MM-DD") from None


def _decimal(name: str, value: Any, *, low: Decimal, high: Decimal) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _bad(name, "a number") from None
    if not number.is_finite() or not low <= number <= high:
        raise _bad(name, f"between {low} and {high}")
    return number


def normalise_value(name: str, value: Any, aliases: AliasTable) -> Any:  # noqa: C901 - one branch a field kind
    """A person's value for a field, checked and in the stored form (fen ints, decimals as strings, ISO dates,
    frequency codes through the ledger's alias table)."""
    if value is None:
        raise _bad(name, "a value is required")
    if name in ("landlord", "tenant", "address"):
        text = str(value).strip()
        if not 1 <= len(text) <= (120 if name == "address" else 64):
            raise _bad(name, "1 to 64 characters (address: 120)")
        return text
    if name == "contract_no":
        text = str(value).strip()
        if not CONTRACT_NO.match(text):
            raise _bad(name, "letters, digits and - _ / . (at most 40)")
        return text
    if name in ("start_date", "end_date"):
        return _iso_date(name, value)
    if name in ("monthly_rent_fen", "deposit_fen"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FEN:
            raise _bad(name, f"integer fen between 0 and {MAX_FEN}")
        return value
    if name == "area_m2":
        return str(_decimal(name, value, low=Decimal("0.01"), high=Decimal(1_000_000)).quantize(Decimal("0.01")))
    if name in ("unit_price", "escalation_percent"):
        return str(_decimal(name, value, low=Decimal("0.0001"), high=Decimal(100_000)).normalize())
    if name == "deposit_months":
        return int(_decimal(name, value, low=Decimal(0), high=Decimal(24)))
    if name in ("renewal_notice_days", "late_fee_bp_per_day"):
        return int(_decimal(name, value, low=Decimal(0), high=Decimal(3650)))
    if name == "payment_frequency":
        try:
            return aliases.resolve(str(value)).frequency.value
        except ValidationFailed as exc:
            raise ValidationFailed(f"payment_frequency: {exc.message}", code=Flag.INVALID_FREQUENCY_CODE,
                                   details={"field": name, **exc.details}) from None
    if name == "free_period":
        if not isinstance(value, dict):
            raise _bad(name, "{start, end}")
        start, end = _iso_date(name, value.get("start")), _iso_date(name, value.get("end"))
        if end < start:
            raise _bad(name, "end before start")
        return {"start": start, "end": end}
    raise _bad(name, "not settable")


def values(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Field values for ``contracts.extract.lease_fields`` (the rent basis and escalation year from details)."""
    out = {name: field.get("value") for name, field in fields.items()}
    price = fields.get("unit_price")
    if price:
        out["rent_basis"] = price.get("detail", {}).get("rent_basis")
    escalation = fields.get("escalation_percent")
    if escalation:
        out["escalation_from_year"] = escalation.get("detail", {}).get("from_year")
    return out
