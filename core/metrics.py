"""Every Prometheus metric MektepNet exports, named once: name, type, labels, help and source unit.

Conventions (DESIGN.md): `mektepnet_` prefix, base units, bytes even for link speeds. `core` keeps
link speeds in bit/s; only `exported_value` (used by the exporters) turns them into bytes.
Per-school series carry `school_id` only; `mektepnet_school_info` carries the descriptive labels.
Regenerate docs/metrics.md with
`python -c 'from core.metrics import markdown; print(markdown(), end="")' > docs/metrics.md`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PREFIX = "mektepnet_"
BITS_PER_BYTE = 8


class MetricType(StrEnum):
    """Prometheus metric types used here (classic histograms only: Prometheus 2.42)."""

    GAUGE = "gauge"
    COUNTER = "counter"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class MetricSpec:
    """One metric: `from_bits` marks a bytes-per-second metric fed with a bit/s value from `core`."""

    name: str
    type: MetricType
    labels: tuple[str, ...]
    help: str
    from_bits: bool = False

    def exported_value(self, value: float) -> float:
        """The value as exported: bit/s become bytes/s, everything else passes unchanged."""
        return value / BITS_PER_BYTE if self.from_bits else value


SCHOOL_INFO_LABELS = ("school_id", "name", "region", "district", "locality", "category", "isp", "latitude",
                      "longitude")

_G, _C, _H = MetricType.GAUGE, MetricType.COUNTER, MetricType.HISTOGRAM
CATALOGUE: tuple[MetricSpec, ...] = (
    MetricSpec("mektepnet_school_info", _G, SCHOOL_INFO_LABELS,
               "Descriptive labels of a school (latitude and longitude in degrees); always 1. Join on school_id."),
    MetricSpec("mektepnet_school_students", _G, ("school_id",),
               "Students enrolled in the school, from the registry."),
    MetricSpec("mektepnet_school_busiest_shift_students", _G, ("school_id",),
               "Students of the school's busiest shift (they share the link at once), from the registry."),
    MetricSpec("mektepnet_school_contracted_bytes_per_second", _G, ("school_id",),
               "Contracted bandwidth of the school's link, from the registry.", from_bits=True),
    MetricSpec("mektepnet_school_download_bytes_per_second", _G, ("school_id",),
               "Latest download throughput (ndt7 goodput) measured at the school.", from_bits=True),
    MetricSpec("mektepnet_school_upload_bytes_per_second", _G, ("school_id",),
               "Latest upload throughput (ndt7 goodput) measured at the school.", from_bits=True),
    MetricSpec("mektepnet_school_rtt_seconds", _G, ("school_id",),
               "Latest median round-trip time of a latency train (idle link)."),
    MetricSpec("mektepnet_school_loaded_rtt_seconds", _G, ("school_id",),
               "Latest median RTT sampled while a download ran: latency under load, beside the idle RTT."),
    MetricSpec("mektepnet_school_jitter_seconds", _G, ("school_id",),
               "Latest jitter: mean absolute difference of consecutive RTTs of a latency train."),
    MetricSpec("mektepnet_school_loss_ratio", _G, ("school_id",),
               "Latest packet loss ratio (0-1) of a latency train."),
    MetricSpec("mektepnet_school_last_measurement_timestamp_seconds", _G, ("school_id", "kind"),
               "Unix time of the latest measurement of each kind received from the school."),
    MetricSpec("mektepnet_school_meets_norms", _G, ("school_id",),
               "Verdict of the active norms policy: 1 meets, 0 below; absent when there is no data."),
    MetricSpec("mektepnet_school_in_session", _G, ("school_id",),
               "1 while the school is in session (a shift on a school day, Asia/Almaty), else 0."),
    MetricSpec("mektepnet_school_session_silence_seconds", _G, ("school_id",),
               "Session time (shifts on school days, Asia/Almaty) since the school's latest measurement, "
               "counted back at most 14 days; nights, weekends and holidays do not count."),
    MetricSpec("mektepnet_school_platform_up", _G, ("school_id", "platform"),
               "1 if the latest HTTP(S) check of the platform (host name) from the school got an answer below 400, else 0."),
    MetricSpec("mektepnet_school_platform_response_seconds", _G, ("school_id", "platform"),
               "Total time of the latest HTTP(S) check of the platform from the school."),
    MetricSpec("mektepnet_region_schools", _G, ("region", "state"),
               "Schools per region by state: meeting, below, no_data or silent."),
    MetricSpec("mektepnet_ingest_records_total", _C, ("status",),
               "Measurement records received, by outcome: accepted, duplicate, rejected."),
    MetricSpec("mektepnet_ingest_request_duration_seconds", _H, (),
               "Time to handle one upload batch."),
    MetricSpec("mektepnet_snmp_target_info", _G, ("target", "school_id", "address"),
               "A polled SNMP device (operator node or school router); always 1. Join on target."),
    MetricSpec("mektepnet_snmp_target_up", _G, ("target",),
               "1 if the device answered the last sweep, else 0."),
    MetricSpec("mektepnet_snmp_poll_duration_seconds", _G, ("target",),
               "Wall time of the device's last poll (a dead device: its timeouts and retries)."),
    MetricSpec("mektepnet_snmp_targets_unreachable", _G, (),
               "Devices that did not answer the last sweep."),
    MetricSpec("mektepnet_snmp_interface_up", _G, ("target", "interface"),
               "1 if the port's ifOperStatus is up, else 0."),
    MetricSpec("mektepnet_snmp_interface_receive_bytes_per_second", _G, ("target", "interface"),
               "Traffic into the port between the last two polls (ifHCInOctets, or ifInOctets with wraps).",
               from_bits=True),
    MetricSpec("mektepnet_snmp_interface_transmit_bytes_per_second", _G, ("target", "interface"),
               "Traffic out of the port between the last two polls.", from_bits=True),
    MetricSpec("mektepnet_snmp_interface_utilisation_ratio", _G, ("target", "interface", "direction"),
               "Rate / capacity: a school uplink's contracted bandwidth, an operator bottleneck port's ifHighSpeed."),
    MetricSpec("mektepnet_snmp_interface_errors_per_second", _G, ("target", "interface", "direction"),
               "ifInErrors / ifOutErrors per second between the last two polls."),
    MetricSpec("mektepnet_snmp_interface_discards_per_second", _G, ("target", "interface"),
               "ifInDiscards per second between the last two polls."),
    MetricSpec("mektepnet_ndt7_tests_total", _C, ("direction", "outcome"),
               "ndt7 subtests served, by direction and outcome: completed, client_closed, error."),
    MetricSpec("mektepnet_ndt7_bytes_total", _C, ("direction",),
               "Payload bytes sent (download) or received (upload) by the ndt7 server."),
    MetricSpec("mektepnet_ndt7_test_duration_seconds", _H, ("direction",),
               "Duration of ndt7 subtests served."),
    MetricSpec("mektepnet_ndt7_refusals_total", _C, ("reason",),
               "ndt7 requests refused before the test: busy, rate_limited, bad_request, unauthorized."),
    MetricSpec("mektepnet_ndt7_tests_in_progress", _G, (),
               "ndt7 subtests running now."),
    # The school probe's own view (served by the agent on the school LAN).
    MetricSpec("mektepnet_probe_info", _G, ("school_id", "probe_id", "version", "config_hash"),
               "The probe agent's identity, version and configuration hash; always 1."),
    MetricSpec("mektepnet_probe_success", _G, ("kind", "target"),
               "1 if the latest measurement of this kind and target succeeded, else 0."),
    MetricSpec("mektepnet_probe_last_measurement_timestamp_seconds", _G, ("kind", "target"),
               "Unix time the latest measurement of this kind and target ended."),
    MetricSpec("mektepnet_probe_rtt_seconds", _G, ("target", "method"),
               "Median RTT of the latest latency train."),
    MetricSpec("mektepnet_probe_jitter_seconds", _G, ("target", "method"),
               "Jitter (mean absolute difference of consecutive RTTs) of the latest latency train."),
    MetricSpec("mektepnet_probe_loss_ratio", _G, ("target", "method"),
               "Loss ratio (0-1) of the latest latency train."),
    MetricSpec("mektepnet_probe_dns_resolution_seconds", _G, ("target",),
               "Time the school's resolver took to answer for the name in the latest lookup."),
    MetricSpec("mektepnet_probe_http_duration_seconds", _G, ("target",),
               "Total time of the latest HTTP(S) GET of the platform URL."),
    MetricSpec("mektepnet_probe_http_status_code", _G, ("target",),
               "HTTP status of the latest GET of the platform URL."),
    MetricSpec("mektepnet_probe_throughput_bytes_per_second", _G, ("direction",),
               "Latest ndt7 goodput measured by the probe, by direction.", from_bits=True),
    MetricSpec("mektepnet_probe_outbox_records", _G, ("state",),
               "Records in the probe's outbox: pending upload, or set_aside after a refusal."),
    MetricSpec("mektepnet_probe_outbox_oldest_age_seconds", _G, (),
               "Age of the oldest record waiting in the outbox (absent when none waits)."),
    MetricSpec("mektepnet_probe_uploaded_records_total", _C, ("status",),
               "Records the collector acknowledged since the agent started: accepted, duplicate, rejected."),
    MetricSpec("mektepnet_probe_upload_failures_total", _C, ("reason",),
               "Failed upload attempts since start: network, server, busy, unauthorized, refused, bad_answer."),
    MetricSpec("mektepnet_probe_data_used_bytes", _G, (),
               "Bytes spent on throughput tests today (Asia/Almaty)."),
    MetricSpec("mektepnet_probe_data_budget_bytes", _G, (),
               "The daily data budget for throughput tests."),
    MetricSpec("mektepnet_probe_clock_offset_seconds", _G, (),
               "Probe clock minus the collector's clock (absent while unknown)."),
    MetricSpec("mektepnet_probe_clock_known", _G, ("source",),
               "1 when the probe knows its clock offset (source collector-date or ntp), 0 when unknown."),
    MetricSpec("mektepnet_probe_ntp_synchronised", _G, (),
               "1 when the kernel says NTP disciplines the probe's clock, 0 when not (absent if unknown)."),
    # A load test, served by the Locust master from merged stats (loadtests/exporter.py).
    MetricSpec("mektepnet_loadtest_request_duration_seconds", _H, ("platform", "endpoint", "method"),
               "Time from a request's intended send time to its answer (queueing at the platform included)."),
    MetricSpec("mektepnet_loadtest_requests_total", _C, ("platform", "endpoint", "outcome"),
               "Requests by outcome: ok, http_<status>, timeout, connect_refused, connection_reset, bad_response."),
    MetricSpec("mektepnet_loadtest_first_byte_seconds", _H, ("platform", "endpoint"),
               "Streaming answers (the AI tutor): time from the intended send time to the first body byte."),
    MetricSpec("mektepnet_loadtest_response_bytes_total", _C, ("platform", "endpoint"),
               "Body bytes received (video: rate() is the lessons' bytes per second)."),
    MetricSpec("mektepnet_loadtest_intended_requests_total", _C, (),
               "Requests that came due by the open model's schedule (rate(): the intended arrival rate)."),
    MetricSpec("mektepnet_loadtest_sent_requests_total", _C, (),
               "Requests actually sent (rate(): the achieved arrival rate)."),
    MetricSpec("mektepnet_loadtest_generator_lag_seconds", _H, (),
               "The generator's own lateness: from when a request could be sent to when it was."),
    MetricSpec("mektepnet_loadtest_students", _G, ("state",),
               "Synthetic students: planned, arrived (at least one session begun), in_session (a session open now)."),
    MetricSpec("mektepnet_loadtest_workers", _G, (),
               "Locust worker processes connected to the master."),
    # A platform's readiness verdict (mektepnet loadtest readiness; loadtests/readiness/report.py writes them).
    MetricSpec("mektepnet_readiness_requests_per_second", _G, ("platform",),
               "Highest arrival rate the platform sustains within its SLO (a lower bound unless the verdict is knee)."),
    MetricSpec("mektepnet_readiness_interval_low_requests_per_second", _G, ("platform",),
               "Low end of the readiness' 95 % interval: the highest rate shown within the SLO beyond doubt."),
    MetricSpec("mektepnet_readiness_interval_high_requests_per_second", _G, ("platform",),
               "High end of the readiness' 95 % interval: the lowest rate shown broken beyond doubt (+Inf: none)."),
    MetricSpec("mektepnet_readiness_verdict", _G, ("platform", "verdict"),
               "1 for the search's verdict: knee, broken-at-lowest, generator-bound, above-cap or not-bracketed."),
    MetricSpec("mektepnet_readiness_p95_seconds", _G, ("platform",),
               "p95 latency (answered requests, from the intended send time) at the highest step within the SLO."),
    MetricSpec("mektepnet_readiness_students_in_session", _G, ("platform",),
               "Students in session whose sessions send the readiness rate (Little's law)."),
    MetricSpec("mektepnet_readiness_first_bell_share", _G, ("platform",),
               "Readiness over the platform's demand at the country's first bell (1: exactly enough)."),
    # The platform simulator (loadtests/simulator.py).
    MetricSpec("mektepnet_platform_sim_requests_total", _C, ("platform", "endpoint", "outcome"),
               "Requests the simulator answered: ok, or rejected (503, its queue was full)."),
    MetricSpec("mektepnet_platform_sim_request_duration_seconds", _H, ("platform", "endpoint"),
               "Time a served request spent queued and in service."),
    MetricSpec("mektepnet_platform_sim_busy_workers", _G, ("platform", "endpoint"),
               "Workers of the endpoint serving a request now."),
    MetricSpec("mektepnet_platform_sim_queued_requests", _G, ("platform", "endpoint"),
               "Requests waiting for a worker of the endpoint now."),
    MetricSpec("mektepnet_fleet_track_info", _G, ("track", "stable", "candidate"),
               "A release track of the fleet repository (agent, or a configuration group) with its stable and "
               "candidate references; always 1."),
    MetricSpec("mektepnet_fleet_rollout_share_ratio", _G, ("track",),
               "Share (0-1) of the track's selected probes that its rolling candidate goes to; 0 when not rolling."),
    MetricSpec("mektepnet_fleet_rollout_state", _G, ("track", "state"),
               "1 for the track's rollout state (idle, rolling, stopped), 0 for the others."),
    MetricSpec("mektepnet_fleet_metadata_version", _G, ("role",),
               "Version of the fleet repository's signed metadata of each TUF role (root, targets, snapshot, timestamp)."),
    MetricSpec("mektepnet_fleet_timestamp_expiry_timestamp_seconds", _G, (),
               "Unix time the fleet's signed timestamp expires; probes refuse updates after it (a freeze)."),
    MetricSpec("mektepnet_probe_update_refusals_total", _C, ("reason",),
               "Fleet repository refreshes the probe refused, by reason (unsigned, expired, rollback, mixed, "
               "tampered, unreachable, invalid)."),
)

BY_NAME: dict[str, MetricSpec] = {spec.name: spec for spec in CATALOGUE}


def escape_label(value: str) -> str:
    """A label value escaped for Prometheus' text format."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def exposition_header(name: str) -> str:
    """The # HELP and # TYPE lines of a catalogued metric, for exporters that write the text format directly."""
    spec = metric(name)
    return f"# HELP {name} {spec.help}\n# TYPE {name} {spec.type.value}\n"


