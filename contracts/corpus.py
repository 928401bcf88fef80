"""Generated lease contracts with their ground truth, for the tests and the benchmark (deterministic by seed).

Several templates and phrasings (residential and commercial: shop, office, warehouse), values typed or filled in by
"hand" (per-character jitter of size, angle and baseline in blue ink), rendered on A4 at 150–300 dpi with the CJK
font the labels use (inspections.fonts), then degraded like a scan (slight rotation, blur, grain) or like a phone
photo (perspective, shadow, blur, JPEG noise, a desk around the sheet, optionally sideways or upside down).

    spec = make_spec(seed)                     # ContractSpec: the fields (ground truth) and its phrasing
    pages = render(spec, dpi=150)              # clean page images (PIL)
    photo = degrade(pages[0], "photo", seed)   # JPEG bytes
"""

from __future__ import annotations

import io
import random
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from dateutil.relativedelta import relativedelta
from PIL import Image, ImageDraw, ImageFilter

from contracts.numerals import to_cn_date, to_upper_amount
from inspections.fonts import cjk_font

A4_INCHES = (8.27, 11.69)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋",
         "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华", "平"]
COMPANIES = ["深圳市南山置业有限公司", "杭州滨江物业管理有限公司", "广州天河商业运营有限公司",
             "上海浦东资产管理有限公司", "北京朝阳房地产经纪有限公司", "成都锦江园区开发有限公司"]
TENANT_COMPANIES = ["深圳市蓝海贸易有限公司", "杭州云帆科技有限公司", "广州味道餐饮管理有限公司",
                    "上海启航物流有限公司", "苏州明德教育咨询有限公司", "武汉长江电子商务有限公司"]
STREETS = ["科技园南路", "滨江大道", "天河北路", "世纪大道", "建国路", "人民南路", "中山东路", "解放西路"]
CITIES = ["深圳市南山区", "杭州市滨江区", "广州市天河区", "上海市浦东新区", "北京市朝阳区", "成都市锦江区"]
FREQ_TEXT = {"MONTHLY": ["月付", "按月支付", "每月一付"], "BIMONTHLY": ["两月一付", "双月付"],
             "QUARTERLY": ["季付", "按季度", "押一付三"], "SEMIANNUAL": ["半年付", "半年一付"],
             "ANNUAL": ["年付", "一年一付"]}


@dataclass
class ContractSpec:
    seed: int
    kind: str  # RESIDENTIAL / SHOP / OFFICE / WAREHOUSE
    truth: dict[str, Any]
    paragraphs: list[list[tuple[str, bool]]]  # (text, is a filled-in value)
    handwritten: bool
    extra: dict[str, Any] = field(default_factory=dict)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 1, 2))))[:2]


def _date_text(rng: random.Random, value: date, style: int) -> str:
    if style == 0:
        return to_cn_date(value)
    if style == 1:
        return f"{value.year}.{value.month}.{value.day}"
    return f"{value.year}年{value.month}月{value.day}日"


