"""Statement reading (pure): formats as data, encodings read as such, title and footer lines skipped, amounts
exact to the fen, unknown layouts refused whole with the columns named, dedupe keys."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from leasing.payment_codes import codes_in, decode_code, payment_code
from reconciliation.choices import Direction
from reconciliation.demo import BANK_HEADER, Row, alipay_bill, bank_csv, wechat_bill
from reconciliation.formats import format_from_dict, registry
from reconciliation.reader import StatementRefused, dedupe_key_for, parse_amount, read_statement

SH = ZoneInfo("Asia/Shanghai")
FORMATS = registry()
ROWS = [Row(datetime(2026, 11, 3, 9, 15, 2), 450000, "张三", "6222021001", "RW000015 11月房租", "SN001"),
        Row(datetime(2026, 11, 3, 10, 0), -12050, "供电局", "", "电费", "SN002"),
        Row(datetime(2026, 11, 4, 16, 30), 123456, "深圳某某科技有限公司", "4420", "合同202512001", "SN003")]


def read(text_or_bytes, **kwargs):
    data = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
    return read_statement(data, formats=FORMATS, **kwargs)


@pytest.mark.parametrize("text,fen", [("4,500.00", 450000), ("0.1", 10), ("12.3", 1230), ("¥1,234.56", 123456),
                                      ("+88", 8800), ("(1.05)", -105), ("-0.01", -1), ("", None), ("--", None),
                                      ("1234.5", 123450), ("9007199254740993.01", 900719925474099301)])
def test_amounts_are_exact_fen(text, fen):
    assert parse_amount(text) == fen


@pytest.mark.parametrize("text", ["12.345", "1.2.3", "abc", "1e3", "12,34.5x"])
def test_an_amount_that_is_not_one_is_an_error_never_zero(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_bank_csv_title_lines_and_totals_skipped_every_field_read():
    parsed = read(bank_csv(ROWS))
    assert parsed.format.key == "cn_bank@1" and parsed.encoding == "utf-8"
    assert [(line.direction, line.amount_fen, line.serial) for line in parsed.lines] == [
        (Direction.IN, 450000, "SN001"), (Direction.OUT, 12050, "SN002"), (Direction.IN, 123456, "SN003")]
    first = parsed.lines[0]
    assert first.booked_at == datetime(2026, 11, 3, 9, 15, 2, tzinfo=SH)
    assert (first.counterparty_name, first.counterparty_account) == ("张三", "6222021001")
    assert first.reference == "转账 RW000015 11月房租"  # 摘要 and 附言 joined
    assert first.balance_fen == 1_000_000 + 450000
    assert parsed.skipped_rows == [1, 2, 7]  # two title lines, the 合计 line


def test_gbk_file_is_read_as_gbk():
    parsed = read(bank_csv(ROWS).encode("gbk"))
    assert parsed.encoding == "gb18030"
    assert parsed.lines[2].counterparty_name == "深圳某某科技有限公司"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_tab_separated_files_are_read_as_such(encoding):
    data = bank_csv(ROWS, delimiter="\t").encode(encoding)  # "utf-16" writes a BOM, the others none
    parsed = read(data)
    assert parsed.encoding.startswith("utf-16")
    assert [line.amount_fen for line in parsed.lines] == [450000, 12050, 123456]
    assert parsed.lines[0].counterparty_name == "张三"


def test_xlsx_export_with_numeric_cells_reads_exact_amounts():
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["招商银行交易明细"])
    sheet.append(list(BANK_HEADER))
    sheet.append([datetime(2026, 11, 5), "08:00:00", 4500.1, None, 14500.1, "李四", "6214", "转账", "房租", "X1"])
    sheet.append([datetime(2026, 11, 5), "09:00:00", 0.07, None, 14500.17, "王五", "6215", "转账", "", "X2"])
    sheet.append(["合计", None, 4500.17])
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = read(buffer.getvalue(), filename="export.xlsx")
    assert [(line.amount_fen, line.balance_fen) for line in parsed.lines] == [(450010, 1450010), (7, 1450017)]


def test_wechat_pay_trade_bill_backticks_and_totals():
    at = datetime(2026, 11, 6, 12, 0, 5)
    text = wechat_bill([(at, "4200001234202611060001", "RW00001X-2026-11", "SUCCESS", 300000, "房租 RW000015"),
                        (at, "4200001234202611060002", "ORDER2", "REFUND", 5000, "退款")])
    parsed = read(text)
    assert parsed.format.key == "wechat_pay_trade_bill@1"
    assert [(line.direction, line.amount_fen, line.serial) for line in parsed.lines] == [
        (Direction.IN, 300000, "4200001234202611060001"), (Direction.OUT, 5000, "4200001234202611060002")]
    assert parsed.lines[0].reference.startswith("RW00001X-2026-11 房租 RW000015")
    assert dedupe_key_for(parsed.format, parsed.lines[0]) == "wechat:4200001234202611060001"


def test_wechat_refund_lines_are_keyed_by_their_refund_id():
    """A refund row carries its payment's 微信订单号: keyed by its 微信退款单号, both rows (and two partial refunds
    of one payment) keep their own keys; without a refund id it is never the payment's key."""
    at = datetime(2026, 11, 6, 12, 0, 5)
    paid = "4200001234202611060001"
    text = wechat_bill([(at, paid, "RWDEP-1", "SUCCESS", 900000, "押金"),
                        (at, paid, "RWDEP-1", "REFUND", 300000, "押金退还", "50300012342026110600011"),
                        (at, paid, "RWDEP-1", "REFUND", 300000, "押金退还", "50300012342026110600012")])
    parsed = read(text)
    assert [(line.direction, line.serial, line.refund_serial) for line in parsed.lines] == [
        (Direction.IN, paid, ""), (Direction.OUT, paid, "50300012342026110600011"),
        (Direction.OUT, paid, "50300012342026110600012")]
    keys = [dedupe_key_for(parsed.format, line) for line in parsed.lines]
    assert keys == [f"wechat:{paid}", "wechat:refund:50300012342026110600011",
                    "wechat:refund:50300012342026110600012"]
    without_id = read(text.replace("`50300012342026110600011", "`0")).lines[1]
    assert without_id.refund_serial == "" and dedupe_key_for(parsed.format, without_id) not in keys


