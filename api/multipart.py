"""A multipart body read from a streaming handler (``stream=True``) without holding it: each file part goes to a
temporary file as it arrives, hashed on the way; the text fields (small) are kept in memory.

Sanic's own form parsing needs the whole body in memory, and a copy of each part besides: a 10 MB photo cost
about three times its size before a pixel was decoded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import parse_qsl

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from sanic import Request

from core.errors import BadRequest, PayloadTooLarge

#: The text fields together: a form's fields are ids, codes and coordinates.
MAX_FIELD_BYTES = 64 * 1024


@dataclass
class SpooledFile:
    """A file part on disk: at most ``max_bytes`` of it are kept; ``size`` counts every byte sent."""

    path: Path
    filename: str
    content_type: str
    size: int = 0
    sha256: str = ""
    complete: bool = True  # False: larger than the limit, the rest was not kept


@dataclass
class StreamedForm:
    fields: dict[str, str] = field(default_factory=dict)  # the first value of each text field
    files: dict[str, SpooledFile] = field(default_factory=dict)  # the first file part of each wanted name

    def discard(self) -> None:
        """Remove the temporary files still there (a caller that keeps one moves it away first)."""
        for spooled in self.files.values():
            spooled.path.unlink(missing_ok=True)


class _Collector:
    """The parser's callbacks: route each part's bytes to its field value or its file."""

    def __init__(self, form: StreamedForm, spool_dir: Path, file_fields: set[str], max_file_bytes: int):
        self.form, self.spool_dir, self.file_fields, self.max_file_bytes = form, spool_dir, file_fields, max_file_bytes
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, bytes] = {}
        self.value: bytearray | None = None
        self.field_bytes = 0
        self.name = ""
        self.file: IO[bytes] | None = None
        self.spooled: SpooledFile | None = None
        self.digest = hashlib.sha256()

    def on_part_begin(self) -> None:
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.decode("latin-1").lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get("content-disposition", b""))
        self.name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        self.value, self.file, self.spooled = None, None, None
        if filename is None:  # a text field (as Sanic tells them apart: a part with a filename is a file)
            self.value = bytearray()
        elif self.name in self.file_fields and self.name not in self.form.files:
            fd, tmp = tempfile.mkstemp(dir=self.spool_dir, prefix=".upload-")
            self.file = os.fdopen(fd, "wb")
            content_type = self.headers.get("content-type", b"application/octet-stream").decode("latin-1")
            self.spooled = SpooledFile(path=Path(tmp), filename=filename.decode("utf-8", "replace"),
                                       content_type=content_type.strip())
            self.form.files[self.name] = self.spooled
            self.digest = hashlib.sha256()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.value is not None:
            self.field_bytes += end - start
            if self.field_bytes > MAX_FIELD_BYTES:
                raise PayloadTooLarge("the form's text fields are larger than allowed",
                                      details={"max_bytes": MAX_FIELD_BYTES})
            self.value += data[start:end]
        elif self.file is not None and self.spooled is not None:
            chunk = data[start:end]
            kept = max(0, min(len(chunk), self.max_file_bytes - self.spooled.size))
            if kept:
                self.file.write(chunk[:kept] if kept < len(chunk) else chunk)
                self.digest.update(chunk[:kept] if kept < len(chunk) else chunk)
            if kept < len(chunk):
                self.spooled.complete = False
            self.spooled.size += len(chunk)

    def on_part_end(self) -> None:
        if self.value is not None:
            self.form.fields.setdefault(self.name, self.value.decode("utf-8", "replace"))
            self.value = None
        elif self.file is not None and self.spooled is not None:
            self.file.close()
            self.spooled.sha256 = self.digest.hexdigest()
            self.file = None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


async def receive_form(request: Request, *, spool_dir: Path, file_fields: set[str],
                       max_file_bytes: int) -> StreamedForm:
    """Read the streamed body of ``request``: multipart (files in ``file_fields`` spooled under ``spool_dir``, other
    files skipped) or URL-encoded; any other body is read and ignored. The caller calls ``discard()`` when done."""
    form = StreamedForm()
    # A streaming handler lifts Sanic's body limit; the app's limit holds here as for any other request.
    limit = int(request.app.config.REQUEST_MAX_SIZE)
    if getattr(request.stream, "request_max_size", None) is not None:
        request.stream.request_max_size = limit  # type: ignore[union-attr]
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        raise PayloadTooLarge("Request body exceeds the size limit", details={"max_bytes": limit})
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type == b"multipart/form-data" and boundary:
        spool_dir.mkdir(parents=True, exist_ok=True)
        collector = _Collector(form, spool_dir, file_fields, max_file_bytes)
        parser = MultipartParser(boundary, {
            "on_part_begin": collector.on_part_begin, "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value, "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished, "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end})
        try:
            received = 0
            while (chunk := await request.stream.read()) is not None:  # type: ignore[union-attr]
                received += len(chunk)
                if received > limit:  # a chunked body (no Content-Length), on a server that does not count
                    raise PayloadTooLarge("Request body exceeds the size limit", details={"max_bytes": limit})
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError as exc:
            form.discard()
            raise BadRequest(f"malformed multipart body: {exc}", code="MALFORMED_MULTIPART") from None
        except BaseException:
            form.discard()
            raise
        finally:
            collector.close()
        return form
    body = bytearray()
    received = 0
    while (chunk := await request.stream.read()) is not None:  # type: ignore[union-attr]
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge("Request body exceeds the size limit", details={"max_bytes": limit})
        if content_type == b"application/x-www-form-urlencoded":
            body += chunk
            if len(body) > MAX_FIELD_BYTES:
                raise PayloadTooLarge("the form's text fields are larger than allowed",
                                      details={"max_bytes": MAX_FIELD_BYTES})
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.fields.setdefault(name, value)
    return form
