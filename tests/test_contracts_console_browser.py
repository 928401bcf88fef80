"""Contract review in a real browser (Debian's chromium through Playwright): the page image with the selected
field's box highlighted on it, and confirming a low-confidence field from the desk."""

from __future__ import annotations

import pytest

from accounts.scope import load_principal
from accounts.service import set_password
from contracts import service
from contracts.corpus import digital_pdf
from contracts.intake import Upload
from contracts.pool import OcrPool
from inspections.storage import storage_for
from models.contracts import ContractDraft
from tests.support.browser import browser_context, live_server, require_chromium, screenshot, sign_in
from tests.test_contracts_intake import CONTRACT

PASSWORD = "browser-test-2026"
LINES = [line.replace("(大写:肆仟玖佰元整)", "") for line in CONTRACT]  # rent without its 大写: to be confirmed
HIGHLIGHT = "(el) => getComputedStyle(el).stroke"


@pytest.fixture(autouse=True)
def _chromium():
    require_chromium()


async def test_the_field_box_is_highlighted_on_the_page_and_a_field_is_confirmed(app, world, clock, tmp_path):
    settings = app.ctx.settings
    principal = await load_principal(world.a.manager)
    storage = storage_for(settings)
    doc, _ = await service.ingest(principal, [Upload(digital_pdf([LINES]), "lease.pdf")],
                                  building_id=world.a.building.id, settings=settings, storage=storage)
    pool = OcrPool(workers=1)
    await service.read_document(doc.id, pool=pool, settings=settings, storage=storage)
    pool.close()
    draft = await ContractDraft.get(document_id=doc.id)
    rent = draft.extracted["monthly_rent_fen"]
    assert rent["review"]["state"] == "PENDING"
    await set_password(world.a.manager, PASSWORD, now=clock.now(), login="manager-a")

    async with live_server(app) as base, browser_context(tmp_path / "profile") as context:
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await sign_in(page, base, "manager-a", PASSWORD)
        await page.goto(f"{base}/console/contracts/drafts/{draft.id}")
        image = await page.request.get(f"{base}/console/contracts/documents/{doc.id}/pages/1/image")
        assert image.status == 200 and (await image.body()).startswith(b"\x89PNG")
        box = page.locator("#box-monthly_rent_fen")
        assert [await box.get_attribute(k) for k in ("x", "y")] == [str(rent["box"][0]), str(rent["box"][1])]
        assert await box.evaluate(HIGHLIGHT) == "none"
        await page.click('a.show-box[href="#box-monthly_rent_fen"]')
        assert await box.evaluate(HIGHLIGHT) == "rgb(224, 48, 0)"  # the selected field's box, drawn on its page
        shown = await box.bounding_box()
        svg = await page.locator('svg.contract-page[data-page="1"]').bounding_box()
        assert shown and svg and svg["x"] <= shown["x"] and shown["y"] + shown["height"] <= svg["y"] + svg["height"]
        await screenshot(page, "contracts-01-review")

        row = page.locator('tr[data-field="monthly_rent_fen"]')
        await row.locator("button.confirm").click()
        await page.wait_for_url(f"{base}/console/contracts/drafts/{draft.id}**")
        assert "CONFIRMED" in await page.locator('tr[data-field="monthly_rent_fen"]').inner_text()
        assert await page.locator('tr[data-field="monthly_rent_fen"] button.confirm').count() == 0
        assert await box.evaluate(HIGHLIGHT) == "rgb(224, 48, 0)"  # back on the same field
        assert not errors, errors
    stored = await ContractDraft.get(id=draft.id)
    assert stored.extracted["monthly_rent_fen"]["review"]["state"] == "CONFIRMED"
    assert stored.extracted["monthly_rent_fen"]["review"]["by"] == world.a.manager.id
