"""One step of a readiness search: the open model at a fixed arrival rate, one Locust run, read into a StepResult.

A step is the `steady` shape: students = rate / the platform's requests per student-second, arriving
over one mean session cycle (so their logins come at the steady rate, not in a burst), then held.
The warm-up (the arrivals' ramp and half as long again, at least WARM_UP_MIN_SECONDS more) is discarded; the
rest is cut into batches from the master's checkpoints. A step whose SLO is clearly broken after its
warm-up stops early (the master's watch) and is judged on what it measured until then (the warm-up
is never judged: the ramp's first sessions come on top of the steady rate). Rates in requests/s,
times in seconds.
"""

from __future__ import annotations

import math
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from loadtests.document import PlanDocument, StepWatch, plan_document
from loadtests.journeys import requests_per_student_second
from loadtests.launch import launch
from loadtests.openmodel import lag_quantile
from loadtests.options import RunOptions
from loadtests.profile import Platform, Profile
from loadtests.readiness.result import StepResult, StepStatus
from loadtests.slo import Slo
from loadtests.stepstats import Batch, difference, estimates, margins, quantile_seconds
from loadtests.summary import Checkpoint, StopBound
from loadtests.truth import requests_per_session

WARM_UP_MIN_SECONDS = 2.0
LAG_FLOOR_SECONDS = 0.05
LAG_CEILING_SECONDS = 0.1
BATCHES = 10                 # a window is cut into at most this many batches
CLEARLY = 1e-6               # the lower margin of a step stopped as clearly broken
SENDERS_PER_RPS_SECOND = 3.0  # senders per request/s per second of the tightest latency bound (in flight at most)


@dataclass(frozen=True)
class GeneratorBounds:
    """When a step's generator, not its platform, was the limit: lag p99 above, or sent/intended below."""

    max_lag_p99_seconds: float
    min_sent_ratio: float = 0.97


def generator_bounds(slo: Slo) -> GeneratorBounds:
    """The lag p99 allowed: a tenth of the tightest latency bound (it is inside every latency measured), within
    LAG_FLOOR_SECONDS (a busy machine's scheduling alone) and LAG_CEILING_SECONDS."""
    bounds = slo.latency_bounds().values()
    lag = 0.1 * min(bounds) if bounds else LAG_CEILING_SECONDS
    return GeneratorBounds(min(LAG_CEILING_SECONDS, max(LAG_FLOOR_SECONDS, lag)))


@dataclass(frozen=True)
class StepPlan:
    """How a platform is stepped: its requests per student-second and session cycle, the warm-up and the hold."""

    requests_per_student_second: float
    cycle_seconds: float          # one session and the think after it, on average
    warm_up_seconds: float
    hold_seconds: float

    def students(self, rate_rps: float) -> int:
        """Students in session that send this rate."""
        return max(1, round(rate_rps / self.requests_per_student_second))

    @property
    def duration_seconds(self) -> float:
        """The step's planned length."""
        return self.warm_up_seconds + self.hold_seconds


def step_plan(platform: Platform, hold_seconds: float) -> StepPlan:
    """The platform's step timing for a given hold (seconds measured per step)."""
    per_student = requests_per_student_second(platform)
    cycle = requests_per_session(platform) / per_student
    return StepPlan(per_student, cycle, cycle + max(WARM_UP_MIN_SECONDS, cycle / 2), hold_seconds)


def free_port() -> int:
    """A TCP port free on loopback now (for a step's master)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class StepContext:
    """What every step of one search shares: the one-platform profile, its target, the SLO and the run's settings."""

    profile: Profile
    targets: tuple[str, ...]
    confirmed_hosts: tuple[str, ...]
    slo: Slo
    timing: StepPlan
    bounds: GeneratorBounds
    run_dir: Path
    seed: int = 1
    workers: int = 0
    users_per_worker: int | None = None   # None: enough senders for the rate


def _document(context: StepContext, rate_rps: float) -> PlanDocument:
    timing = context.timing
    return plan_document(profile=context.profile, shape="steady", group_sizes=(timing.students(rate_rps),),
                         duration_seconds=math.ceil(timing.duration_seconds),
                         ramp_seconds=round(min(timing.cycle_seconds, timing.warm_up_seconds), 3),
                         targets=context.targets, confirmed_hosts=context.confirmed_hosts, seed=context.seed,
                         step=StepWatch(slo=context.slo, judge_from_seconds=timing.warm_up_seconds))


