from datetime import timedelta
from enum import StrEnum

from accounts.choices import StaffDuty


class WorkOrderType(StrEnum):
    CLEANING = "CLEANING"
    REPAIR = "REPAIR"
    INSPECTION = "INSPECTION"
    RENOVATION = "RENOVATION"
    MOVE_IN = "MOVE_IN"
    MOVE_OUT = "MOVE_OUT"
    VIEWING = "VIEWING"  # a leasing agent showing the unit to a prospect
    TASK = "TASK"  # a to-do for a person (e.g. a lease expiry reminder)


class WorkOrderStatus(StrEnum):
    OPEN = "OPEN"
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    VERIFIED = "VERIFIED"
    CANCELLED = "CANCELLED"


W = WorkOrderStatus
WORK_ORDER_TRANSITIONS: dict[WorkOrderStatus, frozenset[WorkOrderStatus]] = {
    W.OPEN: frozenset({W.ASSIGNED, W.CANCELLED}),
    W.ASSIGNED: frozenset({W.IN_PROGRESS, W.ASSIGNED, W.CANCELLED}),
    W.IN_PROGRESS: frozenset({W.DONE, W.CANCELLED}),
    W.DONE: frozenset({W.VERIFIED, W.IN_PROGRESS}),
    W.VERIFIED: frozenset(),
    W.CANCELLED: frozenset(),
}
del W

OPEN_WORK_ORDER_STATUSES = frozenset({WorkOrderStatus.OPEN, WorkOrderStatus.ASSIGNED, WorkOrderStatus.IN_PROGRESS})

#: Work orders that put people on site, and in which statuses, so that sensor activity on the unit is explained and
#: raises no vacancy alert (iot/detection.py). An inspection explains activity only while someone is actually there
#: (IN_PROGRESS): an alert-triggered sublet inspection waiting for its visit must not hide other alerts. A TASK is a
#: to-do for a person (e.g. a lease-expiry reminder), never a visit.
ACTIVITY_EXPLAINING_WORK: dict[WorkOrderType, frozenset[WorkOrderStatus]] = {
    WorkOrderType.CLEANING: OPEN_WORK_ORDER_STATUSES,
    WorkOrderType.REPAIR: OPEN_WORK_ORDER_STATUSES,
    WorkOrderType.RENOVATION: OPEN_WORK_ORDER_STATUSES,
    WorkOrderType.MOVE_IN: OPEN_WORK_ORDER_STATUSES,
    WorkOrderType.MOVE_OUT: OPEN_WORK_ORDER_STATUSES,
    WorkOrderType.VIEWING: OPEN_WORK_ORDER_STATUSES,
    WorkOrderType.INSPECTION: frozenset({WorkOrderStatus.IN_PROGRESS}),
}

#: Default SLA (time from creation to due) per type.
WORK_ORDER_SLA: dict[WorkOrderType, timedelta] = {
    WorkOrderType.CLEANING: timedelta(hours=24),
    WorkOrderType.REPAIR: timedelta(hours=48),
    WorkOrderType.INSPECTION: timedelta(hours=72),
    WorkOrderType.RENOVATION: timedelta(days=30),
    WorkOrderType.MOVE_IN: timedelta(hours=24),
    WorkOrderType.MOVE_OUT: timedelta(hours=24),
    WorkOrderType.VIEWING: timedelta(hours=24),
    WorkOrderType.TASK: timedelta(days=7),
}

#: Which building duty is responsible for which work-order type (first match wins).
WORK_ORDER_DUTY: dict[WorkOrderType, tuple[StaffDuty, ...]] = {
    WorkOrderType.CLEANING: (StaffDuty.INSPECTOR, StaffDuty.MANAGER),
    WorkOrderType.REPAIR: (StaffDuty.INSPECTOR, StaffDuty.MANAGER),
    WorkOrderType.INSPECTION: (StaffDuty.INSPECTOR, StaffDuty.MANAGER),
    WorkOrderType.RENOVATION: (StaffDuty.MANAGER,),
    WorkOrderType.MOVE_IN: (StaffDuty.INSPECTOR, StaffDuty.MANAGER),
    WorkOrderType.MOVE_OUT: (StaffDuty.INSPECTOR, StaffDuty.MANAGER),
    WorkOrderType.VIEWING: (StaffDuty.MANAGER,),
    WorkOrderType.TASK: (StaffDuty.MANAGER,),
}


class VisitResult(StrEnum):
    """What an inspection visit found, recorded on the work order (a sublet suspicion is confirmed or not)."""

    CONFIRMED = "CONFIRMED"
    NOT_CONFIRMED = "NOT_CONFIRMED"


class TriggerSource(StrEnum):
    """What opened a work order; with a reference, unique — one trigger opens one order."""

    LEASE_SIGNED = "lease_signed"
    MANUAL = "manual"
    SENSOR = "sensor"
    ALERT = "alert"
    INSPECTION = "inspection"
    REFUND = "refund"
    LEASE_REMINDER = "lease_reminder"
    LEASE_HEALTH = "lease_health"  # a lease health finding's action (leasehealth/)


WORK_ORDER_TYPE_LABEL: dict[WorkOrderType, str] = {
    WorkOrderType.CLEANING: "保洁", WorkOrderType.REPAIR: "维修", WorkOrderType.INSPECTION: "上门核查",
    WorkOrderType.RENOVATION: "翻新", WorkOrderType.MOVE_IN: "入住", WorkOrderType.MOVE_OUT: "退租",
    WorkOrderType.VIEWING: "带看", WorkOrderType.TASK: "待办",
}
WORK_ORDER_STATUS_LABEL: dict[WorkOrderStatus, str] = {
    WorkOrderStatus.OPEN: "待分派", WorkOrderStatus.ASSIGNED: "已分派", WorkOrderStatus.IN_PROGRESS: "处理中",
    WorkOrderStatus.DONE: "已完成", WorkOrderStatus.VERIFIED: "已验收", WorkOrderStatus.CANCELLED: "已取消",
}
