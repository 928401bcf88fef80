"""资产状态一致性审计报告: once a month (on the 1st, for the month before; or on demand), each unit's recorded
status is compared with its lease and ledger facts, its latest field report and its sensor inference, as the
snapshots recorded them. Each difference kind is counted, rated per building and city, tied to the process step
it points to, and listed per unit with the recommended action. Stored per month (regenerating replaces it), so
months compare; exported as XLSX and as a printable PDF with CJK text (occupancy.audit_pdf).

The rules (``find_differences``) are pure over one unit's month; the service gathers the inputs with SQL."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from config.settings import Settings
from core import sql
from core.errors import Conflict, NotFound
from inspections.choices import ReportState
from iot.choices import Occupancy
from models.occupancy import OccupancySnapshotDay, StatusAudit, StatusAuditFinding, UnitDaySnapshot
from models.portfolio import Building, City, Unit, UnitStatusChange
from occupancy.choices import DIFFERENCE_ACTION, DIFFERENCE_LABEL, DIFFERENCE_PROCESS, DayState, Difference
from occupancy.reports import month_bounds
from occupancy.snapshot import day_bounds, local_day
from portfolio.choices import UNIT_STATUS_LABEL, UnitStatus

#: A field report asking for another status that nobody decided (confirmed reports were applied, rejected ones
#: decided): the inspection contradicts the record and the contradiction is open.
UNRESOLVED_REPORT_STATES = frozenset({ReportState.PENDING_CONFIRMATION, ReportState.AWAITING_MEDIA,
                                      ReportState.HELD_FOR_REVIEW, ReportState.CONFLICT, ReportState.EXPIRED})
RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class UnitMonth:
    """One unit as the audit sees it: its facts on the audited day and counts over the month's complete days."""

    status: UnitStatus
    has_lease: bool
    first_rent_paid: bool
    inspection_state: str = ""
    inspection_status: str = ""
    status_since: date | None = None  # when the recorded status was entered
    as_of: date | None = None
    occupied_without_lease_days: int = 0
    vacant_occupied_like_days: int = 0


@dataclass(frozen=True)
class Found:
    kind: Difference
    days: int
    detail: dict[str, Any]


def find_differences(u: UnitMonth, *, pending_delivery_max_days: int, occupied_like_days: int) -> list[Found]:
    out: list[Found] = []
    if u.status == UnitStatus.OCCUPIED and not u.has_lease:
        out.append(Found(Difference.OCCUPIED_WITHOUT_LEASE, u.occupied_without_lease_days,
                         {"status": str(u.status)}))
    if u.status == UnitStatus.VACANT and u.has_lease and u.first_rent_paid:
        out.append(Found(Difference.VACANT_BUT_RENT_PAID, 0, {"status": str(u.status)}))
    if u.status == UnitStatus.VACANT and u.vacant_occupied_like_days >= occupied_like_days:
        out.append(Found(Difference.VACANT_BUT_OCCUPIED_LIKE, u.vacant_occupied_like_days,
                         {"sensor": str(Occupancy.OCCUPIED_LIKE)}))
    if (u.inspection_state in UNRESOLVED_REPORT_STATES and u.inspection_status
            and u.inspection_status != u.status):
        out.append(Found(Difference.INSPECTION_CONTRADICTS, 0,
                         {"recorded": str(u.status), "inspection": u.inspection_status,
                          "report_state": u.inspection_state}))
    if u.status == UnitStatus.PENDING_DELIVERY and u.status_since and u.as_of:
        waited = (u.as_of - u.status_since).days
        if waited > pending_delivery_max_days:
            out.append(Found(Difference.PENDING_DELIVERY_TOO_LONG, waited,
                             {"since": u.status_since.isoformat(), "limit_days": pending_delivery_max_days}))
    return out


def rate(numerator: int, denominator: int) -> str | None:
    if not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, ROUND_HALF_UP))


# ---- the service ------------------------------------------------------------------------------------------------

