"""Lease expiry calendar: live leases ending within the longest reminder tier, grouped by month, each with its
current tier for its property type (reminders.rules) and the reminder tasks that fired."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field
from sanic import Blueprint, Request

from console import formatting
from console.access import console_access
from console.labels import label
from console.lists import Column, ListQuery, link, order_by, paginate, xlsx_response
from console.rendering import page
from console.roles import VIEWERS
from console.views.common import now_of, principal_of, settings_of, visible_buildings
from core.validation import parse_query
from leasing.choices import LIVE_LEASE_STATUSES
from models.leasing import Lease, Tenant
from models.reminders import LeaseReminder
from models.workorders import WorkOrder
from portfolio.choices import PropertyType
from reminders.rules import current_tier, rules_from_config

bp = Blueprint("console_leases", url_prefix="/console")


class ExpiryQuery(ListQuery):
    property_type: PropertyType | None = None
    building_id: int | None = Field(None, ge=1)
    within_days: int | None = Field(None, ge=1, le=366)


COLUMNS = [
    Column("end_date", "到期日", sort="end_date", export=lambda r: r["lease"].end_date),
    Column("days_left", "剩余天数", export=lambda r: r["days_left"]),
    Column("unit", "房源", sort="unit__code", export=lambda r: r["unit"].code),
    Column("property_type", "业态", sort="unit__property_type,end_date",
           export=lambda r: label("property_type", r["unit"].property_type)),
    Column("tenant", "租户", export=lambda r: r["tenant"]),
    Column("rent", "月租", sort="monthly_rent_fen",
           export=lambda r: formatting.yuan_number(r["lease"].monthly_rent_fen)),
    Column("tier", "提醒档", export=lambda r: r["tier"].title if r["tier"] else ""),
    Column("tasks", "提醒任务", export=lambda r: "; ".join(f"{t['days']}天 #{t['order_id']}" for t in r["tasks"])),
]


@bp.get("/leases/expiry", name="lease_expiry")
@console_access(VIEWERS)
async def lease_expiry(request: Request):
    """Leases ending soon, by month, with their reminder tier and tasks."""
    principal, settings, now = principal_of(request), settings_of(request), now_of(request)
    query = parse_query(ExpiryQuery, request.args)
    rules = rules_from_config(settings.lease_reminder_rules)
    horizon = query.within_days or max(t.days for tiers in rules.values() for t in tiers)
    today = now.astimezone(ZoneInfo(settings.business_timezone)).date()
    qs = Lease.filter(status__in=list(LIVE_LEASE_STATUSES), end_date__gte=today,
                      end_date__lte=today + timedelta(days=horizon),
                      **principal.building_filter("unit__building_id"))
    if query.property_type:
        qs = qs.filter(unit__property_type=query.property_type)
    if query.building_id:
        qs = qs.filter(unit__building_id=query.building_id)
    qs = qs.select_related("unit").order_by(*order_by(COLUMNS, query.sort, ["end_date", "id"]))
    result = await paginate(qs, query, settings.console_page_size, export_max=settings.console_export_max_rows)
    leases: list[Lease] = result.rows
    tenants = dict(await Tenant.filter(id__in={x.tenant_id for x in leases}).values_list("id", "name"))
    reminders = await LeaseReminder.filter(lease_id__in=[x.id for x in leases]).order_by("-tier_days")
    orders = {o.id: o for o in await WorkOrder.filter(id__in=[r.work_order_id for r in reminders if r.work_order_id])}
    tasks: dict[int, list[dict]] = {}
    for reminder in reminders:
        order = orders.get(reminder.work_order_id) if reminder.work_order_id else None
        tasks.setdefault(reminder.lease_id, []).append({"days": reminder.tier_days, "order_id": reminder.work_order_id,
                                                        "status": order.status if order else None,
                                                        "fired_at": reminder.fired_at})
    rows: list[dict[str, Any]] = []
    for lease in leases:
        days_left = (lease.end_date - today).days
        rows.append({"lease": lease, "unit": lease.unit, "tenant": tenants.get(lease.tenant_id), "days_left": days_left,
                     "tier": current_tier(rules.get(lease.unit.property_type, ()), days_left),
                     "tasks": tasks.get(lease.id, []), "month": lease.end_date.strftime("%Y年%m月")})
    if query.format == "xlsx":
        return await xlsx_response(request, "租约到期", COLUMNS, rows, "lease-expiry.xlsx")
    months: dict[str, list[dict]] = {}
    for row in rows:
        months.setdefault(row["month"], []).append(row)
    return await page(request, "leases.html", query=query, result=result, months=months, columns=COLUMNS,
                      rules=rules, property_types=list(PropertyType), buildings=await visible_buildings(principal),
                      horizon=horizon, link=lambda **kw: link("/console/leases/expiry", query, **kw))
