"""Contract intake, reading and review: the entry points the API and the CLI call.

* ``ingest``: a PDF or photos in, stored by hash in the photo storage (inspections.storage) — the same bytes
  again return the same document (idempotent); the document waits RECEIVED.
* ``read_document``: its pages read (text layer, or OCR in the worker pool), the terms extracted, the draft lease
  and the proposed units written; the document goes to REVIEW (or FAILED with why, the original kept).
* ``review`` / ``create_lease_from_draft``: a person confirms or corrects fields and picks the unit; the lease is
  then created through the ledger (leasing.service.create_lease, which checks the terms and their schedule).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from accounts import permissions
from accounts.scope import Principal
from config.settings import Settings
from contracts import review as rv
from contracts.choices import PAGE_FAILED, PAGE_TIMEOUT, DocumentKind, DocumentStatus, DraftStatus, PageSource
from contracts.extract import FIELDS, TextLine, extract, lease_fields
from contracts.intake import BadContractFile, PreparedPage, Upload, pdf_pages, photo_pages, sniff
from contracts.matching import UnitRef, propose
from contracts.pool import OcrPool, PageFailed, PageTimeout
from core.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from inspections.storage import PhotoStorage
from leasing.frequency import alias_table
from leasing.service import LeasingConfig, create_lease, serialize_lease, validate_draft
from models.contracts import ContractDocument, ContractDraft
from models.leasing import Lease
from models.portfolio import Building, Unit

log = logging.getLogger(__name__)

MAX_CANDIDATE_UNITS = 5000  # units scored for a document without a building (portfolio-wide roles)


def _require(principal: Principal, roles: frozenset) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not do this", details={"allowed_roles": sorted(roles)})


# --------------------------------------------------------------------------------------------- intake


async def ingest(principal: Principal, uploads: list[Upload], *, building_id: int | None, settings: Settings,
                 storage: PhotoStorage) -> tuple[ContractDocument, bool]:
    """Store a contract's originals; (document, created). The same file(s) again: the existing document."""
    _require(principal, permissions.CONTRACT_INTAKE)
    if building_id is not None:
        if await Building.get_or_none(id=building_id) is None:
            raise NotFound("building not found", code="UNKNOWN_BUILDING", details={"building_id": building_id})
        principal.require_building(building_id, "building")
    elif not principal.sees_all_buildings:
        raise ValidationFailed("building_id is required", details={"fields": [
            {"field": "building_id", "message": "the building the contract is for"}]})
    sniffed = await asyncio.to_thread(sniff, uploads, max_bytes=settings.contracts_max_bytes,
                                      max_pixels=settings.contracts_max_page_pixels)
    existing = await ContractDocument.get_or_none(sha256=sniffed.sha256)
    if existing is not None:
        return _same(principal, existing), False
    originals: list[dict[str, Any]] = []
    for original in sniffed.originals:
        key = f"contracts/originals/{original.sha256[:2]}/{original.sha256}.{original.ext}"
        originals.append({"key": key, "sha256": original.sha256, "content_type": original.content_type,
                          "size_bytes": len(original.data), "filename": original.filename[:200]})

    def write() -> None:
        for original, meta in zip(sniffed.originals, originals, strict=True):
            if not storage.exists(meta["key"]):
                storage.put(meta["key"], original.data)

    await asyncio.to_thread(write)
    try:
        doc = await ContractDocument.create(sha256=sniffed.sha256, kind=DocumentKind(sniffed.kind),
                                            building_id=building_id, uploaded_by_id=principal.user_id or None,
                                            filename=(uploads[0].filename or "")[:200], originals=originals,
                                            page_count=len(originals) if sniffed.kind == DocumentKind.PHOTOS else 0)
    except IntegrityError:  # the same upload, concurrently
        return _same(principal, await ContractDocument.get(sha256=sniffed.sha256)), False
    return doc, True


def _same(principal: Principal, doc: ContractDocument) -> ContractDocument:
    if not principal.can_see_building(doc.building_id):
        raise Conflict("this contract was already uploaded for a building outside your scope",
                       code="DOCUMENT_EXISTS")
    return doc


# --------------------------------------------------------------------------------------------- reading


