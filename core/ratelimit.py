"""A sliding-window rate limiter: pure, in memory, time passed in by the caller.

Each key (``"bind:token:…"``, ``"login:addr:10.0.0.7"``) keeps the times of its last ``limit`` accepted hits; a
hit is refused while ``limit`` of them lie inside the window, and the answer says how long until the oldest
leaves it. No I/O and no clock of its own, so a table of (times → decisions) tests it exactly and the routes
pass the app's injectable clock. State lives in one process: with several workers each keeps its own count
(docs/architecture.md, "Rate limits").
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateRule:
    """At most ``limit`` hits per ``window_seconds`` for one key; ``limit`` 0 turns the rule off."""

    limit: int
    window_seconds: float

    @classmethod
    def of(cls, pair: tuple[int, float] | list[float]) -> RateRule:
        limit, window = pair
        if limit < 0 or window <= 0:
            raise ValueError(f"a rate rule needs limit >= 0 and window > 0, got {pair!r}")
        return cls(int(limit), float(window))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int = 0  # whole seconds (the Retry-After header's unit), rounded up; 0 when allowed
    remaining: int = 0


class SlidingWindowLimiter:
    """Hits per key inside a sliding window. ``max_keys`` bounds memory: past it, keys whose hits all
    expired go first, then the least recently created ones."""

    def __init__(self, *, max_keys: int = 50_000):
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, rule: RateRule, now: float) -> Decision:
        """Count one attempt at ``now`` (seconds, any epoch) unless it is over the limit."""
        if rule.limit == 0:
            return Decision(True, 0, 0)
        hits = self._hits.get(key)
        if hits is None:
            self._make_room(now, rule.window_seconds)
            hits = self._hits[key] = deque()
        start = now - rule.window_seconds
        while hits and hits[0] <= start:
            hits.popleft()
        if len(hits) >= rule.limit:
            wait = hits[0] + rule.window_seconds - now
            return Decision(False, max(1, math.ceil(wait - 1e-9)), 0)
        hits.append(now)
        return Decision(True, 0, rule.limit - len(hits))

    def _make_room(self, now: float, window_seconds: float) -> None:
        if len(self._hits) < self.max_keys:
            return
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - window_seconds]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:
            del self._hits[next(iter(self._hits))]

    def __len__(self) -> int:
        return len(self._hits)
