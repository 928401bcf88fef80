"""enqueue_notification writes in the caller's transaction and dedupes by key."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from models.notifications import OutboxMessage
from notifications.choices import NotificationKind, OutboxStatus
from notifications.outbox import enqueue_notification


async def test_enqueue_creates_one_row_per_dedupe_key(world, clock):
    user = world.a.tenant_user
    first = await enqueue_notification(user_id=user.id, kind=NotificationKind.REFUND_STEP, dedupe_key="k:1",
                                       payload={"step": "APPLIED"}, now=clock.now())
    second = await enqueue_notification(user_id=user.id, kind=NotificationKind.REFUND_STEP, dedupe_key="k:1",
                                        payload={"step": "APPLIED"}, now=clock.now())
    assert first is not None and first.status == OutboxStatus.PENDING and first.next_attempt_at == clock.now()
    assert second is None
    assert await OutboxMessage.filter(dedupe_key="k:1").count() == 1


async def test_enqueue_rolls_back_with_the_callers_transaction(world, clock):
    user = world.a.tenant_user
    try:
        async with in_transaction():
            row = await enqueue_notification(user_id=user.id, kind="X", dedupe_key="k:rollback", payload={},
                                             now=clock.now())
            assert row is not None
            raise RuntimeError("the state change failed")
    except RuntimeError:
        pass
    assert await OutboxMessage.filter(dedupe_key="k:rollback").count() == 0


async def test_duplicate_inside_a_transaction_does_not_abort_it(world, clock):
    user = world.a.tenant_user
    await enqueue_notification(user_id=user.id, kind="X", dedupe_key="k:dup", payload={}, now=clock.now())
    async with in_transaction():
        assert await enqueue_notification(user_id=user.id, kind="X", dedupe_key="k:dup", payload={},
                                          now=clock.now()) is None
        # the transaction is still usable afterwards (on PostgreSQL a failed INSERT would abort it)
        other = await enqueue_notification(user_id=user.id, kind="X", dedupe_key="k:other", payload={},
                                           now=clock.now())
        assert other is not None
    assert await OutboxMessage.filter(dedupe_key__in=["k:dup", "k:other"]).count() == 2
