"""A small corner of the ingest benchmark, so the command keeps working; the national run is not a test."""

from __future__ import annotations

from benchmarks.ingest import run, table


def test_a_small_fleet_drains_on_both_engines_and_is_compared_with_raw_inserts(postgres):
    rows = run(schools=25, engines=["sqlite", "postgresql"], concurrency=8)
    assert [row["engine"] for row in rows] == ["sqlite", "postgresql"]
    for row in rows:
        assert row["accepted"] == row["records"] > 5000
        assert row["rate"] > 0 and row["raw_rate"] > 0 and 0 < row["p50"] <= row["p99"]
        assert row["scrape"] > 0
    assert "| sqlite | 2 | 25 |" in table(rows)
