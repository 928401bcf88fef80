"""Security headers on every response, set once (api.app's response hook).

- ``X-Content-Type-Options: nosniff`` everywhere (photo originals included): a browser never runs an upload.
- ``Cache-Control: no-store`` on the API's JSON: it is about named tenants, staff and money; a shared proxy or the
  browser's disk must not keep it. A route that chose its own caching (photo files: ``private``) keeps it.
- A strict Content-Security-Policy on served HTML documents: only our own origin, no inline code except the
  inline blocks of that very document, allowed by their hash (computed here from the body, so an injected
  script — whose hash is not listed — does not run). /docs (console.docs) is no exception: Swagger UI's files
  are served by the app and its start-up script is a file, so the page's policy is ``script-src 'self'``.
"""

from __future__ import annotations

import base64
import hashlib
import re

_INLINE = {"script": re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I),
           "style": re.compile(rb"<style[^>]*>(.*?)</style>", re.S | re.I)}

BASE_POLICY = ("default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
               "frame-ancestors 'none'; form-action 'self'")


def _hashes(kind: str, body: bytes) -> str:
    return "".join(f" 'sha256-{base64.b64encode(hashlib.sha256(block).digest()).decode()}'"
                   for block in _INLINE[kind].findall(body))


def content_security_policy(body: bytes) -> str:
    """The policy for one HTML document: its own inline blocks by hash, nothing else inline."""
    return f"{BASE_POLICY}; script-src 'self'{_hashes('script', body)}; style-src 'self'{_hashes('style', body)}"


#: Front ends that set their own (stricter, hash-free) policy: the console has no inline code at all.
OWN_POLICY_PREFIXES = ("/console",)


def apply_security_headers(path: str, response) -> None:
    headers = response.headers
    headers.setdefault("x-content-type-options", "nosniff")
    content_type = (response.content_type or headers.get("content-type") or "").lower()
    if content_type.startswith("application/json") and path.startswith("/api/"):
        headers.setdefault("cache-control", "no-store")
    if content_type.startswith("text/html") and "content-security-policy" not in headers \
            and not path.startswith(OWN_POLICY_PREFIXES):
        body = response.body or b""
        headers["content-security-policy"] = content_security_policy(body)
        headers.setdefault("referrer-policy", "same-origin")
