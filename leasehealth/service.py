"""Lease health service: loads each lease's facts (ledger, change history, work orders) in bulk, applies the pure
rules (leasehealth.rules), raises each finding once per period as a flag with the seed's action as a work order,
and answers the lease list, one lease's health, and the monthly 《租约健康度报告》."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from config.settings import Settings
from core.errors import NotFound, ValidationFailed
from leasehealth.choices import (
    INDICATOR_LABEL,
    LEVEL_LABEL,
    LEVEL_RANK,
    HealthLevel,
    Indicator,
    PeriodKind,
)
from leasehealth.rules import (
    Assessment,
    Change,
    Due,
    Facts,
    Finding,
    HealthParams,
    Order,
    assess,
    period_bounds,
    previous_period_day,
)
from leasing.choices import LIVE_LEASE_STATUSES, ChargeType, LeaseStatus, ReceivableStatus
from models.leasehealth import LeaseHealthFlag
from models.leasing import Lease, LeaseChange, Receivable
from models.portfolio import Building
from models.workorders import WorkOrderEvent
from workorders.choices import TriggerSource, WorkOrderType
from workorders.service import open_work_order

log = logging.getLogger("rentwatch.leasehealth")

#: receivables whose payment date is a 履约 fact (late fees and adjustments are consequences, not obligations)
JUDGED_CHARGES = (ChargeType.RENT, ChargeType.DEPOSIT, ChargeType.CHARGE)
JUDGED_STATUSES = (ReceivableStatus.OPEN, ReceivableStatus.PARTIAL, ReceivableStatus.PAID)
#: work orders our own processes open around a lease (the pre-delivery cleaning, expiry reminders, the refund's
#: move-out inspection, these findings' actions) are not the tenant's requests
OWN_TRIGGERS = (TriggerSource.LEASE_SIGNED, TriggerSource.LEASE_REMINDER, TriggerSource.REFUND,
                TriggerSource.LEASE_HEALTH)
#: the work order each action becomes: a site visit for the unit's fit, a to-do for the others
ACTION_ORDER_TYPE: dict[Indicator, WorkOrderType] = {
    Indicator.PAYMENT_DEVIATIONS: WorkOrderType.TASK, Indicator.CONTRACT_CHANGES: WorkOrderType.TASK,
    Indicator.WORK_ORDERS: WorkOrderType.INSPECTION}
BATCH = 500


@dataclass(frozen=True)
class HealthConfig:
    params: HealthParams = HealthParams()
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthConfig:
        return cls(params=HealthParams.from_settings(settings), timezone=settings.business_timezone)

    def local_date(self, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.timezone)).date()


@dataclass
class HealthReport:
    as_of: date
    leases: int = 0
    levels: dict[str, int] = field(default_factory=lambda: {level.value: 0 for level in HealthLevel})
    raised: list[tuple[int, str, str]] = field(default_factory=list)  # (lease id, indicator, period)
    updated: int = 0

    def summary(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "leases": self.leases, "levels": self.levels,
                "raised": len(self.raised), "updated": self.updated}


def facts_since(as_of: date) -> date:
    """The earliest day any assessed period (the current and the previous one of each indicator) starts."""
    return min(period_bounds(kind, previous_period_day(kind, as_of))[0] for kind in PeriodKind)


async def load_facts(leases: list[Lease], since: date, tz: ZoneInfo) -> dict[int, Facts]:
    """Each lease's dues, changes and linked work orders from ``since`` on (bulk, a few queries per batch)."""
    dues: dict[int, list[Due]] = defaultdict(list)
    changes: dict[int, list[Change]] = defaultdict(list)
    orders: dict[int, list[Order]] = defaultdict(list)
    since_at = datetime.combine(since, datetime.min.time(), tzinfo=tz)
    for start in range(0, len(leases), BATCH):
        batch = leases[start:start + BATCH]
        ids = [lease.id for lease in batch]
        for rid, lease_id, label, due_date, amount, paid_at, status in await Receivable.filter(
                lease_id__in=ids, charge_type__in=list(JUDGED_CHARGES), status__in=list(JUDGED_STATUSES),
                amount_fen__gt=0, due_date__gte=since).values_list(
                "id", "lease_id", "label", "due_date", "amount_fen", "paid_at", "status"):
            paid_on = paid_at.astimezone(tz).date() if status == ReceivableStatus.PAID and paid_at else None
            dues[lease_id].append(Due(rid, label or "租金", due_date, amount, paid_on))
        for cid, lease_id, kind, at, reason in await LeaseChange.filter(lease_id__in=ids, at__gte=since_at) \
                .values_list("id", "lease_id", "kind", "at", "reason"):
            changes[lease_id].append(Change(cid, str(kind), at.astimezone(tz).date(), reason))
        by_unit: dict[int, list[Lease]] = defaultdict(list)
        for lease in batch:
            by_unit[lease.unit_id].append(lease)
        for oid, unit_id, wo_type, title, opened_at in await WorkOrderEvent.filter(
                from_status__isnull=True, work_order__unit_id__in=list(by_unit), at__gte=since_at).exclude(
                work_order__trigger_source__in=list(OWN_TRIGGERS)).values_list(
                "work_order_id", "work_order__unit_id", "work_order__type", "work_order__title", "at"):
            opened_on = opened_at.astimezone(tz).date()
            for lease in by_unit[unit_id]:
                if lease.start_date <= opened_on <= lease.end_date:
                    orders[lease.id].append(Order(oid, str(wo_type), opened_on, title))
    return {lease.id: Facts(tuple(dues[lease.id]), tuple(changes[lease.id]), tuple(orders[lease.id]))
            for lease in leases}


