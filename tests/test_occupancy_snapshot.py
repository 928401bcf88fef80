"""Daily snapshots through the database: the planted portfolio's figures, back-fill from dated history,
idempotence, and a stale or failed source making the day incomplete — reports then show the previous complete
day with its reason, never 0 %, and a staff alert goes out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from alerts.choices import AlertStatus
from iot.choices import DeviceFormat, DeviceKind, Occupancy
from iot.service import DeviceIn, register_device
from models.accounts import User
from models.alerts import Alert
from models.iot import DetectionRun, Device, OccupancyDay
from models.leasing import Payment
from models.notifications import OutboxMessage
from models.occupancy import OccupancySnapshotDay, UnitDaySnapshot
from occupancy.choices import DayState, Source
from occupancy.jobs import ALERT_SNAPSHOT_INCOMPLETE, nightly_snapshot, run_snapshot
from occupancy.reports import Filters, day_report, month_report
from occupancy.snapshot import day_bounds
from occupancy.sources import SourceCheck, check_sources
from tests.support.occupancy_portfolio import D, build_planted

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, the morning after D


@pytest.fixture
async def planted(db):
    return await build_planted()


def by_code(report):
    """The figures of a report's total, or of one of its groups."""
    return {f["code"]: f for f in report.get("total", report)["figures"]}


async def test_planted_day_figures_differ_as_constructed(planted, settings):
    result = await run_snapshot(settings, D, NOW)
    assert result.state == DayState.COMPLETE and result.units == 12
    report = await day_report(D, Filters())
    assert report["complete"] and report["stale"] is None
    figures = by_code(report)
    assert (figures["EFFECTIVE"]["numerator"], figures["EFFECTIVE"]["denominator"]) == (3, 8)
    assert figures["EFFECTIVE"]["percent"] == "37.50%"
    assert (figures["SIGNED"]["numerator"], figures["SIGNED"]["denominator"]) == (4, 8)  # + A03 unpaid
    assert (figures["WITH_SHORT_STAYS"]["numerator"], figures["WITH_SHORT_STAYS"]["denominator"]) == (4, 8)  # + A04
    assert (figures["AREA"]["numerator"], figures["AREA"]["denominator"]) == (340, 745)
    assert figures["PHYSICAL"]["rate"] is None  # no sensors: no rate, not 0 %
    explained = report["total"]["explained"]
    assert explained["excluded_by_kind"] == {"TRIAL_STAY": 1, "PARTNERSHIP_SWAP": 1, "INTERNAL_USE": 1,
                                             "NON_COMPLIANT": 1}
    # drill-down: per city and per building add up; unit rows carry the facts
    cities = await day_report(D, Filters(), "city")
    assert sorted((g["label"], by_code(g)["EFFECTIVE"]["numerator"]) for g in cities["groups"]) == [
        ("杭州", 1), ("深圳", 2)]
    scoped = await day_report(D, Filters(building_ids=frozenset({planted.buildings["B"].id})), "unit")
    assert {row["unit_code"] for row in scoped["units"]} == {f"OC-B0{n}" for n in range(1, 6)}
    b01 = next(row for row in scoped["units"] if row["unit_code"] == "OC-B01")
    assert b01["first_rent_paid"] and b01["lease_state"] == "ACTIVE" and b01["counted"]["effective"]


async def test_backfill_reads_history_and_rerun_is_idempotent(planted, settings):
    before = date(2026, 9, 15)  # before any lease was signed or status changed
    result = await run_snapshot(settings, before, NOW)
    assert result.state == DayState.COMPLETE
    report = await day_report(before, Filters())
    figures = by_code(report)
    assert figures["EFFECTIVE"]["numerator"] == 0
    assert figures["EFFECTIVE"]["denominator"] == 11  # only B03 (non-compliant) is excluded then
    a06 = await UnitDaySnapshot.get(day=before, unit_id=planted.units["A06"].id)
    assert a06.status == "VACANT"  # the status history, not today's TRIAL_STAY
    await run_snapshot(settings, D, NOW)
    again = await run_snapshot(settings, D, NOW)
    assert again.skipped == "already complete"
    forced = await run_snapshot(settings, D, NOW, force=True)
    assert forced.state == DayState.COMPLETE and await UnitDaySnapshot.filter(day=D).count() == 12
    assert (await OccupancySnapshotDay.get(day=D)).runs == 2


