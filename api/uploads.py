"""Shared handling of file uploads for the all-or-nothing CSV/JSON import endpoints."""

from __future__ import annotations

from typing import Any

from sanic import Request

from core.errors import BadRequest, ValidationFailed


def uploaded_file(request: Request, *, what: str) -> tuple[bytes, str, str]:
    """The file sent as the raw body or as multipart field 'file': (bytes, filename, content type)."""
    upload = request.files.get("file") if request.files else None
    data = upload.body if upload else request.body
    if not data:
        raise BadRequest(f"send {what} as the body or as multipart field 'file'", code="EMPTY_FILE")
    name = (upload.name if upload else "") or ""
    content_type = (upload.type if upload else request.content_type) or ""
    return data, name, content_type


def refuse_if_rejected(report: dict[str, Any]) -> None:
    if report["rejected"]:
        raise ValidationFailed(f"{len(report['rejected'])} of {report['rows']} rows rejected; nothing was imported",
                               code="IMPORT_REJECTED", details=report)
