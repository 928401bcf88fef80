"""Paper contracts in: upload (PDF or page photos), the document and its pages, the draft lease under review,
and the lease created from it (docs/contracts.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json, raw

from accounts.permissions import CONTRACT_INTAKE, CONTRACT_LEASE_CREATORS
from api import responses as R
from api.access import File, access, body_of, principal_of, query_of
from contracts import service
from contracts.intake import Upload
from core.errors import AppError, BadRequest, NotFound
from core.pagination import PageQuery, paginate
from inspections.storage import storage_for
from models.contracts import ContractDocument, ContractDraft
from models.leasing import Lease

bp = Blueprint("contracts", url_prefix="/contracts")

MAX_FILES = 60


class DocumentQuery(PageQuery):
    status: str | None = Field(None, max_length=10)
    building_id: int | None = Field(None, ge=1)


class ReviewIn(BaseModel):
    """Confirm fields as read, set (correct or add) others, choose the unit: applied together or not at all."""

    confirm: list[str] = Field(default_factory=list, max_length=40)
    correct: dict[str, Any] = Field(default_factory=dict, max_length=40)
    unit_code: str | None = Field(None, min_length=1, max_length=40)
    version: int | None = Field(None, ge=1, le=2**31 - 1,
                                description="the draft's version as read (or the If-Match header): required")


def _uploads(request: Request) -> list[Upload]:
    files = [f for values in (request.files or {}).values() for f in values]
    if not files:
        if not request.body:
            raise BadRequest("send the PDF or the photos as multipart field 'file' (repeat it for several pages)",
                             code="EMPTY_FILE")
        return [Upload(request.body, "")]
    if len(files) > MAX_FILES:
        raise BadRequest(f"at most {MAX_FILES} files", code="TOO_MANY_FILES")
    return [Upload(f.body, f.name or "") for f in files]


def _building_id(request: Request) -> int | None:
    value = (request.form.get("building_id") if request.form else None) or request.args.get("building_id")
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest("building_id must be an integer", code="VALIDATION_ERROR") from None


async def _draft_id(doc: ContractDocument) -> int | None:
    draft = await ContractDraft.get_or_none(document_id=doc.id).only("id")
    return draft.id if draft else None


@bp.post("/documents", name="contracts_upload")
@access(CONTRACT_INTAKE, note="multipart 'file' (one PDF, or one photo a page); the same file again is the same "
                              "document (200); read in the background", files=("file",),
        response=R.ContractsDocument, status=(201, 200))
async def upload(request: Request):
    """Upload a contract; its pages are read (text layer or OCR) in the worker pool while this answers."""
    settings = request.app.ctx.settings
    storage = storage_for(settings)
    doc, created = await service.ingest(principal_of(request), _uploads(request), building_id=_building_id(request),
                                        settings=settings, storage=storage)
    if created:
        request.app.ctx.ocr_pool.spawn(service.read_document(doc.id, pool=request.app.ctx.ocr_pool,
                                                             settings=settings, storage=storage))
    return json(service.serialize_document(doc, await _draft_id(doc)), status=201 if created else 200)


@bp.get("/documents", name="contracts_documents")
@access(CONTRACT_INTAKE, query=DocumentQuery, response=R.ContractsDocuments)
async def documents(request: Request):
    """Uploaded contracts in the caller's buildings, newest first."""
    query = query_of(request, DocumentQuery)
    qs = ContractDocument.filter(**principal_of(request).building_filter("building_id")).order_by("-id")
    if query.status:
        qs = qs.filter(status=query.status)
    if query.building_id:
        qs = qs.filter(building_id=query.building_id)
    page = await paginate(qs, query, service.serialize_document)
    ids = [row["id"] for row in page["items"]]
    drafts = {d.document_id: d.id for d in await ContractDraft.filter(document_id__in=ids).only("id", "document_id")}
    for row in page["items"]:
        row["draft_id"] = drafts.get(row["id"])
    return json(page)


