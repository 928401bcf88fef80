"""What the rules' decisions do: raise or clear alerts (alerts/service.py lifecycle), open work orders
(an inspection visit for a suspected sublet, a move-out cleaning), and the look-ups the rules need from other
domains (units in a vacant status, on-site work under way). No rule is decided here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from alerts.choices import OPEN_ALERT_STATUSES, AlertStatus
from alerts.service import condition_cleared, raise_alert
from core.errors import Conflict
from iot.choices import IotAlert
from iot.rules import Condition, DoorOpened, UnitInfo, battery_condition, door_open_conditions
from models.alerts import Alert
from models.portfolio import Unit
from models.workorders import WorkOrder
from workorders.choices import (
    ACTIVITY_EXPLAINING_WORK,
    OPEN_WORK_ORDER_STATUSES,
    TriggerSource,
    VisitResult,
    WorkOrderStatus,
    WorkOrderType,
)
from workorders.service import close_work_order, open_work_order


async def units_with_active_work(unit_ids: list[int] | None = None) -> set[int]:
    """Units where on-site work (cleaning, repair, renovation, move-in/out, a viewing, an inspection under way)
    explains activity — ``ACTIVITY_EXPLAINING_WORK``; a TASK (a reminder to someone) never does."""
    qs = WorkOrder.filter(type__in=list(ACTIVITY_EXPLAINING_WORK), status__in=list(OPEN_WORK_ORDER_STATUSES),
                          unit_id__isnull=False)
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=unit_ids)
    return {row["unit_id"] for row in await qs.values("unit_id", "type", "status")
            if row["status"] in ACTIVITY_EXPLAINING_WORK[WorkOrderType(row["type"])]}


async def unit_infos(unit_ids: Iterable[int]) -> dict[int, UnitInfo]:
    rows = await Unit.filter(id__in=list(unit_ids)).values("id", "code", "building_id", "status")
    return {r["id"]: UnitInfo(r["id"], r["code"], r["building_id"], r["status"]) for r in rows}


async def building_of(unit_id: int | None) -> int | None:
    if unit_id is None:
        return None
    found = await Unit.filter(id=unit_id).values_list("building_id", flat=True)
    return int(found[0]) if found else None  # type: ignore[call-overload]


async def raise_condition(c: Condition, *, now: datetime, building_id: int | None) -> Alert:
    alert, _ = await raise_alert(alert_type=c.alert_type, now=c.at or now, unit_id=c.unit_id,
                                 building_id=building_id, subject=c.subject, severity=c.severity,
                                 explanation=c.explanation, evidence=c.evidence)
    return alert


async def clear_condition(alert_type: str, unit_id: int | None, *, now: datetime, hysteresis: timedelta,
                          subject: str = "") -> bool:
    """The condition is false now: the alert clears once it stayed false for ``hysteresis``."""
    return bool(await condition_cleared(alert_type=alert_type, unit_id=unit_id, now=now, hysteresis=hysteresis,
                                        subject=subject))


async def open_alert_keys(types: Sequence[str]) -> set[str]:
    keys = await Alert.filter(type__in=list(types), status__in=list(OPEN_ALERT_STATUSES)).values_list(
        "open_key", flat=True)
    return {str(k) for k in keys}


async def instant_alerts(door_opens: Sequence[DoorOpened],
                         battery_low: Iterable[tuple[int, int | None, int | None, datetime]]) -> int:
    """After a batch is stored: DOOR_OPEN_WHILE_VACANT for each unit whose door opened while vacant; BATTERY_LOW
    for each device (device id, unit id, battery, at) that newly reports a low battery. Returns alerts raised."""
    raised = 0
    if door_opens:
        units = await unit_infos({o.unit_id for o in door_opens})
        busy = await units_with_active_work(list(units))
        for c in door_open_conditions(door_opens, units, busy):
            await raise_condition(c, now=c.at or door_opens[0].at, building_id=units[c.unit_id].building_id
                                  if c.unit_id is not None else None)
            raised += 1
    for device_id, unit_id, battery, at in battery_low:
        await raise_condition(battery_condition(device_id, unit_id, battery, at), now=at,
                              building_id=await building_of(unit_id))
        raised += 1
    return raised


async def inspection_for_sublet(alert: Alert, unit_id: int, building_id: int, now: datetime) -> None:
    """One INSPECTION work order per SUSPECTED_SUBLET alert (keyed by the alert): a visit, not an accusation."""
    code = (await Unit.filter(id=unit_id).values_list("code", flat=True))[0]
    await open_work_order(wo_type=WorkOrderType.INSPECTION, building_id=building_id, unit_id=unit_id,
                          title=f"疑似转租上门核查 {code}", trigger_source=TriggerSource.ALERT,
                          trigger_ref=f"alert:{alert.id}", now=now,
                          description="sensor usage pattern suggests a possible sublet; visit and verify. "
                                      + "; ".join(alert.evidence.get("reasons", [])))


async def moveout_cleaning_order(unit: dict, *, quiet_hours: int, now: datetime) -> int | None:
    """One CLEANING work order per move-out (keyed by the unit's status version). Returns its id if new."""
    order, created = await open_work_order(
        wo_type=WorkOrderType.CLEANING, building_id=unit["building_id"], unit_id=unit["id"],
        title=f"退租保洁 {unit['code']}", trigger_source=TriggerSource.SENSOR,
        trigger_ref=f"moveout:{unit['id']}:v{unit['status_version']}", now=now,
        description=f"sensors: door quiet and consumption at the vacant baseline for {quiet_hours} h")
    return order.id if created else None


async def record_visit_result(order: WorkOrder, *, confirmed: bool, note: str, actor_id: int,
                              now: datetime) -> dict:
    """The result of a sublet inspection visit, on its work order (done, if it was not yet). Confirmed: the alert
    is acknowledged and a TASK goes to the building's lease manager (a finding, closed by people). Not confirmed:
    the alert is resolved with the visit as evidence, and the unit's baseline counts from this day on (the
    detection reads ``visit_result_at``). Recording the same result twice changes nothing; another is 409."""
    if order.type != WorkOrderType.INSPECTION or order.trigger_source != TriggerSource.ALERT \
            or not order.trigger_ref.startswith("alert:"):
        raise Conflict("only an inspection opened by a sublet alert takes a visit result", code="NOT_A_VISIT",
                       details={"work_order_id": order.id, "type": order.type})
    alert = await Alert.get_or_none(id=int(order.trigger_ref.split(":", 1)[1]))
    if alert is None or alert.type != IotAlert.SUSPECTED_SUBLET:
        raise Conflict("only an inspection opened by a sublet alert takes a visit result", code="NOT_A_VISIT",
                       details={"work_order_id": order.id})
    result = VisitResult.CONFIRMED if confirmed else VisitResult.NOT_CONFIRMED
    if order.visit_result is not None:
        if order.visit_result != result:
            raise Conflict("this visit's result is already recorded", code="VISIT_RESULT_RECORDED",
                           details={"visit_result": order.visit_result})
        return {"work_order_id": order.id, "alert_id": alert.id, "visit_result": result, "task_id": None}
    if order.status == WorkOrderStatus.CANCELLED:
        raise Conflict("the visit was cancelled", code="VISIT_CANCELLED", details={"work_order_id": order.id})
    visit = {"work_order_id": order.id, "result": result, "note": note[:500], "by": actor_id,
             "at": now.isoformat()}
    task_id = None
    async with in_transaction():
        if order.status != WorkOrderStatus.DONE:
            order = await close_work_order(order, now=now, actor_id=actor_id, note=f"visit: {result}")
        await WorkOrder.filter(id=order.id).update(visit_result=result, visit_result_at=now)
        evidence = {**(alert.evidence or {}), "visit": visit}
        if confirmed:
            code = (await Unit.filter(id=order.unit_id).values_list("code", flat=True))[0] if order.unit_id else ""
            task, _ = await open_work_order(
                wo_type=WorkOrderType.TASK, building_id=order.building_id, unit_id=order.unit_id,
                title=f"转租已核实 {code}：请租约经理处理", trigger_source=TriggerSource.ALERT,
                trigger_ref=f"alert:{alert.id}:confirmed", now=now, actor_id=actor_id,
                description=f"inspection visit #{order.id} confirmed a sublet. {note}"[:4000])
            task_id = task.id
            changes: dict = {"evidence": evidence, "resolution_note": f"visit confirmed: {note}"[:500]}
            if alert.status == AlertStatus.ACTIVE:
                changes.update(status=AlertStatus.ACKNOWLEDGED, acknowledged_by_id=actor_id, acknowledged_at=now)
            await Alert.filter(id=alert.id).update(**changes)
        elif alert.status in OPEN_ALERT_STATUSES:
            await Alert.filter(id=alert.id).update(
                status=AlertStatus.RESOLVED, open_key=None, resolved_by_id=actor_id, resolved_at=now,
                resolution_note=f"visit found no sublet: {note}"[:500], evidence=evidence)
    return {"work_order_id": order.id, "alert_id": alert.id, "visit_result": result, "task_id": task_id}
