from enum import StrEnum


class AlertStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"  # closed by a person, with a note
    CLEARED = "CLEARED"  # closed automatically once the condition stayed false


class AlertSeverity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


OPEN_ALERT_STATUSES = frozenset({AlertStatus.ACTIVE, AlertStatus.ACKNOWLEDGED})

ALERT_STATUS_LABEL: dict[AlertStatus, str] = {
    AlertStatus.ACTIVE: "待处理", AlertStatus.ACKNOWLEDGED: "已确认", AlertStatus.RESOLVED: "已解决",
    AlertStatus.CLEARED: "已自动消除",
}
ALERT_SEVERITY_LABEL: dict[AlertSeverity, str] = {
    AlertSeverity.INFO: "提示", AlertSeverity.WARNING: "警告", AlertSeverity.CRITICAL: "严重",
}
SEVERITY_RANK: dict[AlertSeverity, int] = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}
