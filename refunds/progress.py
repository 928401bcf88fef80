"""Progress QR (生成专属进度二维码): a signed, unguessable, expiring link to the refund's progress page.

Token: ``{refund_id}.{expires_unix}.{sig}`` where sig is a 128-bit HMAC-SHA256 (base64url) over the id, the
expiry and the refund's ``progress_nonce`` under a key derived from RW_QR_SECRET. Rotating the nonce revokes
every link issued before. The link is a plain https URL (``{RW_QR_BASE_URL}/rp/{token}``) so WeChat's
"scan a normal link QR code" opens the mini program; the page reads ``GET /api/v1/refund-progress/{token}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from datetime import datetime, timedelta

import qrcode
from qrcode.image.pil import PilImage

from core.errors import NotFound


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"rentwatch/refund-progress/v1", hashlib.sha256).digest()


def _sig(secret: str, refund_id: int, expires: int, nonce: str) -> str:
    mac = hmac.new(_key(secret), f"{refund_id}.{expires}.{nonce}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue_progress_token(*, secret: str, refund_id: int, nonce: str, now: datetime,
                         ttl: timedelta) -> tuple[str, datetime]:
    expires_at = now + ttl
    expires = int(expires_at.timestamp())
    return f"{refund_id}.{expires}.{_sig(secret, refund_id, expires, nonce)}", expires_at


def parse_progress_token(token: str) -> tuple[int, int, str]:
    """(refund_id, expires, sig) or NotFound; the signature is checked against the refund's nonce later."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[2]) != 22:
        raise NotFound("progress link not found", code="INVALID_PROGRESS_LINK")
    return int(parts[0]), int(parts[1]), parts[2]


def verify_progress_token(*, secret: str, refund_id: int, expires: int, sig: str, nonce: str, now: datetime) -> None:
    if not hmac.compare_digest(sig, _sig(secret, refund_id, expires, nonce)):
        raise NotFound("progress link not found", code="INVALID_PROGRESS_LINK")
    if expires <= int(now.timestamp()):
        raise NotFound("this progress link has expired", code="PROGRESS_LINK_EXPIRED", status=410)


def progress_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/rp/{token}"


def qr_png(data: str) -> bytes:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image(image_factory=PilImage, fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()
