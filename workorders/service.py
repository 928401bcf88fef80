"""Work orders: one trigger opens one order; assignee from the building's staff; due from the SLA."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from accounts.choices import Role
from accounts.permissions import WORK_ORDER_CLOSERS
from core.errors import Forbidden, InvalidTransition
from models.accounts import User
from models.portfolio import BuildingStaff
from models.workorders import WorkOrder, WorkOrderEvent
from workorders.choices import (
    OPEN_WORK_ORDER_STATUSES,
    WORK_ORDER_DUTY,
    WORK_ORDER_SLA,
    WORK_ORDER_TRANSITIONS,
    TriggerSource,
    WorkOrderStatus,
    WorkOrderType,
)


async def resolve_assignee(building_id: int, wo_type: WorkOrderType) -> int | None:
    """The building's responsible staff for this type; among several, the one with fewest open orders."""
    for duty in WORK_ORDER_DUTY[wo_type]:
        user_ids = cast(list[int], await BuildingStaff.filter(building_id=building_id, duty=duty,
                                                              user__is_active=True).values_list("user_id", flat=True))
        if not user_ids:
            continue
        loads = dict(await WorkOrder.filter(assignee_id__in=user_ids, status__in=list(OPEN_WORK_ORDER_STATUSES))
                     .annotate(n=Count("id")).group_by("assignee_id").values_list("assignee_id", "n"))
        return min(sorted(set(user_ids)), key=lambda uid: loads.get(uid, 0))
    return None


async def open_work_order(*, wo_type: WorkOrderType, building_id: int, unit_id: int | None, title: str,
                          trigger_source: TriggerSource, trigger_ref: str, now: datetime,
                          description: str = "", actor_id: int | None = None,
                          sla: timedelta | None = None, assignee_id: int | None = None) -> tuple[WorkOrder, bool]:
    """Open the order for this trigger, or return the one it already opened. Returns (order, created)."""
    existing = await WorkOrder.get_or_none(trigger_source=trigger_source, trigger_ref=trigger_ref)
    if existing:
        return existing, False
    assignee = assignee_id or await resolve_assignee(building_id, wo_type)
    status = WorkOrderStatus.ASSIGNED if assignee else WorkOrderStatus.OPEN
    try:
        async with in_transaction():
            order = await WorkOrder.create(
                type=wo_type, building_id=building_id, unit_id=unit_id, title=title[:200], description=description,
                trigger_source=trigger_source, trigger_ref=trigger_ref, status=status, assignee_id=assignee,
                due_at=now + (sla or WORK_ORDER_SLA[wo_type]))
            await WorkOrderEvent.create(work_order=order, from_status=None, to_status=status, actor_id=actor_id,
                                        note="opened", at=now)
    except IntegrityError:
        # A concurrent caller opened it first; the unique trigger key decided.
        return await WorkOrder.get(trigger_source=trigger_source, trigger_ref=trigger_ref), False
    return order, True


async def transition_work_order(order: WorkOrder, target: WorkOrderStatus, *, now: datetime,
                                actor_id: int | None, note: str = "", assignee_id: int | None = None) -> WorkOrder:
    allowed = WORK_ORDER_TRANSITIONS[WorkOrderStatus(order.status)]
    if target not in allowed:
        raise InvalidTransition("work order", order.status, target, [s.value for s in allowed])
    async with in_transaction():
        changes: dict[str, Any] = {"status": target}
        if target == WorkOrderStatus.ASSIGNED and assignee_id:
            changes["assignee_id"] = assignee_id
        if target == WorkOrderStatus.DONE:
            changes["completed_at"] = now
        updated = await WorkOrder.filter(id=order.id, status=order.status).update(**changes)
        if updated != 1:
            current = await WorkOrder.get(id=order.id)
            raise InvalidTransition("work order", current.status, target,
                                    [s.value for s in WORK_ORDER_TRANSITIONS[WorkOrderStatus(current.status)]])
        await WorkOrderEvent.create(work_order_id=order.id, from_status=order.status, to_status=target,
                                    actor_id=actor_id, note=note[:500], at=now)
    return await WorkOrder.get(id=order.id)


#: Statuses only WORK_ORDER_CLOSERS may set: verifying the work and cancelling the order.
CLOSING_STATUSES = frozenset({WorkOrderStatus.VERIFIED, WorkOrderStatus.CANCELLED})


def check_may_transition(order: WorkOrder, target: WorkOrderStatus | str, *, role: Role, user_id: int) -> None:
    """A person's move of a work order: closing statuses for managers; an inspector only moves their own order."""
    if target in CLOSING_STATUSES and role not in WORK_ORDER_CLOSERS:
        raise Forbidden(f"only a manager may set {target}")
    if role == Role.INSPECTOR and order.assignee_id not in (None, user_id):
        raise Forbidden("this work order is assigned to someone else")


