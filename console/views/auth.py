"""Sign-in and sign-out, the console's home and its static files."""

from __future__ import annotations

import secrets

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file, redirect

from accounts.passwords import LockoutPolicy
from accounts.service import SignInRefused, check_password_login
from accounts.sessions import end_session, start_session
from api.throttle import throttle
from console.access import PRE_CSRF_COOKIE, console_access
from console.rendering import page
from console.roles import VIEWERS
from console.sessions import COOKIE_NAME
from console.static_files import content_type, resolve
from console.views.common import form_data, now_of, parse_form, settings_of
from core.errors import NotFound

bp = Blueprint("console_auth", url_prefix="/console")


class SignInIn(BaseModel):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)
    next: str = Field("", max_length=300)


def safe_next(target: str | None) -> str:
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/board"


def _set_cookie(request: Request, response: HTTPResponse, name: str, value: str, max_age: int) -> None:
    response.add_cookie(name, value, path="/console", httponly=True, samesite="Lax", max_age=max_age,
                        secure=settings_of(request).console_cookie_secure)


async def _login_page(request: Request, *, error: str = "", status: int = 200, login: str = "") -> HTTPResponse:
    token = secrets.token_urlsafe(24)
    response = await page(request, "login.html", status=status, error=error, pre_csrf=token, login=login,
                          next=safe_next(request.args.get("next") or form_data(request).get("next")))
    _set_cookie(request, response, PRE_CSRF_COOKIE, token, 3600)
    return response


@bp.get("/login", name="login_form")
@console_access(public=True, note="the sign-in form")
async def login_form(request: Request):
    """The sign-in page."""
    if request.ctx.console is not None:
        return redirect(safe_next(request.args.get("next")), status=303)
    return await _login_page(request)


@bp.post("/login", name="login")
@console_access(public=True, note="password sign-in; repeated failures lock the account for a while")
async def login(request: Request):
    """Sign in with a login name and password."""
    settings = settings_of(request)
    throttle(request, "login")
    body = parse_form(SignInIn, request)
    throttle(request, "login", f"login:{body.login.strip().lower()}")
    policy = LockoutPolicy(settings.console_lockout_max_failures, settings.console_lockout_minutes)
    try:
        user = await check_password_login(body.login, body.password, now=now_of(request), policy=policy)
    except SignInRefused as exc:
        return await _login_page(request, error=exc.message, status=401, login=body.login)
    token, _ = await start_session(user, now=now_of(request), hours=settings.console_session_hours,
                                   ip=request.remote_addr or request.ip or "")
    response = redirect(safe_next(body.next), status=303)
    _set_cookie(request, response, COOKIE_NAME, token, int(settings.console_session_hours * 3600))
    response.delete_cookie(PRE_CSRF_COOKIE, path="/console")
    return response


@bp.post("/logout", name="logout")
@console_access(VIEWERS)
async def logout(request: Request):
    """Sign out (the session is deleted on the server)."""
    await end_session(request.cookies.get(COOKIE_NAME))
    response = redirect("/console/login", status=303)
    response.delete_cookie(COOKIE_NAME, path="/console")
    return response


@bp.get("", name="home")
@console_access(VIEWERS)
async def home(request: Request):
    """The console's home: the status board."""
    return redirect("/console/board", status=303)


@bp.get("/static/<name:path>", name="static")
@console_access(public=True, note="vendored htmx/ECharts and the console's own CSS/JS")
async def static(request: Request, name: str):
    """A static file of the console."""
    path = resolve(name)
    if path is None:
        raise NotFound("no such file")
    cache = "public, max-age=31536000, immutable" if request.args.get("v") else "public, max-age=300"
    return await file(path, mime_type=content_type(path), headers={"cache-control": cache})
