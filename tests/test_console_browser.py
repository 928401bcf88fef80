"""The console in a real browser (Debian's chromium through Playwright's executable_path): sign in, the status
board, a unit's chart (non-empty canvas, a series with the expected points), acknowledging an alert, moving a
refund card, and refusals for an inspector (another building) and a tenant (everything). Screenshots land in
var/screenshots/ for people to look at."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.service import set_password
from console.sessions import COOKIE_NAME
from models.refunds import DepositRefund
from refunds.choices import RefundStep
from tests.support.browser import browser_context, first_render_ms, live_server, require_chromium, screenshot, sign_in
from tests.support.console_demo import seed_occupancy, seed_readings

PASSWORD = "browser-test-2026"
CANVAS_INK = """(el) => {
    const canvas = el.querySelector('canvas');
    const ctx = canvas.getContext('2d');
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { ink++; } }
    return ink;
}"""
SERIES = """(el) => echarts.getInstanceByDom(el).getOption().series.map(s => ({name: s.name, data: s.data,
    areas: (s.markArea && s.markArea.data || []).length, lines: (s.markLine && s.markLine.data || []).length}))"""



@pytest.fixture(autouse=True)
def _chromium():
    require_chromium()


async def test_manager_board_unit_chart_and_alert_queue(app, world, clock, tmp_path):
    unit = world.a.unit
    await set_password(world.a.manager, PASSWORD, now=clock.now(), login="manager-a")
    expected = await seed_readings(unit, clock.now(), 90)
    await seed_occupancy(unit, clock.now().date(), 30)
    alert = world.a.extra["alert"]
    async with live_server(app) as base, browser_context(tmp_path / "profile") as context:
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await page.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                                   "'CSP violation', e.violatedDirective, e.sourceFile, e.lineNumber))")
        await sign_in(page, base, "manager-a", PASSWORD)
        cookie = next(c for c in await context.cookies() if c["name"] == COOKIE_NAME)
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
        cells = page.locator(".grid a.cell")
        assert await cells.count() == len(world.a.units)
        assert await page.locator(f'a.cell[data-unit="{world.b.unit.code}"]').count() == 0
        print("status board first render (ms):", await first_render_ms(page))
        await screenshot(page, "01-status-board")

        await page.click(f'a.cell[data-unit="{unit.code}"]')
        await page.wait_for_selector(".unit-chart[data-rendered=true]")
        chart = page.locator(".unit-chart")
        assert await chart.evaluate(CANVAS_INK) > 1000
        series = await chart.evaluate(SERIES)
        assert [s["name"] for s in series] == ["用电 kWh", "用水 m³", "开门次数"]
        assert series[0]["data"] == expected["ELECTRICITY"][-30:] and series[2]["data"] == expected["DOOR"][-30:]
        assert series[0]["areas"] >= 1 and series[0]["lines"] == 1  # occupancy shading, the alert's onset
        print("unit page first render (ms):", await first_render_ms(page))
        await screenshot(page, "02-unit-30-days")
        await page.click("#chart-panel .tabs a:text('90 天')")
        await page.wait_for_selector(".unit-chart[data-days='90'][data-rendered=true]")
        series = await page.locator(".unit-chart").evaluate(SERIES)
        assert series[0]["data"] == expected["ELECTRICITY"] and len(series[1]["data"]) == 90
        assert page.url.endswith("?days=90")
        await screenshot(page, "03-unit-90-days")

        await page.goto(f"{base}/console/alerts")
        row = page.locator(f'tbody[data-alert="{alert.id}"]')
        await row.locator("form").first.locator("input[name=note]").fill("已安排上门核查")
        await screenshot(page, "04-alert-queue")
        await row.locator("button.ack").click()
        await row.wait_for(state="detached")
        assert await page.locator(f'tbody[data-alert="{alert.id}"]').count() == 0
        await page.reload()
        assert await page.locator(f'tbody[data-alert="{alert.id}"]').count() == 0
        await page.goto(f"{base}/console/alerts?status=ACKNOWLEDGED")
        assert await page.locator(f'tbody[data-alert="{alert.id}"]').count() == 1
        await screenshot(page, "05-alert-acknowledged")
        assert not errors, errors  # no CSP violation, no failed resource, no script error


async def test_finance_moves_a_red_refund_card(app, world, clock, tmp_path):
    refund = world.a.extra["refund"]
    await DepositRefund.filter(id=refund.id).update(step=RefundStep.INSPECTED, version=2,
                                                    step_entered_at=clock.now() - timedelta(hours=60))
    await set_password(world.a.finance, PASSWORD, now=clock.now(), login="finance-a")
    async with live_server(app) as base, browser_context(tmp_path / "profile") as context:
        page = await context.new_page()
        await sign_in(page, base, "finance-a", PASSWORD)
        await page.goto(f"{base}/console/refunds")
        card = page.locator(f"#refund-{refund.id}")
        assert await card.get_attribute("data-red") == "true"
        assert await page.locator(f'.lane[data-step="INSPECTED"] #refund-{refund.id}').count() == 1
        await screenshot(page, "06-refunds-red-flag")
        await card.locator("button.move").click()
        await page.wait_for_selector(f'.lane[data-step="SETTLED"] #refund-{refund.id}')
        assert await page.locator(f"#refund-{refund.id}").get_attribute("data-red") == "false"
        assert await page.locator("#red-count").inner_text() == "0"
        await screenshot(page, "07-refunds-card-moved")


async def test_inspector_and_tenant_are_refused(app, world, clock, tmp_path):
    await set_password(world.a.inspector, PASSWORD, now=clock.now(), login="inspector-a")
    async with live_server(app) as base, browser_context(tmp_path / "profile") as context:
        page = await context.new_page()
        await sign_in(page, base, "inspector-a", PASSWORD)
        assert "只读" in await page.locator(".me").inner_text()
        response = await page.goto(f"{base}/console/units/{world.b.unit.code}")
        assert response.status == 404 and await page.locator(".error-page h1").inner_text() == "未找到"
        await screenshot(page, "08-inspector-other-building")
        response = await page.goto(f"{base}/console/units/{world.a.unit.code}")
        assert response.status == 200 and await page.locator("form[action*=acknowledge]").count() == 0

        await context.clear_cookies()
        token, _ = world.console[world.a.tenant_user.id]
        await context.add_cookies([{"name": COOKIE_NAME, "value": token, "url": base}])
        for path in ("/console/board", f"/console/units/{world.a.occupied_unit.code}", "/console/alerts",
                     "/console/refunds", "/console/work-orders", "/console/leases/expiry", "/console/admin/staff"):
            response = await page.goto(base + path)
            assert response.status == 403, path
        assert await page.locator(".error-page h1").inner_text() == "无权访问"
        await screenshot(page, "09-tenant-refused")
        await context.clear_cookies()
        response = await page.goto(f"{base}/console/alerts")
        assert page.url.startswith(f"{base}/console/login") and response.status == 200
