"""Photo evidence: validation without decoding the whole image, EXIF time/GPS, thumbnail and stamped copy.

Decompression bombs are refused from the header (width × height against a per-format cap) before any pixel is
decoded. Baseline JPEGs are decoded in draft mode (DCT scaling), so a large one is never held at full size; PNG and
WebP cannot be decoded reduced and a progressive JPEG keeps its whole coefficient buffer while decoding, so these
get much lower caps (measured: PNG RGBA ~10 bytes/px, WebP ~15, progressive 4:4:4 JPEG ~6.5 at peak).
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from config.settings import DEFAULT_TIMEZONE
from core.errors import AppError, PayloadTooLarge

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
THUMB_PX = 320
EVIDENCE_PX = 1600
LOCAL_TZ = ZoneInfo(DEFAULT_TIMEZONE)


class BadImage(AppError):
    status, code = 400, "CORRUPT_IMAGE"


@dataclass
class ImageInfo:
    format: str
    content_type: str
    ext: str
    width: int
    height: int
    sha256: str
    exif_taken_at: datetime | None
    exif_lat: float | None
    exif_lng: float | None
    exif_flags: tuple[str, ...] = ()


#: Keys of ``inspect_image(limits=...)``: decoders that hold the whole image (or its coefficients) in memory.
FULL_DECODE_KINDS = ("PNG", "WEBP", "JPEG_PROGRESSIVE")


#: Phones (Samsung, Huawei, Fujifilm...) write JPEGs with a multi-picture index that Pillow opens as "MPO": its
#: first frame is the photo, an ordinary JPEG, and it is stored and decoded as one.
FORMAT_ALIASES = {"MPO": "JPEG"}


def image_format(img: Image.Image) -> str:
    return FORMAT_ALIASES.get(str(img.format), str(img.format))


def decode_kind(img: Image.Image) -> str:
    """PNG, WEBP, JPEG (baseline: draft mode decodes it reduced) or JPEG_PROGRESSIVE."""
    fmt = image_format(img)
    if fmt == "JPEG" and img.info.get("progressive"):
        return "JPEG_PROGRESSIVE"
    return fmt


#: An image's bytes, or the file they were received into (never read into memory whole).
ImageSource = bytes | Path


def _open(source: ImageSource) -> Image.Image:
    return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)


def source_size(source: ImageSource) -> int:
    return len(source) if isinstance(source, bytes) else source.stat().st_size


def source_sha256(source: ImageSource) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    with source.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def inspect_image(data: ImageSource, *, max_bytes: int, max_pixels: int,
                  limits: Mapping[str, int] | None = None, sha256: str | None = None) -> ImageInfo:
    """Decide from the header: size, type, pixel count, EXIF. Raises before decoding any pixel data.

    ``max_pixels`` caps every image; ``limits`` (decode kind → pixels) lowers it for the kinds decoded at full
    size, so that no accepted upload needs more than ~150 MB to decode. ``sha256``: the digest if known (an
    upload hashed while it was received)."""
    size = source_size(data)
    if size > max_bytes:
        raise PayloadTooLarge("photo is larger than allowed", details={"size": size, "max_bytes": max_bytes})
    if not size:
        raise BadImage("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = _open(data)  # lazy: reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("image dimensions are too large", code="DECOMPRESSION_BOMB") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadImage(f"not a readable image: {exc}") from None
    with img:
        fmt = image_format(img)
        if fmt not in FORMATS:
            raise BadImage(f"unsupported image type {img.format}", code="UNSUPPORTED_IMAGE_TYPE",
                           details={"accepted": sorted(FORMATS)})
        width, height = img.size
        kind = decode_kind(img)
        cap = min(max_pixels, (limits or {}).get(kind, max_pixels))
        if width <= 0 or height <= 0 or width * height > cap:
            raise BadImage("image dimensions are too large", code="DECOMPRESSION_BOMB",
                           details={"width": width, "height": height, "max_pixels": cap, "kind": kind})
        taken, lat, lng, exif_flags = read_exif(img)
    try:
        with _open(data) as probe:
            probe.verify()  # structure / checksums; does not keep decoded pixels
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken files
        raise BadImage(f"corrupt image: {exc}") from None
    content_type, ext = FORMATS[fmt]
    return ImageInfo(format=fmt, content_type=content_type, ext=ext, width=width, height=height,
                     sha256=sha256 or source_sha256(data), exif_taken_at=taken, exif_lat=lat, exif_lng=lng,
                     exif_flags=exif_flags)


def _rational(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return float(value[0]) / float(value[1])


#: Flags on a photo whose EXIF block is there but cannot be believed (zero denominators, latitude 5000, a date
#: in year 0). The photo is kept — it is still evidence — and a reviewer sees why its metadata was ignored.
EXIF_GPS_UNREADABLE = "EXIF_GPS_UNREADABLE"
EXIF_TIME_UNREADABLE = "EXIF_TIME_UNREADABLE"
EXIF_UNREADABLE = "EXIF_UNREADABLE"
#: A DateTimeOriginal outside these years is not a real capture time (and near year 1 converting it overflows).
EXIF_YEARS = range(1990, 2200)


def read_exif(img: Image.Image) -> tuple[datetime | None, float | None, float | None, tuple[str, ...]]:
    """DateTimeOriginal (local time of the phone, read as Asia/Shanghai unless an offset is given), GPS, and
    the flags of the parts that are present but unreadable (those parts are returned as None)."""
    try:
        exif = img.getexif()
    except Exception:  # noqa: BLE001 - broken EXIF is not a reason to refuse the photo
        return None, None, None, (EXIF_UNREADABLE,)
    flags: list[str] = []
    taken = None
    try:
        sub = exif.get_ifd(0x8769)
        raw = sub.get(36867) or exif.get(306)  # DateTimeOriginal, else DateTime
        if raw:
            naive = datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
            offset = sub.get(36881)  # OffsetTimeOriginal, e.g. "+08:00"
            if naive.year not in EXIF_YEARS:
                raise ValueError(f"EXIF year {naive.year}")
            if offset:
                taken = datetime.fromisoformat(naive.isoformat() + str(offset).strip("\x00 ")).astimezone(UTC)
            else:
                taken = naive.replace(tzinfo=LOCAL_TZ).astimezone(UTC)
    except (ValueError, TypeError, KeyError, OverflowError):
        taken = None
        flags.append(EXIF_TIME_UNREADABLE)
    lat = lng = None
    try:
        gps = exif.get_ifd(0x8825)
        if gps and (2 in gps or 4 in gps):
            def dms(values) -> float:
                d, m, s = (_rational(v) for v in values)
                return d + m / 60 + s / 3600
            lat = dms(gps[2]) * (-1 if str(gps.get(1, "N")).upper().startswith("S") else 1)
            lng = dms(gps[4]) * (-1 if str(gps.get(3, "E")).upper().startswith("W") else 1)
            # A zero denominator reads as NaN or infinity; a latitude of 5000 is no place on Earth.
            if not (math.isfinite(lat) and math.isfinite(lng) and abs(lat) <= 90 and abs(lng) <= 180):
                raise ValueError("EXIF GPS outside the globe")
    except (ValueError, TypeError, KeyError, ZeroDivisionError, IndexError, OverflowError):
        lat = lng = None
        flags.append(EXIF_GPS_UNREADABLE)
    return taken, lat, lng, tuple(flags)


def draft_box(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """The size to ask JPEG draft mode for: the image scaled to ``longest`` on its long edge (never up). Draft
    mode decodes at the smallest 1/2, 1/4 or 1/8 scale at least this large in both directions — a square box
    would hold a landscape photo's short edge to ``longest`` and rarely allow any reduction."""
    width, height = size
    scale = min(1.0, longest / max(width, height, 1))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def decode_reduced(data: ImageSource, longest: int) -> Image.Image:
    """Decode at most about ``longest`` px on the long edge (JPEG draft mode: DCT scaling). Other formats are
    decoded at full size once and reduced before any conversion, so no second full-size copy is made."""
    try:
        img: Image.Image = _open(data)
        if image_format(img) == "JPEG":
            img.draft("RGB", draft_box(img.size, longest))
        img.load()
        if img.mode not in ("RGB", "RGBA", "L", "LA"):
            img = img.convert("RGB")  # palette, 16-bit, CMYK: resize would be nearest-only or unsupported
        img.thumbnail((longest, longest))
        return img.convert("RGB")
    except Exception as exc:  # noqa: BLE001
        raise BadImage(f"corrupt image: {exc}") from None


