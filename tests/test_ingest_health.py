"""Ingest health: the judgement over consumers' heartbeats (a table of cases), and /health + /metrics reading the
heartbeat a real consumer wrote while connected to a real broker — degraded when it goes silent, when a batch has
kept failing, or when messages wait with nothing stored."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from iot.health import DEGRADED, OK, STARTING, Beat, Limits, judge
from iot.heartbeat import load_beats, write_beat
from models.iot import ConsumerHeartbeat
from tests.support.asgi import AppClient
from tests.test_iot_broker import broker_url, forget_session, iot_settings, start_consumer, wait_until

__all__ = ["broker_url"]

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)
LIMITS = Limits(heartbeat_seconds=10, stuck_after_seconds=60, max_lag_messages=1000, startup_grace_seconds=120)
HEALTHY = Beat(client_id="c1", started_at=T0 - timedelta(hours=1), reported_at=T0 - timedelta(seconds=5),
               connected=True, queue_depth=0, stored_total=500, dead_letters=2,
               last_stored_at=T0 - timedelta(seconds=6))
S = timedelta(seconds=1)


@pytest.mark.parametrize("beats,expected,started,status,codes", [
    ([HEALTHY], True, T0 - timedelta(hours=1), OK, []),
    ([replace(HEALTHY, reported_at=T0 - 30 * S)], True, T0, OK, []),  # 3 intervals: still on time
    ([replace(HEALTHY, reported_at=T0 - 31 * S)], True, T0, DEGRADED, ["CONSUMER_SILENT"]),
    ([replace(HEALTHY, connected=False)], True, T0, DEGRADED, ["BROKER_DISCONNECTED"]),
    ([replace(HEALTHY, stuck_since=T0 - 60 * S, last_error="OperationalError: gone")], True, T0, OK, []),
    ([replace(HEALTHY, stuck_since=T0 - 61 * S, last_error="OperationalError: gone")], True, T0, DEGRADED,
     ["BATCH_STUCK"]),
    ([replace(HEALTHY, queue_depth=999)], True, T0, OK, []),
    ([replace(HEALTHY, queue_depth=1000)], True, T0, DEGRADED, ["LAG"]),
    # messages waiting and nothing stored for longer than the limit: a commit that hangs, not one that fails
    ([replace(HEALTHY, queue_depth=5, last_stored_at=T0 - 61 * S)], True, T0, DEGRADED, ["NO_PROGRESS"]),
    ([replace(HEALTHY, queue_depth=0, last_stored_at=T0 - timedelta(hours=5))], True, T0, OK, []),  # just quiet
    ([replace(HEALTHY, queue_depth=5, last_stored_at=None, started_at=T0 - 61 * S)], True, T0, DEGRADED,
     ["NO_PROGRESS"]),
    ([], True, T0 - 120 * S, STARTING, []),
    ([], True, T0 - 121 * S, DEGRADED, ["CONSUMER_NOT_REPORTING"]),
    ([], False, T0 - timedelta(days=3), OK, []),  # this deployment runs no consumer
    ([replace(HEALTHY, stopped_at=T0 - 300 * S, reported_at=T0 - 300 * S)], True, T0 - timedelta(hours=1),
     DEGRADED, ["CONSUMER_NOT_REPORTING"]),  # stopped cleanly, none left running
    ([replace(HEALTHY, stopped_at=T0 - 300 * S, reported_at=T0 - 300 * S), replace(HEALTHY, client_id="c2")],
     True, T0, OK, []),
    ([replace(HEALTHY, reported_at=T0 - timedelta(days=2)), replace(HEALTHY, client_id="c2")], True, T0, OK,
     []),  # a retired consumer's old row is history
    ([replace(HEALTHY, connected=False, queue_depth=2000), replace(HEALTHY, client_id="c2")], True, T0, DEGRADED,
     ["BROKER_DISCONNECTED", "LAG"]),
])
def test_judgement(beats, expected, started, status, codes):
    health = judge(beats, T0, LIMITS, expected=expected, app_started_at=started)
    assert health.status == status
    assert [r.code for r in health.reasons] == codes


def test_lag_is_the_sum_over_consumers():
    health = judge([replace(HEALTHY, queue_depth=3), replace(HEALTHY, client_id="c2", queue_depth=4)], T0, LIMITS,
                   expected=True, app_started_at=T0)
    assert health.lag == 7 and [c["client_id"] for c in health.consumers] == ["c1", "c2"]


async def test_heartbeat_rows_are_upserted(db):
    await write_beat(HEALTHY)
    await write_beat(replace(HEALTHY, stored_total=900, reported_at=T0))
    assert await ConsumerHeartbeat.all().count() == 1
    assert await load_beats() == [replace(HEALTHY, stored_total=900, reported_at=T0)]


async def test_health_follows_a_real_consumer(db, settings, clock, broker_url):
    """A consumer on the real broker writes its heartbeat; /health is ok and lists it. When it dies without a word
    (aborted like a crashed process), /health degrades once three intervals pass; a clean stop is not missed."""
    from api.app import create_app

    url, _ = broker_url
    prefix = uuid.uuid4().hex[:10]
    s = iot_settings(settings, url, prefix, "3.1.1").model_copy(update={"iot_heartbeat_seconds": 0.2})
    app = create_app(s, clock=clock, manage_db=False)
    app.ctx.broker_probe = _reachable
    client = AppClient(app)
    consumer, stop, task = await start_consumer(s)
    try:
        await wait_until(lambda: ConsumerHeartbeat.filter(client_id=s.mqtt_client_id, connected=True).exists(),
                         what="the heartbeat")
        clock.set(datetime.now(UTC))
        _, response = await client.get("/api/v1/health")
        assert response.status == 200, response.json
        assert response.json["ingest"]["status"] == OK
        assert [c["client_id"] for c in response.json["ingest"]["consumers"]] == [s.mqtt_client_id]
        _, metrics = await client.get("/api/v1/metrics")
        assert metrics.status == 200
        assert f'rentwatch_consumer_connected{{client_id="{s.mqtt_client_id}"}} 1' in metrics.text
        assert "rentwatch_ingest_degraded 0" in metrics.text

        consumer.abort()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        clock.set(datetime.now(UTC) + timedelta(seconds=5))  # 25 intervals of 0.2 s without a heartbeat
        _, response = await client.get("/api/v1/health")
        assert response.status == 503
        assert response.json["status"] == "degraded"
        assert [r["code"] for r in response.json["ingest"]["reasons"]] == ["CONSUMER_SILENT"]
        _, metrics = await client.get("/api/v1/metrics")
        assert "rentwatch_ingest_degraded 1" in metrics.text
    finally:
        stop.set()
        forget_session(url, s.mqtt_client_id, "3.1.1")

    consumer, stop, task = await start_consumer(s)
    stop.set()
    await task
    row = await ConsumerHeartbeat.get(client_id=s.mqtt_client_id)
    assert row.stopped_at is not None and row.connected is False
    forget_session(url, s.mqtt_client_id, "3.1.1")


async def test_health_reports_a_stuck_batch(db, settings, clock):
    from api.app import create_app

    app = create_app(settings, clock=clock, manage_db=False)
    app.ctx.broker_probe = _reachable
    client = AppClient(app)
    now = clock.now()
    await write_beat(replace(HEALTHY, reported_at=now, started_at=now - timedelta(hours=1), queue_depth=40,
                             stuck_since=now - timedelta(minutes=5), last_error="OperationalError: disk I/O error"))
    _, response = await client.get("/api/v1/health")
    assert response.status == 503
    (reason,) = response.json["ingest"]["reasons"]
    assert reason["code"] == "BATCH_STUCK" and "disk I/O error" in reason["message"]
    assert response.json["ingest"]["lag"] == 40
    _, metrics = await client.get("/api/v1/metrics")
    assert 'rentwatch_consumer_stuck_seconds{client_id="c1"} 300.0' in metrics.text
    assert 'rentwatch_consumer_lag_messages{client_id="c1"} 40' in metrics.text


async def _reachable() -> dict:
    return {"reachable": True}
