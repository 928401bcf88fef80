"""The consumers' heartbeat rows: written by each consumer (iot.consumer), read by /health and /metrics."""

from __future__ import annotations

from dataclasses import asdict

from iot.health import Beat
from models.iot import ConsumerHeartbeat


async def write_beat(beat: Beat) -> None:
    values = asdict(beat)
    client_id = values.pop("client_id")
    values["last_error"] = values["last_error"][:300]
    updated = await ConsumerHeartbeat.filter(client_id=client_id).update(**values)
    if not updated:
        await ConsumerHeartbeat.get_or_create(client_id=client_id, defaults=values)


async def load_beats() -> list[Beat]:
    rows = await ConsumerHeartbeat.all().order_by("client_id")
    return [Beat(client_id=r.client_id, started_at=r.started_at, reported_at=r.reported_at, connected=r.connected,
                 queue_depth=r.queue_depth, stored_total=r.stored_total, dead_letters=r.dead_letters,
                 last_stored_at=r.last_stored_at, stuck_since=r.stuck_since, last_error=r.last_error,
                 stopped_at=r.stopped_at) for r in rows]
