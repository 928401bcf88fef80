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
