"""Key terms of a Chinese lease contract from its recognised text (pure: lines in, fields out).

Each field carries its value, the source text span, the page and box it was read from, a confidence, and flags a
person must resolve. Confidence = the OCR score of the lines the span covers × how much the rule trusts itself,
raised only by an independent cross-check (the 大写 amount equal to the digits, an end date one whole term after
the start) and lowered by a failed one. Nothing is resolved silently: a 大写/digit mismatch is AMOUNT_MISMATCH, a
payment method the ledger's alias table does not know is INVALID_FREQUENCY_CODE (leasing.frequency, the one
table), a required term not found is MISSING_FIELD.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

from contracts.numerals import DATE_PATTERN, parse_cn_int, parse_date, parse_upper_amount, yuan_to_fen
from core.errors import ValidationFailed
from leasing.frequency import DEFAULT_TABLE, AliasTable

REVIEW_THRESHOLD = 0.90  # fields below it (and every flagged one) need a person's confirmation
HARMLESS_DOUBT = frozenset("〇○")  # characters whose look-alikes all normalise to the same value
# a value character the OCR scored below this caps the field's confidence at that score (see _char_doubt). On the
# bench's photos (seeds 1000-1099 and 2000-2099) a misread character left confident otherwise (量 for 置 in a
# company name) scored 0.67 and 0.88; 0.8, and 0.9 for the parties' names (nothing cross-checks a name, and a
# misread one becomes the tenant's record), sent ~20 more of ~1300 correct fields to review: contracts needing no
# correction 43 % → 37 % and 44 % → 37 %.
CHAR_DOUBT = 0.80
NAME_CHAR_DOUBT: dict[str, float] = {"landlord": 0.90, "tenant": 0.90}


class Flag:
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    INVALID_FREQUENCY_CODE = "INVALID_FREQUENCY_CODE"
    MISSING_FIELD = "MISSING_FIELD"
    INCONSISTENT_DATES = "INCONSISTENT_DATES"
    UNREADABLE = "UNREADABLE"
    UNUSUAL_VALUE = "UNUSUAL_VALUE"  # read clearly, but not what leases say: a person checks it (does not block)


FIELDS = ("contract_no", "landlord", "tenant", "address", "area_m2", "start_date", "end_date", "monthly_rent_fen",
          "unit_price", "deposit_fen", "deposit_months", "payment_frequency", "free_period", "escalation_percent",
          "renewal_notice_days", "late_fee_bp_per_day")
REQUIRED = ("tenant", "start_date", "end_date", "payment_frequency")


@dataclass(frozen=True)
class TextLine:
    page: int
    text: str
    score: float
    box: tuple[int, int, int, int]
    chars: tuple[float, ...] = ()  # the OCR's score of each character of ``text``; none: each has ``score``


@dataclass(frozen=True)
class Field:
    name: str
    value: Any  # JSON-ready: str, int, dict
    source: str  # the text span it was read from
    page: int | None
    box: tuple[int, int, int, int] | None
    confidence: float
    flags: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_review(self) -> bool:
        return bool(self.flags) or self.confidence < REVIEW_THRESHOLD

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "source": self.source, "page": self.page,
                "box": list(self.box) if self.box else None, "confidence": round(self.confidence, 3),
                "flags": list(self.flags), "detail": self.detail, "needs_review": self.needs_review}


@dataclass
class Extraction:
    fields: dict[str, Field]
    flags: list[dict[str, Any]]

    def value(self, name: str) -> Any:
        found = self.fields.get(name)
        return found.value if found else None

    def to_json(self) -> dict[str, Any]:
        return {"fields": {name: f.to_json() for name, f in self.fields.items()}, "flags": self.flags}


# --------------------------------------------------------------------------------------------- text model


_REPLACEMENTS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(rx), repl) for rx, repl in (
    (r"m²|M2|平方米|平米", "m2"),
    (r"(?<=\d)[oO](?=\d)", "0"),
    # 152.700元: yuan have at most two decimals, so a dot before three digits is the OCR's reading of a comma
    (r"(?<=\d)\.(?=\d{3}(?:[,.]\d{3})*[ \t]*元)", ","),
    (r"申(?=[方乙])", "甲"),  # OCR's usual misreading of 甲 in 甲方/甲乙 (申方 is no word)
    (r"(?<=\d)\s*[,，]\s*(?=\d{3}\b)", ","),
))


def normalise(text: str) -> str:
    """NFKC (full-width → half-width, ㎡ → m2) and the OCR's usual look-alikes (inside numbers; 申 for 甲)."""
    return normalise_scored(text, ())[0]


