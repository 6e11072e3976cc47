import subprocess

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from core.metrics import CATALOGUE, PREFIX, MetricType, markdown, metric
from tests.helpers.cli import ROOT
from tests.helpers.tools import require_tool


def test_20_mbit_per_second_is_exported_as_2_5e6_bytes_per_second():
    assert metric("mektepnet_school_download_bytes_per_second").exported_value(20e6) == 2.5e6
    assert metric("mektepnet_school_rtt_seconds").exported_value(0.04) == 0.04


def test_names_follow_the_conventions():
    for spec in CATALOGUE:
        assert spec.name.startswith(PREFIX)
        assert spec.name.islower()
        assert (spec.type is MetricType.COUNTER) == spec.name.endswith("_total")
        assert not any(bad in spec.name for bad in ("_bits", "_mbps", "_milliseconds", "_percent"))
        if spec.name.startswith("mektepnet_school_") and spec.name != "mektepnet_school_info":
            assert spec.labels[0] == "school_id" and set(spec.labels) <= {"school_id", "kind", "platform"}
        if spec.from_bits:
            assert spec.name.endswith("_bytes_per_second")


class _Everything:
    """One sample of every catalogued metric, as an exporter would write it."""

    def collect(self):
        for spec in CATALOGUE:
            values = ["x"] * len(spec.labels)
            if spec.type is MetricType.GAUGE:
                family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
                family.add_metric(values, spec.exported_value(20e6))
            elif spec.type is MetricType.COUNTER:
                family = CounterMetricFamily(spec.name[:-len("_total")], spec.help, labels=spec.labels)
                family.add_metric(values, 3)
            else:
                family = HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)
                family.add_metric(values, buckets=[("0.1", 1), ("+Inf", 2)], sum_value=0.3)
            yield family


def test_promtool_accepts_every_metric():
    promtool = require_tool("promtool")
    registry = CollectorRegistry()
    registry.register(_Everything())
    exposition = generate_latest(registry)
    checked = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert b"mektepnet_school_download_bytes_per_second{school_id=\"x\"} 2.5e+06" in exposition


def test_docs_list_every_metric_once():
    assert (ROOT / "docs" / "metrics.md").read_text() == markdown()