# --------------------------------------------------------------------------------------------- the daily run


async def raise_finding(lease: Lease, building_id: int, unit_code: str, finding: Finding, *, as_of: date,
                        now: datetime) -> bool:
    """Record the finding for its period; the first time, open the action's work order. Returns whether it was
    raised now (False: already raised, its count and evidence refreshed)."""
    try:
        async with in_transaction():
            flag = await LeaseHealthFlag.create(
                lease_id=lease.id, building_id=building_id, indicator=finding.indicator, period=finding.period,
                level=finding.level, count=finding.count, threshold=finding.threshold, action=finding.action,
                evidence=list(finding.evidence), raised_at=now, as_of=as_of)
            label = INDICATOR_LABEL[finding.indicator]
            order, _ = await open_work_order(
                wo_type=ACTION_ORDER_TYPE[finding.indicator], building_id=building_id, unit_id=lease.unit_id,
                title=f"{unit_code} {LEVEL_LABEL[finding.level]}:{label}{finding.count}次({finding.period})"
                      f" — {finding.action}",
                description=(f"租约 #{lease.id}{f' 合同 {lease.contract_no}' if lease.contract_no else ''}:"
                             f"{finding.period} {label} {finding.count} 次(阈值 {finding.threshold})。"
                             f"应对措施:{finding.action}。"),
                trigger_source=TriggerSource.LEASE_HEALTH,
                trigger_ref=f"lease:{lease.id}:{finding.indicator.value}:{finding.period}", now=now)
            await LeaseHealthFlag.filter(id=flag.id).update(work_order_id=order.id)
        return True
    except IntegrityError:
        return False  # a concurrent run raised it first


async def live_leases() -> list[Lease]:
    return await Lease.filter(status__in=list(LIVE_LEASE_STATUSES)).select_related("unit").order_by("id")


async def run_health(cfg: HealthConfig, now: datetime, *, as_of: date | None = None) -> HealthReport:
    """Assess every live lease on ``as_of`` (the current periods and the previous ones, whose facts arrive late);
    each finding raised once per (lease, indicator, period)."""
    tz = ZoneInfo(cfg.timezone)
    as_of = as_of or cfg.local_date(now)
    report = HealthReport(as_of=as_of)
    leases = await live_leases()
    facts = await load_facts(leases, facts_since(as_of), tz)
    raised = {(lease_id, str(ind), period) for lease_id, ind, period in await LeaseHealthFlag.filter(
        lease_id__in=[lease.id for lease in leases]).values_list("lease_id", "indicator", "period")}
    for lease in leases:
        report.leases += 1
        assessment = assess(facts[lease.id], as_of, cfg.params)
        report.levels[assessment.level.value] += 1
        for finding in assessment.findings:
            key = (lease.id, finding.indicator.value, finding.period)
            if key in raised:
                report.updated += await LeaseHealthFlag.filter(
                    lease_id=lease.id, indicator=finding.indicator, period=finding.period).exclude(
                    count=finding.count).update(count=finding.count, evidence=list(finding.evidence), as_of=as_of)
                continue
            if await raise_finding(lease, lease.unit.building_id, lease.unit.code, finding, as_of=as_of, now=now):
                report.raised.append(key)
                raised.add(key)
    return report


# --------------------------------------------------------------------------------------------- reading


def _building_ok(building_id: int, building_ids: frozenset[int] | None) -> bool:
    return building_ids is None or building_id in building_ids


async def _places(building_ids: set[int]) -> dict[int, dict[str, Any]]:
    rows = await Building.filter(id__in=list(building_ids)).select_related("city")
    return {b.id: {"building_id": b.id, "building_code": b.code, "building": b.name, "city_id": b.city_id,
                   "city_code": b.city.code, "city": b.city.name} for b in rows}


