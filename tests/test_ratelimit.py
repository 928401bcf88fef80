"""The sliding-window limiter (core.ratelimit): a table of hit times → decisions."""

from __future__ import annotations

import pytest

from core.ratelimit import Decision, RateRule, SlidingWindowLimiter

RULE = RateRule(limit=3, window_seconds=60)


@pytest.mark.parametrize(("times", "expected"), [
    ([0, 1, 2], [Decision(True, 0, 2), Decision(True, 0, 1), Decision(True, 0, 0)]),
    # the fourth inside the window is refused until the first hit (t=0) leaves it at t=60
    ([0, 1, 2, 3], [Decision(True, 0, 2), Decision(True, 0, 1), Decision(True, 0, 0), Decision(False, 57, 0)]),
    ([0, 1, 2, 59.5], [Decision(True, 0, 2), Decision(True, 0, 1), Decision(True, 0, 0), Decision(False, 1, 0)]),
    # exactly one window later the oldest hit no longer counts
    ([0, 1, 2, 60], [Decision(True, 0, 2), Decision(True, 0, 1), Decision(True, 0, 0), Decision(True, 0, 0)]),
    # a refused hit is not counted: it does not push the retry time out
    ([0, 10, 20, 30, 40, 60], [Decision(True, 0, 2), Decision(True, 0, 1), Decision(True, 0, 0),
                                Decision(False, 30, 0), Decision(False, 20, 0), Decision(True, 0, 0)]),
    # sliding, not fixed: after t=60 only the hits at 10 and 20 count
    ([0, 10, 20, 61, 62], [Decision(True, 0, 2), Decision(True, 0, 1), Decision(True, 0, 0),
                           Decision(True, 0, 0), Decision(False, 8, 0)]),
])
def test_sliding_window(times, expected):
    limiter = SlidingWindowLimiter()
    assert [limiter.hit("k", RULE, t) for t in times] == expected


def test_keys_are_counted_apart_and_zero_limit_is_off():
    limiter = SlidingWindowLimiter()
    one = RateRule(1, 60)
    assert limiter.hit("a", one, 0).allowed and limiter.hit("b", one, 0).allowed
    assert not limiter.hit("a", one, 1).allowed
    assert all(limiter.hit("c", RateRule(0, 60), t).allowed for t in range(100))


def test_memory_is_bounded_expired_keys_first():
    limiter = SlidingWindowLimiter(max_keys=3)
    one = RateRule(1, 60)
    limiter.hit("old", one, 0)
    limiter.hit("live1", one, 50)
    limiter.hit("live2", one, 55)
    limiter.hit("new", one, 70)  # "old" expired at 60: dropped, the live keys stay refused
    assert len(limiter) == 3
    assert not limiter.hit("live1", one, 71).allowed and not limiter.hit("live2", one, 71).allowed
    limiter.hit("newer", one, 72)  # none expired: the oldest created key goes
    assert len(limiter) == 3
    assert not limiter.hit("live2", one, 73).allowed  # kept
    assert limiter.hit("live1", one, 73).allowed  # evicted: counted afresh (the price of bounded memory)


@pytest.mark.parametrize("pair", [(-1, 60), (3, 0), (3, -5)])
def test_bad_rules_are_refused(pair):
    with pytest.raises(ValueError):
        RateRule.of(pair)
