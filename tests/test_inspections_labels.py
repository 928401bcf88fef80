"""Sticker labels: PNG per unit (API), A4 PDF sheets (CLI), CJK text, QR content, missing-font message."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
import qrcode
from PIL import Image

from config.settings import DEV_QR_SECRET
from inspections.fonts import FontMissing, find_cjk_font
from inspections.labels import LAYOUTS, LabelData, label_png, qr_image, render_label, sheet_pages, sheet_pdf
from inspections.qr import parse_sticker, verify_sticker

ROOT = Path(__file__).resolve().parents[1]
URL = "https://rw.example.cn/u/SZ-NS-A-1203?v=1&s=0123456789abcdef"


def read_modules(img: Image.Image, n: int) -> list[list[bool]]:
    """Sample the centre of every module of an n×n QR drawn centred in ``img``."""
    side = img.width
    module = side // n
    offset = (side - n * module) // 2
    px = img.load()
    assert px is not None
    half = module // 2
    return [[cast(int, px[offset + c * module + half, offset + r * module + half]) < 128 for c in range(n)]
            for r in range(n)]


def test_qr_image_encodes_exactly_the_url():
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=1)
    qr.add_data(URL)
    qr.make(fit=True)
    expected = qr.get_matrix()
    assert read_modules(qr_image(URL, 400), len(expected)) == expected


def test_cjk_text_really_renders():
    font = find_cjk_font()
    a = render_label(LabelData("SZ-1", "1203室", "南山A栋", URL), (900, 450), font)
    b = render_label(LabelData("SZ-1", "1203室", "北山A栋", URL), (900, 450), font)
    # Different Chinese characters draw different pixels (a font without them would draw identical boxes).
    assert a.tobytes() != b.tobytes()
    text_area = a.crop((470, 150, 900, 300))
    assert min(text_area.getdata()) < 50


def test_missing_font_fails_with_a_clear_message(tmp_path):
    bogus = tmp_path / "nofont.ttf"
    bogus.write_bytes(b"not a font")
    with pytest.raises(FontMissing) as exc:
        find_cjk_font(str(bogus))
    assert "Chinese glyphs" in str(exc.value)


def test_sheet_layouts_paginate():
    labels = [LabelData(f"SZ-NS-A-{i:04d}", f"{i}室", "南山A栋", URL) for i in range(25)]
    pages = sheet_pages(labels, LAYOUTS["a4-3x8"], find_cjk_font())
    assert len(pages) == 2 and pages[0].size == (2480, 3508)
    pdf = sheet_pdf(labels[:15], LAYOUTS["a4-2x7"], find_cjk_font())
    assert pdf.startswith(b"%PDF") and b"/Count 2" in pdf


def test_label_png_is_a_png():
    png = label_png(LabelData("SZ-1", "1室", "南山A栋", URL), find_cjk_font())
    assert Image.open(io.BytesIO(png)).format == "PNG"


async def test_label_endpoint(client, world):
    a = world.a
    _, resp = await client.get(f"/api/v1/units/{a.unit.code}/label", headers=world.auth(a.manager))
    assert resp.status == 200 and resp.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(resp.body))
    assert img.size == (900, 450)
    ref = parse_sticker(resp.headers["x-sticker-url"])
    verify_sticker(ref, DEV_QR_SECRET, 1)
    assert ref.unit_code == a.unit.code
    _, resp = await client.get(f"/api/v1/units/{a.unit.code}/label", headers=world.auth(a.inspector))
    assert resp.status == 403


async def test_label_endpoint_without_a_cjk_font_is_503(client, world, settings, tmp_path):
    settings.label_font_path = tmp_path / "missing.ttf"
    _, resp = await client.get(f"/api/v1/units/{world.a.unit.code}/label", headers=world.auth(world.a.manager))
    assert (resp.status, resp.json["error"]["code"]) == (503, "LABEL_FONT_MISSING")
    assert "Chinese glyphs" in resp.json["error"]["message"]


def run_cli(args, env):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, env=env,
                          cwd=str(ROOT), timeout=120)


def test_cli_labels_sheet_and_missing_font(tmp_path, premigrated):
    premigrated(tmp_path / "var")
    env = {**os.environ, "RW_VAR_DIR": str(tmp_path / "var"), "RW_LOG_LEVEL": "WARNING"}
    env.pop("RW_DATABASE_URL", None)
    rows = [{"city_code": "SZ", "city_name": "深圳", "building_code": "SZ-T", "building_name": "测试大厦",
             "lat": 22.5, "lng": 113.9, "unit_code": f"SZ-T-{i:03d}", "unit_name": f"{i}室",
             "property_type": "RESIDENTIAL", "area_m2": "30"} for i in range(30)]
    portfolio = tmp_path / "p.json"
    portfolio.write_text(json.dumps(rows, ensure_ascii=False))
    assert run_cli(["migrate"], env).returncode == 0
    done = run_cli(["import-portfolio", str(portfolio)], env)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "sheet.pdf"
    done = run_cli(["labels", "--building", "SZ-T", "--out", str(out)], env)
    assert done.returncode == 0, done.stderr
    assert "30 labels of SZ-T on 2 A4 page(s)" in done.stdout
    assert "30/30 (100%)" in done.stderr  # progress
    assert out.read_bytes().startswith(b"%PDF")
    done = run_cli(["labels", "--building", "SZ-T", "--out", str(out)],
                   {**env, "RW_LABEL_FONT_PATH": str(tmp_path / "missing.ttf")})
    assert done.returncode == 2 and "Chinese glyphs" in done.stderr
    done = run_cli(["labels", "--building", "NOPE", "--out", str(out)], env)
    assert done.returncode == 2 and "not found" in done.stderr
