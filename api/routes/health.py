from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json, text

from api import responses as R
from api.access import File, access
from core.db import ping
from iot.health import DEGRADED, IngestHealth, Limits, judge

bp = Blueprint("health", url_prefix="/health")
metrics_bp = Blueprint("metrics", url_prefix="/metrics")


async def ingest_health(request: Request, database_ok: bool) -> IngestHealth | None:
    """The MQTT consumers' progress from their heartbeat rows; None when the database cannot be read."""
    if not database_ok:
        return None
    from iot.heartbeat import load_beats

    settings = request.app.ctx.settings
    limits = Limits(heartbeat_seconds=settings.iot_heartbeat_seconds,
                    stuck_after_seconds=settings.iot_stuck_after_seconds,
                    max_lag_messages=settings.iot_max_lag_messages,
                    startup_grace_seconds=settings.iot_startup_grace_seconds)
    return judge(await load_beats(), request.app.ctx.clock.now(), limits, expected=settings.run_consumer,
                 app_started_at=request.app.ctx.started_at)


@bp.get("", name="health")
@access(public=True, note="liveness for load balancers; shows no data", response=R.Health,
        status=(200, 503))
async def health(request: Request):
    database_ok = await ping()
    broker = await request.app.ctx.broker_status()
    ingest = await ingest_health(request, database_ok)
    ok = database_ok and broker.get("reachable", False) and (ingest is None or ingest.status != DEGRADED)
    body: dict = {"status": "ok" if ok else "degraded", "database": {"ok": database_ok}, "broker": broker}
    if ingest is not None:
        body["ingest"] = {"status": ingest.status, "lag": ingest.lag,
                          "reasons": [r.as_dict() for r in ingest.reasons], "consumers": list(ingest.consumers)}
    return json(body, status=200 if ok else 503)


@metrics_bp.get("", name="metrics")
@access(public=True, note="operational counters in Prometheus text format; no personal data",
        response=File("text/plain"))
async def metrics(request: Request):
    database_ok = await ping()
    ingest = await ingest_health(request, database_ok)
    lines = ["# HELP rentwatch_database_up 1 when the database answers.", "# TYPE rentwatch_database_up gauge",
             f"rentwatch_database_up {int(database_ok)}"]
    if ingest is not None:
        now = request.app.ctx.clock.now()
        lines += ["# HELP rentwatch_ingest_degraded 1 when ingest is not making progress (see /health).",
                  "# TYPE rentwatch_ingest_degraded gauge",
                  f"rentwatch_ingest_degraded {int(ingest.status == DEGRADED)}"]
        series = {
            "rentwatch_consumer_connected": ("gauge", "1 when the consumer is connected to the broker.",
                                             lambda c: int(c["connected"])),
            "rentwatch_consumer_lag_messages": ("gauge", "Messages received but not yet stored.",
                                                lambda c: c["queue_depth"]),
            "rentwatch_consumer_stored_total": ("counter", "Messages stored since the consumer started.",
                                                lambda c: c["stored_total"]),
            "rentwatch_consumer_dead_letters_total": ("counter", "Messages dead-lettered since the consumer started.",
                                                      lambda c: c["dead_letters"]),
            "rentwatch_consumer_heartbeat_age_seconds": ("gauge", "Seconds since the consumer's last heartbeat.",
                                                         lambda c: _age(now, c["reported_at"])),
            "rentwatch_consumer_stuck_seconds": ("gauge", "Seconds a batch has been failing to store (0: none).",
                                                 lambda c: _age(now, c["stuck_since"])),
        }
        for name, (kind, help_text, value) in series.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            lines += [f'{name}{{client_id="{_label(c["client_id"])}"}} {value(c)}' for c in ingest.consumers]
    return text("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4; charset=utf-8")


def _age(now, iso: str | None) -> float:
    from datetime import datetime

    return round((now - datetime.fromisoformat(iso)).total_seconds(), 3) if iso else 0.0


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
