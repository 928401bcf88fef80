"""Console sign-in: argon2 passwords, lock-out, session cookies, CSRF, CSP, revocation, tenants refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.choices import Role
from accounts.passwords import LockoutPolicy, hash_password, lockout_after_failure, password_problem, verify_password
from accounts.service import set_password
from console.rendering import CSP
from console.sessions import COOKIE_NAME
from models.accounts import ConsoleSession, User
from tests.support.console import set_cookies, sign_in

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
POLICY = LockoutPolicy(max_failures=3, lock_minutes=15)
PASSWORD = "correct-horse-42"


@pytest.mark.parametrize(("failed", "locked_until", "now", "expected"), [
    (0, None, T0, (1, None)),
    (1, None, T0, (2, None)),
    (2, None, T0, (0, T0 + timedelta(minutes=15))),  # the third failure locks
    (0, T0 + timedelta(minutes=15), T0 + timedelta(minutes=5), (0, T0 + timedelta(minutes=15))),  # not extended
    (0, T0 + timedelta(minutes=15), T0 + timedelta(minutes=16), (1, None)),  # lock over: counting again
])
def test_lockout_rule(failed, locked_until, now, expected):
    assert lockout_after_failure(failed, locked_until, now, POLICY) == expected


def test_argon2_hashes_verify_and_differ():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(first, PASSWORD) and not verify_password(first, PASSWORD + "x")
    assert not verify_password("", PASSWORD) and not verify_password("garbage", PASSWORD)


@pytest.mark.parametrize(("password", "ok"), [("short", False), ("aaaaaaaaaaaa", False), ("x" * 129, False),
                                              ("long-enough-1", True)])
def test_password_rules(password, ok):
    assert (password_problem(password) is None) is ok


async def test_sign_in_sets_a_hardened_cookie_and_pages_carry_csp(client, world, clock):
    await set_password(world.a.manager, PASSWORD, now=clock.now(), login="mgr-a")
    response, headers = await sign_in(client, "MGR-A", PASSWORD, next_url="/console/alerts")
    assert response.status == 303 and response.headers["location"] == "/console/alerts"
    cookie = set_cookies(response)[COOKIE_NAME][COOKIE_NAME]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax" and cookie["path"] == "/console"
    assert await ConsoleSession.filter(user_id=world.a.manager.id).count() == 2  # the world's one + this one
    _, page = await client.get("/console/board", headers=headers)
    assert page.status == 200 and "南山A栋" in page.text and "滨江B座" not in page.text
    assert page.headers["content-security-policy"] == CSP and "unsafe-inline" not in CSP
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # no inline scripts: every <script> has a src or is a JSON data block
    user = await User.get(id=world.a.manager.id)
    assert user.last_login_at == clock.now() and user.failed_logins == 0


async def test_repeated_failures_lock_the_account_for_a_while(client, world, clock, settings):
    await set_password(world.a.finance, PASSWORD, now=clock.now(), login="fin-a")
    for _ in range(settings.console_lockout_max_failures):
        response, headers = await sign_in(client, "fin-a", "wrong-password")
        assert response.status == 401 and not headers
    response, headers = await sign_in(client, "fin-a", PASSWORD)
    assert response.status == 401 and "锁定" in response.text and not headers
    clock.advance(minutes=settings.console_lockout_minutes + 1)
    response, headers = await sign_in(client, "fin-a", PASSWORD)
    assert response.status == 303 and headers


async def test_unknown_login_and_tenant_answer_like_a_wrong_password(client, world, clock):
    response, _ = await sign_in(client, "nobody", PASSWORD)
    assert response.status == 401 and "用户名或密码错误" in response.text
    with pytest.raises(Exception, match="staff"):
        await set_password(world.a.tenant_user, PASSWORD, now=clock.now(), login="tenant")


async def test_forms_without_the_csrf_token_or_from_another_origin_are_refused(client, world):
    alert = world.a.extra["alert"]
    cookie = {"Cookie": world.console_auth(world.a.manager)["Cookie"]}
    _, response = await client.post(f"/console/alerts/{alert.id}/acknowledge", headers=cookie, data={"note": "x"})
    assert response.status == 403 and "表单已过期" in response.text
    _, response = await client.post(f"/console/alerts/{alert.id}/acknowledge", data={"note": "x"},
                                    headers={**world.console_auth(world.a.manager), "Origin": "https://evil.example"})
    assert response.status == 403
    _, response = await client.post("/console/login", data={"login": "a", "password": "b", "csrf_token": "forged"})
    assert response.status == 403
    _, response = await client.post(f"/console/alerts/{alert.id}/acknowledge", data={"note": "ok"},
                                    headers=world.console_auth(world.a.manager))
    assert response.status == 303


async def test_tenants_and_revoked_or_deactivated_sessions_never_reach_the_console(client, world):
    _, response = await client.get("/console/board", headers=world.console_auth(world.a.tenant_user))
    assert response.status == 403 and "无权访问" in response.text
    await User.filter(id=world.a.inspector.id).update(token_version=5)  # revocation (as for API tokens)
    _, response = await client.get("/console/board", headers=world.console_auth(world.a.inspector))
    assert response.status == 303 and response.headers["location"].startswith("/console/login")
    await User.filter(id=world.a.finance.id).update(is_active=False)
    _, response = await client.get("/console/board", headers=world.console_auth(world.a.finance))
    assert response.status == 303
    _, response = await client.get("/console/board", headers={"HX-Request": "true",
                                                              **world.console_auth(world.a.finance)})
    assert response.status == 401 and response.headers["hx-redirect"].startswith("/console/login")


async def test_sign_out_deletes_the_session(client, world):
    headers = world.console_auth(world.a.manager)
    _, response = await client.post("/console/logout", headers=headers)
    assert response.status == 303
    _, response = await client.get("/console/board", headers=headers)
    assert response.status == 303 and response.headers["location"].startswith("/console/login")


async def test_sessions_expire_after_idle_hours(client, world, clock, settings):
    clock.advance(hours=settings.console_session_hours + 13)
    _, response = await client.get("/console/board", headers=world.console_auth(world.admin))
    assert response.status == 303


def test_roles_module_keeps_tenants_out():
    from console import roles

    for name in dir(roles):
        value = getattr(roles, name)
        if isinstance(value, frozenset):
            assert Role.TENANT not in value, name


async def test_expired_sessions_are_purged_by_the_scheduler(world, clock, settings):
    from reminders.scheduler import run_scheduled_jobs

    before = await ConsoleSession.all().count()
    assert before > 0
    summary = await run_scheduled_jobs(settings, clock.now() + timedelta(hours=12, days=1, minutes=1))
    assert summary["console_sessions_purged"] == before and summary["failed"] == []
    assert await ConsoleSession.all().count() == 0
