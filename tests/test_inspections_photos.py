"""Photo evidence: validation from the header, idempotent storage, derivatives, EXIF, AWAITING_MEDIA."""

import asyncio
import io
import json
import struct
import subprocess
import sys
import uuid
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from inspections.photos import BadImage, inspect_image
from inspections.storage import storage_for
from models.inspections import Photo, StatusReport
from models.portfolio import Unit
from tests.support.inspections_helpers import decision_body, png_bytes, report_body


def bomb_png(width=10_000, height=5_000) -> bytes:
    """A valid 50-megapixel RGB PNG of ~150 kB: decoding it would need 150 MB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (width * 3)
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return bomb_png()


def jpeg_with_exif(taken: str | None = "2026:11:02 10:00:00", gps=(22.5329, 113.9305), size=(800, 600)) -> bytes:
    img = Image.new("RGB", size, (40, 120, 200))
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[36867] = taken
    if gps:
        def dms(x):
            d = int(x)
            m = int((x - d) * 60)
            s = round(((x - d) * 60 - m) * 60, 2)
            return (float(d), float(m), s)
        exif.get_ifd(0x8825).update({1: "N", 2: dms(gps[0]), 3: "E", 4: dms(gps[1])})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=90)
    return buf.getvalue()


async def upload(client, world, user, data, *, photo_id=None, name="p.jpg", ctype="image/jpeg", **fields):
    form = {"photo_id": str(photo_id or uuid.uuid4()), **{k: str(v) for k, v in fields.items()}}
    _, resp = await client.post("/api/v1/photos", files={"file": (name, data, ctype)}, data=form,
                                headers=world.auth(user))
    return resp


async def test_upload_stores_original_thumbnail_and_stamped_copy(client, world, settings):
    a = world.a
    data = jpeg_with_exif()
    pid = uuid.uuid4()
    resp = await upload(client, world, a.inspector, data, photo_id=pid, unit_code=a.unit.code,
                        lat=a.building.lat + 0.0003, lng=a.building.lng)
    assert resp.status == 201, resp.json
    body = resp.json
    assert body["id"] == str(pid) and body["content_type"] == "image/jpeg" and body["size_bytes"] == len(data)
    assert body["exif_taken_at"] == "2026-11-02T02:00:00+00:00"  # 10:00 in Shanghai
    assert body["exif_gps"]["lat"] == pytest.approx(22.5329, abs=1e-4)
    assert body["distance_m"] == pytest.approx(33.4, abs=1)
    photo = await Photo.get(id=pid)
    storage = storage_for(settings)
    assert storage.get(photo.original_key) == data  # untouched
    import hashlib
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    for variant, longest in (("thumbnail", 320), ("evidence", 800)):
        _, got = await client.get(f"/api/v1/photos/{pid}/{variant}", headers=world.auth(a.manager))
        assert got.status == 200 and got.headers["content-type"] == "image/jpeg"
        img = Image.open(io.BytesIO(got.body))
        assert max(img.size) == longest
    _, original = await client.get(f"/api/v1/photos/{pid}/original", headers=world.auth(world.admin))
    assert original.body == data
    _, other = await client.get(f"/api/v1/photos/{pid}/original", headers=world.auth(world.b.manager))
    assert other.status == 404


async def test_evidence_copy_is_stamped(client, world, settings):
    a = world.a
    data = png_bytes((600, 400), (255, 255, 255))
    pid = uuid.uuid4()
    await upload(client, world, a.inspector, data, photo_id=pid, name="p.png", ctype="image/png",
                 unit_code=a.unit.code)
    photo = await Photo.get(id=pid)
    stamped = Image.open(io.BytesIO(storage_for(settings).get(photo.evidence_key))).convert("L")
    w, h = stamped.size
    band = stamped.crop((0, h - 60, w, h))
    top = stamped.crop((0, 0, w, 60))
    assert min(top.getdata()) > 240  # untouched white
    assert min(band.getdata()) < 100 and max(band.getdata()) > 200  # dark band with light text


async def test_reupload_is_idempotent_and_id_reuse_is_refused(client, world):
    a = world.a
    pid = uuid.uuid4()
    data = png_bytes()
    first = await upload(client, world, a.inspector, data, photo_id=pid, name="p.png", ctype="image/png")
    again = await upload(client, world, a.inspector, data, photo_id=pid, name="p.png", ctype="image/png")
    assert (first.status, again.status) == (201, 200) and again.json["id"] == str(pid)
    other = await upload(client, world, a.inspector, png_bytes(color=(1, 2, 3)), photo_id=pid, name="p.png",
                         ctype="image/png")
    assert (other.status, other.json["error"]["code"]) == (409, "PHOTO_ID_CONFLICT")
    assert await Photo.filter(id=pid).count() == 1


def gif_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (10, 10)).save(buf, "GIF")
    return buf.getvalue()


@pytest.mark.parametrize("make,status,code", [
    (lambda: png_bytes()[:60], 400, "CORRUPT_IMAGE"),
    (lambda: b"this is not an image at all" * 10, 400, "CORRUPT_IMAGE"),
    (lambda: jpeg_with_exif()[:-4000], 400, "CORRUPT_IMAGE"),
    (gif_bytes, 400, "UNSUPPORTED_IMAGE_TYPE"),
    (lambda: b"\x89PNG" + b"\x00" * 2_000, 400, "CORRUPT_IMAGE"),
])
async def test_bad_files_are_refused(client, world, make, status, code):
    pid = uuid.uuid4()
    resp = await upload(client, world, world.a.inspector, make(), photo_id=pid)
    assert (resp.status, resp.json["error"]["code"]) == (status, code), resp.json
    assert not await Photo.filter(id=pid).exists()


async def test_over_the_size_limit_is_413(client, world, settings):
    settings.photo_max_bytes = 50_000
    big = Image.effect_noise((400, 400), 100).convert("RGB")
    buf = io.BytesIO()
    big.save(buf, "PNG")
    assert len(buf.getvalue()) > 50_000
    resp = await upload(client, world, world.a.inspector, buf.getvalue(), name="n.png", ctype="image/png")
    assert (resp.status, resp.json["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


async def test_a_body_over_the_server_limit_is_413_too(client, world):
    resp = await upload(client, world, world.a.inspector, b"\xff" * (13 * 1024 * 1024))
    assert (resp.status, resp.json["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


async def test_missing_file_field(client, world):
    _, resp = await client.post("/api/v1/photos", data={"photo_id": str(uuid.uuid4())},
                                files={"other": ("x", b"x", "text/plain")}, headers=world.auth(world.a.inspector))
    assert (resp.status, resp.json["error"]["code"]) == (422, "VALIDATION_ERROR")


async def test_decompression_bomb_is_refused(client, world, bomb):
    pid = uuid.uuid4()
    resp = await upload(client, world, world.a.inspector, bomb, photo_id=pid, name="b.png", ctype="image/png")
    assert (resp.status, resp.json["error"]["code"]) == (400, "DECOMPRESSION_BOMB")
    assert resp.json["error"]["details"]["width"] * resp.json["error"]["details"]["height"] == 50_000_000
    assert not await Photo.filter(id=pid).exists()


def test_bomb_is_decided_without_decoding(bomb, tmp_path):
    """In a fresh process, refusing the bomb must not allocate anything near the 150 MB a decode would take."""
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    script = (
        "import resource, sys\n"
        "from inspections.photos import BadImage, inspect_image, BadImage\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    inspect_image(data, max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)\n"
        "    print('ACCEPTED')\n"
        "except BadImage as exc:\n"
        "    print(exc.code)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n")
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1])).stdout.split()
    assert out[0] == "DECOMPRESSION_BOMB"
    assert int(out[1]) < 40, f"peak RSS grew by {out[1]} MB while refusing the bomb"


async def test_large_png_is_refused_from_its_header(client, world, settings):
    """39 MP is under the JPEG cap, but a PNG is decoded at full size (~300 MB): its own, lower cap applies."""
    pid = uuid.uuid4()
    data = bomb_png(6000, 6500)
    resp = await upload(client, world, world.a.inspector, data, photo_id=pid, name="big.png", ctype="image/png")
    assert (resp.status, resp.json["error"]["code"]) == (400, "DECOMPRESSION_BOMB"), resp.json
    assert resp.json["error"]["details"] == {"width": 6000, "height": 6500, "kind": "PNG",
                                             "max_pixels": settings.photo_max_pixels_png,
                                             "request_id": resp.headers["x-request-id"]}
    assert not await Photo.filter(id=pid).exists()


def image_bytes(fmt: str, size, **options) -> bytes:
    buf = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buf, fmt, **options)
    return buf.getvalue()


def mpo_bytes(size) -> bytes:
    """A JPEG with a multi-picture index, as many phones write (Pillow's format "MPO"; its first frame is the photo)."""
    first = Image.linear_gradient("L").resize(size).convert("RGB")
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[first.resize((320, 240))])
    assert Image.open(io.BytesIO(buf.getvalue())).format == "MPO"
    return buf.getvalue()


