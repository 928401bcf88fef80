"""OCR offline: the models ship in the wheel and load with the network unreachable; pages read upright whatever
way they were photographed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from contracts.ocr import model_paths, read_image
from inspections.fonts import cjk_font

ROOT = Path(__file__).resolve().parents[1]

BLOCK_NETWORK = textwrap.dedent("""
    import socket
    class _NoNetwork(socket.socket):
        def __init__(self, family=-1, *args, **kwargs):
            if family in (socket.AF_INET, socket.AF_INET6):
                raise OSError("network unreachable (test)")
            super().__init__(family, *args, **kwargs)
    def _refuse(*args, **kwargs):
        raise OSError("network unreachable (test)")
    socket.socket = _NoNetwork
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse
""")

OFFLINE_SCRIPT = textwrap.dedent("""
    import socket, sys
    try:
        socket.create_connection(("pypi.org", 443), timeout=2)
        sys.exit("the network is reachable: the test would prove nothing")
    except OSError:
        pass
    from PIL import Image, ImageDraw
    from inspections.fonts import cjk_font
    from contracts.ocr import read_image
    img = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(img).text((40, 70), "月租金人民币12000元", font=cjk_font(40), fill="black")
    page = read_image(img, keep_image=False)
    print("|".join(line.text for line in page.lines))
""")


def test_models_ship_in_the_wheel():
    names = {Path(p).name for p in model_paths()}
    assert any("det" in n for n in names) and any("rec" in n for n in names) and any("cls" in n for n in names)
    assert all(Path(p).stat().st_size > 100_000 for p in model_paths())


def test_models_load_and_read_with_the_network_unreachable(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCK_NETWORK)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "HOME": str(tmp_path),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-c", OFFLINE_SCRIPT]
    # a private network namespace (no interfaces at all) when the kernel lets us make one
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-rn", *command]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "月租金人民币12000元" in result.stdout


def _page(lines: list[str]) -> Image.Image:
    img = Image.new("RGB", (1240, 900), "white")
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        draw.text((100, 120 + i * 80), text, font=cjk_font(34), fill="black")
    return img


LINES = ["房屋租赁合同", "承租方(乙方):张三", "月租金人民币12000元"]


@pytest.mark.parametrize(("turn", "expected_rotation"), [(0, 0), (90, 270), (180, 180), (270, 90)])
def test_a_sideways_or_upside_down_page_reads_in_order(turn, expected_rotation):
    page = read_image(_page(LINES).rotate(turn, expand=True), keep_image=True)
    assert page.rotation == expected_rotation
    texts = [line.text.replace("：", ":").replace("（", "(").replace("）", ")") for line in page.lines]
    assert texts == LINES
    # boxes are on the upright image: the first line is above the last
    assert page.lines[0].box[1] < page.lines[-1].box[1]
    assert (page.width, page.height) == (1240, 900)
    # every character has its own score; the line's is their mean
    for line in page.lines:
        assert len(line.chars) == len(line.text) and all(0.0 < c <= 1.0 for c in line.chars)
        assert abs(sum(line.chars) / len(line.chars) - line.score) < 1e-6
    assert page.to_json()["lines"][0]["chars"] == [round(c, 3) for c in page.lines[0].chars]


def test_a_skewed_page_is_levelled():
    page = read_image(_page(LINES).rotate(4, expand=True, fillcolor="white"), keep_image=False)
    assert -5.0 < page.skew < -3.0  # turned 4° counter-clockwise, levelled by turning it back
    assert [line.text for line in page.lines][0] == "房屋租赁合同"
