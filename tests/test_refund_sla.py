"""SLA maths on the Chinese working calendar: 2026 National Day (Oct 1–7) and the adjusted working
Saturday Oct 10, Mid-autumn (Sep 25–27, Sunday Sep 27 off), ordinary weekends."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from refunds.choices import RefundStep
from refunds.sla import add_business_hours, end_of_business_day, is_workday, projected_completion, step_deadline

SH = ZoneInfo("Asia/Shanghai")
SLA = {"INSPECTED": 24, "SETTLED": 48, "APPROVED": 24}


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 9, 30), True),   # Wednesday before National Day
    (date(2026, 10, 1), False),  # National Day
    (date(2026, 10, 7), False),
    (date(2026, 10, 8), True),
    (date(2026, 10, 10), True),  # adjusted working Saturday (调休上班)
    (date(2026, 10, 11), False),  # ordinary Sunday
    (date(2026, 11, 7), False),  # ordinary Saturday
    (date(2026, 11, 9), True),
])
def test_working_calendar(day, working):
    assert is_workday(day) is working


@pytest.mark.parametrize(("start", "hours", "expected"), [
    (sh(2026, 11, 2, 10, 0), 24, sh(2026, 11, 3, 10, 0)),  # plain Monday
    (sh(2026, 11, 6, 10, 0), 24, sh(2026, 11, 9, 10, 0)),  # Friday → Monday (weekend skipped)
    (sh(2026, 11, 6, 10, 0), 48, sh(2026, 11, 10, 10, 0)),
    (sh(2026, 11, 7, 15, 0), 24, sh(2026, 11, 10, 0, 0)),  # applied on Saturday: clock starts Monday 00:00
    (sh(2026, 9, 30, 10, 0), 24, sh(2026, 10, 8, 10, 0)),  # across National Day
    (sh(2026, 9, 30, 10, 0), 48, sh(2026, 10, 9, 10, 0)),
    (sh(2026, 10, 9, 10, 0), 24, sh(2026, 10, 10, 10, 0)),  # Friday → the adjusted working Saturday
    (sh(2026, 10, 9, 10, 0), 48, sh(2026, 10, 12, 10, 0)),  # … then Sunday off → Monday
    (sh(2026, 10, 3, 9, 0), 24, sh(2026, 10, 9, 0, 0)),  # during the holiday: starts Oct 8 00:00
    (sh(2026, 9, 24, 18, 0), 24, sh(2026, 9, 28, 18, 0)),  # Mid-autumn Fri–Sun off
    (datetime(2026, 9, 30, 2, 0, tzinfo=ZoneInfo("UTC")), 24, sh(2026, 10, 8, 10, 0)),  # UTC input
])
def test_add_business_hours(start, hours, expected):
    assert add_business_hours(start, hours, SH) == expected


@pytest.mark.parametrize(("approved_at", "n", "due"), [
    (sh(2026, 11, 4, 15, 0), 1, sh(2026, 11, 6, 0, 0)),  # Wednesday → end of Thursday
    (sh(2026, 11, 6, 15, 0), 1, sh(2026, 11, 10, 0, 0)),  # Friday → end of Monday
    (sh(2026, 9, 30, 15, 0), 1, sh(2026, 10, 9, 0, 0)),  # before National Day → end of Oct 8
    (sh(2026, 10, 9, 15, 0), 1, sh(2026, 10, 11, 0, 0)),  # Friday → end of the adjusted working Saturday
    (sh(2026, 10, 4, 11, 0), 1, sh(2026, 10, 9, 0, 0)),  # approved during the holiday
    (sh(2026, 11, 4, 15, 0), 2, sh(2026, 11, 7, 0, 0)),
])
def test_paid_is_due_end_of_t_plus_n(approved_at, n, due):
    assert end_of_business_day(approved_at, n, SH) == due


def test_step_deadlines_use_their_sla():
    at = sh(2026, 9, 29, 10, 0)
    kwargs = {"sla_hours": SLA, "paid_business_days": 1, "tz": SH}
    assert step_deadline(RefundStep.INSPECTED, at, **kwargs) == sh(2026, 9, 30, 10, 0)
    assert step_deadline(RefundStep.SETTLED, at, **kwargs) == sh(2026, 10, 8, 10, 0)
    assert step_deadline(RefundStep.APPROVED, at, **kwargs) == sh(2026, 9, 30, 10, 0)
    assert step_deadline(RefundStep.PAID, at, **kwargs) == sh(2026, 10, 1, 0, 0)
    assert step_deadline(RefundStep.COMPLETED, at, **kwargs) is None


def test_projected_completion_chains_remaining_slas_across_the_holiday():
    kwargs = {"sla_hours": SLA, "paid_business_days": 1, "tz": SH}
    applied = sh(2026, 9, 28, 10, 0)
    due_inspected = step_deadline(RefundStep.INSPECTED, applied, **kwargs)  # Tue 29 10:00
    # settled by Oct 8 10:00 (48 h: Tue 29 → Wed 30 → Oct 8), approved by Oct 9 10:00, paid by end of Oct 10
    assert projected_completion(RefundStep.APPLIED, due_inspected, applied, **kwargs) == sh(2026, 10, 11, 0, 0)
    # a late step counts from now
    late_now = sh(2026, 11, 2, 10, 0)
    assert projected_completion(RefundStep.SETTLED, sh(2026, 10, 30, 10, 0), late_now, **kwargs) == \
        sh(2026, 11, 4, 0, 0)
    assert projected_completion(RefundStep.PAID, None, late_now, **kwargs) is None