async def _prepare(doc: ContractDocument, settings: Settings, storage: PhotoStorage) -> list[PreparedPage]:
    from contracts.intake import Original

    def load() -> list[PreparedPage]:
        originals = []
        for meta in doc.originals:
            data = storage.get(meta["key"])
            if data is None:
                raise BadContractFile("the stored original is missing", code="ORIGINAL_MISSING",
                                      details={"key": meta["key"]})
            originals.append(Original(data, meta["sha256"], meta["content_type"], meta["key"].rsplit(".", 1)[-1],
                                      meta.get("filename", "")))
        if doc.kind == DocumentKind.PDF:
            return pdf_pages(originals[0].data, dpi=settings.contracts_render_dpi,
                             max_pages=settings.contracts_max_pages)
        return photo_pages(originals, max_pages=settings.contracts_max_pages)

    return await asyncio.to_thread(load)


async def _read_page(doc_id: int, page: PreparedPage, pool: OcrPool, storage: PhotoStorage) -> dict[str, Any]:
    key = f"contracts/pages/{doc_id}/{page.index}.png"
    entry: dict[str, Any] = {"index": page.index, "width": page.width, "height": page.height, "rotation": 0,
                             "skew": 0.0, "image_key": key, "image_type": "image/png", "lines": [], "problem": "",
                             "seconds": 0.0}
    if page.text_lines is not None:
        entry["source"] = PageSource.TEXT_LAYER.value
        entry["lines"] = [{"text": text, "score": 1.0, "box": list(box)} for text, box in page.text_lines]
        await asyncio.to_thread(storage.put, key, page.image)
        return entry
    entry["source"] = PageSource.OCR.value
    try:
        text = await pool.read_page(page.image)
    except PageTimeout as exc:
        entry.update(problem=PAGE_TIMEOUT, problem_message=str(exc))
    except PageFailed as exc:
        entry.update(problem=PAGE_FAILED, problem_message=str(exc))
    else:
        data = text.to_json()
        entry.update(width=data["width"], height=data["height"], rotation=data["rotation"], skew=data["skew"],
                     lines=data["lines"], seconds=data["seconds"])
        await asyncio.to_thread(storage.put, key, text.image_png)
        return entry
    # unread: the reviewer still sees the page as it came (a photo keeps its own type)
    entry.update(image_key=f"contracts/pages/{doc_id}/{page.index}.{page.content_type.rsplit('/', 1)[-1]}",
                 image_type=page.content_type)
    await asyncio.to_thread(storage.put, entry["image_key"], page.image)
    return entry


async def _candidate_units(building_id: int | None) -> list[UnitRef]:
    qs = Unit.filter(building_id=building_id) if building_id is not None else Unit.all().limit(MAX_CANDIDATE_UNITS)
    units = await qs.select_related("building")
    return [UnitRef(u.id, u.code, u.name, u.building_id, u.building.name, u.building.address, str(u.area_m2))
            for u in units]


async def read_document(doc_id: int, *, pool: OcrPool, settings: Settings, storage: PhotoStorage) -> ContractDocument:
    """Read a RECEIVED document's pages and write its draft. A document already taken by another reader (or
    read) is returned as it is."""
    claimed = await ContractDocument.filter(id=doc_id, status=DocumentStatus.RECEIVED).update(
        status=DocumentStatus.READING)
    doc = await ContractDocument.get(id=doc_id)
    if not claimed:
        return doc
    try:
        return await _read_claimed(doc, pool=pool, settings=settings, storage=storage)
    except BadContractFile as exc:
        code, message = exc.code, exc.message
    except Exception as exc:  # noqa: BLE001 - a background reading must end in a state a person can see
        log.exception("reading contract document %s failed", doc_id)
        code, message = "READ_ERROR", f"{type(exc).__name__}: {exc}"
    await ContractDocument.filter(id=doc_id).update(status=DocumentStatus.FAILED, error_code=code,
                                                    error_message=message[:300])
    return await ContractDocument.get(id=doc_id)


