"""Import historic contracts (将所有租赁合同录入统一平台) from Excel (.xlsx, openpyxl) or CSV with Chinese headers.

Every row is checked first — the same checks as the API (frequency aliases, terms, party identifiers, the
unit in the caller's scope, overlaps) — and the report names each problem by row, field and error code. A file
with any bad row imports nothing unless ``import_good_rows``; applying runs in one transaction. Rows are keyed by
contract number, so re-importing the same file changes nothing (an existing contract with other terms is an
error, never a silent amendment)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from tortoise.transactions import in_transaction

from accounts.scope import Principal
from core.errors import AppError, BadRequest
from core.validation import field_errors
from leasing.choices import EscalationKind, LeaseStatus, PartyKind, RentBasis, TimingKind
from leasing.config import LeasingConfig
from leasing.money import yuan_to_fen
from leasing.party_service import party_errors
from leasing.schedule import generate_schedule
from leasing.schemas import LeaseIn, conditional_required
from leasing.service import create_lease, schedule_error, sign_lease, terms_from_draft
from leasing.terms import ScheduleError
from models.leasing import Lease
from models.portfolio import Unit
from portfolio.choices import PropertyType

#: Chinese column headers (and common variants) → LeaseIn fields. Units in brackets are ignored: 月租金(元).
HEADERS: dict[str, str] = {
    "合同编号": "contract_no", "合同号": "contract_no",
    "房源编号": "unit_code", "单元编号": "unit_code", "房号": "unit_code", "房源": "unit_code",
    "物业类型": "property_type",
    "租户类型": "tenant_kind", "承租方类型": "tenant_kind",
    "租户名称": "tenant_name", "承租人": "tenant_name", "承租方": "tenant_name", "租户": "tenant_name",
    "联系电话": "tenant_phone", "电话": "tenant_phone", "手机号": "tenant_phone",
    "统一社会信用代码": "tenant_uscc", "信用代码": "tenant_uscc",
    "身份证号": "tenant_id_number", "身份证号码": "tenant_id_number",
    "起租日": "start_date", "开始日期": "start_date", "租期开始": "start_date", "起租日期": "start_date",
    "到期日": "end_date", "结束日期": "end_date", "租期结束": "end_date", "到期日期": "end_date",
    "付款方式": "payment_frequency", "付款频率": "payment_frequency", "付款周期": "payment_frequency",
    "计租方式": "rent_basis",
    "月租金": "monthly_rent_fen", "租金": "monthly_rent_fen",
    "单价": "unit_price", "租金单价": "unit_price",
    "计租面积": "area_m2", "面积": "area_m2", "建筑面积": "area_m2", "使用面积": "area_m2",
    "天数换算": "days_per_month", "月天数": "days_per_month",
    "押金": "deposit_fen", "保证金": "deposit_fen", "押金月数": "deposit_months",
    "提前付款天数": "timing_days", "每月付款日": "timing_day",
    "免租期": "free_periods", "递增": "escalations", "递增规则": "escalations",
    "其他费用": "charges", "状态": "status", "合同状态": "status",
}
REQUIRED_HEADERS = {"contract_no", "unit_code", "tenant_name", "start_date", "end_date"}
WORDS: dict[str, dict[str, StrEnum]] = {
    "property_type": {"住宅": PropertyType.RESIDENTIAL, "公寓": PropertyType.RESIDENTIAL, "商铺": PropertyType.SHOP,
                      "写字楼": PropertyType.OFFICE, "办公": PropertyType.OFFICE, "仓库": PropertyType.WAREHOUSE},
    "tenant_kind": {"个人": PartyKind.PERSON, "企业": PartyKind.COMPANY, "公司": PartyKind.COMPANY},
    "rent_basis": {"月租金": RentBasis.MONTHLY_AMOUNT, "按月": RentBasis.MONTHLY_AMOUNT,
                   "元/㎡/天": RentBasis.PER_M2_DAY, "元/平方米/天": RentBasis.PER_M2_DAY,
                   "元/m2/天": RentBasis.PER_M2_DAY, "元/㎡/月": RentBasis.PER_M2_MONTH,
                   "元/平方米/月": RentBasis.PER_M2_MONTH, "元/m2/月": RentBasis.PER_M2_MONTH},
    "status": {"草稿": LeaseStatus.DRAFT, "待签约": LeaseStatus.DRAFT, "已签约": LeaseStatus.SIGNED,
               "履约中": LeaseStatus.ACTIVE, "在租": LeaseStatus.ACTIVE},
}
MAX_ROWS = 20000


class UnreadableFile(BadRequest):
    code = "UNREADABLE_FILE"


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    import_good_rows: bool = False


@dataclass
class ImportReport:
    rows: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # {row, field, code, message}
    ok_rows: list[int] = field(default_factory=list)
    unchanged_rows: list[int] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    applied: bool = False

    @property
    def imported(self) -> int:
        return len(self.created)

    def as_dict(self) -> dict[str, Any]:
        bad = sorted({e["row"] for e in self.errors})
        return {"rows": self.rows, "valid_rows": len(self.ok_rows), "unchanged_rows": self.unchanged_rows,
                "rejected_rows": bad, "errors": self.errors, "applied": self.applied, "imported": self.imported,
                "created": self.created}


# --------------------------------------------------------------------------------------------- reading


def _header(cell: Any) -> str:
    text = re.sub(r"[((][^))]*[))]", "", str(cell or "")).strip()
    return HEADERS.get(text, "")


def read_table(data: bytes, filename: str) -> list[tuple[int, dict[str, Any]]]:
    """(row number in the file, {field: raw value}) for each data row; the header row is the first one naming
    a known column. UnreadableFile for a file that is neither xlsx nor CSV, or lacks required columns."""
    is_xlsx = data[:2] == b"PK" or filename.lower().endswith(".xlsx")
    table = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    for index, row in enumerate(table):
        names = [_header(c) for c in row]
        if "contract_no" in names or "unit_code" in names:
            missing = REQUIRED_HEADERS - set(names)
            if missing:
                raise UnreadableFile(f"the header row lacks columns: {', '.join(sorted(missing))}",
                                     details={"missing": sorted(missing), "accepted_headers": sorted(HEADERS)})
            out = []
            for number, cells in enumerate(table[index + 1:], start=index + 2):
                values = {name: cell for name, cell in zip(names, cells, strict=False)
                          if name and cell not in (None, "") and str(cell).strip() != ""}
                if values:
                    out.append((number, values))
            if len(out) > MAX_ROWS:
                raise UnreadableFile(f"at most {MAX_ROWS} rows per file", details={"rows": len(out)})
            return out
    raise UnreadableFile("no header row with 合同编号 / 房源编号 found", details={"accepted_headers": sorted(HEADERS)})


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is an unreadable file
        raise UnreadableFile(f"not a readable .xlsx file: {type(exc).__name__}") from None
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _csv_rows(data: bytes) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile("the CSV is neither UTF-8 nor GBK text")
    return [row for row in csv.reader(io.StringIO(text))]


# --------------------------------------------------------------------------------------------- converting


class CellError(ValueError):
    def __init__(self, field_name: str, code: str, message: str):
        super().__init__(message)
        self.field, self.code = field_name, code


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip().replace("/", "-").replace(".", "-")
    match = re.fullmatch(r"(\d{4})[-年](\d{1,2})[-月](\d{1,2})日?", text)
    if not match:
        raise ValueError(f"not a date: {value!r}")
    return date(*map(int, match.groups())).isoformat()


def _fen(value: Any) -> int:
    if isinstance(value, float):
        value = Decimal(str(value))
    return yuan_to_fen(value if isinstance(value, (int, Decimal)) else str(value))


def _number(value: Any) -> str:
    try:
        return str(Decimal(str(value).strip().replace(",", "")))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def _free_periods(value: Any) -> list[dict[str, str]]:
    """``2026-01-01~2026-03-31;2027-01-01至2027-01-31``."""
    out = []
    for part in re.split(r"[;;,,\n]+", str(value)):
        if not part.strip():
            continue
        bounds = re.split(r"\s*(?:~|~|至|到|—)\s*", part.strip())
        if len(bounds) != 2:
            raise ValueError(f"a free period is start~end, got {part!r}")
        out.append({"start": _date(bounds[0]), "end": _date(bounds[1])})
    return out


def _escalations(value: Any) -> list[dict[str, Any]]:
    """``自第2年起每年递增5%`` / ``第3年起每年递增500元`` (monthly) / ``单利`` for simple interest."""
    out = []
    for part in re.split(r"[;;\n]+", str(value)):
        part = part.strip()
        if not part:
            continue
        year = re.search(r"第\s*(\d+)\s*年", part)
        percent = re.search(r"(\d+(?:\.\d+)?)\s*[%%]", part)
        amount = re.search(r"(\d+(?:\.\d+)?)\s*元", part)
        if percent:
            out.append({"kind": EscalationKind.PERCENT, "from_year": int(year.group(1)) if year else 2,
                        "percent": percent.group(1), "compound": "单利" not in part})
        elif amount:
            out.append({"kind": EscalationKind.AMOUNT, "from_year": int(year.group(1)) if year else 2,
                        "amount_fen": yuan_to_fen(amount.group(1))})
        else:
            raise ValueError(f"not an escalation rule: {part!r} (e.g. 自第2年起每年递增5%)")
    return out


def _charges(value: Any) -> list[dict[str, Any]]:
    """``物业费:500:月付;网费:1200:年付`` (name, yuan per period, frequency)."""
    out = []
    for n, part in enumerate(p for p in re.split(r"[;;\n]+", str(value)) if p.strip()):
        pieces = re.split(r"[::]", part.strip())
        if len(pieces) != 3:
            raise ValueError(f"a charge is name:amount:frequency, got {part!r}")
        name, amount, frequency = (p.strip() for p in pieces)
        out.append({"code": re.sub(r"[^\w\-]", "", name)[:24] or f"C{n + 1}", "name": name[:40],
                    "amount_fen": yuan_to_fen(amount), "frequency": frequency})
    return out


CONVERTERS = {
    "start_date": _date, "end_date": _date, "billing_anchor": _date, "monthly_rent_fen": _fen, "deposit_fen": _fen,
    "unit_price": _number, "area_m2": _number, "deposit_months": _number, "free_periods": _free_periods,
    "escalations": _escalations, "charges": _charges,
    "timing_days": lambda v: int(Decimal(str(v))), "timing_day": lambda v: int(Decimal(str(v))),
    "days_per_month": lambda v: "30" if str(v).strip().startswith("30") else "365/12",
}


def convert_row(raw: dict[str, Any]) -> tuple[dict[str, Any], list[CellError]]:
    """Cells → a LeaseIn dict (pure). Chinese words for types, yuan → fen, dates in any of the usual forms."""
    out: dict[str, Any] = {}
    errors: list[CellError] = []
    for name, value in raw.items():
        try:
            if name in WORDS:
                text = str(value).strip()
                word = WORDS[name].get(text) or WORDS[name].get(text.replace(" ", ""))
                out[name] = word.value if word else text.upper()
            elif name in CONVERTERS:
                out[name] = CONVERTERS[name](value)
            else:
                out[name] = str(value).strip() if not isinstance(value, int) else str(value)
        except ValueError as exc:
            errors.append(CellError(name, "INVALID_VALUE", str(exc)))
    if "timing_day" in out:
        out["timing"] = TimingKind.FIXED_DAY.value
    return out, errors


# --------------------------------------------------------------------------------------------- checking


@dataclass
class Checked:
    number: int
    draft: LeaseIn
    unit: Unit
    status: LeaseStatus


def _problem(number: int, field_name: str | None, code: str, message: str) -> dict[str, Any]:
    return {"row": number, "field": field_name, "code": code, "message": message}


async def check_row(number: int, raw: dict[str, Any], *, principal: Principal, cfg: LeasingConfig,
                    seen: dict[str, int]) -> tuple[Checked | None, list[dict[str, Any]], bool]:
    """(checked row, problems, unchanged): the row's problems as {row, field, code, message}."""
    values, cell_errors = convert_row(raw)
    problems = [_problem(number, e.field, e.code, str(e)) for e in cell_errors]
    status = str(values.pop("status", LeaseStatus.SIGNED))
    if status not in (LeaseStatus.DRAFT, LeaseStatus.SIGNED, LeaseStatus.ACTIVE):
        problems.append(_problem(number, "status", "INVALID_VALUE",
                                 f"状态 must be 草稿, 已签约 or 履约中, got {status}"))
    for e in conditional_required(values):
        problems.append(_problem(number, e["field"], "MISSING_TERM", e["message"]))
    try:
        draft = LeaseIn.model_validate(values)
    except ValidationError as exc:
        problems += [_problem(number, e["field"], "INVALID_VALUE" if e["type"] != "missing" else "MISSING_TERM",
                              e["message"]) for e in field_errors(exc)]
        return None, problems, False
    if problems:
        return None, problems, False
    if not draft.contract_no:
        return None, [_problem(number, "contract_no", "MISSING_CONTRACT_NO", "the import keys rows by 合同编号")], False
    if draft.contract_no in seen:
        return None, [_problem(number, "contract_no", "DUPLICATE_ROW",
                               f"合同编号 {draft.contract_no} also on row {seen[draft.contract_no]}")], False
    seen[draft.contract_no] = number
    unit = await Unit.get_or_none(code=draft.unit_code)
    if unit is None or not principal.can_see_building(unit.building_id):
        return None, [_problem(number, "unit_code", "UNKNOWN_UNIT", f"unit {draft.unit_code} not found")], False
    problems += [_problem(number, e["field"], e["type"], e["message"]) for e in party_errors(draft.party)]
    try:
        terms = terms_from_draft(draft, unit, cfg.aliases)
        generate_schedule(terms, cfg.aliases)
    except AppError as exc:
        problems.append(_problem(number, exc.details.get("field"), exc.code, exc.message))
    except ScheduleError as exc:
        error = schedule_error(exc)
        problems.append(_problem(number, exc.field, error.code, error.message))
    if problems:
        return None, problems, False
    existing = await Lease.get_or_none(contract_no=draft.contract_no)
    if existing is not None:
        if existing.unit_id == unit.id and existing.terms == terms.to_json():
            return None, [], True
        return None, [_problem(number, "contract_no", "CONTRACT_EXISTS_DIFFERENT",
                               f"合同编号 {draft.contract_no} exists with other terms: amend it instead")], False
    return Checked(number, draft, unit, LeaseStatus(status)), [], False


