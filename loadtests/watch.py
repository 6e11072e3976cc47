"""The master's watch: stop the run when errors or p95 break the profile's bounds, and write the summary.

Bounds are judged over a sliding window of the merged stats (not since the start, so a run that
degrades is caught while it degrades). A stop sets exit code 3; the summary says which bound broke,
its value and limit, the second of the run, and the arrival rate and students in session then.
"""

from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import gevent
from locust.env import Environment

from loadtests import exporter
from loadtests.document import StepWatch
from loadtests.openmodel import REQUEST_BUCKETS, lag_quantile
from loadtests.plan import Plan
from loadtests.stepstats import CLEAR_MIN_SECONDS, Batch, bound_of, clearly_broken, difference, estimates
from loadtests.summary import Checkpoint, Entry, ErrorCount, FirstByte, Stop, StopBound, Summary

log = logging.getLogger("mektepnet.loadtest")
CHECK_EVERY_SECONDS = 2.0
EXIT_STOPPED = 3
# A run that ends within this of its planned duration ran its duration (Locust's -t takes whole seconds).
DURATION_SLACK_SECONDS = 1.0


def window_percentile(newer: dict[int, int], older: dict[int, int], q: float) -> float:
    """The q-quantile in ms of the response times recorded between two snapshots (0 when none)."""
    counts = sorted((ms, n - older.get(ms, 0)) for ms, n in newer.items() if n - older.get(ms, 0) > 0)
    total = sum(n for _, n in counts)
    running = 0
    for ms, n in counts:
        running += n
        if running >= q * total:
            return float(ms)
    return 0.0


@dataclass(frozen=True)
class Snapshot:
    """The merged counts at one moment (monotonic seconds)."""

    at: float
    requests: int
    failures: int
    response_times: dict[int, int]
    arrived: int
    sent: int
    in_session: int


class Watch:
    """Snapshots of the merged stats every CHECK_EVERY_SECONDS; stops the run when a bound breaks."""

    def __init__(self, environment: Environment, plan: Plan, schedules: dict, step: StepWatch | None = None):
        self.environment, self.plan, self.schedules, self.step = environment, plan, schedules, step
        self.bounds = plan.profile.limits.stop_when
        self.checkpoints: list[Checkpoint] = []
        # The run's start is a snapshot of zeros for the rates; the bounds are judged on the checks' snapshots alone.
        self._start = Snapshot(time.monotonic(), 0, 0, {}, 0, 0, 0)
        self.snapshots: collections.deque[Snapshot] = collections.deque([self._start])
        self.stop: Stop | None = None

    def snapshot(self) -> Snapshot:
        """The counts now; keeps the window's snapshots and the last one at least `window_seconds` old."""
        total = self.environment.runner.stats.total
        tally = exporter.merged_tally(self.environment, self.schedules)
        now = Snapshot(time.monotonic(), total.num_requests, total.num_failures, dict(total.response_times),
                       tally["arrived"], tally["sent"], tally["in_session"])
        if self.step is not None:
            self.checkpoints.append(Checkpoint(at_second=round(self._second(), 3), intended=tally["intended"],
                                               sent=tally["sent"], failed=tally["failed"],
                                               answered_ms=tally["answered_ms"], lag_counts=tally["lag_counts"]))
        self.snapshots.append(now)
        while len(self.snapshots) > 1 and now.at - self.snapshots[1].at >= self.bounds.window_seconds:
            self.snapshots.popleft()
        return now

    def check(self) -> Stop | None:
        """A Stop when the window breaks a bound (once `min_requests` were made in it)."""
        now = self.snapshot()
        first = next(s for s in self.snapshots
                     if s is not self._start and now.at - s.at <= self.bounds.window_seconds)
        requests, failures = now.requests - first.requests, now.failures - first.failures
        if requests < self.bounds.min_requests:
            return None
        if failures / requests > self.bounds.error_ratio:
            return self._stop(StopBound.ERROR_RATIO, failures / requests, self.bounds.error_ratio)
        p95_seconds = window_percentile(now.response_times, first.response_times, 0.95) / 1000
        if p95_seconds > self.bounds.p95_seconds:
            return self._stop(StopBound.P95_SECONDS, p95_seconds, self.bounds.p95_seconds)
        return self._slo_check()

    def _slo_check(self) -> Stop | None:
        """A readiness step's SLO clearly broken since its warm-up ended."""
        if self.step is None:
            return None
        before = [c for c in self.checkpoints if c.at_second <= self.step.judge_from_seconds]
        if not before or before[-1] is self.checkpoints[-1]:
            return None
        first, last = before[-1], self.checkpoints[-1]
        if last.at_second - first.at_second < CLEAR_MIN_SECONDS:
            return None
        batch = Batch(last.at_second - first.at_second, difference(last.answered_ms, first.answered_ms),
                      last.failed - first.failed)
        statistic = clearly_broken(self.step.slo, batch.answered_ms, batch.failed)
        if statistic is None:
            return None
        value = estimates(self.step.slo, [batch])[statistic].value
        stop = self._stop(StopBound.SLO, value, bound_of(self.step.slo, statistic))
        return stop.model_copy(update={"statistic": statistic})

    def final(self) -> Stop:
        """Why the run ended: the bound that broke, else its duration ran out or it was interrupted."""
        if self.stop is not None:
            return self.stop
        self.snapshot()
        elapsed = self._second()
        ran_out = elapsed >= int(self.plan.duration_seconds) - DURATION_SLACK_SECONDS
        return self._stop(StopBound.DURATION if ran_out else StopBound.INTERRUPTED, elapsed,
                          self.plan.duration_seconds, window_seconds=0.0)

    def _second(self) -> float:
        return max(0.0, time.time() - self.environment.runner.stats.start_time)

    def _stop(self, bound: StopBound, value: float, limit: float, window_seconds: float | None = None) -> Stop:
        # Rates over at least the window: from the last snapshot that old (or the run's start) to now.
        now, first = self.snapshots[-1], self.snapshots[0]
        span = now.at - first.at
        return Stop(bound=bound, value=round(value, 6), limit=limit,
                    window_seconds=self.bounds.window_seconds if window_seconds is None else window_seconds,
                    at_second=round(self._second(), 3),
                    arrival_rate_per_second=(now.arrived - first.arrived) / span if span > 0 else 0.0,
                    request_rate_per_second=(now.sent - first.sent) / span if span > 0 else 0.0,
                    in_session=now.in_session)

    def run(self) -> None:
        """Check every CHECK_EVERY_SECONDS until a bound breaks; then stop the run with exit code 3."""
        every = self.step.checkpoint_seconds if self.step is not None else CHECK_EVERY_SECONDS
        while self.stop is None:
            gevent.sleep(every)
            self.stop = self.check()
        log.error("stopping the run: %s", self.stop.describe())
        self.environment.process_exit_code = EXIT_STOPPED
        self.environment.runner.quit()


