"""Deactivating a user through the admin API revokes their tokens and console sessions, on every worker within
the principal cache's poll interval."""

from __future__ import annotations

from accounts.service import set_password
from api.app import create_app
from models.accounts import BindingCode, ConsoleSession, User
from tests.support.asgi import AppClient
from tests.support.console import sign_in

PASSWORD = "correct-horse-42"


async def deactivate(client, world, user_id):
    _, response = await client.post(f"/api/v1/admin/users/{user_id}/deactivate", headers=world.auth(world.admin))
    return response


async def test_deactivation_revokes_tokens_sessions_and_codes(client, world, clock):
    inspector = world.a.inspector
    token_headers = world.auth(inspector)
    _, me = await client.get("/api/v1/auth/me", headers=token_headers)
    assert me.status == 200  # now in this worker's principal cache
    await set_password(inspector, PASSWORD, now=clock.now(), login="insp-a")
    _, console_headers = await sign_in(client, "insp-a", PASSWORD)
    assert console_headers
    _, code = await client.post(f"/api/v1/admin/users/{inspector.id}/binding-code", headers=world.auth(world.admin))
    assert code.status == 201

    response = await deactivate(client, world, inspector.id)
    assert response.status == 200 and response.json["is_active"] is False and response.json["id"] == inspector.id
    user = await User.get(id=inspector.id)
    assert not user.is_active and user.token_version == inspector.token_version + 1

    _, me = await client.get("/api/v1/auth/me", headers=token_headers)
    assert me.status == 401 and me.json["error"]["code"] == "INVALID_TOKEN"
    _, board = await client.get("/console/board", headers=console_headers, follow_redirects=False)
    assert board.status in (303, 401)
    assert not await ConsoleSession.filter(user_id=inspector.id).exists()
    assert not await BindingCode.filter(user_id=inspector.id, used_at__isnull=True).exists()
    _, dev = await client.post("/api/v1/auth/dev-login", json={"user_id": inspector.id})
    assert dev.status == 401  # no new token either
    # idempotent; an admin cannot lock themselves out; unknown users are 404
    assert (await deactivate(client, world, inspector.id)).status == 200
    own = await deactivate(client, world, world.admin.id)
    assert own.status == 422 and own.json["error"]["code"] == "SELF_DEACTIVATION"
    assert (await deactivate(client, world, 10**9)).status == 404


async def test_other_worker_refuses_within_the_poll_interval(settings, client, world, clock):
    other_settings = settings.model_copy(update={"cache_poll_seconds": 5.0})
    other = AppClient(create_app(other_settings, clock=clock, manage_db=False))  # a second worker
    headers = world.auth(world.a.manager)
    _, first = await other.get("/api/v1/auth/me", headers=headers)
    assert first.status == 200
    assert (await deactivate(client, world, world.a.manager.id)).status == 200
    clock.advance(seconds=5)  # one poll interval later the other worker has read the change log
    _, after = await other.get("/api/v1/auth/me", headers=headers)
    assert after.status == 401 and after.json["error"]["code"] == "INVALID_TOKEN"