def normalise_scored(text: str, scores: Sequence[float]) -> tuple[str, list[float]]:
    """``normalise`` keeping one OCR score a character: a character's own score follows it through NFKC; text
    put in place of a match takes the lowest score of what it replaced. Without scores every character gets 1."""
    own = list(scores) if len(scores) == len(text) else [1.0] * len(text)
    parts = [unicodedata.normalize("NFKC", ch) for ch in text]
    value = "".join(parts)
    if value == unicodedata.normalize("NFKC", text):
        out = [score for part, score in zip(parts, own, strict=True) for _ in part]
    else:  # composition across characters (rare): the line's lowest score for all of it
        value = unicodedata.normalize("NFKC", text)
        out = [min(own, default=1.0)] * len(value)
    for rx, repl in _REPLACEMENTS:
        pieces, kept, pos = [], [], 0
        for match in rx.finditer(value):
            pieces.append(value[pos:match.start()])
            kept.extend(out[pos:match.start()])
            pieces.append(repl)
            kept.extend([min(out[match.start():match.end()], default=1.0)] * len(repl))
            pos = match.end()
        pieces.append(value[pos:])
        kept.extend(out[pos:])
        value, out = "".join(pieces), kept
    return value, out


@dataclass
class Document:
    """The contract's text as one string (rows joined by newlines, boxes of a row by a space) with a map from
    character offsets back to the lines they came from, and the OCR's score of every character."""

    text: str
    spans: list[tuple[int, int, TextLine]]
    scores: list[float] = field(default_factory=list)  # one a character of ``text`` (separators: 1)

    @classmethod
    def from_lines(cls, lines: Iterable[TextLine]) -> Document:
        parts, spans, scores, pos = [], [], [], 0
        previous: TextLine | None = None
        for line in lines:
            text, own = normalise_scored(line.text, line.chars or [line.score] * len(line.text))
            if previous is not None:
                same_row = previous.page == line.page and _same_row(previous, line)
                sep = " " if same_row else "\n"
                parts.append(sep)
                scores.append(1.0)
                pos += 1
            spans.append((pos, pos + len(text), line))
            parts.append(text)
            scores.extend(own)
            pos += len(text)
            previous = line
        return cls("".join(parts), spans, scores)

    def lines_of(self, start: int, end: int) -> list[TextLine]:
        return [line for s, e, line in self.spans if s < end and e > start]

    def locate(self, start: int, end: int) -> tuple[int | None, tuple[int, int, int, int] | None, float]:
        """(page, box, min OCR score) of a span: the box is the union of its lines on the span's first page."""
        lines = self.lines_of(start, end)
        if not lines:
            return None, None, 0.0
        page = lines[0].page
        same = [ln for ln in lines if ln.page == page]
        box = (min(ln.box[0] for ln in same), min(ln.box[1] for ln in same),
               max(ln.box[2] for ln in same), max(ln.box[3] for ln in same))
        return page, box, min(ln.score for ln in lines)

    def weakest_char(self, start: int, end: int) -> float:
        """The lowest OCR score among the letters, digits and CJK characters of a span; 1 when there are none.
        Punctuation and spaces carry no value (and often score low); nor does 〇, the zero of a Chinese date,
        whose low scores are the recogniser torn between 〇, O, o and 0 — all read as the same zero."""
        return min((score for ch, score in zip(self.text[start:end], self.scores[start:end], strict=True)
                    if ch.isalnum() and ch not in HARMLESS_DOUBT), default=1.0)


