"""What an uploaded contract is, and its pages: a PDF (each page from its text layer when it has one, rendered for
OCR when it is a scan) or phone photos (one image a page).

PDFs go through pypdfium2 (PDFium, the engine of Chromium's viewer, as a self-contained wheel): it both renders a
page and reads its text layer with character boxes, with no system package (poppler) to install — what
``make run`` on a fresh machine needs. Photos are whatever Pillow opens here: JPEG and PNG always; HEIC only where
a Pillow plugin for it is installed (none is by default; an HEIC upload is then refused with a clear error).

Pure of the database; the rendering is CPU work that callers run off the event loop (``asyncio.to_thread``).
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from core.errors import AppError, PayloadTooLarge

PDF_MAGIC = b"%PDF-"
#: Pillow format → (content type, file extension). HEIF appears only when a plugin registered it.
IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "MPO": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
                 "HEIF": ("image/heic", "heic")}
#: A page whose text layer has fewer readable characters than this is treated as a scan and OCR'd.
MIN_TEXT_LAYER_CHARS = 20
POINTS_PER_INCH = 72

_PDFIUM = threading.Lock()  # PDFium is not thread-safe: one call at a time in this process


class BadContractFile(AppError):
    status, code = 400, "UNSUPPORTED_FILE"


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str = ""


@dataclass
class PreparedPage:
    """A page ready to read: its image (PNG/JPEG bytes) and, for a digital PDF page, its text-layer lines
    (text, box on the image in pixels) — then no OCR is needed."""

    index: int  # 1-based
    image: bytes
    width: int
    height: int
    text_lines: list[tuple[str, tuple[int, int, int, int]]] | None = None
    content_type: str = "image/png"


@dataclass
class Original:
    data: bytes
    sha256: str
    content_type: str
    ext: str
    filename: str


@dataclass
class Sniffed:
    kind: str  # contracts.choices.DocumentKind value
    sha256: str  # of the file, or of the photos' hashes in order
    originals: list[Original] = field(default_factory=list)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _image_format(data: bytes, max_pixels: int) -> tuple[str, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadContractFile("image dimensions are too large", code="DECOMPRESSION_BOMB") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        heic = data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc")
        raise BadContractFile(
            "HEIC photos cannot be read on this installation: send JPEG or PNG" if heic else
            "not a PDF or an image this service reads (PDF, JPEG, PNG)",
            code="UNSUPPORTED_IMAGE_TYPE" if heic else "UNSUPPORTED_FILE",
            details={"accepted": ["application/pdf", "image/jpeg", "image/png"]}) from None
    with img:
        fmt = str(img.format)
        if fmt not in IMAGE_FORMATS:
            raise BadContractFile(f"unsupported image type {fmt}", code="UNSUPPORTED_IMAGE_TYPE",
                                  details={"accepted": ["application/pdf", "image/jpeg", "image/png"]})
        if img.width * img.height > max_pixels:
            raise BadContractFile("image dimensions are too large", code="DECOMPRESSION_BOMB",
                                  details={"width": img.width, "height": img.height, "max_pixels": max_pixels})
    return IMAGE_FORMATS[fmt]


def sniff(uploads: list[Upload], *, max_bytes: int, max_pixels: int) -> Sniffed:
    """One PDF, or one or more photos (never a mix): the document's kind, hash and originals. Refuses from the
    bytes' own signature, not the file name."""
    if not uploads or not any(u.data for u in uploads):
        raise BadContractFile("send a PDF or the photos of the contract's pages", code="EMPTY_FILE")
    total = sum(len(u.data) for u in uploads)
    if total > max_bytes:
        raise PayloadTooLarge("the contract is larger than allowed", details={"size": total, "max_bytes": max_bytes})
    pdfs = [u for u in uploads if u.data.startswith(PDF_MAGIC)]
    if pdfs:
        if len(uploads) > 1:
            raise BadContractFile("send one PDF, or photos — not both, nor several PDFs", code="MIXED_UPLOAD")
        upload = pdfs[0]
        digest = sha256(upload.data)
        return Sniffed("PDF", digest, [Original(upload.data, digest, "application/pdf", "pdf", upload.filename)])
    originals = []
    for upload in uploads:
        if not upload.data:
            raise BadContractFile("an empty file was sent", code="EMPTY_FILE", details={"filename": upload.filename})
        content_type, ext = _image_format(upload.data, max_pixels)
        originals.append(Original(upload.data, sha256(upload.data), content_type, ext, upload.filename))
    digest = originals[0].sha256 if len(originals) == 1 else sha256("\n".join(o.sha256 for o in originals).encode())
    return Sniffed("PHOTOS", digest, originals)


# --------------------------------------------------------------------------------------------- PDF pages


def _text_lines(page, scale: float, height_pt: float) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The page's text layer as lines with their boxes in pixels of the rendered image (PDF y points up)."""
    textpage = page.get_textpage()
    try:
        out = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if text:
                out.append((text, (int(left * scale), int((height_pt - top) * scale),
                                   int(right * scale) + 1, int((height_pt - bottom) * scale) + 1)))
        return out
    finally:
        textpage.close()


def pdf_pages(data: bytes, *, dpi: int, max_pages: int) -> list[PreparedPage]:
    """Every page of a PDF rendered at ``dpi``; pages with a text layer carry its lines (no OCR for them)."""
    import pypdfium2 as pdfium

    scale = dpi / POINTS_PER_INCH
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise BadContractFile(f"not a readable PDF: {exc}", code="CORRUPT_PDF") from None
        try:
            count = len(pdf)
            if count == 0:
                raise BadContractFile("the PDF has no pages", code="CORRUPT_PDF")
            if count > max_pages:
                raise BadContractFile("the PDF has too many pages", code="TOO_MANY_PAGES",
                                      details={"pages": count, "max_pages": max_pages})
            pages = []
            for index in range(count):
                page = pdf[index]
                try:
                    _, height_pt = page.get_size()
                    lines = _text_lines(page, scale, height_pt)
                    readable = sum(len(text.replace(" ", "")) for text, _ in lines)
                    image = page.render(scale=scale).to_pil().convert("RGB")
                finally:
                    page.close()
                buf = io.BytesIO()
                image.save(buf, format="PNG", compress_level=3)
                pages.append(PreparedPage(index + 1, buf.getvalue(), image.width, image.height,
                                          text_lines=lines if readable >= MIN_TEXT_LAYER_CHARS else None))
            return pages
        finally:
            pdf.close()


def photo_pages(originals: list[Original], *, max_pages: int) -> list[PreparedPage]:
    if len(originals) > max_pages:
        raise BadContractFile("too many photos", code="TOO_MANY_PAGES",
                              details={"pages": len(originals), "max_pages": max_pages})
    pages = []
    for index, original in enumerate(originals, start=1):
        with Image.open(io.BytesIO(original.data)) as img:
            width, height = img.size
        pages.append(PreparedPage(index, original.data, width, height, content_type=original.content_type))
    return pages
