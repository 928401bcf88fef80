"""Offline OCR of one page image (RapidOCR: PP-OCRv4 detection/recognition and the orientation classifier, all
shipped inside the ``rapidocr-onnxruntime`` wheel — nothing is downloaded at run time).

Before recognition the page is put upright: a cheap detection pass on a reduced copy tells a sideways page (its
text boxes are taller than wide), the orientation classifier on the largest boxes tells an upside-down one, and the
median slope of the box edges gives the skew. Lines come back in reading order with their box on the *normalised*
page image (the one stored and shown to the reviewer), so a highlighted box lands on its text.

Runs in the OCR worker processes (contracts.pool); the engine is loaded once per process.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from PIL import Image

ORIENT_MAX_SIDE = 1100  # the orientation pass runs on a copy at most this large
# Pages are scaled down to this before anything else: RapidOCR detects and recognises on an image at most this
# large anyway (its max_side_len), so a 300-dpi scan or a 12 MP photo reads the same while the worker never holds
# full-size copies (rotated, levelled, encoded) of it.
MAX_SIDE = 2000
MIN_SKEW_DEG = 0.3
MAX_SKEW_DEG = 15.0

_ENGINE = None


def engine():
    """The process's RapidOCR engine (models from the wheel's own directory; single-threaded ONNX sessions so a
    pool of N workers uses N cores, not N × all)."""
    global _ENGINE
    if _ENGINE is None:
        from rapidocr_onnxruntime import RapidOCR

        _ENGINE = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    return _ENGINE


def model_paths() -> list[str]:
    """The model files the engine loads (all inside the installed wheel)."""
    from pathlib import Path

    import rapidocr_onnxruntime

    return sorted(str(p) for p in (Path(rapidocr_onnxruntime.__file__).parent / "models").glob("*.onnx"))


@dataclass(frozen=True)
class Line:
    text: str
    score: float  # the recogniser's mean over the line's characters
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 on the normalised page image
    chars: tuple[float, ...] = ()  # one score per character of ``text`` (empty when the recogniser gave none)


@dataclass
class PageText:
    width: int
    height: int
    rotation: int  # degrees (counter-clockwise) applied to the original to make it upright: 0/90/180/270
    skew: float  # degrees of deskew applied after the rotation
    lines: list[Line] = field(default_factory=list)
    seconds: float = 0.0
    image_png: bytes = b""  # the normalised page image

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("image_png")
        data["lines"] = [{"text": ln.text, "score": round(ln.score, 4), "box": list(ln.box),
                          "chars": [round(c, 3) for c in ln.chars]} for ln in self.lines]
        return data


def _boxes(img: np.ndarray):
    boxes, _ = engine().text_det(img)
    return [] if boxes is None else list(boxes)


def _box_geometry(quad) -> tuple[float, float, float]:
    """(width, height, slope in degrees of the top edge) of a detected quadrilateral."""
    p0, p1, _p2, p3 = (np.asarray(p, dtype=float) for p in quad)
    width = float(np.linalg.norm(p1 - p0))
    height = float(np.linalg.norm(p3 - p0))
    angle = math.degrees(math.atan2(p1[1] - p0[1], p1[0] - p0[0]))
    return width, height, angle


def orientation(image: Image.Image) -> tuple[int, float]:
    """(rotation, skew) that make ``image`` upright: rotation ∈ {0, 90, 180, 270} (counter-clockwise)."""
    small = image.copy()
    small.thumbnail((ORIENT_MAX_SIDE, ORIENT_MAX_SIDE))
    arr = np.array(small)
    boxes = _boxes(arr)
    geo = [_box_geometry(b) for b in boxes]
    long_boxes = [g for g in geo if max(g[0], g[1]) > 3 * min(g[0], g[1]) > 0]
    tall = sum(1 for w, h, _ in long_boxes if h > w)
    rotation = 0
    if long_boxes and tall > len(long_boxes) / 2:
        rotation = 90
        small = small.rotate(90, expand=True)
        arr = np.array(small)
        boxes = _boxes(arr)
        geo = [_box_geometry(b) for b in boxes]
    # upside down? ask the orientation classifier about the widest boxes
    ranked = sorted(zip(boxes, geo, strict=True), key=lambda bg: -bg[1][0])[:12]
    if ranked:
        crops = engine().get_crop_img_list(arr, [np.asarray(b, dtype=np.float32) for b, _ in ranked])
        _, cls_res, _ = engine().text_cls(crops)
        flipped = sum(1 for label, score in cls_res if label == "180" and score > 0.6)
        if flipped > len(cls_res) / 2:
            rotation = (rotation + 180) % 360
    angles = [g[2] for g in geo if g[0] > 4 * g[1] > 0]
    skew = 0.0
    if angles:
        median = float(np.median(angles))  # a 180° turn keeps the slope's sign
        if MIN_SKEW_DEG <= abs(median) <= MAX_SKEW_DEG:
            skew = median
    return rotation, skew


def upright(image: Image.Image, rotation: int, skew: float) -> Image.Image:
    out = image.rotate(rotation, expand=True) if rotation else image
    if skew:
        # PIL rotates counter-clockwise; a top edge sloping down by +skew degrees (image y points down) is
        # levelled by rotating counter-clockwise by +skew.
        out = out.rotate(skew, expand=True, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
    return out


def _reading_order(lines: list[Line]) -> list[Line]:
    """Top to bottom, left to right within a visual row (boxes whose vertical centres are within half a line)."""
    if not lines:
        return []
    heights = sorted(ln.box[3] - ln.box[1] for ln in lines)
    tolerance = max(4, heights[len(heights) // 2] * 0.5)
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3]) / 2):
        centre = (ln.box[1] + ln.box[3]) / 2
        if rows and abs(centre - sum((r.box[1] + r.box[3]) / 2 for r in rows[-1]) / len(rows[-1])) <= tolerance:
            rows[-1].append(ln)
        else:
            rows.append([ln])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.box[0])]


def _char_scores(text: str, word_info: list) -> tuple[float, ...]:
    """The per-character scores of a word-box result ([word boxes, words, scores]), when they line up with the
    text; none otherwise."""
    scores = word_info[2] if len(word_info) >= 3 else None
    if not isinstance(scores, list) or len(scores) != len(text):
        return ()
    return tuple(float(c) for c in scores)


def read_image(image: Image.Image, *, keep_image: bool = True) -> PageText:
    """OCR one page image: upright it, recognise, lines with boxes in reading order."""
    started = time.perf_counter()
    image = image.convert("RGB")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    rotation, skew = orientation(image)
    page = upright(image, rotation, skew)
    # return_word_box: each result also carries the score of every character (a line's score is their mean, so
    # one misread character in a long line hardly moves it); the other keyword values are RapidOCR's defaults
    result, _ = engine()(np.array(page), return_word_box=True, box_thresh=0.5, unclip_ratio=1.6, text_score=0.5)
    lines = []
    for quad, text, score, *word_info in result or []:
        xs = [p[0] for p in quad]
        ys = [p[1] for p in quad]
        lines.append(Line(text=str(text), score=float(score),
                          box=(int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))),
                          chars=_char_scores(str(text), word_info)))
    png = b""
    if keep_image:
        buf = io.BytesIO()
        page.save(buf, format="PNG", optimize=False, compress_level=3)
        png = buf.getvalue()
    return PageText(width=page.width, height=page.height, rotation=rotation, skew=round(skew, 2),
                    lines=_reading_order(lines), seconds=round(time.perf_counter() - started, 3), image_png=png)


def release_memory() -> None:
    """Give the freed heap back to the system (glibc ``malloc_trim``; nothing elsewhere). ONNX Runtime frees the
    page's tensors but glibc keeps them mapped: an idle worker held ~490 MiB after a 150-dpi page, ~150 MiB
    trimmed."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).malloc_trim(0)


def read_bytes(data: bytes, keep_image: bool = True) -> PageText:
    """Worker entry point: an encoded image (PNG/JPEG) in, PageText out (picklable)."""
    try:
        return read_image(Image.open(io.BytesIO(data)), keep_image=keep_image)
    finally:
        release_memory()
