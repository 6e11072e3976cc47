"""A small corner of each ndt7 benchmark, so the commands keep working; the full grids are not tests."""

import os

import pytest

from benchmarks.ndt7_accuracy import measure_cell, table
from benchmarks.ndt7_ceiling import run_case
from tests.helpers.netpath import PathSpec
from tests.helpers.tools import require_tool


def test_one_accuracy_cell_measures_both_tools_on_the_same_path():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    for tool in ("ip", "tc", "iptables", "ethtool", "iperf3"):
        require_tool(tool)
    spec = PathSpec(rate_bps=20e6, rtt_seconds=0.02)
    readings = measure_cell(spec, iperf3_seconds=4)
    for reading in readings.values():
        assert reading.iperf3_bps == pytest.approx(19e6, rel=0.05)
        assert 0.9 <= reading.full_ratio <= 1.1 and 0.9 <= reading.adaptive_ratio <= 1.1
        assert reading.adaptive_bytes < reading.full_bytes
    text = table([(spec, readings)])
    assert "| 20 Mbit/s | 20 ms | 0% | download |" in text and "Adaptive bytes / full-test bytes" in text


def test_the_ceiling_case_reports_rates_and_cpu():
    case = run_case("1 connection, ws://", 1, [], ["--max-bytes", "300000000"])
    assert case["download"] > 1e9 and case["upload"] > 1e9
    assert case["cpu_per_gb"] > 0
