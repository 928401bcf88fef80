from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class TimestampedModel(Model):
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyModel(Model):
    """History rows are written once, never updated or deleted through the ORM."""

    class Meta:
        abstract = True

    async def save(self, *args, **kwargs):
        if self._saved_in_db:
            raise RuntimeError(f"{type(self).__name__} rows are immutable")
        return await super().save(*args, **kwargs)

    async def delete(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__} rows are immutable")
