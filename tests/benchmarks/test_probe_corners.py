"""A small corner of each probe benchmark, so the commands keep working; the full runs are not tests."""

from __future__ import annotations

import os

import pytest

from benchmarks.probe_footprint import run as footprint, table as footprint_table
from benchmarks.probe_rtt import run as rtt, table as rtt_table
from tests.helpers.tools import require_tool


def test_one_rtt_cell_compares_the_probe_and_ping_with_logged_holds(network_namespaces):
    require_tool("ping")
    rows = rtt([0.005], count=5, methods=("icmp-raw", "ping"))
    assert [row.method for row in rows] == ["icmp-raw", "ping"]
    for row in rows:
        assert 0.005 <= row.hold_min <= row.hold_median < 0.008
        assert row.within_target, row
    assert "| 5 ms | icmp-raw |" in rtt_table(rows)


def test_the_footprint_phases_report_memory_and_cpu():
    if os.geteuid() != 0:
        pytest.skip("the agent's raw ICMP needs root")
    results = footprint(seconds=3)
    assert results["throughput"]["completed"]
    for phase in ("idle", "measuring", "throughput"):
        assert 20 < results[phase]["rss_mb"] <= results[phase]["peak_mb"] < 500
    assert results["measuring"]["rss_mb"] > results["idle"]["rss_mb"]       # the probers' modules load on use
    assert "default schedule (projected)" in footprint_table(results)
