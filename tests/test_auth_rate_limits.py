"""Rate limits on WeChat login, binding, dev-login and console sign-in: per account and per client address,
429 RATE_LIMITED with Retry-After, time from the app's ManualClock."""

from __future__ import annotations

import json

import pytest

from accounts.service import set_password
from api.app import create_app
from tests.support.asgi import AppClient
from tests.support.console import sign_in

PASSWORD = "correct-horse-42"


@pytest.fixture
def settings(settings):
    settings.rate_login_per_account = (3, 300.0)
    settings.rate_login_per_address = (6, 300.0)
    settings.rate_bind_per_token = (3, 900.0)
    settings.rate_bind_per_address = (5, 900.0)
    settings.rate_dev_login_per_account = (2, 60.0)
    settings.rate_dev_login_per_address = (4, 60.0)
    return settings


def assert_limited(response, retry_after: int, limit: str) -> None:
    assert response.status == 429, response.text
    error = response.json["error"]
    assert error["code"] == "RATE_LIMITED" and error["message"]
    assert error["details"]["retry_after_seconds"] == retry_after and error["details"]["limit"] == limit
    assert response.headers["retry-after"] == str(retry_after)


async def wechat_login(client, fake_wechat, code: str, openid: str):
    fake_wechat.codes[code] = {"openid": openid, "session_key": "k"}
    _, response = await client.post("/api/v1/auth/wechat/login", content=json.dumps({"code": code}))
    return response


async def bind(client, pending: str, code: str = "WRONGCODE1"):
    _, response = await client.post("/api/v1/auth/bind", content=json.dumps({"binding_code": code}),
                                    headers={"Authorization": f"Bearer {pending}"})
    return response


async def test_wrong_binding_codes_against_one_pending_token(client, world, fake_wechat, clock):
    pending = (await wechat_login(client, fake_wechat, "c1", "o-new")).json["binding_token"]
    for _ in range(3):
        assert (await bind(client, pending)).json["error"]["code"] == "INVALID_BINDING_CODE"
    clock.advance(seconds=100)
    assert_limited(await bind(client, pending), 800, "account")
    # a fresh pending token for the same WeChat account does not reset the count
    again = (await wechat_login(client, fake_wechat, "c2", "o-new")).json["binding_token"]
    assert_limited(await bind(client, again), 800, "account")
    # a right code is refused too while limited, then works once the window has passed
    _, issued = await client.post(f"/api/v1/admin/users/{world.a.inspector.id}/binding-code",
                                  headers=world.auth(world.admin))
    assert (await bind(client, again, issued.json["binding_code"])).status == 429
    clock.advance(seconds=800)
    bound = await bind(client, again, issued.json["binding_code"])
    assert bound.status == 200 and bound.json["user"]["id"] == world.a.inspector.id


async def test_binding_per_address_across_tokens(app, world, fake_wechat, clock):
    client = AppClient(app, client_address=("10.0.0.7", 40000))
    pendings = [(await wechat_login(client, fake_wechat, f"c{i}", f"o-{i}")).json["binding_token"]
                for i in range(3)]
    statuses = [(await bind(client, pendings[i % 3])).status for i in range(5)]
    assert statuses == [422] * 5
    assert_limited(await bind(client, pendings[2]), 900, "address")
    # another address is not affected
    other = AppClient(app, client_address=("10.0.0.8", 40000))
    assert (await bind(other, pendings[2])).status == 422


async def test_wechat_login_per_account_and_per_address(app, db, fake_wechat, clock):
    client = AppClient(app, client_address=("10.0.1.1", 1))
    for i in range(3):
        assert (await wechat_login(client, fake_wechat, f"a{i}", "o-same")).status == 200
    assert_limited(await wechat_login(client, fake_wechat, "a3", "o-same"), 300, "account")
    for i in range(2):  # the address has seen 4 of its 6
        assert (await wechat_login(client, fake_wechat, f"b{i}", f"o-b{i}")).status == 200
    clock.advance(seconds=30)
    assert_limited(await wechat_login(client, fake_wechat, "b9", "o-b9"), 270, "address")
    elsewhere = AppClient(app, client_address=("10.0.1.2", 1))
    assert (await wechat_login(elsewhere, fake_wechat, "e1", "o-e1")).status == 200
    clock.advance(seconds=270)
    assert (await wechat_login(client, fake_wechat, "b10", "o-b10")).status == 200


async def test_dev_login_per_user_and_address(client, world, clock):
    async def dev_login(user_id):
        _, response = await client.post("/api/v1/auth/dev-login", content=json.dumps({"user_id": user_id}))
        return response

    assert [(await dev_login(world.admin.id)).status for _ in range(2)] == [200, 200]
    assert_limited(await dev_login(world.admin.id), 60, "account")
    assert (await dev_login(world.a.manager.id)).status == 200  # address: 4th of 4
    clock.advance(seconds=10)
    assert_limited(await dev_login(world.a.inspector.id), 50, "address")
    clock.advance(seconds=50)
    assert (await dev_login(world.admin.id)).status == 200


async def test_console_sign_in_per_login_name(client, world, clock):
    await set_password(world.a.manager, PASSWORD, now=clock.now(), login="mgr-a")
    for _ in range(2):
        response, _ = await sign_in(client, "mgr-a", "wrong-password-1")
        assert response.status == 401
    response, headers = await sign_in(client, "MGR-A", PASSWORD)  # the name is counted case-blind
    assert response.status == 303 and headers
    response, _ = await sign_in(client, "mgr-a", PASSWORD)
    assert response.status == 429 and response.headers["retry-after"] == "300"
    assert "text/html" in response.headers["content-type"]  # the console's error page, not JSON


async def test_limits_are_configurable_and_can_be_turned_off(settings, clock, db, world):
    settings.rate_limit_enabled = False
    client = AppClient(create_app(settings, clock=clock, manage_db=False))
    for _ in range(5):
        _, response = await client.post("/api/v1/auth/dev-login", content=json.dumps({"user_id": world.admin.id}))
        assert response.status == 200
