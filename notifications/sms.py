"""SMS through the outbox: a provider interface, the HTTP client of the configured provider, and the sender's
delivery of SMS rows (``channel = "sms:<phone>"``, user NULL) with the outbox's claim, retry and alert.

The provider protocol (``RW_SMS_ENDPOINT``, ``RW_SMS_API_KEY``): ``POST <endpoint>`` with a JSON body
``{phone, sign_name, text, template, params, client_ref}`` and ``Authorization: Bearer <key>``; the answer is
``{"code": "OK", "message_id": …}`` or ``{"code": <error>, "message": …}``. ``client_ref`` is the outbox dedupe key,
so a provider that deduplicates by it (OutId) never sends a retried message twice. HTTP 4xx (but 429) and the
codes in PERMANENT_CODES are not retried; network errors, 5xx and 429 are. Tests use a fake on loopback."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from config.settings import Settings
from models.notifications import OutboxMessage
from notifications.attempts import finish_claimed, record_failure
from notifications.choices import SMS_CHANNEL_PREFIX, OutboxStatus

PERMANENT_CODES = frozenset({"INVALID_PHONE", "UNAUTHORIZED", "BLACKLISTED", "INVALID_SIGN", "CONTENT_REFUSED"})


@dataclass
class SmsError(Exception):
    code: str
    message: str
    permanent: bool = False


@dataclass(frozen=True)
class SmsResult:
    message_id: str


class SmsProvider(Protocol):
    def send(self, *, phone: str, text: str, template: str, params: dict[str, Any], client_ref: str) -> SmsResult:
        ...


class HttpSmsProvider:
    """The configured provider's HTTP API (synchronous: the sender runs it in a worker thread)."""

    def __init__(self, endpoint: str, api_key: str, sign_name: str, timeout: float) -> None:
        self.endpoint, self.api_key, self.sign_name, self.timeout = endpoint, api_key, sign_name, timeout

    def send(self, *, phone: str, text: str, template: str, params: dict[str, Any], client_ref: str) -> SmsResult:
        body = {"phone": phone, "sign_name": self.sign_name, "text": text, "template": template, "params": params,
                "client_ref": client_ref}
        request = urllib.request.Request(
            self.endpoint, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {self.api_key}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise SmsError(f"HTTP_{exc.code}", f"HTTP {exc.code}",
                           permanent=400 <= exc.code < 500 and exc.code != 429) from None
        except (urllib.error.URLError, TimeoutError, ValueError, OSError) as exc:
            raise SmsError("NETWORK", f"{type(exc).__name__}: {exc}") from None
        code = str(answer.get("code", ""))
        if code != "OK":
            raise SmsError(code or "UNKNOWN", str(answer.get("message", ""))[:300], permanent=code in PERMANENT_CODES)
        return SmsResult(str(answer.get("message_id", "")))


def provider_from_settings(settings: Settings) -> SmsProvider | None:
    if not settings.sms_endpoint:
        return None
    return HttpSmsProvider(settings.sms_endpoint, settings.sms_api_key, settings.sms_sign_name,
                           settings.sms_timeout_seconds)


_PHONE = re.compile(r"^\+?\d{5,17}$")


def normalise_phone(phone: str) -> str | None:
    """Digits only (a leading +86 dropped); None when it is not a phone number."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits if _PHONE.match(digits) else None


def mask_phone(phone: str) -> str:
    from core.pii import mask_phone as mask

    return mask(phone) or ""


async def enqueue_sms(*, phone: str, kind: str, dedupe_key: str, text: str, now: datetime,
                      payload: dict[str, Any] | None = None) -> OutboxMessage | None:
    """One SMS outbox row in the caller's transaction (None: the dedupe key exists, or the phone is unusable)."""
    number = normalise_phone(phone)
    if number is None:
        return None
    if not dedupe_key or len(dedupe_key) > 200:
        raise ValueError("dedupe_key must be 1..200 characters")
    import secrets

    nonce = "new:" + secrets.token_hex(8)
    await OutboxMessage.bulk_create(
        [OutboxMessage(user_id=None, channel=f"{SMS_CHANNEL_PREFIX}{number}", kind=str(kind), dedupe_key=dedupe_key,
                       payload={**(payload or {}), "text": text}, status=OutboxStatus.PENDING, next_attempt_at=now,
                       enqueued_at=now, claim_token=nonce)], ignore_conflicts=True)
    row = await OutboxMessage.get_or_none(dedupe_key=dedupe_key)
    if row is None or row.claim_token != nonce:
        return None
    return row


async def send_sms_one(settings: Settings, message: OutboxMessage, token: str, now: datetime, report,
                       provider: SmsProvider | None = None) -> None:
    """Deliver one SMS row (called by notifications.sender with the row claimed)."""
    provider = provider or provider_from_settings(settings)
    if provider is None:
        await finish_claimed(message, token, status=OutboxStatus.UNDELIVERABLE, last_error="no SMS provider configured")
        report.undeliverable += 1
        return
    phone = message.channel.removeprefix(SMS_CHANNEL_PREFIX)
    payload = message.payload or {}
    try:
        await asyncio.to_thread(provider.send, phone=phone, text=str(payload.get("text", "")),
                                template=message.kind, params={k: v for k, v in payload.items() if k != "text"},
                                client_ref=message.dedupe_key)
    except SmsError as exc:
        await record_failure(settings, message, token, now, report, errcode=None,
                             error=f"SMS {exc.code}: {exc.message}", permanent=exc.permanent)
        return
    await finish_claimed(message, token, status=OutboxStatus.SENT, attempts=message.attempts + 1, sent_at=now,
                  last_errcode=None, last_error="")
    report.sent += 1
