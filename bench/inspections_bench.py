"""Field-inspection benchmark (issue 3), on PostgreSQL, loopback only, a minute or so.

1. Scan resolution throughput: POST /api/v1/scan on one Sanic worker (real app, real PostgreSQL, real JWT)
   versus a bare Sanic JSON handler, both measured here in the same run with the same load generator, for
   UNITS units scanned round-robin. Measured three times: with the worker's caches (docs/caches.md: principal
   and unit card served from memory once a unit was scanned, dropped on any change); with the card cache off
   (RW_CACHE_CARD_TTL_SECONDS=0: the caller is known but every card is built from the database -- a field
   scan, which is usually the first scan of that sticker in a while, costs this); and with both caches off
   (RW_CACHE_ENABLED=0).
   Then the same scans against ``rentwatch serve``'s multi-process server (cli.server) with RW_WORKERS=1 and
   RW_WORKERS=2, caches on and card cache off: the change log (core.changes) keeps each worker's caches coherent.
2. A 200-item offline sync batch (POST /api/v1/sync): median wall time over several fresh batches; then the same
   batches applied in this process (``apply_batch``) with photo-less reports stored together (the default) and
   with one transaction per report (the path before), alternating, and their ratio.
3. Uploading a 10 MB photo (POST /api/v1/photos): the worker's peak RSS increase (VmHWM after resetting it) over
   its RSS when idle just before (the upload is streamed to disk; the path that held the body is gone).

Run: ``python bench/inspections_bench.py [scan] [sync] [photo]`` (default: all three; PostgreSQL at
127.0.0.1:5432 with trust auth; override with RW_BENCH_PG_URL=postgres://user@host:port). It creates and drops its
own database ``rwbench_inspections``.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_BASE = os.environ.get("RW_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("RW_BENCH_DB", "rwbench_inspections")
JWT_SECRET = "bench-jwt-secret-0123456789abcdef"
DURATION_S = float(os.environ.get("RW_BENCH_SECONDS", "6"))
CONNECTIONS = 32
UNITS = 200
SYNC_RUNS = 15  # the machine is shared: a median over more batches is steadier

BARE_APP = """
import sys
from sanic import Sanic
from sanic.response import json
app = Sanic("bare")
@app.post("/scan")
async def scan(request):
    return json({"ok": True, "unit": {"code": "X", "status": "VACANT"}})
