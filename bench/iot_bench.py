"""IoT ingest and detection benchmark (issue 4, Performance). Loopback only, PostgreSQL, a private Mosquitto.

    python bench/iot_bench.py [--messages 200000] [--lag-seconds 20] [--units 10000] [--skip-detection]
                               [--skip-shared] [--shared-group G] [--only-detection]
    python bench/iot_bench.py --only-detection --units 10000,30000,100000   # detection growth (slow to seed)

1. Ingest rate: the same backlog of QoS 1 messages (meters + door events in four payload formats) is queued on
   the broker for three persistent sessions; then Mosquitto's own C client (`mosquitto_sub -q 1 -c`, output to
   /dev/null: the receive-rate ceiling of this broker and machine) drains its copy, a bare paho subscriber drains
   its copy (receive only), and the real consumer (`rentwatch consume --no-sweep` in a subprocess: parse → dedupe
   → persist → rules, PostgreSQL) drains its own. The rates and the ratios consumer ÷ C client and consumer ÷ paho
   are printed, with the consumer's peak RSS while ingesting.
1b. Scale-out: a fresh backlog (new facts) for one consumer alone on an MQTT 5 shared subscription, then another
   for two consumers in one shared group (the broker splits the messages between them); both rates and the ratio.
2. Lag: publish at a steady 2,000 msg/s from a separate process; publish → committed lag p50/p99 (consumer
   in this process, timed at commit).
3. Detection: 10,000 units × 3 devices × 30 days of hourly roll-ups generated in SQL (hour-major, as ingest
   writes them), then one daily run in a process of its own: its time, its peak RSS, and a bare pass over the
   roll-ups as the baseline. ``--units 10000,30000,100000`` grows the same portfolio and runs at each size
   (seconds per 10,000 units printed: growth no worse than linear).

Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and the mosquitto binary. Creates and drops database rwbench_iot.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
import psutil  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402

from tests.support.mqtt import PrivateMosquitto  # noqa: E402

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
DB_NAME = "rwbench_iot"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
T0 = datetime(2026, 10, 1, tzinfo=UTC)
DEVICES = 1000


async def recreate_db() -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {DB_NAME}")
    await conn.close()


async def drop_db() -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    await conn.close()


def settings_for(port: int, client_id: str):
    from config.settings import Settings

    return Settings(database_url=DB_URL, mqtt_url=f"mqtt://127.0.0.1:{port}", mqtt_protocol="5",
                    mqtt_client_id=client_id, log_level="WARNING", var_dir=Path(tempfile.mkdtemp()))


async def seed_portfolio(settings) -> None:
    """One building, 1,000 units (10% vacant), a door + electricity + water device each (4 formats)."""
    from tortoise import Tortoise

    from tortoise_config import init_db

    await init_db(settings)
    await Tortoise.generate_schemas()
    from core.changes import install_change_triggers

    await install_change_triggers()  # as migration 0002: production writes go through these triggers
    from iot.daily_facts import install_triggers

    await install_triggers()  # as migration 0021: roll-up changes recorded for the daily facts
    from tortoise.connection import get_connection

    conn = get_connection("default")
    await conn.execute_script(
        "INSERT INTO cities (code, name, created_at, updated_at) VALUES ('BN', 'bench', now(), now());"
        "INSERT INTO buildings (city_id, code, name, address, lat, lng, geofence_radius_m, timezone, created_at, "
        "updated_at) VALUES (1, 'BN-1', 'bench', '', 22.5, 113.9, 150, 'Asia/Shanghai', now(), now());"
        "INSERT INTO units (building_id, code, name, property_type, unit_type, area_m2, compliant_rentable, status, "
        "status_version, qr_version, created_at, updated_at) SELECT 1, 'BN-' || g, '', 'RESIDENTIAL', '1b1b', 45, "
        "true, CASE WHEN g % 10 = 5 THEN 'VACANT' ELSE 'OCCUPIED' END, 1, 1, now(), now() "
        f"FROM generate_series(1, {DEVICES}) g;"
        "INSERT INTO iot_devices (external_id, format, kind, unit_id, building_id, battery_low, invert, created_at, "
        "updated_at) SELECT 'pow' || g, 'TASMOTA', 'ELECTRICITY', g, 1, false, false, now(), now() "
        f"FROM generate_series(1, {DEVICES}) g;"
        "INSERT INTO iot_devices (external_id, format, kind, unit_id, building_id, battery_low, invert, created_at, "
        "updated_at) SELECT lpad(g::text, 8, '0'), 'WMBUS', 'WATER', g, 1, false, false, now(), now() "
        f"FROM generate_series(1, {DEVICES}) g;"
        "INSERT INTO iot_devices (external_id, format, kind, unit_id, building_id, battery_low, invert, created_at, "
        "updated_at) SELECT 'door' || g, 'ZIGBEE2MQTT', 'DOOR', g, 1, false, false, now(), now() "
        f"FROM generate_series(1, {DEVICES}) g;"
        "INSERT INTO iot_devices (external_id, format, kind, unit_id, building_id, battery_low, invert, created_at, "
        "updated_at) SELECT 'shelly' || g, 'SHELLY_GEN2', 'PLUG', g, 1, false, false, now(), now() "
        f"FROM generate_series(1, {DEVICES}) g;")
    await Tortoise.close_connections()


def message(i: int, at: datetime) -> tuple[str, bytes]:
    """The i-th message of the stream: every message stores exactly one new fact (sample or door event)."""
    dev = i % DEVICES + 1
    step = i // DEVICES
    kind = i % 10
    if kind < 5:
        return f"tele/pow{dev}/SENSOR", json.dumps({
            "Time": at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "ENERGY": {"Total": round(100 + step * 0.01, 3), "Power": 120}}).encode()
    if kind < 7:
        return f"wmbusmeters/m{dev}", json.dumps({
            "_": "telegram", "media": "water", "id": f"{dev:08d}", "total_m3": round(10 + step * 0.001, 4),
            "timestamp": at.isoformat(timespec="microseconds").replace("+00:00", "Z")}).encode()
    if kind < 9:
        return f"shelly{dev}/events/rpc", json.dumps({
            "src": f"shelly{dev}", "method": "NotifyStatus", "params": {
                "ts": at.timestamp(), "switch:0": {"id": 0, "aenergy": {"total": 1000 + step * 5.0}}}}).encode()
    return f"zigbee2mqtt/door{dev}", json.dumps({
        "contact": step % 2 == 0, "battery": 90, "linkquality": 80,
        "last_seen": at.isoformat(timespec="microseconds").replace("+00:00", "Z")}).encode()


FILTERS = ["tele/+/SENSOR", "wmbusmeters/#", "+/events/rpc", "zigbee2mqtt/#"]


def v5_client(client_id: str) -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)


def session_props() -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    return props


def create_session(port: int, client_id: str, filters: list[str] = FILTERS) -> None:
    client = v5_client(client_id)
    done = threading.Event()
    client.on_subscribe = lambda *a: done.set()
    client.connect("127.0.0.1", port, clean_start=True, properties=session_props())
    client.loop_start()
    client.subscribe([(f, 1) for f in filters])
    done.wait(10)
    client.disconnect()
    client.loop_stop()


def publish(port: int, n: int, *, rate: float | None = None, start_index: int = 0, stamp_now: bool = False) -> float:
    client = v5_client(f"bench-pub-{time.time()}")
    client.max_inflight_messages_set(2000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    info = None
    for k in range(n):
        i = start_index + k
        if rate:
            target = started + k / rate
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        at = datetime.now(UTC) if stamp_now else T0 + timedelta(seconds=i // DEVICES, microseconds=i % DEVICES)
        topic, payload = message(i, at)
        info = client.publish(topic, payload, qos=1)
        if not rate and k % 5000 == 4999:
            info.wait_for_publish(60)
    if info:
        info.wait_for_publish(120)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def drop_session(port: int, client_id: str) -> None:
    """Reconnect with a clean start and no expiry, so a drained session stops queueing the later phases' backlogs."""
    client = v5_client(client_id)
    client.connect("127.0.0.1", port, clean_start=True)
    client.disconnect()


