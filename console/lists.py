"""What every console list page shares: bounded query parameters, whitelisted server-side sorting, pagination,
and the XLSX export of exactly what the page shows (same filters and sort, every page of it)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from pydantic import BaseModel, Field
from sanic import Request
from sanic.response import HTTPResponse

from audit.service import record_export
from core.errors import ValidationFailed

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The audit target type of a console list export; the target id names the list ("status-board").
CONSOLE_EXPORT = "console_list"


class ListQuery(BaseModel):
    page: int = Field(1, ge=1, le=100000)
    page_size: int | None = Field(None, ge=1, le=1000)
    sort: str = Field("", max_length=40)
    format: str = Field("html", pattern="^(html|xlsx)$")

    def filters(self) -> dict[str, Any]:
        """The page's own filter values (for links that keep them)."""
        skip = {"page", "page_size", "sort", "format"}
        return {k: v for k, v in self.model_dump().items() if k not in skip and v not in (None, "", False)}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    sort: str | None = None  # ORM field(s) to order by, comma separated; None: not sortable
    export: Callable[[dict], Any] | None = None  # the spreadsheet value; default row[key]


def order_by(columns: Sequence[Column], sort: str, default: Sequence[str]) -> list[str]:
    """ORM ordering for ``sort`` (``key`` or ``-key``), refusing keys that are not sortable columns."""
    if not sort:
        return list(default)
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    column = next((c for c in columns if c.key == key and c.sort), None)
    if column is None or column.sort is None:
        raise ValidationFailed(f"cannot sort by {key}", code="INVALID_SORT",
                               details={"sortable": [c.key for c in columns if c.sort]})
    fields = [f.strip() for f in column.sort.split(",") if f.strip()]
    ordered = [(f"-{f.lstrip('-')}" if not f.startswith("-") else f.lstrip("-")) if desc else f for f in fields]
    return ordered + [f for f in default if f.lstrip("-") not in {o.lstrip("-") for o in ordered}]


@dataclass
class Page:
    rows: list[Any]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.page_size)


async def paginate(qs, query: ListQuery, default_size: int, *, export_max: int,
                   fields: Sequence[str] | None = None) -> Page:
    """One page of ``qs`` (or every row, up to ``export_max``, for an export). With ``fields`` the rows are dicts
    of just those columns (no model instances: a 500-cell board page builds faster)."""
    size = query.page_size or default_size
    total = await qs.count()
    if query.format == "xlsx":
        sliced, page, size = qs.limit(export_max), 1, max(1, total)
    else:
        page = min(query.page, max(1, -(-total // size)))
        sliced = qs.offset((page - 1) * size).limit(size)
    rows = await (sliced.values(*fields) if fields else sliced)
    return Page(rows=list(rows), total=total, page=page, page_size=size)


def link(path: str, query: ListQuery, **changes: Any) -> str:
    """A URL for this list with the current filters and sort, some of them changed."""
    params = {**query.filters(), "sort": query.sort, "page": query.page, **changes}
    params = {k: v for k, v in params.items() if v not in (None, "", False)}
    if params.get("page") == 1:
        params.pop("page")
    return f"{path}?{urlencode(params, doseq=True)}" if params else path


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if value is None or isinstance(value, int | float | str | date):
        return value
    return str(value)


async def xlsx_response(request: Request, title: str, columns: Sequence[Column], rows: Sequence[dict],
                        filename: str) -> HTTPResponse:
    """A workbook of one sheet: a header row, then one row per list row, as the page shows them. The export is
    written to the audit log (who, which list, which buildings, how many rows) before the file leaves."""
    await record_export(request.ctx.principal, CONSOLE_EXPORT, filename.removesuffix(".xlsx"), "xlsx",
                        request.app.ctx.clock.now(), rows=len(rows))
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(column.title) * 2 + 4))
    sheet.append([c.title for c in columns])
    for row in rows:
        sheet.append([_cell(c.export(row) if c.export else row.get(c.key)) for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    disposition = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(title)}.xlsx"
    return HTTPResponse(buffer.getvalue(), content_type=XLSX_TYPE, headers={"content-disposition": disposition})
