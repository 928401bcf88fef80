"""Scheduled desk jobs: new alerts reach the desk channels that hear their building, role and severity."""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts.choices import ALERT_SEVERITY_LABEL, AlertSeverity, AlertStatus
from config.settings import Settings
from iot.choices import IOT_ALERT_LABEL
from models.alerts import Alert
from models.portfolio import Unit
from notifications.choices import OUTBOX_ALERT_TYPE, DeskEvent
from notifications.desk import channels, enqueue_desk

ALERT_TYPE_LABEL = {**IOT_ALERT_LABEL, OUTBOX_ALERT_TYPE: "通知发送失败"}
#: New alerts are announced within this window of their first sighting (older ones were announced already or
#: predate the channel).
LOOKBACK = timedelta(days=1)


async def announce_alerts(settings: Settings, now: datetime) -> dict:
    """Each active alert first seen within the look-back goes once to every channel that hears it."""
    if not channels(settings):
        return {"alerts": 0, "desk_messages": 0}
    alerts = await Alert.filter(status=AlertStatus.ACTIVE, first_seen__gte=now - LOOKBACK).order_by("id").limit(5000)
    codes = dict(await Unit.filter(id__in={a.unit_id for a in alerts if a.unit_id}).values_list("id", "code"))
    written = 0
    for alert in alerts:
        label = ALERT_TYPE_LABEL.get(alert.type, alert.type)
        written += await enqueue_desk(
            settings, DeskEvent.ALERT_RAISED, dedupe_key=f"alert:{alert.id}", now=now, building_id=alert.building_id,
            severity=AlertSeverity(alert.severity), payload={
                "subject": f"{label} {codes.get(alert.unit_id, alert.subject)}", "unit": codes.get(alert.unit_id, ""),
                "severity": ALERT_SEVERITY_LABEL[AlertSeverity(alert.severity)],
                "detail": alert.explanation[:300], "link": f"{settings.public_base_url}/console/alerts?status="
                                                           f"&unit={codes.get(alert.unit_id, '')}"})
    return {"alerts": len(alerts), "desk_messages": written}


async def desk_alerts(settings: Settings, now: datetime) -> dict:
    """Scheduled (reminders.scheduler.JOBS): ``announce_alerts``, reported as ``desk_alerts``."""
    return {"desk_alerts": await announce_alerts(settings, now)}


async def announce_job_failure(settings: Settings, job: str, error: str, now: datetime) -> int:
    """A scheduled job raised: tell the admins' desk channels (once per job per hour)."""
    return await enqueue_desk(settings, DeskEvent.JOB_FAILED, dedupe_key=f"job:{job}:{now:%Y%m%d%H}", now=now,
                              building_id=None, severity=AlertSeverity.CRITICAL,
                              payload={"subject": job, "detail": error[:500], "severity": "严重"})
