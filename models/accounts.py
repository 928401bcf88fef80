from __future__ import annotations

from tortoise import fields

from accounts.choices import BindingPurpose, Role
from models.base import TimestampedModel


class User(TimestampedModel):
    """A person who logs in: staff (scoped by BuildingStaff rows) or a tenant (bound to a Tenant)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    phone = fields.CharField(max_length=20, null=True)
    role = fields.CharEnumField(Role, max_length=16)
    openid = fields.CharField(max_length=64, null=True, unique=True)
    unionid = fields.CharField(max_length=64, null=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name="users", null=True,
                                    on_delete=fields.RESTRICT)
    supervisor = fields.ForeignKeyField("models.User", related_name="reports", null=True,
                                        on_delete=fields.SET_NULL)
    is_active = fields.BooleanField(default=True)
    token_version = fields.IntField(default=0)

    class Meta:
        table = "users"


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
    user = fields.ForeignKeyField("models.User", related_name="binding_codes", null=True,
                                  on_delete=fields.CASCADE)
    tenant = fields.ForeignKeyField("models.Tenant", related_name="binding_codes", null=True,
                                    on_delete=fields.CASCADE)
    lease = fields.ForeignKeyField("models.Lease", related_name="binding_codes", null=True,
                                   on_delete=fields.CASCADE)
    issued_by = fields.ForeignKeyField("models.User", related_name="issued_codes", null=True,
                                       on_delete=fields.SET_NULL)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    used_by_openid = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "binding_codes"
