"""A readiness result for people and for Prometheus: the PNG chart of the curve, and the metrics as a text file.

The chart (matplotlib, Agg) has the latency percentiles and the error ratio against the arrival rate,
the SLO's bounds as dashed lines, the readiness and its interval marked; generator-bound steps are
drawn hollow. The metrics file is Prometheus' text format (`readiness.prom`), for node_exporter's
textfile collector or any static scrape; names are catalogued in core/metrics.py.
"""

from __future__ import annotations

import math
from pathlib import Path

from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import GaugeMetricFamily

from core.metrics import metric
from loadtests.readiness.result import Readiness, StepStatus, Verdict
from loadtests.slo import parse_slo

METRICS_FILE = "readiness.prom"


class ReadinessCollector:
    """Yields the mektepnet_readiness_* families of one or more results."""

    def __init__(self, results: list[Readiness]):
        self.results = results

    def collect(self):
        """One family per catalogued readiness metric."""
        values = {
            "mektepnet_readiness_requests_per_second": lambda r: r.requests_per_second,
            "mektepnet_readiness_interval_low_requests_per_second": lambda r: r.interval_low_rps,
            "mektepnet_readiness_interval_high_requests_per_second": lambda r: r.interval_high_rps,
            "mektepnet_readiness_p95_seconds": lambda r: r.p95_at_readiness_seconds,
            "mektepnet_readiness_students_in_session": lambda r: r.students_in_session,
            "mektepnet_readiness_first_bell_share": lambda r: r.share_of_first_bell_peak,
        }
        for name, value in values.items():
            spec = metric(name)
            family = GaugeMetricFamily(name, spec.help, labels=spec.labels)
            for result in self.results:
                family.add_metric([result.platform], value(result))
            yield family
        spec = metric("mektepnet_readiness_verdict")
        family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
        for result in self.results:
            for verdict in Verdict:
                family.add_metric([result.platform, verdict.value], 1.0 if verdict is result.verdict else 0.0)
        yield family


def write_metrics(results: list[Readiness], path: Path) -> Path:
    """Write the results' metrics in Prometheus' text format (atomically); returns the path."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReadinessCollector(results))
    write_to_textfile(str(path), registry)
    return path


def write_chart(result: Readiness, path: Path) -> Path:
    """The curve as a PNG: p50/p95/p99 (ms) and the error ratio (%) against the rate, the SLO and the knee marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    steps = sorted(result.steps, key=lambda s: s.intended_rps)
    rates = [s.intended_rps for s in steps]
    figure, (latency, errors) = pyplot.subplots(2, 1, sharex=True, figsize=(8, 6.5))
    for attribute, label in (("p50_seconds", "p50"), ("p95_seconds", "p95"), ("p99_seconds", "p99")):
        lines = latency.plot(rates, [getattr(s, attribute) * 1000 for s in steps], marker="o", label=label)
        hollow = [(s.intended_rps, getattr(s, attribute) * 1000) for s in steps if s.status is StepStatus.GENERATOR_BOUND]
        if hollow:
            latency.scatter(*zip(*hollow), s=90, facecolors="none", edgecolors=lines[0].get_color())
    errors.plot(rates, [s.error_ratio * 100 for s in steps], marker="o", color="tab:red", label="errors")
    slo = parse_slo(result.slo)
    for q, bound in slo.latency_bounds().items():
        latency.axhline(bound * 1000, linestyle="--", color="grey")
        latency.annotate(f"SLO p{round(q * 100)} {bound * 1000:g} ms", (rates[0] if rates else 0, bound * 1000),
                         fontsize=8, va="bottom")
    if slo.error_ratio is not None:
        errors.axhline(slo.error_ratio * 100, linestyle="--", color="grey")
        errors.annotate(f"SLO errors {slo.error_ratio * 100:g} %", (rates[0] if rates else 0, slo.error_ratio * 100),
                        fontsize=8, va="bottom")
    for axes in (latency, errors):
        if result.verdict is Verdict.KNEE:
            axes.axvline(result.requests_per_second, color="black")
            high = result.interval_high_rps if math.isfinite(result.interval_high_rps) else max(rates)
            axes.axvspan(result.interval_low_rps, high, color="green", alpha=0.12)
    latency.set_ylabel("latency ms (answered, from intended send)")
    latency.set_yscale("log")
    errors.set_ylabel("error ratio %")
    errors.set_xlabel("arrival rate, requests/s")
    latency.legend(fontsize=8)
    latency.set_title(f"{result.platform} ({result.kind}), SLO {result.slo}: {result.verdict.value}"
                      + (f" at {result.requests_per_second:,.0f} req/s" if result.verdict is Verdict.KNEE else ""))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path


def show(result: Readiness, console) -> None:
    """Print the curve and the verdict (rich console)."""
    from rich.table import Table

    table = Table(title=f"{result.platform} ({result.kind}) against {result.slo}: latency of answered requests "
                        "from the intended send time, over each step's window after its warm-up")
    for column in ("step req/s", "achieved", "p50 ms", "p95 ms", "p99 ms", "errors", "sent/intended",
                   "lag p99 ms", "window s", "verdict"):
        table.add_column(column, justify="right")
    for step in result.steps:
        table.add_row(f"{step.intended_rps:,.1f}", f"{step.achieved_rps:,.1f}", f"{step.p50_seconds * 1000:,.0f}",
                      f"{step.p95_seconds * 1000:,.0f}", f"{step.p99_seconds * 1000:,.0f}", f"{step.error_ratio:.2%}",
                      f"{step.sent_ratio:.3f}", f"{step.lag_p99_seconds * 1000:g}", f"{step.window_seconds:.0f}",
                      step.status.value + (" (stopped)" if step.stopped_early else ""))
    console.print(table)
    colour = {Verdict.KNEE: "green", Verdict.ABOVE_CAP: "green", Verdict.BROKEN_AT_LOWEST: "red"}.get(result.verdict,
                                                                                                       "yellow")
    console.print(f"[bold {colour}]{result.verdict.value}[/]: {result.reason}")
    if result.requests_per_second > 0:
        console.print(f"= {result.sessions_per_second:,.1f} sessions/s, {result.students_in_session:,.0f} students in "
                      f"session (Little's law: sessions of {result.session_seconds:.1f} s, think {result.think_seconds:g} s); "
                      f"{result.share_of_first_bell_peak:.2%} of the country's first-bell peak "
                      f"({result.first_bell_peak_rps:,.0f} requests/s)")
    console.print(f"{len(result.steps)} steps in {result.elapsed_seconds:.0f} s of a {result.budget_seconds:g} s budget; "
                  f"caps allow up to {result.max_rps:,.0f} requests/s")