def _same_row(a: TextLine, b: TextLine) -> bool:
    ca, cb = (a.box[1] + a.box[3]) / 2, (b.box[1] + b.box[3]) / 2
    height = max(a.box[3] - a.box[1], b.box[3] - b.box[1], 1)
    return abs(ca - cb) < height * 0.5 and b.box[0] >= a.box[0]


# --------------------------------------------------------------------------------------------- rules

S = r"[ \t]*"
COLON = r"[ \t]*[::]?[ \t]*"
NUM = r"\d[\d,]*(?:\.\d{1,2})?"
UPPER = r"[零壹贰貳叁參参肆伍陆陸柒捌玖拾佰仟万萬亿億元圆角分整正]+"
CN_NUM = r"[\d一二两三四五六七八九十百]+"
BP = r"[\d一二三四五六七八九十]+(?:\.\d+)?"
D = DATE_PATTERN

PARTY_END = r"(?=[ \t]*(?:\(以下|\n|$|统一社会|身份证|证件|联系|电话))"
RULES: dict[str, list[tuple[str, float]]] = {
    "contract_no": [(rf"合同编号{COLON}(?P<v>[A-Za-z0-9][A-Za-z0-9\-_/]{{3,39}})", 0.97)],
    "landlord": [(rf"(?:出租方|出租人|甲方)(?:\((?:甲方|出租方|出租人)\))?{COLON}(?P<v>[^\n:]{{2,40}}?){PARTY_END}",
                  0.97)],
    "tenant": [(rf"(?:承租方|承租人|乙方)(?:\((?:乙方|承租方|承租人)\))?{COLON}(?P<v>[^\n:]{{2,40}}?){PARTY_END}",
                0.97)],
    "address": [(rf"(?:房屋坐落|房屋地址|租赁物业地址|物业地址|租赁房屋坐落于|坐落于|坐落){COLON}(?:于)?"
                 rf"(?P<v>[^\n,;。]{{4,60}}?)(?=[ \t]*(?:[,;。\n]|$|建筑面积|租赁面积))", 0.95)],
    "area_m2": [(rf"(?:建筑面积|租赁面积|使用面积|面积){COLON}(?:为|共)?{S}(?P<v>\d{{1,7}}(?:\.\d{{1,2}})?){S}"
                 rf"(?:m2|m|M)", 0.97)],
    # (?<!免): 免租期 is the rent-free period, not the term
    "term": [(rf"(?<!免)(?:租赁期限|租期|租赁期){COLON}(?:为)?[^\n]{{0,12}}?自{S}(?P<s>{D}){S}(?:起)?{S}[至到]{S}"
              rf"(?P<e>{D})",
              0.97)],
    "monthly_rent_fen": [(rf"(?:月租金|每月租金|租金(?:标准)?为?每月){COLON}(?:为)?{S}(?:人民币|RMB|¥)?{S}"
                          rf"(?P<v>{NUM}){S}元", 0.95)],
    "unit_price": [(rf"(?P<v>\d{{1,5}}(?:\.\d{{1,4}})?){S}元{S}/{S}(?:m2|m|M){S}/{S}(?P<per>天|日|月)", 0.95)],
    "deposit_fen": [(rf"(?:押金|租赁保证金|履约保证金|保证金){COLON}(?:为)?{S}(?:人民币|RMB|¥)?{S}(?P<v>{NUM}){S}元",
                     0.95)],
    "deposit_months": [(rf"(?:押金|保证金)[^\n\d]{{0,8}}?(?P<v>[一二两三四五六1-6]){S}个月(?:的)?(?:月)?租金", 0.93)],
    "payment_frequency": [(rf"(?:租金)?(?:付款方式|支付方式|付款周期|缴付方式){COLON}(?:为)?{S}"
                           rf"(?P<v>[^\n,;。(]{{2,12}}?)(?=[ \t]*(?:[,;。(\n]|$|,))", 0.95)],
    "free_period": [(rf"免租期{COLON}(?:为)?{S}自?{S}(?P<s>{D}){S}(?:起)?{S}[至到]{S}(?P<e>{D})", 0.95),
                    (rf"免租期{COLON}(?:为)?{S}(?P<n>{CN_NUM}){S}(?P<u>个月|天|日)", 0.9)],
    "escalation_percent": [(rf"(?:自第(?P<y>[二三四五2-5])(?:个)?(?:租赁)?年(?:度)?起{S},?{S})?(?:租金)?"
                            rf"(?:每年|逐年|每一年)(?:在上一年(?:度)?(?:租金)?基础上)?{S}递增{S}"
                            rf"(?P<v>\d{{1,2}}(?:\.\d{{1,2}})?){S}%", 0.95)],
    "renewal_notice_days": [(rf"(?:续租|续约|续签)[^\n]{{0,24}}?提前{S}(?P<v>{CN_NUM}){S}(?:日|天|个自然日)", 0.95),
                            (rf"提前{S}(?P<v>{CN_NUM}){S}(?:日|天)[^\n]{{0,12}}?(?:书面)?(?:通知|提出)[^\n]{{0,12}}?(?:续租|续约)",
                             0.93)],
    "late_fee_bp_per_day": [(rf"(?:违约金|滞纳金)[^\n]{{0,30}}?每日{S}(?:按)?[^\n]{{0,10}}?万分之{S}(?P<v>{BP})", 0.95),
                            (rf"每日{S}(?:按)?[^\n]{{0,10}}?万分之{S}(?P<v>{BP})[^\n]{{0,12}}?(?:违约金|滞纳金)",
                             0.93)],
}
_COMPILED = {name: [(re.compile(rx), trust) for rx, trust in rules] for name, rules in RULES.items()}


