"""A small corner of the load-generator benchmark (ours vs FastHttpUser vs wrk; students per core), so it keeps working."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from benchmarks.loadgen import Nginx, cpu_part, cpu_table, students_part, students_table
from loadtests.profile import PlatformKind
from tests.helpers.ports import free_port
from tests.helpers.tools import require_tool


@pytest.mark.slow
def test_a_corner_of_both_parts_against_nginx():
    require_tool("nginx")
    require_tool("wrk")
    with tempfile.TemporaryDirectory() as temp:
        directory, ports = Path(temp), [free_port() for _ in range(2)]
        with Nginx(directory, ports):
            rows = cpu_part(directory, ports, seconds=2, kinds=[PlatformKind.EDIARY])
            results = students_part(directory, ports, students=1000, baseline_users=200, seconds=3, warmup=5, ramp=3)
    assert [row["tool"].split()[0] for row in rows] == ["plain", "mektepnet", "wrk"]
    assert all(row["requests"] > 0 and row["requests_per_cpu_second"] > 0 for row in rows)
    assert "| mektepnet ediary journeys |" in cpu_table(rows)
    assert results["full"]["requests"] > 0 and sum(results["full"]["lag_counts"]) > 0
    # 200 plain users fire once at the start, then think 20-40 s: the short window sees their processes only.
    assert results["baseline"]["rss_kb"] > 0 and results["baseline"]["processes"] == 1
    assert "| 1,000,000 |" in students_table(results)
