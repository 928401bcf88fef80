"""The outbox sender: claims due rows, sends them as WeChat subscribe messages, retries with backoff.

- success → SENT; 43101 (the user has not subscribed / refused) → UNDELIVERABLE, never retried; a user
  without an openid or a kind without a template id → UNDELIVERABLE as well.
- any other error (WeChat errcode, network) → retried at now + base·2^(attempts−1) (capped); after
  ``outbox_max_attempts`` failures → FAILED and an operator alert (one open alert per kind, count increments).
- Several senders may run: a row is claimed with a conditional UPDATE (``claimed_until``/``claim_token``), so
  each attempt is made by one sender; the result is written only by the claim holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from wechatpy.exceptions import WeChatClientException

from config.settings import Settings
from core.clock import Clock
from models.accounts import User
from models.notifications import OutboxMessage
from notifications.attempts import SendReport, finish_claimed, record_failure
from notifications.choices import SMS_CHANNEL_PREFIX, OutboxStatus
from notifications.fit import render_data
from notifications.sms import send_sms_one
from notifications.templates import render_page, template_for
from wechat.client import ConfiguredWeChatClient, build_client, call_wechat, send_subscribe_message

log = logging.getLogger("rentwatch.outbox")

NOT_SUBSCRIBED = 43101


async def claim_due(now: datetime, *, limit: int, claim_seconds: int) -> list[tuple[OutboxMessage, str]]:
    candidates = await (OutboxMessage.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
                        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                        .order_by("next_attempt_at", "id").limit(limit).values_list("id", flat=True))
    claimed = []
    for message_id in candidates:
        token = secrets.token_hex(12)
        won = await (OutboxMessage.filter(id=message_id, status=OutboxStatus.PENDING)
                     .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                     .update(claimed_until=now + timedelta(seconds=claim_seconds), claim_token=token))
        if won == 1:
            claimed.append((await OutboxMessage.get(id=message_id), token))
    return claimed


async def send_one(settings: Settings, client: ConfiguredWeChatClient, message: OutboxMessage, token: str,
                   now: datetime, report: SendReport) -> None:
    if message.channel.startswith(SMS_CHANNEL_PREFIX):
        await send_sms_one(settings, message, token, now, report)
        return
    if message.channel:
        await send_desk_one(settings, message, token, now, report)
        return
    user = await User.get_or_none(id=message.user_id)
    template = template_for(settings, message.kind)
    problem = None
    if user is None or not user.openid:
        problem = "the user has no WeChat openid"
    elif not template or not template.get("template_id"):
        problem = f"no template configured for {message.kind}"
    if problem:
        await finish_claimed(message, token, status=OutboxStatus.UNDELIVERABLE, last_error=problem[:500])
        report.undeliverable += 1
        return
    assert user is not None and user.openid and template  # each checked above
    openid = user.openid
    tz = ZoneInfo(settings.business_timezone)
    try:
        data = render_data(template.get("fields", {}), message.payload, tz)
    except (ValueError, TypeError) as exc:
        await finish_claimed(message, token, status=OutboxStatus.UNDELIVERABLE, attempts=message.attempts + 1,
                      last_error=f"cannot render: {exc}"[:500])
        report.undeliverable += 1
        return
    page = render_page(template.get("page"), message.payload)
    errcode: int | None = None
    error = ""
    try:
        await call_wechat(client, lambda: send_subscribe_message(
            client, openid=openid, template_id=template["template_id"], data=data, page=page,
            miniprogram_state=settings.wechat_miniprogram_state, lang=settings.notify_lang))
    except WeChatClientException as exc:
        errcode, error = exc.errcode, f"WeChat errcode {exc.errcode}: {exc.errmsg}"
    except Exception as exc:  # noqa: BLE001 - network and transport errors are retried
        error = f"{type(exc).__name__}: {exc}"
    else:
        await finish_claimed(message, token, status=OutboxStatus.SENT, attempts=message.attempts + 1, sent_at=now,
                      last_errcode=None, last_error="")
        report.sent += 1
        return
    if errcode == NOT_SUBSCRIBED:
        await finish_claimed(message, token, status=OutboxStatus.UNDELIVERABLE, attempts=message.attempts + 1,
                      last_errcode=errcode, last_error=error[:500])
        report.undeliverable += 1
        return
    await record_failure(settings, message, token, now, report, errcode=errcode, error=error)


async def send_desk_one(settings: Settings, message: OutboxMessage, token: str, now: datetime,
                        report: SendReport) -> None:
    """Deliver a desk message (WeCom / DingTalk) to its channel; same claim, retry and alert as WeChat."""
    from notifications.choices import DESK_KIND_PREFIX, DeskEvent
    from notifications.desk import channel_named, render_text
    from notifications.desk_send import DeskSendError, deliver

    channel = channel_named(settings, message.channel)
    if channel is None:
        await finish_claimed(message, token, status=OutboxStatus.UNDELIVERABLE,
                      last_error=f"desk channel {message.channel} is no longer configured"[:500])
        report.undeliverable += 1
        return
    title, text = render_text(DeskEvent(message.kind.removeprefix(DESK_KIND_PREFIX)), message.payload)
    try:
        await asyncio.to_thread(deliver, channel, title, text, timeout=settings.desk_timeout_seconds,
                                wecom_api_base=settings.wecom_api_base, now_ms=int(now.timestamp() * 1000))
    except DeskSendError as exc:
        await record_failure(settings, message, token, now, report, errcode=exc.errcode,
                             error=f"{channel.type} {exc.errcode}: {exc.message}", permanent=exc.permanent)
        return
    await finish_claimed(message, token, status=OutboxStatus.SENT, attempts=message.attempts + 1, sent_at=now,
                  last_errcode=None, last_error="")
    report.sent += 1


async def send_due(settings: Settings, now: datetime, *, client: ConfiguredWeChatClient | None = None,
                   limit: int | None = None) -> SendReport:
    """One pass: send every due message (up to the batch size)."""
    report = SendReport()
    claimed = await claim_due(now, limit=limit or settings.outbox_batch_size,
                              claim_seconds=settings.outbox_claim_seconds)
    if not claimed:
        return report
    client = client or build_client(settings)
    for message, token in claimed:
        report.ids.append(message.id)
        try:
            await send_one(settings, client, message, token, now, report)
        except Exception:  # noqa: BLE001 - one bad row never stops the others; the claim expires and it retries
            log.exception("outbox message %s could not be processed", message.id)
    return report


async def run_outbox(settings: Settings, clock: Clock, stop: asyncio.Event) -> None:
    """Background service: send due messages until ``stop`` is set."""
    client = build_client(settings)
    while not stop.is_set():
        try:
            report = await send_due(settings, clock.now(), client=client)
        except Exception:  # noqa: BLE001 - keep the worker alive (e.g. database restarting)
            log.exception("outbox pass failed")
            report = SendReport()
        if report.handled:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.outbox_poll_seconds)