def drain_c_client(port: int, client_id: str, n: int) -> float:
    """`mosquitto_sub -q 1 -c` resuming the persistent session, payloads to /dev/null; exits after n messages.

    The rate is n over (wall time − the client's own start-up and subscribe time, measured with `-E` on a clean
    throwaway session just before), so the figure is the receive loop's, as for the paho subscriber."""
    base = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-V", "5", "-q", "1"]
    topics = [a for f in FILTERS for a in ("-t", f)]
    startups = []
    for k in range(3):
        t = time.perf_counter()
        subprocess.run([*base, "-i", f"{client_id}-probe{k}", "-E", *topics], check=True,
                       stdout=subprocess.DEVNULL)
        startups.append(time.perf_counter() - t)
    startup = min(startups)
    t = time.perf_counter()
    subprocess.run([*base, "-c", "-x", "3600", "-i", client_id, "-C", str(n), "-W", "600", *topics], check=True,
                   stdout=subprocess.DEVNULL)
    return n / (time.perf_counter() - t - startup)


def drain_bare(port: int, client_id: str, n: int) -> float:
    client = v5_client(client_id)
    got = [0]
    first = [0.0]
    last = [0.0]
    done = threading.Event()

    def on_message(c, u, msg):
        if got[0] == 0:
            first[0] = time.perf_counter()
        got[0] += 1
        if got[0] >= n:
            last[0] = time.perf_counter()
            done.set()

    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: c.subscribe([(f_, 1) for f_ in FILTERS])
    client.connect("127.0.0.1", port, clean_start=False, properties=session_props())
    client.loop_start()
    done.wait(600)
    client.disconnect()
    client.loop_stop()
    if got[0] < n:
        raise RuntimeError(f"bare subscriber received {got[0]} of {n}")
    return n / (last[0] - first[0])


