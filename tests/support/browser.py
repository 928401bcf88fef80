"""Real-browser tests: Debian's chromium driven by Playwright for Python through ``executable_path`` (nothing
downloads a browser), against the real app served on a loopback port inside the test's event loop (so the
test's database, world and injected clock are the server's too)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
SCREENSHOTS = Path(os.environ.get("RW_SCREENSHOT_DIR", "var/screenshots"))


def chromium_path() -> str | None:
    explicit = os.environ.get("RW_CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    path = chromium_path()
    if not path:
        pytest.skip("SKIPPED: Debian's chromium is not installed (scripts/test.sh installs it when run as root)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def live_server(app):
    """Serve ``app`` on 127.0.0.1:<free port> in this event loop; yields the base URL."""
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    task = asyncio.create_task(server.serve_forever())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        await server.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.after_stop()


@asynccontextmanager
async def browser_context(profile_dir: Path):
    """A fresh Chromium profile (user-data-dir) per test."""
    from playwright.async_api import async_playwright

    executable = require_chromium()
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile_dir), executable_path=executable, headless=True, args=CHROMIUM_ARGS, locale="zh-CN",
            timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 900})
        context.set_default_timeout(15000)
        try:
            yield context
        finally:
            await context.close()


async def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def sign_in(page, base: str, login: str, password: str) -> None:
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console/board**")


async def first_render_ms(page) -> dict[str, float]:
    """The browser's own timing of the last navigation (Navigation Timing and Paint Timing)."""
    return await page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        return {dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
                first_contentful_paint: fcp ? fcp.startTime : -1, server_response: nav.responseEnd - nav.requestStart};
    }""")
