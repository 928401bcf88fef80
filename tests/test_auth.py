import json
from datetime import timedelta

import jwt
import pytest

from accounts.choices import Role
from accounts.tokens import issue_token
from api.app import create_app
from models.accounts import User, WechatSession
from tests.support.asgi import AppClient
from tests.support.world import JWT_SECRET


async def login(client, code):
    _, response = await client.post("/api/v1/auth/wechat/login", content=json.dumps({"code": code}))
    return response


async def issue_staff_code(client, world, user):
    _, response = await client.post(f"/api/v1/admin/users/{user.id}/binding-code", headers=world.auth(world.admin))
    assert response.status == 201
    return response.json["binding_code"]


async def test_staff_binding_then_login(client, world, fake_wechat):
    fake_wechat.codes["c1"] = {"openid": "o-inspector", "session_key": "SECRET-SESSION-KEY"}
    first = await login(client, "c1")
    assert first.status == 200 and first.json["bound"] is False
    assert "SECRET-SESSION-KEY" not in first.text and "session_key" not in first.text
    code = await issue_staff_code(client, world, world.a.inspector)
    _, bound = await client.post("/api/v1/auth/bind", content=json.dumps({"binding_code": code}),
                                 headers={"Authorization": f"Bearer {first.json['binding_token']}"})
    assert bound.status == 200, bound.json
    assert bound.json["user"] == {"id": world.a.inspector.id, "name": world.a.inspector.name, "role": "INSPECTOR"}
    assert (await WechatSession.get(openid="o-inspector")).session_key == "SECRET-SESSION-KEY"
    # the code is single use
    fake_wechat.codes["c2"] = {"openid": "o-other", "session_key": "k"}
    other = await login(client, "c2")
    _, again = await client.post("/api/v1/auth/bind", content=json.dumps({"binding_code": code}),
                                 headers={"Authorization": f"Bearer {other.json['binding_token']}"})
    assert again.status == 422 and again.json["error"]["code"] == "INVALID_BINDING_CODE"
    # next login goes straight to a token; the token works
    fake_wechat.codes["c3"] = {"openid": "o-inspector", "session_key": "NEW"}
    second = await login(client, "c3")
    assert second.json["bound"] is True
    _, me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {second.json['token']}"})
    assert me.json["id"] == world.a.inspector.id and me.json["building_ids"] == [world.a.building.id]
    # wechatpy really talked to the fake: a token fetch, then code2session with our appid
    paths = [r["path"] for r in fake_wechat.requests]
    assert "/cgi-bin/token" in paths and paths.count("/sns/jscode2session") == 3
    assert fake_wechat.requests[-1]["params"]["appid"] == "wx-test-appid"


async def test_tenant_redeems_code_issued_with_lease(client, world, fake_wechat):
    _, issued = await client.post(f"/api/v1/leases/{world.a.lease.id}/tenant-code",
                                  headers=world.auth(world.a.manager))
    fake_wechat.codes["t1"] = {"openid": "o-tenant", "session_key": "k"}
    pending = await login(client, "t1")
    _, bound = await client.post("/api/v1/auth/bind", content=json.dumps({"binding_code": issued.json["binding_code"]}),
                                 headers={"Authorization": f"Bearer {pending.json['binding_token']}"})
    assert bound.status == 200 and bound.json["user"]["role"] == "TENANT"
    user = await User.get(openid="o-tenant")
    assert user.tenant_id == world.a.lease.tenant_id
    _, leases = await client.get("/api/v1/me/leases", headers={"Authorization": f"Bearer {bound.json['token']}"})
    assert [lease["id"] for lease in leases.json["items"]] == [world.a.lease.id]


@pytest.mark.parametrize("errcode,status,code", [
    (40029, 401, "WECHAT_CODE_INVALID"),
    (40163, 401, "WECHAT_CODE_USED"),
    (45011, 429, "WECHAT_RATE_LIMITED"),
    (40226, 403, "WECHAT_USER_BLOCKED"),
    (-1, 503, "WECHAT_BUSY"),
])
async def test_wechat_errors_map_to_clear_answers(client, db, fake_wechat, errcode, status, code):
    fake_wechat.codes["bad"] = {"errcode": errcode, "errmsg": "scripted"}
    response = await login(client, "bad")
    assert response.status == status
    assert response.json["error"]["code"] == code and response.json["error"]["details"]["errcode"] == errcode
    assert await WechatSession.all().count() == 0


