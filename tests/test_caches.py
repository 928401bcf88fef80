"""Per-worker caches (core.changes): the database triggers record every change the caches depend on, the feed
drops the touched entries, a change made elsewhere shows within the poll interval, a worker's own write at once."""

import asyncio
from datetime import timedelta

import pytest
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from accounts.choices import Role
from alerts.choices import AlertStatus
from api.app import create_app
from core.changes import ALL, UNIT, USER, ChangeFeed, InvalidatingCache
from models.accounts import User
from models.alerts import Alert
from models.changes import ChangeRecord
from models.leasing import Tenant
from models.portfolio import BuildingStaff, Unit
from tests.support.asgi import AppClient
from tests.support.db import on_postgres
from tests.support.inspections_helpers import sticker
from tests.test_inspections_reports import post


async def changes_since(last_id: int) -> list[tuple[str, int]]:
    rows = await ChangeRecord.filter(id__gt=last_id).order_by("id").values_list("kind", "ref")
    return [tuple(r) for r in rows]


async def newest_change_id() -> int:
    row = await ChangeRecord.all().order_by("-id").first()
    return row.id if row else 0


# --------------------------------------------------------------------------- what the triggers record

async def test_triggers_record_the_rows_the_caches_depend_on(world):
    a = world.a
    start = await newest_change_id()
    await Unit.filter(id=a.unit.id).update(name="新名")
    await Alert.create(unit_id=a.unit.id, building_id=a.building.id, type="DOOR_OPEN_WHILE_VACANT",
                       open_key=f"{a.unit.id}:test", first_seen=world.now, last_seen=world.now,
                       explanation="test", evidence={})
    await User.filter(id=a.inspector.id).update(token_version=5)
    await BuildingStaff.filter(user_id=a.finance.id).delete()
    await Tenant.filter(id=a.lease.tenant_id).update(name="改名")
    assert await changes_since(start) == [(UNIT, a.unit.id), (UNIT, a.unit.id), (USER, a.inspector.id),
                                          (USER, a.finance.id), (ALL, 0)]


async def test_updates_the_card_does_not_show_are_not_recorded(world):
    a = world.a
    alert = await Alert.create(unit_id=a.unit.id, building_id=a.building.id, type="NO_ACTIVITY",
                               open_key=f"{a.unit.id}:na", first_seen=world.now, last_seen=world.now,
                               explanation="test", evidence={})
    start = await newest_change_id()
    alert.last_seen = world.now + timedelta(hours=1)
    alert.count = 7
    await alert.save()  # a repeated trigger: last_seen and count only
    await Tenant.filter(id=a.lease.tenant_id).update(phone="13900000000")
    assert await changes_since(start) == []
    await Alert.filter(id=alert.id).update(status=AlertStatus.ACKNOWLEDGED)
    assert await changes_since(start) == [(UNIT, a.unit.id)]


async def test_row_counts_leave_out_rows_written_by_triggers(world):
    """A conditional update of one tracked row reports 1 on both databases (core.sqlite_engine)."""
    unit = world.a.unit
    won = await Unit.filter(id=unit.id, status_version=unit.status_version).update(name="x")
    lost = await Unit.filter(id=unit.id, status_version=unit.status_version + 99).update(name="y")
    assert (won, lost) == (1, 0)
    async with in_transaction():
        assert await Unit.filter(id=unit.id).update(name="z") == 1


# --------------------------------------------------------------------------- the feed and the cache

async def make_cache(clock, poll_seconds=1.0, ttl=60.0, max_entries=100):
    feed = ChangeFeed(clock, poll_seconds)
    cache = InvalidatingCache(feed, clock, ttl_seconds=ttl, max_entries=max_entries)
    assert await cache.get("warm-up") is None  # first poll: the baseline
    return feed, cache


async def test_a_change_elsewhere_shows_after_the_poll_interval(world, clock):
    feed, cache = await make_cache(clock, poll_seconds=1.0)
    unit = world.a.unit
    cache.put("card", "old", [(UNIT, unit.id)], cache.begin())
    cache.put("other", "kept", [(UNIT, world.a.occupied_unit.id)], cache.begin())
    await Unit.filter(id=unit.id).update(name="changed by another process")
    assert await cache.get("card") == "old"  # within the poll interval: still the cached value
    clock.advance(seconds=1)
    assert await cache.get("card") is None
    assert await cache.get("other") == "kept"


async def test_own_write_shows_at_once(world, clock):
    feed, cache = await make_cache(clock, poll_seconds=60)
    cache.put("card", "old", [(UNIT, world.a.unit.id)], cache.begin())
    await Unit.filter(id=world.a.unit.id).update(name="changed here")
    feed.mark_dirty()
    assert await cache.get("card") is None


async def test_a_value_read_before_a_change_is_not_stored_after_it(world, clock):
    feed, cache = await make_cache(clock, poll_seconds=0)
    fill = cache.begin()  # a request starts reading the database ...
    await Unit.filter(id=world.a.unit.id).update(name="changed meanwhile")
    assert await cache.get("another key") is None  # ... another request polls and applies the change ...
    cache.put("card", "stale", [(UNIT, world.a.unit.id)], fill)  # ... so the first one's value is not kept
    assert await cache.get("card") is None


async def test_ttl_and_size_bound(world, clock):
    feed, cache = await make_cache(clock, ttl=30, max_entries=2)
    for key in ("a", "b", "c"):
        cache.put(key, key.upper(), [(UNIT, 1)], cache.begin())
    assert len(cache) == 2 and await cache.get("a") is None and await cache.get("c") == "C"
    clock.advance(seconds=30)
    assert await cache.get("c") is None


