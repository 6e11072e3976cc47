"""Platforms under load: intended against achieved arrivals, latency percentiles, errors, generator lag, the SLO."""

from __future__ import annotations

from core.norms import Policy
from dashboards.panels import label_variable, new_dashboard, prom, stat_panel, time_panel, verdict_mappings
from dashboards.rules import AlertSettings, failed_rate

UID = "mektepnet-platforms"
PLATFORM = 'platform=~"$platform"'
RATE = "[$__rate_interval]"


def build(policy: Policy, settings: AlertSettings = AlertSettings()):
    """The platforms dashboard of a load test (the Locust master's metrics)."""
    del policy                                  # platforms are judged by their SLO, not by a school norm
    board = new_dashboard(UID, "MektepNet — platforms under load",
                          "Can the platforms take the first bell: a load test's arrivals, latency and errors.")
    board = board.with_variable(label_variable(
        "platform", "Platform", "label_values(mektepnet_loadtest_requests_total, platform)", multi=True))
    slo = (f"(mektepnet:loadtest_p95:seconds{{{PLATFORM}}} <= bool {settings.slo_p95_seconds!r}) "
           f"* on (platform) (mektepnet:loadtest_error:ratio{{{PLATFORM}}} <= bool {settings.slo_error_ratio!r})")
    board = board.with_panel(stat_panel(
        "Within the SLO", f"Per platform: p95 at most {settings.slo_p95_seconds:g} s and errors at most "
        f"{settings.slo_error_ratio:.0%} over the last minute.", prom(slo, "{{platform}}", instant=True))
        .mappings(verdict_mappings("✔ within the SLO", "✘ SLO broken")).span(8))
    board = board.with_panel(stat_panel(
        "Students", "Synthetic students planned, arrived and in a session now.",
        prom("mektepnet_loadtest_students", "{{state}}", instant=True)).span(8))
    board = board.with_panel(stat_panel(
        "Workers", "Locust worker processes connected to the master.",
        prom("mektepnet_loadtest_workers", "workers", instant=True)).span(8))
    board = board.with_panel(time_panel(
        "Arrivals: intended and achieved", "Requests per second the open model asked for and those sent; a gap "
        "means the generator, not the platform, was the limit.",
        prom(f"rate(mektepnet_loadtest_intended_requests_total{RATE})", "intended", ref="A"),
        prom(f"rate(mektepnet_loadtest_sent_requests_total{RATE})", "achieved", ref="B"), unit="reqps"))
    board = board.with_panel(time_panel(
        "Latency percentiles", "p50 / p95 / p99 from the intended send time, per platform (queueing included).",
        *(prom(f"histogram_quantile({q}, sum by (le, platform) "
               f"(rate(mektepnet_loadtest_request_duration_seconds_bucket{{{PLATFORM}}}{RATE})))",
               f"{{{{platform}}}} p{int(q * 100)}", ref=ref) for q, ref in ((0.5, "A"), (0.95, "B"), (0.99, "C"))),
        unit="s"))
    board = board.with_panel(time_panel(
        "Errors by outcome", "Failed requests per second by platform and outcome (http_503, timeout ...).",
        prom(failed_rate(PLATFORM, "$__rate_interval", by="platform, outcome"), "{{platform}} {{outcome}}"),
        unit="reqps"))
    board = board.with_panel(time_panel(
        "Error ratio", "Share of requests that failed, per platform, against the SLO's bound.",
        prom(f"sum by (platform) ({failed_rate(PLATFORM, '$__rate_interval')}) "
             f"/ sum by (platform) (rate(mektepnet_loadtest_requests_total{{{PLATFORM}}}{RATE}))", "{{platform}}"),
        unit="percentunit"))
    return board.with_panel(time_panel(
        "Generator lag", "p95 of the generator's own lateness; when it grows the load test, not the platform, "
        "is saturated.", prom(f"histogram_quantile(0.95, sum by (le) "
                              f"(rate(mektepnet_loadtest_generator_lag_seconds_bucket{RATE})))", "p95 lag"),
        unit="s"))
