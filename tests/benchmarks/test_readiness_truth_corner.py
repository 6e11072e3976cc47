"""A small corner of the readiness-truth benchmark, so the command keeps working."""

from __future__ import annotations

from benchmarks.readiness_truth import run, table


def test_two_seeds_of_few_requests_give_a_row_per_capacity():
    rows = run(seeds=2, requests=20_000)
    assert [row["platform"] for row in rows] == ["api", "tutor", "kundelik"]
    for row in rows:
        assert 0 < row["low"] <= row["readiness"] <= row["high"] < row["saturation"]
        assert row["sessions"] < row["readiness"] or row["kind"] == "endpoint"
    assert "| api | endpoint | p95<800ms,errors<1% |" in table(rows)
