from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json

from accounts.service import redeem_binding_code, remember_wechat_session
from accounts.tokens import decode_token, issue_token
from api import responses as R
from api.access import ACCESS_TOKEN, EVERYONE, PENDING_TOKEN, access, bearer_token, body_of, principal_of
from api.throttle import throttle
from core.errors import NotFound, ServiceUnavailable, Unauthorized
from models.accounts import User
from wechat.client import code_to_session

bp = Blueprint("auth", url_prefix="/auth")


class WechatLoginIn(BaseModel):
    code: str = Field(min_length=1, max_length=128)


class BindIn(BaseModel):
    binding_code: str = Field(min_length=4, max_length=32)


class DevLoginIn(BaseModel):
    user_id: int


def access_token_for(request: Request, user: User) -> dict:
    settings, now = request.app.ctx.settings, request.app.ctx.clock.now()
    token = issue_token(secret=settings.jwt_secret, subject=str(user.id), kind=ACCESS_TOKEN, now=now,
                        ttl_seconds=settings.jwt_ttl_seconds, extra={"ver": user.token_version})
    return {"bound": True, "token": token, "token_type": "Bearer", "expires_in": settings.jwt_ttl_seconds,
            "user": {"id": user.id, "name": user.name, "role": user.role}}


@bp.post("/wechat/login", name="auth_wechat_login")
@access(public=True, note="exchanges a wx.login code; the session_key never leaves the server", body=WechatLoginIn,
        response=R.AuthWechatLogin, errors=(429, 503))
async def wechat_login(request: Request):
    throttle(request, "login")
    body = body_of(request, WechatLoginIn)
    session = await code_to_session(request.app.ctx.wechat_client(), body.code)
    openid = session.get("openid")
    if not openid:
        raise ServiceUnavailable("WeChat returned no openid", code="WECHAT_ERROR")
    throttle(request, "login", f"openid:{openid}")
    await remember_wechat_session(openid, session.get("session_key", ""))
    user = await User.get_or_none(openid=openid, is_active=True)
    if user:
        return json(access_token_for(request, user))
    settings, now = request.app.ctx.settings, request.app.ctx.clock.now()
    pending = issue_token(secret=settings.jwt_secret, subject=openid, kind=PENDING_TOKEN, now=now,
                          ttl_seconds=15 * 60, extra={"unionid": session.get("unionid")})
    return json({"bound": False, "binding_token": pending, "expires_in": 15 * 60})


@bp.post("/bind", name="auth_bind")
@access(public=True, note="needs the binding_token from login as bearer and a one-time binding code", body=BindIn,
        response=R.AuthDevLogin, errors=(401, 429))
async def bind(request: Request):
    settings, now = request.app.ctx.settings, request.app.ctx.clock.now()
    throttle(request, "bind")
    claims = decode_token(bearer_token(request), secret=settings.jwt_secret, now=now, expected_kind=PENDING_TOKEN)
    throttle(request, "bind", f"openid:{claims['sub']}")  # per pending login, also across re-issued tokens
    body = body_of(request, BindIn)
    user = await redeem_binding_code(body.binding_code, openid=claims["sub"], unionid=claims.get("unionid"),
                                     now=now)
    return json(access_token_for(request, user))


@bp.post("/dev-login", name="auth_dev_login")
@access(public=True, note="demo only: refused unless dev mode and RW_DEV_LOGIN are on", body=DevLoginIn,
        response=R.AuthDevLogin)
async def dev_login(request: Request):
    if not request.app.ctx.settings.dev_login_enabled:
        raise NotFound("dev login is disabled", code="DEV_LOGIN_DISABLED")
    throttle(request, "dev_login")
    body = body_of(request, DevLoginIn)
    throttle(request, "dev_login", f"user:{body.user_id}")
    user = await User.get_or_none(id=body.user_id, is_active=True)
    if user is None:
        raise Unauthorized("no such active user", code="UNKNOWN_USER")
    return json(access_token_for(request, user))


@bp.get("/me", name="auth_me")
@access(EVERYONE, response=R.AuthMe)
async def me(request: Request):
    principal = principal_of(request)
    return json({"id": principal.user_id, "name": principal.name, "role": principal.role,
                 "building_ids": None if principal.building_ids is None else sorted(principal.building_ids),
                 "tenant_id": principal.tenant_id})