def make_spec(seed: int, *, kind: str | None = None, handwritten: bool | None = None,
              frequency_text: str | None = None, upper_mismatch: bool = False) -> ContractSpec:
    """A contract's terms and wording. ``frequency_text`` forces the payment method's words (e.g. an unknown
    one); ``upper_mismatch`` writes a 大写 amount that disagrees with the digits (the truth keeps the digits)."""
    rng = random.Random(seed)
    kind = kind or rng.choice(["RESIDENTIAL", "RESIDENTIAL", "SHOP", "OFFICE", "WAREHOUSE"])
    handwritten = rng.random() < 0.4 if handwritten is None else handwritten
    residential = kind == "RESIDENTIAL"
    landlord = rng.choice(COMPANIES) if rng.random() < 0.7 else _person(rng)
    tenant = _person(rng) if residential else rng.choice(TENANT_COMPANIES)
    city = rng.choice(CITIES)
    address = f"{city}{rng.choice(STREETS)}{rng.randint(1, 399)}号{rng.choice('ABCDE')}栋{rng.randint(2, 32)}" \
              f"{rng.randint(1, 20):02d}室" if residential else \
              f"{city}{rng.choice(STREETS)}{rng.randint(1, 399)}号{rng.randint(1, 3)}层{rng.randint(101, 130)}号"
    area = Decimal(rng.randint(3000, 15000) if residential else rng.randint(5000, 90000)) / 100
    start = date(rng.randint(2024, 2027), rng.randint(1, 12), rng.choice([1, 1, 1, 15, 10]))
    years = rng.choice([1, 1, 2, 3]) if residential else rng.choice([2, 3, 5])
    end = start + relativedelta(years=years) - timedelta(days=1)
    date_style = rng.randint(0, 2)
    freq_code = rng.choice(list(FREQ_TEXT)) if not residential else rng.choice(["MONTHLY", "QUARTERLY", "QUARTERLY"])
    freq_words = frequency_text or rng.choice(FREQ_TEXT[freq_code])
    truth: dict[str, Any] = {
        "contract_no": f"{start.year}{rng.randint(1, 12):02d}{rng.randint(1, 999):03d}",
        "landlord": landlord, "tenant": tenant, "address": address, "area_m2": str(area.quantize(Decimal("0.01"))),
        "start_date": start.isoformat(), "end_date": end.isoformat(),
        "payment_frequency": None if frequency_text and frequency_text not in sum(FREQ_TEXT.values(), []) else
        next((code for code, words in FREQ_TEXT.items() if freq_words in words), freq_code),
    }
    per_m2 = kind in ("SHOP", "OFFICE") and rng.random() < 0.5
    if per_m2:
        price = Decimal(rng.randint(200, 1500)) / 100  # 元/㎡/天
        truth["unit_price"] = str(price)
        rent_line = [("租金标准为", False), (f"{price}", True), ("元/㎡/天,按建筑面积计算。", False)]
    else:
        rent = rng.randint(15, 400) * 10000 if residential else rng.randint(80, 3000) * 10000  # fen, whole 100 yuan
        truth["monthly_rent_fen"] = rent
        upper = to_upper_amount(rent + (100000 if upper_mismatch else 0))
        phr = rng.randint(0, 1)
        rent_line = [("月租金为人民币" if phr else "月租金:人民币", False), (f"{rent // 100:,}" if rng.random() < 0.5
                     else f"{rent // 100}", True), ("元(大写:", False), (upper, True), (")。", False)]
    deposit_months = rng.choice([1, 2, 3])
    deposit_kind = rng.random()
    if freq_words.startswith("押"):
        truth["deposit_months"] = None  # the ledger takes it from 押X付Y
        deposit_line = None
    elif deposit_kind < 0.7 and "monthly_rent_fen" in truth:
        deposit = truth["monthly_rent_fen"] * deposit_months
        truth["deposit_fen"] = deposit
        deposit_line = [(rng.choice(["押金", "租赁保证金"]) + ":人民币", False), (f"{deposit // 100}", True),
                        ("元,合同期满无违约的无息退还。", False)]
    else:
        deposit = rng.randint(2, 60) * 100000
        truth["deposit_fen"] = deposit
        deposit_line = [("保证金:人民币", False), (f"{deposit // 100}", True), ("元,于签约时一次付清。", False)]
    if truth.get("deposit_months", 0) is None:
        truth.pop("deposit_months")
    paragraphs: list[list[tuple[str, bool]]] = []
    title = "房屋租赁合同" if residential else rng.choice(["商铺租赁合同", "房屋租赁合同", "物业租赁合同"])
    paragraphs.append([(title, False)])
    paragraphs.append([("合同编号:", False), (truth["contract_no"], False)])
    lab = rng.randint(0, 2)
    paragraphs.append([(["出租方(甲方):", "甲方(出租方):", "出租人(甲方):"][lab], False), (landlord, True)])
    paragraphs.append([(["承租方(乙方):", "乙方(承租方):", "承租人(乙方):"][lab], False), (tenant, True)])
    paragraphs.append([("甲乙双方经友好协商,就房屋租赁事宜达成如下协议:", False)])
    addr_label = rng.choice(["第一条 房屋坐落:", "第一条 租赁物业地址:", "一、房屋地址:"])
    paragraphs.append([(addr_label, False), (address, True)])
    paragraphs.append([(rng.choice(["建筑面积:", "租赁面积:"]), False), (f"{area}", True), ("㎡。", False)])
    paragraphs.append([("第二条 租赁期限自", False), (_date_text(rng, start, date_style), True), ("起至", False),
                       (_date_text(rng, end, date_style), True), ("止。", False)])
    paragraphs.append([("第三条 ", False), *rent_line])
    paragraphs.append([("付款方式:", False), (freq_words, True), (",乙方应在每期开始前五日内支付租金。", False)])
    if deposit_line:
        paragraphs.append(deposit_line)
    if rng.random() < 0.6:
        months = rng.choice([1, 2, 3])
        free_end = start + relativedelta(months=months) - timedelta(days=1)
        truth["free_period"] = {"start": start.isoformat(), "end": free_end.isoformat()}
        if rng.random() < 0.5:
            paragraphs.append([("免租期:自", False), (_date_text(rng, start, date_style), True), ("至", False),
                               (_date_text(rng, free_end, date_style), True), ("。", False)])
        else:
            paragraphs.append([("免租期为", False), (f"{months}", True), ("个月,自起租日起计。", False)])
    if not residential or rng.random() < 0.3:
        pct = rng.choice(["3", "5", "6", "8", "4.5"])
        truth["escalation_percent"] = pct
        paragraphs.append([("租金自第二年起每年递增", False), (pct, True), ("%。", False)])
    notice = rng.choice([30, 60, 90])
    truth["renewal_notice_days"] = notice
    paragraphs.append([("第四条 乙方如需续租,应于租赁期满前提前", False), (str(notice), True),
                       ("日书面通知甲方。", False)])
    bp = rng.choice([3, 5, 10])
    truth["late_fee_bp_per_day"] = bp
    paragraphs.append([("第五条 乙方逾期支付租金的,每日按欠付金额的万分之", False), (str(bp), True),
                       ("支付违约金。", False)])
    paragraphs.append([("第六条 本合同一式两份,甲乙双方各执一份,自双方签字盖章之日起生效。", False)])
    paragraphs.append([("甲方(签章):", False), ("", False)])
    paragraphs.append([("乙方(签章):", False), ("", False)])
    return ContractSpec(seed=seed, kind=kind, truth=truth, paragraphs=paragraphs, handwritten=handwritten)


