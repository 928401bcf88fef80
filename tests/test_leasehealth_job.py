"""Lease health on a real database: the levels from the ledger, the change history and the unit's work orders;
each finding raised once per period with the seed's action as a work order, whatever the job's runs; the API in
the caller's buildings; the monthly report and its XLSX."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from leasehealth.choices import HealthLevel, Indicator
from leasehealth.jobs import lease_health_daily
from leasehealth.service import HealthConfig, lease_health, run_health
from models.leasehealth import LeaseHealthFlag
from models.leasing import LedgerJobRun
from models.workorders import WorkOrder
from reminders.scheduler import resolve_job
from tests.support.leasehealth_helpers import add_changes, add_orders, at, lease_paying
from workorders.choices import TriggerSource, WorkOrderType

AS_OF = date(2026, 12, 20)


@pytest.fixture
def cfg(settings):
    return HealthConfig.from_settings(settings)


async def troubled(world):
    """Building A: every due since 10-01 paid 15 days late (4 deviations in Q4), three changes in 2026, six
    repairs in December → RED with all three findings."""
    lease = await lease_paying(world.a, start=date(2026, 10, 1), until=AS_OF, days_late=15)
    await add_changes(lease, [date(2026, 10, 10), date(2026, 11, 10), date(2026, 12, 10)])
    await add_orders(world.a, lease, [date(2026, 12, d) for d in range(1, 7)])
    return lease


async def test_levels_and_findings_with_evidence(world, cfg):
    lease = await troubled(world)
    punctual = await lease_paying(world.b, start=date(2026, 10, 1), until=AS_OF, days_late=0, name="准时乙")
    body = await lease_health(lease.id, cfg, AS_OF, None)
    assert body["level"] == "RED" and body["counts"] == {"PAYMENT_DEVIATIONS": 4, "CONTRACT_CHANGES": 3,
                                                         "WORK_ORDERS": 6}
    findings = {f["indicator"]: f for f in body["findings"]}
    assert {k: (f["period"], f["level"], f["action"]) for k, f in findings.items()} == {
        "PAYMENT_DEVIATIONS": ("2026Q4", "YELLOW", "安排专人回访,核实支付障碍"),
        "CONTRACT_CHANGES": ("2026", "RED", "启动客户关系复盘会议"),
        "WORK_ORDERS": ("2026-12", "ORANGE", "派工程师现场勘查环境适配性")}
    # the deposit and the first rent were due 10-01 and paid 10-16: 8 working days after 国庆
    first = findings["PAYMENT_DEVIATIONS"]["evidence"][0]
    assert first["due_date"] == "2026-10-01" and first["paid_on"] == "2026-10-16" and first["working_days_late"] == 8
    assert [e["reason"] for e in findings["CONTRACT_CHANGES"]["evidence"]] == ["变更1", "变更2", "变更3"]
    assert len(findings["WORK_ORDERS"]["evidence"]) == 6
    assert (await lease_health(punctual.id, cfg, AS_OF, None))["level"] == "GREEN"
    # out of scope: not found
    with pytest.raises(Exception, match="lease not found"):
        await lease_health(lease.id, cfg, AS_OF, frozenset({world.b.building.id}))


async def test_each_finding_raised_once_per_period(world, cfg):
    lease = await troubled(world)
    for hour in (2, 14):
        await run_health(cfg, at(AS_OF, hour))
    await run_health(cfg, at(date(2026, 12, 28)))
    flags = await LeaseHealthFlag.filter(lease_id=lease.id).order_by("indicator")
    assert [(f.indicator, f.period, f.level, f.count) for f in flags] == [
        (Indicator.CONTRACT_CHANGES, "2026", HealthLevel.RED, 3),
        (Indicator.PAYMENT_DEVIATIONS, "2026Q4", HealthLevel.YELLOW, 4),
        (Indicator.WORK_ORDERS, "2026-12", HealthLevel.ORANGE, 6)]
    orders = await WorkOrder.filter(trigger_source=TriggerSource.LEASE_HEALTH, unit_id=lease.unit_id).order_by("id")
    assert len(orders) == 3 and {o.id for o in orders} == {f.work_order_id for f in flags}
    kinds = {o.trigger_ref.split(":")[2]: o for o in orders}
    assert kinds["WORK_ORDERS"].type == WorkOrderType.INSPECTION  # 派工程师现场勘查: a site visit
    assert kinds["PAYMENT_DEVIATIONS"].type == WorkOrderType.TASK
    assert "安排专人回访" in kinds["PAYMENT_DEVIATIONS"].title
    assert all(o.assignee_id for o in orders)
    # our own inspection is not one of the unit's linked work orders
    assert (await lease_health(lease.id, cfg, AS_OF, None))["counts"]["WORK_ORDERS"] == 6
    # one more repair later in the month refreshes the evidence, raises nothing new
    await add_orders(world.a, lease, [date(2026, 12, 29)])
    await run_health(cfg, at(date(2026, 12, 30)))
    flag = await LeaseHealthFlag.get(lease_id=lease.id, indicator=Indicator.WORK_ORDERS)
    assert flag.count == 7 and len(flag.evidence) == 7
    assert await WorkOrder.filter(trigger_source=TriggerSource.LEASE_HEALTH, unit_id=lease.unit_id).count() == 3
    # a new month with six more repairs is a new period: raised again, once
    await add_orders(world.a, lease, [date(2027, 1, d) for d in range(4, 10)])
    await run_health(cfg, at(date(2027, 1, 15)))
    await run_health(cfg, at(date(2027, 1, 16)))
    assert await LeaseHealthFlag.filter(lease_id=lease.id, indicator=Indicator.WORK_ORDERS).count() == 2


async def test_daily_job_runs_once_a_day(world, settings):
    lease = await troubled(world)
    job = resolve_job("lease_health")
    assert job is lease_health_daily
    first = await job(settings, at(AS_OF))
    assert first["lease_health"]["ran"] is True and first["lease_health"]["raised"] >= 3
    again = await job(settings, at(AS_OF, 12))
    assert again["lease_health"] == {"ran": False, "reason": "already ran for 2026-12-20"}
    assert await LedgerJobRun.filter(job="lease_health_daily", period="2026-12-20").exists()
    assert await LeaseHealthFlag.filter(lease_id=lease.id).count() == 3


async def test_api_scope_report_and_xlsx(world, client, clock):
    lease = await troubled(world)
    clock.set(at(AS_OF))
    world.now = clock.now()  # tokens issued at the moved clock
    _, listed = await client.get("/api/v1/lease-health/leases?level=RED", headers=world.auth(world.a.finance))
    assert listed.status == 200, listed.text
    assert [row["lease_id"] for row in listed.json["items"]] == [lease.id]
    _, other = await client.get("/api/v1/lease-health/leases", headers=world.auth(world.b.finance))
    assert lease.id not in [row["lease_id"] for row in other.json["items"]]
    _, missing = await client.get(f"/api/v1/lease-health/leases/{lease.id}", headers=world.auth(world.b.manager))
    assert missing.status == 404
    _, detail = await client.get(f"/api/v1/lease-health/leases/{lease.id}", headers=world.auth(world.a.manager))
    assert detail.status == 200 and detail.json["level"] == "RED"
    listed_row = next(r for r in listed.json["items"] if r["lease_id"] == lease.id)
    assert {k: v for k, v in detail.json.items() if k != "flags"} == listed_row
    _, future = await client.get("/api/v1/lease-health/leases?as_of=2027-01-01", headers=world.auth(world.admin))
    assert future.status == 422 and future.json["error"]["code"] == "VALIDATION_ERROR"

    _, report = await client.get("/api/v1/lease-health/reports/2026-12", headers=world.auth(world.admin))
    assert report.status == 200, report.text
    body = report.json
    assert body["title"] == "租约健康度报告" and body["as_of"] == "2026-12-20" and body["complete"] is False
    assert body["levels"]["RED"] == 1
    row = next(r for r in body["items"] if r["lease_id"] == lease.id)
    assert row["building_id"] == world.a.building.id and row["city"] == world.a.city.name
    by_building = {b["building_id"]: b for b in body["by_building"]}
    assert by_building[world.a.building.id]["levels"]["RED"] == 1
    assert sum(c["leases"] for c in body["by_city"]) == body["leases"]
    _, scoped = await client.get("/api/v1/lease-health/reports/2026-12", headers=world.auth(world.b.finance))
    assert lease.id not in [r["lease_id"] for r in scoped.json["items"]]

    _, xlsx = await client.get("/api/v1/lease-health/reports/2026-12/export.xlsx", headers=world.auth(world.admin))
    assert xlsx.status == 200
    book = load_workbook(io.BytesIO(xlsx.body))
    assert book.sheetnames == ["汇总", "楼宇", "城市", "明细"]
    detail_rows = [r for r in book["明细"].iter_rows(values_only=True) if r[5] == lease.id]
    assert {r[6] for r in detail_rows} == {"履约偏差", "合同变更", "关联工单"}
    assert any("迟8个工作日" in (r[11] or "") for r in detail_rows)
    from audit.choices import AuditAction
    from models.audit import AuditEvent

    event = await AuditEvent.get(action=AuditAction.EXPORT)  # an export is a privileged action: audited
    assert (event.target_type, event.target_id, event.actor_id) == ("lease_health_report", "2026-12", world.admin.id)
    assert event.details == {"format": "xlsx", "building_ids": None}

    for bad in ("2026-13", "26-12", "2026-1"):
        _, refused = await client.get(f"/api/v1/lease-health/reports/{bad}", headers=world.auth(world.admin))
        assert refused.status == 422 and refused.json["error"]["code"] == "INVALID_MONTH", bad
    _, ahead = await client.get("/api/v1/lease-health/reports/2027-02", headers=world.auth(world.admin))
    assert ahead.status == 422