async def _month_counts(start: date, end: date) -> tuple[dict[int, tuple[int, date]], dict[int, int]]:
    t = sql.names(UnitDaySnapshot)
    conn = get_connection("default")
    rows = await sql.execute(conn, f"SELECT unit_id, COUNT(*) AS n, MIN(day) AS first FROM {t} WHERE day >= ? AND "
                                   f"day <= ? AND status = ? AND lease_id IS NULL GROUP BY unit_id",
                             [start, end, str(UnitStatus.OCCUPIED)])
    occupied = {int(r["unit_id"]): (int(r["n"]), r["first"]) for r in map(dict, rows)}
    rows = await sql.execute(conn, f"SELECT unit_id, COUNT(*) AS n FROM {t} WHERE day >= ? AND day <= ? AND "
                                   f"status = ? AND sensor = ? GROUP BY unit_id",
                             [start, end, str(UnitStatus.VACANT), str(Occupancy.OCCUPIED_LIKE)])
    vacant_like = {int(r["unit_id"]): int(r["n"]) for r in map(dict, rows)}
    return occupied, vacant_like


async def _status_since(unit_ids: list[int], end: datetime, tz: str) -> dict[int, date]:
    out: dict[int, date] = {}
    for unit_id, changed_at in await UnitStatusChange.filter(unit_id__in=unit_ids, changed_at__lt=end).order_by(
            "changed_at", "id").values_list("unit_id", "changed_at"):
        out[unit_id] = local_day(changed_at, tz)
    return out


async def generate_audit(settings: Settings, month: str, now: datetime) -> StatusAudit:
    """Build and store the month's audit from its last complete snapshot day (replacing a stored one)."""
    start, end = month_bounds(month)
    as_of_record = await OccupancySnapshotDay.filter(state=DayState.COMPLETE, day__gte=start,
                                                     day__lte=end).order_by("-day").first()
    if as_of_record is None:
        raise Conflict(f"no complete snapshot day in {month}: the audit compares snapshots",
                       code="AUDIT_NO_SNAPSHOT", details={"month": month})
    as_of = as_of_record.day
    _, as_of_end = day_bounds(as_of, settings.business_timezone)
    rows = await UnitDaySnapshot.filter(day=as_of).order_by("unit_id")
    occupied, vacant_like = await _month_counts(start, end)
    pending = [r.unit_id for r in rows if r.status == UnitStatus.PENDING_DELIVERY]
    since = await _status_since(pending, as_of_end, settings.business_timezone) if pending else {}
    codes = dict(await Unit.filter(id__in=[r.unit_id for r in rows]).values_list("id", "code"))
    findings: list[StatusAuditFinding] = []
    pending_max = settings.occupancy_pending_delivery_max_days
    for row in rows:
        unit_month = UnitMonth(
            status=UnitStatus(row.status), has_lease=row.lease_id is not None, first_rent_paid=row.first_rent_paid,
            inspection_state=row.last_inspection_state, inspection_status=row.last_inspection_status,
            status_since=since.get(row.unit_id), as_of=as_of,
            occupied_without_lease_days=occupied.get(row.unit_id, (0, None))[0],
            vacant_occupied_like_days=vacant_like.get(row.unit_id, 0))
        for found in find_differences(unit_month, pending_delivery_max_days=pending_max,
                                      occupied_like_days=settings.occupancy_vacant_occupied_like_days):
            since_day = None
            if found.kind == Difference.OCCUPIED_WITHOUT_LEASE:
                first = occupied.get(row.unit_id, (0, None))[1]
                since_day = date.fromisoformat(str(first)) if first else None
            elif found.kind == Difference.PENDING_DELIVERY_TOO_LONG:
                since_day = since.get(row.unit_id)
            findings.append(StatusAuditFinding(
                kind=found.kind, unit_id=row.unit_id, building_id=row.building_id, city_id=row.city_id,
                unit_code=codes.get(row.unit_id, ""), days=found.days, since=since_day,
                detail={**found.detail, "status_label": UNIT_STATUS_LABEL[UnitStatus(row.status)]}))
    units_by_building: dict[int, int] = {}
    city_of: dict[int, int] = {}
    for row in rows:
        units_by_building[row.building_id] = units_by_building.get(row.building_id, 0) + 1
        city_of[row.building_id] = row.city_id
    summary = {"as_of": as_of.isoformat(), "month_end": end.isoformat(),
               "as_of_note": "" if as_of == end else f"the month's last complete day is {as_of}",
               "units_by_building": {str(k): v for k, v in units_by_building.items()},
               "city_of_building": {str(k): v for k, v in city_of.items()}}
    async with in_transaction():
        existing = await StatusAudit.get_or_none(month=month)
        if existing is not None:
            await StatusAuditFinding.filter(audit_id=existing.id).delete()
            await StatusAudit.filter(id=existing.id).update(as_of=as_of, generated_at=now, units=len(rows),
                                                            findings_count=len(findings), summary=summary)
            report = await StatusAudit.get(id=existing.id)
        else:
            report = await StatusAudit.create(month=month, as_of=as_of, generated_at=now, units=len(rows),
                                              findings_count=len(findings), summary=summary)
        for finding in findings:
            finding.audit_id = report.id
        await StatusAuditFinding.bulk_create(findings, batch_size=2000)
    return report


