"""The simulator makes every alert type appear (issue 4, "Done when"): the demo portfolio, the simulator's scenarios
and traffic (every payload format) through a real broker into the real consumer, detection at an injected time.

Time is injected: the demo seed, the scenarios, the back-filled history, the live ticks and detection all run at a
fixed clock reading in the past (the consumer stamps receive times with the wall clock, so device times are
earlier than receive times, as for a gateway replaying). Nothing waits for minutes; the test waits only for the
consumer to have stored what was published.

Topics get a per-test prefix (the topic patterns are configuration) so that a shared Mosquitto carrying other
traffic cannot add commissioning entries or dead letters to this test, nor take its messages."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest

from cli.demo import seed_demo
from iot.adapters import DEFAULT_TOPIC_PATTERNS
from iot.broker_auth import embedded_broker_for
from iot.choices import DeviceKind, IotAlert
from iot.consumer import MqttConsumer
from iot.jobs import run_detection, sweep
from iot.simulator import (
    SimPublisher,
    extras,
    issue_simulator_credentials,
    live_messages,
    prepare_scenarios,
    publish_backfill,
)
from models.alerts import Alert
from models.iot import CommissioningEntry, DeadLetter, Device
from models.portfolio import Unit
from models.workorders import WorkOrder
from portfolio.choices import UnitStatus
from tests.support.mqtt import host_port, shared_mosquitto_url
from workorders.choices import OPEN_WORK_ORDER_STATUSES, TriggerSource, WorkOrderType

# a Monday, 10:40 in Shanghai (in the past: the consumer stamps receive times with the wall clock)
NOW = datetime(2026, 11, 2, 2, 40, tzinfo=UTC)
LIVE_INTERVAL_S = 10.0
WAIT = 90  # seconds: an upper bound for "eventually", never a performance threshold
OCCUPANCY_ALERTS = {IotAlert.UNEXPECTED_ACTIVITY, IotAlert.DOOR_OPEN_WHILE_VACANT, IotAlert.NO_ACTIVITY,
                    IotAlert.ACTIVITY_AFTER_LEASE_END, IotAlert.SUSPECTED_SUBLET}


@pytest.fixture
async def sim_settings(settings):
    """Settings for the consumer and the simulator: Mosquitto when available (RW_TEST_MQTT_URL), else the embedded
    broker exactly as `make run` uses it (empty RW_MQTT_URL → the embedded broker's port)."""
    prefix = f"rwsim{uuid.uuid4().hex[:10]}"
    patterns = [f"{name}={prefix}/{pattern}" for name, pattern in
                (p.split("=", 1) for p in DEFAULT_TOPIC_PATTERNS)]
    url = shared_mosquitto_url()
    s = settings.model_copy(update={"mqtt_url": url or "", "mqtt_client_id": f"rw-test-{prefix}",
                                    "iot_topic_patterns": patterns, "mqtt_session_expiry_seconds": 300})
    broker = None
    if not url:
        broker = embedded_broker_for(s)  # credentials and ACLs on, as `make run` has them
        await broker.start()
    try:
        yield s, prefix
    finally:
        if broker:
            await broker.stop()
        else:
            forget_session(s)


def forget_session(s) -> None:
    """Remove the persistent session the consumer left on the shared broker."""
    host, port = host_port(s.mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=s.mqtt_client_id, clean_session=True)
    client.connect(host, port)
    client.loop(1)
    client.disconnect()


async def wait_until(predicate, what: str, detail=lambda: ""):
    deadline = asyncio.get_running_loop().time() + WAIT
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what} ({detail()})")
        await asyncio.sleep(0.05)


async def open_alerts() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in await Alert.filter(status__in=["ACTIVE", "ACKNOWLEDGED"]).values("type", "unit_id", "subject",
                                                                                  "last_seen"):
        out.setdefault(row["type"], []).append(row)
    return out


