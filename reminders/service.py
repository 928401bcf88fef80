"""The lease expiry reminder job: each tier fires exactly once per lease — a TASK work order for the building's
manager and a WeChat notification — across restarts and with several instances running.

Exactly once is enforced by the database: LeaseReminder is unique per (lease, tier) and the work order's trigger
(``lease_reminder``, ``lease:{id}:tier:{days}``) is unique. On PostgreSQL the whole run also takes a
transaction-level advisory lock (``pg_try_advisory_xact_lock``), so a second instance skips instead of racing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from config.settings import Settings
from core.db import is_postgres
from leasehealth.choices import RECOMMENDATION_LABEL, Recommendation
from leasing.choices import LIVE_LEASE_STATUSES
from models.leasehealth import TenantProfile
from models.leasing import Lease
from models.reminders import LeaseReminder
from notifications.choices import NotificationKind
from notifications.outbox import enqueue_notification
from reminders.rules import due_reminder, rules_from_config
from workorders.choices import TriggerSource, WorkOrderType
from workorders.service import open_work_order

log = logging.getLogger("rentwatch.reminders")

#: pg advisory lock key for the reminder job ("rwremind" as a 63-bit integer)
ADVISORY_LOCK_KEY = 0x7277_7265_6D69_6E64 & 0x7FFF_FFFF_FFFF_FFFF


@dataclass
class ReminderReport:
    as_of: date
    fired: list[tuple[int, int]] = field(default_factory=list)  # (lease id, tier days)
    skipped_locked: bool = False


def trigger_ref(lease_id: int, days: int) -> str:
    return f"lease:{lease_id}:tier:{days}"


async def _try_lock(connection) -> bool:
    rows = await connection.execute_query_dict("SELECT pg_try_advisory_xact_lock($1) AS locked",
                                               [ADVISORY_LOCK_KEY])
    return bool(rows[0]["locked"])


async def run_lease_reminders(settings: Settings, now: datetime, *, as_of: date | None = None,
                              use_lock: bool = True) -> ReminderReport:
    tz = ZoneInfo(settings.business_timezone)
    as_of = as_of or now.astimezone(tz).date()
    report = ReminderReport(as_of=as_of)
    rules = rules_from_config(settings.lease_reminder_rules)
    horizon = max(tier.days for tiers in rules.values() for tier in tiers)
    async with in_transaction() as connection:
        if use_lock and is_postgres() and not await _try_lock(connection):
            report.skipped_locked = True
            log.info("lease reminders: another instance holds the lock, skipping")
            return report
        leases = await (Lease.filter(status__in=list(LIVE_LEASE_STATUSES), end_date__gte=as_of,
                                     end_date__lte=as_of + timedelta(days=horizon))
                        .select_related("unit").order_by("end_date", "id"))
        fired_rows = await LeaseReminder.filter(lease_id__in=[lease.id for lease in leases]).values_list(
            "lease_id", "tier_days")
        fired: dict[int, set[int]] = {}
        for lease_id, days in fired_rows:
            fired.setdefault(lease_id, set()).add(days)
        for lease in leases:
            tier = due_reminder(rules.get(lease.unit.property_type, ()), lease.end_date, as_of,
                                fired.get(lease.id, set()))
            if tier is None:
                continue
            if await _fire(lease, tier, as_of=as_of, now=now):
                report.fired.append((lease.id, tier.days))
    return report


#: what the reminder says when the daily profile job has not profiled the tenant yet
NO_PROFILE = "尚无画像"


async def renewal_advice(tenant_id: int) -> dict[str, Any]:
    """The renewal recommendation with its reasons, as the tenant's stored profile (tenant_profiles, recomputed
    daily) states it; without a stored profile it says so instead of guessing."""
    row = await TenantProfile.get_or_none(tenant_id=tenant_id)
    if row is None:
        return {"recommendation": None, "recommendation_label": NO_PROFILE, "profile_score": None,
                "profile_reasons": [], "profile_as_of": None, "renewal": f"续约建议:{NO_PROFILE}",
                "renewal_text": f"续约建议:{NO_PROFILE}(画像每日计算,尚未生成)"}
    label = RECOMMENDATION_LABEL[Recommendation(row.recommendation)]
    reasons = [str(reason.get("text", "")) for reason in row.reasons]
    return {"recommendation": str(row.recommendation), "recommendation_label": label, "profile_score": row.score,
            "profile_reasons": reasons, "profile_as_of": row.as_of.isoformat(),
            "renewal": f"续约建议:{label}({row.score}分)",
            "renewal_text": f"续约建议:{label}(评分{row.score},画像日期{row.as_of.isoformat()})。依据:"
                            + (";".join(reasons) or "无")}


async def _fire(lease: Lease, tier, *, as_of: date, now: datetime) -> bool:
    unit = lease.unit
    days_left = (lease.end_date - as_of).days
    advice = await renewal_advice(lease.tenant_id)
    try:
        async with in_transaction():  # a savepoint inside the run: a lost race rolls back only this lease
            reminder = await LeaseReminder.create(lease_id=lease.id, tier_days=tier.days, action=tier.action,
                                                  as_of=as_of, days_left=days_left, fired_at=now)
    except IntegrityError:
        return False  # another instance fired this tier first
    order, _ = await open_work_order(
        wo_type=WorkOrderType.TASK, building_id=unit.building_id, unit_id=unit.id, title=f"{unit.code} {tier.title}",
        description=f"租约 #{lease.id} 于 {lease.end_date.isoformat()} 到期(剩余 {days_left} 天),{tier.action}。"
                    f"{advice['renewal_text']}",
        trigger_source=TriggerSource.LEASE_REMINDER, trigger_ref=trigger_ref(lease.id, tier.days), now=now,
        sla=timedelta(days=max(1, min(14, days_left))))
    await LeaseReminder.filter(id=reminder.id).update(work_order_id=order.id)
    if order.assignee_id:
        await enqueue_notification(
            user_id=order.assignee_id, kind=NotificationKind.LEASE_REMINDER,
            dedupe_key=f"{trigger_ref(lease.id, tier.days)}:user:{order.assignee_id}",
            payload={"lease_id": lease.id, "work_order_id": order.id, "unit_code": unit.code, "title": tier.title,
                     "action": tier.action, "end_date": lease.end_date.isoformat(), "days_left": days_left,
                     "tier_days": tier.days, **advice}, now=now)
    return True