async def _read_claimed(doc: ContractDocument, *, pool: OcrPool, settings: Settings,
                        storage: PhotoStorage) -> ContractDocument:
    doc_id = doc.id
    started = time.perf_counter()
    pages = await _prepare(doc, settings, storage)
    read = await asyncio.gather(*(_read_page(doc_id, page, pool, storage) for page in pages))
    lines = [TextLine(p["index"], ln["text"], float(ln["score"]), tuple(ln["box"]), tuple(ln.get("chars") or ()))
             for p in read for ln in p["lines"]]
    extraction = extract(lines, aliases=alias_table(settings))
    fields = rv.initial_fields(extraction)
    address = fields.get("address", {}).get("value")
    area = fields.get("area_m2", {}).get("value")
    candidates = propose(address, area, await _candidate_units(doc.building_id))
    async with in_transaction():
        await ContractDocument.filter(id=doc_id).update(status=DocumentStatus.REVIEW, pages=list(read),
                                                        page_count=len(read),
                                                        read_seconds=round(time.perf_counter() - started, 3))
        await ContractDraft.get_or_create(document_id=doc_id,
                                          defaults={"extracted": fields, "unit_candidates": candidates})
    return await ContractDocument.get(id=doc_id)


# --------------------------------------------------------------------------------------------- review


async def document_in_scope(principal: Principal, doc_id: int) -> ContractDocument:
    doc = await ContractDocument.get_or_none(id=doc_id)
    if doc is None or not principal.can_see_building(doc.building_id):
        raise NotFound("contract document not found")
    return doc


async def draft_in_scope(principal: Principal, draft_id: int) -> ContractDraft:
    draft = await ContractDraft.get_or_none(id=draft_id).select_related("document")
    if draft is None or not principal.can_see_building(draft.document.building_id):
        raise NotFound("draft lease not found")
    return draft


STALE_DRAFT_VERSION = "STALE_DRAFT_VERSION"


def _stale(draft: ContractDraft, expected: int) -> Conflict:
    return Conflict("the draft was saved by someone else since you read it: reload it and apply your review again",
                    code=STALE_DRAFT_VERSION, details={"draft_id": draft.id, "expected_version": expected,
                                                       "current_version": draft.version})


async def review(principal: Principal, draft_id: int, *, version: int | None, confirm: list[str],
                 correct: dict[str, Any], unit_code: str | None, settings: Settings, now: datetime) -> ContractDraft:
    """Confirm fields as read, set others, choose the unit — all or nothing, and only on the version of the draft
    the reviewer read (optimistic lock): two reviewers never silently overwrite each other, the later one gets
    409 STALE_DRAFT_VERSION with the current version."""
    _require(principal, permissions.CONTRACT_INTAKE)
    draft = await draft_in_scope(principal, draft_id)
    if draft.status != DraftStatus.REVIEW:
        raise Conflict("the lease was already created from this draft", code="DRAFT_CLOSED",
                       details={"lease_id": draft.lease_id})
    if not confirm and not correct and unit_code is None:
        return draft  # nothing to save: no lock needed, the version stays
    if version is None:
        raise AppError("send the draft's version as read (body version or If-Match): a save never overwrites "
                       "another reviewer's", code="VERSION_REQUIRED", status=428,
                       details={"current_version": draft.version})
    if draft.version != version:
        raise _stale(draft, version)
    fields = dict(draft.extracted)
    aliases = alias_table(settings)
    for name, value in correct.items():
        fields = rv.correct(fields, name, value, by=principal.user_id, at=now, aliases=aliases)
    for name in confirm:
        fields = rv.confirm(fields, name, by=principal.user_id, at=now)
    updates: dict[str, Any] = {"extracted": fields}
    if unit_code is not None:
        unit = await Unit.get_or_none(code=unit_code)
        if unit is None or not principal.can_see_building(unit.building_id):
            raise NotFound(f"unit {unit_code} not found", code="UNKNOWN_UNIT", details={"unit_code": unit_code})
        if draft.document.building_id is not None and unit.building_id != draft.document.building_id:
            raise ValidationFailed("the unit is not in the contract's building", code="UNIT_OUTSIDE_BUILDING",
                                   details={"unit_code": unit_code, "building_id": draft.document.building_id})
        updates["unit_id"] = unit.id
    # conditional on the version read: of two racing saves on the same version exactly one applies
    changed = await ContractDraft.filter(id=draft.id, status=DraftStatus.REVIEW, version=version).update(
        **updates, version=version + 1)
    if not changed:
        await _refused_save(draft, version)
    return await draft_in_scope(principal, draft.id)


