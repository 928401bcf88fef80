"""The console's static files: served from console/static with a content hash in the URL (cached for a year),
never from a CDN."""

from __future__ import annotations

import hashlib
import mimetypes
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).parent / "static"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
         ".png": "image/png", ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8"}


@lru_cache(maxsize=256)
def _digest(name: str) -> str:
    path = resolve(name)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path else "missing"


def versioned(name: str) -> str:
    return f"/console/static/{name}?v={_digest(name)}"


def resolve(name: str) -> Path | None:
    """The file for ``name`` inside console/static, or None (also for anything escaping the folder)."""
    try:
        path = (STATIC / name).resolve()
    except (OSError, ValueError):
        return None
    if STATIC.resolve() not in path.parents or not path.is_file():
        return None
    return path


def content_type(path: Path) -> str:
    return TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
