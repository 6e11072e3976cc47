"""The stop-rule replay (the recording half needs root and namespaces: benchmarks/ndt7_stop_rules.py)."""

from __future__ import annotations

from benchmarks.ndt7_stop_rules import ESTIMATORS, replay, table
from probes.ndt7.budget import RateEstimator, StopRule


def trace(rate_at, seconds: float = 10.0) -> list[tuple[float, float]]:
    """Cumulative bytes every 100 ms of a transfer whose rate (bit/s) at t is rate_at(t)."""
    moved, points = 0.0, []
    for step in range(1, int(seconds * 10) + 1):
        moved += rate_at(step / 10) / 80
        points.append((step / 10, moved))
    return points


def test_a_rule_replayed_on_a_steady_trace_stops_where_the_estimator_does():
    steady = trace(lambda t: 10e6)
    seconds, moved, projected = replay(RateEstimator, StopRule(), steady, 0.05)
    assert 1.5 <= seconds < 10 and moved < steady[-1][1] and abs(projected / 10e6 - 1) < 0.01


def test_a_trace_still_in_slow_start_is_not_stopped():
    rising = trace(lambda t: 1e5 * 2 ** (t / 0.6), seconds=8)       # doubling every 2 RTTs of 300 ms
    assert replay(RateEstimator, StopRule(), rising, 0.3)[2] is None


def test_the_table_has_every_rule_with_shares_of_the_same_traces():
    records = [{"rate": 10.0, "rtt": 50.0, "loss": 0.0, "iperf3": {"download": [10e6, True], "upload": [10e6, False]},
                "download": {"trace": trace(lambda t: 10e6), "min_rtt": 0.05, "bps": 10e6},
                "upload": {"trace": trace(lambda t: 5e6 if t < 1 else 10e6), "min_rtt": 0.05, "bps": 9.5e6}}]
    rows = table(records).splitlines()[2:]
    assert [row.split(" | ")[0].lstrip("| ") for row in rows] == list(ESTIMATORS)
    assert all(0 < int(row.split(" | ")[1].rstrip("%")) < 100 for row in rows)
