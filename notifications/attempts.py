"""One delivery attempt's bookkeeping, shared by every channel (WeChat, desk, SMS): the claimed row finished,
a failure retried with backoff or given up with one operator alert."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.choices import AlertSeverity
from alerts.service import raise_alert
from config.settings import Settings
from models.notifications import OutboxMessage
from notifications.choices import OUTBOX_ALERT_TYPE, OutboxStatus

log = logging.getLogger("rentwatch.outbox")


@dataclass
class SendReport:
    sent: int = 0
    undeliverable: int = 0
    retrying: int = 0
    failed: int = 0
    ids: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.undeliverable + self.retrying + self.failed


def backoff_delay(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Delay before the next attempt after ``attempts`` failed ones (1 → base, 2 → 2·base, …, capped)."""
    if attempts < 1:
        return timedelta(0)
    return timedelta(seconds=min(max_seconds, base_seconds * (2 ** (attempts - 1))))


async def finish_claimed(message: OutboxMessage, token: str, **changes) -> bool:
    """Write ``changes`` to a row this worker still holds the claim of (False when the claim was lost)."""
    changes.setdefault("claimed_until", None)
    return await OutboxMessage.filter(id=message.id, claim_token=token).update(**changes) == 1


async def record_failure(settings: Settings, message: OutboxMessage, token: str, now: datetime, report: SendReport,
                         *, errcode: int | None, error: str, permanent: bool = False) -> None:
    """A failed attempt: retried with backoff, or FAILED (plus one operator alert per kind) after the last one."""
    attempts = message.attempts + 1
    if permanent or attempts >= settings.outbox_max_attempts:
        if await finish_claimed(message, token, status=OutboxStatus.FAILED, attempts=attempts, last_errcode=errcode,
                         last_error=error[:500]):
            await raise_alert(alert_type=OUTBOX_ALERT_TYPE, now=now, subject=f"outbox:{message.kind}"[:100],
                              severity=AlertSeverity.WARNING,
                              explanation=f"a {message.kind} notification failed {attempts} times: {error}"[:2000],
                              evidence={"message_id": message.id, "user_id": message.user_id, "errcode": errcode,
                                        "error": error[:500], "attempts": attempts, "channel": message.channel})
        report.failed += 1
        log.warning("outbox message %s failed for good after %s attempts: %s", message.id, attempts, error)
        return
    delay = backoff_delay(attempts, base_seconds=settings.outbox_backoff_base_seconds,
                          max_seconds=settings.outbox_backoff_max_seconds)
    await finish_claimed(message, token, attempts=attempts, last_errcode=errcode, last_error=error[:500],
                  next_attempt_at=now + delay)
    report.retrying += 1
