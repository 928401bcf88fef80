"""Paper contracts in through the API: a digital PDF (text layer, no OCR), a scanned PDF and phone photos (OCR in
the worker pool, while the API keeps answering), duplicates by hash, bad files, building scope, and the review
that must resolve flags before the lease is created through the ledger."""

from __future__ import annotations

import json

import pytest

from contracts.corpus import degrade, digital_pdf, make_spec, page_texts, render, scanned_pdf
from models.contracts import ContractDocument
from models.leasing import Lease, Receivable

KEY_FIELDS = ("tenant", "start_date", "end_date", "payment_frequency", "area_m2")


@pytest.fixture(autouse=True)
def _close_pool(app):
    yield
    app.ctx.ocr_pool.close()


def pdf_file(data: bytes, name: str = "contract.pdf"):
    return ("file", (name, data, "application/pdf"))


async def upload(client, world, user, files, building_id):
    _, response = await client.post("/api/v1/contracts/documents", files=files,
                                    data={"building_id": str(building_id)}, headers=world.auth(user))
    return response


async def draft_of(client, world, user, doc_id):
    _, doc = await client.get(f"/api/v1/contracts/documents/{doc_id}", headers=world.auth(user))
    assert doc.status == 200, doc.json
    assert doc.json["draft_id"], doc.json
    _, draft = await client.get(f"/api/v1/contracts/drafts/{doc.json['draft_id']}", headers=world.auth(user))
    return doc.json, draft.json


def values(draft) -> dict:
    return {f["name"]: f["value"] for f in draft["fields"]}


async def test_a_digital_pdf_reads_from_its_text_layer_and_a_duplicate_is_the_same_document(app, client, world):
    spec = make_spec(4)
    data = digital_pdf(page_texts(spec, pages=2))
    first = await upload(client, world, world.a.finance, [pdf_file(data)], world.a.building.id)
    assert first.status == 201, first.json
    await app.ctx.ocr_pool.drain()
    doc, draft = await draft_of(client, world, world.a.finance, first.json["id"])
    assert doc["status"] == "REVIEW" and doc["page_count"] == 2
    assert {p["source"] for p in doc["pages"]} == {"TEXT_LAYER"}
    assert app.ctx.ocr_pool._executor is None  # no OCR worker was ever started
    got = values(draft)
    assert {k: got[k] for k in spec.truth} == spec.truth
    assert [f["name"] for f in draft["fields"]][:3] == ["contract_no", "landlord", "tenant"]
    rent = next(f for f in draft["fields"] if f["name"] in ("monthly_rent_fen", "unit_price") and f["value"])
    assert rent["page"] in (1, 2) and len(rent["box"]) == 4 and rent["source"]

    again = await upload(client, world, world.a.manager, [pdf_file(data, "copy.pdf")], world.a.building.id)
    assert again.status == 200 and again.json["id"] == first.json["id"]
    assert await ContractDocument.filter(sha256=first.json["sha256"]).count() == 1

    _, image = await client.get(f"/api/v1/contracts/documents/{doc['id']}/pages/1/image",
                                headers=world.auth(world.a.finance))
    assert image.status == 200 and image.content.startswith(b"\x89PNG")


async def test_a_scanned_pdf_is_ocred_while_the_api_keeps_answering(app, client, world):
    spec = make_spec(7, handwritten=False)
    page = degrade(render(spec, dpi=150)[0], "scan", 7)
    response = await upload(client, world, world.a.finance, [pdf_file(scanned_pdf([page], 150))],
                            world.a.building.id)
    assert response.status == 201 and response.json["status"] == "RECEIVED"
    reading = next(iter(app.ctx.ocr_pool._tasks))
    _, health = await client.get("/api/v1/health")
    assert health.status in (200, 503) and "database" in health.json
    assert not reading.done()  # the health request was answered while the page was still being read
    await app.ctx.ocr_pool.drain()
    doc, draft = await draft_of(client, world, world.a.finance, response.json["id"])
    assert doc["pages"][0]["source"] == "OCR" and doc["pages"][0]["problem"] is None
    got = values(draft)
    assert {k: got[k] for k in KEY_FIELDS} == {k: spec.truth[k] for k in KEY_FIELDS}


