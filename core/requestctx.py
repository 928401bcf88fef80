"""The current request's id, for code below the edges (audit rows, log records) that has no request object.
Set by the API's request middleware; empty outside a request (CLI, jobs)."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("rw_request_id", default="")


def current_request_id() -> str:
    return request_id_var.get()
