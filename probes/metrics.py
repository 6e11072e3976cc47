"""The agent's own /metrics: a custom collector that reads the agent's current state at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator

from core import __version__
from core.measurement import Kind
from core.metrics import family, metric
from probes.outbox import Outbox
from probes.scheduler import DataBudget, local_now

_LATENCY = {"mektepnet_probe_rtt_seconds": "rtt_median_seconds", "mektepnet_probe_jitter_seconds": "jitter_seconds",
            "mektepnet_probe_loss_ratio": "loss_ratio"}


class AgentCollector:
    """Yields the probe's metric families from an `Agent` (probes.agent) on every scrape."""

    def __init__(self, agent):
        self.agent = agent

    def collect(self) -> Iterator:
        """Build every family from the agent's state now."""
        agent = self.agent
        info = family("mektepnet_probe_info")
        info.add_metric([agent.credentials.school_id, agent.credentials.probe_id, __version__, agent.config.digest()], 1)
        yield info
        yield from self._results()
        outbox = Outbox(agent.outbox.path, read_only=True)     # scrapes come on the HTTP server's thread
        try:
            yield from self._outbox(outbox)
        finally:
            outbox.close()
        yield from self._clock()
        if agent.fleet is not None:
            yield agent.fleet.client.refusal_family()

    def _outbox(self, outbox: Outbox) -> Iterator:
        agent = self.agent
        pending, aside = outbox.depth()
        depth = family("mektepnet_probe_outbox_records")
        depth.add_metric(["pending"], pending)
        depth.add_metric(["set_aside"], aside)
        yield depth
        age = outbox.oldest_pending_age_seconds(time.time())
        oldest = family("mektepnet_probe_outbox_oldest_age_seconds")
        if age is not None:
            oldest.add_metric([], age)
        yield oldest
        stats = agent.uploader.stats if agent.uploader else None
        uploaded, failures = family("mektepnet_probe_uploaded_records_total"), family("mektepnet_probe_upload_failures_total")
        for status, count in (stats.records if stats else {}).items():
            uploaded.add_metric([status], count)
        for reason, count in (stats.failures if stats else {}).items():
            failures.add_metric([reason], count)
        yield uploaded
        yield failures
        used, budget = family("mektepnet_probe_data_used_bytes"), family("mektepnet_probe_data_budget_bytes")
        used.add_metric([], DataBudget(outbox, 0).used(local_now(agent.clock).date()))
        budget.add_metric([], agent.config.throughput.daily_budget_bytes)
        yield used
        yield budget

    def _clock(self) -> Iterator:
        agent = self.agent
        offset, known = family("mektepnet_probe_clock_offset_seconds"), family("mektepnet_probe_clock_known")
        value = agent.clock.offset_seconds()
        if value is not None:
            offset.add_metric([], value)
        known.add_metric([agent.clock.source()], 0 if value is None else 1)
        yield offset
        yield known
        ntp, synchronised = family("mektepnet_probe_ntp_synchronised"), agent.clock.ntp()
        if synchronised is not None:
            ntp.add_metric([], 1 if synchronised else 0)
        yield ntp

    def _results(self) -> Iterator:
        names = ["mektepnet_probe_success", "mektepnet_probe_last_measurement_timestamp_seconds", *_LATENCY,
                 "mektepnet_probe_dns_resolution_seconds", "mektepnet_probe_http_duration_seconds",
                 "mektepnet_probe_http_status_code", "mektepnet_probe_throughput_bytes_per_second"]
        families = {name: family(name) for name in names}
        latest_by_direction = {}
        for (kind, target), m in sorted(self.agent.last.by_key.items()):
            families["mektepnet_probe_success"].add_metric([kind, target], 0 if m.error else 1)
            families["mektepnet_probe_last_measurement_timestamp_seconds"].add_metric([kind, target], m.end.timestamp())
            if m.kind is Kind.LATENCY:
                for name, value in _LATENCY.items():
                    if value in m.values:
                        families[name].add_metric([target, m.method], m.values[value])
            elif m.kind is Kind.DNS and "resolution_seconds" in m.values:
                families["mektepnet_probe_dns_resolution_seconds"].add_metric([target], m.values["resolution_seconds"])
            elif m.kind is Kind.HTTP and "total_seconds" in m.values:
                families["mektepnet_probe_http_duration_seconds"].add_metric([target], m.values["total_seconds"])
                families["mektepnet_probe_http_status_code"].add_metric([target], m.values["status_code"])
            elif m.kind in (Kind.DOWNLOAD, Kind.UPLOAD) and "throughput_bps" in m.values:
                held = latest_by_direction.get(m.kind)
                if held is None or held.end < m.end:
                    latest_by_direction[m.kind] = m
        spec = metric("mektepnet_probe_throughput_bytes_per_second")
        for direction, m in latest_by_direction.items():
            families[spec.name].add_metric([direction.value], spec.exported_value(m.values["throughput_bps"]))
        yield from families.values()


def serve_metrics(agent, address: str):
    """Start the agent's /metrics on `address` (host:port) in a daemon thread; returns the HTTP server."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(agent))
    host, _, port = address.rpartition(":")
    server, _thread = start_http_server(int(port), host.strip("[]"), registry=registry)
    return server