async def stored_count() -> int:
    import asyncpg

    conn = await asyncpg.connect(DB_URL)
    try:
        return await conn.fetchval("SELECT (SELECT count(*) FROM iot_meter_samples) + "
                                   "(SELECT count(*) FROM iot_door_events)")
    finally:
        await conn.close()


async def drain_consumer(port: int, client_id: str, n: int, base: int,
                         shared_group: str = "", processes: int = 1) -> tuple[float, float, dict]:
    """Start `processes` consumers (ids client_id-1, -2, … when more than one) and time until n new facts stored."""
    ids = [client_id] if processes == 1 else [f"{client_id}-{k + 1}" for k in range(processes)]
    procs = []
    for cid in ids:
        env = dict(os.environ, RW_DATABASE_URL=DB_URL, RW_MQTT_URL=f"mqtt://127.0.0.1:{port}", RW_MQTT_PROTOCOL="5",
                   RW_MQTT_CLIENT_ID=cid, RW_LOG_LEVEL="WARNING", RW_MQTT_SESSION_EXPIRY_SECONDS="3600",
                   RW_VAR_DIR=tempfile.mkdtemp(), RW_MQTT_SHARED_GROUP=shared_group)
        procs.append(subprocess.Popen([sys.executable, "-m", "cli.main", "consume", "--no-sweep"], cwd=ROOT,
                                      env=env))
    pss = [psutil.Process(p.pid) for p in procs]
    peak_rss = 0
    first: float | None = None
    last = 0.0
    count = base
    try:
        deadline = time.perf_counter() + 900
        while count < base + n and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
            peak_rss = max(peak_rss, *(ps.memory_info().rss for ps in pss))
            count = await stored_count()
            if first is None and count > base:
                first = time.perf_counter()
        last = time.perf_counter()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
    if count < base + n or first is None:
        raise RuntimeError(f"consumer stored {count - base} of {n}")
    return n / (last - first), peak_rss / 2**20, {}


