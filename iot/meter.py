"""Pure rules for cumulative registers: consumption between two readings, resets, step-backs and spikes."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from iot.choices import SampleFlag

#: the smallest interval used to bound a plausible increase (two readings a second apart may still differ)
MIN_WINDOW_HOURS = 0.25


class Step(NamedTuple):  # immutable; a named tuple is much cheaper to build than a frozen dataclass (per sample)
    delta: float  # consumption attributed to the newer reading (never negative)
    flag: SampleFlag
    baseline: float | None  # the register value later readings are compared with
    pending: float | None  # a spike value waiting for a confirming reading


def plausible_limit(max_rate_per_hour: float, prev_at: datetime, at: datetime) -> float:
    hours = max((at - prev_at).total_seconds() / 3600.0, MIN_WINDOW_HOURS)
    return max_rate_per_hour * hours


def meter_step(prev_total: float | None, prev_at: datetime | None, total: float, at: datetime,
               max_rate_per_hour: float, pending: float | None = None) -> Step:
    """Consumption from ``prev_total`` to ``total``.

    - first reading: baseline only, no consumption;
    - a drop is a reset, never negative consumption: when the new value is itself plausible for the elapsed
      time the register restarted from zero and ``total`` was used since; a small step back (a power cut)
      or a drop to a large value (rollover, meter swap) counts zero and becomes the new baseline;
    - an implausible rise is flagged SPIKE and excluded; the baseline stays, unless the next reading confirms
      the new level (then the jump is still excluded and the new level becomes the baseline).
    """
    if prev_total is None or prev_at is None:
        return Step(0.0, SampleFlag.OK, total, None)
    limit = plausible_limit(max_rate_per_hour, prev_at, at)
    diff = total - prev_total
    if diff < 0:
        if total <= limit:
            return Step(total, SampleFlag.RESET, total, None)
        flag = SampleFlag.STEP_BACK if total >= prev_total * 0.9 else SampleFlag.RESET
        return Step(0.0, flag, total, None)
    if diff > limit:
        if pending is not None and 0 <= total - pending <= limit:
            return Step(max(0.0, total - pending), SampleFlag.OK, total, None)
        return Step(0.0, SampleFlag.SPIKE, prev_total, total)
    return Step(diff, SampleFlag.OK, total, None)
