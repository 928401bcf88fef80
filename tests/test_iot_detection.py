"""Daily detection on a real database, from hourly roll-ups: every rule, hysteresis, work-order exemptions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from config.settings import Settings
from iot.choices import DeviceFormat, DeviceKind, IotAlert, Occupancy
from iot.ingest import Ingestor, RawMessage
from iot.jobs import daily_detection, run_detection, sweep
from iot.occupancy import DayFacts, Thresholds, infer, sublet_score
from iot.rules import local_day_end
from iot.service import DeviceIn, register_device
from leasing.choices import LeaseStatus, PaymentFrequency
from leasing.service import create_lease
from models.alerts import Alert
from models.iot import DeadLetter, DetectionRun, Device, HourlyRollup, MeterSample, OccupancyDay
from models.leasing import Lease
from models.portfolio import Unit
from models.workorders import WorkOrder
from portfolio.choices import PropertyType, StatusSource, UnitStatus
from portfolio.service import change_unit_status
from workorders.choices import TriggerSource, WorkOrderStatus, WorkOrderType
from workorders.service import open_work_order

SH = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 11, 1)


def local_hour(day: date, hour: int) -> int:
    return int(datetime.combine(day, time(hour), SH).timestamp()) // 3600


async def devices_for(unit, prefix, kinds=(DeviceKind.DOOR, DeviceKind.ELECTRICITY, DeviceKind.WATER)):
    out = {}
    for kind in kinds:
        d, _ = await register_device(DeviceIn(external_id=f"{prefix}-{kind}", format=DeviceFormat.GENERIC,
                                              kind=kind, unit_code=unit.code), None)
        out[kind] = d
    return out


async def fill(unit, devs, days, pattern, scale=1.0):
    """pattern: 'lived' (normal tenant), 'empty' (vacant baseline), 'night' (lived + night-time door),
    'changeover' (between two short-let guests: a cleaner 11-14 h, water and door, nobody in the evening)."""
    rows = []
    for day in days:
        for h in range(24):
            ts = local_hour(day, h)
            lived = pattern in ("lived", "night")
            elec = (0.3 * scale if 7 <= h < 23 else 0.05) if lived else 0.02
            water = (0.012 * scale if h in (7, 8, 19, 20, 21) else 0.0) if lived else 0.0
            opens = 1.0 if lived and h in (8, 19) else 0.0
            if pattern == "night" and h in (2, 3):
                opens = 1.0
            if pattern == "changeover" and 11 <= h < 14:
                elec, water, opens = 0.3, 0.05, 1.0 if h == 11 else 0.0
            rows.append(HourlyRollup(device_id=devs[DeviceKind.ELECTRICITY].id, unit_id=unit.id,
                                     kind=DeviceKind.ELECTRICITY, hour_ts=ts, value=elec, messages=12))
            if DeviceKind.WATER in devs:
                rows.append(HourlyRollup(device_id=devs[DeviceKind.WATER].id, unit_id=unit.id,
                                         kind=DeviceKind.WATER, hour_ts=ts, value=water, messages=1))
            if opens or h % 6 == 0:
                rows.append(HourlyRollup(device_id=devs[DeviceKind.DOOR].id, unit_id=unit.id, kind=DeviceKind.DOOR,
                                         hour_ts=ts, value=opens, messages=1))
    await HourlyRollup.bulk_create(rows, batch_size=1000)
    now = datetime.combine(days[-1], time(23, 30), SH).astimezone(UTC)
    await Device.filter(unit_id=unit.id).update(last_seen=now)


def days_back(n, end=AS_OF):
    return [end - timedelta(days=i) for i in range(n - 1, -1, -1)]


async def tenanted(building, code, unit_type="2b1b"):
    """A unit OCCUPIED under an active lease (a cohort member)."""
    unit = await Unit.create(building=building, code=code, property_type=PropertyType.RESIDENTIAL,
                             unit_type=unit_type, area_m2=Decimal("60"), floor=3)
    lease = await create_lease(unit=unit, tenant_name=code, tenant_phone="1", start_date=date(2026, 1, 1),
                               end_date=date(2027, 12, 31), monthly_rent_fen=1, deposit_fen=1,
                               payment_frequency=PaymentFrequency.MONTHLY)
    await Lease.filter(id=lease.id).update(status=LeaseStatus.ACTIVE)
    await Unit.filter(id=unit.id).update(status=UnitStatus.OCCUPIED)
    return unit


async def occupy(unit_id):
    await change_unit_status(unit_id, UnitStatus.OCCUPIED, source=StatusSource.ADMIN, now=datetime.now(UTC),
                             reason="test")


@pytest.mark.parametrize("facts,has,expected", [
    (DayFacts(elec_kwh=5, water_m3=0.1, door_opens=2, elec_hours=24, water_hours=24, door_messages=4),
     (True, True, True), Occupancy.OCCUPIED_LIKE),
    (DayFacts(elec_kwh=0.5, water_m3=0, door_opens=0, elec_hours=24, water_hours=24, door_messages=4),
     (True, True, True), Occupancy.VACANT_LIKE),
    (DayFacts(elec_kwh=5, water_m3=0, door_opens=0, elec_hours=24, water_hours=24, door_messages=4),
     (True, True, True), Occupancy.UNKNOWN),  # mixed evidence
    (DayFacts(elec_kwh=5, elec_hours=3), (False, True, False), Occupancy.UNKNOWN),  # too little data
    (DayFacts(elec_kwh=5, elec_hours=20), (False, True, False), Occupancy.OCCUPIED_LIKE),  # the only meter
    (DayFacts(), (True, False, False), Occupancy.UNKNOWN),  # door offline
    (DayFacts(door_messages=3), (True, True, False), Occupancy.UNKNOWN),  # meter silent, door quiet
])
def test_infer(facts, has, expected):
    state, evidence = infer(facts, has_door=has[0], has_elec=has[1], has_water=has[2], door_alive=False,
                            t=Thresholds())
    assert state == expected and evidence["reason"]


FAR = {"electricity": 12.0, "water": 0.4}  # 3× / 4× the baselines below
BASE = {"electricity": 4.0, "water": 0.1}


@pytest.mark.parametrize("case,recent,own,cohort,switches,night,alerts,score,first_reason", [
    ("ordinary tenant", BASE, BASE, BASE, 2, 0.5, False, 0.0, None),
    ("turnover alone", BASE, BASE, BASE, 8, 0, True, 0.7, "turnover"),
    ("turnover + night doors", BASE, BASE, BASE, 8, 4, True, 0.85, "turnover"),
    ("electricity alone (door + electricity unit)", {"electricity": 12.0}, {"electricity": 4.0},
     {"electricity": 4.0}, 0, 0, True, 0.7, "electricity"),
    ("electricity and water", FAR, BASE, BASE, 0, 0, True, 0.85, "electricity"),
    ("everything", FAR, BASE, BASE, 8, 4, True, 1.0, "electricity"),
    ("far above own baseline, ordinary for the cohort", {"electricity": 12.0}, {"electricity": 4.0},
     {"electricity": 10.0}, 0, 0, False, 0.0, None),
    ("far above the cohort, ordinary for itself", {"electricity": 12.0}, {"electricity": 10.0},
     {"electricity": 4.0}, 0, 0, False, 0.0, None),
    ("night doors alone", BASE, BASE, BASE, 0, 5, False, 0.15, "night"),  # supporting only
    ("cohort only (no own baseline yet), both meters", FAR, {}, {"electricity": 2.0, "water": 0.05}, 0, 0, False,
     0.5, "electricity"),
    ("cohort only, both meters, night doors", FAR, {}, {"electricity": 2.0, "water": 0.05}, 0, 4, True, 0.65,
     "electricity"),
])
def test_sublet_score(case, recent, own, cohort, switches, night, alerts, score, first_reason):
    got, reasons = sublet_score(recent=recent, own=own, cohort=cohort, switches=switches, night_opens_per_day=night,
                                own_ratio=2, cohort_ratio=2, turnover_changes=6)
    assert got == score, case
    assert (got >= Settings().iot_sublet_score_threshold) is alerts, case
    assert bool(reasons) is (score > 0), case
    if first_reason:
        assert first_reason in reasons[0], case


async def test_unexpected_activity_and_work_order_exemption(world, settings):
    vacant, other = world.a.unit, world.b.unit
    d1, d2 = await devices_for(vacant, "va"), await devices_for(other, "vb")
    await fill(vacant, d1, days_back(29, AS_OF - timedelta(days=1)), "empty")
    await fill(vacant, d1, [AS_OF], "night")
    await fill(other, d2, days_back(30), "lived")
    await open_work_order(wo_type=WorkOrderType.REPAIR, building_id=other.building_id, unit_id=other.id,
                          title="repair", trigger_source=TriggerSource.MANUAL, trigger_ref="t1",
                          now=datetime.now(UTC))
    stats = await run_detection(AS_OF, settings)
    alerts = await Alert.filter(type=IotAlert.UNEXPECTED_ACTIVITY)
    assert [a.unit_id for a in alerts] == [vacant.id]  # the other one has a repair in progress
    assert alerts[0].evidence["series"][-1]["night_opens"] == 2 and "VACANT" in alerts[0].explanation
    assert stats["occupancy"][Occupancy.OCCUPIED_LIKE] >= 2
    day = await OccupancyDay.get(unit_id=vacant.id, day=AS_OF)
    assert day.state == Occupancy.OCCUPIED_LIKE and "door" in day.evidence["active"]
    # a repeat the next day refreshes the same alert; then two quiet days clear it (hysteresis)
    await fill(vacant, d1, [AS_OF + timedelta(days=1)], "lived")
    await run_detection(AS_OF + timedelta(days=1), settings)
    alert = await Alert.get(id=alerts[0].id)
    assert alert.count == 2 and alert.status == "ACTIVE"
    await fill(vacant, d1, [AS_OF + timedelta(days=2), AS_OF + timedelta(days=3)], "empty")
    await run_detection(AS_OF + timedelta(days=2), settings)
    assert (await Alert.get(id=alert.id)).status == "ACTIVE"  # false for less than the hysteresis
    await run_detection(AS_OF + timedelta(days=3), settings)
    assert (await Alert.get(id=alert.id)).status == "CLEARED"


async def test_no_activity_under_active_lease(world, settings):
    unit = world.a.occupied_unit
    await occupy(unit.id)
    devs = await devices_for(unit, "na")
    await fill(unit, devs, days_back(30, AS_OF - timedelta(days=14)), "lived")
    await fill(unit, devs, days_back(13), "empty")
    await run_detection(AS_OF, settings)
    assert not await Alert.filter(type=IotAlert.NO_ACTIVITY).exists()  # only 13 days
    await fill(unit, devs, [AS_OF + timedelta(days=1)], "empty")
    await run_detection(AS_OF + timedelta(days=1), settings)
    alert = await Alert.get(type=IotAlert.NO_ACTIVITY)
    assert alert.unit_id == unit.id and len(alert.evidence["series"]) == 14


async def test_activity_after_lease_end(world, settings):
    unit = world.a.units[3]
    lease = await create_lease(unit=unit, tenant_name="old", tenant_phone="1", start_date=date(2025, 10, 1),
                               end_date=date(2026, 10, 20), monthly_rent_fen=1, deposit_fen=1,
                               payment_frequency=PaymentFrequency.MONTHLY)
    await Lease.filter(id=lease.id).update(status=LeaseStatus.ENDED)
    await change_unit_status(unit.id, UnitStatus.OFF_MARKET, source=StatusSource.ADMIN, now=datetime.now(UTC))
    devs = await devices_for(unit, "le")
    await fill(unit, devs, days_back(30), "lived")
    await run_detection(AS_OF, settings)
    alert = await Alert.get(type=IotAlert.ACTIVITY_AFTER_LEASE_END)
    assert alert.unit_id == unit.id and alert.evidence["lease_end"] == "2026-10-20"
    assert not await Alert.filter(type=IotAlert.UNEXPECTED_ACTIVITY, unit_id=unit.id).exists()


async def test_activity_after_early_termination_uses_ended_at(world, settings):
    unit = world.a.units[3]
    lease = await create_lease(unit=unit, tenant_name="early", tenant_phone="1", start_date=date(2026, 1, 1),
                               end_date=date(2027, 12, 31), monthly_rent_fen=1, deposit_fen=1,
                               payment_frequency=PaymentFrequency.MONTHLY)
    # terminated early: the deposit refund completed on 15 Oct (refunds/service.py sets ended_at)
    await Lease.filter(id=lease.id).update(status=LeaseStatus.ENDED,
                                           ended_at=datetime(2026, 10, 15, 3, 0, tzinfo=UTC))
    await change_unit_status(unit.id, UnitStatus.OFF_MARKET, source=StatusSource.ADMIN, now=datetime.now(UTC))
    await fill(unit, await devices_for(unit, "ee"), days_back(30), "lived")
    await run_detection(AS_OF, settings)
    alert = await Alert.get(type=IotAlert.ACTIVITY_AFTER_LEASE_END)
    assert alert.unit_id == unit.id and alert.evidence["lease_end"] == "2026-10-15"
    assert not await Alert.filter(type=IotAlert.UNEXPECTED_ACTIVITY, unit_id=unit.id).exists()


async def test_suspected_sublet_on_electricity_alone_opens_one_inspection(world, settings):
    building = world.a.building
    for n in range(4):  # ordinary tenants of the same type: the cohort, and none of them is suspected
        unit = await tenanted(building, f"SZ-NS-A-C{n}")
        await fill(unit, await devices_for(unit, f"co{n}"), days_back(30), "lived")
    target = world.a.occupied_unit  # 2b1b with a live lease; door + electricity only (no water meter)
    await occupy(target.id)
    devs = await devices_for(target, "sub", kinds=(DeviceKind.DOOR, DeviceKind.ELECTRICITY))
    await fill(target, devs, days_back(23, AS_OF - timedelta(days=7)), "lived")
    await fill(target, devs, days_back(7), "lived", scale=4.0)
    await run_detection(AS_OF, settings)
    alert = await Alert.get(type=IotAlert.SUSPECTED_SUBLET)
    assert alert.unit_id == target.id and alert.evidence["score"] >= settings.iot_sublet_score_threshold
    assert [r.split()[0] for r in alert.evidence["reasons"]] == ["electricity"]
    assert "not a finding" in alert.explanation
    orders = await WorkOrder.filter(type=WorkOrderType.INSPECTION, unit_id=target.id)
    assert len(orders) == 1
    await run_detection(AS_OF, settings)  # idempotent
    assert await WorkOrder.filter(type=WorkOrderType.INSPECTION, unit_id=target.id).count() == 1
    assert await Alert.filter(type=IotAlert.SUSPECTED_SUBLET).count() == 1


async def test_suspected_sublet_on_short_let_turnover_alone(world, settings):
    target = await tenanted(world.a.building, "SZ-NS-A-T1")
    devs = await devices_for(target, "tt")
    days = days_back(30)
    for i, day in enumerate(days):  # two nights let, two days empty: guests come and go, usage stays ordinary
        await fill(target, devs, [day], "lived" if (i // 2) % 2 == 0 else "empty")
    await run_detection(AS_OF, settings)
    alert = await Alert.get(type=IotAlert.SUSPECTED_SUBLET)
    assert alert.unit_id == target.id and alert.evidence["score"] >= settings.iot_sublet_score_threshold
    assert len(alert.evidence["reasons"]) == 1 and "turnover" in alert.evidence["reasons"][0]


async def test_sublet_cohort_is_occupied_units_under_a_live_lease(world, settings):
    """Vacant units of the same type must not pull the cohort median down and make a tenant look heavy."""
    building = world.a.building
    for n in range(4):
        unit = await tenanted(building, f"SZ-NS-A-L{n}")
        await fill(unit, await devices_for(unit, f"li{n}"), days_back(30), "lived")
    for n in range(5):  # vacant, same type, at the vacant baseline
        unit = await Unit.create(building=building, code=f"SZ-NS-A-V{n}", property_type=PropertyType.RESIDENTIAL,
                                 unit_type="2b1b", area_m2=Decimal("60"), floor=3)
        await fill(unit, await devices_for(unit, f"va{n}"), days_back(30), "empty")
    target = await tenanted(building, "SZ-NS-A-X")  # back from a long trip: low own baseline, now ordinary
    devs = await devices_for(target, "tx")
    await fill(target, devs, days_back(23, AS_OF - timedelta(days=7)), "lived", scale=0.3)
    await fill(target, devs, days_back(7), "lived")
    stats = await run_detection(AS_OF, settings)
    assert stats[IotAlert.SUSPECTED_SUBLET]["active"] == 0
    assert not await Alert.filter(type=IotAlert.SUSPECTED_SUBLET).exists()


async def test_device_offline_and_recovery(world, settings):
    now = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
    door, _ = await register_device(DeviceIn(external_id="d-off", format=DeviceFormat.GENERIC, kind=DeviceKind.DOOR,
                                             unit_code=world.a.unit.code), None)
    meter, _ = await register_device(DeviceIn(external_id="m-ok", format=DeviceFormat.GENERIC,
                                              kind=DeviceKind.ELECTRICITY, unit_code=world.a.unit.code), None)
    await Device.filter(id=door.id).update(last_seen=now - timedelta(hours=26))
    await Device.filter(id=meter.id).update(last_seen=now - timedelta(minutes=10))  # within 3 × 300 s
    await sweep(settings, now)
    alerts = await Alert.filter(type=IotAlert.DEVICE_OFFLINE)
    assert [a.subject for a in alerts] == [f"device:{door.id}"]
    await Device.filter(id=door.id).update(last_seen=now + timedelta(hours=1))
    await sweep(settings, now + timedelta(hours=2))
    await Device.filter(id=door.id).update(last_seen=now + timedelta(hours=20))
    await sweep(settings, now + timedelta(hours=27))
    assert (await Alert.get(id=alerts[0].id)).status == "CLEARED"


async def test_moveout_quiet_opens_one_cleaning_order(world, settings):
    unit = world.a.occupied_unit
    await occupy(unit.id)
    await change_unit_status(unit.id, UnitStatus.MOVE_OUT_PENDING, source=StatusSource.ADMIN,
                             now=datetime(2026, 10, 28, tzinfo=UTC))
    devs = await devices_for(unit, "mo")
    await fill(unit, devs, days_back(3, AS_OF - timedelta(days=2)), "lived")
    await fill(unit, devs, [AS_OF - timedelta(days=1)], "empty")
    now = datetime.combine(AS_OF, time(0, 30), SH).astimezone(UTC)
    before = await WorkOrder.filter(type=WorkOrderType.CLEANING, unit_id=unit.id).count()
    await sweep(settings, now)
    await sweep(settings, now + timedelta(minutes=5))
    orders = await WorkOrder.filter(type=WorkOrderType.CLEANING, unit_id=unit.id, trigger_source="sensor")
    assert len(orders) == 1 and orders[0].trigger_ref.startswith(f"moveout:{unit.id}:")
    assert await WorkOrder.filter(type=WorkOrderType.CLEANING, unit_id=unit.id).count() == before + 1


@pytest.mark.parametrize("work,expect_alert", [
    (None, True),
    ((WorkOrderType.TASK, WorkOrderStatus.OPEN), True),  # a lease-expiry reminder is nobody on site
    ((WorkOrderType.TASK, WorkOrderStatus.IN_PROGRESS), True),
    ((WorkOrderType.INSPECTION, WorkOrderStatus.OPEN), True),  # e.g. a sublet inspection still to be made
    ((WorkOrderType.CLEANING, WorkOrderStatus.DONE), True),
    ((WorkOrderType.VIEWING, WorkOrderStatus.IN_PROGRESS), False),  # a leasing agent showing the unit
    ((WorkOrderType.VIEWING, WorkOrderStatus.ASSIGNED), False),
    ((WorkOrderType.CLEANING, WorkOrderStatus.IN_PROGRESS), False),
    ((WorkOrderType.REPAIR, WorkOrderStatus.OPEN), False),
    ((WorkOrderType.INSPECTION, WorkOrderStatus.IN_PROGRESS), False),  # the inspector is there
])
async def test_only_on_site_work_explains_activity_on_a_vacant_unit(world, settings, work, expect_alert):
    vacant = world.a.units[2]
    assert vacant.status == UnitStatus.VACANT and not await Alert.filter(unit_id=vacant.id).exists()
    if work:
        order, _ = await open_work_order(wo_type=work[0], building_id=vacant.building_id, unit_id=vacant.id,
                                         title=str(work[0]), trigger_source=TriggerSource.MANUAL, trigger_ref="w",
                                         now=datetime.now(UTC))
        await WorkOrder.filter(id=order.id).update(status=work[1])
    devs = await devices_for(vacant, "ex")
    at = datetime.combine(AS_OF, time(2, 30), SH)
    await Ingestor(settings).process([RawMessage(f"rentwatch/devices/ex-{DeviceKind.DOOR}", json.dumps(
        {"ts": at.isoformat(), "door": "open"}).encode(), at.astimezone(UTC))])
    instant = await Alert.filter(type=IotAlert.DOOR_OPEN_WHILE_VACANT, unit_id=vacant.id).count()
    assert instant == (1 if expect_alert else 0)
    # the daily rule follows the same exemption (the roll-ups are rewritten with a whole month)
    await HourlyRollup.filter(unit_id=vacant.id).delete()
    await fill(vacant, devs, days_back(29, AS_OF - timedelta(days=1)), "empty")
    await fill(vacant, devs, [AS_OF], "night")
    await run_detection(AS_OF, settings)
    daily = await Alert.filter(type=IotAlert.UNEXPECTED_ACTIVITY, unit_id=vacant.id).count()
    assert daily == (1 if expect_alert else 0)


async def test_daily_job_redetects_a_day_that_got_back_filled_data(world, settings):
    vacant = world.a.units[2]
    await devices_for(vacant, "bf", kinds=(DeviceKind.DOOR,))
    topic = f"rentwatch/devices/bf-{DeviceKind.DOOR}"
    day = AS_OF - timedelta(days=2)

    def at(d, hour, minute=0):
        return datetime.combine(d, time(hour, minute), SH)

    async def door(ts, state, received):
        await Ingestor(settings).process([RawMessage(topic, json.dumps({"ts": ts.isoformat(), "door": state})
                                                     .encode(), received.astimezone(UTC))])

    # the door's gateway is down on `day`: its run sees nothing
    first = await daily_detection(settings, at(day + timedelta(days=1), 1, 30))
    assert first["as_of"] == day.isoformat() and first["backfill_reruns"] == []
    assert not await Alert.filter(type=IotAlert.UNEXPECTED_ACTIVITY, unit_id=vacant.id).exists()
    # the next morning a gateway replays what it buffered: night-time openings of `day`, after its run
    replayed = at(day + timedelta(days=1), 5)
    await door(at(day, 2, 30), "open", replayed)
    await door(at(day, 2, 40), "closed", replayed)
    await door(at(day + timedelta(days=1), 9), "closed", at(day + timedelta(days=1), 9))
    assert await daily_detection(settings, at(day + timedelta(days=1), 6)) == {}  # yesterday already done
    second = await daily_detection(settings, at(day + timedelta(days=2), 1, 30))
    assert second["as_of"] == (day + timedelta(days=1)).isoformat()
    assert second["backfill_reruns"] == [day.isoformat()]
    alert = await Alert.get(type=IotAlert.UNEXPECTED_ACTIVITY, unit_id=vacant.id)
    assert alert.evidence["today"]["night_opens"] == 1
    assert alert.first_seen == local_day_end(day, SH)  # dated to the day the activity happened
    run = await DetectionRun.get(day=day)
    assert run.started_at == at(day + timedelta(days=2), 1, 30) and run.stats["raise_only"] is True
    # nothing new arrived for `day`: it is not re-run again
    third = await daily_detection(settings, at(day + timedelta(days=3), 1, 30))
    assert third["backfill_reruns"] == []
    assert (await DetectionRun.get(day=day)).started_at == at(day + timedelta(days=2), 1, 30)


async def test_sweep_purges_raw_rows_past_retention(world, settings):
    settings = settings.model_copy(update={"iot_raw_retention_days": 10})
    now = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
    meter, _ = await register_device(DeviceIn(external_id="m-purge", format=DeviceFormat.GENERIC,
                                              kind=DeviceKind.ELECTRICITY, unit_code=world.a.unit.code), None)
    for days, total in ((11, 1.0), (9, 2.0), (1, 3.0)):
        at = now - timedelta(days=days)
        await MeterSample.create(device_id=meter.id, at=at, total=total, received_at=at)
        await DeadLetter.create(topic=f"t/{days}", payload="x", payload_size=1, reason="bad", received_at=at)
    await HourlyRollup.create(device_id=meter.id, unit_id=world.a.unit.id, kind=DeviceKind.ELECTRICITY,
                              hour_ts=int((now - timedelta(days=11)).timestamp()) // 3600, value=1.0, messages=1)
    stats = await sweep(settings, now)
    assert stats["purged"] == 2
    assert sorted(await MeterSample.filter(device_id=meter.id).values_list("total", flat=True)) == [2.0, 3.0]
    assert sorted(await DeadLetter.all().values_list("topic", flat=True)) == ["t/1", "t/9"]
    assert await HourlyRollup.filter(device_id=meter.id).count() == 1  # roll-ups are kept


async def test_battery_low_clears_after_the_battery_recovers(world, settings):
    await register_device(DeviceIn(external_id="bat", format=DeviceFormat.GENERIC, kind=DeviceKind.DOOR,
                                   unit_code=world.a.unit.code), None)
    t0 = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)

    async def report(battery, at):
        await Ingestor(settings).process([RawMessage("rentwatch/devices/bat", json.dumps(
            {"ts": at.isoformat(), "battery": battery}).encode(), at)])

    await report(9, t0)
    alert = await Alert.get(type=IotAlert.BATTERY_LOW)
    assert alert.status == "ACTIVE" and alert.evidence["battery"] == 9
    await sweep(settings, t0 + timedelta(hours=1))  # still low: stays open
    assert (await Alert.get(id=alert.id)).condition_false_since is None
    await report(95, t0 + timedelta(hours=2))  # new batteries
    await sweep(settings, t0 + timedelta(hours=3))
    assert (await Alert.get(id=alert.id)).status == "ACTIVE"  # false for less than the hysteresis
    await report(95, t0 + timedelta(hours=20))
    await sweep(settings, t0 + timedelta(hours=3 + settings.iot_alert_clear_hours))
    assert (await Alert.get(id=alert.id)).status == "CLEARED"


@pytest.mark.database
def test_detect_cli_as_of(tmp_path, premigrated):
    """`rentwatch detect --as-of` through the real entry point, against a migrated database of its own."""
    import os
    import subprocess
    import sys
    import uuid

    from tests.support.db import on_postgres

    env = {**os.environ, "RW_VAR_DIR": str(tmp_path), "RW_LOG_LEVEL": "WARNING"}
    database = None
    if on_postgres():
        database = f"rwcli_{uuid.uuid4().hex[:8]}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c",
                        f"CREATE DATABASE {database}"], check=True, capture_output=True)
        env["RW_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    else:
        premigrated(tmp_path)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                              timeout=300)

    try:
        assert cli("migrate").returncode == 0
        done = cli("detect", "--as-of", "2026-11-01")
        assert done.returncode == 0, done.stderr[-2000:]
        stats = json.loads(done.stdout)
        # a day before yesterday (by the real clock) is a raise-only re-run: no sweep
        assert stats["as_of"] == "2026-11-01" and stats["units"] == 0 and stats["raise_only"] is True
        assert "sweep" not in stats
        query = "SELECT day FROM iot_detection_runs"
        if database:
            out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-tAc", query],
                                 check=True, capture_output=True, text=True).stdout.split()
        else:
            import sqlite3

            with sqlite3.connect(tmp_path / "rentwatch.sqlite3") as conn:
                out = [str(row[0]) for row in conn.execute(query)]
        assert out == ["2026-11-01"]
        bad = cli("detect", "--as-of", "yesterday")
        assert bad.returncode == 2 and "as-of" in bad.stderr
    finally:
        if database:
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c",
                            f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], capture_output=True)


_NOW = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
_DAY = timedelta(hours=25)


@pytest.mark.parametrize("last_seen,online,installed,registered,offline", [
    (_NOW - timedelta(hours=2), True, None, _NOW - timedelta(days=60), None),  # reported recently
    (_NOW - timedelta(hours=26), True, None, _NOW - timedelta(days=60), "silent since"),  # silent past the timeout
    (_NOW - timedelta(hours=2), False, None, _NOW - timedelta(days=60), "reported itself offline"),  # LWT
    (None, False, None, _NOW, "reported itself offline"),
    # never heard from: measured from registration, not from an installation date before it
    (None, None, _NOW - timedelta(days=40), _NOW - timedelta(minutes=5), None),
    (None, None, _NOW - timedelta(days=40), _NOW - timedelta(hours=26), "silent since"),
    (None, None, None, _NOW - timedelta(hours=26), "silent since"),
    (None, None, _NOW - timedelta(hours=1), _NOW - timedelta(days=3), None),  # installed after registration
])
def test_offline_because(last_seen, online, installed, registered, offline):
    from iot.rules import offline_because

    reason = offline_because(now=_NOW, timeout=_DAY, last_seen=last_seen, online=online, installed_at=installed,
                             registered_at=registered)
    assert (reason is None) if offline is None else reason.startswith(offline), reason


async def test_a_device_that_reported_offline_alerts_at_once_and_a_new_one_gets_time(world, settings):
    now = datetime.now(UTC)  # the registration time is the database's own (created_at)
    gone, _ = await register_device(DeviceIn(external_id="lwt-off", format=DeviceFormat.GENERIC, kind=DeviceKind.DOOR,
                                             unit_code=world.a.unit.code), None)
    fresh, _ = await register_device(DeviceIn(external_id="just-fitted", format=DeviceFormat.GENERIC,
                                              kind=DeviceKind.DOOR, unit_code=world.a.unit.code,
                                              installed_at=now - timedelta(days=40)), None)
    await Device.filter(id=gone.id).update(last_seen=now - timedelta(minutes=30), online=False)
    await sweep(settings, now)
    alerts = await Alert.filter(type=IotAlert.DEVICE_OFFLINE)
    assert [a.subject for a in alerts] == [f"device:{gone.id}"] and "reported itself offline" in alerts[0].explanation
    await sweep(settings, now + timedelta(hours=26))  # the new device has now been silent too long
    assert await Alert.filter(type=IotAlert.DEVICE_OFFLINE, subject=f"device:{fresh.id}").exists()


async def overcrowding_world(world, code, days):
    """Four ordinary tenants (the cohort) and a target unit (door + electricity) with 30 ordinary days before
    ``days``; returns (target, its devices)."""
    first = days[0] - timedelta(days=30)
    for n in range(4):
        unit = await tenanted(world.a.building, f"{code}-C{n}")
        await fill(unit, await devices_for(unit, f"{code}c{n}"), days_back(30 + len(days), days[-1]), "lived")
    target = await tenanted(world.a.building, code)
    devs = await devices_for(target, f"{code}t", kinds=(DeviceKind.DOOR, DeviceKind.ELECTRICITY))
    await fill(target, devs, days_back(30, first + timedelta(days=29)), "lived")
    return target, devs


async def judge(day, settings):
    return await run_detection(day, settings, now=local_day_end(day, SH) + timedelta(hours=2))


async def test_a_sustained_overcrowding_keeps_its_alert_while_the_visit_is_open(world, settings, client):
    days = days_back(40)
    target, devs = await overcrowding_world(world, "SZ-NS-A-OC", days)
    for day in days:
        await fill(target, devs, [day], "lived", scale=3.0)
    states = []
    for day in days:
        await judge(day, settings)
        states.append(await Alert.filter(type=IotAlert.SUSPECTED_SUBLET, unit_id=target.id).values_list(
            "status", flat=True))
    first = next(i for i, s in enumerate(states) if s)
    assert first < 7  # raised within the first week of overcrowding
    assert all(s == ["ACTIVE"] for s in states[first:]), states  # one alert, active for the remaining weeks
    alert = await Alert.get(type=IotAlert.SUSPECTED_SUBLET, unit_id=target.id)
    assert alert.evidence["holds_because"] == "inspection visit pending"
    assert alert.evidence["own_baseline"]["electricity"] < 6  # the ordinary days, not the overcrowded ones
    orders = await WorkOrder.filter(type=WorkOrderType.INSPECTION, unit_id=target.id)
    assert len(orders) == 1 and orders[0].trigger_ref == f"alert:{alert.id}"

    # the visit is done (a transition only): without its result the alert still holds
    order = orders[0]
    for status in ("IN_PROGRESS", "DONE"):
        resp = await client.post(f"/api/v1/work-orders/{order.id}/transition", headers=world.auth(world.a.inspector),
                                 content=json.dumps({"status": status}))
        assert resp[1].status == 200, resp[1].json
    nxt = AS_OF + timedelta(days=1)
    await fill(target, devs, [nxt], "lived", scale=3.0)
    await judge(nxt, settings)
    assert (await Alert.get(id=alert.id)).status == "ACTIVE"

    # not confirmed: the alert is resolved with the visit as evidence and the baseline counts from that day
    _, resp = await client.post(f"/api/v1/work-orders/{order.id}/visit-result", headers=world.auth(world.a.inspector),
                                content=json.dumps({"confirmed": False, "note": "家人同住，非转租"}))
    assert resp.status == 200 and resp.json["visit_result"] == "NOT_CONFIRMED", resp.json
    alert = await Alert.get(id=alert.id)
    assert alert.status == "RESOLVED" and alert.evidence["visit"]["work_order_id"] == order.id
    assert "非转租" in alert.resolution_note
    _, again = await client.post(f"/api/v1/work-orders/{order.id}/visit-result",
                                 headers=world.auth(world.a.inspector),
                                 content=json.dumps({"confirmed": True, "note": "changed my mind"}))
    assert again.status == 409 and again.json["error"]["code"] == "VISIT_RESULT_RECORDED"
    for k in (2, 3):
        later = AS_OF + timedelta(days=k)
        await fill(target, devs, [later], "lived", scale=3.0)
        await judge(later, settings)
    assert await Alert.filter(type=IotAlert.SUSPECTED_SUBLET, unit_id=target.id).count() == 1  # not re-raised
    assert await WorkOrder.filter(type=WorkOrderType.INSPECTION, unit_id=target.id).count() == 1


async def test_a_confirmed_sublet_goes_to_the_lease_manager(world, settings, client):
    days = days_back(7)
    target, devs = await overcrowding_world(world, "SZ-NS-A-CF", days)
    for day in days:
        await fill(target, devs, [day], "lived", scale=4.0)
    await judge(AS_OF, settings)
    alert = await Alert.get(type=IotAlert.SUSPECTED_SUBLET, unit_id=target.id)
    order = await WorkOrder.get(trigger_ref=f"alert:{alert.id}")
    _, resp = await client.post(f"/api/v1/work-orders/{order.id}/visit-result", headers=world.auth(world.a.inspector),
                                content=json.dumps({"confirmed": True, "note": "六人居住，二房东在场"}))
    assert resp.status == 200 and resp.json["task_id"], resp.json
    task = await WorkOrder.get(id=resp.json["task_id"])
    assert task.type == WorkOrderType.TASK and task.assignee_id == world.a.manager.id and task.unit_id == target.id
    assert (await WorkOrder.get(id=order.id)).status == "DONE"
    alert = await Alert.get(id=alert.id)
    assert alert.status == "ACKNOWLEDGED" and alert.evidence["visit"]["result"] == "CONFIRMED"
    for k in (1, 2, 3, 4):  # usage back to normal: a confirmed finding is closed by people, not by the sensor
        later = AS_OF + timedelta(days=k)
        await fill(target, devs, [later], "lived")
        await judge(later, settings)
    assert (await Alert.get(id=alert.id)).status == "ACKNOWLEDGED"
    _, resp = await client.post(f"/api/v1/work-orders/{task.id}/visit-result", headers=world.auth(world.a.manager),
                                content=json.dumps({"confirmed": True, "note": "x"}))
    assert resp.status == 409 and resp.json["error"]["code"] == "NOT_A_VISIT"


async def test_a_score_wavering_around_the_threshold_is_one_episode(world, settings):
    """Two heavy days, two ordinary ones, over and over: the 7-day mean crosses 2× the baseline and back every
    other day. With the visit cancelled only the score decides; it never stays below the clear level for
    ``iot_sublet_clear_days`` days, so the one alert holds and one inspection order is opened."""
    days = days_back(24)
    target, devs = await overcrowding_world(world, "SZ-NS-A-OS", days)
    for i, day in enumerate(days):
        await fill(target, devs, [day], "lived", scale=3.0 if i % 4 < 2 else 1.0)
    for day in days:
        await judge(day, settings)
        alert = await Alert.get_or_none(type=IotAlert.SUSPECTED_SUBLET, unit_id=target.id)
        if alert is not None:
            await WorkOrder.filter(trigger_ref=f"alert:{alert.id}").update(status=WorkOrderStatus.CANCELLED)
    alerts = await Alert.filter(type=IotAlert.SUSPECTED_SUBLET, unit_id=target.id)
    assert [a.status for a in alerts] == ["ACTIVE"]
    scores = list(alerts[0].evidence["episode"]["scores"].values())
    assert min(scores) < settings.iot_sublet_score_threshold <= max(scores)  # it did waver
    assert await WorkOrder.filter(type=WorkOrderType.INSPECTION, unit_id=target.id).count() == 1


async def test_a_change_only_door_with_live_availability_is_not_offline(world, settings):
    """Doors publish only when they move: a tenant away for 30 h leaves them quiet. Availability (Zigbee2MQTT's own
    check, a last will) and heartbeats (Tasmota tele/STATE) say whether they are alive; silence decides only for a
    door whose format says nothing else."""
    from iot.detection import device_health

    t0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    quiet = t0 - timedelta(hours=30)
    devices = {}
    for ext, fmt in (("door_z", DeviceFormat.ZIGBEE2MQTT), ("sw_t", DeviceFormat.TASMOTA),
                     ("door_g", DeviceFormat.GENERIC)):
        devices[ext], _ = await register_device(DeviceIn(external_id=ext, format=fmt, kind=DeviceKind.DOOR,
                                                         unit_code=world.a.occupied_unit.code), None)
    ingest = Ingestor(settings)
    await ingest.process([
        RawMessage("zigbee2mqtt/door_z", b'{"contact":true,"linkquality":144}', quiet),
        # retained: the broker replays it on subscribe — Zigbee2MQTT's current view of the device
        RawMessage("zigbee2mqtt/door_z/availability", b'{"state":"online"}', quiet, retain=True),
        RawMessage("tele/sw_t/LWT", b"Online", quiet, retain=True),
        RawMessage("tele/sw_t/SENSOR", b'{"Time":"2026-11-01T04:00:00","Switch1":"OFF"}', quiet),
        RawMessage("rentwatch/devices/door_g", b'{"door":"closed"}', quiet),
    ])
    await ingest.process([RawMessage("tele/sw_t/STATE", b'{"UptimeSec":108000}', t0 - timedelta(minutes=4))])
    stored = {d.external_id: d for d in await Device.filter(id__in=[d.id for d in devices.values()])}
    assert stored["door_z"].available is True and stored["door_z"].available_at == quiet
    assert stored["sw_t"].heartbeat_at == t0 - timedelta(minutes=4) and stored["sw_t"].available is True
    assert stored["door_g"].available is None

    async def offline() -> dict[str, str]:
        rows = await Alert.filter(type=IotAlert.DEVICE_OFFLINE, status="ACTIVE").values("subject", "explanation")
        ids = {f"device:{d.id}": ext for ext, d in devices.items()}
        return {ids[r["subject"]]: r["explanation"] for r in rows}

    await device_health(t0, settings)
    found = await offline()
    assert list(found) == ["door_g"] and "silent since" in found["door_g"]  # no availability: silence decides

    # Zigbee2MQTT says the door is gone; the Tasmota switch stops its heartbeats (hung, LWT still Online)
    await ingest.process([RawMessage("zigbee2mqtt/door_z/availability", b'{"state":"offline"}', t0)])
    await device_health(t0 + timedelta(minutes=20), settings)
    found = await offline()
    assert sorted(found) == ["door_g", "door_z", "sw_t"]
    assert "reported itself offline" in found["door_z"] and "heartbeats stopped" in found["sw_t"]


async def test_short_let_turnover_is_read_from_stays_and_cleanings(world, settings):
    """Short lets as they are run: two nights a guest, then a changeover day with a cleaner — no whole empty day
    between stays. The changeover day looks occupied by its totals; its rhythm (no evening, a short burst) shows it."""
    target = await tenanted(world.a.building, "SZ-NS-A-SL")
    devs = await devices_for(target, "sl")
    days = days_back(30)
    for i, day in enumerate(days):
        await fill(target, devs, [day], "changeover" if i % 3 == 2 else "lived")
    ordinary = await tenanted(world.a.building, "SZ-NS-A-OT")
    await fill(ordinary, await devices_for(ordinary, "ot"), days, "lived")
    await run_detection(AS_OF, settings)  # AS_OF is a changeover day (i = 29)
    changeover = await OccupancyDay.get(unit_id=target.id, day=AS_OF)
    assert changeover.state == Occupancy.OCCUPIED_LIKE  # by its totals: water and door in use
    alerts = await Alert.filter(type=IotAlert.SUSPECTED_SUBLET)
    assert [a.unit_id for a in alerts] == [target.id]
    reason = alerts[0].evidence["reasons"][0]
    assert "guest changes" in reason and "with a cleaning" in reason
