"""Order statistics shared by probes, the store's roll-ups and the fleet simulator's reports."""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank percentile `share` (0-1) of values sorted ascending: the smallest value with at
    least `share` of them at or below it (the minimum for share 0). ValueError for no values."""
    if not ordered:
        raise ValueError("nearest_rank of no values")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share={share!r}: must be between 0 and 1")
    # Rounded first: 0.07 * 100 is 7.000000000000001 in floating point, and its rank is 7, not 8.
    rank = math.ceil(round(share * len(ordered), 9))
    return ordered[max(0, rank - 1)]
