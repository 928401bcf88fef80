from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields

from accounts.choices import BindingPurpose, Role
from models.base import TimestampedModel

if TYPE_CHECKING:  # the relations' targets, for type checkers only
    from models.leasing import Lease, Tenant


class User(TimestampedModel):
    """A person who logs in: staff (scoped by BuildingStaff rows) or a tenant (bound to a Tenant)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    phone = fields.CharField(max_length=20, null=True)
    role = fields.CharEnumField(Role, max_length=16)
    openid = fields.CharField(max_length=64, null=True, unique=True)
    unionid = fields.CharField(max_length=64, null=True)
    tenant: fields.ForeignKeyNullableRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="users", null=True,
                                    on_delete=fields.RESTRICT)
    tenant_id: int | None
    supervisor: fields.ForeignKeyNullableRelation[User]
    supervisor = fields.ForeignKeyField("models.User", related_name="reports", null=True,
                                        on_delete=fields.SET_NULL)
    supervisor_id: int | None
    is_active = fields.BooleanField(default=True)
    token_version = fields.IntField(default=0)
    # Console sign-in (accounts/passwords.py): a login name, an argon2 hash, lock-out after repeated failures.
    login = fields.CharField(max_length=64, null=True, unique=True)
    password_hash = fields.CharField(max_length=255, default="")
    password_changed_at = fields.DatetimeField(null=True)
    failed_logins = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "users"


class ConsoleSession(TimestampedModel):
    """A signed-in browser. The cookie holds a random token, and only its SHA-256 is stored, with the CSRF token
    every form and htmx request must echo. ``token_version`` is the user's at sign-in (bumping it revokes).

    No semicolons in model docstrings: the SQLite migration runner splits statements on them."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User]
    user = fields.ForeignKeyField("models.User", related_name="console_sessions", on_delete=fields.CASCADE)
    user_id: int
    csrf_token = fields.CharField(max_length=64)
    token_version = fields.IntField(default=0)
    expires_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    ip = fields.CharField(max_length=64, default="")

    class Meta:
        table = "console_sessions"


class WechatSession(TimestampedModel):
    """The WeChat session_key stays here, on the server, and is never sent to a client."""

    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    session_key = fields.CharField(max_length=128)

    class Meta:
        table = "wechat_sessions"


class BindingCode(TimestampedModel):
    """A one-time code that binds a WeChat account to a staff user or to a tenant."""

    id = fields.IntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    purpose = fields.CharEnumField(BindingPurpose, max_length=8)
    user: fields.ForeignKeyNullableRelation[User]
    user = fields.ForeignKeyField("models.User", related_name="binding_codes", null=True,
                                  on_delete=fields.CASCADE)
    user_id: int | None
    tenant: fields.ForeignKeyNullableRelation[Tenant]
    tenant = fields.ForeignKeyField("models.Tenant", related_name="binding_codes", null=True,
                                    on_delete=fields.CASCADE)
    tenant_id: int | None
    lease: fields.ForeignKeyNullableRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="binding_codes", null=True,
                                   on_delete=fields.CASCADE)
    lease_id: int | None
    issued_by: fields.ForeignKeyNullableRelation[User]
    issued_by = fields.ForeignKeyField("models.User", related_name="issued_codes", null=True,
                                       on_delete=fields.SET_NULL)
    issued_by_id: int | None
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    used_by_openid = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "binding_codes"