def _first(doc: Document, name: str) -> tuple[re.Match, float] | None:
    for rx, trust in _COMPILED[name]:
        match = rx.search(doc.text)
        if match:
            return match, trust
    return None


def _field(doc: Document, name: str, match: re.Match, trust: float, value: Any, *, group: str | int = 0,
           flags: Sequence[str] = (), boost: float | None = None, detail: dict | None = None,
           extend_to: int | None = None) -> Field:
    start, end = match.span(group) if group != 0 else match.span()
    whole_start, whole_end = match.span()
    whole_end = max(whole_end, extend_to or 0)
    page, box, ocr = doc.locate(whole_start, whole_end)
    confidence = min(ocr, _char_doubt(name, doc.weakest_char(start, end))) * trust
    if boost is not None:
        confidence = max(confidence, boost) if boost > confidence else confidence
    if flags:
        confidence = min(confidence, 0.5)
    return Field(name, value, doc.text[whole_start:whole_end] if start is not None else "", page, box,
                 round(confidence, 4), tuple(flags), detail or {})


def _char_doubt(name: str, weakest: float) -> float:
    """What the weakest character of a value allows its confidence to be. A line's score is the mean of its
    characters, so one misread character (量 for 置 in a company name; 90 read as 9, its 9 scored 0.41) barely
    lowers it; the character's own score does."""
    return 1.0 if weakest >= NAME_CHAR_DOUBT.get(name, CHAR_DOUBT) else weakest


def _clean_party(text: str) -> str:
    return re.sub(r"[ \t]+", "", text).strip(" ,;。:")


def _upper_latin(address: str) -> str:
    """Latin letters in an address (A栋, B座, C区) are capitals: the OCR cannot tell c/C, o/O, s/S, x/X apart by
    shape and reads them in either case (a confident 70号c栋 in the bench)."""
    return re.sub(r"[a-z]", lambda m: m.group().upper(), address)


def _party_kind(name: str) -> str:
    return "COMPANY" if re.search(r"(公司|集团|企业|中心|商行|工作室|事务所|合作社)$", name) else "PERSON"


def _cn_or_int(text: str) -> int | None:
    return parse_cn_int(text) if not text.isdigit() else int(text)


def _whole_term(start: date, end: date) -> bool:
    """The end is the day before a whole number of months after the start (the usual way terms are written)."""
    return any(start + relativedelta(months=months) - timedelta(days=1) == end for months in range(1, 12 * 30 + 1))