@pytest.mark.parametrize("make,name,content_type", [
    (lambda size: image_bytes("WEBP", size, quality=80), "p.webp", "image/webp"),
    (mpo_bytes, "p.jpg", "image/jpeg"),  # stored untouched as a JPEG, decoded reduced like one
])
async def test_accepted_formats_are_stored_untouched_with_derivatives(client, world, settings, make, name,
                                                                      content_type):
    a = world.a
    pid = uuid.uuid4()
    data = make((1200, 900))
    resp = await upload(client, world, a.inspector, data, photo_id=pid, name=name, ctype=content_type,
                        unit_code=a.unit.code)
    assert resp.status == 201, resp.json
    assert (resp.json["content_type"], resp.json["width"], resp.json["height"]) == (content_type, 1200, 900)
    photo = await Photo.get(id=pid)
    assert storage_for(settings).get(photo.original_key) == data
    assert Image.open(io.BytesIO(storage_for(settings).get(photo.thumbnail_key))).size == (320, 240)


def test_a_phone_jpeg_with_a_multi_picture_index_is_a_baseline_jpeg():
    info = inspect_image(mpo_bytes((400, 300)), max_bytes=10**7, max_pixels=10**7, limits={"JPEG_PROGRESSIVE": 1})
    assert (info.format, info.content_type, info.width) == ("JPEG", "image/jpeg", 400)


