"""Token buckets keyed by a probe's token: rate limits per probe, never per IP (carrier NAT)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    """`per_hour` events per key per hour, in bursts of at most `burst`; the clock is injectable."""

    per_hour: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _levels: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str) -> float:
        """Take one event for `key`: 0.0 if allowed, else the seconds to wait before the next is."""
        now = self.clock()
        rate = self.per_hour / 3600.0
        level, last = self._levels.get(key, (float(self.burst), now))
        level = min(float(self.burst), level + (now - last) * rate)
        if level >= 1.0:
            self._levels[key] = (level - 1.0, now)
            return 0.0
        self._levels[key] = (level, now)
        return (1.0 - level) / rate if rate > 0 else float("inf")