def test_alipay_bill_comment_lines_skipped_gbk():
    text = alipay_bill([(datetime(2026, 11, 7, 8, 1), "2026110700001", "张三(zhang***@example.com)", "RW000015",
                         450000)])
    parsed = read(text.encode("gbk"))
    assert parsed.format.key == "alipay_account_bill@1"
    line = parsed.lines[0]
    assert (line.amount_fen, line.counterparty_name, line.serial) == (450000, "张三", "2026110700001")


def test_unknown_layout_is_refused_whole_naming_the_columns_and_the_closest_format():
    header = tuple(h for h in BANK_HEADER if h != "余额") + ("交易对手行号",)
    with pytest.raises(StatementRefused) as refused:
        read(bank_csv(ROWS, header=header))
    error = refused.value
    assert error.code == "UNKNOWN_STATEMENT_FORMAT" and error.status == 422
    assert error.details["missing_columns"] == ["余额"]
    assert error.details["unexpected_columns"] == ["交易对手行号"]
    assert error.details["closest_format"] == "cn_bank@1"


def test_a_named_format_that_does_not_match_is_refused():
    with pytest.raises(StatementRefused) as refused:
        read(bank_csv(ROWS), wanted="wechat_pay_trade_bill@1")
    assert refused.value.code == "UNKNOWN_STATEMENT_FORMAT"
    assert refused.value.details["checked_against"] == "wechat_pay_trade_bill@1"
    assert refused.value.details["closest_format"] == "cn_bank@1"
    with pytest.raises(StatementRefused) as unknown:
        read(bank_csv(ROWS), wanted="cn_bank@9")
    assert unknown.value.details["known_formats"] == sorted(FORMATS)


def test_one_bad_line_refuses_the_whole_file():
    text = bank_csv(ROWS).replace("1234.56", "1234.567")
    with pytest.raises(StatementRefused) as refused:
        read(text)
    assert refused.value.code == "INVALID_STATEMENT_LINE"
    assert [e["row"] for e in refused.value.details["errors"]] == [6]


def test_a_file_that_is_no_table_is_refused_as_an_unknown_format():
    with pytest.raises(StatementRefused) as refused:
        read("hello\nworld\n")
    assert refused.value.code == "UNKNOWN_STATEMENT_FORMAT"


def test_dedupe_key_is_the_serial_else_the_fingerprint():
    with_serial = read(bank_csv(ROWS)).lines
    without = read(bank_csv(ROWS, serials=False)).lines
    fmt = FORMATS["cn_bank@1"]
    assert dedupe_key_for(fmt, with_serial[0]) == "bank:SN001"
    keys = [dedupe_key_for(fmt, line) for line in without]
    assert all(k.startswith("bank:fp:") for k in keys) and len(set(keys)) == 3
    # same date, amount, counterparty and balance → the same line (an overlapping export)
    again = read(bank_csv(ROWS[:2], serials=False)).lines
    assert [dedupe_key_for(fmt, line) for line in again] == keys[:2]


def test_operator_layout_from_settings_is_data():
    extra = registry([{"name": "abc_bank", "version": 2, "columns": {
        "date": ["记账日"], "income": ["存入"], "expense": ["取出"], "counterparty_name": ["对方"],
        "balance": ["结余"], "reference": ["说明"]},
        "required": ["date", "income", "expense", "counterparty_name"]}])
    parsed = read_statement("记账日,存入,取出,对方,结余,说明\n2026-11-02,100.00,,赵六,100.00,房租\n".encode(),
                            formats=extra)
    assert parsed.format.key == "abc_bank@2" and parsed.lines[0].amount_fen == 10000
    with pytest.raises(ValueError):
        format_from_dict({"name": "x", "columns": {"colour": ["颜色"]}})


def test_payment_codes_round_trip_and_survive_typing():
    for rid in (1, 31, 32, 1023, 99999, 2**40):
        code = payment_code(rid)
        assert decode_code(code) == rid
        assert codes_in(f"房租 {code.lower().replace('0', 'o')} 谢谢") == [rid]
    assert decode_code("RW000016") is None  # a mistyped check character names nothing
    assert codes_in("合同202512001 十一月") == []
