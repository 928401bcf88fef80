from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress counter on stderr for long CLI operations."""

    def __init__(self, label: str, total: int | None = None, stream=sys.stderr):
        self.label, self.total, self.stream = label, total, stream
        self._last = 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        total = total or self.total
        now = time.monotonic()
        if now - self._last < 0.2 and done != total:
            return
        self._last = now
        suffix = f"{done}/{total} ({done * 100 // total}%)" if total else f"{done}"
        self.stream.write(f"\r{self.label}: {suffix}")
        if total and done >= total:
            self.stream.write("\n")
        self.stream.flush()