async def test_expired_access_token_is_refreshed_once_not_forever(client, db, fake_wechat):
    fake_wechat.codes["ok"] = {"openid": "o-x", "session_key": "k"}
    # first code2session answers 40001 (token expired): the client refreshes once and succeeds
    original = fake_wechat.handle
    calls = {"n": 0}

    def flaky(path, params, body):
        if path == "/sns/jscode2session":
            calls["n"] += 1
            if calls["n"] == 1:
                return {"errcode": 40001, "errmsg": "invalid credential"}
        return original(path, params, body)

    fake_wechat.handle = flaky
    response = await login(client, "ok")
    assert response.status == 200 and response.json["bound"] is False
    assert calls["n"] == 2
    # a server that keeps answering 40001 gets a clear 503, not a RecursionError
    fake_wechat.handle = lambda path, params, body: (
        {"errcode": 40001, "errmsg": "x"} if path == "/sns/jscode2session" else original(path, params, body))
    response = await login(client, "ok")
    assert response.status == 503 and response.json["error"]["code"] == "WECHAT_ERROR"


async def test_unreachable_wechat_is_503(settings, clock, db):
    settings = settings.model_copy(update={"wechat_api_base": "http://127.0.0.1:9/"})
    client = AppClient(create_app(settings, clock=clock, manage_db=False))
    response = await login(client, "any")
    assert response.status == 503 and response.json["error"]["code"] == "WECHAT_UNREACHABLE"


@pytest.mark.parametrize("mutate,code", [
    (lambda token, world: token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"), "INVALID_TOKEN"),
    (lambda token, world: world.token(world.admin, secret="another-secret-0123456789abcdef"), "INVALID_TOKEN"),
    (lambda token, world: jwt.encode({"sub": str(world.admin.id), "kind": "access", "exp": 4102444800},
                                     "x", algorithm="HS384"), "INVALID_TOKEN"),
    (lambda token, world: "not-a-jwt", "INVALID_TOKEN"),
])
async def test_forged_tokens_are_401(client, world, mutate, code):
    token = mutate(world.token(world.admin), world)
    _, response = await client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401 and response.json["error"]["code"] == code


async def test_expired_token_is_401(client, world, clock):
    token = world.token(world.admin)
    clock.advance(timedelta(hours=2))
    _, response = await client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401 and response.json["error"]["code"] == "TOKEN_EXPIRED"


async def test_token_validity_follows_the_injected_clock(client, world, clock):
    clock.advance(timedelta(days=400))  # far past the real wall clock
    fresh = issue_token(secret=JWT_SECRET, subject=str(world.admin.id), kind="access", now=clock.now(),
                        ttl_seconds=600, extra={"ver": 0})
    _, response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    assert response.status == 200


async def test_deactivated_user_token_stops_working(client, world):
    headers = world.auth(world.a.inspector)
    await User.filter(id=world.a.inspector.id).update(is_active=False)
    _, response = await client.get("/api/v1/units", headers=headers)
    assert response.status == 401


async def test_pending_token_is_not_an_access_token(client, world, fake_wechat):
    fake_wechat.codes["p"] = {"openid": "o-p", "session_key": "k"}
    pending = await login(client, "p")
    _, response = await client.get("/api/v1/units",
                                   headers={"Authorization": f"Bearer {pending.json['binding_token']}"})
    assert response.status == 401


async def test_dev_login_only_when_enabled(settings, clock, world):
    enabled = AppClient(create_app(settings, clock=clock, manage_db=False))
    _, ok = await enabled.post("/api/v1/auth/dev-login", content=json.dumps({"user_id": world.admin.id}))
    assert ok.status == 200 and ok.json["user"]["role"] == Role.ADMIN
    disabled = AppClient(create_app(settings.model_copy(update={"dev_login": False}), clock=clock, manage_db=False))
    _, refused = await disabled.post("/api/v1/auth/dev-login", content=json.dumps({"user_id": world.admin.id}))
    assert refused.status == 404 and refused.json["error"]["code"] == "DEV_LOGIN_DISABLED"