@pytest.mark.parametrize("fmt,options,kind", [
    ("PNG", {}, "PNG"),
    ("WEBP", {"quality": 80}, "WEBP"),
    ("JPEG", {"progressive": True}, "JPEG_PROGRESSIVE"),
])
def test_full_decode_formats_have_their_own_pixel_cap(fmt, options, kind):
    data = image_bytes(fmt, (400, 300), **options)
    limits = {k: 1_000_000 for k in ("PNG", "WEBP", "JPEG_PROGRESSIVE")}
    assert inspect_image(data, max_bytes=10**7, max_pixels=10**6, limits=limits).width == 400
    with pytest.raises(BadImage) as refused:
        inspect_image(data, max_bytes=10**7, max_pixels=10**6, limits={**limits, kind: 119_999})
    assert refused.value.code == "DECOMPRESSION_BOMB"
    assert refused.value.details == {"width": 400, "height": 300, "max_pixels": 119_999, "kind": kind}


def test_baseline_jpeg_keeps_the_general_cap():
    data = image_bytes("JPEG", (400, 300))
    limits = {k: 1_000 for k in ("PNG", "WEBP", "JPEG_PROGRESSIVE")}
    assert inspect_image(data, max_bytes=10**7, max_pixels=120_000, limits=limits).format == "JPEG"
    with pytest.raises(BadImage):
        inspect_image(data, max_bytes=10**7, max_pixels=119_999, limits=limits)


def test_inspect_reads_header_facts():
    info = inspect_image(jpeg_with_exif(taken="2026:11:02 09:30:00", gps=None), max_bytes=10**7, max_pixels=10**7)
    assert (info.format, info.width, info.height) == ("JPEG", 800, 600)
    assert info.exif_taken_at == datetime(2026, 11, 2, 1, 30, tzinfo=UTC) and info.exif_lat is None


# --------------------------------------------------------------------------- reports waiting for media

async def test_report_waits_for_its_photos_then_continues(client, world, clock):
    a = world.a
    p1, p2 = uuid.uuid4(), uuid.uuid4()
    body = report_body(a, clock.now(), requested="UNDER_REPAIR", photo_ids=[p1, p2], category="DAMAGE")
    _, resp = await client.post("/api/v1/status-reports", content=json.dumps(body), headers=world.auth(a.inspector))
    assert resp.status == 201 and resp.json["result"] == "AWAITING_MEDIA"
    rid = resp.json["report"]["id"]
    await upload(client, world, a.inspector, jpeg_with_exif(), photo_id=p1, unit_code=a.unit.code)
    assert (await StatusReport.get(id=rid)).state == "AWAITING_MEDIA"
    await upload(client, world, a.inspector, jpeg_with_exif(size=(640, 480)), photo_id=p2)
    report = await StatusReport.get(id=rid)
    assert report.state == "PENDING_CONFIRMATION" and report.flags == []
    assert report.confirm_deadline == clock.now() + timedelta(hours=72)
    assert (await Photo.get(id=p2)).unit_id == a.unit.id  # linked through the report
    _, resp = await client.post(f"/api/v1/status-reports/{rid}/decision", content=json.dumps(
        decision_body(a, clock.now())), headers=world.auth(a.manager))
    assert resp.json["result"] == "CONFIRMED"
    assert (await Unit.get(id=a.unit.id)).status == "UNDER_REPAIR"


