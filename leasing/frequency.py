"""Payment frequency: strict codes, and ONE alias table for the free text of forms, imports and OCR.

``两月一次`` → BIMONTHLY, ``押一付三`` → QUARTERLY with a deposit of one month. Operators extend the table with
``RW_FREQUENCY_ALIASES`` (JSON: alias → code, or alias → {"frequency": code, "deposit_months": n}). Anything the
table does not know is refused at entry with INVALID_FREQUENCY_CODE, naming the value and what is accepted; it
never reaches schedule generation. Pure: no database, no settings object (``alias_table(settings)`` adapts).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.errors import ValidationFailed
from leasing.choices import PaymentFrequency, TermError

F = PaymentFrequency


@dataclass(frozen=True)
class FrequencyTerm:
    frequency: PaymentFrequency
    deposit_months: Decimal | None = None  # only the 押X付Y forms say it


_PAY_MONTHS = {1: F.MONTHLY, 2: F.BIMONTHLY, 3: F.QUARTERLY, 6: F.SEMIANNUAL, 12: F.ANNUAL}

_PLAIN: dict[str, PaymentFrequency] = {
    # monthly
    "月付": F.MONTHLY, "按月": F.MONTHLY, "每月": F.MONTHLY, "一月一付": F.MONTHLY, "每月一付": F.MONTHLY,
    "按月支付": F.MONTHLY, "月缴": F.MONTHLY,
    # every two months (seed 001's failed contract)
    "两月一次": F.BIMONTHLY, "两月一付": F.BIMONTHLY, "双月付": F.BIMONTHLY, "二月一付": F.BIMONTHLY,
    "两个月一付": F.BIMONTHLY, "每两月": F.BIMONTHLY,
    # quarterly
    "季付": F.QUARTERLY, "按季": F.QUARTERLY, "三月一付": F.QUARTERLY, "按季度": F.QUARTERLY,
    "每季度": F.QUARTERLY, "季度付": F.QUARTERLY, "三个月一付": F.QUARTERLY,
    # half-yearly
    "半年付": F.SEMIANNUAL, "半年一付": F.SEMIANNUAL, "六月一付": F.SEMIANNUAL, "按半年": F.SEMIANNUAL,
    # yearly
    "年付": F.ANNUAL, "一年一付": F.ANNUAL, "按年": F.ANNUAL, "每年": F.ANNUAL, "十二月一付": F.ANNUAL,
    # one-off
    "一次性": F.ONE_OFF, "一次性付清": F.ONE_OFF, "一次付清": F.ONE_OFF,
    # English words seen in exports
    "MONTH": F.MONTHLY, "BI-MONTHLY": F.BIMONTHLY, "QUARTER": F.QUARTERLY, "HALF-YEARLY": F.SEMIANNUAL,
    "SEMI-ANNUAL": F.SEMIANNUAL, "YEARLY": F.ANNUAL, "ANNUALLY": F.ANNUAL, "ONE-OFF": F.ONE_OFF,
}


def _deposit_forms() -> dict[str, FrequencyTerm]:
    """押X付Y for the deposits and payment steps Chinese contracts use (押一付三 = 1 month deposit, quarterly)."""
    forms = {}
    for dep_word, dep in (("一", 1), ("二", 2), ("两", 2), ("三", 3)):
        for pay_word, months in (("一", 1), ("二", 2), ("两", 2), ("三", 3), ("六", 6), ("十二", 12)):
            forms[f"押{dep_word}付{pay_word}"] = FrequencyTerm(_PAY_MONTHS[months], Decimal(dep))
    return forms


DEFAULT_ALIASES: dict[str, FrequencyTerm] = {
    **{alias: FrequencyTerm(code) for alias, code in _PLAIN.items()},
    **_deposit_forms(),
}


def normalize(text: str) -> str:
    """Full-width to half-width, no spaces or punctuation around, upper case: ``" 两月一次。"`` → ``两月一次``."""
    value = unicodedata.normalize("NFKC", text or "")
    value = re.sub(r"[\s,.;:!?、。,;:!?()()\[\]【】\"'“”‘’]+", "", value)
    return value.upper().replace("_", "-") if value.isascii() else value


@dataclass(frozen=True)
class AliasTable:
    aliases: Mapping[str, FrequencyTerm]

    def resolve(self, value: Any, *, field: str = "payment_frequency") -> FrequencyTerm:
        """The term for a code or alias; INVALID_FREQUENCY_CODE (422) naming the value and what is accepted."""
        if isinstance(value, PaymentFrequency):
            return FrequencyTerm(value)
        text = normalize(str(value)) if value is not None else ""
        code = text.replace("-", "_")
        if code in PaymentFrequency.__members__:
            return FrequencyTerm(PaymentFrequency(code))
        term = self.aliases.get(text)
        if term is None:
            raise invalid_frequency(value, self, field=field)
        return term

    def accepted(self) -> dict[str, list[str]]:
        return {"codes": [f.value for f in PaymentFrequency], "aliases": sorted(self.aliases)}


def invalid_frequency(value: Any, table: AliasTable, *, field: str = "payment_frequency") -> ValidationFailed:
    accepted = table.accepted()
    return ValidationFailed(
        f"unknown payment frequency {value!r}: use one of {', '.join(accepted['codes'])} or an alias such as "
        f"月付, 两月一次, 季付, 半年付, 年付, 押一付三",
        code=TermError.INVALID_FREQUENCY_CODE,
        details={"field": field, "value": value, "accepted_codes": accepted["codes"],
                 "accepted_aliases": accepted["aliases"]})


def build_alias_table(extra: Mapping[str, Any] | None = None) -> AliasTable:
    """The defaults plus configured aliases. A configured alias naming an unknown code is a configuration error."""
    aliases = dict(DEFAULT_ALIASES)
    for alias, target in (extra or {}).items():
        if isinstance(target, Mapping):
            code, months = target.get("frequency"), target.get("deposit_months")
        else:
            code, months = target, None
        try:
            frequency = PaymentFrequency(normalize(str(code)).replace("-", "_"))
        except ValueError:
            raise ValueError(f"RW_FREQUENCY_ALIASES: {alias!r} maps to unknown code {code!r}") from None
        aliases[normalize(alias)] = FrequencyTerm(frequency, Decimal(str(months)) if months is not None else None)
    return AliasTable(aliases)


DEFAULT_TABLE = build_alias_table()


def alias_table(settings: Any | None) -> AliasTable:
    """The table for this configuration (settings.frequency_aliases); the defaults without settings."""
    extra = getattr(settings, "frequency_aliases", None) if settings is not None else None
    return build_alias_table(extra) if extra else DEFAULT_TABLE


def resolve_frequency(value: Any, table: AliasTable | None = None, *,
                      field: str = "payment_frequency") -> FrequencyTerm:
    return (table or DEFAULT_TABLE).resolve(value, field=field)
