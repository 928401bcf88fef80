"""The three collections messages (首次提醒 / 二次跟进 / 三次警示) in Chinese, with placeholders from the lease and
the receivable. ``text`` is the full message (SMS and the tenant's history); ``note`` is its short form for the
WeChat subscribe message's thing field (≤ 20 characters, fitted by notifications.fit). ``RW_ARREARS_TEMPLATES``
overrides either per tier code; an unknown placeholder is a configuration error, raised when loaded."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arrears.choices import TierCode
from notifications.choices import NotificationKind

PLACEHOLDERS = frozenset({"tenant_name", "unit_code", "contract_no", "label", "period", "amount", "due_date", "days",
                          "late_fee", "total", "clause_ref", "deadline", "deadline_hours", "grace_days"})

DEFAULT_TEXTS: dict[TierCode, dict[str, str]] = {
    TierCode.FRIENDLY: {
        "title": "首次提醒",
        "text": "【首次提醒】尊敬的{tenant_name}:您承租的{unit_code}(合同{contract_no}){period}{label}¥{amount}"
                "已于{due_date}到期,目前逾期{days}天,请尽快支付。若有付款已完成,请忽略此消息。",
        "note": "若有付款已完成,请忽略此消息",
    },
    TierCode.LEGAL_NOTICE: {
        "title": "二次跟进",
        "text": "【二次跟进】尊敬的{tenant_name}:您承租的{unit_code}(合同{contract_no}){period}{label}¥{amount}"
                "已逾期{days}天。根据《中华人民共和国民法典》第五百七十七条及租赁合同约定,逾期付款须承担违约责任,"
                "目前违约金¥{late_fee}。如付款确有困难,可通过小程序或联系管家申请{grace_days}天宽限期。"
                "若有付款已完成,请忽略此消息。",
        "note": "可申请{grace_days}天宽限期,请尽快付款",
    },
    TierCode.LAWYER_LETTER: {
        "title": "三次警示",
        "text": "【三次警示】尊敬的{tenant_name}:您承租的{unit_code}{period}{label}¥{amount}已逾期{days}天。"
                "根据租赁合同(编号{contract_no}){clause_ref}的约定,请于{deadline}前({deadline_hours}小时内)"
                "付清欠款及违约金共¥{total}。逾期未付,我方将委托律师发送律师函,并依约追究违约责任。",
        "note": "依合同{clause_ref}请{deadline_hours}小时内付清",
    },
}

KIND_OF_TIER: dict[TierCode, NotificationKind] = {
    TierCode.FRIENDLY: NotificationKind.COLLECTION_FRIENDLY,
    TierCode.LEGAL_NOTICE: NotificationKind.COLLECTION_LEGAL,
    TierCode.LAWYER_LETTER: NotificationKind.COLLECTION_FINAL,
}


class TemplateConfigError(ValueError):
    pass


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@dataclass(frozen=True)
class MessageTemplates:
    texts: Mapping[TierCode, Mapping[str, str]]

    @classmethod
    def from_config(cls, overrides: Mapping[str, Mapping[str, str]] | None = None) -> MessageTemplates:
        texts = {code: dict(parts) for code, parts in DEFAULT_TEXTS.items()}
        for code, parts in (overrides or {}).items():
            if code not in texts:
                raise TemplateConfigError(f"unknown tier code {code!r} in RW_ARREARS_TEMPLATES")
            for part, text in parts.items():
                if part not in ("title", "text", "note"):
                    raise TemplateConfigError(f"{code}: unknown template part {part!r}")
                unknown = _placeholders(text) - PLACEHOLDERS
                if unknown:
                    raise TemplateConfigError(f"{code}.{part}: unknown placeholders {sorted(unknown)}")
                texts[TierCode(code)][part] = text
        return cls(texts)

    def render(self, code: TierCode, values: Mapping[str, Any]) -> dict[str, str]:
        """title, text and note with the placeholders filled (every placeholder must have a value)."""
        parts = self.texts[code]
        filled = {k: str(v) for k, v in values.items()}
        missing = PLACEHOLDERS - set(filled)
        if missing:
            raise KeyError(f"missing placeholder values {sorted(missing)}")
        return {part: text.format_map(filled) for part, text in parts.items()}