async def measure_lag(port: int, seconds: float, rate: float) -> dict:
    from core.db import close_db
    from iot.consumer import MqttConsumer
    from iot.ingest import Ingestor
    from tortoise_config import init_db

    settings = settings_for(port, "bench-lag-consumer")
    lags: list[float] = []

    class TimedIngestor(Ingestor):
        async def prepare(self, messages):
            prepared = await super().prepare(messages)
            prepared.messages = messages  # type: ignore[union-attr]  # the bench's own timing tag
            return prepared

        async def commit(self, prepared):
            out = await super().commit(prepared)
            now = time.time()
            for m in getattr(prepared, "messages", []):
                try:
                    data = json.loads(m.payload)
                    ts = data.get("Time") or data.get("timestamp") or data.get("last_seen") or data["params"]["ts"]
                    sent = ts if isinstance(ts, float) else \
                        datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
                    lags.append(now - sent)
                except (KeyError, ValueError, TypeError):
                    pass
            return out

    await init_db(settings)
    stop = asyncio.Event()
    consumer = MqttConsumer(settings, ingestor=TimedIngestor(settings))
    task = asyncio.create_task(consumer.run(stop))
    while not consumer.subscribed.is_set():
        await asyncio.sleep(0.05)
    n = int(seconds * rate)
    # The publisher runs in its own process: a publishing thread inside the consumer's process would compete with
    # it for the GIL and fall behind the rate (a lag figure of the benchmark, not of the consumer).
    # Device timestamps continue after the backlog so that every message is a new fact.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        elapsed = await asyncio.get_running_loop().run_in_executor(
            pool, functools.partial(publish, port, n, rate=rate, start_index=10_000_000, stamp_now=True))
    deadline = time.perf_counter() + 60
    while len(lags) < n and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    await task
    await close_db()
    lags.sort()
    return {"messages": n, "publish_rate": n / elapsed, "p50_ms": statistics.median(lags) * 1000,
            "p99_ms": lags[int(len(lags) * 0.99) - 1] * 1000, "max_ms": lags[-1] * 1000, "measured": len(lags)}


DETECT_AS_OF = date(2026, 10, 30)
DETECT_NOW = datetime(2026, 11, 1, 1, tzinfo=UTC)


async def seed_detection(conn, first_unit: int, last_unit: int, days: int = 30) -> None:
    """Units ``first_unit``…``last_unit`` (10% vacant, three unit types, a lease for each occupied one) with a door,
    an electricity and a water meter each and ``days`` of hourly roll-ups, generated by the database. The roll-ups
    go in hour by hour (``LATERAL``: hour-major, as ingest writes them), so a day's rows sit together on disk."""
    start_h = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp()) // 3600 - 8
    hours = days * 24
    a, b = first_unit, last_unit
    await conn.execute_script(
        "INSERT INTO units (id, building_id, code, name, property_type, unit_type, area_m2, compliant_rentable, "
        "status, status_version, qr_version, created_at, updated_at) SELECT g, 1, 'U-' || g, '', 'RESIDENTIAL', "
        "(ARRAY['studio','1b1b','2b1b'])[1 + g % 3], 45, true, CASE WHEN g % 10 = 0 THEN 'VACANT' ELSE 'OCCUPIED' "
        f"END, 1, 1, now(), now() FROM generate_series({a}, {b}) g;"
        "INSERT INTO tenants (id, kind, name, phone, id_last4, payer_aliases, created_at, updated_at) "
        f"SELECT g, 'PERSON', 't', '', '', '[]', now(), now() FROM generate_series({a}, {b}) g "
        "ON CONFLICT DO NOTHING;"
        "INSERT INTO leases (unit_id, tenant_id, start_date, end_date, monthly_rent_fen, deposit_fen, "
        "payment_frequency, terms, terms_version, source, status, created_at, updated_at) "
        "SELECT g, g, '2026-01-01', '2027-06-30', 1, 1, "
        f"'MONTHLY', '{{}}', 1, 'bench', 'ACTIVE', now(), now() FROM generate_series({a}, {b}) g WHERE g % 10 <> 0;"
        "INSERT INTO iot_devices (id, external_id, format, kind, unit_id, building_id, battery_low, invert, "
        "last_seen, created_at, updated_at) SELECT g, 'd' || g, 'GENERIC', (ARRAY['DOOR','ELECTRICITY','WATER'])"
        f"[1 + g % 3], 1 + (g - 1) / 3, 1, false, false, now(), now(), now() "
        f"FROM generate_series({3 * a - 2}, {3 * b}) g;")
    await conn.execute_script(
        "INSERT INTO iot_hourly (device_id, unit_id, kind, hour_ts, value, messages) "
        "SELECT d.id, d.unit_id, d.kind, h, CASE d.kind "
        "  WHEN 'ELECTRICITY' THEN CASE WHEN d.unit_id % 10 = 0 THEN 0.02 ELSE 0.05 + (h % 24 >= 0 AND "
        "      h % 24 < 15)::int * 0.3 * (1 + (d.unit_id % 97 = 0)::int * 3) END "
        "  WHEN 'WATER' THEN CASE WHEN d.unit_id % 10 = 0 THEN 0 ELSE (h % 24 IN (0, 1, 11, 12))::int * 0.015 END "
        "  ELSE CASE WHEN d.unit_id % 10 = 0 THEN (d.unit_id % 50 = 0 AND h % 24 = 18)::int "
        "       ELSE (h % 24 IN (0, 11))::int END END, 4 "
        f"FROM generate_series({start_h}, {start_h + hours - 1}) h CROSS JOIN LATERAL (SELECT id, unit_id, kind "
        f"FROM iot_devices WHERE unit_id BETWEEN {a} AND {b} ORDER BY id) d")


