"""The printable 资产状态一致性审计报告: A4 pages drawn with Pillow in the CJK font the labels use
(inspections/fonts.py: WenQuanYi / Noto CJK, or RW_LABEL_FONT_PATH) and saved as a multi-page PDF, like the
sticker sheets — no PDF library with its own font handling needed."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw

from inspections.fonts import cjk_font

DPI = 150
PAGE = (1240, 1754)  # A4 at 150 dpi
MARGIN = 90
LINE = 34


class _Pages:
    def __init__(self, font_path=None):
        self.font_path = font_path
        self.pages: list[Image.Image] = []
        self.y = PAGE[1]
        self.draw: ImageDraw.ImageDraw | None = None

    def font(self, size: int):
        return cjk_font(size, self.font_path)

    def need(self, height: int) -> ImageDraw.ImageDraw:
        if self.draw is None or self.y + height > PAGE[1] - MARGIN:
            page = Image.new("L", PAGE, 255)
            self.pages.append(page)
            self.draw = ImageDraw.Draw(page)
            self.y = MARGIN
            self.draw.text((PAGE[0] - MARGIN, PAGE[1] - MARGIN // 2), f"第 {len(self.pages)} 页", fill=90,
                           font=self.font(18), anchor="rs")
        return self.draw

    def text(self, value: str, size: int = 22, gap: int = 10) -> None:
        draw = self.need(size + gap)
        draw.text((MARGIN, self.y), value, fill=0, font=self.font(size))
        self.y += size + gap

    def row(self, cells: Sequence[Any], widths: Sequence[int], *, bold: bool = False) -> None:
        draw = self.need(LINE)
        font = self.font(20)
        x = MARGIN
        for cell, width in zip(cells, widths, strict=True):
            draw.text((x, self.y), _fit(draw, "" if cell is None else str(cell), font, width - 12), fill=0,
                      font=font, stroke_width=1 if bold else 0, stroke_fill=0)
            x += width
        self.y += LINE
        if bold:
            draw.line((MARGIN, self.y - 6, PAGE[0] - MARGIN, self.y - 6), fill=120, width=1)

    def space(self, n: int = 16) -> None:
        self.y += n


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def render_pdf(view: dict[str, Any], font_path=None) -> bytes:
    pages = _Pages(font_path)
    pages.text(f"资产状态一致性审计报告  {view['month']}", size=40, gap=24)
    pages.text(f"对比日 {view['as_of']}  {view['as_of_note']}  生成于 {view['generated_at'][:19]}", size=20)
    pages.text(f"房源 {view['units']} 套,存在差异 {view['units_with_differences']} 套,差异率 {view['rate']}", size=24,
               gap=24)
    previous = (view.get("previous") or {}).get("kinds", {})
    change = view.get("change") or {}
    widths: tuple[int, ...] = (260, 80, 100, 80, 80, 460)
    pages.row(["差异类型", "数量", "差异率", "上月", "变化", "指向流程环节"], widths, bold=True)
    for code, kind in view["kinds"].items():
        pages.row([kind["label"], kind["count"], kind["rate"], previous.get(code, "—"), change.get(code, "—"),
                   kind["process_step"]], widths)
    pages.space(24)
    for title, rows in (("按楼宇", view["buildings"]), ("按城市", view["cities"])):
        pages.text(title, size=26)
        widths = (420, 160, 200, 280)
        pages.row(["名称", "房源数", "存在差异", "差异率"], widths, bold=True)
        for row in rows:
            pages.row([row["name"], row["units"], row["units_with_differences"], row["rate"]], widths)
        pages.space(24)
    pages.text("差异房源与建议处理", size=26)
    widths = (190, 170, 230, 130, 70, 270)
    pages.row(["房源编号", "楼宇", "差异类型", "起始", "天数", "建议处理"], widths, bold=True)
    for finding in view["findings"]:
        pages.row([finding["unit_code"], finding["building"], finding["label"], finding["since"] or "",
                   finding["days"], finding["action"]], widths)
    buffer = io.BytesIO()
    pages.pages[0].save(buffer, "PDF", resolution=DPI, save_all=True, append_images=pages.pages[1:])
    return buffer.getvalue()
