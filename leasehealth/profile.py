"""Tenant profile (信用行为画像) and renewal eligibility (pure: no database, no clock), table-tested in
tests/test_tenant_profile_rules.py.

One tenant party across all their leases, over the ``lookback_days`` before ``as_of``:

- payments: on-time rate (a due paid on or before its due date; one unpaid past its due date is late by the days
  since, and counts however old it is), average and worst calendar days late;
- collections: overdue episodes (receivables that entered a collections tier) and the highest tier reached,
  grace requests, promises to pay kept and broken;
- move-outs: deposit deductions and a debt left above the deposit;
- the units: the tenant's own work orders per lease-year and complaints;
- contact responsiveness: the share of collections messages followed within ``response_days`` by a payment, a
  promise or a grace request from the tenant.

The score starts at 100; every rule that applies is a *reason* naming its measure, the value seen, the rule and
its effect on the score (no other number moves it). The recommendation: any hard stop (a due unpaid more than
``hard_stop_days_unpaid`` days, a lawyer's letter tier reached) → NOT_RECOMMENDED; otherwise the score against
``eligible_from`` and ``review_from``. No judged due at all → REVIEW (nothing to judge by). Rounding: rates and
averages are Decimal, rounded half up at the shown precision; effects are whole points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from arrears.choices import GraceStatus, PromiseStatus, TierCode
from leasehealth.choices import RECOMMENDATION_LABEL, Recommendation

#: the collections tiers in escalation order (a receivable's highest one reached is its episode's severity)
TIER_ORDER: tuple[TierCode, ...] = (TierCode.FRIENDLY, TierCode.LEGAL_NOTICE, TierCode.LAWYER_LETTER)
TIER_LABEL: dict[TierCode, str] = {TierCode.FRIENDLY: "首次提醒", TierCode.LEGAL_NOTICE: "二次跟进",
                                   TierCode.LAWYER_LETTER: "三次警示(律师函预备)"}
#: work order titles that record a complaint (投诉) rather than a request; the system has no complaint record
#: of its own, so a complaint is a tenant work order whose title says so
COMPLAINT_MARKERS = ("投诉",)


@dataclass(frozen=True)
class ProfileParams:
    lookback_days: int = 730  # two years of behaviour
    on_time_target: Decimal = Decimal("0.95")  # below it: minus (target − rate) × on_time_weight points
    on_time_weight: int = 100
    avg_late_days: tuple[tuple[int, int], ...] = ((15, -10), (5, -5))  # (more than n days, effect), worst first
    worst_late_days: tuple[tuple[int, int], ...] = ((60, -20), (30, -10), (15, -5))
    episode_effect: int = -5  # per overdue episode
    episode_cap: int = -20
    lawyer_letter_effect: int = -10
    free_grace_requests: int = 1  # the first one is a tenant's right
    grace_effect: int = -3  # per request beyond the free ones
    grace_cap: int = -9
    promise_broken_effect: int = -10
    promise_broken_cap: int = -30
    promise_kept_effect: int = 2
    promise_kept_cap: int = 6
    deduction_effect: int = -5  # per move-out with deductions from the deposit
    deduction_cap: int = -10
    debt_effect: int = -20  # deductions above the deposit were left as a debt
    work_orders_per_lease_year: int = 12  # more than this many of the tenant's own work orders a lease-year
    work_orders_effect: int = -5
    complaint_effect: int = -5
    complaint_cap: int = -15
    response_days: int = 3
    min_messages: int = 2  # responsiveness is judged from this many messages on
    responsiveness_floor: Decimal = Decimal("0.5")
    responsiveness_effect: int = -10
    hard_stop_days_unpaid: int = 30
    eligible_from: int = 80
    review_from: int = 60


@dataclass(frozen=True)
class DueFact:
    receivable_id: int
    due_date: date
    amount_fen: int
    paid_on: date | None = None  # the local day it was fully paid


@dataclass(frozen=True)
class GraceFact:
    requested_on: date
    status: GraceStatus


@dataclass(frozen=True)
class PromiseFact:
    promised_on: date  # when the promise was made
    status: PromiseStatus | None  # None or PENDING: not judged yet


@dataclass(frozen=True)
class RefundFact:
    refund_id: int
    deductions_fen: int
    debt_fen: int = 0


@dataclass(frozen=True)
class OrderFact:
    work_order_id: int
    opened_on: date
    title: str = ""


@dataclass(frozen=True)
class LeaseSpan:
    start: date
    end: date


@dataclass(frozen=True)
class ProfileFacts:
    dues: tuple[DueFact, ...] = ()
    episodes: tuple[tuple[int, TierCode], ...] = ()  # (receivable id, tier) of each collections step
    graces: tuple[GraceFact, ...] = ()
    promises: tuple[PromiseFact, ...] = ()
    refunds: tuple[RefundFact, ...] = ()
    orders: tuple[OrderFact, ...] = ()
    leases: tuple[LeaseSpan, ...] = ()
    messages: tuple[date, ...] = ()  # days a collections message went to the tenant
    responses: tuple[date, ...] = ()  # days the tenant paid, promised or asked for grace


@dataclass(frozen=True)
class Reason:
    measure: str
    label: str
    value: str
    rule: str
    effect: int
    hard_stop: bool = False

    @property
    def text(self) -> str:
        effect = f"{self.effect:+d}分" if self.effect else "不扣分"
        if self.hard_stop:
            effect = f"{effect},不建议续约" if self.effect else "不建议续约"
        return f"{self.label}{self.value}({self.rule}):{effect}"

    def as_dict(self) -> dict[str, Any]:
        return {"measure": self.measure, "label": self.label, "value": self.value, "rule": self.rule,
                "effect": self.effect, "hard_stop": self.hard_stop, "text": self.text}


@dataclass(frozen=True)
class Profile:
    as_of: date
    score: int
    recommendation: Recommendation
    reasons: tuple[Reason, ...]
    metrics: dict[str, Any]

    @property
    def label(self) -> str:
        return RECOMMENDATION_LABEL[self.recommendation]

    def summary(self) -> str:
        """One line for a reminder: the recommendation, the score and every reason."""
        return f"{self.label}(评分{self.score}):" + ";".join(r.text for r in self.reasons)


def _q(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _pct(rate: Decimal) -> str:
    return f"{_q(rate * 100, '1')}%"


def _capped(count: int, each: int, cap: int) -> int:
    total = count * each
    return max(total, cap) if each < 0 else min(total, cap)


def days_late(due: DueFact, as_of: date) -> int | None:
    """Calendar days after the due date it was (or, unpaid, has been) outstanding; None when not yet due."""
    if due.due_date > as_of:
        return None
    if due.paid_on is not None and due.paid_on <= as_of:
        return max(0, (due.paid_on - due.due_date).days)
    return (as_of - due.due_date).days


def _judged(due: DueFact, since: date, as_of: date) -> bool:
    """Dues in the window, and any still unpaid however old (a debt does not age out of the profile)."""
    return since <= due.due_date or due.paid_on is None or due.paid_on > as_of


def lease_days(leases: tuple[LeaseSpan, ...], since: date, as_of: date) -> int:
    return sum(max(0, (min(span.end, as_of) - max(span.start, since)).days + 1) for span in leases)


def responded(messages: tuple[date, ...], responses: tuple[date, ...], window: int) -> int:
    """Messages followed by a response on the day or within ``window`` days after."""
    return sum(any(day <= r <= day + timedelta(days=window) for r in responses) for day in messages)


def _payment_reasons(facts: ProfileFacts, since: date, as_of: date, p: ProfileParams,
                     metrics: dict[str, Any]) -> list[Reason]:
    judged = [(due, late) for due in facts.dues if _judged(due, since, as_of)
              and (late := days_late(due, as_of)) is not None]
    lates = [late for _, late in judged if late > 0]
    unpaid = [late for due, late in judged if late > 0 and (due.paid_on is None or due.paid_on > as_of)]
    metrics.update(dues_judged=len(judged), dues_late=len(lates), worst_days_unpaid=max(unpaid, default=0))
    if not judged:
        metrics.update(on_time_rate=None, avg_days_late=None, worst_days_late=None)
        return []
    rate = Decimal(len(judged) - len(lates)) / len(judged)
    avg = _q(Decimal(sum(lates)) / len(lates), "0.1") if lates else Decimal("0.0")
    worst = max(lates, default=0)
    metrics.update(on_time_rate=str(_q(rate, "0.0001")), avg_days_late=str(avg), worst_days_late=worst)
    reasons = []
    effect = -int(_q((p.on_time_target - rate) * p.on_time_weight, "1")) if rate < p.on_time_target else 0
    reasons.append(Reason("on_time_rate", "按时付款率", f"{_pct(rate)}({len(judged) - len(lates)}/{len(judged)})",
                          f"低于{_pct(p.on_time_target)}按差额扣分" if effect else f"不低于{_pct(p.on_time_target)}",
                          effect))
    for bound, points in p.avg_late_days:
        if avg > bound:
            reasons.append(Reason("avg_days_late", "平均逾期天数", f"{avg}天", f"超过{bound}天", points))
            break
    for bound, points in p.worst_late_days:
        if worst > bound:
            reasons.append(Reason("worst_days_late", "最长逾期天数", f"{worst}天", f"超过{bound}天", points))
            break
    if unpaid and max(unpaid) > p.hard_stop_days_unpaid:
        reasons.append(Reason("worst_days_unpaid", "当前欠款逾期", f"{max(unpaid)}天",
                              f"超过{p.hard_stop_days_unpaid}天未付", 0, hard_stop=True))
    return reasons


def _collection_reasons(facts: ProfileFacts, since: date, as_of: date, p: ProfileParams,
                        metrics: dict[str, Any]) -> list[Reason]:
    judged_ids = {due.receivable_id for due in facts.dues if _judged(due, since, as_of)}
    levels: dict[int, int] = {}
    for rid, tier in facts.episodes:
        if rid in judged_ids:
            levels[rid] = max(TIER_ORDER.index(tier), levels.get(rid, 0))
    highest = TIER_ORDER[max(levels.values())] if levels else None
    graces = [g for g in facts.graces if g.requested_on >= since]
    promises = [pr for pr in facts.promises if pr.promised_on >= since]
    kept = sum(pr.status == PromiseStatus.KEPT for pr in promises)
    broken = sum(pr.status == PromiseStatus.BROKEN for pr in promises)
    metrics.update(overdue_episodes=len(levels), highest_tier=highest.value if highest else None,
                   grace_requests=len(graces), grace_approved=sum(g.status == GraceStatus.APPROVED for g in graces),
                   promises_kept=kept,
                   promises_broken=broken, promises_pending=len(promises) - kept - broken)
    reasons = []
    if levels:
        reasons.append(Reason("overdue_episodes", "逾期催收次数", f"{len(levels)}次", f"每次{p.episode_effect}分",
                              _capped(len(levels), p.episode_effect, p.episode_cap)))
    if highest == TierCode.LAWYER_LETTER:
        reasons.append(Reason("highest_tier", "最高催收级别", TIER_LABEL[highest], "曾进入律师函预备",
                              p.lawyer_letter_effect, hard_stop=True))
    extra = len(graces) - p.free_grace_requests
    if extra > 0:
        reasons.append(Reason("grace_requests", "宽限期申请", f"{len(graces)}次",
                              f"超过{p.free_grace_requests}次后每次{p.grace_effect}分",
                              _capped(extra, p.grace_effect, p.grace_cap)))
    if broken:
        reasons.append(Reason("promises_broken", "违约付款承诺", f"{broken}次", f"每次{p.promise_broken_effect}分",
                              _capped(broken, p.promise_broken_effect, p.promise_broken_cap)))
    if kept:
        reasons.append(Reason("promises_kept", "兑现付款承诺", f"{kept}次", f"每次+{p.promise_kept_effect}分",
                              _capped(kept, p.promise_kept_effect, p.promise_kept_cap)))
    return reasons


def _other_reasons(facts: ProfileFacts, since: date, as_of: date, p: ProfileParams,
                   metrics: dict[str, Any]) -> list[Reason]:
    deducted = [r for r in facts.refunds if r.deductions_fen > 0]
    debt = sum(r.debt_fen for r in facts.refunds)
    orders = [o for o in facts.orders if since <= o.opened_on <= as_of]
    complaints = [o for o in orders if any(marker in o.title for marker in COMPLAINT_MARKERS)]
    requests = len(orders) - len(complaints)
    leased = lease_days(facts.leases, since, as_of)
    messages = tuple(day for day in facts.messages if since <= day <= as_of)
    answered = responded(messages, facts.responses, p.response_days)
    metrics.update(deposit_deductions=len(deducted), deposit_deductions_fen=sum(r.deductions_fen for r in deducted),
                   debt_fen=debt, work_orders=requests, complaints=len(complaints), lease_days=leased,
                   messages=len(messages), messages_answered=answered,
                   responsiveness=str(_q(Decimal(answered) / len(messages), "0.0001")) if messages else None)
    reasons = []
    if deducted:
        reasons.append(Reason("deposit_deductions", "押金扣款", f"{len(deducted)}次",
                              f"每次{p.deduction_effect}分", _capped(len(deducted), p.deduction_effect,
                                                                      p.deduction_cap)))
    if debt > 0:
        reasons.append(Reason("debt_fen", "退租欠款", f"{_q(Decimal(debt) / 100, '0.01')}元", "扣款超过押金",
                              p.debt_effect))
    if leased and requests * 365 > p.work_orders_per_lease_year * leased:
        per_year = _q(Decimal(requests * 365) / leased, "0.1")
        reasons.append(Reason("work_orders", "报修工单", f"{requests}单(年均{per_year})",
                              f"年均超过{p.work_orders_per_lease_year}单", p.work_orders_effect))
    if complaints:
        reasons.append(Reason("complaints", "投诉", f"{len(complaints)}次", f"每次{p.complaint_effect}分",
                              _capped(len(complaints), p.complaint_effect, p.complaint_cap)))
    if len(messages) >= p.min_messages and Decimal(answered) / len(messages) < p.responsiveness_floor:
        reasons.append(Reason("responsiveness", "催收响应率",
                              f"{_pct(Decimal(answered) / len(messages))}({answered}/{len(messages)})",
                              f"{p.response_days}天内回应低于{_pct(p.responsiveness_floor)}",
                              p.responsiveness_effect))
    return reasons


def assess_tenant(facts: ProfileFacts, as_of: date, params: ProfileParams = ProfileParams()) -> Profile:
    """The tenant's profile on ``as_of``: score, reasons (the only things that moved it) and recommendation."""
    since = as_of - timedelta(days=params.lookback_days)
    metrics: dict[str, Any] = {"since": since.isoformat()}
    reasons = [*_payment_reasons(facts, since, as_of, params, metrics),
               *_collection_reasons(facts, since, as_of, params, metrics),
               *_other_reasons(facts, since, as_of, params, metrics)]
    score = max(0, min(100, 100 + sum(r.effect for r in reasons)))
    if any(r.hard_stop for r in reasons):
        recommendation = Recommendation.NOT_RECOMMENDED
    elif not metrics["dues_judged"]:
        reasons.append(Reason("dues_judged", "到期账单", "0笔", "无付款记录可评估,需人工复核", 0))
        recommendation = Recommendation.REVIEW
    elif score >= params.eligible_from:
        recommendation = Recommendation.ELIGIBLE
    elif score >= params.review_from:
        recommendation = Recommendation.REVIEW
    else:
        recommendation = Recommendation.NOT_RECOMMENDED
    metrics.update(eligible_from=params.eligible_from, review_from=params.review_from)
    return Profile(as_of, score, recommendation, tuple(reasons), metrics)
