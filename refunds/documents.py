"""What a refund document (a quote, a bank receipt) may be: its size limit and the file types recognised by
their first bytes (the declared content type is not trusted). Pure; the service stores and serves the files."""

from __future__ import annotations

#: The largest document accepted. The app's request body limit is derived from it (api.app.request_max_size).
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
#: Leading bytes → the content type stored and served back.
DOCUMENT_TYPES: dict[bytes, str] = {b"%PDF": "application/pdf", b"\xff\xd8\xff": "image/jpeg",
                                    b"\x89PNG": "image/png"}


def sniff_content_type(data: bytes) -> str | None:
    """The content type of a PDF, JPEG or PNG file, or None for anything else."""
    return next((ct for magic, ct in DOCUMENT_TYPES.items() if data.startswith(magic)), None)
