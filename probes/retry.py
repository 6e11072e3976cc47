"""When to try an upload again: full-jitter exponential backoff, and a busy server's `Retry-After` honoured.

One policy for every sender of batches: the probe's uploader and the centre's fleet uploader. A busy
answer (429 or 503) that says when to come back is obeyed within [1 s, the policy's maximum] (a proxy's
odd value can neither hammer the collector nor stall the sender); any other failure waits a uniform
random time up to initial × 2^failures, capped, so a fleet that failed together never retries together.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

BUSY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff bounds (seconds): the first ceiling and the largest wait."""

    initial_seconds: float = 1.0
    max_seconds: float = 300.0

    def backoff_seconds(self, failures: int) -> float:
        """Full jitter after `failures` failures in a row: uniform(0, min(max, initial × 2^failures))."""
        return random.uniform(0, min(self.max_seconds, self.initial_seconds * 2 ** min(failures, 64)))

    def busy_seconds(self, retry_after: str | None, now: float | None = None) -> float | None:
        """The wait a busy answer's `Retry-After` asks for, within [1 s, max]; None when it says nothing usable."""
        wait = retry_after_seconds(retry_after, now)
        return None if wait is None else min(max(wait, 1.0), self.max_seconds)


def retry_after_seconds(header: str | None, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date), or None."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        return max(0.0, parsedate_to_datetime(header).timestamp() - (now or time.time()))
    except (TypeError, ValueError):
        return None
