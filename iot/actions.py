"""What the rules' decisions do: raise or clear alerts (alerts/service.py lifecycle), open work orders
(an inspection visit for a suspected sublet, a move-out cleaning), and the look-ups the rules need from other
domains (units in a vacant status, on-site work under way). No rule is decided here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from alerts.choices import OPEN_ALERT_STATUSES
from alerts.service import condition_cleared, raise_alert
from iot.rules import Condition, DoorOpened, UnitInfo, battery_condition, door_open_conditions
from models.alerts import Alert
from models.portfolio import Unit
from models.workorders import WorkOrder
from workorders.choices import ACTIVITY_EXPLAINING_WORK, OPEN_WORK_ORDER_STATUSES, TriggerSource, WorkOrderType
from workorders.service import open_work_order


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