app.run(host="127.0.0.1", port=int(sys.argv[1]), single_process=True, access_log=False, motd=False)
"""

REAL_APP = """
import logging, sys
from api.app import create_app
from config.settings import load_settings
logging.basicConfig(level=logging.WARNING)
app = create_app(load_settings(), name="rentwatchbench")
app.run(host="127.0.0.1", port=int(sys.argv[1]), single_process=True, access_log=False, motd=False)
"""

SERVED_APP = """
import os, sys
os.environ["RW_PORT"] = sys.argv[1]
from cli.server import run_server
run_server(with_background=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


# --------------------------------------------------------------------------- a small keep-alive load generator

async def http_call(reader, writer, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


def request_bytes(path: str, body: bytes, token: str | None = None, method: str = "POST") -> bytes:
    headers = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    if body:
        headers += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def one_request(port: int, raw_request: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await http_call(reader, writer, raw_request)
    finally:
        writer.close()


async def load(port: int, requests: list[bytes], seconds: float) -> tuple[float, int]:
    """Requests per second over ``seconds`` with CONNECTIONS keep-alive connections; returns (rps, errors)."""
    counts, errors = [0], [0]
    stop_at = time.monotonic() + seconds

    async def worker(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = i
        while time.monotonic() < stop_at:
            status = await asyncio.wait_for(http_call(reader, writer, requests[n % len(requests)]), 30)
            n += CONNECTIONS
            counts[0] += 1
            if status != 200:
                errors[0] += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*[worker(i) for i in range(CONNECTIONS)])
    return counts[0] / (time.monotonic() - started), errors[0]


# --------------------------------------------------------------------------- database and seed

async def prepare_database() -> str:
    import asyncpg

    admin = await asyncpg.connect(PG_BASE.replace("postgres://", "postgresql://") + "/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    await admin.close()
    return f"{PG_BASE}/{DB_NAME}"


async def drop_database() -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_BASE.replace("postgres://", "postgresql://") + "/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    await admin.close()


async def seed(db_url: str) -> dict:
    from tortoise import Tortoise

    from accounts.choices import Role, StaffDuty
    from accounts.tokens import issue_token
    from api.access import ACCESS_TOKEN
    from core.changes import install_change_triggers
    from iot.daily_facts import install_triggers
    from leasing.choices import PaymentFrequency
    from leasing.service import create_lease, sign_lease
    from models.accounts import User
    from models.portfolio import Building, BuildingStaff, City, Unit
    from tortoise_config import tortoise_config

    await Tortoise.init(config=tortoise_config(db_url))
    await Tortoise.generate_schemas()
    await install_change_triggers()  # as migration 0002 does
    await install_triggers()  # as migration 0021: roll-up changes recorded for the daily facts
    now = datetime.now(UTC)
    city = await City.create(code="SZ", name="深圳")
    building = await Building.create(city=city, code="SZ-BENCH", name="基准大厦", lat=22.5329, lng=113.9305,
                                     geofence_radius_m=150)
    await Unit.bulk_create([Unit(building=building, code=f"SZ-BENCH-{i:04d}", name=f"{i}室",
                                 property_type="RESIDENTIAL", unit_type="1b1b", area_m2=Decimal("40"), floor=i // 20)
                            for i in range(UNITS)])
    manager = await User.create(name="经理", role=Role.MANAGER)
    inspector = await User.create(name="巡检", role=Role.INSPECTOR)
    for user, duty in ((manager, StaffDuty.MANAGER), (inspector, StaffDuty.INSPECTOR)):
        await BuildingStaff.create(building=building, user=user, duty=duty)
    units = await Unit.filter(building=building).order_by("code")
    for unit in units[::4]:  # a quarter are leased (a lease and a cleaning work order on the card)
        lease = await create_lease(unit=unit, tenant_name="租户", tenant_phone="", start_date=now.date(),
                                   end_date=now.date() + timedelta(days=365), monthly_rent_fen=300000,
                                   deposit_fen=600000, payment_frequency=PaymentFrequency.MONTHLY)
        await sign_lease(lease.id, now=now, actor_id=manager.id)
    codes = [u.code for u in await Unit.filter(building=building).order_by("code")]
    versions = dict(await Unit.filter(building=building).values_list("code", "status_version"))
    statuses = dict(await Unit.filter(building=building).values_list("code", "status"))
    tokens = {name: issue_token(secret=JWT_SECRET, subject=str(u.id), kind=ACCESS_TOKEN, now=now, ttl_seconds=3600,
                                extra={"ver": 0}) for name, u in (("inspector", inspector), ("manager", manager))}
    await Tortoise.close_connections()
    return {"codes": codes, "versions": versions, "statuses": statuses, "tokens": tokens,
            "centre": (building.lat, building.lng)}


# --------------------------------------------------------------------------- helpers

def server_env(db_url: str, var_dir: str) -> dict:
    return {**os.environ, "RW_DATABASE_URL": db_url, "RW_VAR_DIR": var_dir, "RW_JWT_SECRET": JWT_SECRET,
            "RW_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}


def start(code: str, port: int, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, str(port)], cwd=str(ROOT), env=env or os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def ten_mb_jpeg() -> bytes:
    from PIL import Image

    def make(w: int, h: int) -> bytes:
        noise = Image.effect_noise((w, h), 60)
        img = Image.merge("RGB", (noise, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                                  noise.transpose(Image.Transpose.FLIP_TOP_BOTTOM)))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=96)
        return buf.getvalue()

    target = 9.8 * 1024 * 1024
    w, h = 3000, 2500
    data = make(w, h)
    scale = (target / len(data)) ** 0.5
    data = make(int(w * scale), int(h * scale))
    while len(data) > 10 * 1024 * 1024:
        scale *= 0.98
        data = make(int(w * scale), int(h * scale))
    return data


def multipart(fields: dict, file_bytes: bytes, boundary: str = "rwbenchboundary") -> tuple[bytes, str]:
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + file_bytes + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def post_once(port: int, path: str, body: bytes, token: str, content_type: str = "application/json"):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").encode()
    writer.write(head + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


def sync_batch(data: dict, offset_min: int) -> bytes:
    lat, lng = data["centre"]
    now = datetime.now(UTC)
    items = []
    for i, code in enumerate(data["codes"]):
        at = now - timedelta(minutes=offset_min, seconds=(len(data["codes"]) - i) * 5)
        item = {"client_id": str(uuid.uuid4()), "qr": data["qr"][code], "category": "ROUTINE",
                "location": {"lat": lat, "lng": lng, "accuracy_m": 12, "coord_system": "wgs84",
                             "captured_at": at.isoformat()}}
        if i % 5 == 0 and data["statuses"][code] == "VACANT":
            item.update(requested_status="OFF_MARKET", base_status_version=data["versions"][code])
        else:
            item["no_change"] = True
        items.append(item)
    return json.dumps({"items": items}).encode()


# --------------------------------------------------------------------------- main

async def wait_answering(port: int, raw_request: bytes, timeout: float = 180) -> None:
    """The multi-process server listens before its workers are up (their start takes seconds on a busy machine)."""
    await wait_port(port, timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await asyncio.wait_for(one_request(port, raw_request), 10) == 200:
                return
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server on {port} did not answer")
        await asyncio.sleep(0.5)


async def measure_workers(db_url: str, var_dir: str, scan_reqs: list[bytes], bare_rps: float) -> None:
    """Scan throughput of the multi-process server with one and two workers, caches on and card cache off."""
    print(f"\n   rentwatch serve (cli.server), RW_WORKERS=1 vs 2, {CONNECTIONS} connections:")
    results: dict[tuple[str, int], float] = {}
    for label, extra in (("caches on", {}), ("card cache off", {"RW_CACHE_CARD_TTL_SECONDS": "0"})):
        for workers in (1, 2):
            port = free_port()
            proc = start(SERVED_APP, port, {**server_env(db_url, var_dir), **extra, "RW_WORKERS": str(workers),
                                            "RW_HOST": "127.0.0.1"})
            try:
                await wait_answering(port, scan_reqs[0])
                await load(port, scan_reqs, 2.0)  # warm-up: every worker's connections, caches, the database's
                rps, errors = await load(port, scan_reqs, DURATION_S)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
            results[label, workers] = rps
            print(f"   {label:15s} workers={workers}: {rps:8.0f} req/s  (errors {errors}) = "
                  f"{rps / bare_rps:.1%} of bare")
        print(f"   {label:15s} 2 workers / 1 worker: {results[label, 2] / results[label, 1]:.2f}x")


SECTIONS = ("scan", "sync", "photo")


async def main(sections: tuple[str, ...] = SECTIONS) -> None:
    from config.settings import DEV_QR_SECRET, Settings
    from inspections.qr import build_sticker_url

    print(f"inspections bench: PostgreSQL {PG_BASE}/{DB_NAME}, {CONNECTIONS} connections, {DURATION_S:.0f} s per run"
          f" ({', '.join(sections)})")
    db_url = await prepare_database()
    print("   seeding...", file=sys.stderr, flush=True)
    data = await seed(db_url)
    print("   seeded; starting servers", file=sys.stderr, flush=True)
    base = Settings().qr_base_url
    data["qr"] = {code: build_sticker_url(base, DEV_QR_SECRET, code, 1) for code in data["codes"]}
    var_dir = tempfile.mkdtemp(prefix="rwbench-")
    app_port = free_port()
    app = start(REAL_APP, app_port, server_env(db_url, var_dir))
    procs = [app]
    try:
        await wait_port(app_port)
        if "scan" in sections:
            await scan_section(data, db_url, var_dir, app_port, procs)
        if "sync" in sections:
            await sync_section(data, db_url, app_port)
        if "photo" in sections:
            await photo_section(data, app, app_port)
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        await drop_database()
        shutil.rmtree(var_dir, ignore_errors=True)


async def scan_section(data: dict, db_url: str, var_dir: str, app_port: int, procs: list) -> None:
    bare_port, cold_port, miss_port = free_port(), free_port(), free_port()
    procs.append(start(BARE_APP, bare_port))
    procs.append(start(REAL_APP, cold_port, {**server_env(db_url, var_dir), "RW_CACHE_ENABLED": "0"}))
    procs.append(start(REAL_APP, miss_port, {**server_env(db_url, var_dir), "RW_CACHE_CARD_TTL_SECONDS": "0"}))
    for port in (bare_port, cold_port, miss_port):
        await wait_port(port)
    scan_reqs = [request_bytes("/api/v1/scan", json.dumps({"qr": data["qr"][c]}).encode(),
                               data["tokens"]["inspector"]) for c in data["codes"]]
    bare_reqs = [request_bytes("/scan", json.dumps({"qr": data["qr"][c]}).encode()) for c in data["codes"][:20]]
    print("   servers up; measuring", file=sys.stderr, flush=True)
    await load(bare_port, bare_reqs, 1.0)  # warm-up
    for raw_request in scan_reqs:  # every unit scanned once: the measurement below is the steady state
        status = await one_request(app_port, raw_request)
        if status != 200:
            raise RuntimeError(f"warm-up scan answered {status}")
    bare_rps, bare_err = await load(bare_port, bare_reqs, DURATION_S)
    scan_rps, scan_err = await load(app_port, scan_reqs, DURATION_S)
    me_reqs = [request_bytes("/api/v1/auth/me", b"", data["tokens"]["inspector"], method="GET")]
    me_rps, me_err = await load(app_port, me_reqs, DURATION_S / 2)
    await load(cold_port, scan_reqs, 1.0)  # warm-up (connections, the database's caches)
    cold_rps, cold_err = await load(cold_port, scan_reqs, DURATION_S)
    await load(miss_port, scan_reqs, 1.0)  # warm-up; the caller's principal is cached from here on
    miss_rps, miss_err = await load(miss_port, scan_reqs, DURATION_S)
    bare_after, _ = await load(bare_port, bare_reqs, DURATION_S / 2)
    print(f"\n1. scan resolution throughput (one worker each, same load generator, {UNITS} units round-robin)")
    print(f"   bare Sanic JSON handler : {bare_rps:8.0f} req/s  (errors {bare_err}; {bare_after:.0f} req/s "
          f"when re-measured after the app runs)")
    print(f"   POST /api/v1/scan (PG)  : {scan_rps:8.0f} req/s  (errors {scan_err})  worker caches on (default)")
    print(f"   ratio scan / bare       : {scan_rps / bare_rps:8.1%}   (target >= 50%)")
    print(f"   scan, card cache off    : {miss_rps:8.0f} req/s  (errors {miss_err}) = "
          f"{miss_rps / bare_rps:.1%} of bare (a first scan: caller cached, the card read from the database; "
          f"target >= 25%)")
    print(f"   scan, all caches off    : {cold_rps:8.0f} req/s  (errors {cold_err}) = "
          f"{cold_rps / bare_rps:.1%} of bare (the caller and the card read from the database; target >= 15%)")
    print(f"   for reference: GET /api/v1/auth/me (cached principal): "
          f"{me_rps:.0f} req/s = {me_rps / bare_rps:.1%} of bare (errors {me_err})")
    for proc in procs[-3:]:  # bare, cold, miss: the multi-worker runs below get the machine to themselves
        proc.terminate()
        proc.wait(timeout=15)
    del procs[-3:]
    await measure_workers(db_url, var_dir, scan_reqs, bare_rps)


async def sync_section(data: dict, db_url: str, app_port: int) -> None:
    times = []
    for run in range(SYNC_RUNS):
        body = sync_batch(data, offset_min=(run + 1) * 30)
        started = time.perf_counter()
        status, payload = await post_once(app_port, "/api/v1/sync", body, data["tokens"]["inspector"])
        times.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"sync failed: {status} {payload[:300]!r}")
        summary = json.loads(payload)["summary"]
    replay_started = time.perf_counter()
    status, payload = await post_once(app_port, "/api/v1/sync", body, data["tokens"]["inspector"])
    replay_s = time.perf_counter() - replay_started
    replay = json.loads(payload)["summary"]
    print("\n2. 200-item offline sync batch (POST /api/v1/sync, PostgreSQL)")
    print(f"   runs (s)                : {', '.join(f'{t:.3f}' for t in times)}")
    print(f"   median                  : {statistics.median(times):.3f} s   (target < 250 ms)")
    print(f"   last batch results      : {summary}")
    print(f"   the last batch replayed : {replay_s:.3f} s  {replay}")
    grouped, alone = await sync_paths(data, db_url)
    print("   in this process (apply_batch, same database, fresh batches, the two paths alternating):")
    print(f"   reports stored together : median {statistics.median(grouped):.3f} s  "
          f"({', '.join(f'{t:.3f}' for t in grouped)})")
    print(f"   one transaction per item: median {statistics.median(alone):.3f} s  "
          f"({', '.join(f'{t:.3f}' for t in alone)})  (the path before)")
    print(f"   ratio together / before : {statistics.median(grouped) / statistics.median(alone):.2f}")


async def sync_paths(data: dict, db_url: str) -> tuple[list[float], list[float]]:
    """Both sync paths on fresh batches of the same shape, alternating, in this process (no HTTP)."""
    from tortoise import Tortoise

    from accounts.scope import load_principal
    from config.settings import Settings
    from inspections.sync import apply_batch
    from models.accounts import User
    from tortoise_config import tortoise_config

    await Tortoise.init(config=tortoise_config(db_url))
    try:
        settings = Settings()
        principal = await load_principal(await User.get(role="INSPECTOR"))
        grouped: list[float] = []
        alone: list[float] = []
        for run in range(SYNC_RUNS * 2):
            together = run % 2 == 0
            items = json.loads(sync_batch(data, offset_min=(SYNC_RUNS + 2 + run) * 30))["items"]
            started = time.perf_counter()
            out = await apply_batch(principal, items, settings=settings, now=datetime.now(UTC),
                                    store_together=together)
            json.dumps(out, default=str)
            (grouped if together else alone).append(time.perf_counter() - started)
            if out["summary"].get("REJECTED"):
                raise RuntimeError(f"sync rejected items: {out['summary']}")
    finally:
        await Tortoise.close_connections()
    return grouped, alone


async def photo_section(data: dict, app: subprocess.Popen, app_port: int) -> None:
    photo = ten_mb_jpeg()
    small_body, ctype = multipart({"photo_id": str(uuid.uuid4()), "unit_code": data["codes"][0]}, _small_jpeg())
    await post_once(app_port, "/api/v1/photos", small_body, data["tokens"]["inspector"], ctype)  # warm-up
    body, ctype = multipart({"photo_id": str(uuid.uuid4()), "unit_code": data["codes"][1]}, photo)
    baseline = rss_kb(app.pid, "VmRSS")
    Path(f"/proc/{app.pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    status, payload = await post_once(app_port, "/api/v1/photos", body, data["tokens"]["inspector"], ctype)
    peak = rss_kb(app.pid, "VmHWM")
    if status != 201:
        raise RuntimeError(f"photo upload failed: {status} {payload[:300]!r}")
    print("\n3. 10 MB photo upload (POST /api/v1/photos, streamed to disk, JPEG decoded reduced)")
    print(f"   photo                   : {len(photo) / 1048576:.2f} MB JPEG, {json.loads(payload)['width']}x"
          f"{json.loads(payload)['height']}")
    print(f"   worker RSS idle before  : {baseline / 1024:.1f} MB  (the baseline)")
    print(f"   worker peak during      : {peak / 1024:.1f} MB")
    print(f"   peak increase           : {(peak - baseline) / 1024:.1f} MB   (target < 60 MB)")


def _small_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 40)).save(buf, "JPEG")
    return buf.getvalue()


if __name__ == "__main__":
    chosen = tuple(a for a in sys.argv[1:] if a in SECTIONS) or SECTIONS
    asyncio.run(main(chosen))
