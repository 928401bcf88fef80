"""The OCR worker pool: a page over its time limit is recorded and the pool starts afresh; the workers load the
models with the network unreachable; the CLI reads a contract end to end."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw

from contracts.corpus import digital_pdf, make_spec, page_texts
from contracts.pool import OcrPool, PageTimeout
from inspections.fonts import cjk_font

ROOT = Path(__file__).resolve().parents[1]


def page_png(text: str = "月租金人民币12000元") -> bytes:
    img = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(img).text((40, 70), text, font=cjk_font(40), fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def test_a_page_over_its_time_limit_is_refused_and_the_pool_recovers():
    # a limit no page can meet (the worker alone takes longer to start), then a normal one on the same pool
    pool = OcrPool(workers=1, page_timeout=0.001)
    try:
        try:
            await pool.read_page(page_png())
            raise AssertionError("the page should have timed out")
        except PageTimeout:
            pass
        assert pool._executor is None  # the stuck workers were killed
        pool.page_timeout = 300
        page = await pool.read_page(page_png())
        assert "".join(line.text for line in page.lines) == "月租金人民币12000元"
    finally:
        pool.close()


#: Loaded in the test process and in every worker it spawns (PYTHONPATH): any internet connection or name
#: look-up raises, and proxies point at a dead port, so nothing can fetch a model.
OFFLINE = textwrap.dedent("""
    import socket, sys

    def _hook(event, args):
        if event == "socket.getaddrinfo":
            raise OSError("network unreachable (test): getaddrinfo")
        if event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6):
            raise OSError("network unreachable (test): connect")

    sys.addaudithook(_hook)

    def probe():
        with socket.socket() as sock:
            try:
                sock.connect(("127.0.0.1", 9))
            except OSError as exc:
                return str(exc)
        return "connected"
""")

SCRIPT = textwrap.dedent("""
    import asyncio, io
    import sitecustomize
    from PIL import Image, ImageDraw
    from inspections.fonts import cjk_font
    from contracts.pool import OcrPool

    async def main():
        pool = OcrPool(workers=1, page_timeout=300)
        try:
            executor, _ = pool._pool()
            print("worker:", executor.submit(sitecustomize.probe).result())
            img = Image.new("RGB", (900, 200), "white")
            ImageDraw.Draw(img).text((40, 70), "押一付三", font=cjk_font(40), fill="black")
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            page = await pool.read_page(buf.getvalue())
            print("read:", "".join(line.text for line in page.lines))
        finally:
            pool.close()

    print("parent:", sitecustomize.probe())
    asyncio.run(main())
""")


def test_the_pool_workers_load_the_models_with_the_network_unreachable(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(OFFLINE)
    dead = "http://127.0.0.1:9"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "HOME": str(tmp_path),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead,
           "http_proxy": dead, "https_proxy": dead, "NO_PROXY": ""}
    command = [sys.executable, "-c", SCRIPT]
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-rn", *command]  # and no network interfaces at all
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "parent: network unreachable (test): connect" in result.stdout
    assert "worker: network unreachable (test): connect" in result.stdout  # the hook is live in the worker too
    assert "read: 押一付三" in result.stdout


def test_cli_ingest_reads_a_contract_and_a_second_run_finds_it(tmp_path, premigrated):
    premigrated(tmp_path)
    spec = make_spec(9)
    path = tmp_path / "lease.pdf"
    path.write_bytes(digital_pdf(page_texts(spec)))
    env = {"RW_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    migrate = subprocess.run([sys.executable, "-m", "cli.main", "migrate"], capture_output=True, text=True,
                             timeout=300, env=env, cwd=ROOT)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    runs = [subprocess.run([sys.executable, "-m", "cli.main", "contracts", "ingest", str(path), "--json"],
                           capture_output=True, text=True, timeout=300, env=env, cwd=ROOT) for _ in range(2)]
    first, second = (json.loads(run.stdout) for run in runs)
    assert runs[0].returncode == 0, runs[0].stderr[-2000:]
    assert first["created"] and not second["created"] and first["document"]["id"] == second["document"]["id"]
    values = {f["name"]: f["value"] for f in first["draft"]["fields"]}
    assert {k: values[k] for k in spec.truth} == spec.truth
    assert (tmp_path / "media" / "photos" / "contracts" / "originals").is_dir()
    bad = subprocess.run([sys.executable, "-m", "cli.main", "contracts", "ingest", str(tmp_path / "nope.pdf")],
                         capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert bad.returncode == 2 and "cannot read" in bad.stderr
