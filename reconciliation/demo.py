"""Statement files as banks write them (title lines, the header, lines, a 合计 footer), for the demo portfolio and
for tests: ``bank_csv`` (cn_bank@1), ``wechat_bill`` (wechat_pay_trade_bill@1), ``alipay_bill``
(alipay_account_bill@1); and ``demo_bank_export``, the demo's export with every discrepancy kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from leasing.money import fen_to_yuan

BANK_HEADER = ("交易日期", "交易时间", "收入金额", "支出金额", "余额", "对方户名", "对方账号", "摘要", "附言",
               "交易流水号")


@dataclass(frozen=True)
class Row:
    at: datetime
    amount_fen: int  # positive: income; negative: expense
    name: str = ""
    account: str = ""
    note: str = ""  # 附言
    serial: str = ""
    summary: str = "转账"  # 摘要


def bank_csv(rows: list[Row], *, opening_fen: int = 1_000_000, account: str = "4000 0210 0900 1234 567",
             header: tuple[str, ...] = BANK_HEADER, serials: bool = True, delimiter: str = ",") -> str:
    """A bank account export: two title lines, the header, one line per row with the running balance, 合计."""
    out = ["中国工商银行 账户交易明细", f"账号:{account}", delimiter.join(header)]
    balance = opening_fen
    income = expense = 0
    for row in rows:
        balance += row.amount_fen
        cells = {"交易日期": row.at.strftime("%Y-%m-%d"), "交易时间": row.at.strftime("%H:%M:%S"),
                 "收入金额": fen_to_yuan(row.amount_fen) if row.amount_fen > 0 else "",
                 "支出金额": fen_to_yuan(-row.amount_fen) if row.amount_fen < 0 else "",
                 "余额": fen_to_yuan(balance), "对方户名": row.name, "对方账号": row.account, "摘要": row.summary,
                 "附言": row.note, "交易流水号": row.serial if serials else ""}
        income += max(row.amount_fen, 0)
        expense += max(-row.amount_fen, 0)
        out.append(delimiter.join(_quote(cells.get(h, ""), delimiter) for h in header))
    out.append(delimiter.join(["合计", "", fen_to_yuan(income), fen_to_yuan(expense)]))
    return "\n".join(out) + "\n"


def _quote(text: str, delimiter: str) -> str:
    return f'"{text}"' if delimiter in text or '"' in text else text


WECHAT_HEADER = ("交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号",
                 "用户标识", "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额",
                 "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称",
                 "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注")


def wechat_bill(rows: Sequence[tuple[datetime, str, str, str, int, str] | tuple[datetime, str, str, str, int, str, str]]
                ) -> str:
    """WeChat Pay's 交易账单: (time, 微信订单号, 商户订单号, 交易状态, fen, 商品名称[, 微信退款单号]),
    backtick-prefixed. A REFUND row carries its payment's 微信订单号 and its own refund id (derived when not given)."""
    out = [",".join(WECHAT_HEADER)]
    total = 0
    for at, transaction_id, out_trade_no, status, amount, body, *more in rows:
        refund_id = (more[0] if more else "50" + transaction_id[2:]) if status == "REFUND" else "0"
        cells = {h: "" for h in WECHAT_HEADER}
        cells.update({"交易时间": at.strftime("%Y-%m-%d %H:%M:%S"), "公众账号ID": "wx0123456789",
                      "商户号": "1900000109", "微信订单号": transaction_id, "商户订单号": out_trade_no,
                      "用户标识": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                      "交易类型": "JSAPI", "交易状态": status, "付款银行": "CMB_DEBIT", "货币种类": "CNY",
                      "应结订单金额": fen_to_yuan(amount), "代金券金额": "0.00", "商品名称": body, "手续费": "0.00",
                      "费率": "0.60%", "订单金额": fen_to_yuan(amount) if status == "SUCCESS" else "0.00",
                      "退款金额": fen_to_yuan(amount) if status == "REFUND" else "0.00", "微信退款单号": refund_id})
        total += amount
        out.append(",".join("`" + cells[h] for h in WECHAT_HEADER))
    out.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
    out.append(f"`{len(rows)},`{fen_to_yuan(total)},`0.00,`0.00,`0.00,`{fen_to_yuan(total)},`0.00")
    return "\n".join(out) + "\n"


ALIPAY_HEADER = ("账务流水号", "业务流水号", "商户订单号", "商品名称", "发生时间", "对方账号", "收入金额(+元)",
                 "支出金额(-元)", "账户余额(元)", "交易渠道", "业务类型", "备注")


