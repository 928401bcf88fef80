"""Review of a contract's draft lease at the desk: the page images with the selected field's box highlighted,
every field with its value, confidence, source span and flags, and confirming a field as read."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import raw

from accounts.permissions import CONTRACT_INTAKE
from console.access import console_access
from console.rendering import page
from console.views.common import back, form_data, now_of, principal_of, settings_of
from contracts import service
from core.errors import AppError, NotFound
from inspections.storage import storage_for
from models.leasing import Lease

bp = Blueprint("console_contracts", url_prefix="/console")


@bp.get("/contracts/drafts/<draft_id:int>", name="contract_draft")
@console_access(CONTRACT_INTAKE)
async def contract_draft(request: Request, draft_id: int):
    """The draft under review: pages with field boxes (a field's link highlights its box), fields, blockers."""
    draft = await service.draft_in_scope(principal_of(request), draft_id)
    lease = await Lease.get(id=draft.lease_id) if draft.lease_id else None
    body = service.serialize_draft(draft, lease)
    return await page(request, "contract_draft.html", draft=body, document=draft.document,
                      pages=draft.document.pages)


@bp.get("/contracts/documents/<doc_id:int>/pages/<index:int>/image", name="contract_page_image")
@console_access(CONTRACT_INTAKE)
async def contract_page_image(request: Request, doc_id: int, index: int):
    """A page as read (upright): the image the boxes are drawn on."""
    doc = await service.document_in_scope(principal_of(request), doc_id)
    found = next((p for p in doc.pages if p["index"] == index), None)
    if found is None:
        raise NotFound("page not found")
    data = storage_for(settings_of(request)).get(found["image_key"])
    if data is None:
        raise AppError("the page image is missing from storage", code="PAGE_IMAGE_MISSING", status=410)
    return raw(data, content_type=found.get("image_type", "image/png"),
               headers={"Cache-Control": "private, max-age=3600"})


@bp.post("/contracts/drafts/<draft_id:int>/confirm", name="contract_confirm")
@console_access(CONTRACT_INTAKE)
async def contract_confirm(request: Request, draft_id: int):
    """Confirm one field as read (a flagged field must be corrected: the error says so) on the version the page
    showed: another reviewer's save in between answers 409 STALE_DRAFT_VERSION, reload and confirm again."""
    form = form_data(request)
    name = str(form.get("field") or "")
    version = str(form.get("version") or "")
    await service.review(principal_of(request), draft_id, version=int(version) if version.isdigit() else None,
                         confirm=[name] if name else [], correct={}, unit_code=None, settings=settings_of(request),
                         now=now_of(request))
    return back(request, f"/console/contracts/drafts/{draft_id}")
