"""Accounts: WeChat login, one-time binding codes, staff creation."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from accounts.choices import STAFF_ROLES, BindingPurpose, Role, StaffDuty
from audit.choices import AuditAction
from audit.service import Actor, Target, record
from core.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from models.accounts import BindingCode, User, WechatSession
from models.portfolio import Building, BuildingStaff

BINDING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: read aloud or typed by hand


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_binding_code() -> str:
    return "".join(secrets.choice(BINDING_ALPHABET) for _ in range(10))


async def issue_binding_code(*, purpose: BindingPurpose, now: datetime, ttl: timedelta, user: User | None = None,
                             tenant_id: int | None = None, lease_id: int | None = None,
                             issued_by: int | None = None) -> str:
    code = new_binding_code()
    async with in_transaction():
        row = await BindingCode.create(code_hash=_hash_code(code), purpose=purpose, user=user, tenant_id=tenant_id,
                                       lease_id=lease_id, issued_by_id=issued_by, expires_at=now + ttl)
        target = Target("user", user.id) if user else Target("tenant", tenant_id or 0)
        await record(issued_by, AuditAction.BINDING_CODE_ISSUED, target,
                     {"purpose": str(purpose), "binding_code_id": row.id, "lease_id": lease_id,
                      "expires_at": (now + ttl).isoformat()}, now)
    return code


async def redeem_binding_code(code: str, *, openid: str, unionid: str | None, now: datetime) -> User:
    """Bind the WeChat account ``openid`` to the staff user or tenant the code was issued for. One use only."""
    async with in_transaction():
        used = await BindingCode.filter(code_hash=_hash_code(code), used_at__isnull=True,
                                        expires_at__gt=now).update(used_at=now, used_by_openid=openid)
        if used != 1:
            raise ValidationFailed("binding code is invalid, used or expired", code="INVALID_BINDING_CODE")
        binding = await BindingCode.get(code_hash=_hash_code(code))
        if await User.filter(openid=openid).exists():
            raise Conflict("this WeChat account is already bound", code="ALREADY_BOUND")
        if binding.purpose == BindingPurpose.STAFF:
            user = await User.get(id=binding.user_id)
            if user.openid and user.openid != openid:
                raise Conflict("this staff member is bound to another WeChat account", code="ALREADY_BOUND")
            user.openid, user.unionid = openid, unionid
            await user.save(update_fields=["openid", "unionid", "updated_at"])
            return user
        from models.leasing import Tenant

        tenant = await Tenant.get(id=binding.tenant_id)
        return await User.create(name=tenant.name, phone=tenant.phone, role=Role.TENANT, tenant=tenant,
                                 openid=openid, unionid=unionid)


async def remember_wechat_session(openid: str, session_key: str) -> None:
    updated = await WechatSession.filter(openid=openid).update(session_key=session_key)
    if not updated:
        await WechatSession.create(openid=openid, session_key=session_key)


async def create_staff(*, name: str, role: Role, phone: str | None = None,
                       duties: list[tuple[int, StaffDuty]] | None = None, supervisor_id: int | None = None,
                       actor: Actor | int | None = None, now: datetime | None = None) -> User:
    """A staff member with their duties. With ``now`` (the admin API, the console, the CLI) the creation is
    audited; demo seeds and benchmarks leave it out."""
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"{role} is not a staff role")
    async with in_transaction():
        user = await User.create(name=name, role=role, phone=phone, supervisor_id=supervisor_id)
        for building_id, duty in duties or []:
            if not await Building.filter(id=building_id).exists():
                raise NotFound(f"building {building_id} not found")
            await BuildingStaff.create(building_id=building_id, user=user, duty=duty)
        if now is not None:
            await record(actor, AuditAction.STAFF_CREATED, Target("user", user.id),
                         {"role": str(role), "duties": _duty_list(duties or []), "supervisor_id": supervisor_id}, now)
    return user


def _duty_list(duties) -> list[dict]:
    return [{"building_id": b, "duty": str(d)} for b, d in sorted(duties)]


# --------------------------------------------------------------------------------------------- console passwords

class SignInRefused(Unauthorized):
    code = "SIGN_IN_REFUSED"


async def set_password(user: User, password: str, *, now: datetime, login: str | None = None,
                       actor: Actor | int | None = None) -> User:
    """Give a staff member a console password (and a login name). Tenants never sign in to the console."""
    from accounts.passwords import hash_password, password_problem

    if user.role not in STAFF_ROLES:
        raise ValidationFailed("only staff sign in to the console", code="NOT_STAFF")
    problem = password_problem(password)
    if problem:
        raise ValidationFailed(problem, code="WEAK_PASSWORD")
    changes: dict = {"password_hash": hash_password(password), "password_changed_at": now, "failed_logins": 0,
                     "locked_until": None}
    if login is not None:
        login = login.strip().lower()
        if not login or len(login) > 64:
            raise ValidationFailed("login must be 1..64 characters", code="INVALID_LOGIN")
        if await User.filter(login=login).exclude(id=user.id).exists():
            raise Conflict("this login name is taken", code="LOGIN_TAKEN")
        changes["login"] = login
    async with in_transaction():
        await User.filter(id=user.id).update(**changes)
        await record(actor, AuditAction.PASSWORD_SET, Target("user", user.id), {"login": changes.get("login")}, now)
    return await User.get(id=user.id)


async def check_password_login(login: str, password: str, *, now: datetime, policy) -> User:
    """The staff user for (login, password), or SignInRefused. Failures count towards the lock-out; the message
    is the same for an unknown login, a wrong password, a locked or deactivated account (no enumeration)."""
    from accounts.passwords import is_locked, lockout_after_failure, needs_rehash, verify_password

    refused = SignInRefused("用户名或密码错误,或账户已被锁定")
    user = await User.get_or_none(login=login.strip().lower())
    if user is None or user.role not in STAFF_ROLES:
        verify_password(_dummy_hash(), password)  # same work as a real check: timing tells nothing
        raise refused
    if user.locked_until is not None and is_locked(user.locked_until, now):
        raise SignInRefused("登录失败次数过多,账户已临时锁定,请稍后再试", code="ACCOUNT_LOCKED",
                            details={"locked_until": user.locked_until.isoformat()})
    if not verify_password(user.password_hash, password) or not user.is_active:
        failures, locked_until = lockout_after_failure(user.failed_logins, user.locked_until, now, policy)
        await User.filter(id=user.id).update(failed_logins=failures, locked_until=locked_until)
        if locked_until is not None:
            raise SignInRefused("登录失败次数过多,账户已临时锁定,请稍后再试", code="ACCOUNT_LOCKED",
                                details={"locked_until": locked_until.isoformat()})
        raise refused
    changes: dict = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if needs_rehash(user.password_hash):
        from accounts.passwords import hash_password

        changes["password_hash"] = hash_password(password)
    await User.filter(id=user.id).update(**changes)
    return await User.get(id=user.id)


_DUMMY_HASHES: list[str] = []


def _dummy_hash() -> str:
    """A hash to verify against for unknown logins, made on first use (hashing costs ~50 ms)."""
    if not _DUMMY_HASHES:
        from accounts.passwords import hash_password

        _DUMMY_HASHES.append(hash_password("not-a-real-password-0000"))
    return _DUMMY_HASHES[0]


async def update_staff(user_id: int, *, role: Role, duties: list[tuple[int, StaffDuty]],
                       supervisor_id: int | None = None, actor: Actor | int | None, now: datetime) -> User:
    """Set a staff member's role, supervisor and building duties (the duties are their data scope) at once."""
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"{role} is not a staff role")
    async with in_transaction():
        user = await User.get_or_none(id=user_id)
        if user is None or user.role not in STAFF_ROLES:
            raise NotFound("staff user not found")
        if supervisor_id == user.id:
            raise ValidationFailed("a staff member cannot supervise themselves", code="INVALID_SUPERVISOR")
        wanted = set(duties)
        for building_id, _ in wanted:
            if not await Building.filter(id=building_id).exists():
                raise NotFound(f"building {building_id} not found")
        current = {(d.building_id, StaffDuty(d.duty)): d.id for d in await BuildingStaff.filter(user_id=user.id)}
        stale = [row_id for key, row_id in current.items() if key not in wanted]
        if stale:
            await BuildingStaff.filter(id__in=stale).delete()
        for building_id, duty in sorted(wanted - set(current)):
            await BuildingStaff.create(building_id=building_id, user_id=user.id, duty=duty)
        await User.filter(id=user.id).update(role=role, supervisor_id=supervisor_id)
        if user.role != role:
            await record(actor, AuditAction.STAFF_ROLE_CHANGED, Target("user", user.id),
                         {"from": str(user.role), "to": str(role)}, now)
        added, removed = wanted - set(current), set(current) - wanted
        if added or removed:
            await record(actor, AuditAction.STAFF_DUTIES_CHANGED, Target("user", user.id),
                         {"added": _duty_list(added), "removed": _duty_list(removed)}, now)
    return await User.get(id=user_id)


async def deactivate_user(user_id: int, *, actor_id: int, now: datetime) -> User:
    """Deactivate a user and revoke all they hold: the token_version bump invalidates every API token and console
    session at once; their sessions and unused binding codes are deleted too. The users row change reaches every
    worker's principal cache through the change log (core.changes) within ``cache_poll_seconds``. Idempotent."""
    from tortoise.expressions import F

    from models.accounts import ConsoleSession

    if user_id == actor_id:
        raise ValidationFailed("you cannot deactivate yourself", code="SELF_DEACTIVATION")
    async with in_transaction():
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise NotFound("user not found")
        await User.filter(id=user_id).update(is_active=False, token_version=F("token_version") + 1)
        sessions = await ConsoleSession.filter(user_id=user_id).delete()
        codes = await BindingCode.filter(user_id=user_id, used_at__isnull=True).delete()
        await record(actor_id, AuditAction.USER_DEACTIVATED, Target("user", user_id),
                     {"was_active": user.is_active, "console_sessions_ended": sessions, "binding_codes_revoked": codes},
                     now)
    return await User.get(id=user_id)