@bp.get("/documents/<doc_id:int>", name="contracts_document")
@access(CONTRACT_INTAKE, response=R.ContractsDocument)
async def document(request: Request, doc_id: int):
    """One document: status, pages (source, rotation, problems) and its draft's id once read."""
    doc = await service.document_in_scope(principal_of(request), doc_id)
    return json(service.serialize_document(doc, await _draft_id(doc)))


@bp.get("/documents/<doc_id:int>/pages/<index:int>/image", name="contracts_page_image")
@access(CONTRACT_INTAKE, note="the upright page image the field boxes refer to", response=File("image/*"),
        errors=(410,))
async def page_image(request: Request, doc_id: int, index: int):
    """A page as read (turned upright and levelled): the boxes of the draft's fields are on this image."""
    doc = await service.document_in_scope(principal_of(request), doc_id)
    page = next((p for p in doc.pages if p["index"] == index), None)
    if page is None:
        raise NotFound("page not found")
    data = storage_for(request.app.ctx.settings).get(page["image_key"])
    if data is None:
        raise AppError("the page image is missing from storage", code="PAGE_IMAGE_MISSING", status=410)
    return raw(data, content_type=page.get("image_type", "image/png"),
               headers={"Cache-Control": "private, max-age=3600"})


def _etag(draft: ContractDraft) -> dict[str, str]:
    return {"ETag": f'"{draft.version}"'}


def _expected_version(request: Request, body_version: int | None) -> int | None:
    """The draft version the reviewer read: the body's ``version`` or the If-Match header (the GET's ETag)."""
    header = request.headers.get("if-match")
    from_header = None
    if header is not None:
        tag = header.strip().removeprefix("W/").strip('"')
        if not tag.isdigit() or not 1 <= int(tag) <= 2**31 - 1:
            raise BadRequest("If-Match must be the draft's ETag (its version)", code="INVALID_IF_MATCH",
                             details={"if_match": header[:40]})
        from_header = int(tag)
    if from_header is not None and body_version is not None and from_header != body_version:
        raise BadRequest("If-Match and version disagree", code="INVALID_IF_MATCH",
                         details={"if_match": from_header, "version": body_version})
    return from_header if from_header is not None else body_version


@bp.get("/drafts/<draft_id:int>", name="contracts_draft")
@access(CONTRACT_INTAKE, response=R.ContractsDraft)
async def draft(request: Request, draft_id: int):
    """The draft lease: every field with its value, confidence, source span, page and box, flags and review;
    what still blocks creating the lease; the proposed units."""
    found = await service.draft_in_scope(principal_of(request), draft_id)
    lease = await Lease.get(id=found.lease_id) if found.lease_id else None
    return json(service.serialize_draft(found, lease), headers=_etag(found))


@bp.post("/drafts/<draft_id:int>/review", name="contracts_review")
@access(CONTRACT_INTAKE, note="confirm / correct fields and choose the unit, all or nothing", body=ReviewIn,
        response=R.ContractsReview)
async def review_draft(request: Request, draft_id: int):
    """Confirm fields as read or set their values (a flagged field must be set), and choose the unit."""
    body = body_of(request, ReviewIn)
    version = _expected_version(request, body.version)
    found = await service.review(principal_of(request), draft_id, version=version, confirm=body.confirm,
                                 correct=body.correct, unit_code=body.unit_code, settings=request.app.ctx.settings,
                                 now=request.app.ctx.clock.now())
    return json(service.serialize_draft(found), headers=_etag(found))


@bp.post("/drafts/<draft_id:int>/lease", name="contracts_create_lease")
@access(CONTRACT_LEASE_CREATORS, note="refused (DRAFT_NOT_READY) while a field blocks; idempotent",
        response=R.ContractsDraft, status=(201, 200))
async def create_lease(request: Request, draft_id: int):
    """Create the real lease (DRAFT in the ledger, signed like any other, which generates its schedule)."""
    lease, created = await service.create_lease_from_draft(principal_of(request), draft_id,
                                                           settings=request.app.ctx.settings)
    found = await service.draft_in_scope(principal_of(request), draft_id)
    return json(service.serialize_draft(found, lease), status=201 if created else 200)
