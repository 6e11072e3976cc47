"""A short run of the probe footprint benchmark, so the command keeps working; the full run is not a test."""

from __future__ import annotations

import os

import pytest

from benchmarks.probe_footprint import run as footprint, table as footprint_table


def test_the_footprint_phases_report_memory_and_cpu():
    if os.geteuid() != 0:
        pytest.skip("the agent's raw ICMP needs root")
    results = footprint(seconds=3)
    assert results["throughput"]["completed"]
    for phase in ("idle", "measuring", "throughput"):
        assert 20 < results[phase]["rss_mb"] <= results[phase]["peak_mb"] < 500
    assert results["measuring"]["rss_mb"] > results["idle"]["rss_mb"]       # the probers' modules load on use
    assert "default schedule (projected)" in footprint_table(results)
