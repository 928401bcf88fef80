"""Reading a statement file (pure): bytes → the format it is in → its lines, or a refusal of the whole file.

Encodings are read as such: a BOM decides (UTF-8, UTF-16 LE/BE), else UTF-16 without BOM is recognised by its
zero bytes, else strict UTF-8, else GB18030 (a superset of GBK). CSV or tab-separated text, or .xlsx (first
sheet). Title lines above the header and footer lines (合计, 总交易单数, # …) are skipped. Amounts are read as
decimal text to integer fen exactly (more than two decimals, or an amount that is not a number, refuses the file:
never read as zero)."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from core.errors import ValidationFailed
from reconciliation.choices import Direction, StatementError
from reconciliation.formats import StatementFormat, normalise_header

MAX_LINES = 200_000
HEADER_SCAN_ROWS = 40


class StatementRefused(ValidationFailed):
    """The whole file is refused (422); nothing of it is stored."""


@dataclass(frozen=True)
class ParsedLine:
    row_number: int
    booked_at: datetime
    direction: Direction
    amount_fen: int
    balance_fen: int | None
    counterparty_name: str
    counterparty_account: str
    reference: str
    serial: str
    source_row: dict[str, str] = field(default_factory=dict, compare=False)
    #: a payment channel's refund id (微信退款单号): a refund line shares its payment's serial, not this
    refund_serial: str = ""


@dataclass(frozen=True)
class ParsedStatement:
    format: StatementFormat
    encoding: str
    lines: list[ParsedLine]
    skipped_rows: list[int]


def dedupe_key_for(fmt: StatementFormat, line: ParsedLine) -> str:
    """The bank serial (per source), or date + signed amount + counterparty + balance when there is none. A
    channel's refund line carries its payment's serial (微信订单号) too, so it is keyed by its own refund id: a
    bill with a payment and its refund keeps both (without a refund id: the fingerprint, never the payment's key)."""
    refund = bool(fmt.refund_statuses) and line.direction == Direction.OUT
    if refund and line.refund_serial:
        return f"{fmt.serial_prefix}:refund:{line.refund_serial}"[:200]
    if line.serial and not refund:
        return f"{fmt.serial_prefix}:{line.serial}"[:200]
    sign = "" if line.direction == Direction.IN else "-"
    parts = [line.booked_at.date().isoformat(), f"{sign}{line.amount_fen}", normalise_name(line.counterparty_name),
             str(line.balance_fen)]
    fingerprint = "|".join(parts + ([line.serial] if refund and line.serial else []))
    return f"{fmt.serial_prefix}:fp:{hashlib.sha256(fingerprint.encode()).hexdigest()[:40]}"


def normalise_name(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).strip()


# --------------------------------------------------------------------------------------------- decoding


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) — GBK/GB18030 and UTF-16 files read as such."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    head = data[:4000]
    if head and head.count(0) > len(head) // 4:
        even_zeros = head[0::2].count(0)
        odd_zeros = head[1::2].count(0)
        encoding = "utf-16-le" if odd_zeros > even_zeros else "utf-16-be"
        return data.decode(encoding), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise StatementRefused("the file is neither UTF-8, UTF-16 nor GBK text, nor an xlsx workbook",
                               code=StatementError.UNREADABLE_STATEMENT) from None


def table_of(data: bytes, filename: str = "") -> tuple[list[list[str]], str]:
    """The file as rows of text cells, and the encoding it was read in."""
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        return _xlsx_rows(data), "xlsx"
    text, encoding = decode(data)
    lines = text.splitlines()
    sample = "\n".join(lines[:HEADER_SCAN_ROWS])
    delimiter = max((",", "\t", ";"), key=sample.count)
    return [[c for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)], encoding


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure of an upload is the caller's bad input
        raise StatementRefused(f"not a readable xlsx workbook: {type(exc).__name__}",
                               code=StatementError.UNREADABLE_STATEMENT) from None
    sheet = workbook.worksheets[0]
    rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as this float: 1234.5, never 1234.4999…
    return str(value)


# --------------------------------------------------------------------------------------------- format


def _clean(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell or "").strip().lstrip("`").strip()


def _is_footer(row: list[str], markers: tuple[str, ...]) -> bool:
    first = next((_clean(c) for c in row if _clean(c)), "")
    return bool(first) and first.startswith(markers)


