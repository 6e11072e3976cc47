"""From a search's steps to the verdict: the readiness, its uncertainty interval, and what it implies.

The readiness is where the steps' margins (log of each statistic over its bound, the worst bound)
cross 0, interpolated between the highest step within the SLO and the lowest step outside it. The
interval runs from the highest step within the SLO beyond doubt (every statistic at the top of its
95 % interval still within its bound; 0 when none) to the lowest step broken beyond doubt (at the
bottom of its interval still outside; inf when none). Rates in requests/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from loadtests.readiness.finder import Search, crossing
from loadtests.readiness.result import StepResult, StepStatus, Verdict


@dataclass(frozen=True)
class Bounds:
    """The readiness (requests/s) and its interval."""

    rate_rps: float
    low_rps: float
    high_rps: float


def sure_interval(clean: list[StepResult], rate_rps: float) -> tuple[float, float]:
    """(highest step at or below the rate within the SLO beyond doubt or 0, lowest above it broken beyond doubt or inf)."""
    low = max((s.intended_rps for s in clean if s.margin_upper <= 0 and s.intended_rps <= rate_rps), default=0.0)
    high = min((s.intended_rps for s in clean if s.margin_lower > 0 and s.intended_rps >= rate_rps), default=math.inf)
    return low, high


def estimate(search: Search) -> float | None:
    """Where the point margins cross 0 between the bracketing steps; None without a bracket."""
    met, broken = search.bracket()
    if met is None or broken is None:
        return None
    return crossing(met, broken, met.margin, broken.margin)


def knee(search: Search) -> Bounds | None:
    """The readiness and interval when a met step lies below a broken one; None otherwise."""
    rate = estimate(search)
    if rate is None:
        return None
    low, high = sure_interval(search.clean(), rate)
    return Bounds(rate, low, high)


def highest_met(search: Search) -> StepResult | None:
    """The highest step within the SLO below every broken one (the generator never bound there)."""
    return search.bracket()[0]


def reason(verdict: Verdict, bounds: Bounds, steps: list[StepResult], ceiling: float) -> str:
    """One sentence on the verdict for people."""
    if verdict is Verdict.KNEE:
        high = "" if math.isinf(bounds.high_rps) else f"{bounds.high_rps:,.0f}"
        return (f"within the SLO up to ~{bounds.rate_rps:,.0f} requests/s "
                f"(95 % interval {bounds.low_rps:,.0f}-{high or 'unbounded'})")
    if verdict is Verdict.BROKEN_AT_LOWEST:
        lowest = min(s.intended_rps for s in steps)
        return f"the SLO is broken already at the lowest step, {lowest:,.1f} requests/s: no sustainable rate"
    if verdict is Verdict.GENERATOR_BOUND:
        bound = next(s for s in steps if s.status is StepStatus.GENERATOR_BOUND)
        return (f"generator-bound at {bound.intended_rps:,.0f} requests/s (lag p99 {bound.lag_p99_seconds * 1000:g} ms, "
                f"sent/intended {bound.sent_ratio:.3f}): the load generator, not the platform, was the limit; "
                f"ready at least to {bounds.rate_rps:,.0f} requests/s — add workers or machines and run again")
    if verdict is Verdict.ABOVE_CAP:
        return f"within the SLO at {ceiling:,.0f} requests/s, the highest rate the profile's caps allow"
    return f"the budget ran out before the SLO broke; within it at least to {bounds.rate_rps:,.0f} requests/s"


def conclude(search: Search) -> tuple[Verdict, Bounds]:
    """The verdict and the readiness it reports (a lower bound when no knee was found)."""
    found = knee(search)
    generator_bound = any(s.status is StepStatus.GENERATOR_BOUND for s in search.steps)
    if found is not None:
        return Verdict.KNEE, found
    met = highest_met(search)
    floor = met.intended_rps if met else 0.0
    bounds = Bounds(floor, floor, math.inf)
    if generator_bound:
        return Verdict.GENERATOR_BOUND, bounds
    return search.verdict or Verdict.NOT_BRACKETED, bounds


def p95_at(search: Search, rate_rps: float) -> float:
    """The p95 (s) of the highest step within the SLO at or below a rate (0 when none)."""
    met = [s for s in search.clean() if s.status is StepStatus.MET and s.intended_rps <= rate_rps * 1.0001]
    return met[-1].p95_seconds if met else 0.0


def readiness_fields(search: Search, ceiling: float) -> dict:
    """The verdict's fields of a Readiness (the rest describes the platform and the run)."""
    verdict, bounds = conclude(search)
    return {"verdict": verdict, "requests_per_second": bounds.rate_rps, "interval_low_rps": bounds.low_rps,
            "interval_high_rps": bounds.high_rps, "p95_at_readiness_seconds": p95_at(search, bounds.rate_rps),
            "reason": reason(verdict, bounds, search.steps, ceiling), "steps": search.steps}

