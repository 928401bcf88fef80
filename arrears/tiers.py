"""Overdue tiers as data, and the pure decision of what the daily job does for one receivable.

A receivable is overdue from the day after its due date; ``days_past_due`` = local date − due date. The tier table
(configurable bounds, ``RW_ARREARS_TIERS``) is contiguous from 0 days to open-ended, levels in escalation order.
The decision never goes back a level and never repeats one: a receivable's step rows say which levels were
handled; entering a level sends that level's message, and levels the receivable passed while nobody looked
(downtime, a grace period) are recorded as skipped — escalation moves one level at a time through the rows, but
only the current tier's message is ever sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from accounts.choices import StaffDuty
from arrears.choices import TierCode

SmsPolicy = Literal["fallback", "always"]


@dataclass(frozen=True)
class Tier:
    level: int
    code: TierCode
    min_days: int
    max_days: int | None  # inclusive; None: open-ended
    title: str
    #: "fallback": SMS only when the tenant has no bound WeChat user; "always": SMS as well
    sms: SmsPolicy = "fallback"
    #: who gets the tier's collections task, first duty with an active person wins
    task_duties: tuple[StaffDuty, ...] = (StaffDuty.FINANCE, StaffDuty.MANAGER)
    task_sla_days: int = 3

    def contains(self, days: int) -> bool:
        return days >= self.min_days and (self.max_days is None or days <= self.max_days)


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(1, TierCode.FRIENDLY, 0, 15, "首次提醒", sms="fallback", task_sla_days=3),
    Tier(2, TierCode.LEGAL_NOTICE, 16, 30, "二次跟进", sms="always", task_sla_days=3),
    Tier(3, TierCode.LAWYER_LETTER, 31, None, "三次警示", sms="always",
         task_duties=(StaffDuty.MANAGER, StaffDuty.FINANCE), task_sla_days=2),
)


class TierConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TierTable:
    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        problems = check_tiers(self.tiers)
        if problems:
            raise TierConfigError("; ".join(problems))

    def by_level(self, level: int) -> Tier:
        return next(t for t in self.tiers if t.level == level)

    def by_code(self, code: str) -> Tier:
        return next(t for t in self.tiers if t.code == code)

    @classmethod
    def from_config(cls, overrides: Iterable[Mapping[str, Any]] = ()) -> TierTable:
        """Defaults, with fields overridden per tier code (bounds, SMS policy, task SLA)."""
        tiers = {t.code: t for t in DEFAULT_TIERS}
        for raw in overrides:
            code = raw.get("code")
            if code not in tiers:
                raise TierConfigError(f"unknown tier code {code!r}: one of {sorted(tiers)}")
            allowed = {"min_days", "max_days", "title", "sms", "task_sla_days"}
            unknown = set(raw) - allowed - {"code"}
            if unknown:
                raise TierConfigError(f"tier {code}: unknown fields {sorted(unknown)}")
            tiers[code] = replace(tiers[code], **{k: v for k, v in raw.items() if k in allowed})
        return cls(tuple(sorted(tiers.values(), key=lambda t: t.level)))


def check_tiers(tiers: tuple[Tier, ...]) -> list[str]:
    """Contiguous bounds from 0 to open-ended, strictly increasing levels."""
    problems = []
    if not tiers:
        return ["no tiers"]
    if tiers[0].min_days != 0:
        problems.append("the first tier must start at 0 days")
    for before, after in zip(tiers, tiers[1:], strict=False):
        if after.level <= before.level:
            problems.append(f"tier {after.code}: levels must increase")
        if before.max_days is None or after.min_days != before.max_days + 1:
            problems.append(f"tier {after.code} must start the day after {before.code} ends")
    for tier in tiers:
        if tier.max_days is not None and tier.max_days < tier.min_days:
            problems.append(f"tier {tier.code}: max_days below min_days")
        if tier.sms not in ("fallback", "always"):
            problems.append(f"tier {tier.code}: sms must be fallback or always")
    if tiers[-1].max_days is not None:
        problems.append("the last tier must be open-ended")
    return problems


def days_past_due(due_date: date, as_of: date) -> int:
    return (as_of - due_date).days


def classify(days: int, table: TierTable) -> Tier | None:
    """The tier of a receivable ``days`` past due; None when it is not overdue (due today or later)."""
    if days < 1:
        return None
    return next(t for t in table.tiers if t.contains(days))


@dataclass(frozen=True)
class TierDecision:
    send: Tier | None  # the tier whose message goes out now
    skip: tuple[Tier, ...] = ()  # levels passed without a message, recorded so they never fire later
    reason: str = ""


def decide(days: int, table: TierTable, handled_levels: Iterable[int], *, suppressed: bool = False) -> TierDecision:
    """What the job does today for one receivable: send the current tier's message if it was not handled yet.

    ``handled_levels``: levels with a step row (sent or skipped). ``suppressed``: an approved grace period is
    active — nothing is sent and nothing recorded, so the tier fires when the grace ends if it is still current."""
    current = classify(days, table)
    if current is None:
        return TierDecision(None, (), "not overdue")
    top = max(handled_levels, default=0)
    if current.level <= top:
        return TierDecision(None, (), "tier already handled")
    if suppressed:
        return TierDecision(None, (), "grace period")
    missed = tuple(t for t in table.tiers if top < t.level < current.level)
    return TierDecision(current, missed, "entered tier")
