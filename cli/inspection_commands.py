"""``rentwatch labels``: printable QR sticker sheets (PDF) or one PNG per unit for a building."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from config.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    from inspections.labels import DEFAULT_LAYOUT, LAYOUTS

    p = sub.add_parser("labels", help="print QR sticker labels for a building (A4 PDF sheet or PNGs)")
    p.add_argument("--building", required=True, help="building id or code")
    p.add_argument("--out", required=True, type=Path, help="sheet.pdf, or a directory for one PNG per unit")
    p.add_argument("--layout", default=DEFAULT_LAYOUT, choices=sorted(LAYOUTS),
                   help="; ".join(f"{k}: {v.description}" for k, v in LAYOUTS.items()))
    p.add_argument("--units", default="", help="comma-separated unit codes (default: every unit of the building)")
    p.set_defaults(func=lambda s, a: asyncio.run(print_labels(s, a)))


async def collect_labels(settings: Settings, building_ref: str, unit_codes: list[str]):
    from inspections.labels import LabelData
    from inspections.qr import build_sticker_url
    from models.portfolio import Building, Unit

    building = await (Building.get_or_none(id=int(building_ref)) if building_ref.isdigit()
                      else Building.get_or_none(code=building_ref))
    if building is None:
        raise LookupError(f"building {building_ref} not found")
    qs = Unit.filter(building_id=building.id).order_by("code")
    if unit_codes:
        qs = qs.filter(code__in=unit_codes)
    units = await qs
    return building, [LabelData(u.code, u.name, building.name,
                                build_sticker_url(settings.qr_base_url, settings.qr_secret, u.code, u.qr_version))
                      for u in units]


async def print_labels(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from cli.progress import Progress
    from inspections.fonts import FontMissing, find_cjk_font
    from inspections.labels import LAYOUTS, label_png, sheet_pdf

    try:
        font = find_cjk_font(str(settings.label_font_path) if settings.label_font_path else None)
    except FontMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    codes = [c.strip() for c in args.units.split(",") if c.strip()]
    try:
        building, labels = await with_db(settings, lambda: collect_labels(settings, args.building, codes))
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not labels:
        print(f"error: building {building.code} has no matching units", file=sys.stderr)
        return 1
    progress = Progress(f"rendering {len(labels)} labels", total=len(labels))
    if args.out.suffix.lower() == ".pdf":
        data = await asyncio.to_thread(sheet_pdf, labels, LAYOUTS[args.layout], font, progress)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(data)
        per_page = LAYOUTS[args.layout].columns * LAYOUTS[args.layout].rows
        pages = -(-len(labels) // per_page)
        print(f"wrote {args.out}: {len(labels)} labels of {building.code} on {pages} A4 page(s), layout {args.layout}")
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        for i, label in enumerate(labels, start=1):
            (args.out / f"{label.unit_code}.png").write_bytes(label_png(label, font))
            progress(i)
        print(f"wrote {len(labels)} PNG labels to {args.out}")
    print(f"font: {font}", file=sys.stderr)
    return 0
