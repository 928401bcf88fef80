"""Statement layouts as data: each a named, versioned format listing the columns it has (field → the header
names banks use for it), which are required, which are known but unused, and how amounts and dates are read.

A file is read only when its header row matches one format exactly — no required column missing, no column the
format does not know — so an export whose layout changed upstream is refused whole, never half-read. Operators
add layouts without code through ``RW_STATEMENT_FORMATS`` (a JSON list of the same dictionaries)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciliation.choices import StatementSource

#: Fields a format maps its columns to (what the matcher reads).
FIELDS = ("date", "time", "datetime", "income", "expense", "amount", "status", "counterparty_name",
          "counterparty_account", "reference", "serial", "balance", "order_no", "refund", "refund_serial")


def normalise_header(cell: Any) -> str:
    """Header text compared as banks vary it: NFKC (full-width → half-width), brackets and what they hold
    (units such as (元) or (+元)), spaces, a leading backtick and a trailing colon dropped."""
    text = unicodedata.normalize("NFKC", str(cell if cell is not None else "")).strip().lstrip("`\ufeff")
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", "", text)
    return re.sub(r"\s+", "", text).rstrip(":")


@dataclass(frozen=True)
class StatementFormat:
    name: str
    version: int
    label: str
    source: StatementSource
    #: field → accepted header names (a field named by several columns, e.g. 摘要 and 附言, joins them)
    columns: Mapping[str, tuple[str, ...]]
    required: frozenset[str]
    #: header names the format knows and ignores (币种, 凭证号 …)
    ignored: frozenset[str] = frozenset()
    #: rows whose first cell starts with one of these end the table (合计, 总交易单数 …) or are skipped before it
    footer_markers: tuple[str, ...] = ("合计", "总计", "小计", "本页合计", "总交易单数", "#")
    #: status values that are income / refunds (WeChat: SUCCESS / REFUND); empty: use income/expense columns
    income_statuses: frozenset[str] = frozenset()
    refund_statuses: frozenset[str] = frozenset()
    serial_prefix: str = "bank"
    notes: str = ""
    known: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = {normalise_header(n) for names in self.columns.values() for n in names}
        object.__setattr__(self, "known", frozenset(names | {normalise_header(n) for n in self.ignored}))

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def field_of(self, header: str) -> str | None:
        for name, headers in self.columns.items():
            if header in {normalise_header(h) for h in headers}:
                return name
        return None

    def compare(self, headers: Iterable[str]) -> tuple[list[str], list[str]]:
        """(missing required fields, as their first header name; unexpected header names)."""
        present = [h for h in headers if h]
        fields_present = {self.field_of(h) for h in present}
        missing = [self.columns[f][0] for f in sorted(self.required) if f not in fields_present]
        unexpected = [h for h in present if h not in self.known]
        return missing, unexpected

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "key": self.key, "label": self.label,
                "source": str(self.source), "columns": {k: list(v) for k, v in self.columns.items()},
                "required": sorted(self.required), "ignored": sorted(self.ignored)}


BANK_COMMON_IGNORED = frozenset({"币种", "货币", "钞汇", "交易类型", "交易渠道", "渠道", "凭证号", "凭证种类",
                                 "记账日期", "起息日", "对方开户行", "对方行名", "对方账户开户行", "备注",
                                 "本方账号", "账号", "户名", "交易地点", "业务类型", "序号"})

DEFAULT_FORMATS: tuple[StatementFormat, ...] = (
    StatementFormat(
        name="cn_bank", version=1, label="银行流水 (收入/支出分列)", source=StatementSource.BANK,
        columns={"date": ("交易日期", "日期"), "time": ("交易时间",),
                 "income": ("收入金额", "贷方发生额", "贷方金额", "收入"),
                 "expense": ("支出金额", "借方发生额", "借方金额", "支出"),
                 "counterparty_name": ("对方户名", "对方账户名称", "对方名称", "对方账户名"),
                 "counterparty_account": ("对方账号", "对方账户", "对方账户账号"),
                 "reference": ("摘要", "附言", "用途", "交易附言", "交易摘要"),
                 "serial": ("流水号", "交易流水号", "交易流水", "流水"),
                 "balance": ("余额", "账户余额", "交易后余额")},
        required=frozenset({"date", "income", "expense", "counterparty_name", "balance"}),
        ignored=BANK_COMMON_IGNORED,
        notes="ICBC / CCB / CMB style exports; 流水号 optional (then date+amount+counterparty+balance)"),
    StatementFormat(
        name="wechat_pay_trade_bill", version=1, label="微信支付商户交易账单", source=StatementSource.WECHAT_PAY,
        columns={"datetime": ("交易时间",), "serial": ("微信订单号",), "order_no": ("商户订单号",),
                 "status": ("交易状态",), "amount": ("订单金额",), "refund": ("退款金额",),
                 "refund_serial": ("微信退款单号",),
                 "reference": ("商品名称", "商户数据包"), "counterparty_account": ("用户标识",)},
        required=frozenset({"datetime", "serial", "order_no", "status", "amount"}),
        ignored=frozenset({"公众账号ID", "商户号", "特约商户号", "设备号", "交易类型", "付款银行", "货币种类",
                           "应结订单金额", "代金券金额", "商户退款单号", "充值券退款金额", "退款类型",
                           "退款状态", "手续费", "费率",
                           "申请退款金额", "费率备注", "代金券或立减优惠金额", "企业红包金额"}),
        income_statuses=frozenset({"SUCCESS"}), refund_statuses=frozenset({"REFUND", "REVOKED"}),
        serial_prefix="wechat", notes="交易账单 (ALL); values prefixed with a backtick"),
    StatementFormat(
        name="alipay_account_bill", version=1, label="支付宝账务明细", source=StatementSource.ALIPAY,
        columns={"serial": ("账务流水号",), "order_no": ("商户订单号",), "reference": ("商品名称", "备注"),
                 "datetime": ("发生时间", "入账时间"), "counterparty_name": ("对方账号", "对方名称"),
                 "income": ("收入金额",), "expense": ("支出金额",), "balance": ("账户余额",)},
        required=frozenset({"serial", "datetime", "income", "expense"}),
        ignored=frozenset({"业务流水号", "交易渠道", "业务类型"}),
        serial_prefix="alipay", notes="# comment lines above and below the table"),
)


def format_from_dict(data: Mapping[str, Any]) -> StatementFormat:
    """An operator's layout (RW_STATEMENT_FORMATS) → a StatementFormat; unknown fields are refused."""
    columns = {str(k): tuple(str(n) for n in v) for k, v in dict(data["columns"]).items()}
    bad = sorted(set(columns) - set(FIELDS))
    if bad:
        raise ValueError(f"statement format {data.get('name')}: unknown fields {bad}")
    return StatementFormat(
        name=str(data["name"]), version=int(data.get("version", 1)), label=str(data.get("label", data["name"])),
        source=StatementSource(data.get("source", "BANK")), columns=columns,
        required=frozenset(data.get("required", ())), ignored=frozenset(data.get("ignored", ())),
        income_statuses=frozenset(data.get("income_statuses", ())),
        refund_statuses=frozenset(data.get("refund_statuses", ())),
        serial_prefix=str(data.get("serial_prefix", "bank")))


def registry(extra: Iterable[Mapping[str, Any]] = ()) -> dict[str, StatementFormat]:
    """Known formats by key (name@version); operators' layouts after the defaults."""
    out = {f.key: f for f in DEFAULT_FORMATS}
    for data in extra:
        fmt = format_from_dict(data)
        out[fmt.key] = fmt
    return out
