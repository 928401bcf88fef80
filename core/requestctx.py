"""The current request's id, for code below the edges (audit rows, log records, error bodies) that has no
request object. Set by the API's request middleware; empty outside a request (CLI, jobs)."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str] = ContextVar("rw_request_id", default="")

#: An X-Request-Id from a proxy is kept when it looks like an id; anything else (long, spaces, control
#: characters that would forge log lines) is replaced by our own.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def current_request_id() -> str:
    return request_id_var.get()


def request_id_of(request: Any) -> str:
    """The id of this request, assigned on first use: the request middleware asks first, but an error raised
    before it runs (no route, body too large) still gets an id for its body, its header and its log line."""
    rid = getattr(request.ctx, "request_id", None)
    if not rid:
        incoming = request.headers.get("x-request-id", "")
        rid = incoming if SANE_REQUEST_ID.fullmatch(incoming) else os.urandom(8).hex()
        request.ctx.request_id = rid
        request_id_var.set(rid)
    return rid