async def test_refund_inspection_with_photos_is_accepted(client, world, clock):
    a = world.a
    pid = uuid.uuid4()
    await upload(client, world, a.inspector, jpeg_with_exif(), photo_id=pid, unit_code=a.occupied_unit.code)
    body = report_body(a, clock.now(), unit=a.occupied_unit, photo_ids=[pid], category="REFUND_INSPECTION")
    _, resp = await client.post("/api/v1/status-reports", content=json.dumps(body), headers=world.auth(a.inspector))
    assert resp.json["result"] == "ACCEPTED" and resp.json["report"]["photo_ids"] == [str(pid)]


@pytest.mark.parametrize("exif,flag", [
    ({"taken": "2026:11:01 10:00:00"}, "PHOTO_TIME_MISMATCH"),
    ({"gps": (22.60, 113.93)}, "PHOTO_PLACE_MISMATCH"),
])
async def test_photo_disagreeing_with_the_report_is_flagged(client, world, clock, exif, flag):
    a = world.a
    pid = uuid.uuid4()
    await upload(client, world, a.inspector, jpeg_with_exif(**exif), photo_id=pid)
    body = report_body(a, clock.now(), photo_ids=[pid])
    _, resp = await client.post("/api/v1/status-reports", content=json.dumps(body), headers=world.auth(a.inspector))
    assert resp.json["result"] == "ACCEPTED" and resp.json["report"]["flags"] == [flag]


async def test_a_photo_stored_after_the_batch_read_its_photos_is_not_waited_for(client, world, clock, settings):
    """The sync reads which photos exist once, at the start of a batch: a photo stored after that read but
    before the report's transaction is found by the re-check inside the transaction."""
    from accounts.scope import load_principal
    from core.validation import validate
    from inspections.schemas import StatusReportIn
    from inspections.service import submit_report

    a = world.a
    pid = uuid.uuid4()
    assert (await upload(client, world, a.inspector, jpeg_with_exif(), photo_id=pid)).status == 201
    body = validate(StatusReportIn, report_body(a, clock.now(), requested="UNDER_REPAIR", photo_ids=[pid],
                                                category="DAMAGE"))
    outcome = await submit_report(await load_principal(a.inspector), body, settings=settings, now=clock.now(),
                                  via_sync=True, known_photos=set(), maybe_duplicate=False)
    assert outcome.result == "PENDING_CONFIRMATION"
    report = await StatusReport.get(id=outcome.report.id)
    assert (report.state, report.initial_result) == ("PENDING_CONFIRMATION", "PENDING_CONFIRMATION")
    assert report.confirm_deadline == clock.now() + timedelta(hours=72)


async def test_reupload_moves_on_a_report_linked_after_the_first_upload(client, world, clock):
    """The report committed after the upload looked for reports waiting on the photo: the client's retry of the
    same upload (idempotent, 200) continues the report."""
    from inspections.choices import CoordSystem, ReportCategory
    from models.inspections import ReportPhoto

    a = world.a
    pid = uuid.uuid4()
    data = jpeg_with_exif()
    assert (await upload(client, world, a.inspector, data, photo_id=pid)).status == 201
    now = clock.now()
    report = await StatusReport.create(
        client_id=uuid.uuid4(), content_hash="0" * 64, unit_id=a.unit.id, author_id=a.inspector.id,
        category=ReportCategory.DAMAGE, requested_status="UNDER_REPAIR", observed_status=a.unit.status,
        state="AWAITING_MEDIA", state_reason="MISSING_PHOTOS", initial_result="AWAITING_MEDIA",
        photo_ids=[str(pid)], lat=a.building.lat, lng=a.building.lng, coord_system=CoordSystem.WGS84,
        accuracy_m=10, wgs84_lat=a.building.lat, wgs84_lng=a.building.lng, distance_m=0, captured_at=now,
        base_status_version=a.unit.status_version)
    await ReportPhoto.create(report_id=report.id, photo_id=pid)
    again = await upload(client, world, a.inspector, data, photo_id=pid)
    assert again.status == 200
    report = await StatusReport.get(id=report.id)
    assert (report.state, report.confirm_deadline) == ("PENDING_CONFIRMATION", now + timedelta(hours=72))