def _senders(context: StepContext, rate_rps: float) -> int:
    if context.users_per_worker is not None:
        return context.users_per_worker
    tightest = min(context.slo.latency_bounds().values(), default=1.0)
    per_process = rate_rps / max(1, context.workers) * SENDERS_PER_RPS_SECOND * max(1.0, tightest)
    return int(min(20_000, max(100, math.ceil(per_process))))


def run_step(context: StepContext, rate_rps: float, index: int) -> StepResult:
    """Run one step at this rate (requests/s) and judge it; every process it started has ended on return."""
    document = _document(context, rate_rps)
    options = RunOptions(shape="steady", duration_seconds=document.duration_seconds, workers=context.workers,
                         users_per_worker=_senders(context, rate_rps), headless=True, metrics_port=0,
                         master_port=free_port(), seed=context.seed, simulator=False,
                         run_dir=context.run_dir / f"step-{index:02d}-{rate_rps:.0f}rps")
    started = time.monotonic()
    _, summary = launch(options, document)
    wall = time.monotonic() - started
    stopped = summary.stop.bound is StopBound.SLO or summary.stop.broke_a_bound
    return judge(context, rate_rps, document.group_sizes[0], summary.checkpoints, stopped, wall)


def _window(checkpoints: list[Checkpoint], from_second: float) -> list[Checkpoint]:
    start = Checkpoint(at_second=0, intended=0, sent=0, failed=0, answered_ms={}, lag_counts=[])
    return [c for c in [start, *checkpoints] if c.at_second >= from_second]


def _batches(window: list[Checkpoint]) -> list[Batch]:
    intervals = len(window) - 1
    cuts = sorted({round(i * intervals / min(BATCHES, intervals)) for i in range(min(BATCHES, intervals) + 1)})
    return [Batch(window[b].at_second - window[a].at_second, difference(window[b].answered_ms, window[a].answered_ms),
                  window[b].failed - window[a].failed) for a, b in zip(cuts, cuts[1:])]


def judge(context: StepContext, rate_rps: float, students: int, checkpoints: list[Checkpoint], stopped_early: bool,
          wall_seconds: float) -> StepResult:
    """A step's result from its checkpoints: the steady window (everything when it stopped early) against the SLO."""
    warm_up = context.timing.warm_up_seconds
    window = _window(checkpoints, warm_up)
    if len(window) < 2:
        window = _window(checkpoints, 0.0)
    first, last = window[0], window[-1]
    seconds = max(1e-9, last.at_second - first.at_second)
    answered_ms = difference(last.answered_ms, first.answered_ms)
    failed = last.failed - first.failed
    requests = sum(answered_ms.values()) + failed
    found = estimates(context.slo, _batches(window)) if len(window) > 1 else {}
    margin = margins(context.slo, found, requests)
    intended, sent = last.intended - first.intended, last.sent - first.sent
    lag = [a - b for a, b in zip(last.lag_counts, first.lag_counts or [0] * len(last.lag_counts))]
    sent_ratio = sent / intended if intended else 0.0
    lag_p99 = lag_quantile(lag, 0.99)
    starved = lag_p99 > context.bounds.max_lag_p99_seconds or sent_ratio < context.bounds.min_sent_ratio
    status = StepStatus.GENERATOR_BOUND if starved else (StepStatus.MET if margin.point <= 0 else StepStatus.BROKEN)
    # A stop bound or the SLO broken beyond the watch's clear margins (loadtests.stepstats.clearly_broken) is sure.
    lower = max(margin.lower, CLEARLY) if stopped_early and status is StepStatus.BROKEN else margin.lower
    return StepResult(intended_rps=rate_rps, achieved_rps=sent / seconds, students=students,
                      warm_up_seconds=warm_up, window_seconds=seconds, requests=requests,
                      p50_seconds=quantile_seconds(answered_ms, 0.5), p95_seconds=quantile_seconds(answered_ms, 0.95),
                      p99_seconds=quantile_seconds(answered_ms, 0.99),
                      error_ratio=failed / requests if requests else 0.0, sent_ratio=sent_ratio,
                      lag_p50_seconds=lag_quantile(lag, 0.5), lag_p99_seconds=lag_p99, margin=margin.point,
                      margin_upper=margin.upper, margin_lower=lower, status=status,
                      stopped_early=stopped_early, wall_seconds=wall_seconds)
