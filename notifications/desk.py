"""Desk notifications: staff alerts sent to WeCom and DingTalk group channels through the outbox.

Channels come from configuration (``RW_DESK_CHANNELS``, a JSON list: secrets stay in configuration, never in the
database), each choosing the buildings, roles and events it hears. ``enqueue_desk`` writes one outbox row per
matching channel (dedupe key + channel name), in the caller's transaction; notifications/sender.py delivers them
with the same claim, retry and backoff as WeChat messages (notifications/desk_send.py does the HTTP).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, Field, field_validator

from accounts.choices import Role
from alerts.choices import SEVERITY_RANK, AlertSeverity
from config.settings import Settings
from notifications.choices import DESK_KIND_PREFIX, DeskChannelType, DeskEvent, OutboxStatus

#: Who a desk event concerns, by default (a channel hears an event when its roles meet these).
EVENT_ROLES: dict[DeskEvent, frozenset[Role]] = {
    DeskEvent.ALERT_RAISED: frozenset({Role.MANAGER, Role.INSPECTOR, Role.ADMIN}),
    DeskEvent.REFUND_RED_FLAG: frozenset({Role.MANAGER, Role.FINANCE, Role.EXECUTIVE}),
    DeskEvent.WORK_ORDER_OVERDUE: frozenset({Role.MANAGER, Role.INSPECTOR}),
    DeskEvent.JOB_FAILED: frozenset({Role.ADMIN}),
}
EVENT_TITLE: dict[DeskEvent, str] = {
    DeskEvent.ALERT_RAISED: "新告警", DeskEvent.REFUND_RED_FLAG: "押金退还超时",
    DeskEvent.WORK_ORDER_OVERDUE: "工单超时", DeskEvent.JOB_FAILED: "定时任务失败",
}


class DeskChannel(BaseModel):
    """One desk channel of ``RW_DESK_CHANNELS``."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    type: DeskChannelType
    url: str = Field("", max_length=500, description="robot webhook URL (WeCom: …?key=…; DingTalk: …?access_token=…)")
    secret: str = Field("", max_length=200, description="DingTalk signing secret (SEC…)")
    corp_id: str = Field("", max_length=64)
    corp_secret: str = Field("", max_length=200)
    agent_id: int | None = None
    to_user: str = Field("@all", max_length=1000)
    buildings: list[str] = Field(default_factory=lambda: ["*"], description="building codes, or * for all")
    roles: list[Role] = Field(default_factory=lambda: [Role.MANAGER])
    events: list[DeskEvent] = Field(default_factory=list, description="empty: every event")
    min_severity: AlertSeverity = AlertSeverity.WARNING

    @field_validator("roles")
    @classmethod
    def _staff_only(cls, roles: list[Role]) -> list[Role]:
        if Role.TENANT in roles:
            raise ValueError("desk channels are for staff")
        return roles

    def problems(self) -> list[str]:
        if self.type in (DeskChannelType.WECOM_ROBOT, DeskChannelType.DINGTALK_ROBOT) and not self.url:
            return [f"desk channel {self.name}: url is required"]
        if self.type == DeskChannelType.DINGTALK_ROBOT and not self.secret:
            return [f"desk channel {self.name}: DingTalk robots are signed, secret is required"]
        if self.type == DeskChannelType.WECOM_APP and not (self.corp_id and self.corp_secret and self.agent_id):
            return [f"desk channel {self.name}: corp_id, corp_secret and agent_id are required"]
        return []

    def hears(self, event: DeskEvent, building_code: str | None, severity: AlertSeverity,
              roles: frozenset[Role]) -> bool:
        if self.events and event not in self.events:
            return False
        if "*" not in self.buildings and building_code not in self.buildings:
            return False
        if not roles & set(self.roles):
            return False
        return SEVERITY_RANK[severity] >= SEVERITY_RANK[self.min_severity]


def channels(settings: Settings) -> list[DeskChannel]:
    """The configured channels (invalid entries are a configuration error, raised at once)."""
    parsed = [DeskChannel.model_validate(raw) for raw in settings.desk_channels]
    problems = [p for channel in parsed for p in channel.problems()]
    if problems:
        raise ValueError("; ".join(problems))
    return parsed


def channel_named(settings: Settings, name: str) -> DeskChannel | None:
    return next((c for c in channels(settings) if c.name == name), None)


def matching(settings: Settings, event: DeskEvent, building_code: str | None, severity: AlertSeverity,
             roles: frozenset[Role] | None = None) -> list[DeskChannel]:
    audience = roles or EVENT_ROLES[event]
    return [c for c in channels(settings) if c.hears(event, building_code, severity, audience)]


def render_text(event: DeskEvent, payload: dict[str, Any]) -> tuple[str, str]:
    """(title, markdown body) of a desk message; both robots and WeCom app messages take this markdown subset."""
    title = f"【{EVENT_TITLE[event]}】{payload.get('subject', '')}".strip()
    lines = [f"### {title}"]
    for key, label in (("building", "楼宇"), ("unit", "房源"), ("severity", "级别"), ("owner", "负责人"),
                       ("since", "开始"), ("due", "截止"), ("detail", "说明")):
        if payload.get(key):
            lines.append(f"> {label}:{payload[key]}")
    if payload.get("link"):
        lines.append(f"[在控制台查看]({payload['link']})")
    return title, "\n".join(lines)


async def enqueue_desk(settings: Settings, event: DeskEvent, *, dedupe_key: str, now: datetime,
                       building_id: int | None, severity: AlertSeverity = AlertSeverity.WARNING,
                       payload: dict[str, Any], roles: frozenset[Role] | None = None) -> int:
    """One outbox row per channel that hears this event; returns how many were written (duplicates: 0)."""
    from models.notifications import OutboxMessage
    from models.portfolio import Building

    code: str | None = None
    if building_id:
        codes = cast(list[str], await Building.filter(id=building_id).values_list("code", flat=True))
        code = codes[0] if codes else None
    targets = matching(settings, event, code, severity, roles)
    if not targets:
        return 0
    body = {**payload, "event": event.value, "building_code": code, "severity_code": severity.value}
    rows = [OutboxMessage(user_id=None, channel=c.name, kind=f"{DESK_KIND_PREFIX}{event.value}",
                          dedupe_key=f"{dedupe_key}:desk:{c.name}"[:200], payload=body, status=OutboxStatus.PENDING,
                          next_attempt_at=now, enqueued_at=now) for c in targets]
    before = await OutboxMessage.filter(dedupe_key__in=[r.dedupe_key for r in rows]).count()
    await OutboxMessage.bulk_create(rows, ignore_conflicts=True)
    after = await OutboxMessage.filter(dedupe_key__in=[r.dedupe_key for r in rows]).count()
    return after - before
