from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PageQuery(BaseModel):
    page: int = Field(1, ge=1, le=1_000_000)  # keeps the offset inside a 64-bit integer
    page_size: int = Field(50, ge=1, le=200)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def paginate(queryset, query: PageQuery, serialize) -> dict[str, Any]:
    total = await queryset.count()
    rows = await queryset.offset(query.offset).limit(query.page_size)
    return {"items": [serialize(row) for row in rows], "total": total, "page": query.page,
            "page_size": query.page_size}
