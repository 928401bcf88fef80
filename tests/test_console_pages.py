"""Console pages through the real app: every page renders for the roles that may open it, shows only their
buildings, filters/sorts server-side, exports what it shows to XLSX, and the forms move real domain state."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from accounts.choices import Role
from alerts.choices import AlertStatus
from console.lists import XLSX_TYPE
from models.accounts import User
from models.alerts import Alert
from models.portfolio import Unit
from models.refunds import DepositRefund
from models.workorders import WorkOrder
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status
from refunds.choices import RefundStep
from workorders.choices import WorkOrderStatus

PAGES = ["/console/board", "/console/alerts", "/console/work-orders", "/console/leases/expiry",
         "/console/units/{unit}", "/console/units/{unit}/chart?days=90", "/console/refunds",
         "/console/devices/commissioning", "/console/devices/dead-letters", "/console/admin/staff"]
ADMIN_ONLY = {"/console/devices/commissioning", "/console/devices/dead-letters", "/console/admin/staff"}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.INSPECTOR, Role.EXECUTIVE])
async def test_every_page_renders_for_its_roles(client, world, role):
    user = world.user_for(role)
    headers = world.console_auth(user)
    for template in PAGES:
        path = template.format(unit=world.a.unit.code)
        _, response = await client.get(path, headers=headers)
        allowed = (role == Role.ADMIN or path not in ADMIN_ONLY) and not (
            path == "/console/refunds" and role == Role.INSPECTOR)
        assert response.status == (200 if allowed else 403), (path, response.status, response.text[-800:])
        if allowed and "chart" not in path:
            assert "<title>" in response.text and user.name in response.text


async def test_board_counts_stale_marks_and_scope(client, world, clock):
    headers = world.console_auth(world.a.manager)
    await Unit.filter(id=world.a.units[2].id).update(last_inspected_at=clock.now() - timedelta(days=1))
    _, response = await client.get("/console/board", headers=headers)
    text = response.text
    codes = set(re.findall(r'data-unit="([^"]+)"', text))
    assert codes == {u.code for u in world.a.units}  # building B's units are not on A's manager's board
    stale = set(re.findall(r'class="cell st-[a-z_]+ stale" data-unit="([^"]+)"', text))
    assert stale == {u.code for u in world.a.units} - {world.a.units[2].code}
    counts = dict(re.findall(r'data-status="([A-Z_]+)" href="[^"]*">[^<]+<b>(\d+)</b>', text))
    assert counts["VACANT"] == "3" and counts["PENDING_DELIVERY"] == "1" and counts["OCCUPIED"] == "0"
    _, only = await client.get("/console/board?status=PENDING_DELIVERY", headers=headers)
    assert set(re.findall(r'data-unit="([^"]+)"', only.text)) == {world.a.occupied_unit.code}


async def test_board_for_the_whole_portfolio_paginates_and_exports_every_page(client, world, settings):
    settings.console_board_page_size = 3
    headers = world.console_auth(world.executive)
    _, first = await client.get("/console/board?sort=-code", headers=headers)
    shown = re.findall(r'data-unit="([^"]+)"', first.text)
    all_codes = sorted([u.code for u in world.a.units + world.b.units], reverse=True)
    assert shown == all_codes[:3] and "第 1 / 3 页" in first.text
    _, export = await client.get("/console/board?sort=-code&format=xlsx", headers=headers)
    assert export.status == 200 and export.headers["content-type"] == XLSX_TYPE
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "房源编号" and [r[0] for r in rows[1:]] == all_codes
    assert rows[1][4] in {"空置", "待交付"}  # the status machine's labels, not codes


async def test_unknown_sort_key_is_a_clear_error(client, world):
    _, response = await client.get("/console/board?sort=password_hash", headers=world.console_auth(world.admin))
    assert response.status == 422 and "cannot sort by password_hash" in response.text


async def test_alert_acknowledged_over_htmx_leaves_the_active_queue(client, world):
    headers = {**world.console_auth(world.a.manager), "HX-Request": "true"}
    alert = world.a.extra["alert"]
    _, queue = await client.get("/console/alerts", headers=headers)
    assert f'data-alert="{alert.id}"' in queue.text and f'data-alert="{world.b.extra["alert"].id}"' not in queue.text
    _, response = await client.post(f"/console/alerts/{alert.id}/acknowledge", headers=headers,
                                    data={"note": "已联系巡检", "queue_status": "ACTIVE"})
    assert response.status == 200 and response.text == ""
    stored = await Alert.get(id=alert.id)
    assert stored.status == AlertStatus.ACKNOWLEDGED and stored.acknowledged_by_id == world.a.manager.id
    _, queue = await client.get("/console/alerts", headers=headers)
    assert f'data-alert="{alert.id}"' not in queue.text
    _, response = await client.post(f"/console/alerts/{alert.id}/resolve", headers=headers, data={"note": ""})
    assert response.status == 422
    _, response = await client.post(f"/console/alerts/{alert.id}/resolve", headers=headers,
                                    data={"note": "现场核实无异常", "queue_status": "ACKNOWLEDGED"})
    assert response.status == 200 and (await Alert.get(id=alert.id)).status == AlertStatus.RESOLVED


EXPORTS = {"/console/board": "status-board", "/console/alerts": "alerts", "/console/work-orders": "work-orders",
           "/console/leases/expiry": "lease-expiry", "/console/refunds": "refunds",
           "/console/devices/commissioning": "commissioning", "/console/devices/dead-letters": "dead-letters",
           "/console/admin/staff": "staff"}


async def test_every_list_export_is_audited(client, world):
    """An XLSX export is a privileged action: who took which list, for which buildings, how many rows."""
    from audit.choices import AuditAction
    from console.lists import CONSOLE_EXPORT
    from models.audit import AuditEvent

    assert set(EXPORTS) == {p for p in PAGES if "{unit}" not in p}  # every list page of the console
    for path, name in EXPORTS.items():
        _, export = await client.get(f"{path}?format=xlsx", headers={**world.console_auth(world.admin),
                                                                      "X-Request-Id": f"export-{name}"})
        assert export.status == 200 and export.headers["content-type"] == XLSX_TYPE, path
        data_rows = load_workbook(io.BytesIO(export.content)).active.max_row - 1
        event = await AuditEvent.get(action=AuditAction.EXPORT, target_id=name)
        assert (event.target_type, event.actor_id, event.request_id) == (CONSOLE_EXPORT, world.admin.id,
                                                                          f"export-{name}")
        assert event.details == {"format": "xlsx", "building_ids": None, "rows": data_rows}, path
    _, scoped = await client.get("/console/board?format=xlsx", headers=world.console_auth(world.a.manager))
    assert scoped.status == 200
    event = await AuditEvent.filter(action=AuditAction.EXPORT, actor_id=world.a.manager.id).get()
    assert event.details["building_ids"] == [world.a.building.id]
    before = await AuditEvent.filter(action=AuditAction.EXPORT).count()
    _, refused = await client.get("/console/admin/staff?format=xlsx", headers=world.console_auth(world.a.inspector))
    assert refused.status == 403 and await AuditEvent.filter(action=AuditAction.EXPORT).count() == before


async def test_error_page_shows_the_request_id(client, world):
    """The id a user reads off the page is the one in the response header and the access log line."""
    headers = {**world.console_auth(world.a.inspector), "X-Request-Id": "page-err-1"}
    _, response = await client.get("/console/admin/staff", headers=headers)
    assert response.status == 403 and response.headers["x-request-id"] == "page-err-1"
    assert 'class="request-id">page-err-1<' in response.text
    _, fragment = await client.post(f"/console/alerts/{world.a.extra['alert'].id}/acknowledge",
                                    headers={**headers, "HX-Request": "true"}, data={"note": "x"})
    assert fragment.status == 403 and 'data-request-id="page-err-1"' in fragment.text


async def test_inspectors_are_read_only(client, world):
    headers = world.console_auth(world.a.inspector)
    _, response = await client.post(f"/console/alerts/{world.a.extra['alert'].id}/acknowledge", headers=headers,
                                    data={"note": "x"})
    assert response.status == 403
    _, page = await client.get("/console/alerts", headers=headers)
    assert "acknowledge" not in page.text


async def test_work_orders_sla_countdown_assign_and_close(client, world, clock):
    headers = world.console_auth(world.a.manager)
    order = world.a.extra["cleaning_order"]
    await WorkOrder.filter(id=order.id).update(due_at=clock.now() - timedelta(hours=6))  # SLA passed 6 h ago
    _, page = await client.get("/console/work-orders", headers=headers)
    row = re.search(rf'<tr id="wo-{order.id}" class="([^"]*)".*?</tr>', page.text, re.S)
    assert "overdue" in row.group(1) and "逾期 6小时0分" in row.group(0)
    _, response = await client.post(f"/console/work-orders/{order.id}/assign", headers=headers,
                                    data={"assignee_id": str(world.b.inspector.id)})
    assert response.status == 422 and "ASSIGNEE_NOT_IN_BUILDING" in response.text
    _, response = await client.post(f"/console/work-orders/{order.id}/assign", headers=headers,
                                    data={"assignee_id": str(world.a.manager.id)})
    assert response.status == 303 and (await WorkOrder.get(id=order.id)).assignee_id == world.a.manager.id
    _, response = await client.post(f"/console/work-orders/{order.id}/close", headers=headers,
                                    data={"note": "已保洁"})
    assert response.status == 303 and (await WorkOrder.get(id=order.id)).status == WorkOrderStatus.DONE
    _, export = await client.get("/console/work-orders?open=false&format=xlsx", headers=headers)
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [o.id for o in await WorkOrder.filter(building_id=world.a.building.id)
                                        .order_by("due_at", "id")]


async def test_refund_card_moves_and_its_red_flag_clears(client, world, clock):
    refund = world.a.extra["refund"]
    await DepositRefund.filter(id=refund.id).update(step=RefundStep.INSPECTED, version=2,
                                                    step_entered_at=clock.now() - timedelta(hours=60))
    headers = world.console_auth(world.a.finance)
    _, board = await client.get("/console/refunds", headers=headers)
    card = re.search(rf'<article class="card([^"]*)" id="refund-{refund.id}"', board.text)
    assert " red" in card.group(1) and "¥200.00" in board.text and "¥9,000.00" in board.text
    _, response = await client.post(f"/console/refunds/{refund.id}/settle", headers=headers, data={})
    assert response.status == 303
    moved = await DepositRefund.get(id=refund.id)
    assert moved.step == RefundStep.SETTLED and moved.refund_fen == 900000 - 20000
    _, board = await client.get("/console/refunds", headers=headers)
    card = re.search(rf'<section class="lane" data-step="SETTLED">.*?id="refund-{refund.id}" data-refund="\d+" '
                     r'data-red="(\w+)"', board.text, re.S)
    assert card and card.group(1) == "false"
    _, response = await client.post(f"/console/refunds/{refund.id}/approve", headers=headers, data={})
    assert response.status == 403  # approving is the manager's step
    _, response = await client.post(f"/console/refunds/{refund.id}/approve",
                                    headers=world.console_auth(world.a.manager), data={})
    assert response.status == 303 and (await DepositRefund.get(id=refund.id)).step == RefundStep.APPROVED


async def test_staff_invite_gives_a_one_time_password_that_signs_in(client, world):
    from tests.support.console import sign_in

    headers = world.console_auth(world.admin)
    _, response = await client.post("/console/admin/staff", headers=headers, data={
        "name": "新财务", "login": "NewFin", "role": "FINANCE", "duty": [f"{world.b.building.id}:FINANCE"]})
    assert response.status == 201
    password = re.search(r'class="secret">([^<]+)<', response.text).group(1)
    user = await User.get(login="newfin")
    assert user.role == Role.FINANCE and user.password_hash.startswith("$argon2id$")
    signed, new_headers = await sign_in(client, "newfin", password)
    assert signed.status == 303
    _, board = await client.get("/console/board", headers=new_headers)
    assert world.b.building.name in board.text and world.a.building.name not in board.text
    _, response = await client.post(f"/console/admin/staff/{user.id}", headers=headers, data={
        "role": "MANAGER", "duty": [f"{world.a.building.id}:MANAGER"]})
    assert response.status == 200
    _, board = await client.get("/console/board", headers=new_headers)
    assert world.a.building.name in board.text and world.b.building.name not in board.text


async def test_lease_expiry_calendar_shows_tiers_and_tasks(client, world, clock):
    from datetime import date

    from models.leasing import Lease
    from reminders.service import run_lease_reminders

    await Lease.filter(id=world.a.lease.id).update(end_date=date(2026, 12, 20))  # 48 days after the world's now
    await run_lease_reminders(client.sanic_app.ctx.settings, clock.now())
    _, page = await client.get("/console/leases/expiry", headers=world.console_auth(world.a.manager))
    row = re.search(rf'<tr class="([^"]*)" data-lease="{world.a.lease.id}">(.*?)</tr>', page.text, re.S)
    assert row and "tier-60" in row.group(1) and "租约60天到期" in row.group(2) and "60天 #" in row.group(2)
    assert "2026年12月" in page.text and "¥4,500.00" in row.group(2)


async def test_commissioning_bind_registers_the_device(client, world):
    from models.iot import CommissioningEntry, Device

    entry = await CommissioningEntry.create(format="GENERIC", external_id="unknown-door-1",
                                            topic="rw/generic/unknown-door-1", sample_payload='{"contact": false}',
                                            first_seen=world.now, last_seen=world.now)
    _, page = await client.get("/console/devices/commissioning", headers=world.console_auth(world.admin))
    assert 'value="unknown-door-1"' in page.text
    _, response = await client.post("/console/devices/commissioning/bind", headers=world.console_auth(world.admin),
                                    data={"format": "GENERIC", "external_id": "unknown-door-1", "kind": "DOOR",
                                          "unit_code": world.b.unit.code})
    assert response.status == 303
    device = await Device.get(external_id=entry.external_id)
    assert device.unit_id == world.b.unit.id and not await CommissioningEntry.filter(id=entry.id).exists()


async def test_unit_page_shows_history_and_chart_data(client, world, clock):
    unit = world.a.unit
    await change_unit_status(unit.id, UnitStatus.OFF_MARKET, source=StatusSource.ADMIN, now=clock.now(),
                             actor_id=world.a.manager.id, reason="装修前下架")
    _, page = await client.get(f"/console/units/{unit.code}?days=90", headers=world.console_auth(world.a.manager))
    assert "装修前下架" in page.text and 'data-points="90"' in page.text and "data-chart='{" in page.text
    _, other = await client.get(f"/console/units/{world.b.unit.code}", headers=world.console_auth(world.a.manager))
    assert other.status == 404
