"""Route access: every handler declares who may call it with ``@access(...)``; the app refuses to start
with an undeclared route, and tests walk every route with every role."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from sanic import Request

from accounts.choices import Role
from accounts.permissions import ADMINS, EVERYONE, MANAGERS, STAFF
from accounts.scope import Principal, load_account
from accounts.tokens import decode_token
from core.changes import USER
from core.errors import Forbidden, Unauthorized

ACCESS_TOKEN = "access"
PENDING_TOKEN = "wechat-pending"

__all__ = ["ADMINS", "EVERYONE", "MANAGERS", "STAFF", "AccessRule", "access", "principal_of"]  # sets: permissions


@dataclass(frozen=True)
class AccessRule:
    roles: frozenset[Role]
    public: bool = False
    note: str = ""
    read_only: bool = False  # a POST that writes nothing (e.g. scan): the worker's caches need no refresh after it


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token", code="AUTH_REQUIRED")
    return token.strip()


async def authenticate(request: Request) -> Principal:
    """The caller's principal: from the worker's cache (keyed by the exact token, dropped when the user or their
    building duties change, see core.changes) or from the token and the database (one statement)."""
    ctx = request.app.ctx
    token = bearer_token(request)
    now = ctx.clock.now()
    cached = await ctx.principals.get(token)
    if cached is not None:
        principal, issued_at, expires_at = cached
        if issued_at - 60 <= int(now.timestamp()) < expires_at:  # the same time checks as decode_token
            return principal
    fill = ctx.principals.begin()
    claims = decode_token(token, secret=ctx.settings.jwt_secret, now=now, expected_kind=ACCESS_TOKEN)
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise Unauthorized("invalid token subject", code="INVALID_TOKEN") from None
    account = await load_account(user_id)
    if account is None or not account.is_active or claims.get("ver") != account.token_version:
        raise Unauthorized("token is no longer valid", code="INVALID_TOKEN")
    principal = account.principal
    ctx.principals.put(token, (principal, claims["iat"], claims["exp"]), [(USER, user_id)], fill)
    return principal


def access(roles: Iterable[Role] = (), *, public: bool = False, note: str = "", read_only: bool = False):
    """Declare who may call a handler. Non-public handlers get ``request.ctx.principal``."""
    rule = AccessRule(roles=frozenset(roles), public=public, note=note, read_only=read_only)
    if not public and not rule.roles:
        raise ValueError("a non-public route must name its roles")

    def decorate(handler):
        @functools.wraps(handler)
        async def wrapper(request: Request, *args, **kwargs):
            if not rule.public:
                principal = await authenticate(request)
                if principal.role not in rule.roles:
                    raise Forbidden(f"role {principal.role} may not use this endpoint",
                                    details={"allowed_roles": sorted(rule.roles)})
                request.ctx.principal = principal
            return await handler(request, *args, **kwargs)

        wrapper.__rw_access__ = rule  # type: ignore[attr-defined]
        return wrapper

    return decorate


def route_access_rule(handler) -> AccessRule | None:
    return getattr(handler, "__rw_access__", None)


def principal_of(request: Request) -> Principal:
    return request.ctx.principal
