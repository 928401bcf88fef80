"""Collections rules (pure): tiers as data and the job's decision, late fees against hand-computed cases, the
three templates filled and fitted to WeChat's field limits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from arrears.choices import LateFeeKind, TierCode
from arrears.latefees import LateFeeClause, late_fee
from arrears.templates import MessageTemplates, TemplateConfigError
from arrears.tiers import TierConfigError, TierTable, classify, decide
from notifications.fit import fit_thing

TABLE = TierTable.from_config()
F, L, X = TierCode.FRIENDLY, TierCode.LEGAL_NOTICE, TierCode.LAWYER_LETTER


@pytest.mark.parametrize(("days", "code"), [(-3, None), (0, None), (1, F), (15, F), (16, L), (30, L), (31, X),
                                            (400, X)])
def test_classify_by_days_past_due(days, code):
    tier = classify(days, TABLE)
    assert (tier.code if tier else None) == code


@pytest.mark.parametrize(("days", "handled", "suppressed", "send", "skip", "reason"), [
    (5, set(), False, 1, (), "entered tier"),
    (5, {1}, False, None, (), "tier already handled"),
    (20, {1}, False, 2, (), "entered tier"),
    (40, {1}, False, 3, (2,), "entered tier"),  # down for a while: only the current tier fires, 2 is skipped
    (40, set(), False, 3, (1, 2), "entered tier"),
    (20, {3}, False, None, (), "tier already handled"),  # never back down a level
    (40, {1, 2, 3}, False, None, (), "tier already handled"),
    (20, {1}, True, None, (), "grace period"),
    (0, set(), False, None, (), "not overdue"),
])
def test_decision(days, handled, suppressed, send, skip, reason):
    decision = decide(days, TABLE, handled, suppressed=suppressed)
    assert (decision.send.level if decision.send else None) == send
    assert tuple(t.level for t in decision.skip) == skip
    assert decision.reason == reason


def test_bounds_are_configuration():
    table = TierTable.from_config([{"code": "FRIENDLY", "max_days": 10}, {"code": "LEGAL_NOTICE", "min_days": 11,
                                                                          "max_days": 20},
                                   {"code": "LAWYER_LETTER", "min_days": 21}])
    assert [classify(d, table).code for d in (10, 11, 20, 21)] == [F, L, L, X]


@pytest.mark.parametrize("config", [
    [{"code": "FRIENDLY", "max_days": 10}],  # gap 11..15
    [{"code": "LAWYER_LETTER", "max_days": 90}],  # last tier not open-ended
    [{"code": "NOPE"}],
    [{"code": "FRIENDLY", "colour": "red"}],
])
def test_bad_tier_configuration_is_refused(config):
    with pytest.raises(TierConfigError):
        TierTable.from_config(config)


# ---------------------------------------------------------------------------------------------- late fees

DUE = date(2026, 11, 1)
RATE = {"kind": "DAILY_RATE", "daily_rate": "0.0005"}  # 万分之五 per day


def clause(**kw) -> LateFeeClause:
    return LateFeeClause.model_validate(kw)


def d(n: int) -> date:
    return DUE + timedelta(days=n)


# (clause, amount fen, payments [(days after due, fen)], as_of days after due, fee fen, days late, capped)
CASES = [
    # 10 days × 4500.00 × 0.0005 = 10 × 225 fen
    ("ten days", clause(**RATE), 450000, [], 10, 2250, 10, False),
    ("due today, not late", clause(**RATE), 450000, [], 0, 0, 0, False),
    # 2000.00 paid on day 4 (day 4 still counts): 4 × 225 + 6 × 125 = 900 + 750
    ("partial payment", clause(**RATE), 450000, [(4, 200000)], 10, 1650, 10, False),
    # paid in full on day 2: 2 days
    ("paid on day 2", clause(**RATE), 450000, [(2, 450000)], 10, 450, 2, False),
    ("paid on the due date", clause(**RATE), 450000, [(0, 450000)], 10, 0, 0, False),
    ("payment after as_of ignored", clause(**RATE), 450000, [(12, 450000)], 10, 2250, 10, False),
    # 3333.33 × 0.0005 = 166.6665 fen a day: 1 day → 167; 3 days 499.9995 → 500 (rounded once, at the end)
    ("half-up one day", clause(**RATE), 333333, [], 1, 167, 1, False),
    ("rounded once", clause(**RATE), 333333, [], 3, 500, 3, False),
    ("exact half", clause(**RATE), 1000, [], 1, 1, 1, False),  # 0.5 fen → 1
    ("below half", clause(**RATE), 999, [], 1, 0, 1, False),  # 0.4995 fen → 0
    # cap 20 % of 4500.00 = 900.00: 400 days are exactly 900.00, the 401st is capped
    ("cap reached exactly", clause(**RATE, cap_rate="0.2"), 450000, [], 400, 90000, 400, False),
    ("capped by share", clause(**RATE, cap_rate="0.2"), 450000, [], 401, 90000, 401, True),
    ("capped by amount", clause(**RATE, cap_fen=5000), 450000, [], 30, 5000, 30, True),
    ("lower cap wins", clause(**RATE, cap_rate="0.01", cap_fen=5000), 450000, [], 30, 4500, 30, True),
    # cap share rounded half up: 0.1 × 3333.35 = 333.335 → 333.34
    ("cap share rounding", clause(**RATE, cap_rate="0.1"), 333335, [], 400, 33334, 400, True),
    # grace 3 days: the fee starts on day 4 → 7 days of 225
    ("contract grace days", clause(**RATE, grace_days=3), 450000, [], 10, 1575, 7, False),
    ("fixed within grace", clause(kind="FIXED", fixed_fen=20000, grace_days=5), 450000, [], 5, 0, 0, False),
    ("fixed after grace", clause(kind="FIXED", fixed_fen=20000, grace_days=5), 450000, [], 6, 20000, 1, False),
    ("fixed, paid in grace", clause(kind="FIXED", fixed_fen=20000, grace_days=5), 450000, [(3, 450000)], 30, 0, 0,
     False),
    ("fixed, paid late", clause(kind="FIXED", fixed_fen=20000, grace_days=5), 450000, [(6, 450000)], 30, 20000, 1,
     False),
    ("no clause", clause(), 450000, [], 30, 0, 0, False),
    # two payments: 4 days × 4500 + 3 days × 2500 + 3 days × 1000 = 18000 + 7500 + 3000 = 28500 yuan-days → 1425
    ("two payments", clause(**RATE), 450000, [(4, 200000), (7, 150000)], 10, 1425, 10, False),
]


@pytest.mark.parametrize(("name", "c", "amount", "payments", "as_of", "fee", "days", "capped"), CASES,
                         ids=[case[0] for case in CASES])
def test_late_fee_table(name, c, amount, payments, as_of, fee, days, capped):
    result = late_fee(c, amount_fen=amount, due_date=DUE, payments=[(d(n), fen) for n, fen in payments],
                      as_of=d(as_of))
    assert (result.fen, result.days, result.capped) == (fee, days, capped)
    assert isinstance(result.fen, int)


def test_clause_validation():
    with pytest.raises(ValueError):
        LateFeeClause.model_validate({"kind": "DAILY_RATE"})
    with pytest.raises(ValueError):
        LateFeeClause.model_validate({"kind": "FIXED"})
    with pytest.raises(ValueError):
        LateFeeClause.model_validate({"kind": "DAILY_RATE", "daily_rate": "0.5"})  # 50 % a day: not a clause
    assert LateFeeClause.model_validate(RATE).daily_rate == Decimal("0.0005")
    assert LateFeeClause().kind == LateFeeKind.NONE


def test_breakdown_shows_the_segments():
    result = late_fee(clause(**RATE), amount_fen=450000, due_date=DUE, payments=[(d(4), 200000)], as_of=d(10))
    segments = result.breakdown(clause(**RATE))["segments"]
    assert segments == [{"from": "2026-11-02", "to": "2026-11-05", "days": 4, "base_fen": 450000},
                        {"from": "2026-11-06", "to": "2026-11-11", "days": 6, "base_fen": 250000}]


# ---------------------------------------------------------------------------------------------- templates

VALUES = {"tenant_name": "深圳市南山咖啡有限公司", "unit_code": "SZ-FT-B-1201", "contract_no": "202512001",
          "label": "租金", "period": "2026年11月", "amount": "4500.00", "due_date": "2026-11-01", "days": 35,
          "late_fee": "787.50", "total": "5287.50", "clause_ref": "第八条", "deadline": "2026-12-08 10:00",
          "deadline_hours": 48, "grace_days": 7}


def test_three_default_templates():
    templates = MessageTemplates.from_config()
    first = templates.render(F, VALUES)
    second = templates.render(L, VALUES)
    third = templates.render(X, VALUES)
    assert first["title"] == "首次提醒" and "若有付款已完成,请忽略此消息" in first["text"]
    assert "202512001" in first["text"] and "¥4500.00" in first["text"]
    assert second["title"] == "二次跟进" and "7天宽限期" in second["text"] and "违约责任" in second["text"]
    assert third["title"] == "三次警示" and "第八条" in third["text"] and "48小时" in third["text"]
    assert "2026-12-08 10:00" in third["text"] and "¥5287.50" in third["text"] and "律师函" in third["text"]
    for rendered in (first, second, third):
        assert len(fit_thing(rendered["note"])) <= 20
        assert fit_thing(rendered["note"]) == rendered["note"]  # the defaults fit without being cut


def test_template_overrides_are_checked():
    custom = MessageTemplates.from_config({"FRIENDLY": {"note": "请于{due_date}前付款"}})
    assert custom.render(F, VALUES)["note"] == "请于2026-11-01前付款"
    with pytest.raises(TemplateConfigError):
        MessageTemplates.from_config({"FRIENDLY": {"text": "{unknown_field}"}})
    with pytest.raises(TemplateConfigError):
        MessageTemplates.from_config({"OTHER": {"text": "x"}})
