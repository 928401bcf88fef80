"""Stickers print on a fresh machine: the CJK font comes with the project's pinned dependencies, not from the
system (which only `make test` used to install); the sticker URL is also a JSON route."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from config.settings import DEV_QR_SECRET
from inspections.fonts import find_cjk_font, packaged_font
from inspections.labels import LabelData, label_png
from inspections.qr import parse_sticker, verify_sticker

ROOT = Path(__file__).resolve().parent.parent


def test_the_dependency_ships_a_cjk_font_and_it_is_preferred():
    path = packaged_font()
    assert path is not None and Path(path).stat().st_size > 1_000_000
    # no system font at all: the packaged one is found and really draws Chinese
    found = find_cjk_font(system_fonts=())
    assert found == path and find_cjk_font() == path
    a = label_png(LabelData("SZ-1", "1203室", "南山A栋", "https://rw.example.cn/q/x"), found)
    b = label_png(LabelData("SZ-1", "1203室", "北山A栋", "https://rw.example.cn/q/x"), found)
    assert Image.open(io.BytesIO(a)).format == "PNG" and a != b


def test_without_the_dependency_and_a_system_font_the_message_says_what_to_do():
    import pytest

    from inspections.fonts import FontMissing

    with pytest.raises(FontMissing, match="dependencies"):
        find_cjk_font(system_fonts=(), use_packaged=False)


def test_a_sheet_prints_with_no_system_font_candidates(tmp_path, premigrated):
    """What `make run` then `rentwatch labels` does, in a process whose system font search finds nothing."""
    premigrated(tmp_path / "var")
    env = {**os.environ, "RW_VAR_DIR": str(tmp_path / "var"), "RW_LOG_LEVEL": "WARNING"}
    env.pop("RW_DATABASE_URL", None)
    env.pop("RW_LABEL_FONT_PATH", None)
    rows = [{"city_code": "SZ", "city_name": "深圳", "building_code": "SZ-T", "building_name": "测试大厦",
             "lat": 22.5, "lng": 113.9, "unit_code": f"SZ-T-{i:03d}", "unit_name": f"{i}室",
             "property_type": "RESIDENTIAL", "area_m2": "30"} for i in range(3)]
    portfolio = tmp_path / "p.json"
    portfolio.write_text(json.dumps(rows, ensure_ascii=False))
    out = tmp_path / "sheet.pdf"
    script = ("import sys, inspections.fonts as f; f.CANDIDATES = (); f.find_cjk_font.cache_clear(); "
              "f.find_cjk_font.__wrapped__.__kwdefaults__['system_fonts'] = (); "
              "from cli.main import main; sys.argv = ['rentwatch'] + sys.argv[1:]; main()")
    for args in (["migrate"], ["import-portfolio", str(portfolio)],
                 ["labels", "--building", "SZ-T", "--out", str(out)]):
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env,
                              cwd=str(ROOT), timeout=120)
        assert done.returncode == 0, (args, done.stderr[-2000:])
    assert out.read_bytes().startswith(b"%PDF")


async def test_sticker_json_route(client, world):
    a = world.a
    _, resp = await client.get(f"/api/v1/units/{a.unit.code}/sticker", headers=world.auth(a.manager))
    assert resp.status == 200, resp.text
    body = resp.json
    assert body["unit_code"] == a.unit.code and body["qr_version"] == a.unit.qr_version
    ref = parse_sticker(body["url"])
    verify_sticker(ref, DEV_QR_SECRET, a.unit.qr_version)
    assert body["label_url"] == f"/api/v1/units/{a.unit.code}/label"
    _, label = await client.get(body["label_url"], headers=world.auth(a.manager))
    assert label.status == 200 and label.headers["x-sticker-url"] == body["url"]
    _, resp = await client.get(f"/api/v1/units/{a.unit.code}/sticker", headers=world.auth(a.inspector))
    assert resp.status == 403
    _, resp = await client.get(f"/api/v1/units/{world.b.unit.code}/sticker", headers=world.auth(a.manager))
    assert resp.status in (403, 404)