def _visible(building_id: int, building_ids: frozenset[int] | None) -> bool:
    return building_ids is None or building_id in building_ids


def _tallies(units_by_building: dict[int, int], counts: dict[int, dict[str, int]], flagged: dict[int, set[int]],
             keys: Iterable[int], names: dict[int, str]) -> list[dict[str, Any]]:
    out = []
    for key in sorted(keys, key=lambda k: names.get(k, "")):
        units = units_by_building.get(key, 0)
        with_diff = len(flagged.get(key, set()))
        out.append({"id": key, "name": names.get(key, str(key)), "units": units,
                    "units_with_differences": with_diff, "rate": rate(with_diff, units),
                    "kinds": {kind: {"count": n, "rate": rate(n, units)} for kind, n in sorted(
                        counts.get(key, {}).items())}})
    return out


async def audit_view(month: str, building_ids: frozenset[int] | None) -> dict[str, Any]:
    """The stored audit of ``month`` within ``building_ids`` (None: all), with the previous month beside it."""
    month_bounds(month)
    report = await StatusAudit.get_or_none(month=month)
    if report is None:
        raise NotFound(f"no audit for {month}", code="AUDIT_NOT_FOUND")
    view = await _view(report, building_ids, with_units=True)
    start, _ = month_bounds(month)
    before = start - timedelta(days=1)
    previous = await StatusAudit.get_or_none(month=f"{before.year:04d}-{before.month:02d}")
    if previous is not None:
        prev = await _view(previous, building_ids, with_units=False)
        view["previous"] = {"month": previous.month, "units": prev["units"],
                            "units_with_differences": prev["units_with_differences"], "rate": prev["rate"],
                            "kinds": {k: v["count"] for k, v in prev["kinds"].items()}}
        view["change"] = {k: v["count"] - view["previous"]["kinds"].get(k, 0) for k, v in view["kinds"].items()}
    else:
        view["previous"] = None
    return view


async def _view(report: StatusAudit, building_ids: frozenset[int] | None, *, with_units: bool) -> dict[str, Any]:
    summary = report.summary
    units_by_building = {int(k): v for k, v in summary["units_by_building"].items()
                         if _visible(int(k), building_ids)}
    city_of = {int(k): v for k, v in summary["city_of_building"].items() if int(k) in units_by_building}
    findings = [f for f in await StatusAuditFinding.filter(audit_id=report.id).order_by("building_id", "unit_code",
                                                                                       "kind")
                if _visible(f.building_id, building_ids)]
    by_building: dict[int, dict[str, int]] = {}
    flagged_building: dict[int, set[int]] = {}
    by_city: dict[int, dict[str, int]] = {}
    flagged_city: dict[int, set[int]] = {}
    for f in findings:
        for counts, flagged, key in ((by_building, flagged_building, f.building_id),
                                     (by_city, flagged_city, f.city_id)):
            counts.setdefault(key, {})
            counts[key][f.kind] = counts[key].get(f.kind, 0) + 1
            flagged.setdefault(key, set()).add(f.unit_id)
    units_by_city: dict[int, int] = {}
    for building_id, n in units_by_building.items():
        units_by_city[city_of[building_id]] = units_by_city.get(city_of[building_id], 0) + n
    building_names = dict(await Building.filter(id__in=list(units_by_building)).values_list("id", "name"))
    city_names = dict(await City.filter(id__in=list(units_by_city)).values_list("id", "name"))
    total_units = sum(units_by_building.values())
    flagged_units = {f.unit_id for f in findings}
    kinds = {}
    for kind in Difference:
        n = sum(1 for f in findings if f.kind == kind)
        kinds[str(kind)] = {"count": n, "rate": rate(n, total_units), "label": DIFFERENCE_LABEL[kind],
                            "process_step": DIFFERENCE_PROCESS[kind], "action": DIFFERENCE_ACTION[kind]}
    view: dict[str, Any] = {
        "month": report.month, "as_of": report.as_of.isoformat(), "as_of_note": summary.get("as_of_note", ""),
        "generated_at": report.generated_at.isoformat(), "units": total_units,
        "units_with_differences": len(flagged_units), "rate": rate(len(flagged_units), total_units), "kinds": kinds,
        "buildings": _tallies(units_by_building, by_building, flagged_building, units_by_building, building_names),
        "cities": _tallies(units_by_city, by_city, flagged_city, units_by_city, city_names),
    }
    if with_units:
        view["findings"] = [{
            "unit_id": f.unit_id, "unit_code": f.unit_code, "building_id": f.building_id,
            "building": building_names.get(f.building_id, ""), "city_id": f.city_id, "kind": str(f.kind),
            "label": DIFFERENCE_LABEL[f.kind], "process_step": DIFFERENCE_PROCESS[f.kind],
            "action": DIFFERENCE_ACTION[f.kind], "since": f.since.isoformat() if f.since else None, "days": f.days,
            "detail": f.detail} for f in findings]
    return view