def _stamp_font(size: int, font_path):
    from inspections.fonts import FontMissing, cjk_font

    try:
        return cjk_font(size, font_path), True
    except FontMissing:
        return ImageFont.load_default(size), False


def derivatives(data: ImageSource, *, stamp_lines: list[str], ascii_lines: list[str],
                font_path=None) -> tuple[bytes, bytes]:
    """(thumbnail JPEG, watermarked evidence JPEG)."""
    img = decode_reduced(data, EVIDENCE_PX)
    thumb = img.copy()
    thumb.thumbnail((THUMB_PX, THUMB_PX))
    tbuf = io.BytesIO()
    thumb.save(tbuf, "JPEG", quality=80)

    draw = ImageDraw.Draw(img, "RGBA")
    size = max(14, img.width // 40)
    font, cjk = _stamp_font(size, font_path)
    lines = stamp_lines if cjk else ascii_lines
    line_h = int(size * 1.4)
    box_h = line_h * len(lines) + size
    draw.rectangle((0, img.height - box_h, img.width, img.height), fill=(0, 0, 0, 140))
    y = img.height - box_h + size // 2
    for line in lines:
        draw.text((size // 2, y), line, font=font, fill=(255, 255, 255, 255))
        y += line_h
    ebuf = io.BytesIO()
    img.save(ebuf, "JPEG", quality=85)
    return tbuf.getvalue(), ebuf.getvalue()
