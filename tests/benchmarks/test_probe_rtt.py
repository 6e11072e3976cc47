"""A small corner of the probe RTT benchmark, so the command keeps working; the full run is not a test."""

from __future__ import annotations

from benchmarks.probe_rtt import run as rtt, table as rtt_table
from tests.helpers.tools import require_tool


def test_one_rtt_cell_compares_the_probe_and_ping_with_logged_holds(network_namespaces):
    require_tool("ping")
    rows = rtt([0.005], count=5, methods=("icmp-raw", "ping"))
    assert [row.method for row in rows] == ["icmp-raw", "ping"]
    for row in rows:
        assert 0.005 <= row.hold_min <= row.hold_median < 2 * 0.005          # one hold per echo, not two
        assert row.within_target, row
    assert "| 5 ms | icmp-raw |" in rtt_table(rows)