def find_header(rows: list[list[str]], formats: dict[str, StatementFormat]) -> tuple[int, list[str]] | None:
    """The first row (within the first rows) with at least three cells naming columns some format knows."""
    known = set().union(*(f.known for f in formats.values()))
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        headers = [normalise_header(c) for c in row]
        if sum(1 for h in headers if h in known) >= 3:
            return index, headers
    return None


def choose_format(headers: list[str], formats: dict[str, StatementFormat],
                  wanted: str | None = None) -> StatementFormat:
    """The format whose columns the header row has exactly; else refuse, naming the missing and unexpected
    columns and the closest known format."""
    present = [h for h in headers if h]
    candidates = [formats[wanted]] if wanted and wanted in formats else list(formats.values())
    if wanted and wanted not in formats:
        by_name = [f for f in formats.values() if f.name == wanted]
        if not by_name:
            raise StatementRefused(f"unknown statement format {wanted!r}", code=StatementError.UNKNOWN_STATEMENT_FORMAT,
                                   details={"requested": wanted, "known_formats": sorted(formats)})
        candidates = by_name
    scored = []
    for fmt in candidates:
        missing, unexpected = fmt.compare(present)
        if not missing and not unexpected:
            return fmt
        scored.append((len(missing) + len(unexpected), fmt.key, fmt, missing, unexpected))
    closest_pool = [(len(m) + len(u), f.key, f, m, u) for f in formats.values()
                    for m, u in [f.compare(present)]]
    _, _, closest, missing, unexpected = min(closest_pool, key=lambda s: (s[0], s[1]))
    if wanted:
        _, _, target, missing, unexpected = min(scored, key=lambda s: (s[0], s[1]))
    else:
        target = closest
    raise StatementRefused(
        f"the statement's columns match no known format (closest: {closest.key}): missing {missing or '-'}, "
        f"unexpected {unexpected or '-'}; nothing was imported",
        code=StatementError.UNKNOWN_STATEMENT_FORMAT,
        details={"missing_columns": missing, "unexpected_columns": unexpected, "closest_format": closest.key,
                 "checked_against": target.key, "columns": present, "known_formats": sorted(formats)})


# --------------------------------------------------------------------------------------------- values

_DATE = re.compile(r"^(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*[-/.月]?\s*(\d{1,2})\s*日?")
_TIME = re.compile(r"(\d{1,2}):?(\d{2}):?(\d{2})?")


def parse_amount(text: str) -> int | None:
    """Yuan text → fen, exactly. Empty (or a dash) → None. 1,234.50 / ¥1234.5 / +1234.50 / (1,234.50) accepted."""
    raw = _clean(text).replace(",", "").replace("¥", "").replace("元", "").replace(" ", "")
    if raw in ("", "-", "--", "—"):
        return None
    negative = raw.startswith("(") and raw.endswith(")")
    raw = raw.strip("()")
    if not re.fullmatch(r"[+-]?\d+(\.\d{1,2})?", raw):
        raise ValueError(f"not an amount in yuan with at most two decimals: {text!r}")
    try:
        fen = int(Decimal(raw) * 100)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    return -fen if negative else fen


def parse_moment(date_text: str, time_text: str, tz: ZoneInfo) -> datetime:
    text = _clean(date_text)
    match = _DATE.match(text)
    if not match:
        raise ValueError(f"not a date: {date_text!r}")
    day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    rest = text[match.end():].strip() or _clean(time_text)
    moment = time(0, 0)
    found = _TIME.search(rest) if rest else None
    if found:
        moment = time(int(found.group(1)), int(found.group(2)), int(found.group(3) or 0))
    return datetime.combine(day, moment, tzinfo=tz)


# --------------------------------------------------------------------------------------------- lines


