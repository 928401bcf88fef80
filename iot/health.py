"""Is ingest making progress? A pure judgement over the consumers' heartbeat rows, read by ``/health`` and the
metrics endpoint. A consumer is judged from what it last wrote about itself (from its own process) and how long
ago it wrote it: a quiet broker is healthy, a silent consumer or a batch that keeps failing is not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: A heartbeat not renewed for this many intervals means the consumer process is gone or hung.
SILENT_AFTER_INTERVALS = 3
#: Rows of consumers that stopped reporting this long ago are history (a retired or renamed consumer).
RETIRED_AFTER = timedelta(days=1)

OK = "ok"
STARTING = "starting"
DEGRADED = "degraded"


@dataclass(frozen=True)
class Beat:
    client_id: str
    started_at: datetime
    reported_at: datetime
    connected: bool
    queue_depth: int
    stored_total: int
    dead_letters: int
    last_stored_at: datetime | None = None
    stuck_since: datetime | None = None
    last_error: str = ""
    stopped_at: datetime | None = None


@dataclass(frozen=True)
class Limits:
    heartbeat_seconds: float
    stuck_after_seconds: float
    max_lag_messages: int
    startup_grace_seconds: float


@dataclass(frozen=True)
class Reason:
    code: str
    client_id: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "client_id": self.client_id, "message": self.message}


@dataclass(frozen=True)
class IngestHealth:
    status: str
    reasons: tuple[Reason, ...] = ()
    consumers: tuple[dict, ...] = field(default=())

    @property
    def lag(self) -> int:
        return sum(c["queue_depth"] for c in self.consumers)


def _reasons(beat: Beat, now: datetime, limits: Limits) -> list[Reason]:
    age = (now - beat.reported_at).total_seconds()
    if age > SILENT_AFTER_INTERVALS * limits.heartbeat_seconds:
        return [Reason("CONSUMER_SILENT", beat.client_id,
                       f"no heartbeat for {age:.0f} s (expected every {limits.heartbeat_seconds:.0f} s)")]
    found = []
    if not beat.connected:
        found.append(Reason("BROKER_DISCONNECTED", beat.client_id, "the consumer is not connected to the broker"))
    if beat.stuck_since is not None:
        stuck = (now - beat.stuck_since).total_seconds()
        if stuck > limits.stuck_after_seconds:
            found.append(Reason("BATCH_STUCK", beat.client_id,
                                f"a batch has failed to store for {stuck:.0f} s: {beat.last_error}".rstrip(": ")))
    progress = beat.last_stored_at or beat.started_at
    idle = (now - progress).total_seconds()
    if beat.stuck_since is None and beat.queue_depth > 0 and idle > limits.stuck_after_seconds:
        found.append(Reason("NO_PROGRESS", beat.client_id,
                            f"{beat.queue_depth} messages waiting and nothing stored for {idle:.0f} s"))
    if beat.queue_depth >= limits.max_lag_messages:
        found.append(Reason("LAG", beat.client_id,
                            f"{beat.queue_depth} messages received but not stored (limit {limits.max_lag_messages})"))
    return found


def judge(beats: list[Beat], now: datetime, limits: Limits, *, expected: bool,
          app_started_at: datetime) -> IngestHealth:
    """``expected``: this deployment runs a consumer, so none reporting is itself a fault (after a start-up grace)."""
    live = [b for b in beats if b.stopped_at is None and now - b.reported_at <= RETIRED_AFTER]
    reasons = [reason for beat in live for reason in _reasons(beat, now, limits)]
    consumers = tuple(
        {"client_id": b.client_id, "connected": b.connected, "queue_depth": b.queue_depth,
         "stored_total": b.stored_total, "dead_letters": b.dead_letters,
         "reported_at": b.reported_at.isoformat(),
         "last_stored_at": b.last_stored_at.isoformat() if b.last_stored_at else None,
         "stuck_since": b.stuck_since.isoformat() if b.stuck_since else None} for b in live)
    if not live and expected:
        if (now - app_started_at).total_seconds() <= limits.startup_grace_seconds:
            return IngestHealth(STARTING, (), consumers)
        reasons.append(Reason("CONSUMER_NOT_REPORTING", "",
                              "no MQTT consumer has reported; ingest is not running"))
    return IngestHealth(DEGRADED if reasons else OK, tuple(reasons), consumers)