async def list_audits(building_ids: frozenset[int] | None) -> dict[str, Any]:
    out = []
    for report in await StatusAudit.all().order_by("-month").limit(60):
        view = await _view(report, building_ids, with_units=False)
        out.append({"month": report.month, "as_of": view["as_of"], "generated_at": view["generated_at"],
                    "units": view["units"], "units_with_differences": view["units_with_differences"],
                    "rate": view["rate"], "kinds": {k: v["count"] for k, v in view["kinds"].items()}})
    return {"audits": out}


async def export_xlsx(month: str, building_ids: frozenset[int] | None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    view = await audit_view(month, building_ids)
    book = Workbook()
    bold = Font(bold=True)
    sheet = book.worksheets[0]  # the workbook's first sheet (``active`` is typed Optional)
    sheet.title = "汇总"
    sheet.append([f"资产状态一致性审计报告 {view['month']}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["对比日", view["as_of"], view["as_of_note"]])
    sheet.append(["房源数", view["units"], "存在差异的房源", view["units_with_differences"], "差异率", view["rate"]])
    sheet.append([])
    sheet.append(["差异类型", "代码", "数量", "差异率", "上月", "变化", "指向流程环节", "建议处理"])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    previous = (view.get("previous") or {}).get("kinds", {})
    for code, kind in view["kinds"].items():
        sheet.append([kind["label"], code, kind["count"], kind["rate"], previous.get(code),
                      (view.get("change") or {}).get(code), kind["process_step"], kind["action"]])
    for title, rows in (("楼宇", view["buildings"]), ("城市", view["cities"])):
        part = book.create_sheet(title)
        part.append(["名称", "房源数", "存在差异", "差异率", *(DIFFERENCE_LABEL[k] for k in Difference)])
        for cell in part[1]:
            cell.font = bold
        for row in rows:
            part.append([row["name"], row["units"], row["units_with_differences"], row["rate"],
                         *(row["kinds"].get(str(k), {}).get("count", 0) for k in Difference)])
    detail = book.create_sheet("明细")
    detail.append(["房源编号", "楼宇", "差异类型", "起始", "天数", "详情", "指向流程环节", "建议处理"])
    for cell in detail[1]:
        cell.font = bold
    for f in view["findings"]:
        detail.append([f["unit_code"], f["building"], f["label"], f["since"], f["days"],
                       "; ".join(f"{k}={v}" for k, v in f["detail"].items()), f["process_step"], f["action"]])
    for ws in book.worksheets:
        for index in range(1, ws.max_column + 1):
            ws.column_dimensions[get_column_letter(index)].width = 18
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def export_pdf(month: str, building_ids: frozenset[int] | None, font_path=None) -> bytes:
    """The printable report (A4, CJK): occupancy.audit_pdf. Raises inspections.fonts.FontMissing without a font."""
    from occupancy.audit_pdf import render_pdf

    return render_pdf(await audit_view(month, building_ids), font_path)
