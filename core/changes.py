"""Per-worker caches kept correct by the database's own change log.

Hot read paths (who is calling, the scanned unit's card) are served from memory in each Sanic worker. Every
row change they depend on is recorded by a database trigger into ``change_log`` — whoever writes it: another
worker, the MQTT consumer process, a CLI job, a bulk update or raw SQL — and each worker reads the log at
most every ``cache_poll_seconds`` (and before its next cached read after it wrote something itself), dropping
the entries the changes touch. So a change made elsewhere is visible within the poll interval; a cache entry
also expires after its TTL as a safety net.

Why a polled log and not LISTEN/NOTIFY: it works the same on SQLite (the single-machine default) and
PostgreSQL, and it is durable — a worker that was busy or briefly disconnected catches up instead of
missing a notification. Rows are read by the database clock with an overlap window, because change ids and
timestamps become visible in commit order, not in the order they were taken; ids already handled are
remembered for the window so each change is applied once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from core import sql
from core.clock import Clock

log = logging.getLogger("rentwatch.cache")

ALL = "all"  # kind of a change that concerns every cached entry (a building renamed, a tenant renamed)
UNIT = "unit"
USER = "user"


# --------------------------------------------------------------------------- what the triggers record

@dataclass(frozen=True)
class Tracked:
    """A table whose changes the caches depend on. ``ref_column`` names the id recorded (None: kind ALL);
    ``update_columns`` limits which updates count (None: any update; empty: none)."""

    table: str
    kind: str
    ref_column: str | None
    update_columns: tuple[str, ...] | None = None
    on_insert: bool = True
    on_delete: bool = True


#: Migration 0002 holds the DDL generated from this table as it was then: a change here needs a new migration
#: that installs the new statements (``trigger_statements``); test set-ups install from here directly.
TRACKED: tuple[Tracked, ...] = (
    Tracked("units", UNIT, "id"),
    Tracked("leases", UNIT, "unit_id"),
    Tracked("work_orders", UNIT, "unit_id"),
    # alerts are touched on every repeated trigger (last_seen, count); only a change the card shows counts
    Tracked("alerts", UNIT, "unit_id", update_columns=("unit_id", "type", "severity", "status")),
    Tracked("status_reports", UNIT, "unit_id"),
    Tracked("buildings", ALL, None, on_insert=False),
    Tracked("tenants", ALL, None, update_columns=("name",), on_insert=False, on_delete=False),
    Tracked("users", USER, "id", update_columns=("role", "is_active", "token_version", "name", "tenant_id"),
            on_insert=False),
    Tracked("building_staff", USER, "user_id"),
)

_PG_NOW_US = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"


def _pg_function(t: Tracked) -> str:
    """One small function per table (NEW/OLD columns named directly: cheaper than a generic to_jsonb lookup)."""
    insert = "INSERT INTO change_log (kind, ref, at_us) VALUES ('{kind}', {ref}, {now});"
    if t.ref_column is None:
        body = insert.format(kind=t.kind, ref=0, now=_PG_NOW_US)
    else:
        col = t.ref_column
        body = (f"IF TG_OP <> 'DELETE' AND NEW.{col} IS NOT NULL THEN "
                f"{insert.format(kind=t.kind, ref=f'NEW.{col}', now=_PG_NOW_US)} END IF; "
                f"IF TG_OP <> 'INSERT' AND OLD.{col} IS NOT NULL "
                f"AND (TG_OP = 'DELETE' OR OLD.{col} IS DISTINCT FROM NEW.{col}) THEN "
                f"{insert.format(kind=t.kind, ref=f'OLD.{col}', now=_PG_NOW_US)} END IF;")
    return (f"CREATE OR REPLACE FUNCTION rw_change_{t.table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$")


_SQLITE_NOW_US = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER)"


def _pg_statements(t: Tracked) -> list[str]:
    name = f"rw_change_{t.table}"
    out = [_pg_function(t), f"DROP TRIGGER IF EXISTS {name} ON {t.table}",
           f"DROP TRIGGER IF EXISTS {name}_upd ON {t.table}"]
    plain = [e for e, on in (("INSERT", t.on_insert), ("DELETE", t.on_delete)) if on]
    if t.update_columns is None:
        plain.append("UPDATE")
    if plain:
        out.append(f"CREATE TRIGGER {name} AFTER {' OR '.join(plain)} ON {t.table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {name}()")
    if t.update_columns:
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in t.update_columns)
        out.append(f"CREATE TRIGGER {name}_upd AFTER UPDATE ON {t.table} FOR EACH ROW WHEN ({changed}) "
                   f"EXECUTE FUNCTION {name}()")
    return out


def _sqlite_statements(t: Tracked) -> list[str]:
    def insert(row: str, extra: str = "") -> str:
        if t.ref_column is None:
            return f"INSERT INTO change_log (kind, ref, at_us) VALUES ('{t.kind}', 0, {_SQLITE_NOW_US});"
        ref = f"{row}.{t.ref_column}"
        return (f"INSERT INTO change_log (kind, ref, at_us) SELECT '{t.kind}', {ref}, {_SQLITE_NOW_US} "
                f"WHERE {ref} IS NOT NULL{extra};")

    name = f"rw_change_{t.table}"
    out = [f"DROP TRIGGER IF EXISTS {name}_{e}" for e in ("ins", "upd", "del")]
    if t.on_insert:
        out.append(f"CREATE TRIGGER {name}_ins AFTER INSERT ON {t.table} BEGIN {insert('NEW')} END")
    if t.on_delete:
        out.append(f"CREATE TRIGGER {name}_del AFTER DELETE ON {t.table} BEGIN {insert('OLD')} END")
    if t.update_columns != ():
        when = ""
        if t.update_columns:
            when = " WHEN " + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in t.update_columns)
        body = insert("NEW")
        if t.ref_column is not None:
            body += " " + insert("OLD", f" AND OLD.{t.ref_column} IS NOT NEW.{t.ref_column}")
        out.append(f"CREATE TRIGGER {name}_upd AFTER UPDATE ON {t.table}{when} BEGIN {body} END")
    return out


def trigger_statements(dialect: str) -> list[str]:
    """The DDL that makes the database record changes; idempotent (drop and create)."""
    if dialect == "postgres":
        return [s for t in TRACKED for s in _pg_statements(t)]
    if dialect == "sqlite":
        return [s for t in TRACKED for s in _sqlite_statements(t)]
    raise ValueError(f"no change triggers for the {dialect} dialect")


def drop_statements(dialect: str) -> list[str]:
    """Undo ``trigger_statements`` (the migration's reverse)."""
    if dialect == "postgres":
        return [f"DROP TRIGGER IF EXISTS rw_change_{t.table}{suffix} ON {t.table}"
                for t in TRACKED for suffix in ("", "_upd")] + \
            [f"DROP FUNCTION IF EXISTS rw_change_{t.table}()" for t in TRACKED]
    return [f"DROP TRIGGER IF EXISTS rw_change_{t.table}_{e}" for t in TRACKED for e in ("ins", "upd", "del")]


async def install_change_triggers(connection=None) -> None:
    """Run by the migration that introduces the change log, and by test set-ups that build schemas directly."""
    if connection is None:
        from tortoise.connection import get_connection

        connection = get_connection("default")
    for statement in trigger_statements(connection.capabilities.dialect):
        await connection.execute_script(statement)


# --------------------------------------------------------------------------- reading the log

Listener = Callable[[str, "set[int] | None"], None]  # (kind, refs); refs None: drop everything


class ChangeFeed:
    """One per worker (app). ``refresh()`` before a cached read: polls when due and tells whether cached
    values may be used (False while the log cannot be read: callers then go to the database)."""

    OVERLAP_US = 60 * 1_000_000  # longest time from a trigger firing to its commit that is still caught
    RETENTION = timedelta(minutes=10)  # rows older than this are pruned; a worker idle longer re-baselines
    PRUNE_EVERY = timedelta(minutes=1)
    BATCH_LIMIT = 5000  # more new rows than this in one poll: drop everything and re-baseline

    def __init__(self, clock: Clock, poll_seconds: float, *, enabled: bool = True):
        self.clock = clock
        self.poll_interval = timedelta(seconds=poll_seconds)
        self.enabled = enabled
        self.listeners: list[Listener] = []
        self.polls = 0
        self._since_us: int | None = None
        self._seen: dict[int, int] = {}
        self._next_poll: datetime | None = None
        self._last_poll: datetime | None = None
        self._next_prune: datetime | None = None
        self._dirty = True
        self._lock = asyncio.Lock()

    def listen(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def mark_dirty(self) -> None:
        """This worker wrote something: poll before the next cached read, so its own writes show at once."""
        self._dirty = True

    async def refresh(self) -> bool:
        if not self.enabled:
            return False
        if not self._poll_due():
            return True
        async with self._lock:
            if self._poll_due():
                try:
                    await self.poll()
                except Exception:  # noqa: BLE001 - the log is unreadable: serve from the database until it is
                    log.exception("reading the change log failed; caches bypassed until it works again")
                    self._since_us = None
                    self._publish(ALL, None)
                    return False
        return True

    def _poll_due(self) -> bool:
        """This worker wrote, there is no baseline yet, or the poll interval has passed."""
        return (self._dirty or self._since_us is None or self._next_poll is None
                or self.clock.now() >= self._next_poll)

    async def poll(self) -> None:
        from tortoise.connection import get_connection

        conn = get_connection("default")
        now = self.clock.now()
        self._dirty = False
        self.polls += 1
        if self._since_us is None or self._last_poll is None or now - self._last_poll > self.RETENTION / 2:
            await self._baseline(conn)
        else:
            rows = await sql.execute(conn, f"SELECT id, kind, ref, at_us FROM change_log WHERE at_us >= ? ORDER BY id "
                                           f"LIMIT {self.BATCH_LIMIT + 1}", [self._since_us])
            if len(rows) > self.BATCH_LIMIT:
                await self._baseline(conn)
            else:
                self._apply(rows)
        self._last_poll = now
        self._next_poll = now + self.poll_interval
        if self._next_prune is None or now >= self._next_prune:
            self._next_prune = now + self.PRUNE_EVERY
            await self._prune(conn)

    async def _baseline(self, conn) -> None:
        """Start reading from the newest change: everything cached before is dropped."""
        _, rows = await conn.execute_query("SELECT max(at_us) AS newest FROM change_log")
        newest = rows[0]["newest"] if rows and rows[0]["newest"] is not None else 0
        self._since_us = int(newest) - self.OVERLAP_US
        rows = await sql.execute(conn, "SELECT id, at_us FROM change_log WHERE at_us >= ?", [self._since_us])
        self._seen = {int(r["id"]): int(r["at_us"]) for r in rows}
        self._publish(ALL, None)

    def _apply(self, rows: Iterable[Any]) -> None:
        assert self._since_us is not None  # rows are applied only after a baseline
        changed: dict[str, set[int]] = {}
        newest = self._since_us + self.OVERLAP_US
        for row in rows:
            change_id, at_us = int(row["id"]), int(row["at_us"])
            newest = max(newest, at_us)
            if change_id in self._seen:
                continue
            self._seen[change_id] = at_us
            changed.setdefault(row["kind"], set()).add(int(row["ref"]))
        self._since_us = newest - self.OVERLAP_US
        self._seen = {i: at for i, at in self._seen.items() if at >= self._since_us}
        if ALL in changed:
            self._publish(ALL, None)
            return
        for kind, refs in changed.items():
            self._publish(kind, refs)

    async def _prune(self, conn) -> None:
        assert self._since_us is not None  # pruned only after a poll, which leaves a baseline
        cutoff = self._since_us - int(self.RETENTION.total_seconds() * 1_000_000)
        await sql.execute(conn, "DELETE FROM change_log WHERE at_us < ?", [cutoff])

    def _publish(self, kind: str, refs: set[int] | None) -> None:
        for listener in self.listeners:
            listener(kind, refs)


# --------------------------------------------------------------------------- a cache that listens

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class InvalidatingCache(Generic[K, V]):
    """A bounded LRU of values tagged with (kind, id) pairs; a change of a tag drops its entries.

    Fill it with ``token = cache.begin()`` before reading the database and ``cache.put(key, value, tags, token)``
    after: a change applied in between makes ``put`` a no-op, so a value read before a change is never stored
    after it."""

    def __init__(self, feed: ChangeFeed, clock: Clock, *, ttl_seconds: float, max_entries: int):
        self.feed, self.clock = feed, clock
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_entries = max_entries
        self.enabled = feed.enabled and ttl_seconds > 0 and max_entries > 0
        self._entries: OrderedDict[K, tuple[V, datetime, tuple[tuple[str, int], ...]]] = OrderedDict()
        self._by_tag: dict[tuple[str, int], set[K]] = {}
        self.generation = 0
        self.hits = self.misses = 0
        feed.listen(self._on_change)

    async def get(self, key: K) -> V | None:
        if not self.enabled or not await self.feed.refresh():
            return None
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        value, expires, _ = entry
        if self.clock.now() >= expires:
            self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return value

    def begin(self) -> int:
        return self.generation

    def put(self, key: K, value: V, tags: Iterable[tuple[str, int]], token: int) -> None:
        if not self.enabled or token != self.generation:
            return
        tags = tuple(tags)
        self._drop(key)
        self._entries[key] = (value, self.clock.now() + self.ttl, tags)
        for tag in tags:
            self._by_tag.setdefault(tag, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        self._entries.clear()
        self._by_tag.clear()
        self.generation += 1

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: K) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for tag in entry[2]:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def _on_change(self, kind: str, refs: set[int] | None) -> None:
        if refs is None:
            self.clear()
            return
        self.generation += 1
        for ref in refs:
            for key in list(self._by_tag.get((kind, ref), ())):
                self._drop(key)