@pytest.mark.parametrize("photo_first", [True, False])
async def test_photo_flags_are_checked_for_a_report_in_conflict(client, world, clock, photo_first):
    """A stale report goes to review as CONFLICT: its photos' EXIF time and place are still checked, whether the
    photo was stored before the report or arrives after it."""
    a = world.a
    pid = uuid.uuid4()
    data = jpeg_with_exif(taken="2026:11:01 10:00:00", gps=(22.60, 113.93))
    if photo_first:
        assert (await upload(client, world, a.inspector, data, photo_id=pid)).status == 201
    body = report_body(a, clock.now(), unit=a.occupied_unit, requested="UNDER_REPAIR", base_version=1,
                       photo_ids=[pid], category="DAMAGE")
    _, resp = await client.post("/api/v1/status-reports", content=json.dumps(body), headers=world.auth(a.inspector))
    assert resp.json["result"] == "CONFLICT", resp.json
    if not photo_first:
        assert (await upload(client, world, a.inspector, data, photo_id=pid)).status == 201
    report = await StatusReport.get(id=resp.json["report"]["id"])
    assert report.state == "CONFLICT"
    assert report.flags == ["PHOTO_PLACE_MISMATCH", "PHOTO_TIME_MISMATCH"]


async def test_the_server_body_limit_follows_photo_max_bytes(world, settings, clock):
    """Sanic's own body limit (enforced by its HTTP server, not on the ASGI path the other tests use) follows
    RW_PHOTO_MAX_BYTES: a 14 MB body reaches the photo checks when photos may be 16 MB, and a body over the derived
    limit is still 413 PAYLOAD_TOO_LARGE in our error shape."""
    import httpx

    from api.app import create_app
    from tests.conftest import free_port

    settings.photo_max_bytes = 16 * 1024 * 1024
    app = create_app(settings, clock=clock, manage_db=False)
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            async def send(size: int) -> httpx.Response:
                return await http.post("/api/v1/photos", headers=world.auth(world.a.inspector),
                                       data={"photo_id": str(uuid.uuid4())},
                                       files={"file": ("p.jpg", b"\xff" * size, "image/jpeg")})

            within = await send(14 * 1024 * 1024)
            assert (within.status_code, within.json()["error"]["code"]) == (400, "CORRUPT_IMAGE")
        # Sanic answers from the Content-Length header and closes: announce the body, do not send it.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        auth = "".join(f"{k}: {v}\r\n" for k, v in world.auth(world.a.inspector).items())
        writer.write((f"POST /api/v1/photos HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
                      "Content-Type: multipart/form-data; boundary=x\r\n"
                      f"Content-Length: {18 * 1024 * 1024}\r\n\r\n").encode())
        await writer.drain()
        head, _, body = (await reader.read()).partition(b"\r\n\r\n")
        writer.close()
        assert head.split(b"\r\n")[0].split()[1] == b"413"
        error = json.loads(body)
        assert set(error) == {"error"} and set(error["error"]) == {"code", "message", "details"}
        assert error["error"]["code"] == "PAYLOAD_TOO_LARGE"
        assert error["error"]["details"]["request_id"]  # refused while reading the body, before any middleware
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()



def test_draft_box_keeps_the_aspect_so_draft_mode_can_reduce():
    from inspections.photos import decode_reduced, draft_box

    assert draft_box((4000, 3000), 1600) == (1600, 1200)
    assert draft_box((3000, 4000), 1600) == (1200, 1600)
    assert draft_box((800, 600), 1600) == (800, 600)  # never up
    buf = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 60, 30)).save(buf, "JPEG")
    with Image.open(io.BytesIO(buf.getvalue())) as img:
        img.draft("RGB", draft_box(img.size, 1600))
        assert img.size == (2000, 1500)  # decoded at half scale, not full size
    assert decode_reduced(buf.getvalue(), 1600).size == (1600, 1200)


async def test_uploads_leave_no_file_behind_in_the_spool(client, world, settings):
    """The body is received into a file under the storage's spool directory: moved into storage when kept,
    removed when refused or when the original was already stored (same bytes, another photo id)."""
    a = world.a
    data = jpeg_with_exif()
    for _ in range(2):
        assert (await upload(client, world, a.inspector, data, unit_code=a.unit.code)).status == 201
    assert (await upload(client, world, a.inspector, b"not an image" * 50)).status == 400
    settings.photo_max_bytes = 1000
    assert (await upload(client, world, a.inspector, data)).status == 413
    spool = storage_for(settings).spool_dir
    assert spool.is_dir() and list(spool.iterdir()) == []
