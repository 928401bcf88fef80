"""``@console_access(roles)``: the console's twin of api.access.access. The caller is the console session's
principal (the same Principal, role and building scope as the API); every non-GET request must carry the
session's CSRF token (form field or X-CSRF-Token header) and, when the browser sends one, a same-origin Origin."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import urlparse

from sanic import Request

from accounts.choices import Role
from accounts.sessions import ConsoleIdentity, resume_session
from api.access import AccessRule
from console.sessions import COOKIE_NAME, CSRF_FIELD, CSRF_HEADER, csrf_matches
from core.errors import Forbidden, Unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRE_CSRF_COOKIE = "rw_console_csrf"  # double-submit token of the sign-in form (before a session exists)


class ConsoleSignInRequired(Unauthorized):
    code = "AUTH_REQUIRED"


class CsrfFailed(Forbidden):
    code = "CSRF_FAILED"


async def identify(request: Request) -> ConsoleIdentity | None:
    ctx = request.app.ctx
    return await resume_session(request.cookies.get(COOKIE_NAME), now=ctx.clock.now(),
                                hours=ctx.settings.console_session_hours)


def submitted_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = request.form if request.content_type.startswith(("application/x-www-form-urlencoded",
                                                             "multipart/form-data")) else None
    return form.get(CSRF_FIELD) if form else None


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlparse(origin).netloc != request.host:
        raise CsrfFailed("cross-origin request refused", details={"origin": origin})


def check_csrf(request: Request, identity: ConsoleIdentity | None) -> None:
    check_origin(request)
    given = submitted_csrf(request)
    expected = identity.csrf_token if identity else request.cookies.get(PRE_CSRF_COOKIE, "")
    if not expected or not csrf_matches(expected, given):
        raise CsrfFailed("表单已过期或来源不明,请刷新页面后重试")


def console_access(roles: Iterable[Role] = (), *, public: bool = False, note: str = "", read_only: bool = False):
    """Declare who may use a console handler; non-public handlers get ``request.ctx.principal``."""
    rule = AccessRule(roles=frozenset(roles), public=public, note=note, read_only=read_only)
    if not public and not rule.roles:
        raise ValueError("a non-public console route must name its roles")
    if Role.TENANT in rule.roles:
        raise ValueError("tenants never use the console")

    def decorate(handler):
        @functools.wraps(handler)
        async def wrapper(request: Request, *args, **kwargs):
            identity = await identify(request)
            request.ctx.console = identity
            if not rule.public:
                if identity is None:
                    raise ConsoleSignInRequired("请先登录")
                if identity.principal.role not in rule.roles:
                    raise Forbidden(f"role {identity.principal.role} may not use this page",
                                    details={"allowed_roles": sorted(rule.roles)})
                request.ctx.principal = identity.principal
            if request.method not in SAFE_METHODS:
                check_csrf(request, identity)
            return await handler(request, *args, **kwargs)

        wrapper.__rw_access__ = rule  # type: ignore[attr-defined]
        return wrapper

    return decorate