def metric(name: str) -> MetricSpec:
    """The spec of a catalogued metric; an unknown name is a programming error."""
    return BY_NAME[name]


def instrument(name: str, registry, buckets: tuple[float, ...] | None = None):
    """A prometheus_client Counter, Gauge or Histogram for a catalogued metric, registered in `registry`.

    `_created` series are switched off: they double the series count and no dashboard reads them.
    """
    import prometheus_client

    prometheus_client.disable_created_metrics()
    spec = metric(name)
    if spec.type is MetricType.COUNTER:
        return prometheus_client.Counter(spec.name[: -len("_total")], spec.help, spec.labels, registry=registry)
    if spec.type is MetricType.GAUGE:
        return prometheus_client.Gauge(spec.name, spec.help, spec.labels, registry=registry)
    kwargs = {"buckets": buckets} if buckets else {}
    return prometheus_client.Histogram(spec.name, spec.help, spec.labels, registry=registry, **kwargs)


def family(name: str):
    """An empty prometheus_client metric family for a catalogued metric, for custom collectors' collect()."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    spec = metric(name)
    if spec.type is MetricType.COUNTER:
        return CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
    if spec.type is MetricType.GAUGE:
        return GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
    raise ValueError(f"{name}: histograms are instrumented, not built by collectors")


def markdown() -> str:
    """The catalogue as the Markdown page docs/metrics.md."""
    lines = [
        "# Metrics",
        "",
        "Every metric MektepNet exports, generated from `core/metrics.py` "
        "(`python -c 'from core.metrics import markdown; print(markdown(), end=\"\")' > docs/metrics.md`). Link speeds are kept in bit/s inside MektepNet "
        "and exported in bytes per second.",
        "",
        "| name | type | labels | help |",
        "| --- | --- | --- | --- |",
    ]
    for spec in CATALOGUE:
        labels = ", ".join(f"`{label}`" for label in spec.labels) or "-"
        lines.append(f"| `{spec.name}` | {spec.type} | {labels} | {spec.help} |")
    return "\n".join(lines) + "\n"
