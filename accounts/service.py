"""Accounts: WeChat login, one-time binding codes, staff creation."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from accounts.choices import STAFF_ROLES, BindingPurpose, Role, StaffDuty
from core.errors import Conflict, NotFound, ValidationFailed
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
    await BindingCode.create(code_hash=_hash_code(code), purpose=purpose, user=user, tenant_id=tenant_id,
                             lease_id=lease_id, issued_by_id=issued_by, expires_at=now + ttl)
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
                       duties: list[tuple[int, StaffDuty]] | None = None, supervisor_id: int | None = None) -> User:
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"{role} is not a staff role")
    async with in_transaction():
        user = await User.create(name=name, role=role, phone=phone, supervisor_id=supervisor_id)
        for building_id, duty in duties or []:
            if not await Building.filter(id=building_id).exists():
                raise NotFound(f"building {building_id} not found")
            await BuildingStaff.create(building_id=building_id, user=user, duty=duty)
    return user