async def _refused_save(draft: ContractDraft, version: int) -> None:
    """Why a conditional save of the draft matched nothing: the lease was made, or someone saved first."""
    await draft.refresh_from_db(fields=["status", "version", "lease_id"])
    if draft.status != DraftStatus.REVIEW:
        raise Conflict("the lease was already created from this draft", code="DRAFT_CLOSED",
                       details={"lease_id": draft.lease_id})
    raise _stale(draft, version)


def draft_blockers(draft: ContractDraft) -> list[dict[str, Any]]:
    out = rv.blockers(draft.extracted)
    if draft.unit_id is None:
        out.append({"field": "unit", "code": "UNIT_NOT_CHOSEN",
                    "message": "choose the unit (unit_code) among the candidates or by its code"})
    return out


async def create_lease_from_draft(principal: Principal, draft_id: int, *, settings: Settings) -> tuple[Lease, bool]:
    """The real lease from a reviewed draft (a DRAFT lease in the ledger, signed like any other). Refused while
    anything blocks; a second call returns the lease made by the first."""
    _require(principal, permissions.CONTRACT_LEASE_CREATORS)
    draft = await draft_in_scope(principal, draft_id)
    if draft.lease_id is not None:
        return await Lease.get(id=draft.lease_id), False
    problems = draft_blockers(draft)
    if problems:
        raise ValidationFailed("the draft still needs review", code="DRAFT_NOT_READY",
                               details={"blockers": problems})
    unit = await Unit.get(id=draft.unit_id)
    principal.require_building(unit.building_id, "unit")
    body = {"unit_code": unit.code, **lease_fields(rv.values(draft.extracted))}
    lease_in = validate_draft(body)
    cfg = LeasingConfig.from_settings(settings)
    async with in_transaction():
        lease = await create_lease(unit=unit, draft=lease_in, cfg=cfg, source="contract_ocr")
        # the lease is made from the fields as read above: a review saved meanwhile undoes it (rolled back)
        won = await ContractDraft.filter(id=draft.id, lease_id=None, version=draft.version).update(
            lease_id=lease.id, status=DraftStatus.CREATED, created_by_id=principal.user_id or None,
            version=draft.version + 1)
        if not won:
            await _refused_save(draft, draft.version)
    return lease, True


# --------------------------------------------------------------------------------------------- bodies


def serialize_document(doc: ContractDocument, draft_id: int | None = None) -> dict[str, Any]:
    return {"id": doc.id, "sha256": doc.sha256, "kind": doc.kind, "status": doc.status,
            "building_id": doc.building_id, "uploaded_by": doc.uploaded_by_id, "filename": doc.filename,
            "page_count": doc.page_count, "error": ({"code": doc.error_code, "message": doc.error_message}
                                                    if doc.error_code else None),
            "read_seconds": doc.read_seconds, "draft_id": draft_id,
            "pages": [{"index": p["index"], "source": p["source"], "width": p["width"], "height": p["height"],
                       "rotation": p["rotation"], "skew": p["skew"], "lines": len(p["lines"]),
                       "problem": p.get("problem") or None} for p in doc.pages],
            "created_at": doc.created_at.isoformat() if doc.created_at else None}


def serialize_draft(draft: ContractDraft, lease: Lease | None = None) -> dict[str, Any]:
    fields = []
    for name in FIELDS:
        field = draft.extracted.get(name)
        if field is None:
            field = {"name": name, "value": None, "source": "", "page": None, "box": None, "confidence": 0.0,
                     "flags": [], "detail": {}, "needs_review": False, "review": {"state": "NOT_FOUND"}}
        fields.append(field)
    blockers = draft_blockers(draft)
    return {"id": draft.id, "document_id": draft.document_id, "status": draft.status, "version": draft.version,
            "fields": fields,
            "blockers": blockers, "ready": not blockers, "unit_candidates": draft.unit_candidates,
            "unit_id": draft.unit_id, "lease_id": draft.lease_id,
            "lease": serialize_lease(lease) if lease is not None else None}