def alipay_bill(rows: list[tuple[datetime, str, str, str, int]], opening_fen: int = 0) -> str:
    """支付宝账务明细: (time, 账务流水号, 对方账号, 备注, fen); # lines above and below."""
    out = ["#支付宝账务明细查询", "#账号:[20880000000000000156]", "#起始日期:[2026-11-01 00:00:00]",
           "#-----------------------账务明细列表-----------------------", ",".join(ALIPAY_HEADER)]
    balance = opening_fen
    for at, serial, counterparty, note, amount in rows:
        balance += amount
        out.append(",".join([serial, f"BIZ{serial}", "", "房租", at.strftime("%Y-%m-%d %H:%M:%S"), counterparty,
                             fen_to_yuan(amount) if amount > 0 else "", fen_to_yuan(-amount) if amount < 0 else "",
                             fen_to_yuan(balance), "支付宝", "在线支付", note]))
    out += ["#-----------------------账务明细列表结束-----------------------", "#支出合计:0笔,共0.00元"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------- demo export


@dataclass(frozen=True)
class DemoStatement:
    text: str
    #: what each line is for: {"serial": …, "expect": kind or MATCHED, "lease_id": …}
    plan: list[dict]
    hand_payment_id: int | None


async def demo_bank_export(now: datetime, *, building_id: int | None = None) -> DemoStatement:
    """A bank export with one of every discrepancy kind, from the live leases with open rent (four needed):

    1. a transfer naming a receivable's payment code with its amount — matched and applied;
    2. the same transfer again the next day — DUPLICATE_PAYMENT;
    3. a code with 1,000.00 less than is open — AMOUNT_MISMATCH;
    4. a code with 500.00 more than everything due — OVERPAYMENT;
    5. money from someone unknown with 附言 货款 — UNMATCHED_INCOME;
    6. a bank transfer finance entered by hand for the fourth lease, which is in no line — PAID_WITHOUT_BANK_LINE
       (this function records that payment, once);
    plus an expense line (电费), never matched."""
    from datetime import timedelta

    from leasing.choices import LIVE_LEASE_STATUSES, OPEN_RECEIVABLE_STATUSES
    from leasing.ledger import record_payment
    from leasing.payment_codes import payment_code
    from models.leasing import Lease, Receivable
    from reconciliation.matching import DUE_HORIZON_DAYS

    day = (now - timedelta(days=12)).replace(hour=10, minute=0, second=0, microsecond=0, tzinfo=None)
    leases = Lease.filter(status__in=list(LIVE_LEASE_STATUSES))
    if building_id is not None:
        leases = leases.filter(unit__building_id=building_id)
    picked = []
    for lease in await leases.order_by("id").select_related("tenant"):
        open_ = await Receivable.filter(lease_id=lease.id, status__in=list(OPEN_RECEIVABLE_STATUSES),
                                        open_key__not_isnull=True, amount_fen__gt=100000).order_by("due_date", "id")
        if open_:
            picked.append((lease, open_))
        if len(picked) == 4:
            break
    if len(picked) < 4:
        raise ValueError("the demo export needs four live leases with open receivables")
    (matched, m_open), (short, s_open), (over, o_open), (hand, h_open) = picked
    horizon = (day + timedelta(days=3)).date() + timedelta(days=DUE_HORIZON_DAYS)  # the over line's date
    first_over = o_open[0]
    every_open = await Receivable.filter(lease_id=over.id, status__in=list(OPEN_RECEIVABLE_STATUSES),
                                         open_key__not_isnull=True)
    due_over = sum(r.amount_fen - r.paid_fen for r in every_open if r.due_date <= horizon or r.id == first_over.id)
    target = m_open[0]
    rows = [
        Row(day, target.amount_fen - target.paid_fen, matched.tenant.name, "6222020000000001",
            f"{payment_code(target.id)} 房租", "DEMO0001"),
        Row(day + timedelta(days=1), target.amount_fen - target.paid_fen, matched.tenant.name, "6222020000000001",
            f"{payment_code(target.id)} 房租", "DEMO0002"),
        Row(day + timedelta(days=2), s_open[0].amount_fen - s_open[0].paid_fen - 100000, short.tenant.name,
            "6222020000000002", f"{payment_code(s_open[0].id)}", "DEMO0003"),
        Row(day + timedelta(days=3), due_over + 50000, over.tenant.name, "6222020000000003",
            f"缴费码{payment_code(first_over.id)}", "DEMO0004"),
        Row(day + timedelta(days=4), 12345, "未知贸易有限公司", "6222020000000009", "货款", "DEMO0005"),
        Row(day + timedelta(days=5), -86000, "深圳供电局", "", "电费", "DEMO0006"),
        Row(day + timedelta(days=11), 1000, "某银行", "", "利息", "DEMO0007"),
    ]
    paid = await record_payment(lease_id=hand.id, amount_fen=h_open[0].amount_fen - h_open[0].paid_fen,
                                paid_at=now - timedelta(days=8), method="BANK_TRANSFER", now=now,
                                payer_name=hand.tenant.name, reference="财务手工登记",
                                source="MANUAL", external_ref=f"demo:hand-entry:{hand.id}",
                                note="entered by hand: the bank never shows it")
    plan: list[dict] = [{"serial": "DEMO0001", "expect": "MATCHED", "lease_id": matched.id},
            {"serial": "DEMO0002", "expect": "DUPLICATE_PAYMENT", "lease_id": matched.id},
            {"serial": "DEMO0003", "expect": "AMOUNT_MISMATCH", "lease_id": short.id},
            {"serial": "DEMO0004", "expect": "OVERPAYMENT", "lease_id": over.id},
            {"serial": "DEMO0005", "expect": "UNMATCHED_INCOME", "lease_id": None},
            {"serial": "DEMO0007", "expect": "UNMATCHED_INCOME", "lease_id": None},  # bank interest: dismiss it
            {"serial": None, "expect": "PAID_WITHOUT_BANK_LINE", "lease_id": hand.id}]
    return DemoStatement(bank_csv(rows), plan, paid.payment.id)


async def seed(now: datetime) -> None:
    """The demo portfolio's statement: the export above, imported for the demo building (a discrepancy list with
    every kind on the console and the API)."""
    from models.portfolio import Building
    from reconciliation.service import import_statement

    building = await Building.get_or_none(code="SZ-FT-B")
    try:
        statement = await demo_bank_export(now, building_id=building.id if building else None)
    except ValueError as exc:
        print(f"reconciliation demo skipped: {exc}")
        return
    report = await import_statement(statement.text.encode("gbk"), filename="demo-bank-export.csv", now=now,
                                    building_id=building.id if building else None)
    print(f"reconciliation: demo bank export imported, {report['lines_new']} lines, {report['reconcile']}")
