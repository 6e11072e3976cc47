"""A small corner of the SNMP poll benchmark (ours vs snmp_exporter), so the command keeps working."""

from __future__ import annotations

from benchmarks.snmp_poll import run, table
from tests.helpers.tools import require_tool


def test_a_few_simulated_devices_are_polled_by_both_and_compared():
    require_tool("prometheus-snmp-exporter")
    rows = run(devices=8, sweeps=2)
    assert [row["tool"].split()[0] for row in rows] == ["mektepnet", "snmp_exporter"]
    for row in rows:
        assert row["failed"] == 0 and row["targets_per_second"] > 0
    # snmp_exporter's CPU comes from /proc in 10-ms ticks: 16 scrapes may not reach one; ours is exact.
    assert rows[0]["cpu_ms_per_target"] > 0 and rows[1]["cpu_ms_per_target"] >= 0
    assert "| 8 | 2 |" in table(rows)
