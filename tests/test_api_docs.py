"""/docs: Swagger UI served from the app's own vendored files (no CDN), under the same strict policy as every other
document, and working in a real browser with nothing fetched from another origin."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tests.support.browser import browser_context, live_server, require_chromium

VERSIONS = Path(__file__).resolve().parent.parent / "console/static/vendor/VERSIONS.txt"


def references(body: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', body)


def vendored_sums() -> dict[str, str]:
    sums = {}
    for line in VERSIONS.read_text().splitlines():
        name, _version, file, _integrity, digest = line.split()
        sums[f"{name}/{Path(file).name}"] = digest.removeprefix("sha256:")
    return sums


async def test_docs_page_references_only_files_the_app_serves_itself(client, db):
    sums = vendored_sums()
    for path in ("/docs", "/docs/swagger"):
        _, response = await client.get(path)
        assert response.status == 200 and response.headers["content-type"].startswith("text/html")
        body = response.text
        assert "//" not in body.replace("<!DOCTYPE html>", ""), "no absolute or protocol-relative URL"
        refs = references(body)
        assert any("swagger-ui-bundle.js" in ref for ref in refs) and any("swagger-ui.css" in ref for ref in refs)
        for ref in refs:
            assert ref.startswith("/console/static/"), ref
            _, asset = await client.get(ref)
            assert asset.status == 200, ref
            vendored = ref.split("/console/static/vendor/", 1)[-1].split("?", 1)[0]
            if vendored in sums:  # the very bytes npm published at the pinned version
                assert hashlib.sha256(asset.content).hexdigest() == sums[vendored], ref
        assert "<script>" not in body and "<style" not in body  # no inline code: nothing to allow by hash
        assert response.headers["content-security-policy"].endswith("script-src 'self'; style-src 'self'")
    assert {"swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css"} <= set(sums)


async def test_sanic_ext_cdn_pages_are_gone(client, db):
    for path in ("/docs/redoc", "/docs/oauth2-redirect.html", "/docs/swagger-config"):
        _, response = await client.get(path)
        assert response.status == 404, path
    _, response = await client.get("/docs/openapi.json")
    assert response.status == 200 and response.json["paths"]


async def test_swagger_ui_renders_the_operations_in_a_browser_with_nothing_from_elsewhere(app, db, tmp_path):
    require_chromium()
    async with live_server(app) as base, browser_context(tmp_path / "profile") as context:
        page = await context.new_page()
        requests: list[str] = []
        violations: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        await page.goto(f"{base}/docs")
        await page.wait_for_selector(".opblock", state="attached")
        assert await page.locator(".opblock").count() >= 10
        # Swagger UI renders only the operations in view (a virtualized list): scrolling reaches the last tag's.
        last_tag = (await (await page.request.get(f"{base}/docs/openapi.json")).json())["tags"][-1]["name"]
        last = page.locator(f'[id^="operations-{last_tag}-"]')
        tags_seen: set[str] = set()
        for _ in range(1000):
            tags_seen.update(await page.locator(".opblock-tag").all_inner_texts())
            if await last.count():
                break
            await page.mouse.wheel(0, 3000)
            await page.wait_for_timeout(20)
        assert await last.count() > 0
        assert len(tags_seen) > 3
        foreign = [url for url in requests if not url.startswith(base) and not url.startswith("data:")]
        assert foreign == []
        assert violations == []  # neither a script nor a style was refused by the page's policy