async def test_stale_payment_feed_shows_the_previous_complete_day_with_its_reason(planted, settings):
    await User.create(name="总经理", role="EXECUTIVE")
    previous = D - timedelta(days=1)
    assert (await run_snapshot(settings, previous, NOW)).state == DayState.COMPLETE
    # the payment feed stops: the newest payment was recorded five days before D ends
    _, end = day_bounds(D, settings.business_timezone)
    await Payment.all().update(created_at=end - timedelta(days=5))
    result = await run_snapshot(settings, D, NOW)
    assert result.state == DayState.INCOMPLETE
    assert any(r.startswith("LEDGER_PAYMENTS: stale") for r in result.reasons)
    assert await UnitDaySnapshot.filter(day=D).count() == 0  # nothing partial is written
    report = await day_report(D, Filters())
    assert not report["complete"]
    assert report["period"]["day"] == previous.isoformat()
    assert report["stale"]["shown_day"] == previous.isoformat()
    assert "LEDGER_PAYMENTS" in report["stale"]["label"] and previous.isoformat() in report["stale"]["label"]
    assert by_code(report)["EFFECTIVE"]["numerator"] == 3  # the previous day's real figure, not 0 %
    alert = await Alert.get(type=ALERT_SNAPSHOT_INCOMPLETE)
    assert alert.status == AlertStatus.ACTIVE and "LEDGER_PAYMENTS" in alert.explanation
    assert await OutboxMessage.filter(kind="OCCUPANCY_INCOMPLETE").count() == 1
    # the month shows its complete day and lists D as missing with the reason
    month = await month_report("2026-11", Filters(), today=D + timedelta(days=1))
    assert month["period"]["complete_days"] == 0 and month["stale"]["shown_day"] == previous.isoformat()
    october = await month_report("2026-10", Filters(), today=D + timedelta(days=1))
    assert october["period"]["complete_days"] == 1 and len(october["period"]["days_missing"]) == 30
    # a second run while still stale: no second message; once the feed recovers the day completes, alert cleared
    await run_snapshot(settings, D, NOW + timedelta(hours=1))
    assert await OutboxMessage.filter(kind="OCCUPANCY_INCOMPLETE").count() == 1
    await Payment.all().update(created_at=end)
    done = await run_snapshot(settings, D, NOW + timedelta(hours=2))
    assert done.state == DayState.COMPLETE
    assert (await Alert.get(id=alert.id)).status == AlertStatus.CLEARED
    assert (await day_report(D, Filters()))["complete"]


async def test_iot_inference_not_run_makes_the_day_incomplete_until_it_runs(planted, settings):
    await register_device(DeviceIn(external_id="door-A05", format=DeviceFormat.GENERIC, kind=DeviceKind.DOOR,
                                   unit_code="OC-A05"), None)
    _, end = day_bounds(D, settings.business_timezone)
    await Device.all().update(last_seen=end - timedelta(hours=1))
    result = await run_snapshot(settings, D, NOW)
    assert result.state == DayState.INCOMPLETE
    assert [r for r in result.reasons if r.startswith(Source.IOT_DETECTION)] == [
        f"IOT_DETECTION: the occupancy inference of {D} has not run"]
    # no complete day at all: null figures with the reason, never 0 %
    report = await day_report(D, Filters())
    assert report["total"] is None and report["stale"]["shown_day"] is None
    assert "IOT_DETECTION" in report["stale"]["label"]
    await DetectionRun.create(day=D, started_at=end, finished_at=end + timedelta(minutes=1))
    await OccupancyDay.create(unit_id=planted.units["A05"].id, day=D, state=Occupancy.VACANT_LIKE, evidence={})
    assert (await run_snapshot(settings, D, NOW)).state == DayState.COMPLETE
    figures = by_code(await day_report(D, Filters()))
    assert (figures["PHYSICAL"]["numerator"], figures["PHYSICAL"]["denominator"]) == (0, 1)


async def test_a_source_that_raises_is_failed_not_the_job(planted, settings):
    async def broken(settings, day, day_end):
        raise RuntimeError("payment API changed: field 'amt' missing")

    async def fine(settings, day, day_end):
        return SourceCheck(Source.INSPECTIONS, True, "ok")

    _, end = day_bounds(D, settings.business_timezone)
    checks = await check_sources(settings, D, end, {Source.LEDGER_PAYMENTS: broken, Source.INSPECTIONS: fine})
    assert [(c.source, c.ok) for c in checks] == [(Source.LEDGER_PAYMENTS, False), (Source.INSPECTIONS, True)]
    assert "payment API changed" in checks[0].detail
    result = await run_snapshot(settings, D, NOW, checks={Source.LEDGER_PAYMENTS: broken})
    assert result.state == DayState.INCOMPLETE and "failed: RuntimeError" in result.reasons[0]


async def test_nightly_job_snapshots_yesterday_and_retries_incomplete_days(planted, settings):
    early = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)  # 01:00 on 11-02 in Shanghai: before the snapshot hour
    assert (await nightly_snapshot(settings, early))["ran"] is False
    await OccupancySnapshotDay.create(day=D - timedelta(days=2), state=DayState.INCOMPLETE, reasons=["x"],
                                      started_at=early, finished_at=early)
    out = await nightly_snapshot(settings, NOW)
    assert [d["day"] for d in out["days"]] == ["2026-10-30", "2026-11-01"]
    assert all(d["state"] == "COMPLETE" for d in out["days"])
    again = await nightly_snapshot(settings, NOW)
    assert [d.get("skipped") for d in again["days"]] == ["already complete"]


async def test_concurrent_runs_write_one_day_once(planted, settings):
    """Several instances snapshot the same day at once (on PostgreSQL in parallel, one connection each): the
    advisory lock makes the others skip, and the day has exactly one row per unit."""
    import asyncio

    from tests.support.db import on_postgres

    results = await asyncio.gather(*[run_snapshot(settings, D, NOW) for _ in range(4)])
    assert sum(r.state == DayState.COMPLETE and not r.skipped for r in results) >= 1
    assert await UnitDaySnapshot.filter(day=D).count() == 12
    assert (await OccupancySnapshotDay.get(day=D)).state == DayState.COMPLETE
    if on_postgres():
        assert any(r.skipped for r in results)
