"""The transactional outbox.

``enqueue_notification`` writes one row in the caller's transaction (Tortoise's ``in_transaction`` nests
through a context variable, so calling it inside ``async with in_transaction():`` makes the message part of
that transaction: rolled back with it, committed with it). The sender worker (notifications/sender.py)
delivers it later. ``dedupe_key`` is unique: enqueueing the same event twice yields one row, and the second
call returns None.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from models.notifications import OutboxMessage
from notifications.choices import OutboxStatus


async def enqueue_notification(*, user_id: int, kind: str, dedupe_key: str, payload: dict[str, Any],
                               now: datetime) -> OutboxMessage | None:
    """Write an outbox row for ``user_id``. Returns the new row, or None when ``dedupe_key`` already exists.

    Uses INSERT ... ON CONFLICT DO NOTHING (INSERT OR IGNORE on SQLite), so a duplicate never raises and never
    aborts the caller's PostgreSQL transaction. A random nonce in ``claim_token`` tells whether the row found
    afterwards is ours.
    """
    if not dedupe_key or len(dedupe_key) > 200:
        raise ValueError("dedupe_key must be 1..200 characters")
    nonce = "new:" + secrets.token_hex(8)
    await OutboxMessage.bulk_create(
        [OutboxMessage(user_id=user_id, kind=str(kind), dedupe_key=dedupe_key, payload=payload,
                       status=OutboxStatus.PENDING, next_attempt_at=now, enqueued_at=now, claim_token=nonce)],
        ignore_conflicts=True)
    row = await OutboxMessage.get_or_none(dedupe_key=dedupe_key)
    if row is None or row.claim_token != nonce:
        return None
    return row
