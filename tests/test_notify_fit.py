"""Fitting values to WeChat subscribe-message field limits (table-driven, pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from notifications.fit import field_type_of, fit_value, render_data

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("field_type", "value", "expected"), [
    ("thing", "押金退还", "押金退还"),
    ("thing", "一二三四五六七八九十一二三四五六七八九十", "一二三四五六七八九十一二三四五六七八九十"),  # exactly 20
    ("thing", "一二三四五六七八九十一二三四五六七八九十多", "一二三四五六七八九十一二三四五六七八九…"),
    ("thing", "line\nbreak\ttab", "line break tab"),
    ("thing", "", "-"),
    ("number", "12.50", "12.50"),
    ("number", "共 3 间", "3"),
    ("number", "9" * 40, "9" * 32),
    ("letter", "Ab1-c", "Abc"),
    ("symbol", "★☆-+%#@", "-+%#@"),
    ("character_string", "SZ-NS-A-1203", "SZ-NS-A-1203"),
    ("character_string", "南山SZ-1203 室", "SZ-1203"),
    ("character_string", "A" * 40, "A" * 32),
    ("time", datetime(2026, 10, 1, 1, 30, tzinfo=UTC), "2026-10-01 09:30"),
    ("time", "2026-10-01T01:30:00+00:00", "2026-10-01 09:30"),
    ("date", datetime(2026, 9, 30, 17, 0, tzinfo=UTC), "2026-10-01"),  # Shanghai date, not UTC date
    ("date", date(2026, 10, 8), "2026-10-08"),
    ("date", "2026-10-08", "2026-10-08"),
    ("amount", 900000, "¥9000.00"),
    ("amount", 5, "¥0.05"),
    ("amount", 123456789012, "¥1234567890"),  # 12 digits with fen → drop fen to stay ≤ 10 digits
    ("amount", 10**14, "¥9999999999"),
    ("phone_number", "+86 138-0000-0000", "+86138-0000-0000"),
    ("phone_number", "1" * 20, "1" * 17),
    ("name", "欧阳娜娜娜娜娜娜娜娜娜", "欧阳娜娜娜娜娜娜娜…"),
    ("name", "Li Lei", "Li Lei"),
    ("name", "Alexandra Catherine Montgomery", "Alexandra Catherine…"),
    ("phrase", "已查验", "已查验"),
    ("phrase", "审批已经完成了", "审批已经完"),
    ("phrase", "OK已办", "已办"),
    ("phrase", "OK", "处理中"),
])
def test_fit_value(field_type, value, expected):
    assert fit_value(field_type, value, SH) == expected


@pytest.mark.parametrize(("field_type", "limit"), [
    ("thing", 20), ("character_string", 32), ("letter", 32), ("symbol", 5), ("phone_number", 17), ("phrase", 5),
])
def test_limits_hold_for_long_values(field_type, limit):
    value = "测试Ab1-★" * 30
    assert 0 < len(fit_value(field_type, value, SH)) <= limit


@pytest.mark.parametrize(("key", "field_type"), [
    ("thing1", "thing"), ("character_string12", "character_string"), ("phrase3", "phrase"), ("time10", "time"),
])
def test_field_type_of(key, field_type):
    assert field_type_of(key) == field_type


def test_unknown_field_type_is_refused():
    with pytest.raises(ValueError):
        field_type_of("colour1")


def test_render_data_uses_fallbacks_and_literals():
    data = render_data({"thing1": "note|step_label", "phrase2": "=已完成", "amount3": "refund_fen"},
                       {"note": "", "step_label": "款项已发放,请查收您的押金退款", "refund_fen": 880000}, SH)
    assert data == {"thing1": {"value": "款项已发放,请查收您的押金退款"}, "phrase2": {"value": "已完成"},
                    "amount3": {"value": "¥8800.00"}}