def detect_in_process(db_url: str, as_of: date = DETECT_AS_OF, now: datetime = DETECT_NOW) -> dict:
    """One daily run in a fresh process (its peak RSS is the run's own); returns the run's figures."""
    import resource

    async def run() -> dict:
        from core.db import close_db
        from iot.jobs import run_detection
        from tortoise_config import init_db

        settings = settings_for(1883, "unused")
        await init_db(settings.model_copy(update={"database_url": db_url}))
        t = time.perf_counter()
        stats = await run_detection(as_of, settings, now=now)
        elapsed = time.perf_counter() - t
        from tortoise.connection import get_connection

        conn = get_connection("default")
        t = time.perf_counter()
        await conn.execute_query("SELECT sum(value), sum(messages) FROM iot_hourly")
        bare = time.perf_counter() - t
        await close_db()
        return {"detect_s": elapsed, "bare_s": bare, "stats": stats}

    out = asyncio.run(run())
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


async def detection_bench(sizes: list[int], days: int = 30) -> list[dict]:
    """For each size (ascending): grow the portfolio to that many units (seeding only the new ones), then the
    first run (the day before: every day of its window aggregated into the daily facts, what each run cost
    before they were kept), a day's ingest (every roll-up of the last day written again: the changes the
    triggers record), and the daily run measured, each in a process of its own. The roll-ups' ingest-only unique
    key (device, hour) is dropped for the bulk load and not rebuilt (detection never reads by it); the (hour,
    unit) index is rebuilt before each run; the change triggers are off while seeding (the facts are dropped
    instead)."""
    from tortoise.connection import get_connection

    from core.db import close_db
    from tortoise_config import init_db

    settings = settings_for(1883, "unused")
    await init_db(settings)
    conn = get_connection("default")
    await conn.execute_script("TRUNCATE iot_hourly, iot_occupancy_days, alerts, iot_detection_runs, "
                              "iot_meter_samples, iot_door_events, iot_devices, units, work_order_events, "
                              "work_orders, iot_daily_facts, iot_daily_fact_days, iot_hourly_changes CASCADE")
    _, cons = await conn.execute_query("SELECT conname FROM pg_constraint "
                                       "WHERE conrelid = 'iot_hourly'::regclass AND contype = 'u'")
    _, idx = await conn.execute_query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'iot_hourly' "
                                      "AND indexname NOT LIKE '%pkey' AND indexname NOT IN (SELECT conname FROM "
                                      "pg_constraint WHERE conrelid = 'iot_hourly'::regclass)")
    for (name,) in cons:
        await conn.execute_script(f"ALTER TABLE iot_hourly DROP CONSTRAINT {name}")
    results = []
    seeded = 0
    clean = "DELETE FROM alerts; DELETE FROM iot_occupancy_days; DELETE FROM iot_detection_runs"
    last_day_h = int(datetime.combine(DETECT_AS_OF, datetime.min.time(), UTC).timestamp()) // 3600 - 8
    for units in sorted(sizes):
        for name, _ in idx:
            await conn.execute_script(f"DROP INDEX IF EXISTS {name}")
        t = time.perf_counter()
        await conn.execute_script("ALTER TABLE iot_hourly SET UNLOGGED; ALTER TABLE iot_hourly DISABLE TRIGGER USER")
        await seed_detection(conn, seeded + 1, units, days)
        await conn.execute_script("ALTER TABLE iot_hourly ENABLE TRIGGER USER; ALTER TABLE iot_hourly SET LOGGED")
        for _, definition in idx:
            await conn.execute_script(definition)
        await conn.execute_script("VACUUM ANALYZE iot_hourly")
        await conn.execute_script(f"{clean}; DELETE FROM iot_daily_facts; DELETE FROM iot_daily_fact_days; "
                                  "DELETE FROM iot_hourly_changes")
        generated = time.perf_counter() - t
        seeded = units
        count = (await conn.execute_query("SELECT count(*) FROM iot_hourly"))[1][0][0]
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            first = await asyncio.get_running_loop().run_in_executor(
                pool, detect_in_process, DB_URL, DETECT_AS_OF - timedelta(days=1), DETECT_NOW - timedelta(days=1))
        t = time.perf_counter()
        await conn.execute_script(f"{clean}; UPDATE iot_hourly SET messages = messages "
                                  f"WHERE hour_ts >= {last_day_h} AND hour_ts < {last_day_h + 24}")
        ingested = time.perf_counter() - t
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            out = await asyncio.get_running_loop().run_in_executor(pool, detect_in_process, DB_URL)
        await conn.execute_script(clean)
        results.append({"units": units, "rows": count, "generate_s": generated, "first_s": first["detect_s"],
                        "first_rss_mb": first["peak_rss_mb"], "ingested_s": ingested, **out})
        print_detection(results[-1], results[0])
    await close_db()
    return results


