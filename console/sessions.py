"""The console's side of a session: the cookie's and CSRF token's names and the CSRF comparison; the session store
itself (start, resume, end) is accounts/sessions.py."""

from __future__ import annotations

import hmac

COOKIE_NAME = "rw_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