# --------------------------------------------------------------------------------------------- rendering


def render(spec: ContractSpec, *, dpi: int = 150, pages: int = 1) -> list[Image.Image]:
    """Clean page images. ``pages`` > 1 splits the clauses over several pages (the terms stay where they are)."""
    rng = random.Random(spec.seed * 7919 + dpi)
    width, height = int(A4_INCHES[0] * dpi), int(A4_INCHES[1] * dpi)
    size = int(dpi * 13 / 72)  # 13 pt
    margin = int(dpi * 0.9)
    font = cjk_font(size)
    title_font = cjk_font(int(size * 1.5))
    per_page = -(-len(spec.paragraphs) // pages)
    out = []
    for p in range(pages):
        img = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(img)
        y = margin
        for i, para in enumerate(spec.paragraphs[p * per_page:(p + 1) * per_page]):
            is_title = p == 0 and i == 0
            f = title_font if is_title else font
            if is_title:
                text = para[0][0]
                draw.text(((width - f.getlength(text)) / 2, y), text, font=f, fill="black")
                y += int(size * 2.6)
                continue
            x = margin
            for text, filled in para:
                hand = filled and spec.handwritten
                for ch in text:
                    advance = f.getlength(ch) * (1.08 if hand else 1.0)
                    if x + advance > width - margin:
                        x, y = margin + size * 2, y + int(size * 1.8)
                    if hand:
                        _hand_char(img, ch, x, y, size, rng)
                    else:
                        draw.text((x, y), ch, font=f, fill=(20, 20, 20))
                    x += advance
                if filled and not spec.handwritten and text:  # typed into a blank: underline it
                    draw.line((x - f.getlength(text), y + size * 1.2, x, y + size * 1.2), fill=(60, 60, 60), width=1)
            y += int(size * 2.0)
        draw.text((width / 2 - size, height - margin / 1.5), f"第{p + 1}页 共{pages}页", font=cjk_font(int(size * .8)),
                  fill="gray")
        out.append(img)
    return out


def _hand_char(img: Image.Image, ch: str, x: float, y: float, size: int, rng: random.Random) -> None:
    """One character as if written with a ballpoint: size, angle and baseline jitter, blue ink, slightly bolder."""
    s = int(size * rng.uniform(1.0, 1.18))
    glyph = Image.new("L", (s * 2, s * 2), 0)
    ImageDraw.Draw(glyph).text((s // 2, s // 3), ch, font=cjk_font(s), fill=255, stroke_width=max(0, s // 28))
    glyph = glyph.rotate(rng.uniform(-7, 7), resample=Image.Resampling.BICUBIC)
    ink = Image.new("RGB", glyph.size, (rng.randint(10, 40), rng.randint(30, 60), rng.randint(120, 170)))
    img.paste(ink, (int(x - s // 2), int(y - s // 3 + rng.uniform(-s * 0.12, s * 0.12))), glyph)


# --------------------------------------------------------------------------------------------- degradation


def _perspective_coeffs(src, dst):
    """Coefficients for PIL's PERSPECTIVE transform mapping output points ``dst`` to input points ``src``."""
    matrix = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(matrix, dtype=float)
    b = np.array([c for pt in src for c in pt], dtype=float)
    return np.linalg.solve(a, b).tolist()


def degrade(page: Image.Image, mode: str, seed: int, *, turn: int = 0) -> bytes:
    """``scan``: slight rotation, blur, grain, JPEG 85. ``photo``: on a desk, perspective, shadow, blur, JPEG
    40–70. ``turn`` (0/90/180/270) rotates the result as a phone held sideways or upside down would."""
    rng = random.Random(seed * 104729 + zlib.crc32(mode.encode()) % 1000)  # str hash() varies per process
    noise = np.random.default_rng(seed)
    img = page.convert("RGB")
    if mode == "clean":
        out = img
        quality = 95
    elif mode == "scan":
        out = img.rotate(rng.uniform(-1.2, 1.2), expand=False, resample=Image.Resampling.BICUBIC, fillcolor="white")
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7)))
        arr = np.asarray(out, dtype=np.int16) + noise.normal(0, 6, (out.height, out.width, 1)).astype(np.int16)
        out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        quality = 85
    elif mode == "photo":
        w, h = img.size
        pad = int(w * 0.08)
        desk = Image.new("RGB", (w + 2 * pad, h + 2 * pad), (rng.randint(90, 140), rng.randint(70, 110), 60))
        desk.paste(img.rotate(rng.uniform(-3, 3), expand=False, fillcolor="white"), (pad, pad))
        dw, dh = desk.size
        j = lambda: rng.uniform(0, 0.05)  # noqa: E731
        dst = [(0, 0), (dw, 0), (dw, dh), (0, dh)]
        src = [(dw * j(), dh * j()), (dw * (1 - j()), dh * j()), (dw * (1 - j()), dh * (1 - j())),
               (dw * j(), dh * (1 - j()))]
        out = desk.transform(desk.size, Image.Transform.PERSPECTIVE, _perspective_coeffs(src, dst),
                             resample=Image.Resampling.BICUBIC)
        # uneven light: a soft gradient from one corner
        gx = np.linspace(rng.uniform(0.75, 0.9), 1.0, dw)[None, :]
        gy = np.linspace(1.0, rng.uniform(0.8, 0.95), dh)[:, None]
        lit = np.asarray(out, dtype=np.float32) * (gx * gy)[:, :, None]
        lit += noise.normal(0, 8, (dh, dw, 1))
        out = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(rng.uniform(0.5, 1.1)))
        quality = rng.randint(40, 70)
    else:
        raise ValueError(f"unknown degradation {mode!r}")
    if turn:
        out = out.rotate(turn, expand=True)
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def scanned_pdf(images: list[bytes], dpi: int) -> bytes:
    """The pages as an image-only PDF (what a scanner writes)."""
    pages = [Image.open(io.BytesIO(data)).convert("RGB") for data in images]
    buf = io.BytesIO()
    pages[0].save(buf, format="PDF", save_all=True, append_images=pages[1:], resolution=float(dpi))
    return buf.getvalue()


def page_texts(spec: ContractSpec, pages: int = 1) -> list[list[str]]:
    """The text of each page, one paragraph a line (for a digital PDF's text layer)."""
    per_page = -(-len(spec.paragraphs) // pages)
    return [["".join(text for text, _ in para) for para in spec.paragraphs[p * per_page:(p + 1) * per_page]]
            for p in range(pages)]


def digital_pdf(pages: list[list[str]], *, font_size: float = 11.0) -> bytes:
    """A PDF with a real text layer (what a word processor exports): one line of text per paragraph, in the
    labels' CJK font embedded, on A4 — for the text-layer path (no OCR)."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    with open(cjk_font(12).path, "rb") as fh:
        font_data = fh.read()
    pdf = pdfium.PdfDocument.new()
    buffer = (ctypes.c_uint8 * len(font_data)).from_buffer_copy(font_data)
    font = pdfium_c.FPDFText_LoadFont(pdf, buffer, len(font_data), pdfium_c.FPDF_FONT_TRUETYPE, True)
    width, height = A4_INCHES[0] * 72, A4_INCHES[1] * 72
    for lines in pages:
        page = pdf.new_page(width, height)
        for i, line in enumerate(lines):
            obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf, font, font_size)
            text = ctypes.create_string_buffer((line + "\0").encode("utf-16-le"))
            pdfium_c.FPDFText_SetText(obj, ctypes.cast(text, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
            pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 60, height - 70 - i * font_size * 2.2)
            pdfium_c.FPDFPage_InsertObject(page, obj)
        page.gen_content()
        page.close()
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    return out.getvalue()
