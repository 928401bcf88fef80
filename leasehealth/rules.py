"""Lease health rules (pure: no database, no clock), table-tested in tests/test_leasehealth_rules.py.

Per lease, three indicators from the seed's table, each over its own calendar period:

- 履约偏差 (payment deviations): a receivable paid more than ``late_working_days`` Chinese working days after its
  due date (holidays and make-up working days from ``chinese-calendar``), counted in the quarter of its due date;
  one still unpaid once that many working days have passed counts too (it cannot be paid on time any more).
  ``deviations_per_quarter`` or more → YELLOW.
- 变更申请 (contract changes): lease changes (amendments, extensions, early terminations; not data fixes) dated in
  the calendar year: more than ``changes_per_year`` → RED.
- 关联工单 (linked work orders): repair, cleaning and inspection orders on the lease's unit opened during the lease,
  per calendar month: more than ``work_orders_per_month`` → ORANGE.

A lease's level is its most severe finding in the current periods and the ones just before (a warning stands
through the next period); every finding carries its evidence (the rows it counted)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from leasehealth.choices import (
    INDICATOR_ACTION,
    INDICATOR_LEVEL,
    INDICATOR_PERIOD,
    LEVEL_RANK,
    HealthLevel,
    Indicator,
    PeriodKind,
)
from leasing.choices import ChangeKind
from refunds.sla import is_workday
from workorders.choices import WorkOrderType

#: work orders that say something about the unit fitting the tenant (维修、调表类请求); to-dos, moves and
#: viewings do not
COUNTED_WORK_ORDER_TYPES = frozenset({WorkOrderType.REPAIR, WorkOrderType.CLEANING, WorkOrderType.INSPECTION})
#: changes the tenant asked for; TERMS_FIX corrects our own data entry and is not the tenant's change
COUNTED_CHANGE_KINDS = frozenset({ChangeKind.RENT_CHANGE, ChangeKind.EXTENSION, ChangeKind.EARLY_TERMINATION})


class HealthSettings(Protocol):
    lease_health_late_working_days: int
    lease_health_deviations_per_quarter: int
    lease_health_changes_per_year: int
    lease_health_work_orders_per_month: int


@dataclass(frozen=True)
class HealthParams:
    late_working_days: int = 5  # 相差超过5个工作日即记为一次偏差
    deviations_per_quarter: int = 3  # ≥ 3 次/季度 → 黄色
    changes_per_year: int = 2  # > 2 次/年度 → 红色
    work_orders_per_month: int = 5  # > 5 单/月 → 橙色

    @classmethod
    def from_settings(cls, settings: HealthSettings) -> HealthParams:
        return cls(late_working_days=settings.lease_health_late_working_days,
                   deviations_per_quarter=settings.lease_health_deviations_per_quarter,
                   changes_per_year=settings.lease_health_changes_per_year,
                   work_orders_per_month=settings.lease_health_work_orders_per_month)


@dataclass(frozen=True)
class Due:
    """A receivable of the lease: when it fell due and the local day it was fully paid (None: not yet)."""

    receivable_id: int
    label: str
    due_date: date
    amount_fen: int
    paid_on: date | None = None


@dataclass(frozen=True)
class Change:
    change_id: int
    kind: str
    on: date
    reason: str = ""


@dataclass(frozen=True)
class Order:
    work_order_id: int
    type: str
    opened_on: date
    title: str = ""


@dataclass(frozen=True)
class Facts:
    dues: tuple[Due, ...] = ()
    changes: tuple[Change, ...] = ()
    orders: tuple[Order, ...] = ()


@dataclass(frozen=True)
class Finding:
    """An indicator over its threshold in one period, with what was counted."""

    indicator: Indicator
    period: str
    count: int
    threshold: str  # as the seed states it: "≥ 3", "> 2", "> 5"
    evidence: tuple[dict[str, Any], ...]

    @property
    def level(self) -> HealthLevel:
        return INDICATOR_LEVEL[self.indicator]

    @property
    def action(self) -> str:
        return INDICATOR_ACTION[self.indicator]

    def as_dict(self) -> dict[str, Any]:
        return {"indicator": self.indicator.value, "period": self.period, "level": self.level.value,
                "count": self.count, "threshold": self.threshold, "action": self.action,
                "evidence": list(self.evidence)}


@dataclass(frozen=True)
class Assessment:
    as_of: date
    findings: tuple[Finding, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)  # per indicator, in the periods containing as_of

    @property
    def level(self) -> HealthLevel:
        return worst(f.level for f in self.findings)


def worst(levels: Iterable[HealthLevel]) -> HealthLevel:
    return max(levels, key=LEVEL_RANK.__getitem__, default=HealthLevel.GREEN)


# --------------------------------------------------------------------------------------------- calendar


def working_days_between(start: date, end: date) -> int:
    """Chinese working days d with start < d ≤ end (0 when end ≤ start): how many working days late a payment
    on ``end`` for a due date ``start`` is."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


def period_of(kind: PeriodKind, day: date) -> str:
    if kind == PeriodKind.QUARTER:
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    if kind == PeriodKind.YEAR:
        return str(day.year)
    return f"{day.year}-{day.month:02d}"


