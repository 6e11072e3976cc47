"""A small corner of the ndt7 accuracy benchmark, so the command keeps working; the full grid is not a test."""

import os

import pytest

from benchmarks.ndt7_accuracy import measure_cell, table
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
