"""Route access: every handler declares who may call it with ``@access(...)``; the app refuses to start
with an undeclared route, and tests walk every route with every role."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from sanic import Request

from accounts.choices import STAFF_ROLES, Role
from accounts.scope import Principal, load_principal
from accounts.tokens import decode_token
from core.errors import Forbidden, Unauthorized

ACCESS_TOKEN = "access"
PENDING_TOKEN = "wechat-pending"

STAFF = frozenset(STAFF_ROLES)
EVERYONE = frozenset(STAFF_ROLES | {Role.TENANT})
MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class AccessRule:
    roles: frozenset[Role]
    public: bool = False
    note: str = ""


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token", code="AUTH_REQUIRED")
    return token.strip()


async def authenticate(request: Request) -> Principal:
    from models.accounts import User

    settings, clock = request.app.ctx.settings, request.app.ctx.clock
    claims = decode_token(bearer_token(request), secret=settings.jwt_secret, now=clock.now(),
                          expected_kind=ACCESS_TOKEN)
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise Unauthorized("invalid token subject", code="INVALID_TOKEN") from None
    user = await User.get_or_none(id=user_id)
    if user is None or not user.is_active or claims.get("ver") != user.token_version:
        raise Unauthorized("token is no longer valid", code="INVALID_TOKEN")
    return await load_principal(user)


def access(roles: Iterable[Role] = (), *, public: bool = False, note: str = ""):
    """Declare who may call a handler. Non-public handlers get ``request.ctx.principal``."""
    rule = AccessRule(roles=frozenset(roles), public=public, note=note)
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
