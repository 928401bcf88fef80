"""Every label the console shows, gathered from the domains that define them (one place per domain)."""

from __future__ import annotations

from typing import Any

from accounts.choices import Role, StaffDuty
from alerts.choices import ALERT_SEVERITY_LABEL, ALERT_STATUS_LABEL
from iot.choices import IOT_ALERT_LABEL, OCCUPANCY_LABEL
from notifications.choices import OUTBOX_ALERT_TYPE
from portfolio.choices import PROPERTY_TYPE_LABEL, UNIT_STATUS_LABEL
from refunds.choices import STEP_PHRASE, DeductionCategory
from workorders.choices import WORK_ORDER_STATUS_LABEL, WORK_ORDER_TYPE_LABEL

ROLE_LABEL = {Role.INSPECTOR: "巡检员", Role.MANAGER: "区域经理", Role.FINANCE: "财务", Role.ADMIN: "管理员",
              Role.EXECUTIVE: "总经理", Role.TENANT: "租户"}
DUTY_LABEL = {StaffDuty.MANAGER: "经理", StaffDuty.INSPECTOR: "巡检", StaffDuty.FINANCE: "财务"}
DEDUCTION_LABEL = {DeductionCategory.CLEANING: "保洁费", DeductionCategory.DAMAGE: "损坏赔偿",
                   DeductionCategory.UNPAID_RENT: "欠租", DeductionCategory.UTILITIES: "水电费",
                   DeductionCategory.KEYS: "钥匙", DeductionCategory.OTHER: "其他"}
ALERT_TYPE_LABEL = {**IOT_ALERT_LABEL, OUTBOX_ALERT_TYPE: "通知发送失败"}

REPORT_CATEGORY_LABEL = {"ROUTINE": "例行巡检", "STATUS_UPDATE": "状态更新", "DAMAGE": "损坏报修",
                         "CLEANING_CHECK": "保洁验收", "REFUND_INSPECTION": "退租查验"}
REPORT_STATE_LABEL = {"ACCEPTED": "已记录", "PENDING_CONFIRMATION": "待现场确认", "AWAITING_MEDIA": "待上传照片",
                      "HELD_FOR_REVIEW": "待复核", "CONFLICT": "状态冲突", "CONFIRMED": "已确认", "REJECTED": "已驳回",
                      "EXPIRED": "已过期"}
LEASE_STATUS_LABEL = {"DRAFT": "草稿", "SIGNED": "已签约", "ACTIVE": "履约中", "ENDED": "已结束",
                      "TERMINATED": "已解约"}
SOURCE_LABEL = {"inspection": "巡检", "lease": "租约", "sensor": "传感器", "admin": "后台", "refund": "退租",
                "work_order": "工单"}

LABELS: dict[str, dict[Any, str]] = {
    "unit_status": UNIT_STATUS_LABEL, "property_type": PROPERTY_TYPE_LABEL, "alert_type": ALERT_TYPE_LABEL,
    "alert_status": ALERT_STATUS_LABEL, "severity": ALERT_SEVERITY_LABEL, "occupancy": OCCUPANCY_LABEL,
    "wo_type": WORK_ORDER_TYPE_LABEL, "wo_status": WORK_ORDER_STATUS_LABEL, "refund_step": STEP_PHRASE,
    "role": ROLE_LABEL, "duty": DUTY_LABEL, "deduction": DEDUCTION_LABEL, "report_category": REPORT_CATEGORY_LABEL,
    "report_state": REPORT_STATE_LABEL, "lease_status": LEASE_STATUS_LABEL, "source": SOURCE_LABEL,
}


def label(kind: str, value) -> str:
    return LABELS[kind].get(value, str(value) if value is not None else "—")
