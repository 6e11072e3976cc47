"""The readiness search: bracket the knee by doubling or halving the arrival rate, then narrow it, within a budget.

Every step is a Locust run of the open model at one rate (loadtests.readiness.steps). The bracket
starts at `start_rps` and doubles while the SLO holds (never above the profile's caps) or halves
while it is broken (never below `lowest_rps`); then each step goes where the margins of the two
bracketing steps say the SLO crosses (clamped to the bracket's middle 40 %), until the bracket is
`target_width` narrow; then steps a little below and above the estimate until the SLO is shown met
and broken beyond doubt within CONFIRM of it, or the budget is spent. A step where the generator was
the limit is run once more; twice there ends the search, and no knee is called above it (a knee
needs a step within the SLO below a broken one, both with the generator in bounds). Rates in
requests/s, times in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.errors import CoreError
from loadtests.plan import Plan
from loadtests.readiness.result import StepResult, StepStatus, Verdict
from loadtests.readiness.steps import StepContext, run_step
from loadtests.shapes import shape

PLANNED_STEPS = 8              # a budget is shared among about this many steps
OVERHEAD_SECONDS = 4.0         # a step's processes starting and stopping (measured per run after the first)
MIN_HOLD_SECONDS = 6.0         # three batches of the master's 2 s checkpoints
MAX_HOLD_SECONDS = 60.0
SPREAD = 0.3                   # a narrowing step lands within the bracket's middle (1 - 2 * SPREAD)
CONFIRM = 0.08                 # once narrow, steps are added until the SLO is met and broken beyond doubt this near


@dataclass(frozen=True)
class FinderSettings:
    """How a search is run: its budget, where it starts, how far down it goes, when it stops narrowing."""

    budget_seconds: float = 300.0
    start_rps: float | None = None       # None: an eighth of the highest rate the caps allow
    lowest_rps: float | None = None      # None: an eighth of the start
    target_width: float = 0.04           # stop narrowing when (broken - met) / met is within this
    hold_seconds: float | None = None    # None: shared out of the budget


def max_rps(context: StepContext) -> float:
    """The highest step rate whose plan stays within the profile's limits.max_requests_per_second."""
    probe_rps = 100.0
    students = context.timing.students(probe_rps)
    plan = Plan(context.profile, shape("steady"), (students,), context.timing.duration_seconds,
                min(context.timing.cycle_seconds, context.timing.warm_up_seconds))
    peak_per_rps = plan.peak_requests_per_second() / (students * context.timing.requests_per_student_second)
    return 0.98 * context.profile.limits.max_requests_per_second / peak_per_rps


def hold_for(settings: FinderSettings, warm_up_seconds: float) -> float:
    """Seconds measured per step: the budget shared among PLANNED_STEPS; CoreError when it affords not one step."""
    if settings.hold_seconds is not None:
        return settings.hold_seconds
    one_step = OVERHEAD_SECONDS + warm_up_seconds + MIN_HOLD_SECONDS
    if settings.budget_seconds < one_step:
        raise CoreError.one("command line", "--budget", f"{settings.budget_seconds:g}s",
                            f"too short for one step of this platform (warm-up {warm_up_seconds:.0f} s + "
                            f"{MIN_HOLD_SECONDS:g} s measured + ~{OVERHEAD_SECONDS:g} s to start): give at least "
                            f"{one_step:.0f}s")
    share = settings.budget_seconds / PLANNED_STEPS - OVERHEAD_SECONDS - warm_up_seconds
    return min(MAX_HOLD_SECONDS, max(MIN_HOLD_SECONDS, share))


def with_hold(context: StepContext, settings: FinderSettings) -> StepContext:
    """The context with its hold chosen from the settings' budget."""
    timing = replace(context.timing, hold_seconds=hold_for(settings, context.timing.warm_up_seconds))
    return replace(context, timing=timing)


@dataclass
class Search:
    """The steps so far and what they say."""

    steps: list[StepResult]
    verdict: Verdict | None = None

    def clean(self) -> list[StepResult]:
        """Steps the platform decided (not generator-bound), by rate."""
        return sorted((s for s in self.steps if s.status is not StepStatus.GENERATOR_BOUND),
                      key=lambda s: s.intended_rps)

    def bracket(self) -> tuple[StepResult | None, StepResult | None]:
        """(highest met step below the lowest broken one, the lowest broken step)."""
        clean = self.clean()
        broken = next((s for s in clean if s.status is StepStatus.BROKEN), None)
        met = [s for s in clean if s.status is StepStatus.MET and (broken is None or s.intended_rps < broken.intended_rps)]
        return (met[-1] if met else None), broken