def extract(lines: Iterable[TextLine], *, aliases: AliasTable = DEFAULT_TABLE) -> Extraction:
    """Every key term found in the contract's lines (reading order, all pages)."""
    doc = Document.from_lines(lines)
    fields: dict[str, Field] = {}

    for name in ("contract_no", "landlord", "tenant", "address"):
        found = _first(doc, name)
        if found:
            match, trust = found
            value = _clean_party(match.group("v")) if name in ("landlord", "tenant", "address") else match.group("v")
            if name == "address":
                value = _upper_latin(value)
            detail = {"kind": _party_kind(value)} if name in ("landlord", "tenant") else {}
            fields[name] = _field(doc, name, match, trust, value, group="v", detail=detail)

    found = _first(doc, "area_m2")
    if found:
        match, trust = found
        area = Decimal(match.group("v")).quantize(Decimal("0.01"))
        large = area > AREA_USUAL_MAX_M2  # 134.25 read as 13425 (the point lost) more often than a whole building
        fields["area_m2"] = _field(doc, "area_m2", match, trust * UNUSUAL_IN_RANGE if large else trust, str(area),
                                   group="v", detail={"usual_max_m2": str(AREA_USUAL_MAX_M2)} if large else {})

    _term(doc, fields)
    _rent(doc, fields)
    found = _first(doc, "unit_price")
    if found:
        match, trust = found
        basis = "PER_M2_DAY" if match.group("per") in ("天", "日") else "PER_M2_MONTH"
        fields["unit_price"] = _field(doc, "unit_price", match, trust, match.group("v"), group="v",
                                      detail={"rent_basis": basis})

    _deposit(doc, fields)
    _frequency(doc, fields, aliases)
    _free_period(doc, fields)

    found = _first(doc, "escalation_percent")
    if found:
        match, trust = found
        year = _cn_or_int(match.group("y")) if match.group("y") else 2
        fields["escalation_percent"] = _field(doc, "escalation_percent", match, trust, match.group("v"), group="v",
                                              detail={"from_year": year})
    for name in ("renewal_notice_days", "late_fee_bp_per_day"):
        found = _first(doc, name)
        if found:
            match, trust = found
            raw = match.group("v")
            value = raw if name == "late_fee_bp_per_day" and "." in raw else _cn_or_int(raw)
            marks = [] if value is not None else [Flag.UNREADABLE]
            note: dict[str, Any] = {}
            if name == "renewal_notice_days" and isinstance(value, int):
                trust, marks, note = _plausible_notice(value, trust)
            fields[name] = _field(doc, name, match, trust, value, group="v", flags=marks, detail=note)

    flags = [{"field": f.name, "code": code, "message": MESSAGES[code]} for f in fields.values() for code in f.flags]
    has_rent = "monthly_rent_fen" in fields or "unit_price" in fields
    missing = [name for name in REQUIRED if name not in fields] + ([] if has_rent else ["monthly_rent_fen"])
    for name in missing:
        flags.append({"field": name, "code": Flag.MISSING_FIELD, "message": MESSAGES[Flag.MISSING_FIELD]})
    return Extraction(fields, flags)


MESSAGES = {
    Flag.AMOUNT_MISMATCH: "the amount in words (大写) does not match the digits: check the contract",
    Flag.INVALID_FREQUENCY_CODE: "the payment method is not in the frequency alias table: choose a code",
    Flag.MISSING_FIELD: "not found in the contract: enter it",
    Flag.INCONSISTENT_DATES: "the end date is not after the start date",
    Flag.UNREADABLE: "the text was found but could not be read as a value",
    Flag.UNUSUAL_VALUE: "a value leases rarely have (a digit lost or added by the OCR?): check it against the "
                        "contract",
}