async def test_the_simulator_makes_every_alert_type_appear(db, sim_settings):
    s, prefix = sim_settings
    tz = ZoneInfo(s.iot_timezone)
    await seed_demo(now=NOW)
    sims = await prepare_scenarios(NOW)
    role_units: dict[str, list[str]] = {}
    for sim in sims:
        role_units.setdefault(sim.role, []).append(sim.code)
    assert {r: len(c) for r, c in role_units.items()} == {
        "tenant": 4, "sublet": 1, "silent": 1, "moveout": 1, "squatter": 1, "after_lease": 1, "vacant": 2, "dead": 1}
    units = {u["code"]: u["id"] for u in await Unit.all().values("code", "id")}

    def unit_of(role: str) -> int:
        return units[role_units[role][0]]

    consumer = MqttConsumer(s)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    credentials = None if s.mqtt_url else await issue_simulator_credentials(s, sims, NOW, topic_prefix=f"{prefix}/")
    publisher = SimPublisher(s, topic_prefix=f"{prefix}/", credentials=credentials)
    try:
        await wait_until(consumer.subscribed.is_set, "the consumer's subscription")
        await publisher.connect()
        await publish_backfill(publisher, sims, NOW, 30, tz)  # with its flow control
        await publisher.send(extras(NOW))
        await wait_until(lambda: consumer.stored >= publisher.sent, f"the consumer to store {publisher.sent} "
                         f"messages", lambda: f"{consumer.stored} stored")

        yesterday = NOW.astimezone(tz).date() - timedelta(days=1)
        await run_detection(yesterday, s, now=NOW)

        for tick in range(1, 4):  # the live phase, at injected times
            t = NOW + timedelta(seconds=tick * LIVE_INTERVAL_S)
            await publisher.send(live_messages(sims, t, tz, LIVE_INTERVAL_S))
        await wait_until(lambda: consumer.stored >= publisher.sent, "the live traffic to be stored",
                         lambda: f"{consumer.stored} of {publisher.sent} stored")
        later = NOW + timedelta(minutes=5)
        await sweep(s, later)  # what the consumer's sweeper does every few minutes
        await sweep(s, later + timedelta(minutes=5))
        assert consumer.stored == publisher.sent  # nothing lost, nothing twice
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        publisher.close()

    alerts = await open_alerts()
    assert set(alerts) == set(IotAlert), f"missing alert types: {set(IotAlert) - set(alerts)}"
    by_unit = {t: {a["unit_id"] for a in rows} for t, rows in alerts.items()}
    assert unit_of("squatter") in by_unit[IotAlert.UNEXPECTED_ACTIVITY]
    assert unit_of("squatter") in by_unit[IotAlert.DOOR_OPEN_WHILE_VACANT]
    assert unit_of("silent") in by_unit[IotAlert.NO_ACTIVITY]
    assert unit_of("after_lease") in by_unit[IotAlert.ACTIVITY_AFTER_LEASE_END]
    assert unit_of("sublet") in by_unit[IotAlert.SUSPECTED_SUBLET]
    # the squatter's door opening in the live phase alerts at once (the alert carries the live opening's time)
    squatter_door = next(a for a in alerts[IotAlert.DOOR_OPEN_WHILE_VACANT] if a["unit_id"] == unit_of("squatter"))
    assert squatter_door["last_seen"] > NOW
    # ordinary tenants and plain vacant units raise no occupancy alert
    quiet = {units[c] for c in role_units["tenant"] + role_units["vacant"]}
    assert {t: ids & quiet for t, ids in by_unit.items() if t in OCCUPANCY_ALERTS and ids & quiet} == {}

    devices = {f"device:{d['id']}": d for d in await Device.all().values("id", "external_id", "unit_id", "kind")}
    offline = {devices[a["subject"]]["external_id"] for a in alerts[IotAlert.DEVICE_OFFLINE]}
    dead_door = next(d.ext for sim in sims if sim.role == "dead" for d in sim.devices if d.kind == DeviceKind.DOOR)
    assert offline == {dead_door}  # only the dead device: every other one reported up to "now"
    low = {devices[a["subject"]]["external_id"] for a in alerts[IotAlert.BATTERY_LOW]}
    assert low == {d.ext for sim in sims for d in sim.devices if d.battery <= s.iot_battery_low_percent}
    assert len(low) == 1

    commissioning = set(await CommissioningEntry.all().values_list("external_id", flat=True))
    assert commissioning == {"unregistered_door_9F", "unknown_pow"}
    dead_letters = await DeadLetter.all().values_list("topic", flat=True)
    assert sorted(dead_letters) == [f"{prefix}/rentwatch/devices/sim-broken", f"{prefix}/wmbusmeters/garbled"]
    assert consumer.ingestor.stats["dead_letters"] == 2

    moveout = unit_of("moveout")
    # one per move-out, though swept three times; the only open cleaning order there (the pre-delivery one of
    # the lease signed before the tenant moved in was done long ago); no other unit looked moved out
    sensor_cleaning = await WorkOrder.filter(type=WorkOrderType.CLEANING, trigger_source=TriggerSource.SENSOR
                                             ).values_list("unit_id", flat=True)
    assert sensor_cleaning == [moveout]
    open_cleaning = await WorkOrder.filter(type=WorkOrderType.CLEANING, unit_id=moveout,
                                           status__in=list(OPEN_WORK_ORDER_STATUSES)).values_list("trigger_source",
                                                                                                  flat=True)
    assert open_cleaning == [TriggerSource.SENSOR]
    assert (await Unit.get(id=moveout)).status == UnitStatus.MOVE_OUT_PENDING