def print_detection(det: dict, first: dict) -> None:
    occ = {str(k): v for k, v in det["stats"]["occupancy"].items()}
    alerts = {str(k): v["active"] for k, v in det["stats"].items() if isinstance(v, dict) and "active" in v}
    per_10k = det["detect_s"] / det["units"] * 10_000
    growth = per_10k / (first["detect_s"] / first["units"] * 10_000)
    print(f"   {det['units']:>7,} units: {det['rows']:,} roll-up rows (added in {det['generate_s']:.0f}s); daily "
          f"detection {det['detect_s']:.1f}s (target < 10 s at 10,000), {per_10k:.1f}s per 10,000 units "
          f"(× {growth:.2f} of the smallest size's: ≤ 1 is linear or better); peak RSS {det['peak_rss_mb']:.0f} MB; "
          f"baseline: one bare pass over the roll-ups (SELECT sum(value), sum(messages)) {det['bare_s']:.1f}s, "
          f"detection ÷ bare {det['detect_s'] / det['bare_s']:.1f}", flush=True)
    print(f"            first run (the day before, all 30 days aggregated into the daily facts: what every run "
          f"cost before they were kept) {det['first_s']:.1f}s, peak RSS {det['first_rss_mb']:.0f} MB, "
          f"÷ daily {det['first_s'] / det['detect_s']:.1f}; the day's roll-ups written again in "
          f"{det['ingested_s']:.0f}s", flush=True)
    print(f"            occupancy {occ}; alerts {alerts}", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--lag-seconds", type=float, default=20.0)
    parser.add_argument("--lag-rate", type=float, default=2000.0)
    parser.add_argument("--units", default="10000", help="detection sizes, comma-separated (e.g. "
                        "10000,30000,100000: each run after growing the same portfolio)")
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--only-detection", action="store_true", help="skip ingest, scale-out and lag")
    parser.add_argument("--skip-shared", action="store_true", help="skip one vs two consumers on a shared "
                        "subscription")
    parser.add_argument("--shared-group", default="", help="run the consumer on an MQTT 5 shared subscription "
                        "$share/<group>/…: the scale-out mode, which locks each batch's device rows")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="rw-iot-bench-"))
    broker = PrivateMosquitto(workdir)
    broker.conf.write_text(broker.conf.read_text().replace("max_queued_messages 100000",
                                                           "max_queued_messages 0"))  # unlimited
    broker.start()
    await recreate_db()
    try:
        settings = settings_for(broker.port, "bench-consumer")
        await seed_portfolio(settings)
        if not args.only_detection:
            n = args.messages
            print(f"== ingest: {n} QoS 1 messages (Tasmota 50%, Shelly 20%, wmbusmeters 20%, Zigbee2MQTT doors 10%), "
                  f"{DEVICES * 4} devices, private Mosquitto on 127.0.0.1:{broker.port}, PostgreSQL")
            create_session(broker.port, "bench-c")
            create_session(broker.port, "bench-bare")
            group = args.shared_group
            create_session(broker.port, "bench-consumer",
                           [f"$share/{group}/{f}" for f in FILTERS] if group else FILTERS)
            pub_s = await asyncio.to_thread(publish, broker.port, n)
            print(f"   queued on the broker for three sessions in {pub_s:.1f}s ({n / pub_s:,.0f} msg/s published)")
            c_rate = await asyncio.to_thread(drain_c_client, broker.port, "bench-c", n)
            drop_session(broker.port, "bench-c")
            print(f"   mosquitto_sub -q 1 -c (C client, to /dev/null): {c_rate:>7,.0f} msg/s  (the ceiling)")
            bare = await asyncio.to_thread(drain_bare, broker.port, "bench-bare", n)
            drop_session(broker.port, "bench-bare")
            print(f"   bare paho subscriber (receive only):         {bare:>10,.0f} msg/s  "
                  f"(paho ÷ C client {bare / c_rate:.2f})")
            ours, rss, _ = await drain_consumer(broker.port, "bench-consumer", n, await stored_count(), group)
            drop_session(broker.port, "bench-consumer")
            mode = f" (shared subscription $share/{group}/…: device rows locked per batch)" if group else ""
            print(f"   rentwatch consumer (parse→dedupe→persist→rules): {ours:>7,.0f} msg/s{mode}")
            print(f"   ratio consumer ÷ C client: {ours / c_rate:.2f}  (target ≥ 0.35)")
            print(f"   ratio consumer ÷ paho:     {ours / bare:.2f}")
            scaled = "" if n >= 1_000_000 else "; scaled down from 1,000,000: run with --messages 1000000"
            print(f"   consumer peak RSS while ingesting {n:,} messages: {rss:.0f} MB  (target < 300 MB{scaled})")
            if not args.skip_shared:
                print(f"== scale-out: MQTT 5 shared subscription, a fresh backlog of {n:,} new facts per run")
                create_session(broker.port, "bench-solo", [f"$share/solo/{f}" for f in FILTERS])
                await asyncio.to_thread(publish, broker.port, n, start_index=n)
                solo, solo_rss, _ = await drain_consumer(broker.port, "bench-solo", n, await stored_count(), "solo")
                drop_session(broker.port, "bench-solo")
                print(f"   one consumer  on $share/solo/…: {solo:>8,.0f} msg/s (peak RSS {solo_rss:.0f} MB)")
                for k in (1, 2):
                    create_session(broker.port, f"bench-pair-{k}", [f"$share/pair/{f}" for f in FILTERS])
                await asyncio.to_thread(publish, broker.port, n, start_index=2 * n)
                pair, pair_rss, _ = await drain_consumer(broker.port, "bench-pair", n, await stored_count(), "pair",
                                                         processes=2)
                for k in (1, 2):
                    drop_session(broker.port, f"bench-pair-{k}")
                print(f"   two consumers on $share/pair/…: {pair:>8,.0f} msg/s (peak RSS of either {pair_rss:.0f} MB)")
                print(f"   ratio two ÷ one: {pair / solo:.2f}  (2 cores, shared with the broker and PostgreSQL)")
            print(f"== lag at {args.lag_rate:,.0f} msg/s for {args.lag_seconds:.0f}s "
                  "(publisher in its own process, consumer timed at commit)")
            lag = await measure_lag(broker.port, args.lag_seconds, args.lag_rate)
            print(f"   published {lag['messages']:,} at {lag['publish_rate']:,.0f} msg/s; "
                  f"measured {lag['measured']:,}: "
                  f"p50 {lag['p50_ms']:.1f} ms, p99 {lag['p99_ms']:.1f} ms, max {lag['max_ms']:.1f} ms")
        if not args.skip_detection:
            sizes = [int(x) for x in args.units.split(",")]
            print(f"== detection: {', '.join(f'{u:,}' for u in sizes)} units × 3 devices × 30 days of hourly "
                  "roll-ups, one daily run per size (each in its own process)", flush=True)
            await detection_bench(sizes)
    finally:
        broker.stop()
        await drop_db()


if __name__ == "__main__":
    asyncio.run(main())