async def test_an_idle_worker_starts_over(world, clock):
    feed, cache = await make_cache(clock)
    cache.put("card", "old", [(UNIT, world.a.unit.id)], cache.begin())
    clock.advance(feed.RETENTION)  # older log rows may have been pruned meanwhile: drop everything
    assert await cache.get("card") is None


async def test_an_unreadable_change_log_bypasses_the_cache(world, clock):
    feed, cache = await make_cache(clock, poll_seconds=0)
    cache.put("card", "old", [(UNIT, world.a.unit.id)], cache.begin())
    await get_connection("default").execute_script("ALTER TABLE change_log RENAME TO change_log_gone")
    try:
        assert await feed.refresh() is False
        assert await cache.get("card") is None and len(cache) == 0
    finally:
        await get_connection("default").execute_script("ALTER TABLE change_log_gone RENAME TO change_log")
    assert await feed.refresh() is True


@pytest.mark.skipif(not on_postgres(), reason="two concurrent transactions need PostgreSQL")
async def test_a_change_committed_late_is_still_applied(world, clock):
    """Change rows become visible in commit order: a row written early but committed after a later one is
    still read (the overlap window) and applied once."""
    feed, cache = await make_cache(clock, poll_seconds=0)
    early, late = world.a.unit, world.a.occupied_unit
    cache.put("early", "old", [(UNIT, early.id)], cache.begin())
    written, release = asyncio.Event(), asyncio.Event()

    async def slow_transaction():
        async with in_transaction():
            await Unit.filter(id=early.id).update(name="early, committed last")
            written.set()
            await release.wait()

    task = asyncio.create_task(slow_transaction())  # its own connection (the task copies no transaction)
    await written.wait()
    await Unit.filter(id=late.id).update(name="late, committed first")
    assert await cache.get("early") == "old"  # the later change is read; the earlier one is not visible yet
    release.set()
    await task
    assert await cache.get("early") is None
    cache.put("early", "new", [(UNIT, early.id)], cache.begin())
    assert await cache.get("early") == "new"  # applied once, not again on the next poll


# --------------------------------------------------------------------------- through the API

async def test_scan_card_follows_changes_made_outside_the_request(client, world):
    a = world.a
    auth = world.auth(a.inspector)
    first = await post(client, "/api/v1/scan", {"qr": sticker(a.unit)}, auth)
    assert "UNEXPECTED_ACTIVITY" not in [x["type"] for x in first.json["active_alerts"]]
    await Alert.create(unit_id=a.unit.id, building_id=a.building.id, type="UNEXPECTED_ACTIVITY",
                       open_key=f"{a.unit.id}:unexpected", first_seen=world.now, last_seen=world.now,
                       explanation="night-time activity", evidence={})  # as the MQTT consumer process would
    second = await post(client, "/api/v1/scan", {"qr": sticker(a.unit)}, auth)
    assert "UNEXPECTED_ACTIVITY" in [x["type"] for x in second.json["active_alerts"]]
    assert client.sanic_app.ctx.cards.hits == 0  # the alert dropped the cached card
    third = await post(client, "/api/v1/scan", {"qr": sticker(a.unit)}, auth)
    assert third.json == second.json and client.sanic_app.ctx.cards.hits == 1


async def test_revocation_and_scope_changes_reach_a_cached_principal(client, world):
    a = world.a
    auth = world.auth(a.inspector)
    assert (await post(client, "/api/v1/scan", {"qr": sticker(a.unit)}, auth)).status == 200
    await BuildingStaff.filter(user_id=a.inspector.id).delete()  # taken off building A
    assert (await post(client, "/api/v1/scan", {"qr": sticker(a.unit)}, auth)).status == 404
    await User.filter(id=a.inspector.id).update(is_active=False)
    _, me = await client.get("/api/v1/auth/me", headers=auth)
    assert (me.status, me.json["error"]["code"]) == (401, "INVALID_TOKEN")


async def test_another_worker_sees_a_revocation_within_the_poll_interval(settings, clock, world):
    """Two workers (apps) on one database: worker 2 revokes, worker 1 refuses the token once it polls."""
    worker_settings = settings.model_copy(update={"cache_poll_seconds": 1.0})
    worker1 = AppClient(create_app(worker_settings, clock=clock, manage_db=False))
    worker2 = AppClient(create_app(worker_settings, clock=clock, manage_db=False))
    admin, inspector = world.admin, world.a.inspector
    _, ok = await worker1.get("/api/v1/auth/me", headers=world.auth(inspector))
    assert ok.status == 200
    await User.filter(id=inspector.id).update(token_version=inspector.token_version + 1)  # e.g. by worker 2
    _, still = await worker1.get("/api/v1/auth/me", headers=world.auth(inspector))
    assert still.status == 200  # the documented bound: up to cache_poll_seconds
    clock.advance(seconds=1)
    _, refused = await worker1.get("/api/v1/auth/me", headers=world.auth(inspector))
    assert (refused.status, refused.json["error"]["code"]) == (401, "INVALID_TOKEN")
    _, other = await worker2.get("/api/v1/auth/me", headers=world.auth(admin))
    assert other.status == 200 and other.json["role"] == Role.ADMIN


async def test_a_reissued_sticker_is_revoked_even_when_the_card_was_cached(client, world):
    a = world.a
    old = sticker(a.unit)
    assert (await post(client, "/api/v1/scan", {"qr": old}, world.auth(a.manager))).status == 200
    _, resp = await client.post(f"/api/v1/units/{a.unit.code}/sticker/reissue", headers=world.auth(a.manager))
    assert resp.status == 200, resp.json
    again = await post(client, "/api/v1/scan", {"qr": old}, world.auth(a.manager))
    assert (again.status, again.json["error"]["code"]) == (410, "REVOKED_QR")
