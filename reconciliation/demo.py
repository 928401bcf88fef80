"""Statement files as banks write them (title lines, the header, lines, a 合计 footer), for the demo portfolio and
for tests: ``bank_csv`` (cn_bank@1), ``wechat_bill`` (wechat_pay_trade_bill@1), ``alipay_bill``
(alipay_account_bill@1); and ``demo_bank_export``, the demo's export with every discrepancy kind."""

from __future__ import annotations

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


def wechat_bill(rows: list[tuple[datetime, str, str, str, int, str]]) -> str:
    """WeChat Pay's 交易账单: (time, 微信订单号, 商户订单号, 交易状态, fen, 商品名称), backtick-prefixed."""
    out = [",".join(WECHAT_HEADER)]
    total = 0
    for at, transaction_id, out_trade_no, status, amount, body in rows:
        cells = {h: "" for h in WECHAT_HEADER}
        cells.update({"交易时间": at.strftime("%Y-%m-%d %H:%M:%S"), "公众账号ID": "wx0123456789",
                      "商户号": "1900000109", "微信订单号": transaction_id, "商户订单号": out_trade_no,
                      "用户标识": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                      "交易类型": "JSAPI", "交易状态": status, "付款银行": "CMB_DEBIT", "货币种类": "CNY",
                      "应结订单金额": fen_to_yuan(amount), "代金券金额": "0.00", "商品名称": body, "手续费": "0.00",
                      "费率": "0.60%", "订单金额": fen_to_yuan(amount) if status == "SUCCESS" else "0.00",
                      "退款金额": fen_to_yuan(amount) if status == "REFUND" else "0.00"})
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
