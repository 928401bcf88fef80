"""Console benchmark (issue 16): server time of the status board for a 500-unit building and of the unit page
with 90 days of readings (median over repeated requests, read from the app's Server-Timing header), against a
baseline measured in the same run (the sign-in page: a template render without queries); then the first render
in Debian's chromium (Navigation/Paint Timing, and until the unit's chart has drawn). Figures are printed, never
asserted (targets: < 50 ms server median, < 1 s first render).

Run: ``python bench/console_bench.py`` (SQLite in memory by default; RW_BENCH_DATABASE_URL=postgres://… for
PostgreSQL, a database that exists and may be emptied). ``--units`` and ``--repeat`` change the sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


async def seed(units: int):
    from accounts.choices import Role, StaffDuty
    from accounts.service import create_staff
    from leasing.choices import PaymentFrequency
    from leasing.service import create_lease, sign_lease
    from models.portfolio import Building, City, Unit
    from portfolio.choices import PropertyType, UnitStatus
    from tests.support.console_demo import seed_occupancy, seed_readings

    city = await City.create(code="SZ", name="深圳")
    building = await Building.create(city=city, code="SZ-BENCH", name="基准测试大厦", lat=22.53, lng=113.93)
    statuses = list(UnitStatus)
    rows = [Unit(building=building, code=f"SZ-BENCH-{n:04d}", name=f"{n}室", property_type=PropertyType.RESIDENTIAL,
                 area_m2=Decimal("45.00"), floor=n // 20 + 1, status=statuses[n % len(statuses)])
            for n in range(units)]
    await Unit.bulk_create(rows, batch_size=500)
    unit = await Unit.get(code="SZ-BENCH-0001")
    await seed_readings(unit, NOW, 90)
    await seed_occupancy(unit, NOW.date(), 90)
    lease = await create_lease(unit=unit, tenant_name="基准租户", tenant_phone="", start_date=date(2026, 1, 1),
                               end_date=date(2026, 12, 31), monthly_rent_fen=450000, deposit_fen=900000,
                               payment_frequency=PaymentFrequency.MONTHLY)
    manager = await create_staff(name="基准经理", role=Role.MANAGER, duties=[(building.id, StaffDuty.MANAGER)])
    await sign_lease(lease.id, now=NOW, actor_id=manager.id)
    return building, unit, manager


async def server_times(client, path: str, headers: dict, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        _, response = await client.get(path, headers=headers)
        assert response.status == 200, (path, response.status, response.text[:300])
        times.append(float(response.headers["server-timing"].split("dur=")[1]))
    return times


def line(name: str, times: list[float], baseline: float | None = None) -> str:
    median = statistics.median(times)
    ratio = f"  ×{median / baseline:.1f} baseline" if baseline else ""
    return f"  {name:<44} median {median:6.1f} ms  p90 {sorted(times)[int(len(times) * 0.9)]:6.1f} ms{ratio}"


async def browser_figures(app, building, unit, manager, profile: Path) -> None:
    from accounts.service import set_password
    from tests.support.browser import browser_context, chromium_path, first_render_ms, live_server, sign_in

    if not chromium_path():
        print("  browser: SKIPPED (Debian's chromium is not installed)")
        return
    await set_password(manager, "bench-password-1", now=NOW, login="bench-manager")
    async with live_server(app) as base, browser_context(profile) as context:
        page = await context.new_page()
        await sign_in(page, base, "bench-manager", "bench-password-1")
        for label, path in ((f"status board, {building.code}", f"/console/board?building={building.code}"),
                            ("unit page, 90 days", f"/console/units/{unit.code}?days=90")):
            figures = []
            for _ in range(3):
                await page.goto(base + path)
                if "units" in path:
                    await page.wait_for_selector(".unit-chart[data-rendered=true]")
                    charted = await page.evaluate("performance.now()")
                timing = await first_render_ms(page)
                if "units" in path:
                    timing["chart_drawn"] = charted
                figures.append(timing)
            best = {k: statistics.median(f[k] for f in figures) for k in figures[0]}
            print(f"  browser {label:<28} " + "  ".join(f"{k} {v:.0f} ms" for k, v in best.items()))


async def main(units: int, repeat: int) -> None:
    from sanic import Sanic
    from tortoise.contrib.test import tortoise_test_context

    from accounts.sessions import start_session
    from api.app import create_app
    from config.settings import Settings
    from core.changes import install_change_triggers
    from core.clock import ManualClock
    from models import MODEL_MODULES
    from tests.support.asgi import AppClient

    Sanic.test_mode = True
    url = os.environ.get("RW_BENCH_DATABASE_URL", "sqlite://:memory:")
    with tempfile.TemporaryDirectory() as tmp:
        async with tortoise_test_context(MODEL_MODULES, db_url=url):
            await install_change_triggers()
            building, unit, manager = await seed(units)
            settings = Settings(var_dir=Path(tmp), log_level="WARNING", cache_poll_seconds=0)
            app = create_app(settings, clock=ManualClock(NOW), manage_db=False, name="consolebench")
            token, row = await start_session(manager, now=NOW, hours=12)
            headers = {"Cookie": f"rw_console={token}"}
            client = AppClient(app)
            print(f"console bench on {url.split(':')[0]}: {units} units, 90 days of hourly readings, {repeat} requests")
            baseline = await server_times(client, "/console/login", {}, repeat)
            board = await server_times(client, f"/console/board?building={building.code}", headers, repeat)
            unit_page = await server_times(client, f"/console/units/{unit.code}?days=90", headers, repeat)
            chart = await server_times(client, f"/console/units/{unit.code}/chart?days=90", headers, repeat)
            base = statistics.median(baseline)
            print(line("baseline: sign-in page (no queries)", baseline))
            print(line(f"status board ({units}-unit building, one page)", board, base))
            print(line("unit page (history, work, 90-day chart)", unit_page, base))
            print(line("unit chart partial (htmx, 90 days)", chart, base))
            await client.aclose()
            app2 = create_app(settings, clock=ManualClock(NOW), manage_db=False, name="consolebench2")
            await browser_figures(app2, building, unit, manager, Path(tmp) / "profile")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.units, args.repeat))
