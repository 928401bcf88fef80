"""Tenant profile rules (pure): a table of tenants, each with the score, the recommendation and the reasons
(measure, effect) worked out by hand from leasehealth.profile's rules and default parameters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pytest

from arrears.choices import GraceStatus, PromiseStatus, TierCode
from leasehealth.choices import Recommendation
from leasehealth.profile import (
    DueFact,
    GraceFact,
    LeaseSpan,
    OrderFact,
    ProfileFacts,
    PromiseFact,
    RefundFact,
    assess_tenant,
    days_late,
    responded,
)

AS_OF = date(2026, 12, 20)
E, R, N = Recommendation.ELIGIBLE, Recommendation.REVIEW, Recommendation.NOT_RECOMMENDED
YEAR = (LeaseSpan(date(2026, 1, 1), date(2026, 12, 31)),)


def monthly(lates: Sequence[int | None], *, year: int = 2026) -> tuple[DueFact, ...]:
    """Dues on the 1st of each month from January; each paid that many days late, None: still unpaid."""
    dues = []
    for n, late in enumerate(lates):
        due = date(year, n + 1, 1)
        dues.append(DueFact(n + 1, due, 450000, None if late is None else due + timedelta(days=late)))
    return tuple(dues)


def on_time(**extra) -> ProfileFacts:
    return ProfileFacts(**{"dues": monthly([0] * 12), "leases": YEAR, **extra})


CASES = {
    "punctual": (on_time(), 100, E, [("on_time_rate", 0)]),
    "no dues yet": (ProfileFacts(leases=YEAR), 100, R, [("dues_judged", 0)]),
    # 9/12 on time: (95% − 75%) × 100 = −20; three 10 days late: average 10 > 5 → −5
    "often late": (ProfileFacts(dues=monthly([10, 10, 10] + [0] * 9)), 75, R,
                   [("on_time_rate", -20), ("avg_days_late", -5)]),
    # the same rate, 5 days late on average (not more than 5): exactly the eligible bound
    "late but briefly": (ProfileFacts(dues=monthly([5, 5, 5] + [0] * 9)), 80, E, [("on_time_rate", -20)]),
    # 11/12: 3.33 → −3
    "one slip": (ProfileFacts(dues=monthly([3] + [0] * 11)), 97, E, [("on_time_rate", -3)]),
    # 7/12: 36.67 → −37 → 63, review; 6/12: −45 → 55, not recommended
    "review bound": (ProfileFacts(dues=monthly([3] * 5 + [0] * 7)), 63, R, [("on_time_rate", -37)]),
    "below review": (ProfileFacts(dues=monthly([3] * 6 + [0] * 6)), 55, N, [("on_time_rate", -45)]),
    # 11-01 unpaid 49 days, 12-01 unpaid 19: 10/12 → −12; average 34 → −10; worst 49 → −10; hard stop
    "unpaid now": (ProfileFacts(dues=monthly([0] * 10 + [None, None])), 68, N,
                   [("on_time_rate", -12), ("avg_days_late", -10), ("worst_days_late", -10),
                    ("worst_days_unpaid", 0)]),
    # two dues 20 days late (−12, −10, −5), both in collections (−10), three grace requests (the first free: −6),
    # a promise broken (−10) and one kept (+2)
    "collections": (ProfileFacts(
        dues=monthly([20, 20] + [0] * 10), episodes=((1, TierCode.FRIENDLY), (2, TierCode.FRIENDLY),
                                                       (2, TierCode.LEGAL_NOTICE)),
        graces=tuple(GraceFact(date(2026, m, 5), GraceStatus.APPROVED) for m in (1, 2, 3)),
        promises=(PromiseFact(date(2026, 1, 10), PromiseStatus.BROKEN),
                  PromiseFact(date(2026, 2, 10), PromiseStatus.KEPT),
                  PromiseFact(date(2026, 3, 10), PromiseStatus.PENDING))), 49, N,
        [("on_time_rate", -12), ("avg_days_late", -10), ("worst_days_late", -5), ("overdue_episodes", -10),
         ("grace_requests", -6), ("promises_broken", -10), ("promises_kept", 2)]),
    # one due 35 days late that reached the lawyer's letter tier: a hard stop whatever the score
    "lawyer letter": (ProfileFacts(dues=monthly([35] + [0] * 11), episodes=((1, TierCode.LAWYER_LETTER),)), 62, N,
                      [("on_time_rate", -3), ("avg_days_late", -10), ("worst_days_late", -10),
                       ("overdue_episodes", -5), ("highest_tier", -10)]),
    # two move-outs with deductions (−10), one left a debt above the deposit (−20)
    "deductions and debt": (on_time(refunds=(RefundFact(1, 50000), RefundFact(2, 1200000, 300000),
                                             RefundFact(3, 0))), 70, R,
                            [("on_time_rate", 0), ("deposit_deductions", -10), ("debt_fen", -20)]),
    # 14 requests in 354 lease days (14.4 a year > 12: −5) and one complaint (−5)
    "work orders and complaints": (on_time(orders=tuple(
        OrderFact(n, date(2026, 1 + n % 11, 10), "空调报修") for n in range(14)) + (
        OrderFact(99, date(2026, 6, 1), "投诉:楼上噪音"),)), 90, E,
        [("on_time_rate", 0), ("work_orders", -5), ("complaints", -5)]),
    # 12 requests a year is not more than 12
    "work orders at the bound": (on_time(orders=tuple(OrderFact(n, date(2026, 1 + n % 11, 10)) for n in range(12)),
                                         leases=(LeaseSpan(date(2025, 12, 21), date(2026, 12, 31)),)), 100, E,
                                 [("on_time_rate", 0)]),
    # four messages, one answered within 3 days (06-10 is 5 days after 06-05): 25% < 50% → −10
    "unresponsive": (on_time(messages=(date(2026, 3, 5), date(2026, 6, 5), date(2026, 9, 5), date(2026, 11, 5)),
                             responses=(date(2026, 3, 7), date(2026, 6, 10))), 90, E,
                     [("on_time_rate", 0), ("responsiveness", -10)]),
    # one message only: too few to judge
    "one message": (on_time(messages=(date(2026, 3, 5),)), 100, E, [("on_time_rate", 0)]),
    # behaviour older than two years is forgotten ...
    "old lateness forgotten": (ProfileFacts(dues=(DueFact(50, date(2024, 6, 1), 1000, date(2024, 7, 15)),
                                                  *monthly([0] * 12))), 100, E, [("on_time_rate", 0)]),
    # ... a debt is not: 2024-06-01 still unpaid (932 days): 12/13 → 2.69 → −3, average −10, worst −20, hard stop
    "old debt kept": (ProfileFacts(dues=(DueFact(50, date(2024, 6, 1), 1000), *monthly([0] * 12))), 67, N,
                      [("on_time_rate", -3), ("avg_days_late", -10), ("worst_days_late", -20),
                       ("worst_days_unpaid", 0)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_profile_table(name):
    facts, score, recommendation, reasons = CASES[name]
    profile = assess_tenant(facts, AS_OF)
    assert (profile.score, profile.recommendation) == (score, recommendation)
    assert [(r.measure, r.effect) for r in profile.reasons] == reasons
    assert all(r.label and r.rule and r.text for r in profile.reasons)


def test_metrics_and_reason_texts():
    facts, *_ = CASES["collections"]
    profile = assess_tenant(facts, AS_OF)
    m = profile.metrics
    assert (m["on_time_rate"], m["avg_days_late"], m["worst_days_late"], m["dues_judged"], m["dues_late"]) == (
        "0.8333", "20.0", 20, 12, 2)
    assert (m["overdue_episodes"], m["highest_tier"], m["grace_requests"], m["grace_approved"]) == (
        2, "LEGAL_NOTICE", 3, 3)
    assert (m["promises_kept"], m["promises_broken"], m["promises_pending"]) == (1, 1, 1)
    texts = [r.text for r in profile.reasons]
    assert texts[0] == "按时付款率83%(10/12)(低于95%按差额扣分):-12分"
    assert "违约付款承诺1次(每次-10分):-10分" in texts
    assert profile.summary().startswith("不建议续约(评分49):按时付款率83%")
    stop = assess_tenant(CASES["lawyer letter"][0], AS_OF)
    assert stop.reasons[-1].text == "最高催收级别三次警示(律师函预备)(曾进入律师函预备):-10分,不建议续约"
    debt = assess_tenant(CASES["deductions and debt"][0], AS_OF)
    assert debt.metrics["deposit_deductions_fen"] == 1250000 and debt.metrics["debt_fen"] == 300000
    assert "退租欠款3000.00元" in debt.reasons[-1].text


@pytest.mark.parametrize(("paid_on", "expected"), [
    (date(2026, 12, 1), 0), (date(2026, 11, 30), 0), (date(2026, 12, 4), 3), (None, 19),
    (date(2026, 12, 25), 19),  # paid after as_of: unpaid as known on as_of
])
def test_days_late(paid_on, expected):
    assert days_late(DueFact(1, date(2026, 12, 1), 100, paid_on), AS_OF) == expected
    assert days_late(DueFact(1, date(2026, 12, 21), 100, paid_on), AS_OF) is None


def test_responded_window():
    messages = (date(2026, 1, 1), date(2026, 1, 10))
    assert responded(messages, (date(2026, 1, 4),), 3) == 1
    assert responded(messages, (date(2026, 1, 5),), 3) == 0
    assert responded(messages, (date(2026, 1, 10),), 0) == 1
