"""Console sessions, the store: a random cookie token (only its SHA-256 stored), a CSRF token per session, sliding
expiry. A session dies with the user's deactivation or a token_version bump (the same revocation as API tokens).
The console (console/sessions.py, console/access.py) only carries the cookie."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from accounts.scope import Principal, load_principal
from models.accounts import ConsoleSession, User


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ConsoleIdentity:
    session_id: int
    csrf_token: str
    principal: Principal
    user: User


async def start_session(user: User, *, now: datetime, hours: float, ip: str = "") -> tuple[str, ConsoleSession]:
    """A new session for ``user``: returns (cookie token, row). Signing in always makes a fresh token."""
    token = secrets.token_urlsafe(32)
    row = await ConsoleSession.create(token_hash=token_digest(token), user_id=user.id,
                                      csrf_token=secrets.token_urlsafe(24), token_version=user.token_version,
                                      expires_at=now + timedelta(hours=hours), last_seen_at=now, ip=ip[:64])
    return token, row


async def resume_session(token: str | None, *, now: datetime, hours: float) -> ConsoleIdentity | None:
    """The identity behind a cookie, or None (unknown, expired, user deactivated or tokens revoked)."""
    if not token or len(token) > 128:
        return None
    row = await ConsoleSession.get_or_none(token_hash=token_digest(token))
    if row is None or row.expires_at <= now:
        return None
    user = await User.get_or_none(id=row.user_id)
    if user is None or not user.is_active or user.token_version != row.token_version:
        await ConsoleSession.filter(id=row.id).delete()
        return None
    if now - row.last_seen_at > timedelta(minutes=1):  # sliding expiry, written at most once a minute
        await ConsoleSession.filter(id=row.id).update(last_seen_at=now, expires_at=now + timedelta(hours=hours))
    return ConsoleIdentity(session_id=row.id, csrf_token=row.csrf_token, principal=await load_principal(user),
                           user=user)


async def end_session(token: str | None) -> None:
    if token:
        await ConsoleSession.filter(token_hash=token_digest(token)).delete()
