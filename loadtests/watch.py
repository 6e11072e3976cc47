"""The master's watch: stop the run when errors or p95 break the profile's bounds, and write the summary.

Bounds are judged over a sliding window of the merged stats (not since the start, so a run that
degrades is caught while it degrades). A stop sets exit code 3; the summary JSON says why.
"""

from __future__ import annotations

import collections
import json
import logging
import time
from pathlib import Path

import gevent
from locust.env import Environment

from loadtests import exporter
from loadtests.openmodel import REQUEST_BUCKETS, lag_quantile
from loadtests.plan import Plan

log = logging.getLogger("mektepnet.loadtest")
CHECK_EVERY_SECONDS = 2.0
EXIT_STOPPED = 3
_STOP_REASON: dict[int, str] = {}


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


def _watch(environment: Environment, plan: Plan) -> None:
    bounds = plan.profile.limits.stop_when
    snapshots: collections.deque = collections.deque()
    while True:
        gevent.sleep(CHECK_EVERY_SECONDS)
        total = environment.runner.stats.total
        now = time.monotonic()
        snapshots.append((now, total.num_requests, total.num_failures, dict(total.response_times)))
        while snapshots and now - snapshots[0][0] > bounds.window_seconds:
            snapshots.popleft()
        _, requests0, failures0, times0 = snapshots[0]
        requests, failures = total.num_requests - requests0, total.num_failures - failures0
        if requests < bounds.min_requests:
            continue
        p95_seconds = window_percentile(total.response_times, times0, 0.95) / 1000
        reason = None
        if failures / requests > bounds.error_ratio:
            reason = f"error ratio {failures / requests:.2f} over {bounds.window_seconds:g} s > {bounds.error_ratio:g}"
        elif p95_seconds > bounds.p95_seconds:
            reason = f"p95 {p95_seconds:.2f} s over {bounds.window_seconds:g} s > {bounds.p95_seconds:g} s"
        if reason:
            log.error("stopping the run: %s", reason)
            _STOP_REASON[id(environment)] = reason
            environment.process_exit_code = EXIT_STOPPED
            environment.runner.quit()
            return


def summary(environment: Environment, plan: Plan, schedules: dict) -> dict:
    """The run's results: per endpoint, totals, the open model's intended vs sent, lag, and why it stopped."""
    stats = environment.runner.stats
    tally = exporter.merged_tally(environment, schedules)
    elapsed = max(1e-9, (stats.last_request_timestamp or time.time()) - stats.start_time)
    entries = []
    for (name, method), entry in sorted(stats.entries.items()):
        platform, _, endpoint = name.partition(":")
        entries.append({"platform": platform, "endpoint": endpoint, "method": method, "requests": entry.num_requests,
                        "failures": entry.num_failures, "p50_ms": entry.get_response_time_percentile(0.5),
                        "p95_ms": entry.get_response_time_percentile(0.95),
                        "p99_ms": entry.get_response_time_percentile(0.99), "max_ms": entry.max_response_time,
                        "bytes": entry.total_content_length})
    errors = [{"name": e.name, "method": e.method, "outcome": exporter.outcome(e.error), "count": e.occurrences}
              for e in stats.errors.values()]
    total = stats.total
    return {
        "profile": plan.profile.name, "shape": plan.shape.name, "students": plan.students,
        "duration_seconds": plan.duration_seconds, "elapsed_seconds": round(elapsed, 3),
        "stopped": _STOP_REASON.get(id(environment)),
        "requests": total.num_requests, "failures": total.num_failures,
        "p50_ms": total.get_response_time_percentile(0.5), "p95_ms": total.get_response_time_percentile(0.95),
        "p99_ms": total.get_response_time_percentile(0.99),
        "intended": tally["intended"], "sent": tally["sent"], "arrived": tally["arrived"],
        "students_planned": tally["students"],
        "lag_p50_seconds": lag_quantile(tally["lag_counts"], 0.5),
        "lag_p99_seconds": lag_quantile(tally["lag_counts"], 0.99),
        "lag_mean_seconds": tally["lag_sum"] / tally["sent"] if tally["sent"] else 0.0,
        "lag_counts": tally["lag_counts"],
        "first_byte": {name: {"count": sum(counts[:-1]), "p50_seconds": lag_quantile(counts[:-1], 0.5, REQUEST_BUCKETS),
                              "p95_seconds": lag_quantile(counts[:-1], 0.95, REQUEST_BUCKETS)}
                       for name, counts in tally["first_bytes"].items()},
        "entries": entries, "errors": errors,
    }


def install(environment: Environment, plan: Plan, schedules: dict) -> None:
    """Start the watch when the test starts; write the summary when the process quits."""
    started: list = []

    def on_test_start(**_) -> None:
        if not started:
            started.append(gevent.spawn(_watch, environment, plan))

    def on_quitting(**_) -> None:
        for greenlet in started:
            greenlet.kill(block=False)
        path = environment.parsed_options.mektep_summary
        if path:
            Path(path).write_text(json.dumps(summary(environment, plan, schedules), indent=1), encoding="utf-8")

    environment.events.test_start.add_listener(on_test_start)
    environment.events.quitting.add_listener(on_quitting)