def summary(environment: Environment, plan: Plan, schedules: dict, stop: Stop,
            checkpoints: list[Checkpoint] | None = None) -> Summary:
    """The run's results: per endpoint, totals, the open model's intended vs sent, lag, and why it stopped."""
    stats = environment.runner.stats
    tally = exporter.merged_tally(environment, schedules)
    elapsed = max(1e-9, (stats.last_request_timestamp or time.time()) - stats.start_time)
    entries = []
    for (name, method), entry in sorted(stats.entries.items()):
        platform, _, endpoint = name.partition(":")
        entries.append(Entry(platform=platform, endpoint=endpoint, method=method, requests=entry.num_requests,
                             failures=entry.num_failures, p50_ms=entry.get_response_time_percentile(0.5),
                             p95_ms=entry.get_response_time_percentile(0.95),
                             p99_ms=entry.get_response_time_percentile(0.99), max_ms=entry.max_response_time or 0,
                             bytes=entry.total_content_length))
    errors = [ErrorCount(name=e.name, method=e.method, outcome=exporter.outcome(e.error), count=e.occurrences)
              for e in stats.errors.values()]
    total = stats.total
    return Summary(
        profile=plan.profile.name, shape=plan.shape.name, students=plan.students,
        duration_seconds=plan.duration_seconds, elapsed_seconds=round(elapsed, 3), stop=stop,
        requests=total.num_requests, failures=total.num_failures,
        p50_ms=total.get_response_time_percentile(0.5), p95_ms=total.get_response_time_percentile(0.95),
        p99_ms=total.get_response_time_percentile(0.99),
        intended=tally["intended"], sent=tally["sent"], arrived=tally["arrived"], students_planned=tally["students"],
        lag_p50_seconds=lag_quantile(tally["lag_counts"], 0.5), lag_p99_seconds=lag_quantile(tally["lag_counts"], 0.99),
        lag_mean_seconds=tally["lag_sum"] / tally["sent"] if tally["sent"] else 0.0, lag_counts=tally["lag_counts"],
        first_byte={name: FirstByte(count=sum(counts[:-1]), p50_seconds=lag_quantile(counts[:-1], 0.5, REQUEST_BUCKETS),
                                    p95_seconds=lag_quantile(counts[:-1], 0.95, REQUEST_BUCKETS))
                    for name, counts in tally["first_bytes"].items()},
        entries=entries, errors=errors, checkpoints=checkpoints or [])


def install(environment: Environment, plan: Plan, schedules: dict, step: StepWatch | None = None) -> None:
    """Start the watch when the test starts; write the summary when the process quits."""
    watches: list[tuple[Watch, gevent.Greenlet]] = []

    def on_test_start(**_) -> None:
        if not watches:
            watch = Watch(environment, plan, schedules, step)
            watches.append((watch, gevent.spawn(watch.run)))

    def on_quitting(**_) -> None:
        for _, greenlet in watches:
            greenlet.kill(block=False)
        path = environment.parsed_options.mektep_summary
        if path:
            watch = watches[0][0] if watches else Watch(environment, plan, schedules, step)
            result = summary(environment, plan, schedules, watch.final(), watch.checkpoints)
            Path(path).write_text(result.model_dump_json(indent=1), encoding="utf-8")

    environment.events.test_start.add_listener(on_test_start)
    environment.events.quitting.add_listener(on_quitting)