NOTICE_DAYS = (15, 180)  # a renewal notice outside this is a misreading more often than a lease's term
USUAL_NOTICE_DAYS = frozenset({15, 30, 45, 60, 90, 120, 180})
UNUSUAL_IN_RANGE = 0.9  # trust kept by a value possible but unusual (below the review threshold, not flagged)
AREA_USUAL_MAX_M2 = Decimal(10_000)  # one lease of more is possible (a whole building) but rare: a person looks


def _plausible_notice(days: int, trust: float) -> tuple[float, list[str], dict[str, Any]]:
    """(trust, flags, detail) of a renewal notice of ``days``: 90 read as 9 or 900 is flagged UNUSUAL_VALUE, a
    35 (a 3 for an 8? a 5 for a 0?) is left to a person by a lower trust; 30/60/90 … pass."""
    usual = {"usual_days": [NOTICE_DAYS[0], NOTICE_DAYS[1]]}
    if not NOTICE_DAYS[0] <= days <= NOTICE_DAYS[1]:
        return trust, [Flag.UNUSUAL_VALUE], usual
    if days not in USUAL_NOTICE_DAYS:
        return trust * UNUSUAL_IN_RANGE, [], usual
    return trust, [], {}


def _cross_check(doc: Document, match: re.Match, fen: int | None) -> tuple[list[str], float | None, dict]:
    """The 大写 amount right after the digits (same row or the next): equal → boost, different → flagged."""
    tail = doc.text[match.end(): match.end() + 40]
    upper = re.search(rf"^[^\n]{{0,12}}?大写{COLON}(?:人民币)?{S}(?P<u>{UPPER})", tail)
    if not upper:
        return [], None, {}
    words = parse_upper_amount(upper.group("u"))
    detail = {"upper_text": upper.group("u"), "upper_fen": words, "_end": match.end() + upper.end()}
    if words is None:
        return [Flag.AMOUNT_MISMATCH], None, detail
    if fen is not None and words == fen:
        return [], 0.99, detail
    return [Flag.AMOUNT_MISMATCH], None, detail


def _term(doc: Document, fields: dict[str, Field]) -> None:
    """Start and end date from one match; a whole number of months between them raises the trust in both."""
    found = _first(doc, "term")
    if not found:
        return
    match, trust = found
    start, end = parse_date(match.group("s")), parse_date(match.group("e"))
    problems = []
    whole = False
    if start is None or end is None:
        problems.append(Flag.UNREADABLE)
    elif end <= start:
        problems.append(Flag.INCONSISTENT_DATES)
    elif _whole_term(start, end):
        whole = True
    else:
        trust *= 0.9
    for name, value, group in (("start_date", start, "s"), ("end_date", end, "e")):
        # the end one whole term after the start confirms the days, not the years or months (a misread year keeps
        # the term whole): the agreement takes away the rule's doubt, never the OCR's (the line's or a character's)
        boost = min(0.98, doc.locate(*match.span())[2], _char_doubt(name, doc.weakest_char(*match.span(group)))) \
            if whole else None
        fields[name] = _field(doc, name, match, trust, value.isoformat() if value else None, group=group,
                              flags=problems, boost=boost)


def _deposit(doc: Document, fields: dict[str, Field]) -> None:
    """A stated deposit amount (cross-checked with its 大写), else the deposit in months."""
    found = _first(doc, "deposit_fen")
    if found:
        match, trust = found
        fen = yuan_to_fen(match.group("v"))
        flags, boost, detail = _cross_check(doc, match, fen)
        end = detail.pop("_end", None)
        fields["deposit_fen"] = _field(doc, "deposit_fen", match, trust, fen, group="v",
                                       flags=flags or ([] if fen else [Flag.UNREADABLE]), boost=boost, detail=detail,
                                       extend_to=end)
    found = _first(doc, "deposit_months")
    if found and "deposit_fen" not in fields:
        match, trust = found
        fields["deposit_months"] = _field(doc, "deposit_months", match, trust, _cn_or_int(match.group("v")), group="v")


