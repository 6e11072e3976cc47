"""The ndt7 server's per-probe rate limit: token buckets whose memory is bounded.

A key whose bucket has refilled is forgotten (it is the same as a key never seen), and beyond
`max_keys` the least recently used key is forgotten too, so no stream of new keys grows memory.
With signed tokens the keys are verified probe ids, far fewer than the cap.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class BoundedBuckets:
    """`per_hour` tests per key per hour in bursts of at most `burst`, over at most `max_keys` keys."""

    def __init__(self, per_hour: float, burst: int, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic):
        if max_keys < 1:
            raise ValueError(f"max_keys={max_keys}: must be at least 1")
        self.per_hour, self.burst, self.max_keys, self.clock = per_hour, burst, max_keys, clock
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()   # key -> (level, last), oldest first

    def __len__(self) -> int:
        """Keys remembered now."""
        return len(self._levels)

    def take(self, key: str) -> float:
        """Take one test for `key`: 0.0 if allowed, else the seconds to wait before the next is."""
        now = self.clock()
        rate = self.per_hour / 3600.0
        self._forget_refilled(now, rate)
        level, last = self._levels.pop(key, (float(self.burst), now))
        level = min(float(self.burst), level + (now - last) * rate)
        allowed = level >= 1.0
        self._levels[key] = (level - 1.0 if allowed else level, now)
        while len(self._levels) > self.max_keys:
            self._levels.popitem(last=False)
        if allowed:
            return 0.0
        return (1.0 - level) / rate if rate > 0 else float("inf")

    def _forget_refilled(self, now: float, rate: float) -> None:
        """Drop the least recently used keys whose buckets are full again."""
        while self._levels and rate > 0:
            key, (level, last) = next(iter(self._levels.items()))
            if level + (now - last) * rate < self.burst:
                return
            del self._levels[key]