async def test_phone_photos_of_two_pages_one_sideways_become_one_draft(app, client, world):
    spec = make_spec(11, handwritten=False)
    first, second = render(spec, dpi=150, pages=2)
    photos = [("file", ("p1.jpg", degrade(first, "photo", 11, turn=90), "image/jpeg")),
              ("file", ("p2.jpg", degrade(second, "photo", 12), "image/jpeg"))]
    response = await upload(client, world, world.a.manager, photos, world.a.building.id)
    assert response.status == 201 and response.json["kind"] == "PHOTOS" and response.json["page_count"] == 2
    await app.ctx.ocr_pool.drain()
    doc, draft = await draft_of(client, world, world.a.manager, response.json["id"])
    assert [p["rotation"] for p in doc["pages"]] == [270, 0]
    got = values(draft)
    assert {k: got[k] for k in KEY_FIELDS} == {k: spec.truth[k] for k in KEY_FIELDS}
    assert {f["page"] for f in draft["fields"] if f["value"] is not None} == {1, 2}


@pytest.mark.parametrize(("payload", "code"), [
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "UNSUPPORTED_IMAGE_TYPE"),
    (b"PK\x03\x04 a zip, not a contract", "UNSUPPORTED_FILE"),
    (b"%PDF-1.7\n truncated", "CORRUPT_PDF"),
])
async def test_files_that_cannot_be_read_get_a_clear_error(app, client, world, payload, code):
    before = await ContractDocument.all().count()
    response = await upload(client, world, world.a.finance, [("file", ("x", payload, "application/octet-stream"))],
                            world.a.building.id)
    if code == "CORRUPT_PDF":  # stored (it is what was received), then the reading fails with why
        assert response.status == 201
        await app.ctx.ocr_pool.drain()
        _, doc = await client.get(f"/api/v1/contracts/documents/{response.json['id']}",
                                  headers=world.auth(world.a.finance))
        assert doc.json["status"] == "FAILED" and doc.json["error"]["code"] == code
    else:
        assert response.status == 400 and response.json["error"]["code"] == code
        assert await ContractDocument.all().count() == before


async def test_scope_a_scoped_clerk_names_a_building_of_theirs(client, world):
    data = digital_pdf(page_texts(make_spec(5)))
    other = await upload(client, world, world.a.finance, [pdf_file(data)], world.b.building.id)
    assert other.status == 404
    _, missing = await client.post("/api/v1/contracts/documents", files=[pdf_file(data)],
                                   headers=world.auth(world.a.finance))
    assert missing.status == 422 and missing.json["error"]["details"]["fields"][0]["field"] == "building_id"


CONTRACT = ["房屋租赁合同", "合同编号:OCR-2027-001", "出租方(甲方):深圳市南山置业有限公司", "承租方(乙方):李娜",
            "第一条 房屋坐落:深圳市南山区科技园南路18号南山A栋1203室", "建筑面积:45.50㎡。",
            "第二条 租赁期限自二〇二七年一月一日起至二〇二七年十二月三十一日止。",
            "第三条 月租金为人民币4,800元(大写:肆仟玖佰元整)。", "付款方式:两月一趟,乙方应在每期开始前五日内支付租金。",
            "押金:人民币9600元,合同期满无违约的无息退还。",
            "第四条 乙方如需续租,应于租赁期满前提前30日书面通知甲方。"]


