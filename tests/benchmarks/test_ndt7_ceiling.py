"""A small case of the ndt7 ceiling benchmark, so the command keeps working; the full run is not a test."""

from benchmarks.ndt7_ceiling import run_case


def test_the_ceiling_case_reports_rates_and_cpu():
    case = run_case("1 connection, ws://", 1, [], ["--max-bytes", "300000000"])
    assert case["download"] > 1e9 and case["upload"] > 1e9
    assert case["cpu_per_gb"] > 0