def crossing(low: StepResult, high: StepResult, low_margin: float, high_margin: float) -> float:
    """Rate where a margin interpolated linearly between two steps crosses 0 (the nearer end if it does not)."""
    if high_margin <= low_margin:
        return high.intended_rps if low_margin <= 0 else low.intended_rps
    fraction = min(1.0, max(0.0, -low_margin / (high_margin - low_margin)))
    return low.intended_rps + fraction * (high.intended_rps - low.intended_rps)


def next_rate(search: Search, lowest: float, ceiling: float, width: float) -> float | None:
    """The next step's rate, or None when the search is done (setting its verdict where one follows)."""
    last = search.steps[-1]
    if last.status is StepStatus.GENERATOR_BOUND:
        # Once again at the same rate (a shared machine's hiccup passes); twice there ends the search.
        again = [s for s in search.steps if s.status is StepStatus.GENERATOR_BOUND and s.intended_rps == last.intended_rps]
        return last.intended_rps if len(again) == 1 else None
    met, broken = search.bracket()
    if broken is None:
        top = max(s.intended_rps for s in search.steps)
        if top >= ceiling * 0.999:
            search.verdict = Verdict.ABOVE_CAP
            return None
        return min(top * 2, ceiling)
    if met is None:
        bottom = min(s.intended_rps for s in search.steps)
        if bottom <= lowest * 1.001:
            search.verdict = Verdict.BROKEN_AT_LOWEST
            return None
        return max(bottom / 2, lowest)
    if (broken.intended_rps - met.intended_rps) / met.intended_rps <= width:
        return confirming_rate(search, crossing(met, broken, met.margin, broken.margin), ceiling)
    guess = crossing(met, broken, met.margin, broken.margin)
    span = broken.intended_rps - met.intended_rps
    return min(max(guess, met.intended_rps + SPREAD * span), broken.intended_rps - SPREAD * span)


def confirming_rate(search: Search, estimate_rps: float, ceiling: float) -> float | None:
    """A step beside the estimate that may bound it beyond doubt (below, then above), or None when both ends are."""
    clean = search.clean()
    probed = [s.intended_rps for s in search.steps]
    sure_low = max((s.intended_rps for s in clean if s.margin_upper <= 0 and s.intended_rps <= estimate_rps), default=0.0)
    sure_high = min((s.intended_rps for s in clean if s.margin_lower > 0 and s.intended_rps >= estimate_rps),
                    default=float("inf"))
    for wanted, sure, factors in ((sure_low >= estimate_rps * (1 - CONFIRM), sure_low, (0.95, 0.9, 0.85)),
                                  (sure_high <= estimate_rps * (1 + CONFIRM), sure_high, (1.05, 1.1, 1.15))):
        if wanted:
            continue
        for factor in factors:
            rate = min(estimate_rps * factor, ceiling)
            if all(abs(rate - other) > 0.01 * rate for other in probed):
                return rate
    return None


def search_steps(context: StepContext, settings: FinderSettings, ceiling: float,
                 on_step: Callable[[StepResult], None] = lambda step: None) -> tuple[Search, float]:
    """Run steps until the bracket is narrow, a verdict follows, or the budget cannot pay another step."""
    start = min(settings.start_rps or ceiling / 8, ceiling)
    lowest = min(settings.lowest_rps or start / 8, start)
    search, began, overhead = Search([]), time.monotonic(), OVERHEAD_SECONDS
    rate: float | None = start
    while rate is not None:
        step_cost = overhead + context.timing.duration_seconds
        if search.steps and time.monotonic() - began + step_cost > settings.budget_seconds:
            break
        step = run_step(context, rate, len(search.steps))
        search.steps.append(step)
        overhead = max(overhead, step.wall_seconds - context.timing.duration_seconds) if not step.stopped_early \
            else overhead
        on_step(step)
        rate = next_rate(search, lowest, ceiling, settings.target_width)
    return search, time.monotonic() - began