def serialize_health(lease: Lease, assessment: Assessment, place: dict[str, Any]) -> dict[str, Any]:
    return {"lease_id": lease.id, "contract_no": lease.contract_no, "unit_id": lease.unit_id,
            "unit_code": lease.unit.code, "tenant_id": lease.tenant_id, "status": str(lease.status),
            **place, "as_of": assessment.as_of.isoformat(), "level": assessment.level.value,
            "level_label": LEVEL_LABEL[assessment.level], "counts": assessment.counts,
            "findings": [f.as_dict() for f in assessment.findings]}


async def lease_health(lease_id: int, cfg: HealthConfig, as_of: date,
                       building_ids: frozenset[int] | None) -> dict[str, Any]:
    """One lease's health on ``as_of`` with the flags raised for it (and their work orders)."""
    lease = await Lease.get_or_none(id=lease_id).select_related("unit")
    if lease is None or not _building_ok(lease.unit.building_id, building_ids):
        raise NotFound("lease not found")
    facts = await load_facts([lease], facts_since(as_of), ZoneInfo(cfg.timezone))
    body = serialize_health(lease, assess(facts[lease.id], as_of, cfg.params),
                            (await _places({lease.unit.building_id}))[lease.unit.building_id])
    flags = await LeaseHealthFlag.filter(lease_id=lease.id).order_by("-raised_at", "-id")
    body["flags"] = [serialize_flag(flag) for flag in flags]
    return body


def serialize_flag(flag: LeaseHealthFlag) -> dict[str, Any]:
    return {"id": flag.id, "indicator": str(flag.indicator), "period": flag.period, "level": str(flag.level),
            "count": flag.count, "threshold": flag.threshold, "action": flag.action, "evidence": flag.evidence,
            "work_order_id": flag.work_order_id, "raised_at": flag.raised_at.isoformat(),
            "as_of": flag.as_of.isoformat()}


async def assess_leases(leases: list[Lease], cfg: HealthConfig, as_of: date) -> list[dict[str, Any]]:
    facts = await load_facts(leases, facts_since(as_of), ZoneInfo(cfg.timezone))
    places = await _places({lease.unit.building_id for lease in leases})
    return [serialize_health(lease, assess(facts[lease.id], as_of, cfg.params), places[lease.unit.building_id])
            for lease in leases]


async def health_list(cfg: HealthConfig, as_of: date, building_ids: frozenset[int] | None, *,
                      level: HealthLevel | None = None, building_id: int | None = None, city_id: int | None = None,
                      page: int = 1, page_size: int = 50) -> dict[str, Any]:
    """Live leases in scope with their level on ``as_of``, most severe first."""
    query = Lease.filter(status__in=list(LIVE_LEASE_STATUSES)).select_related("unit")
    if building_ids is not None:
        query = query.filter(unit__building_id__in=list(building_ids))
    if building_id is not None:
        query = query.filter(unit__building_id=building_id)
    if city_id is not None:
        query = query.filter(unit__building__city_id=city_id)
    rows = await assess_leases(await query.order_by("id"), cfg, as_of)
    if level is not None:
        rows = [row for row in rows if row["level"] == level.value]
    rows.sort(key=lambda r: (-LEVEL_RANK[HealthLevel(r["level"])], r["lease_id"]))
    start = (page - 1) * page_size
    return {"as_of": as_of.isoformat(), "items": rows[start:start + page_size], "total": len(rows), "page": page,
            "page_size": page_size}


# --------------------------------------------------------------------------------------------- the monthly report


def month_bounds(month: str) -> tuple[date, date]:
    try:
        if len(month) != 7:
            raise ValueError(month)
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValidationFailed("month must be YYYY-MM", code="INVALID_MONTH", details={"month": month}) from None
    return period_bounds(PeriodKind.MONTH, first)


async def report_leases(first: date, last: date, building_ids: frozenset[int] | None, tz: ZoneInfo) -> list[Lease]:
    """Leases that ran during the month: signed, started by its end, not over before it began."""
    tz_start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    query = Lease.filter(status__in=[LeaseStatus.SIGNED, LeaseStatus.ACTIVE, LeaseStatus.ENDED,
                                     LeaseStatus.TERMINATED], start_date__lte=last, end_date__gte=first)
    if building_ids is not None:
        query = query.filter(unit__building_id__in=list(building_ids))
    leases = await query.select_related("unit").order_by("id")
    return [lease for lease in leases if lease.status in LIVE_LEASE_STATUSES
            or (lease.ended_at is not None and lease.ended_at >= tz_start)]


