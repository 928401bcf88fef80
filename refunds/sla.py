"""SLA maths on the Chinese working calendar (statutory holidays and adjusted working weekends).

Business hours are the hours of working days in the business time zone (Asia/Shanghai): a 24 h SLA started on
a working day ends at the same time on the next working day; started on a holiday it counts from the next
working day's 00:00. PAID is due by the end of the T+n-th working day after approval.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from refunds.choices import RefundStep


def is_workday(day: date) -> bool:
    """The Chinese working calendar; outside the package's years, plain Monday–Friday."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def next_workday(day: date) -> date:
    day += timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def add_business_hours(start: datetime, hours: float, tz: ZoneInfo) -> datetime:
    """``start`` plus ``hours`` counted on working days only. Returns an aware datetime in ``tz``."""
    local = start.astimezone(tz)
    if not is_workday(local.date()):
        local = _local_midnight(next_workday(local.date()), tz)
    remaining = timedelta(hours=hours)
    while True:
        day_end = _local_midnight(local.date() + timedelta(days=1), tz)
        available = day_end - local
        if remaining <= available:
            return local + remaining
        remaining -= available
        local = _local_midnight(next_workday(local.date()), tz)


def end_of_business_day(start: datetime, n: int, tz: ZoneInfo) -> datetime:
    """The end (next midnight) of the n-th working day after ``start``'s local date (T+n)."""
    day = start.astimezone(tz).date()
    for _ in range(n):
        day = next_workday(day)
    return _local_midnight(day + timedelta(days=1), tz)


def step_deadline(step: RefundStep | str, entered_previous_at: datetime, *, sla_hours: dict[str, int],
                  paid_business_days: int, tz: ZoneInfo) -> datetime | None:
    """When ``step`` is due, given the time the refund entered the step before it."""
    step = RefundStep(step)
    if step == RefundStep.PAID:
        return end_of_business_day(entered_previous_at, paid_business_days, tz)
    hours = sla_hours.get(step.value)
    if hours is None:
        return None
    return add_business_hours(entered_previous_at, hours, tz)


def projected_completion(current: RefundStep | str, current_due: datetime | None, now: datetime, *,
                         sla_hours: dict[str, int], paid_business_days: int, tz: ZoneInfo) -> datetime | None:
    """Expected completion: each remaining step assumed done at its deadline (a late step counts from now).

    The refund is complete for the tenant when the money is paid, so the projection ends with PAID's deadline.
    """
    from refunds.choices import STEP_ORDER

    current = RefundStep(current)
    if current not in STEP_ORDER or current in (RefundStep.PAID, RefundStep.COMPLETED):
        return None
    at = max(current_due or now, now)
    index = STEP_ORDER.index(current) + 1  # the step pending now finishes at ``at``
    for step in STEP_ORDER[index + 1:]:
        if step == RefundStep.COMPLETED:
            break
        deadline = step_deadline(step, at, sla_hours=sla_hours, paid_business_days=paid_business_days, tz=tz)
        if deadline is None:  # a step without an SLA: no projection
            return None
        at = deadline
    return at
