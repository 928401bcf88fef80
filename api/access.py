"""Route access: every handler declares who may call it with ``@access(...)``; the app refuses to start
with an undeclared route, and tests walk every route with every role."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from sanic import Request

from accounts.choices import Role
from accounts.permissions import ADMINS, EVERYONE, MANAGERS, STAFF
from accounts.scope import Principal, load_account
from accounts.tokens import decode_token
from core.changes import USER
from core.errors import Forbidden, Unauthorized
from core.validation import parse_body, parse_json_body, parse_query, validate

ACCESS_TOKEN = "access"
PENDING_TOKEN = "wechat-pending"

__all__ = ["ADMINS", "EVERYONE", "MANAGERS", "STAFF", "AccessRule", "File", "access", "body_of", "form_of",
           "principal_of", "query_of"]  # sets: permissions

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class File:
    """A response that is a file, not JSON (a PNG sticker, an XLSX report): its media type for the API document."""

    media_type: str


class UndeclaredModel(RuntimeError):
    """A handler validated with a model its ``@access`` does not declare: the API document would be wrong."""


@dataclass(frozen=True)
class AccessRule:
    roles: frozenset[Role]
    public: bool = False
    note: str = ""
    read_only: bool = False  # a POST that writes nothing (e.g. scan): the worker's caches need no refresh after it
    # What the API document (api.openapi) says about the route, read from the same models that validate: a
    # handler reads its input only through body_of / query_of / form_of, which refuse an undeclared model.
    body: type[BaseModel] | None = None  # JSON request body
    body_required: bool = True  # False: an empty body is read as {}
    query: type[BaseModel] | None = None  # query string
    form: type[BaseModel] | None = None  # multipart form fields (with ``files``)
    files: tuple[str, ...] = ()  # multipart file fields (an import also takes the file as the raw body)
    response: type[BaseModel] | File | None = None  # the 2xx body
    status: tuple[int, ...] = (200,)  # its statuses (an idempotent create: 201 the first time, then 200)
    errors: frozenset[int] = frozenset()  # error statuses beyond those the declaration implies (api.openapi)


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


def access(roles: Iterable[Role] = (), *, public: bool = False, note: str = "", read_only: bool = False,
           body: type[BaseModel] | None = None, body_required: bool = True, query: type[BaseModel] | None = None,
           form: type[BaseModel] | None = None, files: Iterable[str] = (),
           response: type[BaseModel] | File | None = None, status: int | tuple[int, ...] = 200,
           errors: Iterable[int] = ()):
    """Declare who may call a handler, and what it reads and answers (documented by api.openapi). Non-public
    handlers get ``request.ctx.principal``."""
    rule = AccessRule(roles=frozenset(roles), public=public, note=note, read_only=read_only, body=body,
                      body_required=body_required, query=query, form=form, files=tuple(files), response=response,
                      status=(status,) if isinstance(status, int) else status, errors=frozenset(errors))
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


def _declared(request: Request, model: type[BaseModel], what: str) -> AccessRule:
    rule = route_access_rule(request.route.handler) if request.route else None
    if rule is None or getattr(rule, what) is not model:
        raise UndeclaredModel(f"{request.route.name if request.route else '?'} reads its {what} with "
                              f"{model.__name__}, not declared in its @access({what}=...)")
    return rule


def body_of(request: Request, model: type[M]) -> M:
    """The JSON body, validated by the model the route's ``@access(body=...)`` declares."""
    rule = _declared(request, model, "body")
    return parse_body(model, request.body if request.body or rule.body_required else b"{}")


def raw_body_of(request: Request, model: type[BaseModel]) -> Any:
    """The parsed JSON body for a handler that validates it with ``model`` itself (with rules pydantic alone
    cannot state, e.g. fields required by other fields)."""
    _declared(request, model, "body")
    return parse_json_body(request.body)


def query_of(request: Request, model: type[M]) -> M:
    """The query string, validated by the model the route's ``@access(query=...)`` declares."""
    _declared(request, model, "query")
    return parse_query(model, request.args)


def form_of(request: Request, model: type[M], fields: dict[str, str] | None = None) -> M:
    """The multipart form fields (not the files), validated by the route's ``@access(form=...)`` model; a field
    sent empty is a field not sent. ``fields``: those of a streamed body (api.multipart), first value each."""
    _declared(request, model, "form")
    if fields is not None:
        return validate(model, {key: value for key, value in fields.items() if value})
    return validate(model, {key: values[0] for key, values in (request.form or {}).items() if values and values[0]})