def threads_waiting_for_the_broker() -> list[str]:
    """Threads whose stack is inside paho's blocking waits (``wait_for_publish``, ``Event.wait`` of a CONNACK)."""
    waiting: list[str] = []
    for thread_id, top in sys._current_frames().items():
        names: set[str] = set()
        frame: FrameType | None = top
        while frame is not None:
            names.add(frame.f_code.co_name)
            frame = frame.f_back
        if "wait_for_publish" in names:
            waiting.append(str(thread_id))
    return waiting


async def test_a_cancelled_simulator_leaves_no_thread_waiting_for_the_broker(db, sim_settings):
    """At shutdown the broker stops before the simulator's last PUBACKs arrive. The simulator waits for them on the
    event loop: cancelled, it is gone at once, and the loop's thread pool has nothing left to finish (a blocking
    ``wait_for_publish`` in a worker thread held the background process's exit for up to 30 s)."""
    s, prefix = sim_settings
    credentials = None if s.mqtt_url else await issue_simulator_credentials(s, [], NOW, topic_prefix=f"{prefix}/")
    publisher = SimPublisher(s, topic_prefix=f"{prefix}/", credentials=credentials)
    await publisher.connect()
    publisher.client.loop_stop()  # nothing reads the socket any more: no PUBACK will ever be seen
    try:
        task = asyncio.create_task(publisher.send([(f"{prefix}/tele/x/SENSOR", b"{}")] * 3))
        for _ in range(1000):
            await asyncio.sleep(0)
            if publisher.sent == 3:
                break
        assert publisher.sent == 3 and not task.done()  # waiting for the PUBACKs
        await asyncio.sleep(0.5)  # a worker thread given to the wait would be inside it by now
        task.cancel()
        (outcome,) = await asyncio.gather(task, return_exceptions=True)
        assert isinstance(outcome, asyncio.CancelledError)
        # no thread is left blocked on a PUBACK that will never come
        assert threads_waiting_for_the_broker() == []
        await asyncio.wait_for(asyncio.get_running_loop().shutdown_default_executor(), 5)
    finally:
        publisher.client.disconnect()
