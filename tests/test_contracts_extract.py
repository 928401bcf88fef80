"""Extraction rules over recognised text (pure, tables of cases): numerals, dates, amounts, every field."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.corpus import make_spec, page_texts, render
from contracts.extract import REVIEW_THRESHOLD, Flag, TextLine, extract, lease_fields
from contracts.numerals import parse_cn_int, parse_date, parse_upper_amount, to_cn_date, to_upper_amount
from leasing.frequency import build_alias_table


@pytest.mark.parametrize(("text", "fen"), [
    ("壹万贰仟元整", 1_200_000), ("人民币壹万贰仟元整", 1_200_000), ("叁仟伍佰元伍角", 350_050),
    ("壹万零伍元整", 1_000_500), ("贰万零伍佰元整", 2_050_000), ("壹拾万元整", 10_000_000),
    ("壹拾贰万叁仟肆佰伍拾陆元柒角捌分", 12_345_678), ("伍元整", 500), ("捌仟捌佰圆正", 880_000),
    ("壹佰万元整", 100_000_000), ("", None), ("陆仟柒佰", None), ("柒捌元", None), ("壹万贰X元", None),
    ("叁万零参佰元整", 3_030_000), ("参万参仟玖佰元整", 3_390_000),  # 参: the OCR's (and people's) 叁
])
def test_upper_case_amounts(text, fen):
    assert parse_upper_amount(text) == fen


@pytest.mark.parametrize("fen", [500, 100_000, 350_050, 1_000_500, 1_200_000, 2_050_000, 12_345_678, 99_999_900])
def test_upper_case_round_trip(fen):
    assert parse_upper_amount(to_upper_amount(fen)) == fen


@pytest.mark.parametrize(("text", "value"), [
    ("三十一", 31), ("十二", 12), ("十", 10), ("二十", 20), ("一万二千", 12000), ("二〇二五", 2025), ("2025", 2025),
    ("三二十", None), ("", None),
])
def test_chinese_integers(text, value):
    assert parse_cn_int(text) == value


@pytest.mark.parametrize(("text", "value"), [
    ("二〇二五年十二月一日", date(2025, 12, 1)), ("2025.12.1", date(2025, 12, 1)), ("2025年12月1日", date(2025, 12, 1)),
    ("2025-12-01", date(2025, 12, 1)), ("2025/12/1", date(2025, 12, 1)), ("二〇二七年十一月三十日", date(2027, 11, 30)),
    ("2O25年12月1日", date(2025, 12, 1)), ("二零二六年二月二十八日", date(2026, 2, 28)),
    ("2025 年 3 月 15 日", date(2025, 3, 15)),
    ("2025.2.30", None), ("二〇二五年十三月一日", None), ("12月1日", None),
])
def test_dates(text, value):
    assert parse_date(text) == value


def test_cn_date_writer():
    assert to_cn_date(date(2025, 12, 1)) == "二〇二五年十二月一日"
    assert to_cn_date(date(2030, 10, 20)) == "二〇三〇年十月二十日"


def lines(*texts: str, score: float = 0.99) -> list[TextLine]:
    return [TextLine(1, text, score, (100, 100 + 60 * i, 1100, 140 + 60 * i)) for i, text in enumerate(texts)]


BASE = ["房屋租赁合同", "合同编号:202512001", "出租方(甲方):深圳市南山置业有限公司", "承租方(乙方):张伟",
        "第一条 房屋坐落:深圳市南山区科技园南路18号A栋1203室", "建筑面积:85.50㎡。",
        "第二条 租赁期限自二〇二五年十二月一日起至二〇二七年十一月三十日止。",
        "第三条 月租金为人民币12,000元(大写:壹万贰仟元整)。", "付款方式:押一付三,乙方应在每期开始前五日内支付租金。",
        "免租期为1个月,自起租日起计。", "租金自第二年起每年递增5%。",
        "第四条 乙方如需续租,应于租赁期满前提前30日书面通知甲方。",
        "第五条 乙方逾期支付租金的,每日按欠付金额的万分之五支付违约金。"]


def test_a_whole_contract():
    ex = extract(lines(*BASE))
    values = {name: f.value for name, f in ex.fields.items()}
    assert values == {
        "contract_no": "202512001", "landlord": "深圳市南山置业有限公司", "tenant": "张伟",
        "address": "深圳市南山区科技园南路18号A栋1203室", "area_m2": "85.50", "start_date": "2025-12-01",
        "end_date": "2027-11-30", "monthly_rent_fen": 1_200_000, "payment_frequency": "QUARTERLY",
        "free_period": {"start": "2025-12-01", "end": "2025-12-31"}, "escalation_percent": "5",
        "renewal_notice_days": 30, "late_fee_bp_per_day": 5}
    assert ex.flags == []
    rent = ex.fields["monthly_rent_fen"]
    assert rent.confidence >= REVIEW_THRESHOLD and rent.detail["upper_fen"] == 1_200_000
    assert rent.page == 1 and rent.box == (100, 100 + 60 * 7, 1100, 140 + 60 * 7) and "壹万贰仟元整" in rent.source
    assert ex.fields["payment_frequency"].detail["deposit_months"] == "1"
    assert ex.fields["landlord"].detail["kind"] == "COMPANY" and ex.fields["tenant"].detail["kind"] == "PERSON"
    body = lease_fields(values)
    assert body["payment_frequency"] == "QUARTERLY" and body["monthly_rent_fen"] == 1_200_000
    assert body["escalations"] == [{"kind": "PERCENT", "percent": "5", "from_year": 2}]


def replace(old: str, new: str) -> list[str]:
    return [line.replace(old, new) for line in BASE]


@pytest.mark.parametrize(("old", "new", "field", "value"), [
    ("二〇二五年十二月一日", "2025.12.1", "start_date", "2025-12-01"),
    ("二〇二五年十二月一日", "2025年12月1日", "start_date", "2025-12-01"),
    ("二〇二七年十一月三十日", "2027/11/30", "end_date", "2027-11-30"),
    ("建筑面积:85.50㎡", "租赁面积 120平方米", "area_m2", "120.00"),
    ("建筑面积:85.50㎡", "建筑面积:85.5m2", "area_m2", "85.50"),
    ("出租方(甲方):", "甲方:", "landlord", "深圳市南山置业有限公司"),
    ("出租方(甲方):", "申方(出租方):", "landlord", "深圳市南山置业有限公司"),  # 甲 read as 申 by the OCR
    ("承租方(乙方):张伟", "乙方(承租方):杭州云帆科技有限公司", "tenant", "杭州云帆科技有限公司"),
    ("房屋坐落:", "租赁物业地址:", "address", "深圳市南山区科技园南路18号A栋1203室"),
    ("18号A栋", "18号c栋", "address", "深圳市南山区科技园南路18号C栋1203室"),  # the OCR's c for C (same shape)
    ("12,000元", "12.000元", "monthly_rent_fen", 1_200_000),  # the OCR read the thousands comma as a dot
    ("12,000元", "12.50元", "monthly_rent_fen", 1250),
    ("押一付三", "两月一次", "payment_frequency", "BIMONTHLY"),
    ("押一付三", "季付", "payment_frequency", "QUARTERLY"),
    ("免租期为1个月,自起租日起计。", "免租期:自2025年12月1日至2026年1月15日。", "free_period",
     {"start": "2025-12-01", "end": "2026-01-15"}),
    ("免租期为1个月", "免租期为15天", "free_period", {"start": "2025-12-01", "end": "2025-12-15"}),
    ("租金自第二年起每年递增5%", "自第三年起租金每年递增4.5%", "escalation_percent", "4.5"),
    ("提前30日", "提前六十日", "renewal_notice_days", 60),
    ("万分之五", "万分之10", "late_fee_bp_per_day", 10),
    ("月租金为人民币12,000元(大写:壹万贰仟元整)", "租金标准为3.5元/㎡/天,按建筑面积计算", "unit_price", "3.5"),
])
def test_phrasings(old, new, field, value):
    ex = extract(lines(*replace(old, new)))
    assert ex.fields[field].value == value


def test_escalation_from_year():
    ex = extract(lines(*replace("租金自第二年起每年递增5%", "自第三年起租金每年递增4.5%")))
    assert ex.fields["escalation_percent"].detail["from_year"] == 3


def test_upper_case_mismatch_is_flagged_not_resolved():
    ex = extract(lines(*replace("壹万贰仟元整", "壹万叁仟元整")))
    rent = ex.fields["monthly_rent_fen"]
    assert rent.flags == (Flag.AMOUNT_MISMATCH,) and rent.needs_review
    assert rent.value == 1_200_000 and rent.detail["upper_fen"] == 1_300_000  # both readings kept for the person
    assert [(f["field"], f["code"]) for f in ex.flags] == [("monthly_rent_fen", Flag.AMOUNT_MISMATCH)]


def test_unknown_frequency_is_flagged_invalid_frequency_code():
    ex = extract(lines(*replace("押一付三", "两月一趟")))
    freq = ex.fields["payment_frequency"]
    assert freq.value is None and freq.flags == (Flag.INVALID_FREQUENCY_CODE,)
    assert freq.detail["text"] == "两月一趟"
    assert [f["code"] for f in ex.flags] == [Flag.INVALID_FREQUENCY_CODE]


def test_the_configured_alias_table_is_the_one_used():
    table = build_alias_table({"两月一趟": "BIMONTHLY"})
    ex = extract(lines(*replace("押一付三", "两月一趟")), aliases=table)
    assert ex.fields["payment_frequency"].value == "BIMONTHLY" and ex.flags == []


def test_missing_required_terms_are_flagged():
    ex = extract(lines("房屋租赁合同", "承租方(乙方):张伟"))
    assert {f["field"] for f in ex.flags if f["code"] == Flag.MISSING_FIELD} == {
        "start_date", "end_date", "payment_frequency", "monthly_rent_fen"}


def test_the_rent_free_period_is_never_taken_for_the_term():
    # the term's line misread (期限 lost), the 免租期 line below it still has 租期 ... 自 … 至 …
    ex = extract(lines(*replace("第二条 租赁期限自", "第二条 租赁朝自"),
                       "免租期:自2025年12月1日至2025年12月31日。"))
    assert "start_date" not in ex.fields and "end_date" not in ex.fields
    assert {"start_date", "end_date"} <= {f["field"] for f in ex.flags if f["code"] == Flag.MISSING_FIELD}
    assert ex.fields["free_period"].value == {"start": "2025-12-01", "end": "2025-12-31"}


def test_end_before_start_is_flagged():
    ex = extract(lines(*replace("二〇二七年十一月三十日", "2024年1月1日")))
    assert ex.fields["end_date"].flags == (Flag.INCONSISTENT_DATES,)


def test_low_ocr_scores_need_review():
    ex = extract(lines(*BASE, score=0.7))
    assert ex.fields["tenant"].needs_review and not ex.fields["tenant"].flags
    # a whole term (end = start + N months - 1 day) does not vouch for a doubtful reading: a misread year passes it
    assert ex.fields["start_date"].needs_review and ex.fields["end_date"].needs_review
    # the 大写 amount equal to the digits is a second, independent reading: that one may lift the confidence
    assert not ex.fields["monthly_rent_fen"].needs_review


def test_a_misread_year_in_a_doubtful_line_is_not_confident():
    misread = replace("二〇二五年十二月一日", "二〇二一年十二月一日")  # a whole term still: 2021-12-01 … 2027-11-30
    ex = extract(lines(*misread, score=0.85))
    assert ex.fields["start_date"].value == "2021-12-01"
    assert ex.fields["start_date"].confidence < REVIEW_THRESHOLD and ex.fields["start_date"].needs_review
    confident = extract(lines(*BASE, score=0.99))
    assert not confident.fields["start_date"].needs_review  # a clear reading of a whole term is still accepted


def test_a_label_and_its_value_in_separate_boxes_of_one_row():
    split = [TextLine(1, "月租金为人民币", 0.99, (100, 100, 400, 140)),
             TextLine(1, "12000元(大写:壹万贰仟元整)", 0.97, (420, 102, 900, 141))]
    ex = extract(split)
    assert ex.fields["monthly_rent_fen"].value == 1_200_000
    assert ex.fields["monthly_rent_fen"].box == (100, 100, 900, 141)


def test_corpus_is_deterministic_and_its_text_extracts_to_its_truth():
    for seed in range(12):
        spec = make_spec(seed)
        assert make_spec(seed).truth == spec.truth
        text = [TextLine(1, line, 0.99, (0, 50 * i, 1000, 50 * i + 40))
                for i, line in enumerate(page_texts(spec)[0])]
        values = {name: f.value for name, f in extract(text).fields.items()}
        assert {k: values.get(k) for k in spec.truth} == spec.truth, seed
    a, b = render(make_spec(3), dpi=150)[0], render(make_spec(3), dpi=150)[0]
    assert a.tobytes() == b.tobytes() and a.size == (1240, 1753)


# --------------------------------------------------------------------------------------------- confidence rules


def scored(texts: list[str], weak: dict[str, float], score: float = 0.98) -> list[TextLine]:
    """``texts`` as OCR lines whose characters all score ``score`` but those of each ``weak`` substring (its first
    occurrence in any line), which score its value; the line's own score is their mean, as the recogniser's is."""
    out = []
    for i, text in enumerate(texts):
        chars = [score] * len(text)
        for part, low in weak.items():
            at = text.find(part)
            if at >= 0:
                chars[at:at + len(part)] = [low] * len(part)
        out.append(TextLine(1, text, sum(chars) / len(chars), (100, 100 + 60 * i, 1100, 140 + 60 * i), tuple(chars)))
    return out


@pytest.mark.parametrize(("weak", "field", "needs_review"), [
    ({}, "landlord", False),
    ({"置": 0.55}, "landlord", True),  # one doubtful character of a company name (量 read for 置)
    ({"有限": 0.75}, "landlord", True),
    ({"置": 0.93}, "landlord", False),  # a character scored above the doubt level does not lower it
    ({"置": 0.88}, "landlord", True),  # a party's name is held to 0.9: nothing cross-checks it
    ({"张": 0.88}, "tenant", True),
    ({"30日": 0.85}, "renewal_notice_days", False),  # other values to 0.8
    ({":": 0.5}, "landlord", False),  # the label's punctuation scores low often; it is not the value
    ({"置": 0.55}, "tenant", False),  # another line's doubt stays there
    ({"30日": 0.7}, "renewal_notice_days", True),
    ({"18号A栋": 0.6}, "address", True),
    ({"85.50": 0.75}, "area_m2", True),
    ({"二〇二五年十二": 0.7}, "start_date", True),  # the whole term does not vouch for a doubtful year or month
    ({"二〇二五年十二": 0.7}, "end_date", False),
    ({"〇": 0.45}, "start_date", False),  # 〇, O, o or 0: whichever the recogniser hesitated over, the same zero
    ({"12,000": 0.6}, "monthly_rent_fen", False),  # the 大写 amount equal to the digits: an independent reading
    ({"万分之五": 0.7}, "late_fee_bp_per_day", True),
])
def test_a_doubtful_character_of_the_value_needs_review(weak, field, needs_review):
    ex = extract(scored(BASE, weak))
    found = ex.fields[field]
    assert found.value == extract(lines(*BASE)).fields[field].value  # the reading is kept, only its confidence moves
    assert found.needs_review is needs_review and not found.flags
    if needs_review:
        assert found.confidence <= min(weak.values())


@pytest.mark.parametrize("score", [0.99, 0.95, 0.8])
def test_lines_without_character_scores_use_the_line_score(score):
    # a text layer or an older reading has no per-character scores: each character counts as its line's
    without = extract(lines(*BASE, score=score))
    every_char_the_same = extract(scored(BASE, {}, score=score))
    assert {n: f.confidence for n, f in without.fields.items()} == {
        n: f.confidence for n, f in every_char_the_same.fields.items()}


@pytest.mark.parametrize(("text", "days", "flags", "needs_review"), [
    ("提前30日", 30, (), False),
    ("提前60日", 60, (), False),
    ("提前90日", 90, (), False),
    ("提前十五日", 15, (), False),
    ("提前180日", 180, (), False),
    ("提前9日", 9, (Flag.UNUSUAL_VALUE,), True),  # a 0 lost: 90 read as 9
    ("提前900日", 900, (Flag.UNUSUAL_VALUE,), True),
    ("提前3日", 3, (Flag.UNUSUAL_VALUE,), True),
    ("提前200日", 200, (Flag.UNUSUAL_VALUE,), True),
    ("提前35日", 35, (), True),  # inside the range but no usual value: a person looks, nothing is flagged
    ("提前100日", 100, (), True),
])
def test_renewal_notice_days_outside_what_leases_say_need_review(text, days, flags, needs_review):
    ex = extract(lines(*replace("提前30日", text)))
    found = ex.fields["renewal_notice_days"]
    assert (found.value, found.flags, found.needs_review) == (days, flags, needs_review)
    assert [f["code"] for f in ex.flags] == list(flags)


@pytest.mark.parametrize(("text", "area", "needs_review"), [
    ("建筑面积:85.50㎡", "85.50", False),
    ("建筑面积:8550㎡", "8550.00", False),
    ("建筑面积:10000㎡", "10000.00", False),
    ("建筑面积:13425㎡", "13425.00", True),  # 134.25 with its point lost, more likely than a lease of 1.3 ha
    ("建筑面积:8550.00㎡", "8550.00", False),
])
def test_an_unusually_large_area_needs_review(text, area, needs_review):
    found = extract(lines(*replace("建筑面积:85.50㎡", text))).fields["area_m2"]
    assert (found.value, found.needs_review, found.flags) == (area, needs_review, ())


def test_an_unusual_value_is_confirmed_not_corrected():
    from datetime import UTC, datetime

    from contracts import review as rv

    fields = rv.initial_fields(extract(lines(*replace("提前30日", "提前9日"))))
    assert fields["renewal_notice_days"]["review"]["state"] == rv.PENDING
    [blocker] = [b for b in rv.blockers(fields) if b["field"] == "renewal_notice_days"]
    assert blocker["field"] == "renewal_notice_days" and blocker["code"] == rv.NEEDS_CONFIRMATION
    assert "rarely" in blocker["message"]
    confirmed = rv.confirm(fields, "renewal_notice_days", by=1, at=datetime(2026, 1, 5, tzinfo=UTC))
    # the person read 9 days in the contract: it may stand
    assert [b for b in rv.blockers(confirmed) if b["field"] == "renewal_notice_days"] == []
