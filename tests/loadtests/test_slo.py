import pytest

from loadtests.slo import Slo, parse_slo
from tests.helpers.tools import single_problem


@pytest.mark.parametrize("text, expected", [
    ("p95<800ms,errors<1%", Slo(p95_seconds=0.8, error_ratio=0.01)),
    ("p50<100ms, p95<=0.8s, p99 < 2s", Slo(p50_seconds=0.1, p95_seconds=0.8, p99_seconds=2.0)),
    ("errors<0.5", Slo(error_ratio=0.5)),
    ("P99<1.5s,ERRORS<100%", Slo(p99_seconds=1.5, error_ratio=1.0)),
    ("p95<.25s,errors<0.1%", Slo(p95_seconds=0.25, error_ratio=0.001)),
])
def test_an_slo_is_read_into_seconds_and_a_ratio(text, expected):
    assert parse_slo(text) == expected


def test_an_slo_prints_as_it_is_written_and_reads_back():
    slo = parse_slo("p99<2s,p95<800ms,errors<1%")
    assert str(slo) == "p95<800ms,p99<2000ms,errors<1%"
    assert parse_slo(str(slo)) == slo


@pytest.mark.parametrize("text, shown, words", [
    ("p95<fast", "p95<fast", "a latency bound is a time with its unit"),
    ("p95<800", "p95<800", "a latency bound is a time with its unit"),
    ("p97<1s", "p97<1s", "unknown statistic 'p97'; known: p50, p95, p99, errors"),
    ("latency<1s,errors<1%", "latency<1s", "unknown statistic 'latency'"),
    ("p95<800ms,errors<101%", "errors<101%", "at most 100 %"),
    ("errors<1.5", "errors<1.5", "at most 100 %"),
    ("errors<0%", "errors<0%", "above 0 %"),
    ("errors<some", "errors<some", "a percentage (1%) or a ratio (0.01)"),
    ("p95<0ms", "p95<0ms", "above 0"),
    ("p95<1h", "p95<1h", "a latency bound is a time with its unit"),
    ("p95>800ms", "p95>800ms", "each bound is statistic<value"),
    ("p95<800ms,", "", "each bound is statistic<value"),
    ("p95<800ms,p95<1s", "p95<1s", "p95 is bounded twice"),
    ("", "", "give bounds such as"),
])
def test_a_malformed_slo_is_refused_naming_the_option_and_the_bound(text, shown, words):
    problem = single_problem(parse_slo, text)
    assert problem.field == "--slo" and problem.value == shown
    assert words in problem.message
    assert str(problem).startswith(f"command line: --slo={shown!r}: ")


def test_the_option_refused_is_the_one_named_by_the_caller():
    problem = single_problem(lambda text: parse_slo(text, option="--target-slo"), "p95<fast")
    assert problem.field == "--target-slo"


def test_every_bound_must_hold_for_the_slo_to_be_met():
    slo = parse_slo("p50<100ms,p95<800ms,errors<1%")
    assert slo.latency_bounds() == {0.5: 0.1, 0.95: 0.8}
    within = {0.5: 0.1, 0.95: 0.8, 0.99: 5.0}
    assert slo.met_by(within, 0.01)
    assert not slo.met_by(within, 0.0101)
    assert not slo.met_by({**within, 0.95: 0.81}, 0.0)
    assert not slo.met_by({**within, 0.5: 0.11}, 0.0)
    assert parse_slo("errors<1%").met_by({0.5: 99.0, 0.95: 99.0, 0.99: 99.0}, 0.0)
