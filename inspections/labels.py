"""Sticker labels: a PNG per unit and printable A4 sheets (multi-page PDF) for common label layouts.

Each label shows the QR (the signed sticker URL), the unit code, and the building and unit names in Chinese.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import qrcode
from PIL import Image, ImageDraw, ImageFont

from inspections.fonts import cjk_font

DPI = 300
A4_PX = (2480, 3508)  # 210 × 297 mm at 300 dpi
MM = DPI / 25.4


@dataclass(frozen=True)
class SheetLayout:
    name: str
    columns: int
    rows: int
    label_mm: tuple[float, float]
    margin_mm: tuple[float, float]  # left, top
    gap_mm: tuple[float, float] = (0.0, 0.0)
    description: str = ""


LAYOUTS = {
    layout.name: layout for layout in (
        SheetLayout("a4-3x8", 3, 8, (70, 37), (0, 0.5), description="24 per sheet, 70×37 mm (Avery 3474 style)"),
        SheetLayout("a4-2x7", 2, 7, (99.1, 38.1), (4.65, 15.15), (2.5, 0), "14 per sheet, 99×38 mm (L7163 style)"),
        SheetLayout("a4-2x4", 2, 4, (99.1, 67.7), (4.65, 13.0), (2.5, 0), "8 per sheet, 99×68 mm (L7165 style)"),
    )
}
DEFAULT_LAYOUT = "a4-3x8"


@dataclass(frozen=True)
class LabelData:
    unit_code: str
    unit_name: str
    building_name: str
    url: str


def qr_image(url: str, box_px: int) -> Image.Image:
    """The QR at a whole number of pixels per module (scanners dislike uneven modules), centred in the box."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=1)
    qr.add_data(url)
    qr.make(fit=True)
    matrix = qr.get_matrix()  # includes the quiet-zone border
    n = len(matrix)
    module = max(1, box_px // n)
    small = Image.new("L", (n, n), 255)
    small.putdata([0 if cell else 255 for row in matrix for cell in row])
    img = small.resize((n * module, n * module), Image.Resampling.NEAREST)
    out = Image.new("L", (box_px, box_px), 255)
    offset = (box_px - n * module) // 2
    out.paste(img, (offset, offset))
    return out


def _fit(draw: ImageDraw.ImageDraw, text: str, max_w: int, size: int, font_path) -> ImageFont.BaseImageFont:
    while size > 8:
        font = cjk_font(size, font_path)
        if draw.textlength(text, font=font) <= max_w:
            return font
        size -= 2
    return cjk_font(8, font_path)


def render_label(data: LabelData, size_px: tuple[int, int], font_path=None) -> Image.Image:
    w, h = size_px
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    pad = max(4, h // 14)
    qr_side = h - 2 * pad
    img.paste(qr_image(data.url, qr_side), (pad, pad))
    x = pad * 2 + qr_side
    text_w = w - x - pad
    lines = [(data.unit_code, 0.24), (data.building_name, 0.17), (data.unit_name, 0.17)]
    y = pad
    for text, share in lines:
        font = _fit(draw, text, text_w, int(h * share), font_path)
        draw.text((x, y), text, font=font, fill=0)
        y += int(h * share * 1.35)
    hint = _fit(draw, "扫码巡检 · rentwatch", text_w, int(h * 0.09), font_path)
    draw.text((x, h - pad - int(h * 0.1)), "扫码巡检 · rentwatch", font=hint, fill=90)
    return img


def label_png(data: LabelData, font_path=None, size_px: tuple[int, int] = (900, 450)) -> bytes:
    buf = io.BytesIO()
    render_label(data, size_px, font_path).save(buf, "PNG", dpi=(DPI, DPI))
    return buf.getvalue()


def sheet_pages(labels: Iterable[LabelData], layout: SheetLayout, font_path=None,
                progress: Callable[[int], None] | None = None) -> list[Image.Image]:
    per_page = layout.columns * layout.rows
    lw, lh = round(layout.label_mm[0] * MM), round(layout.label_mm[1] * MM)
    pages: list[Image.Image] = []
    page: Image.Image  # a new one at the first label of every page
    for i, data in enumerate(labels):
        slot = i % per_page
        if slot == 0:
            page = Image.new("L", A4_PX, 255)
            pages.append(page)
        col, row = slot % layout.columns, slot // layout.columns
        x = round((layout.margin_mm[0] + col * (layout.label_mm[0] + layout.gap_mm[0])) * MM)
        y = round((layout.margin_mm[1] + row * (layout.label_mm[1] + layout.gap_mm[1])) * MM)
        page.paste(render_label(data, (lw, lh), font_path), (x, y))
        if progress:
            progress(i + 1)
    return pages


def sheet_pdf(labels: Iterable[LabelData], layout: SheetLayout, font_path=None,
              progress: Callable[[int], None] | None = None) -> bytes:
    pages = sheet_pages(labels, layout, font_path, progress)
    if not pages:
        raise ValueError("no labels to print")
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    return buf.getvalue()
