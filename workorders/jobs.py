"""Scheduled work-order jobs: an order past its SLA (``due_at``) notifies its assignee (WeChat) and the desk
channels of its building, once per deadline (a new deadline after reassignment notifies again)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from config.settings import Settings
from models.accounts import User
from models.portfolio import Unit
from models.workorders import WorkOrder
from notifications.choices import DeskEvent, NotificationKind
from notifications.desk import enqueue_desk
from notifications.outbox import enqueue_notification
from workorders.choices import OPEN_WORK_ORDER_STATUSES, WORK_ORDER_TYPE_LABEL, WorkOrderType

#: Orders overdue for longer than this are not announced any more (a backlog after downtime stays quiet).
LOOKBACK = timedelta(days=7)


def overdue_key(order: WorkOrder) -> str:
    return f"wo:{order.id}:overdue:{int(order.due_at.timestamp())}"


async def notify_overdue(settings: Settings, now: datetime) -> dict:
    """Announce open work orders whose deadline passed (idempotent: unique outbox keys per deadline)."""
    orders = await WorkOrder.filter(status__in=list(OPEN_WORK_ORDER_STATUSES), due_at__lt=now,
                                    due_at__gte=now - LOOKBACK).order_by("due_at", "id").limit(5000)
    tz = ZoneInfo(settings.business_timezone)
    codes = dict(await Unit.filter(id__in={o.unit_id for o in orders if o.unit_id}).values_list("id", "code"))
    names = dict(await User.filter(id__in={o.assignee_id for o in orders if o.assignee_id}).values_list("id", "name"))
    announced = 0
    for order in orders:
        key = overdue_key(order)
        due = order.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        unit_code = codes.get(order.unit_id, "")
        if order.assignee_id:
            await enqueue_notification(user_id=order.assignee_id, kind=NotificationKind.WORK_ORDER_OVERDUE,
                                       dedupe_key=f"{key}:user:{order.assignee_id}", now=now, payload={
                                           "work_order_id": order.id, "unit_code": unit_code or "-",
                                           "title": order.title, "due_at": order.due_at.isoformat()})
        announced += await enqueue_desk(settings, DeskEvent.WORK_ORDER_OVERDUE, dedupe_key=key, now=now,
                                        building_id=order.building_id, payload={
                                            "subject": f"#{order.id} {WORK_ORDER_TYPE_LABEL[WorkOrderType(order.type)]}"
                                                       f" {order.title}",
                                            "unit": unit_code, "owner": names.get(order.assignee_id, "未分派"),
                                            "due": due, "link": f"{settings.public_base_url}/console/work-orders"
                                                                f"?building_id={order.building_id}#wo-{order.id}"})
    return {"overdue": len(orders), "desk_messages": announced}


async def overdue_work_orders(settings: Settings, now: datetime) -> dict:
    """Scheduled (reminders.scheduler.JOBS): ``notify_overdue`` unless ``workorder_overdue_check`` is off."""
    if not settings.workorder_overdue_check:
        return {}
    return {"overdue_work_orders": await notify_overdue(settings, now)}