def _rent(doc: Document, fields: dict[str, Field]) -> None:
    found = _first(doc, "monthly_rent_fen")
    if not found:
        return
    match, trust = found
    fen = yuan_to_fen(match.group("v"))
    flags, boost, detail = _cross_check(doc, match, fen)
    if not detail:
        trust *= 0.92  # one reading of money, nothing to check it against
    end = detail.pop("_end", None)
    fields["monthly_rent_fen"] = _field(doc, "monthly_rent_fen", match, trust, fen, group="v",
                                        flags=flags or ([] if fen else [Flag.UNREADABLE]), boost=boost, detail=detail,
                                        extend_to=end)


def _frequency(doc: Document, fields: dict[str, Field], aliases: AliasTable) -> None:
    found = _first(doc, "payment_frequency")
    if not found:
        return
    match, trust = found
    raw = match.group("v").strip()
    try:
        term = aliases.resolve(raw)
    except ValidationFailed:
        fields["payment_frequency"] = _field(doc, "payment_frequency", match, trust, None, group="v",
                                             flags=[Flag.INVALID_FREQUENCY_CODE], detail={"text": raw})
        return
    detail = {"text": raw, "deposit_months": str(term.deposit_months) if term.deposit_months is not None else None}
    fields["payment_frequency"] = _field(doc, "payment_frequency", match, trust, term.frequency.value, group="v",
                                         detail=detail)


def _free_period(doc: Document, fields: dict[str, Field]) -> None:
    rx_dates, trust_dates = _COMPILED["free_period"][0]
    match = rx_dates.search(doc.text)
    if match:
        start, end = parse_date(match.group("s")), parse_date(match.group("e"))
        value = ({"start": start.isoformat(), "end": end.isoformat()}
                 if start is not None and end is not None and end >= start else None)
        ok = value is not None
        fields["free_period"] = _field(doc, "free_period", match, trust_dates, value,
                                       flags=[] if ok else [Flag.UNREADABLE])
        return
    rx_len, trust_len = _COMPILED["free_period"][1]
    match = rx_len.search(doc.text)
    if not match:
        return
    n = _cn_or_int(match.group("n"))
    start_text = fields["start_date"].value if "start_date" in fields else None
    if n is None or start_text is None:
        fields["free_period"] = _field(doc, "free_period", match, trust_len, None, flags=[Flag.UNREADABLE])
        return
    start = date.fromisoformat(start_text)
    end = (start + relativedelta(months=n) if match.group("u") == "个月" else start + timedelta(days=n)) \
        - timedelta(days=1)
    fields["free_period"] = _field(doc, "free_period", match, trust_len,
                                   {"start": start.isoformat(), "end": end.isoformat()})


# --------------------------------------------------------------------------------------------- to the ledger


def lease_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Reviewed field values → the ledger's flat LeaseIn body (terms the ledger has no column for — renewal
    notice, late fee — stay on the draft)."""
    out: dict[str, Any] = {}
    tenant = values.get("tenant")
    if tenant:
        out["tenant_name"] = tenant
        out["tenant_kind"] = _party_kind(tenant)
    for name in ("start_date", "end_date", "contract_no"):
        if values.get(name):
            out[name] = values[name]
    if values.get("payment_frequency"):
        out["payment_frequency"] = values["payment_frequency"]
    if values.get("unit_price") is not None and values.get("monthly_rent_fen") is None:
        out["rent_basis"] = values.get("rent_basis") or "PER_M2_DAY"
        out["unit_price"] = str(values["unit_price"])
    elif values.get("monthly_rent_fen") is not None:
        out["monthly_rent_fen"] = int(values["monthly_rent_fen"])
    if values.get("area_m2") is not None:
        out["area_m2"] = str(values["area_m2"])
    if values.get("deposit_fen") is not None:
        out["deposit_fen"] = int(values["deposit_fen"])
    elif values.get("deposit_months") is not None:
        out["deposit_months"] = str(values["deposit_months"])
    free = values.get("free_period")
    if free:
        out["free_periods"] = [free]
    if values.get("escalation_percent") is not None:
        out["escalations"] = [{"kind": "PERCENT", "percent": str(values["escalation_percent"]),
                               "from_year": int(values.get("escalation_from_year") or 2)}]
    return out
