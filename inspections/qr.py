"""Signed QR stickers, pure functions.

A sticker carries a plain URL ``{qr_base_url}/u/{unit_code}?v={version}&s={sig}`` so WeChat's "scan a normal
link QR code to open the mini program" works and ``wx.scanCode`` returns the same string. ``sig`` is the first
16 hex digits (64 bits) of HMAC-SHA256 over ``"{unit_code}:{version}"`` under ``settings.qr_secret``.
Reissuing a sticker bumps the unit's ``qr_version``; older stickers are then refused REVOKED_QR.

Accepted inputs: the full URL (any host: the signature is what counts), the URL percent-encoded as WeChat
passes it in ``q``, or the bare token ``{unit_code}?v={version}&s={sig}``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from core.errors import AppError

SIG_HEX_LEN = 16
SIG_RE = re.compile("[0-9a-f]{" + str(SIG_HEX_LEN) + "}")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
# The form the stickers are printed in (and wx.scanCode returns): parsed without the general URL machinery.
CANONICAL_RE = re.compile(r"https?://[^/?#\s]+/u/([A-Za-z0-9][A-Za-z0-9_.\-]{0,39})\?v=([1-9][0-9]{0,8})&s=([0-9a-f]{"
                          + str(SIG_HEX_LEN) + "})")


class InvalidQr(AppError):
    status, code = 400, "INVALID_QR"


class RevokedQr(AppError):
    status, code = 410, "REVOKED_QR"


@dataclass(frozen=True)
class StickerRef:
    unit_code: str
    version: int
    sig: str


@functools.lru_cache(maxsize=65536)  # pure; a scan of a known sticker then costs no HMAC
def sign(secret: str, unit_code: str, version: int) -> str:
    mac = hmac.new(secret.encode(), f"{unit_code}:{version}".encode(), hashlib.sha256)
    return mac.hexdigest()[:SIG_HEX_LEN]


def sticker_token(secret: str, unit_code: str, version: int) -> str:
    return f"{quote(unit_code, safe='')}?v={version}&s={sign(secret, unit_code, version)}"


def build_sticker_url(base_url: str, secret: str, unit_code: str, version: int) -> str:
    return f"{base_url.rstrip('/')}/u/{sticker_token(secret, unit_code, version)}"


def parse_sticker(text: str) -> StickerRef:
    """Parse a scanned string into its parts. Raises InvalidQr for anything that is not a sticker."""
    raw = (text or "").strip()
    if not raw or len(raw) > 512:
        raise InvalidQr("not a rentwatch sticker")
    canonical = CANONICAL_RE.fullmatch(raw)
    if canonical:
        code, version, sig = canonical.groups()
        return StickerRef(unit_code=code, version=int(version), sig=sig)
    if raw.lower().startswith(("http%3a", "https%3a")):
        raw = unquote(raw)
    if "://" in raw:
        parts = urlsplit(raw)
        path = parts.path
        if not path.startswith("/u/"):
            raise InvalidQr("not a rentwatch sticker")
        code_part, query = path[3:], parts.query
    else:
        code_part, _, query = raw.partition("?")
        if code_part.startswith("u/"):
            code_part = code_part[2:]
    code = unquote(code_part).strip("/")
    params = parse_qs(query)
    try:
        version = int(params["v"][0])
        sig = params["s"][0]
    except (KeyError, ValueError, IndexError):
        raise InvalidQr("sticker is missing its version or signature") from None
    if not CODE_RE.match(code) or version < 1 or not SIG_RE.fullmatch(sig):
        raise InvalidQr("not a rentwatch sticker")
    return StickerRef(unit_code=code, version=version, sig=sig)


def verify_signature(ref: StickerRef, secret: str) -> None:
    if not hmac.compare_digest(ref.sig, sign(secret, ref.unit_code, ref.version)):
        raise InvalidQr("sticker signature does not match")


def verify_sticker(ref: StickerRef, secret: str, current_version: int) -> None:
    """Signature first (a forged sticker is INVALID_QR whatever its version), then the version."""
    verify_signature(ref, secret)
    verify_version(ref, current_version)


def verify_version(ref: StickerRef, current_version: int) -> None:
    """For a sticker whose signature was verified: is it the unit's current one?"""
    if ref.version < current_version:
        raise RevokedQr("this sticker was replaced by a newer one",
                        details={"unit_code": ref.unit_code, "sticker_version": ref.version,
                                 "current_version": current_version})
    if ref.version > current_version:
        raise InvalidQr("sticker version was never issued")
