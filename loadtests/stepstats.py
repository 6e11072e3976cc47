"""One readiness step's statistics against an SLO: latency quantiles of answered requests, the error ratio, margins.

Latency runs from the intended send time to the answer's last byte; its quantiles are over the
*answered* requests (a fast 503 does not make the platform look quick), the error ratio over all
requests — the same definitions as loadtests/truth.py. A step's window is cut into batches (the
master's checkpoints); the spread of the batches' statistics gives each statistic's standard error
(batch means, which honours the correlation of a queue's successive latencies). Pure arithmetic:
the master's watch (inside Locust) and the finder (outside) both use it. Latencies in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from loadtests.slo import Slo

# Student's t, two-sided 95 %, by degrees of freedom (batches - 1); 2.0 beyond the table.
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23,
       12: 2.18, 15: 2.13, 20: 2.09, 30: 2.04}
# "Clearly broken" while a step runs (the watch stops it): a latency bound exceeded by half again,
# or errors three times their bound with enough refusals that it is no fluke.
CLEAR_LATENCY_FACTOR = 1.5
CLEAR_ERROR_FACTOR = 3.0
CLEAR_MIN_FAILED = 50
CLEAR_MIN_TAIL = 50            # answered requests beyond a quantile before it is trusted
CLEAR_MIN_SECONDS = 3.0        # judged over at least this long (a second's burst of arrivals is no verdict)
ERROR_FLOOR = 0.5              # refusals added to a count of 0 so its log margin stays finite


def quantile_seconds(counts_ms: Mapping[int, int], q: float) -> float:
    """The q-quantile (0-1) of latencies kept as ms -> count, in seconds; 0 when empty."""
    total = sum(counts_ms.values())
    if not total:
        return 0.0
    running = 0
    for ms, count in sorted(counts_ms.items()):
        running += count
        if running >= q * total:
            return ms / 1000
    return max(counts_ms) / 1000


def difference(newer: Mapping[int, int], older: Mapping[int, int]) -> dict[int, int]:
    """Counts recorded between two cumulative snapshots (ms -> count)."""
    return {ms: count - older.get(ms, 0) for ms, count in newer.items() if count - older.get(ms, 0) > 0}


def clearly_broken(slo: Slo, answered_ms: Mapping[int, int], failed: int) -> str | None:
    """Which bound of the SLO these counts break beyond doubt ("p95", "errors"), or None."""
    answered = sum(answered_ms.values())
    if slo.error_ratio is not None and failed >= CLEAR_MIN_FAILED \
            and failed / (answered + failed) > CLEAR_ERROR_FACTOR * slo.error_ratio:
        return "errors"
    for q, bound in slo.latency_bounds().items():
        if answered * (1 - q) >= CLEAR_MIN_TAIL and quantile_seconds(answered_ms, q) > CLEAR_LATENCY_FACTOR * bound:
            return f"p{round(q * 100)}"
    return None


@dataclass(frozen=True)
class Batch:
    """What one slice of a step's window counted."""

    seconds: float
    answered_ms: dict[int, int]
    failed: int


def _t95(degrees: int) -> float:
    known = [d for d in sorted(T95) if d <= degrees]
    return T95[known[-1]] if known else T95[1]


@dataclass(frozen=True)
class Estimate:
    """A statistic over a step's window and its 95 % half-width (batch means; inf with fewer than 2 batches)."""

    value: float
    half_width: float


def _estimate(pooled: float, per_batch: Sequence[float]) -> Estimate:
    if len(per_batch) < 2:
        return Estimate(pooled, math.inf)
    mean = sum(per_batch) / len(per_batch)
    variance = sum((x - mean) ** 2 for x in per_batch) / (len(per_batch) - 1)
    return Estimate(pooled, _t95(len(per_batch) - 1) * math.sqrt(variance / len(per_batch)))


def estimates(slo: Slo, batches: Sequence[Batch]) -> dict[str, Estimate]:
    """Each bounded statistic of the SLO over the batches pooled ("p95" in s, "errors" a ratio), with its half-width."""
    pooled: dict[int, int] = {}
    failed = 0
    for batch in batches:
        for ms, count in batch.answered_ms.items():
            pooled[ms] = pooled.get(ms, 0) + count
        failed += batch.failed
    answered = sum(pooled.values())
    result: dict[str, Estimate] = {}
    useful = [b for b in batches if sum(b.answered_ms.values()) + b.failed > 0]
    for q in slo.latency_bounds():
        result[f"p{round(q * 100)}"] = _estimate(quantile_seconds(pooled, q),
                                                 [quantile_seconds(b.answered_ms, q) for b in useful if b.answered_ms])
    if slo.error_ratio is not None:
        ratios = [b.failed / (sum(b.answered_ms.values()) + b.failed) for b in useful]
        result["errors"] = _estimate(failed / (answered + failed) if answered + failed else 0.0, ratios)
    return result


def bound_of(slo: Slo, statistic: str) -> float:
    """The SLO's bound on a statistic named as `estimates` names it."""
    if statistic == "errors":
        return slo.error_ratio
    return slo.latency_bounds()[int(statistic[1:]) / 100]


@dataclass(frozen=True)
class Margins:
    """How far a step is from the SLO: max over bounds of log(statistic / bound); <= 0 is within it."""

    point: float
    upper: float      # with every statistic at the top of its 95 % interval
    lower: float      # at the bottom


def margins(slo: Slo, found: Mapping[str, Estimate], requests: int) -> Margins:
    """The step's margins; an error ratio of 0 counts as ERROR_FLOOR refusals so its log stays finite."""
    floor = ERROR_FLOOR / max(1, requests)
    point = upper = lower = -math.inf
    for statistic, estimate in found.items():
        bound = bound_of(slo, statistic)
        value = max(estimate.value, floor)
        point = max(point, math.log(value / bound))
        upper = max(upper, math.log(max(value + estimate.half_width, floor) / bound) if math.isfinite(
            estimate.half_width) else math.inf)
        lower = max(lower, math.log(max(value - estimate.half_width, floor) / bound))
    return Margins(point, upper, lower)