async def transition_as(order: WorkOrder, target: WorkOrderStatus, *, role: Role, user_id: int, now: datetime,
                        note: str = "", assignee_id: int | None = None) -> WorkOrder:
    """A person moves a work order (the API): the permission check, then the transition."""
    check_may_transition(order, target, role=role, user_id=user_id)
    return await transition_work_order(order, target, now=now, actor_id=user_id, note=note, assignee_id=assignee_id)


async def complete_open_orders(unit_id: int, wo_type: WorkOrderType, trigger_source: str, *, now: datetime,
                               note: str, actor_id: int | None = None) -> int:
    """Walk this unit's open orders of one type and trigger through ASSIGNED → IN_PROGRESS → DONE, each step
    recorded as usual (e.g. seeded tenants who moved in long ago: their pre-delivery cleaning was done)."""
    steps = [WorkOrderStatus.ASSIGNED, WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.DONE]
    orders = await WorkOrder.filter(unit_id=unit_id, type=wo_type, trigger_source=trigger_source,
                                    status__in=list(OPEN_WORK_ORDER_STATUSES))
    for order in orders:
        for target in steps[steps.index(order.status) + 1 if order.status in steps else 0:]:
            order = await transition_work_order(order, target, now=now, actor_id=actor_id, note=note)
    return len(orders)


def serialize_work_order(order: WorkOrder, unit_code: str | None = None) -> dict:
    return {
        "id": order.id, "type": order.type, "status": order.status, "title": order.title,
        "description": order.description, "building_id": order.building_id, "unit_id": order.unit_id,
        "unit_code": unit_code, "trigger": {"source": order.trigger_source, "ref": order.trigger_ref},
        "assignee_id": order.assignee_id, "due_at": order.due_at.isoformat(),
        "completed_at": order.completed_at.isoformat() if order.completed_at else None,
        "visit_result": order.visit_result,
        "created_at": order.created_at.isoformat() if order.created_at else None,
    }


async def assignee_name(user_id: int | None) -> str | None:
    if not user_id:
        return None
    user = await User.get_or_none(id=user_id)
    return user.name if user else None


def work_orders_for(principal):
    """The work orders the caller may see (their buildings)."""
    return WorkOrder.filter(**principal.building_filter())


async def building_staff(building_ids) -> dict[int, list[tuple[int, str]]]:
    """Active staff per building ({building: [(user id, name)]}): whom an order there may be assigned to."""
    rows = await BuildingStaff.filter(building_id__in=list(set(building_ids)), user__is_active=True).values_list(
        "building_id", "user_id", "user__name")
    staff: dict[int, dict[int, str]] = {}
    for building_id, user_id, name in rows:
        staff.setdefault(building_id, {})[user_id] = name
    return {b: sorted(people.items(), key=lambda p: p[1]) for b, people in staff.items()}


async def assign_work_order(order: WorkOrder, assignee_id: int, *, now: datetime, actor_id: int | None,
                            note: str = "") -> WorkOrder:
    """(Re)assign an open order to a staff member with a duty in the order's building."""
    from core.errors import ValidationFailed

    if not await BuildingStaff.filter(building_id=order.building_id, user_id=assignee_id,
                                      user__is_active=True).exists():
        raise ValidationFailed("the assignee has no duty in this building", code="ASSIGNEE_NOT_IN_BUILDING",
                               details={"assignee_id": assignee_id, "building_id": order.building_id})
    return await transition_work_order(order, WorkOrderStatus.ASSIGNED, now=now, actor_id=actor_id,
                                       note=note or "assigned", assignee_id=assignee_id)


async def close_work_order(order: WorkOrder, *, now: datetime, actor_id: int | None, note: str) -> WorkOrder:
    """Close from the desk: an open order is walked through to DONE (each step recorded), a DONE one VERIFIED."""
    steps = [WorkOrderStatus.ASSIGNED, WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.DONE]
    status = WorkOrderStatus(order.status)
    if status == WorkOrderStatus.DONE:
        return await transition_work_order(order, WorkOrderStatus.VERIFIED, now=now, actor_id=actor_id, note=note)
    if status not in steps and status != WorkOrderStatus.OPEN:
        raise InvalidTransition("work order", order.status, WorkOrderStatus.DONE, [])
    for target in steps[steps.index(status) + 1 if status in steps else 0:]:
        if target == WorkOrderStatus.ASSIGNED and not order.assignee_id:
            order = await transition_work_order(order, target, now=now, actor_id=actor_id, note=note,
                                                assignee_id=actor_id)
            continue
        order = await transition_work_order(order, target, now=now, actor_id=actor_id, note=note)
    return order