def period_bounds(kind: PeriodKind, day: date) -> tuple[date, date]:
    """First and last day of the period containing ``day``."""
    if kind == PeriodKind.YEAR:
        return date(day.year, 1, 1), date(day.year, 12, 31)
    months = 3 if kind == PeriodKind.QUARTER else 1
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    end_month = first_month + months
    end = date(day.year + (end_month > 12), (end_month - 1) % 12 + 1, 1) - timedelta(days=1)
    return start, end


def previous_period_day(kind: PeriodKind, day: date) -> date:
    """A day in the period before the one containing ``day``."""
    return period_bounds(kind, day)[0] - timedelta(days=1)


# --------------------------------------------------------------------------------------------- indicators


def deviation(due: Due, as_of: date, params: HealthParams) -> int | None:
    """Working days late when it is a deviation as of ``as_of``, else None."""
    if due.due_date > as_of:
        return None
    if due.paid_on is not None and due.paid_on <= as_of:
        late = working_days_between(due.due_date, due.paid_on)
    else:
        late = working_days_between(due.due_date, as_of)
    return late if late > params.late_working_days else None


def _payment(facts: Facts, start: date, end: date, as_of: date, params: HealthParams) -> tuple[int, list[dict]]:
    evidence = []
    for due in sorted(facts.dues, key=lambda d: (d.due_date, d.receivable_id)):
        if start <= due.due_date <= end and (late := deviation(due, as_of, params)) is not None:
            paid = due.paid_on if due.paid_on is not None and due.paid_on <= as_of else None
            evidence.append({"receivable_id": due.receivable_id, "label": due.label,
                             "due_date": due.due_date.isoformat(), "amount_fen": due.amount_fen,
                             "paid_on": paid.isoformat() if paid else None, "working_days_late": late})
    return len(evidence), evidence


def _changes(facts: Facts, start: date, end: date, as_of: date) -> tuple[int, list[dict]]:
    evidence = [{"change_id": c.change_id, "kind": c.kind, "on": c.on.isoformat(), "reason": c.reason}
                for c in sorted(facts.changes, key=lambda c: (c.on, c.change_id))
                if c.kind in COUNTED_CHANGE_KINDS and start <= c.on <= min(end, as_of)]
    return len(evidence), evidence


def _orders(facts: Facts, start: date, end: date, as_of: date) -> tuple[int, list[dict]]:
    evidence = [{"work_order_id": o.work_order_id, "type": o.type, "opened_on": o.opened_on.isoformat(),
                 "title": o.title}
                for o in sorted(facts.orders, key=lambda o: (o.opened_on, o.work_order_id))
                if o.type in COUNTED_WORK_ORDER_TYPES and start <= o.opened_on <= min(end, as_of)]
    return len(evidence), evidence


def measure(facts: Facts, indicator: Indicator, day: date, as_of: date,
            params: HealthParams) -> tuple[str, int, list[dict]]:
    """(period, count, evidence) of one indicator over the period containing ``day``, with what is known on
    ``as_of``."""
    kind = INDICATOR_PERIOD[indicator]
    start, end = period_bounds(kind, day)
    if indicator == Indicator.PAYMENT_DEVIATIONS:
        count, evidence = _payment(facts, start, end, as_of, params)
    elif indicator == Indicator.CONTRACT_CHANGES:
        count, evidence = _changes(facts, start, end, as_of)
    else:
        count, evidence = _orders(facts, start, end, as_of)
    return period_of(kind, day), count, evidence


def over_threshold(indicator: Indicator, count: int, params: HealthParams) -> tuple[bool, str]:
    if indicator == Indicator.PAYMENT_DEVIATIONS:
        return count >= params.deviations_per_quarter, f"≥ {params.deviations_per_quarter}"
    if indicator == Indicator.CONTRACT_CHANGES:
        return count > params.changes_per_year, f"> {params.changes_per_year}"
    return count > params.work_orders_per_month, f"> {params.work_orders_per_month}"


def _findings(facts: Facts, as_of: date, params: HealthParams, *, previous: bool) -> tuple[list[Finding],
                                                                                        dict[str, int]]:
    findings, counts = [], {}
    for indicator in Indicator:
        day = previous_period_day(INDICATOR_PERIOD[indicator], as_of) if previous else as_of
        period, count, evidence = measure(facts, indicator, day, as_of, params)
        counts[indicator.value] = count
        hit, threshold = over_threshold(indicator, count, params)
        if hit:
            findings.append(Finding(indicator, period, count, threshold, tuple(evidence)))
    return findings, counts


def assess(facts: Facts, as_of: date, params: HealthParams) -> Assessment:
    """The findings of the periods containing ``as_of`` and of the period before each (as known on ``as_of``: a
    quarter's last rent can only be judged a deviation days after the quarter ends). A warning therefore stands
    through the period after the one it was found in. ``counts`` are the current periods'."""
    earlier, _ = _findings(facts, as_of, params, previous=True)
    current, counts = _findings(facts, as_of, params, previous=False)
    return Assessment(as_of=as_of, findings=(*earlier, *current), counts=counts)
