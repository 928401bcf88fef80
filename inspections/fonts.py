"""The CJK font for labels and photo stamps.

Default: WenQuanYi Micro Hei (small, one file, covers GB2312/GBK) shipped by a pinned Python package
dependency, so a fresh ``make run`` prints stickers with no system font; then the system's (Debian's
``fonts-wqy-microhei``, ``fonts-noto-cjk`` …). Set RW_LABEL_FONT_PATH to use another TrueType/OpenType file.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)
PROBE = "南山栋室"
#: (package, file inside it) of the font installed with the project's dependencies.
PACKAGED_FONT = ("paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc")


def packaged_font() -> str | None:
    """The dependency's font file, or None when that package is not installed."""
    package, name = PACKAGED_FONT
    try:
        path = Path(str(resources.files(package).joinpath(name)))
    except ModuleNotFoundError:
        return None
    return str(path) if path.is_file() else None


class FontMissing(RuntimeError):
    pass


def _covers_cjk(path: str) -> bool:
    from PIL import ImageFont

    try:
        font = ImageFont.truetype(path, 24)
    except OSError:
        return False
    # A font without the glyphs maps them all to the same .notdef box.
    masks = {bytes(font.getmask(ch)) for ch in PROBE}
    return len(masks) == len(PROBE)


@functools.cache
def find_cjk_font(configured: str | None = None, *, system_fonts: tuple[str, ...] = CANDIDATES,
                  use_packaged: bool = True) -> str:
    if configured:
        if not Path(configured).is_file() or not _covers_cjk(configured):
            raise FontMissing(f"RW_LABEL_FONT_PATH={configured} is not a readable font with Chinese glyphs")
        return configured
    packaged = packaged_font() if use_packaged else None
    for path in ((packaged,) if packaged else ()) + system_fonts:
        if Path(path).is_file() and _covers_cjk(path):
            return path
    raise FontMissing(
        "no CJK font found for labels: reinstall the project's dependencies (they ship one) or install one "
        "(Debian/Ubuntu: `apt-get install fonts-wqy-microhei` "
        "or `fonts-noto-cjk`) or set RW_LABEL_FONT_PATH to a .ttf/.ttc/.otf file with Chinese glyphs")


@functools.lru_cache(maxsize=64)
def _font(path: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


def cjk_font(size: int, configured=None):
    return _font(find_cjk_font(str(configured) if configured else None), size)