async def test_flags_block_the_lease_until_fixed_then_the_ledger_creates_it(app, client, world):
    response = await upload(client, world, world.a.finance, [pdf_file(digital_pdf([CONTRACT]))],
                            world.a.building.id)
    await app.ctx.ocr_pool.drain()
    _, draft = await draft_of(client, world, world.a.finance, response.json["id"])
    fields = {f["name"]: f for f in draft["fields"]}
    assert fields["monthly_rent_fen"]["flags"] == ["AMOUNT_MISMATCH"]
    assert fields["monthly_rent_fen"]["value"] == 480000 and fields["monthly_rent_fen"]["detail"]["upper_fen"] == 490000
    assert fields["payment_frequency"]["flags"] == ["INVALID_FREQUENCY_CODE"]
    assert fields["payment_frequency"]["value"] is None
    assert {(b["field"], b["code"]) for b in draft["blockers"]} >= {
        ("monthly_rent_fen", "AMOUNT_MISMATCH"), ("payment_frequency", "INVALID_FREQUENCY_CODE"),
        ("unit", "UNIT_NOT_CHOSEN")}
    # the unit is proposed, not chosen
    assert draft["unit_candidates"][0]["unit_code"] == world.a.units[2].code and draft["unit_id"] is None

    headers = world.auth(world.a.manager)
    path = f"/api/v1/contracts/drafts/{draft['id']}"
    _, refused = await client.post(f"{path}/lease", headers=headers)
    assert refused.status == 422 and refused.json["error"]["code"] == "DRAFT_NOT_READY"
    version = draft["version"]
    _, confirm = await client.post(f"{path}/review", headers=headers,
                                   content=json.dumps({"confirm": ["monthly_rent_fen"], "version": version}))
    assert confirm.status == 422 and confirm.json["error"]["code"] == "FIELD_NEEDS_CORRECTION"
    _, bad = await client.post(f"{path}/review", headers=headers,
                               content=json.dumps({"correct": {"payment_frequency": "两月一趟"}, "version": version}))
    assert bad.status == 422 and bad.json["error"]["code"] == "INVALID_FREQUENCY_CODE"
    assert await Lease.filter(contract_no="OCR-2027-001").count() == 0

    _, fixed = await client.post(f"{path}/review", headers=world.auth(world.a.finance), content=json.dumps({
        "correct": {"payment_frequency": "两月一次", "monthly_rent_fen": 480000},
        "unit_code": world.a.units[2].code, "version": version}))
    assert fixed.status == 200, fixed.json
    assert fixed.json["version"] == version + 1  # refused saves left it as it was
    still = {b["code"] for b in fixed.json["blockers"]}
    assert "AMOUNT_MISMATCH" not in still and "INVALID_FREQUENCY_CODE" not in still
    pending = [b["field"] for b in fixed.json["blockers"] if b["code"] == "NEEDS_CONFIRMATION"]
    if pending:
        _, fixed = await client.post(f"{path}/review", headers={**headers, "If-Match": fixed.headers["etag"]},
                                     content=json.dumps({"confirm": pending}))
    assert fixed.json["ready"], fixed.json["blockers"]

    _, finance_try = await client.post(f"{path}/lease", headers=world.auth(world.a.finance))
    assert finance_try.status == 403
    _, made = await client.post(f"{path}/lease", headers=headers)
    assert made.status == 201, made.json
    lease = await Lease.get(id=made.json["lease_id"])
    assert (lease.contract_no, lease.unit_id, lease.payment_frequency, lease.monthly_rent_fen, lease.deposit_fen) == (
        "OCR-2027-001", world.a.units[2].id, "BIMONTHLY", 480000, 960000)
    _, again = await client.post(f"{path}/lease", headers=headers)
    assert again.status == 200 and again.json["lease_id"] == lease.id
    # a lease like any other: signing generates its schedule
    _, signed = await client.post(f"/api/v1/leases/{lease.id}/sign", headers=headers)
    assert signed.status == 200, signed.json
    rents = await Receivable.filter(lease_id=lease.id, charge="RENT").order_by("period_start")
    assert len(rents) == 6 and rents[0].amount_fen == 960000


async def test_a_document_left_unread_is_read_by_the_job_once(app, world):
    from datetime import UTC, datetime, timedelta

    from accounts.scope import load_principal
    from contracts import service
    from contracts.intake import Upload
    from contracts.jobs import resume_contract_reading
    from inspections.storage import storage_for

    settings = app.ctx.settings
    doc, _ = await service.ingest(await load_principal(world.a.finance), [Upload(digital_pdf([CONTRACT]), "x.pdf")],
                                  building_id=world.a.building.id, settings=settings, storage=storage_for(settings))
    moment = datetime.now(UTC)
    assert (await resume_contract_reading(settings, moment))["contracts_resumed"] == 0  # its own reading may come
    later = moment + timedelta(minutes=10)
    assert (await resume_contract_reading(settings, later))["contracts_resumed"] == 1
    assert (await ContractDocument.get(id=doc.id)).status == "REVIEW"
    assert (await resume_contract_reading(settings, later))["contracts_resumed"] == 0


async def test_a_page_over_the_time_limit_is_recorded_and_the_draft_says_what_is_missing(app, world):
    from accounts.scope import load_principal
    from contracts import service
    from contracts.intake import Upload
    from contracts.pool import OcrPool
    from inspections.storage import storage_for
    from models.contracts import ContractDraft

    settings, storage = app.ctx.settings, storage_for(app.ctx.settings)
    photo = degrade(render(make_spec(3), dpi=150)[0], "photo", 3)
    doc, _ = await service.ingest(await load_principal(world.a.manager), [Upload(photo, "p1.jpg")],
                                  building_id=world.a.building.id, settings=settings, storage=storage)
    pool = OcrPool(workers=1, page_timeout=0.001)  # no page can be read this fast
    try:
        doc = await service.read_document(doc.id, pool=pool, settings=settings, storage=storage)
    finally:
        pool.close()
    assert doc.status == "REVIEW" and doc.pages[0]["problem"] == "OCR_PAGE_TIMEOUT"
    assert storage.get(doc.pages[0]["image_key"]) == photo and doc.pages[0]["image_type"] == "image/jpeg"
    draft = await ContractDraft.get(document_id=doc.id)
    missing = {b["field"] for b in service.draft_blockers(draft) if b["code"] == "MISSING_FIELD"}
    assert missing >= {"tenant", "start_date", "end_date", "payment_frequency", "monthly_rent_fen"}
