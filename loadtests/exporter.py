"""Prometheus metrics of a load test, served by the master from Locust's merged stats.

No per-request work lands on the master: request histograms are rebuilt at scrape time from the
merged stats (Locust keeps each endpoint's response times as counts per rounded millisecond), and
the open model's counters (intended and sent requests, generator lag, students) come from the
workers' periodic reports. Latency is from the intended send time, in seconds.
"""

from __future__ import annotations

import logging

from locust.env import Environment
from locust.runners import MasterRunner
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from core.metrics import metric
from loadtests.openmodel import LAG_BUCKETS, REQUEST_BUCKETS

log = logging.getLogger("mektepnet.loadtest")
_WORKER_TALLIES: dict[int, dict[str, dict]] = {}


def worker_tallies(environment: Environment, schedules: dict) -> list[dict]:
    """The latest tally of every worker (or of this process when it runs the users itself)."""
    if isinstance(environment.runner, MasterRunner):
        return list(_WORKER_TALLIES.get(id(environment), {}).values())
    schedule = schedules.get(id(environment))
    return [schedule.tally.as_dict()] if schedule is not None else []


def merged_tally(environment: Environment, schedules: dict) -> dict:
    """The workers' tallies summed."""
    total = {"intended": 0, "sent": 0, "arrived": 0, "in_session": 0, "students": 0,
             "lag_counts": [0] * (len(LAG_BUCKETS) + 1), "lag_sum": 0.0, "failed": 0, "answered_ms": {},
             "first_bytes": {}}
    for tally in worker_tallies(environment, schedules):
        for key in ("intended", "sent", "arrived", "in_session", "students", "lag_sum", "failed"):
            total[key] += tally[key]
        for ms, count in tally["answered_ms"].items():
            total["answered_ms"][int(ms)] = total["answered_ms"].get(int(ms), 0) + count
        total["lag_counts"] = [a + b for a, b in zip(total["lag_counts"], tally["lag_counts"])]
        for name, counts in tally["first_bytes"].items():
            mine = total["first_bytes"].setdefault(name, [0] * len(counts))
            total["first_bytes"][name] = [a + b for a, b in zip(mine, counts)]
    return total


def _cumulative(counts: list[float], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    buckets, running = [], 0
    for bound, count in zip((*bounds, float("inf")), counts):
        running += count
        buckets.append(("+Inf" if bound == float("inf") else repr(float(bound)), running))
    return buckets


def _family(name: str, kind):
    spec = metric(name)
    return kind(spec.name, spec.help, labels=spec.labels)


def _histogram(counts_by_ms: dict[int, int], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    ordered = sorted(counts_by_ms.items())
    buckets, running, index = [], 0, 0
    for bound in bounds:
        while index < len(ordered) and ordered[index][0] <= bound * 1000:
            running += ordered[index][1]
            index += 1
        buckets.append((repr(float(bound)), running))
    buckets.append(("+Inf", sum(count for _, count in ordered)))
    return buckets


class LoadtestCollector:
    """Yields the load-test metric families at each scrape."""

    def __init__(self, environment: Environment, schedules: dict):
        self.environment, self.schedules = environment, schedules

    def collect(self):
        """Families built from the merged stats and the workers' tallies."""
        stats = self.environment.runner.stats
        duration = _family("mektepnet_loadtest_request_duration_seconds", HistogramMetricFamily)
        requests = _family("mektepnet_loadtest_requests_total", CounterMetricFamily)
        received = _family("mektepnet_loadtest_response_bytes_total", CounterMetricFamily)
        failures: dict[tuple[str, str], dict[str, int]] = {}
        for error in stats.errors.values():
            failures.setdefault((error.method, error.name), {})[outcome(error.error)] = error.occurrences
        for (name, method), entry in sorted(stats.entries.items()):
            platform, _, endpoint = name.partition(":")
            labels = [platform, endpoint]
            duration.add_metric([*labels, method], _histogram(entry.response_times, REQUEST_BUCKETS),
                                entry.total_response_time / 1000)
            outcomes = failures.get((method, name), {})
            requests.add_metric([*labels, "ok"], entry.num_requests - entry.num_failures)
            for failed_as, count in sorted(outcomes.items()):
                requests.add_metric([*labels, failed_as], count)
            received.add_metric(labels, entry.total_content_length)
        yield from (duration, requests, received)
        tally = merged_tally(self.environment, self.schedules)
        for name, key in (("mektepnet_loadtest_intended_requests_total", "intended"),
                          ("mektepnet_loadtest_sent_requests_total", "sent")):
            family = _family(name, CounterMetricFamily)
            family.add_metric([], tally[key])
            yield family
        lag = _family("mektepnet_loadtest_generator_lag_seconds", HistogramMetricFamily)
        lag.add_metric([], _cumulative(tally["lag_counts"], LAG_BUCKETS), tally["lag_sum"])
        yield lag
        first_byte = _family("mektepnet_loadtest_first_byte_seconds", HistogramMetricFamily)
        for name, counts in sorted(tally["first_bytes"].items()):
            first_byte.add_metric(name.split(":", 1), _cumulative(counts[:-1], REQUEST_BUCKETS), counts[-1])
        yield first_byte
        students = _family("mektepnet_loadtest_students", GaugeMetricFamily)
        for state in ("students", "arrived", "in_session"):
            students.add_metric(["planned" if state == "students" else state], tally[state])
        yield students
        workers = _family("mektepnet_loadtest_workers", GaugeMetricFamily)
        runner = self.environment.runner
        workers.add_metric([], runner.worker_count if isinstance(runner, MasterRunner) else 1)
        yield workers


def outcome(error) -> str:
    """Our failures carry their outcome as the message: RequestFailed('http_503') -> 'http_503'.

    A local runner keeps the exception itself, a master the string its workers sent.
    """
    error = error if isinstance(error, str) else repr(error)
    text = error.split("(", 1)[-1].strip("()'\" ") if "(" in error else error
    return text if text.replace("_", "").isalnum() else "error"


def install(environment: Environment, schedules: dict) -> None:
    """Collect workers' reports and, when a port is given, serve /metrics from this process."""
    tallies = _WORKER_TALLIES.setdefault(id(environment), {})

    def on_worker_report(client_id: str, data: dict) -> None:
        if "mektepnet" in data:
            tallies[client_id] = data["mektepnet"]

    environment.events.worker_report.add_listener(on_worker_report)
    port = environment.parsed_options.mektep_metrics_port
    if port:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(LoadtestCollector(environment, schedules))
        start_http_server(port, environment.parsed_options.mektep_metrics_host, registry)
        log.info("metrics on http://%s:%d/metrics", environment.parsed_options.mektep_metrics_host, port)