def _tally(rows: list[dict[str, Any]], key: str, name: str) -> list[dict[str, Any]]:
    groups: dict[Any, dict[str, Any]] = {}
    for row in rows:
        group = groups.setdefault(row[key], {key: row[key], "name": row[name], "leases": 0,
                                              "levels": {level.value: 0 for level in HealthLevel}})
        group["leases"] += 1
        group["levels"][row["level"]] += 1
    return sorted(groups.values(), key=lambda g: g["name"])


async def monthly_report(month: str, cfg: HealthConfig, now: datetime,
                         building_ids: frozenset[int] | None) -> dict[str, Any]:
    """《租约健康度报告》 of a month: every lease that ran in it, its level at the month's end (or today, for the
    running month) with the evidence, and the counts by level, building and city."""
    first, last = month_bounds(month)
    today = cfg.local_date(now)
    if first > today:
        raise ValidationFailed("the month has not begun", details={"month": month, "today": today.isoformat()})
    as_of = min(last, today)
    rows = await assess_leases(await report_leases(first, last, building_ids, ZoneInfo(cfg.timezone)), cfg, as_of)
    rows.sort(key=lambda r: (-LEVEL_RANK[HealthLevel(r["level"])], r["city"], r["building"], r["lease_id"]))
    levels = {level.value: 0 for level in HealthLevel}
    for row in rows:
        levels[row["level"]] += 1
    return {"title": "租约健康度报告", "month": month, "as_of": as_of.isoformat(), "complete": as_of == last,
            "leases": len(rows), "levels": levels, "by_building": _tally(rows, "building_id", "building"),
            "by_city": _tally(rows, "city_id", "city"), "items": rows,
            "thresholds": {"late_working_days": cfg.params.late_working_days,
                           "deviations_per_quarter": cfg.params.deviations_per_quarter,
                           "changes_per_year": cfg.params.changes_per_year,
                           "work_orders_per_month": cfg.params.work_orders_per_month}}


def _evidence_text(finding: dict[str, Any]) -> str:
    parts = []
    for item in finding["evidence"]:
        if "receivable_id" in item:
            paid = item["paid_on"] or "未付"
            parts.append(f"{item['label']} 应付{item['due_date']} 实付{paid} 迟{item['working_days_late']}个工作日")
        elif "change_id" in item:
            parts.append(f"{item['on']} {item['kind']} {item['reason']}".strip())
        else:
            parts.append(f"{item['opened_on']} #{item['work_order_id']} {item['title']}".strip())
    return ";".join(parts)


async def export_report_xlsx(month: str, cfg: HealthConfig, now: datetime,
                             building_ids: frozenset[int] | None) -> bytes:
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    view = await monthly_report(month, cfg, now, building_ids)
    book = Workbook()
    bold = Font(bold=True)
    level_names = [LEVEL_LABEL[level] for level in HealthLevel]
    sheet = book.worksheets[0]
    sheet.title = "汇总"
    sheet.append([f"租约健康度报告 {view['month']}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["评估日", view["as_of"], "完整月份" if view["complete"] else "本月截至评估日"])
    sheet.append(["租约数", view["leases"], *(f"{LEVEL_LABEL[lv]} {view['levels'][lv.value]}" for lv in HealthLevel)])
    t = view["thresholds"]
    sheet.append(["阈值",
                  f"履约偏差:迟付超过{t['late_working_days']}个工作日,每季度≥{t['deviations_per_quarter']}次→黄色",
                  f"合同变更:每年>{t['changes_per_year']}次→红色",
                  f"关联工单:每月>{t['work_orders_per_month']}单→橙色"])
    for title, rows in (("楼宇", view["by_building"]), ("城市", view["by_city"])):
        part = book.create_sheet(title)
        part.append(["名称", "租约数", *level_names])
        for cell in part[1]:
            cell.font = bold
        for row in rows:
            part.append([row["name"], row["leases"], *(row["levels"][lv.value] for lv in HealthLevel)])
    detail = book.create_sheet("明细")
    detail.append(["等级", "城市", "楼宇", "房源", "合同编号", "租约", "指标", "周期", "次数", "阈值", "应对措施",
                   "依据"])
    for cell in detail[1]:
        cell.font = bold
    for row in view["items"]:
        if not row["findings"]:
            detail.append([row["level_label"], row["city"], row["building"], row["unit_code"], row["contract_no"],
                           row["lease_id"], "", "", "", "", "", ""])
        for finding in row["findings"]:
            detail.append([LEVEL_LABEL[HealthLevel(finding["level"])], row["city"], row["building"],
                           row["unit_code"], row["contract_no"], row["lease_id"],
                           INDICATOR_LABEL[Indicator(finding["indicator"])], finding["period"], finding["count"],
                           finding["threshold"], finding["action"], _evidence_text(finding)])
    for ws in book.worksheets:
        for index in range(1, ws.max_column + 1):
            ws.column_dimensions[get_column_letter(index)].width = 18
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