def read_statement(data: bytes, *, formats: dict[str, StatementFormat], filename: str = "",
                   wanted: str | None = None, timezone: str = "Asia/Shanghai") -> ParsedStatement:
    """Read the whole file or refuse it whole (StatementRefused, 422)."""
    rows, encoding = table_of(data, filename)
    found = find_header(rows, formats)
    if found is None:
        first = next(([normalise_header(c) for c in r] for r in rows if any(_clean(c) for c in r)), [])
        choose_format(first, formats, wanted)  # raises, naming the closest format
        raise StatementRefused("no header row found", code=StatementError.UNKNOWN_STATEMENT_FORMAT)
    header_index, headers = found
    fmt = choose_format(headers, formats, wanted)
    tz = ZoneInfo(timezone)
    columns: dict[str, list[int]] = {}
    for i, h in enumerate(headers):
        name = fmt.field_of(h) if h else None
        if name:
            columns.setdefault(name, []).append(i)
    lines: list[ParsedLine] = []
    errors: list[dict[str, Any]] = []
    skipped: list[int] = []
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        number = index + 1
        if not any(_clean(c) for c in row):
            continue
        if _is_footer(row, fmt.footer_markers):
            skipped.append(number)
            break  # a totals line ends the table: what follows is the totals' own values
        try:
            line = _line(fmt, row, headers, columns, number, tz)
        except ValueError as exc:
            errors.append({"row": number, "message": str(exc)})
            continue
        if line is not None:
            lines.append(line)
        else:
            skipped.append(number)
        if len(lines) > MAX_LINES:
            raise StatementRefused(f"more than {MAX_LINES} lines: split the export",
                                   code=StatementError.INVALID_STATEMENT_LINE, details={"max_lines": MAX_LINES})
    skipped += [i + 1 for i in range(header_index)]
    if errors:
        raise StatementRefused(f"{len(errors)} line(s) cannot be read; nothing was imported",
                               code=StatementError.INVALID_STATEMENT_LINE,
                               details={"format": fmt.key, "errors": errors[:100], "error_count": len(errors)})
    return ParsedStatement(format=fmt, encoding=encoding, lines=lines, skipped_rows=sorted(skipped))


def _get(row: list[str], columns: dict[str, list[int]], name: str) -> str:
    """The field's text: the reference joins all its columns (摘要 + 附言 + 用途); others take the first filled."""
    parts = [p for p in (_clean(row[i]) for i in columns.get(name, []) if i < len(row)) if p]
    if name == "reference":
        return " ".join(parts)
    return parts[0] if parts else ""


def _line(fmt: StatementFormat, row: list[str], headers: list[str], columns: dict[str, list[int]], number: int,
          tz: ZoneInfo) -> ParsedLine | None:
    source_row = {headers[i]: _clean(c) for i, c in enumerate(row) if i < len(headers) and headers[i]}
    if "datetime" in columns:
        booked = parse_moment(_get(row, columns, "datetime"), "", tz)
    else:
        booked = parse_moment(_get(row, columns, "date"), _get(row, columns, "time"), tz)
    refund_serial = ""
    if fmt.income_statuses:
        status = _get(row, columns, "status").upper()
        if status in fmt.income_statuses:
            amount, direction = parse_amount(_get(row, columns, "amount")), Direction.IN
        elif status in fmt.refund_statuses:
            amount, direction = parse_amount(_get(row, columns, "refund")), Direction.OUT
            raw_refund = _get(row, columns, "refund_serial")
            refund_serial = raw_refund if raw_refund not in ("", "0") else ""  # WeChat writes 0 for none
        else:
            return None  # NOTPAY, CLOSED …: no money moved
        if amount is None or amount <= 0:
            raise ValueError(f"status {status} without a positive amount")
    else:
        income = parse_amount(_get(row, columns, "income"))
        expense = parse_amount(_get(row, columns, "expense"))
        if income and expense:
            raise ValueError("both an income and an expense amount")
        if income:
            amount, direction = abs(income), Direction.IN if income > 0 else Direction.OUT
        elif expense:
            amount, direction = abs(expense), Direction.OUT
        else:
            raise ValueError("neither an income nor an expense amount")
    balance_text = _get(row, columns, "balance")
    reference = _get(row, columns, "reference")
    order_no = _get(row, columns, "order_no")
    if order_no:
        reference = f"{order_no} {reference}".strip()
    name = _get(row, columns, "counterparty_name")
    if fmt.serial_prefix == "alipay":
        name = re.sub(r"\([^)]*\)$", "", name).strip()  # 张三(zhang***@example.com)
    return ParsedLine(row_number=number, booked_at=booked, direction=direction, amount_fen=amount,
                      balance_fen=parse_amount(balance_text) if balance_text else None,
                      counterparty_name=name[:120],
                      counterparty_account=_get(row, columns, "counterparty_account")[:64],
                      reference=reference[:500], serial=_get(row, columns, "serial")[:80], source_row=source_row,
                      refund_serial=refund_serial[:80])
