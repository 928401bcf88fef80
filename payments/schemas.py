"""Request bodies of the payments API (bounds on every field; amounts are never accepted from the client)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from payments.rules import MAX_ITEMS


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an "amount" sent by the client is refused, not ignored

    receivable_ids: list[int] = Field(min_length=1, max_length=MAX_ITEMS)
