"""Lease expiry reminder tiers per property type (pure rules, table-tested).

A tier fires when a live lease's days left reach its offset. Only the *current* tier fires — the one with the
smallest offset the lease is already inside — so a lease signed late (already inside 60 days) gets the 60-day
reminder at once, never the missed 90-day one, and a job that was down for a while does not fire a backlog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from portfolio.choices import PropertyType


class ReminderAction:
    ASSESSMENT = "ASSESSMENT"  # 评估通知: decide whether to renew, re-let or reprice
    RENEWAL_TALKS = "RENEWAL_TALKS"  # 续约洽谈
    TASK = "TASK"  # 到期处理: renewal signed or move-out arranged


@dataclass(frozen=True)
class Tier:
    days: int
    action: str
    title: str


def _tiers(*rows: tuple[int, str, str]) -> tuple[Tier, ...]:
    return tuple(Tier(days, action, title) for days, action, title in rows)


A = ReminderAction
DEFAULT_RULES: dict[str, tuple[Tier, ...]] = {
    PropertyType.RESIDENTIAL: _tiers((90, A.ASSESSMENT, "租约90天到期:续租评估"),
                                     (60, A.RENEWAL_TALKS, "租约60天到期:续约洽谈"),
                                     (30, A.TASK, "租约30天到期:确认续签或退租安排")),
    # shops and offices need longer to re-let: earlier notice
    PropertyType.SHOP: _tiers((120, A.ASSESSMENT, "商铺租约120天到期:经营评估"),
                              (90, A.RENEWAL_TALKS, "商铺租约90天到期:续约洽谈"),
                              (45, A.TASK, "商铺租约45天到期:确认续签或招商")),
    PropertyType.OFFICE: _tiers((120, A.ASSESSMENT, "写字楼租约120天到期:续租评估"),
                                (90, A.RENEWAL_TALKS, "写字楼租约90天到期:续约洽谈"),
                                (60, A.TASK, "写字楼租约60天到期:确认续签或退租")),
    PropertyType.WAREHOUSE: _tiers((90, A.ASSESSMENT, "仓库租约90天到期:续租评估"),
                                   (60, A.RENEWAL_TALKS, "仓库租约60天到期:续约洽谈"),
                                   (30, A.TASK, "仓库租约30天到期:清点交接安排")),
}
del A


def rules_from_config(config: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[Tier, ...]]:
    """Defaults, with property types overridden by RW_LEASE_REMINDER_RULES (JSON: type → [{days, action, title}])."""
    rules = dict(DEFAULT_RULES)
    for ptype, rows in (config or {}).items():
        PropertyType(ptype)  # unknown types are a configuration error
        tiers = tuple(Tier(int(r["days"]), str(r.get("action", ReminderAction.TASK)),
                           str(r.get("title") or f"租约{int(r['days'])}天到期提醒")) for r in rows)
        if len({t.days for t in tiers}) != len(tiers) or any(t.days <= 0 for t in tiers):
            raise ValueError(f"reminder tiers for {ptype} need distinct positive day offsets")
        rules[ptype] = tuple(sorted(tiers, key=lambda t: -t.days))
    return rules


def current_tier(tiers: tuple[Tier, ...], days_left: int) -> Tier | None:
    """The tier a lease with ``days_left`` is in: the smallest offset ≥ days_left. None outside all tiers."""
    if days_left < 0:
        return None
    inside = [tier for tier in tiers if days_left <= tier.days]
    return min(inside, key=lambda tier: tier.days) if inside else None


def due_reminder(tiers: tuple[Tier, ...], end_date: date, as_of: date, fired: set[int]) -> Tier | None:
    """The tier to fire for a lease today, or None (outside the tiers, or the current tier already fired).

    Tiers with a smaller offset than one already fired never re-fire an earlier one: ``fired`` only suppresses
    the current tier itself.
    """
    tier = current_tier(tiers, (end_date - as_of).days)
    if tier is None or tier.days in fired:
        return None
    return tier