async def import_leases(data: bytes, *, filename: str, principal: Principal, cfg: LeasingConfig,
                        options: ImportOptions, now: datetime) -> ImportReport:
    rows = read_table(data, filename)
    report = ImportReport(rows=len(rows))
    checked: list[Checked] = []
    seen: dict[str, int] = {}
    for number, raw in rows:
        row, problems, unchanged = await check_row(number, raw, principal=principal, cfg=cfg, seen=seen)
        report.errors += problems
        if unchanged:
            report.unchanged_rows.append(number)
        elif row is not None:
            checked.append(row)
            report.ok_rows.append(number)
    if options.dry_run or not checked or (report.errors and not options.import_good_rows):
        return report
    try:
        async with in_transaction():
            for item in checked:
                lease = await _apply_row(item, principal=principal, cfg=cfg, now=now)
                report.created.append({"row": item.number, "lease_id": lease.id, "contract_no": lease.contract_no,
                                       "status": lease.status})
    except AppError as exc:  # e.g. two rows overlapping on one unit: nothing is written
        report.created = []
        report.errors.append(_problem(item.number, exc.details.get("field"), exc.code, exc.message))
        return report
    report.applied = True
    return report


async def _apply_row(row: Checked, *, principal: Principal, cfg: LeasingConfig, now: datetime) -> Lease:
    from leasing.service import activate_in_force

    lease = await create_lease(unit=row.unit, draft=row.draft, cfg=cfg, source="import")
    if row.status == LeaseStatus.DRAFT:
        return lease
    if row.status == LeaseStatus.ACTIVE:
        return await activate_in_force(lease.id, now=now, actor_id=principal.user_id or None, cfg=cfg)
    lease, _ = await sign_lease(lease.id, now=now, actor_id=principal.user_id or None, cfg=cfg)
    return lease
